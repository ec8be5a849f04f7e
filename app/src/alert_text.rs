//! How alerts read on the wall and in the duty console, in both languages: rule names, severity
//! and state words, and a one-line summary built from the data that triggered the alert (plain
//! Rust, tested natively).

use yiping_protocol::alerts::{Alert, AlertAction, AlertState, Severity};
use yiping_protocol::events::StepKind;
use yiping_protocol::rules::RuleKind;

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

fn num(v: &serde_json::Value, key: &str) -> Option<f64> {
    v.get(key).and_then(serde_json::Value::as_f64)
}

/// A class as reports write it (`"V"` → `Ⅴ`).
pub fn class_label(v: &serde_json::Value) -> String {
    match v.as_str() {
        Some("I") => "Ⅰ",
        Some("II") => "Ⅱ",
        Some("III") => "Ⅲ",
        Some("IV") => "Ⅳ",
        Some("V") => "Ⅴ",
        Some("WorseThanV") => "劣Ⅴ",
        _ => "?",
    }
    .to_owned()
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

/// What the alert says, in one line: the subject and the figures that triggered it.
pub fn summary(lang: Lang, a: &Alert) -> String {
    let d = &a.data;
    let n = &a.name;
    let int = |k: &str| num(d, k).map_or_else(|| "?".to_owned(), |v| format!("{v:.0}"));
    match a.rule {
        RuleKind::WaterClass => {
            let (c, t) = (class_label(&d["class"]), class_label(&d["target"]));
            lang.pick(format!("{n} 水质{c}类，目标{t}类"), format!("{n}: class {c}, target {t}"))
        }
        RuleKind::Spike => {
            let ind = indicator_name(lang, d["indicator"].as_str().unwrap_or(""));
            let v = num(d, "value").unwrap_or(f64::NAN);
            let b = num(d, "baseline").unwrap_or(f64::NAN);
            lang.pick(
                format!("{n} {ind} {v:.2} mg/L，基线 {b:.2}"),
                format!("{n}: {ind} {v:.2} mg/L, baseline {b:.2}"),
            )
        }
        RuleKind::Silent => lang.pick(format!("{n} 监测数据中断"), format!("{n}: no readings")),
        RuleKind::PatrolOverdue => {
            let days = int("days");
            lang.pick(format!("{n} 已{days}天未巡河"), format!("{n}: not patrolled for {days} days"))
        }
        RuleKind::ProblemOpen => {
            let days = int("days");
            lang.pick(format!("{n} 问题已{days}天未办结"), format!("{n}: problem open {days} days"))
        }
        RuleKind::StepOverdue => {
            let step = d["step"]
                .as_str()
                .and_then(StepKind::parse)
                .map_or(lang.pick("环节", "step"), |k| step_name(lang, k));
            let days = int("days_late");
            lang.pick(format!("{n} {step}逾期{days}天"), format!("{n}: {step} {days} days overdue"))
        }
        RuleKind::InvestmentBehind => {
            let (done, exp) =
                (num(d, "done_percent").unwrap_or(0.0), num(d, "expected_percent").unwrap_or(0.0));
            lang.pick(
                format!("{n} 投资完成{done:.1}%，应达{exp:.1}%"),
                format!("{n}: {done:.1}% invested, {exp:.1}% due"),
            )
        }
        RuleKind::RelapseJump => {
            let now = int("risk_households");
            let before = int("previous");
            lang.pick(
                format!("{n} 风险户 {before} → {now}"),
                format!("{n}: households at risk {before} → {now}"),
            )
        }
    }
}

/// The prefecture of a county adcode (`420105` → `420100`).
pub fn prefecture_of(adcode: &str) -> String {
    // 仙桃, 潜江, 天门 and 神农架 (4290xx) are governed by the province directly: their own
    // prefecture-level units.
    if adcode.starts_with("4290") {
        return adcode.to_owned();
    }
    adcode.get(..4).map_or_else(|| adcode.to_owned(), |p| format!("{p}00"))
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
        let a = alert(RuleKind::WaterClass, json!({"class": "V", "target": "III"}));
        assert_eq!(summary(Lang::Zh, &a), "杨泗港 水质Ⅴ类，目标Ⅲ类");
        assert_eq!(summary(Lang::En, &a), "杨泗港: class Ⅴ, target Ⅲ");
        let a = alert(RuleKind::Spike, json!({"indicator": "nh3n_mg_l", "value": 1.8, "baseline": 0.3}));
        assert_eq!(summary(Lang::Zh, &a), "杨泗港 氨氮 1.80 mg/L，基线 0.30");
        let a = alert(RuleKind::StepOverdue, json!({"step": "land", "days_late": 100.0}));
        assert_eq!(summary(Lang::Zh, &a), "杨泗港 用地逾期100天");
        let a = alert(RuleKind::RelapseJump, json!({"risk_households": 12, "previous": 1}));
        assert_eq!(summary(Lang::En, &a), "杨泗港: households at risk 1 → 12");
        let a = alert(RuleKind::InvestmentBehind, json!({"done_percent": 10.0, "expected_percent": 50.0}));
        assert_eq!(summary(Lang::Zh, &a), "杨泗港 投资完成10.0%，应达50.0%");
    }

    #[test]
    fn words_and_places() {
        assert_eq!(rule_name(Lang::Zh, RuleKind::PatrolOverdue), "巡河超期");
        assert_eq!(severity_word(Lang::Zh, Severity::Orange), "橙色");
        assert_eq!(state_word(Lang::En, AlertState::Dispatched), "dispatched");
        assert_eq!(action_word(Lang::Zh, AlertAction::Resolve), "办结");
        assert_eq!(prefecture_of("420105"), "420100");
    }
}
