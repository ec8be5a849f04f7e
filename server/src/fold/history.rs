//! The root region's headline figures per 10-minute step of event time, for the last 7 days of
//! data, and each region one level under it ([`Histories`]: a scoped wall's trends).
//!
//! A step's point is the figures **as of the step's end by event time**: every event whose time is
//! before the end counts, whenever it arrived. So a late report changes the steps after its time,
//! and any arrival order gives the same history.
//!
//! Algorithm: a difference array over steps. Each report changes the province's figures
//! ([`Tally`]) from its event time on: a counted event (a reading, a patrol) by its count for good;
//! an entity's report by the difference between its figures and those of the entity's previous
//! report (by event time), until the entity's next report (by event time), if any. So
//! `diffs[step]` holds the changes that happen in that step, and a step's point is `base` (the
//! figures before the window) plus the diffs up to it. To find previous and next reports each
//! entity keeps its reports inside the window and the newest one before it; older ones can no
//! longer change any point of the window (which only moves forward) and are dropped. Memory is
//! therefore the window's reports plus one report per entity ever seen (a closed case's last
//! report must stay: a late report about it can still arrive; a closed case's, which adds
//! nothing, is forgotten and given back by the fold if needed). The reports inside the window are
//! also indexed by time, so moving the window costs the reports that leave it, not the entities.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{HistoryPoint, percent};

use super::{Order, Reports};

/// Length of a history step, seconds.
pub const HISTORY_STEP_S: i64 = 600;
/// History kept, seconds before the newest data.
pub const HISTORY_KEEP_S: i64 = 7 * 86_400;

/// The province's figures that the history follows, as signed sums (so that differences add up).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Sections whose latest reading is class Ⅰ–Ⅲ.
    pub good: i64,
    /// Sections reporting.
    pub reporting: i64,
    /// Readings.
    pub readings: i64,
    /// River-chief patrols.
    pub patrols: i64,
    /// Problems open.
    pub problems_open: i64,
    /// Projects.
    pub projects: i64,
    /// Planned investment, 万元.
    pub plan_wan: f64,
    /// Investment done, 万元.
    pub done_wan: f64,
    /// Households at risk.
    pub risk: i64,
    /// Σ per-capita income × lifted households.
    pub income_weighted: f64,
    /// Lifted households.
    pub lifted: i64,
}

impl Tally {
    fn add(&mut self, o: &Tally, sign: i64) {
        self.good += sign * o.good;
        self.reporting += sign * o.reporting;
        self.readings += sign * o.readings;
        self.patrols += sign * o.patrols;
        self.problems_open += sign * o.problems_open;
        self.projects += sign * o.projects;
        let f = sign as f64;
        self.plan_wan += f * o.plan_wan;
        self.done_wan += f * o.done_wan;
        self.risk += sign * o.risk;
        self.income_weighted += f * o.income_weighted;
        self.lifted += sign * o.lifted;
    }

    fn minus(mut self, o: &Tally) -> Tally {
        self.add(o, -1);
        self
    }

    /// No change at all (sums of decimals added and taken away again leave a residue: below a
    /// millionth it is nothing).
    fn is_zero(&self) -> bool {
        let ints = [
            self.good,
            self.reporting,
            self.readings,
            self.patrols,
            self.problems_open,
            self.projects,
            self.risk,
            self.lifted,
        ];
        ints.iter().all(|x| *x == 0)
            && [self.plan_wan, self.done_wan, self.income_weighted].iter().all(|x| x.abs() < 1e-6)
    }

    /// The history point these figures make for the step starting at `t`.
    pub fn point(&self, t: Timestamp) -> HistoryPoint {
        let n = |x: i64| u64::try_from(x).unwrap_or(0);
        // What decimals added and taken away leave behind (see `is_zero`) is nothing.
        let wan = |x: f64| if x.abs() < 1e-6 { 0.0 } else { x };
        HistoryPoint {
            t,
            good_share: percent(self.good as f64, self.reporting as f64),
            readings: n(self.readings),
            patrols: n(self.patrols),
            problems_open: u32::try_from(self.problems_open).unwrap_or(0),
            invest_percent: if self.projects > 0 {
                percent(wan(self.done_wan), wan(self.plan_wan))
            } else {
                None
            },
            risk_households: n(self.risk),
            mean_income: (self.lifted > 0).then(|| self.income_weighted / self.lifted as f64),
        }
    }
}

