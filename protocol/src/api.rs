//! The answers of the REST API under `/api/v1`, one type per answer, used by the server to build
//! them and by the app to read them, so a field renamed on one side fails to compile on the other.

use serde::{Deserialize, Serialize};

use crate::alerts::{Alert, AlertState, Severity};
use crate::events::Envelope;
use crate::instant::{Date, Timestamp};
use crate::topics::{EntityState, HistoryPoint, PovertyAgg, ProjectsAgg, RiversAgg, WaterAgg};

/// Overdue figures of a region as of one day (a date in Asia/Shanghai), by the one overdue rule
/// ([`crate::events::ProjectStep::is_overdue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverdueToday {
    /// Every step overdue.
    pub steps: u32,
    /// Of those, approval steps (立项 … 施工许可).
    pub approval_steps: u32,
    /// Projects with a step overdue, by their stage (approval, construction, accepted).
    pub projects_by_stage: [u32; 3],
}

impl OverdueToday {
    /// The overdue figures of `projects` on `today`.
    pub fn of(projects: &ProjectsAgg, today: Date) -> OverdueToday {
        OverdueToday {
            steps: projects.overdue_steps(today),
            approval_steps: projects.overdue_approval_steps(today),
            projects_by_stage: projects.overdue_projects(today),
        }
    }
}

/// `GET /api/v1/regions/{adcode}`: a region's figures for the four themes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionFigures {
    /// GB/T 2260 code.
    pub adcode: String,
    /// Full name.
    pub name: String,
    /// Time of the newest event folded.
    pub time: Option<Timestamp>,
    /// Today in Asia/Shanghai by the server's clock (what `overdue` is counted against).
    pub today: Date,
    /// Overdue as of `today`.
    pub overdue: OverdueToday,
    /// 长江大保护.
    pub water: WaterAgg,
    /// 河湖长制.
    pub rivers: RiversAgg,
    /// 重大项目.
    pub projects: ProjectsAgg,
    /// 精准脱贫.
    pub poverty: PovertyAgg,
}

/// Where an entity is, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntityPlace {
    /// County name.
    pub county: Option<String>,
    /// Prefecture name.
    pub prefecture: Option<String>,
}

/// One stored event of an entity's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredEventView {
    /// Global sequence in the log.
    pub gseq: u64,
    /// When the server received it (RFC 3339, UTC).
    pub received: String,
    /// The event as it was sent.
    pub event: Envelope,
}

/// `GET /api/v1/entities/{key}`: an entity's state and its events in event-time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntityRecord {
    /// Entity key (`kind:id`).
    pub key: String,
    /// Its county and prefecture.
    pub place: Option<EntityPlace>,
    /// Its latest state, while it is live.
    pub current: Option<EntityState>,
    /// Its events, oldest first by event time.
    pub history: Vec<StoredEventView>,
}

/// `GET /api/v1/history`: the province's figures per step of event time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryAnswer {
    /// Length of a step, seconds.
    pub step_s: i64,
    /// The points, oldest first.
    pub points: Vec<HistoryPoint>,
}

/// One county's 精准脱贫 figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountyFigures {
    /// GB/T 2260 code.
    pub adcode: String,
    /// Name.
    pub name: String,
    /// Its prefecture's code.
    pub prefecture: String,
    /// 精准脱贫 figures.
    pub poverty: PovertyAgg,
}

/// `GET /api/v1/counties`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountiesAnswer {
    /// Time of the newest event folded.
    pub time: Option<Timestamp>,
    /// Every county in the caller's scope.
    pub counties: Vec<CountyFigures>,
}

/// One event type, as `GET /api/v1/event-types` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventTypeInfo {
    /// The `type` of the event.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it reports.
    pub description: String,
}

/// The outcome of one line of an ingested NDJSON body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum LineResult {
    /// Stored now.
    Accepted {
        /// 1-based line number in the body.
        line: usize,
        /// The event's id.
        id: String,
        /// Its theme topic.
        topic: String,
        /// Its seq in that topic: that of the delta that carries it (shared by the events of the
        /// topic written with it).
        seq: u64,
    },
    /// Stored earlier (same source and id): not stored again.
    Duplicate {
        /// 1-based line number.
        line: usize,
        /// The event's id.
        id: String,
    },
    /// Refused; nothing of it was stored.
    Rejected {
        /// 1-based line number.
        line: usize,
        /// Field at fault (JSON path, `-` for the whole line).
        field: String,
        /// The value as received.
        value: String,
        /// What is wrong.
        error: String,
    },
}

impl LineResult {
    /// The line it is about.
    pub fn line(&self) -> usize {
        match self {
            LineResult::Accepted { line, .. }
            | LineResult::Duplicate { line, .. }
            | LineResult::Rejected { line, .. } => *line,
        }
    }
}

