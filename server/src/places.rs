//! Where things are: the deployment's root region, the regions one level under it, their
//! counties, and the monitoring sections. Every event is placed in a county here, with the same
//! geometry the map draws, so map and aggregates agree; an event outside the root region is
//! refused with the field and value at fault.
//!
//! The root is the province (420000, the default) or one prefecture-level division (420200 for
//! 黄石). Figures roll up county → the region one level under the root → the root: for the
//! province that is county → prefecture → province; for a city, county → city.
//!
//! ```
//! use yiping_server::places::Places;
//! let huangshi = Places::new("420200", None).expect("黄石 is in the shipped layers");
//! assert_eq!(huangshi.root_name(), "黄石市");
//! assert_eq!(*huangshi.rollup("420281"), ["420281", "420200"]); // 大冶市 → 黄石市
//! assert!(huangshi.children().iter().any(|c| c == "420222")); // 阳新县
//! assert!(Places::new("420100", None).expect("武汉").rollup("420105").ends_with(&["420100"]));
//! ```

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;

use yiping_maps::boundaries::Boundaries;
use yiping_maps::grid::GridIndex;
use yiping_maps::hit::RegionIndex;
use yiping_protocol::events::{Envelope, Event, FieldError};

use crate::stations::{self, Section, SectionSpec};

/// The province's adcode: the default root region.
pub const ROOT: &str = "420000";

/// The root region, the regions under it, their counties, and the sections.
#[derive(Debug)]
pub struct Places {
    root: String,
    /// Is the root the province (not a city)?
    is_province: bool,
    /// The administrative layers the places come from (published at `/geo/` for the wall).
    boundaries: Arc<Boundaries>,
    /// The regions one level under the root (prefectures, or a city's counties), sorted.
    children: Vec<String>,
    counties: GridIndex,
    /// A county's prefecture-level division, as the layer says.
    prefecture_of: HashMap<String, String>,
    names: HashMap<String, String>,
    sections: Vec<Section>,
    section_index: HashMap<String, usize>,
    /// The layers as the wall reads them, made on first use.
    pack: OnceLock<MapPack>,
}

/// The regions a county rolls up into ([`Places::rollup`]), from the county up: two or three.
#[derive(Debug, Clone, Copy)]
pub struct Rollup<'a> {
    regions: [&'a str; 3],
    len: usize,
}

impl<'a> std::ops::Deref for Rollup<'a> {
    type Target = [&'a str];

    fn deref(&self) -> &[&'a str] {
        &self.regions[..self.len]
    }
}

/// The published layers as one map pack ([`yiping_maps::pack`]), as it is and compressed.
#[derive(Debug, Clone)]
pub struct MapPack {
    /// The pack.
    pub bytes: Bytes,
    /// The same, compressed with brotli.
    pub brotli: Bytes,
    /// Its entity tag (a quoted digest of the bytes).
    pub etag: String,
}

/// Why a deployment's places cannot be set up: the root region, or a section, at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacesError {
    /// The root region is not one the boundary layers can serve.
    #[error("{0}")]
    Root(String),
    /// A section (its origin is in the message).
    #[error("{0}")]
    Section(String),
}

impl Places {
    /// The shipped Hubei layers and sections, rooted at the province.
    pub fn hubei() -> Places {
        Places::new(ROOT, None).expect("the shipped layers and sections are valid (tested here)")
    }

    /// The places of a deployment rooted at `root` (the province or one of its prefecture-level
    /// divisions), with its own monitoring sections (None: the built-in ones that lie under the
    /// root). A section outside the root region, or two with one id, is refused with its origin.
    pub fn new(root: &str, sections: Option<Vec<SectionSpec>>) -> Result<Places, PlacesError> {
        Places::with_boundaries(root, sections, Arc::new(Boundaries::shipped()))
    }

