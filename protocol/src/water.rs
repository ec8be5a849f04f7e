//! Surface-water quality: readings and their class under GB 3838-2002.
//!
//! The class of a reading is the worst class over its indicators (the single-factor method used in
//! Chinese environmental bulletins). Limits are Table 1 of GB 3838-2002 (basic items): a value equal
//! to a class limit meets that class. pH must lie in 6–9 for every class; outside it the reading is
//! 劣Ⅴ. Total phosphorus has stricter limits for lakes and reservoirs than for rivers.

use serde::{Deserialize, Serialize};

/// Water-quality class Ⅰ–劣Ⅴ, best first (so `Ord` means "worse than").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WaterClass {
    /// Ⅰ类: source water, national nature reserves.
    I,
    /// Ⅱ类: first-grade drinking-water protection zones.
    II,
    /// Ⅲ类: second-grade drinking-water zones, fisheries.
    III,
    /// Ⅳ类: industrial water, non-contact recreation.
    IV,
    /// Ⅴ类: agricultural water, landscape.
    V,
    /// 劣Ⅴ类: worse than Ⅴ.
    #[serde(rename = "WorseThanV")]
    WorseThanV,
}

impl WaterClass {
    /// All classes, best first.
    pub const ALL: [WaterClass; 6] = [
        WaterClass::I,
        WaterClass::II,
        WaterClass::III,
        WaterClass::IV,
        WaterClass::V,
        WaterClass::WorseThanV,
    ];

    /// The wire name (as serialised, and as an entity's status): `I` … `WorseThanV`.
    pub fn code(self) -> &'static str {
        match self {
            WaterClass::I => "I",
            WaterClass::II => "II",
            WaterClass::III => "III",
            WaterClass::IV => "IV",
            WaterClass::V => "V",
            WaterClass::WorseThanV => "WorseThanV",
        }
    }

    /// The label used on Chinese reports: `Ⅰ` … `劣Ⅴ`.
    pub fn label(self) -> &'static str {
        match self {
            WaterClass::I => "Ⅰ",
            WaterClass::II => "Ⅱ",
            WaterClass::III => "Ⅲ",
            WaterClass::IV => "Ⅳ",
            WaterClass::V => "Ⅴ",
            WaterClass::WorseThanV => "劣Ⅴ",
        }
    }

    /// Position in [`WaterClass::ALL`]: 0 for Ⅰ … 5 for 劣Ⅴ.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Ⅰ–Ⅲ: the "good water" share reported against targets.
    pub fn is_good(self) -> bool {
        self <= WaterClass::III
    }
}

/// Kind of water body, which selects the total-phosphorus limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WaterBody {
    /// River section.
    River,
    /// Lake or reservoir point.
    Lake,
}

/// One monitoring reading of the basic indicators (mg/L except pH).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Indicators {
    /// pH (dimensionless).
    pub ph: f64,
    /// Dissolved oxygen, mg/L (higher is better).
    pub do_mg_l: f64,
    /// Permanganate index CODMn, mg/L.
    pub codmn_mg_l: f64,
    /// Ammonia nitrogen NH3-N, mg/L.
    pub nh3n_mg_l: f64,
    /// Total phosphorus TP, mg/L.
    pub tp_mg_l: f64,
}

// Limits for classes Ⅰ..Ⅴ (GB 3838-2002 Table 1).
const DO_MIN: [f64; 5] = [7.5, 6.0, 5.0, 3.0, 2.0];
const CODMN_MAX: [f64; 5] = [2.0, 4.0, 6.0, 10.0, 15.0];
const NH3N_MAX: [f64; 5] = [0.15, 0.5, 1.0, 1.5, 2.0];
const TP_RIVER_MAX: [f64; 5] = [0.02, 0.1, 0.2, 0.3, 0.4];
const TP_LAKE_MAX: [f64; 5] = [0.01, 0.025, 0.05, 0.1, 0.2];

