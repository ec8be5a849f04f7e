//! The map panel: Hubei's prefectures and counties, rivers and lakes, monitoring sections, live
//! markers, and drill-down from the province to a prefecture (wasm only).
//!
//! Design:
//! - Layers are fetched once from the server (`/geo/…`, the copies shipped in `maps/`), parsed
//!   once, and kept for the page's life; new data only redraws. The map is one retained object:
//!   data updates swap data, they never re-create it.
//! - Province, prefectures and counties form one [`Topology`]: whatever the zoom, they are drawn
//!   simplified to about a device pixel with borders still shared.
//! - Layers are drawn in three tiers. *Base* (province, choropleth fills) and *top* (water,
//!   borders, names placed without overlaps) are rendered into off-screen canvases and redrawn
//!   only when their own inputs change (size, view, choropleth values); *live* (sections,
//!   markers, pulsing alerts) is drawn over a blit of the two every frame it changes. Every change
//!   schedules at most one frame (`requestAnimationFrame`); pulsing markers keep frames coming
//!   only while they are on screen.
//! - While the view moves (fly-to, wheel, drag, pinch, keys) frames blit the cached tiers scaled
//!   to the moving view, and the tiers are re-rendered sharp once it rests (250 ms).
//! - One touch on a prefecture (anywhere in it, hit-tested with the map engine's R-tree, or on its
//!   name, a real button for keyboards and assistive technology) flies the map to it and shows its
//!   counties, a touch on one of its counties to that county (its records, framed); the
//!   breadcrumb, the back button or Escape go back up. Hover or tap on a
//!   marker, section, county or prefecture identifies it.
//! - The canvas is sized at CSS size × devicePixelRatio so it is crisp on any wall.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use geo::{MultiLineString, MultiPolygon};
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yiping_maps::camera::{clamp_box, pan_box, zoom_box};
use yiping_maps::cluster::grid_clusters;
use yiping_maps::data::{ATTRIBUTION, Layer};
use yiping_maps::draw::{paint_dot, paint_label, paint_lines, paint_polygons};
use yiping_maps::hit::RegionIndex;
use yiping_maps::labels::{Candidate, Obstacle, Placement, place};
use yiping_maps::reach::reach;
use yiping_maps::region::bbox;
use yiping_maps::topology::Topology;
use yiping_maps::water::{Lake, River, parse_lakes, parse_rivers};
use yiping_maps::{Region, Viewport, parse_regions};
use yiping_protocol::topics::Overview;
use yiping_protocol::water::WaterBody;

use yiping_widgets::palette::WHITE;
use yiping_widgets::palette::map::{LABEL, LAKE, LAND, NO_CLASS, OUTLINE, RAMP, RIVER, SHORE, YANGTZE};

use crate::theme::class_color;

/// How far along the river, each way, a section's class colours it, km.
const REACH_KM: f64 = 12.0;

/// How long a fly-to takes, ms.
const FLY_MS: f64 = 600.0;

/// The parsed layers.
#[derive(Debug)]
pub struct Layers {
    province: Vec<Region>,
    prefectures: RegionIndex,
    counties: RegionIndex,
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

    fn province_box(&self) -> Option<[f64; 4]> {
        bbox(&self.province)
    }

    /// The bounding box shown for a view: the province, or one prefecture. With `reserve` (a
    /// fraction of the width that a panel covers on the right while a region is selected), the
    /// prefecture's box is widened eastwards so the region stays clear of the panel.
    fn view_box(&self, view: Option<&str>, reserve: f64) -> Option<[f64; 4]> {
        let widen = |b: [f64; 4]| {
            let r = reserve.clamp(0.0, 0.6);
            [b[0], b[1], b[2] + (b[2] - b[0]) * r / (1.0 - r), b[3]]
        };
        // A county is framed with some of its neighbours around it.
        if let Some(c) = view.and_then(|a| self.county(a)) {
            return bbox(std::slice::from_ref(c)).map(|b| {
                let (dx, dy) = ((b[2] - b[0]) * 0.12, (b[3] - b[1]) * 0.12);
                widen([b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy])
            });
        }
        match view.and_then(|a| self.prefecture(a)) {
            Some(p) => bbox(std::slice::from_ref(p)).map(widen),
            None => bbox(&self.province),
        }
    }

    fn county(&self, adcode: &str) -> Option<&Region> {
        self.counties.regions().iter().find(|r| r.adcode == adcode)
    }

    /// The prefecture a view shows: the view itself, or a selected county's prefecture.
    fn prefecture_of_view<'a>(&'a self, view: Option<&'a str>) -> Option<&'a str> {
        let v = view?;
        match self.county(v) {
            Some(c) => c.parent.as_deref(),
            None => Some(v),
        }
    }
}

/// The text at `path` on the server.
pub(crate) async fn fetch_text(path: &str) -> Result<String, String> {
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
        counties: RegionIndex::new(counties),
        rivers,
        lakes,
        topology,
        simplified: Mutex::new(None),
    })
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// What one frame shows: the canvas size, the box in view, the selected prefecture.
#[derive(Debug, Clone, PartialEq)]
struct Frame {
    w: f64,
    h: f64,
    bbox: [f64; 4],
    view: Option<String>,
    /// Simplification tolerance (degrees): about a device pixel, in powers of two so small zoom
    /// steps reuse the simplified shapes.
    epsilon: f64,
}