    /// [`Places::new`] on a deployment's own boundaries (checked: see
    /// [`yiping_maps::boundaries`]).
    pub fn with_boundaries(
        root: &str,
        sections: Option<Vec<SectionSpec>>,
        boundaries: Arc<Boundaries>,
    ) -> Result<Places, PlacesError> {
        let prefectures = &boundaries.prefectures;
        let mut names: HashMap<String, String> = HashMap::new();
        let province = boundaries.province.first().map_or(ROOT, |p| p.adcode.as_str());
        names
            .insert(province.into(), boundaries.province.first().map_or("湖北省".into(), |p| p.name.clone()));
        for p in prefectures {
            names.insert(p.adcode.clone(), p.name.clone());
        }
        if !names.contains_key(root) {
            let mut known: Vec<&str> = prefectures.iter().map(|p| p.adcode.as_str()).collect();
            known.sort_unstable();
            return Err(PlacesError::Root(format!(
                "root region {root:?} is not in the boundary layers: {province} ({}) or one of its \
                 prefecture-level divisions ({})",
                names[province],
                known.join(", ")
            )));
        }
        // A county's prefecture: the layer's `parent_adcode`, as the map's drill-down uses (the
        // four county-level units directly under the province are their own prefecture-level unit).
        let under_root = |prefecture: &str| root == province || prefecture == root;
        let mut prefecture_of = HashMap::new();
        let mut counties = Vec::new();
        for c in boundaries.counties.iter().cloned() {
            let parent = c.parent.clone().unwrap_or_else(|| format!("{}00", &c.adcode[..4]));
            if !under_root(&parent) {
                continue;
            }
            prefecture_of.insert(c.adcode.clone(), parent);
            names.insert(c.adcode.clone(), c.name.clone());
            counties.push(c);
        }
        let mut children: Vec<String> = if root == province {
            prefecture_of.values().cloned().collect()
        } else {
            counties.iter().map(|c| c.adcode.clone()).filter(|a| a != root).collect()
        };
        children.sort_unstable();
        children.dedup();
        if children.is_empty() {
            return Err(PlacesError::Root(format!(
                "root region {root} ({}) has no counties under it: choose the province or a \
                 prefecture-level division with counties",
                names[root]
            )));
        }
        // Only the regions of this deployment have names (and figures): the root and what lies
        // under it.
        names.retain(|a, _| a == root || under_root(a) || prefecture_of.contains_key(a));
        let counties = GridIndex::new(RegionIndex::new(counties), GridIndex::DEFAULT_CELLS);
        let root_name = names[root].clone();
        let sections: Vec<Section> = match sections {
            None => stations::builtin()
                .into_iter()
                .filter_map(|s| counties.at(s.lon, s.lat).map(|c| c.adcode.clone()).map(|a| s.placed(a)))
                .collect(),
            Some(specs) => {
                let mut placed = Vec::with_capacity(specs.len());
                for s in specs {
                    let Some(adcode) = counties.at(s.lon, s.lat).map(|c| c.adcode.clone()) else {
                        return Err(PlacesError::Section(format!(
                            "{}: section {:?} at [{}, {}] lies outside {root_name} ({root})",
                            s.origin, s.id, s.lon, s.lat
                        )));
                    };
                    if let Some(first) = placed.iter().find(|p: &&Section| p.id == s.id) {
                        return Err(PlacesError::Section(format!(
                            "{}: section id {:?} is used twice (also by {:?})",
                            s.origin, s.id, first.name
                        )));
                    }
                    placed.push(s.placed(adcode));
                }
                placed
            }
        };
        let section_index = sections.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let is_province = root == province;
        Ok(Places {
            root: root.to_owned(),
            is_province,
            boundaries,
            children,
            counties,
            prefecture_of,
            names,
            sections,
            section_index,
            pack: OnceLock::new(),
        })
    }

