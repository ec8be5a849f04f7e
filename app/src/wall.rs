//! The wall page: header, water-quality figures, the map, and the section list.

use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::topics::Overview;
use yiping_widgets::format::{shanghai_date, shanghai_hms};
use yiping_widgets::{Kpi, Panel};

use crate::i18n::{Lang, Text, t};
use crate::link::{self, Feeds, Status};
use crate::map::HubeiMap;
use crate::theme::class_color;

/// The simulator and real sources report every few seconds: a panel whose data is older than
/// twice the slowest normal period (7 s per section round) plus slack is stale.
const STALE_AFTER_MS: f64 = 15_000.0;

/// The whole wall.
#[component]
pub fn Wall() -> impl IntoView {
    let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let lang = Lang::from_query(&query);
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if let Some(el) = doc.document_element() {
            let _ = el.set_attribute("lang", lang.tag());
        }
        doc.set_title(t(lang, Text::Title));
    }
    let feeds = Feeds {
        status: RwSignal::new(Status::Connecting),
        overview: RwSignal::new(None),
        overview_ms: RwSignal::new(None),
    };
    link::start(feeds);
    let now = RwSignal::new(js_sys::Date::now());
    let _ = set_interval_with_handle(move || now.set(js_sys::Date::now()), Duration::from_millis(500));

    let tr = move |k: Text| t(lang, k);
    let labels = Signal::derive(move || (tr(Text::DataTime), tr(Text::Stale), tr(Text::NoData)));
    let ov = feeds.overview;
    let readings = Signal::derive(move || ov.with(|o| o.as_ref().map(|o| o.readings_total as f64)));
    let good = Signal::derive(move || ov.with(|o| o.as_ref().and_then(Overview::good_share_percent)));
    let reporting = Signal::derive(move || ov.with(|o| o.as_ref().map(|o| f64::from(o.sections_reporting))));
    let total_sections = move || ov.with(|o| o.as_ref().map_or(0, |o| o.sections.len()));
    let status = feeds.status;
    let (status_word, status_attr) = (
        move || match status.get() {
            Status::Live => tr(Text::Live),
            Status::Reconnecting => tr(Text::Reconnecting),
            Status::Connecting => tr(Text::Connecting),
        },
        move || match status.get() {
            Status::Live => "live",
            Status::Reconnecting => "reconnecting",
            Status::Connecting => "connecting",
        },
    );

    view! {
        <div class="wall">
            <header class="wall-head">
                <div class="head-left">
                    <span class="conn" data-testid="conn" data-state=status_attr>
                        <i class="conn-dot"></i>
                        {status_word}
                    </span>
                    <span class="sim-badge" title="simulator">{tr(Text::Simulated)}</span>
                </div>
                <div class="head-center">
                    <h1>{tr(Text::Title)}</h1>
                    <div class="subtitle">{tr(Text::Subtitle)}</div>
                </div>
                <div class="head-right">
                    <span class="clock-date">{move || shanghai_date(now.get())}</span>
                    <span class="clock">{move || shanghai_hms(now.get())}</span>
                </div>
            </header>
            <main class="wall-body">
                <div class="col col-left">
                    <Panel
                        title=tr(Text::WaterPanel).to_string()
                        data_ms=feeds.overview_ms
                        now_ms=now
                        stale_after_ms=STALE_AFTER_MS
                        labels=labels
                        class="panel-kpis"
                    >
                        <Kpi
                            label=tr(Text::Readings).to_string()
                            value=readings
                            unit=tr(Text::ReadingsUnit).to_string()
                            decimals=2
                            note=tr(Text::ReadingsNote).to_string()
                            test_id="readings-total"
                        />
                        <Kpi label=tr(Text::GoodShare).to_string() value=good unit="%".to_string() test_id="good-share" />
                        <Kpi
                            label=tr(Text::Reporting).to_string()
                            value=reporting
                            unit=Signal::derive(move || format!(" / {}", total_sections()))
                            test_id="reporting"
                        />
                    </Panel>
                </div>
                <div class="col col-map">
                    <Panel
                        title=tr(Text::MapPanel).to_string()
                        data_ms=feeds.overview_ms
                        now_ms=now
                        stale_after_ms=STALE_AFTER_MS
                        labels=labels
                        class="panel-map"
                    >
                        <HubeiMap overview=feeds.overview />
                    </Panel>
                </div>
                <div class="col col-right">
                    <Panel
                        title=tr(Text::SectionsPanel).to_string()
                        data_ms=feeds.overview_ms
                        now_ms=now
                        stale_after_ms=STALE_AFTER_MS
                        labels=labels
                        class="panel-sections"
                    >
                        <ul class="section-list">
                            <For
                                each=move || ov.with(|o| o.as_ref().map(|o| o.sections.clone()).unwrap_or_default())
                                key=|s| (s.id.clone(), s.class, s.time.clone())
                                let:s
                            >
                                <li class="section-row">
                                    <span class="section-name">{format!("{} · {}", s.river, s.name)}</span>
                                    <span
                                        class="class-chip"
                                        style=format!("--chip: {}", s.class.map_or("#56606c", class_color))
                                    >
                                        {s.class.map_or("—", |c| c.label())}
                                    </span>
                                    <span class="section-time">
                                        {s.time.as_deref().map(js_sys::Date::parse).filter(|m| m.is_finite()).map(shanghai_hms).unwrap_or_default()}
                                    </span>
                                </li>
                            </For>
                        </ul>
                    </Panel>
                </div>
            </main>
            <footer class="wall-foot">
                <span>{move || format!("{} · {}", tr(Text::DataTime), feeds.overview_ms.get().map(|m| format!("{} {}", shanghai_date(m), shanghai_hms(m))).unwrap_or_else(|| tr(Text::NoData).to_string()))}</span>
                <span>"Asia/Shanghai"</span>
            </footer>
        </div>
    }
}
