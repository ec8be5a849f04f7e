//! Alerts (DESIGN §4): what the `alerts` topic carries and what `/api/v1/alerts` answers.
//!
//! An alert is raised by a rule about one subject (a section, a river in a county, a problem, a
//! project, a village). It lives through new → acknowledged → dispatched → resolved; every step
//! (and every change the rules make: raise, escalate, clear, auto-close) is one [`AlertStep`],
//! by a named actor (`system` for the rules), with time and comment. The steps are the audit
//! trail; an alert's current state is their fold.
//!
//! The `alerts` topic: the snapshot is [`AlertsData`] with every open alert and those resolved in
//! the last 24 hours; each delta is [`AlertsData`] with the alerts that changed, whole.

use serde::{Deserialize, Serialize};

use crate::events::{ProblemKind, ProblemStatus, StepKind};
use crate::instant::{Date, Timestamp};
use crate::rules::RuleKind;
use crate::water::WaterClass;

/// How serious an alert is: 红 > 橙 > 黄 > 蓝.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 蓝色: for information.
    Blue,
    /// 黄色.
    Yellow,
    /// 橙色.
    Orange,
    /// 红色: act now.
    Red,
}

impl Severity {
    /// All, least serious first.
    pub const ALL: [Severity; 4] = [Severity::Blue, Severity::Yellow, Severity::Orange, Severity::Red];

    /// One level more serious (red stays red).
    pub fn up(self) -> Severity {
        match self {
            Severity::Blue => Severity::Yellow,
            Severity::Yellow => Severity::Orange,
            Severity::Orange | Severity::Red => Severity::Red,
        }
    }

    /// The wire name (`red`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blue => "blue",
            Severity::Yellow => "yellow",
            Severity::Orange => "orange",
            Severity::Red => "red",
        }
    }

    /// Parse a wire name.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where an alert is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Raised, nobody has taken it yet.
    New,
    /// A duty officer has seen it.
    Acknowledged,
    /// Handed to someone to deal with.
    Dispatched,
    /// Closed, by a person or because its condition cleared.
    Resolved,
}

impl AlertState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::New => "new",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Dispatched => "dispatched",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parse a wire name.
    pub fn parse(s: &str) -> Option<AlertState> {
        [AlertState::New, AlertState::Acknowledged, AlertState::Dispatched, AlertState::Resolved]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What happened to an alert at one step of its trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertAction {
    /// A rule raised it.
    Raise,
    /// Made more serious: by its rule (the measure got worse) or because nobody acknowledged it.
    Escalate,
    /// Its condition cleared while it was dispatched (it stays open for the assignee to close).
    Clear,
    /// A person acknowledged it.
    Acknowledge,
    /// A person dispatched it to someone.
    Dispatch,
    /// Closed: by a person, or by `system` when its condition cleared.
    Resolve,
}

impl AlertAction {
    /// Every step, in life-cycle order.
    pub const ALL: [AlertAction; 6] = [
        AlertAction::Raise,
        AlertAction::Escalate,
        AlertAction::Clear,
        AlertAction::Acknowledge,
        AlertAction::Dispatch,
        AlertAction::Resolve,
    ];

    /// The steps a person takes (`POST /api/v1/alerts/{id}/{action}`); the others are the rules'.
    pub const BY_PERSON: [AlertAction; 3] =
        [AlertAction::Acknowledge, AlertAction::Dispatch, AlertAction::Resolve];

    /// The step of a wire name.
    pub fn parse(name: &str) -> Option<AlertAction> {
        AlertAction::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Its action in the audit trail (`alert.raise`).
    pub fn trail_action(self) -> String {
        format!("alert.{}", self.as_str())
    }

    /// The step an audit-trail action records, if it is one (`alert.raise`).
    pub fn of_trail_action(action: &str) -> Option<AlertAction> {
        action.strip_prefix("alert.").and_then(AlertAction::parse)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertAction::Raise => "raise",
            AlertAction::Escalate => "escalate",
            AlertAction::Clear => "clear",
            AlertAction::Acknowledge => "acknowledge",
            AlertAction::Dispatch => "dispatch",
            AlertAction::Resolve => "resolve",
        }
    }
}

/// The person (or office) answerable for an alert's subject, when the data names one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Responsible {
    /// Name, e.g. the river chief's.
    pub name: String,
    /// Their role, e.g. `river_chief:county` (a 县级河长).
    pub role: String,
}

