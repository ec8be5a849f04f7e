//! Period figures (今日 / 本周 / 本月 / 本年, 累计) with 环比 and 同比, for the province and each
//! prefecture (`GET /api/v1/periods`).
//!
//! A period's figures are the regions' [`Totals`] at its end minus those at its start
//! (`yiping_protocol::periods`). The totals at Beijing midnights are the day aggregates the
//! checkpointer keeps ([`crate::timeline`], table `days`: one row per day for as long as the log
//! reaches, dropped and remade like the checkpoints when a late event changes them); at other
//! instants (the end of a comparison window: "this time yesterday") they come from a seek. A
//! comparison whose window starts before the log's first day is left out (the wall says "—" and
//! why). The answer is kept for a minute (a live wall) or for its instant (a replay).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use yiping_protocol::instant::Timestamp;
use yiping_protocol::periods::{Indicator, Period, PeriodFigures, PeriodsAnswer, RegionPeriod, Totals};

use crate::AppState;
use crate::fold::Fold;
use crate::sync::OrPoisoned;
use crate::timeline::SeekError;

type ByRegion = BTreeMap<String, Totals>;

/// What the newest answer was made for: a minute of the live state, or an instant of the past
/// and the log's position then (an event about that instant stored since makes a new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Made {
    /// Live, in this minute (Unix minutes).
    Live(i64),
    /// As of an instant, from the log up to a position.
    AsOf(Timestamp, u64),
}

/// Every period's figures as of `at` (None: now, from the live state).
pub fn answer(state: &AppState, at: Option<Timestamp>) -> Result<Arc<PeriodsAnswer>, SeekError> {
    let t = at.unwrap_or_else(|| state.clock.now());
    let kept = state.periods.lock().or_poisoned().clone();
    let made = match at {
        None => Made::Live(t.unix_s().div_euclid(60)),
        Some(t) => {
            let position = state.timeline.log_position()?;
            if let Some((Made::AsOf(k, n), a)) = &kept
                && *k == t
                && !state.timeline.changed_since(*n, t)?
            {
                return Ok(a.clone());
            }
            Made::AsOf(t, position)
        }
    };
    if let Some((k, a)) = kept
        && k == made
    {
        return Ok(a);
    }
    let end = match at {
        None => state.with_fold(Fold::region_totals),
        Some(t) => state.timeline.as_of(t)?.region_totals(),
    };
    let first = state.timeline.first_time()?;
    let a = Arc::new(compute(t, end, first, |instant| totals_at(state, instant))?);
    *state.periods.lock().or_poisoned() = Some((made, a.clone()));
    Ok(a)
}

/// The answer cut to the regions `shown` (a scoped caller's region and those under it).
pub fn only(answer: &PeriodsAnswer, shown: &[String]) -> PeriodsAnswer {
    let keep = |k: &String| shown.contains(k);
    let mut a = answer.clone();
    a.totals.retain(|k, _| keep(k));
    for p in &mut a.periods {
        p.regions.retain(|k, _| keep(k));
    }
    a
}

/// The regions' totals as of `instant` (every event at or before it): the day aggregate when
/// `instant` is the last nanosecond before a Beijing midnight (a period's start), else a seek.
fn totals_at(state: &AppState, instant: Timestamp) -> Result<ByRegion, SeekError> {
    let next = Timestamp::from_unix_ns(instant.unix_ns() + 1);
    if next.beijing_date().beijing_start() == next
        && let Some(body) = state.timeline.day(next)?
        && let Ok(t) = serde_json::from_str::<ByRegion>(&body)
    {
        return Ok(t);
    }
    Ok(state.timeline.seek(instant)?.region_totals())
}

/// Just before `from`: a period counts the events at or after its start, so it takes away the
/// totals as of the instant before.
fn before(from: Timestamp) -> Timestamp {
    Timestamp::from_unix_ns(from.unix_ns() - 1)
}

