//! The headline figure of a panel: [`Kpi`].

use leptos::prelude::*;

use crate::format::{NumberStyle, change_percent, scale_cn, scale_en};
use crate::layout::{Pick, Tween, change};

/// How long a figure takes to count to a new value, ms.
const COUNT_MS: f64 = 600.0;

/// A headline figure: label, value scaled by 万/亿 (or K/M/B, see [`NumberStyle`]), unit, an
/// optional change against a previous period (▲/▼ with the percentage, green when better), and
/// an optional note line.
///
/// A new value counts up or down to itself over 0.6 s (on wasm; natively it is set at once) and
/// keeps the precision of the target, so the digits do not flicker. `None` shows a dash (no data
/// yet), never a made-up zero. A touch reports the figure (key `test_id`).
#[component]
pub fn Kpi(
    /// What the figure is.
    #[prop(into)]
    label: Signal<String>,
    /// The value.
    #[prop(into)]
    value: Signal<Option<f64>>,
    /// Unit after the value (e.g. "条", "%").
    #[prop(into)]
    unit: Signal<String>,
    /// Decimals when scaled or fractional.
    #[prop(default = 1)]
    decimals: usize,
    /// A small line under the value.
    #[prop(optional, into)]
    note: Signal<String>,
    /// The value of the period compared with; with it the change is shown.
    #[prop(optional, into)]
    previous: Signal<Option<f64>>,
    /// The words before the change, e.g. "较上期" or "同比".
    #[prop(optional, into)]
    change_label: Signal<String>,
    /// Whether a rise is good (green) or bad (red).
    #[prop(default = true)]
    higher_is_better: bool,
    /// Reported on touch.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
    /// `data-testid` for tests and automation.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let style = use_context::<NumberStyle>().unwrap_or_default();
    let shown = counting(value);
    let scaled = move || {
        shown.get().map(|v| match style {
            NumberStyle::Chinese => scale_cn(v, decimals),
            NumberStyle::Western => scale_en(v, decimals),
        })
    };
    let delta = move || change(value.get(), previous.get()).and_then(|c| c.percent);
    let trend = move || match delta() {
        Some(p) if (p > 0.05) == higher_is_better && p.abs() > 0.05 => "better",
        Some(p) if p.abs() > 0.05 => "worse",
        Some(_) => "flat",
        None => "none",
    };
    let click = move |_| {
        if let (Some(cb), Some(v)) = (on_pick, value.get_untracked()) {
            cb.run(Pick {
                widget: "kpi",
                series: String::new(),
                key: test_id.to_string(),
                label: label.get_untracked(),
                value: v,
            });
        }
    };
    view! {
        <div class="kpi" data-testid=test_id data-value=move || value.get().map(|v| v.to_string()) on:click=click>
            <div class="kpi-label">{label}</div>
            <div class="kpi-value">
                <span class="kpi-number">{move || scaled().map_or_else(|| "—".to_string(), |s| s.value)}</span>
                <span class="kpi-unit">{move || format!("{}{}", scaled().map_or("", |s| s.unit), unit.get())}</span>
            </div>
            <div class="kpi-note">
                // One element for the page's life, shown or hidden (not re-created per value).
                <span class="kpi-change" data-trend=trend hidden=move || delta().is_none()>
                    {move || delta().map(|p| format!("{} {}", change_label.get(), change_percent(p))).unwrap_or_default()}
                </span>
                {note}
            </div>
        </div>
    }
}

/// The value as shown: it follows `value`, counting smoothly on wasm.
fn counting(value: Signal<Option<f64>>) -> Signal<Option<f64>> {
    #[cfg(target_arch = "wasm32")]
    {
        use std::cell::{Cell, RefCell};
        use std::rc::Rc;

        let shown = RwSignal::new(value.get_untracked());
        // A figure on a hidden part of the page takes its value without counting up to it.
        let on_screen = crate::observe::Shown::here();
        let tween: Rc<RefCell<Option<Tween>>> = Rc::default();
        let generation = Rc::new(Cell::new(0u32));
        Effect::new(move |_| {
            let Some(target) = value.get() else {
                shown.set(None);
                *tween.borrow_mut() = None;
                return;
            };
            let now = js_sys::Date::now();
            {
                let mut t = tween.borrow_mut();
                match (t.as_mut(), shown.get_untracked()) {
                    (Some(t), Some(_)) if on_screen.get_untracked() => t.retarget(target, now),
                    _ => {
                        *t = Some(Tween::at(target, COUNT_MS));
                        shown.set(Some(target));
                        return;
                    }
                }
            }
            generation.set(generation.get().wrapping_add(1));
            step(tween.clone(), shown, generation.clone(), generation.get());
        });
        shown.into()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (COUNT_MS, Tween::at(0.0, 0.0));
        value
    }
}

/// One animation frame of a count.
#[cfg(target_arch = "wasm32")]
fn step(
    tween: std::rc::Rc<std::cell::RefCell<Option<Tween>>>,
    shown: RwSignal<Option<f64>>,
    generation: std::rc::Rc<std::cell::Cell<u32>>,
    mine: u32,
) {
    if generation.get() != mine {
        return;
    }
    let now = js_sys::Date::now();
    let Some(t) = *tween.borrow() else { return };
    let target = t.target();
    let v = t.value(now);
    // Keep the target's precision: an integer counts in integers.
    let v = if target.fract() == 0.0 { v.round() } else { v };
    shown.set(Some(v));
    if t.moving(now) {
        request_animation_frame(move || step(tween, shown, generation, mine));
    }
}
