//! Each rule on a crafted event sequence: it fires, it does not flap, it escalates and it closes by
//! rule; the life cycle refuses what does not fit; restoring from the trail gives the same alerts.

use std::sync::{Arc, OnceLock};

use yiping_protocol::events::{
    ChiefLevel, ProblemKind, Project, ProjectStep, RiverPatrol, RiverProblem, Village, WaterReading,
};

use yiping_protocol::instant::EventTime;

use super::*;

fn places() -> Arc<Places> {
    static P: OnceLock<Arc<Places>> = OnceLock::new();
    P.get_or_init(|| Arc::new(Places::hubei())).clone()
}

/// A book and a stand-in for the trail: entries numbered in order, applied as the server does.
struct Harness {
    book: Book,
    trail: Vec<Entry>,
}

/// `minutes` after 2026-12-01T08:00:00Z.
fn at(minutes: i64) -> Timestamp {
    Timestamp::parse("2026-12-01T08:00:00Z").expect("a time").plus_s(minutes * 60)
}

fn ts(t: Timestamp) -> EventTime {
    t.into()
}

impl Harness {
    fn new() -> Harness {
        Harness { book: Book::new(Rules::default(), places()), trail: Vec::new() }
    }

    /// Without the spike rule (a jump from class Ⅱ to Ⅴ is a spike too; these tests are about
    /// the class).
    fn without_spikes() -> Harness {
        let mut rules = Rules::default();
        rules.spike.enabled = false;
        Harness { book: Book::new(rules, places()), trail: Vec::new() }
    }

    fn store(&mut self, pending: Vec<Pending>, now: Timestamp) -> Vec<(AlertAction, String)> {
        let mut out = Vec::new();
        for p in pending {
            let n = p.entry(&now.to_string());
            let e = Entry {
                seq: self.trail.len() as u64 + 1,
                time: n.time,
                actor: n.actor,
                role: n.role,
                addr: n.addr,
                action: n.action,
                target: n.target,
                comment: n.comment,
                body: n.body,
            };
            self.book.apply(&e).expect("an alert entry applies");
            out.push((p.action, p.alert));
            self.trail.push(e);
        }
        out
    }

    fn event(&mut self, data: Event, now: Timestamp) -> Vec<(AlertAction, String)> {
        let e = Envelope {
            kind: data.kind().into(),
            id: format!("e{}", self.trail.len()),
            time: ts(now),
            source: None,
            data,
        };
        let county = places().locate(&e).expect("placed");
        let p = self.book.observe(&e, &county, now);
        self.store(p, now)
    }

    fn tick(&mut self, now: Timestamp) -> Vec<(AlertAction, String)> {
        let p = self.book.tick(now);
        self.store(p, now)
    }

    fn act(
        &mut self,
        id: &str,
        action: AlertAction,
        comment: &str,
        to: Option<&str>,
        now: Timestamp,
    ) -> Result<(), ActError> {
        let p = self.book.act(
            id,
            action,
            &Actor { name: "duty1", role: "duty", addr: "127.0.0.1" },
            comment,
            to,
        )?;
        self.store(vec![p], now);
        Ok(())
    }

    fn alert(&self, id: &str) -> &Alert {
        self.book.get(id).expect("alert in the book")
    }

    fn actions(&self) -> Vec<&str> {
        self.trail.iter().map(|e| e.action.as_str()).collect()
    }
}

fn reading(section: &str, nh3n: f64) -> Event {
    Event::WaterReading(WaterReading {
        section: section.into(),
        ph: 7.5,
        do_mg_l: 8.0,
        codmn_mg_l: 2.0,
        nh3n_mg_l: nh3n,
        tp_mg_l: 0.05,
    })
}

const YSG: &str = "cj-yangsigang";

