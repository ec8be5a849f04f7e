//! An independent recount of every figure from the raw events, for audits (`yiping audit`) and
//! tests.
//!
//! It is deliberately written the plain way, with nothing shared with the incremental fold but the
//! event types, their domain rules (a project's stage) and the places: sort every entity's reports
//! by event time (then source and id: never by arrival), take the newest as its state, sum the
//! states and the counted events per region, and compare. If the fold ever disagrees with this,
//! the fold is wrong.

use std::collections::HashMap;

use yiping_protocol::events::{Envelope, Event, OutletStatus, ProblemStatus, StepKind};
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{Coverage, HistoryPoint, PovertyAgg, ProjectsAgg, RiversAgg, WaterAgg};

use crate::places::Places;

/// All four themes' figures for one region.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Figures {
    /// Water theme.
    pub water: WaterAgg,
    /// River-chief theme.
    pub rivers: RiversAgg,
    /// Projects theme.
    pub projects: ProjectsAgg,
    /// Poverty theme.
    pub poverty: PovertyAgg,
    /// Patrol coverage this week (as of the newest 河湖长制 event).
    pub coverage: Coverage,
}

type Key<'a> = (Timestamp, &'a str, &'a str);

fn key(e: &Envelope) -> Key<'_> {
    (e.time.at, e.source.as_deref().unwrap_or(""), e.id.as_str())
}

/// Recount the figures of `region` from `events` (each with its county), in any order.
pub fn recount(places: &Places, events: &[(Envelope, String)], region: &str) -> Figures {
    let in_region = |county: &str| places.rollup(county).contains(&region);
    // Every entity's reports, in event-time order.
    let mut reports: HashMap<String, Vec<(&Envelope, &String)>> = HashMap::new();
    let mut f = Figures::default();
    for (e, c) in events {
        if !matches!(e.data, Event::FishingPatrol(_) | Event::RiverPatrol(_)) {
            reports.entry(e.data.entity()).or_default().push((e, c));
        }
        if !in_region(c) {
            continue;
        }
        match &e.data {
            Event::WaterReading(_) => f.water.readings += 1,
            Event::FishingPatrol(p) => {
                f.water.fishing_patrols += 1;
                f.water.fishing_hours += p.hours;
                f.water.fishing_violations += u64::from(p.violations);
            }
            Event::RiverPatrol(p) => {
                f.rivers.patrols += 1;
                f.rivers.patrol_minutes += u64::from(p.minutes);
                f.rivers.patrols_by_level[p.level as usize] += 1;
            }
            _ => {}
        }
    }
    for list in reports.values_mut() {
        list.sort_by(|a, b| key(a.0).cmp(&key(b.0)));
        let Some((e, c)) = list.last().copied() else { continue };
        if !in_region(c) {
            continue;
        }
        match &e.data {
            Event::WaterReading(r) => {
                let Some(i) = places.section(&r.section) else { continue };
                f.water.sections_reporting += 1;
                f.water.class_counts[r.indicators().class(places.sections()[i].body).index()] += 1;
            }
            Event::SewageOutlet(o) => {
                f.water.outlets += 1;
                f.water.outlets_remediated += u32::from(o.status == OutletStatus::Remediated);
            }
            Event::RiverProblem(p) => {
                f.rivers.problems += 1;
                f.rivers.problems_open += u32::from(p.status != ProblemStatus::Closed);
                f.rivers.problems_by_kind[p.kind as usize] += 1;
            }
            Event::Project(p) => {
                f.projects.projects += 1;
                f.projects.plan_wan += p.plan_wan;
                f.projects.done_wan += p.done_wan;
                let stage = p.stage().index();
                f.projects.by_stage[stage] += 1;
                let open: Vec<_> = p.steps.iter().filter(|s| s.done.is_none()).collect();
                for s in &open {
                    let kind = StepKind::ALL.iter().position(|k| *k == s.step).unwrap_or(0);
                    f.projects.open_steps_due.entry(s.due).or_default()[kind] += 1;
                }
                if let Some(first) = open.iter().map(|s| s.due).min() {
                    f.projects.first_open_due.entry(first).or_default()[stage] += 1;
                }
            }
            Event::Village(v) => {
                f.poverty.villages += 1;
                f.poverty.lifted_households += u64::from(v.lifted_households);
                f.poverty.monitored_households += u64::from(v.monitored_households);
                f.poverty.risk_households += u64::from(v.risk_households);
                f.poverty.assistance_wan += v.assistance_wan;
                f.poverty.income_sum_yuan += v.income_yuan;
                f.poverty.income_weighted_yuan += v.income_yuan * f64::from(v.lifted_households);
                // Flows: each rise and fall from one report to the next, in event-time order.
                let risks: Vec<u32> = list
                    .iter()
                    .filter_map(|(e, _)| match &e.data {
                        Event::Village(v) => Some(v.risk_households),
                        _ => None,
                    })
                    .collect();
                for w in risks.windows(2) {
                    f.poverty.risk_added += u64::from(w[1].saturating_sub(w[0]));
                    f.poverty.risk_removed += u64::from(w[0].saturating_sub(w[1]));
                }
            }
            Event::FishingPatrol(_) | Event::RiverPatrol(_) => {}
        }
    }
    f.coverage = recount_coverage(places, events, region);
    f
}

