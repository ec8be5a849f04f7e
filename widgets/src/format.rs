//! Number and time formatting for Chinese wall figures.

/// A number scaled for reading at a glance: `value` with `unit` (`""`, `"万"` or `"亿"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scaled {
    /// The digits, e.g. `"1.23"`.
    pub value: String,
    /// The magnitude unit: `""`, `"万"` (10⁴) or `"亿"` (10⁸).
    pub unit: &'static str,
}

/// Scale `x` by 万/亿 as Chinese reports do: below 10 000 as is (integers without decimals,
/// others with `decimals`), from 10 000 in 万, from 10⁸ in 亿, with `decimals` places.
///
/// ```
/// use yiping_widgets::format::{scale_cn, Scaled};
/// assert_eq!(scale_cn(123_456.0, 2), Scaled { value: "12.35".into(), unit: "万" });
/// ```
pub fn scale_cn(x: f64, decimals: usize) -> Scaled {
    // A sum of nothing is -0.0 in Rust: it reads 0.
    let x = x + 0.0;
    if !x.is_finite() {
        return Scaled { value: "—".into(), unit: "" };
    }
    let a = x.abs();
    // Pick the unit on the rounded value too, so 99 999 999 shows as 1.00亿, not 10000.00万.
    let scale = 10f64.powi(i32::try_from(decimals).unwrap_or(0));
    let rounded = |v: f64| (v * scale).round() / scale;
    if a >= 1e8 || rounded(a / 1e4) >= 1e4 {
        Scaled { value: format!("{:.*}", decimals, x / 1e8), unit: "亿" }
    } else if a >= 1e4 || rounded(a) >= 1e4 {
        Scaled { value: format!("{:.*}", decimals, x / 1e4), unit: "万" }
    } else if x.fract() == 0.0 {
        Scaled { value: format!("{x:.0}"), unit: "" }
    } else {
        Scaled { value: format!("{:.*}", decimals, x), unit: "" }
    }
}

/// Scale `x` the Western way for English walls: below 1,000 as is, then K (10³), M (10⁶) and
/// B (10⁹), with `decimals` places.
///
/// ```
/// use yiping_widgets::format::{scale_en, Scaled};
/// assert_eq!(scale_en(2.07e8, 1), Scaled { value: "207.0".into(), unit: "M" });
/// ```
pub fn scale_en(x: f64, decimals: usize) -> Scaled {
    let x = x + 0.0; // -0.0 reads 0
    if !x.is_finite() {
        return Scaled { value: "—".into(), unit: "" };
    }
    let scale = 10f64.powi(i32::try_from(decimals).unwrap_or(0));
    let rounded = |v: f64| (v * scale).round() / scale;
    let a = x.abs();
    for (size, unit) in [(1e9, "B"), (1e6, "M"), (1e3, "K")] {
        // Promote also when the next unit down would print as 1000 (999.96 → 1.0K, not 1000.0).
        if a >= size || rounded(a * 1e3 / size) >= 1e3 {
            return Scaled { value: format!("{:.*}", decimals, x / size), unit };
        }
    }
    if x.fract() == 0.0 {
        Scaled { value: format!("{x:.0}"), unit: "" }
    } else {
        Scaled { value: format!("{:.*}", decimals, x), unit: "" }
    }
}

/// How figures are scaled, provided as context by the page: 万/亿 (default) or K/M/B.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NumberStyle {
    /// 万 and 亿, as Chinese reports write.
    #[default]
    Chinese,
    /// K, M and B, for English walls.
    Western,
}

/// `x` scaled by 万/亿 or K/M/B as one string, e.g. `"12.35万"`.
pub fn scaled_text(x: f64, decimals: usize, style: NumberStyle) -> String {
    let s = match style {
        NumberStyle::Chinese => scale_cn(x, decimals),
        NumberStyle::Western => scale_en(x, decimals),
    };
    format!("{}{}", s.value, s.unit)
}

/// A percentage with one decimal, e.g. `"78.6"`; `"—"` when unknown.
pub fn percent(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.1}"),
        _ => "—".into(),
    }
}

