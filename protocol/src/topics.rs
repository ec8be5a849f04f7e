//! Topic names and their payloads (the `data` of snapshots and deltas).
//!
//! - [`OVERVIEW`]: the headline figures; snapshot and every delta carry the full [`Overview`]
//!   (a few kilobytes), so applying a delta means replacing the value. Its seq counts the
//!   batches of accepted events (one delta each), in a stream of its own per server run.
//! - The theme topics [`WATER`], [`RIVERS`], [`PROJECTS`], [`POVERTY`]: payload [`ThemeData`].
//!   A snapshot holds every entity and every region's aggregates of the theme; a delta holds only
//!   the entities and regions that one batch of events (one write of the server's log: the ingest
//!   requests that waited together, or one message of a cluster's log stream) changed, as the
//!   batch left them (the events themselves are not repeated: an entity's state carries its
//!   latest report, and `/api/v1/entities/{key}` every one).
//!   A client applies a delta by replacing those keys. Their seq counts the batches that
//!   changed the theme: one delta each, however many events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::{Project, Stage, StepKind};
use crate::instant::{Date, Timestamp};
use crate::water::{WaterBody, WaterClass};

/// Topic `overview`.
pub const OVERVIEW: &str = "overview";
/// Topic `water` (长江大保护).
pub const WATER: &str = "water";
/// Topic `rivers` (河湖长制).
pub const RIVERS: &str = "rivers";
/// Topic `projects` (重大项目).
pub const PROJECTS: &str = "projects";
/// Topic `poverty` (精准脱贫 / 防返贫监测).
pub const POVERTY: &str = "poverty";
/// Alerts (DESIGN §4): [`crate::alerts::AlertsData`]; not in [`ALL`], whose topics are folded
/// from the event log: alerts come from the rules and the audit trail.
pub const ALERTS: &str = "alerts";

/// The four themes, in the order the wall shows them.
pub const THEMES: [&str; 4] = [WATER, RIVERS, PROJECTS, POVERTY];
/// The alerts topic's line for `GET /api/v1/topics`.
pub const ALERTS_INFO: &str = "Risk alerts: every open alert and those resolved in the last 24 h, each with its rule, subject, triggering data and trail.";

/// All topics, with the one-line descriptions that `GET /api/v1/topics` lists.
pub const ALL: [(&str, &str); 5] = [
    (
        OVERVIEW,
        "Headline figures of all four themes for the province, and the latest class of every water section.",
    ),
    (WATER, "长江大保护: water sections, sewage outlets and fishing-ban patrols; aggregates per region."),
    (RIVERS, "河湖长制: chiefs' patrols and problems found with their handling; aggregates per region."),
    (PROJECTS, "重大项目: major projects, investment and life-cycle steps; aggregates per region."),
    (POVERTY, "精准脱贫: village monitoring of relapse risk, income and assistance; aggregates per region."),
];

/// The list `GET /api/v1/topics` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct TopicInfoList(pub Vec<crate::TopicInfo>);

impl TopicInfoList {
    /// Every topic.
    pub fn all() -> TopicInfoList {
        TopicInfoList(
            ALL.iter()
                .map(|(n, d)| crate::TopicInfo { name: (*n).into(), description: (*d).into() })
                .collect(),
        )
    }
}

/// The latest state of one entity (section, outlet, problem, project, village …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntityState {
    /// Entity key `kind:id`, e.g. `section:cj-yangsigang`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// County adcode.
    pub adcode: String,
    /// WGS84 longitude.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// Time of the latest event (by event time: a late report never replaces a newer one).
    pub time: Timestamp,
    /// A short machine status: water class (`II`), outlet/problem status, project stage, …
    pub status: String,
    /// The latest event's payload.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Detail,
}

impl EntityState {
    /// The latest report read as the payload type of the entity's kind (`Project`,
    /// `RiverProblem`, `SewageOutlet`, …, from [`crate::events`]); `None` when it is not one.
    pub fn report<'a, T: Deserialize<'a>>(&'a self) -> Option<T> {
        serde_json::from_str(self.detail.text()).ok()
    }
}

