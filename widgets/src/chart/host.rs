//! The canvas every chart draws on: sized at CSS size × devicePixelRatio, redrawn at most once
//! per animation frame when its data or size changes, kept for the widget's life. While its part
//! of the page is hidden ([`crate::observe::Shown`]) it does not draw; if its data changed
//! meanwhile, it draws once in the frame that shows it again.
//!
//! The CSS size comes from [`crate::observe`], never from reading the element's size while
//! drawing: that read forces a layout in the middle of an animation frame, one per chart when a
//! screen of new charts appears.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::layout::{Hit, Pick, hit_at};

/// The font stack of the wall (as `style/wall.css`), for canvas text.
pub(crate) const FONT: &str =
    "\"Noto Sans CJK SC\", \"Source Han Sans SC\", \"PingFang SC\", \"Microsoft YaHei\", sans-serif";

/// What a chart draws on in one frame.
pub(crate) struct Surface {
    /// The whole canvas, in device pixels.
    pub root: DrawingArea<CanvasBackend, Shift>,
    /// Width in device pixels.
    pub w: f64,
    /// Height in device pixels.
    pub h: f64,
    /// Device pixels per CSS rem of the page, so chart text scales with the wall's CSS text.
    pub rem: f64,
    /// The frame's time, epoch ms.
    pub now: f64,
}

/// What a frame drew: touchable areas and whether an animation wants another frame.
#[derive(Default)]
pub(crate) struct Drawn {
    pub hits: Vec<Hit>,
    pub animating: bool,
}

type Paint = Box<dyn FnMut(&Surface) -> Drawn>;

struct State {
    paint: Paint,
    hits: Vec<Hit>,
    scheduled: bool,
    alive: bool,
    rem: f64,
    /// The canvas's CSS size as last observed (None: not laid out yet).
    css: Option<(f64, f64)>,
    size: (u32, u32),
    draws: u64,
    draw_ms_total: f64,
    /// Held from the first size to the first frame.
    first: Option<crate::observe::FirstDraw>,
    /// Whether its part of the page is shown.
    shown: Signal<bool>,
    /// A frame is owed: asked for while hidden, or not drawn yet.
    owed: bool,
}

fn schedule(st: &Rc<RefCell<State>>, canvas: NodeRef<Canvas>) {
    {
        let mut s = st.borrow_mut();
        if !s.alive {
            return;
        }
        s.owed = true;
        if !s.shown.get_untracked() {
            // Not a first frame that the page waits for: drawn when shown.
            s.first = None;
            return;
        }
        if s.scheduled {
            return;
        }
        s.scheduled = true;
    }
    let st = st.clone();
    request_animation_frame(move || render(&st, canvas));
}