impl Frame {
    fn new(w: f64, h: f64, bbox: [f64; 4], view: Option<String>) -> Frame {
        let mut f = Frame { w, h, bbox, view, epsilon: 0.0 };
        // Pixels per degree of longitude (Mercator: 111 319.5 m per degree).
        let e = 0.8 / (f.viewport().scale() * 111_319.49);
        f.epsilon = 2f64.powi(e.log2().floor() as i32);
        f
    }

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

/// The bottom tier: the province, and the prefectures or counties filled by the choropleth.
fn draw_base(ctx: &CanvasRenderingContext2d, layers: &Layers, f: &Frame, choropleth: Option<&Choropleth>) {
    let unit = f.unit();
    let vp = f.viewport();
    ctx.clear_rect(0.0, 0.0, f.w, f.h);
    let shapes = layers.shapes(f.epsilon);
    let (province, prefectures, counties) = split(layers, &shapes);
    let selected = layers.prefecture_of_view(f.view.as_deref());
    // Province: soft glow under the outline.
    ctx.save();
    ctx.set_shadow_color("rgba(0, 190, 255, 0.55)");
    ctx.set_shadow_blur(28.0 * unit);
    for shape in province {
        paint_polygons(ctx, shape, &vp, Some(LAND.css()), Some((OUTLINE.css(), 2.6 * unit)));
    }
    ctx.restore();
    if let Some(c) = choropleth.filter(|_| selected.is_none()) {
        let breaks = c.breaks();
        let by_county = c.values.keys().any(|k| layers.counties.regions().iter().any(|r| &r.adcode == k));
        let (shapes, regions) = if by_county {
            (counties, layers.counties.regions())
        } else {
            (prefectures, layers.prefectures.regions())
        };
        for (shape, r) in shapes.iter().zip(regions) {
            let fill =
                c.values.get(&r.adcode).map_or("rgba(18, 70, 120, 0.55)", |v| class_color_of(&breaks, *v));
            paint_polygons(ctx, shape, &vp, Some(fill), None);
        }
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
    // A selected county stands out of its prefecture.
    if let Some(v) = f.view.as_deref() {
        for (shape, c) in counties.iter().zip(layers.counties.regions()) {
            if c.adcode == v {
                paint_polygons(ctx, shape, &vp, Some("rgba(55, 182, 255, 0.55)"), None);
            }
        }
    }
}

const LABEL_FONT: &str = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif";

/// The top tier: water, borders, and names placed so that none overlaps another or a section.
fn draw_top(ctx: &CanvasRenderingContext2d, layers: &Layers, f: &Frame, obstacles: &[Obstacle]) {
    let (w, h, unit) = (f.w, f.h, f.unit());
    let vp = f.viewport();
    ctx.clear_rect(0.0, 0.0, w, h);
    let shapes = layers.shapes(f.epsilon);
    let (_, prefectures, counties) = split(layers, &shapes);
    let selected = layers.prefecture_of_view(f.view.as_deref());
    let county = f.view.as_deref().filter(|v| layers.county(v).is_some());
    for l in &layers.lakes {
        paint_polygons(ctx, &l.shape, &vp, Some(LAKE.css()), Some((SHORE.css(), 0.8 * unit)));
    }
    for r in &layers.rivers {
        let (color, width) = match (r.name.as_deref(), r.rank) {
            (Some("长江"), _) => (YANGTZE.css(), 3.2 * unit),
            (Some(_), _) => (RIVER.css(), 2.2 * unit),
            (None, 1 | 2) => ("rgba(73, 174, 240, 0.8)", 1.4 * unit),
            _ => ("rgba(73, 174, 240, 0.55)", 0.9 * unit),
        };
        paint_lines(ctx, &r.shape, &vp, color, width);
    }
    // The selected prefecture's counties: borders.
    let in_view = |c: &Region| selected.is_some() && c.parent.as_deref() == selected;
    for (shape, c) in counties.iter().zip(layers.counties.regions()) {
        if county == Some(c.adcode.as_str()) {
            paint_polygons(ctx, shape, &vp, None, Some((WHITE.css(), 2.2 * unit)));
        } else if in_view(c) {
            paint_polygons(ctx, shape, &vp, None, Some(("rgba(140, 210, 255, 0.55)", 0.9 * unit)));
        }
    }
    for shape in prefectures {
        paint_polygons(ctx, shape, &vp, None, Some(("rgba(140, 210, 255, 0.75)", 1.1 * unit)));
    }
    // Names: the view's own regions first (the selected prefecture's counties, or the
    // prefectures), then the neighbours; none overlaps another or a section marker.
    let mut labels: Vec<(String, f64, &'static str, Candidate)> = Vec::new();
    let mut add = |text: &str, lon: f64, lat: f64, px: f64, color: &'static str, priority: i32| {
        ctx.set_font(&format!("500 {px:.0}px {LABEL_FONT}"));
        let tw = ctx.measure_text(text).map_or(px * text.chars().count() as f64, |m| m.width());
        let (x, y) = vp.to_screen(lon, lat);
        let (w, h) = (tw + 0.3 * px, 1.25 * px);
        // Names step aside for markers and each other; the prefectures on the province view are
        // always shown, counties (dense in city centres) and neighbours where there is room.
        let mut c = Candidate::region(x, y, w, h, priority);
        c.required = priority >= 100;
        labels.push((text.to_string(), px, color, c));
    };
    for c in layers.counties.regions().iter().filter(|c| in_view(c)) {
        add(&c.short_name, c.label.x, c.label.y, 15.0 * unit, LABEL.css(), 50);
    }
    for r in layers.prefectures.regions() {
        if selected == Some(r.adcode.as_str()) {
            continue;
        }
        if selected.is_some() {
            add(&r.short_name, r.label.x, r.label.y, 15.0 * unit, "rgba(200, 225, 250, 0.55)", 20);
        } else {
            add(&r.short_name, r.label.x, r.label.y, 17.0 * unit, LABEL.css(), 100);
        }
    }
    let candidates: Vec<Candidate> = labels.iter().map(|l| l.3.clone()).collect();
    for ((text, px, color, _), at) in labels.iter().zip(place(&candidates, obstacles, w, h, 2.0 * unit)) {
        if let Placement::At { x, y } = at {
            paint_label(ctx, text, x, y, *px, color);
        }
    }
    ctx.set_font(&format!("{:.0}px sans-serif", 11.0 * unit));
    ctx.set_text_align("right");
    ctx.set_text_baseline("bottom");
    ctx.set_fill_style_str("rgba(170, 200, 230, 0.6)");
    let _ = ctx.fill_text(ATTRIBUTION, w - 8.0 * unit, h - 6.0 * unit);
}

/// The screen boxes of the section markers, which names keep clear of.
fn section_obstacles(vp: &Viewport, unit: f64, overview: Option<&Overview>) -> Vec<Obstacle> {
    let r = 6.5 * unit;
    overview
        .map(|o| {
            o.sections
                .iter()
                .map(|s| {
                    let (x, y) = vp.to_screen(s.lon, s.lat);
                    [x - r, y - r, x + r, y + r]
                })
                .collect()
        })
        .unwrap_or_default()
}

fn lerp_box(a: [f64; 4], b: [f64; 4], t: f64) -> [f64; 4] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t, a[3] + (b[3] - a[3]) * t]
}

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

