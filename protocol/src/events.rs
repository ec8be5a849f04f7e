//! Events of the four themes: what sources send to `POST /api/v1/events` (one JSON object per
//! line, NDJSON) and what the event log stores.
//!
//! Every event has the same envelope:
//!
//! ```json
//! {"type":"water.reading","id":"S-2026-000123","time":"2026-11-22T08:00:00Z","source":"hbsthj","data":{…}}
//! ```
//!
//! - `type` selects the payload ([`Event`]); `data` holds it.
//! - `id` is the source's own id of the event; `(source, id)` is unique, so a re-sent event is
//!   recognised and not counted twice.
//! - `time` is when the fact happened (RFC 3339, any offset and fraction), not when it was sent.
//!   It is parsed into an instant ([`EventTime`]) and compared only as one; the text is kept.
//! - `source` is optional on the wire: the ingest token names the source; if given it must match.
//!
//! Payloads carry the state of one entity after the fact (a reading, a patrol, a problem's current
//! status, a project's current progress, a village's current figures), so folding is
//! "latest state per entity" plus counts, and any figure can be recomputed from the events.
//!
//! [`parse_line`] turns one line into an [`Envelope`] or a [`FieldError`] that names the field and
//! the value at fault.

use serde::{Deserialize, Serialize};

use crate::instant::{Date, EventTime};
use crate::water::Indicators;

/// Version of the event schema.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// One event as received and stored (its JSON Schema is one alternative per event type, each
/// naming its `type` and the schema of its `data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Event type, e.g. `water.reading`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The source's own id for this event.
    pub id: String,
    /// When the fact happened: the instant, and the text as sent.
    pub time: EventTime,
    /// The source (filled from the ingest token when absent on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The payload.
    pub data: Event,
}

/// The payload of an event, by type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Event {
    /// `water.reading`: one sample of a monitoring section.
    WaterReading(WaterReading),
    /// `water.outlet`: state of a sewage outlet into a river (入河排污口).
    SewageOutlet(SewageOutlet),
    /// `water.fishing_patrol`: a patrol enforcing the ten-year fishing ban (十年禁渔).
    FishingPatrol(FishingPatrol),
    /// `river.patrol`: a river or lake chief's patrol (河长巡河).
    RiverPatrol(RiverPatrol),
    /// `river.problem`: a problem found on a river or lake and its handling.
    RiverProblem(RiverProblem),
    /// `project.update`: the current state of a major project.
    Project(Project),
    /// `poverty.village`: the monitoring figures of a village (防返贫监测).
    Village(Village),
}

/// Every event type with the one-line description `GET /api/v1/event-types` gives.
pub const EVENT_TYPES: [(&str, &str); 7] = [
    ("water.reading", "a sample of a water-quality monitoring section (pH, DO, CODMn, NH3-N, TP)"),
    ("water.outlet", "the remediation status of a sewage outlet into a river or lake"),
    ("water.fishing_patrol", "a fishing-ban enforcement patrol"),
    ("river.patrol", "a patrol by a river or lake chief"),
    ("river.problem", "a problem found on a river or lake, with its current handling status"),
    ("project.update", "the current state of a major project: investment and life-cycle steps"),
    ("poverty.village", "the relapse-prevention monitoring figures of a village"),
];

impl Event {
    /// The `type` string of this payload.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::WaterReading(_) => "water.reading",
            Event::SewageOutlet(_) => "water.outlet",
            Event::FishingPatrol(_) => "water.fishing_patrol",
            Event::RiverPatrol(_) => "river.patrol",
            Event::RiverProblem(_) => "river.problem",
            Event::Project(_) => "project.update",
            Event::Village(_) => "poverty.village",
        }
    }

    /// The theme topic the event belongs to.
    pub fn topic(&self) -> &'static str {
        match self {
            Event::WaterReading(_) | Event::SewageOutlet(_) | Event::FishingPatrol(_) => crate::topics::WATER,
            Event::RiverPatrol(_) | Event::RiverProblem(_) => crate::topics::RIVERS,
            Event::Project(_) => crate::topics::PROJECTS,
            Event::Village(_) => crate::topics::POVERTY,
        }
    }

    /// The entity the event is about, as `kind:id` (the key of drill-down history).
    pub fn entity(&self) -> String {
        match self {
            Event::WaterReading(e) => format!("section:{}", e.section),
            Event::SewageOutlet(e) => format!("outlet:{}", e.outlet),
            Event::FishingPatrol(e) => format!("fishing_patrol:{}", e.patrol),
            Event::RiverPatrol(e) => format!("river_patrol:{}", e.patrol),
            Event::RiverProblem(e) => format!("problem:{}", e.problem),
            Event::Project(e) => format!("project:{}", e.project),
            Event::Village(e) => format!("village:{}", e.village),
        }
    }
}

