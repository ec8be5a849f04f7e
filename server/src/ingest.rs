//! The ingest pipeline: NDJSON lines → checked, placed events → one writer that commits them to the
//! log (group commit) → sync → fold → topic streams. A batch is folded and acknowledged only once
//! its transaction is on disk; every source (HTTP, file import, the simulator) goes through
//! [`Ingestor::submit`].
//!
//! The writer is one thread that owns the log. Batches wait in a bounded queue; when it is full
//! the HTTP layer answers 503 with `Retry-After` instead of buffering without bound. Three more
//! threads work beside it: the folder (sync, fold, publish, answer), the checkpointer (copies
//! the write-ahead log into the database, which SQLite would otherwise do inside a commit), and
//! the snapshot thread (writes out the copies of the fold the folder takes now and then: folding
//! waits for a copy, not for its serialising and saving).
//!
//! The writer commits without waiting for the disk ([`Store::defer_sync`]) and goes on with the
//! next group while the folder waits for it: one `fdatasync` of the write-ahead log, begun after
//! the writer's last commit, covers every group committed so far (session 30: 156–238k events/s
//! against 145–230k with commits that waited for the disk themselves, faster in 17 of 20 pairs).
//!
//! Measured with `bench ingest` (240,000 events in batches of 1,000 from 4 producers, 2 cores; 4
//! runs alternated with the build before the log's 16 KiB pages and the fold's savings of
//! session 32, in one sitting at load 1.0–1.8): new patrols, each a new entity, 236–293k
//! events/s in process (before: 195–245k), ack p99 26–31 ms (35–45); over HTTP 198–226k (before:
//! 185–231k: there the server's request handling, on the other core, bounds it as much as the
//! writer). The writer's CPU, 3.1–3.6 µs an event (SQLite's inserts into the table and its
//! three indexes), bounds the pipeline. A feed shaped like monitoring data (`bench ingest`'s
//! second workload: the next reports of 5,000 villages) runs at 66–89k events/s (before: 54–66k):
//! a commit rewrites a page of each index per event, and folding an entity's report costs about
//! as much as storing it.
//!
//! Since session 36 the log's indexes by event time and by entity are kept beside it by a fifth
//! thread ([`crate::logindex`]) in passes of many events, and the writer stores only the table
//! and its `(source, id)` uniqueness. On this machine that day (about half as fast as in session
//! 32), alternated with the build before, in one sitting: `bench append`, the writer alone, 6.1–
//! 7.6 µs per new patrol against 11.4 with both indexes in the table, 18.7–24.4 per village
//! report against 52.5, the indexer then 1.9–4.0 µs per event on the other core; `bench ingest
//! pipeline`, village reports 46–47k events/s against 25–33k (ack p50 76–81 ms against
//! 117–137), new patrols 103–123k against 111–116k; `bench ingest http` (new patrols, 6 runs
//! each) 102–115k events/s against 92–108k, ack p50 31–38 ms against 34–42, but ack p99 81–164
//! ms against 64–94. Not for the indexer's CPU (session 37: the thread at nice 10 made the p99
//! worse) but most likely for its checkpoint syncs, which share the disk with the log's: over
//! 150 s at 60,000 events/s (`bench ingest rate 60000 150`, three runs each) the p99 of each
//! 10 s sits at about 40–60 ms against 26–32, while the build before has rarer, larger bursts
//! (109–653 ms; overall p99 53–117 against 81–235). Both cores are busy, so what the writer
//! saves on a new entity the indexer mostly spends; on a feed that reports the same entities
//! again and again, as monitoring does, the saving is the larger.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use yiping_protocol::events::{Envelope, FieldError, parse_line};
use yiping_protocol::instant::Timestamp;

use crate::now_rfc3339;
use crate::store::{Appended, Located, Part, Store, StoreError};
use crate::sync::OrPoisoned;
use crate::{AppState, LogOptions};

/// Batches that may wait for the writer.
pub const QUEUE_BATCHES: usize = 64;
/// Longest line accepted, bytes.
pub const MAX_LINE_BYTES: usize = 256 * 1024;
/// Events the writer commits in one transaction at most.
const GROUP_EVENTS: usize = 50_000;

