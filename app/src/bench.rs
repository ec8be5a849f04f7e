//! The benchmark driver shared by `/gallery` and `/mapbench` (wasm only).
//!
//! `?bench=N[&per_frame=K][&more=M]` applies N updates, K per animation frame (default 10), as
//! fast as the page draws; the page counts them (`data-updates`) and sets `data-bench-done` when
//! the target is reached. The button `bench-more` then applies M more (default N) on the same
//! page, so a benchmark can compare memory before and after without a reload.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The value of `key` in a query string (`?a=1&b`: `a` is `"1"`, `b` is `""`).
pub(crate) fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.trim_start_matches('?').split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then_some(v)
    })
}

/// The size of the wasm memory, bytes (it never shrinks: a high-water mark).
pub(crate) fn wasm_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()))
}

/// `performance.now()`, ms (0 without a window).
pub(crate) fn perf_now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// A page's benchmark run, from its query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bench {
    /// Updates of the first run.
    pub first: u64,
    /// Updates of each `bench-more` run.
    pub more: u64,
    /// Updates per animation frame.
    pub per_frame: u64,
    /// Updates asked for so far.
    pub target: RwSignal<u64>,
}

impl Bench {
    /// The run the query asks for, if any.
    pub(crate) fn from_query(query: &str) -> Option<Bench> {
        let first: u64 = query_value(query, "bench")?.parse().ok()?;
        let per_frame = query_value(query, "per_frame").and_then(|v| v.parse().ok()).unwrap_or(10u64).max(1);
        let more = query_value(query, "more").and_then(|v| v.parse().ok()).unwrap_or(first);
        Some(Bench { first, more, per_frame, target: RwSignal::new(first) })
    }

    /// Start the first run of `update` (which must count itself in `updates`).
    pub(crate) fn start(self, update: impl Fn() + Copy + 'static) {
        request_animation_frame(move || frames(update, self.first, self.per_frame));
    }

    /// Whether the runs asked for are done, given the updates applied.
    pub(crate) fn done(self, updates: u64) -> bool {
        updates >= self.target.get()
    }

    /// The `bench-more` button.
    pub(crate) fn more_button(self, update: impl Fn() + Copy + 'static) -> impl IntoView {
        view! {
            <button
                class="bench-more"
                data-testid="bench-more"
                on:click=move |_| {
                    self.target.update(|t| *t += self.more);
                    request_animation_frame(move || frames(update, self.more, self.per_frame));
                }
            >
                "bench: more updates"
            </button>
        }
    }
}

/// Apply `left` updates, `per_frame` per animation frame.
fn frames(update: impl Fn() + Copy + 'static, left: u64, per_frame: u64) {
    let k = per_frame.min(left);
    for _ in 0..k {
        update();
    }
    if left > k {
        request_animation_frame(move || frames(update, left - k, per_frame));
    }
}