#[test]
fn water_class_fires_holds_through_a_wavering_value_escalates_and_closes_after_two_good_readings() {
    let mut h = Harness::without_spikes();
    assert!(h.event(reading(YSG, 0.3), at(0)).is_empty(), "class Ⅱ meets the river target Ⅲ");
    let raised = h.event(reading(YSG, 1.8), at(60));
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].0, AlertAction::Raise);
    let id = raised[0].1.clone();
    let a = h.alert(&id);
    assert_eq!(
        (a.rule.as_str(), a.severity, a.subject.as_str()),
        ("water_class", Severity::Orange, "section:cj-yangsigang")
    );
    assert_eq!(a.data["class"], "V");
    assert_eq!(a.data["target"], "III");
    assert_eq!(a.adcode, places().sections()[places().section(YSG).expect("known")].adcode);
    // One good reading, then bad again: not enough to clear, so no second alert.
    assert!(h.event(reading(YSG, 0.3), at(120)).is_empty());
    assert!(h.event(reading(YSG, 1.8), at(180)).is_empty());
    assert!(h.event(reading(YSG, 0.3), at(240)).is_empty());
    // Worse: the same alert goes up to red.
    assert_eq!(h.event(reading(YSG, 2.5), at(300)), vec![(AlertAction::Escalate, id.clone())]);
    assert_eq!(h.alert(&id).severity, Severity::Red);
    assert!(h.event(reading(YSG, 0.3), at(360)).is_empty());
    assert_eq!(h.event(reading(YSG, 0.3), at(420)), vec![(AlertAction::Resolve, id.clone())]);
    let a = h.alert(&id);
    assert_eq!(a.state, AlertState::Resolved);
    assert_eq!(a.steps.last().map(|s| s.actor.as_str()), Some("system"));
    assert_eq!(h.actions(), ["alert.raise", "alert.escalate", "alert.resolve"]);
    // A new breach after closing is a new alert.
    let again = h.event(reading(YSG, 1.2), at(480));
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].1, id);
    assert_eq!(h.alert(&again[0].1).severity, Severity::Yellow, "Ⅳ is one class worse than Ⅲ");
}

#[test]
fn a_lake_is_held_to_the_lake_target() {
    let mut h = Harness::without_spikes();
    // TP 0.05 is class Ⅲ for lakes; NH3-N 1.2 makes it Ⅳ: meets the lake target Ⅳ.
    assert!(h.event(reading("hu-donghu", 1.2), at(0)).is_empty());
    assert_eq!(h.event(reading("hu-donghu", 1.8), at(60)).len(), 1, "Ⅴ is worse than Ⅳ");
}

#[test]
fn a_spike_fires_against_the_baseline_and_small_rises_do_not() {
    let mut h = Harness::new();
    for i in 0..4 {
        assert!(h.event(reading(YSG, 0.2), at(i * 60)).is_empty());
    }
    // 0.2 → 0.45 is ×2.25 but only +0.25 mg/L: below the smallest rise that counts.
    assert!(h.event(reading(YSG, 0.45), at(240)).is_empty());
    for i in 5..8 {
        assert!(h.event(reading(YSG, 0.2), at(i * 60)).is_empty());
    }
    // 1.0 mg/L is still class Ⅲ (the target): only the spike rule speaks.
    let fired = h.event(reading(YSG, 1.0), at(480));
    let spikes: Vec<&Alert> =
        fired.iter().map(|(_, id)| h.alert(id)).filter(|a| a.rule == RuleKind::Spike).collect();
    assert_eq!(spikes.len(), 1, "{fired:?}");
    assert_eq!(spikes[0].severity, Severity::Red, "1.0 is more than 4 × the baseline of about 0.23");
    assert_eq!(spikes[0].key, "section:cj-yangsigang#nh3n_mg_l");
    assert_eq!(spikes[0].data["indicator"], "nh3n_mg_l");
    assert_eq!(fired.len(), 1, "class Ⅲ still meets the target: only the spike");
}

#[test]
fn a_silent_section_fires_by_time_escalates_by_rule_and_closes_when_it_reports() {
    let mut h = Harness::new();
    h.event(reading(YSG, 0.3), at(0));
    assert!(h.tick(at(170)).is_empty());
    let raised = h.tick(at(181));
    assert_eq!(raised.len(), 1);
    let id = raised[0].1.clone();
    assert_eq!((h.alert(&id).rule.as_str(), h.alert(&id).severity), ("silent", Severity::Yellow));
    h.act(&id, AlertAction::Acknowledge, "", None, at(190)).expect("acknowledges");
    assert!(h.tick(at(300)).is_empty(), "acknowledged: no time escalation, no duplicate");
    assert_eq!(h.tick(at(721)), vec![(AlertAction::Escalate, id.clone())], "12 h silent is orange by rule");
    assert_eq!(h.event(reading(YSG, 0.3), at(730)), vec![(AlertAction::Resolve, id)]);
}