/// An entity's latest payload ([`EntityState::detail`]) as JSON text: written once when the
/// report is folded, then kept, copied and sent as it is. A tree of JSON values would cost the
/// server a map of keys per live entity, and building, copying and writing it again with every
/// change (a fifth of folding and publishing a village's report). On the wire it is the same JSON
/// object. Read it with [`EntityState::report`].
///
/// ```
/// use yiping_protocol::topics::Detail;
/// let d = Detail::of(&serde_json::json!({"risk_households": 4})).unwrap();
/// assert_eq!(d.text(), r#"{"risk_households":4}"#);
/// // Equal as JSON, whatever the order of keys or the spacing.
/// assert_eq!(d, serde_json::from_str::<Detail>(r#"{ "risk_households": 4 }"#).unwrap());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Detail(Box<serde_json::value::RawValue>);

impl Detail {
    /// The payload `value` as JSON text.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Detail, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Detail)
    }

    /// The JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Detail {
    /// Equal as JSON values (the same text first: a text read back from a state saved as a tree
    /// of values may order its keys differently).
    fn eq(&self, other: &Detail) -> bool {
        self.text() == other.text() || {
            let value = |d: &Detail| serde_json::from_str::<serde_json::Value>(d.text()).ok();
            value(self) == value(other)
        }
    }
}

/// `part` of `whole` in percent; `None` when `whole` is not positive (no share to show). The one
/// rule behind every share on the wall.
pub fn percent(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| 100.0 * part / whole)
}

/// Aggregates of the water theme over one region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaterAgg {
    /// Readings accepted.
    pub readings: u64,
    /// Sections with at least one reading.
    pub sections_reporting: u32,
    /// Sections by class of their latest reading, Ⅰ..劣Ⅴ.
    pub class_counts: [u32; 6],
    /// Sewage outlets known.
    pub outlets: u32,
    /// Of those, remediated.
    pub outlets_remediated: u32,
    /// Fishing-ban patrols.
    pub fishing_patrols: u64,
    /// Their total hours.
    pub fishing_hours: f64,
    /// Violations they found.
    pub fishing_violations: u64,
}

impl WaterAgg {
    /// Sewage outlets remediated of those known, %.
    pub fn outlets_remediated_percent(&self) -> Option<f64> {
        percent(f64::from(self.outlets_remediated), f64::from(self.outlets))
    }
}

/// Aggregates of the river-chief theme over one region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiversAgg {
    /// Patrols.
    pub patrols: u64,
    /// Patrol minutes in total.
    pub patrol_minutes: u64,
    /// Patrols by chief level: province, city, county, township, village.
    pub patrols_by_level: [u64; 5],
    /// Problems known.
    pub problems: u32,
    /// Of those, not closed.
    pub problems_open: u32,
    /// Problems by kind: garbage, sewage, encroachment, illegal sand, other.
    pub problems_by_kind: [u32; 5],
}

impl RiversAgg {
    /// Problems closed of those known, %.
    pub fn closed_percent(&self) -> Option<f64> {
        percent(f64::from(self.problems - self.problems_open.min(self.problems)), f64::from(self.problems))
    }
}

/// Aggregates of the major-projects theme over one region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectsAgg {
    /// Projects.
    pub projects: u32,
    /// Planned investment, 万元.
    pub plan_wan: f64,
    /// Investment completed, 万元.
    pub done_wan: f64,
    /// Projects by stage: 前期审批, 项目推进, 竣工验收.
    pub by_stage: [u32; 3],
    /// Steps not done, by due date and step kind (in [`StepKind::ALL`] order), so that overdue
    /// can be counted as of any day: see [`ProjectsAgg::overdue_steps`].
    #[serde(default)]
    pub open_steps_due: BTreeMap<Date, [u32; 7]>,
    /// Projects with a step not done, by the due date of their earliest such step and their
    /// stage: see [`ProjectsAgg::overdue_projects`].
    #[serde(default)]
    pub first_open_due: BTreeMap<Date, [u32; 3]>,
}

