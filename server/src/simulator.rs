//! A simulated Hubei data platform, for demonstrations and tests without the real one.
//!
//! It produces events of all four themes through exactly the same validation, log and fold as any
//! other source (it submits them to the ingest pipeline as source `simulator`):
//!
//! - 长江大保护: hourly readings at the 14 known sections (mainstems mostly class Ⅱ, lakes mostly
//!   Ⅳ on phosphorus, a daily dissolved-oxygen cycle, now and then an ammonia incident), 36 sewage
//!   outlets along the 长江 and 汉江 moving from identified to remediated, fishing-ban patrols;
//! - 河湖长制: a roster of chiefs at five levels in every county patrolling their rivers, problems
//!   found on patrol and handled until closed (some left open for long);
//! - 重大项目: about 150 projects placed by the prefectures' economic weight, with industry chains,
//!   investment plans and approval steps with due dates; some fall behind;
//! - 精准脱贫: three monitored villages per county with households, relapse risk, income and
//!   assistance, reported monthly.
//!
//! `speed` multiplies the rate of activity (60 = one hour's activity per real minute); event times
//! are the clock passed in (the real time when serving). Values and the order of events depend only
//! on the seed; event ids carry the run's start so that a restarted simulator never collides with
//! events of an earlier run.

use std::f64::consts::TAU;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use yiping_maps::data::Layer;
use yiping_protocol::events::{
    ChiefLevel, Envelope, Event, FishingPatrol, OutletStatus, ProblemKind, ProblemStatus, Project,
    ProjectStep, RiverPatrol, RiverProblem, SewageOutlet, StepKind, Village, WaterReading,
};
use yiping_protocol::instant::{Date, EventTime, Timestamp};
use yiping_protocol::water::WaterBody;

use crate::places::Places;

/// The source name of simulated events.
pub const SOURCE: &str = "simulator";

#[derive(Debug, Clone)]
struct County {
    adcode: String,
    name: String,
    lon: f64,
    lat: f64,
    weight: f64,
}

#[derive(Debug, Clone)]
struct Chief {
    id: String,
    name: String,
    level: ChiefLevel,
    river: String,
    lon: f64,
    lat: f64,
}

#[derive(Debug, Clone)]
struct OpenProblem {
    id: String,
    river: String,
    lon: f64,
    lat: f64,
    kind: ProblemKind,
    status: ProblemStatus,
    found: String,
    /// Slow problems stay open for long (they should raise alerts).
    slow: bool,
}

#[derive(Debug, Clone)]
struct Baseline {
    do_mg_l: f64,
    codmn: f64,
    nh3n: f64,
    tp: f64,
}

/// The simulator's state.
#[derive(Debug)]
pub struct Simulator {
    rng: ChaCha8Rng,
    places: Arc<Places>,
    run: String,
    emitted: u64,
    speed: f64,
    started: bool,
    counties: Vec<County>,
    river_points: Vec<(&'static str, f64, f64)>,
    outlets: Vec<SewageOutlet>,
    chiefs: Vec<Chief>,
    problems: Vec<OpenProblem>,
    projects: Vec<Project>,
    villages: Vec<Village>,
    /// Seconds until each section's next reading.
    section_due: Vec<f64>,
    incident: Option<(usize, f64)>,
}

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何",
    "郭", "马", "罗",
];
const GIVEN: [&str; 20] = [
    "建国", "志强", "海燕", "俊", "红梅", "伟", "静", "军", "丽", "勇", "明", "芳", "斌", "平", "华", "敏",
    "涛", "霞", "磊", "娟",
];

fn rivers_of(prefecture: &str) -> &'static [&'static str] {
    match prefecture {
        "420100" => &["长江", "汉江", "府河", "滠水", "倒水", "举水", "东湖", "汤逊湖"],
        "420200" => &["长江", "富水", "大冶湖", "保安湖"],
        "420300" => &["汉江", "堵河", "神定河", "丹江口水库"],
        "420500" => &["长江", "清江", "黄柏河", "香溪河", "沮河"],
        "420600" => &["汉江", "唐白河", "滚河", "蛮河"],
        "420700" => &["长江", "梁子湖", "鸭儿湖"],
        "420800" => &["汉江", "漳河", "竹皮河"],
        "420900" => &["澴水", "汉北河", "府河", "涢水"],
        "421000" => &["长江", "四湖总干渠", "洪湖", "长湖", "沮漳河"],
        "421100" => &["长江", "巴河", "浠水", "蕲河", "举水"],
        "421200" => &["长江", "陆水", "斧头湖", "西凉湖"],
        "421300" => &["涢水", "漂水", "府河"],
        "422800" => &["清江", "酉水", "溇水", "唐岩河"],
        "429004" => &["汉江", "东荆河", "通顺河"],
        "429005" => &["汉江", "东荆河"],
        "429006" => &["汉北河", "天门河"],
        _ => &["香溪河", "南河"],
    }
}

