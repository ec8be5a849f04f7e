//! The map panel: Hubei's prefectures and counties, rivers and lakes, monitoring sections, live
//! markers, and drill-down from the province to a prefecture (wasm only).
//!
//! Design:
//! - Layers are fetched once from the server as one map pack (`/geo/layers.pack`: the
//!   deployment's boundaries cut into shared arcs, rivers and lakes; no text to parse), read
//!   once, and kept for the page's life; new data only redraws. The map is one retained object:
//!   data updates swap data, they never re-create it.
//! - Province, prefectures and counties form one [`Topology`]: whatever the zoom, they are drawn
//!   simplified to about a device pixel with borders still shared.
//! - The map is two canvases, one over the other. Under, the *ground*: the *land* (the province
//!   and its glow) and the *top* tier (water and borders), each rendered into an off-screen
//!   canvas and redrawn only when its own inputs change (size, view, theme; the map's first
//!   frame paints them straight into itself, to show sooner), with the regions'
//!   *fills* (the choropleth's classes) between them, composed once the same fills show in two
//!   frames (fills that change with every update are drawn into each frame instead). Over it,
//!   drawn in every frame: the regions' *names*, placed clear of each other and of what the
//!   *live* tier draws over them (sections, markers, clusters, alerts' dots; laid out first,
//!   drawn last). Every change schedules at most one frame (`requestAnimationFrame`). An
//!   alert's pulsing ring is an element over its dot, animated by the compositor, so a pulsing
//!   map draws no frames between changes.
//! - Until its first data arrive (the overview; on a page without one, such as the benchmarks, a
//!   choropleth or a marker), a map whose layers are ready waits (up to a second) rather than
//!   draw a frame the data replace at once.
//! - While the view moves (fly-to, wheel, drag, pinch, keys) the compositor moves and scales the
//!   ground of the last view at rest to the moving one (a CSS transform of its canvas), and it
//!   is drawn sharp once the view rests (250 ms); names and the live tier are drawn sharp in
//!   every frame.
//! - One touch on a prefecture (anywhere in it, hit-tested with the map engine's R-tree, or on its
//!   name, a real button for keyboards and assistive technology) flies the map to it and shows its
//!   counties, a touch on one of its counties to that county (its records, framed); the
//!   breadcrumb, the back button or Escape go back up. Hover or tap on a
//!   marker, section, county or prefecture identifies it.
//! - The canvas is sized at CSS size × devicePixelRatio so it is crisp on any wall. The CSS size
//!   comes from a `ResizeObserver` (`yiping_widgets::observe`), so drawing a frame never forces a
//!   layout.

mod address;
mod gestures;
mod layers;
mod live;
mod names;
mod tiers;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use yiping_protocol::topics::Overview;

use crate::i18n::Lang;

pub use layers::map_pack;
use layers::{Layers, load};
use live::{Inputs, Render, Stats, fly, schedule};
use live::{Ring, Spot};

/// Values by adcode (prefectures, or counties) to colour the map with, and what they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Choropleth {
    /// What the values are, e.g. "巡河次数".
    pub title: String,
    /// Value by prefecture or county adcode (the level is taken from the codes).
    pub values: BTreeMap<String, f64>,
}

impl Choropleth {
    /// Class upper bounds: round numbers from 0 past the largest value (about five classes,
    /// Heckbert's nice numbers, so the legend reads 0–200, 200–400, …).
    fn breaks(&self) -> Vec<f64> {
        let max = self.values.values().copied().fold(0.0, f64::max);
        // At least 0–5, so counts early on do not get fractional classes.
        yiping_widgets::scale::nice_ticks(0.0, max.max(5.0), 6).into_iter().skip(1).collect()
    }
}

/// A live point on the map: a project, a village, an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Stable key, reported when touched.
    pub key: String,
    /// WGS84 longitude.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// Fill colour (CSS).
    pub color: &'static str,
    /// Name shown when identified.
    pub label: String,
    /// An active alert: drawn on top with a pulsing ring, never folded into a cluster.
    pub pulse: bool,
}

/// What a touch or hover on the map reached.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPick {
    /// `"marker"`, `"cluster"`, `"section"`, `"county"` or `"prefecture"`.
    pub kind: &'static str,
    /// Marker key, section id or adcode (a cluster: its members' keys, comma-separated).
    pub key: String,
    /// What it is called.
    pub label: String,
    /// The choropleth's value for a region, when there is one.
    pub value: Option<f64>,
}

