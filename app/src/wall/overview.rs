//! 总览: the four themes' headline figures around the map, each beside its change over the last
//! hour (from the server's history by event time, which the 精准脱贫 income trend also shows).

use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::periods::Indicator;
use yiping_protocol::topics::{HistoryPoint, Overview};
use yiping_widgets::Kpi;
use yiping_widgets::chart::{RankingBars, Ring, StagePipeline};

use crate::i18n::Text;

use super::WallCtx;
use super::frame::LivePanel;

/// Keep the province's history (`GET /api/v1/history`) in `history`, every minute while the
/// wall runs.
pub(super) fn load_history(ctx: WallCtx) {
    let history = ctx.history;
    let load = move || {
        let asked = crate::replay::current_stream();
        leptos::task::spawn_local(async move {
            if let Ok(points) = crate::themes::fetch_history().await
                && crate::replay::current_stream() == asked
            {
                history.set(points);
            }
        });
    };
    // Now, on every seek of a replay (and as it plays), and back in live.
    Effect::new(move |_| {
        ctx.refetch.track();
        load();
    });
    crate::timer::every(Duration::from_secs(60), load);
}

/// The province an hour before the newest data (none until the history is an hour long).
pub(super) fn hour_before(history: RwSignal<Vec<HistoryPoint>>) -> Memo<Option<HistoryPoint>> {
    Memo::new(move |_| {
        history.with(|h| {
            let times: Vec<f64> = h.iter().map(|p| p.t.unix_ms()).collect();
            crate::periods::point_before(&times, 3_600_000.0).map(|i| h[i].clone())
        })
    })
}

/// The previous value of a headline figure, from the point an hour before.
fn hour_ago(ctx: WallCtx, f: fn(&HistoryPoint) -> Option<f64>) -> Signal<Option<f64>> {
    let point = ctx.hour_ago;
    Signal::derive(move || point.with(|p| p.as_ref().and_then(f)))
}

/// Water and rivers.
#[component]
pub(super) fn Left(ctx: WallCtx) -> impl IntoView {
    let tr = move |k| ctx.tr(k);
    let open = ctx.open_province;
    let hour_word = ctx.lang.pick("较1小时前", "vs 1 h ago");
    let problems_total = ctx.feeds.overview;
    let problems_total = Signal::derive(move || {
        format!(" / {}", problems_total.with(|o| o.as_ref().map_or(0, |o| o.rivers.problems)))
    });
    let outlets = ctx.figure(|o| o.water.outlets_remediated_percent());
    let readings = ctx
        .flow(Indicator::Readings, Text::Readings, tr(Text::ReadingsNote), |o| Some(o.readings_total as f64));
    let fishing = ctx
        .flow(Indicator::FishingPatrols, Text::FishingPatrols, "", |o| Some(o.water.fishing_patrols as f64));
    let patrols = ctx.flow(Indicator::Patrols, Text::Patrols, "", |o| Some(o.rivers.patrols as f64));
    let hours = ctx.flow(Indicator::PatrolHours, Text::PatrolHours, "", |o| {
        Some((o.rivers.patrol_minutes as f64 / 60.0).round())
    });
    view! {
        <LivePanel title=tr(Text::WaterPanel) class="panel-kpis panel-water" theme="water">
            <div class="kpi-grid">
                <Kpi label=tr(Text::GoodShare).to_string() value=ctx.figure(Overview::good_share_percent) unit="%".to_string() previous=hour_ago(ctx, |p| p.good_share) change_label=hour_word.to_string() on_pick=open test_id="good-share" />
                <Kpi label=readings.label value=readings.value previous=readings.previous change_label=readings.change_label unit=tr(Text::ReadingsUnit).to_string() decimals=2 note=readings.note on_pick=open test_id="readings-total" />
                <Kpi label=tr(Text::Outlets).to_string() value=outlets unit="%".to_string() on_pick=open test_id="outlets" />
                <Kpi label=fishing.label value=fishing.value previous=fishing.previous change_label=fishing.change_label note=fishing.note unit=tr(Text::UnitTimes).to_string() decimals=2 on_pick=open test_id="fishing" />
            </div>
        </LivePanel>
        <LivePanel title=tr(Text::ClassPanel) class="panel-chart panel-classes" theme="water">
            <Ring label=tr(Text::ClassPanel).to_string() slices=ctx.class_slices() caption=tr(Text::SectionsCaption).to_string() decimals=0 on_pick=ctx.open_class test_id="class-ring" />
        </LivePanel>
        <LivePanel title=tr(Text::RiversPanel) class="panel-kpis panel-rivers" theme="rivers">
            <div class="kpi-grid">
                <Kpi label=patrols.label value=patrols.value previous=patrols.previous change_label=patrols.change_label note=patrols.note unit=tr(Text::UnitTimes).to_string() decimals=2 on_pick=open test_id="patrols-total" />
                <Kpi label=hours.label value=hours.value previous=hours.previous change_label=hours.change_label note=hours.note unit=tr(Text::UnitHours).to_string() decimals=2 on_pick=open test_id="patrol-hours" />
                <Kpi
                    label=tr(Text::ProblemsOpen).to_string()
                    value=ctx.figure(|o| Some(f64::from(o.rivers.problems_open)))
                    previous=hour_ago(ctx, |p| Some(f64::from(p.problems_open)))
                    change_label=hour_word.to_string()
                    higher_is_better=false
                    unit=problems_total
                    on_pick=open test_id="problems-open"
                />
                <Kpi label=tr(Text::Reporting).to_string() value=ctx.figure(|o| Some(f64::from(o.sections_reporting))) unit=ctx.of_all_sections() on_pick=open test_id="reporting" />
            </div>
        </LivePanel>
    }
}

