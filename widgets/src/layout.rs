//! The geometry and state behind the charts, in plain Rust so it is tested natively: what a touch
//! reached ([`Hit`], [`Pick`]), share rounding, ring sectors, the animated order of a ranking, a
//! sliding time window, and change against a previous period.
//!
//! Coordinates are canvas device pixels, y down; angles are radians clockwise from 12 o'clock.

use std::collections::{BTreeMap, VecDeque};
use std::f64::consts::TAU;

/// What a touch on a widget reached: enough for a screen to open the records behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    /// The widget kind, e.g. `"ranking"`.
    pub widget: &'static str,
    /// The series or group the figure belongs to (e.g. `"本期"`, a river, a stage); may be empty.
    pub series: String,
    /// The stable key of what was touched: an adcode, a class label, a time in epoch ms, an id.
    pub key: String,
    /// Its human label, as drawn.
    pub label: String,
    /// The value drawn for it.
    pub value: f64,
}

/// A touchable area of a drawn chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Area {
    /// An axis-aligned rectangle.
    Rect {
        /// Left edge.
        x: f64,
        /// Top edge.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
    },
    /// A ring sector around (`cx`, `cy`) between radii `r0` and `r1`, angles `a0` to `a1`.
    Sector {
        /// Centre x.
        cx: f64,
        /// Centre y.
        cy: f64,
        /// Inner radius.
        r0: f64,
        /// Outer radius.
        r1: f64,
        /// Start angle.
        a0: f64,
        /// End angle (> `a0`).
        a1: f64,
    },
}

impl Area {
    /// Whether the point is inside (edges included).
    pub fn contains(&self, px: f64, py: f64) -> bool {
        match *self {
            Area::Rect { x, y, w, h } => px >= x && px <= x + w && py >= y && py <= y + h,
            Area::Sector { cx, cy, r0, r1, a0, a1 } => {
                let (dx, dy) = (px - cx, py - cy);
                let r = dx.hypot(dy);
                if r < r0 || r > r1 {
                    return false;
                }
                let a = angle_of(dx, dy);
                // The sector may start before 0 (e.g. a gauge from -120°): compare on both turns.
                (a >= a0 && a <= a1) || (a - TAU >= a0 && a - TAU <= a1) || (a + TAU >= a0 && a + TAU <= a1)
            }
        }
    }
}

/// The clockwise angle from 12 o'clock of the vector (dx, dy) in screen coordinates, in [0, 2π).
pub fn angle_of(dx: f64, dy: f64) -> f64 {
    let a = dx.atan2(-dy);
    if a < 0.0 { a + TAU } else { a }
}

/// The screen point at `angle` (clockwise from 12 o'clock) and radius `r` around (cx, cy).
pub fn polar(cx: f64, cy: f64, r: f64, angle: f64) -> (f64, f64) {
    (cx + r * angle.sin(), cy - r * angle.cos())
}

/// A touchable area and what it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Where.
    pub area: Area,
    /// What.
    pub pick: Pick,
}

/// The pick under a point: the last drawn area wins, as it is on top.
pub fn hit_at(hits: &[Hit], x: f64, y: f64) -> Option<&Pick> {
    hits.iter().rev().find(|h| h.area.contains(x, y)).map(|h| &h.pick)
}

/// Shares of `counts` in percent, rounded to `decimals`, that add up to exactly 100 (largest
/// remainder method, as statistical bulletins do), so a stacked bar never shows 99.9 % or 100.1 %.
/// All zero (or empty) gives all zero.
pub fn shares_percent(counts: &[f64], decimals: u32) -> Vec<f64> {
    let total: f64 = counts.iter().filter(|c| c.is_finite() && **c > 0.0).sum();
    if total <= 0.0 {
        return vec![0.0; counts.len()];
    }
    let unit = 10f64.powi(decimals as i32);
    let exact: Vec<f64> = counts
        .iter()
        .map(|c| if c.is_finite() && *c > 0.0 { c / total * 100.0 * unit } else { 0.0 })
        .collect();
    let mut units: Vec<f64> = exact.iter().map(|e| e.floor()).collect();
    let missing = (100.0 * unit - units.iter().sum::<f64>()).round() as usize;
    let mut order: Vec<usize> = (0..counts.len()).filter(|i| exact[*i] > 0.0).collect();
    // Largest remainder first; ties to the larger share, then to the earlier category.
    order.sort_by(|a, b| {
        let (ra, rb) = (exact[*a] - units[*a], exact[*b] - units[*b]);
        rb.total_cmp(&ra).then(exact[*b].total_cmp(&exact[*a])).then(a.cmp(b))
    });
    for i in order.into_iter().cycle().take(missing) {
        units[i] += 1.0;
    }
    units.into_iter().map(|u| u / unit).collect()
}