/// The class of `v` and its colour.
fn class_color_of(breaks: &[f64], v: f64) -> &'static str {
    let i = breaks.iter().position(|b| v <= *b).unwrap_or(breaks.len().saturating_sub(1));
    ramp(i, breaks.len())
}

fn ramp(i: usize, n: usize) -> &'static str {
    RAMP[if n <= 1 { RAMP.len() - 1 } else { (i * (RAMP.len() - 1) / (n - 1)).min(RAMP.len() - 1) }].css()
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

/// A touchable live feature drawn in the last frame: centre, radius, what it is.
#[derive(Debug, Clone)]
struct LiveHit {
    x: f64,
    y: f64,
    r: f64,
    pick: MapPick,
}

/// The live tier: sections, markers (clustered where dense), pulsing alerts. Returns what can be
/// touched and whether something is animating.
fn draw_live(
    ctx: &CanvasRenderingContext2d,
    f: &Frame,
    overview: Option<&Overview>,
    reaches: &HashMap<String, MultiLineString<f64>>,
    markers: &[Marker],
    now: f64,
) -> (Vec<LiveHit>, bool) {
    let vp = f.viewport();
    let unit = f.unit();
    let mut hits = Vec::new();
    let on_screen = |x: f64, y: f64, m: f64| x > -m && y > -m && x < f.w + m && y < f.h + m;
    // Markers that are not alerts, clustered on a fixed grid so clusters do not jump.
    let calm: Vec<usize> = (0..markers.len()).filter(|&i| !markers[i].pulse).collect();
    let pts: Vec<(f64, f64)> = calm
        .iter()
        .map(|&i| {
            let (x, y) = vp.to_screen(markers[i].lon, markers[i].lat);
            if on_screen(x, y, 20.0 * unit) { (x, y) } else { (f64::NAN, f64::NAN) }
        })
        .collect();
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    for c in grid_clusters(&pts, 40.0 * unit) {
        if let [only] = c.members[..] {
            let m = &markers[calm[only]];
            let r = 4.2 * unit;
            paint_dot(ctx, c.x, c.y, r, m.color, "rgba(2, 16, 31, 0.85)");
            hits.push(LiveHit {
                x: c.x,
                y: c.y,
                r: r + 4.0 * unit,
                pick: MapPick { kind: "marker", key: m.key.clone(), label: m.label.clone(), value: None },
            });
        } else {
            let n = c.members.len();
            // Smaller than half a cell, so neighbouring clusters do not cover each other.
            let r = (5.5 + 2.0 * (n as f64).log2()).min(18.0) * unit;
            ctx.begin_path();
            let _ = ctx.arc(c.x, c.y, r, 0.0, std::f64::consts::TAU);
            ctx.set_fill_style_str("rgba(55, 182, 255, 0.62)");
            ctx.fill();
            ctx.set_stroke_style_str("rgba(200, 240, 255, 0.9)");
            ctx.set_line_width(1.4 * unit);
            ctx.stroke();
            ctx.set_font(&format!("700 {:.0}px {LABEL_FONT}", 10.5 * unit));
            ctx.set_fill_style_str(WHITE.css());
            let _ = ctx.fill_text(&n.to_string(), c.x, c.y);
            let keys: Vec<&str> = c.members.iter().map(|&i| markers[calm[i]].key.as_str()).collect();
            hits.push(LiveHit {
                x: c.x,
                y: c.y,
                r,
                pick: MapPick {
                    kind: "cluster",
                    key: keys.join(","),
                    label: format!("{n}"),
                    value: Some(n as f64),
                },
            });
        }
    }
    // River reaches around the sections, coloured by the class the section reports.
    if let Some(o) = overview {
        for s in &o.sections {
            if let (Some(line), Some(class)) = (reaches.get(&s.id), s.class) {
                paint_lines(ctx, line, &vp, class_color(class), 4.5 * unit);
            }
        }
    }
    // Sections, coloured by their latest class.
    if let Some(o) = overview {
        for s in &o.sections {
            let (x, y) = vp.to_screen(s.lon, s.lat);
            if !on_screen(x, y, 10.0 * unit) {
                continue;
            }
            let color = s.class.map_or(NO_CLASS.css(), class_color);
            paint_dot(ctx, x, y, 5.5 * unit, color, "rgba(255,255,255,0.9)");
            let class = s.class.map_or("—", |c| c.label());
            hits.push(LiveHit {
                x,
                y,
                r: 9.0 * unit,
                pick: MapPick {
                    kind: "section",
                    key: s.id.clone(),
                    label: format!("{} · {} · {class}", s.river, s.name),
                    value: None,
                },
            });
        }
    }
    // Alerts on top, pulsing: a ring grows and fades every 1.6 s.
    let phase = (now % 1600.0) / 1600.0;
    let mut pulsing = false;
    for m in markers.iter().filter(|m| m.pulse) {
        let (x, y) = vp.to_screen(m.lon, m.lat);
        if !on_screen(x, y, 30.0 * unit) {
            continue;
        }
        pulsing = true;
        let r = 6.0 * unit;
        ctx.begin_path();
        let _ = ctx.arc(x, y, r * (1.0 + 2.2 * phase), 0.0, std::f64::consts::TAU);
        ctx.set_stroke_style_str(&format!("rgba(255, 69, 58, {:.3})", 0.9 * (1.0 - phase)));
        ctx.set_line_width(2.4 * unit);
        ctx.stroke();
        paint_dot(ctx, x, y, r, m.color, WHITE.css());
        hits.push(LiveHit {
            x,
            y,
            r: r + 6.0 * unit,
            pick: MapPick { kind: "marker", key: m.key.clone(), label: m.label.clone(), value: None },
        });
    }
    (hits, pulsing)
}

