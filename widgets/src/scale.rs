//! Axis scales: "nice" tick values for chart axes.
//!
//! Algorithm: Heckbert's nice numbers ("Nice numbers for graph labels", Graphics Gems, 1990): the
//! tick step is 1, 2 or 5 × 10ⁿ, chosen so that about `max_ticks` ticks cover the data range, and
//! the axis is widened outwards to whole steps. Caveat: a zero-width range is widened by ±1 (or by
//! 10 % of the value) so a constant series still gets an axis.
//!
//! ```
//! use yiping_widgets::scale::nice_ticks;
//! assert_eq!(nice_ticks(0.0, 97.0, 5), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
//! ```

fn nice(x: f64, round: bool) -> f64 {
    let exp = x.log10().floor();
    let f = x / 10f64.powf(exp);
    let nf = if round {
        if f < 1.5 {
            1.0
        } else if f < 3.0 {
            2.0
        } else if f < 7.0 {
            5.0
        } else {
            10.0
        }
    } else if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nf * 10f64.powf(exp)
}

/// Tick values covering `[min, max]` with about `max_ticks` intervals (at least 2).
pub fn nice_ticks(min: f64, max: f64, max_ticks: usize) -> Vec<f64> {
    if !min.is_finite() || !max.is_finite() {
        return Vec::new();
    }
    let (mut lo, mut hi) = if min <= max { (min, max) } else { (max, min) };
    if hi - lo == 0.0 {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    }
    let range = nice(hi - lo, false);
    let step = nice(range / (max_ticks.max(2) - 1) as f64, true);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let n = ((end - start) / step).round() as usize;
    // Round each tick to the step's decimals so 0.1 + 0.2 prints as 0.3.
    let decimals = (-step.log10().floor()).max(0.0) as i32;
    let m = 10f64.powi(decimals);
    (0..=n).map(|i| ((start + i as f64 * step) * m).round() / m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 97.0, 5), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(0.13, 0.47, 5), vec![0.1, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(nice_ticks(-3.0, 7.0, 6), vec![-4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(1234.0, 9876.0, 5), vec![0.0, 2000.0, 4000.0, 6000.0, 8000.0, 10000.0]);
        for (lo, hi) in [(3.7, 4.1), (-120.0, -3.0), (0.0, 1e9), (55.0, 67.0)] {
            let t = nice_ticks(lo, hi, 6);
            assert!(t[0] <= lo && *t.last().expect("ticks") >= hi, "{lo}..{hi}: {t:?}");
            assert!(t.len() >= 3 && t.len() <= 12, "{lo}..{hi}: {t:?}");
        }
    }

    #[test]
    fn degenerate_ranges_still_get_an_axis() {
        assert_eq!(nice_ticks(5.0, 5.0, 5), vec![4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6]);
        assert_eq!(nice_ticks(0.0, 0.0, 5), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
        assert_eq!(nice_ticks(10.0, 0.0, 5), nice_ticks(0.0, 10.0, 5));
    }
}