/// One step of an alert's trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertStep {
    /// Position in the audit trail (grows by one with every entry, alerts and other writes).
    pub seq: u64,
    /// What happened.
    pub action: AlertAction,
    /// Who: a user name, or `system` for the rules.
    pub actor: String,
    /// When, UTC RFC 3339.
    pub time: String,
    /// Free text (for `dispatch`, why and what to do; for the rules, the reason).
    #[serde(default)]
    pub comment: String,
    /// Severity after this step.
    pub severity: Severity,
    /// For `dispatch`: to whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// An alert as the wall and the duty console show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// Stable id, e.g. `A000123`.
    pub id: String,
    /// The rule that raised it (`GET /api/v1/rules` has their settings).
    pub rule: crate::rules::RuleKind,
    /// What the rule watches: the subject, or `subject#indicator` (one alert per rule and key
    /// is open at a time).
    pub key: String,
    /// The theme's topic: `water`, `rivers`, `projects` or `poverty`.
    pub theme: String,
    /// Current severity.
    pub severity: Severity,
    /// Current state.
    pub state: AlertState,
    /// The subject's entity key (drill-down: `/api/v1/entities/{subject}` when it is an entity).
    pub subject: String,
    /// The subject's name, e.g. `杨泗港` or `长江 (汉阳区)`.
    pub name: String,
    /// County adcode of the subject.
    pub adcode: String,
    /// WGS84 position of the subject.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// The data that triggered it (latest values as of the last raise or escalation): the
    /// [`Facts`] of its rule, kept as a record so the console can list every figure (read it
    /// typed with [`Alert::facts`]).
    pub data: serde_json::Value,
    /// Who answers for the subject, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible: Option<Responsible>,
    /// To whom it was dispatched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Its condition no longer holds (it may still wait for a person to resolve it).
    #[serde(default)]
    pub cleared: bool,
    /// When it was raised.
    pub raised: String,
    /// When it last changed.
    pub updated: String,
    /// Its whole trail, oldest first.
    pub steps: Vec<AlertStep>,
}

impl Alert {
    /// What triggered it, typed by its rule (`None` for data of another shape).
    pub fn facts(&self) -> Option<Facts> {
        Facts::read(self.rule, &self.data)
    }

    /// When it was raised, as an instant (the text's fraction varies: never compare the text).
    pub fn raised_at(&self) -> Option<crate::instant::Timestamp> {
        crate::instant::Timestamp::parse(&self.raised).ok()
    }

    /// The newest first (by the instant raised), then by id.
    pub fn newest_first(a: &Alert, b: &Alert) -> std::cmp::Ordering {
        b.raised_at().cmp(&a.raised_at()).then_with(|| b.id.cmp(&a.id))
    }

    /// Not yet resolved.
    pub fn is_open(&self) -> bool {
        self.state != AlertState::Resolved
    }
}

/// The `alerts` topic's snapshot (every open alert and the recently resolved) and deltas (the
/// alerts that changed).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertsData {
    /// Alerts, newest first in snapshots.
    pub alerts: Vec<Alert>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_escalate_up_to_red() {
        assert!(Severity::Red > Severity::Orange && Severity::Orange > Severity::Yellow);
        assert_eq!(Severity::Blue.up().up().up().up(), Severity::Red);
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).expect("serialises"), serde_json::json!(s.as_str()));
        }
        assert_eq!(Severity::parse("purple"), None);
        assert_eq!(AlertState::parse("dispatched"), Some(AlertState::Dispatched));
    }
}

/// What triggered an alert, by rule: the figures the rule measured. The server writes them into
/// [`Alert::data`] with [`Facts::to_value`]; the wall and the console read them with
/// [`Alert::facts`].
#[derive(Debug, Clone, PartialEq)]
pub enum Facts {
    /// 水质超标.
    WaterClass(ClassFacts),
    /// 指标突变.
    Spike(SpikeFacts),
    /// 监测断线.
    Silent(SilentFacts),
    /// 巡河超期.
    PatrolOverdue(PatrolFacts),
    /// 问题久拖未结.
    ProblemOpen(ProblemFacts),
    /// 项目环节逾期.
    StepOverdue(StepFacts),
    /// 投资进度滞后.
    InvestmentBehind(InvestmentFacts),
    /// 返贫风险骤增.
    RelapseJump(RelapseFacts),
}

