//! Where things are: the counties of the region, their prefectures, and the monitoring sections.
//! Every event is placed in a county here, with the same geometry the map draws, so map and
//! aggregates agree; an event outside the region is refused with the field and value at fault.

use std::collections::HashMap;

use yiping_maps::hit::RegionIndex;
use yiping_protocol::events::{Envelope, Event, FieldError};

use crate::stations::{self, Section};

/// The region's root adcode (the province).
pub const ROOT: &str = "420000";

/// Counties, prefectures and sections.
#[derive(Debug)]
pub struct Places {
    counties: RegionIndex,
    prefecture_of: HashMap<String, String>,
    names: HashMap<String, String>,
    sections: Vec<Section>,
    section_index: HashMap<&'static str, usize>,
}

impl Places {
    /// The shipped Hubei layers and sections.
    pub fn hubei() -> Places {
        let counties = stations::counties();
        let prefectures = yiping_maps::parse_regions(yiping_maps::data::Layer::Prefectures.geojson())
            .expect("the shipped prefecture layer is valid (tested in yiping-maps)");
        let mut names: HashMap<String, String> = HashMap::new();
        names.insert(ROOT.into(), "湖北省".into());
        for p in &prefectures {
            names.insert(p.adcode.clone(), p.name.clone());
        }
        // A county's prefecture: the layer's `parent_adcode`, as the map's drill-down uses (the four
        // county-level units directly under the province are their own prefecture-level unit).
        let mut prefecture_of = HashMap::new();
        for c in &counties {
            let parent = c.parent.clone().unwrap_or_else(|| format!("{}00", &c.adcode[..4]));
            prefecture_of.insert(c.adcode.clone(), parent);
            names.insert(c.adcode.clone(), c.name.clone());
        }
        let counties = RegionIndex::new(counties);
        let sections = stations::sections(&counties);
        let section_index = sections.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        Places { counties, prefecture_of, names, sections, section_index }
    }

    /// The monitoring sections.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// A section's position in [`Places::sections`].
    pub fn section(&self, id: &str) -> Option<usize> {
        self.section_index.get(id).copied()
    }

    /// The county at `(lon, lat)` (the map's own hit-test, so map and aggregates agree).
    pub fn county_at(&self, lon: f64, lat: f64) -> Option<&str> {
        self.counties.at(lon, lat).map(|c| c.adcode.as_str())
    }

    /// The county an event concerns, or why it cannot be placed.
    pub fn locate(&self, e: &Envelope) -> Result<String, FieldError> {
        if let Event::WaterReading(r) = &e.data {
            return match self.section(&r.section) {
                Some(i) => Ok(self.sections[i].adcode.clone()),
                None => Err(FieldError {
                    field: "data.section".into(),
                    value: format!("{:?}", r.section),
                    message: "unknown monitoring section (GET /api/v1/sections lists them)".into(),
                }),
            };
        }
        let (lon, lat) = e.data.position().expect("every event but a water reading has a position");
        self.county_at(lon, lat).map(str::to_owned).ok_or_else(|| FieldError {
            field: "data.lon, data.lat".into(),
            value: format!("[{lon}, {lat}]"),
            message: "lies outside 湖北省 (420000)".into(),
        })
    }

    /// The regions a county's figures roll up into: the county, its prefecture (when different),
    /// and the province.
    pub fn rollup(&self, county: &str) -> Vec<String> {
        let mut out = vec![county.to_owned()];
        if let Some(p) = self.prefecture_of.get(county)
            && p != county
        {
            out.push(p.clone());
        }
        out.push(ROOT.to_owned());
        out
    }

    /// The counties, in the layer's order.
    pub fn counties(&self) -> &[yiping_maps::Region] {
        self.counties.regions()
    }

    /// The prefecture-level division a county belongs to (itself for the four units directly
    /// under the province).
    pub fn prefecture<'a>(&'a self, county: &'a str) -> &'a str {
        self.prefecture_of.get(county).map_or(county, String::as_str)
    }

    /// The prefecture-level divisions' adcodes, sorted.
    pub fn prefectures(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.prefecture_of.values().map(String::as_str).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The name of a region.
    pub fn name(&self, adcode: &str) -> Option<&str> {
        self.names.get(adcode).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counties_roll_up_to_their_prefecture_and_the_province() {
        let p = Places::hubei();
        assert_eq!(p.rollup("420105"), vec!["420105", "420100", "420000"]);
        assert_eq!(p.rollup("421127"), vec!["421127", "421100", "420000"]);
        // 仙桃 is directly under the province: county and prefecture level at once.
        assert_eq!(p.rollup("429004"), vec!["429004", "420000"]);
        assert_eq!(p.name("422800"), Some("恩施土家族苗族自治州"));
        // Every county has a prefecture that is one of the 17.
        let prefs: std::collections::HashSet<_> = p.prefecture_of.values().collect();
        assert_eq!(prefs.len(), 17);
    }

    #[test]
    fn known_points_fall_in_the_right_county_and_outside_points_nowhere() {
        let p = Places::hubei();
        assert_eq!(p.county_at(114.2554, 30.5127), Some("420105")); // 杨泗港, 汉阳区
        assert_eq!(p.county_at(109.4821, 30.2857).map(|a| &a[..4]), Some("4228")); // 恩施
        assert_eq!(p.county_at(112.94, 28.23), None); // 长沙
    }
}