fn class_at_most(value: f64, limits: &[f64; 5]) -> WaterClass {
    limits.iter().position(|&l| value <= l).map_or(WaterClass::WorseThanV, |i| WaterClass::ALL[i])
}

fn class_at_least(value: f64, limits: &[f64; 5]) -> WaterClass {
    limits.iter().position(|&l| value >= l).map_or(WaterClass::WorseThanV, |i| WaterClass::ALL[i])
}

impl Indicators {
    /// The class of this reading for a water body of the given kind (worst single indicator).
    /// A non-finite value (NaN) cannot meet any limit and yields 劣Ⅴ.
    pub fn class(&self, body: WaterBody) -> WaterClass {
        let ph = if (6.0..=9.0).contains(&self.ph) { WaterClass::I } else { WaterClass::WorseThanV };
        let tp_limits = match body {
            WaterBody::River => &TP_RIVER_MAX,
            WaterBody::Lake => &TP_LAKE_MAX,
        };
        [
            ph,
            class_at_least(self.do_mg_l, &DO_MIN),
            class_at_most(self.codmn_mg_l, &CODMN_MAX),
            class_at_most(self.nh3n_mg_l, &NH3N_MAX),
            class_at_most(self.tp_mg_l, tp_limits),
        ]
        .into_iter()
        .max()
        .unwrap_or(WaterClass::WorseThanV)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> Indicators {
        Indicators { ph: 7.6, do_mg_l: 8.0, codmn_mg_l: 1.5, nh3n_mg_l: 0.1, tp_mg_l: 0.01 }
    }

    #[test]
    fn clean_water_is_class_one_and_limits_are_inclusive() {
        assert_eq!(clean().class(WaterBody::River), WaterClass::I);
        let at_limits = Indicators { ph: 6.0, do_mg_l: 7.5, codmn_mg_l: 2.0, nh3n_mg_l: 0.15, tp_mg_l: 0.02 };
        assert_eq!(at_limits.class(WaterBody::River), WaterClass::I);
        assert_eq!(Indicators { tp_mg_l: 0.021, ..at_limits }.class(WaterBody::River), WaterClass::II);
    }

    #[test]
    fn the_worst_indicator_decides() {
        // Typical Yangtze mainstem: class Ⅱ by TP.
        let r = Indicators { tp_mg_l: 0.08, ..clean() };
        assert_eq!(r.class(WaterBody::River), WaterClass::II);
        // The same TP in a lake is class Ⅳ (lake limits are stricter).
        assert_eq!(r.class(WaterBody::Lake), WaterClass::IV);
        // Low oxygen dominates.
        assert_eq!(Indicators { do_mg_l: 4.0, ..r }.class(WaterBody::River), WaterClass::IV);
        // Ammonia beyond Ⅴ: 劣Ⅴ.
        assert_eq!(Indicators { nh3n_mg_l: 2.5, ..r }.class(WaterBody::River), WaterClass::WorseThanV);
        assert_eq!(Indicators { do_mg_l: 1.9, ..clean() }.class(WaterBody::River), WaterClass::WorseThanV);
    }

    #[test]
    fn ph_out_of_range_and_nan_are_worse_than_v() {
        assert_eq!(Indicators { ph: 9.2, ..clean() }.class(WaterBody::River), WaterClass::WorseThanV);
        assert_eq!(Indicators { ph: 5.9, ..clean() }.class(WaterBody::Lake), WaterClass::WorseThanV);
        assert_eq!(
            Indicators { nh3n_mg_l: f64::NAN, ..clean() }.class(WaterBody::River),
            WaterClass::WorseThanV
        );
    }

    #[test]
    fn labels_and_good_share() {
        let labels: Vec<_> = WaterClass::ALL.iter().map(|c| c.label()).collect();
        assert_eq!(labels, ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ"]);
        assert!(WaterClass::III.is_good() && !WaterClass::IV.is_good());
        assert!(WaterClass::ALL.iter().enumerate().all(|(i, c)| c.index() == i));
    }
}
