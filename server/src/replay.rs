//! Replay sessions: one websocket connection's topics as of a past instant, played on at up to
//! 3600× (the `replay` and `live` client messages, DESIGN §5 as extended in `yiping_protocol`).
//!
//! A session holds its own fold, sought through the [`crate::timeline`] (checkpoint + events by
//! event time), and its own stream: epoch `replay-…`, seqs from 0. While playing, every
//! [`TICK`] the replayed clock moves on by `speed` × the real time passed, the events between the
//! old and the new clock are read in event-time order and folded, and one delta per topic they
//! changed goes out, as live deltas do (one per batch), then one overview. Alerts are the alerts
//! as they stood at the replayed instant, from the audit trail (open then, or resolved in the 24
//! hours before).
//!
//! Nothing here writes: not the log, not the trail, not the live fold, and the alert rules never
//! see a replayed event. Sessions are bounded ([`MAX_REPLAYS`]), since each holds a fold.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use yiping_protocol::alerts::AlertsData;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{ALERTS, OVERVIEW};
use yiping_protocol::{MAX_REPLAY_SPEED, ReplayClock, ServerMsg, Update};

use crate::AppState;
use crate::fold::Fold;
use crate::hub::to_text;
use crate::state::overview_on;
use crate::sync::OrPoisoned;

/// Replay sessions open at once on a server (each holds a fold: about 55 MB for a year of data
/// at the simulator's volume).
pub const MAX_REPLAYS: usize = 8;
/// How often a playing replay moves on.
pub const TICK: Duration = Duration::from_millis(250);
/// How often a playing replay's alerts are brought up to its clock.
const ALERTS_EVERY: Duration = Duration::from_secs(2);
/// How long resolved alerts stay in the list after they were resolved.
const KEEP_RESOLVED_S: i64 = 24 * 3600;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// Why a replay cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The instant is not one.
    #[error("replay `at`: {0}")]
    BadInstant(String),
    /// The speed is out of range.
    #[error("replay `speed` {0}: must be from 0 to {MAX_REPLAY_SPEED}")]
    BadSpeed(f64),
    /// Too many replays are open.
    #[error("{MAX_REPLAYS} walls are replaying already: try again when one returns to live")]
    Full,
    /// The state cannot be rebuilt.
    #[error("the state at that instant cannot be rebuilt: {0}")]
    Seek(String),
}

/// Counts a session among the open ones while it lives.
#[derive(Debug)]
struct Slot(Arc<AppState>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.replays.fetch_sub(1, Ordering::Relaxed);
    }
}

fn take_slot(state: &Arc<AppState>) -> Result<Slot, ReplayError> {
    state
        .replays
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < MAX_REPLAYS).then_some(n + 1))
        .map(|_| Slot(state.clone()))
        .map_err(|_| ReplayError::Full)
}

/// One connection's replay.
#[derive(Debug)]
pub struct Session {
    _slot: Slot,
    epoch: String,
    fold: Fold,
    /// The replayed instant: every event at or before it is folded.
    clock: Timestamp,
    speed: f64,
    /// The region the overview is of: the root, or the connection's scope.
    region: String,
    topics: Vec<String>,
    seqs: BTreeMap<String, u64>,
    last_tick: Instant,
    last_alerts: Instant,
    alerts: PastAlerts,
}

/// Parse a replay request's instant and speed.
pub fn parse(at: &str, speed: f64) -> Result<(Timestamp, f64), ReplayError> {
    let t = Timestamp::parse(at).map_err(|e| ReplayError::BadInstant(format!("{at:?}: {e}")))?;
    if !(0.0..=MAX_REPLAY_SPEED).contains(&speed) {
        return Err(ReplayError::BadSpeed(speed));
    }
    Ok((t, speed))
}

/// The alerts as they stood at an instant, folded from the trail's steps up to it; a replay
/// moving forward applies only the steps since (the trail is in the order of its times).
#[derive(Debug)]
struct PastAlerts {
    book: crate::alerts::Book,
    /// The trail position applied up to.
    seq: u64,
    /// The instant they stand at.
    at: Timestamp,
}

