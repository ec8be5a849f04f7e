//! The state of a running server ([`AppState`]) and what reads it: subscriptions to the topic
//! streams, the overview live walls get, the fold. Start-up (rebuilding it from the log) is in
//! [`crate::startup`]; the write paths (events folded and published, alert steps stored) in
//! [`crate::publish`].

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use yiping_protocol::ResumePoint;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{self, OVERVIEW};

use crate::fold::Fold;
use crate::hub::{Hub, Subscription};
use crate::ingest::Ingestor;
use crate::places::Places;
use crate::store::Store;
use crate::sync::OrPoisoned;
use crate::{alerts, auth, metrics, trail};

/// How the event log is kept.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// Save a snapshot of the fold every this many events (start-up replays only the events after
    /// the latest snapshot).
    pub snapshot_every: u64,
    /// Delete events received more than this many days ago, once a snapshot covers them
    /// (`None`: keep every event).
    pub retain_days: Option<u32>,
    /// Refuse events whose time is more than this many seconds ahead of the server's clock (a
    /// wrong clock or time zone at the source); old times are accepted (backfill is normal).
    pub future_tolerance_s: i64,
}

/// The default of [`LogOptions::future_tolerance_s`]: 10 minutes.
pub const FUTURE_TOLERANCE_S: i64 = 600;

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { snapshot_every: 100_000, retain_days: None, future_tolerance_s: FUTURE_TOLERANCE_S }
    }
}

/// The server's clock: the system's, or an instant fixed by a test (what "today" is for overdue,
/// and what "the future" is for ingest).
#[derive(Debug, Default)]
pub struct Clock {
    /// A fixed instant in Unix ns; 0 means the system clock.
    fixed_ns: std::sync::atomic::AtomicI64,
}

impl Clock {
    /// Now.
    pub fn now(&self) -> Timestamp {
        match self.fixed_ns.load(std::sync::atomic::Ordering::Relaxed) {
            0 => Timestamp::now(),
            ns => Timestamp::from_unix_ns(ns),
        }
    }

    /// Fix the clock at `t` (`None`: back to the system clock).
    pub fn set(&self, t: Option<Timestamp>) {
        self.fixed_ns.store(t.map_or(0, Timestamp::unix_ns), std::sync::atomic::Ordering::Relaxed);
    }
}

/// Shared state of a running server.
#[derive(Debug)]
pub struct AppState {
    /// Topic streams.
    pub hub: Hub,
    /// The websocket connections the hub's frames are written to.
    pub conns: crate::fanout::Conns,
    pub(crate) fold: Mutex<Fold>,
    /// The root region, the regions under it, counties, sections.
    pub places: Arc<Places>,
    /// The wall's title as configured.
    pub title: Option<String>,
    /// The live overview of each scope connected, and the overview seq it was made at.
    pub(crate) scoped_overviews: Mutex<std::collections::HashMap<String, (u64, Arc<serde_json::Value>)>>,
    /// A read connection to the log (history, tokens).
    pub(crate) reader: Mutex<Store>,
    pub(crate) ingestor: OnceLock<Ingestor>,
    /// The log stream, when the log is on NATS ([`crate::cluster`]).
    pub(crate) cluster: OnceLock<Arc<crate::cluster::Cluster>>,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// When the server started.
    pub started: Instant,
    /// Connected websocket clients.
    pub clients: AtomicUsize,
    /// Slots for ingest requests being read and checked.
    pub ingest_slots: Arc<tokio::sync::Semaphore>,
    /// The audit trail, with the users and sessions.
    pub(crate) trail: Mutex<trail::Trail>,
    /// Alert rules, what they know, and the live alerts (lock before `trail` when both are needed).
    pub(crate) book: Mutex<alerts::Book>,
    /// Access settings.
    pub access: auth::Access,
    /// Failed logins.
    pub limiter: auth::Limiter,
    /// The ingest sources' rate limits.
    pub source_limits: crate::sources::RateLimiter,
    /// The clock.
    pub clock: Clock,
    /// How the log is kept and what it accepts.
    pub log: LogOptions,
    /// The log by event time: the state as of past instants.
    pub timeline: Arc<crate::timeline::Timeline>,
    /// Replay sessions open now (bounded: each holds a fold).
    pub replays: AtomicUsize,
    /// The walls presenters drive.
    pub walls: crate::present::Walls,
    /// Where this server listens (set once it is bound): exports open its pages.
    pub local_addr: OnceLock<std::net::SocketAddr>,
    /// The runtime websocket connections run on (set by `run::serve`, see
    /// `run::fanout_threads`); unset, they run on the caller's.
    pub fanout: OnceLock<tokio::runtime::Handle>,
    /// The newest period figures answered (a minute for live walls, an instant for replays).
    pub(crate) periods: Mutex<Option<(crate::periods::Made, Arc<yiping_protocol::periods::PeriodsAnswer>)>>,
}