fn industries_of(prefecture: &str) -> &'static [&'static str] {
    match prefecture {
        "420100" => &["光电子信息", "新能源与智能网联汽车", "生物医药", "高端装备", "人工智能"],
        "420200" => &["先进材料", "高端装备", "节能环保"],
        "420300" => &["新能源与智能网联汽车", "绿色食品", "文化旅游"],
        "420500" => &["绿色化工", "生物医药", "清洁能源"],
        "420600" => &["新能源与智能网联汽车", "高端装备", "现代农业"],
        "420800" => &["新能源", "绿色化工", "通用航空"],
        "421000" => &["现代农业", "石油装备", "生物医药"],
        "421100" => &["生物医药", "新材料", "绿色食品"],
        _ => &["现代农业", "先进制造", "文化旅游", "现代物流"],
    }
}

fn baseline(body: WaterBody, river: &str) -> Baseline {
    match (body, river) {
        (WaterBody::River, "长江") => Baseline { do_mg_l: 8.2, codmn: 2.2, nh3n: 0.18, tp: 0.085 },
        (WaterBody::River, _) => Baseline { do_mg_l: 8.6, codmn: 2.5, nh3n: 0.14, tp: 0.06 },
        (WaterBody::Lake, "梁子湖") => Baseline { do_mg_l: 8.0, codmn: 3.6, nh3n: 0.2, tp: 0.03 },
        (WaterBody::Lake, "斧头湖") => Baseline { do_mg_l: 7.6, codmn: 4.5, nh3n: 0.3, tp: 0.045 },
        (WaterBody::Lake, _) => Baseline { do_mg_l: 7.2, codmn: 5.0, nh3n: 0.4, tp: 0.075 },
    }
}

fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}

/// The Beijing date `days` after the instant `t` (due dates are Beijing dates).
fn date_plus(t: OffsetDateTime, days: i64) -> Date {
    Timestamp::from_unix_s(t.unix_timestamp()).beijing_date().plus_days(days)
}

fn event_time(text: &str) -> EventTime {
    EventTime::parse(text).expect("the simulator writes RFC 3339 times")
}

