//! The yiping aggregator.
//!
//! Data flows one way (DESIGN §1): sources (the [`simulator`]) → validation and [`fold`] → topic
//! streams in the [`hub`] → websocket fan-out ([`ws`]) → the wall app. The HTTP surface is in
//! [`web`]. [`serve`] wires them together; the `yiping` binary is a thin CLI over it.

pub mod error;
pub mod fold;
pub mod hub;
pub mod simulator;
pub mod stations;
pub mod web;
pub mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use yiping_protocol::topics::OVERVIEW;

use crate::fold::{Fold, Rejection, WaterReading};
use crate::hub::Hub;

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
}

/// Shared state of a running server.
#[derive(Debug)]
pub struct AppState {
    /// Topic streams.
    pub hub: Hub,
    fold: Mutex<Fold>,
    /// When the server started.
    pub started: Instant,
    /// Connected websocket clients.
    pub clients: AtomicUsize,
    /// Times a slow client was resynchronised with a snapshot.
    pub queue_resyncs: AtomicUsize,
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).expect("an OffsetDateTime always formats as RFC 3339")
}

impl AppState {
    /// A server state with a fresh epoch and an empty fold.
    pub fn new() -> AppState {
        let sections = stations::sections(&stations::counties());
        let fold = Fold::new(sections);
        let epoch = format!(
            "{:x}-{:04x}",
            OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000,
            rand::random::<u16>()
        );
        let initial = serde_json::to_value(fold.overview()).expect("overview serialises");
        let hub = Hub::new(epoch, &[OVERVIEW], &now_rfc3339(), &initial);
        AppState {
            hub,
            fold: Mutex::new(fold),
            started: Instant::now(),
            clients: AtomicUsize::new(0),
            queue_resyncs: AtomicUsize::new(0),
        }
    }

    /// Validate and fold one reading, then publish the new figures. A rejected reading changes
    /// nothing.
    pub fn ingest(&self, reading: &WaterReading) -> Result<(), Rejection> {
        let mut fold = self.fold.lock().unwrap_or_else(|p| p.into_inner());
        fold.apply(reading)?;
        let overview = serde_json::to_value(fold.overview()).expect("overview serialises");
        // Published under the fold lock so the stream's order is the fold's order.
        self.hub.publish(OVERVIEW, &reading.time, overview.clone(), overview);
        Ok(())
    }
}

impl Default for AppState {
    fn default() -> Self {
        AppState::new()
    }
}

/// Run the simulator against `state` until the task is dropped.
pub async fn run_simulator(state: Arc<AppState>, seed: u64) {
    let sections = state.fold.lock().unwrap_or_else(|p| p.into_inner()).sections().to_vec();
    let mut sim = simulator::Simulator::new(seed, sections);
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        every.tick().await;
        for r in sim.tick(OffsetDateTime::now_utc()) {
            if let Err(e) = state.ingest(&r) {
                tracing::error!(id = r.id, "simulator produced an invalid reading: {e}");
            }
        }
    }
}

/// Bind `config.addr` and serve until `shutdown` resolves. Returns the bound address through
/// `bound` as soon as the socket listens (useful with port 0).
pub async fn serve(
    config: Config,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the data folder {}: {e}", config.data_dir.display()))?;
    let state = Arc::new(AppState::new());
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, epoch = state.hub.epoch(), data = %config.data_dir.display(), "yiping is serving");
    if let Some(tx) = bound {
        let _ = tx.send(addr);
    }
    let sim = config.simulator.then(|| tokio::spawn(run_simulator(state.clone(), config.seed)));
    let result = axum::serve(listener, web::router(state)).with_graceful_shutdown(shutdown).await;
    if let Some(sim) = sim {
        sim.abort();
    }
    result.map_err(Into::into)
}
