//! Canvas drawing of projected layers (wasm only).
//!
//! All coordinates are device pixels: callers size the canvas at CSS size × devicePixelRatio and
//! build the [`Viewport`] for that size, so lines and text are crisp on any wall.

use std::collections::HashMap;

use geo::{LineString, MultiLineString, MultiPolygon};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::Viewport;

/// Add a line through the projected points to the current path.
fn trace_line(ctx: &CanvasRenderingContext2d, line: &LineString<f64>, vp: &Viewport) {
    for (i, c) in line.coords().enumerate() {
        let (x, y) = vp.to_screen(c.x, c.y);
        if i == 0 { ctx.move_to(x, y) } else { ctx.line_to(x, y) }
    }
}

fn trace_ring(ctx: &CanvasRenderingContext2d, ring: &LineString<f64>, vp: &Viewport) {
    trace_line(ctx, ring, vp);
    ctx.close_path();
}

/// Add the outline of `shape` (with holes) to the current path.
pub fn trace_polygons(ctx: &CanvasRenderingContext2d, shape: &MultiPolygon<f64>, vp: &Viewport) {
    for p in shape {
        trace_ring(ctx, p.exterior(), vp);
        for hole in p.interiors() {
            trace_ring(ctx, hole, vp);
        }
    }
}

/// Fill and stroke `shape`. Holes are left empty (even-odd fill).
pub fn paint_polygons(
    ctx: &CanvasRenderingContext2d,
    shape: &MultiPolygon<f64>,
    vp: &Viewport,
    fill: Option<&str>,
    stroke: Option<(&str, f64)>,
) {
    ctx.begin_path();
    trace_polygons(ctx, shape, vp);
    if let Some(fill) = fill {
        ctx.set_fill_style_str(fill);
        ctx.fill_with_canvas_winding_rule(web_sys::CanvasWindingRule::Evenodd);
    }
    if let Some((color, width)) = stroke {
        ctx.set_stroke_style_str(color);
        ctx.set_line_width(width);
        ctx.stroke();
    }
}

/// Stroke lines.
pub fn paint_lines(
    ctx: &CanvasRenderingContext2d,
    shape: &MultiLineString<f64>,
    vp: &Viewport,
    color: &str,
    width: f64,
) {
    ctx.begin_path();
    for line in shape {
        trace_line(ctx, line, vp);
    }
    ctx.set_stroke_style_str(color);
    ctx.set_line_width(width);
    ctx.set_line_join("round");
    ctx.set_line_cap("round");
    ctx.stroke();
}

/// The font families of the map's text (the wall ships Noto Sans CJK; the others are what an
/// office PC has).
pub const LABEL_FONT: &str = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif";

/// The font of a label `px` pixels high ([`paint_label`] draws with it; measure with it too).
pub fn label_font(px: f64) -> String {
    format!("500 {px:.0}px {LABEL_FONT}")
}

/// The colour of a label's halo.
const HALO: &str = "rgba(4, 12, 28, 0.85)";

/// Draw a centred label with a dark halo so it reads over any fill.
pub fn paint_label(ctx: &CanvasRenderingContext2d, text: &str, x: f64, y: f64, px: f64, color: &str) {
    ctx.set_font(&label_font(px));
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    ctx.set_line_join("round");
    ctx.set_stroke_style_str(HALO);
    ctx.set_line_width(px * 0.25);
    let _ = ctx.stroke_text(text, x, y);
    ctx.set_fill_style_str(color);
    let _ = ctx.fill_text(text, x, y);
}

/// One label rendered off-screen: its canvas and where in it the label's centre is.
#[derive(Debug)]
struct Sprite {
    canvas: HtmlCanvasElement,
    cx: f64,
    cy: f64,
}