/// The cached static tiers and what they were drawn for.
struct Tiers {
    base: HtmlCanvasElement,
    top: HtmlCanvasElement,
    base_key: Option<(Frame, Option<Choropleth>, u64)>,
    top_key: Option<(Frame, Vec<Obstacle>, u64)>,
}

/// Render statistics, on the canvas as `data-*` attributes for tests and benchmarks.
#[derive(Debug, Default)]
struct Stats {
    draws: u64,
    static_draws: u64,
    base_draws: u64,
    top_draws: u64,
    live_draws: u64,
    live_ms: f64,
    static_ms: f64,
}

/// Everything a frame needs that is not reactive.
struct Render {
    tiers: Option<Tiers>,
    /// The river reach around each river section (by section id), cut once.
    reaches: HashMap<String, MultiLineString<f64>>,
    hits: Vec<LiveHit>,
    scheduled: bool,
    alive: bool,
    /// Until when the view is moving (ms, `performance.now`): frames blit the tiers scaled.
    moving_until: f64,
    settle_scheduled: bool,
    stats: Stats,
}

/// The reactive inputs of the map, all `Copy`.
#[derive(Clone, Copy)]
struct Inputs {
    canvas: NodeRef<Canvas>,
    layers: RwSignal<Option<Arc<Layers>>>,
    shown: RwSignal<Option<[f64; 4]>>,
    view: RwSignal<Option<String>>,
    overview: RwSignal<Option<Overview>>,
    choropleth: Signal<Option<Choropleth>>,
    markers: Signal<Vec<Marker>>,
    invalidate: Signal<u64>,
    spots: RwSignal<Vec<Spot>>,
}

fn schedule(r: &Rc<RefCell<Render>>, inputs: Inputs) {
    {
        let mut s = r.borrow_mut();
        if s.scheduled || !s.alive {
            return;
        }
        s.scheduled = true;
    }
    let r = r.clone();
    request_animation_frame(move || render(&r, inputs));
}

