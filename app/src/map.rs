//! The map panel: Hubei's prefectures and counties, rivers and lakes, the monitoring sections, and
//! drill-down from the province to a prefecture (wasm only).
//!
//! Design:
//! - Layers are fetched once from the server (`/geo/…`, the copies shipped in `maps/`), parsed
//!   once, and kept for the page's life; new data only redraws.
//! - Province, prefectures and counties form one [`Topology`]: whatever the zoom, they are drawn
//!   simplified to about a device pixel with borders still shared.
//! - The layers that do not change with live data are rendered into an off-screen canvas once per
//!   size and view; a live update blits it and draws the markers.
//! - One touch on a prefecture (anywhere in it, hit-tested with the map engine's R-tree, or on its
//!   name, a real button for keyboards and assistive technology) flies the map to it and shows its
//!   counties; the breadcrumb, the back button or Escape return to the province.
//! - The canvas is sized at CSS size × devicePixelRatio so it is crisp on any wall.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use geo::MultiPolygon;
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yiping_maps::data::{ATTRIBUTION, Layer};
use yiping_maps::draw::{paint_dot, paint_label, paint_lines, paint_polygons};
use yiping_maps::hit::RegionIndex;
use yiping_maps::region::bbox;
use yiping_maps::topology::Topology;
use yiping_maps::water::{Lake, River, parse_lakes, parse_rivers};
use yiping_maps::{Region, Viewport, parse_regions};
use yiping_protocol::topics::Overview;

use crate::theme::class_color;

/// How long a fly-to takes, ms.
const FLY_MS: f64 = 600.0;

/// The parsed layers.
#[derive(Debug)]
pub struct Layers {
    province: Vec<Region>,
    prefectures: RegionIndex,
    counties: Vec<Region>,
    rivers: Vec<River>,
    lakes: Vec<Lake>,
    /// Province, prefectures and counties, in that order, as shared arcs.
    topology: Topology,
    /// The shapes simplified for the last tolerance used (its bits).
    simplified: Mutex<Option<(u64, Shapes)>>,
}

/// Every shape, simplified, shared between frames.
type Shapes = Arc<Vec<MultiPolygon<f64>>>;

impl Layers {
    /// Every shape (province, prefectures, counties) simplified to `epsilon` degrees; recomputed
    /// only when the tolerance changes (a new size or view).
    fn shapes(&self, epsilon: f64) -> Shapes {
        let mut cache = self.simplified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((e, shapes)) = cache.as_ref()
            && *e == epsilon.to_bits()
        {
            return shapes.clone();
        }
        let shapes = Arc::new(self.topology.simplified(epsilon));
        *cache = Some((epsilon.to_bits(), shapes.clone()));
        shapes
    }

    fn prefecture(&self, adcode: &str) -> Option<&Region> {
        self.prefectures.regions().iter().find(|r| r.adcode == adcode)
    }

    /// The bounding box shown for a view: the province, or one prefecture.
    fn view_box(&self, view: Option<&str>) -> Option<[f64; 4]> {
        match view.and_then(|a| self.prefecture(a)) {
            Some(p) => bbox(std::slice::from_ref(p)),
            None => bbox(&self.province),
        }
    }
}

async fn fetch_text(path: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(path)).await.map_err(|e| format!("{path}: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| format!("{path}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{path}: HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(|e| format!("{path}: {e:?}"))?)
        .await
        .map_err(|e| format!("{path}: {e:?}"))?;
    text.as_string().ok_or_else(|| format!("{path}: body is not text"))
}

