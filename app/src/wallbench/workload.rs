//! The fixed wall workload of `../shared/WALLBENCH.md`, exactly as the peer computes it: the same
//! generator (mulberry32), the same draws in the same order, so yiping's wall and the ECharts
//! wall show the same numbers for the same seed.
//!
//! This is **sample data** for a benchmark; the page that shows it says so.
//!
//! ```
//! use yiping_app::wallbench::workload::Workload;
//! let mut w = Workload::new(1, 103);
//! assert_eq!(w.counties.len(), 103);
//! w.tick();
//! assert_eq!(w.ticks, 1);
//! ```

use std::collections::VecDeque;

/// mulberry32, bit for bit as the JavaScript in the spec (`Math.imul` is a wrapping `u32`
/// multiply, `>>>` a logical shift, `| 0` a wrap to 32 bits).
#[derive(Debug, Clone)]
pub struct Mulberry32(u32);

impl Mulberry32 {
    /// The generator seeded with `seed`.
    pub fn new(seed: u32) -> Mulberry32 {
        Mulberry32(seed)
    }

    /// The next value in [0, 1).
    pub fn draw(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x6D2B_79F5);
        let a = self.0;
        let mut t = (a ^ (a >> 15)).wrapping_mul(1 | a);
        t = t.wrapping_add((t ^ (t >> 7)).wrapping_mul(61 | t)) ^ t;
        f64::from(t ^ (t >> 14)) / 4_294_967_296.0
    }
}

/// Markers: lon/lat box and count.
pub const MARKERS: usize = 1000;
const LON: (f64, f64) = (108.4, 116.1);
const LAT: (f64, f64) = (29.1, 33.2);
/// Line series, and points each holds.
pub const LINES: usize = 4;
/// Points each line holds (a sliding window).
pub const LINE_POINTS: usize = 300;
/// The first line point's time, epoch ms (2024-06-01 08:00 Beijing time).
pub const T0_MS: f64 = 1_717_200_000_000.0;
/// Bar series (each one bar per prefecture).
pub const BARS: usize = 4;
/// Prefectures per bar series.
pub const PREFECTURES: usize = 17;
/// Rings and their slices.
pub const RINGS: usize = 2;
/// Slices per ring.
pub const SLICES: usize = 6;
/// Gauges.
pub const GAUGES: usize = 2;

/// How a marker's value is classed: below 70 normal, 70 to 90 warning, 90 and above alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Below 70.
    Normal,
    /// 70 to 90.
    Warning,
    /// 90 and above.
    Alarm,
}

impl Level {
    /// The class of `val`.
    pub fn of(val: f64) -> Level {
        if val >= 90.0 {
            Level::Alarm
        } else if val >= 70.0 {
            Level::Warning
        } else {
            Level::Normal
        }
    }
}

/// One marker: position and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Value, 0–100.
    pub val: f64,
}

/// The whole workload's state.
#[derive(Debug, Clone)]
pub struct Workload {
    rng: Mulberry32,
    /// One value per county, in GeoJSON feature order.
    pub counties: Vec<f64>,
    /// The markers.
    pub markers: Vec<Point>,
    /// Each line's points: (epoch ms, value), oldest first.
    pub lines: [VecDeque<(f64, f64)>; LINES],
    /// Each bar series' value per prefecture (adcode order).
    pub bars: [[f64; PREFECTURES]; BARS],
    /// Each ring's slice values.
    pub rings: [[f64; SLICES]; RINGS],
    /// Each gauge's value.
    pub gauges: [f64; GAUGES],
    /// Ticks applied.
    pub ticks: u64,
}

fn clamp(x: f64, (lo, hi): (f64, f64)) -> f64 {
    x.clamp(lo, hi)
}