    /// The administrative layers with the rivers and lakes as one map pack for the wall, made
    /// (about 0.1 s) on the first call.
    pub fn map_pack(&self) -> &MapPack {
        self.pack.get_or_init(|| {
            let bytes = yiping_maps::pack::write(&self.boundaries);
            // Quality 9: within a few per cent of 11's size, in a tenth of the time.
            let mut w = brotli::CompressorWriter::new(Vec::new(), 1 << 16, 9, 22);
            w.write_all(&bytes).expect("compressing in memory cannot fail");
            let mut digest = std::collections::hash_map::DefaultHasher::new();
            std::hash::Hash::hash(&bytes, &mut digest);
            let etag = format!("\"{:016x}\"", std::hash::Hasher::finish(&digest));
            MapPack { bytes: bytes.into(), brotli: w.into_inner().into(), etag }
        })
    }

    /// The root region's adcode.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The root region's name (`湖北省`, `黄石市`).
    pub fn root_name(&self) -> &str {
        self.name(&self.root).unwrap_or("")
    }

    /// Is the root the province (its children prefectures) rather than a city (its children
    /// counties)?
    pub fn root_is_province(&self) -> bool {
        self.is_province
    }

    /// The administrative layers (the shipped ones, or the deployment's).
    pub fn boundaries(&self) -> &Boundaries {
        &self.boundaries
    }