/// Projects, poverty and the prefectures ranked by patrols.
#[component]
pub(super) fn Right(ctx: WallCtx) -> impl IntoView {
    let tr = move |k| ctx.tr(k);
    let open = ctx.open_province;
    let hour_word = ctx.lang.pick("较1小时前", "vs 1 h ago");
    let invest = ctx.figure(|o| o.projects.invest_percent());
    view! {
        <LivePanel title=tr(Text::ProjectsPanel) class="panel-kpis panel-projects" theme="projects">
            <div class="kpi-grid kpi-grid-3">
                <Kpi label=tr(Text::Projects).to_string() value=ctx.figure(|o| Some(f64::from(o.projects.projects))) unit=tr(Text::UnitItems).to_string() on_pick=open test_id="projects" />
                <Kpi label=tr(Text::InvestmentDone).to_string() value=invest unit="%".to_string() previous=hour_ago(ctx, |p| p.invest_percent) change_label=hour_word.to_string() on_pick=open test_id="invest" />
                <Kpi label=tr(Text::OverdueSteps).to_string() value=ctx.overdue_steps() unit=tr(Text::UnitItems).to_string() on_pick=open test_id="overdue" />
            </div>
            <div class="pipeline-box">
                <StagePipeline label=tr(Text::ProjectsPanel).to_string() stages=ctx.stages() overdue_word=tr(Text::Overdue).to_string() unit=tr(Text::UnitItems).to_string() on_pick=ctx.open_stage test_id="pipeline" />
            </div>
        </LivePanel>
        <LivePanel title=tr(Text::PovertyPanel) class="panel-kpis panel-poverty" theme="poverty">
            <div class="kpi-grid kpi-grid-3">
                <Kpi label=tr(Text::Monitored).to_string() value=ctx.figure(|o| Some(o.poverty.monitored_households as f64)) unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open test_id="monitored" />
                <Kpi label=tr(Text::RiskHouseholds).to_string() value=ctx.figure(|o| Some(o.poverty.risk_households as f64)) unit=tr(Text::UnitHouseholds).to_string() decimals=2 previous=hour_ago(ctx, |p| Some(p.risk_households as f64)) change_label=hour_word.to_string() higher_is_better=false on_pick=open test_id="risk" />
                <Kpi label=tr(Text::Assistance).to_string() value=ctx.figure(|o| Some(o.poverty.assistance_wan * 1e4)) unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open test_id="assistance" />
            </div>
        </LivePanel>
        <LivePanel title=ctx.say(Text::RankingPanel) class="panel-chart panel-ranking" theme="rivers">
            <RankingBars label=ctx.say(Text::RankingPanel) items=ctx.prefecture_bars(|p| p.patrols as f64) unit=tr(Text::UnitTimes).to_string() decimals=1 rows=ctx.site().child_count() on_pick=ctx.select_region test_id="ranking" />
        </LivePanel>
    }
}
