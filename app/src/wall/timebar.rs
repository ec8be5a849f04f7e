//! The time bar: from live into a replay of any past instant, and in a replay play, pause, step
//! an hour, change the speed, scrub over the log's span, and back to live with one touch.
//!
//! It only says what the page wants (`Feeds::want`); the link asks the server, and the replayed
//! clock comes back in the server's `replay` messages (`Feeds::replay`).

use leptos::prelude::*;
use yiping_protocol::api::TimelineAnswer;
use yiping_protocol::instant::Timestamp;

use crate::link::Want;
use crate::replay::SPEEDS;

use super::WallCtx;

const HOUR_MS: f64 = 3_600_000.0;

fn at_text(ms: f64) -> String {
    Timestamp::from_unix_ms(ms).to_string()
}

/// The bar in the footer.
#[component]
pub fn TimeBar(
    /// The wall.
    ctx: WallCtx,
) -> impl IntoView {
    let (feeds, lang) = (ctx.feeds, ctx.lang);
    let speed = RwSignal::new(60.0_f64);
    let span: RwSignal<Option<TimelineAnswer>> = RwSignal::new(None);
    let clock_ms = ctx.replay_ms;
    // The log's span, for the scrubber: read when a replay starts.
    Effect::new(move |_| {
        if feeds.replay.with(Option::is_some) && span.with_untracked(Option::is_none) {
            leptos::task::spawn_local(async move {
                if let Ok(s) = crate::http::fetch_json::<TimelineAnswer>("/api/v1/timeline").await {
                    span.set(Some(s));
                }
            });
        }
    });
    let seek = move |ms: f64| feeds.want.set(Want::Replay { at: at_text(ms), speed: 0.0 });
    let start = move |_| seek(((js_sys::Date::now() - 24.0 * HOUR_MS) / HOUR_MS).floor() * HOUR_MS);
    let playing = move || feeds.replay.with(|r| r.as_ref().is_some_and(|c| c.speed > 0.0));
    let toggle = move |_| {
        // The server's own clock text: the same instant, so only the speed changes.
        if let Some(c) = feeds.replay.get_untracked() {
            let s = if c.speed > 0.0 { 0.0 } else { speed.get_untracked() };
            feeds.want.set(Want::Replay { at: c.at, speed: s });
        }
    };
    let step = move |hours: f64| {
        if let Some(ms) = clock_ms.get_untracked() {
            seek(ms + hours * HOUR_MS);
        }
    };
    let set_speed = move |ev: leptos::ev::Event| {
        let s: f64 = event_target_value(&ev).parse().unwrap_or(60.0);
        speed.set(s);
        if let Some(c) = feeds.replay.get_untracked().filter(|c| c.speed > 0.0) {
            feeds.want.set(Want::Replay { at: c.at, speed: s });
        }
    };
    let range = move || span.with(|s| s.as_ref().and_then(|s| Some((s.first?.unix_ms(), s.last?.unix_ms()))));
    let scrub = move |ev: leptos::ev::Event| {
        if let Ok(min) = event_target_value(&ev).parse::<f64>() {
            seek(min * 60_000.0);
        }
    };
    let mark = move || clock_ms.get().map(|ms| crate::replay::clock(lang, ms)).unwrap_or_default();
    // The bar is built again only between live and replay, not on every tick of the clock.
    let replaying =
        Memo::new(move |_| feeds.replay.with(Option::is_some) || feeds.want.with(|w| *w != Want::Live));
    move || {
        if !replaying.get() {
            return view! {
                <button class="timebar-open" data-testid="replay-open" on:click=start>
                    {lang.pick("◀◀ 回放", "◀◀ Replay")}
                </button>
            }
            .into_any();
        }
        view! {
            <div class="timebar" data-testid="timebar" data-playing=move || playing().to_string()>
                <b class="timebar-clock" data-testid="replay-clock" data-at=move || feeds.replay.with(|r| r.as_ref().map(|c| c.at.clone()))>
                    {mark}
                </b>
                <button data-testid="replay-back" title=lang.pick("后退1小时", "1 hour back") on:click=move |_| step(-1.0)>"−1h"</button>
                <button class="timebar-play" data-testid="replay-play" on:click=toggle>
                    {move || if playing() { lang.pick("‖ 暂停", "‖ Pause") } else { lang.pick("▶ 播放", "▶ Play") }}
                </button>
                <button data-testid="replay-forward" title=lang.pick("前进1小时", "1 hour on") on:click=move |_| step(1.0)>"+1h"</button>
                <select data-testid="replay-speed" on:change=set_speed prop:value=move || speed.get().to_string()>
                    {SPEEDS.iter().map(|s| view! { <option value=s.to_string()>{format!("{s}×")}</option> }).collect::<Vec<_>>()}
                </select>
                {move || range().map(|(first, last)| view! {
                    <input
                        type="range"
                        class="timebar-scrub"
                        data-testid="replay-scrub"
                        min=(first / 60_000.0).floor().to_string()
                        max=(last / 60_000.0).ceil().to_string()
                        prop:value=move || clock_ms.get().map(|ms| (ms / 60_000.0).round().to_string()).unwrap_or_default()
                        on:change=scrub
                    />
                })}
                <button class="timebar-live" data-testid="replay-live" on:click=move |_| feeds.want.set(Want::Live)>
                    {lang.pick("回到实时", "Back to live")}
                </button>
            </div>
        }
        .into_any()
    }
}
