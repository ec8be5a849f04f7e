//! How alerts read on the wall and in the duty console, in both languages: rule names, severity
//! and state words, and a one-line summary built from the data that triggered the alert (plain
//! Rust, tested natively).

use yiping_protocol::alerts::{Alert, AlertAction, AlertState, Facts, Severity};
use yiping_protocol::events::StepKind;
use yiping_protocol::rules::RuleKind;
use yiping_protocol::water::WaterClass;

use crate::i18n::Lang;

/// A rule's name.
pub fn rule_name(lang: Lang, rule: RuleKind) -> &'static str {
    let (zh, en) = match rule {
        RuleKind::WaterClass => ("水质超标", "Water below target"),
        RuleKind::Spike => ("指标突变", "Indicator spike"),
        RuleKind::Silent => ("监测断线", "Station silent"),
        RuleKind::PatrolOverdue => ("巡河超期", "Patrol overdue"),
        RuleKind::ProblemOpen => ("问题久拖未结", "Problem left open"),
        RuleKind::StepOverdue => ("项目环节逾期", "Step overdue"),
        RuleKind::InvestmentBehind => ("投资进度滞后", "Investment behind plan"),
        RuleKind::RelapseJump => ("返贫风险骤增", "Relapse risk jump"),
    };
    lang.pick(zh, en)
}

/// The words for 红, 橙, 黄, 蓝 (the ticker's order).
pub fn severity_words(lang: Lang) -> [&'static str; 4] {
    lang.pick(["红色", "橙色", "黄色", "蓝色"], ["Red", "Orange", "Yellow", "Blue"])
}

/// The ticker's index of a severity: 0 红 … 3 蓝.
pub fn severity_index(s: Severity) -> u8 {
    match s {
        Severity::Red => 0,
        Severity::Orange => 1,
        Severity::Yellow => 2,
        Severity::Blue => 3,
    }
}

/// A severity's word.
pub fn severity_word(lang: Lang, s: Severity) -> &'static str {
    severity_words(lang)[usize::from(severity_index(s))]
}

/// A state's word.
pub fn state_word(lang: Lang, s: AlertState) -> &'static str {
    let (zh, en) = match s {
        AlertState::New => ("待确认", "new"),
        AlertState::Acknowledged => ("已确认", "acknowledged"),
        AlertState::Dispatched => ("已派发", "dispatched"),
        AlertState::Resolved => ("已办结", "resolved"),
    };
    lang.pick(zh, en)
}

/// A trail step's word.
pub fn action_word(lang: Lang, a: AlertAction) -> &'static str {
    let zh = match a {
        AlertAction::Raise => "触发",
        AlertAction::Escalate => "升级",
        AlertAction::Clear => "条件解除",
        AlertAction::Acknowledge => "确认",
        AlertAction::Dispatch => "派发",
        AlertAction::Resolve => "办结",
    };
    lang.pick(zh, a.as_str())
}

/// A class as reports write it (`"V"` → `Ⅴ`).
pub fn class_label(v: &serde_json::Value) -> String {
    use serde::Deserialize;
    WaterClass::deserialize(v).map_or("?", WaterClass::label).to_owned()
}

/// An indicator's name.
pub fn indicator_name(lang: Lang, key: &str) -> &'static str {
    let (zh, en) = match key {
        "nh3n_mg_l" => ("氨氮", "NH3-N"),
        "tp_mg_l" => ("总磷", "TP"),
        "codmn_mg_l" => ("高锰酸盐指数", "CODMn"),
        _ => ("?", "?"),
    };
    lang.pick(zh, en)
}

/// The role of the person responsible, as the data names it (`river_chief:county`): in Chinese
/// the title (县级河长), in English the data's own words.
pub fn role_name(lang: Lang, role: &str) -> &str {
    let zh = match role {
        "river_chief:province" => "省级河长",
        "river_chief:city" => "市级河长",
        "river_chief:county" => "县级河长",
        "river_chief:township" => "乡级河长",
        "river_chief:village" => "村级河长",
        other => other,
    };
    lang.pick(zh, role)
}

/// A project step's name.
pub fn step_name(lang: Lang, kind: StepKind) -> &'static str {
    let (zh, en) = match kind {
        StepKind::Approval => ("立项", "approval"),
        StepKind::Land => ("用地", "land"),
        StepKind::Planning => ("规划", "planning"),
        StepKind::Environment => ("环评", "environment"),
        StepKind::ConstructionPermit => ("施工许可", "construction permit"),
        StepKind::Start => ("开工", "start"),
        StepKind::Acceptance => ("竣工验收", "acceptance"),
    };
    lang.pick(zh, en)
}

