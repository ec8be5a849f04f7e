//! The alert rules: their kinds ([`RuleKind`], the closed set every alert names) and their
//! settings ([`Rules`]), read by the server from TOML, every field optional (the defaults below
//! are the embedded configuration; `yiping rules` prints them, `yiping serve --rules FILE`
//! replaces them), and answered by `GET /api/v1/rules` to the app.
//!
//! Every rule measures one number per subject and maps it to a severity through `levels`
//! (`[{ at = 1, severity = "yellow" }, …]`, ascending: the highest `at` reached wins). The rule
//! fires when the measure reaches the first level. It clears only when the measure has been below
//! `clear_below` (default: the first level) for `clear_after` consecutive new observations of the
//! subject, so a value wavering around a threshold does not flap. While an alert is open its
//! severity only goes up: by its rule when the measure reaches a higher level, or by
//! `[escalation]` when nobody acknowledges it in time.

use std::collections::BTreeMap;

use crate::alerts::Severity;
use crate::water::WaterClass;
use serde::{Deserialize, Serialize};

/// What an alert is about: one kind per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// 水质超标: a section's latest class is worse than its target.
    WaterClass,
    /// 指标突变: an indicator jumps over its baseline.
    Spike,
    /// 监测断线: a section that has reported has been silent.
    Silent,
    /// 巡河超期: no chief has patrolled a river in a county.
    PatrolOverdue,
    /// 问题久拖未结: a problem found on a river is still open.
    ProblemOpen,
    /// 项目环节逾期: a project's life-cycle step is past its due date.
    StepOverdue,
    /// 投资进度滞后: a project under construction has invested less than its time says.
    InvestmentBehind,
    /// 返贫风险骤增: a village's households at risk rose.
    RelapseJump,
}

impl RuleKind {
    /// Every kind, in the order the rules are listed.
    pub const ALL: [RuleKind; 8] = [
        RuleKind::WaterClass,
        RuleKind::Spike,
        RuleKind::Silent,
        RuleKind::PatrolOverdue,
        RuleKind::ProblemOpen,
        RuleKind::StepOverdue,
        RuleKind::InvestmentBehind,
        RuleKind::RelapseJump,
    ];

    /// The wire name (`water_class`), also the rule's section in the TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::WaterClass => "water_class",
            RuleKind::Spike => "spike",
            RuleKind::Silent => "silent",
            RuleKind::PatrolOverdue => "patrol_overdue",
            RuleKind::ProblemOpen => "problem_open",
            RuleKind::StepOverdue => "step_overdue",
            RuleKind::InvestmentBehind => "investment_behind",
            RuleKind::RelapseJump => "relapse_jump",
        }
    }

    /// The kind of a wire name.
    pub fn parse(name: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The theme (topic) its alerts belong to.
    pub fn theme(self) -> &'static str {
        use crate::topics::{POVERTY, PROJECTS, RIVERS, WATER};
        match self {
            RuleKind::WaterClass | RuleKind::Spike | RuleKind::Silent => WATER,
            RuleKind::PatrolOverdue | RuleKind::ProblemOpen => RIVERS,
            RuleKind::StepOverdue | RuleKind::InvestmentBehind => PROJECTS,
            RuleKind::RelapseJump => POVERTY,
        }
    }
}

impl std::fmt::Display for RuleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a rule's scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// The measure at which this severity starts.
    pub at: f64,
    /// The severity.
    pub severity: Severity,
}

/// The settings every rule has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Off: the rule raises nothing (open alerts of it stay until resolved).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The scale, ascending.
    pub levels: Vec<Level>,
    /// Clear below this (default: the first level's `at`).
    #[serde(default)]
    pub clear_below: Option<f64>,
    /// New observations below `clear_below` in a row needed to clear.
    #[serde(default = "one")]
    pub clear_after: u32,
    /// Unacknowledged alerts of this rule go up by `[escalation]` (rules whose measure grows
    /// with age, like overdue steps, escalate by their own levels instead).
    #[serde(default = "yes")]
    pub escalate: bool,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

fn lv(at: f64, severity: Severity) -> Level {
    Level { at, severity }
}

impl Rule {
    fn new(levels: Vec<Level>, clear_below: Option<f64>, clear_after: u32) -> Rule {
        Rule { enabled: true, levels, clear_below, clear_after, escalate: true }
    }

    fn by_age(mut self) -> Rule {
        self.escalate = false;
        self
    }