/// The frame the canvas shows now, if it can show one.
fn current_frame(inputs: Inputs) -> Option<(HtmlCanvasElement, Arc<Layers>, Frame, f64)> {
    let c = inputs.canvas.get_untracked()?;
    let l = inputs.layers.get_untracked()?;
    let bbox = inputs.shown.get_untracked()?;
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let (css_w, css_h) = (f64::from(c.client_width()), f64::from(c.client_height()));
    if css_w < 1.0 || css_h < 1.0 {
        return None;
    }
    let f = Frame::new((css_w * dpr).round(), (css_h * dpr).round(), bbox, inputs.view.get_untracked());
    Some((c, l, f, dpr))
}

fn render(r: &Rc<RefCell<Render>>, inputs: Inputs) {
    let mut st = r.borrow_mut();
    st.scheduled = false;
    if !st.alive {
        return;
    }
    let Some((canvas, layers, f, dpr)) = current_frame(inputs) else { return };
    let Some(ctx) = context(&canvas) else { return };
    if f64::from(canvas.width()) != f.w || f64::from(canvas.height()) != f.h {
        canvas.set_width(f.w as u32);
        canvas.set_height(f.h as u32);
    }
    if st.tiers.is_none() {
        let offscreen = || {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.create_element("canvas").ok())
                .and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok())
        };
        st.tiers = offscreen().zip(offscreen()).map(|(base, top)| Tiers {
            base,
            top,
            base_key: None,
            top_key: None,
        });
    }
    let t0 = now_ms();
    let moving = t0 < st.moving_until;
    let overview = inputs.overview.get_untracked();
    let choropleth = inputs.choropleth.get_untracked();
    let invalidate = inputs.invalidate.get_untracked();
    let markers = inputs.markers.get_untracked();
    let vp = f.viewport();
    let obstacles = section_obstacles(&vp, f.unit(), overview.as_ref());
    if let Some(o) = overview.as_ref() {
        for sec in &o.sections {
            if sec.body == WaterBody::River && !st.reaches.contains_key(&sec.id) {
                let cut = layers
                    .rivers
                    .iter()
                    .filter(|r| r.name.as_deref() == Some(sec.river.as_str()))
                    .find_map(|r| reach(&r.shape, sec.lon, sec.lat, REACH_KM, 5.0));
                st.reaches.insert(
                    sec.id.clone(),
                    MultiLineString::new(cut.map(|c| vec![c.line]).unwrap_or_default()),
                );
            }
        }
    }
    let Render { tiers, reaches, .. } = &mut *st;
    let Some(tiers) = tiers.as_mut() else { return };
    let same_size = |k: &Frame| k.w == f.w && k.h == f.h && k.view == f.view;
    let (mut st_base, mut st_top) = (false, false);
    // While moving, show the tiers drawn for an earlier view, scaled to this one.
    let approx = moving
        && tiers.base_key.as_ref().is_some_and(|k| same_size(&k.0))
        && tiers.top_key.as_ref().is_some_and(|k| same_size(&k.0));
    ctx.clear_rect(0.0, 0.0, f.w, f.h);
    if approx {
        for (tier, key) in [
            (&tiers.base, tiers.base_key.as_ref().map(|k| &k.0)),
            (&tiers.top, tiers.top_key.as_ref().map(|k| &k.0)),
        ] {
            let Some(old) = key else { continue };
            let ovp = old.viewport();
            let (a_lon, a_lat) = ovp.to_lonlat(0.0, 0.0);
            let (b_lon, b_lat) = ovp.to_lonlat(f.w, f.h);
            let (ax, ay) = vp.to_screen(a_lon, a_lat);
            let (bx, by) = vp.to_screen(b_lon, b_lat);
            let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(tier, ax, ay, bx - ax, by - ay);
        }
    } else {
        let base_key = (f.clone(), choropleth.clone(), invalidate);
        if tiers.base_key.as_ref() != Some(&base_key) {
            tiers.base.set_width(f.w as u32);
            tiers.base.set_height(f.h as u32);
            if let Some(b) = context(&tiers.base) {
                draw_base(&b, &layers, &f, choropleth.as_ref());
                tiers.base_key = Some(base_key);
                st_base = true;
            }
        }
        let top_key = (f.clone(), obstacles.clone(), invalidate);
        if tiers.top_key.as_ref() != Some(&top_key) {
            tiers.top.set_width(f.w as u32);
            tiers.top.set_height(f.h as u32);
            if let Some(t) = context(&tiers.top) {
                draw_top(&t, &layers, &f, &obstacles);
                tiers.top_key = Some(top_key);
                st_top = true;
            }
        }
        let _ = ctx.draw_image_with_html_canvas_element(&tiers.base, 0.0, 0.0);
        let _ = ctx.draw_image_with_html_canvas_element(&tiers.top, 0.0, 0.0);
    }
    let redrew_static = st_base || st_top;
    let (hits, pulsing) = draw_live(&ctx, &f, overview.as_ref(), reaches, &markers, js_sys::Date::now());
    st.hits = hits;
    let ms = now_ms() - t0;
    st.stats.draws += 1;
    st.stats.base_draws += u64::from(st_base);
    st.stats.top_draws += u64::from(st_top);
    if redrew_static {
        st.stats.static_draws += 1;
        st.stats.static_ms += ms;
    } else if !approx {
        st.stats.live_draws += 1;
        st.stats.live_ms += ms;
    }
    if st_top {
        // Names as buttons over the map (province view), in CSS pixels.
        let list = if f.view.is_none() {
            layers
                .prefectures
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
        if inputs.spots.with_untracked(|s| *s != list) {
            inputs.spots.set(list);
        }
    }
    for (k, v) in [
        ("data-draws", st.stats.draws.to_string()),
        ("data-static-draws", st.stats.static_draws.to_string()),
        ("data-base-draws", st.stats.base_draws.to_string()),
        ("data-top-draws", st.stats.top_draws.to_string()),
        ("data-live-draws", st.stats.live_draws.to_string()),
        ("data-live-ms-total", format!("{:.3}", st.stats.live_ms)),
        ("data-static-ms-total", format!("{:.3}", st.stats.static_ms)),
        ("data-frame-at", format!("{:.3}", now_ms())),
        ("data-clusters", st.hits.iter().filter(|h| h.pick.kind == "cluster").count().to_string()),
        ("data-markers", markers.len().to_string()),
        // One marker drawn on its own (not in a cluster), in CSS pixels: for tests and tools. The
        // last drawn, so nothing lies over it at its centre.
        (
            "data-single-marker",
            st.hits
                .iter()
                .rev()
                .find(|h| h.pick.kind == "marker")
                .map(|h| format!("{},{:.1},{:.1}", h.pick.key, h.x / dpr, h.y / dpr))
                .unwrap_or_default(),
        ),
    ] {
        let _ = canvas.set_attribute(k, &v);
    }
    // Keep frames coming while alerts pulse; once the view rests, draw it sharp.
    let settle = approx && !st.settle_scheduled;
    if settle {
        st.settle_scheduled = true;
    }
    let wait = (st.moving_until - t0).max(0.0) + 20.0;
    drop(st);
    if pulsing {
        schedule(r, inputs);
    }
    if settle {
        let r = r.clone();
        set_timeout(
            move || {
                r.borrow_mut().settle_scheduled = false;
                schedule(&r, inputs);
            },
            Duration::from_millis(wait as u64),
        );
    }
}

