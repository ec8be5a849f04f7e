//! Topic names and their payloads (the `data` of snapshots and deltas).

use serde::{Deserialize, Serialize};

use crate::water::{WaterBody, WaterClass};

/// Topic `overview`: the headline figures of the wall.
///
/// Snapshot and delta carry the same payload: each delta is the full new [`Overview`] (it is a few
/// hundred bytes), so applying a delta means replacing the value.
pub const OVERVIEW: &str = "overview";

/// All topics, with the one-line descriptions that `GET /api/v1/topics` lists.
pub const ALL: [(&str, &str); 1] = [(
    OVERVIEW,
    "Headline figures: water-quality readings received and sections at class Ⅰ–Ⅲ, per section status.",
)];

/// The latest state of one water-quality monitoring section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionStatus {
    /// Section id, e.g. `"cj-yangsigang"`.
    pub id: String,
    /// Section name, e.g. `"杨泗港"`.
    pub name: String,
    /// River or lake name, e.g. `"长江"`.
    pub river: String,
    /// River section or lake point.
    pub body: WaterBody,
    /// County adcode (GB/T 2260).
    pub adcode: String,
    /// WGS84 longitude.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// Class of the latest reading; `None` before the first reading.
    pub class: Option<WaterClass>,
    /// Time of the latest reading, UTC RFC 3339.
    pub time: Option<String>,
}

/// Payload of [`OVERVIEW`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Overview {
    /// Water-quality readings accepted in this epoch.
    pub readings_total: u64,
    /// Sections with at least one reading.
    pub sections_reporting: u32,
    /// Sections whose latest reading is class Ⅰ–Ⅲ.
    pub sections_good: u32,
    /// Every known section, in a stable order.
    pub sections: Vec<SectionStatus>,
}

impl Overview {
    /// Share of reporting sections at class Ⅰ–Ⅲ, in percent; `None` while none report.
    pub fn good_share_percent(&self) -> Option<f64> {
        (self.sections_reporting > 0)
            .then(|| 100.0 * f64::from(self.sections_good) / f64::from(self.sections_reporting))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_share_is_over_reporting_sections_only() {
        let mut o = Overview::default();
        assert_eq!(o.good_share_percent(), None);
        o.sections_reporting = 8;
        o.sections_good = 6;
        assert_eq!(o.good_share_percent(), Some(75.0));
    }
}