impl ProjectsAgg {
    /// One project's contribution.
    pub fn of_project(p: &Project) -> ProjectsAgg {
        let mut a =
            ProjectsAgg { projects: 1, plan_wan: p.plan_wan, done_wan: p.done_wan, ..Default::default() };
        let stage = p.stage();
        a.by_stage[stage.index()] = 1;
        for s in p.steps.iter().filter(|s| s.done.is_none()) {
            let i = StepKind::ALL.iter().position(|k| *k == s.step).unwrap_or(0);
            a.open_steps_due.entry(s.due).or_default()[i] += 1;
        }
        if let Some(first) = p.steps.iter().filter(|s| s.done.is_none()).map(|s| s.due).min() {
            a.first_open_due.entry(first).or_default()[stage.index()] = 1;
        }
        a
    }

    /// Steps overdue on `today` (a Beijing date), by step kind ([`crate::events::ProjectStep::is_overdue`]).
    pub fn overdue_by_kind(&self, today: Date) -> [u32; 7] {
        let mut out = [0; 7];
        for counts in self.open_steps_due.range(..today).map(|(_, c)| c) {
            for (o, c) in out.iter_mut().zip(counts) {
                *o += c;
            }
        }
        out
    }

    /// All steps overdue on `today`.
    pub fn overdue_steps(&self, today: Date) -> u32 {
        self.overdue_by_kind(today).iter().sum()
    }

    /// Approval steps (立项 … 施工许可) overdue on `today`.
    pub fn overdue_approval_steps(&self, today: Date) -> u32 {
        let by = self.overdue_by_kind(today);
        StepKind::ALL.iter().zip(by).filter(|(k, _)| k.phase() == Stage::Approval).map(|(_, n)| n).sum()
    }

    /// Projects with at least one step overdue on `today`, by the stage they are in.
    pub fn overdue_projects(&self, today: Date) -> [u32; 3] {
        let mut out = [0; 3];
        for counts in self.first_open_due.range(..today).map(|(_, c)| c) {
            for (o, c) in out.iter_mut().zip(counts) {
                *o += c;
            }
        }
        out
    }

    /// Investment completed of plan, %; `None` without a plan.
    pub fn invest_percent(&self) -> Option<f64> {
        percent(self.done_wan, self.plan_wan)
    }

    /// The same figures for any day from `from` on, smaller: the due dates before `from` are
    /// merged into one (the day before it), since from then on they are all overdue. What a live
    /// wall is sent; a view of the past needs the whole histograms.
    pub fn for_days_from(&self, from: Date) -> ProjectsAgg {
        fn merge<const N: usize>(m: &BTreeMap<Date, [u32; N]>, from: Date) -> BTreeMap<Date, [u32; N]> {
            let mut out: BTreeMap<Date, [u32; N]> = m.range(from..).map(|(d, c)| (*d, *c)).collect();
            let mut before = [0u32; N];
            for c in m.range(..from).map(|(_, c)| c) {
                for (b, x) in before.iter_mut().zip(c) {
                    *b += x;
                }
            }
            if before.iter().any(|x| *x > 0) {
                out.insert(from.plus_days(-1), before);
            }
            out
        }
        ProjectsAgg {
            open_steps_due: merge(&self.open_steps_due, from),
            first_open_due: merge(&self.first_open_due, from),
            ..self.clone()
        }
    }
}

/// Aggregates of the poverty theme over one region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PovertyAgg {
    /// Villages reporting.
    pub villages: u32,
    /// Households lifted out of poverty.
    pub lifted_households: u64,
    /// Households under relapse-risk monitoring.
    pub monitored_households: u64,
    /// Of those, risk not yet eliminated.
    pub risk_households: u64,
    /// Assistance delivered, 万元.
    pub assistance_wan: f64,
    /// Sum of the villages' per-capita incomes, 元/年 (see [`PovertyAgg::mean_income_yuan`]).
    pub income_sum_yuan: f64,
    /// Sum of per-capita income × lifted households, 元/年 (see
    /// [`PovertyAgg::mean_income_per_household_yuan`]).
    #[serde(default)]
    pub income_weighted_yuan: f64,
    /// Households newly at risk: the rises of villages' at-risk counts from one report to the
    /// next in event-time order, summed (a village's first report is its baseline).
    #[serde(default)]
    pub risk_added: u64,
    /// Households whose risk was removed: the falls, summed.
    #[serde(default)]
    pub risk_removed: u64,
}

