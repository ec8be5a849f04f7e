//! Time travel: the state as of any past instant, by event time.
//!
//! **As of T** is the fold of every event whose event time is at or before T, whenever it
//! arrived: "what we know now about T" (a late report about T is in the replay of T). The fold
//! does not depend on arrival order, so that state is exactly the fold of those events in any
//! order, and it equals a recount of them (a test checks it at several instants).
//!
//! Algorithm: periodic checkpoints by event time, and an index on event time.
//!
//! - A **checkpoint** at instant C is the fold of every event whose time is before C, saved
//!   compressed in the log's database. The checkpointer (a background thread) walks the log in
//!   event-time order and saves one at the first Beijing midnight after each
//!   [`CHECKPOINT_EVENTS`] events, so a seek never folds more than about that many events
//!   (five days at the simulator's volume), whatever the log's length.
//! - **Seek to T**: the newest checkpoint at or before T, then the events from it to T read
//!   through the log's index on event time ([`crate::logindex`]) in event-time order.
//! - A **late event** (older than a checkpoint) makes that checkpoint and the later ones stale:
//!   [`crate::store::Store::append`] drops them in the same transaction, and the checkpointer
//!   rebuilds them from the newest one still valid. A checkpoint being built while such an event
//!   arrives is dropped when saved ([`crate::store::Store::save_checkpoint`]).
//!
//! Caveats: seeking before the first checkpoint exists (a log imported a moment ago) folds from
//! the start of the log; with `--retain-days` old events are deleted, so no past instant can be
//! rebuilt for sure, and time travel is off ([`Timeline::with_retention`]).
//!
//! ```no_run
//! # fn demo(timeline: &yiping_server::timeline::Timeline) -> anyhow::Result<()> {
//! use yiping_protocol::instant::Timestamp;
//! let fold = timeline.seek(Timestamp::parse("2026-11-20T09:00:00+08:00")?)?;
//! println!("{} readings by then", fold.overview().readings_total);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use yiping_protocol::instant::Timestamp;

use crate::fold::{Fold, FoldSnapshot};
use crate::places::Places;
use crate::store::{Store, StoreError};
use crate::sync::OrPoisoned;

/// Events between checkpoints (at least; a checkpoint waits for the next Beijing midnight).
pub const CHECKPOINT_EVENTS: u64 = 30_000;

/// How often the checkpointer looks for new work when nobody wakes it.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// Why an instant cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum SeekError {
    /// The log failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// This server keeps no whole log, so it cannot rebuild past instants.
    #[error("{0}")]
    Unavailable(String),
    /// A checkpoint cannot be read.
    #[error("checkpoint at {at}: {message}")]
    Checkpoint {
        /// Its instant.
        at: Timestamp,
        /// What is wrong.
        message: String,
    },
}

/// A seek kept for the next caller: the instant, the log's position then, the state.
type SharedSeek = ((Timestamp, u64), Arc<Fold>);

/// The log seen by event time: seeks and the checkpointer.
#[derive(Debug)]
pub struct Timeline {
    data_dir: PathBuf,
    places: Arc<Places>,
    expected_s: BTreeMap<String, u64>,
    /// The connection for short reads (a replay's next events, a day's totals, the span); a seek
    /// opens its own, so that a long one holds nobody up.
    reader: Mutex<Option<Store>>,
    /// The newest seek, shared by the REST calls of a replaying wall.
    last: Mutex<Option<SharedSeek>>,
    wake: (Mutex<bool>, Condvar),
    stop: AtomicBool,
    /// Events between checkpoints ([`CHECKPOINT_EVENTS`]; tests use fewer).
    spacing: u64,
    /// The log position the checkpointer last brought everything up to (nothing to do until the
    /// log grows).
    walked: AtomicU64,
    /// Why time travel is off on this server, if it is (retention deletes old events).
    off: Option<String>,
}

