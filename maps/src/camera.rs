//! Pan and zoom of the map view, as operations on the box shown.
//!
//! The map shows a bounding box `[min_lon, min_lat, max_lon, max_lat]` fitted into its canvas
//! ([`Viewport::fit`](crate::Viewport::fit)). Every gesture becomes an operation on that box in
//! Web Mercator metres, where it is linear:
//! - zoom by `k` about a point scales the box about that point by `1/k`: the point under the
//!   cursor (or between two fingers) stays under it, because a fitted box keeps its centre
//!   offset and scales with the box;
//! - pan by a screen offset moves the box by that many pixels at the current scale;
//! - [`clamp_box`] keeps the view useful: zoom limits, and the centre inside the region.
//!
//! ```
//! use yiping_maps::camera::{zoom_box, pan_box};
//! use yiping_maps::Viewport;
//! let hubei = [108.36, 29.03, 116.13, 33.28];
//! let vp = Viewport::fit(hubei, 1600.0, 900.0, 20.0);
//! let (lon, lat) = vp.to_lonlat(500.0, 300.0);
//! let zoomed = zoom_box(hubei, lon, lat, 2.0);
//! let (x, y) = Viewport::fit(zoomed, 1600.0, 900.0, 20.0).to_screen(lon, lat);
//! assert!((x - 500.0).abs() < 1e-6 && (y - 300.0).abs() < 1e-6);
//! let moved = pan_box(hubei, 100.0, 0.0, vp.scale());
//! assert!(moved[0] < hubei[0]); // dragging right shows what is west
//! ```

use crate::Mercator;

fn to_m(b: [f64; 4]) -> [f64; 4] {
    let (ax, ay) = Mercator::forward(b[0], b[1]);
    let (bx, by) = Mercator::forward(b[2], b[3]);
    [ax, ay, bx, by]
}

fn to_deg(m: [f64; 4]) -> [f64; 4] {
    let (a0, a1) = Mercator::inverse(m[0], m[1]);
    let (b0, b1) = Mercator::inverse(m[2], m[3]);
    [a0, a1, b0, b1]
}

/// The box zoomed by `factor` (> 1 in, < 1 out) about `(lon, lat)`.
pub fn zoom_box(bbox: [f64; 4], lon: f64, lat: f64, factor: f64) -> [f64; 4] {
    if !(factor.is_finite() && factor > 0.0) {
        return bbox;
    }
    let m = to_m(bbox);
    let (cx, cy) = Mercator::forward(lon, lat);
    to_deg([
        cx + (m[0] - cx) / factor,
        cy + (m[1] - cy) / factor,
        cx + (m[2] - cx) / factor,
        cy + (m[3] - cy) / factor,
    ])
}

/// The box after dragging the map by `(dx, dy)` screen pixels at `scale` pixels per metre: the
/// content follows the pointer.
pub fn pan_box(bbox: [f64; 4], dx: f64, dy: f64, scale: f64) -> [f64; 4] {
    if !(scale.is_finite() && scale > 0.0) {
        return bbox;
    }
    let m = to_m(bbox);
    let (mx, my) = (-dx / scale, dy / scale);
    to_deg([m[0] + mx, m[1] + my, m[2] + mx, m[3] + my])
}

