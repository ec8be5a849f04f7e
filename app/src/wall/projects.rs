//! 重大项目: investment, the life cycle (approval → construction → acceptance) with what is
//! overdue today, the industry map of every project, and the biggest delays.

use std::collections::HashSet;

use leptos::prelude::*;
use yiping_protocol::alerts::{AlertState, Severity};
use yiping_protocol::topics::PROJECTS;
use yiping_widgets::Kpi;
use yiping_widgets::chart::{Gauge, RankingBars, StagePipeline};
use yiping_widgets::palette;

use crate::drill::project_of;
use yiping_protocol::events::Stage;

use crate::i18n::{Text, stage_name};
use crate::map::Marker;
use crate::screens::Screen;
use crate::themes::{BiggestDelays, IndustryInvestment};

use super::WallCtx;
use super::frame::LivePanel;

/// Projects, overdue steps and investment; investment done; investment by industry chain.
#[component]
pub(super) fn Left(ctx: WallCtx) -> impl IntoView {
    let (tr, lang, open) = (move |k| ctx.tr(k), ctx.lang, ctx.open_province);
    view! {
        <LivePanel title=tr(Text::ProjectsPanel) class="panel-kpis slot-1" theme="projects">
            <div class="kpi-grid">
                <Kpi label=tr(Text::Projects).to_string() value=ctx.figure(|o| Some(f64::from(o.projects.projects))) unit=tr(Text::UnitItems).to_string() on_pick=open test_id="p-projects" />
                <Kpi label=tr(Text::OverdueSteps).to_string() value=ctx.overdue_steps() unit=tr(Text::UnitItems).to_string() on_pick=open test_id="p-overdue" />
                <Kpi label=lang.pick("计划投资", "Planned investment").to_string() value=ctx.figure(|o| Some(o.projects.plan_wan * 1e4)) unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open test_id="p-plan" />
                <Kpi label=lang.pick("累计完成投资", "Investment done (total)").to_string() value=ctx.figure(|o| Some(o.projects.done_wan * 1e4)) unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open test_id="p-done" />
            </div>
        </LivePanel>
        <LivePanel title=tr(Text::InvestmentDone) class="panel-chart slot-2" theme="projects">
            <Gauge label=tr(Text::InvestmentDone).to_string() value=ctx.figure(|o| o.projects.invest_percent()) unit="%".to_string() on_pick=open test_id="p-invest" />
        </LivePanel>
        <LivePanel title=lang.pick("各产业链投资完成", "Investment by industry chain") class="panel-chart slot-3" theme="projects">
            <IndustryInvestment projects=ctx.feeds.projects industry=ctx.industry lang=lang />
        </LivePanel>
    }
}

/// The life cycle, investment by prefecture, the biggest delays.
#[component]
pub(super) fn Right(ctx: WallCtx) -> impl IntoView {
    let (tr, lang) = (move |k| ctx.tr(k), ctx.lang);
    view! {
        <LivePanel title=lang.pick("项目全生命周期", "Project life cycle") class="panel-chart slot-4" theme="projects">
            <StagePipeline label=tr(Text::ProjectsPanel).to_string() stages=ctx.stages() overdue_word=tr(Text::Overdue).to_string() unit=tr(Text::UnitItems).to_string() on_pick=ctx.open_stage test_id="p-pipeline" />
        </LivePanel>
        <LivePanel title=ctx.site().words(lang, "各{L}投资完成率", "Investment done by {l}") class="panel-chart slot-5" theme="projects">
            <RankingBars label=ctx.site().words(lang, "各{L}投资完成率", "Investment done by {l}") items=ctx.prefecture_bars(|p| p.invest_percent().unwrap_or(0.0)) unit="%".to_string() rows=ctx.site().child_count() on_pick=ctx.select_region test_id="p-ranking" />
        </LivePanel>
        <LivePanel title=lang.pick("延误最久的项目", "Biggest delays") class="panel-list slot-6" theme="projects">
            <BiggestDelays projects=ctx.feeds.projects entity=ctx.entity lang=lang />
        </LivePanel>
    }
}

/// The colour of a project on the industry map: red when a step is overdue today (the one
/// overdue rule), else by stage.
fn marker_colour(overdue: bool, stage: Option<Stage>) -> palette::Colour {
    match (overdue, stage) {
        (true, _) => palette::BAD,
        (_, Some(Stage::Approval)) => palette::AMBER,
        (_, Some(Stage::Construction)) => palette::ACCENT,
        _ => palette::GOOD,
    }
}

/// The industry map (on the 重大项目 screen only): every major project where it is, of the
/// industry chain picked; projects with an orange or red alert nobody has acknowledged pulse.
pub(super) fn markers(ctx: WallCtx) -> Signal<Vec<Marker>> {
    let (screen, feeds, industry, today) = (ctx.screen, ctx.feeds, ctx.industry, ctx.today);
    Memo::new(move |_| {
        if screen.get() != Screen::Projects {
            return Vec::new();
        }
        let alarmed: HashSet<String> = feeds.alerts.with(|m| {
            m.values()
                .filter(|a| {
                    a.state == AlertState::New && a.severity >= Severity::Orange && a.rule.theme() == PROJECTS
                })
                .map(|a| a.subject.clone())
                .collect()
        });
        let only = industry.get();
        let today = today.get();
        feeds.projects.with(|m| {
            m.values()
                .filter_map(|e| Some((e, project_of(e)?)))
                .filter(|(_, p)| only.as_deref().is_none_or(|i| p.industry == i))
                .map(|(e, p)| Marker {
                    key: e.key.clone(),
                    lon: e.lon,
                    lat: e.lat,
                    color: marker_colour(
                        p.overdue_steps(today).next().is_some(),
                        Stage::from_name(&e.status),
                    )
                    .css(),
                    label: format!("{} · {}", p.name, p.industry),
                    pulse: alarmed.contains(&e.key),
                })
                .collect()
        })
    })
    .into()
}

/// The industry map's legend, with the industry chain picked (a touch shows all again).
#[component]
pub(super) fn Legend(ctx: WallCtx) -> impl IntoView {
    let (lang, industry) = (ctx.lang, ctx.industry);
    let item = move |stage: Option<Stage>, overdue: bool, label: &'static str| {
        view! { <li><i style=format!("background: {}", marker_colour(overdue, stage).css())></i>{label}</li> }
    };
    view! {
        <ul class="marker-legend" data-testid="marker-legend">
            {Stage::ALL.map(|s| item(Some(s), false, stage_name(lang, s)))}
            {item(None, true, lang.pick("有逾期环节", "Step overdue"))}
            {move || industry.get().map(|i| view! {
                <li><button class="legend-filter" data-testid="industry-filter" on:click=move |_| industry.set(None)>{format!("{i} ✕")}</button></li>
            })}
        </ul>
    }
}
