//! A simulated Hubei data source, for demonstrations and tests without the real platform.
//!
//! Every second it emits readings for two sections in turn (each of the 14 sections every 7 s).
//! Values are realistic for each water body — the Yangtze and Han mainstems mostly class Ⅱ
//! (2021 bulletins: 80 % Ⅱ, 20 % Ⅲ), the lakes mostly Ⅳ on total phosphorus — with a daily
//! dissolved-oxygen cycle (photosynthesis peaks mid-afternoon, Asia/Shanghai time), measurement
//! noise, and now and then an ammonia incident at a river section lasting a few minutes.
//!
//! The sequence of values depends only on the seed; the sampling time is the wall clock. Its
//! readings go through exactly the same validation and fold as any other source's.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use yiping_protocol::water::{Indicators, WaterBody};

use crate::fold::WaterReading;
use crate::stations::Section;

/// Sections sampled per tick.
const PER_TICK: usize = 2;
/// Chance per tick that an incident starts.
const INCIDENT_CHANCE: f64 = 1.0 / 900.0;
/// How many ticks an incident lasts.
const INCIDENT_TICKS: u64 = 180;

#[derive(Debug, Clone, Copy)]
struct Baseline {
    do_mg_l: f64,
    codmn: f64,
    nh3n: f64,
    tp: f64,
}

fn baseline(s: &Section) -> Baseline {
    match (s.body, s.river) {
        (WaterBody::River, "长江") => Baseline { do_mg_l: 8.2, codmn: 2.2, nh3n: 0.18, tp: 0.085 },
        (WaterBody::River, _) => Baseline { do_mg_l: 8.6, codmn: 2.5, nh3n: 0.14, tp: 0.06 },
        (WaterBody::Lake, "梁子湖") => Baseline { do_mg_l: 8.0, codmn: 3.6, nh3n: 0.2, tp: 0.03 },
        (WaterBody::Lake, "斧头湖") => Baseline { do_mg_l: 7.6, codmn: 4.5, nh3n: 0.3, tp: 0.045 },
        (WaterBody::Lake, _) => Baseline { do_mg_l: 7.2, codmn: 5.0, nh3n: 0.4, tp: 0.075 },
    }
}

/// The simulator's state.
#[derive(Debug)]
pub struct Simulator {
    rng: ChaCha8Rng,
    seed: u64,
    sections: Vec<Section>,
    tick: u64,
    emitted: u64,
    /// (section index, last tick) of the running incident.
    incident: Option<(usize, u64)>,
}

impl Simulator {
    /// A simulator over `sections`, deterministic for `seed`.
    pub fn new(seed: u64, sections: Vec<Section>) -> Simulator {
        Simulator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            sections,
            tick: 0,
            emitted: 0,
            incident: None,
        }
    }

    /// Noise with mean 0 and standard deviation about `sd` (Irwin–Hall approximation).
    fn noise(&mut self, sd: f64) -> f64 {
        let s: f64 = (0..6).map(|_| self.rng.random::<f64>()).sum();
        (s - 3.0) * sd * std::f64::consts::SQRT_2
    }

    /// The readings for one tick sampled at `now`.
    pub fn tick(&mut self, now: OffsetDateTime) -> Vec<WaterReading> {
        self.tick += 1;
        if self.incident.is_some_and(|(_, until)| self.tick > until) {
            self.incident = None;
        }
        if self.incident.is_none() && self.rng.random::<f64>() < INCIDENT_CHANCE {
            let rivers: Vec<usize> =
                (0..self.sections.len()).filter(|&i| self.sections[i].body == WaterBody::River).collect();
            if !rivers.is_empty() {
                let i = rivers[self.rng.random_range(0..rivers.len())];
                self.incident = Some((i, self.tick + INCIDENT_TICKS));
            }
        }
        let local_hour = f64::from((now.hour() + 8) % 24) + f64::from(now.minute()) / 60.0;
        let diurnal = ((local_hour - 8.0) / 24.0 * std::f64::consts::TAU).sin();
        let time = now.format(&Rfc3339).expect("an OffsetDateTime always formats as RFC 3339");
        let n = self.sections.len();
        let mut out = Vec::with_capacity(PER_TICK);
        for k in 0..PER_TICK.min(n) {
            let i = (usize::try_from(self.tick).unwrap_or(0) * PER_TICK + k) % n;
            let b = baseline(&self.sections[i]);
            let spike = if self.incident.is_some_and(|(j, _)| j == i) { 1.4 } else { 0.0 };
            let indicators = Indicators {
                ph: round2(7.6 + 0.25 * diurnal + self.noise(0.08)),
                do_mg_l: round2((b.do_mg_l + 0.7 * diurnal + self.noise(0.25) - spike).max(0.5)),
                codmn_mg_l: round2((b.codmn * (1.0 + self.noise(0.08))).max(0.1)),
                nh3n_mg_l: round3((b.nh3n * (1.0 + self.noise(0.15)) + spike).max(0.01)),
                tp_mg_l: round3((b.tp * (1.0 + self.noise(0.12))).max(0.002)),
            };
            self.emitted += 1;
            out.push(WaterReading {
                source: "simulator".into(),
                id: format!("sim-{}-{}", self.seed, self.emitted),
                section: self.sections[i].id.to_owned(),
                time: time.clone(),
                indicators,
            });
        }
        out
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stations;
    use yiping_protocol::water::WaterClass;

    fn run(seed: u64, ticks: u64) -> Vec<WaterReading> {
        let sections = stations::sections(&stations::counties());
        let mut sim = Simulator::new(seed, sections);
        let t0 = OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("valid");
        (0..ticks).flat_map(|i| sim.tick(t0 + time::Duration::seconds(i as i64))).collect()
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        assert_eq!(run(7, 50), run(7, 50));
        assert_ne!(run(7, 50), run(8, 50));
    }

    #[test]
    fn classes_look_like_hubei_bulletins_and_pass_validation() {
        let sections = stations::sections(&stations::counties());
        let mut fold = crate::fold::Fold::new(sections.clone());
        let readings = run(1, 24 * 3600 / 10);
        let (mut main_good, mut main_n, mut lake_bad, mut lake_n) = (0, 0, 0, 0);
        for r in &readings {
            fold.apply(r).expect("simulated readings are valid");
            let s = sections.iter().find(|s| s.id == r.section).expect("known section");
            let class = r.indicators.class(s.body);
            match s.body {
                WaterBody::River => {
                    main_n += 1;
                    main_good += usize::from(class <= WaterClass::III);
                }
                WaterBody::Lake => {
                    lake_n += 1;
                    lake_bad += usize::from(class >= WaterClass::IV);
                }
            }
        }
        let main_share = main_good as f64 / main_n as f64;
        let lake_share = lake_bad as f64 / lake_n as f64;
        assert!(main_share > 0.85, "mainstem Ⅰ–Ⅲ share {main_share}");
        assert!((0.3..0.9).contains(&lake_share), "lake Ⅳ+ share {lake_share}");
        // Every section is sampled.
        assert_eq!(fold.overview().sections_reporting as usize, sections.len());
    }
}
