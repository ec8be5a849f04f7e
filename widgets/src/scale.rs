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

use crate::format::{NumberStyle, scaled_text, shanghai_date, shanghai_hms};

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

/// The fewest decimals from `at_least` (at most 4 more) for which no two of `ticks` read the same.
pub fn distinct_decimals(ticks: &[f64], at_least: usize, style: NumberStyle) -> usize {
    (at_least..=at_least + 4)
        .find(|d| {
            let labels: Vec<String> = ticks.iter().map(|v| scaled_text(*v, *d, style)).collect();
            labels.iter().enumerate().all(|(i, l)| !labels[..i].contains(l))
        })
        .unwrap_or(at_least + 4)
}

/// A time axis label in Asia/Shanghai for a window spanning `span_ms`: the day over two days, the
/// minute over ten minutes, else the second.
pub fn time_label(t: f64, span_ms: f64) -> String {
    if span_ms > 2.0 * 86_400_000.0 {
        shanghai_date(t).get(5..).unwrap_or_default().to_string()
    } else if span_ms >= 300_000.0 {
        shanghai_hms(t)[..5].to_string()
    } else {
        shanghai_hms(t)
    }
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

    #[test]
    fn value_labels_are_distinct_even_for_flat_data() {
        // Ticks over 14 850–15 150 read 1.49万, 1.49万, 1.50万 … with two decimals: more are used.
        let ticks = [14_850.0, 14_900.0, 14_950.0, 15_000.0, 15_050.0, 15_100.0, 15_150.0];
        let d = distinct_decimals(&ticks, 2, NumberStyle::Chinese);
        let labels: Vec<String> = ticks.iter().map(|v| scaled_text(*v, d, NumberStyle::Chinese)).collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(unique.len(), labels.len(), "{labels:?}");
        assert_eq!(distinct_decimals(&[0.0, 5.0, 10.0], 0, NumberStyle::Chinese), 0);
    }

    #[test]
    fn time_labels_fit_the_span() {
        let t = 1_795_000_000_000.0;
        assert_eq!(time_label(t, 7.0 * 86_400_000.0).len(), 5, "MM-DD over days");
        assert_eq!(time_label(t, 3_600_000.0).len(), 5, "HH:MM over an hour");
        assert_eq!(time_label(t, 600_000.0).len(), 5, "HH:MM over ten minutes (labels 2 minutes apart)");
        assert_eq!(time_label(t, 60_000.0).len(), 8, "HH:MM:SS over a minute");
    }
}