struct Job {
    events: Vec<Located>,
    /// Taken from the log stream ([`crate::cluster`]); `None`: received here, now.
    logged: Option<Logged>,
    /// Who sent them, for the audit entry the writer stores with them.
    sender: Option<Sender>,
    reply: oneshot::Sender<Result<Vec<Appended>, String>>,
}

/// Who sent a batch: its audit entry ([`Sender::entry`]) is written in the transaction that
/// stores the batch (one commit, and the writer's own: a second connection's commit would wait
/// for the writer's lock and hold it in turn).
#[derive(Debug, Clone)]
pub struct Sender {
    /// The source (from its token or subject).
    pub source: String,
    /// Where the batch came from (a client's address, or `nats`).
    pub addr: String,
    /// Lines of the batch refused before the writer.
    pub rejected: usize,
    /// From a NATS ingest stream: the message's sequence and delivery.
    pub nats: Option<(u64, i64)>,
}

impl Sender {
    /// The audit entry of its batch (one HTTP body or NATS message), given where the log put its
    /// events (none: every line was refused): which source, from where, how much (the events
    /// themselves are in the log with their source and time of receipt).
    pub fn entry(&self, stored: &[Appended]) -> crate::trail::NewEntry {
        let accepted = stored.iter().filter(|a| matches!(a, Appended::New { .. })).count();
        let (duplicates, rejected) = (stored.len() - accepted, self.rejected);
        let mut entry = crate::trail::NewEntry {
            actor: format!("source:{}", self.source),
            addr: self.addr.clone(),
            action: "ingest".into(),
            target: self.source.clone(),
            comment: format!("{accepted} accepted, {duplicates} duplicate, {rejected} rejected"),
            body: serde_json::json!({ "accepted": accepted, "duplicates": duplicates, "rejected": rejected }),
            ..Default::default()
        };
        if let Some((seq, delivery)) = self.nats {
            let again = if delivery > 1 { format!(", delivery {delivery}") } else { String::new() };
            entry.comment.push_str(&format!(" (NATS #{seq}{again})"));
            entry.body["stream_seq"] = seq.into();
            entry.body["delivery"] = delivery.into();
        }
        entry
    }
}

/// Where a batch of events was in the log stream: its message's sequence and time (which is
/// the events' time of receipt and the alert rules' "now", the same on every node).
#[derive(Debug, Clone, Copy)]
pub struct Logged {
    /// The message's sequence in the stream.
    pub seq: u64,
    /// The events message before it (0: none): the log stores this one only right after that
    /// one, so that a message whose events failed to be stored is not stepped over.
    pub after: u64,
    /// When the node that published it received it.
    pub time: Timestamp,
}

/// What the writer answers for one batch, once it is committed and folded.
pub type Reply = oneshot::Receiver<Result<Vec<Appended>, String>>;

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
    /// The log stream ([`crate::cluster`]) did not take or apply the batch now: try again
    /// shortly (what it did take is kept, and sending it again stores nothing twice).
    #[error("the event log is unavailable: {0}")]
    Unavailable(String),
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
        self.submit_from(events, None, false).await
    }

    /// Like [`Ingestor::submit`] but waits for room in the queue (for the simulator and imports).
    pub async fn submit_wait(&self, events: Vec<Located>) -> Result<Vec<Appended>, SubmitError> {
        self.submit_from(events, None, true).await
    }

    /// [`Ingestor::submit`] (`wait`: [`Ingestor::submit_wait`]), with the audit entry for
    /// `sender` committed with the events.
    pub async fn submit_from(
        &self,
        events: Vec<Located>,
        sender: Option<Sender>,
        wait: bool,
    ) -> Result<Vec<Appended>, SubmitError> {
        let stopped = || SubmitError::Failed("the writer has stopped".into());
        let (reply, rx) = oneshot::channel();
        let job = Job { events, logged: None, sender, reply };
        if wait {
            self.tx.send(job).await.map_err(|_| stopped())?;
        } else {
            self.tx.try_send(job).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
                mpsc::error::TrySendError::Closed(_) => stopped(),
            })?;
        }
        rx.await.map_err(|_| stopped())?.map_err(SubmitError::Failed)
    }

    /// Queue a message's events from the log stream (waiting for room); the answer comes once
    /// they are committed, with the stream position, and folded. Batches are committed and
    /// folded in the order they are queued.
    pub async fn submit_logged(&self, events: Vec<Located>, logged: Logged) -> Result<Reply, SubmitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { events, logged: Some(logged), sender: None, reply })
            .await
            .map_err(|_| SubmitError::Failed("the writer has stopped".into()))?;
        Ok(rx)
    }
}

