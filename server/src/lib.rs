//! The yiping aggregator.
//!
//! Data flows one way (DESIGN §1): sources (HTTP ingest, file import, the [`simulator`]) →
//! validation and placement ([`places`]) → the durable event log ([`store`], through the one
//! writer in [`ingest`]) → the [`fold`] (state and region aggregates) → topic streams in the
//! [`hub`] → websocket fan-out ([`ws`]) → the wall app. The HTTP surface is in [`web`] and
//! [`api`]. On start the fold is rebuilt by replaying the log, so a restarted server shows the same
//! figures and clients resume their streams where they left off.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod error;
pub mod fold;
pub mod hub;
pub mod ingest;
pub mod metrics;
pub mod places;
pub mod session;
pub mod simulator;
pub mod stations;
pub mod store;
pub mod sync;
pub mod trail;
pub mod web;
pub mod ws;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use time::OffsetDateTime;
use yiping_protocol::ResumePoint;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{self, OVERVIEW};

use crate::fold::Fold;
use crate::hub::{Hub, Subscription};
use crate::ingest::Ingestor;
use crate::places::Places;
use crate::store::{Located, Store};
use crate::sync::OrPoisoned;

/// What `yiping serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Folder for the server's files.
    pub data_dir: PathBuf,
    /// Run the built-in simulator.
    pub simulator: bool,
    /// Simulator seed.
    pub seed: u64,
    /// Simulator speed (activity multiplier).
    pub speed: f64,
    /// Log upkeep: snapshots and retention.
    pub log: LogOptions,
    /// Alert rules.
    pub rules: alerts::Rules,
    /// Who may do what without and with a login.
    pub access: auth::Access,
    /// A fixed clock (demonstrations and tests); `None`: the system clock.
    pub clock: Option<Timestamp>,
}

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
    pub(crate) fold: Mutex<Fold>,
    /// Counties, prefectures, sections.
    pub places: Arc<Places>,
    /// A read connection to the log (history, tokens).
    pub(crate) reader: Mutex<Store>,
    ingestor: OnceLock<Ingestor>,
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
    /// The clock.
    pub clock: Clock,
    /// How the log is kept and what it accepts.
    pub log: LogOptions,
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

    /// Open with the default rules and access settings.
    pub fn open_with(data_dir: &Path, log: LogOptions) -> anyhow::Result<Arc<AppState>> {
        AppState::open_full(data_dir, log, alerts::Rules::default(), auth::Access::default())
    }

    /// Open the log in `data_dir`, rebuild the state from its latest snapshot and the events after
    /// it, and start the writer.
    pub fn open_full(
        data_dir: &Path,
        log: LogOptions,
        rules: alerts::Rules,
        access: auth::Access,
    ) -> anyhow::Result<Arc<AppState>> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create the data folder {}: {e}", data_dir.display()))?;
        let places = Arc::new(Places::hubei());
        let store = Store::open(data_dir)?;
        let reader = Store::open(data_dir)?;
        let t0 = Instant::now();
        let epoch = store.epoch().to_owned();
        // The overview is recomputed, not logged: its stream is per server run.
        let run = format!("{:x}", OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000);
        let snapshot = store.latest_snapshot()?;
        let (after, mut fold, start_seqs) = match snapshot {
            Some((gseq, seqs, body)) => match fold::FoldSnapshot::read(&body) {
                Some(snap) => (gseq, Fold::from_snapshot(places.clone(), snap), seqs),
                None => {
                    // A snapshot of an older format: replay the whole log, if it is still whole.
                    if store.first_gseq()?.is_some_and(|g| g > 1) {
                        anyhow::bail!(
                            "event log: the snapshot at event {gseq} is of an older format and retention \
                             has deleted the events before it, so the state cannot be rebuilt"
                        );
                    }
                    (0, Fold::new(places.clone()), Default::default())
                }
            },
            None => (0, Fold::new(places.clone()), Default::default()),
        };
        let mut streams = vec![(OVERVIEW, format!("{epoch}.{run}"), 0)];
        for (t, _) in topics::ALL.iter().skip(1) {
            streams.push((*t, epoch.clone(), start_seqs.get(*t).copied().unwrap_or(0)));
        }
        // Alerts come from the trail, not the event log: a fresh stream per run, like the overview.
        streams.push((topics::ALERTS, format!("{epoch}.{run}.alerts"), 0));
        let hub = Hub::new(&streams);
        fold.expected_s = rules.freshness.by_topic();
        let trail = trail::Trail::open(data_dir)?;
        let mut book = alerts::Book::new(rules, places.clone());
        book.seed(&fold.entity_states());
        // Deltas older than the resume window can never be sent: fold them quietly.
        let window = hub::RESUME_WINDOW as u64;
        let keep_from =
            |topic: &str| store.topic_seqs().get(topic).map_or(0, |last| last.saturating_sub(window));
        let replayed = store.replay_with_voids(
            after,
            |ev| {
                let change = if ev.tseq <= keep_from(&ev.topic) {
                    let change = fold.apply_quiet(&ev.event, &ev.adcode);
                    hub.skip(change.topic);
                    change
                } else {
                    let change = fold.apply(&ev.event, &ev.adcode);
                    let time = fold.topic_time_text(change.topic);
                    hub.publish(change.topic, &time, &change.delta);
                    change
                };
                // The rules learn the state the wall shows: not from a late report.
                if change.newest {
                    book.learn(&ev.event, &ev.adcode);
                }
            },
            |topic| {
                hub.skip(topic);
            },
        )?;
        for (t, seq) in store.topic_seqs() {
            if t != OVERVIEW && hub.seq(t) != *seq {
                anyhow::bail!("event log: topic {t} replayed to seq {} but the log says {seq}", hub.seq(t));
            }
        }
        let mut restored = 0;
        trail.scan(&trail::Filter { action_prefix: Some("alert.".into()), ..Default::default() }, |e| {
            book.apply(&e);
            restored += 1;
            true
        })?;
        tracing::info!(
            alert_steps = restored,
            events = replayed,
            ms = t0.elapsed().as_millis() as u64,
            "state rebuilt from the event log"
        );
        let state = Arc::new(AppState {
            hub,
            fold: Mutex::new(fold),
            places,
            reader: Mutex::new(reader),
            ingestor: OnceLock::new(),
            metrics: metrics::Metrics::default(),
            started: Instant::now(),
            clients: AtomicUsize::new(0),
            ingest_slots: Arc::new(tokio::sync::Semaphore::new(api::MAX_INGEST_REQUESTS)),
            trail: Mutex::new(trail),
            book: Mutex::new(book),
            access,
            limiter: auth::Limiter::default(),
            clock: Clock::default(),
            log,
        });
        let ingestor = Ingestor::start(store, state.clone(), log, after);
        state.ingestor.set(ingestor).expect("the ingestor is set once, here");
        Ok(state)
    }

    /// The ingest pipeline.
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
        let mut o = fold.overview();
        o.projects = o.projects.for_days_from(self.clock.now().beijing_date().plus_days(-1));
        o
    }

    /// Read access to the fold.
    pub fn with_fold<T>(&self, f: impl FnOnce(&Fold) -> T) -> T {
        f(&self.fold.lock().or_poisoned())
    }
    /// Store the book's proposed steps in the trail (one transaction), apply them, and publish
    /// the alerts they changed. Called with the book locked, so trail order is topic order.
    pub(crate) fn commit_alerts(
        &self,
        book: &mut alerts::Book,
        pending: &[alerts::Pending],
    ) -> Result<Vec<yiping_protocol::alerts::Alert>, store::StoreError> {
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let time = self.clock.now().to_string();
        let entries: Vec<trail::NewEntry> = pending.iter().map(|p| p.entry(&time)).collect();
        let seqs = self.trail.lock().or_poisoned().append_all(&entries)?;
        let mut changed: Vec<yiping_protocol::alerts::Alert> = Vec::new();
        for (n, seq) in entries.into_iter().zip(seqs) {
            let e = n.stored(seq);
            if let Some(a) = book.apply(&e) {
                changed.retain(|c| c.id != a.id);
                changed.push(a.clone());
            }
        }
        self.hub.publish(
            topics::ALERTS,
            &time,
            &yiping_protocol::alerts::AlertsData { alerts: changed.clone() },
        );
        self.metrics.alert_steps.fetch_add(pending.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(changed)
    }

    /// Record a write in the audit trail (its time is now); refuses the write if it cannot be.
    pub(crate) fn audit(&self, mut e: trail::NewEntry) -> Result<u64, store::StoreError> {
        if e.time.is_empty() {
            e.time = self.clock.now().to_string();
        }
        if e.body.is_null() {
            e.body = serde_json::json!({});
        }
        self.trail.lock().or_poisoned().append(&e)
    }

    /// Run the alert rules' clock: time-driven rules and escalation.
    pub fn alert_tick(&self) {
        let mut book = self.book.lock().or_poisoned();
        let pending = book.tick(self.clock.now());
        if let Err(e) = self.commit_alerts(&mut book, &pending) {
            tracing::error!("alert steps not stored: {e}");
        }
    }
}