impl Facts {
    /// The facts as the record an alert keeps.
    pub fn to_value(&self) -> serde_json::Value {
        let v = match self {
            Facts::WaterClass(f) => serde_json::to_value(f),
            Facts::Spike(f) => serde_json::to_value(f),
            Facts::Silent(f) => serde_json::to_value(f),
            Facts::PatrolOverdue(f) => serde_json::to_value(f),
            Facts::ProblemOpen(f) => serde_json::to_value(f),
            Facts::StepOverdue(f) => serde_json::to_value(f),
            Facts::InvestmentBehind(f) => serde_json::to_value(f),
            Facts::RelapseJump(f) => serde_json::to_value(f),
        };
        v.unwrap_or_default()
    }

    /// Read the record of an alert of `rule`.
    pub fn read(rule: RuleKind, data: &serde_json::Value) -> Option<Facts> {
        fn de<'a, T: Deserialize<'a>>(v: &'a serde_json::Value) -> Option<T> {
            T::deserialize(v).ok()
        }
        Some(match rule {
            RuleKind::WaterClass => Facts::WaterClass(de(data)?),
            RuleKind::Spike => Facts::Spike(de(data)?),
            RuleKind::Silent => Facts::Silent(de(data)?),
            RuleKind::PatrolOverdue => Facts::PatrolOverdue(de(data)?),
            RuleKind::ProblemOpen => Facts::ProblemOpen(de(data)?),
            RuleKind::StepOverdue => Facts::StepOverdue(de(data)?),
            RuleKind::InvestmentBehind => Facts::InvestmentBehind(de(data)?),
            RuleKind::RelapseJump => Facts::RelapseJump(de(data)?),
        })
    }
}

/// A section's class against its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassFacts {
    /// The class of the newest reading.
    pub class: WaterClass,
    /// The section's target class.
    pub target: WaterClass,
    /// When that reading was sampled.
    pub time: Timestamp,
    /// The reading itself.
    #[serde(default)]
    pub reading: serde_json::Value,
}

/// An indicator's jump over its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpikeFacts {
    /// The indicator (`nh3n_mg_l`, `tp_mg_l`, `codmn_mg_l`).
    pub indicator: String,
    /// Its newest value, mg/L.
    pub value: f64,
    /// Its baseline (weighted mean of the earlier readings), mg/L.
    pub baseline: Option<f64>,
    /// When the newest reading was sampled.
    pub time: Timestamp,
    /// The reading itself.
    #[serde(default)]
    pub reading: serde_json::Value,
}

/// A section that has gone quiet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilentFacts {
    /// When its newest reading was sampled.
    pub last_reading: Timestamp,
}

/// A river not patrolled in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatrolFacts {
    /// The river (in the county of the alert).
    pub river: String,
    /// The newest patrol.
    pub last_patrol: Timestamp,
    /// Days since, to 0.1.
    pub days: f64,
}

/// A problem left open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemFacts {
    /// When it was found.
    pub found: Timestamp,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// Its handling status.
    pub status: ProblemStatus,
    /// Days open, to 0.1.
    pub days: f64,
}

/// A project's most overdue step (none once no step is overdue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepFacts {
    /// The step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepKind>,
    /// Its due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    /// Days late today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_late: Option<i64>,
    /// The project's industry chain.
    pub industry: String,
}

/// A project's investment behind its time (none when it cannot be judged).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvestmentFacts {
    /// Investment the time says should be done, % of plan (to 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_percent: Option<f64>,
    /// Investment done, % of plan (to 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_percent: Option<f64>,
    /// Planned investment, 万元.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_wan: Option<f64>,
    /// Investment done, 万元.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_wan: Option<f64>,
    /// When construction started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Date>,
    /// When acceptance is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_due: Option<Date>,
    /// The project's industry chain.
    pub industry: String,
}

/// A village whose households at risk rose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelapseFacts {
    /// Households at risk now.
    pub risk_households: u32,
    /// At the previous report.
    pub previous: Option<u32>,
    /// When the newest report was made.
    pub time: Timestamp,
}
