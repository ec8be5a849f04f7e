//! A wall named by its address (`?wall=hall-1`) follows a presenter's console (see
//! `yiping_protocol::present`); `&remote=1` makes the page the console's live miniature.
//!
//! - **Joining.** The page says `join` with its view whenever its link opens; the server answers
//!   with the wall's state (a wall new to it starts from the page's view).
//! - **Following.** Whenever a state arrives whose view differs from what the page shows, the
//!   page shows it: screen, region, indicator and live-or-instant first, then (once the effects
//!   that close drawers on a change of region or screen have run) the drawer and the map's box.
//!   A change of language reloads the page in that language.
//! - **Reporting.** A touch on the page changes what it shows; 150 ms later, if the page still
//!   shows something other than the wall's view, it reports it (a miniature only while its user
//!   controls the wall), so the console sees a touch on the wall.
//! - **Marks.** A discreet mark that the wall is driven and by whom, the presenter's pointer,
//!   the highlighted panel, and the blank (black) screen.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use yiping_protocol::ClientMsg;
use yiping_protocol::present::{Cue, Drawer, Part, View};

use super::WallCtx;
use super::navigation::Navigation;
use crate::i18n::Lang;
use crate::link::{self, Want};
use crate::screens::Screen;

/// A wall page's part in presenting.
#[derive(Debug, Clone, Copy)]
pub struct Presented {
    /// The presenter's pointer, as fractions of the page (None: not shown).
    pointer: RwSignal<Option<(f64, f64)>>,
}

/// The wall's name and part from the page's query (`wall=hall-1`, `remote=1`).
fn from_query(query: &str) -> Option<(String, Part)> {
    let mut name = None;
    let mut part = Part::Wall;
    for kv in query.trim_start_matches('?').split('&') {
        if let Some(v) = kv.strip_prefix("wall=") {
            name = Some(js_sys::decode_uri_component(v).ok().and_then(|s| s.as_string()).unwrap_or_default());
        } else if kv == "remote=1" {
            part = Part::Remote;
        }
    }
    // The server's own walls (`export-…`, an export's page) are joined as well.
    name.filter(|n| yiping_protocol::present::check_wall_name(n).is_ok() || n.starts_with("export-"))
        .map(|n| (n, part))
}

fn lang_key(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    }
}

/// The drawer open over the map (the topmost when several are).
fn drawer_of(ctx: WallCtx) -> Option<Drawer> {
    let d = |kind: &str, key: String| Some(Drawer { kind: kind.into(), key });
    if let Some(id) = ctx.alert_open.get() {
        return d("alert", id);
    }
    if let Some(key) = ctx.entity.get() {
        return d("entity", key);
    }
    if ctx.periods_open.get() {
        return d("periods", String::new());
    }
    if let Some(c) = ctx.class_pick.get() {
        return d("class", c);
    }
    if let Some((stage, overdue)) = ctx.stage_pick.get() {
        return d(if overdue { "stage-overdue" } else { "stage" }, stage);
    }
    ctx.age_pick.get().and_then(|a| d("ageing", a.to_string()))
}

/// Open `drawer` (closing the others).
fn set_drawer(ctx: WallCtx, drawer: Option<&Drawer>) {
    let (kind, key) = drawer.map_or(("", ""), |d| (d.kind.as_str(), d.key.as_str()));
    fn put<T: PartialEq + Send + Sync + 'static>(s: RwSignal<T>, v: T) {
        if s.with_untracked(|x| *x != v) {
            s.set(v);
        }
    }
    put(ctx.alert_open, (kind == "alert").then(|| key.to_owned()));
    put(ctx.entity, (kind == "entity").then(|| key.to_owned()));
    put(ctx.periods_open, kind == "periods");
    put(ctx.class_pick, (kind == "class").then(|| key.to_owned()));
    put(ctx.stage_pick, kind.starts_with("stage").then(|| (key.to_owned(), kind == "stage-overdue")));
    put(ctx.age_pick, if kind == "ageing" { key.parse().ok() } else { None });
}

/// What the page shows (tracked: an effect that calls it follows every part of the view).
fn view_now(ctx: WallCtx) -> View {
    let (at, speed) = match ctx.feeds.want.get() {
        Want::Live => (None, 0.0),
        Want::Replay { at, speed } => (Some(at), speed),
    };
    View {
        screen: ctx.screen.get().key().to_owned(),
        region: ctx.selected.get(),
        map_box: ctx.camera.get(),
        indicator: u8::try_from(ctx.indicator.get()).unwrap_or(0),
        drawer: drawer_of(ctx),
        lang: lang_key(ctx.lang).to_owned(),
        at,
        speed,
    }
}

/// Reload the page in `lang` (the wall's language is fixed for a page's life).
fn reload_in(lang: &str) {
    let Some(w) = web_sys::window() else { return };
    let loc = w.location();
    let search = loc.search().unwrap_or_default();
    let mut kept: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
        .collect();
    let tag = format!("lang={lang}");
    kept.push(&tag);
    let url = format!(
        "{}?{}{}",
        loc.pathname().unwrap_or_default(),
        kept.join("&"),
        loc.hash().unwrap_or_default()
    );
    let _ = loc.replace(&url);
}

