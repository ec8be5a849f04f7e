//! Running the server: its configuration, the loops that run beside the HTTP server (the hub's
//! flusher, the alert clock, the simulator), and [`serve`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use time::OffsetDateTime;
use yiping_protocol::instant::Timestamp;

use crate::state::{AppState, LogOptions};
use crate::store::Located;
use crate::sync::OrPoisoned;
use crate::{alerts, auth, fanout, simulator, web};

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
    /// The root region, the regions under it, and the monitoring sections.
    pub places: Arc<crate::places::Places>,
    /// The wall's title (None: the root region's name and 一屏全览).
    pub title: Option<String>,
    /// A NATS server with JetStream: the log is its stream ([`crate::cluster`]) and sources may
    /// publish on it ([`crate::nats`]); None: the log is this node's SQLite file.
    pub nats: Option<String>,
    /// Copies of the log stream (NATS servers that keep it): 1, or 3 in a cluster.
    pub nats_replicas: usize,
    /// Threads of the websocket connections' own runtime (None: [`fanout_threads`]).
    pub fanout_threads: Option<usize>,
}

/// Threads the websocket connections run on unless configured: half the machine's cores, at
/// least one.
///
/// The connections, the hub's flusher and the fan-out's sweepers run on a runtime of their own,
/// beside the one that serves HTTP, ingest and the API. A sweeper per thread writes each frame
/// to the up-to-date connections of its part of the lists itself (see `fanout`), one round at a
/// time; the connections' tasks, on any of the runtime's threads, answer their clients and catch
/// up the ones that fell behind. On a shared runtime an ingest request waited behind those (the
/// flusher's frames were 40–100 ms late when every frame woke every connection's task). The
/// sockets stay registered with the main runtime's reactor (hyper upgrades them there): it only
/// tells the tasks when a socket is ready.
///
/// Fewer threads than cores by default, because writing to sockets is mostly the kernel's work
/// and the other cores are wanted by ingest, the fold, the API and, on loopback, the kernel's
/// receiving side. Measured on 2 cores with the peer harness's load generator beside the server
/// (`scripts/peers-fanout.sh`, 10,000 clients × 50 events/s, alternated runs): when each frame
/// woke each connection's task, p99 139–339 ms (median about 200 over 24 runs) on one fan-out
/// thread, 232–448 ms on two, 198–780 ms (median about 510 over 13 runs) on the shared runtime;
/// with the sweep, in one sitting, p99 93–114 ms on one thread (6 runs) and 122–172 ms on two
/// sweepers (2 runs), whose writes then compete with the load generator for the same two cores
/// (83–116 ms on one thread over 19 runs in two sittings). A server whose clients are elsewhere
/// may want more: `fanout_threads`.
pub fn fanout_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
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

