//! Risk early warning (DESIGN §4): rules over the accepted events, and the alert life cycle.
//!
//! The [`Book`] keeps what the rules need to know about each subject (learned from the events as
//! they are folded) and every alert that is open or was resolved in the last 24 hours. It never
//! changes an alert directly: it proposes [`Pending`] steps, the caller appends each to the
//! [audit trail](crate::trail) and hands the stored entry back to [`Book::apply`]. Restoring after
//! a restart is applying the trail's `alert.*` entries in order, so the alerts a server shows are
//! always exactly the fold of its trail.
//!
//! Two kinds of evaluation:
//! - on every event ([`Book::observe`]): the rules about the event's subject (class against the
//!   target, spikes, a village's risk, a project's steps and investment, a problem's status, a
//!   patrol clearing its river);
//! - on a clock tick ([`Book::tick`]): the rules that fire by time passing (silence, overdue
//!   patrols, problems and steps getting older) and escalation of unacknowledged alerts.
//!
//! Caveat: what the rules learned before the last fold snapshot is seeded from the fold's
//! entities (sections, problems, projects, villages); patrols are not entities, so after a restart
//! `patrol_overdue` only knows the rivers patrolled since the snapshot (it cannot raise a false
//! alert for lack of knowledge: a river never seen is never overdue).

pub mod http;
pub mod rules;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yiping_protocol::alerts::{
    Alert, AlertAction, AlertState, AlertStep, AlertsData, ClassFacts, Facts, InvestmentFacts, PatrolFacts,
    ProblemFacts, RelapseFacts, Responsible, Severity, SilentFacts, SpikeFacts, StepFacts,
};
use yiping_protocol::events::{ChiefLevel, Envelope, Event, ProblemKind, ProblemStatus, StepKind};
use yiping_protocol::instant::{Date, Timestamp};
use yiping_protocol::topics::EntityState;
use yiping_protocol::water::WaterBody;

use crate::places::Places;
use crate::trail::{Entry, NewEntry};
pub use rules::{RuleKind, Rules};

/// How long resolved alerts stay in the live list (and the topic's snapshot).
pub const KEEP_RESOLVED_HOURS: i64 = 24;
/// Weight of the newest reading in a spike baseline.
const BASELINE_WEIGHT: f64 = 0.3;

/// A step the book proposes; the caller stores it in the trail, then applies the stored entry.
/// (With the log on NATS, the node that holds the clock's lease sends the rules' steps through
/// the stream, and every node [`Book::settle`]s them when their message comes.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The alert.
    pub alert: String,
    /// What happens.
    pub action: AlertAction,
    /// Who (`system` for the rules).
    pub actor: String,
    /// The actor's role.
    pub role: String,
    /// From where.
    pub addr: String,
    /// Why.
    pub comment: String,
    /// The step's data (for `raise`, the whole alert).
    pub body: Value,
}

/// The steps one pass of the rules proposes ([`Book::observe`], [`Book::tick`]), with what they
/// cover, so that the pass's checks of itself are lookups: scanning its own steps for each
/// subject made a tick over many subjects quadratic (300,000 overdue problems: the first tick
/// had not ended after minutes, and raised nothing).
#[derive(Debug, Default)]
struct Pass {
    steps: Vec<Pending>,
    /// The (rule, key) of each raise proposed.
    raised: HashSet<(RuleKind, String)>,
    /// How many raises are proposed (each takes the next free id when applied).
    raises: u64,
    /// The alerts a step is proposed for.
    stepped: HashSet<String>,
}

impl Pass {
    fn push(&mut self, step: Pending) {
        self.stepped.insert(step.alert.clone());
        self.steps.push(step);
    }

    fn raise(&mut self, subject: (RuleKind, String), step: Pending) {
        self.raised.insert(subject);
        self.raises += 1;
        self.push(step);
    }
}

impl Pending {
    /// The trail entry for this step at `time`.
    pub fn entry(&self, time: &str) -> NewEntry {
        NewEntry {
            time: time.to_owned(),
            actor: self.actor.clone(),
            role: self.role.clone(),
            addr: self.addr.clone(),
            action: self.action.trail_action(),
            target: self.alert.clone(),
            comment: self.comment.clone(),
            body: self.body.clone(),
        }
    }
}

/// Who takes an action, as the trail records it.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// User name.
    pub name: &'a str,
    /// Their role.
    pub role: &'a str,
    /// Their client address.
    pub addr: &'a str,
}

/// A person's step on an alert, as asked: what [`Book::act`] takes, whole, so that the log
/// stream can carry it to every node ([`crate::cluster`]) and each takes it against its book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The alert.
    pub alert: String,
    /// Acknowledge, dispatch or resolve.
    pub action: AlertAction,
    /// Who, their role and their client address.
    pub name: String,
    /// Their role.
    pub role: String,
    /// Their client address.
    pub addr: String,
    /// What they wrote.
    pub comment: String,
    /// To whom it is dispatched.
    pub to: Option<String>,
}

