//! The alert ticker: the newest alerts scrolling across the bottom of the wall.

use leptos::prelude::*;

use crate::format::shanghai_hms;
use crate::layout::Pick;
use crate::palette::SEVERITY;

/// An alert as the ticker shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TickerItem {
    /// Alert id, reported on touch.
    pub id: String,
    /// 0 红, 1 橙, 2 黄, 3 蓝.
    pub severity: u8,
    /// Its state word, e.g. "新" or "已确认" (the ticker follows the life cycle).
    pub state: String,
    /// When it was raised, epoch ms.
    pub time_ms: f64,
    /// Region name.
    pub region: String,
    /// What happened.
    pub text: String,
}

/// Most alerts the ticker carries (the newest); the duty console has the full list.
pub const TICKER_SLOTS: usize = 16;

/// A horizontally scrolling ticker of alerts, newest first, coloured by severity (红/橙/黄/蓝).
/// It pauses while pointed at or focused; each alert is a button that reports its id. With no
/// alerts it says so (`empty`), rather than scrolling nothing.
///
/// It carries the newest [`TICKER_SLOTS`] alerts in a fixed set of elements whose text and
/// attributes follow the data: nothing is created or dropped as alerts come and go, so a wall
/// that runs for weeks keeps the same memory. (Leptos 0.8 keeps a little memory for every child
/// scope created under a long-lived parent until that parent goes away, e.g. each row a `<For>`
/// ever rendered; see the widgets' notes.)
#[component]
pub fn AlertTicker(
    /// The alerts, newest first.
    #[prop(into)]
    items: Signal<Vec<TickerItem>>,
    /// Words for the severities 红, 橙, 黄, 蓝 in the wall's language.
    #[prop(into)]
    severity_words: Signal<[&'static str; 4]>,
    /// What to show when there are none.
    #[prop(into)]
    empty: Signal<String>,
    /// Reported on touch.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
    /// `data-testid`.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let count = move || items.with(|i| i.len().min(TICKER_SLOTS));
    // About 6 s per alert across the screen, never faster than 20 s a lap.
    let duration = move || format!("{}s", (count() * 6).max(20));
    let slot = move |i: usize| {
        let field =
            move |f: fn(&TickerItem) -> String| move || items.with(|v| v.get(i).map(f).unwrap_or_default());
        let sev = move || items.with(|v| v.get(i).map_or(3, |x| usize::from(x.severity.min(3))));
        view! {
            <button
                class="tick"
                hidden=move || { i >= count() }
                data-severity=move || sev().to_string()
                data-alert=field(|x| x.id.clone())
                style=move || format!("--sev: {}", SEVERITY[sev()].css())
                on:click=move |_| {
                    let item = items.with_untracked(|v| v.get(i).cloned());
                    if let (Some(cb), Some(item)) = (on_pick, item) {
                        cb.run(Pick {
                            widget: "ticker",
                            series: item.state,
                            key: item.id,
                            label: item.text,
                            value: f64::from(item.severity),
                        });
                    }
                }
            >
                <span class="tick-sev">{move || severity_words.get()[sev()]}</span>
                <span class="tick-time">{move || items.with(|v| v.get(i).map(|x| shanghai_hms(x.time_ms)).unwrap_or_default())}</span>
                <span class="tick-region">{field(|x| x.region.clone())}</span>
                <span class="tick-text">{field(|x| x.text.clone())}</span>
                <span class="tick-state">{field(|x| x.state.clone())}</span>
            </button>
        }
    };
    view! {
        <div class="ticker" data-testid=test_id role="log" aria-live="polite">
            <div class="ticker-empty" hidden=move || { count() > 0 }>{empty}</div>
            <div class="ticker-track" hidden=move || count() == 0 style:animation-duration=duration>
                {(0..TICKER_SLOTS).map(slot).collect::<Vec<_>>()}
            </div>
        </div>
    }
}