/// Compress a fold's state for a checkpoint.
fn pack(fold: &Fold) -> Vec<u8> {
    // One write of the whole text: flate2 zero-fills its output's spare room on every write, so
    // many small writes into a growing buffer would cost its size each time.
    let text = serde_json::to_vec(&fold.to_snapshot()).expect("the fold serialises");
    let mut z =
        flate2::write::DeflateEncoder::new(Vec::with_capacity(text.len() / 4), flate2::Compression::fast());
    z.write_all(&text).expect("compressing into memory cannot fail");
    z.finish().expect("compressing into memory cannot fail")
}

impl Timeline {
    /// The timeline of the log in `data_dir`.
    pub fn new(data_dir: &Path, places: Arc<Places>, expected_s: BTreeMap<String, u64>) -> Timeline {
        Timeline {
            data_dir: data_dir.to_owned(),
            places,
            expected_s,
            reader: Mutex::new(None),
            last: Mutex::new(None),
            wake: (Mutex::new(false), Condvar::new()),
            stop: AtomicBool::new(false),
            spacing: CHECKPOINT_EVENTS,
            walked: AtomicU64::new(0),
            off: None,
        }
    }

    /// Time travel off: a server that deletes events older than `days` days (`--retain-days`)
    /// no longer holds every event before a past instant, so it refuses to show one rather than
    /// show it wrong, and keeps no checkpoints.
    pub fn with_retention(mut self, days: Option<u32>) -> Timeline {
        self.off = days.map(|d| {
            format!(
                "time travel needs the whole event log, and this server deletes events older than {d} days \
                 (--retain-days): past instants and period comparisons are not available"
            )
        });
        self
    }

    fn unpack(&self, at: i64, body: &[u8]) -> Result<Fold, SeekError> {
        let bad = |message: String| SeekError::Checkpoint { at: Timestamp::from_unix_ns(at), message };
        let mut text = Vec::with_capacity(body.len() * 6);
        flate2::read::DeflateDecoder::new(body).read_to_end(&mut text).map_err(|e| bad(e.to_string()))?;
        let snap = serde_json::from_slice::<FoldSnapshot>(&text).map_err(|e| bad(e.to_string()))?;
        if snap.version != crate::fold::SNAPSHOT_VERSION {
            return Err(bad(format!("of format {}, not {}", snap.version, crate::fold::SNAPSHOT_VERSION)));
        }
        let mut fold = Fold::from_snapshot(self.places.clone(), snap);
        fold.expected_s = self.expected_s.clone();
        Ok(fold)
    }

    /// The state as of `t`: every event whose time is at or before `t`.
    pub fn seek(&self, t: Timestamp) -> Result<Fold, SeekError> {
        if let Some(why) = &self.off {
            return Err(SeekError::Unavailable(why.clone()));
        }
        let store = Store::open_side(&self.data_dir)?;
        let mut fold = match store.checkpoint_before(t.unix_ns())? {
            Some((at, _, body)) => match self.unpack(at, &body) {
                Ok(f) => (f, at),
                Err(e) => {
                    tracing::warn!("{e}: folding from the start of the log");
                    (self.empty(), i64::MIN)
                }
            },
            None => (self.empty(), i64::MIN),
        };
        store.events_between(fold.1, t.unix_ns(), |e| {
            fold.0.apply_quiet(&e.event, &e.adcode);
            true
        })?;
        Ok(fold.0)
    }

    /// Run a short read on the shared connection (opened on first use).
    fn read<T>(&self, f: impl FnOnce(&Store) -> Result<T, StoreError>) -> Result<T, SeekError> {
        let mut reader = self.reader.lock().or_poisoned();
        let store = match reader.as_mut() {
            Some(s) => s,
            None => reader.insert(Store::open_side(&self.data_dir)?),
        };
        Ok(f(store)?)
    }

    /// The events whose time is in `[from, to]` (Unix ns), in event-time order (a replay's next
    /// step).
    pub fn events(&self, from: i64, to: i64) -> Result<Vec<crate::store::StoredEvent>, SeekError> {
        self.read(|store| {
            let mut out = Vec::new();
            store.events_between(from, to, |e| {
                out.push(e);
                true
            })?;
            Ok(out)
        })
    }

    /// The regions' totals kept for the Beijing midnight `at` (JSON), if the checkpointer has
    /// made them.
    pub fn day(&self, at: Timestamp) -> Result<Option<String>, SeekError> {
        self.read(|store| store.day(at.unix_ns()))
    }