#[test]
fn an_unacknowledged_alert_escalates_by_time_and_an_acknowledged_one_does_not() {
    let mut h = Harness::without_spikes();
    h.event(reading(YSG, 0.3), at(0));
    let id = h.event(reading(YSG, 1.2), at(1))[0].1.clone();
    assert_eq!(h.alert(&id).severity, Severity::Yellow);
    // The reading keeps it open; after 4 h unacknowledged it goes to orange, after 1 h more red.
    assert!(h.tick(at(200)).iter().all(|(a, _)| *a != AlertAction::Escalate));
    assert!(h.tick(at(242)).contains(&(AlertAction::Escalate, id.clone())));
    assert_eq!(h.alert(&id).severity, Severity::Orange);
    assert_eq!(
        h.alert(&id).steps.last().map(|s| s.comment.as_str()),
        Some("not acknowledged within 240 min")
    );
    h.act(&id, AlertAction::Acknowledge, "on it", None, at(250)).expect("acknowledges");
    assert!(h.tick(at(400)).iter().all(|(a, _)| *a != AlertAction::Escalate));
    assert_eq!(h.alert(&id).severity, Severity::Orange);
}

fn patrol(river: &str, level: ChiefLevel, name: &str) -> Event {
    Event::RiverPatrol(RiverPatrol {
        patrol: format!("p-{name}-{river}"),
        chief: format!("c-{name}"),
        chief_name: name.into(),
        level,
        river: river.into(),
        lon: 114.30,
        lat: 30.60,
        minutes: 60,
    })
}

#[test]
fn an_overdue_patrol_names_the_river_chief_and_a_patrol_closes_it() {
    let mut h = Harness::new();
    h.event(patrol("府河", ChiefLevel::Village, "王村长"), at(0));
    h.event(patrol("府河", ChiefLevel::County, "李县长"), at(10));
    assert!(h.tick(at(9 * 1440)).is_empty());
    let raised = h.tick(at(10 * 1440 + 11));
    assert_eq!(raised.len(), 1);
    let a = h.alert(&raised[0].1).clone();
    assert_eq!((a.rule.as_str(), a.severity, a.theme.as_str()), ("patrol_overdue", Severity::Blue, "rivers"));
    assert!(a.name.starts_with("府河 ("), "{}", a.name);
    assert_eq!(a.responsible, Some(Responsible { name: "李县长".into(), role: "river_chief:county".into() }));
    assert_eq!(
        h.event(patrol("府河", ChiefLevel::Village, "王村长"), at(10 * 1440 + 30)),
        vec![(AlertAction::Resolve, a.id)]
    );
}

fn problem(status: ProblemStatus, found: Timestamp) -> Event {
    Event::RiverProblem(RiverProblem {
        problem: "WT-1".into(),
        river: "府河".into(),
        lon: 114.30,
        lat: 30.60,
        kind: ProblemKind::Sewage,
        status,
        found: ts(found),
    })
}

