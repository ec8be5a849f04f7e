//! 长江大保护: water quality by section (the class ring, a section's trend, every section's
//! latest class), the fishing ban, and the sewage outlets on the map by status.

use std::collections::BTreeMap;

use leptos::prelude::*;
use yiping_protocol::events::{OutletStatus, SewageOutlet};
use yiping_protocol::topics::{EntityState, Overview};
use yiping_widgets::Kpi;
use yiping_widgets::chart::{Gauge, Ring};
use yiping_widgets::format::shanghai_hms;
use yiping_widgets::palette;

use crate::i18n::{Lang, Text};
use crate::map::Marker;
use crate::screens::Screen;
use crate::theme::class_color;
use crate::themes::SectionTrend;

use super::WallCtx;
use super::frame::LivePanel;

/// The section whose trend is shown until one is touched: 杨泗港 (Wuhan's mainstem section)
/// where the deployment has it, else its first river section, else its first section; kept to a
/// section the overview lists.
pub(super) fn follow_trend_section(ctx: WallCtx) {
    let (ov, section) = (ctx.feeds.overview, ctx.trend_section);
    Effect::new(move |_| {
        let current = section.get();
        let pick = ov.with(|o| {
            let sections = &o.as_ref()?.sections;
            if sections.iter().any(|s| s.id == current) {
                return None;
            }
            let river = || sections.iter().find(|s| s.body == yiping_protocol::water::WaterBody::River);
            sections
                .iter()
                .find(|s| s.id == "cj-yangsigang")
                .or_else(river)
                .or_else(|| sections.first())
                .map(|s| s.id.clone())
        });
        if let Some(id) = pick {
            section.set(id);
        }
    });
}

/// Water quality: headline figures, the class ring, the trend of the section touched.
#[component]
pub(super) fn Left(ctx: WallCtx) -> impl IntoView {
    let (tr, lang, open) = (move |k| ctx.tr(k), ctx.lang, ctx.open_province);
    let (ov, entity, section) = (ctx.feeds.overview, ctx.entity, ctx.trend_section);
    let target = ctx.good_target;
    let target = Signal::derive(move || {
        target
            .get()
            .map(|t| lang.pick(format!("目标 {t:.1}%"), format!("target {t:.1}%")))
            .unwrap_or_default()
    });
    let trend_title = Signal::derive(move || {
        let id = section.get();
        let name = ov
            .with(|o| {
                o.as_ref().and_then(|o| {
                    o.sections.iter().find(|s| s.id == id).map(|s| format!("{} · {}", s.river, s.name))
                })
            })
            .unwrap_or(id);
        lang.pick(format!("{name} 主要指标趋势"), format!("{name}: main indicators"))
    });
    let open_trend = Callback::new(move |_| entity.set(Some(format!("section:{}", section.get_untracked()))));
    view! {
        <LivePanel title=tr(Text::WaterPanel) class="panel-kpis slot-1" theme="water">
            <div class="kpi-grid">
                <Kpi label=tr(Text::GoodShare).to_string() value=ctx.figure(Overview::good_share_percent) unit="%".to_string() note=target on_pick=open test_id="y-good-share" />
                <Kpi label=tr(Text::Readings).to_string() value=ctx.figure(|o| Some(o.readings_total as f64)) unit=tr(Text::ReadingsUnit).to_string() decimals=2 on_pick=open test_id="y-readings" />
                <Kpi label=tr(Text::Reporting).to_string() value=ctx.figure(|o| Some(f64::from(o.sections_reporting))) unit=ctx.of_all_sections() on_pick=open test_id="y-reporting" />
                <Kpi label=lang.pick("排污口", "Sewage outlets").to_string() value=ctx.figure(|o| Some(f64::from(o.water.outlets))) unit=tr(Text::UnitItems).to_string() on_pick=open test_id="y-outlets-total" />
            </div>
        </LivePanel>
        <LivePanel title=tr(Text::ClassPanel) class="panel-chart slot-2" theme="water">
            <Ring label=tr(Text::ClassPanel).to_string() slices=ctx.class_slices() caption=tr(Text::SectionsCaption).to_string() decimals=0 on_pick=ctx.open_class test_id="y-class-ring" />
        </LivePanel>
        <LivePanel title=trend_title class="panel-chart slot-3" theme="water">
            <SectionTrend section=section lang=lang on_pick=open_trend />
        </LivePanel>
    }
}