impl Workload {
    /// The initial state for `seed` and `counties` counties, drawn in the spec's order.
    pub fn new(seed: u32, counties: usize) -> Workload {
        let mut rng = Mulberry32::new(seed);
        let r = &mut rng;
        let counties = (0..counties).map(|_| 100.0 * r.draw()).collect();
        let markers = (0..MARKERS)
            .map(|_| {
                let lon = LON.0 + (LON.1 - LON.0) * r.draw();
                let lat = LAT.0 + (LAT.1 - LAT.0) * r.draw();
                Point { lon, lat, val: 100.0 * r.draw() }
            })
            .collect();
        let lines = std::array::from_fn(|_| {
            let mut v = 50.0;
            (0..LINE_POINTS)
                .map(|k| {
                    v = clamp(v + (r.draw() - 0.5) * 10.0, (0.0, 100.0));
                    (T0_MS + k as f64 * 1000.0, v)
                })
                .collect()
        });
        let bars = std::array::from_fn(|_| std::array::from_fn(|_| 100.0 * r.draw()));
        let rings = std::array::from_fn(|_| std::array::from_fn(|_| 10.0 + 90.0 * r.draw()));
        let gauges = std::array::from_fn(|_| 100.0 * r.draw());
        Workload { rng, counties, markers, lines, bars, rings, gauges, ticks: 0 }
    }

    /// One tick, drawn in the spec's order.
    pub fn tick(&mut self) {
        let r = &mut self.rng;
        for v in &mut self.counties {
            *v = clamp(*v + (r.draw() - 0.5) * 20.0, (0.0, 100.0));
        }
        for m in &mut self.markers {
            m.lon = clamp(m.lon + (r.draw() - 0.5) * 0.1, LON);
            m.lat = clamp(m.lat + (r.draw() - 0.5) * 0.1, LAT);
            m.val = clamp(m.val + (r.draw() - 0.5) * 20.0, (0.0, 100.0));
        }
        for line in &mut self.lines {
            let (t, v) = line.back().copied().unwrap_or((T0_MS, 50.0));
            line.push_back((t + 1000.0, clamp(v + (r.draw() - 0.5) * 10.0, (0.0, 100.0))));
            line.pop_front();
        }
        for bars in &mut self.bars {
            bars.iter_mut().for_each(|b| *b = 100.0 * r.draw());
        }
        for ring in &mut self.rings {
            ring.iter_mut().for_each(|s| *s = 10.0 + 90.0 * r.draw());
        }
        self.gauges.iter_mut().for_each(|g| *g = 100.0 * r.draw());
        self.ticks += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by node running the peer's draws (`../shared/peers/echarts/
    // wall.js`: `initState`, `stepState`; a box is drawn as `min + (max - min)·r()`, which is
    // not bit for bit the spec's `108.4 + 7.7·r()`) for seed 1.
    #[test]
    fn the_generator_is_the_specs_bit_for_bit() {
        let mut r = Mulberry32::new(1);
        assert_eq!(
            [r.draw(), r.draw(), r.draw()],
            [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]
        );
    }

    #[test]
    fn the_state_is_the_peers_after_the_first_draws_and_after_three_ticks() {
        let mut w = Workload::new(1, 103);
        assert_eq!(w.counties[0], 62.707394058816135);
        assert_eq!(
            w.markers[999],
            Point { lon: 109.75508639572654, lat: 32.50738880927675, val: 4.690320231020451 }
        );
        assert_eq!(w.lines[3][299], (1_717_200_299_000.0, 90.61273379251361));
        assert_eq!(w.bars[3][16], 65.55799364577979);
        assert_eq!(w.rings[1][5], 66.75515999551862);
        assert_eq!(w.gauges[1], 20.083627616986632);
        for _ in 0..3 {
            w.tick();
        }
        assert_eq!(w.counties[102], 38.430876126512885);
        assert_eq!(
            w.markers[0],
            Point { lon: 112.39950907400345, lat: 29.97814078100491, val: 75.63651826232672 }
        );
        assert_eq!(w.lines[0].len(), LINE_POINTS);
        assert_eq!(w.lines[0][299], (1_717_200_302_000.0, 64.33082821778953));
        assert_eq!(w.lines[0][0], (1_717_200_003_000.0, 53.75236456748098));
        assert_eq!(w.bars[0][0], 39.111650455743074);
        assert_eq!(w.rings[0][0], 87.00235158437863);
        assert_eq!(w.gauges[1], 60.0377500988543);
        assert_eq!(w.ticks, 3);
    }

    #[test]
    fn markers_are_classed_at_70_and_90() {
        assert_eq!(Level::of(69.99), Level::Normal);
        assert_eq!(Level::of(70.0), Level::Warning);
        assert_eq!(Level::of(89.99), Level::Warning);
        assert_eq!(Level::of(90.0), Level::Alarm);
    }
}