#[test]
fn a_problem_left_open_fires_escalates_with_age_and_closing_it_resolves() {
    let mut h = Harness::new();
    h.event(problem(ProblemStatus::Found, at(0)), at(0));
    assert!(h.tick(at(14 * 1440)).is_empty());
    let id = h.tick(at(15 * 1440 + 1))[0].1.clone();
    assert_eq!(h.alert(&id).severity, Severity::Blue);
    h.act(&id, AlertAction::Dispatch, "chase the township", Some("东西湖区河湖长办"), at(15 * 1440 + 5))
        .expect("dispatches");
    assert_eq!(h.alert(&id).assignee.as_deref(), Some("东西湖区河湖长办"));
    assert_eq!(
        h.tick(at(30 * 1440 + 1)),
        vec![(AlertAction::Escalate, id.clone())],
        "by age, not by waiting"
    );
    // Closed at the source while dispatched: marked cleared, left for the assignee to resolve.
    assert_eq!(
        h.event(problem(ProblemStatus::Closed, at(0)), at(31 * 1440)),
        vec![(AlertAction::Clear, id.clone())]
    );
    assert!(h.alert(&id).cleared && h.alert(&id).is_open());
    assert!(h.tick(at(31 * 1440 + 5)).is_empty(), "cleared once, not again");
    h.act(&id, AlertAction::Resolve, "rectified, checked on site", None, at(31 * 1440 + 60))
        .expect("resolves");
    assert_eq!(h.alert(&id).state, AlertState::Resolved);
}

#[test]
fn one_tick_over_many_overdue_problems_raises_each_once_with_its_own_id() {
    // As after importing a backlog: thousands of subjects cross a rule's level in one tick.
    const N: usize = 3_000;
    let (mut h, mut node) = (Harness::new(), Harness::new());
    for i in 0..N {
        let Event::RiverProblem(mut p) = problem(ProblemStatus::Found, at(0)) else { unreachable!() };
        p.problem = format!("WT-{i}");
        h.event(Event::RiverProblem(p.clone()), at(0));
        node.event(Event::RiverProblem(p), at(0));
    }
    let proposed = h.book.tick(at(15 * 1440 + 1));
    // Settled by another node, and proposed twice over (a proposal sent again): each raised
    // once, the ids in order.
    let twice: Vec<Pending> = proposed.iter().chain(&proposed).cloned().collect();
    let settled = node.book.settle(twice);
    assert_eq!(settled.len(), N);
    for (i, p) in settled.iter().enumerate() {
        assert_eq!((p.action, p.alert.as_str()), (AlertAction::Raise, format!("A{:06}", i + 1).as_str()));
    }
    let raised = h.store(proposed, at(15 * 1440 + 1));
    assert_eq!(raised.len(), N);
    assert!(raised.iter().all(|(a, _)| *a == AlertAction::Raise));
    let ids: std::collections::BTreeSet<&String> = raised.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), N, "each its own id");
    let subjects: std::collections::BTreeSet<String> =
        ids.iter().map(|id| h.alert(id).subject.clone()).collect();
    assert_eq!(subjects.len(), N, "each problem once");
    // The next tick: all open already, so nothing is raised again (this rule escalates by age).
    assert!(h.tick(at(15 * 1440 + 6)).is_empty());
}

fn project(steps: Vec<ProjectStep>, plan: f64, done: f64) -> Event {
    Event::Project(Project {
        project: "P-1".into(),
        name: "光谷芯片产业园".into(),
        industry: "光电子信息".into(),
        lon: 114.40,
        lat: 30.50,
        plan_wan: plan,
        done_wan: done,
        steps,
    })
}

fn step(k: StepKind, due: &str, done: Option<&str>) -> ProjectStep {
    let date = |d: &str| Date::parse(d).expect("a date");
    ProjectStep { step: k, due: date(due), done: done.map(date) }
}

#[test]
fn an_overdue_step_fires_by_days_late_and_completing_it_resolves() {
    let mut h = Harness::new();
    // 2026-12-01 in Shanghai; the land step was due 100 days before.
    let late = vec![
        step(StepKind::Approval, "2026-06-01", Some("2026-05-20")),
        step(StepKind::Land, "2026-08-23", None),
    ];
    let fired = h.event(project(late, 1000.0, 0.0), at(0));
    assert_eq!(fired.len(), 1);
    let a = h.alert(&fired[0].1).clone();
    assert_eq!((a.rule.as_str(), a.severity), ("step_overdue", Severity::Yellow));
    assert_eq!(a.data["step"], "land");
    assert_eq!(a.data["days_late"], 100.0);
    // Days late grow by themselves: this rule escalates by its levels, not by waiting 4 h.
    assert!(h.tick(at(600)).is_empty());
    assert_eq!(h.alert(&a.id).severity, Severity::Yellow);
    let done = vec![
        step(StepKind::Approval, "2026-06-01", Some("2026-05-20")),
        step(StepKind::Land, "2026-08-23", Some("2026-11-30")),
    ];
    assert_eq!(h.event(project(done, 1000.0, 0.0), at(660)), vec![(AlertAction::Resolve, a.id)]);
}