async fn load() -> Result<Layers, String> {
    let get = |l: Layer| async move { fetch_text(&format!("/geo/{}", l.file_name())).await };
    let regions = |text: String| parse_regions(&text).map_err(|e| e.to_string());
    let province = regions(get(Layer::Province).await?)?;
    let prefectures = regions(get(Layer::Prefectures).await?)?;
    let counties = regions(get(Layer::Counties).await?)?;
    let rivers = parse_rivers(&get(Layer::Rivers).await?).map_err(|e| e.to_string())?;
    let lakes = parse_lakes(&get(Layer::Lakes).await?).map_err(|e| e.to_string())?;
    let all: Vec<Region> = province.iter().chain(&prefectures).chain(&counties).cloned().collect();
    let topology = Topology::build(&all);
    Ok(Layers {
        province,
        prefectures: RegionIndex::new(prefectures),
        counties,
        rivers,
        lakes,
        topology,
        simplified: Mutex::new(None),
    })
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

/// What one frame shows: the canvas size, the box in view, the selected prefecture.
#[derive(Debug, Clone, PartialEq)]
struct Frame {
    w: f64,
    h: f64,
    bbox: [f64; 4],
    view: Option<String>,
    /// Simplification tolerance (degrees), fixed for a view so a fly-to does not re-simplify.
    epsilon: f64,
}

impl Frame {
    fn unit(&self) -> f64 {
        // Text and strokes scale with the panel, so the map reads the same from across the room
        // on a 1080p screen and on a 2160p wall.
        (self.w.min(self.h * 1.6) / 900.0).max(0.5)
    }

    fn viewport(&self) -> Viewport {
        Viewport::fit(self.bbox, self.w, self.h, 24.0 * self.unit())
    }
}

/// Province, prefecture and county shapes.
type Split<'a> = (&'a [MultiPolygon<f64>], &'a [MultiPolygon<f64>], &'a [MultiPolygon<f64>]);

/// The shapes of a frame: province, prefectures, counties.
fn split<'a>(layers: &Layers, shapes: &'a [MultiPolygon<f64>]) -> Split<'a> {
    let (province, rest) = shapes.split_at(layers.province.len());
    let (prefectures, counties) = rest.split_at(layers.prefectures.regions().len());
    (province, prefectures, counties)
}

/// The bottom static layers: the province and, unless a choropleth colours them, the prefectures.
fn draw_base(ctx: &CanvasRenderingContext2d, layers: &Layers, f: &Frame, choropleth: bool) {
    let unit = f.unit();
    let vp = f.viewport();
    ctx.clear_rect(0.0, 0.0, f.w, f.h);
    let shapes = layers.shapes(f.epsilon);
    let (province, prefectures, _) = split(layers, &shapes);
    let selected = f.view.as_deref();
    // Province: soft glow under the outline.
    ctx.save();
    ctx.set_shadow_color("rgba(0, 190, 255, 0.55)");
    ctx.set_shadow_blur(28.0 * unit);
    for shape in province {
        paint_polygons(ctx, shape, &vp, Some("#0b2a4a"), Some(("#37b6ff", 2.6 * unit)));
    }
    ctx.restore();
    if choropleth && selected.is_none() {
        return;
    }
    for (shape, r) in prefectures.iter().zip(layers.prefectures.regions()) {
        let fill = match selected {
            Some(a) if a == r.adcode => "rgba(30, 100, 165, 0.75)",
            Some(_) => "rgba(10, 40, 75, 0.55)",
            None => "rgba(18, 70, 120, 0.55)",
        };
        paint_polygons(ctx, shape, &vp, Some(fill), None);
    }
}

/// The choropleth: prefectures filled by class of their value (province view only).
fn draw_choropleth(ctx: &CanvasRenderingContext2d, layers: &Layers, f: &Frame, c: &Choropleth) {
    if f.view.is_some() {
        return;
    }
    let vp = f.viewport();
    let shapes = layers.shapes(f.epsilon);
    let (_, prefectures, _) = split(layers, &shapes);
    let breaks = c.breaks();
    for (shape, r) in prefectures.iter().zip(layers.prefectures.regions()) {
        let fill = c.values.get(&r.adcode).map_or("rgba(18, 70, 120, 0.55)", |v| class_color_of(&breaks, *v));
        paint_polygons(ctx, shape, &vp, Some(fill), None);
    }
}

