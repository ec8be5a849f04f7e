//! The map's view in the address (`#420300`): a drill-down is a history entry, so the browser's
//! back (button, mouse side button, swipe) returns to the region shown (the province, or a
//! city), and a wall can open a region under it directly.

use std::sync::Arc;

use leptos::prelude::*;

use super::layers::Layers;

/// The region named by the address's fragment (six digits; the region shown is no fragment).
fn hash_view() -> Option<String> {
    let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let code = hash.trim_start_matches('#');
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && code != crate::site::current().region())
        .then(|| code.to_string())
}

fn known(l: &Layers, a: &str) -> bool {
    l.prefecture(a).is_some() || l.county(a).is_some()
}

/// Keep `view` and the address in step: the address the page was opened with names the first
/// view (once the layers know it); every later view is pushed as a history entry; back and
/// forward set the view. Returns the listener, to be removed with the map.
pub(super) fn follow(
    view: RwSignal<Option<String>>,
    layers: RwSignal<Option<Arc<Layers>>>,
) -> WindowListenerHandle {
    // Read before the view is written back into the address.
    let opened_with = std::cell::Cell::new(hash_view());
    Effect::new(move |_| {
        let v = view.get();
        let Some(l) = layers.get() else { return };
        if let Some(a) = opened_with.take().filter(|a| known(&l, a)) {
            view.set(Some(a));
            return;
        }
        if hash_view() != v
            && let Some(w) = web_sys::window()
            && let Ok(history) = w.history()
        {
            let loc = w.location();
            let base = format!("{}{}", loc.pathname().unwrap_or_default(), loc.search().unwrap_or_default());
            let url = v.as_ref().map_or(base.clone(), |a| format!("{base}#{a}"));
            let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    });
    window_event_listener(leptos::ev::popstate, move |_| {
        let v = hash_view().filter(|a| layers.with_untracked(|l| l.as_ref().is_some_and(|l| known(l, a))));
        if v != view.get_untracked() {
            view.set(v);
        }
    })
}