impl PovertyAgg {
    /// Mean of the reporting villages' per-capita income, 元/年 (each village counts once,
    /// whatever its size); `None` when none report.
    pub fn mean_income_yuan(&self) -> Option<f64> {
        (self.villages > 0).then(|| self.income_sum_yuan / f64::from(self.villages))
    }

    /// Households whose risk is not removed, of those monitored, %.
    pub fn risk_percent(&self) -> Option<f64> {
        percent(self.risk_households as f64, self.monitored_households as f64)
    }

    /// Per-capita income of the lifted households, weighted by each village's lifted
    /// households, 元/年 (what 户均收入 means); `None` when no household is reported.
    pub fn mean_income_per_household_yuan(&self) -> Option<f64> {
        (self.lifted_households > 0).then(|| self.income_weighted_yuan / self.lifted_households as f64)
    }
}

/// The payload of a theme topic; `A` is the theme's aggregate type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(bound(deserialize = "A: serde::de::DeserializeOwned", serialize = "A: Serialize"))]
pub struct ThemeData<A> {
    /// Entities by key (all in a snapshot, those the delta's batch changed in a delta).
    pub entities: BTreeMap<String, EntityState>,
    /// Aggregates by region adcode: counties, prefectures and `420000` (all in a snapshot, changed
    /// ones in a delta).
    pub regions: BTreeMap<String, A>,
}

impl<A> Default for ThemeData<A> {
    fn default() -> Self {
        ThemeData { entities: BTreeMap::new(), regions: BTreeMap::new() }
    }
}

/// The latest state of one water-quality monitoring section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SectionStatus {
    /// Section id, e.g. `"cj-yangsigang"`.
    pub id: String,
    /// Section name, e.g. `"杨泗港"`.
    pub name: String,
    /// River or lake name, e.g. `"长江"`.
    pub river: String,
    /// River section or lake point.
    pub body: WaterBody,
    /// County adcode (GB/T 2260).
    pub adcode: String,
    /// WGS84 longitude.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// Class of the latest reading (by sampling time); `None` before the first reading.
    pub class: Option<WaterClass>,
    /// Time of the latest reading.
    pub time: Option<Timestamp>,
}

/// Payload of [`OVERVIEW`]: the headline figures of one region (the deployment's root region,
/// or a scoped user's region) and of each region one level under it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    /// The region these figures are of (adcode): `420000` for the province, `420200` for 黄石.
    #[serde(default)]
    pub region: String,
    /// Its name (`湖北省`, `黄石市`).
    #[serde(default)]
    pub region_name: String,
    /// Water-quality readings accepted.
    pub readings_total: u64,
    /// Sections with at least one reading.
    pub sections_reporting: u32,
    /// Sections whose latest reading is class Ⅰ–Ⅲ.
    pub sections_good: u32,
    /// Every known section in the region, in a stable order.
    pub sections: Vec<SectionStatus>,
    /// The region's totals of the water theme.
    #[serde(default)]
    pub water: WaterAgg,
    /// The region's totals of the river-chief theme.
    #[serde(default)]
    pub rivers: RiversAgg,
    /// The region's totals of the projects theme.
    #[serde(default)]
    pub projects: ProjectsAgg,
    /// The region's totals of the poverty theme.
    #[serde(default)]
    pub poverty: PovertyAgg,
    /// A few figures per region one level under it (by adcode: the prefectures of a province,
    /// the counties of a city), for the map's choropleth and rankings.
    #[serde(default)]
    pub children: BTreeMap<String, ChildFigures>,
    /// The time of the newest event of each theme (by topic: `water`, `rivers`, `projects`,
    /// `poverty`), so each theme's panels show their own data time and go stale on their own
    /// when their source stops.
    #[serde(default)]
    pub theme_times: BTreeMap<String, Timestamp>,
    /// 河湖长制 patrol coverage of the region this week.
    #[serde(default)]
    pub coverage: Coverage,
    /// How often each theme's sources are expected to report, seconds (by topic): a theme is
    /// interrupted only when its newest data is older than this.
    #[serde(default)]
    pub expected_s: BTreeMap<String, u64>,
    /// Events from the built-in simulator folded, by theme topic (absent: none), so the wall
    /// marks simulated figures as such, and only those.
    #[serde(default)]
    pub simulated: BTreeMap<String, u64>,
}

