//! What the benchmarks share.

/// The `i`th positional argument after `--` (flags such as cargo's `--bench` skipped) as a
/// number, or `default`.
pub(crate) fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}