    /// The severity for a measure, if it reaches the first level.
    pub fn severity(&self, value: f64) -> Option<Severity> {
        self.levels.iter().rev().find(|l| value >= l.at).map(|l| l.severity)
    }

    /// Below this the condition counts as cleared.
    pub fn clear_threshold(&self) -> f64 {
        self.clear_below.unwrap_or_else(|| self.levels.first().map_or(f64::INFINITY, |l| l.at))
    }
}

/// Water-quality targets of the sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Target class of river sections.
    pub river: WaterClass,
    /// Target class of lake points.
    pub lake: WaterClass,
    /// Per-section targets, by section id.
    #[serde(default)]
    pub sections: BTreeMap<String, WaterClass>,
    /// The province's target share of sections at class Ⅰ–Ⅲ, % (as the plan in force sets it;
    /// none by default: the wall shows "vs. target" only when it is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_share_percent: Option<f64>,
}

/// Unacknowledged alerts go one level up after this many minutes at a severity (0: never).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Escalation {
    /// Minutes a blue alert may wait.
    pub blue_minutes: u32,
    /// Minutes a yellow alert may wait.
    pub yellow_minutes: u32,
    /// Minutes an orange alert may wait.
    pub orange_minutes: u32,
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation { blue_minutes: 24 * 60, yellow_minutes: 4 * 60, orange_minutes: 60 }
    }
}

impl Escalation {
    /// The wait for a severity (`None`: never escalated by time).
    pub fn minutes(&self, s: Severity) -> Option<u32> {
        let m = match s {
            Severity::Blue => self.blue_minutes,
            Severity::Yellow => self.yellow_minutes,
            Severity::Orange => self.orange_minutes,
            Severity::Red => 0,
        };
        (m > 0).then_some(m)
    }
}

/// How often each theme's sources are expected to report, seconds: the wall shows a theme's
/// panels as interrupted (数据中断) only when its newest data is older than this. The defaults fit
/// real sources (hourly water sampling, daily patrols, weekly project reports, monthly village
/// monitoring) and the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Freshness {
    /// 长江大保护 (water readings are hourly).
    pub water: u64,
    /// 河湖长制.
    pub rivers: u64,
    /// 重大项目.
    pub projects: u64,
    /// 精准脱贫.
    pub poverty: u64,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness { water: 2 * 3600, rivers: 86_400, projects: 8 * 86_400, poverty: 35 * 86_400 }
    }
}

impl Freshness {
    /// The periods by topic.
    pub fn by_topic(&self) -> BTreeMap<String, u64> {
        use crate::topics::{POVERTY, PROJECTS, RIVERS, WATER};
        [(WATER, self.water), (RIVERS, self.rivers), (PROJECTS, self.projects), (POVERTY, self.poverty)]
            .into_iter()
            .map(|(t, s)| (t.to_owned(), s))
            .collect()
    }
}

/// All rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Escalation of unacknowledged alerts.
    pub escalation: Escalation,
    /// How often each theme is expected to report (what 数据中断 means).
    pub freshness: Freshness,
    /// Section targets for `water_class`.
    pub targets: Targets,
    /// 水质超标: a section's latest class is worse than its target. Measure: classes worse.
    pub water_class: Rule,
    /// 指标突变: an indicator jumps. Measure: the latest value over its baseline (an exponentially
    /// weighted mean of the section's earlier readings, weight 0.3), counted only when the rise is
    /// at least `spike_min_rise`.
    pub spike: Rule,
    /// Smallest rise (mg/L) that counts as a spike, per indicator; only these are watched.
    pub spike_min_rise: BTreeMap<String, f64>,
    /// 断线: a section that has reported has been silent. Measure: minutes since its last reading.
    pub silent: Rule,
    /// 巡河超期: no chief has patrolled a river in a county. Measure: days since the last patrol.
    pub patrol_overdue: Rule,
    /// 问题久拖: a problem found on a river is still open. Measure: days since it was found.
    pub problem_open: Rule,
    /// 审批超期: a project's life-cycle step is past its due date. Measure: days late (the latest
    /// step).
    pub step_overdue: Rule,
    /// 投资滞后: a project under construction has completed less investment than its time says.
    /// Measure: percentage points behind the straight line from start to acceptance due.
    pub investment_behind: Rule,
    /// 返贫风险骤增: a village's households at risk rose since its previous report. Measure: the
    /// rise, households.
    pub relapse_jump: Rule,
}