/// The province's headline figures at the end of one history step (`GET /api/v1/history`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryPoint {
    /// Start of the step.
    pub t: Timestamp,
    /// Share of reporting sections at class Ⅰ–Ⅲ, %.
    pub good_share: Option<f64>,
    /// Water readings so far.
    pub readings: u64,
    /// River-chief patrols so far.
    pub patrols: u64,
    /// Problems open.
    pub problems_open: u32,
    /// Investment done of plan, %.
    pub invest_percent: Option<f64>,
    /// Households at risk.
    pub risk_households: u64,
    /// Per-capita income of the lifted households (weighted by households), 元/年.
    pub mean_income: Option<f64>,
}

/// Patrol coverage: of the rivers (river × county) any chief has ever patrolled, how many were
/// patrolled in the 7 days up to the newest 河湖长制 data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coverage {
    /// Rivers known (a river in a county counts once).
    pub rivers: u32,
    /// Of those, patrolled in the last 7 days.
    pub patrolled_7d: u32,
}

impl Coverage {
    /// The share patrolled, %.
    pub fn percent(&self) -> Option<f64> {
        (self.rivers > 0).then(|| 100.0 * f64::from(self.patrolled_7d) / f64::from(self.rivers))
    }
}

/// Headline figures of one region under the overview's region.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChildFigures {
    /// River-chief patrols.
    pub patrols: u64,
    /// Problems not yet closed.
    pub problems_open: u32,
    /// Households whose relapse risk is not yet removed.
    pub risk_households: u64,
    /// Major projects.
    pub projects: u32,
    /// Patrol coverage this week.
    #[serde(default)]
    pub coverage: Coverage,
    /// Planned investment of its major projects, 万元.
    #[serde(default)]
    pub plan_wan: f64,
    /// Investment completed, 万元.
    #[serde(default)]
    pub done_wan: f64,
}

impl ChildFigures {
    /// Investment completed of plan, %; none without projects (what decimals added and taken
    /// away again leave behind when the last project moved away is not a plan).
    pub fn invest_percent(&self) -> Option<f64> {
        if self.projects == 0 {
            return None;
        }
        percent(self.done_wan, self.plan_wan)
    }
}

impl Overview {
    /// Share of reporting sections at class Ⅰ–Ⅲ, in percent; `None` while none report.
    pub fn good_share_percent(&self) -> Option<f64> {
        percent(f64::from(self.sections_good), f64::from(self.sections_reporting))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_for_days_from_a_day_on_count_the_same() {
        let d = |s: &str| Date::parse(s).expect("date");
        let mut a = ProjectsAgg::default();
        for (due, n) in
            [("2026-01-05", 2), ("2026-06-30", 1), ("2026-11-20", 4), ("2026-11-23", 1), ("2027-02-01", 3)]
        {
            a.open_steps_due.insert(d(due), [n, 0, 0, 0, 0, 1, 0]);
            a.first_open_due.insert(d(due), [n, 1, 0]);
        }
        let small = a.for_days_from(d("2026-11-21"));
        assert_eq!(small.open_steps_due.len(), 3, "three dates before the day merged into one");
        for day in ["2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24", "2027-03-01"] {
            assert_eq!(small.overdue_by_kind(d(day)), a.overdue_by_kind(d(day)), "{day}");
            assert_eq!(small.overdue_projects(d(day)), a.overdue_projects(d(day)), "{day}");
        }
    }

    #[test]
    fn good_share_is_over_reporting_sections_only() {
        let mut o = Overview::default();
        assert_eq!(o.good_share_percent(), None);
        o.sections_reporting = 8;
        o.sections_good = 6;
        assert_eq!(o.good_share_percent(), Some(75.0));
    }
}
