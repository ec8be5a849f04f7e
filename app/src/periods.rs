//! Comparing with a previous period: which point of a history is "an hour ago" (plain Rust,
//! tested natively).

/// The index of the newest point at least `back_ms` older than the newest point, in times sorted
/// oldest first (epoch ms); `None` when the history is not that long.
pub fn point_before(times_ms: &[f64], back_ms: f64) -> Option<usize> {
    let newest = *times_ms.last()?;
    times_ms.iter().rposition(|t| *t <= newest - back_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_point_an_hour_back_is_the_newest_that_old() {
        let min = 60_000.0;
        let steps: Vec<f64> = (0..10).map(|i| f64::from(i) * 10.0 * min).collect();
        // Newest at 90 min: an hour back is the step at 30 min.
        assert_eq!(point_before(&steps, 60.0 * min), Some(3));
        assert_eq!(point_before(&steps[..6], 60.0 * min), None, "only 50 minutes of history");
        assert_eq!(point_before(&[], 60.0 * min), None);
        // Gaps (no data for a while): the newest point before the mark.
        assert_eq!(point_before(&[0.0, 5.0 * min, 200.0 * min], 60.0 * min), Some(1));
    }
}