/// The fishing ban, the sewage outlets, every section's latest class.
#[component]
pub(super) fn Right(ctx: WallCtx) -> impl IntoView {
    let (tr, lang, open) = (move |k| ctx.tr(k), ctx.lang, ctx.open_province);
    let (entity, section) = (ctx.entity, ctx.trend_section);
    // A touched section: its trend on the left, its records over the map.
    let pick_section = Callback::new(move |id: String| {
        section.set(id.clone());
        entity.set(Some(format!("section:{id}")));
    });
    view! {
        <LivePanel title=lang.pick("禁渔巡查", "Fishing-ban patrols") class="panel-kpis slot-4" theme="water">
            <div class="kpi-grid kpi-grid-3">
                <Kpi label=tr(Text::FishingPatrols).to_string() value=ctx.figure(|o| Some(o.water.fishing_patrols as f64)) unit=tr(Text::UnitTimes).to_string() decimals=2 on_pick=open test_id="y-fishing" />
                <Kpi label=lang.pick("累计巡查时长", "Hours (total)").to_string() value=ctx.figure(|o| Some(o.water.fishing_hours.round())) unit=tr(Text::UnitHours).to_string() decimals=2 on_pick=open test_id="y-fishing-hours" />
                <Kpi label=lang.pick("累计查处违法", "Violations (total)").to_string() value=ctx.figure(|o| Some(o.water.fishing_violations as f64)) unit=tr(Text::UnitItems).to_string() on_pick=open test_id="y-violations" />
            </div>
        </LivePanel>
        <LivePanel title=tr(Text::Outlets) class="panel-chart panel-outlets slot-5" theme="water">
            <div class="outlets">
                <Gauge label=tr(Text::Outlets).to_string() value=ctx.figure(|o| o.water.outlets_remediated_percent()) unit="%".to_string() test_id="y-outlets" />
                <OutletList outlets=ctx.feeds.outlets lang=lang on_open=Callback::new(move |k: String| entity.set(Some(k))) />
            </div>
        </LivePanel>
        <LivePanel title=tr(Text::SectionsPanel) class="panel-sections slot-6" theme="water">
            <SectionList overview=ctx.feeds.overview on_pick=pick_section />
        </LivePanel>
    }
}

/// The sewage outlets on the map by status (on the 长江 screen only).
pub(super) fn outlet_markers(ctx: WallCtx) -> Signal<Vec<Marker>> {
    let (screen, outlets, lang) = (ctx.screen, ctx.feeds.outlets, ctx.lang);
    Memo::new(move |_| {
        if screen.get() != Screen::Yangtze {
            return Vec::new();
        }
        outlets.with(|m| {
            m.values()
                .map(|o| Marker {
                    key: o.key.clone(),
                    lon: o.lon,
                    lat: o.lat,
                    color: outlet_color(OutletStatus::from_name(&o.status)),
                    label: format!(
                        "{} · {}",
                        o.name,
                        outlet_status_word(lang, OutletStatus::from_name(&o.status))
                    ),
                    pulse: false,
                })
                .collect()
        })
    })
    .into()
}

/// The monitoring sections with their latest class and time. Rows are keyed by section only
/// and their class and time follow the data, so a new reading updates a row instead of
/// re-creating it (a wall runs for weeks; every row ever created costs Leptos a little memory).
#[component]
fn SectionList(
    overview: RwSignal<Option<Overview>>,
    /// A touch on a row: the section's id.
    on_pick: Callback<String>,
) -> impl IntoView {
    let ov = overview;
    view! {
        <ul class="section-list" data-testid="section-list">
            <For
                each=move || ov.with(|o| o.as_ref().map(|o| o.sections.iter().map(|s| (s.id.clone(), s.river.clone(), s.name.clone())).collect::<Vec<_>>()).unwrap_or_default())
                key=|s| s.clone()
                let:s
            >
                {
                    let (id, river, name) = s;
                    let id2 = id.clone();
                    let id3 = id.clone();
                    let class = Signal::derive(move || ov.with(|o| o.as_ref().and_then(|o| o.sections.iter().find(|x| x.id == id).and_then(|x| x.class))));
                    let time = move || ov.with(|o| o.as_ref().and_then(|o| o.sections.iter().find(|x| x.id == id2).and_then(|x| x.time)));
                    view! {
                        <li class="section-row" data-section=id3.clone() data-class=move || class.get().map(|c| c.label()) on:click=move |_| on_pick.run(id3.clone())>
                            <span class="section-name">{format!("{river} · {name}")}</span>
                            <span class="section-time">
                                {move || time().map(|t| shanghai_hms(t.unix_ms())).unwrap_or_default()}
                            </span>
                            <span class="class-chip" style=move || format!("--chip: {}", class.get().map_or(palette::UNKNOWN.css(), class_color))>
                                {move || class.get().map_or("—", |c| c.label())}
                            </span>
                        </li>
                    }
                }
            </For>
        </ul>
    }
}

