//! The wall's colours for charts, matching `style/wall.css`: dark background, bright figures,
//! dimmed axes, and colours with meaning (water classes, alert severities, good/bad).

/// An sRGB colour.
pub type Rgb = (u8, u8, u8);

/// Main text.
pub const TEXT: Rgb = (0xe6, 0xf2, 0xff);
/// Secondary text (axis labels, units).
pub const DIM: Rgb = (0x8f, 0xb0, 0xcf);
/// Grid lines.
pub const GRID: Rgb = (0x1d, 0x3a, 0x5c);
/// Empty tracks (gauge and bar backgrounds).
pub const TRACK: Rgb = (0x12, 0x2a, 0x47);
/// The accent (current figures).
pub const ACCENT: Rgb = (0x37, 0xb6, 0xff);
/// The bright accent (headline figures).
pub const ACCENT_2: Rgb = (0x5e, 0xf0, 0xff);
/// Good.
pub const GOOD: Rgb = (0x4c, 0xd9, 0x64);
/// Warning.
pub const WARN: Rgb = (0xff, 0xd6, 0x0a);
/// Bad.
pub const BAD: Rgb = (0xff, 0x45, 0x3a);
/// Series colours, in order: distinguishable on the dark background.
pub const SERIES: [Rgb; 6] =
    [ACCENT, (0xff, 0xb3, 0x40), GOOD, (0xc0, 0x84, 0xfc), ACCENT_2, (0xff, 0x6b, 0x9a)];

/// Water-quality class colours Ⅰ, Ⅱ, Ⅲ, Ⅳ, Ⅴ, 劣Ⅴ, as Chinese bulletins use them.
pub const WATER_CLASSES: [Rgb; 6] = [
    (0x3f, 0xa7, 0xff),
    (0x22, 0xc7, 0xc7),
    (0x4c, 0xd9, 0x64),
    (0xff, 0xd6, 0x0a),
    (0xff, 0x9f, 0x0a),
    (0xff, 0x45, 0x3a),
];

/// Alert severity colours 红, 橙, 黄, 蓝 (GB/T 35965-style four-level warnings).
pub const SEVERITY: [Rgb; 4] =
    [(0xff, 0x3b, 0x30), (0xff, 0x95, 0x00), (0xff, 0xd6, 0x0a), (0x3f, 0xa7, 0xff)];

/// `#rrggbb`.
pub fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_matches_css() {
        assert_eq!(super::hex(super::ACCENT), "#37b6ff");
    }
}