/// A copy of the fold (and of what the alert rules remember) as it is after event `gseq`, with
/// the topics' positions then, for the snapshot thread to write out.
struct Taken {
    gseq: u64,
    snap: crate::fold::FoldSnapshot,
    rules: crate::alerts::Memory,
    seqs: std::collections::HashMap<String, u64>,
}

/// Copy the fold for a snapshot after event `gseq`. Runs on the folder thread (the only one that
/// changes the fold), which folds nothing meanwhile: a copy, not the writing out, which
/// [`snapshotter`] does.
fn take_snapshot(state: &AppState, gseq: u64) -> Taken {
    let t = Instant::now();
    let fold = state.fold.lock().or_poisoned();
    let seqs = yiping_protocol::topics::ALL
        .iter()
        .skip(1)
        .map(|(t, _)| ((*t).to_owned(), state.hub.seq(t)))
        .collect();
    let snap = fold.to_snapshot();
    drop(fold);
    // The rules have observed every event folded so far (this thread folds, then they
    // observe): what they remember goes with the fold's state at the same event.
    let rules = state.book.lock().or_poisoned().memory();
    state.metrics.snapshot_copy_micros.fetch_add(micros(t), Ordering::Relaxed);
    Taken { gseq, snap, rules, seqs }
}

/// The snapshot thread: write out each snapshot the folder took, in order, on a connection of
/// its own, then apply retention. A large fold takes seconds to serialise; folding goes on
/// meanwhile. Writing it is not free for ingest: the snapshot goes into the log's own file, and
/// while its transaction writes, the log's writer waits for the file's write lock. A monitoring
/// feed's reports in the history's window make it large: 110 MB after 200,000 reports of 5,000
/// villages (session 38, `bench ingest rate 10000 30 villages`: the acks' p99 of each 10 s rose
/// from 53–80 ms to 580–940 ms as the snapshots grew, with the folder's copy down to about
/// 20 ms; most likely this wait, not measured apart). Snapshots in a file of their own would end
/// it. `idle` is set once a snapshot is done with, written or not (the folder takes the
/// next only then; should this thread end, by a panic too, the folder writes them itself).
fn snapshotter(
    state: &AppState,
    store: &Store,
    taken: &std::sync::mpsc::Receiver<Taken>,
    idle: &std::sync::atomic::AtomicBool,
    log: LogOptions,
) {
    /// Sets `idle` when dropped: after a write, and on unwinding from one.
    struct Done<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
    }
    while let Ok(t) = taken.recv() {
        let _done = Done(idle);
        let (gseq, seqs, body) = serialise(t);
        save_snapshot(state, store, gseq, &seqs, &body, log);
    }
}

/// A snapshot's gseq, topic positions and JSON.
fn serialise(
    Taken { gseq, mut snap, rules, seqs }: Taken,
) -> (u64, std::collections::HashMap<String, u64>, String) {
    snap.rules = Some(serde_json::to_value(rules).expect("the rules' memory serialises"));
    (gseq, seqs, serde_json::to_string(&snap).expect("the fold serialises"))
}

/// Save a snapshot, then apply retention.
fn save_snapshot(
    state: &AppState,
    store: &Store,
    gseq: u64,
    seqs: &std::collections::HashMap<String, u64>,
    body: &str,
    log: LogOptions,
) {
    if let Err(e) = store.save_snapshot(gseq, seqs, body) {
        tracing::error!("snapshot failed (the log is intact; start-up replays more): {e}");
        return;
    }
    state.metrics.snapshots.fetch_add(1, Ordering::Relaxed);
    if let Some(c) = state.cluster.get() {
        c.seed_wanted().notify_one();
    }
    if let Err(e) = retain(store, log) {
        tracing::error!("retention failed (old events are kept until the next snapshot): {e}");
    }
}