/// Step a fly-to from `from` to `to` started at `start` (ms), one animation frame at a time;
/// `generation` cancels it when a newer move starts.
fn fly(
    from: [f64; 4],
    to: [f64; 4],
    start: f64,
    shown: RwSignal<Option<[f64; 4]>>,
    generation: Rc<Cell<u32>>,
    mine: u32,
    r: Rc<RefCell<Render>>,
) {
    if generation.get() != mine {
        return;
    }
    let t = ((js_sys::Date::now() - start) / FLY_MS).clamp(0.0, 1.0);
    // Ease in and out.
    let e = t * t * (3.0 - 2.0 * t);
    r.borrow_mut().moving_until = if t < 1.0 { now_ms() + 250.0 } else { 0.0 };
    shown.set(Some(lerp_box(from, to, e)));
    if t < 1.0 {
        request_animation_frame(move || fly(from, to, start, shown, generation, mine, r));
    }
}

/// A prefecture's name placed over the map, as a real button.
#[derive(Debug, Clone, PartialEq)]
struct Spot {
    adcode: String,
    name: String,
    x: f64,
    y: f64,
}

/// Pointers down on the canvas (mouse, pen, fingers) and whether this gesture moved the map.
#[derive(Debug, Default)]
struct Gesture {
    pointers: HashMap<i32, (f64, f64)>,
    moved: f64,
}

