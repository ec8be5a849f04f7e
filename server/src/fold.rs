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
//! long the log.
//!
//! **Event time decides, arrival order never does** (DESIGN §2). Every report carries an
//! [`Order`]: its event time as an instant, then its source and id. An entity's state is its
//! report of greatest order, so a report that arrives late (a retry, a backfill, an import after
//! live data) never replaces a newer one; it still counts where figures are cumulative. Villages'
//! flows (households newly at risk, risk removed) follow each village's reports in event-time
//! order, and the history's steps are the figures as of each step's end by event time. So any
//! permutation of the arrival order gives the same state (a property test checks it).
//!
//! Overdue depends on the day, not on the events: the aggregates keep the open steps by due date
//! ([`ProjectsAgg::open_steps_due`]), and whoever shows a figure counts those due before today in
//! Asia/Shanghai ([`ProjectsAgg::overdue_steps`]), so the figure moves at Beijing midnight without
//! any event.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use yiping_protocol::events::{Envelope, Event, OutletStatus, ProblemStatus};
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{
    ChildFigures, Coverage, Detail, EntityState, HistoryPoint, Overview, POVERTY, PROJECTS, PovertyAgg,
    ProjectsAgg, RIVERS, RiversAgg, SectionStatus, ThemeData, WATER, WaterAgg,
};
use yiping_protocol::water::WaterClass;

use crate::places::Places;

mod history;
use history::Histories;
pub use history::Tally;

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

/// Add or remove counts kept by key, dropping keys whose counts all become zero (so equal
/// figures are equal maps, whatever the order they were reached in).
fn merge_counts<K: Ord + Copy, const N: usize>(
    a: &mut BTreeMap<K, [u32; N]>,
    b: &BTreeMap<K, [u32; N]>,
    sign: i8,
) {
    for (k, counts) in b {
        let slot = a.entry(*k).or_insert([0; N]);
        for (x, y) in slot.iter_mut().zip(counts) {
            addu(x, *y, sign);
        }
        if slot.iter().all(|x| *x == 0) {
            a.remove(k);
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
        merge_counts(&mut self.open_steps_due, &o.open_steps_due, s);
        merge_counts(&mut self.first_open_due, &o.first_open_due, s);
        if self.projects == 0 {
            // Sums of decimals taken away again leave a residue (1e-13), which over a zero plan
            // would show as a percentage: no project, no money.
            (self.plan_wan, self.done_wan) = (0.0, 0.0);
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
        addf(&mut self.income_weighted_yuan, o.income_weighted_yuan, s);
        addu64(&mut self.risk_added, o.risk_added, s);
        addu64(&mut self.risk_removed, o.risk_removed, s);
        if self.villages == 0 {
            // No village, no money (and no residue of sums of decimals taken away again).
            (self.assistance_wan, self.income_sum_yuan, self.income_weighted_yuan) = (0.0, 0.0, 0.0);
        }
    }
}

/// Which of two reports is newer: event time as an instant, then source, then id. Never the
/// order of arrival, so that every arrival order gives the same state. Saved as
/// `[unix ns, source, id]` (snapshots hold one per closed case: it must be small). Its texts are
/// shared, not copied, by its clones: the fold keeps one in several places per report (the
/// entity's state, the histories), and a snapshot copies the fold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Order {
    /// Event time.
    pub at: Timestamp,
    /// Source.
    pub source: Arc<str>,
    /// The source's id of the event.
    pub id: Arc<str>,
}

impl serde::Serialize for Order {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.at.unix_ns(), &*self.source, &*self.id).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Order {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (ns, source, id) = <(i64, String, String)>::deserialize(d)?;
        Ok(Order { at: Timestamp::from_unix_ns(ns), source: source.into(), id: id.into() })
    }
}

/// A theme's live entities are saved as a map in key order, as when they were kept in one (and
/// read back as any map is).
fn in_key_order<S: serde::Serializer, V: serde::Serialize>(
    m: &HashMap<String, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&m.iter().collect::<BTreeMap<_, _>>(), s)
}

/// A theme's closed cases are saved as a table of their distinct contributions (a closed case
/// adds one of a handful) and one row `[key, county, contribution, order]` per case.
pub(crate) mod closed_cases {
    use std::collections::HashMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Order, Retired};

    #[derive(Serialize, Deserialize)]
    struct Saved<A> {
        contributions: Vec<A>,
        cases: Vec<(String, String, usize, Order)>,
    }

    /// Serialise the closed cases (sorted by key, so that equal states save equal text).
    pub(crate) fn serialize<S: Serializer, A: Serialize + Clone>(
        m: &HashMap<String, Retired<A>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        let (mut contributions, mut index): (Vec<A>, HashMap<String, usize>) = (Vec::new(), HashMap::new());
        let mut cases = Vec::with_capacity(m.len());
        for k in keys {
            let r = &m[k];
            let text = serde_json::to_string(&r.contribution).map_err(serde::ser::Error::custom)?;
            let i = *index.entry(text).or_insert_with(|| {
                contributions.push(r.contribution.clone());
                contributions.len() - 1
            });
            cases.push((k.clone(), r.county.clone(), i, r.order.clone()));
        }
        Saved { contributions, cases }.serialize(s)
    }

    /// Read what [`serialize`] wrote.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>, A: Deserialize<'de> + Clone>(
        d: D,
    ) -> Result<HashMap<String, Retired<A>>, D::Error> {
        let saved = Saved::<A>::deserialize(d)?;
        saved
            .cases
            .into_iter()
            .map(|(key, county, i, order)| {
                let contribution = saved.contributions.get(i).cloned().ok_or_else(|| {
                    serde::de::Error::custom(format!("closed case {key}: no contribution {i}"))
                })?;
                Ok((key, Retired { county, contribution, order }))
            })
            .collect()
    }
}