/// The start (Unix s) of the step holding `t`.
pub(crate) fn step_of(t: Timestamp) -> i64 {
    t.unix_s().div_euclid(HISTORY_STEP_S) * HISTORY_STEP_S
}

/// The history: figures before the window, changes by step, and the entities' reports that can
/// still change a step of the window.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct History {
    /// Start of the window (Unix s, a step start); `None` before the first event.
    start: Option<i64>,
    /// The figures as of the window's start.
    base: Tally,
    /// Changes by the step they happen in (Unix s of its start), inside the window.
    diffs: BTreeMap<i64, Tally>,
    /// Each entity's reports inside the window, and its newest one before it, with their figures
    /// (shared with snapshot copies until changed: [`Reports`]).
    #[serde(with = "super::by_order")]
    reports: Reports<Tally>,
    /// The entities with a report inside the window, by the report's time (Unix ns), so that
    /// moving the window visits only the entities whose reports leave it, not every entity ever
    /// seen. Keyed by the time alone: the stations, sections and villages of a feed report at the
    /// same instants, and a key of (time, entity) compared their names at every insert. An
    /// entity is listed again for each of its reports at one instant, and for a report folded
    /// again; [`History::advance`] visits it once. An instant's list is shared with snapshot
    /// copies, as `reports` are. Saved as pairs (time, entity), as when it was a set of them
    /// ([`by_instant`]). A report at a time of its own costs a list of one: by layout about 100
    /// bytes here against about 45 in the set.
    #[serde(default, with = "by_instant")]
    inside: BTreeMap<i64, Arc<Vec<String>>>,
}

/// [`History::inside`] saved as pairs `[unix ns, entity]` by time, the form the set of them it
/// was had (a snapshot of either reads as the other: the set drops a pair listed twice). Within
/// an instant the pairs come in the order the reports came, not sorted again: a week of a feed's
/// reports is millions of pairs, and that order means nothing.
mod by_instant {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        m: &BTreeMap<i64, Arc<Vec<String>>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(m.values().map(|es| es.len()).sum()))?;
        for (t, entities) in m {
            for e in entities.iter() {
                seq.serialize_element(&(t, e))?;
            }
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<i64, Arc<Vec<String>>>, D::Error> {
        let mut m: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (t, e) in Vec::<(i64, String)>::deserialize(d)? {
            m.entry(t).or_default().push(e);
        }
        Ok(m.into_iter().map(|(t, es)| (t, Arc::new(es))).collect())
    }
}

impl History {
    /// A change `d` that holds from `from` until `to` (forever when `None`).
    fn change(&mut self, from: Timestamp, to: Option<Timestamp>, d: &Tally, start: i64) {
        for (t, sign) in [(Some(from), 1), (to, -1)] {
            let Some(t) = t else { continue };
            let s = step_of(t);
            let slot = if s < start { &mut self.base } else { self.diffs.entry(s).or_default() };
            slot.add(d, sign);
            if s >= start && slot.is_zero() {
                self.diffs.remove(&s);
            }
        }
    }

    /// Move the window so that it ends at the step of `newest`.
    pub(crate) fn advance(&mut self, newest: Timestamp) {
        let start = step_of(newest) - HISTORY_KEEP_S;
        if self.start.is_some_and(|s| s >= start) {
            return;
        }
        self.start = Some(start);
        let kept = self.diffs.split_off(&start);
        for d in std::mem::replace(&mut self.diffs, kept).values() {
            self.base.add(d, 1);
        }
        // An entity's reports before the window: only the newest can still matter. Only the
        // entities with a report that just left the window can have more than one.
        let cut = Timestamp::from_unix_s(start);
        let still = self.inside.split_off(&cut.unix_ns());
        let left = std::mem::replace(&mut self.inside, still);
        let mut seen = HashSet::new();
        for entity in left.into_values().flat_map(Arc::unwrap_or_clone) {
            if !seen.insert(entity.clone()) {
                continue;
            }
            if let Some(r) = self.reports.get_mut(&entity).map(Arc::make_mut) {
                let before = r.range(..).take_while(|(o, _)| o.at < cut).count();
                for _ in 1..before {
                    r.pop_first();
                }
                // A case whose one report left is before the window and adds nothing (a closed
                // problem) is forgotten: the fold still knows its order, and gives it back as
                // `known` if a report about it ever arrives.
                if r.len() == 1 && r.values().all(Tally::is_zero) {
                    self.reports.remove(&entity);
                }
            }
        }
    }