/// Labels rendered once each and copied into every frame that shows them.
///
/// **Why:** [`paint_label`] strokes its halo along every glyph's outline and fills the glyphs
/// over it. At 7680×2160 (labels about 55 px high) the twenty to thirty names of a map cost
/// 5–12 ms in every frame, redrawn identically each time. A sprite is that same drawing made
/// once, in a canvas the label's size, then copied pixel for pixel: a small image blended at
/// whole-pixel positions.
///
/// **Caveats:**
/// - A sprite is placed at whole device pixels, so a label lands up to half a pixel from its
///   exact point (the label engine's places are not pixel-precise anyway).
/// - Fonts are the system's (the wall ships no web fonts), so a label rendered once stays
///   right; the cache would keep a fallback font's drawing if a web font arrived later.
/// - Memory is bounded: past [`LabelSprites::BUDGET`] pixels (a resize makes every label anew,
///   at the new size) the cache starts over.
///
/// ```ignore
/// let mut sprites = LabelSprites::default();
/// sprites.paint(&ctx, "武汉", 640.0, 360.0, 17.0, "#e8f1ff"); // rendered, then copied
/// sprites.paint(&ctx, "武汉", 650.0, 360.0, 17.0, "#e8f1ff"); // copied
/// ```
#[derive(Debug, Default)]
pub struct LabelSprites {
    /// By font size and colour, then by text.
    sprites: HashMap<(u32, String), HashMap<String, Sprite>>,
    /// The pixels the sprites hold.
    pixels: u64,
}

impl LabelSprites {
    /// The most pixels the cache holds (4 bytes each: 64 MiB) before it starts over; a map's
    /// names at 7680×2160 take about a tenth of it.
    pub const BUDGET: u64 = 16 << 20;

    /// Draw `text` centred at (`x`, `y`) as [`paint_label`] does, from its sprite (rendered on
    /// first use). Without a document to make a canvas in, the label is painted directly.
    pub fn paint(
        &mut self,
        ctx: &CanvasRenderingContext2d,
        text: &str,
        x: f64,
        y: f64,
        px: f64,
        color: &str,
    ) {
        // The font is set in whole pixels (`label_font`): the key is that size.
        let px = px.round();
        let key = (px as u32, color.to_owned());
        if !self.sprites.get(&key).is_some_and(|m| m.contains_key(text)) {
            let Some(sprite) = render(text, px, color) else {
                paint_label(ctx, text, x, y, px, color);
                return;
            };
            let size = u64::from(sprite.canvas.width()) * u64::from(sprite.canvas.height());
            if self.pixels + size > Self::BUDGET {
                self.sprites.clear();
                self.pixels = 0;
            }
            self.pixels += size;
            self.sprites.entry(key.clone()).or_default().insert(text.to_owned(), sprite);
        }
        if let Some(s) = self.sprites.get(&key).and_then(|m| m.get(text)) {
            let _ = ctx.draw_image_with_html_canvas_element(&s.canvas, x.round() - s.cx, y.round() - s.cy);
        }
    }
}

/// `text` painted by [`paint_label`] into a canvas just large enough for it and its halo.
fn render(text: &str, px: f64, color: &str) -> Option<Sprite> {
    let canvas: HtmlCanvasElement =
        web_sys::window()?.document()?.create_element("canvas").ok()?.dyn_into().ok()?;
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    ctx.set_font(&label_font(px));
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    let m = ctx.measure_text(text).ok()?;
    // The halo reaches half its width past the glyphs; a pixel more for antialiasing.
    let pad = (px * 0.125).ceil() + 1.0;
    let left = m.actual_bounding_box_left().max(0.0).ceil() + pad;
    let right = m.actual_bounding_box_right().max(0.0).ceil() + pad;
    let up = m.actual_bounding_box_ascent().max(0.0).ceil() + pad;
    let down = m.actual_bounding_box_descent().max(0.0).ceil() + pad;
    // Resizing resets the context, so the size comes first.
    canvas.set_width((left + right) as u32);
    canvas.set_height((up + down) as u32);
    paint_label(&ctx, text, left, up, px, color);
    Some(Sprite { canvas, cx: left, cy: up })
}

/// A filled circle with a ring, for point features.
pub fn paint_dot(ctx: &CanvasRenderingContext2d, x: f64, y: f64, r: f64, fill: &str, ring: &str) {
    ctx.begin_path();
    let _ = ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
    ctx.set_fill_style_str(fill);
    ctx.fill();
    ctx.set_stroke_style_str(ring);
    ctx.set_line_width(r * 0.35);
    ctx.stroke();
}
