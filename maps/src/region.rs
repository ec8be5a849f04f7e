//! Administrative regions parsed from a GeoJSON layer.
//!
//! Each feature must carry a 6-digit `adcode` (GB/T 2260) and a `name`, and have a Polygon or
//! MultiPolygon geometry. `name_short` is used when present (prefectures), otherwise `name`;
//! `label_lon`/`label_lat` give the label point, otherwise the polygon's centroid is used.
//! Errors say which feature (index and adcode when known) and which field is wrong.

use std::str::FromStr;

use geo::{BoundingRect, Centroid, Contains, Coord, MultiPolygon, Point};
use geojson::FeatureCollection;

/// One administrative region with its geometry.
#[derive(Debug, Clone)]
pub struct Region {
    /// GB/T 2260 code, e.g. `"420100"`.
    pub adcode: String,
    /// Full name, e.g. `"武汉市"`.
    pub name: String,
    /// Short name for labels, e.g. `"武汉"`.
    pub short_name: String,
    /// Where the label goes (WGS84).
    pub label: Coord<f64>,
    /// The region's area, WGS84 `[lon, lat]`.
    pub shape: MultiPolygon<f64>,
    /// The adcode of the region it belongs to (`parent_adcode`), when the layer says.
    pub parent: Option<String>,
}

impl Region {
    /// Does the region contain the point `(lon, lat)`? (Points on the border count as outside,
    /// as `geo::Contains` defines it.)
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.shape.contains(&Point::new(lon, lat))
    }
}

/// Why a layer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    /// The text is not a GeoJSON FeatureCollection.
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotGeoJson(String),
    /// A feature lacks a field or has a bad value.
    #[error("feature {index} ({adcode}): field `{field}`: {problem}")]
    BadFeature {
        /// Position of the feature in the collection.
        index: usize,
        /// The feature's adcode, or `?` when that is the missing field.
        adcode: String,
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// Parse every feature of an administrative layer.
pub fn parse_regions(geojson: &str) -> Result<Vec<Region>, RegionError> {
    let fc = FeatureCollection::from_str(geojson).map_err(|e| RegionError::NotGeoJson(e.to_string()))?;
    fc.features
        .into_iter()
        .enumerate()
        .map(|(index, f)| {
            let bad = |adcode: &str, field: &'static str, problem: String| RegionError::BadFeature {
                index,
                adcode: adcode.to_owned(),
                field,
                problem,
            };
            let text = |key: &str| f.property(key).and_then(|v| v.as_str()).map(str::to_owned);
            let adcode =
                text("adcode").ok_or_else(|| bad("?", "adcode", "missing or not a string".into()))?;
            if adcode.len() != 6 || !adcode.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("?", "adcode", format!("{adcode:?} is not 6 digits")));
            }
            let name = text("name").ok_or_else(|| bad(&adcode, "name", "missing or not a string".into()))?;
            let short_name = text("name_short").unwrap_or_else(|| name.clone());
            let geometry = f.geometry.as_ref().ok_or_else(|| bad(&adcode, "geometry", "missing".into()))?;
            let shape = match geo::Geometry::<f64>::try_from(geometry) {
                Ok(geo::Geometry::Polygon(p)) => MultiPolygon::new(vec![p]),
                Ok(geo::Geometry::MultiPolygon(mp)) => mp,
                Ok(_) => {
                    return Err(bad(&adcode, "geometry", "not a Polygon or MultiPolygon".into()));
                }
                Err(e) => return Err(bad(&adcode, "geometry", e.to_string())),
            };
            let num = |key: &str| f.property(key).and_then(|v| v.as_f64());
            let label = match (num("label_lon"), num("label_lat")) {
                (Some(x), Some(y)) => Coord { x, y },
                _ => shape.centroid().map(|p| p.0).ok_or_else(|| bad(&adcode, "geometry", "empty".into()))?,
            };
            let parent = text("parent_adcode");
            Ok(Region { adcode, name, short_name, label, shape, parent })
        })
        .collect()
}

