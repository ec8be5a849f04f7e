//! The ingest pipeline: NDJSON lines → checked, placed events → one writer that commits them to the
//! log (group commit) → fold → topic streams. A batch is acknowledged only after its transaction
//! committed; every source (HTTP, file import, the simulator) goes through [`Ingestor::submit`].
//!
//! The writer is one thread that owns the log. Batches wait in a bounded queue; when it is full
//! the HTTP layer answers 503 with `Retry-After` instead of buffering without bound.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use yiping_protocol::events::{Envelope, FieldError, parse_line};
use yiping_protocol::topics::OVERVIEW;

use crate::store::{Appended, Located, Store, StoreError};
use crate::{AppState, LogOptions};

/// Batches that may wait for the writer.
pub const QUEUE_BATCHES: usize = 64;
/// Longest line accepted, bytes.
pub const MAX_LINE_BYTES: usize = 256 * 1024;
/// Events the writer commits in one transaction at most.
const GROUP_EVENTS: usize = 50_000;

struct Job {
    events: Vec<Located>,
    reply: oneshot::Sender<Result<Vec<Appended>, String>>,
}

/// A handle to the writer.
#[derive(Debug, Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Job({} events)", self.events.len())
    }
}

/// Why a batch was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The writer's queue is full: try again shortly.
    #[error("the server is busy: too many batches are waiting to be written")]
    Busy,
    /// The log failed or the writer stopped.
    #[error("the event log failed: {0}")]
    Failed(String),
}

impl Ingestor {
    /// Start the writer thread over `store`, folding into `state`; `snapshot_at` is the gseq of
    /// the latest snapshot.
    pub fn start(store: Store, state: Arc<AppState>, log: LogOptions, snapshot_at: u64) -> Ingestor {
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        std::thread::Builder::new()
            .name("yiping-writer".into())
            .spawn(move || writer(store, state, rx, log, snapshot_at))
            .expect("the writer thread starts");
        Ingestor { tx }
    }

    /// Commit `events` and fold them; resolves once they are durable. Fails fast with
    /// [`SubmitError::Busy`] when the queue is full.
    pub async fn submit(&self, events: Vec<Located>) -> Result<Vec<Appended>, SubmitError> {
        let (reply, rx) = oneshot::channel();
        self.tx.try_send(Job { events, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Failed("the writer has stopped".into()),
        })?;
        rx.await
            .map_err(|_| SubmitError::Failed("the writer has stopped".into()))?
            .map_err(SubmitError::Failed)
    }

    /// Like [`Ingestor::submit`] but waits for room in the queue (for the simulator and imports).
    pub async fn submit_wait(&self, events: Vec<Located>) -> Result<Vec<Appended>, SubmitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { events, reply })
            .await
            .map_err(|_| SubmitError::Failed("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| SubmitError::Failed("the writer has stopped".into()))?
            .map_err(SubmitError::Failed)
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("an OffsetDateTime always formats as RFC 3339")
}

/// Save a snapshot of the fold at the log's head, then apply retention.
fn upkeep(store: &Store, state: &AppState, log: LogOptions) -> Result<u64, StoreError> {
    let gseq = store.last_gseq();
    let body = {
        let fold = state.fold.lock().unwrap_or_else(|p| p.into_inner());
        serde_json::to_string(&fold.to_snapshot()).expect("the fold serialises")
    };
    store.save_snapshot(gseq, store.topic_seqs(), &body)?;
    if let Some(days) = log.retain_days {
        let cutoff = (time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(days)))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("an OffsetDateTime always formats as RFC 3339");
        let n = store.prune(&cutoff)?;
        if n > 0 {
            tracing::info!(deleted = n, days, "retention: old events deleted (a snapshot covers them)");
        }
    }
    Ok(gseq)
}