/// The map colour of an outlet's status: found (red), being remediated (orange), done (green).
fn outlet_color(status: Option<OutletStatus>) -> &'static str {
    match status {
        Some(OutletStatus::Identified) => palette::BAD,
        Some(OutletStatus::Remediating) => palette::ORANGE,
        Some(OutletStatus::Remediated) => palette::GOOD,
        None => palette::UNKNOWN,
    }
    .css()
}

fn outlet_status_word(lang: Lang, status: Option<OutletStatus>) -> &'static str {
    match status {
        Some(OutletStatus::Identified) => lang.pick("已排查待整治", "found"),
        Some(OutletStatus::Remediating) => lang.pick("整治中", "being remediated"),
        Some(OutletStatus::Remediated) => lang.pick("已整治", "remediated"),
        None => "",
    }
}

/// The sewage outlets not yet remediated, those found first, each with its river and status; a
/// touch opens its records. Rows are a fixed set whose content follows the data.
#[component]
fn OutletList(
    outlets: RwSignal<BTreeMap<String, EntityState>>,
    lang: Lang,
    on_open: Callback<String>,
) -> impl IntoView {
    const SLOTS: usize = 12;
    let rows = Memo::new(move |_| {
        let mut v: Vec<(String, String, String, Option<OutletStatus>)> = outlets.with(|m| {
            m.values()
                .map(|o| (o, OutletStatus::from_name(&o.status)))
                .filter(|(_, s)| *s != Some(OutletStatus::Remediated))
                .map(|(o, s)| {
                    let river = o.report::<SewageOutlet>().map(|r| r.river).unwrap_or_default();
                    (o.key.clone(), o.name.clone(), river, s)
                })
                .collect()
        });
        // Those found first (nothing done yet), then those being remediated.
        v.sort_by(|a, b| a.3.cmp(&b.3).then(a.0.cmp(&b.0)));
        v
    });
    let counts = move || {
        outlets.with(|m| {
            let n = |s: OutletStatus| m.values().filter(|o| o.status == s.as_str()).count();
            (n(OutletStatus::Identified), n(OutletStatus::Remediating), n(OutletStatus::Remediated))
        })
    };
    let slot = move |i: usize| {
        let row = move || rows.with(|l| l.get(i).cloned());
        view! {
            <li class="rule-row" hidden=move || rows.with(|l| i >= l.len()) data-key=move || row().map(|r| r.0)
                on:click=move |_| if let Some(r) = row() { on_open.run(r.0) }>
                <i class="dot" style=move || format!("background: {}", row().map_or("transparent", |r| outlet_color(r.3)))></i>
                <span class="rule-text">{move || row().map(|r| r.1).unwrap_or_default()}</span>
                <span class="rule-who">{move || row().map(|r| r.2).unwrap_or_default()}</span>
                <span>{move || row().map(|r| outlet_status_word(lang, r.3)).unwrap_or_default()}</span>
            </li>
        }
    };
    view! {
        <div class="rule-list outlet-list" data-testid="y-outlet-list" data-count=move || rows.with(Vec::len).to_string()
            data-identified=move || counts().0.to_string() data-remediating=move || counts().1.to_string() data-remediated=move || counts().2.to_string()>
            <p class="outlet-counts">{move || {
                let (a, b, c) = counts();
                lang.pick(format!("待整治 {a} · 整治中 {b} · 已整治 {c}"), format!("found {a} · remediating {b} · remediated {c}"))
            }}</p>
            <ul>{(0..SLOTS).map(slot).collect::<Vec<_>>()}</ul>
        </div>
    }
}
