//! How fresh a panel's data is.

/// The freshness of a panel's data at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// No data has arrived yet.
    NoData,
    /// Data is within its expected period.
    Fresh,
    /// Data is older than allowed: the source or the link has stopped.
    Stale,
}

/// Data of time `data_ms` seen at `now_ms` is stale when older than `stale_after_ms` (DESIGN:
/// twice the source's normal period). Clocks may disagree slightly; data "from the future" is
/// fresh.
pub fn freshness(now_ms: f64, data_ms: Option<f64>, stale_after_ms: f64) -> Freshness {
    match data_ms {
        None => Freshness::NoData,
        Some(t) if now_ms - t > stale_after_ms => Freshness::Stale,
        Some(_) => Freshness::Fresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_strictly_after_the_limit() {
        assert_eq!(freshness(10_000.0, None, 2_000.0), Freshness::NoData);
        assert_eq!(freshness(10_000.0, Some(8_000.0), 2_000.0), Freshness::Fresh);
        assert_eq!(freshness(10_000.0, Some(7_999.0), 2_000.0), Freshness::Stale);
        assert_eq!(freshness(10_000.0, Some(12_000.0), 2_000.0), Freshness::Fresh);
    }
}

/// Learns how often a source normally sends (from the times of its data) and says how old its
/// data may get before the panel is stale: twice the normal period (DESIGN §7), where "normal"
/// is the 90th percentile of the recent intervals (robust to bursts, and to the odd slow gap
/// not raising a false alarm), kept between `floor_ms` and `ceil_ms`. Until it has seen a few
/// intervals it uses `default_ms`.
///
/// ```
/// use yiping_widgets::freshness::Period;
/// let mut p = Period::new(60_000.0, 3_000.0, 900_000.0);
/// for i in 0..10 { p.observe(f64::from(i) * 10_000.0); } // every 10 s
/// assert_eq!(p.stale_after_ms(), 20_000.0);
/// ```
#[derive(Debug, Clone)]
pub struct Period {
    intervals: std::collections::VecDeque<f64>,
    last: Option<f64>,
    default_ms: f64,
    floor_ms: f64,
    ceil_ms: f64,
}

/// How many recent intervals [`Period`] remembers.
const PERIOD_WINDOW: usize = 64;

impl Period {
    /// A period that knows nothing yet.
    pub fn new(default_ms: f64, floor_ms: f64, ceil_ms: f64) -> Period {
        Period { intervals: std::collections::VecDeque::new(), last: None, default_ms, floor_ms, ceil_ms }
    }

    /// A new data time (epoch ms); the same or an older time is ignored.
    pub fn observe(&mut self, data_ms: f64) {
        if !data_ms.is_finite() {
            return;
        }
        match self.last {
            Some(l) if data_ms <= l => {}
            Some(l) => {
                if self.intervals.len() == PERIOD_WINDOW {
                    self.intervals.pop_front();
                }
                self.intervals.push_back(data_ms - l);
                self.last = Some(data_ms);
            }
            None => self.last = Some(data_ms),
        }
    }

    /// The normal period, ms: the 90th percentile of recent intervals (`None` before three).
    pub fn normal_ms(&self) -> Option<f64> {
        if self.intervals.len() < 3 {
            return None;
        }
        let mut v: Vec<f64> = self.intervals.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        let i = ((v.len() as f64) * 0.9).ceil() as usize - 1;
        Some(v[i.min(v.len() - 1)])
    }

    /// How old the data may be before it is stale, ms.
    pub fn stale_after_ms(&self) -> f64 {
        self.normal_ms().map_or(self.default_ms, |n| (2.0 * n).clamp(self.floor_ms, self.ceil_ms))
    }
}

#[cfg(test)]
mod period_tests {
    use super::*;

    #[test]
    fn twice_the_normal_period_within_limits() {
        let mut p = Period::new(60_000.0, 3_000.0, 900_000.0);
        assert_eq!(p.stale_after_ms(), 60_000.0, "nothing learnt yet");
        for t in [0.0, 1_000.0, 2_000.0] {
            p.observe(t);
        }
        assert_eq!(p.stale_after_ms(), 60_000.0, "two intervals are not enough");
        p.observe(3_000.0);
        assert_eq!(p.normal_ms(), Some(1_000.0));
        assert_eq!(p.stale_after_ms(), 3_000.0, "2 s, raised to the floor");
        // Bursts do not shrink it, the odd slow gap does not dominate it.
        let mut q = Period::new(60_000.0, 3_000.0, 900_000.0);
        let mut t = 0.0;
        for i in 0..40 {
            t += if i % 20 == 19 { 40_000.0 } else { 10_000.0 };
            q.observe(t);
            q.observe(t); // duplicates are ignored
            q.observe(t - 5.0); // so are older times
        }
        assert_eq!(q.normal_ms(), Some(10_000.0));
        assert_eq!(q.stale_after_ms(), 20_000.0);
        // A source that reports daily is stale after the ceiling, not two days.
        let mut d = Period::new(60_000.0, 3_000.0, 900_000.0);
        for i in 0..5 {
            d.observe(f64::from(i) * 86_400_000.0);
        }
        assert_eq!(d.stale_after_ms(), 900_000.0);
    }
}