/// The JSON Schema of an event, for the server's OpenAPI document: one alternative per type.
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaType, Type};
    use utoipa::openapi::{Ref, RefOr, Schema};
    use utoipa::{PartialSchema, ToSchema};

    use super::{
        EVENT_TYPES, Envelope, EventTime, FishingPatrol, Project, RiverPatrol, RiverProblem, SewageOutlet,
        Village, WaterReading,
    };

    type Schemas = Vec<(String, RefOr<Schema>)>;

    /// An event type, its payload's schema name, and what adds the schemas the payload needs.
    type Payload = (&'static str, std::borrow::Cow<'static, str>, fn(&mut Schemas));

    /// Every event type's payload.
    fn payloads() -> [Payload; 7] {
        fn with<T: ToSchema>(s: &mut Schemas) {
            s.push((T::name().into_owned(), T::schema()));
            T::schemas(s);
        }
        [
            ("water.reading", WaterReading::name(), with::<WaterReading>),
            ("water.outlet", SewageOutlet::name(), with::<SewageOutlet>),
            ("water.fishing_patrol", FishingPatrol::name(), with::<FishingPatrol>),
            ("river.patrol", RiverPatrol::name(), with::<RiverPatrol>),
            ("river.problem", RiverProblem::name(), with::<RiverProblem>),
            ("project.update", Project::name(), with::<Project>),
            ("poverty.village", Village::name(), with::<Village>),
        ]
    }

    impl PartialSchema for Envelope {
        fn schema() -> RefOr<Schema> {
            let text = |d: &str| ObjectBuilder::new().schema_type(Type::String).description(Some(d));
            let mut one = OneOfBuilder::new().description(Some(
                "One event (one line of `POST /api/v1/events`): `type` selects the schema of `data`. \
                 `(source, id)` is unique: a re-sent event is recognised and not counted twice. Counts are \
                 integers written without a fraction (`20`, not `20.0`).",
            ));
            for (kind, payload, _) in payloads() {
                let description = EVENT_TYPES.iter().find(|(t, _)| *t == kind).map(|(_, d)| *d);
                one = one.item(
                    ObjectBuilder::new()
                        .title(Some(kind))
                        .description(description)
                        .property("type", text("The event type.").enum_values(Some([kind])))
                        .property(
                            "id",
                            text("The source's own id of the event.")
                                .min_length(Some(1))
                                .max_length(Some(128))
                                .pattern(Some(r"\S")),
                        )
                        .property("time", Ref::from_schema_name(EventTime::name()))
                        .property(
                            "source",
                            text("The source; the ingest token names it, and if given it must match.")
                                .schema_type(SchemaType::Array(vec![Type::String, Type::Null])),
                        )
                        .property("data", Ref::from_schema_name(payload))
                        .required("type")
                        .required("id")
                        .required("time")
                        .required("data")
                        .additional_properties(Some(
                            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
                        )),
                );
            }
            one.into()
        }
    }

    impl ToSchema for Envelope {
        fn schemas(schemas: &mut Schemas) {
            schemas.push((EventTime::name().into_owned(), EventTime::schema()));
            for (_, _, with) in payloads() {
                with(schemas);
            }
        }
    }
}

/// `water.reading`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WaterReading {
    /// Monitoring section id (must be a known section).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub section: String,
    /// pH.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 14.0))]
    pub ph: f64,
    /// Dissolved oxygen, mg/L.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 25.0))]
    pub do_mg_l: f64,
    /// Permanganate index CODMn, mg/L.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1000.0))]
    pub codmn_mg_l: f64,
    /// Ammonia nitrogen NH3-N, mg/L.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1000.0))]
    pub nh3n_mg_l: f64,
    /// Total phosphorus TP, mg/L.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1000.0))]
    pub tp_mg_l: f64,
}

impl WaterReading {
    /// The measured values.
    pub fn indicators(&self) -> Indicators {
        Indicators {
            ph: self.ph,
            do_mg_l: self.do_mg_l,
            codmn_mg_l: self.codmn_mg_l,
            nh3n_mg_l: self.nh3n_mg_l,
            tp_mg_l: self.tp_mg_l,
        }
    }
}

/// Remediation status of a sewage outlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutletStatus {
    /// Found and registered (排查).
    Identified,
    /// Being remediated (整治中).
    Remediating,
    /// Remediation finished (已整治).
    Remediated,
}

impl OutletStatus {
    /// Every status, in remediation order.
    pub const ALL: [OutletStatus; 3] =
        [OutletStatus::Identified, OutletStatus::Remediating, OutletStatus::Remediated];

    /// The wire name (an outlet entity's `status` on the streams).
    pub fn as_str(self) -> &'static str {
        match self {
            OutletStatus::Identified => "identified",
            OutletStatus::Remediating => "remediating",
            OutletStatus::Remediated => "remediated",
        }
    }

    /// The status of a wire name.
    pub fn from_name(name: &str) -> Option<OutletStatus> {
        OutletStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// `water.outlet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SewageOutlet {
    /// Outlet id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub outlet: String,
    /// Name or description.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = r"\S"))]
    pub name: String,
    /// Receiving river or lake.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub river: String,
    /// WGS84 longitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// WGS84 latitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    /// Current status.
    pub status: OutletStatus,
}

/// `water.fishing_patrol`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FishingPatrol {
    /// Patrol id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub patrol: String,
    /// WGS84 longitude of the patrolled water.
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// WGS84 latitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    /// Officers on patrol.
    pub officers: u32,
    /// Duration in hours.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 72.0))]
    pub hours: f64,
    /// Violations found (illegal fishing).
    pub violations: u32,
}

/// Level of a river or lake chief (河长).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChiefLevel {
    /// 省级.
    Province,
    /// 市级.
    City,
    /// 县级.
    County,
    /// 乡级.
    Township,
    /// 村级.
    Village,
}

/// `river.patrol`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RiverPatrol {
    /// Patrol id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub patrol: String,
    /// Chief id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub chief: String,
    /// Chief's name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub chief_name: String,
    /// Chief's level.
    pub level: ChiefLevel,
    /// River or lake patrolled.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub river: String,
    /// WGS84 longitude where the patrol started.
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// WGS84 latitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    /// Duration in minutes.
    #[cfg_attr(feature = "openapi", schema(maximum = 1440))]
    pub minutes: u32,
}

/// Kind of problem found on a river or lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// 垃圾.
    Garbage,
    /// 排污.
    Sewage,
    /// 侵占河道.
    Encroachment,
    /// 非法采砂.
    IllegalSand,
    /// 其他.
    Other,
}

