//! Trend prediction (趋势预判) for live time series: Holt's linear trend method with a prediction
//! interval.
//!
//! Model: level `l` and trend `b`, updated for each observation `y`:
//! `l' = α·y + (1−α)(l + b)`, `b' = β·(l' − l) + (1−β)·b`; the forecast `h` steps ahead is
//! `l + h·b`. The smoothing weights are chosen by least squares of the one-step errors over a grid
//! (α in 0.05…0.95, β in 0.05…0.95, steps of 0.05), starting from `l₀ = y₀`, `b₀ = y₁ − y₀`.
//! The interval uses the variance of the equivalent ETS(A,A,N) state-space model (Hyndman &
//! Athanasopoulos, *Forecasting: Principles and Practice*, table of prediction variances):
//! `σ²ₕ = σ²·[1 + (h−1)·(α² + αβ′h + β′²h(2h−1)/6)]` with `β′ = αβ` and `σ²` the mean squared
//! one-step error.
//!
//! Caveats: a linear trend extrapolates; it knows nothing of daily cycles or limits (a share
//! cannot exceed 100 %), so the wall shows a few steps ahead only, clamped by the caller. Fewer
//! than 3 observations give no forecast.
//!
//! ```
//! use yiping_widgets::forecast::holt;
//! let f = holt(&[10.0, 11.0, 12.0, 13.0, 14.0], 2, 1.96).expect("enough data");
//! assert!((f.points[1].value - 16.0).abs() < 1e-9);
//! ```

/// One forecast step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastPoint {
    /// Steps ahead (1 = next).
    pub h: usize,
    /// Point forecast.
    pub value: f64,
    /// Lower bound of the interval.
    pub low: f64,
    /// Upper bound of the interval.
    pub high: f64,
}

/// A fitted forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Level smoothing weight α.
    pub alpha: f64,
    /// Trend smoothing weight β.
    pub beta: f64,
    /// Mean squared one-step error.
    pub mse: f64,
    /// The steps ahead.
    pub points: Vec<ForecastPoint>,
}

/// Run Holt's method over `y` from `(l0, b0)`: final level, final trend, sum of squared one-step
/// errors.
pub fn holt_run(y: &[f64], alpha: f64, beta: f64, l0: f64, b0: f64) -> (f64, f64, f64) {
    let (mut l, mut b, mut sse) = (l0, b0, 0.0);
    for &v in y {
        let e = v - (l + b);
        sse += e * e;
        let l_new = alpha * v + (1.0 - alpha) * (l + b);
        b = beta * (l_new - l) + (1.0 - beta) * b;
        l = l_new;
    }
    (l, b, sse)
}

/// Fit Holt's method to `y` and forecast `steps` ahead with an interval of `z` standard
/// deviations (1.96 for 95 %). `None` with fewer than 3 finite observations.
pub fn holt(y: &[f64], steps: usize, z: f64) -> Option<Forecast> {
    let y: Vec<f64> = y.iter().copied().filter(|v| v.is_finite()).collect();
    if y.len() < 3 {
        return None;
    }
    let (l0, b0) = (y[0], y[1] - y[0]);
    let rest = &y[1..];
    let grid = (1..=19).map(|i| f64::from(i) * 0.05);
    let (alpha, beta, _) = grid
        .clone()
        .flat_map(|a| grid.clone().map(move |b| (a, b)))
        .map(|(a, b)| (a, b, holt_run(rest, a, b, l0, b0).2))
        .min_by(|x, y| x.2.total_cmp(&y.2))?;
    let (l, b, sse) = holt_run(rest, alpha, beta, l0, b0);
    let mse = sse / rest.len() as f64;
    let bp = alpha * beta;
    let points = (1..=steps)
        .map(|h| {
            let hf = h as f64;
            let var = mse
                * (1.0
                    + (hf - 1.0) * (alpha * alpha + alpha * bp * hf + bp * bp * hf * (2.0 * hf - 1.0) / 6.0));
            let value = l + hf * b;
            let half = z * var.max(0.0).sqrt();
            ForecastPoint { h, value, low: value - half, high: value + half }
        })
        .collect();
    Some(Forecast { alpha, beta, mse, points })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_statsmodels_for_fixed_weights() {
        // Reference: statsmodels 0.14 `Holt(y, initialization_method="known", initial_level=12.1,
        // initial_trend=0.8).fit(smoothing_level=0.5, smoothing_trend=0.3, optimized=False)`:
        // final level 19.3703820797, trend 0.8241880328, SSE 2.1264336198, forecasts below.
        let y = [12.1, 12.9, 13.4, 14.8, 15.1, 15.9, 17.2, 17.4, 18.9, 19.3];
        let (l, b, sse) = holt_run(&y, 0.5, 0.3, 12.1, 0.8);
        assert!((l - 19.370_382_079_7).abs() < 1e-9, "{l}");
        assert!((b - 0.824_188_032_8).abs() < 1e-9, "{b}");
        assert!((sse - 2.126_433_619_8).abs() < 1e-9, "{sse}");
        for (h, want) in [(1.0, 20.194_570_112_5), (2.0, 21.018_758_145_3), (3.0, 21.842_946_178_2)] {
            assert!((l + h * b - want).abs() < 1e-9);
        }
    }

    #[test]
    fn a_straight_line_is_forecast_exactly_with_no_spread() {
        let y: Vec<f64> = (0..12).map(|t| 3.0 + 2.0 * f64::from(t)).collect();
        let f = holt(&y, 3, 1.96).expect("enough data");
        for p in &f.points {
            let want = 3.0 + 2.0 * (11.0 + p.h as f64);
            assert!((p.value - want).abs() < 1e-9 && (p.high - p.low).abs() < 1e-9, "{p:?}");
        }
    }

    #[test]
    fn intervals_widen_with_the_horizon_and_contain_the_point() {
        let y = [55.0, 57.0, 54.0, 58.0, 60.0, 59.0, 62.0, 61.0, 65.0, 64.0, 67.0];
        let f = holt(&y, 5, 1.96).expect("enough data");
        assert!(f.mse > 0.0);
        let widths: Vec<f64> = f.points.iter().map(|p| p.high - p.low).collect();
        assert!(widths.windows(2).all(|w| w[1] > w[0]), "{widths:?}");
        assert!(f.points.iter().all(|p| p.low < p.value && p.value < p.high));
        // The series rises about 1.2 per step: so does the forecast.
        let slope = f.points[4].value - f.points[3].value;
        assert!((0.6..2.0).contains(&slope), "{slope}");
    }

    #[test]
    fn too_little_data_gives_no_forecast() {
        assert!(holt(&[1.0, 2.0], 3, 1.96).is_none());
        assert!(holt(&[1.0, f64::NAN, 2.0], 3, 1.96).is_none());
    }
}
