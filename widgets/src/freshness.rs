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

/// Data of time `data_ms` seen at `now_ms` is stale when older than `stale_after_ms` (the
/// source's expected reporting period, configured on the server: a period learnt from the data
/// would call a monthly source interrupted after a burst). Clocks may disagree slightly; data
/// "from the future" is fresh.
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