/// Handling status of a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProblemStatus {
    /// Found, not yet assigned.
    Found,
    /// Assigned to a responsible unit.
    Assigned,
    /// Being rectified.
    Rectifying,
    /// Closed after verification.
    Closed,
}

impl ProblemStatus {
    /// Every status, in handling order.
    pub const ALL: [ProblemStatus; 4] =
        [ProblemStatus::Found, ProblemStatus::Assigned, ProblemStatus::Rectifying, ProblemStatus::Closed];

    /// The wire name (a problem entity's `status` on the streams).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemStatus::Found => "found",
            ProblemStatus::Assigned => "assigned",
            ProblemStatus::Rectifying => "rectifying",
            ProblemStatus::Closed => "closed",
        }
    }
}

/// `river.problem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RiverProblem {
    /// Problem id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub problem: String,
    /// River or lake.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub river: String,
    /// WGS84 longitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// WGS84 latitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    /// What was found.
    pub kind: ProblemKind,
    /// Current status.
    pub status: ProblemStatus,
    /// When it was found.
    pub found: EventTime,
}

/// A step of a project's life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// 立项.
    Approval,
    /// 用地.
    Land,
    /// 规划.
    Planning,
    /// 环评.
    Environment,
    /// 施工许可.
    ConstructionPermit,
    /// 开工.
    Start,
    /// 竣工验收.
    Acceptance,
}

impl StepKind {
    /// The steps in life-cycle order.
    pub const ALL: [StepKind; 7] = [
        StepKind::Approval,
        StepKind::Land,
        StepKind::Planning,
        StepKind::Environment,
        StepKind::ConstructionPermit,
        StepKind::Start,
        StepKind::Acceptance,
    ];

    /// The wire name (`construction_permit`).
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Approval => "approval",
            StepKind::Land => "land",
            StepKind::Planning => "planning",
            StepKind::Environment => "environment",
            StepKind::ConstructionPermit => "construction_permit",
            StepKind::Start => "start",
            StepKind::Acceptance => "acceptance",
        }
    }

    /// The kind of a wire name.
    pub fn parse(name: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The phase the step belongs to: approvals until the construction permit, then the start
    /// of construction, then acceptance.
    pub fn phase(self) -> Stage {
        match self {
            StepKind::Start => Stage::Construction,
            StepKind::Acceptance => Stage::Accepted,
            _ => Stage::Approval,
        }
    }
}

/// One step with its due date and, once done, its completion date (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProjectStep {
    /// Which step.
    pub step: StepKind,
    /// Due date (a date in Asia/Shanghai).
    pub due: Date,
    /// Completion date, if done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<Date>,
}

impl ProjectStep {
    /// The one overdue rule: a step is overdue on `today` (a date in Asia/Shanghai) when it is not
    /// done and today is after its due date. It therefore becomes overdue at Beijing midnight,
    /// whether or not anything is reported.
    pub fn is_overdue(&self, today: Date) -> bool {
        self.done.is_none() && today > self.due
    }

    /// Days late on `today` (0 when not overdue).
    pub fn days_late(&self, today: Date) -> i64 {
        if self.is_overdue(today) { self.due.days_until(today) } else { 0 }
    }

    /// The phase of the life cycle this step belongs to.
    pub fn phase(&self) -> Stage {
        self.step.phase()
    }
}

/// The stage of a project's life cycle (the three chevrons of the pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 前期审批: approvals until the construction permit.
    Approval,
    /// 项目推进: started, under construction.
    Construction,
    /// 竣工验收: accepted.
    Accepted,
}

impl Stage {
    /// The stages in order.
    pub const ALL: [Stage; 3] = [Stage::Approval, Stage::Construction, Stage::Accepted];

    /// Position in [`Stage::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The wire name (`approval`, `construction`, `accepted`), as in an entity's status.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Approval => "approval",
            Stage::Construction => "construction",
            Stage::Accepted => "accepted",
        }
    }

    /// The stage named by [`Stage::as_str`].
    pub fn from_name(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl Project {
    /// The stage the project is in: accepted once acceptance is done, under construction once
    /// started, else in approval.
    pub fn stage(&self) -> Stage {
        let done = |k: StepKind| self.steps.iter().any(|s| s.step == k && s.done.is_some());
        if done(StepKind::Acceptance) {
            Stage::Accepted
        } else if done(StepKind::Start) {
            Stage::Construction
        } else {
            Stage::Approval
        }
    }

    /// The steps overdue on `today` (see [`ProjectStep::is_overdue`]).
    pub fn overdue_steps(&self, today: Date) -> impl Iterator<Item = &ProjectStep> {
        self.steps.iter().filter(move |s| s.is_overdue(today))
    }

    /// The most overdue step on `today`, with its days late.
    pub fn worst_overdue(&self, today: Date) -> Option<(&ProjectStep, i64)> {
        self.overdue_steps(today).map(|s| (s, s.days_late(today))).max_by_key(|(_, d)| *d)
    }

    /// Investment completed of plan, %; `None` without a plan.
    pub fn invest_percent(&self) -> Option<f64> {
        crate::topics::percent(self.done_wan, self.plan_wan)
    }
}

/// `project.update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Project id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub project: String,
    /// Project name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = r"\S"))]
    pub name: String,
    /// Industry chain (e.g. 光电子信息, 汽车制造, 生物医药).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub industry: String,
    /// WGS84 longitude of the site.
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// WGS84 latitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    /// Planned total investment, 万元.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1e9))]
    pub plan_wan: f64,
    /// Investment completed so far, 万元.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1e9))]
    pub done_wan: f64,
    /// Life-cycle steps.
    pub steps: Vec<ProjectStep>,
}