#[test]
fn investment_behind_its_time_fires_and_catching_up_resolves() {
    let mut h = Harness::new();
    // Started 2026-06-04, acceptance due 2027-05-30: on 2026-12-01, 50 % should be done.
    let steps = || {
        vec![
            step(StepKind::Start, "2026-06-01", Some("2026-06-04")),
            step(StepKind::Acceptance, "2027-05-30", None),
        ]
    };
    let fired = h.event(project(steps(), 10_000.0, 1_000.0), at(0));
    assert_eq!(fired.len(), 1, "{fired:?}");
    let a = h.alert(&fired[0].1).clone();
    assert_eq!((a.rule.as_str(), a.severity), ("investment_behind", Severity::Yellow));
    assert_eq!(a.data["done_percent"], 10.0);
    // 29 points behind is still above the clear threshold (20): held.
    assert!(h.event(project(steps(), 10_000.0, 2_100.0), at(60)).is_empty());
    assert_eq!(h.event(project(steps(), 10_000.0, 4_000.0), at(120)), vec![(AlertAction::Resolve, a.id)]);
}

fn village(risk: u32) -> Event {
    Event::Village(Village {
        village: "V-1".into(),
        name: "张家湾村".into(),
        lon: 114.30,
        lat: 30.60,
        lifted_households: 120,
        monitored_households: 20,
        risk_households: risk,
        income_yuan: 14_000.0,
        assistance_wan: 12.0,
    })
}

#[test]
fn a_jump_in_households_at_risk_fires_by_size_and_the_next_steady_report_resolves() {
    let mut h = Harness::new();
    assert!(h.event(village(2), at(0)).is_empty(), "a first report has nothing to jump from");
    assert!(h.event(village(4), at(1)).is_empty(), "+2 is below the first level");
    let fired = h.event(village(11), at(2));
    let a = h.alert(&fired[0].1).clone();
    assert_eq!(
        (a.rule.as_str(), a.severity, a.theme.as_str()),
        ("relapse_jump", Severity::Orange, "poverty")
    );
    assert_eq!(a.data["previous"], 4);
    assert_eq!(h.event(village(11), at(3)), vec![(AlertAction::Resolve, a.id)]);
}

#[test]
fn the_life_cycle_refuses_what_does_not_fit() {
    let mut h = Harness::without_spikes();
    h.event(reading(YSG, 0.3), at(0));
    let id = h.event(reading(YSG, 1.8), at(1))[0].1.clone();
    assert_eq!(
        h.act(&id, AlertAction::Dispatch, "", None, at(2)),
        Err(ActError::Missing("dispatch needs `to`: the person or office to handle it"))
    );
    assert!(matches!(h.act(&id, AlertAction::Resolve, "  ", None, at(2)), Err(ActError::Missing(_))));
    h.act(&id, AlertAction::Acknowledge, "", None, at(2)).expect("acknowledges");
    assert!(matches!(
        h.act(&id, AlertAction::Acknowledge, "", None, at(3)),
        Err(ActError::State { state: "acknowledged", .. })
    ));
    h.act(&id, AlertAction::Dispatch, "check the outlet upstream", Some("汉阳区生态环境分局"), at(4))
        .expect("dispatches");
    h.act(&id, AlertAction::Resolve, "outlet closed", None, at(5)).expect("resolves");
    assert!(matches!(
        h.act(&id, AlertAction::Resolve, "again", None, at(6)),
        Err(ActError::State { state: "resolved", .. })
    ));
    assert!(matches!(
        h.act("A999999", AlertAction::Acknowledge, "", None, at(6)),
        Err(ActError::NotFound(_))
    ));
    let steps: Vec<(AlertAction, &str)> =
        h.alert(&id).steps.iter().map(|s| (s.action, s.actor.as_str())).collect();
    assert_eq!(
        steps,
        [
            (AlertAction::Raise, "system"),
            (AlertAction::Acknowledge, "duty1"),
            (AlertAction::Dispatch, "duty1"),
            (AlertAction::Resolve, "duty1")
        ]
    );
}