/// `POST /api/v1/events`: what became of every line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestAnswer {
    /// Lines stored now.
    pub accepted: usize,
    /// Lines already stored earlier.
    pub duplicates: usize,
    /// Lines refused.
    pub rejected: usize,
    /// Every line's outcome, in line order.
    pub lines: Vec<LineResult>,
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Looks at the wall.
    Viewer,
    /// Duty officer: acts on alerts.
    Duty,
    /// Project manager: reads everything, acts on project alerts.
    ProjectManager,
    /// Drives the wall at meetings.
    Presenter,
    /// Everything, including the audit trail and the user list.
    Admin,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 5] = [Role::Viewer, Role::Duty, Role::ProjectManager, Role::Presenter, Role::Admin];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Duty => "duty",
            Role::ProjectManager => "project_manager",
            Role::Presenter => "presenter",
            Role::Admin => "admin",
        }
    }

    /// Parse a wire name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// May act on alerts (acknowledge, dispatch, resolve): duty officers, project managers (on
    /// project alerts, see [`Role::may_act_on`]) and admins.
    pub fn can_act(self) -> bool {
        matches!(self, Role::Duty | Role::Admin | Role::ProjectManager)
    }

    /// May act on alerts of this rule: duty officers and admins on all, project managers on the
    /// 重大项目 theme's.
    pub fn may_act_on(self, rule: crate::rules::RuleKind) -> bool {
        match self {
            Role::ProjectManager => rule.theme() == crate::topics::PROJECTS,
            other => other.can_act(),
        }
    }
}

/// The answer of every refused request: what was wrong, in one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorAnswer {
    /// The message.
    pub error: String,
}

/// `GET /api/v1/me`: who the session is, and what it may do.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// User name (None: not logged in).
    pub name: Option<String>,
    /// Role (None: not logged in).
    #[serde(default)]
    pub role: Option<Role>,
    /// Region scope: an adcode prefix (None: the whole province).
    #[serde(default)]
    pub scope: Option<String>,
    /// May read the data (anonymous pages may, when the deployment allows them).
    pub can_read: bool,
    /// May act on alerts.
    pub can_act: bool,
}

/// `POST /api/v1/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// `POST /api/v1/alerts/{id}/{action}`: the step's comment, and for `dispatch` to whom.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActBody {
    /// What was done, or why (required to resolve and to dispatch).
    #[serde(default)]
    pub comment: String,
    /// For `dispatch`: the person or office to handle it.
    #[serde(default)]
    pub to: Option<String>,
}

/// `GET /api/v1/site`: what the deployment covers, what the caller sees of it, and the wall's
/// title.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteInfo {
    /// The wall's title as configured (None: the wall names the region it shows).
    pub title: Option<String>,
    /// The deployment's root region (adcode): `420000` for the province, `420200` for 黄石.
    pub root: String,
    /// Its name.
    pub root_name: String,
    /// The region this caller's wall shows: the root, or the caller's scope.
    pub region: String,
    /// Its name.
    pub region_name: String,
    /// The regions one level under it (prefectures of the province, counties of a city), sorted
    /// by adcode.
    pub children: Vec<RegionName>,
}

/// A region's adcode and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionName {
    /// GB/T 2260 code.
    pub adcode: String,
    /// Full name (`黄石港区`).
    pub name: String,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Region scope: an adcode prefix, or none for the whole province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A disabled user cannot log in and has no sessions.
    #[serde(default)]
    pub disabled: bool,
    /// When the account was made.
    pub created: String,
}

impl User {
    /// Whether `adcode` lies in the user's scope.
    pub fn sees(&self, adcode: &str) -> bool {
        in_scope(self.scope.as_deref(), adcode)
    }
}

/// Whether `adcode` lies under `scope`, an adcode prefix (everything does when there is no
/// scope).
pub fn in_scope(scope: Option<&str>, adcode: &str) -> bool {
    scope.is_none_or(|s| adcode.starts_with(s))
}

/// `POST /api/v1/logout`: done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OkAnswer {
    /// Always true.
    pub ok: bool,
}

/// `GET /healthz`: the server is up, and what it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
    /// The websocket protocol's version.
    pub protocol: u32,
    /// The event schema's version.
    pub event_schema: u32,
    /// The event log's epoch (a new log is a new epoch).
    pub epoch: String,
    /// Seconds since the server started.
    pub uptime_s: u64,
    /// Connected websocket clients.
    pub clients: usize,
    /// The last message of the NATS log stream this node has applied (absent when the log is
    /// this node's own): nodes that give the same have the same event log and seqs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_applied: Option<u64>,
    /// Whether this node holds the NATS log's clock lease now: it ticks the alert clock, runs
    /// the simulator and proposes the alert rules' steps (absent when the log is this node's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds_clock: Option<bool>,
}

/// Filters of the alert list.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// `open` (default), `all`, or one state: `new`, `acknowledged`, `dispatched`, `resolved`.
    pub state: Option<String>,
    /// Comma-separated severities (`red,orange`).
    pub severity: Option<String>,
    /// A theme topic: `water`, `rivers`, `projects`, `poverty`.
    pub theme: Option<String>,
    /// An adcode prefix (`4201` for 武汉).
    pub region: Option<String>,
}