/// How often the time-driven alert rules run.
pub const ALERT_TICK: std::time::Duration = std::time::Duration::from_secs(5);

/// Run the alert rules' clock until the task is dropped.
pub async fn run_alert_clock(state: Arc<AppState>) {
    let mut every = tokio::time::interval(ALERT_TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let s = state.clone();
        let _ = tokio::task::spawn_blocking(move || s.alert_tick()).await;
    }
}

/// Send each topic's new deltas to its subscribers, one shared frame per tick.
pub async fn run_ticker(state: Arc<AppState>) {
    let mut every = tokio::time::interval(hub::TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        state.hub.flush();
    }
}

/// Run the simulator against `state` until the task is dropped: one step a second.
pub async fn run_simulator(state: Arc<AppState>, seed: u64, speed: f64) {
    let mut sim = simulator::Simulator::new(seed, speed, state.places.clone(), OffsetDateTime::now_utc());
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let mut batch = Vec::new();
        for e in sim.step(OffsetDateTime::now_utc(), 1.0) {
            match state.places.locate(&e) {
                Ok(adcode) => batch.push(Located { event: e, adcode }),
                Err(err) => {
                    tracing::error!(id = e.id, "simulator produced an event outside the region: {err}")
                }
            }
        }
        if !batch.is_empty()
            && let Err(e) = state.ingestor().submit_wait(batch).await
        {
            tracing::error!("simulator batch not stored: {e}");
        }
    }
}

/// Bind `config.addr` and serve until `shutdown` resolves. Sends the bound address through `bound`
/// as soon as the socket listens (useful with port 0).
pub async fn serve(
    config: Config,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::open_full(&config.data_dir, config.log, config.rules, config.access)?;
    state.clock.set(config.clock);
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data = %config.data_dir.display(), "yiping is serving");
    if let Some(tx) = bound {
        let _ = tx.send(addr);
    }
    let ticker = tokio::spawn(run_ticker(state.clone()));
    let clock = tokio::spawn(run_alert_clock(state.clone()));
    let sim = config.simulator.then(|| tokio::spawn(run_simulator(state.clone(), config.seed, config.speed)));
    let app = web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    clock.abort();
    if let Some(sim) = sim {
        sim.abort();
    }
    ticker.abort();
    result.map_err(Into::into)
}