    /// A counted event (a reading, a patrol) at `at`.
    pub(crate) fn count(&mut self, at: Timestamp, t: Tally) {
        let start = self.start.unwrap_or(i64::MIN);
        self.change(at, None, &t, start);
    }

    /// An entity's report of order `order` with the figures `t`; `known` is the order of the
    /// entity's newest report the fold knows of (before this one), if any.
    pub(crate) fn report(&mut self, entity: &str, order: Order, t: Tally, known: Option<&Order>) {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let start = self.start.unwrap_or(i64::MIN);
        // Most reports are of an entity already here: its name is copied only for a new one.
        if !self.reports.contains_key(entity) {
            self.reports.insert(entity.to_owned(), Arc::default());
        }
        let reports = Arc::make_mut(self.reports.get_mut(entity).expect("inserted above"));
        if let Some(k) = known.filter(|_| reports.is_empty()) {
            // Forgotten as a closed case that adds nothing (see `advance`): its one report again.
            reports.insert(k.clone(), Tally::default());
        }
        let prev = reports.range((Unbounded, Excluded(&order))).next_back().map(|(o, t)| (o.at, *t));
        let next = reports.range((Included(&order), Unbounded)).next().map(|(o, _)| o.at);
        let cut = Timestamp::from_unix_s(start);
        if next.is_some_and(|n| n < cut) {
            return; // holds only until a newer report that is itself before the window: no point changes
        }
        let d = t.minus(&prev.map(|(_, t)| t).unwrap_or_default());
        if order.at < cut {
            // The newest report before the window: the older ones can no longer matter.
            *reports = reports.split_off(&order);
        } else {
            // Most instants of entities that report at their own times hold one entity.
            let listed =
                self.inside.entry(order.at.unix_ns()).or_insert_with(|| Arc::new(Vec::with_capacity(1)));
            Arc::make_mut(listed).push(entity.to_owned());
        }
        reports.insert(order.clone(), t);
        self.change(order.at, next, &d, start);
    }

    /// The points from the first step with data (or the window's start) to the step of `newest`.
    pub(crate) fn points(&self, newest: Option<Timestamp>) -> Vec<HistoryPoint> {
        let (Some(start), Some(newest)) = (self.start, newest) else { return Vec::new() };
        let last = step_of(newest);
        let first =
            if self.base.is_zero() { self.diffs.keys().next().copied().unwrap_or(last) } else { start };
        let mut figures = self.base;
        let mut diffs = self.diffs.range(..).peekable();
        let mut out = Vec::new();
        let mut s = first.min(last);
        while s <= last {
            while let Some((_, d)) = diffs.next_if(|(k, _)| **k <= s) {
                figures.add(d, 1);
            }
            out.push(figures.point(Timestamp::from_unix_s(s)));
            s += HISTORY_STEP_S;
        }
        out
    }
}

/// The root region's history and that of each region one level under it (its prefectures, or a
/// city's counties): every event counts in the root's and in its region's, the same way. An
/// entity that reports from another region than before (a project placed anew) counts, at each
/// step, in the region of its newest report by then: every region it has reported from gets each
/// of its reports, with its figures there and nothing elsewhere.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Histories {
    root: History,
    children: BTreeMap<String, History>,
    /// The regions each entity has reported from, when more than one.
    #[serde(default)]
    moved: HashMap<String, Vec<String>>,
    /// The region of each entity's reports so far, when only one (most entities never move).
    #[serde(default)]
    home: HashMap<String, String>,
    /// The regions' histories do not cover the log from its start (a state of an older format
    /// whose events retention had deleted): only the root's is known.
    #[serde(default)]
    partial: bool,
}

impl Histories {
    /// Move every window so that it ends at the step of `newest`.
    pub(crate) fn advance(&mut self, newest: Timestamp) {
        self.root.advance(newest);
        for h in self.children.values_mut() {
            h.advance(newest);
        }
    }

    /// The history of the region `child`, its window where the root's is.
    fn child(&mut self, child: &str) -> &mut History {
        if !self.children.contains_key(child) {
            let start = self.root.start;
            self.children.insert(child.to_owned(), History { start, ..Default::default() });
        }
        self.children.get_mut(child).expect("inserted above")
    }

    /// A counted event at `at`, in the region `child`.
    pub(crate) fn count(&mut self, child: &str, at: Timestamp, t: Tally) {
        self.root.count(at, t);
        self.child(child).count(at, t);
    }

