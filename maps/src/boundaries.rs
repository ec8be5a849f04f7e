//! A deployment's administrative boundaries: the layers that ship with the product, or the
//! deployment's own official files (GeoJSON with adcodes; a map shown in public in China needs an
//! approved map number, 审图号, which the shipped layers do not have), checked before any use.
//!
//! Algorithm: each layer is parsed into [`Region`]s ([`crate::parse_regions`]: six-digit adcodes,
//! names, polygonal geometry), then the layers are checked together: one province; adcodes unique
//! across the three layers; every prefecture under the province (its `parent_adcode`, when
//! given, is the province's, and its code starts with the province's two digits); every county's
//! `parent_adcode` one of the prefectures; every shape valid by OGC rules (`geo`'s
//! [`Validation`]: closed rings, no self-intersections, holes inside their shell). Every problem
//! is reported, each naming the file, the feature's position and adcode, and the field.
//!
//! Caveats: the checks are structural. Whether the prefectures tile the province exactly (gaps and
//! overlaps between neighbours) is not checked: official data is trusted to agree with itself
//! there, and a point in a gap is refused at ingest as outside every county.
//!
//! ```
//! use yiping_maps::boundaries::Boundaries;
//! let shipped = Boundaries::shipped();
//! assert!(shipped.is_shipped());
//! assert_eq!((shipped.prefectures.len(), shipped.counties.len()), (17, 103));
//! let broken = Boundaries::check(
//!     ("province.geojson", r#"{"type":"FeatureCollection","features":[]}"#),
//!     ("prefectures.geojson", r#"{"type":"FeatureCollection","features":[]}"#),
//!     ("counties.geojson", r#"{"type":"FeatureCollection","features":[]}"#),
//! );
//! assert_eq!(broken.unwrap_err()[0], "province.geojson: 0 features; expected exactly one, the province");
//! ```

use std::collections::HashMap;

use geo::Validation;

use crate::data::Layer;
use crate::{Region, parse_regions};

/// The three administrative layers of a deployment, parsed and checked, with their GeoJSON text
/// (what the server publishes for the wall to draw).
#[derive(Debug, Clone)]
pub struct Boundaries {
    /// The province (one region).
    pub province: Vec<Region>,
    /// Its prefecture-level divisions.
    pub prefectures: Vec<Region>,
    /// Its county-level divisions.
    pub counties: Vec<Region>,
    /// The GeoJSON texts, province, prefectures, counties (None: the shipped layers).
    texts: Option<[String; 3]>,
}

impl Boundaries {
    /// The shipped layers (tested in this crate).
    pub fn shipped() -> Boundaries {
        let parse = |l: Layer| parse_regions(l.geojson()).expect("the shipped layers are valid (tested)");
        Boundaries {
            province: parse(Layer::Province),
            prefectures: parse(Layer::Prefectures),
            counties: parse(Layer::Counties),
            texts: None,
        }
    }

    /// Are these the shipped layers?
    pub fn is_shipped(&self) -> bool {
        self.texts.is_none()
    }

    /// The GeoJSON text of an administrative layer: the deployment's, or the shipped one.
    pub fn geojson(&self, layer: Layer) -> &str {
        let i = match layer {
            Layer::Province => 0,
            Layer::Prefectures => 1,
            Layer::Counties => 2,
            Layer::Rivers | Layer::Lakes => return layer.geojson(),
        };
        self.texts.as_ref().map_or_else(|| layer.geojson(), |t| t[i].as_str())
    }

    /// Parse and check a deployment's layers, each given as (file name, GeoJSON text); every
    /// problem found, one per line, when they do not pass.
    pub fn check(
        province: (&str, &str),
        prefectures: (&str, &str),
        counties: (&str, &str),
    ) -> Result<Boundaries, Vec<String>> {
        let mut problems = Vec::new();
        let mut parse = |(file, text): (&str, &str)| match parse_regions(text) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{file}: {e}"));
                Vec::new()
            }
        };
        let (p, f, c) = (parse(province), parse(prefectures), parse(counties));
        if problems.is_empty() {
            problems = check_layers([(province.0, &p), (prefectures.0, &f), (counties.0, &c)]);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let texts = Some([province.1.to_owned(), prefectures.1.to_owned(), counties.1.to_owned()]);
        Ok(Boundaries { province: p, prefectures: f, counties: c, texts })
    }
}

