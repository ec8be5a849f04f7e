//! A canvas's CSS size, as the browser's layout gives it (wasm only).
//!
//! A `ResizeObserver` reports the size after each layout that changes it, and after the first,
//! before the frame is painted; what its callback draws is in that frame. Reading the size while
//! drawing instead (`clientWidth` in an animation frame) forces a layout in the middle of the
//! frame, once per canvas when a screen of new canvases appears.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html::Canvas;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{HtmlCanvasElement, ResizeObserver};

fn css_size(c: &HtmlCanvasElement) -> (f64, f64) {
    (f64::from(c.client_width()), f64::from(c.client_height()))
}

/// Call `on_size` with the CSS size of `canvas` (width, height) once it is laid out and after
/// every layout that changes it, until the calling component goes away (the observer is
/// disconnected then). Without a `ResizeObserver` (no supported browser lacks one) the size is
/// read once, when the canvas is mounted.
pub fn on_css_size(canvas: NodeRef<Canvas>, on_size: impl FnMut(f64, f64) + 'static) {
    let on_size = Rc::new(RefCell::new(on_size));
    let f = on_size.clone();
    let callback = Closure::<dyn FnMut()>::new(move || {
        if let Some(c) = canvas.get_untracked() {
            let (w, h) = css_size(&c);
            (f.borrow_mut())(w, h);
        }
    });
    let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).ok();
    let o = observer.clone();
    canvas.on_load(move |c| match o {
        Some(o) => o.observe(&c),
        None => {
            let (w, h) = css_size(&c);
            (on_size.borrow_mut())(w, h);
        }
    });
    let keep = SendWrapper::new((observer, callback));
    on_cleanup(move || {
        let (observer, callback) = keep.take();
        if let Some(o) = observer {
            o.disconnect();
        }
        drop(callback);
    });
}