/// Each entity's reports by their order, with what each said. An entity's map is shared with
/// the copies the fold's snapshots take until either changes it (copy on write,
/// [`Arc::make_mut`]): a copy costs the entities, not their reports.
pub(crate) type Reports<V> = HashMap<String, Arc<BTreeMap<Order, V>>>;

/// Maps keyed by [`Order`] are saved as lists of pairs (JSON keys must be strings).
pub(crate) mod by_order {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Order, Reports};

    /// Serialise each entity's map as a list of pairs.
    pub(crate) fn serialize<S: Serializer, V: Serialize>(m: &Reports<V>, s: S) -> Result<S::Ok, S::Error> {
        let v: BTreeMap<&String, Vec<(&Order, &V)>> =
            m.iter().map(|(k, r)| (k, r.iter().collect())).collect();
        v.serialize(s)
    }

    /// Read what [`serialize`] wrote.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
        d: D,
    ) -> Result<Reports<V>, D::Error> {
        let v: HashMap<String, Vec<(Order, V)>> = HashMap::deserialize(d)?;
        Ok(v.into_iter().map(|(k, r)| (k, Arc::new(r.into_iter().collect()))).collect())
    }
}

impl Order {
    /// The order of an event.
    pub fn of(e: &Envelope) -> Order {
        Order {
            at: e.time.at,
            source: e.source.as_deref().unwrap_or_default().into(),
            id: e.id.as_str().into(),
        }
    }
}

/// An entity's latest state, its contribution to the aggregates, and the order of the report
/// that set it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Live<A> {
    state: EntityState,
    contribution: A,
    order: Order,
}

/// A closed case: its county, contribution and the order of the report that closed it.
#[derive(Debug, Clone)]
pub(crate) struct Retired<A> {
    county: String,
    contribution: A,
    order: Order,
}

/// One theme's state: entities with their contributions, and aggregates by region.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "A: serde::Serialize + Clone",
    deserialize = "A: serde::de::DeserializeOwned + Clone"
))]
pub struct Theme<A> {
    /// Live entities by key. Hashed rather than ordered: a report looks its entity up two or
    /// three times, and a feed's keys share their first characters (`V00012`, `V00013`), which
    /// an ordered map compares at every step. Saved in key order ([`in_key_order`]); read out in key
    /// order where the order shows ([`Theme::snapshot`], [`Fold::entity_states`]).
    #[serde(serialize_with = "in_key_order")]
    entities: HashMap<String, Live<A>>,
    /// Entities whose case is closed: only their county, contribution and order are kept (they
    /// still count, and a late report about them must not reopen them).
    #[serde(with = "closed_cases")]
    retired: HashMap<String, Retired<A>>,
    regions: HashMap<String, A>,
}

impl<A: Aggregate> Default for Theme<A> {
    fn default() -> Self {
        Theme { entities: HashMap::new(), retired: HashMap::new(), regions: HashMap::new() }
    }
}

/// Where an event's change is noted as it is folded: its batch's [`Touched`], or nowhere when
/// replaying quietly (nobody is sent that change).
struct Noting<'a>(Option<&'a mut Touched>);

impl Noting<'_> {
    /// Regions whose aggregates moved.
    fn regions(&mut self, regions: &[&str]) {
        if let Some(t) = self.0.as_deref_mut() {
            for r in regions {
                // A batch moves the same few regions again and again: no text copied for those.
                if !t.regions.contains(*r) {
                    t.regions.insert((*r).to_owned());
                }
            }
        }
    }

    /// The entity whose state changed, if any: its state now.
    fn entity<A: Aggregate>(&mut self, theme: &Theme<A>, entity: Option<&str>) {
        if let Some(t) = self.0.as_deref_mut() {
            t.note(theme, entity);
        }
    }
}

impl<A: Aggregate> Theme<A> {
    fn add(&mut self, places: &Places, county: &str, c: &A, sign: i8, moved: &mut Noting<'_>) {
        let regions = places.rollup(county);
        for r in regions.iter() {
            match self.regions.get_mut(*r) {
                Some(a) => a.merge(c, sign),
                None => self.regions.entry((*r).to_owned()).or_default().merge(c, sign),
            }
        }
        moved.regions(&regions);
    }