/// Retention: delete the events older than `log.retain_days` that the latest snapshot covers.
fn retain(store: &Store, log: LogOptions) -> Result<(), StoreError> {
    if let Some(days) = log.retain_days {
        let cutoff = Timestamp::now().plus_s(-i64::from(days) * 86_400).to_string();
        let n = store.prune(&cutoff)?;
        if n > 0 {
            tracing::info!(deleted = n, days, "retention: old events deleted (a snapshot covers them)");
        }
    }
    Ok(())
}

type Replies = Vec<(usize, oneshot::Sender<Result<Vec<Appended>, String>>)>;

/// Committed events on their way to the folder thread.
struct Committed {
    events: Vec<Located>,
    places: Vec<Appended>,
    replies: Replies,
    /// Runs of events folded together and the stream message they came from (its time is when
    /// their rules observe them; `None`: the clock's now); one run unless they came from the
    /// log stream.
    runs: Vec<(usize, Option<Logged>)>,
}

/// The writer thread: group waiting batches into one transaction and commit it; the folder thread
/// folds and publishes the previous group meanwhile (two stages, so both cores work).
fn writer(
    mut store: Store,
    state: Arc<AppState>,
    mut rx: mpsc::Receiver<Job>,
    log: LogOptions,
    snapshot_at: u64,
) {
    let (wal_tx, wal_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let checkpointer = match Store::open_side(store.dir()) {
        Ok(side) => std::thread::Builder::new()
            .name("yiping-wal".into())
            .spawn(move || checkpointer(&side, &wal_rx))
            .map_err(|e| tracing::warn!("no checkpoint thread ({e}): the writer's commits checkpoint"))
            .ok(),
        Err(e) => {
            tracing::warn!("no checkpoint connection ({e}): the writer's commits checkpoint");
            None
        }
    };
    let (index_tx, index_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let indexer = match crate::logindex::Indexer::open(store.dir()) {
        Ok(indexer) => std::thread::Builder::new()
            .name("yiping-index".into())
            .spawn(move || indexer.run(&index_rx))
            .map_err(|e| tracing::error!("no index thread ({e}): reads scan the log"))
            .ok(),
        Err(e) => {
            tracing::error!("the log's index cannot be opened ({e}): reads scan the log");
            None
        }
    };
    // The writer commits without waiting for the disk; the folder waits for it before it folds
    // and answers (see `Store::defer_sync`). Without the log's file to sync, commits wait.
    let wal = store
        .defer_sync()
        .map_err(|e| tracing::warn!("commits wait for the disk themselves ({e})"))
        .ok()
        .map(|wal| Durable { wal, committed: Arc::default() });
    let committed = wal.as_ref().map(|d| d.committed.clone());
    let (fold_tx, fold_rx) = std::sync::mpsc::sync_channel::<Committed>(2);
    let folder_state = state.clone();
    let folder = std::thread::Builder::new()
        .name("yiping-folder".into())
        .spawn({
            let dir = store.dir().to_owned();
            move || folder(folder_state, fold_rx, wal, log, snapshot_at, &dir)
        })
        .expect("the folder thread starts");
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
        let mut events: Vec<Located> = Vec::with_capacity(n);
        let mut replies = Vec::with_capacity(jobs.len());
        let mut runs: Vec<(usize, Option<Logged>)> = Vec::new();
        // Audit entries to write: (the job's first event, its events, who sent it).
        let mut senders: Vec<(usize, usize, Sender)> = Vec::new();
        for j in jobs {
            if let Some(s) = j.sender {
                senders.push((events.len(), j.events.len(), s));
            }
            match runs.last_mut() {
                Some((len, None)) if j.logged.is_none() => *len += j.events.len(),
                _ => runs.push((j.events.len(), j.logged)),
            }
            replies.push((j.events.len(), j.reply));
            events.extend(j.events);
        }
        let now = now_rfc3339();
        let received: Vec<String> =
            runs.iter().map(|(_, l)| l.map_or_else(|| now.clone(), |l| l.time.to_string())).collect();
        let mut parts = Vec::with_capacity(runs.len());
        let mut rest = &events[..];
        for ((len, logged), received) in runs.iter().zip(&received) {
            let (part, more) = rest.split_at(*len);
            parts.push(Part { events: part, received, stream: logged.map(|l| (l.after, l.seq)) });
            rest = more;
        }
        let t0 = Instant::now();
        let audit_time = state.clock.now().to_string();
        let appended = store.append_parts_with(&parts, |tx, places| {
            for (from, len, s) in &senders {
                let mut entry = s.entry(&places[*from..*from + *len]);
                entry.time.clone_from(&audit_time);
                crate::trail::append_in(tx, &entry)?;
            }
            Ok(())
        });
        drop(parts);
        match appended {
            Ok(places) => {
                state.metrics.commits.fetch_add(1, Ordering::Relaxed);
                state.metrics.commit_micros.fetch_add(micros(t0), Ordering::Relaxed);
                if let Some(c) = &committed {
                    c.fetch_add(1, Ordering::Release);
                }
                // Full: a checkpoint (an index pass) is already due.
                let _ = wal_tx.try_send(());
                let _ = index_tx.try_send(());
                if fold_tx.send(Committed { events, places, replies, runs }).is_err() {
                    tracing::error!("the folder thread has stopped");
                    break;
                }
            }
            Err(e) => {
                tracing::error!("event log append failed: {e}");
                for (_, reply) in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
    drop(fold_tx);
    let _ = folder.join();
    drop(wal_tx);
    if let Some(c) = checkpointer {
        let _ = c.join();
    }
    drop(index_tx);
    if let Some(i) = indexer {
        let _ = i.join();
    }
}

/// Pause between two checkpoints of the write-ahead log, so that one copies many commits.
const CHECKPOINT_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

/// The WAL checkpoint thread (not the timeline's checkpointer of the fold): after commits, copy
/// the write-ahead log into the database on this thread's own connection
/// ([`Store::checkpoint_wal`]), so the writer's commits rarely do.
fn checkpointer(side: &Store, commits: &std::sync::mpsc::Receiver<()>) {
    while commits.recv().is_ok() {
        if let Err(e) = side.checkpoint_wal() {
            tracing::warn!("checkpoint of the write-ahead log (the writer's commits do it at the cap): {e}");
        }
        std::thread::sleep(CHECKPOINT_PAUSE);
    }
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The log's file to sync before folding and answering, and how far the writer has committed.
struct Durable {
    wal: crate::store::WalSync,
    /// The writer's last commit: a sync begun after reading it covers it and every one before.
    committed: Arc<std::sync::atomic::AtomicU64>,
}

/// The folder thread: wait until committed events are on disk, fold them, publish their deltas,
/// answer the submitters, and take snapshots now and then (written out by a thread of their own,
/// on a connection of its own to the log in `dir`).
fn folder(
    state: Arc<AppState>,
    rx: std::sync::mpsc::Receiver<Committed>,
    durable: Option<Durable>,
    log: LogOptions,
    mut snapshot_at: u64,
    dir: &std::path::Path,
) {
    let idle = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (snap_tx, snap_rx) = std::sync::mpsc::sync_channel::<Taken>(1);
    let snapshots = match Store::open_side(dir) {
        Ok(side) => {
            let (state, idle) = (state.clone(), idle.clone());
            std::thread::Builder::new()
                .name("yiping-snapshot".into())
                .spawn(move || snapshotter(&state, &side, &snap_rx, &idle, log))
                .map_err(|e| tracing::warn!("no snapshot thread ({e}): the folder writes them"))
                .ok()
        }
        Err(e) => {
            tracing::warn!("no snapshot connection ({e}): the folder writes them");
            None
        }
    };
    // Commits received (each commit is sent here once, in order: the n-th received is the
    // writer's n-th), and those known to be on disk: one sync covers every commit made before
    // it began.
    let (mut commit, mut synced) = (0, 0);
    while let Ok(Committed { events, places, replies, runs }) = rx.recv() {
        commit += 1;
        if let Some(d) = durable.as_ref().filter(|_| commit > synced) {
            let upto = d.committed.load(Ordering::Acquire);
            let t = Instant::now();
            if let Err(e) = d.wal.sync() {
                // Whether the commits are on disk is unknown, and no second sync would tell (the
                // kernel reports a failed writeback once): nothing more may be acknowledged or
                // folded. A restart recovers what is on disk; the sources send the rest again.
                tracing::error!("the event log cannot be made durable; stopping: {e}");
                std::process::abort();
            }
            state.metrics.syncs.fetch_add(1, Ordering::Relaxed);
            state.metrics.sync_micros.fetch_add(micros(t), Ordering::Relaxed);
            synced = upto;
        }
        let t1 = Instant::now();
        let mut from = 0;
        for (len, at) in runs {
            let to = from + len;
            state.fold_and_publish(&events[from..to], &places[from..to], at);
            from = to;
        }
        state.metrics.fold_micros.fetch_add(micros(t1), Ordering::Relaxed);
        let last = places.iter().rev().find_map(|a| match a {
            Appended::New { gseq, .. } => Some(*gseq),
            Appended::Duplicate { .. } => None,
        });
        let mut it = places.into_iter();
        for (len, reply) in replies {
            let mine: Vec<Appended> = it.by_ref().take(len).collect();
            let _ = reply.send(Ok(mine));
        }
        // The next snapshot once the last is written out (a slow disk delays it; nothing waits).
        let due = last.filter(|g| *g >= snapshot_at.saturating_add(log.snapshot_every));
        if let Some(gseq) = due.filter(|_| idle.load(Ordering::Acquire)) {
            let taken = take_snapshot(&state, gseq);
            snapshot_at = gseq;
            // To the snapshot thread (never full: it is idle), or, without one, written here.
            let unsent = match &snapshots {
                Some(_) => {
                    idle.store(false, Ordering::Release);
                    snap_tx.send(taken).err().map(|std::sync::mpsc::SendError(t)| {
                        tracing::warn!("the snapshot thread has stopped: the folder writes snapshots");
                        t
                    })
                }
                None => Some(taken),
            };
            if let Some(t) = unsent {
                let (gseq, seqs, body) = serialise(t);
                save_snapshot(&state, &state.reader.lock().or_poisoned(), gseq, &seqs, &body, log);
                idle.store(true, Ordering::Release);
            }
        }
    }
    // A snapshot being written out is finished before the thread stops.
    drop(snap_tx);
    if let Some(t) = snapshots {
        let _ = t.join();
    }
}

pub use yiping_protocol::api::LineResult;

/// Parse, check and place the lines of an NDJSON body for `source`. Blank lines are skipped.
/// Events more than `future_tolerance_s` ahead of `now` are refused. Returns the events to store
/// (with their line numbers) and the rejections.
pub fn check_lines(
    body: &str,
    source: &str,
    places: &crate::places::Places,
    now: Timestamp,
    future_tolerance_s: i64,
) -> (Vec<(usize, Located)>, Vec<LineResult>) {
    let latest = now.plus_s(future_tolerance_s);
    // Room for every line at once (growing the vector would copy its events, a few hundred
    // bytes each, once more on average), but for no more lines than the body could hold events
    // of 100 bytes: a body of blank lines reserves next to nothing.
    let lines = memchr::memchr_iter(b'\n', body.as_bytes()).count() + 1;
    let mut ok = Vec::with_capacity(lines.min(body.len() / 100 + 1));
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
                value: yiping_protocol::events::excerpt(line, 0),
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
            if e.time.at > latest {
                return Err(FieldError {
                    field: "time".into(),
                    value: format!("{:?}", e.time.text),
                    message: format!(
                        "is {:.0} s ahead of the server's clock ({now}): more than the tolerance of \
                         {future_tolerance_s} s (a wrong clock or time zone at the source?)",
                        e.time.at.seconds_since(now)
                    ),
                });
            }
            let adcode = places.locate(&e)?;
            // The log keeps the line and files the event's columns from `e`: nothing here may
            // change `e` but its source (which the log keeps in a column of its own).
            Ok(Located { event: e, adcode, line: Some(line.into()) })
        });
        match checked {
            Ok(l) => ok.push((line_no, l)),
            Err(e) => rejected.push(reject(e)),
        }
    }
    (ok, rejected)
}
