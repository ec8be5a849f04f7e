//! The fold: accepted events in, current state, region aggregates and deltas out.
//!
//! Every figure the wall shows is computed here from the event log and nothing else (DESIGN §1),
//! so a restarted server rebuilds the same state by replaying the log, and any figure can be
//! recomputed from the raw events (`yiping export`).
//!
//! Model: each event either updates the latest state of one entity (a section's latest reading,
//! an outlet's status, a problem's handling, a project's progress, a village's figures) or is
//! counted (patrols). An entity's contribution to the aggregates of its county, prefecture and the
//! province is removed and re-added when its state changes, so each event costs O(1), however
//! long the log. A project's overdue steps are counted as of its latest report's time (real-time
//! overdue detection is the alert rules' job).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use yiping_protocol::events::{Envelope, Event, OutletStatus, ProblemStatus, StepKind};
use yiping_protocol::topics::{
    Coverage, EntityState, HistoryPoint, Overview, POVERTY, PROJECTS, PovertyAgg, PrefectureFigures,
    ProjectsAgg, RIVERS, RiversAgg, SectionStatus, ThemeData, WATER, WaterAgg,
};
use yiping_protocol::water::WaterClass;

use crate::places::{Places, ROOT};

/// Aggregates that entities contribute to and withdraw from.
pub trait Aggregate: Default + Clone + serde::Serialize + serde::de::DeserializeOwned {
    /// Add (`sign = 1`) or remove (`sign = -1`) a contribution.
    fn merge(&mut self, other: &Self, sign: i8);
}

fn addu(a: &mut u32, b: u32, sign: i8) {
    *a = if sign > 0 { a.saturating_add(b) } else { a.saturating_sub(b) };
}

fn addu64(a: &mut u64, b: u64, sign: i8) {
    *a = if sign > 0 { a.saturating_add(b) } else { a.saturating_sub(b) };
}

fn addf(a: &mut f64, b: f64, sign: i8) {
    *a += f64::from(sign) * b;
}

impl Aggregate for WaterAgg {
    fn merge(&mut self, o: &Self, s: i8) {
        addu64(&mut self.readings, o.readings, s);
        addu(&mut self.sections_reporting, o.sections_reporting, s);
        for (a, b) in self.class_counts.iter_mut().zip(o.class_counts) {
            addu(a, b, s);
        }
        addu(&mut self.outlets, o.outlets, s);
        addu(&mut self.outlets_remediated, o.outlets_remediated, s);
        addu64(&mut self.fishing_patrols, o.fishing_patrols, s);
        addf(&mut self.fishing_hours, o.fishing_hours, s);
        addu64(&mut self.fishing_violations, o.fishing_violations, s);
    }
}

impl Aggregate for RiversAgg {
    fn merge(&mut self, o: &Self, s: i8) {
        addu64(&mut self.patrols, o.patrols, s);
        addu64(&mut self.patrol_minutes, o.patrol_minutes, s);
        for (a, b) in self.patrols_by_level.iter_mut().zip(o.patrols_by_level) {
            addu64(a, b, s);
        }
        addu(&mut self.problems, o.problems, s);
        addu(&mut self.problems_open, o.problems_open, s);
        for (a, b) in self.problems_by_kind.iter_mut().zip(o.problems_by_kind) {
            addu(a, b, s);
        }
    }
}

impl Aggregate for ProjectsAgg {
    fn merge(&mut self, o: &Self, s: i8) {
        addu(&mut self.projects, o.projects, s);
        addf(&mut self.plan_wan, o.plan_wan, s);
        addf(&mut self.done_wan, o.done_wan, s);
        for (a, b) in self.by_stage.iter_mut().zip(o.by_stage) {
            addu(a, b, s);
        }
        addu(&mut self.overdue_steps, o.overdue_steps, s);
        for (a, b) in self.overdue_by_stage.iter_mut().zip(o.overdue_by_stage) {
            addu(a, b, s);
        }
    }
}

impl Aggregate for PovertyAgg {
    fn merge(&mut self, o: &Self, s: i8) {
        addu(&mut self.villages, o.villages, s);
        addu64(&mut self.lifted_households, o.lifted_households, s);
        addu64(&mut self.monitored_households, o.monitored_households, s);
        addu64(&mut self.risk_households, o.risk_households, s);
        addf(&mut self.assistance_wan, o.assistance_wan, s);
        addf(&mut self.income_sum_yuan, o.income_sum_yuan, s);
        addu64(&mut self.risk_added, o.risk_added, s);
        addu64(&mut self.risk_removed, o.risk_removed, s);
    }
}