    /// The order of the report that set an entity's state (live or closed).
    fn order(&self, key: &str) -> Option<&Order> {
        self.entities.get(key).map(|l| &l.order).or_else(|| self.retired.get(key).map(|r| &r.order))
    }

    /// Is a report of this order newer than what the entity's state rests on?
    fn is_newer(&self, key: &str, order: &Order) -> bool {
        self.order(key).is_none_or(|o| order > o)
    }

    /// Replace an entity's state and contribution, noting the regions moved.
    fn upsert(
        &mut self,
        places: &Places,
        state: EntityState,
        contribution: A,
        order: Order,
        moved: &mut Noting<'_>,
    ) {
        if let Some(old) = self.entities.remove(&state.key) {
            self.add(places, &old.state.adcode, &old.contribution, -1, moved);
        } else if let Some(old) = self.retired.remove(&state.key) {
            // A closed case reported again (reopened): it replaces its closed contribution.
            self.add(places, &old.county, &old.contribution, -1, moved);
        }
        self.add(places, &state.adcode, &contribution, 1, moved);
        self.entities.insert(state.key.clone(), Live { state, contribution, order });
    }

    /// Replace the contribution of an entity, keeping its state (a late report changed what
    /// the entity adds up to, not its latest state).
    fn recontribute(&mut self, places: &Places, key: &str, contribution: A, moved: &mut Noting<'_>) {
        let Some(live) = self.entities.get(key) else { return };
        let (county, old) = (live.state.adcode.clone(), live.contribution.clone());
        self.add(places, &county, &old, -1, moved);
        self.add(places, &county, &contribution, 1, moved);
        if let Some(live) = self.entities.get_mut(key) {
            live.contribution = contribution;
        }
    }

    /// Close an entity's case: forget its state, keep its contribution.
    fn retire(&mut self, key: &str) {
        if let Some(l) = self.entities.remove(key) {
            let r = Retired { county: l.state.adcode, contribution: l.contribution, order: l.order };
            self.retired.insert(key.to_owned(), r);
        }
    }

    /// The aggregates of one region (zero when nothing was reported there).
    pub fn region(&self, adcode: &str) -> A {
        self.regions.get(adcode).cloned().unwrap_or_default()
    }

    /// An entity's latest state.
    pub fn entity(&self, key: &str) -> Option<&EntityState> {
        self.entities.get(key).map(|l| &l.state)
    }

    /// Every live entity's state, by key.
    fn states(&self) -> BTreeMap<String, EntityState> {
        self.entities.iter().map(|(k, l)| (k.clone(), l.state.clone())).collect()
    }

    /// The whole theme as a snapshot payload.
    pub fn snapshot(&self) -> ThemeData<A> {
        ThemeData {
            entities: self.states(),
            regions: self.regions.iter().map(|(k, a)| (k.clone(), a.clone())).collect(),
        }
    }

    /// The delta payload of what changed: the entities as noted, the regions' aggregates now.
    fn delta(&self, touched: Touched) -> ThemeData<A> {
        ThemeData {
            entities: touched.entities,
            regions: touched
                .regions
                .into_iter()
                .map(|r| {
                    let a = self.region(&r);
                    (r, a)
                })
                .collect(),
        }
    }
}

/// What events changed in one theme topic: the entities, each as it stood after its last change
/// (a case closed as it closed, though it then leaves the live state), and the regions whose
/// aggregates moved. One delta is made of it ([`Fold::delta`]), with the regions' figures as
/// they stand when it is made.
#[derive(Debug, Default)]
pub struct Touched {
    entities: BTreeMap<String, EntityState>,
    regions: BTreeSet<String>,
}

impl Touched {
    /// Note an event's change of its entity: its state now (the regions it moved are noted as
    /// they move, through [`Noting`]).
    fn note<A: Aggregate>(&mut self, theme: &Theme<A>, entity: Option<&str>) {
        if let Some(s) = entity.and_then(|k| theme.entity(k)) {
            match self.entities.get_mut(&s.key) {
                Some(e) => e.clone_from(s),
                None => {
                    self.entities.insert(s.key.clone(), s.clone());
                }
            }
        }
    }
}

/// What a batch of events changed, by theme topic (in the order each first changed): the batch
/// is sent as one delta per topic ([`Fold::deltas`]), not one per event. A wall needs the state
/// the batch leaves, and a delta per event would cost every client a message per event: at the
/// ingest rates sources reach (hundreds of thousands of events a second), more than any client
/// could take.
#[derive(Debug, Default)]
pub struct Changes {
    topics: Vec<(&'static str, Touched)>,
}

impl Changes {
    fn topic(&mut self, topic: &'static str) -> &mut Touched {
        let i = match self.topics.iter().position(|(t, _)| *t == topic) {
            Some(i) => i,
            None => {
                self.topics.push((topic, Touched::default()));
                self.topics.len() - 1
            }
        };
        &mut self.topics[i].1
    }