/// `poverty.village`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Village {
    /// Village id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"\S"))]
    pub village: String,
    /// Village name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub name: String,
    /// WGS84 longitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// WGS84 latitude.
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    /// Households lifted out of poverty (脱贫户), cumulative.
    pub lifted_households: u32,
    /// Households under relapse-risk monitoring (监测户).
    pub monitored_households: u32,
    /// Of those, households whose risk is not yet eliminated (风险未消除); at most
    /// `monitored_households`.
    pub risk_households: u32,
    /// Per-capita disposable income of lifted households, 元/年.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1e7))]
    pub income_yuan: f64,
    /// Assistance delivered this year, 万元.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1e7))]
    pub assistance_wan: f64,
}

impl Event {
    /// Where the event happened, when it has one place (all but water readings, whose place is
    /// their section's).
    pub fn position(&self) -> Option<(f64, f64)> {
        match self {
            Event::WaterReading(_) => None,
            Event::SewageOutlet(e) => Some((e.lon, e.lat)),
            Event::FishingPatrol(e) => Some((e.lon, e.lat)),
            Event::RiverPatrol(e) => Some((e.lon, e.lat)),
            Event::RiverProblem(e) => Some((e.lon, e.lat)),
            Event::Project(e) => Some((e.lon, e.lat)),
            Event::Village(e) => Some((e.lon, e.lat)),
        }
    }
}

/// A line that could not be accepted: the field at fault (a JSON path such as `data.steps[2].due`,
/// or `-` for the line as a whole), its value as received, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// JSON path of the field, `-` for the whole line.
    pub field: String,
    /// The offending value as JSON text (shortened), empty when absent.
    pub value: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "field `{}`: {}", self.field, self.message)
        } else {
            write!(f, "field `{}`: {} (value {})", self.field, self.message, self.value)
        }
    }
}

fn shorten(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 { format!("{}…", s.chars().take(80).collect::<String>()) } else { s }
}

/// The text of `line` around byte column `column` (1-based, as serde_json counts; 0: the
/// start), at most 80 characters, with `…` where it was cut: what a refusal of a line that is not
/// JSON, or too long to read, quotes.
pub fn excerpt(line: &str, column: usize) -> String {
    let chars: Vec<char> = line.chars().collect();
    let at = line.char_indices().take_while(|(b, _)| *b + 1 < column).count();
    let from = at.saturating_sub(40);
    let to = (from + 80).min(chars.len());
    let mut s: String = chars[from..to].iter().collect();
    if from > 0 {
        s.insert(0, '…');
    }
    if to < chars.len() {
        s.push('…');
    }
    s
}

fn err(
    field: impl Into<String>,
    value: Option<&serde_json::Value>,
    message: impl Into<String>,
) -> FieldError {
    FieldError { field: field.into(), value: value.map(shorten).unwrap_or_default(), message: message.into() }
}

/// Look up the value at a serde path such as `data.steps[2].due` (for error messages).
fn value_at<'a>(root: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut v = root;
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            v = v.get(name)?;
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            v = v.get(idx.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(v)
}

fn payload<T: serde::de::DeserializeOwned>(data: &serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(data).map_err(|e| {
        // The field's path and value, followed in the value itself (a key may hold any
        // character, so the path is not parsed back).
        let mut field = String::from("data");
        let mut value = Some(data);
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => {
                    field.push_str(&format!("[{index}]"));
                    value = value.and_then(|v| v.get(index));
                }
                serde_path_to_error::Segment::Map { key } => {
                    push_key(&mut field, key);
                    value = value.and_then(|v| v.get(key));
                }
                serde_path_to_error::Segment::Enum { variant } => push_key(&mut field, variant),
                serde_path_to_error::Segment::Unknown => field.push_str(".?"),
            }
        }
        let inner = e.into_inner().to_string();
        // serde's messages end with " at line L column C" for text input; ours is a value.
        err(field, value, inner)
    })
}

/// Append `key` to a field path: `.key` when it is a plain name, else `["key"]` quoted as JSON
/// (so a key that is empty or holds dots, brackets or quotes is still named exactly).
fn push_key(path: &mut String, key: &str) {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::Value::from(key).to_string());
        path.push(']');
    }
}

/// A rule a well-formed event breaks: the field's path and why.
#[derive(Debug)]
struct Broken {
    field: &'static str,
    message: String,
}

fn text_rule(field: &'static str, s: &str, max: usize) -> Result<(), Broken> {
    if s.trim().is_empty() {
        return Err(Broken { field, message: "must not be empty".into() });
    }
    // A text of at most `max` bytes has at most `max` characters: only longer ones are counted.
    if s.len() > max && s.chars().count() > max {
        return Err(Broken { field, message: format!("longer than {max} characters") });
    }
    Ok(())
}

fn range_rule(field: &'static str, x: f64, lo: f64, hi: f64) -> Result<(), Broken> {
    if !(lo..=hi).contains(&x) {
        return Err(Broken { field, message: format!("must be between {lo} and {hi}") });
    }
    Ok(())
}

/// An event's id: checked as soon as it is read, before its time and payload.
fn id_rule(id: &str) -> Result<(), Broken> {
    text_rule("id", id, 128)
}