    /// An entity's report (see [`History::report`]), from the region `child`.
    pub(crate) fn report(
        &mut self,
        child: &str,
        entity: &str,
        order: Order,
        t: Tally,
        known: Option<&Order>,
    ) {
        self.root.report(entity, order.clone(), t, known);
        if self.home.get(entity).is_some_and(|h| h == child) {
            // Most entities never move: one region, one report.
            self.child(child).report(entity, order, t, known);
            return;
        }
        // First seen, or reporting from another region than before.
        let all = match (self.home.remove(entity), self.moved.get_mut(entity)) {
            (None, None) => {
                self.home.insert(entity.to_owned(), child.to_owned());
                self.child(child).report(entity, order, t, known);
                return;
            }
            (Some(home), _) => self.moved.entry(entity.to_owned()).or_insert_with(|| vec![home]),
            (None, Some(all)) => all,
        };
        if !all.iter().any(|r| r == child) {
            all.push(child.to_owned());
            // The entity's earlier reports (those that can still change a point: the root keeps
            // them) were elsewhere: nothing here until this one.
            let earlier: Vec<Order> = self
                .root
                .reports
                .get(entity)
                .map(|r| r.keys().filter(|o| **o != order).cloned().collect())
                .unwrap_or_default();
            let h = self.child(child);
            for o in earlier {
                h.report(entity, o, Tally::default(), None);
            }
        }
        for r in self.moved.get(entity).cloned().unwrap_or_default() {
            let here = if r == child { t } else { Tally::default() };
            self.child(&r).report(entity, order.clone(), here, known);
        }
    }

    /// The root's points (see [`History::points`]), or those of a region under it (None for a
    /// region the log has no event of).
    pub(crate) fn points(
        &self,
        region: Option<&str>,
        newest: Option<Timestamp>,
    ) -> Option<Vec<HistoryPoint>> {
        match region {
            None => Some(self.root.points(newest)),
            Some(_) if self.partial => None,
            Some(r) => Some(self.children.get(r).map(|h| h.points(newest)).unwrap_or_default()),
        }
    }