    /// The topics changed, in the order each first changed.
    pub fn topics(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.topics.iter().map(|(t, _)| *t)
    }
}

/// The delta payload of a theme topic.
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
    /// The event's delta alone ([`Fold::apply`]; None from the others).
    pub delta: Option<Delta>,
    /// Whether the event is its entity's newest report (by event time) and so its state now, or
    /// a counted event; false for a late report (what the alert rules must not learn from).
    pub newest: bool,
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
    section_latest: Vec<Option<(WaterClass, Order)>>,
    last_time: Option<Timestamp>,
    /// The newest event time per theme topic.
    theme_times: BTreeMap<String, Timestamp>,
    /// The newest patrol of each river in each county (`county|river` → time), for coverage.
    river_patrols: BTreeMap<String, Timestamp>,
    /// Each village's at-risk households by report, in event-time order (for its flows). Shared
    /// with snapshot copies until changed, as the history's reports are.
    village_reports: Reports<u32>,
    /// Each village's flows over those reports ([`village_flows`]), kept up to date as reports
    /// arrive ([`add_village_report`]) rather than summed again over all of them each time.
    village_flows: HashMap<String, (u64, u64)>,
    /// The root's figures, and each region's one level under it, per step of event time.
    history: Histories,
    /// Events from the simulator, by topic.
    simulated: BTreeMap<String, u64>,
    /// How often each theme is expected to report, seconds (configuration, shown with the
    /// overview).
    pub expected_s: BTreeMap<String, u64>,
    /// The theme times as text (a cache of `theme_times`).
    time_texts: HashMap<&'static str, String>,
}

pub use history::{HISTORY_KEEP_S, HISTORY_STEP_S};

/// The version of [`FoldSnapshot`]'s format; a snapshot of another version is not used (the
/// state is rebuilt from the log instead).
pub const SNAPSHOT_VERSION: u32 = 4;

/// The fold's state as saved in a snapshot (everything but the places, which come with the
/// deployment). Sections are keyed by id so a snapshot survives changes to the section list.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct FoldSnapshot {
    /// [`SNAPSHOT_VERSION`] when written.
    #[serde(default)]
    pub version: u32,
    water: Theme<WaterAgg>,
    rivers: Theme<RiversAgg>,
    projects: Theme<ProjectsAgg>,
    poverty: Theme<PovertyAgg>,
    sections: BTreeMap<String, (WaterClass, Order)>,
    last_time: Option<Timestamp>,
    theme_times: BTreeMap<String, Timestamp>,
    river_patrols: BTreeMap<String, Timestamp>,
    #[serde(with = "by_order")]
    village_reports: Reports<u32>,
    history: Histories,
    #[serde(default)]
    simulated: BTreeMap<String, u64>,
    /// What the alert rules remembered at the same point ([`crate::alerts::Memory`]; none in
    /// snapshots from before it was kept: the rules then start from each subject's latest
    /// report). Read on its own, so that a change to it never makes the fold's state unreadable.
    #[serde(default)]
    pub rules: Option<serde_json::Value>,
}

impl FoldSnapshot {
    /// Read a saved snapshot; `None` (the state is then rebuilt from the log) when it is of
    /// another format version or unreadable.
    pub fn read(body: &str) -> Option<FoldSnapshot> {
        match serde_json::from_str::<FoldSnapshot>(body) {
            Ok(s) if s.version == SNAPSHOT_VERSION => Some(s),
            Ok(s) => {
                tracing::warn!(version = s.version, "snapshot of another format: rebuilding from the log");
                None
            }
            Err(e) => {
                tracing::warn!("snapshot unreadable ({e}): rebuilding from the log");
                None
            }
        }
    }

    /// Read a snapshot of format 3 (one history, the root's) as this format, when the log
    /// cannot be replayed instead (retention deleted events it covers): everything carries over
    /// but the regions' histories, which stay unknown ([`Fold::history_of`] is None for them).
    pub fn read_older(body: &str) -> Option<FoldSnapshot> {
        let mut v: serde_json::Value = serde_json::from_str(body).ok()?;
        if v.get("version").and_then(serde_json::Value::as_u64) != Some(3) {
            return None;
        }
        let root: history::History = serde_json::from_value(v.get("history")?.clone()).ok()?;
        v["history"] = serde_json::to_value(Histories::root_only(root)).ok()?;
        v["version"] = SNAPSHOT_VERSION.into();
        serde_json::from_value(v).ok()
    }
}

/// Seven days before `t`: where this week's patrol coverage starts.
pub fn week_before(t: Timestamp) -> Timestamp {
    t.plus_s(-7 * 86_400)
}