/// A relative change as walls print it: an arrow for the direction and the size with one decimal,
/// e.g. `"▲ 3.2%"`, `"▼ 0.8%"`, `"— 0.0%"` when it rounds to nothing.
///
/// ```
/// assert_eq!(yiping_widgets::format::change_percent(-0.84), "▼ 0.8%");
/// ```
pub fn change_percent(p: f64) -> String {
    if !p.is_finite() {
        return "—".into();
    }
    let r = (p * 10.0).round() / 10.0;
    let arrow = if r > 0.0 {
        "▲"
    } else if r < 0.0 {
        "▼"
    } else {
        "—"
    };
    format!("{arrow} {:.1}%", r.abs())
}

/// Milliseconds since the Unix epoch as `HH:MM:SS` in Asia/Shanghai (UTC+8 all year: China has
/// observed no daylight saving time since 1991).
pub fn shanghai_hms(epoch_ms: f64) -> String {
    let secs = (epoch_ms / 1000.0).floor() as i64 + 8 * 3600;
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD` in Asia/Shanghai.
pub fn shanghai_date(epoch_ms: f64) -> String {
    let days = ((epoch_ms / 1000.0).floor() as i64 + 8 * 3600).div_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_has_direction_and_one_decimal() {
        assert_eq!(change_percent(3.249), "▲ 3.2%");
        assert_eq!(change_percent(-12.34), "▼ 12.3%");
        assert_eq!(change_percent(0.04), "— 0.0%");
        assert_eq!(change_percent(-0.04), "— 0.0%");
        assert_eq!(change_percent(f64::INFINITY), "—");
    }

    fn s(x: f64, d: usize) -> (String, &'static str) {
        let r = scale_cn(x, d);
        (r.value, r.unit)
    }

    #[test]
    fn wan_and_yi() {
        assert_eq!(s(0.0, 2), ("0".into(), ""));
        assert_eq!(s(std::iter::empty::<f64>().sum(), 0), ("0".into(), ""), "an empty sum is -0.0");
        assert_eq!(scale_en(-0.0, 0).value, "0");
        assert_eq!(s(9_999.0, 2), ("9999".into(), ""));
        assert_eq!(s(10_000.0, 2), ("1.00".into(), "万"));
        assert_eq!(s(123_456.0, 1), ("12.3".into(), "万"));
        assert_eq!(s(99_999_999.0, 2), ("1.00".into(), "亿"));
        assert_eq!(s(57_752_557.0, 0), ("5775".into(), "万"));
        assert_eq!(s(5.58e12, 2), ("55800.00".into(), "亿"));
        assert_eq!(s(-25_000.0, 1), ("-2.5".into(), "万"));
        assert_eq!(s(9_999.996, 2), ("1.00".into(), "万"));
        assert_eq!(s(7.456, 2), ("7.46".into(), ""));
        assert_eq!(s(f64::NAN, 2), ("—".into(), ""));
    }

    #[test]
    fn k_m_b_for_english() {
        let e = |x: f64, d: usize| {
            let r = scale_en(x, d);
            (r.value, r.unit)
        };
        assert_eq!(e(999.0, 1), ("999".into(), ""));
        assert_eq!(e(1_000.0, 1), ("1.0".into(), "K"));
        assert_eq!(e(4_030.0, 2), ("4.03".into(), "K"));
        assert_eq!(e(2.07e8, 2), ("207.00".into(), "M"));
        assert_eq!(e(5.58e12, 1), ("5580.0".into(), "B"));
        assert_eq!(e(999_999.0, 1), ("1.0".into(), "M"));
        assert_eq!(e(999.96, 1), ("1.0".into(), "K"));
        assert_eq!(e(-1_500.0, 1), ("-1.5".into(), "K"));
    }

    #[test]
    fn percent_has_one_decimal() {
        assert_eq!(percent(Some(78.5714)), "78.6");
        assert_eq!(percent(Some(100.0)), "100.0");
        assert_eq!(percent(None), "—");
    }

    #[test]
    fn shanghai_time_is_utc_plus_8_across_midnight() {
        // 2026-11-22T07:57:01Z is 15:57:01 in Shanghai.
        let t = 1_795_334_221_000.0;
        assert_eq!(shanghai_hms(t), "15:57:01");
        assert_eq!(shanghai_date(t), "2026-11-22");
        // 2026-11-22T16:30:00Z is already 2026-11-23 00:30 in Shanghai.
        let late = 1_795_365_000_000.0;
        assert_eq!(shanghai_hms(late), "00:30:00");
        assert_eq!(shanghai_date(late), "2026-11-23");
        assert_eq!(shanghai_date(0.0), "1970-01-01");
        assert_eq!(shanghai_date(951_782_400_000.0), "2000-02-29");
    }
}