impl PastAlerts {
    fn new(state: &AppState) -> PastAlerts {
        PastAlerts {
            book: state.book.lock().or_poisoned().empty_like(),
            seq: 0,
            at: Timestamp::from_unix_ns(i64::MIN),
        }
    }

    /// Those open at `t`, and those resolved in the 24 hours before.
    fn at(&mut self, state: &AppState, t: Timestamp) -> AlertsData {
        if t < self.at {
            *self = PastAlerts::new(state);
        }
        self.at = t;
        let trail = state.trail.lock().or_poisoned();
        let filter = crate::trail::Filter {
            after: self.seq,
            action_prefix: Some("alert.".into()),
            ..Default::default()
        };
        let (book, seq) = (&mut self.book, &mut self.seq);
        let scanned = trail.scan(&filter, |e| {
            if Timestamp::parse(&e.time).is_ok_and(|when| when > t) {
                return false;
            }
            book.apply(&e);
            *seq = e.seq;
            true
        });
        drop(trail);
        if let Err(e) = scanned {
            tracing::error!("replay: the alerts' trail cannot be read: {e}");
        }
        let cutoff = t.plus_s(-KEEP_RESOLVED_S);
        let mut data = self.book.snapshot();
        data.alerts.retain(|a| a.is_open() || Timestamp::parse(&a.updated).is_ok_and(|u| u >= cutoff));
        data
    }
}

/// The state as of `at`, sought on a blocking thread.
async fn seek(state: &AppState, at: Timestamp) -> Result<Fold, ReplayError> {
    let timeline = state.timeline.clone();
    tokio::task::spawn_blocking(move || timeline.seek(at))
        .await
        .map_err(|e| ReplayError::Seek(e.to_string()))?
        .map_err(|e| ReplayError::Seek(e.to_string()))
}

/// A new stream's epoch, unique on this server: every seek starts one.
fn new_epoch(at: Timestamp) -> String {
    format!("replay-{}-{:x}", NEXT_SESSION.fetch_add(1, Ordering::Relaxed), at.unix_s())
}

impl Session {
    /// Start a replay of `topics` at `at` for a connection of `scope`: seek (on a blocking
    /// thread), then the snapshots.
    pub async fn start(
        state: &Arc<AppState>,
        topics: Vec<String>,
        at: Timestamp,
        speed: f64,
        scope: Option<&str>,
    ) -> Result<(Session, Vec<Arc<str>>), ReplayError> {
        let slot = take_slot(state)?;
        let fold = seek(state, at).await?;
        let mut s = Session {
            _slot: slot,
            epoch: new_epoch(at),
            fold,
            clock: at,
            speed,
            region: state.places.scope_region(scope),
            topics,
            seqs: BTreeMap::new(),
            last_tick: Instant::now(),
            last_alerts: Instant::now(),
            alerts: PastAlerts::new(state),
        };
        let out = s.snapshots(state);
        Ok((s, out))
    }

    /// Seek the running session to `at` (a new stream: new epoch, fresh snapshots).
    pub async fn seek(
        &mut self,
        state: &Arc<AppState>,
        at: Timestamp,
        speed: f64,
    ) -> Result<Vec<Arc<str>>, ReplayError> {
        if at == self.clock {
            // Only the speed changes (play, pause): the stream goes on.
            self.speed = speed;
            self.last_tick = Instant::now();
            return Ok(vec![self.clock_text()]);
        }
        self.fold = seek(state, at).await?;
        self.epoch = new_epoch(at);
        self.clock = at;
        self.speed = speed;
        self.seqs.clear();
        self.last_tick = Instant::now();
        Ok(self.snapshots(state))
    }