    /// The time of the log's oldest event.
    pub fn first_time(&self) -> Result<Option<Timestamp>, SeekError> {
        self.read(|store| Ok(store.time_range()?.map(|r| Timestamp::from_unix_ns(r.0))))
    }

    /// The log's span by event time and the checkpoints kept.
    pub fn span(&self) -> Result<yiping_protocol::api::TimelineAnswer, SeekError> {
        self.read(|store| {
            let range = store.time_range()?;
            Ok(yiping_protocol::api::TimelineAnswer {
                first: range.map(|r| Timestamp::from_unix_ns(r.0)),
                last: range.map(|r| Timestamp::from_unix_ns(r.1)),
                checkpoints: store.checkpoint_times()?.len(),
                days: store.days_kept()?.0,
            })
        })
    }

    /// [`Timeline::seek`], shared with the previous caller when it asked for the same instant
    /// and no event about it (time at or before it) has been stored since.
    pub fn as_of(&self, t: Timestamp) -> Result<Arc<Fold>, SeekError> {
        let position = self.log_position()?;
        let kept = self.last.lock().or_poisoned().clone();
        if let Some(((at, n), f)) = kept
            && at == t
            && !self.changed_since(n, t)?
        {
            return Ok(f);
        }
        let f = Arc::new(self.seek(t)?);
        *self.last.lock().or_poisoned() = Some(((t, position), f.clone()));
        Ok(f)
    }

    /// Whether an event whose time is at or before `t` has been stored after position `gseq`
    /// (through the log's order: only the events since are looked at).
    pub fn changed_since(&self, gseq: u64, t: Timestamp) -> Result<bool, SeekError> {
        self.read(|store| store.any_since(gseq, t.unix_ns()))
    }

    /// The log's newest global sequence: what an answer about a past instant was made from.
    pub fn log_position(&self) -> Result<u64, SeekError> {
        self.read(Store::max_gseq)
    }

    fn empty(&self) -> Fold {
        let mut f = Fold::new(self.places.clone());
        f.expected_s = self.expected_s.clone();
        f
    }

    /// Wake the checkpointer.
    fn nudge(&self) {
        *self.wake.0.lock().or_poisoned() = true;
        self.wake.1.notify_all();
    }