/// One theme's state: entities with their contributions, and aggregates by region.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(bound(serialize = "A: serde::Serialize", deserialize = "A: serde::de::DeserializeOwned"))]
pub struct Theme<A> {
    entities: BTreeMap<String, (EntityState, A)>,
    /// Entities whose case is closed: only their county and contribution are kept (they still
    /// count), so a theme's state does not grow with years of closed cases.
    #[serde(default)]
    retired: HashMap<String, (String, A)>,
    regions: HashMap<String, A>,
}

impl<A: Aggregate> Default for Theme<A> {
    fn default() -> Self {
        Theme { entities: BTreeMap::new(), retired: HashMap::new(), regions: HashMap::new() }
    }
}

impl<A: Aggregate> Theme<A> {
    fn add(&mut self, places: &Places, county: &str, c: &A, sign: i8) -> Vec<String> {
        let regions = places.rollup(county);
        for r in &regions {
            self.regions.entry(r.clone()).or_default().merge(c, sign);
        }
        regions
    }

    /// Replace an entity's state and contribution; returns the regions touched.
    fn upsert(&mut self, places: &Places, state: EntityState, contribution: A) -> Vec<String> {
        let mut touched = Vec::new();
        if let Some((old, old_c)) = self.entities.remove(&state.key) {
            touched = self.add(places, &old.adcode, &old_c, -1);
        } else if let Some((county, old_c)) = self.retired.remove(&state.key) {
            // A closed case reported again (reopened): it replaces its closed contribution.
            touched = self.add(places, &county, &old_c, -1);
        }
        for r in self.add(places, &state.adcode, &contribution, 1) {
            if !touched.contains(&r) {
                touched.push(r);
            }
        }
        self.entities.insert(state.key.clone(), (state, contribution));
        touched
    }

    /// Close an entity's case: forget its state, keep its contribution.
    fn retire(&mut self, key: &str) {
        if let Some((state, c)) = self.entities.remove(key) {
            self.retired.insert(key.to_owned(), (state.adcode, c));
        }
    }

    /// The aggregates of one region (zero when nothing was reported there).
    pub fn region(&self, adcode: &str) -> A {
        self.regions.get(adcode).cloned().unwrap_or_default()
    }

    /// An entity's latest state.
    pub fn entity(&self, key: &str) -> Option<&EntityState> {
        self.entities.get(key).map(|(s, _)| s)
    }

    /// The whole theme as a snapshot payload.
    pub fn snapshot(&self) -> ThemeData<A> {
        ThemeData {
            entities: self.entities.iter().map(|(k, (s, _))| (k.clone(), s.clone())).collect(),
            regions: self.regions.iter().map(|(k, a)| (k.clone(), a.clone())).collect(),
            event: None,
        }
    }

    fn delta(&self, entity: Option<&str>, regions: &[String], event: &Envelope) -> ThemeData<A> {
        ThemeData {
            entities: entity
                .and_then(|k| self.entities.get(k))
                .map(|(s, _)| (s.key.clone(), s.clone()))
                .into_iter()
                .collect(),
            regions: regions.iter().map(|r| (r.clone(), self.region(r))).collect(),
            event: Some(event.clone()),
        }
    }
}

/// The delta payload of one event, by theme.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Delta {
    /// Water theme delta.
    Water(ThemeData<WaterAgg>),
    /// River-chief theme delta.
    Rivers(ThemeData<RiversAgg>),
    /// Projects theme delta.
    Projects(ThemeData<ProjectsAgg>),
    /// Poverty theme delta.
    Poverty(ThemeData<PovertyAgg>),
}

/// What one event changed.
#[derive(Debug)]
pub struct Change {
    /// The theme topic.
    pub topic: &'static str,
    /// The theme delta, when asked for.
    pub delta: Option<Delta>,
}

