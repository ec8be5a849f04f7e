//! What the map shows under its names and live tier, the *ground*: the *land* (the province with
//! its glow) and the *top* tier (water and borders), each rendered off-screen and redrawn only
//! when its own inputs change (the map's first frame paints them straight into itself, and the
//! next frame at rest renders them), and between them the regions' fills (a choropleth's classes),
//! composed into a canvas of its own under the live one while they stay the same (see
//! [`Tiers`]).

use geo::{MultiPolygon, Simplify};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yiping_maps::Viewport;
use yiping_maps::data::ATTRIBUTION;
use yiping_maps::draw::{paint_lines, paint_polygons};

use yiping_widgets::palette::WHITE;
use yiping_widgets::palette::map::{
    COUNTY_BORDER, COUNTY_SELECTED, CREDIT, GLOW, LAKE, LAND, OUTLINE, PREFECTURE_BORDER, RAMP, REGION,
    REGION_OTHER, REGION_SELECTED, RIVER, RIVER_MAJOR, RIVER_MINOR, SHORE, YANGTZE,
};

use super::Choropleth;
use super::layers::Layers;

/// What one frame shows: the canvas size, the box in view, the selected prefecture.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Frame {
    pub(super) w: f64,
    pub(super) h: f64,
    pub(super) bbox: [f64; 4],
    pub(super) view: Option<String>,
    /// Simplification tolerance (degrees): about a device pixel, in powers of two so small zoom
    /// steps reuse the simplified shapes.
    pub(super) epsilon: f64,
}

impl Frame {
    pub(super) fn new(w: f64, h: f64, bbox: [f64; 4], view: Option<String>) -> Frame {
        let mut f = Frame { w, h, bbox, view, epsilon: 0.0 };
        // Pixels per degree of longitude (Mercator: 111 319.5 m per degree).
        let e = 0.8 / (f.viewport().scale() * 111_319.49);
        f.epsilon = 2f64.powi(e.log2().floor() as i32);
        f
    }

    pub(super) fn unit(&self) -> f64 {
        // Text and strokes scale with the panel, so the map reads the same from across the room
        // on a 1080p screen and on a 2160p wall.
        (self.w.min(self.h * 1.6) / 900.0).max(0.5)
    }

    pub(super) fn viewport(&self) -> Viewport {
        Viewport::fit(self.bbox, self.w, self.h, 24.0 * self.unit())
    }
}

/// Province, prefecture and county shapes.
pub(super) type Split<'a> = (&'a [MultiPolygon<f64>], &'a [MultiPolygon<f64>], &'a [MultiPolygon<f64>]);

/// The shapes of a frame: province, prefectures, counties.
pub(super) fn split<'a>(layers: &Layers, shapes: &'a [MultiPolygon<f64>]) -> Split<'a> {
    let (province, rest) = shapes.split_at(layers.province.len());
    let (prefectures, counties) = rest.split_at(layers.prefectures.regions().len());
    (province, prefectures, counties)
}

/// How much smaller than the frame the province's glow is drawn: a blur is smooth, so a quarter
/// of the resolution looks the same scaled up, and costs a sixteenth (at 7680×2160 the glow drawn
/// full size was most of the 100–150 ms the land then took).
const GLOW_SCALE: f64 = 0.25;

/// The province's soft glow alone (its shadow, not its shape), at [`GLOW_SCALE`], into `glow`.
fn draw_glow(glow: &HtmlCanvasElement, province: &[MultiPolygon<f64>], f: &Frame) {
    let (w, h) = ((f.w * GLOW_SCALE).ceil(), (f.h * GLOW_SCALE).ceil());
    glow.set_width(w as u32);
    glow.set_height(h as u32);
    let Some(ctx) = glow.get_context("2d").ok().flatten() else { return };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else { return };
    let unit = f.unit();
    // The shape is drawn one canvas width to the left, its shadow offset back into view: only the
    // shadow lands on the canvas. (Shadows ignore the transform, so blur and offset are in the
    // small canvas's pixels.)
    ctx.set_transform(GLOW_SCALE, 0.0, 0.0, GLOW_SCALE, -w, 0.0).ok();
    ctx.set_shadow_color(GLOW);
    ctx.set_shadow_blur(28.0 * unit * GLOW_SCALE);
    ctx.set_shadow_offset_x(w);
    let vp = f.viewport();
    // One shadow (each fill or stroke casts its own blur; the outline's added about 4 % near the
    // edge), of the shape simplified for the small canvas's pixels.
    for shape in province {
        paint_polygons(&ctx, &shape.simplify(f.epsilon / GLOW_SCALE), &vp, Some(LAND.css()), None);
    }
}