/// Now, as RFC 3339 UTC text (the one helper; times are compared as [`Timestamp`]s, never as text).
pub(crate) fn now_rfc3339() -> String {
    Timestamp::now().to_string()
}

impl AppState {
    /// Open the log in `data_dir` with the default [`LogOptions`].
    pub fn open(data_dir: &Path) -> anyhow::Result<Arc<AppState>> {
        AppState::open_with(data_dir, LogOptions::default())
    }

    /// Open with the default rules and access settings, for the province.
    pub fn open_with(data_dir: &Path, log: LogOptions) -> anyhow::Result<Arc<AppState>> {
        let places = Arc::new(Places::hubei());
        AppState::open_full(data_dir, log, alerts::Rules::default(), auth::Access::default(), places)
    }

    /// Open the log in `data_dir`, rebuild the state from its latest snapshot and the events after
    /// it (see [`crate::startup`]), and start the writer.
    pub fn open_full(
        data_dir: &Path,
        log: LogOptions,
        rules: alerts::Rules,
        access: auth::Access,
        places: Arc<Places>,
    ) -> anyhow::Result<Arc<AppState>> {
        crate::startup::rebuild(data_dir, log, rules, access, places, None, None)
    }

    /// Append events to the log: the NATS log stream when there is one ([`crate::cluster`]),
    /// else this node's writer (`wait`: for room in its queue, else refused as busy when full).
    /// Resolves once they are durable and folded here.
    pub async fn submit(
        &self,
        events: Vec<crate::store::Located>,
        wait: bool,
    ) -> Result<Vec<crate::store::Appended>, crate::ingest::SubmitError> {
        self.submit_from(events, None, wait).await
    }

    /// [`AppState::submit`], and the audit entry of `sender` written as well: with the events
    /// by this node's writer, or after them when the log stream stores them (on every node).
    pub async fn submit_from(
        &self,
        events: Vec<crate::store::Located>,
        sender: Option<crate::ingest::Sender>,
        wait: bool,
    ) -> Result<Vec<crate::store::Appended>, crate::ingest::SubmitError> {
        let Some(c) = self.cluster.get() else {
            return self.ingestor().submit_from(events, sender, wait).await;
        };
        let stored = c.append(&events, self.clock.now()).await?;
        if let Some(sender) = sender {
            self.audit(sender.entry(&stored))
                .map_err(|e| crate::ingest::SubmitError::Failed(format!("stored, but not audited: {e}")))?;
        }
        Ok(stored)
    }

    /// The ingest pipeline (this node's writer).
    pub fn ingestor(&self) -> &Ingestor {
        self.ingestor.get().expect("set in AppState::open before the state is shared")
    }

