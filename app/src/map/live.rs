//! The live tier and the frame loop: sections, markers (clustered where dense) and alerts drawn
//! on the live canvas, over the static tiers (in the ground, a canvas under it, while the fills
//! stay the same; drawn into the frame while they change, and in the map's first frame: see
//! [`Tiers`]), at most one frame per change (`requestAnimationFrame`), and the fly-to animation.
//!
//! An alert's pulse is not drawn here: each frame places a ring element over the alert's dot
//! ([`Ring`]), and the browser's compositor animates it (CSS transform and opacity). A pulsing
//! map therefore draws no frames at all until its data or view changes; drawn on the canvas, the
//! pulse re-rasterised the whole canvas every frame (16.6 million pixels at 7680×2160), keeping
//! the main thread busy and the wall at 20 fps.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use geo::MultiLineString;
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yiping_maps::cluster::grid_clusters;
use yiping_maps::draw::{LABEL_FONT, paint_dot, paint_lines};
use yiping_maps::labels::Obstacle;
use yiping_maps::reach::reach;
use yiping_protocol::topics::Overview;
use yiping_protocol::water::WaterBody;

use yiping_widgets::palette::WHITE;
use yiping_widgets::palette::map::{CLUSTER_EDGE, CLUSTER_FILL, MARKER_RING, NO_CLASS, SECTION_EDGE};

use super::layers::Layers;
use super::names::draw_names;
use super::tiers::{FillsKey, Frame, Tiers, draw_fills, draw_land, draw_top, fills, paint_land, paint_top};
use super::{Choropleth, MapPick, Marker};
use crate::theme::class_color;

/// How far along the river, each way, a section's class colours it, km.
pub(super) const REACH_KM: f64 = 12.0;

/// How long a fly-to takes, ms.
pub(super) const FLY_MS: f64 = 600.0;

pub(super) fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

pub(super) fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

pub(super) fn lerp_box(a: [f64; 4], b: [f64; 4], t: f64) -> [f64; 4] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t, a[3] + (b[3] - a[3]) * t]
}

/// A touchable live feature drawn in the last frame: centre, radius, what it is.
#[derive(Debug, Clone)]
pub(super) struct LiveHit {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) r: f64,
    pub(super) pick: MapPick,
}

/// An alert's pulsing ring, over its dot: where (CSS pixels, in the map) and how large.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Ring {
    pub(super) key: String,
    pub(super) x: f64,
    pub(super) y: f64,
    /// The dot's radius, CSS pixels: the ring starts there and grows to 3.2 times.
    pub(super) r: f64,
    /// The ring's stroke, CSS pixels.
    pub(super) stroke: f64,
}