/// The land under the fills: the province with its soft glow (drawn small in `glow`, scaled up)
/// and its outline, into `land` at the frame's size. It depends on the frame alone, so a change
/// of screen or of figures (a new choropleth) does not redraw it: at 7680×2160 the glow's blur
/// and scaling and the province's outline cost 50–60 ms.
pub(super) fn draw_land(land: &HtmlCanvasElement, glow: &HtmlCanvasElement, layers: &Layers, f: &Frame) {
    land.set_width(f.w as u32);
    land.set_height(f.h as u32);
    let Some(ctx) = land.get_context("2d").ok().flatten() else { return };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else { return };
    paint_land(&ctx, glow, layers, f);
}

/// The land of frame `f` (see [`draw_land`]) painted into `ctx`, over what it holds.
pub(super) fn paint_land(
    ctx: &CanvasRenderingContext2d,
    glow: &HtmlCanvasElement,
    layers: &Layers,
    f: &Frame,
) {
    let unit = f.unit();
    let vp = f.viewport();
    let shapes = layers.shapes(f.epsilon);
    let (province, _, _) = split(layers, &shapes);
    draw_glow(glow, province, f);
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(
        glow,
        0.0,
        0.0,
        f64::from(glow.width()) / GLOW_SCALE,
        f64::from(glow.height()) / GLOW_SCALE,
    );
    for shape in province {
        paint_polygons(ctx, shape, &vp, Some(LAND.css()), Some((OUTLINE.css(), 2.6 * unit)));
    }
}

/// What a frame fills region by region over the land: a choropleth's class colours, by county or
/// by prefecture (None: the view's plain regions).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Fills {
    by_county: bool,
    colors: Vec<&'static str>,
}

/// The fills of `choropleth` on frame `f` (None when the view is a prefecture or a county, which
/// shows its regions plain).
pub(super) fn fills(layers: &Layers, f: &Frame, choropleth: Option<&Choropleth>) -> Option<Fills> {
    if layers.prefecture_of_view(f.view.as_deref()).is_some() {
        return None;
    }
    let c = choropleth?;
    let breaks = c.breaks();
    let by_county = c.values.keys().any(|k| layers.county(k).is_some());
    let regions = if by_county { layers.counties.regions() } else { layers.prefectures.regions() };
    let colors = regions
        .iter()
        .map(|r| c.values.get(&r.adcode).map_or(REGION, |v| class_color_of(&breaks, *v)))
        .collect();
    Some(Fills { by_county, colors })
}

/// The fills over the land: the prefectures or counties as `fills` says (see [`fills`]), or
/// plain with the selected prefecture and county standing out. Into the ground, or straight into
/// a frame while they change (see [`Tiers`]).
pub(super) fn draw_fills(ctx: &CanvasRenderingContext2d, layers: &Layers, f: &Frame, fills: Option<&Fills>) {
    let vp = f.viewport();
    let shapes = layers.shapes(f.epsilon);
    let (_, prefectures, counties) = split(layers, &shapes);
    let selected = layers.prefecture_of_view(f.view.as_deref());
    if let Some(fl) = fills {
        let shapes = if fl.by_county { counties } else { prefectures };
        for (shape, fill) in shapes.iter().zip(&fl.colors) {
            paint_polygons(ctx, shape, &vp, Some(fill), None);
        }
        return;
    }
    for (shape, r) in prefectures.iter().zip(layers.prefectures.regions()) {
        let fill = match selected {
            Some(a) if a == r.adcode => REGION_SELECTED,
            Some(_) => REGION_OTHER,
            None => REGION,
        };
        paint_polygons(ctx, shape, &vp, Some(fill), None);
    }
    // A selected county stands out of its prefecture.
    if let Some(v) = f.view.as_deref() {
        for (shape, c) in counties.iter().zip(layers.counties.regions()) {
            if c.adcode == v {
                paint_polygons(ctx, shape, &vp, Some(COUNTY_SELECTED), None);
            }
        }
    }
}

/// The top tier: water and borders (the names are placed in each frame: see [`super::names`]),
/// into `top` at the frame's size (sizing it clears it).
pub(super) fn draw_top(top: &HtmlCanvasElement, layers: &Layers, f: &Frame) {
    top.set_width(f.w as u32);
    top.set_height(f.h as u32);
    let Some(ctx) = top.get_context("2d").ok().flatten() else { return };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else { return };
    paint_top(&ctx, layers, f);
}