#[test]
fn restoring_from_the_trail_gives_the_same_alerts_and_continues_the_ids() {
    let mut h = Harness::without_spikes();
    h.event(reading(YSG, 0.3), at(0));
    let id = h.event(reading(YSG, 1.8), at(1))[0].1.clone();
    h.act(&id, AlertAction::Acknowledge, "seen", None, at(2)).expect("acknowledges");
    h.event(village(2), at(3));
    h.event(village(12), at(4));
    let mut restored = Book::new(h.book.rules().clone(), places());
    for e in &h.trail {
        restored.apply(e);
    }
    assert_eq!(restored.snapshot(), h.book.snapshot());
    // Still open after the restart: the same condition does not raise a second alert.
    let e = Envelope {
        kind: "water.reading".into(),
        id: "x".into(),
        time: ts(at(5)),
        source: None,
        data: reading(YSG, 1.8),
    };
    let county = places().locate(&e).expect("placed");
    assert!(restored.observe(&e, &county, at(5)).iter().all(|p| p.action != AlertAction::Raise));
    let e = Envelope {
        kind: "water.reading".into(),
        id: "y".into(),
        time: ts(at(6)),
        source: None,
        data: reading("hu-donghu", 2.5),
    };
    let county = places().locate(&e).expect("placed");
    let p = restored.observe(&e, &county, at(6));
    assert_eq!(p[0].alert, "A000003", "ids continue after the trail's");
}

#[test]
fn two_books_given_the_same_inputs_raise_the_same_alerts_with_the_same_ids() {
    // Nodes of a cluster each run a book over the same log: what a tick raises, and the ids it
    // gives, must not depend on a map's iteration order in one process or another.
    let sections: Vec<String> = crate::stations::builtin().into_iter().map(|s| s.id).collect();
    assert!(sections.len() > 5);
    let run = || {
        let mut h = Harness::new();
        for s in sections.iter().rev() {
            h.event(reading(s, 0.3), at(0));
        }
        h.tick(at(181)).into_iter().map(|(_, id)| (id.clone(), h.alert(&id).key.clone())).collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first.len(), sections.len(), "every section is silent");
    for _ in 0..3 {
        assert_eq!(run(), first);
    }
}

#[test]
fn proposals_settle_alike_on_books_that_remember_differently() {
    // With the log on NATS one node proposes the rules' steps and every node settles them. A
    // restarted node remembers less (here: only the latest reading, not the baseline before it),
    // so it would decide otherwise itself; settled, the proposal gives both the same alerts.
    let mut proposer = Harness::new();
    let mut restarted = Harness::new();
    for i in 0..4 {
        proposer.event(reading(YSG, 0.2), at(i * 10));
    }
    assert!(proposer.event(reading(YSG, 0.6), at(40)).is_empty(), "+0.4 mg/L is no spike");
    assert!(restarted.event(reading(YSG, 0.6), at(40)).is_empty());
    let e = Envelope {
        kind: "water.reading".into(),
        id: "s".into(),
        time: ts(at(50)),
        source: None,
        data: reading(YSG, 0.95),
    };
    let county = places().locate(&e).expect("placed");
    let proposed = proposer.book.observe(&e, &county, at(50));
    assert_eq!(proposed.len(), 1, "0.95 against a baseline of 0.32: {proposed:?}");
    assert!(restarted.book.observe(&e, &county, at(50)).is_empty(), "against 0.6 it is no spike");
    for h in [&mut proposer, &mut restarted] {
        let settled = h.book.settle(proposed.clone());
        assert_eq!(h.store(settled, at(50)), vec![(AlertAction::Raise, "A000001".to_owned())]);
        assert_eq!(h.alert("A000001").severity, Severity::Orange);
    }
    assert_eq!(proposer.book.snapshot(), restarted.book.snapshot());
    // Proposed twice (a second proposer at a lease's hand-over, or the same node before its
    // first proposal came back): the second changes nothing.
    assert!(restarted.book.settle(proposed.clone()).is_empty());
    // A raise is numbered by the book that settles it, whatever id its proposer gave it; an
    // escalation to the same severity, or a resolve of a resolved alert, changes nothing.
    let mut other = proposed[0].clone();
    other.alert = "A000042".into();
    other.body["key"] = json!("section:hu-donghu#nh3n_mg_l");
    let settled = restarted.book.settle(vec![other]);
    assert_eq!((settled[0].alert.as_str(), &settled[0].body["id"]), ("A000002", &json!("A000002")));
    let same = Pending {
        action: AlertAction::Escalate,
        body: json!({ "severity": "orange" }),
        ..proposed[0].clone()
    };
    assert!(restarted.book.settle(vec![same]).is_empty());
    restarted.act("A000001", AlertAction::Resolve, "fixed", None, at(60)).expect("resolves");
    let resolve = Pending { action: AlertAction::Resolve, ..proposed[0].clone() };
    assert!(restarted.book.settle(vec![resolve]).is_empty());
}