/// The rules a payload's values keep beyond their types (the id's: [`id_rule`]): the one home
/// of them, for both ways of reading a line ([`parse_line`]).
fn rules(event: &Event) -> Result<(), Broken> {
    match event {
        Event::WaterReading(e) => {
            text_rule("data.section", &e.section, 64)?;
            let x = e.indicators();
            range_rule("data.ph", x.ph, 0.0, 14.0)?;
            range_rule("data.do_mg_l", x.do_mg_l, 0.0, 25.0)?;
            range_rule("data.codmn_mg_l", x.codmn_mg_l, 0.0, 1000.0)?;
            range_rule("data.nh3n_mg_l", x.nh3n_mg_l, 0.0, 1000.0)?;
            range_rule("data.tp_mg_l", x.tp_mg_l, 0.0, 1000.0)?;
        }
        Event::SewageOutlet(e) => {
            text_rule("data.outlet", &e.outlet, 64)?;
            text_rule("data.name", &e.name, 200)?;
            text_rule("data.river", &e.river, 64)?;
        }
        Event::FishingPatrol(e) => {
            text_rule("data.patrol", &e.patrol, 64)?;
            range_rule("data.hours", e.hours, 0.0, 72.0)?;
        }
        Event::RiverPatrol(e) => {
            text_rule("data.patrol", &e.patrol, 64)?;
            text_rule("data.chief", &e.chief, 64)?;
            text_rule("data.chief_name", &e.chief_name, 64)?;
            text_rule("data.river", &e.river, 64)?;
            if e.minutes > 24 * 60 {
                return Err(Broken {
                    field: "data.minutes",
                    message: "must be at most 1440 (one day)".into(),
                });
            }
        }
        Event::RiverProblem(e) => {
            text_rule("data.problem", &e.problem, 64)?;
            text_rule("data.river", &e.river, 64)?;
        }
        Event::Project(e) => {
            text_rule("data.project", &e.project, 64)?;
            text_rule("data.name", &e.name, 200)?;
            text_rule("data.industry", &e.industry, 64)?;
            range_rule("data.plan_wan", e.plan_wan, 0.0, 1e9)?;
            range_rule("data.done_wan", e.done_wan, 0.0, 1e9)?;
        }
        Event::Village(e) => {
            text_rule("data.village", &e.village, 64)?;
            text_rule("data.name", &e.name, 100)?;
            if e.risk_households > e.monitored_households {
                return Err(Broken {
                    field: "data.risk_households",
                    message: "cannot exceed monitored_households".into(),
                });
            }
            range_rule("data.income_yuan", e.income_yuan, 0.0, 1e7)?;
            range_rule("data.assistance_wan", e.assistance_wan, 0.0, 1e7)?;
        }
    }
    if let Some((lon, lat)) = event.position() {
        range_rule("data.lon", lon, -180.0, 180.0)?;
        range_rule("data.lat", lat, -90.0, 90.0)?;
    }
    Ok(())
}

/// Parse and check one NDJSON line. Checks everything that needs no server state: JSON syntax,
/// envelope fields, the payload's shape and types (unknown fields are refused), ranges, dates.
/// Whether a section is known or a place lies in the region is for the server to check.
///
/// A line is read straight into its types first ([`fast`]: one pass, no tree); a line that
/// fails there is read again as a JSON tree ([`parse_line_reference`]), which names the field
/// and value of what is wrong. The first way accepts a line only when the second accepts it
/// too, with the same event (the fuzzing benchmark compares the two on every generated line).
pub fn parse_line(line: &str) -> Result<Envelope, FieldError> {
    match fast::parse(line) {
        Some(e) => Ok(e),
        None => parse_line_reference(line),
    }
}

/// Reading a valid line straight into its types, in one pass: the payload is read into its
/// type where it stands when `type` came before `data` (as sources write it, and the envelope
/// serialises), and otherwise (keys sorted, say) kept as raw text and read once the type is
/// known. Anything unusual (a duplicate
/// or unknown field, a time written with escapes, which cannot be borrowed, any error at all)
/// gives `None`, and the reference reading decides.
mod fast {
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, Visitor};
    use serde_json::value::RawValue;

    use super::{Envelope, Event, EventTime};

    /// The envelope's fields; any other is an error.
    #[derive(Deserialize)]
    #[serde(field_identifier, rename_all = "lowercase")]
    enum Field {
        Type,
        Id,
        Time,
        Source,
        Data,
    }

    /// The payload: read into its type, or kept until the type is known.
    enum Data<'a> {
        Read(Event),
        Later(&'a RawValue),
    }

    struct Raw<'a> {
        kind: String,
        id: String,
        time: &'a str,
        source: Option<String>,
        data: Data<'a>,
    }

    /// Reads a payload of the type `kind` names.
    struct Payload<'k>(&'k str);

    impl<'de> DeserializeSeed<'de> for Payload<'_> {
        type Value = Event;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Event, D::Error> {
            Ok(match self.0 {
                "water.reading" => Event::WaterReading(Deserialize::deserialize(d)?),
                "water.outlet" => Event::SewageOutlet(Deserialize::deserialize(d)?),
                "water.fishing_patrol" => Event::FishingPatrol(Deserialize::deserialize(d)?),
                "river.patrol" => Event::RiverPatrol(Deserialize::deserialize(d)?),
                "river.problem" => Event::RiverProblem(Deserialize::deserialize(d)?),
                "project.update" => Event::Project(Deserialize::deserialize(d)?),
                "poverty.village" => Event::Village(Deserialize::deserialize(d)?),
                _ => return Err(D::Error::custom("unknown event type")),
            })
        }
    }

    struct RawVisitor;

    impl<'de> Visitor<'de> for RawVisitor {
        type Value = Raw<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an event")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
            let (mut kind, mut id, mut time, mut source, mut data) = (None, None, None, None, None);
            fn once<T, E: Error>(slot: &mut Option<T>, value: T) -> Result<(), E> {
                match slot.replace(value) {
                    None => Ok(()),
                    Some(_) => Err(E::custom("duplicate field")),
                }
            }
            while let Some(field) = map.next_key::<Field>()? {
                match field {
                    Field::Type => once(&mut kind, map.next_value::<String>()?)?,
                    Field::Id => once(&mut id, map.next_value::<String>()?)?,
                    Field::Time => once(&mut time, map.next_value::<&'de str>()?)?,
                    Field::Source => once(&mut source, map.next_value::<Option<String>>()?)?,
                    Field::Data => {
                        let read = match &kind {
                            Some(k) => Data::Read(map.next_value_seed(Payload(k))?),
                            None => Data::Later(map.next_value::<&'de RawValue>()?),
                        };
                        once(&mut data, read)?
                    }
                }
            }
            let missing = || A::Error::custom("missing field");
            Ok(Raw {
                kind: kind.ok_or_else(missing)?,
                id: id.ok_or_else(missing)?,
                time: time.ok_or_else(missing)?,
                source: source.flatten(),
                data: data.ok_or_else(missing)?,
            })
        }
    }

    /// The event of a valid line; `None` for any line the reference reading must look at.
    pub(super) fn parse(line: &str) -> Option<Envelope> {
        let mut de = serde_json::Deserializer::from_str(line);
        let raw = de.deserialize_map(RawVisitor).ok()?;
        de.end().ok()?;
        let event = match raw.data {
            Data::Read(event) => event,
            Data::Later(data) => {
                let mut de = serde_json::Deserializer::from_str(data.get());
                Payload(&raw.kind).deserialize(&mut de).ok()?
            }
        };
        super::id_rule(&raw.id).ok()?;
        super::rules(&event).ok()?;
        let time = EventTime::parse(raw.time).ok()?;
        Some(Envelope { kind: raw.kind, id: raw.id, time, source: raw.source, data: event })
    }
}