/// The box kept within limits: its larger side between `min_span` and `max_span` times the
/// larger side of `limit` (zoom limits), and its centre inside `limit` (the map cannot be
/// dragged away).
pub fn clamp_box(bbox: [f64; 4], limit: [f64; 4], min_span: f64, max_span: f64) -> [f64; 4] {
    let (m, l) = (to_m(bbox), to_m(limit));
    let side = |b: [f64; 4]| (b[2] - b[0]).max(b[3] - b[1]);
    let (s, ls) = (side(m), side(l));
    let mut cx = (m[0] + m[2]) / 2.0;
    let mut cy = (m[1] + m[3]) / 2.0;
    let target = s.clamp(ls * min_span, ls * max_span);
    let k = if s > 0.0 { target / s } else { 1.0 };
    cx = cx.clamp(l[0], l[2]);
    cy = cy.clamp(l[1], l[3]);
    let (hw, hh) = ((m[2] - m[0]) / 2.0 * k, (m[3] - m[1]) / 2.0 * k);
    to_deg([cx - hw, cy - hh, cx + hw, cy + hh])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Viewport;

    const HUBEI: [f64; 4] = [108.36, 29.03, 116.13, 33.28];

    fn close(a: [f64; 4], b: [f64; 4]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn the_point_under_the_cursor_stays_under_it() {
        for (w, h) in [(1600.0, 900.0), (7680.0, 2160.0), (900.0, 1600.0)] {
            let vp = Viewport::fit(HUBEI, w, h, 24.0);
            for (px, py) in [(10.0, 10.0), (w / 2.0, h / 2.0), (w * 0.8, h * 0.3)] {
                let (lon, lat) = vp.to_lonlat(px, py);
                for k in [1.25, 0.8, 4.0] {
                    let z = zoom_box(HUBEI, lon, lat, k);
                    let (x, y) = Viewport::fit(z, w, h, 24.0).to_screen(lon, lat);
                    assert!((x - px).abs() < 1e-6 && (y - py).abs() < 1e-6, "{w}×{h} k={k}");
                    let s = Viewport::fit(z, w, h, 24.0).scale() / vp.scale();
                    assert!((s - k).abs() < 1e-9);
                }
            }
        }
    }

    #[test]
    fn zoom_in_then_out_returns_and_pan_moves_by_the_drag() {
        let z = zoom_box(zoom_box(HUBEI, 112.0, 30.5, 3.0), 112.0, 30.5, 1.0 / 3.0);
        assert!(close(z, HUBEI));
        let vp = Viewport::fit(HUBEI, 1600.0, 900.0, 24.0);
        let p = vp.to_screen(114.3, 30.6); // 武汉
        let moved = pan_box(HUBEI, 120.0, -45.0, vp.scale());
        let q = Viewport::fit(moved, 1600.0, 900.0, 24.0).to_screen(114.3, 30.6);
        assert!((q.0 - p.0 - 120.0).abs() < 1e-6 && (q.1 - p.1 + 45.0).abs() < 1e-6, "{p:?} → {q:?}");
        assert!(close(pan_box(HUBEI, 1.0, 1.0, 0.0), HUBEI));
        assert!(close(zoom_box(HUBEI, 1.0, 1.0, f64::NAN), HUBEI));
    }

    #[test]
    fn clamping_keeps_zoom_limits_and_the_centre_inside() {
        // Far out: back to twice the region.
        let out = clamp_box(zoom_box(HUBEI, 112.0, 31.0, 0.01), HUBEI, 0.02, 2.0);
        let side = |b: [f64; 4]| {
            let m = to_m(b);
            (m[2] - m[0]).max(m[3] - m[1])
        };
        assert!((side(out) / side(HUBEI) - 2.0).abs() < 1e-9);
        // Far in: no closer than 2 % of it.
        let inn = clamp_box(zoom_box(HUBEI, 112.0, 31.0, 1e4), HUBEI, 0.02, 2.0);
        assert!((side(inn) / side(HUBEI) - 0.02).abs() < 1e-9);
        // Dragged away to the east: the centre comes back to the edge of the region.
        let away = clamp_box([130.0, 30.0, 131.0, 31.0], HUBEI, 0.02, 2.0);
        assert!(((away[0] + away[2]) / 2.0 - HUBEI[2]).abs() < 1e-9);
        // A box inside the limits is left alone.
        let fine = zoom_box(HUBEI, 112.0, 31.0, 2.0);
        assert!(close(clamp_box(fine, HUBEI, 0.02, 2.0), fine));
    }
}