/// The whole state.
#[derive(Debug)]
pub struct Fold {
    places: Arc<Places>,
    /// Water theme.
    pub water: Theme<WaterAgg>,
    /// River-chief theme.
    pub rivers: Theme<RiversAgg>,
    /// Projects theme.
    pub projects: Theme<ProjectsAgg>,
    /// Poverty theme.
    pub poverty: Theme<PovertyAgg>,
    section_latest: Vec<Option<(WaterClass, String)>>,
    last_time: Option<String>,
    /// The newest event time per theme topic.
    theme_times: BTreeMap<String, String>,
    /// The newest patrol of each river in each county (`county|river` → time), for coverage.
    river_patrols: BTreeMap<String, String>,
    /// The province's figures at the end of each closed history step (by the step's start, Unix s);
    /// the step being written is computed when asked.
    history: BTreeMap<i64, HistoryPoint>,
}

/// Length of a history step, seconds.
pub const HISTORY_STEP_S: i64 = 600;
/// History kept, seconds before the newest data.
pub const HISTORY_KEEP_S: i64 = 7 * 86_400;

/// The fold's state as saved in a snapshot (everything but the places, which come with the
/// deployment). Sections are keyed by id so a snapshot survives changes to the section list.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct FoldSnapshot {
    water: Theme<WaterAgg>,
    rivers: Theme<RiversAgg>,
    projects: Theme<ProjectsAgg>,
    poverty: Theme<PovertyAgg>,
    sections: BTreeMap<String, (WaterClass, String)>,
    last_time: Option<String>,
    #[serde(default)]
    theme_times: BTreeMap<String, String>,
    #[serde(default)]
    river_patrols: BTreeMap<String, String>,
    #[serde(default)]
    history: BTreeMap<i64, HistoryPoint>,
}

fn parse_time(t: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
}

/// The start (Unix s) of the history step holding the time `t` (RFC 3339).
fn step_of(t: &str) -> Option<i64> {
    parse_time(t).map(|t| t.unix_timestamp().div_euclid(HISTORY_STEP_S) * HISTORY_STEP_S)
}

/// Seven days before `t` (RFC 3339): where this week's patrol coverage starts.
pub fn week_before(t: &str) -> Option<time::OffsetDateTime> {
    parse_time(t).map(|t| t - time::Duration::days(7))
}

fn stage(steps: &[yiping_protocol::events::ProjectStep]) -> (usize, &'static str) {
    let done = |k: StepKind| steps.iter().any(|s| s.step == k && s.done.is_some());
    if done(StepKind::Acceptance) {
        (2, "accepted")
    } else if done(StepKind::Start) {
        (1, "construction")
    } else {
        (0, "approval")
    }
}

impl Fold {
    /// An empty fold over the given places.
    pub fn new(places: Arc<Places>) -> Fold {
        let n = places.sections().len();
        Fold {
            places,
            water: Theme::default(),
            rivers: Theme::default(),
            projects: Theme::default(),
            poverty: Theme::default(),
            section_latest: vec![None; n],
            last_time: None,
            theme_times: BTreeMap::new(),
            river_patrols: BTreeMap::new(),
            history: BTreeMap::new(),
        }
    }

    /// The state to save in a snapshot.
    pub fn to_snapshot(&self) -> FoldSnapshot {
        FoldSnapshot {
            water: self.water.clone(),
            rivers: self.rivers.clone(),
            projects: self.projects.clone(),
            poverty: self.poverty.clone(),
            sections: self
                .places
                .sections()
                .iter()
                .zip(&self.section_latest)
                .filter_map(|(s, l)| l.clone().map(|l| (s.id.to_owned(), l)))
                .collect(),
            last_time: self.last_time.clone(),
            theme_times: self.theme_times.clone(),
            river_patrols: self.river_patrols.clone(),
            history: self.history.clone(),
        }
    }

    /// A fold continuing from a snapshot.
    pub fn from_snapshot(places: Arc<Places>, snap: FoldSnapshot) -> Fold {
        let section_latest = places.sections().iter().map(|s| snap.sections.get(s.id).cloned()).collect();
        Fold {
            places,
            water: snap.water,
            rivers: snap.rivers,
            projects: snap.projects,
            poverty: snap.poverty,
            section_latest,
            last_time: snap.last_time,
            theme_times: snap.theme_times,
            river_patrols: snap.river_patrols,
            history: snap.history,
        }
    }