/// Show `v`: the screen, region, indicator and time now; the drawer and the map's box once the
/// effects of the first have run. `busy` is set until done.
fn show(ctx: WallCtx, nav: Navigation, v: &View, busy: RwSignal<bool>) {
    // Busy from here on; for a change of language, until the page is gone: a touch report
    // already on its way would otherwise carry this page's language back at the new version.
    busy.set(true);
    if v.lang != lang_key(ctx.lang) {
        reload_in(&v.lang);
        return;
    }
    if let Some(s) = Screen::ALL.into_iter().find(|s| s.key() == v.screen) {
        nav.set.run(s);
    }
    if ctx.selected.get_untracked() != v.region {
        ctx.selected.set(v.region.clone());
    }
    if ctx.indicator.get_untracked() != usize::from(v.indicator) {
        ctx.indicator.set(usize::from(v.indicator));
    }
    let want = match &v.at {
        None => Want::Live,
        Some(at) => Want::Replay { at: at.clone(), speed: v.speed },
    };
    if ctx.feeds.want.get_untracked() != want {
        ctx.feeds.want.set(want);
    }
    let (drawer, map_box) = (v.drawer.clone(), v.map_box);
    set_timeout(
        move || {
            set_drawer(ctx, drawer.as_ref());
            if ctx.camera.get_untracked() != map_box {
                ctx.camera.set(map_box);
            }
            set_timeout(move || busy.set(false), Duration::from_millis(40));
        },
        Duration::from_millis(40),
    );
}

/// Note when control `n` reached the screen, for the latency benchmark:
/// `window.yipingPresentFrames` holds `[n, epoch ms]` pairs. The time is taken in a task posted
/// from the first animation frame after the control was applied, so it falls after that frame's
/// work (every animation-frame callback, the map's redraw among them, then style, layout, paint
/// and the commit to the compositor), not at its start; and while a canvas owes its first frame
/// (the page's first canvases draw in the frame after their layout: see
/// `yiping_widgets::observe::FirstDraw`), after the frame that rendered it.
fn mark_frame(n: u64) {
    if n == 0 {
        return;
    }
    request_animation_frame(move || set_timeout(move || when_drawn(n), Duration::ZERO));
}

fn when_drawn(n: u64) {
    if yiping_widgets::observe::FirstDraw::pending() == 0 {
        note_frame(n);
    } else {
        request_animation_frame(move || set_timeout(move || when_drawn(n), Duration::ZERO));
    }
}

fn note_frame(n: u64) {
    let Some(w) = web_sys::window() else { return };
    let t = w.performance().map_or(js_sys::Date::now(), |p| p.time_origin() + p.now());
    let key = wasm_bindgen::JsValue::from_str("yipingPresentFrames");
    let list = js_sys::Reflect::get(&w, &key)
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::Array>().ok())
        .unwrap_or_else(|| {
            let a = js_sys::Array::new();
            let _ = js_sys::Reflect::set(&w, &key, &a);
            a
        });
    // Bounded: a wall runs for weeks.
    if list.length() >= 10_000 {
        list.splice(0, 5_000, &wasm_bindgen::JsValue::UNDEFINED);
    }
    list.push(&js_sys::Array::of2(&(n as f64).into(), &t.into()));
}

