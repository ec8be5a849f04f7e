//! The live miniature of the wall: the wall app itself as the wall's remote page
//! (`/?wall=…&remote=1`), laid out at [`WIDTH`] CSS pixels wide and the wall's aspect, scaled to
//! the console. The wall's layout scales with its height, so the miniature is the wall in small:
//! the pointer and the panels land where they are on the wall.

use leptos::html::{Div, Iframe};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use yiping_protocol::present::{Cue, Setting};

use super::{Console, Mode};

/// The miniature page's width in CSS pixels (its height follows the wall's aspect).
const WIDTH: f64 = 1920.0;

/// Where an event is over `el`, as fractions of its size (0–1).
fn fractions(el: &web_sys::Element, x: i32, y: i32) -> (f64, f64) {
    let r = el.get_bounding_client_rect();
    let fx = ((f64::from(x) - r.left()) / r.width().max(1.0)).clamp(0.0, 1.0);
    let fy = ((f64::from(y) - r.top()) / r.height().max(1.0)).clamp(0.0, 1.0);
    (fx, fy)
}

/// The panel of the miniature's page at fractions (fx, fy), as its index among the wall's
/// panels in reading order.
fn panel_at(frame: &web_sys::HtmlIFrameElement, fx: f64, fy: f64, height: f64) -> Option<u32> {
    let doc = frame.content_document()?;
    let hit = doc.element_from_point((fx * WIDTH) as f32, (fy * height) as f32)?;
    let panel = hit.closest(".panel").ok()??;
    let list = doc.query_selector_all(crate::wall::SHOWN_PANELS).ok()?;
    (0..list.length()).find(|i| list.item(*i).is_some_and(|n| n.is_same_node(Some(&panel))))
}

/// The miniature, with the overlay that turns touches into a pointer or a highlight (and keeps
/// a console that does not control the wall read-only).
#[component]
pub fn Miniature(
    /// The console.
    c: Console,
) -> impl IntoView {
    let frame = NodeRef::<Iframe>::new();
    let stage = NodeRef::<Div>::new();
    let size = Memo::new(move |_| c.state().and_then(|s| s.size).unwrap_or([1920, 1080]));
    let height = move || {
        let [w, h] = size.get();
        WIDTH * f64::from(h.max(1)) / f64::from(w.max(1))
    };
    let scale = RwSignal::new(0.5);
    let measure = move || {
        if let Some(el) = stage.get_untracked() {
            scale.set(f64::from(el.client_width()) / WIDTH);
        }
    };
    let resized = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || resized.remove());
    Effect::new(move |_| {
        size.track();
        stage.track();
        request_animation_frame(measure);
    });
    // The miniature's address: made once per wall (the page then follows the wall itself).
    let src = Memo::new(move |_| {
        let wall = c.wall.get()?;
        let lang = c.feeds.wall.with_untracked(|s| s.as_ref().map(|s| s.view.lang.clone()));
        Some(format!("/?wall={wall}&remote=1&lang={}", lang.as_deref().unwrap_or(c.lang.pick("zh", "en"))))
    });
    let pressed = RwSignal::new(false);
    let last_sent = StoredValue::new(0.0f64);
    let point = move |e: &web_sys::PointerEvent, down: bool| {
        let Some(el) = stage.get_untracked() else { return };
        let now = js_sys::Date::now();
        // About 30 a second: enough to follow a finger, not a flood.
        if !down && now - last_sent.get_value() < 33.0 {
            return;
        }
        last_sent.set_value(now);
        let (x, y) = fractions(&el, e.client_x(), e.client_y());
        c.cue(Cue::Pointer { x, y, down });
    };
    let on_down = move |e: web_sys::PointerEvent| {
        if !c.yours() {
            return;
        }
        match c.mode.get_untracked() {
            Mode::Point => {
                pressed.set(true);
                point(&e, true);
            }
            Mode::Highlight => {
                let (Some(el), Some(f)) = (stage.get_untracked(), frame.get_untracked()) else { return };
                let (fx, fy) = fractions(&el, e.client_x(), e.client_y());
                let panel = panel_at(&f, fx, fy, height());
                let now = c.feeds.wall.with_untracked(|s| s.as_ref().and_then(|s| s.highlight));
                c.set(Setting::Highlight { panel: if panel == now { None } else { panel } });
            }
            Mode::Operate => {}
        }
    };
    let lift = move || {
        if pressed.get_untracked() {
            pressed.set(false);
            c.cue(Cue::Lift);
        }
    };
    view! {
        <div class="mini" node_ref=stage data-testid="mini" style=move || { let [w, h] = size.get(); format!("aspect-ratio: {w} / {h}") }>
            {move || src.get().map(|src| view! {
                <iframe
                    node_ref=frame
                    class="mini-frame"
                    title=c.tr("大屏实时缩略图", "Live miniature of the wall")
                    data-testid="mini-frame"
                    src=src
                    style=move || format!("width: {WIDTH}px; height: {:.0}px; transform: scale({:.5})", height(), scale.get())
                ></iframe>
            })}
            <div
                class="mini-overlay"
                data-testid="mini-overlay"
                data-mode=move || format!("{:?}", c.mode.get()).to_lowercase()
                hidden=move || c.yours() && c.mode.get() == Mode::Operate
                on:pointerdown=move |e| {
                    if let Some(t) = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                        let _ = t.set_pointer_capture(e.pointer_id());
                    }
                    on_down(e);
                }
                on:pointermove=move |e| if pressed.get_untracked() { point(&e, false) }
                on:pointerup=move |_| lift()
                on:pointercancel=move |_| lift()
            ></div>
        </div>
        <div class="mini-modes" role="group" aria-label=c.tr("触控方式", "Touch mode")>
            {[(Mode::Operate, "操作", "Operate"), (Mode::Point, "指示", "Point"), (Mode::Highlight, "突出面板", "Highlight")]
                .into_iter()
                .map(|(m, zh, en)| view! {
                    <button
                        data-testid=format!("mode-{}", format!("{m:?}").to_lowercase())
                        aria-pressed=move || (c.mode.get() == m).to_string()
                        disabled=move || !c.yours()
                        on:click=move |_| c.mode.set(m)
                    >{c.tr(zh, en)}</button>
                })
                .collect::<Vec<_>>()}
            <button data-testid="clear-highlight" disabled=move || !c.yours() on:click=move |_| c.set(Setting::Highlight { panel: None })>
                {c.tr("取消突出", "Clear highlight")}
            </button>
        </div>
    }
}