/// The tooltip: where (CSS pixels in the map) and what.
#[derive(Debug, Clone, PartialEq)]
struct Tip {
    x: f64,
    y: f64,
    pick: MapPick,
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
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let layers: RwSignal<Option<Arc<Layers>>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    // The selected prefecture (None: the whole province) and the box currently shown.
    let view: RwSignal<Option<String>> = selected.unwrap_or_else(|| RwSignal::new(None));
    let shown: RwSignal<Option<[f64; 4]>> = RwSignal::new(None);
    let spots: RwSignal<Vec<Spot>> = RwSignal::new(Vec::new());
    let tip: RwSignal<Option<Tip>> = RwSignal::new(None);
    let generation = Rc::new(Cell::new(0u32));
    let inputs = Inputs { canvas, layers, shown, view, overview, choropleth, markers, invalidate, spots };
    let r = Rc::new(RefCell::new(Render {
        tiers: None,
        reaches: HashMap::new(),
        hits: Vec::new(),
        scheduled: false,
        alive: true,
        moving_until: 0.0,
        settle_scheduled: false,
        stats: Stats::default(),
    }));
    leptos::task::spawn_local(async move {
        match load().await {
            Ok(l) => {
                shown.set(l.view_box(None, 0.0));
                layers.set(Some(Arc::new(l)));
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
        }
        v
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
    // The view is in the address (`#420300`): a drill-down is a history entry, so the browser's
    // back (button, mouse side button, swipe) returns to the province, and a wall can open a
    // prefecture directly.
    let hash_view = || {
        let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
        let code = hash.trim_start_matches('#');
        (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && code != "420000")
            .then(|| code.to_string())
    };
    // The address the page was opened with names the first view (read before the view is
    // written back into the address).
    let opened_with = std::cell::Cell::new(hash_view());
    let known = move |l: &Layers, a: &str| l.prefecture(a).is_some() || l.county(a).is_some();
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
    let pops = window_event_listener(leptos::ev::popstate, move |_| {
        let v = hash_view().filter(|a| layers.with_untracked(|l| l.as_ref().is_some_and(|l| known(l, a))));
        if v != view.get_untracked() {
            view.set(v);
        }
    });
    let rs = r.clone();
    let listener = window_event_listener(leptos::ev::resize, move |_| schedule(&rs, inputs));
    let keep = send_wrapper::SendWrapper::new(r.clone());
    on_cleanup(move || {
        listener.remove();
        keys.remove();
        pops.remove();
        keep.take().borrow_mut().alive = false;
    });

    // Moving the view by hand: wheel, drag, pinch, keys. Each move cancels a fly-to.
    let g = generation.clone();
    let rm = r.clone();
    let move_view = Rc::new(move |op: &dyn Fn([f64; 4], &Frame) -> [f64; 4]| {
        let Some((_, l, f, _)) = current_frame(inputs) else { return };
        let Some(limit) = l.province_box() else { return };
        g.set(g.get().wrapping_add(1));
        rm.borrow_mut().moving_until = now_ms() + 250.0;
        shown.set(Some(clamp_box(op(f.bbox, &f), limit, 0.03, 1.6)));
        tip.set(None);
    });
    let dpr = || web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let mv = move_view.clone();
    let on_wheel = move |e: leptos::ev::WheelEvent| {
        e.prevent_default();
        let (x, y) = (f64::from(e.offset_x()) * dpr(), f64::from(e.offset_y()) * dpr());
        let k = (-e.delta_y() * 0.0015).exp().clamp(0.5, 2.0);
        mv(&|b, f| {
            let (lon, lat) = f.viewport().to_lonlat(x, y);
            zoom_box(b, lon, lat, k)
        });
    };
    let gesture = Rc::new(RefCell::new(Gesture::default()));
    let gs = gesture.clone();
    let on_down = move |e: leptos::ev::PointerEvent| {
        let mut g = gs.borrow_mut();
        if g.pointers.is_empty() {
            g.moved = 0.0;
        }
        g.pointers.insert(e.pointer_id(), (f64::from(e.offset_x()), f64::from(e.offset_y())));
        if let Some(c) = canvas.get_untracked() {
            let _ = c.set_pointer_capture(e.pointer_id());
        }
    };
    // Identify what is under a point (CSS pixels): live features first, then regions.
    let rp = r.clone();
    let identify = move |x: f64, y: f64| -> Option<MapPick> {
        let (px, py) = (x * dpr(), y * dpr());
        // The topmost feature under the point wins (alerts are drawn last, over clusters).
        if let Some(h) = rp.borrow().hits.iter().rev().find(|h| (h.x - px).hypot(h.y - py) <= h.r) {
            return Some(h.pick.clone());
        }
        let (_, l, f, _) = current_frame(inputs)?;
        let (lon, lat) = f.viewport().to_lonlat(px, py);
        let value =
            |a: &str| choropleth.with_untracked(|c| c.as_ref().and_then(|c| c.values.get(a).copied()));
        if let Some(c) = l.counties.at(lon, lat) {
            let parent =
                c.parent.as_deref().and_then(|p| l.prefecture(p)).map(|p| p.name.clone()).unwrap_or_default();
            return Some(MapPick {
                kind: "county",
                key: c.adcode.clone(),
                label: format!("{parent} · {}", c.name),
                value: value(&c.adcode).or_else(|| c.parent.as_deref().and_then(value)),
            });
        }
        l.prefectures.at(lon, lat).map(|p| MapPick {
            kind: "prefecture",
            key: p.adcode.clone(),
            label: p.name.clone(),
            value: value(&p.adcode),
        })
    };
    let gs = gesture.clone();
    let mv = move_view.clone();
    let identify_hover = identify.clone();
    let on_move = move |e: leptos::ev::PointerEvent| {
        let (x, y) = (f64::from(e.offset_x()), f64::from(e.offset_y()));
        let mut g = gs.borrow_mut();
        let Some(&(ox, oy)) = g.pointers.get(&e.pointer_id()) else {
            // Hover (a mouse with no button down): identify.
            if e.pointer_type() == "mouse" {
                let pick = identify_hover(x, y);
                tip.set(pick.map(|pick| Tip { x, y, pick }));
            }
            return;
        };
        let before: Vec<(f64, f64)> = g.pointers.values().copied().collect();
        g.pointers.insert(e.pointer_id(), (x, y));
        let after: Vec<(f64, f64)> = g.pointers.values().copied().collect();
        g.moved += (x - ox).hypot(y - oy);
        if g.moved < 6.0 {
            return;
        }
        drop(g);
        let d = dpr();
        if let ([a0, b0], [a1, b1]) = (&before[..], &after[..]) {
            // Pinch: scale by the change of the fingers' distance about their midpoint, and follow
            // the midpoint.
            let k = (a1.0 - b1.0).hypot(a1.1 - b1.1) / (a0.0 - b0.0).hypot(a0.1 - b0.1).max(1.0);
            let (m0, m1) =
                (((a0.0 + b0.0) / 2.0, (a0.1 + b0.1) / 2.0), ((a1.0 + b1.0) / 2.0, (a1.1 + b1.1) / 2.0));
            mv(&|b, f| {
                let (lon, lat) = f.viewport().to_lonlat(m0.0 * d, m0.1 * d);
                let zoomed = zoom_box(b, lon, lat, k);
                let s = Viewport::fit(zoomed, f.w, f.h, 24.0 * f.unit()).scale();
                pan_box(zoomed, (m1.0 - m0.0) * d, (m1.1 - m0.1) * d, s)
            });
        } else if before.len() == 1 {
            mv(&|b, f| pan_box(b, (x - ox) * d, (y - oy) * d, f.viewport().scale()));
        }
    };
    let gs = gesture.clone();
    let identify_tap = identify.clone();
    let on_up = move |e: leptos::ev::PointerEvent| {
        let (removed, moved, rest) = {
            let mut g = gs.borrow_mut();
            let removed = g.pointers.remove(&e.pointer_id()).is_some();
            (removed, g.moved, g.pointers.len())
        };
        if !removed || moved >= 6.0 || rest > 0 {
            return;
        }
        // A tap: identify; a tap on a prefecture in the province view (or outside the selected
        // one) drills there.
        let (x, y) = (f64::from(e.offset_x()), f64::from(e.offset_y()));
        let pick = identify_tap(x, y);
        if let (Some(cb), Some(p)) = (on_pick, pick.clone()) {
            cb.run(p);
        }
        let live = pick.as_ref().is_some_and(|p| matches!(p.kind, "marker" | "cluster" | "section"));
        tip.set(pick.clone().filter(|_| live).map(|pick| Tip { x, y, pick }));
        if live {
            return;
        }
        let Some((_, l, f, _)) = current_frame(inputs) else { return };
        let (lon, lat) = f.viewport().to_lonlat(x * dpr(), y * dpr());
        // In a prefecture's view a tap on one of its counties drills to the county (the third
        // level); elsewhere a tap drills to the prefecture under it.
        let current = view.get_untracked();
        let shown = l.prefecture_of_view(current.as_deref()).map(str::to_owned);
        let county = l.counties.at(lon, lat).filter(|c| shown.is_some() && c.parent == shown);
        let hit = match county {
            Some(c) => Some(c.adcode.clone()),
            None => l.prefectures.at(lon, lat).map(|r| r.adcode.clone()),
        };
        if hit != current {
            view.set(hit);
        }
    };
    let gs = gesture.clone();
    let on_cancel = move |e: leptos::ev::PointerEvent| {
        gs.borrow_mut().pointers.remove(&e.pointer_id());
    };
    let mv = move_view.clone();
    let on_key = move |e: leptos::ev::KeyboardEvent| {
        let step = 0.12;
        match e.key().as_str() {
            "ArrowLeft" => mv(&|b, f| pan_box(b, f.w * step, 0.0, f.viewport().scale())),
            "ArrowRight" => mv(&|b, f| pan_box(b, -f.w * step, 0.0, f.viewport().scale())),
            "ArrowUp" => mv(&|b, f| pan_box(b, 0.0, f.h * step, f.viewport().scale())),
            "ArrowDown" => mv(&|b, f| pan_box(b, 0.0, -f.h * step, f.viewport().scale())),
            "+" | "=" => mv(&|b, f| {
                let (lon, lat) = f.viewport().to_lonlat(f.w / 2.0, f.h / 2.0);
                zoom_box(b, lon, lat, 1.4)
            }),
            "-" | "_" => mv(&|b, f| {
                let (lon, lat) = f.viewport().to_lonlat(f.w / 2.0, f.h / 2.0);
                zoom_box(b, lon, lat, 1.0 / 1.4)
            }),
            "0" | "Home" => {
                if let Some(b) = layers
                    .get_untracked()
                    .and_then(|l| l.view_box(view.get_untracked().as_deref(), reserve_right))
                {
                    shown.set(Some(b));
                }
            }
            _ => return,
        }
        e.prevent_default();
    };
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
            <canvas
                class="map-canvas"
                node_ref=canvas
                tabindex="0"
                aria-label="湖北省地图 / map of Hubei"
                data-testid="map"
                data-view=move || view.get().unwrap_or_else(|| "420000".into())
                data-box=move || shown.get().map(|b| format!("{:.5},{:.5},{:.5},{:.5}", b[0], b[1], b[2], b[3]))
                on:wheel=on_wheel
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=on_up
                on:pointercancel=on_cancel
                on:pointerleave=move |_| tip.set(None)
                on:keydown=on_key
            ></canvas>
            <nav class="map-crumbs" aria-label="breadcrumb">
                <button class="crumb" data-testid="crumb-province" on:click=move |_| view.set(None) disabled=move || view.get().is_none()>
                    "湖北省"
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
