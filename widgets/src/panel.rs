//! The frame of every wall panel, with its data time and staleness: [`Panel`].

use leptos::prelude::*;

use crate::format::shanghai_hms;
use crate::freshness::{Freshness, freshness};

/// A titled wall panel that shows its data's time and a stale badge.
///
/// `data_ms` is the time of the data shown inside (epoch ms), `now_ms` a clock signal ticking at
/// least once a second; the panel turns stale when the data is older than `stale_after_ms`.
/// `labels` gives the words for "data time", "stale" and "no data" in the wall's language.
#[component]
pub fn Panel(
    /// Panel title.
    #[prop(into)]
    title: Signal<String>,
    /// Time of the data shown, epoch ms.
    #[prop(into)]
    data_ms: Signal<Option<f64>>,
    /// Current time, epoch ms.
    #[prop(into)]
    now_ms: Signal<f64>,
    /// Age after which the data is stale, ms: the source's expected reporting period.
    #[prop(into)]
    stale_after_ms: Signal<f64>,
    /// ("数据时间", "数据中断", "暂无数据") or their translation.
    #[prop(into)]
    labels: Signal<(&'static str, &'static str, &'static str)>,
    /// Extra CSS class.
    #[prop(optional, into)]
    class: String,
    /// A mark beside the title while it is set: what the panel shows is not live ("回放 11月20日
    /// 09:00" in a replay); the panel is then drawn in the replay colour.
    #[prop(optional, into)]
    mark: Option<Signal<Option<String>>>,
    /// The panel's content.
    children: Children,
) -> impl IntoView {
    let state = move || freshness(now_ms.get(), data_ms.get(), stale_after_ms.get());
    // A data time of another day says which day (a monthly source's newest report may be weeks
    // old and still be on time).
    let when = |t: f64, now: f64| {
        if crate::format::shanghai_date(t) == crate::format::shanghai_date(now) {
            shanghai_hms(t)
        } else {
            format!("{} {}", crate::format::shanghai_date(t), shanghai_hms(t))
        }
    };
    let state_attr = move || match state() {
        Freshness::NoData => "nodata",
        Freshness::Fresh => "fresh",
        Freshness::Stale => "stale",
    };
    view! {
        <section
            class=format!("panel {class}")
            class:panel-replay=move || mark.is_some_and(|m| m.with(Option::is_some))
            data-freshness=state_attr
        >
            <header class="panel-head">
                <h2 class="panel-title">{title}</h2>
                {move || mark.and_then(|m| m.get()).map(|text| view! {
                    <span class="replay-mark" data-testid="replay-mark">{text}</span>
                })}
                <span class="panel-time">
                    {move || {
                        let (time_word, stale_word, none_word) = labels.get();
                        match (state(), data_ms.get()) {
                            (Freshness::NoData, _) | (_, None) => none_word.to_string(),
                            (Freshness::Stale, Some(t)) => format!("{stale_word} · {time_word} {}", when(t, now_ms.get())),
                            (Freshness::Fresh, Some(t)) => format!("{time_word} {}", when(t, now_ms.get())),
                        }
                    }}
                </span>
            </header>
            <div class="panel-body">{children()}</div>
        </section>
    }
}