/// Sectors of a ring for `values`, clockwise from 12 o'clock, as (start, end) angles; negative or
/// non-finite values get an empty sector.
pub fn ring_sectors(values: &[f64]) -> Vec<(f64, f64)> {
    let total: f64 = values.iter().filter(|v| v.is_finite() && **v > 0.0).sum();
    let mut a = 0.0;
    values
        .iter()
        .map(|v| {
            let share = if total > 0.0 && v.is_finite() && *v > 0.0 { v / total } else { 0.0 };
            let start = a;
            a += share * TAU;
            (start, a)
        })
        .collect()
}

/// Smooth start and stop for animations: t in [0, 1] → [0, 1].
pub fn ease(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A number that moves smoothly to each new target over `duration_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tween {
    from: f64,
    to: f64,
    start_ms: f64,
    duration_ms: f64,
}

impl Tween {
    /// A tween resting at `value`.
    pub fn at(value: f64, duration_ms: f64) -> Tween {
        Tween { from: value, to: value, start_ms: f64::NEG_INFINITY, duration_ms }
    }

    /// The value at `now_ms`.
    pub fn value(&self, now_ms: f64) -> f64 {
        if self.duration_ms <= 0.0 || now_ms - self.start_ms >= self.duration_ms {
            return self.to;
        }
        let e = ease((now_ms - self.start_ms) / self.duration_ms);
        self.from + (self.to - self.from) * e
    }

    /// Whether it is still moving at `now_ms`.
    pub fn moving(&self, now_ms: f64) -> bool {
        self.from != self.to && now_ms - self.start_ms < self.duration_ms
    }

    /// Head for `to` from wherever it is at `now_ms` (no jump when retargeted mid-way).
    pub fn retarget(&mut self, to: f64, now_ms: f64) {
        if to == self.to {
            return;
        }
        self.from = self.value(now_ms);
        self.to = to;
        self.start_ms = now_ms;
    }

    /// The target.
    pub fn target(&self) -> f64 {
        self.to
    }
}

/// One row of a ranking as drawn at a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRow {
    /// Stable key (e.g. adcode).
    pub key: String,
    /// Label drawn.
    pub label: String,
    /// The true value (what the label prints).
    pub value: f64,
    /// The bar length's value at this moment (animating towards `value`).
    pub shown_value: f64,
    /// The rank at this moment, fractional while rows swap places (0 is the top).
    pub shown_rank: f64,
    /// The rank it is heading to.
    pub rank: usize,
}

/// The rows of a ranking bar chart, which slide to their new places when the order changes.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    rows: BTreeMap<String, (String, f64, Tween, Tween)>,
    duration_ms: f64,
}

impl Ranking {
    /// An empty ranking whose rows take `duration_ms` to move.
    pub fn new(duration_ms: f64) -> Ranking {
        Ranking { rows: BTreeMap::new(), duration_ms }
    }

    /// Set the items (key, label, value) at `now_ms`: they are ranked by value, largest first
    /// (ties by key, so the order is stable); rows not in `items` leave.
    pub fn set(&mut self, items: &[(String, String, f64)], now_ms: f64) {
        let mut order: Vec<&(String, String, f64)> = items.iter().collect();
        order.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        self.rows.retain(|k, _| items.iter().any(|i| &i.0 == k));
        let d = self.duration_ms;
        for (rank, (key, label, value)) in order.into_iter().enumerate() {
            let r = rank as f64;
            match self.rows.get_mut(key) {
                Some(row) => {
                    row.0.clone_from(label);
                    row.1 = *value;
                    row.2.retarget(r, now_ms);
                    row.3.retarget(*value, now_ms);
                }
                None => {
                    self.rows
                        .insert(key.clone(), (label.clone(), *value, Tween::at(r, d), Tween::at(*value, d)));
                }
            }
        }
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows at `now_ms`, in target order, and whether anything is still moving.
    pub fn frame(&self, now_ms: f64) -> (Vec<RankRow>, bool) {
        let mut moving = false;
        let mut rows: Vec<RankRow> = self
            .rows
            .iter()
            .map(|(k, (label, value, rank, shown))| {
                moving |= rank.moving(now_ms) || shown.moving(now_ms);
                RankRow {
                    key: k.clone(),
                    label: label.clone(),
                    value: *value,
                    shown_value: shown.value(now_ms),
                    shown_rank: rank.value(now_ms),
                    rank: rank.target() as usize,
                }
            })
            .collect();
        rows.sort_by_key(|r| r.rank);
        (rows, moving)
    }
}

/// A sliding window of timed values: appends in time order, forgets what falls out of the window,
/// and never holds more than `capacity` points (so a wall left for weeks stays the same size).
#[derive(Debug, Clone)]
pub struct Window {
    points: VecDeque<(f64, f64)>,
    span_ms: f64,
    capacity: usize,
}

impl Window {
    /// A window of `span_ms` holding at most `capacity` points.
    pub fn new(span_ms: f64, capacity: usize) -> Window {
        Window { points: VecDeque::with_capacity(capacity.min(4096)), span_ms, capacity: capacity.max(2) }
    }

    /// Append a value at `t_ms`. A time earlier than the last point replaces nothing and is
    /// refused (returns false): a series is drawn in time order. The same time replaces the last.
    pub fn push(&mut self, t_ms: f64, value: f64) -> bool {
        if !t_ms.is_finite() || !value.is_finite() {
            return false;
        }
        match self.points.back_mut() {
            Some(last) if t_ms < last.0 => return false,
            Some(last) if t_ms == last.0 => last.1 = value,
            _ => self.points.push_back((t_ms, value)),
        }
        while self.points.len() > self.capacity {
            self.points.pop_front();
        }
        while let (Some(first), Some(last)) = (self.points.front(), self.points.back()) {
            if last.0 - first.0 > self.span_ms {
                self.points.pop_front();
            } else {
                break;
            }
        }
        true
    }

    /// The points, oldest first.
    pub fn points(&self) -> impl ExactSizeIterator<Item = &(f64, f64)> + '_ {
        self.points.iter()
    }

    /// Number of points held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The span of time kept, ms.
    pub fn span_ms(&self) -> f64 {
        self.span_ms
    }

    /// The window resampled to `steps` equally spaced times from its first to its last point,
    /// each taking the last value at or before it (carried forward), for models that assume a
    /// regular period such as [`crate::forecast::holt`]. Returns the step in ms and the samples;
    /// `None` with fewer than two points or no time between them.
    pub fn resample(&self, steps: usize) -> Option<(f64, Vec<(f64, f64)>)> {
        let (first, last) = (self.points.front()?, self.points.back()?);
        if steps < 2 || last.0 <= first.0 {
            return None;
        }
        let step = (last.0 - first.0) / (steps - 1) as f64;
        let mut out = Vec::with_capacity(steps);
        let mut it = self.points.iter().peekable();
        let mut current = first.1;
        for i in 0..steps {
            // The last step is exactly the last point's time (no rounding drift).
            let t = if i + 1 == steps { last.0 } else { first.0 + step * i as f64 };
            while let Some(p) = it.peek() {
                if p.0 <= t {
                    current = p.1;
                    it.next();
                } else {
                    break;
                }
            }
            out.push((t, current));
        }
        Some((step, out))
    }

    /// The values only, oldest first.
    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.1).collect()
    }
}

/// The index of the point whose x is nearest `x` in ascending `xs`.
pub fn nearest(xs: &[f64], x: f64) -> Option<usize> {
    if xs.is_empty() || !x.is_finite() {
        return None;
    }
    let i = xs.partition_point(|v| *v < x);
    if i == 0 {
        return Some(0);
    }
    if i == xs.len() {
        return Some(xs.len() - 1);
    }
    Some(if x - xs[i - 1] <= xs[i] - x { i - 1 } else { i })
}

/// The change of a figure against a previous period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// current − previous.
    pub delta: f64,
    /// The relative change in percent; `None` when the previous value is zero.
    pub percent: Option<f64>,
}

/// The change from `previous` to `current`; `None` when either is missing or not a number.
pub fn change(current: Option<f64>, previous: Option<f64>) -> Option<Change> {
    let (c, p) = (current?, previous?);
    if !c.is_finite() || !p.is_finite() {
        return None;
    }
    Some(Change { delta: c - p, percent: (p != 0.0).then(|| (c - p) / p.abs() * 100.0) })
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;

    fn pick(key: &str) -> Pick {
        Pick { widget: "t", series: String::new(), key: key.into(), label: key.into(), value: 0.0 }
    }

    #[test]
    fn hits_rectangles_and_sectors_topmost_first() {
        let hits = vec![
            Hit { area: Area::Rect { x: 0.0, y: 0.0, w: 10.0, h: 10.0 }, pick: pick("a") },
            Hit { area: Area::Rect { x: 5.0, y: 5.0, w: 10.0, h: 10.0 }, pick: pick("b") },
        ];
        assert_eq!(hit_at(&hits, 2.0, 2.0).map(|p| p.key.as_str()), Some("a"));
        assert_eq!(hit_at(&hits, 7.0, 7.0).map(|p| p.key.as_str()), Some("b"));
        assert_eq!(hit_at(&hits, 20.0, 2.0), None);
        // A quarter ring from 12 to 3 o'clock, radii 5..10 around (0, 0).
        let s = Area::Sector { cx: 0.0, cy: 0.0, r0: 5.0, r1: 10.0, a0: 0.0, a1: PI / 2.0 };
        assert!(s.contains(5.0, -5.0)); // up-right
        assert!(!s.contains(5.0, 5.0)); // down-right
        assert!(!s.contains(1.0, -1.0)); // in the hole
        assert!(!s.contains(9.0, -9.0)); // beyond the ring
        // A gauge-like sector from -120° to +120° through 12 o'clock.
        let g = Area::Sector { cx: 0.0, cy: 0.0, r0: 5.0, r1: 10.0, a0: -2.0 * PI / 3.0, a1: 2.0 * PI / 3.0 };
        assert!(g.contains(-6.0, -1.0));
        assert!(g.contains(0.0, -7.0));
        assert!(!g.contains(0.0, 7.0));
    }

    #[test]
    fn polar_and_angle_agree() {
        for a in [0.0, 0.3, PI / 2.0, PI, 4.0, 6.0] {
            let (x, y) = polar(10.0, 20.0, 5.0, a);
            assert!((angle_of(x - 10.0, y - 20.0) - a).abs() < 1e-9, "{a}");
        }
        assert_eq!(polar(0.0, 0.0, 1.0, 0.0), (0.0, -1.0)); // 12 o'clock is up
    }

    #[test]
    fn shares_add_up_to_exactly_one_hundred() {
        // 1/3 each: 33.4 + 33.3 + 33.3.
        assert_eq!(shares_percent(&[1.0, 1.0, 1.0], 1), vec![33.4, 33.3, 33.3]);
        let s = shares_percent(&[7.0, 5.0, 3.0, 1.0, 1.0, 0.0], 1);
        assert!((s.iter().sum::<f64>() - 100.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s[5], 0.0);
        assert_eq!(shares_percent(&[0.0, 0.0], 1), vec![0.0, 0.0]);
        assert_eq!(shares_percent(&[2.0, f64::NAN, 2.0], 0), vec![50.0, 0.0, 50.0]);
        // 14 sections: 9 class II, 4 class III, 1 class IV, in whole percent.
        assert_eq!(shares_percent(&[0.0, 9.0, 4.0, 1.0, 0.0, 0.0], 0), vec![0.0, 64.0, 29.0, 7.0, 0.0, 0.0]);
    }

    #[test]
    fn ring_sectors_cover_the_circle_in_order() {
        let s = ring_sectors(&[1.0, 0.0, 3.0, -2.0]);
        assert_eq!(s[0], (0.0, TAU / 4.0));
        assert_eq!(s[1].0, s[1].1);
        assert!((s[2].1 - TAU).abs() < 1e-12);
        assert_eq!(s[3].0, s[3].1);
        assert!(ring_sectors(&[0.0]).iter().all(|(a, b)| a == b));
    }

    #[test]
    fn tween_moves_smoothly_and_retargets_without_jumps() {
        let mut t = Tween::at(0.0, 100.0);
        assert_eq!(t.value(0.0), 0.0);
        t.retarget(10.0, 1000.0);
        assert_eq!(t.value(1000.0), 0.0);
        assert_eq!(t.value(1050.0), 5.0);
        assert!(t.moving(1050.0));
        let mid = t.value(1075.0);
        t.retarget(0.0, 1075.0);
        assert_eq!(t.value(1075.0), mid);
        assert_eq!(t.value(1175.0), 0.0);
        assert!(!t.moving(1175.0));
    }

    #[test]
    fn ranking_orders_by_value_and_slides_rows() {
        let item = |k: &str, v: f64| (k.to_string(), format!("L{k}"), v);
        let mut r = Ranking::new(500.0);
        r.set(&[item("a", 1.0), item("b", 3.0), item("c", 2.0)], 0.0);
        let (rows, moving) = r.frame(0.0);
        assert_eq!(rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["b", "c", "a"]);
        assert!(!moving, "the first data does not animate");
        // "a" overtakes both.
        r.set(&[item("a", 9.0), item("b", 3.0), item("c", 2.0)], 1000.0);
        let (rows, moving) = r.frame(1250.0);
        assert!(moving);
        assert_eq!(rows[0].key, "a");
        assert_eq!(rows[0].value, 9.0);
        assert!(rows[0].shown_rank > 0.0 && rows[0].shown_rank < 2.0, "{}", rows[0].shown_rank);
        assert!(rows[0].shown_value > 1.0 && rows[0].shown_value < 9.0);
        let (rows, moving) = r.frame(1500.0);
        assert!(!moving);
        assert_eq!(
            rows.iter().map(|r| (r.key.as_str(), r.shown_rank)).collect::<Vec<_>>(),
            [("a", 0.0), ("b", 1.0), ("c", 2.0)]
        );
        // Ties keep key order; a row that goes away leaves.
        r.set(&[item("c", 3.0), item("b", 3.0)], 2000.0);
        let (rows, _) = r.frame(3000.0);
        assert_eq!(rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    }

    #[test]
    fn window_slides_and_stays_bounded() {
        let mut w = Window::new(10_000.0, 5);
        for i in 0..4 {
            assert!(w.push(f64::from(i) * 1000.0, f64::from(i)));
        }
        assert!(!w.push(500.0, 9.0), "out of order refused");
        assert!(w.push(3000.0, 30.0), "same time replaces the last");
        assert_eq!(w.values(), [0.0, 1.0, 2.0, 30.0]);
        assert!(w.push(20_000.0, 5.0));
        assert_eq!(w.values(), [5.0], "older than the span is forgotten");
        for i in 0..100 {
            w.push(20_001.0 + f64::from(i), 1.0);
        }
        assert_eq!(w.len(), 5, "never more than the capacity");
        assert!(!w.push(f64::NAN, 1.0));
    }

    #[test]
    fn resampling_carries_the_last_value_forward() {
        let mut w = Window::new(1e9, 100);
        for (t, v) in [(0.0, 1.0), (1000.0, 2.0), (1500.0, 3.0), (4000.0, 4.0)] {
            w.push(t, v);
        }
        let (step, s) = w.resample(5).expect("four points over 4 s");
        assert_eq!(step, 1000.0);
        assert_eq!(s, [(0.0, 1.0), (1000.0, 2.0), (2000.0, 3.0), (3000.0, 3.0), (4000.0, 4.0)]);
        let mut one = Window::new(1e9, 10);
        one.push(5.0, 1.0);
        assert!(one.resample(5).is_none());
    }

    #[test]
    fn nearest_point_by_x() {
        let xs = [0.0, 10.0, 20.0];
        assert_eq!(nearest(&xs, -5.0), Some(0));
        assert_eq!(nearest(&xs, 4.0), Some(0));
        assert_eq!(nearest(&xs, 5.0), Some(0));
        assert_eq!(nearest(&xs, 6.0), Some(1));
        assert_eq!(nearest(&xs, 99.0), Some(2));
        assert_eq!(nearest(&[], 1.0), None);
    }

    #[test]
    fn change_against_previous_period() {
        assert_eq!(change(Some(110.0), Some(100.0)), Some(Change { delta: 10.0, percent: Some(10.0) }));
        assert_eq!(change(Some(90.0), Some(-100.0)).and_then(|c| c.percent), Some(190.0));
        assert_eq!(change(Some(5.0), Some(0.0)), Some(Change { delta: 5.0, percent: None }));
        assert_eq!(change(None, Some(1.0)), None);
        assert_eq!(change(Some(f64::NAN), Some(1.0)), None);
    }
}