/// Patrol coverage recounted: the newest patrol of each river in each county of `region`, against
/// the 7 days before the newest 河湖长制 event (patrol or problem) anywhere.
fn recount_coverage(places: &Places, events: &[(Envelope, String)], region: &str) -> Coverage {
    let as_of = events
        .iter()
        .filter(|(e, _)| e.data.topic() == yiping_protocol::topics::RIVERS)
        .map(|(e, _)| e.time.at)
        .max();
    let cutoff = as_of.map(|t| t.plus_s(-7 * 86_400));
    let mut newest: HashMap<(String, String), Timestamp> = HashMap::new();
    for (e, c) in events {
        if let Event::RiverPatrol(p) = &e.data
            && places.rollup(c).contains(&region)
        {
            let slot = newest.entry((c.clone(), p.river.clone())).or_insert(e.time.at);
            *slot = (*slot).max(e.time.at);
        }
    }
    Coverage {
        rivers: u32::try_from(newest.len()).unwrap_or(u32::MAX),
        patrolled_7d: u32::try_from(newest.values().filter(|t| cutoff.is_some_and(|c| **t >= c)).count())
            .unwrap_or(u32::MAX),
    }
}

/// The root region's history point of the step starting at `step`, recounted: the figures of the
/// events whose event time is before the step's end.
pub fn history_point(places: &Places, events: &[(Envelope, String)], step: Timestamp) -> HistoryPoint {
    history_point_of(places, events, step, places.root())
}

/// [`history_point`] of `region`.
pub fn history_point_of(
    places: &Places,
    events: &[(Envelope, String)],
    step: Timestamp,
    region: &str,
) -> HistoryPoint {
    let end = step.plus_s(crate::fold::HISTORY_STEP_S);
    let before: Vec<(Envelope, String)> = events.iter().filter(|(e, _)| e.time.at < end).cloned().collect();
    let f = recount(places, &before, region);
    let good: u32 = f.water.class_counts[..3].iter().sum();
    HistoryPoint {
        t: step,
        good_share: (f.water.sections_reporting > 0)
            .then(|| 100.0 * f64::from(good) / f64::from(f.water.sections_reporting)),
        readings: f.water.readings,
        patrols: f.rivers.patrols,
        problems_open: f.rivers.problems_open,
        invest_percent: f.projects.invest_percent(),
        risk_households: f.poverty.risk_households,
        mean_income: f.poverty.mean_income_per_household_yuan(),
    }
}

/// Recount `region`'s figures from every raw event in the log in `data_dir`, independently of
/// the fold (what a wall's figures for that region must equal).
pub fn recount_log(data_dir: &std::path::Path, places: &Places, region: &str) -> anyhow::Result<Figures> {
    let store = crate::store::Store::open(data_dir)?;
    let mut events: Vec<(Envelope, String)> = Vec::new();
    store.replay(0, |e| events.push((e.event, e.adcode)))?;
    Ok(recount(places, &events, region))
}

