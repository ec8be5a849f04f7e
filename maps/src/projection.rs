//! From WGS84 to screen pixels.
//!
//! Algorithm: spherical Web Mercator (EPSG:3857 formulas on a sphere of radius 6 378 137 m), then an
//! affine [`Viewport`] transform (uniform scale plus offset, y pointing down). Mercator keeps
//! shapes (conformal), which matters for a province-sized map read at a glance; over Hubei's
//! 29°–33.3° N the scale varies by about 9 %, which is not visible in outlines.
//!
//! Caveats: latitudes are clamped to ±85.051 129°, the Web Mercator limit. Distances on the
//! projected plane are not ground distances (use `geo`'s geodesic measures for those).
//!
//! ```
//! use yiping_maps::{Mercator, Viewport};
//! // Fit Hubei's bounding box into a 1920×1080 canvas with a 20 px margin.
//! let vp = Viewport::fit([108.36, 29.03, 116.13, 33.28], 1920.0, 1080.0, 20.0);
//! let (x, y) = vp.to_screen(114.30, 30.59); // Wuhan
//! let (lon, lat) = vp.to_lonlat(x, y);
//! assert!((lon - 114.30).abs() < 1e-9 && (lat - 30.59).abs() < 1e-9);
//! ```

const EARTH_RADIUS_M: f64 = 6_378_137.0;
const MAX_LAT: f64 = 85.051_128_779_806_59;

/// Spherical Web Mercator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mercator;

impl Mercator {
    /// Project `(lon, lat)` in degrees to metres `(x, y)`, y pointing north.
    pub fn forward(lon: f64, lat: f64) -> (f64, f64) {
        let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
        let x = EARTH_RADIUS_M * lon.to_radians();
        let y = EARTH_RADIUS_M * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln();
        (x, y)
    }

    /// Inverse of [`Mercator::forward`].
    pub fn inverse(x: f64, y: f64) -> (f64, f64) {
        let lon = (x / EARTH_RADIUS_M).to_degrees();
        let lat = (2.0 * (y / EARTH_RADIUS_M).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
        (lon, lat)
    }
}

/// A mapping from Mercator metres to screen pixels: `px = (x - x0) * scale + ox`,
/// `py = (y0 - y) * scale + oy` (screen y points down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    x0: f64,
    y0: f64,
    scale: f64,
    ox: f64,
    oy: f64,
}

impl Viewport {
    /// The viewport that shows `bbox = [min_lon, min_lat, max_lon, max_lat]` as large as possible,
    /// centred, inside a `width × height` pixel rectangle with `margin` pixels on every side.
    pub fn fit(bbox: [f64; 4], width: f64, height: f64, margin: f64) -> Viewport {
        let (ax, ay) = Mercator::forward(bbox[0], bbox[1]);
        let (bx, by) = Mercator::forward(bbox[2], bbox[3]);
        let (w, h) = ((bx - ax).max(f64::EPSILON), (by - ay).max(f64::EPSILON));
        let avail_w = (width - 2.0 * margin).max(1.0);
        let avail_h = (height - 2.0 * margin).max(1.0);
        let scale = (avail_w / w).min(avail_h / h);
        let ox = (width - w * scale) / 2.0;
        let oy = (height - h * scale) / 2.0;
        Viewport { x0: ax, y0: by, scale, ox, oy }
    }

    /// Pixels per Mercator metre.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Screen position of `(lon, lat)`.
    pub fn to_screen(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (x, y) = Mercator::forward(lon, lat);
        ((x - self.x0) * self.scale + self.ox, (self.y0 - y) * self.scale + self.oy)
    }

    /// `(lon, lat)` under the screen position `(px, py)`.
    pub fn to_lonlat(&self, px: f64, py: f64) -> (f64, f64) {
        let x = (px - self.ox) / self.scale + self.x0;
        let y = self.y0 - (py - self.oy) / self.scale;
        Mercator::inverse(x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mercator_round_trips_over_hubei_and_beyond() {
        for lon in [-179.5, -30.0, 0.0, 108.36, 111.28, 114.3, 116.13, 179.5] {
            for lat in [-80.0, -10.0, 0.0, 29.03, 30.59, 33.28, 80.0] {
                let (x, y) = Mercator::forward(lon, lat);
                let (lon2, lat2) = Mercator::inverse(x, y);
                assert!((lon - lon2).abs() < 1e-9, "lon {lon} -> {lon2}");
                assert!((lat - lat2).abs() < 1e-9, "lat {lat} -> {lat2}");
            }
        }
    }

    #[test]
    fn mercator_matches_epsg3857_reference() {
        // Reference values computed by PROJ (pyproj 3, EPSG:4326 -> EPSG:3857, always_xy).
        for (lon, lat, rx, ry) in [
            (114.3, 30.59, 12_723_817.797_7, 3_579_616.530_4),
            (108.36, 29.03, 12_062_580.022_4, 3_379_464.917_1),
        ] {
            let (x, y) = Mercator::forward(lon, lat);
            assert!((x - rx).abs() < 0.001 && (y - ry).abs() < 0.001, "({lon}, {lat}) -> ({x}, {y})");
        }
    }

    #[test]
    fn fit_centres_the_box_and_keeps_the_margin() {
        let bbox = [108.36, 29.03, 116.13, 33.28];
        for (w, h) in [(1920.0, 1080.0), (7680.0, 2160.0), (1080.0, 1920.0)] {
            let vp = Viewport::fit(bbox, w, h, 20.0);
            let (x0, y1) = vp.to_screen(bbox[0], bbox[1]);
            let (x1, y0) = vp.to_screen(bbox[2], bbox[3]);
            assert!(x0 >= 19.999 && y0 >= 19.999 && x1 <= w - 19.999 && y1 <= h - 19.999);
            // Centred: equal slack left/right and top/bottom.
            assert!((x0 - (w - x1)).abs() < 1e-6 && (y0 - (h - y1)).abs() < 1e-6);
            // Touches the margin on at least one axis.
            assert!((x0 - 20.0).abs() < 1e-6 || (y0 - 20.0).abs() < 1e-6);
            let (lon, lat) = vp.to_lonlat(w / 2.0, h / 2.0);
            assert!(lon > bbox[0] && lon < bbox[2] && lat > bbox[1] && lat < bbox[3]);
        }
    }
}