impl Simulator {
    /// A simulator over `places`, deterministic for `seed`; `run_start` tags event ids.
    pub fn new(seed: u64, speed: f64, places: Arc<Places>, run_start: OffsetDateTime) -> Simulator {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let counties_layer = places.counties();
        // GDP-like weight by prefecture (shared/geo/facts.md, 亿元, approximate).
        let gdp = |p: &str| match p {
            "420100" => 20_000.0,
            "420600" | "420500" => 5_800.0,
            "421000" => 3_200.0,
            "421100" => 2_900.0,
            "420900" => 2_800.0,
            "420300" | "420800" => 2_300.0,
            "420200" => 2_100.0,
            "421200" => 1_900.0,
            "422800" => 1_500.0,
            "421300" => 1_350.0,
            "420700" => 1_250.0,
            "429004" => 1_050.0,
            "429005" => 900.0,
            "429006" => 800.0,
            _ => 45.0,
        };
        let counties: Vec<County> = counties_layer
            .iter()
            .map(|c| {
                let prefecture = places.prefecture(&c.adcode);
                let siblings = counties_layer
                    .iter()
                    .filter(|o| places.prefecture(&o.adcode) == prefecture)
                    .count()
                    .max(1);
                County {
                    adcode: c.adcode.clone(),
                    name: c.name.clone(),
                    lon: c.label.x,
                    lat: c.label.y,
                    weight: gdp(prefecture) / siblings as f64,
                }
            })
            .collect();
        // Points along the named rivers, inside the province, for outlets and fishing patrols.
        let rivers =
            yiping_maps::water::parse_rivers(Layer::Rivers.geojson()).expect("shipped rivers are valid");
        let mut river_points = Vec::new();
        for r in &rivers {
            let name: &'static str = match r.name.as_deref() {
                Some("长江") => "长江",
                Some("汉江") => "汉江",
                _ => continue,
            };
            for line in &r.shape {
                for c in line.coords().step_by(25) {
                    if places.county_at(c.x, c.y).is_some() {
                        river_points.push((name, c.x, c.y));
                    }
                }
            }
        }
        let mut chiefs = Vec::new();
        let levels = [(ChiefLevel::County, 1), (ChiefLevel::Township, 3), (ChiefLevel::Village, 6)];
        for c in &counties {
            let pref = places.prefecture(&c.adcode).to_owned();
            let rs = rivers_of(&pref);
            for (level, n) in levels {
                for _ in 0..n {
                    let name = format!(
                        "{}{}",
                        SURNAMES[rng.random_range(0..SURNAMES.len())],
                        GIVEN[rng.random_range(0..GIVEN.len())]
                    );
                    chiefs.push(Chief {
                        id: format!("HZ{}{:03}", c.adcode, chiefs.len() % 1000),
                        name,
                        level,
                        river: rs[rng.random_range(0..rs.len())].to_owned(),
                        lon: c.lon,
                        lat: c.lat,
                    });
                }
            }
        }
        let n_sections = places.sections().len();
        let section_due = (0..n_sections).map(|i| 60.0 + 3600.0 * i as f64 / n_sections as f64).collect();
        Simulator {
            rng,
            places,
            run: format!("{:x}", run_start.unix_timestamp()),
            emitted: 0,
            speed: speed.max(0.0),
            started: false,
            counties,
            river_points,
            outlets: Vec::new(),
            chiefs,
            problems: Vec::new(),
            projects: Vec::new(),
            villages: Vec::new(),
            section_due,
            incident: None,
        }
    }

    fn noise(&mut self, sd: f64) -> f64 {
        let s: f64 = (0..6).map(|_| self.rng.random::<f64>()).sum();
        (s - 3.0) * sd * std::f64::consts::SQRT_2
    }

    fn envelope(&mut self, time: &str, data: Event) -> Envelope {
        self.emitted += 1;
        Envelope {
            kind: data.kind().to_owned(),
            id: format!("sim-{}-{}", self.run, self.emitted),
            time: event_time(time),
            source: Some(SOURCE.to_owned()),
            data,
        }
    }

    /// Expected count `rate_per_s × dt` drawn as a whole number (Poisson-like, by Bernoulli parts).
    fn draws(&mut self, rate_per_s: f64, dt: f64) -> usize {
        let mean = rate_per_s * dt * self.speed;
        let whole = mean.floor();
        whole as usize + usize::from(self.rng.random::<f64>() < mean - whole)
    }

    fn pick_county(&mut self) -> County {
        let total: f64 = self.counties.iter().map(|c| c.weight).sum();
        let mut x = self.rng.random::<f64>() * total;
        for c in &self.counties {
            x -= c.weight;
            if x <= 0.0 {
                return c.clone();
            }
        }
        self.counties[0].clone()
    }

    fn registry(&mut self, now: OffsetDateTime, time: &str) -> Vec<Envelope> {
        let mut out = Vec::new();
        for i in 0..36.min(self.river_points.len()) {
            let k = i * self.river_points.len() / 36;
            let (river, lon, lat) = self.river_points[k];
            let status = match self.rng.random_range(0..10) {
                0..=5 => OutletStatus::Remediated,
                6..=8 => OutletStatus::Remediating,
                _ => OutletStatus::Identified,
            };
            let county =
                self.places.county_at(lon, lat).and_then(|a| self.places.name(a)).unwrap_or("").to_owned();
            let o = SewageOutlet {
                outlet: format!("PK{:03}", i + 1),
                name: format!("{county}{river}{}号入河排污口", i % 5 + 1),
                river: river.to_owned(),
                lon,
                lat,
                status,
            };
            self.outlets.push(o.clone());
            out.push(self.envelope(time, Event::SewageOutlet(o)));
        }
        for i in 0..150 {
            let c = self.pick_county();
            let pref = self.places.prefecture(&c.adcode).to_owned();
            let inds = industries_of(&pref);
            let industry = inds[self.rng.random_range(0..inds.len())];
            let plan = round(self.rng.random_range(5_000.0..300_000.0_f64), 0);
            // Life cycle: started between 2 years ago and 6 months ahead.
            let offset = self.rng.random_range(-720..180);
            let mut steps = Vec::new();
            let mut done_all = true;
            // After a late step the rest of the schedule is re-planned from today, as a project
            // office would; so a late project shows one overdue step, not a cascade.
            let mut replanned_from: Option<i64> = None;
            for (j, step) in StepKind::ALL.into_iter().enumerate() {
                let j = i64::try_from(j).unwrap_or(0);
                let extra = if step == StepKind::Acceptance { 360 } else { 0 };
                let due_days = match replanned_from {
                    Some(k) => 30 * (j - k) + extra,
                    None => offset + 30 * j + extra,
                };
                let late = due_days < 0 && done_all && self.rng.random_bool(0.04);
                let done = done_all && due_days < 0 && !late;
                if late {
                    replanned_from = Some(j);
                }
                done_all &= done;
                steps.push(ProjectStep {
                    step,
                    due: date_plus(now, due_days),
                    done: done.then(|| date_plus(now, due_days - self.rng.random_range(0..20))),
                });
            }
            let started = steps.iter().any(|s| s.step == StepKind::Start && s.done.is_some());
            let done_wan = if started { round(plan * self.rng.random_range(0.1..0.9), 0) } else { 0.0 };
            let p = Project {
                project: format!("XM{:04}", i + 1),
                name: format!(
                    "{}{}项目{}期",
                    c.name.trim_end_matches(['市', '区', '县']),
                    industry,
                    i % 3 + 1
                ),
                industry: industry.to_owned(),
                lon: round(c.lon + self.noise(0.02), 5),
                lat: round(c.lat + self.noise(0.02), 5),
                plan_wan: plan,
                done_wan,
                steps,
            };
            if self.places.county_at(p.lon, p.lat).is_none() {
                continue;
            }
            self.projects.push(p.clone());
            out.push(self.envelope(time, Event::Project(p)));
        }
        let counties = self.counties.clone();
        for c in &counties {
            for v in 0..3 {
                let monitored = self.rng.random_range(2..25);
                let vil = Village {
                    village: format!("{}{:03}", c.adcode, v + 1),
                    name: format!("{}第{}监测村", c.name, v + 1),
                    lon: round(c.lon + self.noise(0.015), 5),
                    lat: round(c.lat + self.noise(0.015), 5),
                    lifted_households: self.rng.random_range(60..600),
                    monitored_households: monitored,
                    risk_households: self.rng.random_range(0..=monitored / 3),
                    income_yuan: round(self.rng.random_range(11_000.0..19_000.0), 0),
                    assistance_wan: round(self.rng.random_range(5.0..120.0), 1),
                };
                if self.places.county_at(vil.lon, vil.lat).is_none() {
                    continue;
                }
                self.villages.push(vil.clone());
                out.push(self.envelope(time, Event::Village(vil)));
            }
        }
        out
    }

    /// The events of `dt` seconds of real time ending at `now` (the first call also reports the
    /// current state of outlets, projects and villages).
    pub fn step(&mut self, now: OffsetDateTime, dt: f64) -> Vec<Envelope> {
        let time = now.format(&Rfc3339).expect("an OffsetDateTime always formats as RFC 3339");
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            out.extend(self.registry(now, &time));
        }
        let sim_dt = dt * self.speed;
        // Water readings: hourly per section.
        if let Some((_, left)) = self.incident.as_mut() {
            *left -= sim_dt;
        }
        if self.incident.is_some_and(|(_, left)| left <= 0.0) {
            self.incident = None;
        }
        if self.incident.is_none() && self.draws(1.0 / (3.0 * 86_400.0), dt) > 0 {
            let rivers: Vec<usize> = (0..self.places.sections().len())
                .filter(|&i| self.places.sections()[i].body == WaterBody::River)
                .collect();
            let i = rivers[self.rng.random_range(0..rivers.len())];
            self.incident = Some((i, 6.0 * 3600.0));
        }
        let local_hour = f64::from((now.hour() + 8) % 24) + f64::from(now.minute()) / 60.0;
        let diurnal = ((local_hour - 8.0) / 24.0 * TAU).sin();
        for i in 0..self.places.sections().len() {
            self.section_due[i] -= sim_dt;
            if self.section_due[i] > 0.0 {
                continue;
            }
            self.section_due[i] += 3600.0;
            let s = self.places.sections()[i].clone();
            let b = baseline(s.body, &s.river);
            let spike = if self.incident.is_some_and(|(j, _)| j == i) { 1.4 } else { 0.0 };
            let r = WaterReading {
                section: s.id.to_owned(),
                ph: round(7.6 + 0.25 * diurnal + self.noise(0.08), 2),
                do_mg_l: round((b.do_mg_l + 0.7 * diurnal + self.noise(0.25) - spike).max(0.5), 2),
                codmn_mg_l: round((b.codmn * (1.0 + self.noise(0.08))).max(0.1), 2),
                nh3n_mg_l: round((b.nh3n * (1.0 + self.noise(0.15)) + spike).max(0.01), 3),
                tp_mg_l: round((b.tp * (1.0 + self.noise(0.12))).max(0.002), 3),
            };
            out.push(self.envelope(&time, Event::WaterReading(r)));
        }
        // Outlets: each moves one status forward about every ten days.
        for i in 0..self.outlets.len() {
            if self.outlets[i].status != OutletStatus::Remediated
                && self.draws(1.0 / (10.0 * 86_400.0), dt) > 0
            {
                self.outlets[i].status = match self.outlets[i].status {
                    OutletStatus::Identified => OutletStatus::Remediating,
                    _ => OutletStatus::Remediated,
                };
                let o = self.outlets[i].clone();
                out.push(self.envelope(&time, Event::SewageOutlet(o)));
            }
        }
        // Fishing-ban patrols along the rivers: about 400 a day in the province.
        for _ in 0..self.draws(400.0 / 86_400.0, dt) {
            if self.river_points.is_empty() {
                break;
            }
            let (_, lon, lat) = self.river_points[self.rng.random_range(0..self.river_points.len())];
            let p = FishingPatrol {
                patrol: format!("JY{}-{}", self.run, self.emitted),
                lon,
                lat,
                officers: self.rng.random_range(2..7),
                hours: round(self.rng.random_range(1.0..6.0), 1),
                violations: u32::from(self.rng.random_bool(0.04)),
            };
            out.push(self.envelope(&time, Event::FishingPatrol(p)));
        }
        // River chiefs' patrols: about 5,000 a day in the province; one in twelve finds a problem.
        for _ in 0..self.draws(5_000.0 / 86_400.0, dt) {
            let c = self.chiefs[self.rng.random_range(0..self.chiefs.len())].clone();
            let minutes = match c.level {
                ChiefLevel::Village => self.rng.random_range(20..90),
                ChiefLevel::Township => self.rng.random_range(40..150),
                _ => self.rng.random_range(60..240),
            };
            let p = RiverPatrol {
                patrol: format!("XH{}-{}", self.run, self.emitted),
                chief: c.id.clone(),
                chief_name: c.name.clone(),
                level: c.level,
                river: c.river.clone(),
                lon: c.lon,
                lat: c.lat,
                minutes,
            };
            out.push(self.envelope(&time, Event::RiverPatrol(p)));
            if self.rng.random_bool(1.0 / 12.0) {
                let kind = [
                    ProblemKind::Garbage,
                    ProblemKind::Garbage,
                    ProblemKind::Sewage,
                    ProblemKind::Encroachment,
                    ProblemKind::IllegalSand,
                    ProblemKind::Other,
                ][self.rng.random_range(0..6)];
                let pr = OpenProblem {
                    id: format!("WT{}-{}", self.run, self.emitted),
                    river: c.river.clone(),
                    lon: c.lon,
                    lat: c.lat,
                    kind,
                    status: ProblemStatus::Found,
                    found: time.clone(),
                    slow: self.rng.random_bool(0.1),
                };
                out.push(self.problem_event(&time, &pr));
                self.problems.push(pr);
            }
        }
        // Problem handling: each open problem moves on about every 12 hours (slow ones every 10 days).
        let mut i = 0;
        while i < self.problems.len() {
            let rate = if self.problems[i].slow { 1.0 / (10.0 * 86_400.0) } else { 1.0 / (12.0 * 3600.0) };
            if self.draws(rate, dt) > 0 {
                self.problems[i].status = match self.problems[i].status {
                    ProblemStatus::Found => ProblemStatus::Assigned,
                    ProblemStatus::Assigned => ProblemStatus::Rectifying,
                    _ => ProblemStatus::Closed,
                };
                let pr = self.problems[i].clone();
                out.push(self.problem_event(&time, &pr));
                if pr.status == ProblemStatus::Closed {
                    self.problems.swap_remove(i);
                    continue;
                }
            }
            i += 1;
        }
        // Projects report progress about weekly: investment grows, due steps get done (or not).
        for i in 0..self.projects.len() {
            if self.draws(1.0 / (7.0 * 86_400.0), dt) == 0 {
                continue;
            }
            let today = date_plus(now, 0);
            let p = &mut self.projects[i];
            let behind = p.project.ends_with('7') || p.project.ends_with('3');
            for s in p.steps.iter_mut() {
                if s.done.is_none() && s.due <= today && !behind {
                    s.done = Some(today);
                    break;
                }
            }
            let started = p.steps.iter().any(|s| s.step == StepKind::Start && s.done.is_some());
            if started {
                let pace = if behind { 0.003 } else { 0.015 };
                p.done_wan = round((p.done_wan + p.plan_wan * pace).min(p.plan_wan), 0);
            }
            let p = p.clone();
            out.push(self.envelope(&time, Event::Project(p)));
        }
        // Villages report monthly: risk households fall as assistance arrives, sometimes new risk.
        for i in 0..self.villages.len() {
            if self.draws(1.0 / (30.0 * 86_400.0), dt) == 0 {
                continue;
            }
            let relapse = self.rng.random_bool(0.15);
            let extra = self.rng.random_range(1.0..8.0);
            let v = &mut self.villages[i];
            if relapse {
                v.monitored_households += 1;
                v.risk_households += 1;
            } else if v.risk_households > 0 {
                v.risk_households -= 1;
            }
            v.assistance_wan = round(v.assistance_wan + extra, 1);
            v.income_yuan = round(v.income_yuan * 1.006, 0);
            let v = v.clone();
            out.push(self.envelope(&time, Event::Village(v)));
        }
        out
    }

    fn problem_event(&mut self, time: &str, p: &OpenProblem) -> Envelope {
        let e = RiverProblem {
            problem: p.id.clone(),
            river: p.river.clone(),
            lon: p.lon,
            lat: p.lat,
            kind: p.kind,
            status: p.status,
            found: event_time(&p.found),
        };
        self.envelope(time, Event::RiverProblem(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yiping_protocol::water::WaterClass;

    fn run(seed: u64, hours: u64) -> Vec<Envelope> {
        let places = Arc::new(Places::hubei());
        let t0 = OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("valid");
        let mut sim = Simulator::new(seed, 1.0, places, t0);
        (0..hours * 60).flat_map(|m| sim.step(t0 + time::Duration::minutes(m as i64), 60.0)).collect()
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let strip = |v: Vec<Envelope>| {
            v.into_iter().map(|e| serde_json::to_string(&e.data).expect("ser")).collect::<Vec<_>>()
        };
        assert_eq!(strip(run(7, 3)), strip(run(7, 3)));
        assert_ne!(strip(run(7, 3)), strip(run(8, 3)));
    }

    #[test]
    fn a_simulated_day_looks_like_hubei_and_passes_validation() {
        let places = Places::hubei();
        let events = run(1, 24);
        let count = |k: &str| events.iter().filter(|e| e.kind == k).count();
        // Hourly readings at 14 sections.
        assert!((300..=340).contains(&count("water.reading")), "{}", count("water.reading"));
        // About 5,000 patrols a day, 400 fishing patrols.
        assert!((4_500..5_500).contains(&count("river.patrol")), "{}", count("river.patrol"));
        assert!((320..480).contains(&count("water.fishing_patrol")));
        assert!(count("project.update") >= 140 && count("poverty.village") >= 300);
        let mut good = 0;
        let mut mainstem = 0;
        for e in &events {
            let line = serde_json::to_string(e).expect("serialises");
            let parsed =
                yiping_protocol::events::parse_line(&line).unwrap_or_else(|err| panic!("{line}: {err}"));
            places.locate(&parsed).unwrap_or_else(|err| panic!("{line}: {err}"));
            if let Event::WaterReading(r) = &e.data {
                let s = &places.sections()[places.section(&r.section).expect("known")];
                if s.body == WaterBody::River {
                    mainstem += 1;
                    good += usize::from(r.indicators().class(s.body) <= WaterClass::III);
                }
            }
        }
        assert!(good as f64 / mainstem as f64 > 0.85, "{good}/{mainstem}");
    }
}