/// The top static layers: water, borders, names.
fn draw_top(ctx: &CanvasRenderingContext2d, layers: &Layers, f: &Frame) {
    let (w, h, unit) = (f.w, f.h, f.unit());
    let vp = f.viewport();
    ctx.clear_rect(0.0, 0.0, w, h);
    let shapes = layers.shapes(f.epsilon);
    let (_, prefectures, counties) = split(layers, &shapes);
    let selected = f.view.as_deref();
    for l in &layers.lakes {
        paint_polygons(ctx, &l.shape, &vp, Some("#1f6fb2"), Some(("#3c9be0", 0.8 * unit)));
    }
    for r in &layers.rivers {
        let (color, width) = match (r.name.as_deref(), r.rank) {
            (Some("长江"), _) => ("#5cc8ff", 3.2 * unit),
            (Some(_), _) => ("#49aef0", 2.2 * unit),
            (None, 1 | 2) => ("rgba(73, 174, 240, 0.8)", 1.4 * unit),
            _ => ("rgba(73, 174, 240, 0.55)", 0.9 * unit),
        };
        paint_lines(ctx, &r.shape, &vp, color, width);
    }
    // The selected prefecture's counties: borders and names.
    let in_view = |c: &Region| selected.is_some() && c.parent.as_deref() == selected;
    for (shape, c) in counties.iter().zip(&layers.counties) {
        if in_view(c) {
            paint_polygons(ctx, shape, &vp, None, Some(("rgba(140, 210, 255, 0.55)", 0.9 * unit)));
        }
    }
    for shape in prefectures {
        paint_polygons(ctx, shape, &vp, None, Some(("rgba(140, 210, 255, 0.75)", 1.1 * unit)));
    }
    for c in layers.counties.iter().filter(|c| in_view(c)) {
        let (x, y) = vp.to_screen(c.label.x, c.label.y);
        paint_label(ctx, &c.short_name, x, y, 15.0 * unit, "#e6f4ff");
    }
    for r in layers.prefectures.regions() {
        if selected == Some(r.adcode.as_str()) {
            continue;
        }
        let (x, y) = vp.to_screen(r.label.x, r.label.y);
        // The smallest units (鄂州, 仙桃, 潜江, 天门) get a smaller label so neighbours stay apart.
        let small = matches!(r.adcode.as_str(), "420700" | "429004" | "429005" | "429006");
        let color = if selected.is_some() { "rgba(200, 225, 250, 0.55)" } else { "#e6f4ff" };
        paint_label(ctx, &r.short_name, x, y, if small { 13.0 } else { 17.0 } * unit, color);
    }
    ctx.set_font(&format!("{:.0}px sans-serif", 11.0 * unit));
    ctx.set_text_align("right");
    ctx.set_text_baseline("bottom");
    ctx.set_fill_style_str("rgba(170, 200, 230, 0.6)");
    let _ = ctx.fill_text(ATTRIBUTION, w - 8.0 * unit, h - 6.0 * unit);
}

/// Draw one frame: the static layers from their cache (re-rendered only when the frame changed),
/// then the live layers. Returns whether the static layers were re-rendered.
fn draw(
    canvas: &HtmlCanvasElement,
    caches: &(HtmlCanvasElement, HtmlCanvasElement),
    cached: &mut Option<(Frame, bool)>,
    layers: &Layers,
    f: &Frame,
    overview: Option<&Overview>,
    choropleth: Option<&Choropleth>,
) -> bool {
    if f64::from(canvas.width()) != f.w || f64::from(canvas.height()) != f.h {
        canvas.set_width(f.w as u32);
        canvas.set_height(f.h as u32);
    }
    let Some(ctx) = context(canvas) else { return false };
    let (base, top) = caches;
    let key = (f.clone(), choropleth.is_some());
    let mut redrawn = false;
    if cached.as_ref() != Some(&key) {
        for c in [base, top] {
            c.set_width(f.w as u32);
            c.set_height(f.h as u32);
        }
        if let (Some(b), Some(t)) = (context(base), context(top)) {
            draw_base(&b, layers, f, choropleth.is_some());
            draw_top(&t, layers, f);
            *cached = Some(key);
            redrawn = true;
        }
    }
    ctx.clear_rect(0.0, 0.0, f.w, f.h);
    let _ = ctx.draw_image_with_html_canvas_element(base, 0.0, 0.0);
    if let Some(c) = choropleth {
        draw_choropleth(&ctx, layers, f, c);
    }
    let _ = ctx.draw_image_with_html_canvas_element(top, 0.0, 0.0);
    let vp = f.viewport();
    let unit = f.unit();
    if let Some(o) = overview {
        for s in &o.sections {
            let (x, y) = vp.to_screen(s.lon, s.lat);
            let color = s.class.map_or("#7f8c9a", class_color);
            paint_dot(&ctx, x, y, 5.5 * unit, color, "rgba(255,255,255,0.9)");
        }
    }
    redrawn
}

fn lerp_box(a: [f64; 4], b: [f64; 4], t: f64) -> [f64; 4] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t, a[3] + (b[3] - a[3]) * t]
}