#[test]
fn proposals_are_settled_against_the_alerts_as_they_are_when_applied() {
    // The proposer decides each event of a message before any of its steps is applied: two
    // readings of one section, Ⅳ then Ⅴ, give it two raises. Settled, they are one raise and
    // an escalation, as a single server deciding event by event gives.
    let mut proposer = Harness::without_spikes();
    let mut node = Harness::without_spikes();
    let observe = |h: &mut Harness, id: &str, nh3n: f64, t: Timestamp| {
        let e = Envelope {
            kind: "water.reading".into(),
            id: id.into(),
            time: ts(t),
            source: None,
            data: reading(YSG, nh3n),
        };
        let county = places().locate(&e).expect("placed");
        h.book.observe(&e, &county, t)
    };
    let mut proposed = observe(&mut proposer, "a", 1.2, at(0));
    proposed.extend(observe(&mut proposer, "b", 1.8, at(1)));
    assert_eq!(
        proposed.iter().map(|p| p.action).collect::<Vec<_>>(),
        [AlertAction::Raise, AlertAction::Raise]
    );
    let settled = node.book.settle(proposed);
    assert_eq!(
        node.store(settled, at(1)),
        [(AlertAction::Raise, "A000001".to_owned()), (AlertAction::Escalate, "A000001".to_owned())]
    );
    assert_eq!(node.alert("A000001").severity, Severity::Orange);
    // An escalation for waiting, decided before a duty officer acknowledged: nothing.
    let waited = Pending {
        alert: "A000001".into(),
        comment: "not acknowledged within 30 min".into(),
        body: json!({ "severity": "red", "waited_minutes": 30 }),
        ..system_step()
    };
    assert_eq!(node.book.settle(vec![waited.clone()]).len(), 1, "still new: it escalates");
    node.act("A000001", AlertAction::Acknowledge, "seen", None, at(2)).expect("acknowledges");
    assert!(node.book.settle(vec![waited]).is_empty(), "acknowledged meanwhile");
    // A resolve decided before the alert was dispatched: a clear, the alert left open for the
    // assignee; once cleared, nothing.
    node.act("A000001", AlertAction::Dispatch, "", Some("river office"), at(3)).expect("dispatches");
    let resolve = Pending {
        alert: "A000001".into(),
        action: AlertAction::Resolve,
        comment: "water_class: condition cleared (measure -1.00)".into(),
        ..system_step()
    };
    let settled = node.book.settle(vec![resolve.clone()]);
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].action, AlertAction::Clear);
    assert!(settled[0].comment.ends_with("left open for the assignee"), "{}", settled[0].comment);
    node.store(settled, at(4));
    assert_eq!(node.alert("A000001").state, AlertState::Dispatched);
    assert!(node.book.settle(vec![resolve]).is_empty());
}

/// A step of the rules, to fill in.
fn system_step() -> Pending {
    Pending {
        alert: String::new(),
        action: AlertAction::Escalate,
        actor: "system".into(),
        role: String::new(),
        addr: String::new(),
        comment: String::new(),
        body: json!({}),
    }
}