/// Follow the wall named by `query`, if any (see the module's docs).
pub(super) fn follow(query: &str, ctx: WallCtx, nav: Navigation) -> Option<Presented> {
    let (name, part) = from_query(query)?;
    let feeds = ctx.feeds;
    // Showing a view from the wall's state (a touch meanwhile is reported once it is done).
    let busy = RwSignal::new(false);
    // The view reported and not yet answered.
    let sent: Rc<RefCell<Option<View>>> = Rc::default();
    // Whether the page has a carousel (held or running is the presenter's to say).
    let carousel = move || (nav.carousel.get_untracked() != "off").then_some(true);
    link::on_open(move || {
        let size = web_sys::window().map(|w| {
            let px =
                |v: Result<wasm_bindgen::JsValue, _>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u32;
            [px(w.inner_width()), px(w.inner_height())]
        });
        Some(ClientMsg::Join {
            wall: name.clone(),
            part,
            view: Some(untrack(|| view_now(ctx))),
            size,
            carousel: carousel(),
        })
    });
    // Follow the wall's state.
    let s = sent.clone();
    let applied_n = Cell::new(0u64);
    let applied_version = Cell::new(0u64);
    Effect::new(move |_| {
        let Some(state) = feeds.wall.get() else { return };
        // Only a new version of the view is shown (a change of highlight or blank leaves a
        // touch not yet reported alone), and not the echo of this page's own report: the page
        // may have moved on (a second touch), and that will be reported in turn.
        if applied_version.replace(state.version) != state.version {
            let echo = s.borrow_mut().take().is_some_and(|v| v == state.view);
            if !echo && untrack(|| view_now(ctx)) != state.view {
                show(ctx, nav, &state.view, busy);
            }
        }
        let hold = state.carousel == Some(false);
        if nav.hold.get_untracked() != hold {
            nav.hold.set(hold);
        }
        if state.n != applied_n.replace(state.n) {
            mark_frame(state.n);
        }
    });
    // Report a touch.
    let generation = Rc::new(Cell::new(0u32));
    Effect::new(move |_| {
        // Tracks every part of the view, and the end of showing one: a touch made while the
        // page was busy is looked at again then.
        let _tracked = view_now(ctx);
        if busy.get() {
            return;
        }
        let g = generation.get().wrapping_add(1);
        generation.set(g);
        let (generation, sent) = (SendWrapper::new(generation.clone()), SendWrapper::new(sent.clone()));
        set_timeout(
            move || {
                if generation.get() != g || busy.get_untracked() {
                    return;
                }
                let Some(state) = feeds.wall.get_untracked() else { return };
                if part == Part::Remote && !state.yours {
                    return;
                }
                let view = untrack(|| view_now(ctx));
                if view == state.view || sent.borrow().as_ref() == Some(&view) {
                    return;
                }
                *sent.borrow_mut() = Some(view.clone());
                // The carousel's own move is reported as such (kept, not audited as a touch).
                let auto = js_sys::Date::now() - nav.rotated_at.get_untracked() < 1_000.0;
                link::send_now(&ClientMsg::Report { view, base: state.version, auto });
            },
            Duration::from_millis(150),
        );
    });
    // The pointer: shown while the presenter's finger moves, gone 3 s after it stops.
    let pointer = RwSignal::new(None);
    let last_move = Rc::new(Cell::new(0.0));
    let lm = last_move.clone();
    Effect::new(move |_| {
        let Some((cue, n)) = feeds.cue.get() else { return };
        match cue {
            Cue::Pointer { x, y, .. } => {
                pointer.set(Some((x, y)));
                lm.set(js_sys::Date::now());
            }
            Cue::Lift => pointer.set(None),
        }
        mark_frame(n);
    });
    crate::timer::every(Duration::from_millis(500), move || {
        if pointer.with_untracked(Option::is_some) && js_sys::Date::now() - last_move.get() > 3000.0 {
            pointer.set(None);
        }
    });
    // The highlighted panel (its place among the screen's panels, in reading order).
    Effect::new(move |_| {
        let panel = feeds.wall.with(|s| s.as_ref().and_then(|s| s.highlight));
        ctx.screen.track();
        // After the screen's panels are in the page.
        set_timeout(move || mark_panel(panel), Duration::from_millis(80));
    });
    Some(Presented { pointer })
}

fn mark_panel(panel: Option<u32>) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let target = panel
        .and_then(|i| doc.query_selector_all(super::SHOWN_PANELS).ok()?.item(i))
        .and_then(|n| n.dyn_into::<web_sys::Element>().ok());
    // Every panel, shown or kept hidden: one highlighted on a screen left stays so no more.
    let Ok(list) = doc.query_selector_all(".wall .panel") else { return };
    for i in 0..list.length() {
        if let Some(el) = list.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
            let on = target.as_ref().is_some_and(|t| t.is_same_node(Some(&el)));
            let _ = el.class_list().toggle_with_force("presented", on);
        }
    }
}

/// The discreet mark that a wall is driven, and by whom (in the footer, after the data time; not
/// on the console's miniature).
#[component]
pub(super) fn Badge(
    /// The wall.
    ctx: WallCtx,
) -> impl IntoView {
    let remote = from_query(&crate::page::query()).is_some_and(|(_, p)| p == Part::Remote);
    let driver = move || ctx.feeds.wall.with(|s| s.as_ref().and_then(|s| s.controller.clone()));
    let lang = ctx.lang;
    move || {
        let d = driver().filter(|_| !remote)?;
        Some(view! {
            <span class="present-badge" data-testid="present-badge">
                {lang.pick(format!("演示控制 · {d}"), format!("Presented · {d}"))}
            </span>
        })
    }
}

/// The marks of a presented wall: the pointer, the blank.
#[component]
pub(super) fn Marks(
    /// The wall.
    ctx: WallCtx,
    /// Its part in presenting (None: not a named wall).
    presented: Option<Presented>,
) -> impl IntoView {
    let p = presented?;
    let state = ctx.feeds.wall;
    Some(view! {
        // What the page shows, as the view a presenter would store (tests compare it).
        <output hidden=true data-testid="present-view" data-view=move || serde_json::to_string(&view_now(ctx)).unwrap_or_default()></output>
        <div
            class="present-pointer"
            data-testid="present-pointer"
            hidden=move || p.pointer.with(Option::is_none)
            style=move || p.pointer.get().map(|(x, y)| format!("left: {:.2}%; top: {:.2}%", x * 100.0, y * 100.0)).unwrap_or_default()
        ></div>
        <div
            class="present-blank"
            data-testid="present-blank"
            hidden=move || !state.with(|s| s.as_ref().is_some_and(|s| s.blank))
        ></div>
    })
}