/// Step a fly-to from `from` to `to` started at `start` (ms), one animation frame at a time;
/// `generation` cancels it when a newer fly-to starts.
fn fly(
    from: [f64; 4],
    to: [f64; 4],
    start: f64,
    shown: RwSignal<Option<[f64; 4]>>,
    generation: Rc<Cell<u32>>,
    mine: u32,
) {
    if generation.get() != mine {
        return;
    }
    let t = ((js_sys::Date::now() - start) / FLY_MS).clamp(0.0, 1.0);
    // Ease in and out.
    let e = t * t * (3.0 - 2.0 * t);
    shown.set(Some(lerp_box(from, to, e)));
    if t < 1.0 {
        request_animation_frame(move || fly(from, to, start, shown, generation, mine));
    }
}

/// Values by prefecture adcode to colour the map with, and what they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Choropleth {
    /// What the values are, e.g. "巡河次数".
    pub title: String,
    /// Value by prefecture adcode.
    pub values: std::collections::BTreeMap<String, f64>,
}

/// The colour ramp, dark to bright; classes take evenly spaced colours from it.
const RAMP: [&str; 7] = ["#10365c", "#164b7c", "#1d6199", "#2579b3", "#3193cb", "#4cb2e0", "#7cd6f3"];

impl Choropleth {
    /// Class upper bounds: round numbers from 0 past the largest value (about five classes,
    /// Heckbert's nice numbers, so the legend reads 0–200, 200–400, …).
    fn breaks(&self) -> Vec<f64> {
        let max = self.values.values().copied().fold(0.0, f64::max);
        // At least 0–5, so counts early on do not get fractional classes.
        yiping_widgets::scale::nice_ticks(0.0, max.max(5.0), 6).into_iter().skip(1).collect()
    }
}

/// The class of `v` and its colour.
fn class_color_of(breaks: &[f64], v: f64) -> &'static str {
    let i = breaks.iter().position(|b| v <= *b).unwrap_or(breaks.len().saturating_sub(1));
    ramp(i, breaks.len())
}

fn ramp(i: usize, n: usize) -> &'static str {
    RAMP[if n <= 1 { RAMP.len() - 1 } else { (i * (RAMP.len() - 1) / (n - 1)).min(RAMP.len() - 1) }]
}

/// A prefecture's name placed over the map, as a real button.
#[derive(Debug, Clone, PartialEq)]
struct Spot {
    adcode: String,
    name: String,
    x: f64,
    y: f64,
}