/// What the alert says, in one line: the subject and the figures that triggered it (its
/// [`Facts`]; the subject alone when the record is of another shape).
pub fn summary(lang: Lang, a: &Alert) -> String {
    let n = &a.name;
    let Some(facts) = a.facts() else { return n.clone() };
    match facts {
        Facts::WaterClass(f) => {
            let (c, t) = (f.class.label(), f.target.label());
            lang.pick(format!("{n} 水质{c}类，目标{t}类"), format!("{n}: class {c}, target {t}"))
        }
        Facts::Spike(f) => {
            let ind = indicator_name(lang, &f.indicator);
            let (v, b) = (f.value, f.baseline.unwrap_or(f64::NAN));
            lang.pick(
                format!("{n} {ind} {v:.2} mg/L，基线 {b:.2}"),
                format!("{n}: {ind} {v:.2} mg/L, baseline {b:.2}"),
            )
        }
        Facts::Silent(_) => lang.pick(format!("{n} 监测数据中断"), format!("{n}: no readings")),
        Facts::PatrolOverdue(f) => {
            let days = format!("{:.0}", f.days);
            lang.pick(format!("{n} 已{days}天未巡河"), format!("{n}: not patrolled for {days} days"))
        }
        Facts::ProblemOpen(f) => {
            let days = format!("{:.0}", f.days);
            lang.pick(format!("{n} 问题已{days}天未办结"), format!("{n}: problem open {days} days"))
        }
        Facts::StepOverdue(f) => {
            let step = f.step.map_or(lang.pick("环节", "step"), |k| step_name(lang, k));
            let days = f.days_late.map_or_else(|| "?".to_owned(), |d| d.to_string());
            lang.pick(format!("{n} {step}逾期{days}天"), format!("{n}: {step} {days} days overdue"))
        }
        Facts::InvestmentBehind(f) => {
            let (done, exp) = (f.done_percent.unwrap_or(0.0), f.expected_percent.unwrap_or(0.0));
            lang.pick(
                format!("{n} 投资完成{done:.1}%，应达{exp:.1}%"),
                format!("{n}: {done:.1}% invested, {exp:.1}% due"),
            )
        }
        Facts::RelapseJump(f) => {
            let now = f.risk_households;
            let before = f.previous.map_or_else(|| "?".to_owned(), |p| p.to_string());
            lang.pick(
                format!("{n} 风险户 {before} → {now}"),
                format!("{n}: households at risk {before} → {now}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(rule: RuleKind, data: serde_json::Value) -> Alert {
        Alert {
            id: "A000001".into(),
            rule,
            key: "k".into(),
            theme: "water".into(),
            severity: Severity::Red,
            state: AlertState::New,
            subject: "section:cj-yangsigang".into(),
            name: "杨泗港".into(),
            adcode: "420105".into(),
            lon: 114.25,
            lat: 30.51,
            data,
            responsible: None,
            assignee: None,
            cleared: false,
            raised: "2026-12-03T08:00:00Z".into(),
            updated: "2026-12-03T08:00:00Z".into(),
            steps: vec![],
        }
    }

    #[test]
    fn summaries_carry_the_triggering_figures_in_both_languages() {
        use yiping_protocol::alerts::{ClassFacts, InvestmentFacts, RelapseFacts, SpikeFacts, StepFacts};
        use yiping_protocol::events::StepKind;
        use yiping_protocol::instant::Timestamp;
        let t = Timestamp::parse("2026-12-03T08:00:00+08:00").expect("a time");
        let facts = |f: Facts| f.to_value();
        let a = alert(
            RuleKind::WaterClass,
            facts(Facts::WaterClass(ClassFacts {
                class: WaterClass::V,
                target: WaterClass::III,
                time: t,
                reading: json!({}),
            })),
        );
        assert_eq!(summary(Lang::Zh, &a), "杨泗港 水质Ⅴ类，目标Ⅲ类");
        assert_eq!(summary(Lang::En, &a), "杨泗港: class Ⅴ, target Ⅲ");
        let spike = SpikeFacts {
            indicator: "nh3n_mg_l".into(),
            value: 1.8,
            baseline: Some(0.3),
            time: t,
            reading: json!({}),
        };
        let a = alert(RuleKind::Spike, facts(Facts::Spike(spike)));
        assert_eq!(summary(Lang::Zh, &a), "杨泗港 氨氮 1.80 mg/L，基线 0.30");
        let step =
            StepFacts { step: Some(StepKind::Land), due: None, days_late: Some(100), industry: "x".into() };
        let a = alert(RuleKind::StepOverdue, facts(Facts::StepOverdue(step)));
        assert_eq!(summary(Lang::Zh, &a), "杨泗港 用地逾期100天");
        let jump = RelapseFacts { risk_households: 12, previous: Some(1), time: t };
        let a = alert(RuleKind::RelapseJump, facts(Facts::RelapseJump(jump)));
        assert_eq!(summary(Lang::En, &a), "杨泗港: households at risk 1 → 12");
        let behind = InvestmentFacts {
            expected_percent: Some(50.0),
            done_percent: Some(10.0),
            industry: "x".into(),
            ..Default::default()
        };
        let a = alert(RuleKind::InvestmentBehind, facts(Facts::InvestmentBehind(behind)));
        assert_eq!(summary(Lang::Zh, &a), "杨泗港 投资完成10.0%，应达50.0%");
        // A record of another shape names the subject only.
        let a = alert(RuleKind::WaterClass, json!({"class": "V"}));
        assert_eq!(summary(Lang::Zh, &a), "杨泗港");
    }

    #[test]
    fn words_and_places() {
        assert_eq!(rule_name(Lang::Zh, RuleKind::PatrolOverdue), "巡河超期");
        assert_eq!(severity_word(Lang::Zh, Severity::Orange), "橙色");
        assert_eq!(state_word(Lang::En, AlertState::Dispatched), "dispatched");
        assert_eq!(action_word(Lang::Zh, AlertAction::Resolve), "办结");
    }
}