/// Run the simulator against `state` until the task is dropped: one step a second.
pub async fn run_simulator(state: Arc<AppState>, seed: u64, speed: f64) {
    let mut sim = simulator::Simulator::new(seed, speed, state.places.clone(), OffsetDateTime::now_utc());
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // With the log on NATS, one node simulates: the one that ticks the alert clock.
        if state.cluster.get().is_some_and(|c| !c.holds_clock()) {
            continue;
        }
        let mut batch = Vec::new();
        for e in sim.step(OffsetDateTime::now_utc(), 1.0) {
            match state.places.locate(&e) {
                Ok(adcode) => batch.push(Located::new(e, adcode)),
                Err(err) => {
                    tracing::error!(id = e.id, "simulator produced an event outside the region: {err}")
                }
            }
        }
        if !batch.is_empty()
            && let Err(e) = state.submit(batch, true).await
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
    let cluster = match &config.nats {
        Some(url) => Some(Arc::new(crate::cluster::Cluster::connect(url, config.nats_replicas).await?)),
        None => None,
    };
    let state = crate::startup::rebuild(
        &config.data_dir,
        config.log,
        config.rules,
        config.access,
        config.places,
        config.title,
        cluster.as_ref().map(|c| c.epoch()),
    )?;
    state.clock.set(config.clock);
    let applier = match &cluster {
        Some(c) => {
            let _ = state.cluster.set(c.clone());
            let from = state.reader.lock().or_poisoned().stream_position()?.map_or(0, |(_, seq)| seq);
            tracing::info!(from, "applying the log stream after this node's last applied message");
            Some(tokio::spawn(crate::cluster::apply(state.clone(), c.clone(), from)))
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;
    let _ = state.local_addr.set(addr);
    tracing::info!(%addr, data = %config.data_dir.display(), "yiping is serving");
    if let Some(tx) = bound {
        let _ = tx.send(addr);
    }
    // The websocket connections' runtime (see [`fanout_threads`]); let go when serving ends,
    // however it ends.
    let threads = config.fanout_threads.unwrap_or_else(fanout_threads).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("yiping-fanout")
        .enable_all()
        .build()?;
    let _ = state.fanout.set(runtime.handle().clone());
    // The flusher makes the frames; a sweeper per thread writes them to its part of the
    // connections itself (see `fanout`): on their runtime, and out of tokio's cooperative
    // budget, which would otherwise refuse every write of a sweep after its first 128 (the
    // writes never wait, so the budget has nothing to share out).
    let (rounds, round) = fanout::rounds();
    let mut fanout_tasks = vec![runtime.spawn({
        let state = state.clone();
        async move { fanout::flush(&state.hub, rounds).await }
    })];
    // More sweepers than lists would have nothing to sweep.
    let sweepers = threads.min(fanout::SHARDS);
    for part in 0..sweepers {
        let (state, round) = (state.clone(), round.clone());
        fanout_tasks.push(runtime.spawn(async move {
            let counted = |swept: fanout::Swept| {
                use std::sync::atomic::Ordering::Relaxed;
                state.metrics.ws_frames.fetch_add(swept.frames, Relaxed);
                state.metrics.ws_frames_direct.fetch_add(swept.frames, Relaxed);
                state.metrics.ws_handed.fetch_add(swept.kicked, Relaxed);
            };
            tokio::task::unconstrained(fanout::sweep(&state.conns, round, part, sweepers, counted)).await;
        }));
    }
    let fanout = Fanout(Some(runtime));
    // The walls' map pack is made now, beside the first requests, not by the first wall's
    // (release builds: a debug build, as in tests, makes it when first asked).
    #[cfg(not(debug_assertions))]
    drop(tokio::task::spawn_blocking({
        let places = state.places.clone();
        move || {
            places.map_pack();
        }
    }));
    let clock = match &cluster {
        Some(c) => tokio::spawn(crate::cluster::run_clock(state.clone(), c.clone())),
        None => tokio::spawn(run_alert_clock(state.clone())),
    };
    let proposer = cluster.as_ref().map(|c| tokio::spawn(crate::cluster::run_proposals(c.clone())));
    let seeder =
        cluster.as_ref().map(|c| tokio::spawn(crate::seed::run_seeding(c.clone(), config.data_dir.clone())));
    let sim = config.simulator.then(|| tokio::spawn(run_simulator(state.clone(), config.seed, config.speed)));
    let nats = config.nats.map(|url| tokio::spawn(crate::nats::run(state.clone(), url)));
    let timeline = state.timeline.clone();
    let checkpointer = std::thread::Builder::new()
        .name("yiping-checkpointer".into())
        .spawn(move || timeline.run_checkpointer())?;
    let timeline = state.timeline.clone();
    let app = web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    timeline.stop();
    let _ = tokio::task::spawn_blocking(move || checkpointer.join()).await;
    clock.abort();
    if let Some(sim) = sim {
        sim.abort();
    }
    if let Some(nats) = nats {
        nats.abort();
    }
    for task in [applier, proposer, seeder].into_iter().flatten() {
        task.abort();
    }
    for task in fanout_tasks {
        task.abort();
    }
    drop(fanout);
    result.map_err(Into::into)
}

/// The connections' runtime, let go without waiting for its tasks when dropped (an error, the
/// end of serving, or a caller that drops `serve`'s future): a runtime dropped in the usual way
/// waits for its threads, which an async context must not do.
struct Fanout(Option<tokio::runtime::Runtime>);

impl Drop for Fanout {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