    /// Subscribe to a topic from a resume point or a fresh snapshot.
    pub fn subscribe(&self, topic: &str, since: Option<&ResumePoint>) -> Subscription {
        if topic == topics::ALERTS {
            let book = self.book.lock().or_poisoned();
            return self.hub.subscribe(topic, since, || {
                (now_rfc3339(), serde_json::to_value(book.snapshot()).expect("alerts serialise"))
            });
        }
        let fold = self.fold.lock().or_poisoned();
        self.hub.subscribe(topic, since, || {
            let time = fold.topic_time(topic).map_or_else(now_rfc3339, |t| t.to_string());
            let data = if topic == OVERVIEW {
                serde_json::to_value(self.live_overview(&fold)).expect("the overview serialises")
            } else {
                fold.snapshot(topic)
            };
            (time, data)
        })
    }

    /// The overview as sent to live walls: the projects' due dates before yesterday (Beijing, by
    /// this server's clock) merged, since they count as overdue on any day a live wall can have.
    pub(crate) fn live_overview(&self, fold: &Fold) -> yiping_protocol::topics::Overview {
        overview_on(fold, self.places.root(), self.clock.now())
    }

    /// The live overview of a scoped connection's region (see `ws`): made once per overview
    /// update and scope, whoever asks.
    pub(crate) fn scoped_overview(&self, scope: &str) -> Arc<serde_json::Value> {
        let made_at = |seq: u64| {
            let made = self.scoped_overviews.lock().or_poisoned();
            made.get(scope).filter(|(s, _)| *s == seq).map(|(_, v)| v.clone())
        };
        // One made at the newest overview update stands, whoever made it: no need of the fold.
        if let Some(v) = made_at(self.hub.seq(OVERVIEW)) {
            return v;
        }
        let fold = self.fold.lock().or_poisoned();
        // Overview updates are published under the fold's lock: this seq is the fold's.
        let seq = self.hub.seq(OVERVIEW);
        if let Some(v) = made_at(seq) {
            return v;
        }
        let mut made = self.scoped_overviews.lock().or_poisoned();
        let region = self.places.scope_region(Some(scope));
        let o = overview_on(&fold, &region, self.clock.now());
        let v = Arc::new(serde_json::to_value(o).expect("the overview serialises"));
        made.insert(scope.to_owned(), (seq, v.clone()));
        v
    }

    /// Run `f` on the state as of `at` (time travel: folded from the log's checkpoints on a
    /// blocking thread, shared with the previous caller of the same instant), or on the live state.
    pub(crate) async fn read_at<T: Send + 'static>(
        &self,
        at: Option<Timestamp>,
        f: impl FnOnce(&Fold) -> T + Send + 'static,
    ) -> Result<T, crate::error::AppError> {
        match at {
            None => Ok(self.with_fold(f)),
            Some(t) => {
                let timeline = self.timeline.clone();
                let fold = tokio::task::spawn_blocking(move || timeline.as_of(t))
                    .await
                    .map_err(|e| crate::error::AppError::Internal(format!("time travel: {e}")))??;
                Ok(f(&fold))
            }
        }
    }
}

/// The overview of `region` in `fold` as shown at instant `now` (live: this server's clock; in a replay: the
/// replayed instant): the due dates before the day before merged (they are overdue on any day
/// a wall showing it can have).
pub(crate) fn overview_on(fold: &Fold, region: &str, now: Timestamp) -> yiping_protocol::topics::Overview {
    let mut o = fold.overview_of(region);
    o.projects = o.projects.for_days_from(now.beijing_date().plus_days(-1));
    o
}

/// A query's `at` (time travel) as an instant; a clear error naming the value when it is not one.
pub(crate) fn parse_at(at: Option<&str>) -> Result<Option<Timestamp>, crate::error::AppError> {
    at.map(|v| {
        Timestamp::parse(v).map_err(|e| crate::error::AppError::BadRequest(format!("query `at`: {v:?}: {e}")))
    })
    .transpose()
}

impl AppState {
    /// Read access to the fold.
    pub fn with_fold<T>(&self, f: impl FnOnce(&Fold) -> T) -> T {
        f(&self.fold.lock().or_poisoned())
    }
}