    /// Stop the checkpointer (at its next step).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.nudge();
    }

    /// Run the checkpointer until [`Timeline::stop`]: bring the checkpoints up to the log, then
    /// wait for a nudge or a minute.
    pub fn run_checkpointer(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.checkpoint())) {
                Err(_) => tracing::error!(
                    "time travel: checkpointing panicked (seeks fold more); trying again later"
                ),
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(saved = n, "time travel: checkpoints brought up to the log"),
                Ok(Err(e)) => tracing::error!("time travel: checkpointing failed (seeks fold more): {e}"),
            }
            let mut woken = self.wake.0.lock().or_poisoned();
            if !*woken {
                woken = self.wake.1.wait_timeout(woken, CHECKPOINT_EVERY).or_poisoned().0;
            }
            *woken = false;
        }
    }

    /// Bring the checkpoints up to the log's newest event; returns how many were saved.
    pub fn checkpoint(&self) -> Result<usize, SeekError> {
        if self.off.is_some() {
            return Ok(0);
        }
        let store = Store::open_side(&self.data_dir)?;
        let gseq = store.max_gseq()?;
        if gseq == self.walked.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let Some((first, newest)) = store.time_range()? else { return Ok(0) };
        // Day totals must reach as far as the checkpoints (a log checkpointed before they were
        // kept): otherwise start over from the beginning of the log.
        let newest_day = store.days_kept()?.2;
        if store.checkpoint_times()?.last().is_some_and(|c| newest_day.is_none_or(|d| d < *c)) {
            store.drop_checkpoints_after(i64::MIN)?;
        }
        // From the newest checkpoint; from the start of the log when there is none, or when it
        // cannot be read (another format): then it and all after it are made again.
        let resume = match store.checkpoint_before(i64::MAX)? {
            Some((at, _, body)) => match self.unpack(at, &body) {
                Ok(f) => Some((f, at)),
                Err(e) => {
                    tracing::warn!("{e}: checkpoints are made again from the start of the log");
                    store.drop_checkpoints_after(i64::MIN)?;
                    None
                }
            },
            None => None,
        };
        let (mut fold, mut from) = resume.unwrap_or_else(|| (self.empty(), first));
        // The day ending at the newest event's midnight is complete as far as the log knows.
        let last_midnight = Timestamp::from_unix_ns(newest).beijing_date().beijing_start().unix_ns();
        let (mut since, mut saved, t0) = (0u64, 0usize, Instant::now());
        while from < last_midnight && !self.stop.load(Ordering::Relaxed) {
            let next = Timestamp::from_unix_ns(from).beijing_date().plus_days(1).beijing_start().unix_ns();
            since += store.events_between(from, next - 1, |e| {
                fold.apply_quiet(&e.event, &e.adcode);
                true
            })?;
            from = next;
            // The regions' totals at each midnight: the long-term aggregates by day that period
            // figures (本月, 同比, 环比) are differences of.
            let day = serde_json::to_string(&fold.region_totals()).expect("totals serialise");
            if !store.save_day(next, gseq, &day)? {
                return Ok(saved);
            }
            if since >= self.spacing && next <= last_midnight {
                if !store.save_checkpoint(next, gseq, &pack(&fold))? {
                    // A late event arrived meanwhile: start again from what is still valid.
                    return Ok(saved);
                }
                saved += 1;
                since = 0;
            }
        }
        if saved > 0 {
            tracing::debug!(saved, ms = t0.elapsed().as_millis() as u64, "checkpoints saved");
        }
        if from >= last_midnight {
            self.walked.store(gseq, Ordering::Relaxed);
        }
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use yiping_protocol::events::Envelope;
    use yiping_protocol::instant::EventTime;

    use super::*;
    use crate::audit::{Figures, differences, history_point, recount};
    use crate::store::Located;

    /// Six simulated days as real feeds send them: some times written `+08:00` with a
    /// fraction, and a tenth of the events held back to arrive late (after checkpoints exist).
    fn feed(places: &Arc<Places>) -> (Vec<Located>, Vec<Located>) {
        let start = time::macros::datetime!(2026-10-01 00:00 UTC);
        let mut sim = crate::simulator::Simulator::new(7, 1.0, places.clone(), start);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (mut on_time, mut late) = (Vec::new(), Vec::new());
        for m in 0..6 * 24 * 60 {
            for mut e in sim.step(start + time::Duration::minutes(m), 60.0) {
                if rng.random_bool(0.3) {
                    // A quarter second later, as a Beijing clock writes it.
                    let local = e.time.at.plus_s(8 * 3600).to_string();
                    e.time = EventTime::parse(&format!("{}.250+08:00", local.trim_end_matches('Z')))
                        .expect("a time");
                }
                let adcode = places.locate(&e).expect("simulated events are placed");
                let l = Located::new(e, adcode);
                if rng.random_bool(0.1) { late.push(l) } else { on_time.push(l) }
            }
        }
        late.shuffle(&mut rng);
        (on_time, late)
    }

    fn figures(fold: &Fold, region: &str) -> Figures {
        Figures {
            water: fold.water.region(region),
            rivers: fold.rivers.region(region),
            projects: fold.projects.region(region),
            poverty: fold.poverty.region(region),
            coverage: fold.coverage(region),
        }
    }

    /// The state as of `t` equals a recount of the events whose time is at or before `t`.
    fn check(timeline: &Timeline, places: &Places, events: &[(Envelope, String)], t: Timestamp) {
        let fold = timeline.seek(t).expect("seek");
        let known: Vec<(Envelope, String)> = events.iter().filter(|(e, _)| e.time.at <= t).cloned().collect();
        for region in ["420000", "420100", "420200", "420525"] {
            let d = differences(&figures(&fold, region), &recount(places, &known, region));
            assert!(d.is_empty(), "as of {t}, {region}: {d:?}");
        }
        let last = fold.history().last().cloned().expect("a history");
        let want = history_point(places, &known, last.t);
        let d = crate::audit::value_differences(&serde_json::json!(last), &serde_json::json!(want));
        assert!(d.is_empty(), "as of {t}, history: {d:?}");
    }

    fn patrol(id: &str, time: &str) -> Located {
        let line = format!(
            r#"{{"type":"river.patrol","id":"{id}","time":"{time}","source":"t","data":{{"patrol":"{id}","chief":"C1","chief_name":"张三","level":"county","river":"汉江","lon":114.27,"lat":30.59,"minutes":60}}}}"#
        );
        let e = yiping_protocol::events::parse_line(&line).expect("a valid line");
        let adcode = Places::hubei().locate(&e).expect("placed");
        Located::new(e, adcode)
    }

    #[test]
    fn a_kept_answer_about_an_instant_is_not_reused_once_a_late_event_about_it_arrives() {
        let dir = crate::store::tests::tempdir();
        let mut store = Store::open(&dir).expect("open");
        store.append(&[patrol("a", "2026-10-01T09:00:00+08:00")], "2026-10-02T00:00:00Z").expect("append");
        let timeline = Timeline::new(&dir, Arc::new(Places::hubei()), Default::default());
        let t = Timestamp::parse("2026-10-01T12:00:00+08:00").expect("t");
        assert_eq!(timeline.as_of(t).expect("seek").rivers.region("420000").patrols, 1);
        store.append(&[patrol("b", "2026-10-01T10:00:00+08:00")], "2026-10-02T00:00:00Z").expect("append");
        let kept = timeline.as_of(t).expect("seek");
        assert_eq!(kept.rivers.region("420000").patrols, 2, "the late patrol");
        // An event after the instant changes nothing about it: the kept state is shared.
        store.append(&[patrol("c", "2026-10-01T13:00:00+08:00")], "2026-10-02T00:00:00Z").expect("append");
        assert!(Arc::ptr_eq(&kept, &timeline.as_of(t).expect("seek")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_state_as_of_any_instant_equals_a_recount_of_the_events_up_to_it_also_after_late_ones() {
        let places = Arc::new(Places::hubei());
        let (on_time, late) = feed(&places);
        let dir = crate::store::tests::tempdir();
        let mut store = Store::open(&dir).expect("open");
        for chunk in on_time.chunks(5_000) {
            store.append(chunk, "2026-10-07T00:00:00Z").expect("append");
        }
        let timeline = Timeline { spacing: 8_000, ..Timeline::new(&dir, places.clone(), Default::default()) };
        assert!(timeline.checkpoint().expect("checkpoints") >= 3, "six days make checkpoints");
        let before = store.checkpoint_times().expect("list");
        let events: Vec<(Envelope, String)> =
            on_time.iter().map(|l| (l.event.clone(), l.adcode.clone())).collect();
        let instants = [
            "2026-10-01T00:00:00Z",
            "2026-10-03T09:00:00+08:00",
            "2026-10-04T16:00:00Z",
            "2026-10-05T23:59:59.999+08:00",
            "2026-10-06T23:59:00Z",
        ];
        let instants: Vec<Timestamp> = instants.iter().map(|t| Timestamp::parse(t).expect("t")).collect();
        for t in &instants {
            check(&timeline, &places, &events, *t);
        }
        // Late events (a tenth of every day) arrive: the checkpoints after the oldest go, and the
        // replay of any instant now shows them ("what we know now about T").
        store.append(&late, "2026-10-08T00:00:00Z").expect("append");
        let after = store.checkpoint_times().expect("list");
        assert!(after.len() < before.len(), "stale checkpoints dropped: {before:?} → {after:?}");
        let all: Vec<(Envelope, String)> =
            on_time.iter().chain(&late).map(|l| (l.event.clone(), l.adcode.clone())).collect();
        for t in &instants {
            check(&timeline, &places, &all, *t);
        }
        assert!(timeline.checkpoint().expect("checkpoints") >= 1, "rebuilt");
        assert_eq!(store.checkpoint_times().expect("list"), before, "the same midnights again");
        for t in &instants {
            check(&timeline, &places, &all, *t);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