impl Default for Rules {
    fn default() -> Self {
        use Severity::{Blue, Orange, Red, Yellow};
        Rules {
            escalation: Escalation::default(),
            freshness: Freshness::default(),
            targets: Targets {
                river: WaterClass::III,
                lake: WaterClass::IV,
                sections: BTreeMap::new(),
                good_share_percent: None,
            },
            water_class: Rule::new(vec![lv(1.0, Yellow), lv(2.0, Orange), lv(3.0, Red)], None, 2),
            spike: Rule::new(vec![lv(2.0, Orange), lv(4.0, Red)], Some(1.5), 2),
            spike_min_rise: [("nh3n_mg_l", 0.5), ("tp_mg_l", 0.1), ("codmn_mg_l", 2.0)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            silent: Rule::new(vec![lv(180.0, Yellow), lv(720.0, Orange)], None, 1),
            patrol_overdue: Rule::new(vec![lv(10.0, Blue), lv(30.0, Yellow)], None, 1).by_age(),
            problem_open: Rule::new(vec![lv(15.0, Blue), lv(30.0, Yellow), lv(90.0, Orange)], None, 1)
                .by_age(),
            step_overdue: Rule::new(vec![lv(30.0, Blue), lv(90.0, Yellow), lv(180.0, Orange)], None, 1)
                .by_age(),
            investment_behind: Rule::new(vec![lv(25.0, Yellow), lv(50.0, Orange)], Some(20.0), 1).by_age(),
            relapse_jump: Rule::new(vec![lv(3.0, Yellow), lv(6.0, Orange), lv(10.0, Red)], None, 1),
        }
    }
}

/// The indicators the spike rule can watch.
pub const SPIKE_INDICATORS: [&str; 3] = ["nh3n_mg_l", "tp_mg_l", "codmn_mg_l"];

impl Rules {
    /// The settings of one kind of rule.
    pub fn rule(&self, kind: RuleKind) -> &Rule {
        match kind {
            RuleKind::WaterClass => &self.water_class,
            RuleKind::Spike => &self.spike,
            RuleKind::Silent => &self.silent,
            RuleKind::PatrolOverdue => &self.patrol_overdue,
            RuleKind::ProblemOpen => &self.problem_open,
            RuleKind::StepOverdue => &self.step_overdue,
            RuleKind::InvestmentBehind => &self.investment_behind,
            RuleKind::RelapseJump => &self.relapse_jump,
        }
    }

    /// Check settings read from a file: every rule has rising levels it can clear below, the
    /// periods and the target are possible, the spike rule watches known indicators. The error
    /// names the section, the field and the value.
    pub fn check(&self) -> Result<(), String> {
        for id in RuleKind::ALL {
            let r = self.rule(id);
            if r.levels.is_empty() {
                return Err(format!("[{id}] levels: give at least one level"));
            }
            for w in r.levels.windows(2) {
                if !(w[0].at < w[1].at && w[0].severity < w[1].severity) {
                    return Err(format!(
                        "[{id}] levels: `at` and severity must both rise from one level to the next \
                         ({} {} then {} {})",
                        w[0].at,
                        w[0].severity.as_str(),
                        w[1].at,
                        w[1].severity.as_str()
                    ));
                }
            }
            if r.clear_threshold() > r.levels[0].at {
                return Err(format!(
                    "[{id}] clear_below = {}: must not exceed the first level ({})",
                    r.clear_threshold(),
                    r.levels[0].at
                ));
            }
            if r.clear_after == 0 {
                return Err(format!("[{id}] clear_after = 0: must be at least 1"));
            }
        }
        for (theme, s) in self.freshness.by_topic() {
            if s == 0 {
                return Err(format!("[freshness] {theme} = 0: a period of at least one second"));
            }
        }
        if let Some(t) = self.targets.good_share_percent
            && !(0.0..=100.0).contains(&t)
        {
            return Err(format!("[targets] good_share_percent = {t}: a share between 0 and 100"));
        }
        for k in self.spike_min_rise.keys() {
            if !SPIKE_INDICATORS.contains(&k.as_str()) {
                return Err(format!(
                    "[spike_min_rise] {k}: not an indicator the spike rule can watch ({})",
                    SPIKE_INDICATORS.join(", ")
                ));
            }
        }
        Ok(())
    }
}