/// Compute the answer for instant `t` whose totals are `end`, reading other instants' totals
/// through `at` (each asked once), and leaving out comparisons before the log's first day.
pub fn compute(
    t: Timestamp,
    end: ByRegion,
    first: Option<Timestamp>,
    mut at: impl FnMut(Timestamp) -> Result<ByRegion, SeekError>,
) -> Result<PeriodsAnswer, SeekError> {
    let mut known: HashMap<Timestamp, ByRegion> = HashMap::new();
    known.insert(t, end.clone());
    let mut get = |i: Timestamp| -> Result<ByRegion, SeekError> {
        if let Some(v) = known.get(&i) {
            return Ok(v.clone());
        }
        let v = at(i)?;
        known.insert(i, v.clone());
        Ok(v)
    };
    // A comparison needs the log to hold its whole window: from its first day on.
    let reaches = |from: Timestamp| first.is_some_and(|f| f.beijing_date().beijing_start() <= from);
    let figures = |start: &ByRegion, stop: &ByRegion, region: &str| -> BTreeMap<Indicator, f64> {
        let (a, b) =
            (start.get(region).cloned().unwrap_or_default(), stop.get(region).cloned().unwrap_or_default());
        Indicator::ALL.iter().map(|i| (*i, i.over(&a, &b))).collect()
    };
    let mut periods = Vec::new();
    for period in Period::ALL {
        let w = period.windows(t);
        let start = get(before(w.current.from))?;
        let previous = if reaches(w.previous.from) {
            Some((get(before(w.previous.from))?, get(w.previous.to)?))
        } else {
            None
        };
        let last_year = if reaches(w.last_year.from) {
            Some((get(before(w.last_year.from))?, get(w.last_year.to)?))
        } else {
            None
        };
        let regions = end
            .keys()
            .map(|r| {
                let p = RegionPeriod {
                    current: figures(&start, &end, r),
                    previous: previous.as_ref().map(|(a, b)| figures(a, b, r)),
                    last_year: last_year.as_ref().map(|(a, b)| figures(a, b, r)),
                };
                (r.clone(), p)
            })
            .collect();
        periods.push(PeriodFigures { period, windows: w, regions });
    }
    Ok(PeriodsAnswer { at: t, first_data: first, periods, totals: end })
}

#[cfg(test)]
mod tests {
    use yiping_protocol::events::Envelope;
    use yiping_protocol::instant::Date;

    use super::*;
    use crate::store::{Located, Store};