/// The map of Hubei with the monitoring sections coloured by their latest class, and drill-down
/// to a prefecture.
#[component]
pub fn HubeiMap(
    /// The overview whose sections are drawn.
    overview: RwSignal<Option<Overview>>,
    /// Values to colour the prefectures by (province view), with a legend.
    #[prop(into)]
    choropleth: Signal<Option<Choropleth>>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let layers: RwSignal<Option<Arc<Layers>>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let resized = RwSignal::new(0u32);
    let draws = RwSignal::new(0u32);
    let static_draws = RwSignal::new(0u32);
    // The selected prefecture (None: the whole province) and the box currently shown.
    let view: RwSignal<Option<String>> = RwSignal::new(None);
    let shown: RwSignal<Option<[f64; 4]>> = RwSignal::new(None);
    let spots: RwSignal<Vec<Spot>> = RwSignal::new(Vec::new());
    let generation = Rc::new(Cell::new(0u32));
    leptos::task::spawn_local(async move {
        match load().await {
            Ok(l) => {
                shown.set(l.view_box(None));
                layers.set(Some(Arc::new(l)));
            }
            Err(e) => error.set(Some(e)),
        }
    });
    // Fly to the selected view whenever it changes.
    let g = generation.clone();
    Effect::new(move |prev: Option<Option<String>>| {
        let v = view.get();
        if let (Some(prev), Some(l)) = (prev, layers.get_untracked())
            && prev != v
            && let (Some(from), Some(to)) = (shown.get_untracked(), l.view_box(v.as_deref()))
        {
            g.set(g.get().wrapping_add(1));
            fly(from, to, js_sys::Date::now(), shown, g.clone(), g.get());
        }
        v
    });
    let back = move || view.set(None);
    let keys = window_event_listener(leptos::ev::keydown, move |e| {
        if e.key() == "Escape" {
            back();
        }
    });
    let listener = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || {
        listener.remove();
        keys.remove();
    });
    // The static cache and what it holds: an off-screen canvas kept for the component's life.
    let offscreen = || -> Option<HtmlCanvasElement> {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.create_element("canvas").ok())
            .and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok())
    };
    let caches = offscreen().zip(offscreen());
    let mut cached: Option<(Frame, bool)> = None;
    // The tolerance per view and size: about a device pixel at the view's final zoom.
    let mut epsilon_for: Option<(Option<String>, f64, f64)> = None;
    Effect::new(move |_| {
        resized.track();
        let Some(l) = layers.get() else { return };
        let Some(c) = canvas.get() else { return };
        let Some(caches) = caches.as_ref() else { return };
        let Some(bbox) = shown.get() else { return };
        let v = view.get();
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        let (css_w, css_h) = (f64::from(c.client_width()), f64::from(c.client_height()));
        if css_w < 1.0 || css_h < 1.0 {
            return;
        }
        let (w, h) = ((css_w * dpr).round(), (css_h * dpr).round());
        let epsilon = match &epsilon_for {
            Some((ev, ew, e)) if *ev == v && *ew == w => *e,
            _ => {
                let target = l.view_box(v.as_deref()).unwrap_or(bbox);
                let probe = Frame { w, h, bbox: target, view: v.clone(), epsilon: 0.0 };
                // Pixels per degree of longitude (Mercator: 111 319.5 m per degree).
                let e = 0.8 / (probe.viewport().scale() * 111_319.49);
                epsilon_for = Some((v.clone(), w, e));
                e
            }
        };
        let frame = Frame { w, h, bbox, view: v.clone(), epsilon };
        let chart = choropleth.get();
        if overview.with(|o| draw(&c, caches, &mut cached, &l, &frame, o.as_ref(), chart.as_ref())) {
            static_draws.update(|n| *n += 1);
            // Names as buttons over the map (province view), in CSS pixels.
            let vp = frame.viewport();
            let list = if v.is_none() {
                l.prefectures
                    .regions()
                    .iter()
                    .map(|r| {
                        let (x, y) = vp.to_screen(r.label.x, r.label.y);
                        Spot { adcode: r.adcode.clone(), name: r.name.clone(), x: x / dpr, y: y / dpr }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            spots.set(list);
        }
        draws.update(|n| *n += 1);
    });
    // One touch anywhere on a prefecture drills into it; outside the selected one, back out.
    let on_click = move |e: leptos::ev::MouseEvent| {
        let (Some(l), Some(c), Some(bbox)) =
            (layers.get_untracked(), canvas.get_untracked(), shown.get_untracked())
        else {
            return;
        };
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        let (w, h) = (f64::from(c.width()), f64::from(c.height()));
        let frame = Frame { w, h, bbox, view: None, epsilon: 0.0 };
        let (lon, lat) =
            frame.viewport().to_lonlat(f64::from(e.offset_x()) * dpr, f64::from(e.offset_y()) * dpr);
        let hit = l.prefectures.at(lon, lat).map(|r| r.adcode.clone());
        if hit != view.get_untracked() {
            view.set(hit);
        }
    };
    let crumb = move || {
        let l = layers.get()?;
        let a = view.get()?;
        l.prefecture(&a).map(|p| p.name.clone())
    };
    view! {
        <div class="map-wrap">
            <canvas
                class="map-canvas"
                node_ref=canvas
                data-testid="map"
                data-view=move || view.get().unwrap_or_else(|| "420000".into())
                data-draws=move || draws.get().to_string()
                data-static-draws=move || static_draws.get().to_string()
                on:click=on_click
            ></canvas>
            <nav class="map-crumbs" aria-label="breadcrumb">
                <button class="crumb" data-testid="crumb-province" on:click=move |_| back() disabled=move || view.get().is_none()>
                    "湖北省"
                </button>
                {move || crumb().map(|name| view! { <span class="crumb-sep">"›"</span><span class="crumb current" data-testid="crumb-current">{name}</span> })}
            </nav>
            <div class="map-spots">
                // Keyed by prefecture, placed by the current spots: moving the map (a fly-to
                // redraws every frame) moves the buttons rather than re-creating them.
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
            {move || {
                let c = choropleth.get().filter(|_| view.get().is_none())?;
                let breaks = c.breaks();
                let rows = breaks
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let lo = if i == 0 { 0.0 } else { breaks[i - 1] };
                        view! {
                            <li>
                                <i class="swatch" style=format!("background: {}", ramp(i, breaks.len()))></i>
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
            }}
            {move || error.get().map(|e| view! { <div class="map-error" role="alert">{format!("地图数据加载失败 / map data failed to load: {e}")}</div> })}
        </div>
    }
}