/// The bounding box `[min_lon, min_lat, max_lon, max_lat]` of a set of regions.
pub fn bbox(regions: &[Region]) -> Option<[f64; 4]> {
    regions
        .iter()
        .filter_map(|r| r.shape.bounding_rect())
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
        .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Layer;

    fn prefectures() -> Vec<Region> {
        parse_regions(Layer::Prefectures.geojson()).expect("the shipped prefecture layer parses")
    }

    #[test]
    fn shipped_layers_have_17_prefectures_and_103_counties() {
        let p = prefectures();
        assert_eq!(p.len(), 17);
        assert!(p.iter().any(|r| r.adcode == "420100" && r.short_name == "武汉"));
        assert!(p.iter().any(|r| r.adcode == "429021" && r.name == "神农架林区"));
        let c = parse_regions(Layer::Counties.geojson()).expect("county layer parses");
        assert_eq!(c.len(), 103);
        // Every county names its prefecture, one of the 17.
        let p17: Vec<&str> = p.iter().map(|r| r.adcode.as_str()).collect();
        assert!(c.iter().all(|r| r.parent.as_deref().is_some_and(|a| p17.contains(&a))));
        assert_eq!(c.iter().filter(|r| r.parent.as_deref() == Some("420100")).count(), 13);
        let province = parse_regions(Layer::Province.geojson()).expect("province layer parses");
        assert_eq!(province.len(), 1);
        assert_eq!(province[0].adcode, "420000");
    }

    #[test]
    fn bbox_is_hubei() {
        let b = bbox(&prefectures()).expect("non-empty");
        // From the data's build report: 108.3625, 29.0326, 116.1299, 33.2775.
        for (got, want) in b.iter().zip([108.3625, 29.0326, 116.1299, 33.2775]) {
            assert!((got - want).abs() < 1e-3, "{b:?}");
        }
    }

    #[test]
    fn prefecture_seats_fall_in_their_own_prefecture() {
        // Seat coordinates from shared/geo/facts.md (WGS84).
        let seats = [
            ("420100", 114.2931, 30.5868),
            ("420200", 115.0716, 30.2224),
            ("420300", 110.7826, 32.6491),
            ("420500", 111.2852, 30.7051),
            ("420600", 112.1381, 32.0444),
            ("420700", 114.8856, 30.3992),
            ("420800", 112.1984, 31.0376),
            ("420900", 113.9212, 30.9289),
            ("421000", 112.2324, 30.3294),
            ("421100", 114.8743, 30.4504),
            ("421200", 114.3236, 29.8353),
            ("421300", 113.3676, 31.7194),
            ("422800", 109.4821, 30.2857),
            ("429004", 113.4479, 30.3674),
            ("429005", 112.8913, 30.4239),
            ("429006", 113.1598, 30.6554),
            ("429021", 110.6665, 31.7467),
        ];
        let regions = prefectures();
        for (adcode, lon, lat) in seats {
            let hits: Vec<&str> =
                regions.iter().filter(|r| r.contains(lon, lat)).map(|r| r.adcode.as_str()).collect();
            assert_eq!(hits, vec![adcode], "seat of {adcode} at ({lon}, {lat})");
        }
        // Outside the province: Changsha (Hunan), Chongqing.
        for (lon, lat) in [(112.94, 28.23), (106.55, 29.56)] {
            assert!(regions.iter().all(|r| !r.contains(lon, lat)));
        }
    }

    #[test]
    fn errors_name_the_feature_and_field() {
        let err = parse_regions(r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"adcode":"420100","name":"武汉市"},"geometry":{"type":"Point","coordinates":[114.3,30.6]}}]}"#)
            .expect_err("a point is not a region");
        assert_eq!(err.to_string(), "feature 0 (420100): field `geometry`: not a Polygon or MultiPolygon");
        let err = parse_regions(
            r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"adcode":"4201","name":"x"},"geometry":null}]}"#,
        )
        .expect_err("short adcode");
        assert_eq!(err.to_string(), "feature 0 (?): field `adcode`: \"4201\" is not 6 digits");
        assert!(matches!(parse_regions("[1,2]"), Err(RegionError::NotGeoJson(_))));
    }
}
