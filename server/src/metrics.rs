//! Counters exposed at `GET /metrics` in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a running server.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Events stored.
    pub accepted: AtomicU64,
    /// Events received again (same source and id).
    pub duplicates: AtomicU64,
    /// Lines refused.
    pub rejected: AtomicU64,
    /// Ingest requests answered 503 because the writer queue was full.
    pub busy: AtomicU64,
    /// Ingest requests answered 429 because their source was over its rate limit.
    pub rate_limited: AtomicU64,
    /// Log transactions committed.
    pub commits: AtomicU64,
    /// Time spent committing, microseconds.
    pub commit_micros: AtomicU64,
    /// Syncs of the log's file that commits waited for (see `Store::defer_sync`).
    pub syncs: AtomicU64,
    /// Time spent waiting for them, microseconds.
    pub sync_micros: AtomicU64,
    /// Time spent folding committed events and publishing their deltas, microseconds.
    pub fold_micros: AtomicU64,
    /// Snapshots of the fold saved.
    pub snapshots: AtomicU64,
    /// Time the folder spent copying the fold for them, microseconds (folding waits meanwhile;
    /// writing them out does not).
    pub snapshot_copy_micros: AtomicU64,
    /// Times a slow websocket client was resynchronised with a snapshot.
    pub ws_resyncs: AtomicU64,
    /// Websocket frames sent.
    pub ws_frames: AtomicU64,
    /// Websocket frames the fan-out wrote itself (also in `ws_frames`).
    pub ws_frames_direct: AtomicU64,
    /// Times the fan-out left a connection's frames to its task (the client was behind, not
    /// reading, being answered, or has a scope).
    pub ws_handed: AtomicU64,
    /// Alert steps stored by the rules and by people.
    pub alert_steps: AtomicU64,
}

impl Metrics {
    /// Render in the Prometheus text exposition format, with `clients` connected now.
    pub fn render(&self, clients: usize, uptime_s: u64) -> String {
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter("yiping_events_accepted_total", "Events stored in the log.", g(&self.accepted));
        counter(
            "yiping_events_duplicate_total",
            "Events received again and not stored twice.",
            g(&self.duplicates),
        );
        counter("yiping_events_rejected_total", "Event lines refused with an error.", g(&self.rejected));
        counter(
            "yiping_ingest_busy_total",
            "Ingest requests refused with 503 because the writer was busy.",
            g(&self.busy),
        );
        counter(
            "yiping_ingest_rate_limited_total",
            "Ingest requests refused with 429 because their source was over its rate limit.",
            g(&self.rate_limited),
        );
        counter("yiping_log_commits_total", "Event-log transactions committed.", g(&self.commits));
        counter(
            "yiping_log_commit_microseconds_total",
            "Time spent committing, microseconds.",
            g(&self.commit_micros),
        );
        counter(
            "yiping_log_syncs_total",
            "Syncs of the event log's file to disk, each covering the commits made before it.",
            g(&self.syncs),
        );
        counter(
            "yiping_log_sync_microseconds_total",
            "Time spent waiting for the event log's syncs, microseconds.",
            g(&self.sync_micros),
        );
        counter(
            "yiping_fold_microseconds_total",
            "Time spent folding and publishing committed events, microseconds.",
            g(&self.fold_micros),
        );
        counter("yiping_snapshots_total", "Snapshots of the fold saved to the log.", g(&self.snapshots));
        counter(
            "yiping_snapshot_copy_microseconds_total",
            "Time spent copying the fold for snapshots, during which nothing is folded, microseconds.",
            g(&self.snapshot_copy_micros),
        );
        counter(
            "yiping_ws_resyncs_total",
            "Slow websocket clients resynchronised with a snapshot.",
            g(&self.ws_resyncs),
        );
        counter("yiping_ws_frames_total", "Websocket frames sent.", g(&self.ws_frames));
        counter(
            "yiping_ws_frames_direct_total",
            "Websocket frames the fan-out wrote itself, waking no connection's task.",
            g(&self.ws_frames_direct),
        );
        counter(
            "yiping_ws_handed_total",
            "Times the fan-out left a connection's frames to its task: behind, not reading, being answered, or scoped.",
            g(&self.ws_handed),
        );
        counter("yiping_alert_steps_total", "Alert steps stored in the audit trail.", g(&self.alert_steps));
        let _ = writeln!(
            s,
            "# HELP yiping_ws_clients Websocket clients connected.\n# TYPE yiping_ws_clients gauge\nyiping_ws_clients {clients}"
        );
        let _ = writeln!(
            s,
            "# HELP yiping_uptime_seconds Seconds since start.\n# TYPE yiping_uptime_seconds gauge\nyiping_uptime_seconds {uptime_s}"
        );
        s
    }
}