impl AlertQuery {
    /// Check the filters: the answer names the parameter and the value.
    pub fn check(&self) -> Result<(), String> {
        if let Some(s) = &self.state
            && s != "open"
            && s != "all"
            && AlertState::parse(s).is_none()
        {
            return Err(format!(
                "query `state`: {s:?} is not open, all, new, acknowledged, dispatched or resolved"
            ));
        }
        for s in self.severity.iter().flat_map(|s| s.split(',')) {
            if Severity::parse(s).is_none() {
                return Err(format!("query `severity`: {s:?} is not red, orange, yellow or blue"));
            }
        }
        if let Some(t) = &self.theme
            && !crate::topics::THEMES.contains(&t.as_str())
        {
            return Err(format!("query `theme`: {t:?} is not water, rivers, projects or poverty"));
        }
        Ok(())
    }

    /// Whether an alert passes the filters.
    pub fn matches(&self, a: &Alert) -> bool {
        let state_ok = match self.state.as_deref() {
            None | Some("open") => a.is_open(),
            Some("all") => true,
            Some(s) => AlertState::parse(s) == Some(a.state),
        };
        state_ok
            && self.severity.as_ref().is_none_or(|s| s.split(',').any(|v| v == a.severity.as_str()))
            && self.theme.as_ref().is_none_or(|t| t == a.rule.theme())
            && self.region.as_ref().is_none_or(|r| a.adcode.starts_with(r.as_str()))
    }
}

/// Query of the audit trail.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries after this position.
    pub after: Option<u64>,
    /// Only this alert's steps.
    pub alert: Option<String>,
    /// At most this many (default and maximum 100000).
    pub limit: Option<usize>,
}

/// The instant a drill-down is asked about: `?at=2026-11-20T09:00:00+08:00` gives the state as of
/// that instant by event time (every event whose time is at or before it: time travel); none,
/// the live state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct AsOf {
    /// The instant, RFC 3339 with any offset.
    pub at: Option<String>,
}

/// `GET /api/v1/timeline`: the span of the log by event time, which time travel can show.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineAnswer {
    /// The oldest event's time.
    pub first: Option<Timestamp>,
    /// The newest event's time.
    pub last: Option<Timestamp>,
    /// Checkpoints kept (a seek folds from the newest one before the instant).
    pub checkpoints: usize,
    /// Days whose totals at midnight are kept (what period figures are made of).
    pub days: u64,
}

/// Query of an entity's history.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct HistoryQuery {
    /// From (RFC 3339), default: the beginning.
    pub from: Option<String>,
    /// To (RFC 3339), default: the end.
    pub to: Option<String>,
    /// At most this many events (default 1000, at most 10000).
    pub limit: Option<u32>,
    /// Instead of `from`/`to`/`limit`: the newest this many events (at most 10000), oldest first
    /// (a trend's recent history).
    pub latest: Option<u32>,
    /// Time travel: the entity as of this instant (its state then, and only its events up to it).
    pub at: Option<String>,
}

/// One entry of the audit trail (`GET /api/v1/audit` answers them as NDJSON, oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Position: grows by one with every entry.
    pub seq: u64,
    /// When, UTC RFC 3339.
    pub time: String,
    /// Who: a user name, `source:NAME` for an ingest token, `system` for the rules, `cli` for
    /// commands run on the server machine.
    pub actor: String,
    /// The actor's role at the time (empty for `system` and sources).
    pub role: String,
    /// From where: the client's address (empty for `system` and `cli`).
    pub addr: String,
    /// What: `alert.raise`, `alert.acknowledge`, `login`, `login.failed`, `user.add`, `ingest`, …
    pub action: String,
    /// What it was done to: an alert id, a user name, a source.
    pub target: String,
    /// Free text.
    pub comment: String,
    /// The action's own data.
    pub body: serde_json::Value,
}

/// `GET /api/v1/sources` (admins): every ingest source with its tokens and rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceInfo {
    /// The source's name (`yiping token create --source NAME`).
    pub source: String,
    /// Its rate limit, events a second (None: no limit).
    pub rate: Option<f64>,
    /// Its tokens, oldest first.
    pub tokens: Vec<TokenInfo>,
}

/// One ingest token, named by its id (the token itself is never kept or shown again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// The first 12 hex digits of the token's SHA-256: enough to name it, nothing to use.
    pub id: String,
    /// When it was made (RFC 3339).
    pub created: String,
    /// When it ends or ended (RFC 3339; revoked, or rotated out after a grace period); None:
    /// valid until revoked.
    pub expires: Option<String>,
}

/// A new ingest token: shown once, in this answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewToken {
    /// The source it sends for.
    pub source: String,
    /// The token, for `Authorization: Bearer …`.
    pub token: String,
    /// Its id in the source list.
    pub id: String,
}

/// `PUT /api/v1/sources/{source}/rate`: a source's rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLimit {
    /// Events a second (None or absent: no limit).
    #[serde(default)]
    pub rate: Option<f64>,
}