    /// Two years of a county's river patrols and problems, crafted so that each day's counts are
    /// known: on day n (from 2025-01-01) there are n % 5 + 1 patrols at 09:00 Beijing time, and
    /// on every 10th day a problem is found at 10:00, closed two days later at 00:00.
    fn crafted() -> (Vec<Located>, Vec<(Timestamp, &'static str)>) {
        let mut out = Vec::new();
        let mut facts = Vec::new();
        let day0 = Date::parse("2025-01-01").expect("date");
        for n in 0..(365 + 337) {
            let d = day0.plus_days(n);
            let at = |h: i64| d.beijing_start().plus_s(h * 3600);
            for k in 0..(n % 5 + 1) {
                let line = format!(
                    r#"{{"type":"river.patrol","id":"p{n}-{k}","time":"{}","data":{{"patrol":"P{n}-{k}","chief":"C1","chief_name":"张三","level":"county","river":"汉江","lon":114.27,"lat":30.59,"minutes":60}}}}"#,
                    at(9)
                );
                out.push(line);
                facts.push((at(9), "patrol"));
            }
            if n % 10 == 0 {
                // Closed at midnight exactly: it counts in the day that starts then.
                for (status, h, days) in [("found", 10, 0), ("closed", 0, 2)] {
                    let when = d.plus_days(days).beijing_start().plus_s(h * 3600);
                    let line = format!(
                        r#"{{"type":"river.problem","id":"q{n}-{status}","time":"{when}","data":{{"problem":"Q{n}","river":"汉江","lon":114.27,"lat":30.59,"kind":"garbage","status":"{status}","found":"{}"}}}}"#,
                        at(10)
                    );
                    out.push(line);
                    facts.push((when, status));
                }
            }
        }
        let places = crate::places::Places::hubei();
        let located = out
            .iter()
            .map(|l| {
                let mut e: Envelope = yiping_protocol::events::parse_line(l).expect("a valid line");
                e.source = Some("crafted".into());
                let adcode = places.locate(&e).expect("placed");
                Located::new(e, adcode)
            })
            .collect();
        (located, facts)
    }

    fn count(facts: &[(Timestamp, &str)], what: &str, from: Timestamp, to: Timestamp) -> f64 {
        facts.iter().filter(|(t, w)| *w == what && *t >= from && *t <= to).count() as f64
    }

    #[test]
    fn period_figures_and_their_comparisons_equal_a_count_of_the_crafted_events() {
        let dir = crate::store::tests::tempdir();
        let (events, facts) = crafted();
        let mut store = Store::open(&dir).expect("open");
        // Arrival order is not event order: the second year first.
        let (a, b) = events.split_at(events.len() / 2);
        store.append(b, "2026-12-03T00:00:00Z").expect("append");
        store.append(a, "2026-12-03T00:00:00Z").expect("append");
        drop(store);
        let state = AppState::open(&dir).expect("state");
        let t = Timestamp::parse("2026-12-03T09:30:00+08:00").expect("t");
        // Once by seeks alone, once with the day aggregates the checkpointer keeps: the same.
        let by_seeks = answer(&state, Some(t)).expect("periods");
        state.timeline.checkpoint().expect("checkpoints");
        let (days, _, _) = Store::open_side(&dir).expect("open").days_kept().expect("days");
        // Every midnight from 2 January 2025 to the newest event's day (a problem closed on day 702).
        assert_eq!(days, 702, "a day's totals for every midnight of the log");
        *state.periods.lock().or_poisoned() = None;
        let by_days = answer(&state, Some(t)).expect("periods");
        assert_eq!(by_seeks, by_days);
        let province = |p: &PeriodFigures| p.regions["420000"].clone();
        for p in &by_days.periods {
            let w = p.windows;
            let r = province(p);
            let got = |m: &BTreeMap<Indicator, f64>, i| m[&i];
            assert_eq!(
                got(&r.current, Indicator::Patrols),
                count(&facts, "patrol", w.current.from, w.current.to),
                "{:?}",
                p.period
            );
            assert_eq!(
                got(&r.current, Indicator::ProblemsFound),
                count(&facts, "found", w.current.from, w.current.to)
            );
            assert_eq!(
                got(&r.current, Indicator::ProblemsClosed),
                count(&facts, "closed", w.current.from, w.current.to)
            );
            let prev = r.previous.expect("the log reaches back");
            assert_eq!(
                got(&prev, Indicator::Patrols),
                count(&facts, "patrol", w.previous.from, w.previous.to),
                "{:?} 环比",
                p.period
            );
            let ly = r.last_year.expect("the log reaches back a year");
            assert_eq!(
                got(&ly, Indicator::Patrols),
                count(&facts, "patrol", w.last_year.from, w.last_year.to),
                "{:?} 同比",
                p.period
            );
            assert_eq!(
                got(&ly, Indicator::ProblemsFound),
                count(&facts, "found", w.last_year.from, w.last_year.to)
            );
            // The prefecture holds it all; another has nothing.
            assert_eq!(p.regions["420100"].current, r.current);
            assert!(p.regions["420200"].current.values().all(|v| *v == 0.0));
        }
        // Patrols today: day 701 (2026-12-03) has 701 % 5 + 1 = 2, all at 09:00, before 09:30.
        assert_eq!(province(&by_days.periods[0]).current[&Indicator::Patrols], 2.0);
        // Early in the log, the comparisons a year back are left out (the wall says why).
        let early =
            answer(&state, Some(Timestamp::parse("2025-03-10T12:00:00+08:00").expect("t"))).expect("periods");
        for p in &early.periods {
            assert!(province(p).last_year.is_none(), "{:?}", p.period);
        }
        assert!(province(&early.periods[0]).previous.is_some(), "yesterday is in the log");
        assert_eq!(
            early.first_data,
            Some(Date::parse("2025-01-01").expect("d").beijing_start().plus_s(9 * 3600))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
