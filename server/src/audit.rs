//! An independent recount of every figure from the raw events, for audits (`yiping audit`) and
//! tests.
//!
//! It is deliberately written the plain way, with nothing shared with the incremental fold but the
//! event types and the places: take the latest state of every entity (a water section's by sampling
//! time, anything else's by arrival order), sum the states and the counted events per region, and
//! compare. If the fold ever disagrees with this, the fold is wrong.

use std::collections::HashMap;

use yiping_protocol::events::{Envelope, Event, OutletStatus, ProblemStatus, StepKind};
use yiping_protocol::topics::{Coverage, PovertyAgg, ProjectsAgg, RiversAgg, WaterAgg};

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

/// Recount the figures of `region` from `events` (each with its county), in log order.
pub fn recount(places: &Places, events: &[(Envelope, String)], region: &str) -> Figures {
    let in_region = |county: &str| places.rollup(county).iter().any(|r| r == region);
    let mut latest: HashMap<String, (&Envelope, &String)> = HashMap::new();
    let mut f = Figures::default();
    for (e, c) in events {
        let key = e.data.entity();
        // A village's rise or fall since its previous report (by arrival).
        let flow = match (&e.data, latest.get(&key)) {
            (Event::Village(v), Some((prev, _))) => match &prev.data {
                Event::Village(p) => Some((u64::from(p.risk_households), u64::from(v.risk_households))),
                _ => None,
            },
            _ => None,
        };
        let replace = match (&e.data, latest.get(&key)) {
            (Event::WaterReading(_), Some((prev, _))) => e.time >= prev.time,
            _ => true,
        };
        if replace {
            latest.insert(key, (e, c));
        }
        if !in_region(c) {
            continue;
        }
        if let Some((before, now)) = flow {
            f.poverty.risk_added += now.saturating_sub(before);
            f.poverty.risk_removed += before.saturating_sub(now);
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
    for (e, c) in latest.values().filter(|(_, c)| in_region(c)) {
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
                let done = |k: StepKind| p.steps.iter().any(|s| s.step == k && s.done.is_some());
                let stage = if done(StepKind::Acceptance) {
                    2
                } else if done(StepKind::Start) {
                    1
                } else {
                    0
                };
                f.projects.by_stage[stage] += 1;
                let as_of = e.time.get(..10).unwrap_or("");
                let overdue =
                    p.steps.iter().filter(|s| s.done.is_none() && s.due.as_str() < as_of).count() as u32;
                f.projects.overdue_steps += overdue;
                f.projects.overdue_by_stage[stage] += overdue;
            }
            Event::Village(v) => {
                f.poverty.villages += 1;
                f.poverty.lifted_households += u64::from(v.lifted_households);
                f.poverty.monitored_households += u64::from(v.monitored_households);
                f.poverty.risk_households += u64::from(v.risk_households);
                f.poverty.assistance_wan += v.assistance_wan;
                f.poverty.income_sum_yuan += v.income_yuan;
            }
            Event::FishingPatrol(_) | Event::RiverPatrol(_) => {}
        }
        let _ = c;
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
        .map(|(e, _)| &e.time)
        .max();
    let cutoff = as_of.and_then(|t| crate::fold::week_before(t));
    let mut newest: HashMap<(String, String), time::OffsetDateTime> = HashMap::new();
    for (e, c) in events {
        if let Event::RiverPatrol(p) = &e.data
            && places.rollup(c).iter().any(|r| r == region)
            && let Ok(t) =
                time::OffsetDateTime::parse(&e.time, &time::format_description::well_known::Rfc3339)
        {
            let slot = newest.entry((c.clone(), p.river.clone())).or_insert(t);
            *slot = (*slot).max(t);
        }
    }
    Coverage {
        rivers: u32::try_from(newest.len()).unwrap_or(u32::MAX),
        patrolled_7d: u32::try_from(newest.values().filter(|t| cutoff.is_some_and(|c| **t >= c)).count())
            .unwrap_or(u32::MAX),
    }
}

/// Recount `region`'s figures from every raw event in the log in `data_dir`, independently of
/// the fold (what a wall's figures for that region must equal).
pub fn recount_log(data_dir: &std::path::Path, region: &str) -> anyhow::Result<Figures> {
    let store = crate::store::Store::open(data_dir)?;
    let places = Places::hubei();
    let mut events: Vec<(Envelope, String)> = Vec::new();
    store.replay(0, |e| events.push((e.event, e.adcode)))?;
    Ok(recount(&places, &events, region))
}

/// Audit the log in `data_dir`: rebuild the state exactly as the server does at start (latest
/// snapshot, then the events after it), recount every region's figures from all the raw events,
/// and compare. Returns the number of events and regions checked, or the differences.
pub fn audit_log(data_dir: &std::path::Path) -> anyhow::Result<(usize, usize, Vec<String>)> {
    let store = crate::store::Store::open(data_dir)?;
    let places = std::sync::Arc::new(Places::hubei());
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
        Some((gseq, _, body)) => {
            let snap: crate::fold::FoldSnapshot = serde_json::from_str(&body)?;
            (gseq, crate::fold::Fold::from_snapshot(places.clone(), snap))
        }
        None => (0, crate::fold::Fold::new(places.clone())),
    };
    for (e, c) in events.iter().skip(usize::try_from(after).unwrap_or(usize::MAX)) {
        fold.apply_quiet(e, c);
    }
    let mut regions: Vec<String> = events.iter().flat_map(|(_, c)| places.rollup(c)).collect();
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
    Ok((events.len(), regions.len(), diffs))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// The differences between two sets of figures, as `field: a ≠ b` lines (empty when they agree;
/// sums of decimals agree within a relative 1e-6, the rest exactly).
pub fn differences(a: &Figures, b: &Figures) -> Vec<String> {
    let mut out = Vec::new();
    let to_map = |x: &Figures| serde_json::json!({"water": x.water, "rivers": x.rivers, "projects": x.projects, "poverty": x.poverty, "coverage": x.coverage});
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                for (k, v) in x {
                    walk(&format!("{path}.{k}"), v, y.get(k).unwrap_or(&serde_json::Value::Null), out);
                }
            }
            (serde_json::Value::Array(x), serde_json::Value::Array(y)) => {
                for (i, v) in x.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), v, y.get(i).unwrap_or(&serde_json::Value::Null), out);
                }
            }
            (serde_json::Value::Number(x), serde_json::Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                if !close(x, y) {
                    out.push(format!("{}: {x} ≠ {y}", path.trim_start_matches('.')));
                }
            }
            (x, y) if x != y => out.push(format!("{}: {x} ≠ {y}", path.trim_start_matches('.'))),
            _ => {}
        }
    }
    walk("", &to_map(a), &to_map(b), &mut out);
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