/// Audit the log in `data_dir`: rebuild the state exactly as the server does at start (latest
/// snapshot, then the events after it), recount every region's figures from all the raw events,
/// and compare. Returns the number of events and regions checked, or the differences.
pub fn audit_log(
    data_dir: &std::path::Path,
    places: std::sync::Arc<Places>,
) -> anyhow::Result<(usize, usize, Vec<String>)> {
    let store = crate::store::Store::open(data_dir)?;
    store.check_places(&places).map_err(anyhow::Error::msg)?;
    let mut events: Vec<(Envelope, String)> = Vec::new();
    let mut first = None;
    store.replay(0, |e| {
        first.get_or_insert(e.gseq);
        events.push((e.event, e.adcode));
    })?;
    if first.is_some_and(|g| g > 1) {
        anyhow::bail!(
            "events before gseq {} were deleted by retention: the raw events no longer cover every figure",
            first.unwrap_or(0)
        );
    }
    let (after, mut fold) = match store.latest_snapshot()? {
        Some((gseq, _, body)) => match crate::fold::FoldSnapshot::read(&body) {
            Some(snap) => (gseq, crate::fold::Fold::from_snapshot(places.clone(), snap)),
            None => (0, crate::fold::Fold::new(places.clone())),
        },
        None => (0, crate::fold::Fold::new(places.clone())),
    };
    for (e, c) in events.iter().skip(usize::try_from(after).unwrap_or(usize::MAX)) {
        fold.apply_quiet(e, c);
    }
    let mut regions: Vec<String> = events
        .iter()
        .flat_map(|(_, c)| places.rollup(c).iter().map(|r| r.to_string()).collect::<Vec<_>>())
        .collect();
    regions.sort();
    regions.dedup();
    let mut diffs = Vec::new();
    for region in &regions {
        let got = Figures {
            water: fold.water.region(region),
            rivers: fold.rivers.region(region),
            projects: fold.projects.region(region),
            poverty: fold.poverty.region(region),
            coverage: fold.coverage(region),
        };
        let want = recount(&places, &events, region);
        diffs.extend(differences(&got, &want).into_iter().map(|d| format!("{region} {d}")));
    }
    // The last hour of the history, recounted by event time: the root's and each region's under
    // it (a scoped wall's).
    for region in std::iter::once(places.root()).chain(places.children().iter().map(String::as_str)) {
        let history = fold.history_of(region).unwrap_or_default();
        for got in history.iter().rev().take(6) {
            let want = history_point_of(&places, &events, got.t, region);
            let (a, b) = (serde_json::json!(got), serde_json::json!(want));
            diffs.extend(
                value_differences(&a, &b).into_iter().map(|d| format!("history {region} {} {d}", got.t)),
            );
        }
    }
    // The day totals kept for periods (the newest days and a few spread over the log), recounted
    // for the root region from the events before each midnight.
    let days = store.day_times()?;
    let step = (days.len() / 4).max(1);
    let sample: Vec<i64> = days.iter().rev().take(3).chain(days.iter().step_by(step)).copied().collect();
    for at in sample {
        let Some(body) = store.day(at)? else { continue };
        let kept: std::collections::BTreeMap<String, yiping_protocol::periods::Totals> =
            serde_json::from_str(&body)?;
        let before: Vec<(Envelope, String)> =
            events.iter().filter(|(e, _)| e.time.at.unix_ns() < at).cloned().collect();
        let want = recount(&places, &before, places.root());
        let got = kept.get(places.root()).cloned().unwrap_or_default();
        let a = serde_json::json!({"water": got.water, "rivers": got.rivers, "poverty": got.poverty, "projects": got.projects, "done_wan": got.done_wan});
        let b = serde_json::json!({"water": want.water, "rivers": want.rivers, "poverty": want.poverty, "projects": want.projects.projects, "done_wan": want.projects.done_wan});
        let day = Timestamp::from_unix_ns(at).beijing_date();
        diffs.extend(value_differences(&a, &b).into_iter().map(|d| format!("day totals {day} {d}")));
    }
    Ok((events.len(), regions.len(), diffs))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// The differences between two sets of figures, as `field: a ≠ b` lines (empty when they agree;
/// sums of decimals agree within a relative 1e-6, the rest exactly).
pub fn differences(a: &Figures, b: &Figures) -> Vec<String> {
    let to_map = |x: &Figures| serde_json::json!({"water": x.water, "rivers": x.rivers, "projects": x.projects, "poverty": x.poverty, "coverage": x.coverage});
    value_differences(&to_map(a), &to_map(b))
}

/// The differences between two JSON values, as `path: a ≠ b` lines (numbers within a relative
/// 1e-6, the rest exactly; keys of either side count).
pub fn value_differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    walk(
                        &format!("{path}.{k}"),
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                for i in 0..x.len().max(y.len()) {
                    walk(
                        &format!("{path}[{i}]"),
                        x.get(i).unwrap_or(&Value::Null),
                        y.get(i).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                if !close(x, y) {
                    out.push(format!("{}: {x} ≠ {y}", path.trim_start_matches('.')));
                }
            }
            (x, y) if x != y => out.push(format!("{}: {x} ≠ {y}", path.trim_start_matches('.'))),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", a, b, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_figure_and_both_values() {
        let a = Figures::default();
        let mut b = Figures::default();
        assert!(differences(&a, &b).is_empty());
        b.water.readings = 3;
        b.rivers.patrols_by_level[4] = 2;
        b.poverty.assistance_wan = 1e-9; // below the tolerance for sums of decimals
        assert_eq!(
            differences(&a, &b),
            vec!["rivers.patrols_by_level[4]: 0 ≠ 2".to_owned(), "water.readings: 0 ≠ 3".to_owned()]
        );
    }
}
