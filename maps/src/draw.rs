//! Canvas drawing of projected layers (wasm only).
//!
//! All coordinates are device pixels: callers size the canvas at CSS size × devicePixelRatio and
//! build the [`Viewport`] for that size, so lines and text are crisp on any wall.

use geo::{LineString, MultiLineString, MultiPolygon};
use web_sys::CanvasRenderingContext2d;

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

/// Draw a centred label with a dark halo so it reads over any fill.
pub fn paint_label(ctx: &CanvasRenderingContext2d, text: &str, x: f64, y: f64, px: f64, color: &str) {
    ctx.set_font(&label_font(px));
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    ctx.set_line_join("round");
    ctx.set_stroke_style_str("rgba(4, 12, 28, 0.85)");
    ctx.set_line_width(px * 0.25);
    let _ = ctx.stroke_text(text, x, y);
    ctx.set_fill_style_str(color);
    let _ = ctx.fill_text(text, x, y);
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