    /// The regions one level under the root (prefectures of the province, counties of a city),
    /// sorted.
    pub fn children(&self) -> &[String] {
        &self.children
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
            message: format!("lies outside {} ({})", self.root_name(), self.root),
        })
    }

    /// The region one level under the root that a county belongs to: its prefecture under the
    /// province, the county itself under a city.
    pub fn child<'a>(&'a self, county: &'a str) -> &'a str {
        if self.root_is_province() { self.prefecture(county) } else { county }
    }

    /// The regions a county's figures roll up into: the county, the region one level under the
    /// root (when different), and the root. Borrowed, not allocated: every event the fold
    /// counts rolls up.
    pub fn rollup<'a>(&'a self, county: &'a str) -> Rollup<'a> {
        let child = self.child(county);
        if child == county {
            Rollup { regions: [county, &self.root, ""], len: 2 }
        } else {
            Rollup { regions: [county, child, &self.root], len: 3 }
        }
    }

    /// The counties under the root, in the layer's order.
    pub fn counties(&self) -> &[yiping_maps::Region] {
        self.counties.regions()
    }

    /// The prefecture-level division a county belongs to (itself for the four units directly
    /// under the province).
    pub fn prefecture<'a>(&'a self, county: &'a str) -> &'a str {
        self.prefecture_of.get(county).map_or(county, String::as_str)
    }

    /// The name of a region.
    pub fn name(&self, adcode: &str) -> Option<&str> {
        self.names.get(adcode).map(String::as_str)
    }

    /// The region a scope (an adcode prefix, see `auth::normalise_scope`) stands for: `4202` →
    /// `420200`; the root for no scope, or for a scope that holds the root (`42` on a city's
    /// server).
    pub fn scope_region(&self, scope: Option<&str>) -> String {
        match scope {
            Some(s) if !self.root.starts_with(s) => format!("{s:0<6}"),
            _ => self.root.clone(),
        }
    }

    /// Every region figures are kept for: the root, the regions one level under it, and every
    /// county, sorted.
    pub fn regions(&self) -> Vec<String> {
        let mut v: Vec<String> = std::iter::once(self.root.clone())
            .chain(self.children.iter().cloned())
            .chain(self.counties.regions().iter().map(|c| c.adcode.clone()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The regions one level under `region`: the root's children for the root, a prefecture's
    /// counties, nothing under a county.
    pub fn children_of(&self, region: &str) -> Vec<String> {
        if region == self.root {
            return self.children.clone();
        }
        let mut v: Vec<String> = self
            .counties
            .regions()
            .iter()
            .filter(|c| c.adcode != region && self.prefecture(&c.adcode) == region)
            .map(|c| c.adcode.clone())
            .collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counties_roll_up_to_their_prefecture_and_the_province() {
        let p = Places::hubei();
        assert_eq!(*p.rollup("420105"), ["420105", "420100", "420000"]);
        assert_eq!(*p.rollup("421127"), ["421127", "421100", "420000"]);
        // 仙桃 is directly under the province: county and prefecture level at once.
        assert_eq!(*p.rollup("429004"), ["429004", "420000"]);
        assert_eq!(p.name("422800"), Some("恩施土家族苗族自治州"));
        // Every county has a prefecture that is one of the 17.
        assert_eq!(p.children().len(), 17);
        assert_eq!(p.sections().len(), 14);
        assert_eq!(p.children_of("420200").len(), 6);
        assert_eq!(p.children_of("420202"), Vec::<String>::new());
    }

    #[test]
    fn known_points_fall_in_the_right_county_and_outside_points_nowhere() {
        let p = Places::hubei();
        assert_eq!(p.county_at(114.2554, 30.5127), Some("420105")); // 杨泗港, 汉阳区
        assert_eq!(p.county_at(109.4821, 30.2857).map(|a| &a[..4]), Some("4228")); // 恩施
        assert_eq!(p.county_at(112.94, 28.23), None); // 长沙
    }

    #[test]
    fn a_city_root_has_its_counties_and_refuses_the_rest_of_the_province() {
        let p = Places::new("420200", None).expect("黄石");
        assert_eq!(p.root_name(), "黄石市");
        assert!(!p.root_is_province());
        assert_eq!(p.children(), ["420202", "420203", "420204", "420205", "420222", "420281"]);
        assert_eq!(p.counties().len(), 6);
        assert_eq!(*p.rollup("420222"), ["420222", "420200"]);
        assert_eq!(p.child("420222"), "420222");
        // A scope that holds the root stands for the root; one under it for itself.
        assert_eq!(p.scope_region(Some("42")), "420200");
        assert_eq!(p.scope_region(Some("4202")), "420200");
        assert_eq!(p.scope_region(Some("420281")), "420281");
        // None of the built-in sections lies in 黄石.
        assert!(p.sections().is_empty());
        assert_eq!(p.county_at(114.2554, 30.5127), None, "武汉 is outside 黄石");
        let e: Envelope = serde_json::from_value(serde_json::json!({
            "id": "x", "time": "2026-01-01T00:00:00Z", "type": "water.fishing_patrol",
            "data": {"patrol": "F1", "lon": 114.2554, "lat": 30.5127, "officers": 3, "hours": 1.0,
                     "violations": 0}
        }))
        .expect("a fishing patrol");
        let err = p.locate(&e).expect_err("outside");
        assert_eq!(err.message, "lies outside 黄石市 (420200)");
    }

    #[test]
    fn a_deployment_s_sections_are_placed_and_checked() {
        let spec = |id: &str, lon: f64, lat: f64| SectionSpec {
            id: id.into(),
            name: format!("{id} name"),
            river: "长江".into(),
            body: yiping_protocol::water::WaterBody::River,
            lon,
            lat,
            target: None,
            origin: format!("yiping.toml line {}", id.len()),
        };
        let p = Places::new("420200", Some(vec![spec("a", 115.2, 30.17)])).expect("in 西塞山区");
        assert_eq!(p.sections()[0].adcode, "420203");
        let err = Places::new("420200", Some(vec![spec("bb", 114.2554, 30.5127)])).expect_err("武汉");
        assert_eq!(
            err.to_string(),
            "yiping.toml line 2: section \"bb\" at [114.2554, 30.5127] lies outside 黄石市 (420200)"
        );
        let twice = Places::new("420200", Some(vec![spec("a", 115.2, 30.17), spec("a", 115.0, 30.2)]));
        assert!(twice.expect_err("twice").to_string().contains("section id \"a\" is used twice"));
        Places::new("420900", None).map(|_| ()).expect("孝感 is a prefecture");
        assert!(
            Places::new("430000", None).expect_err("湖南").to_string().starts_with("root region \"430000\"")
        );
        assert!(
            Places::new("429004", None).expect_err("仙桃").to_string().contains("has no counties under it")
        );
    }
}