/// [`parse_line`] by way of a JSON tree: slower, and what names the field and value of every
/// refusal. Public for the fuzzing benchmark, which checks that both ways agree.
#[doc(hidden)]
pub fn parse_line_reference(line: &str) -> Result<Envelope, FieldError> {
    let root: serde_json::Value = serde_json::from_str(line).map_err(|e| FieldError {
        field: "-".into(),
        value: excerpt(line, e.column()),
        message: format!("not valid JSON: {e}"),
    })?;
    let obj = root.as_object().ok_or_else(|| err("-", Some(&root), "an event must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "type" | "id" | "time" | "source" | "data")) {
        let mut field = String::new();
        push_key(&mut field, k);
        return Err(err(field, obj.get(k), "unknown field (expected type, id, time, source, data)"));
    }
    let text = |name: &str| -> Result<String, FieldError> {
        match obj.get(name) {
            None => Err(err(name, None, "missing")),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(err(name, Some(v), "must be a string")),
        }
    };
    let broken = |b: Broken| err(b.field, value_at(&root, b.field), b.message);
    let kind = text("type")?;
    let id = text("id")?;
    id_rule(&id).map_err(broken)?;
    let time = EventTime::parse(&text("time")?).map_err(|e| err("time", obj.get("time"), e.to_string()))?;
    let source = match obj.get("source") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(v) => return Err(err("source", Some(v), "must be a string")),
    };
    let data = obj.get("data").ok_or_else(|| err("data", None, "missing"))?;
    let event = match kind.as_str() {
        "water.reading" => Event::WaterReading(payload(data)?),
        "water.outlet" => Event::SewageOutlet(payload(data)?),
        "water.fishing_patrol" => Event::FishingPatrol(payload(data)?),
        "river.patrol" => Event::RiverPatrol(payload(data)?),
        "river.problem" => Event::RiverProblem(payload(data)?),
        "project.update" => Event::Project(payload(data)?),
        "poverty.village" => Event::Village(payload(data)?),
        other => {
            let known: Vec<&str> = EVENT_TYPES.iter().map(|(t, _)| *t).collect();
            return Err(err(
                "type",
                Some(&serde_json::Value::String(other.to_owned())),
                format!("unknown event type (known: {})", known.join(", ")),
            ));
        }
    };
    rules(&event).map_err(broken)?;
    Ok(Envelope { kind, id, time, source, data: event })
}

#[cfg(test)]
mod tests {
    use super::*;

    const READING: &str = r#"{"type":"water.reading","id":"r1","time":"2026-11-22T08:00:00Z","data":{"section":"cj-yangsigang","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08}}"#;

    #[test]
    fn wire_names_are_the_serde_names() {
        let serde_name = |v: serde_json::Value| v.as_str().map(str::to_owned);
        for k in StepKind::ALL {
            assert_eq!(serde_name(serde_json::json!(k)).as_deref(), Some(k.as_str()));
            assert_eq!(StepKind::parse(k.as_str()), Some(k));
        }
        for s in Stage::ALL {
            assert_eq!(serde_name(serde_json::json!(s)).as_deref(), Some(s.as_str()));
            assert_eq!(Stage::from_name(s.as_str()), Some(s));
        }
        for s in OutletStatus::ALL {
            assert_eq!(serde_name(serde_json::json!(s)).as_deref(), Some(s.as_str()));
            assert_eq!(OutletStatus::from_name(s.as_str()), Some(s));
        }
        for s in ProblemStatus::ALL {
            assert_eq!(serde_name(serde_json::json!(s)).as_deref(), Some(s.as_str()));
        }
        for a in crate::alerts::AlertAction::ALL {
            assert_eq!(serde_name(serde_json::json!(a)).as_deref(), Some(a.as_str()));
            assert_eq!(crate::alerts::AlertAction::of_trail_action(&a.trail_action()), Some(a));
        }
        for r in crate::api::Role::ALL {
            assert_eq!(serde_name(serde_json::json!(r)).as_deref(), Some(r.as_str()));
            assert_eq!(crate::api::Role::parse(r.as_str()), Some(r));
        }
        for k in crate::rules::RuleKind::ALL {
            assert_eq!(serde_name(serde_json::json!(k)).as_deref(), Some(k.as_str()));
            assert_eq!(crate::rules::RuleKind::parse(k.as_str()), Some(k));
        }
    }