    /// Every live entity of every theme (what the alert rules are seeded with on start).
    pub fn entity_states(&self) -> Vec<EntityState> {
        let mut v: Vec<EntityState> = Vec::new();
        v.extend(self.water.entities.values().map(|(e, _)| e.clone()));
        v.extend(self.rivers.entities.values().map(|(e, _)| e.clone()));
        v.extend(self.projects.entities.values().map(|(e, _)| e.clone()));
        v.extend(self.poverty.entities.values().map(|(e, _)| e.clone()));
        v.sort_by(|a, b| a.time.cmp(&b.time));
        v
    }

    /// Time of the newest event folded (by the events' own times).
    pub fn last_time(&self) -> Option<&str> {
        self.last_time.as_deref()
    }

    /// Fold one accepted event located in `county`; the change carries the delta to publish.
    pub fn apply(&mut self, e: &Envelope, county: &str) -> Change {
        self.apply_inner(e, county, true)
    }

    /// Fold one event without building its delta (replaying history nobody will be sent).
    pub fn apply_quiet(&mut self, e: &Envelope, county: &str) -> &'static str {
        self.apply_inner(e, county, false).topic
    }

    fn apply_inner(&mut self, e: &Envelope, county: &str, want: bool) -> Change {
        if self.last_time.as_deref().is_none_or(|t| e.time.as_str() > t) {
            // Newer data in a later history step closes the step before, as the figures stand
            // now (a late event changes the step being written, not past steps: the history is
            // what was known at the time, and the same on every replay of the log).
            if let (Some(before), Some(after)) = (self.step(), step_of(&e.time))
                && after > before
            {
                let point = self.point(before);
                self.history.insert(before, point);
                self.history.retain(|s, _| *s >= after - HISTORY_KEEP_S);
            }
            self.last_time = Some(e.time.clone());
        }
        let change = self.apply_event(e, county, want);
        match self.theme_times.get_mut(change.topic) {
            Some(t) if *t >= e.time => {}
            Some(t) => t.clone_from(&e.time),
            None => {
                self.theme_times.insert(change.topic.to_owned(), e.time.clone());
            }
        }
        change
    }

    /// The history step of the newest data (its start, Unix s).
    fn step(&self) -> Option<i64> {
        self.last_time.as_deref().and_then(step_of)
    }

    /// The province's figures as they are now, for the step starting at `start`.
    fn point(&self, start: i64) -> HistoryPoint {
        let w = self.water.region(ROOT);
        let r = self.rivers.region(ROOT);
        let p = self.projects.region(ROOT);
        let v = self.poverty.region(ROOT);
        let good: u32 = w.class_counts[..3].iter().sum();
        HistoryPoint {
            t: time::OffsetDateTime::from_unix_timestamp(start)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default(),
            good_share: (w.sections_reporting > 0)
                .then(|| 100.0 * f64::from(good) / f64::from(w.sections_reporting)),
            readings: w.readings,
            patrols: r.patrols,
            problems_open: r.problems_open,
            invest_percent: (p.plan_wan > 0.0).then(|| 100.0 * p.done_wan / p.plan_wan),
            risk_households: v.risk_households,
            mean_income: v.mean_income_yuan(),
        }
    }

    /// The province's history, oldest first: the closed steps of the last 7 days, then the step
    /// being written, as it stands.
    pub fn history(&self) -> Vec<HistoryPoint> {
        let mut v: Vec<HistoryPoint> = self.history.values().cloned().collect();
        v.extend(self.step().map(|s| self.point(s)));
        v
    }

    fn apply_event(&mut self, e: &Envelope, county: &str, want: bool) -> Change {
        let detail = || serde_json::to_value(&e.data).expect("events serialise");
        let entity = e.data.entity();
        let places = Arc::clone(&self.places);
        let state = |name: &str, lon: f64, lat: f64, status: &str| EntityState {
            key: entity.clone(),
            name: name.to_owned(),
            adcode: county.to_owned(),
            lon,
            lat,
            time: e.time.clone(),
            status: status.to_owned(),
            detail: detail(),
        };
        let topic = e.data.topic();
        let delta = match &e.data {
            Event::WaterReading(r) => {
                let i = places.section(&r.section).expect("located events have a known section");
                let s = &places.sections()[i];
                let counted = WaterAgg { readings: 1, ..Default::default() };
                let mut regions = self.water.add(&places, county, &counted, 1);
                // Out-of-order samples count, but the latest by sampling time sets the class.
                let newer = self.section_latest[i].as_ref().is_none_or(|(_, t)| e.time >= *t);
                let mut changed = None;
                if newer {
                    let class = r.indicators().class(s.body);
                    self.section_latest[i] = Some((class, e.time.clone()));
                    let mut c = WaterAgg { sections_reporting: 1, ..Default::default() };
                    c.class_counts[class.index()] = 1;
                    let st = state(s.name, s.lon, s.lat, &format!("{class:?}"));
                    for r in self.water.upsert(&places, st, c) {
                        if !regions.contains(&r) {
                            regions.push(r);
                        }
                    }
                    changed = Some(entity.as_str());
                }
                want.then(|| Delta::Water(self.water.delta(changed, &regions, e)))
            }
            Event::SewageOutlet(o) => {
                let c = WaterAgg {
                    outlets: 1,
                    outlets_remediated: u32::from(o.status == OutletStatus::Remediated),
                    ..Default::default()
                };
                let status = serde_json::to_value(o.status).expect("serialises");
                let st = state(&o.name, o.lon, o.lat, status.as_str().unwrap_or(""));
                let regions = self.water.upsert(&places, st, c);
                want.then(|| Delta::Water(self.water.delta(Some(&entity), &regions, e)))
            }
            Event::FishingPatrol(p) => {
                let c = WaterAgg {
                    fishing_patrols: 1,
                    fishing_hours: p.hours,
                    fishing_violations: u64::from(p.violations),
                    ..Default::default()
                };
                let regions = self.water.add(&places, county, &c, 1);
                want.then(|| Delta::Water(self.water.delta(None, &regions, e)))
            }
            Event::RiverPatrol(p) => {
                let newest = self.river_patrols.entry(format!("{county}|{}", p.river)).or_default();
                if parse_time(&e.time) > parse_time(newest) {
                    newest.clone_from(&e.time);
                }
                let mut c =
                    RiversAgg { patrols: 1, patrol_minutes: u64::from(p.minutes), ..Default::default() };
                c.patrols_by_level[p.level as usize] = 1;
                let regions = self.rivers.add(&places, county, &c, 1);
                want.then(|| Delta::Rivers(self.rivers.delta(None, &regions, e)))
            }
            Event::RiverProblem(p) => {
                let mut c = RiversAgg {
                    problems: 1,
                    problems_open: u32::from(p.status != ProblemStatus::Closed),
                    ..Default::default()
                };
                c.problems_by_kind[p.kind as usize] = 1;
                let status = serde_json::to_value(p.status).expect("serialises");
                let st = state(&p.river, p.lon, p.lat, status.as_str().unwrap_or(""));
                let regions = self.rivers.upsert(&places, st, c);
                let delta = want.then(|| Delta::Rivers(self.rivers.delta(Some(&entity), &regions, e)));
                // A closed problem leaves the live state (its delta above still shows it closed);
                // it keeps counting in the region's figures, and its history stays in the log.
                if p.status == ProblemStatus::Closed {
                    self.rivers.retire(&entity);
                }
                delta
            }
            Event::Project(p) => {
                let (stage_i, stage_name) = stage(&p.steps);
                let as_of = e.time.get(..10).unwrap_or("");
                let overdue = p.steps.iter().filter(|s| s.done.is_none() && s.due.as_str() < as_of).count();
                let mut c = ProjectsAgg {
                    projects: 1,
                    plan_wan: p.plan_wan,
                    done_wan: p.done_wan,
                    overdue_steps: u32::try_from(overdue).unwrap_or(u32::MAX),
                    ..Default::default()
                };
                c.by_stage[stage_i] = 1;
                c.overdue_by_stage[stage_i] = c.overdue_steps;
                let st = state(&p.name, p.lon, p.lat, stage_name);
                let regions = self.projects.upsert(&places, st, c);
                want.then(|| Delta::Projects(self.projects.delta(Some(&entity), &regions, e)))
            }
            Event::Village(v) => {
                let c = PovertyAgg {
                    villages: 1,
                    lifted_households: u64::from(v.lifted_households),
                    monitored_households: u64::from(v.monitored_households),
                    risk_households: u64::from(v.risk_households),
                    assistance_wan: v.assistance_wan,
                    income_sum_yuan: v.income_yuan,
                    ..Default::default()
                };
                // The change since the village's previous report flows into the region's totals.
                let before = self.poverty.entities.get(&entity).map(|(_, a)| a.risk_households);
                let mut flows = Vec::new();
                if let Some(b) = before {
                    let now = u64::from(v.risk_households);
                    let flow = PovertyAgg {
                        risk_added: now.saturating_sub(b),
                        risk_removed: b.saturating_sub(now),
                        ..Default::default()
                    };
                    if flow.risk_added + flow.risk_removed > 0 {
                        flows = self.poverty.add(&places, county, &flow, 1);
                    }
                }
                let status = if v.risk_households > 0 { "risk" } else { "stable" };
                let st = state(&v.name, v.lon, v.lat, status);
                let mut regions = self.poverty.upsert(&places, st, c);
                for r in flows {
                    if !regions.contains(&r) {
                        regions.push(r);
                    }
                }
                want.then(|| Delta::Poverty(self.poverty.delta(Some(&entity), &regions, e)))
            }
        };
        Change { topic, delta }
    }

    /// The headline figures.
    pub fn overview(&self) -> Overview {
        let sections: Vec<SectionStatus> = self
            .places
            .sections()
            .iter()
            .zip(&self.section_latest)
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
        let water = self.water.region(ROOT);
        let good: u32 = water.class_counts[..3].iter().sum();
        let mut coverage = self.coverages();
        Overview {
            readings_total: water.readings,
            sections_reporting: water.sections_reporting,
            sections_good: good,
            sections,
            water,
            rivers: self.rivers.region(ROOT),
            projects: self.projects.region(ROOT),
            poverty: self.poverty.region(ROOT),
            prefectures: self
                .places
                .prefectures()
                .into_iter()
                .map(|a| {
                    let (rivers, projects) = (self.rivers.region(a), self.projects.region(a));
                    let figures = PrefectureFigures {
                        patrols: rivers.patrols,
                        problems_open: rivers.problems_open,
                        risk_households: self.poverty.region(a).risk_households,
                        projects: projects.projects,
                        coverage: coverage.remove(a).unwrap_or_default(),
                        plan_wan: projects.plan_wan,
                        done_wan: projects.done_wan,
                    };
                    (a.to_owned(), figures)
                })
                .collect(),
            theme_times: self.theme_times.clone(),
            coverage: coverage.remove(ROOT).unwrap_or_default(),
        }
    }

    /// Patrol coverage of a region: its rivers (river × county) ever patrolled, and those patrolled
    /// in the 7 days up to the newest 河湖长制 event.
    pub fn coverage(&self, region: &str) -> Coverage {
        self.coverages().remove(region).unwrap_or_default()
    }

    /// Patrol coverage of every county, prefecture and the province, in one pass over the rivers.
    fn coverages(&self) -> HashMap<&str, Coverage> {
        let cutoff = self.theme_times.get(RIVERS).and_then(|t| week_before(t));
        let mut by: HashMap<&str, Coverage> = HashMap::new();
        for (key, t) in &self.river_patrols {
            let county = key.split('|').next().unwrap_or("");
            let recent = cutoff.is_some_and(|cut| parse_time(t).is_some_and(|t| t >= cut));
            let prefecture = self.places.prefecture(county);
            let regions = [Some(county), (prefecture != county).then_some(prefecture), Some(ROOT)];
            for r in regions.into_iter().flatten() {
                let c = by.entry(r).or_default();
                c.rivers += 1;
                c.patrolled_7d += u32::from(recent);
            }
        }
        by
    }

    /// The snapshot payload of a topic.
    pub fn snapshot(&self, topic: &str) -> serde_json::Value {
        match topic {
            WATER => to_json(&self.water.snapshot()),
            RIVERS => to_json(&self.rivers.snapshot()),
            PROJECTS => to_json(&self.projects.snapshot()),
            POVERTY => to_json(&self.poverty.snapshot()),
            _ => to_json(&self.overview()),
        }
    }
}

fn to_json<T: serde::Serialize>(x: &T) -> serde_json::Value {
    serde_json::to_value(x).expect("fold payloads always serialise")
}

#[cfg(test)]
mod tests;
