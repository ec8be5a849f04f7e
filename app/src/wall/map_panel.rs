//! The map column: the province (or the prefecture drilled into) coloured by the screen's
//! indicator, with the screen's markers and open alerts, and the drawers a touch opens over it.

use leptos::prelude::*;
use yiping_protocol::topics::ChildFigures;

use crate::alerts::{AlertDrawer, alert_markers};
use crate::drill::{ClassDrawer, EntityDrawer, RegionDrawer, StageDrawer};
use crate::i18n::Text;
use crate::map::{Choropleth, HubeiMap, MapPick};
use crate::screens::Screen;
use crate::themes::AgeingDrawer;

use super::frame::LivePanel;
use super::{WallCtx, poverty, projects, yangtze};

/// The map's title follows the map: the region shown, or the region drilled into (a
/// prefecture and its counties, or a city's county).
fn title(ctx: WallCtx) -> Signal<String> {
    let (selected, lang, site) = (ctx.selected, ctx.lang, ctx.site());
    Signal::derive(move || {
        let view = selected.get().filter(|a| a != site.region()).map(|a| site.child_of(&a));
        match view {
            Some(a) if site.is_province() => {
                let name = site.child_name(lang, &a);
                lang.pick(format!("{name} · 县级行政区"), format!("{name} · counties"))
            }
            Some(a) => format!("{} · {}", site.region_name(lang), site.child_name(lang, &a)),
            None => ctx.say(Text::MapPanel),
        }
    })
}

/// The indicators the overview's map can be coloured by, in the order of its buttons.
fn overview_indicator(ctx: WallCtx, i: usize) -> (String, fn(&ChildFigures) -> f64) {
    match i {
        1 => (ctx.say(Text::ProblemsMap), |p| f64::from(p.problems_open)),
        2 => (ctx.say(Text::RiskMap), |p| p.risk_households as f64),
        3 => (ctx.say(Text::ProjectsMap), |p| f64::from(p.projects)),
        4 => (
            ctx.site().words(ctx.lang, "各{L}近7日巡河覆盖（%）", "Rivers patrolled in 7 days by {l} (%)"),
            |p| p.coverage.percent().unwrap_or(0.0),
        ),
        _ => (ctx.say(Text::PatrolsMap), |p| p.patrols as f64),
    }
}

/// The map's colours for the screen shown (the overview: the indicator chosen over the map).
fn colours(ctx: WallCtx, indicator: RwSignal<usize>) -> Signal<Option<Choropleth>> {
    let ov = ctx.feeds.overview;
    Memo::new(move |_| {
        let by = |(title, f): (String, fn(&ChildFigures) -> f64)| {
            ov.with(|o| {
                o.as_ref().map(|o| Choropleth {
                    title: title.clone(),
                    values: o.children.iter().map(|(a, p)| (a.clone(), f(p))).collect(),
                })
            })
        };
        match ctx.screen.get() {
            Screen::Overview => by(overview_indicator(ctx, indicator.get())),
            Screen::Yangtze => None,
            Screen::Rivers => by((ctx.say(Text::ProblemsMap), |p| f64::from(p.problems_open))),
            Screen::Projects => by((ctx.say(Text::ProjectsMap), |p| f64::from(p.projects))),
            Screen::Poverty => poverty::county_map(ctx)
                .or_else(|| by((ctx.say(Text::RiskMap), |p| p.risk_households as f64))),
        }
    })
    .into()
}

/// The map's markers: the industry map on the 重大项目 screen (the projects carry their own
/// alerts there: one marker per project); elsewhere the screen's own markers and the open alerts
/// of its theme (all of them on the overview).
fn markers(ctx: WallCtx) -> Signal<Vec<crate::map::Marker>> {
    let screen = ctx.screen;
    let project_markers = projects::markers(ctx);
    let outlet_markers = yangtze::outlet_markers(ctx);
    let theme = Signal::derive(move || screen.get().topic());
    let alert_spots = alert_markers(ctx.feeds, theme, ctx.lang);
    Memo::new(move |_| {
        if screen.get() == Screen::Projects {
            return project_markers.get();
        }
        let mut v = outlet_markers.get();
        v.extend(alert_spots.get());
        v
    })
    .into()
}

/// The map panel.
#[component]
pub(super) fn MapPanel(ctx: WallCtx) -> impl IntoView {
    let (lang, screen, feeds) = (ctx.lang, ctx.screen, ctx.feeds);
    let indicator = ctx.indicator;
    // A touch on a marker: an alert's detail, or the records of the entity (a project, an outlet).
    let on_pick = Callback::new(move |p: MapPick| {
        if p.kind == "marker" && p.key.starts_with('A') {
            ctx.open_alert.run(p.key);
        } else if p.kind == "marker" {
            ctx.entity.set(Some(p.key));
        }
    });
    let indicators = [
        lang.pick("巡河", "Patrols"),
        lang.pick("待办问题", "Open problems"),
        lang.pick("风险户", "At risk"),
        lang.pick("在库项目", "Projects"),
        lang.pick("巡河覆盖", "Coverage"),
    ];
    let picked = ctx.picked;
    view! {
        <LivePanel title=title(ctx) class="panel-map">
            <HubeiMap overview=feeds.overview choropleth=colours(ctx, indicator) markers=markers(ctx) selected=ctx.selected reserve_right=0.38 on_pick=on_pick camera=ctx.camera />
            <RegionDrawer selected=ctx.selected lang=lang />
            <EntityDrawer entity=ctx.entity lang=lang />
            <StageDrawer picked=ctx.stage_pick projects=feeds.projects lang=lang />
            <ClassDrawer picked=ctx.class_pick overview=feeds.overview lang=lang />
            <AlertDrawer open=ctx.alert_open feeds=feeds lang=lang />
            <super::periods::PeriodsDrawer ctx=ctx />
            <Show when=move || screen.get() == Screen::Overview>
                <div class="map-indicator" role="group" data-testid="map-indicator">
                    {indicators
                        .into_iter()
                        .enumerate()
                        .map(|(i, label)| view! {
                            <button aria-pressed=move || (indicator.get() == i).to_string() data-indicator=i on:click=move |_| indicator.set(i)>{label}</button>
                        })
                        .collect::<Vec<_>>()}
                </div>
            </Show>
            <AgeingDrawer picked=ctx.age_pick problems=feeds.problems limits=ctx.age_limits.into() entity=ctx.entity lang=lang />
            <Show when=move || screen.get() == Screen::Projects>
                <projects::Legend ctx=ctx />
            </Show>
            <output class="drill-from" data-testid="drill-from" hidden=true data-key=move || picked.get().map(|p| p.key) data-value=move || picked.get().map(|p| p.value.to_string())></output>
        </LivePanel>
    }
}