/// Why a person's action on an alert was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActError {
    /// No such alert in the live list.
    #[error("there is no open or recent alert {0}")]
    NotFound(String),
    /// The action does not fit the alert's state.
    #[error("alert {id} is {state}: it cannot be {action}")]
    State {
        /// The alert.
        id: String,
        /// Its state.
        state: &'static str,
        /// The refused action.
        action: &'static str,
    },
    /// Something required is missing.
    #[error("{0}")]
    Missing(&'static str),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Place {
    name: String,
    adcode: String,
    lon: f64,
    lat: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SectionMem {
    last_time: Timestamp,
    obs: u64,
    class: usize,
    latest: BTreeMap<String, f64>,
    baseline: BTreeMap<String, f64>,
    reading: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RiverMem {
    place: Place,
    river: String,
    last_patrol: Timestamp,
    chief: Option<(ChiefLevel, String)>,
    obs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProblemMem {
    place: Place,
    found: Timestamp,
    kind: ProblemKind,
    status: ProblemStatus,
    obs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProjectMem {
    place: Place,
    industry: String,
    steps: Vec<yiping_protocol::events::ProjectStep>,
    plan_wan: f64,
    done_wan: f64,
    obs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VillageMem {
    place: Place,
    risk: u32,
    /// The at-risk households of the report before the latest.
    previous: Option<u32>,
    time: Timestamp,
    obs: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Tracker {
    clear_count: u32,
    last_obs: u64,
}

/// One evaluation of a rule about a subject.
#[derive(Debug, Clone)]
struct Measure {
    value: f64,
    /// The facts behind the value, made a record only for a step that keeps them.
    data: Facts,
    obs: u64,
}

/// Rules, what they know, and the live alerts.
///
/// Every map the rules walk is ordered, so that two books given the same inputs raise the same
/// alerts with the same ids in the same order: the nodes of a cluster rely on it
/// ([`crate::cluster`]).
#[derive(Debug)]
pub struct Book {
    rules: Rules,
    places: std::sync::Arc<Places>,
    alerts: BTreeMap<String, Alert>,
    open: HashMap<(RuleKind, String), String>,
    trackers: HashMap<(RuleKind, String), Tracker>,
    sections: BTreeMap<String, SectionMem>,
    rivers: BTreeMap<(String, String), RiverMem>,
    problems: BTreeMap<String, ProblemMem>,
    projects: BTreeMap<String, ProjectMem>,
    villages: BTreeMap<String, VillageMem>,
    next_id: u64,
}

/// What the rules remember beyond the alerts (which the trail holds): each subject's last
/// reports, the spike baselines, the clear counts. Saved with each snapshot of the fold, so a
/// restarted server measures against the baselines it had (the events after the snapshot are
/// learnt again; the clear counts they moved are not).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Memory {
    sections: BTreeMap<String, SectionMem>,
    rivers: Vec<((String, String), RiverMem)>,
    problems: BTreeMap<String, ProblemMem>,
    projects: BTreeMap<String, ProjectMem>,
    villages: BTreeMap<String, VillageMem>,
    trackers: Vec<((RuleKind, String), Tracker)>,
}

fn parse_time(s: &str) -> Option<Timestamp> {
    Timestamp::parse(s).ok()
}

fn days_between(from: Timestamp, now: Timestamp) -> f64 {
    now.seconds_since(from) / 86_400.0
}

fn level_rank(l: ChiefLevel) -> u8 {
    match l {
        ChiefLevel::Province => 5,
        ChiefLevel::City => 4,
        ChiefLevel::County => 3,
        ChiefLevel::Township => 2,
        ChiefLevel::Village => 1,
    }
}

fn level_name(l: ChiefLevel) -> &'static str {
    match l {
        ChiefLevel::Province => "province",
        ChiefLevel::City => "city",
        ChiefLevel::County => "county",
        ChiefLevel::Township => "township",
        ChiefLevel::Village => "village",
    }
}

fn indicator(r: &yiping_protocol::events::WaterReading, name: &str) -> Option<f64> {
    match name {
        "nh3n_mg_l" => Some(r.nh3n_mg_l),
        "tp_mg_l" => Some(r.tp_mg_l),
        "codmn_mg_l" => Some(r.codmn_mg_l),
        _ => None,
    }
}

impl Book {
    /// An empty book with the same rules and places (to rebuild the alerts of a past instant
    /// from the trail).
    pub fn empty_like(&self) -> Book {
        Book::new(self.rules.clone(), self.places.clone())
    }

    /// An empty book.
    pub fn new(rules: Rules, places: std::sync::Arc<Places>) -> Book {
        Book {
            rules,
            places,
            alerts: BTreeMap::new(),
            open: HashMap::new(),
            trackers: HashMap::new(),
            sections: BTreeMap::new(),
            rivers: BTreeMap::new(),
            problems: BTreeMap::new(),
            projects: BTreeMap::new(),
            villages: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Learn from an event without evaluating (history being replayed). Only reports the fold took
    /// as their entity's newest reach the book (late ones are filtered there, by event time), so
    /// what it learns is the state the wall shows.
    pub fn learn(&mut self, e: &Envelope, county: &str) {
        let place = |name: &str, lon: f64, lat: f64| Place {
            name: name.to_owned(),
            adcode: county.to_owned(),
            lon,
            lat,
        };
        match &e.data {
            Event::WaterReading(r) => {
                let Some(i) = self.places.section(&r.section) else { return };
                let body = self.places.sections()[i].body;
                let m = self.sections.entry(r.section.clone()).or_default();
                if m.obs > 0 && m.last_time > e.time.at {
                    return; // an older sample arriving late changes neither class nor baseline
                }
                // The baseline absorbs the previous latest value, so a spike is measured
                // against the readings before it.
                for (k, v) in std::mem::take(&mut m.latest) {
                    let b = m.baseline.entry(k).or_insert(v);
                    *b = BASELINE_WEIGHT * v + (1.0 - BASELINE_WEIGHT) * *b;
                }
                for k in rules::SPIKE_INDICATORS {
                    if let Some(v) = indicator(r, k) {
                        m.latest.insert(k.to_owned(), v);
                    }
                }
                m.class = r.indicators().class(body).index();
                m.last_time = e.time.at;
                m.reading = serde_json::to_value(r).expect("readings serialise");
                m.obs += 1;
            }
            Event::RiverPatrol(p) => {
                let key = (county.to_owned(), p.river.clone());
                let county_name = self.places.name(county).unwrap_or(county).to_owned();
                let m = self.rivers.entry(key).or_insert_with(|| RiverMem {
                    place: place(&format!("{} ({county_name})", p.river), p.lon, p.lat),
                    river: p.river.clone(),
                    last_patrol: e.time.at,
                    chief: None,
                    obs: 0,
                });
                m.last_patrol = m.last_patrol.max(e.time.at);
                if m.chief.as_ref().is_none_or(|(l, _)| level_rank(p.level) >= level_rank(*l)) {
                    m.chief = Some((p.level, p.chief_name.clone()));
                }
                m.obs += 1;
            }
            Event::RiverProblem(p) => {
                let m = self.problems.entry(p.problem.clone()).or_insert_with(|| ProblemMem {
                    place: place(&p.river, p.lon, p.lat),
                    found: p.found.at,
                    kind: p.kind,
                    status: p.status,
                    obs: 0,
                });
                m.found = p.found.at;
                m.status = p.status;
                m.obs += 1;
            }
            Event::Project(p) => {
                let m = self.projects.entry(p.project.clone()).or_insert_with(|| ProjectMem {
                    place: place(&p.name, p.lon, p.lat),
                    industry: p.industry.clone(),
                    steps: Vec::new(),
                    plan_wan: 0.0,
                    done_wan: 0.0,
                    obs: 0,
                });
                m.steps.clone_from(&p.steps);
                m.plan_wan = p.plan_wan;
                m.done_wan = p.done_wan;
                m.obs += 1;
            }
            Event::Village(v) => {
                let m = self.villages.entry(v.village.clone()).or_insert_with(|| VillageMem {
                    place: place(&v.name, v.lon, v.lat),
                    risk: v.risk_households,
                    previous: None,
                    time: e.time.at,
                    obs: 0,
                });
                if m.obs > 0 {
                    m.previous = Some(m.risk);
                }
                m.risk = v.risk_households;
                m.time = e.time.at;
                m.obs += 1;
            }
            Event::SewageOutlet(_) | Event::FishingPatrol(_) => {}
        }
    }

    /// What the rules remember now (for a snapshot).
    pub fn memory(&self) -> Memory {
        let mut trackers: Vec<_> = self.trackers.iter().map(|(k, t)| (k.clone(), t.clone())).collect();
        trackers.sort_by(|a, b| a.0.cmp(&b.0));
        Memory {
            sections: self.sections.clone(),
            rivers: self.rivers.iter().map(|(k, m)| (k.clone(), m.clone())).collect(),
            problems: self.problems.clone(),
            projects: self.projects.clone(),
            villages: self.villages.clone(),
            trackers,
        }
    }

    /// Take back what the rules remembered at a snapshot (instead of [`Book::seed`]); the
    /// alerts still come from the trail.
    pub fn remember(&mut self, m: Memory) {
        self.sections = m.sections;
        self.rivers = m.rivers.into_iter().collect();
        self.problems = m.problems;
        self.projects = m.projects;
        self.villages = m.villages;
        self.trackers = m.trackers.into_iter().collect();
    }

    /// Seed what the rules know from the fold's entities (their last events).
    pub fn seed(&mut self, entities: &[EntityState]) {
        for s in entities {
            if let Ok(data) = serde_json::from_str::<Event>(s.detail.text()) {
                let e = Envelope {
                    kind: data.kind().to_owned(),
                    id: String::new(),
                    time: s.time.into(),
                    source: None,
                    data,
                };
                self.learn(&e, &s.adcode);
            }
        }
    }

    /// Learn from a new event and evaluate the rules about its subject.
    pub fn observe(&mut self, e: &Envelope, county: &str, now: Timestamp) -> Vec<Pending> {
        self.learn(e, county);
        let mut out = Pass::default();
        match &e.data {
            Event::WaterReading(r) => {
                self.eval(RuleKind::WaterClass, &format!("section:{}", r.section), now, &mut out);
                for k in self.rules.spike_min_rise.keys().cloned().collect::<Vec<_>>() {
                    self.eval(RuleKind::Spike, &format!("section:{}#{k}", r.section), now, &mut out);
                }
                self.eval(RuleKind::Silent, &format!("section:{}", r.section), now, &mut out);
            }
            Event::RiverPatrol(p) => {
                self.eval(RuleKind::PatrolOverdue, &format!("river:{county}:{}", p.river), now, &mut out);
            }
            Event::RiverProblem(p) => {
                self.eval(RuleKind::ProblemOpen, &format!("problem:{}", p.problem), now, &mut out);
            }
            Event::Project(p) => {
                self.eval(RuleKind::StepOverdue, &format!("project:{}", p.project), now, &mut out);
                self.eval(RuleKind::InvestmentBehind, &format!("project:{}", p.project), now, &mut out);
            }
            Event::Village(v) => {
                self.eval(RuleKind::RelapseJump, &format!("village:{}", v.village), now, &mut out);
            }
            Event::SewageOutlet(_) | Event::FishingPatrol(_) => {}
        }
        out.steps
    }

    /// Evaluate every rule about every known subject, and escalate what waited too long.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Pending> {
        let mut out = Pass::default();
        let sections: Vec<String> = self.sections.keys().cloned().collect();
        for s in &sections {
            self.eval(RuleKind::WaterClass, &format!("section:{s}"), now, &mut out);
            for k in self.rules.spike_min_rise.keys().cloned().collect::<Vec<_>>() {
                self.eval(RuleKind::Spike, &format!("section:{s}#{k}"), now, &mut out);
            }
            self.eval(RuleKind::Silent, &format!("section:{s}"), now, &mut out);
        }
        let rivers: Vec<String> = self.rivers.keys().map(|(c, r)| format!("river:{c}:{r}")).collect();
        for r in rivers {
            self.eval(RuleKind::PatrolOverdue, &r, now, &mut out);
        }
        let problems: Vec<String> = self.problems.keys().map(|p| format!("problem:{p}")).collect();
        for p in problems {
            self.eval(RuleKind::ProblemOpen, &p, now, &mut out);
        }
        // Closed problems are only needed until their alert is gone; so are their trackers.
        self.problems.retain(|id, p| {
            p.status != ProblemStatus::Closed
                || self.open.contains_key(&(RuleKind::ProblemOpen, format!("problem:{id}")))
        });
        let problems = &self.problems;
        self.trackers.retain(|(rule, key), _| {
            *rule != RuleKind::ProblemOpen
                || key.strip_prefix("problem:").is_some_and(|id| problems.contains_key(id))
        });
        let projects: Vec<String> = self.projects.keys().map(|p| format!("project:{p}")).collect();
        for p in &projects {
            self.eval(RuleKind::StepOverdue, p, now, &mut out);
            self.eval(RuleKind::InvestmentBehind, p, now, &mut out);
        }
        let villages: Vec<String> = self.villages.keys().map(|v| format!("village:{v}")).collect();
        for v in villages {
            self.eval(RuleKind::RelapseJump, &v, now, &mut out);
        }
        self.escalate_waiting(now, &mut out);
        let cutoff = now.plus_s(-KEEP_RESOLVED_HOURS * 3600);
        self.alerts.retain(|_, a| a.is_open() || parse_time(&a.updated).is_none_or(|t| t >= cutoff));
        out.steps
    }

    fn escalate_waiting(&mut self, now: Timestamp, out: &mut Pass) {
        for a in self.alerts.values() {
            if a.state != AlertState::New || out.stepped.contains(&a.id) || !self.rules.rule(a.rule).escalate
            {
                continue;
            }
            let Some(minutes) = self.rules.escalation.minutes(a.severity) else { continue };
            let since = a
                .steps
                .iter()
                .rev()
                .find(|s| matches!(s.action, AlertAction::Raise | AlertAction::Escalate))
                .and_then(|s| parse_time(&s.time));
            if since.is_some_and(|t| now.seconds_since(t) >= f64::from(minutes) * 60.0) {
                out.push(Pending {
                    alert: a.id.clone(),
                    action: AlertAction::Escalate,
                    actor: "system".into(),
                    role: String::new(),
                    addr: String::new(),
                    comment: format!("not acknowledged within {minutes} min"),
                    body: json!({ "severity": a.severity.up(), "waited_minutes": minutes }),
                });
            }
        }
    }

    /// The measure of `rule` about `key` now, with the data behind it.
    fn measure(&self, rule: RuleKind, key: &str, now: Timestamp) -> Option<Measure> {
        let (subject, part) = key.split_once('#').map_or((key, None), |(s, p)| (s, Some(p)));
        let (kind, id) = subject.split_once(':')?;
        match (rule, kind) {
            (RuleKind::WaterClass | RuleKind::Spike | RuleKind::Silent, "section") => {
                let m = self.sections.get(id)?;
                let i = self.places.section(id)?;
                let s = &self.places.sections()[i];
                let measure = match rule {
                    RuleKind::WaterClass => {
                        let t = &self.rules.targets;
                        let target = t.sections.get(id).copied().unwrap_or(match s.body {
                            WaterBody::River => t.river,
                            WaterBody::Lake => t.lake,
                        });
                        let class = yiping_protocol::water::WaterClass::ALL[m.class.min(5)];
                        Measure {
                            value: m.class as f64 - target.index() as f64,
                            data: Facts::WaterClass(ClassFacts {
                                class,
                                target,
                                time: m.last_time,
                                reading: m.reading.clone(),
                            }),
                            obs: m.obs,
                        }
                    }
                    RuleKind::Spike => {
                        let ind = part?;
                        let v = *m.latest.get(ind)?;
                        let min_rise = *self.rules.spike_min_rise.get(ind)?;
                        let base = m.baseline.get(ind).copied();
                        let value = match base {
                            Some(b) if b > 0.0 && v - b >= min_rise => v / b,
                            Some(b) if b > 0.0 => {
                                (v / b).min(self.rules.spike.clear_threshold() - 1e-9).max(0.0)
                            }
                            _ => 0.0,
                        };
                        Measure {
                            value,
                            data: Facts::Spike(SpikeFacts {
                                indicator: ind.to_owned(),
                                value: v,
                                baseline: base.map(|b| (b * 1000.0).round() / 1000.0),
                                time: m.last_time,
                                reading: m.reading.clone(),
                            }),
                            obs: m.obs,
                        }
                    }
                    _ => Measure {
                        value: now.seconds_since(m.last_time) / 60.0,
                        data: Facts::Silent(SilentFacts { last_reading: m.last_time }),
                        obs: m.obs,
                    },
                };
                Some(measure)
            }
            (RuleKind::PatrolOverdue, "river") => {
                let (county, river) = id.split_once(':')?;
                let m = self.rivers.get(&(county.to_owned(), river.to_owned()))?;
                let days = days_between(m.last_patrol, now);
                let data = Facts::PatrolOverdue(PatrolFacts {
                    river: m.river.clone(),
                    last_patrol: m.last_patrol,
                    days: (days * 10.0).round() / 10.0,
                });
                Some(Measure { value: days, data, obs: m.obs })
            }
            (RuleKind::ProblemOpen, "problem") => {
                let m = self.problems.get(id)?;
                let days = if m.status == ProblemStatus::Closed { 0.0 } else { days_between(m.found, now) };
                let data = Facts::ProblemOpen(ProblemFacts {
                    found: m.found,
                    kind: m.kind,
                    status: m.status,
                    days: (days * 10.0).round() / 10.0,
                });
                Some(Measure { value: days, data, obs: m.obs })
            }
            (RuleKind::StepOverdue, "project") => {
                let m = self.projects.get(id)?;
                let today = now.beijing_date();
                let late = m
                    .steps
                    .iter()
                    .filter(|s| s.is_overdue(today))
                    .map(|s| (s.days_late(today), s))
                    .max_by_key(|(d, _)| *d);
                let facts = StepFacts {
                    step: late.map(|(_, s)| s.step),
                    due: late.map(|(_, s)| s.due),
                    days_late: late.map(|(d, _)| d),
                    industry: m.industry.clone(),
                };
                let value = late.map_or(0.0, |(d, _)| d as f64);
                let data = Facts::StepOverdue(facts);
                Some(Measure { value, data, obs: m.obs })
            }
            (RuleKind::InvestmentBehind, "project") => {
                let m = self.projects.get(id)?;
                let step = |k: StepKind| m.steps.iter().find(|s| s.step == k);
                let start: Option<Date> = step(StepKind::Start).and_then(|s| s.done);
                let accepted = step(StepKind::Acceptance).is_some_and(|s| s.done.is_some());
                let end: Option<Date> = step(StepKind::Acceptance).map(|s| s.due);
                let today = now.beijing_date();
                let (value, data) = match (start, end) {
                    (Some(start), Some(end)) if !accepted && m.plan_wan > 0.0 => {
                        let span = start.days_until(end) as f64;
                        let gone = start.days_until(today) as f64;
                        let expected = if span > 0.0 { (gone / span).clamp(0.0, 1.0) } else { 1.0 };
                        let done = (m.done_wan / m.plan_wan).clamp(0.0, 1.0);
                        let behind = 100.0 * (expected - done);
                        let facts = InvestmentFacts {
                            expected_percent: Some((expected * 1000.0).round() / 10.0),
                            done_percent: Some((done * 1000.0).round() / 10.0),
                            plan_wan: Some(m.plan_wan),
                            done_wan: Some(m.done_wan),
                            start: Some(start),
                            acceptance_due: Some(end),
                            industry: m.industry.clone(),
                        };
                        (behind.max(0.0), Facts::InvestmentBehind(facts))
                    }
                    _ => {
                        let facts = InvestmentFacts { industry: m.industry.clone(), ..Default::default() };
                        (0.0, Facts::InvestmentBehind(facts))
                    }
                };
                Some(Measure { value, data, obs: m.obs })
            }
            (RuleKind::RelapseJump, "village") => {
                let m = self.villages.get(id)?;
                let rise = m.previous.map_or(0.0, |p| f64::from(m.risk) - f64::from(p));
                let data = Facts::RelapseJump(RelapseFacts {
                    risk_households: m.risk,
                    previous: m.previous,
                    time: m.time,
                });
                Some(Measure { value: rise.max(0.0), data, obs: m.obs })
            }
            _ => None,
        }
    }

    /// Where the subject of `rule` about `key` is, and who answers for it: what a raise carries.
    /// Worked out for a raise only, not with every measure (every event about a subject is
    /// measured, and few raise anything).
    fn subject(&self, rule: RuleKind, key: &str) -> Option<(Place, Option<Responsible>)> {
        let subject = key.split_once('#').map_or(key, |(s, _)| s);
        let (kind, id) = subject.split_once(':')?;
        match (rule, kind) {
            (RuleKind::WaterClass | RuleKind::Spike | RuleKind::Silent, "section") => {
                let s = &self.places.sections()[self.places.section(id)?];
                let place =
                    Place { name: s.name.to_owned(), adcode: s.adcode.clone(), lon: s.lon, lat: s.lat };
                let responsible = self.rivers.get(&(s.adcode.clone(), s.river.to_owned())).and_then(chief);
                Some((place, responsible))
            }
            (RuleKind::PatrolOverdue, "river") => {
                let (county, river) = id.split_once(':')?;
                let m = self.rivers.get(&(county.to_owned(), river.to_owned()))?;
                Some((m.place.clone(), chief(m)))
            }
            (RuleKind::ProblemOpen, "problem") => {
                let m = self.problems.get(id)?;
                let responsible =
                    self.rivers.get(&(m.place.adcode.clone(), m.place.name.clone())).and_then(chief);
                Some((m.place.clone(), responsible))
            }
            (RuleKind::StepOverdue | RuleKind::InvestmentBehind, "project") => {
                Some((self.projects.get(id)?.place.clone(), None))
            }
            (RuleKind::RelapseJump, "village") => Some((self.villages.get(id)?.place.clone(), None)),
            _ => None,
        }
    }

    fn eval(&mut self, rule: RuleKind, key: &str, now: Timestamp, out: &mut Pass) {
        let Some(m) = self.measure(rule, key, now) else { return };
        let r = self.rules.rule(rule);
        let (severity, clear_below, clear_after) =
            (r.severity(m.value).filter(|_| r.enabled), r.clear_threshold(), r.clear_after);
        let k = (rule, key.to_owned());
        let open = self.open.get(&k).cloned();
        // Steps already proposed in this pass and not applied yet.
        if open.is_none() && out.raised.contains(&k) {
            return;
        }
        let tracker = self.trackers.entry(k.clone()).or_default();
        let new_obs = m.obs != tracker.last_obs;
        tracker.last_obs = m.obs;
        if let Some(sev) = severity {
            tracker.clear_count = 0;
            match open.and_then(|id| self.alerts.get(&id)) {
                None => {
                    let Some((place, responsible)) = self.subject(rule, key) else { return };
                    // The next free id, counting the raises of this pass (the book takes it
                    // when the step is applied).
                    let id = alert_id(self.next_id + out.raises);
                    let subject = key.split('#').next().unwrap_or(key).to_owned();
                    out.raise(k.clone(), Pending {
                        alert: id.clone(),
                        action: AlertAction::Raise,
                        actor: "system".into(),
                        role: String::new(),
                        addr: String::new(),
                        comment: format!("{rule}: measure {:.2} reached {}", m.value, sev.as_str()),
                        body: json!({
                            "id": id, "rule": rule, "key": key, "theme": rule.theme(), "severity": sev,
                            "subject": subject, "name": place.name, "adcode": place.adcode,
                            "lon": place.lon, "lat": place.lat, "data": m.data.to_value(), "responsible": responsible,
                            "measure": m.value,
                        }),
                    });
                }
                Some(a) if sev > a.severity && a.is_open() => out.push(Pending {
                    alert: a.id.clone(),
                    action: AlertAction::Escalate,
                    actor: "system".into(),
                    role: String::new(),
                    addr: String::new(),
                    comment: format!("{rule}: measure {:.2} reached {}", m.value, sev.as_str()),
                    body: json!({ "severity": sev, "data": m.data.to_value(), "measure": m.value }),
                }),
                Some(_) => {}
            }
        } else if m.value < clear_below {
            if new_obs {
                tracker.clear_count += 1;
            }
            let count = tracker.clear_count;
            let Some(a) = open.and_then(|id| self.alerts.get(&id)) else { return };
            if count < clear_after || !a.is_open() {
                return;
            }
            let comment = format!("{rule}: condition cleared (measure {:.2})", m.value);
            let (action, comment) = match a.state {
                AlertState::Dispatched if a.cleared => return,
                AlertState::Dispatched => (AlertAction::Clear, comment + "; left open for the assignee"),
                _ => (AlertAction::Resolve, comment),
            };
            out.push(Pending {
                alert: a.id.clone(),
                action,
                actor: "system".into(),
                role: String::new(),
                addr: String::new(),
                comment,
                body: json!({ "data": m.data.to_value(), "measure": m.value }),
            });
        } else {
            // Between the clear threshold and the first level: hold, and count again from zero.
            tracker.clear_count = 0;
        }
    }

    /// The rules' steps (`proposed` from another book's [`Book::observe`] or [`Book::tick`],
    /// decided before this book had every step in the stream before them) as this book would
    /// have decided them, in order: each checked against the alert as this book and the steps
    /// kept before it leave it. A raise of a subject already open becomes an escalation if it
    /// is worse (else nothing); an escalation must be to a higher severity (and, for one by
    /// waiting, of an alert still new); a resolve of a dispatched alert becomes a clear (it
    /// stays open for the assignee); raises take the next free ids. Two books that hold the
    /// same alerts settle the same proposals alike, so nodes that apply the same messages keep
    /// the same alerts, whatever each remembers.
    pub fn settle(&self, proposed: Vec<Pending>) -> Vec<Pending> {
        /// An alert as the steps kept so far leave it.
        #[derive(Clone, Copy)]
        struct Now {
            severity: Severity,
            state: AlertState,
            cleared: bool,
        }
        let mut now: HashMap<String, Now> = HashMap::new();
        // (rule, key) → the id its raise took.
        let mut raised: HashMap<(String, String), String> = HashMap::new();
        let mut next = self.next_id;
        let mut out = Vec::new();
        let severity_of = |p: &Pending| serde_json::from_value::<Severity>(p.body["severity"].clone()).ok();
        for mut p in proposed {
            let view = |now: &HashMap<String, Now>, id: &str| {
                now.get(id).copied().or_else(|| {
                    self.alerts.get(id).map(|a| Now {
                        severity: a.severity,
                        state: a.state,
                        cleared: a.cleared,
                    })
                })
            };
            if p.action == AlertAction::Raise {
                let subject = (
                    p.body["rule"].as_str().unwrap_or_default().to_owned(),
                    p.body["key"].as_str().unwrap_or_default().to_owned(),
                );
                let open = raised.get(&subject).cloned().or_else(|| {
                    let (rule, key) = &subject;
                    RuleKind::parse(rule).and_then(|r| self.open.get(&(r, key.clone())).cloned())
                });
                let Some(sev) = severity_of(&p) else { continue };
                match open {
                    None => {
                        let id = alert_id(next);
                        next += 1;
                        p.body["id"] = json!(id);
                        p.alert.clone_from(&id);
                        now.insert(id.clone(), Now { severity: sev, state: AlertState::New, cleared: false });
                        raised.insert(subject, id);
                        out.push(p);
                    }
                    // Decided before the proposer had the alert: an escalation, if worse.
                    Some(id) => {
                        let Some(v) = view(&now, &id) else { continue };
                        if v.state != AlertState::Resolved && sev > v.severity {
                            now.insert(id.clone(), Now { severity: sev, ..v });
                            let body = json!({ "severity": sev, "data": p.body["data"], "measure": p.body["measure"] });
                            out.push(Pending { alert: id, action: AlertAction::Escalate, body, ..p });
                        }
                    }
                }
                continue;
            }
            let Some(v) = view(&now, &p.alert) else { continue };
            if v.state == AlertState::Resolved {
                continue;
            }
            let kept = match p.action {
                AlertAction::Escalate => {
                    let waited = p.body.get("waited_minutes").is_some();
                    match severity_of(&p) {
                        Some(sev) if sev > v.severity && (!waited || v.state == AlertState::New) => {
                            Some(Now { severity: sev, ..v })
                        }
                        _ => None,
                    }
                }
                AlertAction::Resolve | AlertAction::Clear if v.state == AlertState::Dispatched => {
                    if v.cleared {
                        None
                    } else {
                        if p.action == AlertAction::Resolve {
                            p.action = AlertAction::Clear;
                            p.comment.push_str("; left open for the assignee");
                        }
                        Some(Now { cleared: true, ..v })
                    }
                }
                AlertAction::Resolve => Some(Now { state: AlertState::Resolved, ..v }),
                _ => None,
            };
            if let Some(n) = kept {
                now.insert(p.alert.clone(), n);
                out.push(p);
            }
        }
        out
    }

    /// A person's step on an alert ([`Book::act`] with its parts).
    pub fn step(&self, s: &Step) -> Result<Pending, ActError> {
        let by = Actor { name: &s.name, role: &s.role, addr: &s.addr };
        self.act(&s.alert, s.action, &by, &s.comment, s.to.as_deref())
    }

    /// A person's action on an alert.
    pub fn act(
        &self,
        id: &str,
        action: AlertAction,
        by: &Actor<'_>,
        comment: &str,
        to: Option<&str>,
    ) -> Result<Pending, ActError> {
        let a = self.alerts.get(id).ok_or_else(|| ActError::NotFound(id.to_owned()))?;
        let refuse =
            || ActError::State { id: id.to_owned(), state: a.state.as_str(), action: action_past(action) };
        let mut body = json!({});
        match action {
            AlertAction::Acknowledge if a.state == AlertState::New => {}
            AlertAction::Dispatch if a.is_open() => {
                let to = to
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or(ActError::Missing("dispatch needs `to`: the person or office to handle it"))?;
                body = json!({ "to": to });
            }
            AlertAction::Resolve if a.is_open() => {
                if comment.trim().is_empty() {
                    return Err(ActError::Missing("resolve needs a `comment`: what was done"));
                }
            }
            _ => return Err(refuse()),
        }
        Ok(Pending {
            alert: id.to_owned(),
            action,
            actor: by.name.to_owned(),
            role: by.role.to_owned(),
            addr: by.addr.to_owned(),
            comment: comment.trim().to_owned(),
            body,
        })
    }

    /// Apply a stored trail entry (`alert.*`); returns the alert it changed.
    pub fn apply(&mut self, e: &Entry) -> Option<&Alert> {
        let action = AlertAction::of_trail_action(&e.action)?;
        let b = &e.body;
        if action == AlertAction::Raise {
            let n: u64 = e.target.trim_start_matches('A').parse().unwrap_or(0);
            self.next_id = self.next_id.max(n + 1);
            let severity = serde_json::from_value(b["severity"].clone()).unwrap_or(Severity::Yellow);
            let a = Alert {
                id: e.target.clone(),
                rule: b["rule"].as_str().and_then(RuleKind::parse)?,
                key: b["key"].as_str().unwrap_or_default().to_owned(),
                theme: b["theme"].as_str().unwrap_or_default().to_owned(),
                severity,
                state: AlertState::New,
                subject: b["subject"].as_str().unwrap_or_default().to_owned(),
                name: b["name"].as_str().unwrap_or_default().to_owned(),
                adcode: b["adcode"].as_str().unwrap_or_default().to_owned(),
                lon: b["lon"].as_f64().unwrap_or(0.0),
                lat: b["lat"].as_f64().unwrap_or(0.0),
                data: b["data"].clone(),
                responsible: serde_json::from_value(b["responsible"].clone()).ok(),
                assignee: None,
                cleared: false,
                raised: e.time.clone(),
                updated: e.time.clone(),
                steps: Vec::new(),
            };
            self.open.insert((a.rule, a.key.clone()), a.id.clone());
            self.alerts.insert(a.id.clone(), a);
        }
        let a = self.alerts.get_mut(&e.target)?;
        match action {
            AlertAction::Raise => {}
            AlertAction::Escalate => {
                if let Ok(s) = serde_json::from_value(b["severity"].clone()) {
                    a.severity = s;
                }
                if !b["data"].is_null() {
                    a.data = b["data"].clone();
                }
            }
            AlertAction::Clear => a.cleared = true,
            AlertAction::Acknowledge => a.state = AlertState::Acknowledged,
            AlertAction::Dispatch => {
                a.state = AlertState::Dispatched;
                a.assignee = b["to"].as_str().map(str::to_owned);
            }
            AlertAction::Resolve => {
                a.state = AlertState::Resolved;
                self.open.remove(&(a.rule, a.key.clone()));
            }
        }
        a.updated.clone_from(&e.time);
        a.steps.push(AlertStep {
            seq: e.seq,
            action,
            actor: e.actor.clone(),
            time: e.time.clone(),
            comment: e.comment.clone(),
            severity: a.severity,
            to: b["to"].as_str().map(str::to_owned),
        });
        Some(a)
    }

    /// An alert in the live list.
    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.alerts.get(id)
    }

    /// Every alert in the live list, newest first.
    pub fn list(&self) -> Vec<&Alert> {
        let mut v: Vec<&Alert> = self.alerts.values().collect();
        v.sort_by(|a, b| Alert::newest_first(a, b));
        v
    }

    /// The topic's snapshot.
    pub fn snapshot(&self) -> AlertsData {
        AlertsData { alerts: self.list().into_iter().cloned().collect() }
    }
}

/// An alert's id: `A` and its number in six digits.
fn alert_id(n: u64) -> String {
    format!("A{n:06}")
}

fn chief(m: &RiverMem) -> Option<Responsible> {
    m.chief
        .as_ref()
        .map(|(l, n)| Responsible { name: n.clone(), role: format!("river_chief:{}", level_name(*l)) })
}

fn action_past(a: AlertAction) -> &'static str {
    match a {
        AlertAction::Raise => "raised",
        AlertAction::Escalate => "escalated",
        AlertAction::Clear => "cleared",
        AlertAction::Acknowledge => "acknowledged",
        AlertAction::Dispatch => "dispatched",
        AlertAction::Resolve => "resolved",
    }
}

#[cfg(test)]
mod tests;
