//! The one way the app runs something periodically ([`every`]) or later ([`after`]): the timer
//! stops when the component (or page) that started it goes away, so a wall that cycles its
//! screens for weeks does not pile up timers.

use std::time::Duration;

use leptos::prelude::*;

/// Run `f` every `period` until the current reactive owner (the component that calls this) is
/// cleaned up.
pub fn every(period: Duration, f: impl Fn() + 'static) {
    if let Ok(h) = set_interval_with_handle(f, period) {
        on_cleanup(move || h.clear());
    }
}

/// Run `f` once after `delay`, unless the current reactive owner (the component that calls this)
/// is cleaned up first.
pub fn after(delay: Duration, f: impl FnOnce() + 'static) {
    if let Ok(h) = set_timeout_with_handle(f, delay) {
        on_cleanup(move || h.clear());
    }
}