/// The checks across the three parsed layers (see the module's docs).
fn check_layers(layers: [(&str, &Vec<Region>); 3]) -> Vec<String> {
    let mut problems = Vec::new();
    let [(pfile, province), (ffile, prefectures), (cfile, counties)] = layers;
    if province.len() != 1 {
        problems.push(format!("{pfile}: {} features; expected exactly one, the province", province.len()));
    }
    let mut seen: HashMap<&str, (&str, usize)> = HashMap::new();
    for (file, regions) in layers {
        for (i, r) in regions.iter().enumerate() {
            // A county-level unit governed by the province directly (仙桃, 神农架) is its own
            // prefecture-level unit: one code in both layers, its own parent.
            let both = file == cfile && r.parent.as_deref() == Some(r.adcode.as_str());
            if let Some((f, j)) = seen.insert(&r.adcode, (file, i))
                && !(both && f == ffile)
            {
                problems.push(format!(
                    "{file}: feature {i} ({}): field `adcode`: also the code of feature {j} of {f}",
                    r.adcode
                ));
            }
            if let Err(e) = r.shape.check_validation() {
                problems
                    .push(format!("{file}: feature {i} ({}): field `geometry`: not valid: {e}", r.adcode));
            }
        }
    }
    if let Some(p) = province.first() {
        for (i, r) in prefectures.iter().enumerate() {
            let here = format!("{ffile}: feature {i} ({})", r.adcode);
            if r.parent.as_deref().is_some_and(|a| a != p.adcode) {
                problems.push(format!(
                    "{here}: field `parent_adcode`: {:?} is not the province ({})",
                    r.parent.as_deref().unwrap_or(""),
                    p.adcode
                ));
            }
            if r.adcode.get(..2) != p.adcode.get(..2) {
                problems.push(format!("{here}: field `adcode`: not in the province {}", p.adcode));
            }
        }
    }
    for (i, r) in counties.iter().enumerate() {
        let here = format!("{cfile}: feature {i} ({})", r.adcode);
        match r.parent.as_deref() {
            None => problems
                .push(format!("{here}: field `parent_adcode`: missing; a county names its prefecture")),
            Some(a) if !prefectures.iter().any(|f| f.adcode == a) => {
                problems.push(format!("{here}: field `parent_adcode`: {a:?} is not a feature of {ffile}"));
            }
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layer of squares: (adcode, parent, [x0, y0, size]).
    fn layer(features: &[(&str, Option<&str>, [f64; 3])]) -> String {
        let f: Vec<serde_json::Value> = features
            .iter()
            .map(|(a, p, [x, y, s])| {
                let ring = vec![[*x, *y], [x + s, *y], [x + s, y + s], [*x, y + s], [*x, *y]];
                serde_json::json!({
                    "type": "Feature",
                    "properties": {"adcode": a, "name": format!("R{a}"), "parent_adcode": p},
                    "geometry": {"type": "Polygon", "coordinates": [ring]}
                })
            })
            .collect();
        serde_json::json!({"type": "FeatureCollection", "features": f}).to_string()
    }

    #[test]
    fn the_shipped_layers_pass_their_own_checks() {
        let s = Boundaries::shipped();
        let g = |l: Layer| (l.file_name(), l.geojson());
        let again = Boundaries::check(g(Layer::Province), g(Layer::Prefectures), g(Layer::Counties));
        assert!(again.is_ok(), "{:?}", again.err());
        assert_eq!(s.geojson(Layer::Counties), Layer::Counties.geojson());
    }

    #[test]
    fn a_deployment_s_layers_are_served_as_given() {
        let p = layer(&[("420000", None, [114.0, 30.0, 2.0])]);
        let f = layer(&[("420200", Some("420000"), [114.5, 30.5, 1.0])]);
        let c = layer(&[("420202", Some("420200"), [114.6, 30.6, 0.5])]);
        let b = Boundaries::check(("p", &p), ("f", &f), ("c", &c)).expect("valid");
        assert!(!b.is_shipped());
        assert_eq!(b.geojson(Layer::Counties), c);
        assert_eq!(b.counties[0].parent.as_deref(), Some("420200"));
    }

    #[test]
    fn every_problem_names_file_feature_and_field() {
        let p = layer(&[("420000", None, [114.0, 30.0, 2.0])]);
        let f = layer(&[("420200", Some("430000"), [114.5, 30.5, 1.0]), ("430100", None, [0.0, 0.0, 1.0])]);
        let mut c: serde_json::Value = serde_json::from_str(&layer(&[
            ("420202", Some("420900"), [114.6, 30.6, 0.5]),
            ("420202", Some("420200"), [0.0, 0.0, 1.0]),
        ]))
        .expect("json");
        // A bow tie: its one ring crosses itself.
        c["features"].as_array_mut().expect("features").push(serde_json::json!({
            "type": "Feature",
            "properties": {"adcode": "420203", "name": "X", "parent_adcode": "420200"},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
        }));
        let c = c.to_string();
        let Err(p) = Boundaries::check(
            ("province.geojson", &p),
            ("prefectures.geojson", &f),
            ("counties.geojson", &c),
        ) else {
            panic!("refused")
        };
        let expect = [
            "prefectures.geojson: feature 0 (420200): field `parent_adcode`: \"430000\" is not the province (420000)",
            "prefectures.geojson: feature 1 (430100): field `adcode`: not in the province 420000",
            "counties.geojson: feature 0 (420202): field `parent_adcode`: \"420900\" is not a feature of prefectures.geojson",
            "counties.geojson: feature 1 (420202): field `adcode`: also the code of feature 0 of counties.geojson",
            "counties.geojson: feature 2 (420203): field `geometry`: not valid:",
        ];
        for e in expect {
            assert!(p.iter().any(|l| l.starts_with(e)), "missing {e:?} in {p:#?}");
        }
        assert_eq!(p.len(), expect.len(), "{p:#?}");
        let Err(p) = Boundaries::check(("p", "{}"), ("f", &f), ("c", &c)) else { panic!("refused") };
        assert!(p[0].starts_with("p: not a GeoJSON FeatureCollection"), "{p:?}");
    }
}
