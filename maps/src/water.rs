//! River lines and lake polygons from the shipped hydrography layers.

use std::str::FromStr;

use geo::{MultiLineString, MultiPolygon};
use geojson::FeatureCollection;

use crate::region::RegionError;

/// A river: its name when known, its WDBII rank (1 = major), and its line.
#[derive(Debug, Clone)]
pub struct River {
    /// `长江`, `汉江`, `清江`; `None` for unnamed rivers.
    pub name: Option<String>,
    /// WDBII level, 1 (major) to 4 (minor).
    pub rank: u8,
    /// The centreline.
    pub shape: MultiLineString<f64>,
}

/// A lake or river area.
#[derive(Debug, Clone)]
pub struct Lake {
    /// Name when known.
    pub name: Option<String>,
    /// The water area.
    pub shape: MultiPolygon<f64>,
}

fn collection(text: &str) -> Result<FeatureCollection, RegionError> {
    FeatureCollection::from_str(text).map_err(|e| RegionError::NotGeoJson(e.to_string()))
}

fn bad(index: usize, problem: String) -> RegionError {
    RegionError::BadFeature { index, adcode: "-".into(), field: "geometry", problem }
}

/// A feature's index, name, WDBII level and geometry.
type Feature = (usize, Option<String>, Option<u64>, geo::Geometry<f64>);

/// Each feature's name and geometry.
fn features(text: &str) -> Result<Vec<Feature>, RegionError> {
    collection(text)?
        .features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let name = f.property("name").and_then(|v| v.as_str()).map(str::to_owned);
            let level = f.property("wdb_level").and_then(|v| v.as_u64());
            let g = f.geometry.as_ref().ok_or_else(|| bad(i, "missing".into()))?;
            let g = geo::Geometry::<f64>::try_from(g).map_err(|e| bad(i, e.to_string()))?;
            Ok((i, name, level, g))
        })
        .collect()
}

/// Parse a river layer (LineString or MultiLineString features).
pub fn parse_rivers(text: &str) -> Result<Vec<River>, RegionError> {
    features(text)?
        .into_iter()
        .map(|(i, name, level, g)| {
            let shape = match g {
                geo::Geometry::LineString(l) => MultiLineString::new(vec![l]),
                geo::Geometry::MultiLineString(m) => m,
                _ => return Err(bad(i, "not a LineString or MultiLineString".into())),
            };
            Ok(River { name, rank: level.map_or(4, |l| l.clamp(1, 4) as u8), shape })
        })
        .collect()
}

/// Parse a lake layer (Polygon or MultiPolygon features).
pub fn parse_lakes(text: &str) -> Result<Vec<Lake>, RegionError> {
    features(text)?
        .into_iter()
        .map(|(i, name, _, g)| {
            let shape = match g {
                geo::Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
                geo::Geometry::MultiPolygon(m) => m,
                _ => return Err(bad(i, "not a Polygon or MultiPolygon".into())),
            };
            Ok(Lake { name, shape })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Layer;

    #[test]
    fn shipped_hydrography_parses_with_the_named_rivers_and_lakes() {
        let rivers = parse_rivers(Layer::Rivers.geojson()).expect("rivers parse");
        assert_eq!(rivers.len(), 33);
        for name in ["长江", "汉江", "清江"] {
            assert!(rivers.iter().any(|r| r.name.as_deref() == Some(name)), "{name}");
        }
        let lakes = parse_lakes(Layer::Lakes.geojson()).expect("lakes parse");
        assert_eq!(lakes.len(), 17);
        assert!(lakes.iter().any(|l| l.name.as_deref() == Some("洪湖")));
    }
}
