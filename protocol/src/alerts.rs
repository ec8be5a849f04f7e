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

/// How serious an alert is: 红 > 橙 > 黄 > 蓝.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
pub struct Responsible {
    /// Name, e.g. the river chief's.
    pub name: String,
    /// Their role, e.g. `river_chief:county` (a 县级河长).
    pub role: String,
}

/// One step of an alert's trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The data that triggered it (latest values as of the last raise or escalation).
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
