//! Which screen the wall shows: from the address, the screen tabs, the carousel
//! (`?carousel=S`), or the browser's back and forward.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::screens::{Carousel, Screen, carousel_dwell_ms};

/// The screen shown and how to change it.
#[derive(Clone, Copy)]
pub(super) struct Navigation {
    /// The screen shown.
    pub(super) screen: RwSignal<Screen>,
    /// "off", "running" or "paused" (the carousel).
    pub(super) carousel: RwSignal<&'static str>,
    /// Show a screen from a touch: a new history entry.
    pub(super) go: Callback<Screen>,
    /// Held by a presenter: the carousel stays on the screen shown until released.
    pub(super) hold: RwSignal<bool>,
    /// Show a screen from a presenter: in place, no history entry.
    pub(super) set: Callback<Screen>,
    /// When the carousel last moved on (ms, `Date.now`): that change was the page's own.
    pub(super) rotated_at: RwSignal<f64>,
}

fn pathname() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
}

/// Show `s` (nothing when it is shown already), back at the province (`selected` cleared),
/// recording it in the address: a new history entry when `push`, else in place (the carousel).
fn show(screen: RwSignal<Screen>, selected: RwSignal<Option<String>>, s: Screen, push: bool) {
    if screen.get_untracked() == s {
        return;
    }
    selected.set(None);
    screen.set(s);
    if let Some(w) = web_sys::window()
        && let Ok(h) = w.history()
    {
        let url = format!("{}{}", s.path(), w.location().search().unwrap_or_default());
        let _ = if push {
            h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        } else {
            h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        };
    }
}

/// Start navigating: the screen from the address, back and forward, and the carousel of the
/// page's `query` (any touch holds the screen; quiet resumes it). A touch on a tab or the
/// carousel goes back to the province (clears `selected`). Listeners and timers stop with the
/// wall.
pub(super) fn start(query: &str, selected: RwSignal<Option<String>>) -> Navigation {
    let screen = RwSignal::new(Screen::from_path(&pathname()));
    let popped =
        window_event_listener(leptos::ev::popstate, move |_| screen.set(Screen::from_path(&pathname())));
    on_cleanup(move || popped.remove());
    let carousel =
        carousel_dwell_ms(query).map(|d| Rc::new(RefCell::new(Carousel::new(d, js_sys::Date::now()))));
    let carousel_for_release = carousel.clone().map(SendWrapper::new);
    let state = RwSignal::new(if carousel.is_some() { "running" } else { "off" });
    let hold = RwSignal::new(false);
    let rotated_at = RwSignal::new(f64::NEG_INFINITY);
    if let Some(c) = carousel {
        let touched = SendWrapper::new(c.clone());
        crate::timer::every(Duration::from_millis(250), move || {
            let now = js_sys::Date::now();
            let mut c = c.borrow_mut();
            if hold.get_untracked() {
                c.touch(now);
            }
            if c.tick(now) {
                rotated_at.set(now);
                show(screen, selected, screen.get_untracked().next(), false);
            }
            let s = if c.paused(now) { "paused" } else { "running" };
            if state.get_untracked() != s {
                state.set(s);
            }
        });
        let touches = window_event_listener(leptos::ev::pointerdown, move |_| {
            touched.borrow_mut().touch(js_sys::Date::now());
            state.set("paused");
        });
        on_cleanup(move || touches.remove());
    }
    // Released by the presenter: the carousel runs on at once.
    if let Some(c) = carousel_for_release {
        Effect::new(move |prev: Option<bool>| {
            let held = hold.get();
            if prev == Some(true) && !held {
                c.borrow_mut().paused_until = js_sys::Date::now();
            }
            held
        });
    }
    Navigation {
        screen,
        carousel: state,
        go: Callback::new(move |s| show(screen, selected, s, true)),
        hold,
        set: Callback::new(move |s| show(screen, selected, s, false)),
        rotated_at,
    }
}