/// The top tier of frame `f` (see [`draw_top`]) painted into `ctx`, over what it holds.
pub(super) fn paint_top(ctx: &CanvasRenderingContext2d, layers: &Layers, f: &Frame) {
    let (w, h, unit) = (f.w, f.h, f.unit());
    let vp = f.viewport();
    let shapes = layers.shapes(f.epsilon);
    let (_, _, counties) = split(layers, &shapes);
    let selected = layers.prefecture_of_view(f.view.as_deref());
    let county = f.view.as_deref().filter(|v| layers.county(v).is_some());
    for l in &layers.lakes {
        paint_polygons(ctx, &l.shape, &vp, Some(LAKE.css()), Some((SHORE.css(), 0.8 * unit)));
    }
    for r in &layers.rivers {
        let (color, width) = match (r.name.as_deref(), r.rank) {
            (Some("长江"), _) => (YANGTZE.css(), 3.2 * unit),
            (Some(_), _) => (RIVER.css(), 2.2 * unit),
            (None, 1 | 2) => (RIVER_MAJOR, 1.4 * unit),
            _ => (RIVER_MINOR, 0.9 * unit),
        };
        paint_lines(ctx, &r.shape, &vp, color, width);
    }
    // The borders, each once: the selected prefecture's counties', the prefectures', and the
    // selected county's outline over them.
    if let Some(p) = selected {
        paint_lines(ctx, &layers.county_borders(f.epsilon, p), &vp, COUNTY_BORDER, 0.9 * unit);
    }
    paint_lines(ctx, &layers.prefecture_borders(f.epsilon), &vp, PREFECTURE_BORDER, 1.1 * unit);
    for (shape, c) in counties.iter().zip(layers.counties.regions()) {
        if county == Some(c.adcode.as_str()) {
            paint_polygons(ctx, shape, &vp, None, Some((WHITE.css(), 2.2 * unit)));
        }
    }
    ctx.set_font(&format!("{:.0}px sans-serif", 11.0 * unit));
    ctx.set_text_align("right");
    ctx.set_text_baseline("bottom");
    ctx.set_fill_style_str(CREDIT);
    let _ = ctx.fill_text(ATTRIBUTION, w - 8.0 * unit, h - 6.0 * unit);
}

/// The class of `v` and its colour.
pub(super) fn class_color_of(breaks: &[f64], v: f64) -> &'static str {
    let i = breaks.iter().position(|b| v <= *b).unwrap_or(breaks.len().saturating_sub(1));
    ramp(i, breaks.len())
}

pub(super) fn ramp(i: usize, n: usize) -> &'static str {
    RAMP[if n <= 1 { RAMP.len() - 1 } else { (i * (RAMP.len() - 1) / (n - 1)).min(RAMP.len() - 1) }].css()
}

/// The frame, fills and invalidation the ground or a frame's fills were drawn for.
pub(super) type FillsKey = (Frame, Option<Fills>, u64);

/// The cached static tiers and what they were drawn for.
///
/// The map is two canvases, one over the other: the *ground* under (the land, the fills and the
/// top tier, composed once the same fills show in two frames running) and the live canvas over
/// it (names and the live tier, drawn in every frame). While the ground holds a frame's fills,
/// a frame for live data draws no pixel of it (at 7680×2160, blitting the land and the top tier
/// into every frame cost two passes over 4.4 million pixels), and while the view moves the
/// compositor moves and scales it. Fills that change on every frame (a wall whose colours move
/// with every update) are drawn into each frame with the land and top tier over an empty ground
/// instead: composing them in the ground as well cost a second full-size canvas in the frame
/// (at 7680×2160, about 2 of 55 frames a second in the wall benchmark). The map's first frame
/// paints the land, fills and top tier straight into itself instead, and the tiers are drawn
/// by the next frame at rest: the first paint waits for no off-screen canvas (a view that
/// moves before then is drawn sharp, as no ground can be composed yet).
pub(super) struct Tiers {
    /// The land under the fills (see [`draw_land`]).
    pub(super) land: HtmlCanvasElement,
    /// The province's glow, drawn small (see [`draw_land`]).
    pub(super) glow: HtmlCanvasElement,
    /// Water and borders (see [`draw_top`]).
    pub(super) top: HtmlCanvasElement,
    pub(super) land_key: Option<(Frame, u64)>,
    pub(super) top_key: Option<(Frame, u64)>,
    /// What the ground shows (None: nothing).
    pub(super) ground_key: Option<FillsKey>,
    /// The fills of the last frame drawn sharp (not moving): what a move starts from.
    pub(super) last_fills: Option<FillsKey>,
    /// What the names remember between frames (see [`super::names`]).
    pub(super) names: super::names::Memory,
}

impl Tiers {
    /// Whether the land and the top tier are rendered for the frame at rest `key`: what
    /// composing its ground takes.
    pub(super) fn rendered_for(&self, key: &FillsKey) -> bool {
        let drawn =
            |tier: &Option<(Frame, u64)>| tier.as_ref().is_some_and(|(f, i)| *f == key.0 && *i == key.2);
        drawn(&self.land_key) && drawn(&self.top_key)
    }
}
