//! The one palette of the wall: every colour with a meaning is named here once, as the CSS hex
//! text `style/wall.css` also uses, and read as RGB by the charts ([`Colour::rgb`]) and as CSS by
//! the canvas map and the markup ([`Colour::css`]). Dark background, bright figures, dimmed axes;
//! water classes as Chinese bulletins colour them, alert severities as GB/T 35965-style
//! four-level warnings.

/// A colour, written once as `#rrggbb` (checked when the program is compiled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(&'static str);

const fn nibble(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => panic!("a palette colour is #rrggbb in lower-case hex"),
    }
}

impl Colour {
    /// `#rrggbb`, lower case; anything else fails to compile where the constant is defined.
    pub const fn hex(text: &'static str) -> Colour {
        let b = text.as_bytes();
        assert!(b.len() == 7 && b[0] == b'#', "a palette colour is #rrggbb");
        let mut i = 1;
        while i < 7 {
            nibble(b[i]);
            i += 1;
        }
        Colour(text)
    }

    /// The CSS text, `#rrggbb`.
    pub const fn css(self) -> &'static str {
        self.0
    }

    /// The colour at opacity `alpha` (0–1), as CSS `rgba(…)` (drawn every frame for animations).
    pub fn with_alpha(self, alpha: f64) -> String {
        let (r, g, b) = self.rgb();
        format!("rgba({r}, {g}, {b}, {alpha:.3})")
    }

    /// Red, green and blue.
    pub const fn rgb(self) -> (u8, u8, u8) {
        let b = self.0.as_bytes();
        (nibble(b[1]) * 16 + nibble(b[2]), nibble(b[3]) * 16 + nibble(b[4]), nibble(b[5]) * 16 + nibble(b[6]))
    }
}

/// Main text.
pub const TEXT: Colour = Colour::hex("#e6f2ff");
/// Secondary text (axis labels, units).
pub const DIM: Colour = Colour::hex("#8fb0cf");
/// Grid lines.
pub const GRID: Colour = Colour::hex("#1d3a5c");
/// Empty tracks (gauge and bar backgrounds).
pub const TRACK: Colour = Colour::hex("#122a47");
/// The accent (current figures).
pub const ACCENT: Colour = Colour::hex("#37b6ff");
/// The bright accent (headline figures).
pub const ACCENT_2: Colour = Colour::hex("#5ef0ff");
/// Good (done, remediated, accepted).
pub const GOOD: Colour = Colour::hex("#4cd964");
/// Warning.
pub const WARN: Colour = Colour::hex("#ffd60a");
/// Under way (being remediated).
pub const ORANGE: Colour = Colour::hex("#ff9f0a");
/// Bad (overdue, found and not yet remediated).
pub const BAD: Colour = Colour::hex("#ff453a");
/// Waiting (a project in approval).
pub const AMBER: Colour = Colour::hex("#ffb340");
/// Nothing known (no class reported yet).
pub const UNKNOWN: Colour = Colour::hex("#56606c");
/// White (outlines of markers and the picked region).
pub const WHITE: Colour = Colour::hex("#ffffff");
/// What is left to do (beside [`ACCENT`] for what is done).
pub const REMAINING: Colour = Colour::hex("#284260");
/// Text on a bright badge.
pub const INK: Colour = Colour::hex("#030b18");
/// The comparison series (the other period, beside [`ACCENT`]).
pub const COMPARED: Colour = Colour::hex("#5a6e8a");
/// The medals of the first three in a ranking: gold, silver, bronze.
pub const MEDALS: [Colour; 3] = [AMBER, Colour::hex("#c8d6e5"), Colour::hex("#d08a5a")];
/// Series colours, in order: distinguishable on the dark background.
pub const SERIES: [Colour; 6] =
    [ACCENT, AMBER, GOOD, Colour::hex("#c084fc"), ACCENT_2, Colour::hex("#ff6b9a")];

/// Water-quality class colours Ⅰ, Ⅱ, Ⅲ, Ⅳ, Ⅴ, 劣Ⅴ, as Chinese bulletins use them.
pub const WATER_CLASSES: [Colour; 6] =
    [Colour::hex("#3fa7ff"), Colour::hex("#22c7c7"), GOOD, WARN, ORANGE, BAD];