/// The map of Hubei with the monitoring sections coloured by their latest class, live markers,
/// a choropleth, drill-down to a prefecture, and pan and zoom.
#[component]
pub fn HubeiMap(
    /// The overview whose sections are drawn.
    overview: RwSignal<Option<Overview>>,
    /// Values to colour the prefectures or counties by (province view), with a legend.
    #[prop(into)]
    choropleth: Signal<Option<Choropleth>>,
    /// Live markers (projects, villages, alerts).
    #[prop(optional, into)]
    markers: Signal<Vec<Marker>>,
    /// A change forces every tier to redraw (e.g. a theme change; benchmarks use it).
    #[prop(optional, into)]
    invalidate: Signal<u64>,
    /// Reported when a feature is identified by a touch or click.
    #[prop(optional)]
    on_pick: Option<Callback<MapPick>>,
    /// The selected prefecture's adcode (None: the province), shared with the page so other
    /// panels can fly the map to a region and follow the map's drill-downs.
    #[prop(optional)]
    selected: Option<RwSignal<Option<String>>>,
    /// The fraction of the map's width an overlay covers on the right while a region is
    /// selected (a records drawer): the region is framed in the rest.
    #[prop(optional)]
    reserve_right: f64,
    /// The box shown when it was moved by hand (the map writes it as a gesture moves the view)
    /// or asked for from outside (a presenter's view: the map flies there); None: the map frames
    /// `selected`, and a new `selected` clears it.
    #[prop(optional)]
    camera: Option<RwSignal<Option<[f64; 4]>>>,
    /// The page feeds no overview (the benchmarks): the first frame waits for a choropleth or
    /// markers instead.
    #[prop(optional)]
    no_overview: bool,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let ground = NodeRef::<Canvas>::new();
    let layers: RwSignal<Option<Arc<Layers>>> = RwSignal::new(None);
    // When the layers were read (ms since navigation), for benchmarks.
    let layers_at: RwSignal<Option<String>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    // The selected prefecture (None: the whole province) and the box currently shown.
    let view: RwSignal<Option<String>> = selected.unwrap_or_else(|| RwSignal::new(None));
    let shown: RwSignal<Option<[f64; 4]>> = RwSignal::new(None);
    let spots: RwSignal<Vec<Spot>> = RwSignal::new(Vec::new());
    let rings: RwSignal<Vec<Ring>> = RwSignal::new(Vec::new());
    let tip: RwSignal<Option<gestures::Tip>> = RwSignal::new(None);
    let generation = Rc::new(Cell::new(0u32));
    let camera = camera.unwrap_or_else(|| RwSignal::new(None));
    let size: RwSignal<Option<(f64, f64)>> = RwSignal::new(None);
    let inputs = Inputs {
        canvas,
        ground,
        size,
        layers,
        shown,
        view,
        overview,
        choropleth,
        markers,
        invalidate,
        spots,
        rings,
        camera,
        no_overview,
    };
    let r = Rc::new(RefCell::new(Render {
        tiers: None,
        reaches: HashMap::new(),
        hits: Vec::new(),
        scheduled: false,
        alive: true,
        moving_until: 0.0,
        settle_scheduled: false,
        data_wait_until: None,
        data_wait_scheduled: false,
        stats: Stats::default(),
        first: None,
    }));
    leptos::task::spawn_local(async move {
        match load().await {
            Ok(l) => {
                // A region chosen before the layers came (a presenter's view, a touch on a
                // ranking) is framed at once.
                let v = view.get_untracked();
                shown.set(l.view_box(v.as_deref(), if v.is_some() { reserve_right } else { 0.0 }));
                layers.set(Some(Arc::new(l)));
                layers_at.set(Some(format!("{:.1}", live::now_ms())));
            }
            Err(e) => error.set(Some(e)),
        }
    });
    // Fly to the selected view whenever it changes.
    let g = generation.clone();
    let rf = r.clone();
    Effect::new(move |prev: Option<Option<String>>| {
        let v = view.get();
        if let (Some(prev), Some(l)) = (prev, layers.get_untracked())
            && prev != v
            && let (Some(from), Some(to)) = (shown.get_untracked(), l.view_box(v.as_deref(), reserve_right))
        {
            g.set(g.get().wrapping_add(1));
            fly(from, to, js_sys::Date::now(), shown, g.clone(), g.get(), rf.clone());
            camera.set(None);
        }
        v
    });
    // Fly to a box asked for from outside (the map's own gestures write the box they show).
    let g = generation.clone();
    let rf = r.clone();
    Effect::new(move |_| {
        let Some(to) = camera.get() else { return };
        layers.track();
        if let Some(from) = shown.get_untracked().filter(|from| *from != to) {
            g.set(g.get().wrapping_add(1));
            fly(from, to, js_sys::Date::now(), shown, g.clone(), g.get(), rf.clone());
        }
    });
    // Any input change draws one frame.
    let rs = r.clone();
    Effect::new(move |_| {
        layers.track();
        shown.track();
        view.track();
        overview.track();
        choropleth.track();
        markers.track();
        invalidate.track();
        schedule(&rs, inputs);
    });
    // The canvas's CSS size; a new size is drawn in the frame that brought it (see
    // `yiping_widgets::observe`).
    let rs = r.clone();
    yiping_widgets::observe::on_css_size(canvas, move |w, h| {
        let was = size.get_untracked();
        if was == Some((w, h)) {
            return;
        }
        size.set(Some((w, h)));
        // The page's first canvases draw in the next frame (see `FirstDraw`); any other size is
        // drawn in the frame that brought it (no stretched frame).
        match was.is_none().then(yiping_widgets::observe::FirstDraw::owed).flatten() {
            Some(owed) => {
                rs.borrow_mut().first = Some(owed);
                schedule(&rs, inputs);
            }
            None => live::render(&rs, inputs),
        }
    });
    // Escape: from a county up to its prefecture, from a prefecture to the province.
    let back = move || {
        let up = view.get_untracked().and_then(|a| {
            layers.with_untracked(|l| l.as_ref().and_then(|l| l.county(&a).and_then(|c| c.parent.clone())))
        });
        view.set(up);
    };
    let keys = window_event_listener(leptos::ev::keydown, move |e| {
        if e.key() == "Escape" {
            back();
        }
    });
    // The view is in the address: a drill-down is a history entry.
    let pops = address::follow(view, layers);
    let rs = r.clone();
    let listener = window_event_listener(leptos::ev::resize, move |_| schedule(&rs, inputs));
    let keep = send_wrapper::SendWrapper::new(r.clone());
    on_cleanup(move || {
        listener.remove();
        keys.remove();
        pops.remove();
        keep.take().borrow_mut().alive = false;
    });

    // Moving the view by hand, identifying, drilling with a tap.
    let hands = gestures::Hands::new(inputs, r.clone(), generation.clone(), tip, on_pick, reserve_right);
    let (h_wheel, h_down, h_move, h_up, h_cancel, h_key) =
        (hands.clone(), hands.clone(), hands.clone(), hands.clone(), hands.clone(), hands);
    // Province › prefecture › county: the prefecture's crumb leads back from a county.
    let crumb = move || {
        let l = layers.get()?;
        let a = view.get()?;
        let county = l.county(&a);
        let prefecture = l.prefecture(l.prefecture_of_view(Some(&a))?)?;
        Some((prefecture.adcode.clone(), prefecture.name.clone(), county.map(|c| c.name.clone())))
    };
    view! {
        <div class="map-wrap">
            <div class="map-ground-clip">
                <canvas class="map-ground" node_ref=ground aria-hidden="true" data-testid="map-ground"></canvas>
            </div>
            <canvas
                class="map-canvas"
                node_ref=canvas
                tabindex="0"
                aria-label=format!("{}地图 / map of {}", crate::site::current().region_name(Lang::Zh), crate::site::current().region_name(Lang::En))
                data-testid="map"
                data-view=move || view.get().unwrap_or_else(|| crate::site::current().region().into())
                data-box=move || shown.get().map(|b| format!("{:.5},{:.5},{:.5},{:.5}", b[0], b[1], b[2], b[3]))
                data-layers-at=layers_at
                on:wheel=move |e| h_wheel.wheel(e)
                on:pointerdown=move |e| h_down.down(e)
                on:pointermove=move |e| h_move.moved(e)
                on:pointerup=move |e| h_up.up(e)
                on:pointercancel=move |e| h_cancel.cancel(e)
                on:pointerleave=move |_| tip.set(None)
                on:keydown=move |e| h_key.key(e)
            ></canvas>
            <nav class="map-crumbs" aria-label="breadcrumb">
                <button class="crumb" data-testid="crumb-province" on:click=move |_| view.set(None) disabled=move || view.get().is_none()>
                    {crate::site::current().region_name(Lang::Zh)}
                </button>
                {move || crumb().map(|(adcode, name, county)| match county {
                    None => view! { <span class="crumb-sep">"›"</span><span class="crumb current" data-testid="crumb-current">{name}</span> }.into_any(),
                    Some(county) => view! {
                        <span class="crumb-sep">"›"</span>
                        <button class="crumb" data-testid="crumb-prefecture" on:click=move |_| view.set(Some(adcode.clone()))>{name}</button>
                        <span class="crumb-sep">"›"</span>
                        <span class="crumb current" data-testid="crumb-current">{county}</span>
                    }.into_any(),
                })}
            </nav>
            <div class="map-spots">
                // Keyed by prefecture, placed by the current spots: moving the map moves the
                // buttons rather than re-creating them.
                <For each=move || spots.with(|v| v.iter().map(|s| (s.adcode.clone(), s.name.clone())).collect::<Vec<_>>()) key=|s| s.0.clone() let:s>
                    {
                        let (adcode, name) = s;
                        let a = adcode.clone();
                        let place = move || {
                            spots.with(|v| {
                                v.iter()
                                    .find(|x| x.adcode == a)
                                    .map(|x| format!("left: {:.1}px; top: {:.1}px", x.x, x.y))
                                    .unwrap_or_default()
                            })
                        };
                        view! {
                            <button
                                class="map-spot"
                                aria-label=name
                                style=place
                                on:click=move |_| view.set(Some(adcode.clone()))
                            ></button>
                        }
                    }
                </For>
            </div>
            <Rings rings=rings />
            <Tooltip tip=tip />
            <Legend choropleth=choropleth view=view />
            {move || error.get().map(|e| view! { <div class="map-error" role="alert">{format!("地图数据加载失败 / map data failed to load: {e}")}</div> })}
        </div>
    }
}