fn root_font_px() -> f64 {
    web_sys::window()
        .and_then(|w| {
            let el = w.document()?.document_element()?;
            let css = w.get_computed_style(&el).ok()??;
            css.get_property_value("font-size").ok()
        })
        .and_then(|v| v.trim_end_matches("px").parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(16.0)
}

/// Whether the page asked charts to wait for their pixels (`flush` in the query; benchmarks).
fn flush() -> bool {
    thread_local! {
        static FLUSH: bool = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .is_some_and(|q| q.trim_start_matches('?').split('&').any(|kv| kv == "flush"));
    }
    FLUSH.with(|f| *f)
}

fn render(st: &Rc<RefCell<State>>, canvas: NodeRef<Canvas>) {
    let mut s = st.borrow_mut();
    s.scheduled = false;
    s.first = None;
    if !s.alive {
        return;
    }
    // Hidden since the frame was asked for: drawn when shown.
    if !s.shown.get_untracked() {
        s.owed = true;
        return;
    }
    let Some(c) = canvas.get_untracked() else { return };
    let c: HtmlCanvasElement = c;
    let Some(window) = web_sys::window() else { return };
    let dpr = window.device_pixel_ratio();
    let Some((css_w, css_h)) = s.css.filter(|(w, h)| *w >= 1.0 && *h >= 1.0) else { return };
    let size = ((css_w * dpr).round() as u32, (css_h * dpr).round() as u32);
    if s.size != size || c.width() != size.0 || c.height() != size.1 {
        c.set_width(size.0);
        c.set_height(size.1);
        s.size = size;
        s.rem = root_font_px() * dpr;
    }
    let perf = window.performance();
    let t0 = perf.as_ref().map_or(0.0, |p| p.now());
    if let Some(ctx) =
        c.get_context("2d").ok().flatten().and_then(|x| x.dyn_into::<CanvasRenderingContext2d>().ok())
    {
        ctx.clear_rect(0.0, 0.0, f64::from(size.0), f64::from(size.1));
    }
    let Some(backend) = CanvasBackend::with_canvas_object(c.clone()) else { return };
    let surface = Surface {
        root: backend.into_drawing_area(),
        w: f64::from(size.0),
        h: f64::from(size.1),
        rem: s.rem,
        now: js_sys::Date::now(),
    };
    let drawn = (s.paint)(&surface);
    s.owed = false;
    crate::observe::FirstDraw::page_drawn();
    if flush() {
        // Wait for the pixels (benchmarks): reading one back makes the canvas rasterise now.
        if let Some(ctx) =
            c.get_context("2d").ok().flatten().and_then(|x| x.dyn_into::<CanvasRenderingContext2d>().ok())
        {
            let _ = ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
        }
    }
    let ms = perf.as_ref().map_or(0.0, |p| p.now()) - t0;
    s.hits = drawn.hits;
    s.draws += 1;
    s.draw_ms_total += ms;
    // For tests and benchmarks: how often and how long it drew.
    let _ = c.set_attribute("data-draws", &s.draws.to_string());
    let _ = c.set_attribute("data-draw-ms", &format!("{ms:.3}"));
    let _ = c.set_attribute("data-draw-ms-total", &format!("{:.3}", s.draw_ms_total));
    // And how many touchable items it drew (a ranking's rows, a ring's slices).
    let _ = c.set_attribute("data-hits", &s.hits.len().to_string());
    drop(s);
    if drawn.animating {
        schedule(st, canvas);
    }
}

/// A chart canvas: `track` reads the signals the chart depends on (a change redraws it) and
/// `paint` draws a frame from their current values (read untracked) and says what is touchable.
/// A touch reports the [`Pick`] under it to `on_pick`.
pub(crate) fn chart_canvas(
    kind: &'static str,
    label: Signal<String>,
    test_id: &'static str,
    track: impl FnMut() + 'static,
    paint: impl FnMut(&Surface) -> Drawn + 'static,
    on_pick: Option<Callback<Pick>>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let shown = crate::observe::Shown::here();
    let st = Rc::new(RefCell::new(State {
        paint: Box::new(paint),
        hits: Vec::new(),
        scheduled: false,
        alive: true,
        rem: 16.0,
        css: None,
        size: (0, 0),
        draws: 0,
        draw_ms_total: 0.0,
        first: None,
        shown,
        owed: true,
    }));
    let s = st.clone();
    let mut track = track;
    Effect::new(move |_| {
        track();
        schedule(&s, canvas);
    });
    // Shown again: the frame owed, if any.
    let s = st.clone();
    Effect::new(move |_| {
        if shown.get() && s.borrow().owed {
            schedule(&s, canvas);
        }
    });
    // Drawn at once when its size changes (the page's first canvases in the next frame: see
    // `crate::observe::FirstDraw`).
    let s = st.clone();
    crate::observe::on_css_size(canvas, move |w, h| {
        // The page's first canvases draw in the next frame (see `FirstDraw`); any other size is
        // drawn in the frame that brought it (no stretched frame).
        let first = s.borrow_mut().css.replace((w, h)).is_none();
        match first.then(crate::observe::FirstDraw::owed).flatten() {
            Some(owed) => {
                s.borrow_mut().first = Some(owed);
                schedule(&s, canvas);
            }
            None if shown.get_untracked() => render(&s, canvas),
            None => s.borrow_mut().owed = true,
        }
    });
    let keep = SendWrapper::new(st.clone());
    on_cleanup(move || keep.take().borrow_mut().alive = false);
    let picked = SendWrapper::new(st.clone());
    let at = move |e: &leptos::ev::MouseEvent| -> Option<Pick> {
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        let (x, y) = (f64::from(e.offset_x()) * dpr, f64::from(e.offset_y()) * dpr);
        hit_at(&picked.borrow().hits, x, y).cloned()
    };
    let at = Rc::new(at);
    let at2 = at.clone();
    let pointer = RwSignal::new(false);
    view! {
        <canvas
            class=format!("chart chart-{kind}")
            node_ref=canvas
            role="img"
            aria-label=label
            data-testid=test_id
            data-kind=kind
            style:cursor=move || if pointer.get() { "pointer" } else { "default" }
            on:click=move |e| {
                if let (Some(p), Some(cb)) = (at(&e), on_pick) {
                    cb.run(p);
                }
            }
            on:mousemove=move |e| {
                let over = at2(&e).is_some();
                if over != pointer.get_untracked() {
                    pointer.set(over);
                }
            }
        ></canvas>
    }
}

/// A plotters colour from a palette entry.
pub(crate) fn rgb(c: crate::palette::Colour) -> RGBColor {
    let (r, g, b) = c.rgb();
    RGBColor(r, g, b)
}

/// A text style of `size` device pixels in colour `c`, anchored at `h`/`v`.
pub(crate) fn text(size: f64, c: crate::palette::Colour, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle { font: (FONT, size).into_font(), color: rgb(c).to_backend_color(), pos: Pos::new(h, v) }
}

/// The same, bold.
pub(crate) fn bold(size: f64, c: crate::palette::Colour, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size, FontStyle::Bold).into_font(),
        color: rgb(c).to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// Device pixel coordinates for plotters.
pub(crate) fn px(x: f64, y: f64) -> (i32, i32) {
    (x.round() as i32, y.round() as i32)
}

pub(crate) use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The width a text takes at `size` px, estimated: a CJK character is a square, the rest about
/// 0.6 of one.
pub(super) fn text_width(t: &str, size: f64) -> f64 {
    t.chars().map(|c| if c.is_ascii() { 0.6 } else { 1.0 }).sum::<f64>() * size
}
