//! The water-quality monitoring sections: the ones the embedded (province) deployment knows, or
//! a deployment's own (`[[sections]]` in `yiping.toml`, see [`crate::site`]).
//!
//! Names and approximate positions come from `shared/geo/facts.md` (Wuhan monitoring reports and the
//! provincial notices on national assessment sections); positions are estimates snapped to the
//! shipped river lines (±3–5 km), lake points are the lakes' label points. Each section is placed in
//! its county by point-in-polygon on the county layer, the same geometry the map draws
//! ([`crate::places::Places`]).

use yiping_protocol::water::{WaterBody, WaterClass};

/// One monitoring section: as described ([`SectionSpec`], whose fields it reads through), placed
/// in its county.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The section as described.
    pub spec: SectionSpec,
    /// County adcode, from the county layer.
    pub adcode: String,
}

impl std::ops::Deref for Section {
    type Target = SectionSpec;

    fn deref(&self) -> &SectionSpec {
        &self.spec
    }
}

/// A section as a deployment describes it, before it is placed in a county.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionSpec {
    /// Stable id used by events.
    pub id: String,
    /// Section name.
    pub name: String,
    /// River or lake.
    pub river: String,
    /// River section or lake point.
    pub body: WaterBody,
    /// WGS84 longitude.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// The class the plan in force sets (None: the rules' target for its kind of water body).
    pub target: Option<WaterClass>,
    /// Where it was described (`yiping.toml line 12`), for errors.
    pub origin: String,
}

const SECTIONS: [(&str, &str, &str, WaterBody, f64, f64); 14] = [
    ("cj-guandukou", "官渡口", "长江", WaterBody::River, 110.3498, 31.0473),
    ("cj-nanjinguan", "南津关", "长江", WaterBody::River, 111.2747, 30.7403),
    ("cj-guanyinsi", "观音寺", "长江", WaterBody::River, 112.1006, 30.2931),
    ("cj-shamao", "纱帽", "长江", WaterBody::River, 114.0814, 30.3094),
    ("cj-yangsigang", "杨泗港", "长江", WaterBody::River, 114.2554, 30.5127),
    ("cj-baihushan", "白浒山", "长江", WaterBody::River, 114.5511, 30.6259),
    ("cj-zhongguanpu", "中官铺", "长江", WaterBody::River, 115.8949, 29.7365),
    ("hj-xingou", "新沟", "汉江", WaterBody::River, 113.9233, 30.6300),
    ("hj-zongguan", "宗关", "汉江", WaterBody::River, 114.2199, 30.5797),
    ("hj-longwangmiao", "龙王庙", "汉江", WaterBody::River, 114.2799, 30.5644),
    ("hu-honghu", "洪湖湖心", "洪湖", WaterBody::Lake, 113.2849, 29.8458),
    ("hu-futouhu", "斧头湖湖心", "斧头湖", WaterBody::Lake, 114.2182, 30.0174),
    ("hu-liangzihu", "梁子湖湖心", "梁子湖", WaterBody::Lake, 114.4300, 30.2131),
    ("hu-donghu", "东湖湖心", "东湖", WaterBody::Lake, 114.3483, 30.5365),
];

/// The built-in sections (湖北), as specs.
pub fn builtin() -> Vec<SectionSpec> {
    SECTIONS
        .iter()
        .map(|&(id, name, river, body, lon, lat)| SectionSpec {
            id: id.into(),
            name: name.into(),
            river: river.into(),
            body,
            lon,
            lat,
            target: None,
            origin: "built in".into(),
        })
        .collect()
}

impl SectionSpec {
    /// The section, placed in county `adcode`.
    pub fn placed(self, adcode: String) -> Section {
        Section { spec: self, adcode }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_lies_in_the_expected_county() {
        let places = crate::places::Places::hubei();
        let s = places.sections();
        assert_eq!(s.len(), builtin().len(), "every built-in section lies in a county of the province");
        let by_id = |id: &str| s.iter().find(|x| x.id == id).map(|x| x.adcode.as_str());
        // Spot checks by place name: 南津关 in 宜昌 (420500 prefix), 杨泗港 in 武汉 汉阳区 420105,
        // 宗关 in 硚口区 420104, 中官铺 in 黄梅县 421127. 洪湖 spans 洪湖市 and 监利市; its
        // label point (used as the lake-centre point) lies in 监利市 421088.
        assert!(by_id("cj-nanjinguan").is_some_and(|a| a.starts_with("4205")));
        assert_eq!(by_id("cj-yangsigang"), Some("420105"));
        assert_eq!(by_id("hj-zongguan"), Some("420104"));
        assert_eq!(by_id("cj-zhongguanpu"), Some("421127"));
        assert_eq!(by_id("hu-honghu"), Some("421088"));
        assert!(s.iter().all(|x| x.adcode.starts_with("42")));
    }
}