fn writer(
    mut store: Store,
    state: Arc<AppState>,
    mut rx: mpsc::Receiver<Job>,
    log: LogOptions,
    mut snapshot_at: u64,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        let mut n = jobs[0].events.len();
        while n < GROUP_EVENTS {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.events.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let all: Vec<Located> = jobs.iter().flat_map(|j| j.events.iter().cloned()).collect();
        let t0 = Instant::now();
        let result: Result<Vec<Appended>, StoreError> = store.append(&all, &now_rfc3339());
        let commit = t0.elapsed();
        match result {
            Ok(places) => {
                state.metrics.commits.fetch_add(1, Ordering::Relaxed);
                state
                    .metrics
                    .commit_micros
                    .fetch_add(u64::try_from(commit.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
                state.fold_and_publish(&all, &places);
                let mut it = places.into_iter();
                for j in jobs {
                    let mine: Vec<Appended> = it.by_ref().take(j.events.len()).collect();
                    let _ = j.reply.send(Ok(mine));
                }
                if store.last_gseq() >= snapshot_at + log.snapshot_every {
                    match upkeep(&store, &state, log) {
                        Ok(g) => snapshot_at = g,
                        Err(e) => {
                            tracing::error!("snapshot failed (the log is intact; start-up replays more): {e}")
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!("event log append failed: {e}");
                for j in jobs {
                    let _ = j.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// The outcome of one line of an NDJSON batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum LineResult {
    /// Stored now.
    Accepted {
        /// 1-based line number in the body.
        line: usize,
        /// The event's id.
        id: String,
        /// Its theme topic.
        topic: String,
        /// Its seq in that topic.
        seq: u64,
    },
    /// Stored earlier (same source and id): not stored again.
    Duplicate {
        /// 1-based line number.
        line: usize,
        /// The event's id.
        id: String,
    },
    /// Refused; nothing of it was stored.
    Rejected {
        /// 1-based line number.
        line: usize,
        /// Field at fault (JSON path, `-` for the whole line).
        field: String,
        /// The value as received.
        value: String,
        /// What is wrong.
        error: String,
    },
}

/// Parse, check and place the lines of an NDJSON body for `source`. Blank lines are skipped.
/// Returns the events to store (with their line numbers) and the rejections.
pub fn check_lines(
    body: &str,
    source: &str,
    places: &crate::places::Places,
) -> (Vec<(usize, Located)>, Vec<LineResult>) {
    let mut ok = Vec::new();
    let mut rejected = Vec::new();
    for (i, raw) in body.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let reject = |e: FieldError| LineResult::Rejected {
            line: line_no,
            field: e.field,
            value: e.value,
            error: e.message,
        };
        if line.len() > MAX_LINE_BYTES {
            rejected.push(reject(FieldError {
                field: "-".into(),
                value: String::new(),
                message: format!("line is {} bytes, longer than the limit of {MAX_LINE_BYTES}", line.len()),
            }));
            continue;
        }
        let checked = parse_line(line).and_then(|mut e: Envelope| {
            match &e.source {
                Some(s) if s != source => {
                    return Err(FieldError {
                        field: "source".into(),
                        value: format!("{s:?}"),
                        message: format!("does not match the token's source {source:?}"),
                    });
                }
                _ => e.source = Some(source.to_owned()),
            }
            let adcode = places.locate(&e)?;
            Ok(Located { event: e, adcode })
        });
        match checked {
            Ok(l) => ok.push((line_no, l)),
            Err(e) => rejected.push(reject(e)),
        }
    }
    (ok, rejected)
}

impl AppState {
    /// Fold newly stored events and publish their deltas, then one overview update.
    pub(crate) fn fold_and_publish(&self, events: &[Located], places: &[Appended]) {
        let mut fold = self.fold.lock().unwrap_or_else(|p| p.into_inner());
        let mut any = false;
        for (l, a) in events.iter().zip(places) {
            match a {
                Appended::New { tseq, .. } => {
                    let change = fold.apply(&l.event, &l.adcode);
                    let seq = self.hub.publish(change.topic, &l.event.time, &change.delta);
                    debug_assert_eq!(seq, *tseq, "topic seq follows the log");
                    self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
                    any = true;
                }
                Appended::Duplicate { .. } => {
                    self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if any {
            let time = fold.last_time().map_or_else(now_rfc3339, str::to_owned);
            self.hub.publish(OVERVIEW, &time, &fold.overview());
        }
    }
}
