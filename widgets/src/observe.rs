//! A canvas's CSS size, as the browser's layout gives it (wasm only).
//!
//! A `ResizeObserver` reports the size after each layout that changes it, and after the first,
//! before the frame is painted; what its callback draws is in that frame. Reading the size while
//! drawing instead (`clientWidth` in an animation frame) forces a layout in the middle of the
//! frame, once per canvas when a screen of new canvases appears.

use std::cell::{Cell, RefCell};
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

thread_local! {
    /// Canvases laid out whose first frame is not drawn yet (see [`FirstDraw`]).
    static FIRST_DRAWS: Cell<u32> = const { Cell::new(0) };
    /// Whether a canvas of this page has drawn.
    static PAGE_DRAWN: Cell<bool> = const { Cell::new(false) };
}

/// A canvas's first frame, owed. The canvases of a page that has drawn none yet draw their first
/// size in the animation frame after the one that laid them out: that frame commits at once, and
/// the browser rasters the page's tiles on another thread while the canvases draw (at 7680×2160
/// the page's first paint is 0.3 s sooner). Later canvases (a new screen's) draw in the frame
/// that laid them out: drawing them a frame later would make the screen whole later (the raster
/// of a screen's tiles and its charts' drawing share the same busy cores). A canvas holds one of
/// these meanwhile; dropped when its first render runs (a map without its layers or data yet
/// draws later still), or when the canvas goes away.
#[derive(Debug)]
pub struct FirstDraw(());

impl FirstDraw {
    /// The first frame of a canvas just laid out, if it is owed to the next animation frame
    /// (None: draw now).
    #[must_use]
    pub fn owed() -> Option<FirstDraw> {
        if PAGE_DRAWN.with(Cell::get) {
            return None;
        }
        FIRST_DRAWS.with(|n| n.set(n.get() + 1));
        Some(FirstDraw(()))
    }

    /// Note that a canvas of the page has drawn.
    pub fn page_drawn() {
        PAGE_DRAWN.with(|d| d.set(true));
    }

    /// How many canvases owe their first render now: after a frame in which none does, every
    /// canvas laid out has rendered (the presenting benchmark waits for it).
    pub fn pending() -> u32 {
        FIRST_DRAWS.with(Cell::get)
    }
}

impl Drop for FirstDraw {
    fn drop(&mut self) {
        FIRST_DRAWS.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Whether the part of the page a widget is in is shown: a wall keeps the screens it has shown,
/// hidden, so that showing one again costs no new page (see `app/src/wall/mod.rs`, `Pane`).
/// Under a hidden part a chart does not draw (a chart whose data changed meanwhile draws once, in
/// the frame that shows it again) and a figure takes a new value without counting up to it (one
/// already counting finishes); their reactive text still follows the data. Given to a part's
/// widgets by a context `Provider`; a widget without one is always shown.
#[derive(Debug, Clone, Copy)]
pub struct Shown(pub Signal<bool>);

impl Shown {
    /// The [`Shown`] of the calling component's part of the page (always shown without one).
    #[must_use]
    pub fn here() -> Signal<bool> {
        use_context::<Shown>().map_or_else(|| Signal::stored(true), |s| s.0)
    }
}