    /// Only the root's history known (see `partial`).
    pub(crate) fn root_only(root: History) -> Histories {
        Histories { root, partial: true, ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn order(at: Timestamp, id: &str) -> Order {
        Order { at, source: "s".into(), id: id.into() }
    }

    /// A feed whose entities all report at the same instants, as stations and villages do.
    fn synchronised(entities: usize, rounds: i64, from: Timestamp) -> History {
        let mut h = History::default();
        for round in 0..rounds {
            let at = from.plus_s(round * HISTORY_STEP_S);
            h.advance(at);
            for v in 0..entities {
                let t = Tally { risk: round + 1, ..Default::default() };
                h.report(&format!("V{v}"), order(at, &format!("v{v}-{round}")), t, None);
            }
        }
        h
    }

    #[test]
    fn reports_at_one_instant_leave_the_window_together() {
        let from = Timestamp::from_unix_s(1_800_000_000);
        let mut h = synchronised(50, 3, from);
        assert_eq!(h.reports.values().map(|r| r.len()).sum::<usize>(), 150);
        assert_eq!(h.inside.values().map(|es| es.len()).collect::<Vec<_>>(), [50, 50, 50]);
        // A week and a step later every report is before the window: each entity keeps only its
        // newest, which still holds at the window's start.
        let later = from.plus_s(HISTORY_KEEP_S + 3 * HISTORY_STEP_S);
        h.advance(later);
        assert!(h.inside.is_empty());
        assert!(h.reports.values().all(|r| r.len() == 1 && r.values().all(|t| t.risk == 3)));
        let points = h.points(Some(later));
        assert_eq!(points.first().map(|p| p.risk_households), Some(150));
        assert_eq!(points.last().map(|p| p.risk_households), Some(150));
    }

    #[test]
    fn the_reports_inside_are_saved_as_the_pairs_they_were_saved_as() {
        let at = Timestamp::from_unix_s(1_800_000_000);
        let mut h = History::default();
        h.advance(at);
        // Two reports of B at one instant, then A's, and C's a step later.
        let next = at.plus_s(HISTORY_STEP_S);
        h.report("B", order(at, "1"), Tally { risk: 1, ..Default::default() }, None);
        h.report("B", order(at, "2"), Tally { risk: 2, ..Default::default() }, None);
        h.report("A", order(at, "3"), Tally { risk: 4, ..Default::default() }, None);
        h.report("C", order(next, "4"), Tally { risk: 8, ..Default::default() }, None);
        assert_eq!(*h.inside[&at.unix_ns()], ["B", "B", "A"], "as they came");
        let saved = serde_json::to_value(&h).expect("serialises");
        let (t0, t1) = (at.unix_ns(), next.unix_ns());
        assert_eq!(saved["inside"], serde_json::json!([[t0, "B"], [t0, "B"], [t0, "A"], [t1, "C"]]));
        // What the set of pairs saved reads as what it was, and what is saved now reads as the set.
        let set: BTreeSet<(i64, String)> =
            serde_json::from_value(saved["inside"].clone()).expect("reads as a set");
        assert_eq!(set.len(), 3);
        let mut before = saved.clone();
        before["inside"] = serde_json::to_value(&set).expect("serialises");
        // Read back, from either, it moves the window the same way.
        let later = at.plus_s(HISTORY_KEEP_S + 2 * HISTORY_STEP_S);
        h.advance(later);
        for old in [saved, before] {
            let mut back: History = serde_json::from_value(old).expect("reads back");
            back.advance(later);
            assert_eq!(
                serde_json::to_value(&back).expect("serialises"),
                serde_json::to_value(&h).expect("serialises")
            );
            assert_eq!(back.reports["B"].len(), 1);
            assert!(back.inside.is_empty());
        }
    }

    /// `inside` lists exactly the reports kept at or after the window's start, an entity keeps at
    /// most one report before it, and the points are those of the same reports folded in time
    /// order.
    fn check(h: &History, fed: &[(String, Order, Tally)], newest: Timestamp) {
        let cut = Timestamp::from_unix_s(h.start.expect("a window"));
        let listed: BTreeSet<(i64, &str)> =
            h.inside.iter().flat_map(|(t, es)| es.iter().map(move |e| (*t, e.as_str()))).collect();
        let kept: BTreeSet<(i64, &str)> = h
            .reports
            .iter()
            .flat_map(|(e, r)| r.keys().filter(|o| o.at >= cut).map(move |o| (o.at.unix_ns(), e.as_str())))
            .collect();
        assert_eq!(listed, kept);
        assert!(h.reports.values().all(|r| r.keys().filter(|o| o.at < cut).count() <= 1));
        let mut sorted = fed.to_vec();
        sorted.sort_by(|a, b| a.1.cmp(&b.1));
        let mut in_order = History::default();
        for (e, o, t) in sorted {
            in_order.advance(o.at);
            in_order.report(&e, o, t, None);
        }
        in_order.advance(newest);
        assert_eq!(in_order.points(Some(newest)), h.points(Some(newest)));
    }

    #[test]
    fn in_any_arrival_order_the_window_lists_exactly_the_reports_inside_it() {
        let from = Timestamp::from_unix_s(1_800_000_000);
        for seed in 0..12u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (mut h, mut newest) = (History::default(), from);
            let mut fed: Vec<(String, Order, Tally)> = Vec::new();
            for i in 0..150 {
                // 20 instants 12 hours apart (the window's start falls on one of them once the
                // newest is a week in), shared by 6 entities; now and then a report again.
                let (e, o, t) = if !fed.is_empty() && rng.random_bool(0.05) {
                    fed[rng.random_range(0..fed.len())].clone()
                } else {
                    let at = from.plus_s(rng.random_range(0..20) * 12 * 3600);
                    let t = Tally { risk: rng.random_range(0..9), ..Default::default() };
                    (format!("E{}", rng.random_range(0..6)), order(at, &format!("r{i}")), t)
                };
                newest = newest.max(o.at);
                h.advance(newest);
                h.report(&e, o.clone(), t, None);
                fed.push((e, o, t));
                if rng.random_bool(0.1) {
                    // Through a snapshot, half of the time in the form the set of pairs had.
                    let mut saved = serde_json::to_value(&h).expect("serialises");
                    if rng.random_bool(0.5) {
                        let set: BTreeSet<(i64, String)> =
                            serde_json::from_value(saved["inside"].clone()).expect("reads as a set");
                        saved["inside"] = serde_json::to_value(&set).expect("serialises");
                    }
                    h = serde_json::from_value(saved).expect("reads back");
                }
                check(&h, &fed, newest);
            }
        }
    }
}