    const PATROL: &str = r#"{"type":"river.patrol","id":"p1","time":"2026-11-22T16:00:00.25+08:00","data":{"patrol":"p1","chief":"C1","chief_name":"王建国","level":"county","river":"汉江","lon":114.2199,"lat":30.5797,"minutes":45}}"#;

    #[test]
    fn both_ways_of_reading_a_line_agree() {
        // Valid lines take the direct way; each must equal the tree's reading.
        let valid = [
            READING.to_owned(),
            PATROL.to_owned(),
            format!("  \t{PATROL}"),
            PATROL.replace(r#""id":"p1""#, r#""id":"p\u00e9\n1","source":null"#),
            PATROL.replace(r#""type""#, r#""typ\u0065""#),
            PATROL.replace(r#""minutes":45"#, r#""minutes":45,"lat":30.6"#).replace(r#""lat":30.5797,"#, ""),
            PATROL.replace(r#""id":"p1""#, r#""id":"p1","source":"hz""#),
            // The payload before its type: kept as text until the type is read.
            format!(
                r#"{{"data":{},"type":"river.patrol","id":"p1","time":"2026-11-22T08:00:00Z"}}"#,
                &PATROL[PATROL.find(r#"{"patrol""#).expect("data")..PATROL.len() - 1]
            ),
        ];
        for line in &valid {
            assert!(fast::parse(line).is_some(), "the direct way reads {line}");
            assert_eq!(parse_line(line), parse_line_reference(line), "{line}");
        }
        // Lines the direct way leaves to the tree, accepted or refused by it alike.
        let odd = [
            r#"["river.patrol","p1","2026-11-22T08:00:00Z",null,{}]"#.to_owned(),
            PATROL.replace(r#""id":"p1""#, r#""id":"p1","id":"p2""#),
            PATROL.replace(r#""patrol":"p1""#, r#""patrol":"p1","patrol":"p3""#),
            PATROL.replace(r#""minutes":45"#, r#""minutes":1441"#),
            PATROL.replace(r#""minutes":45"#, r#""minutes":45.0"#),
            PATROL.replace(r#""lon":114.2199"#, r#""lon":214.2199"#),
            PATROL.replace(r#""id":"p1""#, r#""id":"p1","source":7"#),
            PATROL.replace(r#""id":"p1""#, r#""id":"p1","extra":1"#),
            PATROL.replace(r#""chief":"C1""#, r#""chief":" ""#),
            PATROL.replace("+08:00", "+25:00"),
            PATROL.replace("river.patrol", "river.walk"),
            PATROL.replace(r#","minutes":45"#, ""),
            format!("{PATROL} x"),
            PATROL.replace(r#""data":{"#, r#""data":["#).replace("45}}", "45]}"),
            // A type or payload given twice, after the payload was read by the first type.
            PATROL.replace("45}}", r#"45},"type":"water.reading"}"#),
            PATROL.replace("45}}", r#"45},"data":{}}"#),
            PATROL
                .replace("river.patrol", "river.walk")
                .replace(r#""type":"river.walk","#, "")
                .replace("45}}", r#"45},"type":"river.walk"}"#),
        ];
        for line in &odd {
            assert_eq!(parse_line(line), parse_line_reference(line), "{line}");
        }
        assert!(parse_line(&odd[1]).is_ok_and(|e| e.id == "p2"), "a repeated key: the last one, as before");
    }

    #[test]
    fn a_valid_line_round_trips() {
        let e = parse_line(READING).expect("valid");
        assert_eq!(e.kind, "water.reading");
        assert_eq!(e.data.topic(), "water");
        assert_eq!(e.data.entity(), "section:cj-yangsigang");
        let again = parse_line(&serde_json::to_string(&e).expect("serialises")).expect("re-parses");
        assert_eq!(again, e);
    }

    fn fails(line: &str) -> FieldError {
        parse_line(line).expect_err("should be refused")
    }

    #[test]
    fn each_kind_of_bad_line_names_field_and_value() {
        let e = fails("{\"type\":");
        assert_eq!(e.field, "-");
        assert!(e.message.starts_with("not valid JSON: EOF while parsing"), "{e}");
        assert_eq!(e.value, "{\"type\":", "the line, quoted");
        let long = format!("{{\"id\":\"{}\" oops}}", "长".repeat(100));
        let e = fails(&long);
        assert!(e.value.starts_with('…') && e.value.ends_with("\" oops}"), "around the error: {}", e.value);
        assert!(e.value.chars().count() <= 81, "{}", e.value);
        // Keys of any shape are named exactly, with their value.
        let e = fails(&READING.replacen('{', "{\"\":-1,", 1));
        assert_eq!((e.field.as_str(), e.value.as_str()), ("[\"\"]", "-1"));
        let e = fails(&READING.replace("\"ph\":7.6", "\"p[h.\":7.6"));
        assert_eq!((e.field.as_str(), e.value.as_str()), ("data[\"p[h.\"]", "7.6"));
        assert_eq!(fails("[1]").message, "an event must be a JSON object");
        let e = fails(&READING.replace("water.reading", "water.readings"));
        assert_eq!((e.field.as_str(), e.value.as_str()), ("type", "\"water.readings\""));
        assert!(e.message.starts_with("unknown event type (known: water.reading, "));
        let e = fails(&READING.replace("\"ph\":7.6", "\"ph\":\"7.6\""));
        assert_eq!((e.field.as_str(), e.value.as_str()), ("data.ph", "\"7.6\""));
        assert!(e.message.contains("invalid type: string \"7.6\", expected f64"), "{e}");
        let e = fails(&READING.replace("\"ph\":7.6", "\"ph\":17.6"));
        assert_eq!(e.to_string(), "field `data.ph`: must be between 0 and 14 (value 17.6)");
        let e = fails(&READING.replace("\"ph\":7.6,", ""));
        assert_eq!(e.field, "data");
        assert!(e.message.contains("missing field `ph`"), "{e}");
        let e = fails(&READING.replace("\"ph\":7.6", "\"ph\":7.6,\"colour\":\"green\""));
        assert!(e.message.contains("unknown field `colour`"), "{e}");
        let e = fails(&READING.replace("2026-11-22T08:00:00Z", "22/11/2026"));
        assert_eq!((e.field.as_str(), e.value.as_str()), ("time", "\"22/11/2026\""));
        let e = fails(&READING.replace("\"id\":\"r1\"", "\"id\":7"));
        assert_eq!(e.to_string(), "field `id`: must be a string (value 7)");
        let e = fails(&READING.replace("\"id\":\"r1\",", "\"id\":\"r1\",\"extra\":1,"));
        assert_eq!(e.field, "extra");
    }

    #[test]
    fn nested_paths_are_reported() {
        let line = r#"{"type":"project.update","id":"p1","time":"2026-11-22T08:00:00Z","data":{"project":"P1","name":"x","industry":"汽车","lon":114.3,"lat":30.6,"plan_wan":100,"done_wan":10,"steps":[{"step":"approval","due":"2026-01-01"},{"step":"land","due":"2026-13-01"}]}}"#;
        let e = fails(line);
        assert_eq!(
            e.to_string(),
            "field `data.steps[1].due`: must be a date YYYY-MM-DD: no such month (value \"2026-13-01\")"
        );
        let e = fails(&line.replace("\"land\"", "\"landing\"").replace("2026-13-01", "2026-12-01"));
        assert_eq!(e.field, "data.steps[1].step");
        assert_eq!(e.value, "\"landing\"");
    }

    #[test]
    fn village_risk_cannot_exceed_monitored() {
        let line = r#"{"type":"poverty.village","id":"v1","time":"2026-11-22T08:00:00Z","data":{"village":"V1","name":"x村","lon":110.0,"lat":31.0,"lifted_households":120,"monitored_households":5,"risk_households":6,"income_yuan":14500,"assistance_wan":30}}"#;
        assert_eq!(fails(line).field, "data.risk_households");
    }

    #[test]
    fn times_are_instants_and_impossible_ones_are_refused() {
        let e = parse_line(&READING.replace("2026-11-22T08:00:00Z", "2026-11-22T16:30:00.5+08:00"))
            .expect("offset");
        assert_eq!(e.time.text, "2026-11-22T16:30:00.5+08:00");
        assert_eq!(e.time.at.to_string(), "2026-11-22T08:30:00.5Z");
        // The raw event keeps the text as sent.
        assert!(serde_json::to_string(&e).expect("serialises").contains("2026-11-22T16:30:00.5+08:00"));
        let e = fails(&READING.replace("2026-11-22T08:00:00Z", "2026-99-99T99:99:99Z"));
        assert_eq!((e.field.as_str(), e.value.as_str()), ("time", "\"2026-99-99T99:99:99Z\""));
        assert!(e.message.contains("not a real time"), "{e}");
        let e = fails(&READING.replace("2026-11-22T08:00:00Z", "2026-11-22T08:00:00"));
        assert_eq!(e.field, "time");
        let problem = r#"{"type":"river.problem","id":"q1","time":"2026-11-22T08:00:00Z","data":{"problem":"Q1","river":"府河","lon":114.2,"lat":30.7,"kind":"garbage","status":"found","found":"2026-02-30T08:00:00Z"}}"#;
        let e = fails(problem);
        assert_eq!((e.field.as_str(), e.value.as_str()), ("data.found", "\"2026-02-30T08:00:00Z\""));
        let line = r#"{"type":"project.update","id":"p1","time":"2026-11-22T08:00:00Z","data":{"project":"P1","name":"x","industry":"汽车","lon":114.3,"lat":30.6,"plan_wan":100,"done_wan":10,"steps":[{"step":"approval","due":"2026-02-29"}]}}"#;
        let e = fails(line);
        assert_eq!(e.field, "data.steps[0].due");
        assert!(e.message.contains("no such day"), "{e}");
    }

    #[test]
    fn the_overdue_rule_is_about_beijing_dates() {
        let d = |s: &str| Date::parse(s).expect("date");
        let step = ProjectStep { step: StepKind::Land, due: d("2026-11-22"), done: None };
        assert!(!step.is_overdue(d("2026-11-22")), "due today is not late yet");
        assert!(step.is_overdue(d("2026-11-23")));
        assert_eq!(step.days_late(d("2026-11-25")), 3);
        let done = ProjectStep { done: Some(d("2026-11-30")), ..step.clone() };
        assert!(!done.is_overdue(d("2026-12-01")));
        assert_eq!(StepKind::Start.phase(), Stage::Construction);
        assert_eq!(StepKind::Environment.phase(), Stage::Approval);
        assert_eq!(Stage::from_name("accepted"), Some(Stage::Accepted));
    }
}