/// Where the live tier's marks go in a frame: markers (clustered where dense), sections and
/// alerts' dots, laid out before any is drawn, so that the names can be placed clear of them
/// ([`LiveLayout::marks`]) and drawn under them ([`LiveLayout::paint`]).
pub(super) struct LiveLayout {
    unit: f64,
    single_r: f64,
    /// Markers on their own, by colour.
    singles: Vec<(&'static str, Vec<LiveHit>)>,
    /// Clusters, with their sizes.
    clusters: Vec<(usize, LiveHit)>,
    /// Sections, with their colours.
    sections: Vec<(&'static str, LiveHit)>,
    /// Alerts, with their colours and rings.
    alerts: Vec<(&'static str, LiveHit, Ring)>,
}

/// Lay out the live tier of frame `f` (see [`LiveLayout`]).
pub(super) fn layout_live(f: &Frame, overview: Option<&Overview>, markers: &[Marker]) -> LiveLayout {
    let vp = f.viewport();
    let unit = f.unit();
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
    let single_r = 4.2 * unit;
    let mut singles: Vec<(&'static str, Vec<LiveHit>)> = Vec::new();
    let mut clusters: Vec<(usize, LiveHit)> = Vec::new();
    for c in grid_clusters(&pts, 40.0 * unit) {
        if let [only] = c.members[..] {
            let m = &markers[calm[only]];
            let hit = LiveHit {
                x: c.x,
                y: c.y,
                r: single_r + 4.0 * unit,
                pick: MapPick { kind: "marker", key: m.key.clone(), label: m.label.clone(), value: None },
            };
            match singles.iter_mut().find(|(color, _)| *color == m.color) {
                Some((_, at)) => at.push(hit),
                None => singles.push((m.color, vec![hit])),
            }
        } else {
            let n = c.members.len();
            // Smaller than half a cell, so clusters in neighbouring cells rarely touch.
            let r = (5.5 + 2.0 * (n as f64).log2()).min(18.0) * unit;
            let keys: Vec<&str> = c.members.iter().map(|&i| markers[calm[i]].key.as_str()).collect();
            let pick = MapPick {
                kind: "cluster",
                key: keys.join(","),
                label: format!("{n}"),
                value: Some(n as f64),
            };
            clusters.push((n, LiveHit { x: c.x, y: c.y, r, pick }));
        }
    }
    // Sections, coloured by their latest class.
    let mut sections = Vec::new();
    for s in overview.map_or(&[][..], |o| &o.sections[..]) {
        let (x, y) = vp.to_screen(s.lon, s.lat);
        if !on_screen(x, y, 10.0 * unit) {
            continue;
        }
        let class = s.class.map_or("—", |c| c.label());
        let pick = MapPick {
            kind: "section",
            key: s.id.clone(),
            label: format!("{} · {} · {class}", s.river, s.name),
            value: None,
        };
        sections.push((s.class.map_or(NO_CLASS.css(), class_color), LiveHit { x, y, r: 9.0 * unit, pick }));
    }
    let mut alerts = Vec::new();
    for m in markers.iter().filter(|m| m.pulse) {
        let (x, y) = vp.to_screen(m.lon, m.lat);
        if !on_screen(x, y, 30.0 * unit) {
            continue;
        }
        let r = 6.0 * unit;
        let ring = Ring { key: m.key.clone(), x, y, r, stroke: 2.4 * unit };
        let pick = MapPick { kind: "marker", key: m.key.clone(), label: m.label.clone(), value: None };
        alerts.push((m.color, LiveHit { x, y, r: r + 6.0 * unit, pick }, ring));
    }
    LiveLayout { unit, single_r, singles, clusters, sections, alerts }
}

impl LiveLayout {
    /// The boxes the marks will cover, their edges included (device pixels): what names keep
    /// clear of. (The sections' river reaches are lines along the rivers, which names cross
    /// as they cross the rivers of the top tier.)
    pub(super) fn marks(&self) -> Vec<Obstacle> {
        let square = |x: f64, y: f64, r: f64| [x - r, y - r, x + r, y + r];
        let singles =
            self.singles.iter().flat_map(|(_, at)| at).map(|h| square(h.x, h.y, self.single_r * 1.2));
        let clusters = self.clusters.iter().map(|(_, h)| square(h.x, h.y, h.r + 0.7 * self.unit));
        let sections = self.sections.iter().map(|(_, h)| square(h.x, h.y, 6.5 * self.unit));
        let alerts = self.alerts.iter().map(|(_, _, g)| square(g.x, g.y, g.r * 1.2));
        singles.chain(clusters).chain(sections).chain(alerts).collect()
    }

    /// Draw the live tier: markers, clusters, the sections' river reaches and dots, alerts' dots
    /// on top. Returns what can be touched, in the order drawn (a touch finds what is on top),
    /// and where the alerts' rings go (device pixels; the caller scales them).
    pub(super) fn paint(
        self,
        ctx: &CanvasRenderingContext2d,
        f: &Frame,
        overview: Option<&Overview>,
        reaches: &HashMap<String, MultiLineString<f64>>,
    ) -> (Vec<LiveHit>, Vec<Ring>) {
        let LiveLayout { unit, single_r, singles, clusters, sections, alerts } = self;
        let vp = f.viewport();
        let mut hits = Vec::new();
        // Markers on their own, a path per colour, then clusters, one path: a few fills and
        // strokes rather than two per marker (at 7680×2160 with 1,000 markers the calls and
        // their colour strings were a third of a frame). Where two of a kind touch (across a
        // cell's edge), both rings or edges show.
        let circles = |at: &mut dyn Iterator<Item = (f64, f64, f64)>| {
            ctx.begin_path();
            for (x, y, r) in at {
                ctx.move_to(x + r, y);
                let _ = ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
            }
        };
        ctx.set_stroke_style_str(MARKER_RING);
        ctx.set_line_width(single_r * 0.35);
        for (color, at) in &singles {
            circles(&mut at.iter().map(|h| (h.x, h.y, single_r)));
            ctx.set_fill_style_str(color);
            ctx.fill();
            ctx.stroke();
        }
        if !clusters.is_empty() {
            circles(&mut clusters.iter().map(|(_, h)| (h.x, h.y, h.r)));
            ctx.set_fill_style_str(CLUSTER_FILL);
            ctx.fill();
            ctx.set_stroke_style_str(CLUSTER_EDGE);
            ctx.set_line_width(1.4 * unit);
            ctx.stroke();
            ctx.set_text_align("center");
            ctx.set_text_baseline("middle");
            ctx.set_font(&format!("700 {:.0}px {LABEL_FONT}", 10.5 * unit));
            ctx.set_fill_style_str(WHITE.css());
            for (n, h) in &clusters {
                let _ = ctx.fill_text(&n.to_string(), h.x, h.y);
            }
        }
        hits.extend(singles.into_iter().flat_map(|(_, at)| at));
        hits.extend(clusters.into_iter().map(|(_, h)| h));
        // River reaches around the sections, coloured by the class the section reports.
        if let Some(o) = overview {
            for s in &o.sections {
                if let (Some(line), Some(class)) = (reaches.get(&s.id), s.class) {
                    paint_lines(ctx, line, &vp, class_color(class), 4.5 * unit);
                }
            }
        }
        for (color, h) in sections {
            paint_dot(ctx, h.x, h.y, 5.5 * unit, color, SECTION_EDGE);
            hits.push(h);
        }
        // Alerts on top; their rings pulse over the canvas (see the module's docs).
        let mut rings = Vec::new();
        for (color, h, ring) in alerts {
            paint_dot(ctx, h.x, h.y, ring.r, color, WHITE.css());
            hits.push(h);
            rings.push(ring);
        }
        (hits, rings)
    }
}

/// Render statistics, on the canvas as `data-*` attributes for tests and benchmarks.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) draws: u64,
    pub(super) static_draws: u64,
    pub(super) land_draws: u64,
    pub(super) ground_draws: u64,
    pub(super) top_draws: u64,
    pub(super) live_draws: u64,
    pub(super) live_ms: f64,
    pub(super) static_ms: f64,
}

/// Everything a frame needs that is not reactive.
pub(super) struct Render {
    pub(super) tiers: Option<Tiers>,
    /// The river reach around each river section (by section id), cut once.
    pub(super) reaches: HashMap<String, MultiLineString<f64>>,
    pub(super) hits: Vec<LiveHit>,
    pub(super) scheduled: bool,
    pub(super) alive: bool,
    /// Until when the view is moving (ms, `performance.now`): the compositor moves the ground.
    pub(super) moving_until: f64,
    pub(super) settle_scheduled: bool,
    /// Until when (ms, `performance.now`) a map whose layers are ready waits for its first data
    /// before drawing (set by the first frame that could draw).
    pub(super) data_wait_until: Option<f64>,
    pub(super) data_wait_scheduled: bool,
    pub(super) stats: Stats,
    /// Held from the canvas's first size to its first frame.
    pub(super) first: Option<yiping_widgets::observe::FirstDraw>,
}

/// How long a map whose layers are ready waits for its first data before it draws without: a
/// frame drawn just before the data come is wasted work in the way of the first real one (at
/// 7680×2160 the land, fills and water take about 200 ms), and the data usually follow within a
/// second.
const DATA_WAIT_MS: f64 = 1000.0;

/// The reactive inputs of the map, all `Copy`.
#[derive(Clone, Copy)]
pub(super) struct Inputs {
    pub(super) canvas: NodeRef<Canvas>,
    /// The canvas under it, laid out at the same size, that shows the ground (see [`Tiers`]).
    pub(super) ground: NodeRef<Canvas>,
    /// The canvas's CSS size as last observed (None: not laid out yet).
    pub(super) size: RwSignal<Option<(f64, f64)>>,
    pub(super) layers: RwSignal<Option<Arc<Layers>>>,
    pub(super) shown: RwSignal<Option<[f64; 4]>>,
    pub(super) view: RwSignal<Option<String>>,
    pub(super) overview: RwSignal<Option<Overview>>,
    pub(super) choropleth: Signal<Option<Choropleth>>,
    pub(super) markers: Signal<Vec<Marker>>,
    pub(super) invalidate: Signal<u64>,
    pub(super) spots: RwSignal<Vec<Spot>>,
    /// The alerts' pulsing rings, placed by the last frame.
    pub(super) rings: RwSignal<Vec<Ring>>,
    /// The box moved to by hand, or asked for from outside (None: the view frames `view`).
    pub(super) camera: RwSignal<Option<[f64; 4]>>,
    /// The page feeds no overview: its first data is a choropleth or markers.
    pub(super) no_overview: bool,
}

pub(super) fn schedule(r: &Rc<RefCell<Render>>, inputs: Inputs) {
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

/// Draw the ground (the land, the fills and the top tier of the frame at rest `key`) into its
/// canvas, from the land and top tiers drawn for that frame.
fn draw_ground(ground: &HtmlCanvasElement, tiers: &mut Tiers, layers: &Layers, key: &FillsKey) {
    debug_assert!(tiers.rendered_for(key), "the land and the top tier of the frame");
    let Some(g) = context(ground) else { return };
    let (w, h) = (key.0.w, key.0.h);
    if f64::from(ground.width()) != w || f64::from(ground.height()) != h {
        ground.set_width(w as u32);
        ground.set_height(h as u32);
    }
    // The land replaces what was there: no pass to clear it first.
    g.set_global_composite_operation("copy").ok();
    let _ = g.draw_image_with_html_canvas_element(&tiers.land, 0.0, 0.0);
    g.set_global_composite_operation("source-over").ok();
    draw_fills(&g, layers, &key.0, key.1.as_ref());
    let _ = g.draw_image_with_html_canvas_element(&tiers.top, 0.0, 0.0);
    tiers.ground_key = Some(key.clone());
}

/// Move and scale the ground's canvas by the compositor (None: where it is laid out).
fn set_transform(ground: &HtmlCanvasElement, transform: Option<String>) {
    match transform {
        Some(t) => {
            let _ = ground.set_attribute("style", &format!("transform: {t}"));
        }
        None if ground.has_attribute("style") => {
            let _ = ground.remove_attribute("style");
        }
        None => {}
    }
}

/// The frame the canvas shows now, if it can show one.
pub(super) fn current_frame(inputs: Inputs) -> Option<(HtmlCanvasElement, Arc<Layers>, Frame, f64)> {
    let c = inputs.canvas.get_untracked()?;
    let l = inputs.layers.get_untracked()?;
    let bbox = inputs.shown.get_untracked()?;
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let (css_w, css_h) = inputs.size.get_untracked()?;
    if css_w < 1.0 || css_h < 1.0 {
        return None;
    }
    let f = Frame::new((css_w * dpr).round(), (css_h * dpr).round(), bbox, inputs.view.get_untracked());
    Some((c, l, f, dpr))
}

pub(super) fn render(r: &Rc<RefCell<Render>>, inputs: Inputs) {
    let mut st = r.borrow_mut();
    st.scheduled = false;
    st.first = None;
    if !st.alive {
        return;
    }
    let Some((canvas, layers, f, dpr)) = current_frame(inputs) else { return };
    let Some(ground) = inputs.ground.get_untracked() else { return };
    let Some(ctx) = context(&canvas) else { return };
    // No first data yet: no overview (or, on a page that feeds none, no choropleth and no
    // marker): wait for it a while.
    let no_data = inputs.overview.with_untracked(Option::is_none)
        && !(inputs.no_overview
            && (inputs.choropleth.with_untracked(Option::is_some)
                || inputs.markers.with_untracked(|m| !m.is_empty())));
    if no_data {
        let t = now_ms();
        let until = *st.data_wait_until.get_or_insert(t + DATA_WAIT_MS);
        if t < until {
            if !st.data_wait_scheduled {
                st.data_wait_scheduled = true;
                let r = r.clone();
                set_timeout(
                    move || {
                        r.borrow_mut().data_wait_scheduled = false;
                        schedule(&r, inputs);
                    },
                    Duration::from_millis((until - t).ceil() as u64),
                );
            }
            return;
        }
    }
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
        st.tiers = offscreen().zip(offscreen()).zip(offscreen()).map(|((top, glow), land)| Tiers {
            land,
            glow,
            top,
            land_key: None,
            top_key: None,
            ground_key: None,
            last_fills: None,
            names: Default::default(),
        });
    }
    let t0 = now_ms();
    let moving = t0 < st.moving_until;
    let overview = inputs.overview.get_untracked();
    let choropleth = inputs.choropleth.get_untracked();
    let invalidate = inputs.invalidate.get_untracked();
    let markers = inputs.markers.get_untracked();
    let vp = f.viewport();
    let live = layout_live(&f, overview.as_ref(), &markers);
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
    let (mut st_land, mut st_ground, mut st_top, mut st_direct) = (false, false, false, false);
    let fills_key = (f.clone(), fills(&layers, &f, choropleth.as_ref()), invalidate);
    ctx.clear_rect(0.0, 0.0, f.w, f.h);
    // While moving, the ground of the last view at rest is moved and scaled by the compositor to
    // this one (a CSS transform of its canvas): also when the view is another region (a
    // drill-down's fly-to starts at once; the region's own ground is drawn sharp once the view
    // rests). The first moving frame composes that ground if it does not hold it (fills that
    // were changing); the frames after draw no pixel of it. Fills that change meanwhile show
    // once the view rests. A view at rest whose ground cannot be composed (the map's first
    // frame painted its tiers straight into itself: see below) is drawn sharp instead.
    let approx = moving
        && tiers.last_fills.as_ref().is_some_and(|k| {
            k.0.w == f.w && k.0.h == f.h && (tiers.ground_key.as_ref() == Some(k) || tiers.rendered_for(k))
        });
    if let Some(rest) = tiers.last_fills.clone().filter(|_| approx) {
        if tiers.ground_key.as_ref() != Some(&rest) {
            draw_ground(&ground, tiers, &layers, &rest);
            st_ground = true;
        }
        let ovp = rest.0.viewport();
        let (a_lon, a_lat) = ovp.to_lonlat(0.0, 0.0);
        let (b_lon, b_lat) = ovp.to_lonlat(f.w, f.h);
        let (ax, ay) = vp.to_screen(a_lon, a_lat);
        let (bx, by) = vp.to_screen(b_lon, b_lat);
        let (sx, sy) = ((bx - ax) / f.w, (by - ay) / f.h);
        set_transform(
            &ground,
            Some(format!("matrix({sx:.6}, 0, 0, {sy:.6}, {:.3}, {:.3})", ax / dpr, ay / dpr)),
        );
    } else if tiers.last_fills.is_none() {
        // The map's first frame (no frame at rest before it) paints the land, the fills and the
        // top tier straight into itself, and leaves the tiers to the next frame: drawing each
        // tier into a canvas of its own and copying it into the frame cost two more full-size
        // bitmaps and two full copies (first paint at 7680×2160 was 125–245 ms later at the
        // median, in three alternated sittings of `e2e/bench/firstpaint.js`).
        ctx.save();
        paint_land(&ctx, &tiers.glow, &layers, &f);
        draw_fills(&ctx, &layers, &f, fills_key.1.as_ref());
        paint_top(&ctx, &layers, &f);
        ctx.restore();
        set_transform(&ground, None);
        st_direct = true;
        tiers.last_fills = Some(fills_key);
    } else {
        let land_key = (f.clone(), invalidate);
        if tiers.land_key.as_ref() != Some(&land_key) {
            draw_land(&tiers.land, &tiers.glow, &layers, &f);
            tiers.land_key = Some(land_key);
            st_land = true;
        }
        let top_key = (f.clone(), invalidate);
        if tiers.top_key.as_ref() != Some(&top_key) {
            draw_top(&tiers.top, &layers, &f);
            tiers.top_key = Some(top_key);
            st_top = true;
        }
        // The ground takes fills that a second frame shows (see `Tiers`); new fills are drawn
        // into the frame over an empty ground.
        if tiers.ground_key.as_ref() != Some(&fills_key) {
            if tiers.last_fills.as_ref() == Some(&fills_key) {
                draw_ground(&ground, tiers, &layers, &fills_key);
                st_ground = true;
            } else if tiers.ground_key.take().is_some() {
                // Emptied, and its bitmap let go (a 7680×2160 wall's is 18 MB) while fills change.
                ground.set_width(1);
                ground.set_height(1);
            }
        }
        set_transform(&ground, None);
        if tiers.ground_key.as_ref() != Some(&fills_key) {
            let _ = ctx.draw_image_with_html_canvas_element(&tiers.land, 0.0, 0.0);
            draw_fills(&ctx, &layers, &f, fills_key.1.as_ref());
            let _ = ctx.draw_image_with_html_canvas_element(&tiers.top, 0.0, 0.0);
        }
        tiers.last_fills = Some(fills_key);
    }
    let names = draw_names(&ctx, &layers, &f, &live.marks(), &mut tiers.names);
    let redrew_static = st_land || st_ground || st_top || st_direct;
    let (hits, rings) = live.paint(&ctx, &f, overview.as_ref(), reaches);
    st.hits = hits;
    let rings: Vec<Ring> = rings
        .into_iter()
        .map(|g| Ring { x: g.x / dpr, y: g.y / dpr, r: g.r / dpr, stroke: g.stroke / dpr, ..g })
        .collect();
    if inputs.rings.with_untracked(|v| *v != rings) {
        inputs.rings.set(rings);
    }
    let ms = now_ms() - t0;
    st.stats.draws += 1;
    yiping_widgets::observe::FirstDraw::page_drawn();
    st.stats.land_draws += u64::from(st_land);
    st.stats.ground_draws += u64::from(st_ground);
    st.stats.top_draws += u64::from(st_top);
    if redrew_static {
        st.stats.static_draws += 1;
        st.stats.static_ms += ms;
    } else if !approx {
        st.stats.live_draws += 1;
        st.stats.live_ms += ms;
    }
    // The prefectures' names as buttons over the map (province view), where they are drawn, in
    // CSS pixels.
    let list: Vec<Spot> = if f.view.is_none() {
        names
            .iter()
            .map(|n| Spot {
                adcode: n.adcode.clone(),
                name: n.name.clone(),
                x: (n.area[0] + n.area[2]) / 2.0 / dpr,
                y: (n.area[1] + n.area[3]) / 2.0 / dpr,
            })
            .collect()
    } else {
        Vec::new()
    };
    if inputs.spots.with_untracked(|s| *s != list) {
        inputs.spots.set(list);
    }
    for (k, v) in [
        ("data-draws", st.stats.draws.to_string()),
        ("data-static-draws", st.stats.static_draws.to_string()),
        ("data-land-draws", st.stats.land_draws.to_string()),
        ("data-ground-draws", st.stats.ground_draws.to_string()),
        ("data-top-draws", st.stats.top_draws.to_string()),
        ("data-live-draws", st.stats.live_draws.to_string()),
        ("data-live-ms-total", format!("{:.3}", st.stats.live_ms)),
        ("data-static-ms-total", format!("{:.3}", st.stats.static_ms)),
        ("data-frame-at", format!("{:.3}", now_ms())),
        ("data-clusters", st.hits.iter().filter(|h| h.pick.kind == "cluster").count().to_string()),
        ("data-markers", markers.len().to_string()),
        // The names drawn, each with its box in CSS pixels: `name:x0,y0,x1,y1;…`.
        (
            "data-names",
            names
                .iter()
                .map(|n| {
                    let [x0, y0, x1, y1] = n.area.map(|v| v / dpr);
                    format!("{}:{x0:.1},{y0:.1},{x1:.1},{y1:.1}", n.text)
                })
                .collect::<Vec<_>>()
                .join(";"),
        ),
        // One marker drawn on its own (not in a cluster), in CSS pixels, that nothing drawn after
        // it covers at its centre (a touch there finds it): for tests and tools.
        (
            "data-single-marker",
            st.hits
                .iter()
                .enumerate()
                .rev()
                .find(|&(i, h)| {
                    h.pick.kind == "marker"
                        && !st.hits[i + 1..].iter().any(|o| (o.x - h.x).hypot(o.y - h.y) <= o.r)
                })
                .map(|(_, h)| format!("{},{:.1},{:.1}", h.pick.key, h.x / dpr, h.y / dpr))
                .unwrap_or_default(),
        ),
    ] {
        let _ = canvas.set_attribute(k, &v);
    }
    // Once the view rests, draw it sharp.
    let settle = approx && !st.settle_scheduled;
    if settle {
        st.settle_scheduled = true;
    }
    let wait = (st.moving_until - t0).max(0.0) + 20.0;
    drop(st);
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
pub(super) fn fly(
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
pub(super) struct Spot {
    pub(super) adcode: String,
    pub(super) name: String,
    pub(super) x: f64,
    pub(super) y: f64,
}
