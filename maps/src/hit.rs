//! Hit-testing: which region is at a point.
//!
//! Algorithm: an R-tree (`rstar`) over the regions' bounding boxes returns the few candidates whose
//! box holds the point; each is then tested exactly with `geo`'s point-in-polygon (`Contains`, which
//! respects holes, so an enclave belongs to the region around it only where it is not a hole).
//! A point exactly on a shared border is inside neither polygon; it is then given to the region
//! whose boundary it touches with the smallest adcode, so the answer is always defined and the
//! same on every machine.
//!
//! Cost: O(log n) candidates plus one exact test per candidate (a few hundred vertices for a
//! county). The same index serves the server (placing events in counties) and the map (what was
//! touched).
//!
//! ```
//! use yiping_maps::{data::Layer, hit::RegionIndex, parse_regions};
//! let index = RegionIndex::new(parse_regions(Layer::Prefectures.geojson()).unwrap());
//! assert_eq!(index.at(114.30, 30.59).map(|r| r.adcode.as_str()), Some("420100")); // 武汉
//! assert!(index.at(112.94, 28.23).is_none()); // 长沙, in Hunan
//! ```

use geo::{BoundingRect, Contains, Intersects, Point};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::Region;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Regions with a spatial index.
#[derive(Debug)]
pub struct RegionIndex {
    regions: Vec<Region>,
    tree: RTree<Entry>,
}

impl RegionIndex {
    /// Index `regions`.
    pub fn new(regions: Vec<Region>) -> RegionIndex {
        let entries = regions
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let b = r.shape.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]),
                    i,
                ))
            })
            .collect();
        RegionIndex { regions, tree: RTree::bulk_load(entries) }
    }

    /// The indexed regions, in the order given.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The region at `(lon, lat)`, if any (see the module docs for points on borders).
    pub fn at(&self, lon: f64, lat: f64) -> Option<&Region> {
        let p = Point::new(lon, lat);
        let mut candidates: Vec<&Region> =
            self.tree.locate_all_at_point(&[lon, lat]).map(|e| &self.regions[e.data]).collect();
        if let Some(r) = candidates.iter().find(|r| r.shape.contains(&p)) {
            return Some(r);
        }
        candidates.retain(|r| r.shape.intersects(&p));
        candidates.into_iter().min_by(|a, b| a.adcode.cmp(&b.adcode))
    }
}

#[cfg(test)]
mod tests {
    use geo::{Centroid, Polygon};

    use super::*;
    use crate::data::Layer;
    use crate::parse_regions;

    fn counties() -> RegionIndex {
        RegionIndex::new(parse_regions(Layer::Counties.geojson()).expect("county layer parses"))
    }

    #[test]
    fn known_places_fall_in_their_county() {
        let idx = counties();
        // (lon, lat, adcode): seats and landmarks by name, WGS84.
        for (lon, lat, adcode) in [
            (114.2554, 30.5127, "420105"), // 杨泗港, 汉阳区
            (114.2199, 30.5797, "420104"), // 宗关, 硚口区
            (115.8949, 29.7365, "421127"), // 中官铺, 黄梅县
            (110.6665, 31.7467, "429021"), // 松柏镇, 神农架林区
            (113.4479, 30.3674, "429004"), // 仙桃市
        ] {
            assert_eq!(idx.at(lon, lat).map(|r| r.adcode.as_str()), Some(adcode), "({lon}, {lat})");
        }
        assert!(idx.at(106.55, 29.56).is_none(), "重庆 is outside");
    }

    #[test]
    fn a_point_in_a_hole_belongs_to_the_region_filling_it() {
        let idx = counties();
        let mut checked = 0;
        for r in idx.regions() {
            for poly in &r.shape {
                for hole in poly.interiors() {
                    let inside_hole = Polygon::new(hole.clone(), vec![]).centroid().expect("a hole has area");
                    if !Polygon::new(hole.clone(), vec![]).contains(&inside_hole) {
                        continue; // a crescent-shaped hole: its centroid is outside it
                    }
                    let found = idx.at(inside_hole.x(), inside_hole.y());
                    assert_ne!(
                        found.map(|f| &f.adcode),
                        Some(&r.adcode),
                        "hole of {} ({})",
                        r.name,
                        r.adcode
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 5, "the county layer has enclaves to test ({checked})");
    }

    #[test]
    fn a_point_on_a_shared_border_has_one_answer() {
        let idx = counties();
        // A vertex of 武昌区's outline on the border with 洪山区 alone (not a point where three
        // counties meet): on both boundaries, inside neither.
        let wuchang = idx.regions().iter().find(|r| r.adcode == "420106").expect("武昌区");
        let shared = wuchang
            .shape
            .iter()
            .flat_map(|p| p.exterior().coords())
            .find(|c| {
                let touching: Vec<&str> = idx
                    .regions()
                    .iter()
                    .filter(|r| r.shape.intersects(&Point::from(**c)))
                    .map(|r| r.adcode.as_str())
                    .collect();
                touching == ["420106", "420111"]
            })
            .expect("武昌区 and 洪山区 share a border");
        let found = idx.at(shared.x, shared.y).map(|r| r.adcode.as_str());
        assert_eq!(found, Some("420106"), "the smaller adcode of the two");
    }
}