    /// Show more topics (or a topic again, from a fresh snapshot, when a client resubscribes).
    pub fn subscribe(&mut self, state: &AppState, topics: Vec<String>) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        for t in topics {
            if !self.topics.contains(&t) {
                self.topics.push(t.clone());
            }
            let data = self.topic_data(state, &t);
            out.push(self.update(&t, data, true));
        }
        out
    }

    /// Stop showing topics.
    pub fn unsubscribe(&mut self, topics: &[String]) {
        self.topics.retain(|t| !topics.contains(t));
    }

    /// The topics this replay shows.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Whether the clock moves.
    pub fn playing(&self) -> bool {
        self.speed > 0.0
    }

    fn clock_text(&self) -> Arc<str> {
        to_text(&ServerMsg::Replay(ReplayClock {
            epoch: self.epoch.clone(),
            at: self.clock.to_string(),
            speed: self.speed,
        }))
    }

    fn update(&mut self, topic: &str, data: serde_json::Value, snapshot: bool) -> Arc<str> {
        let seq = self.seqs.entry(topic.to_owned()).or_insert(0);
        if !snapshot {
            *seq += 1;
        }
        let time = if topic == ALERTS {
            self.clock.to_string()
        } else {
            self.fold.topic_time(topic).map_or_else(|| self.clock.to_string(), |t| t.to_string())
        };
        let u = Update { topic: topic.to_owned(), epoch: self.epoch.clone(), seq: *seq, time, data };
        to_text(&if snapshot { ServerMsg::Snapshot(u) } else { ServerMsg::Delta(u) })
    }

    fn topic_data(&mut self, state: &AppState, topic: &str) -> serde_json::Value {
        match topic {
            OVERVIEW => serde_json::to_value(overview_on(&self.fold, &self.region, self.clock))
                .expect("the overview serialises"),
            ALERTS => serde_json::to_value(self.alerts.at(state, self.clock)).expect("alerts serialise"),
            t => self.fold.snapshot(t),
        }
    }

    fn snapshots(&mut self, state: &AppState) -> Vec<Arc<str>> {
        let mut out = vec![self.clock_text()];
        for t in self.topics.clone() {
            let data = self.topic_data(state, &t);
            out.push(self.update(&t, data, true));
        }
        self.last_alerts = Instant::now();
        out
    }

    /// Move the clock on by the real time passed × speed (never past `now`), and send what
    /// happened meanwhile: one delta per topic it changed, one overview, the alerts now and
    /// then, and where the clock stands.
    pub async fn tick(&mut self, state: &Arc<AppState>) -> Vec<Arc<str>> {
        let real = self.last_tick.elapsed();
        self.last_tick = Instant::now();
        if self.speed <= 0.0 {
            return vec![];
        }
        let now = state.clock.now();
        let step = (real.as_secs_f64() * self.speed * 1e9) as i64;
        let to = Timestamp::from_unix_ns(self.clock.unix_ns().saturating_add(step.max(1))).min(now);
        if to <= self.clock {
            // Caught up with the present: the replay holds still (back to live is one touch).
            self.speed = 0.0;
            return vec![self.clock_text()];
        }
        let (from, timeline) = (self.clock.unix_ns() + 1, state.timeline.clone());
        let read = tokio::task::spawn_blocking(move || timeline.events(from, to.unix_ns())).await;
        let events = match read {
            Ok(Ok(ev)) => ev,
            Ok(Err(e)) => {
                tracing::error!("replay: reading the log failed: {e}");
                return vec![to_text(&ServerMsg::Error { message: format!("replay: {e}") })];
            }
            Err(e) => {
                tracing::error!("replay: {e}");
                return vec![];
            }
        };
        self.clock = to;
        let mut out = Vec::new();
        let wanted = |t: &str, topics: &[String]| topics.iter().any(|x| x == t);
        // One delta per topic for the tick's events, as live sends one per batch.
        let mut changes = crate::fold::Changes::default();
        for e in &events {
            self.fold.apply_to(&e.event, &e.adcode, &mut changes);
        }
        for (topic, delta) in self.fold.deltas(changes) {
            if wanted(topic, &self.topics) {
                let data = serde_json::to_value(&delta).expect("deltas serialise");
                out.push(self.update(topic, data, false));
            }
        }
        if !events.is_empty() && wanted(OVERVIEW, &self.topics) {
            let data = self.topic_data(state, OVERVIEW);
            out.push(self.update(OVERVIEW, data, false));
        }
        if self.last_alerts.elapsed() >= ALERTS_EVERY && wanted(ALERTS, &self.topics) {
            self.last_alerts = Instant::now();
            let data = self.topic_data(state, ALERTS);
            out.push(self.update(ALERTS, data, true));
        }
        if to >= now {
            self.speed = 0.0;
        }
        out.push(self.clock_text());
        out
    }
}