/// The flows of a village's at-risk households over its reports in event-time order: the rises
/// and the falls from one report to the next, summed (the first report is the baseline).
pub fn village_flows(risks: impl IntoIterator<Item = u32>) -> (u64, u64) {
    let (mut added, mut removed, mut prev) = (0u64, 0u64, None::<u32>);
    for r in risks {
        if let Some(p) = prev {
            added += u64::from(r.saturating_sub(p));
            removed += u64::from(p.saturating_sub(r));
        }
        prev = Some(r);
    }
    (added, removed)
}

/// Add a village's report (of `order`, `risk` households at risk) to its `reports`, and keep
/// `flows`, the rises and falls over them that [`village_flows`] sums, up to date from the
/// report's neighbours alone: a late report goes between two others and splits their step in
/// two. A village reporting every 10 minutes has thousands of reports within weeks; summing
/// them all again for each new one made folding it slower with every report.
fn add_village_report(reports: &mut BTreeMap<Order, u32>, flows: &mut (u64, u64), order: Order, risk: u32) {
    use std::ops::Bound::{Excluded, Unbounded};
    let step = |a: u32, b: u32| (u64::from(b.saturating_sub(a)), u64::from(a.saturating_sub(b)));
    let prev = reports.range((Unbounded, Excluded(&order))).next_back().map(|(_, r)| *r);
    let next = reports.range((Excluded(&order), Unbounded)).next().map(|(_, r)| *r);
    let mut undo = |a: u32, b: u32| {
        let (up, down) = step(a, b);
        flows.0 -= up;
        flows.1 -= down;
    };
    match reports.insert(order, risk) {
        // The same report again (a fold fed its own event twice): its steps are replaced.
        Some(old) => {
            prev.inspect(|p| undo(*p, old));
            next.inspect(|n| undo(old, *n));
        }
        None => {
            if let (Some(p), Some(n)) = (prev, next) {
                undo(p, n);
            }
        }
    }
    for (a, b) in [(prev, Some(risk)), (Some(risk), next)] {
        if let (Some(a), Some(b)) = (a, b) {
            let (up, down) = step(a, b);
            flows.0 += up;
            flows.1 += down;
        }
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
            village_reports: HashMap::new(),
            village_flows: HashMap::new(),
            history: Histories::default(),
            simulated: BTreeMap::new(),
            expected_s: crate::alerts::rules::Freshness::default().by_topic(),
            time_texts: HashMap::new(),
        }
    }

    /// The state to save in a snapshot.
    pub fn to_snapshot(&self) -> FoldSnapshot {
        FoldSnapshot {
            version: SNAPSHOT_VERSION,
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
            last_time: self.last_time,
            theme_times: self.theme_times.clone(),
            river_patrols: self.river_patrols.clone(),
            village_reports: self.village_reports.clone(),
            history: self.history.clone(),
            simulated: self.simulated.clone(),
            rules: None,
        }
    }

    /// A fold continuing from a snapshot.
    pub fn from_snapshot(places: Arc<Places>, snap: FoldSnapshot) -> Fold {
        let section_latest = places.sections().iter().map(|s| snap.sections.get(&s.id).cloned()).collect();
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
            village_flows: snap
                .village_reports
                .iter()
                .map(|(k, r)| (k.clone(), village_flows(r.values().copied())))
                .collect(),
            village_reports: snap.village_reports,
            history: snap.history,
            simulated: snap.simulated,
            expected_s: crate::alerts::rules::Freshness::default().by_topic(),
            time_texts: HashMap::new(),
        }
    }

    /// Every live entity of every theme (what the alert rules are seeded with on start), oldest
    /// first.
    pub fn entity_states(&self) -> Vec<EntityState> {
        let mut v: Vec<EntityState> = Vec::new();
        v.extend(self.water.states().into_values());
        v.extend(self.rivers.states().into_values());
        v.extend(self.projects.states().into_values());
        v.extend(self.poverty.states().into_values());
        v.sort_by_key(|a| a.time);
        v
    }

    /// Time of the newest event folded (by the events' own times).
    pub fn last_time(&self) -> Option<Timestamp> {
        self.last_time
    }

    /// The newest event time of a theme topic (of any, for the overview).
    pub fn topic_time(&self, topic: &str) -> Option<Timestamp> {
        self.theme_times.get(topic).copied().or(self.last_time)
    }

    /// [`Fold::topic_time`] as RFC 3339 text, formatted once per change (every delta carries it).
    pub fn topic_time_text(&self, topic: &str) -> String {
        match self.time_texts.get(topic) {
            Some(t) => t.clone(),
            None => self.topic_time(topic).map(|t| t.to_string()).unwrap_or_default(),
        }
    }

    /// Fold one accepted event located in `county`; the change carries its delta alone.
    pub fn apply(&mut self, e: &Envelope, county: &str) -> Change {
        let mut touched = Touched::default();
        let mut change = self.apply_inner(e, county, Some(&mut touched));
        change.delta = self.delta(change.topic, touched);
        change
    }

    /// Fold one accepted event of a batch: what it changed is added to `changes`, whose deltas
    /// ([`Fold::deltas`]) are made once the whole batch is folded.
    pub fn apply_to(&mut self, e: &Envelope, county: &str, changes: &mut Changes) -> Change {
        self.apply_noting(e, county, changes.topic(e.data.topic()))
    }

    /// Fold one accepted event of its topic's batch, noting what it changed in `touched`.
    pub fn apply_noting(&mut self, e: &Envelope, county: &str, touched: &mut Touched) -> Change {
        self.apply_inner(e, county, Some(touched))
    }

    /// Fold one event without noting what it changed (replaying history nobody will be sent).
    pub fn apply_quiet(&mut self, e: &Envelope, county: &str) -> Change {
        self.apply_inner(e, county, None)
    }

    /// The delta of what changed in a theme topic (None for a topic that is not a theme's).
    pub fn delta(&self, topic: &str, touched: Touched) -> Option<Delta> {
        Some(match topic {
            WATER => Delta::Water(self.water.delta(touched)),
            RIVERS => Delta::Rivers(self.rivers.delta(touched)),
            PROJECTS => Delta::Projects(self.projects.delta(touched)),
            POVERTY => Delta::Poverty(self.poverty.delta(touched)),
            _ => return None,
        })
    }

    /// One delta per topic a batch changed, in the order the topics first changed (an event
    /// may change nothing a client sees, a late report of a project, say: its topic's delta is
    /// then empty, but there is one, as the log numbered it).
    pub fn deltas(&self, changes: Changes) -> Vec<(&'static str, Delta)> {
        changes.topics.into_iter().filter_map(|(t, touched)| Some((t, self.delta(t, touched)?))).collect()
    }

    fn apply_inner(&mut self, e: &Envelope, county: &str, touched: Option<&mut Touched>) -> Change {
        let at = e.time.at;
        if self.last_time.is_none_or(|t| at > t) {
            self.last_time = Some(at);
        }
        if let Some(newest) = self.last_time {
            self.history.advance(newest);
        }
        let change = self.apply_event(e, county, touched);
        if e.source.as_deref() == Some(crate::simulator::SOURCE) {
            match self.simulated.get_mut(change.topic) {
                Some(n) => *n += 1,
                None => {
                    self.simulated.insert(change.topic.to_owned(), 1);
                }
            }
        }
        let newer = match self.theme_times.get_mut(change.topic) {
            Some(t) if *t >= at => false,
            Some(t) => {
                *t = at;
                true
            }
            None => {
                self.theme_times.insert(change.topic.to_owned(), at);
                true
            }
        };
        if newer {
            self.time_texts.insert(change.topic, at.to_string());
        }
        change
    }

    /// The root region's history, oldest first: its figures at the end of each step of the last
    /// 7 days of data, by event time; the last step is the one being written.
    pub fn history(&self) -> Vec<HistoryPoint> {
        self.history.points(None, self.last_time).unwrap_or_default()
    }

    /// The history of `region`: the root's, or that of a region one level under it (empty for
    /// one without events); None for any other region (a county under a prefecture, a region
    /// outside the root), or when only the root's is known (a state migrated from a format that
    /// kept only the root's, whose events retention had deleted).
    pub fn history_of(&self, region: &str) -> Option<Vec<HistoryPoint>> {
        if region == self.places.root() {
            return Some(self.history());
        }
        if !self.places.children().iter().any(|c| c == region) {
            return None;
        }
        self.history.points(Some(region), self.last_time)
    }

    fn apply_event(&mut self, e: &Envelope, county: &str, touched: Option<&mut Touched>) -> Change {
        let mut touched = Noting(touched);
        let detail = || Detail::of(&e.data).expect("events serialise");
        let entity = e.data.entity();
        // The order is only needed by entities' reports (not by counted events).
        let order_of = || Order::of(e);
        let at = e.time.at;
        let places = Arc::clone(&self.places);
        // The region one level under the root whose history the event also counts in.
        let child = places.child(county);
        let state = |name: &str, lon: f64, lat: f64, status: &str| EntityState {
            key: entity.clone(),
            name: name.to_owned(),
            adcode: county.to_owned(),
            lon,
            lat,
            time: at,
            status: status.to_owned(),
            detail: detail(),
        };
        let topic = e.data.topic();
        let mut newest = true;
        match &e.data {
            Event::WaterReading(r) => {
                let order = order_of();
                let i = places.section(&r.section).expect("located events have a known section");
                let s = &places.sections()[i];
                let counted = WaterAgg { readings: 1, ..Default::default() };
                self.water.add(&places, county, &counted, 1, &mut touched);
                self.history.count(child, at, Tally { readings: 1, ..Default::default() });
                // Late samples count, but the latest by sampling time sets the class.
                let class = r.indicators().class(s.body);
                let known = self.section_latest[i].as_ref().map(|(_, o)| o.clone());
                self.history.report(
                    child,
                    &entity,
                    order.clone(),
                    Tally { good: i64::from(class.index() < 3), reporting: 1, ..Default::default() },
                    known.as_ref(),
                );
                let newer = self.section_latest[i].as_ref().is_none_or(|(_, o)| order > *o);
                newest = newer;
                let mut changed = None;
                if newer {
                    self.section_latest[i] = Some((class, order.clone()));
                    let mut c = WaterAgg { sections_reporting: 1, ..Default::default() };
                    c.class_counts[class.index()] = 1;
                    let st = state(&s.name, s.lon, s.lat, class.code());
                    self.water.upsert(&places, st, c, order, &mut touched);
                    changed = Some(entity.as_str());
                }
                touched.entity(&self.water, changed);
            }
            Event::SewageOutlet(o) => {
                let order = order_of();
                let c = WaterAgg {
                    outlets: 1,
                    outlets_remediated: u32::from(o.status == OutletStatus::Remediated),
                    ..Default::default()
                };
                let mut changed = None;
                if self.water.is_newer(&entity, &order) {
                    let st = state(&o.name, o.lon, o.lat, o.status.as_str());
                    self.water.upsert(&places, st, c, order, &mut touched);
                    changed = Some(entity.as_str());
                }
                newest = changed.is_some();
                touched.entity(&self.water, changed);
            }
            Event::FishingPatrol(p) => {
                let c = WaterAgg {
                    fishing_patrols: 1,
                    fishing_hours: p.hours,
                    fishing_violations: u64::from(p.violations),
                    ..Default::default()
                };
                self.water.add(&places, county, &c, 1, &mut touched);
            }
            Event::RiverPatrol(p) => {
                let newest = self.river_patrols.entry(format!("{county}|{}", p.river)).or_insert(at);
                *newest = (*newest).max(at);
                let mut c =
                    RiversAgg { patrols: 1, patrol_minutes: u64::from(p.minutes), ..Default::default() };
                c.patrols_by_level[p.level as usize] = 1;
                self.history.count(child, at, Tally { patrols: 1, ..Default::default() });
                self.rivers.add(&places, county, &c, 1, &mut touched);
            }
            Event::RiverProblem(p) => {
                let order = order_of();
                let open = p.status != ProblemStatus::Closed;
                self.history.report(
                    child,
                    &entity,
                    order.clone(),
                    Tally { problems_open: i64::from(open), ..Default::default() },
                    self.rivers.order(&entity),
                );
                let mut changed = None;
                if self.rivers.is_newer(&entity, &order) {
                    let mut c =
                        RiversAgg { problems: 1, problems_open: u32::from(open), ..Default::default() };
                    c.problems_by_kind[p.kind as usize] = 1;
                    let st = state(&p.river, p.lon, p.lat, p.status.as_str());
                    self.rivers.upsert(&places, st, c, order, &mut touched);
                    changed = Some(entity.as_str());
                }
                newest = changed.is_some();
                touched.entity(&self.rivers, changed);
                // A closed problem leaves the live state (noted above as it closed: the delta
                // shows it closed); it keeps counting in the region's figures, and its history
                // stays in the log.
                if changed.is_some() && !open {
                    self.rivers.retire(&entity);
                }
            }
            Event::Project(p) => {
                let order = order_of();
                self.history.report(
                    child,
                    &entity,
                    order.clone(),
                    Tally { projects: 1, plan_wan: p.plan_wan, done_wan: p.done_wan, ..Default::default() },
                    self.projects.order(&entity),
                );
                let mut changed = None;
                if self.projects.is_newer(&entity, &order) {
                    let st = state(&p.name, p.lon, p.lat, p.stage().as_str());
                    self.projects.upsert(&places, st, ProjectsAgg::of_project(p), order, &mut touched);
                    changed = Some(entity.as_str());
                }
                newest = changed.is_some();
                touched.entity(&self.projects, changed);
            }
            Event::Village(v) => {
                let order = order_of();
                self.history.report(
                    child,
                    &entity,
                    order.clone(),
                    Tally {
                        risk: i64::from(v.risk_households),
                        income_weighted: v.income_yuan * f64::from(v.lifted_households),
                        lifted: i64::from(v.lifted_households),
                        ..Default::default()
                    },
                    self.poverty.order(&entity),
                );
                if !self.village_reports.contains_key(&entity) {
                    self.village_reports.insert(entity.clone(), Arc::default());
                    self.village_flows.insert(entity.clone(), (0, 0));
                }
                let reports = Arc::make_mut(self.village_reports.get_mut(&entity).expect("inserted above"));
                let flows = self.village_flows.get_mut(&entity).expect("inserted above");
                add_village_report(reports, flows, order.clone(), v.risk_households);
                let (risk_added, risk_removed) = *flows;
                let mut changed = None;
                if self.poverty.is_newer(&entity, &order) {
                    let c = PovertyAgg {
                        villages: 1,
                        lifted_households: u64::from(v.lifted_households),
                        monitored_households: u64::from(v.monitored_households),
                        risk_households: u64::from(v.risk_households),
                        assistance_wan: v.assistance_wan,
                        income_sum_yuan: v.income_yuan,
                        income_weighted_yuan: v.income_yuan * f64::from(v.lifted_households),
                        risk_added,
                        risk_removed,
                    };
                    let status = if v.risk_households > 0 { "risk" } else { "stable" };
                    let st = state(&v.name, v.lon, v.lat, status);
                    changed = Some(entity.as_str());
                    self.poverty.upsert(&places, st, c, order, &mut touched);
                } else {
                    // A late report: the village's state stays, its flows change.
                    let mut c = self
                        .poverty
                        .entities
                        .get(&entity)
                        .map(|l| l.contribution.clone())
                        .unwrap_or_default();
                    c.risk_added = risk_added;
                    c.risk_removed = risk_removed;
                    self.poverty.recontribute(&places, &entity, c, &mut touched);
                }
                newest = changed.is_some();
                touched.entity(&self.poverty, changed);
            }
        }
        Change { topic, delta: None, newest }
    }

    /// Every monitoring section with the class and time of its newest reading.
    pub fn sections(&self) -> Vec<SectionStatus> {
        self.places
            .sections()
            .iter()
            .zip(&self.section_latest)
            .map(|(s, l)| SectionStatus {
                id: s.id.clone(),
                name: s.name.clone(),
                river: s.river.clone(),
                body: s.body,
                adcode: s.adcode.clone(),
                lon: s.lon,
                lat: s.lat,
                class: l.as_ref().map(|(c, _)| *c),
                time: l.as_ref().map(|(_, o)| o.at),
            })
            .collect()
    }

    /// The headline figures of the root region.
    pub fn overview(&self) -> Overview {
        self.overview_of(self.places.root())
    }

    /// The headline figures of `region` (the root, or a region under it: a scoped user's) and of
    /// each region one level under it.
    pub fn overview_of(&self, region: &str) -> Overview {
        let mut sections = self.sections();
        let holds = crate::auth::normalise_scope(region).unwrap_or_else(|_| region.to_owned());
        sections.retain(|s| s.adcode.starts_with(&holds));
        let water = self.water.region(region);
        let good: u32 = water.class_counts[..3].iter().sum();
        let mut coverage = self.coverages();
        Overview {
            region: region.to_owned(),
            region_name: self.places.name(region).unwrap_or(region).to_owned(),
            readings_total: water.readings,
            sections_reporting: water.sections_reporting,
            sections_good: good,
            sections,
            water,
            rivers: self.rivers.region(region),
            projects: self.projects.region(region),
            poverty: self.poverty.region(region),
            children: self
                .places
                .children_of(region)
                .into_iter()
                .map(|a| {
                    let (rivers, projects) = (self.rivers.region(&a), self.projects.region(&a));
                    let figures = ChildFigures {
                        patrols: rivers.patrols,
                        problems_open: rivers.problems_open,
                        risk_households: self.poverty.region(&a).risk_households,
                        projects: projects.projects,
                        coverage: coverage.remove(&a).unwrap_or_default(),
                        plan_wan: projects.plan_wan,
                        done_wan: projects.done_wan,
                    };
                    (a, figures)
                })
                .collect(),
            theme_times: self.theme_times.clone(),
            coverage: coverage.remove(region).unwrap_or_default(),
            expected_s: self.expected_s.clone(),
            simulated: self.simulated.clone(),
        }
    }

    /// A region's cumulative totals (what period figures are differences of).
    pub fn totals(&self, region: &str) -> yiping_protocol::periods::Totals {
        let projects = self.projects.region(region);
        yiping_protocol::periods::Totals {
            water: self.water.region(region),
            rivers: self.rivers.region(region),
            projects: projects.projects,
            done_wan: projects.done_wan,
            poverty: self.poverty.region(region),
        }
    }

    /// The totals of every region (the root, the regions under it, their counties), by adcode.
    pub fn region_totals(&self) -> BTreeMap<String, yiping_protocol::periods::Totals> {
        self.places
            .regions()
            .into_iter()
            .map(|r| {
                let t = self.totals(&r);
                (r, t)
            })
            .collect()
    }

    /// Patrol coverage of a region: its rivers (river × county) ever patrolled, and those patrolled
    /// in the 7 days up to the newest 河湖长制 event.
    pub fn coverage(&self, region: &str) -> Coverage {
        self.coverages().remove(region).unwrap_or_default()
    }

    /// Patrol coverage of every region a patrolled river rolls up into (its county, the region one
    /// level under the root, the root), in one pass over the rivers.
    fn coverages(&self) -> HashMap<String, Coverage> {
        let cutoff = self.theme_times.get(RIVERS).map(|t| week_before(*t));
        let mut by: HashMap<String, Coverage> = HashMap::new();
        for (key, t) in &self.river_patrols {
            let county = key.split('|').next().unwrap_or("");
            let recent = cutoff.is_some_and(|cut| *t >= cut);
            for r in self.places.rollup(county).iter() {
                let c = by.entry((*r).to_owned()).or_default();
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
