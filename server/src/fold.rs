//! The fold: validated events in, current state and headline figures out.
//!
//! Every figure the wall shows is computed here from the accepted events and nothing else, so it
//! can be recomputed from them (DESIGN §1).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use yiping_protocol::topics::{Overview, SectionStatus};
use yiping_protocol::water::{Indicators, WaterClass};

use crate::stations::Section;

/// One water-quality reading as a source delivers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaterReading {
    /// The source that produced it (e.g. `"simulator"`).
    pub source: String,
    /// The source's own id for it.
    pub id: String,
    /// Section id.
    pub section: String,
    /// Sampling time, UTC RFC 3339.
    pub time: String,
    /// The measured values.
    #[serde(flatten)]
    pub indicators: Indicators,
}

/// Why an event was refused: which field, which value, what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("field `{field}`: {problem} (value {value})")]
pub struct Rejection {
    /// The offending field.
    pub field: &'static str,
    /// Its value as received.
    pub value: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// Current state of the water theme.
#[derive(Debug)]
pub struct Fold {
    sections: Vec<Section>,
    index: HashMap<&'static str, usize>,
    latest: Vec<Option<(WaterClass, String)>>,
    readings_total: u64,
}

impl Fold {
    /// An empty fold over the known sections.
    pub fn new(sections: Vec<Section>) -> Fold {
        let index = sections.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        let latest = vec![None; sections.len()];
        Fold { sections, index, latest, readings_total: 0 }
    }

    /// The known sections.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// Validate a reading and fold it in; a rejected reading changes nothing.
    pub fn apply(&mut self, r: &WaterReading) -> Result<(), Rejection> {
        let &i = self.index.get(r.section.as_str()).ok_or_else(|| Rejection {
            field: "section",
            value: format!("{:?}", r.section),
            problem: "unknown monitoring section",
        })?;
        time::OffsetDateTime::parse(&r.time, &time::format_description::well_known::Rfc3339).map_err(
            |_| Rejection {
                field: "time",
                value: format!("{:?}", r.time),
                problem: "not an RFC 3339 timestamp",
            },
        )?;
        let x = &r.indicators;
        for (field, value, lo, hi) in [
            ("ph", x.ph, 0.0, 14.0),
            ("do_mg_l", x.do_mg_l, 0.0, 25.0),
            ("codmn_mg_l", x.codmn_mg_l, 0.0, 1000.0),
            ("nh3n_mg_l", x.nh3n_mg_l, 0.0, 1000.0),
            ("tp_mg_l", x.tp_mg_l, 0.0, 1000.0),
        ] {
            if !(lo..=hi).contains(&value) {
                return Err(Rejection {
                    field,
                    value: value.to_string(),
                    problem: "outside the physically possible range",
                });
            }
        }
        let class = x.class(self.sections[i].body);
        // Readings may arrive out of order: the latest by sampling time wins.
        let newer = match &self.latest[i] {
            Some((_, t)) => rfc3339_after(&r.time, t),
            None => true,
        };
        if newer {
            self.latest[i] = Some((class, r.time.clone()));
        }
        self.readings_total += 1;
        Ok(())
    }

    /// The headline figures.
    pub fn overview(&self) -> Overview {
        let sections: Vec<SectionStatus> = self
            .sections
            .iter()
            .zip(&self.latest)
            .map(|(s, l)| SectionStatus {
                id: s.id.to_owned(),
                name: s.name.to_owned(),
                river: s.river.to_owned(),
                body: s.body,
                adcode: s.adcode.clone(),
                lon: s.lon,
                lat: s.lat,
                class: l.as_ref().map(|(c, _)| *c),
                time: l.as_ref().map(|(_, t)| t.clone()),
            })
            .collect();
        let reporting = sections.iter().filter(|s| s.class.is_some()).count();
        let good = sections.iter().filter(|s| s.class.is_some_and(WaterClass::is_good)).count();
        Overview {
            readings_total: self.readings_total,
            sections_reporting: u32::try_from(reporting).unwrap_or(u32::MAX),
            sections_good: u32::try_from(good).unwrap_or(u32::MAX),
            sections,
        }
    }
}

fn rfc3339_after(a: &str, b: &str) -> bool {
    use time::format_description::well_known::Rfc3339;
    match (time::OffsetDateTime::parse(a, &Rfc3339), time::OffsetDateTime::parse(b, &Rfc3339)) {
        (Ok(a), Ok(b)) => a >= b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stations;

    fn reading(id: &str, section: &str, time: &str, tp: f64) -> WaterReading {
        WaterReading {
            source: "test".into(),
            id: id.into(),
            section: section.into(),
            time: time.into(),
            indicators: Indicators { ph: 7.5, do_mg_l: 8.0, codmn_mg_l: 2.5, nh3n_mg_l: 0.2, tp_mg_l: tp },
        }
    }

    #[test]
    fn overview_equals_a_recount_of_the_accepted_readings() {
        let mut f = Fold::new(stations::sections(&stations::counties()));
        // 杨泗港 class Ⅱ, then Ⅳ (TP 0.25 in a river); 洪湖 TP 0.08 in a lake: Ⅳ; 宗关 Ⅱ.
        let events = [
            reading("1", "cj-yangsigang", "2026-11-22T00:00:00Z", 0.08),
            reading("2", "hu-honghu", "2026-11-22T00:00:00Z", 0.08),
            reading("3", "hj-zongguan", "2026-11-22T00:00:00Z", 0.05),
            reading("4", "cj-yangsigang", "2026-11-22T04:00:00Z", 0.25),
            // Late arrival of an older sample: counted, but does not replace the latest class.
            reading("5", "hj-zongguan", "2026-11-21T20:00:00Z", 0.35),
        ];
        for e in &events {
            f.apply(e).expect("valid reading");
        }
        let o = f.overview();
        assert_eq!(o.readings_total, 5);
        assert_eq!(o.sections_reporting, 3);
        assert_eq!(o.sections_good, 1, "only 宗关 is class Ⅰ–Ⅲ: {o:?}");
        let yang = o.sections.iter().find(|s| s.id == "cj-yangsigang").expect("known");
        assert_eq!(yang.class, Some(WaterClass::IV));
        assert_eq!(yang.time.as_deref(), Some("2026-11-22T04:00:00Z"));
    }

    #[test]
    fn rejections_name_field_and_value_and_change_nothing() {
        let mut f = Fold::new(stations::sections(&stations::counties()));
        let before = f.overview();
        let e = f.apply(&reading("1", "nowhere", "2026-11-22T00:00:00Z", 0.1)).expect_err("unknown section");
        assert_eq!(e.to_string(), "field `section`: unknown monitoring section (value \"nowhere\")");
        let e = f.apply(&reading("1", "hu-honghu", "yesterday", 0.1)).expect_err("bad time");
        assert_eq!(e.field, "time");
        let e = f.apply(&reading("1", "hu-honghu", "2026-11-22T00:00:00Z", -0.1)).expect_err("negative TP");
        assert_eq!(e.to_string(), "field `tp_mg_l`: outside the physically possible range (value -0.1)");
        let e = f.apply(&reading("1", "hu-honghu", "2026-11-22T00:00:00Z", f64::NAN)).expect_err("NaN");
        assert_eq!(e.field, "tp_mg_l");
        assert_eq!(f.overview(), before);
    }
}