/// The choropleth's legend (in the province view only): its classes and what it counts.
#[component]
fn Legend(choropleth: Signal<Option<Choropleth>>, view: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        let c = choropleth.get().filter(|_| view.get().is_none())?;
        let breaks = c.breaks();
        let rows = breaks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let lo = if i == 0 { 0.0 } else { breaks[i - 1] };
                view! {
                    <li>
                        <i class="swatch" style=format!("background: {}", tiers::ramp(i, breaks.len()))></i>
                        {format!("{lo} – {b}")}
                    </li>
                }
            })
            .collect::<Vec<_>>();
        Some(view! {
            <div class="map-legend" data-testid="map-legend">
                <div class="legend-title">{c.title.clone()}</div>
                <ul>{rows}</ul>
            </div>
        })
    }
}

/// The alerts' rings, pulsing over their dots: animated by the browser's compositor (transform
/// and opacity), in step with one another whenever each appeared.
#[component]
fn Rings(rings: RwSignal<Vec<Ring>>) -> impl IntoView {
    view! {
        <div class="map-rings" aria-hidden="true">
            <For each=move || rings.with(|v| v.iter().map(|g| g.key.clone()).collect::<Vec<_>>()) key=|k| k.clone() let:key>
                {
                    // One phase for every ring: the animation runs as if it had started at 0.
                    let delay = -(js_sys::Date::now() % 1600.0);
                    let place = move || {
                        rings.with(|v| {
                            v.iter()
                                .find(|g| g.key == key)
                                .map(|g| {
                                    format!(
                                        "left: {:.1}px; top: {:.1}px; width: {d:.1}px; height: {d:.1}px; border-width: {:.2}px; animation-delay: {delay:.0}ms",
                                        g.x - g.r,
                                        g.y - g.r,
                                        g.stroke,
                                        d = 2.0 * g.r,
                                    )
                                })
                                .unwrap_or_default()
                        })
                    };
                    view! { <i class="map-ring" data-testid="map-ring" style=place></i> }
                }
            </For>
        </div>
    }
}

/// What a hover or tap identified, beside the pointer.
#[component]
fn Tooltip(tip: RwSignal<Option<gestures::Tip>>) -> impl IntoView {
    view! {
    <div
        class="map-tip"
        data-testid="map-tip"
        hidden=move || tip.with(Option::is_none)
        data-kind=move || tip.with(|t| t.as_ref().map(|t| t.pick.kind))
        data-key=move || tip.with(|t| t.as_ref().map(|t| t.pick.key.clone()))
        style=move || tip.with(|t| t.as_ref().map(|t| format!("left: {:.0}px; top: {:.0}px", t.x, t.y)).unwrap_or_default())
    >
        {move || tip.with(|t| t.as_ref().map(|t| match (t.pick.kind, t.pick.value) {
            ("cluster", _) => format!("{} 个点位 · 放大查看", t.pick.label),
            (_, Some(v)) => format!("{} · {}", t.pick.label, v),
            _ => t.pick.label.clone(),
        }).unwrap_or_default())}
    </div>
    }
}