/// Alert severity colours 红, 橙, 黄, 蓝 (GB/T 35965-style four-level warnings).
pub const SEVERITY: [Colour; 4] = [BAD, ORANGE, WARN, ACCENT];

/// The map's colours.
pub mod map {
    use super::Colour;

    /// Land of the province (under the choropleth).
    pub const LAND: Colour = Colour::hex("#0b2a4a");
    /// The province's outline.
    pub const OUTLINE: Colour = super::ACCENT;
    /// Lakes.
    pub const LAKE: Colour = Colour::hex("#1f6fb2");
    /// Lake shores.
    pub const SHORE: Colour = Colour::hex("#3c9be0");
    /// The Yangtze.
    pub const YANGTZE: Colour = Colour::hex("#5cc8ff");
    /// Other rivers.
    pub const RIVER: Colour = Colour::hex("#49aef0");
    /// Place names.
    pub const LABEL: Colour = Colour::hex("#e6f4ff");
    /// A station whose class is not known yet.
    pub const NO_CLASS: Colour = Colour::hex("#7f8c9a");
    /// Translucent colours of the map (veils, halos, strokes over the land), as CSS `rgba(…)`.
    /// The province's glow.
    pub const GLOW: &str = "rgba(0, 190, 255, 0.55)";
    /// A region without a value (or in the province view).
    pub const REGION: &str = "rgba(18, 70, 120, 0.55)";
    /// The region drilled into.
    pub const REGION_SELECTED: &str = "rgba(30, 100, 165, 0.75)";
    /// The other regions while one is drilled into.
    pub const REGION_OTHER: &str = "rgba(10, 40, 75, 0.55)";
    /// The county drilled into.
    pub const COUNTY_SELECTED: &str = "rgba(55, 182, 255, 0.55)";
    /// Major rivers (wide strokes).
    pub const RIVER_MAJOR: &str = "rgba(73, 174, 240, 0.8)";
    /// Minor rivers.
    pub const RIVER_MINOR: &str = "rgba(73, 174, 240, 0.55)";
    /// County borders (each drawn once: as opaque as two strokes at 0.55 once were).
    pub const COUNTY_BORDER: &str = "rgba(140, 210, 255, 0.8)";
    /// Prefecture borders (each drawn once: as opaque as two strokes at 0.75 once were).
    pub const PREFECTURE_BORDER: &str = "rgba(140, 210, 255, 0.94)";
    /// County names.
    pub const LABEL_DIM: &str = "rgba(200, 225, 250, 0.55)";
    /// The data attribution.
    pub const CREDIT: &str = "rgba(170, 200, 230, 0.6)";
    /// A cluster's fill.
    pub const CLUSTER_FILL: &str = "rgba(55, 182, 255, 0.62)";
    /// A cluster's edge.
    pub const CLUSTER_EDGE: &str = "rgba(200, 240, 255, 0.9)";
    /// A marker's ring on the map.
    pub const MARKER_RING: &str = "rgba(2, 16, 31, 0.85)";
    /// A monitoring section's edge.
    pub const SECTION_EDGE: &str = "rgba(255, 255, 255, 0.9)";
    /// The choropleth ramp, dark to bright; classes take evenly spaced colours from it.
    pub const RAMP: [Colour; 7] = [
        Colour::hex("#10365c"),
        Colour::hex("#164b7c"),
        Colour::hex("#1d6199"),
        Colour::hex("#2579b3"),
        Colour::hex("#3193cb"),
        Colour::hex("#4cb2e0"),
        Colour::hex("#7cd6f3"),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_and_rgb_are_the_same_colour() {
        assert_eq!(ACCENT.css(), "#37b6ff");
        assert_eq!(ACCENT.rgb(), (0x37, 0xb6, 0xff));
        assert_eq!(WATER_CLASSES[5].rgb(), (0xff, 0x45, 0x3a));
        assert_eq!(map::RAMP[0].rgb(), (0x10, 0x36, 0x5c));
    }

    #[test]
    fn severities_and_classes_share_their_meanings() {
        assert_eq!(SEVERITY[0], WATER_CLASSES[5], "红 and 劣Ⅴ are the same red");
        assert_eq!(SEVERITY[1], WATER_CLASSES[4]);
    }
}
