//! The log on NATS JetStream (`nats = "nats://…"`): several yiping nodes, one durable log.
//!
//! Without `nats`, yiping is one process whose SQLite file is the log ([`crate::ingest`]). With
//! it, the log is the JetStream stream [`LOG_STREAM`] (file storage, `nats_replicas` copies on
//! as many NATS servers), and each node's SQLite file is that node's copy of it, made by
//! applying the stream in order. What follows from that:
//!
//! - **Every write is a message first.** A batch of events (HTTP, NATS ingest, the simulator), a
//!   person's step on an alert, a tick of the alert clock and the rules' proposed steps are
//!   published on [`LOG_SUBJECT`];
//!   the node that published it answers only once JetStream has acknowledged the message (so
//!   it is on a quorum of servers' disks) *and* the node has applied it itself, and its answer
//!   is what the application gave (accepted, duplicate; the alert after the step, or why not).
//! - **Every node applies the same messages in the same order** ([`apply`], a pull consumer of
//!   its own starting after the node's last applied message, made again whenever it fails or
//!   goes quiet): events go through the one writer
//!   ([`crate::ingest::Ingestor::submit_logged`]), which stores the message's sequence in the
//!   same commit and refuses a message that does not follow the last one stored; steps and
//!   ticks are applied after every event before them is folded.
//!   The message's time (its publisher's clock when it received the write) is the events' time
//!   of receipt and the alert rules' "now", so rules decide the same on every node.
//! - **Deterministic epoch and seqs.** A new node's log takes the stream's epoch (its creation
//!   instant, [`Cluster::epoch`]); an event's global and topic sequences are counted by the
//!   writer as it stores the stream's events in stream order, a duplicate `(source, id)`
//!   taking none. So two nodes that have applied the same messages give the same seqs on every
//!   theme topic, and a client that resumes with `since` on another node gets exactly the
//!   deltas it missed. The overview and alerts topics are recomputed by each node (as they are
//!   on every restart of a single node): a client resuming there gets their snapshot.
//! - **Exactly-once alerts, decided once.** Every node's rules observe every events message
//!   and tick (so what they remember stays alike), but only one node decides: the holder of
//!   the lease [`LEASE_KEY`] in the key-value bucket [`LEASE_BUCKET`], which it renews every
//!   [`LEASE_RENEW`] and which lapses after [`LEASE_TTL`] when its node dies. It sends the
//!   ticks of the alert clock (and runs the simulator), and it proposes the steps its rules
//!   decide on each message, as of that message's time, in a message of kind `alerts`
//!   ([`Cluster::propose`], [`run_proposals`]). Every node, the proposer too, applies that
//!   message like any other: it keeps the steps that still change something in its book and
//!   numbers the raises itself ([`crate::alerts::Book::settle`]). As every node's alerts come
//!   only from messages applied in the same order (proposals and people's steps), every node
//!   has the same alerts, with the same ids, and the same trail, whatever its rules remember
//!   and whenever it crashed: a node killed between storing events and their alert steps
//!   loses nothing, since the steps are messages of their own. Proposals are settled against
//!   the alerts as they are when applied (a raise of a subject already open becomes an
//!   escalation if worse, a resolve of a dispatched alert a clear, an escalation by waiting of
//!   an alert acknowledged meanwhile nothing), so two proposers at a hand-over, or the same
//!   proposal twice, change nothing the second time. When the holder dies before proposing,
//!   the other nodes still keep what their own rules decided over the last
//!   [`PROPOSE_WITHIN`], and the next holder proposes it; beyond that, its ticks evaluate every
//!   rule again and find every condition that still holds (a passing one older than that,
//!   such as a spike already followed by a normal reading, is not raised). A node catching up
//!   on messages older than [`PROPOSE_WITHIN`] does not propose.
//! - **What the rules remember** (spike baselines, clear counts, each subject's reports) is
//!   saved with every snapshot of the fold, so a restarted node, should it hold the lease
//!   next, measures against the same baselines (the clear counts that events after the
//!   snapshot moved are not replayed).
//! - **Restarts.** A node starts from its own copy (the latest snapshot of the fold and the
//!   events after it, as a single node does) and applies the stream from its last committed
//!   events message on; a new node starts from the seed in the object store ([`crate::seed`]),
//!   or, when there is none yet, applies the stream from the start. Messages after that one
//!   may have been applied before the node stopped: a stored event is then a duplicate, and a
//!   step or proposal at or before the trail's own stream position (written with the steps
//!   it gave, [`crate::trail::Trail::alerts_position`]) is not taken again.
//!
//! An alert step's `seq` is its place in the node's own trail, which also holds that node's
//! logins and ingest entries.
//!
//! - **Sessions, source tokens and rate limits** are changed through the stream too (messages
//!   of kind `change`, [`crate::changes`]), with their audit entries: a console whose node dies
//!   is still logged in on the next, and a token made on one node is taken by all. So are the
//!   presenters' storylines, and users added, disabled or enabled with `yiping user … --nats`.
//!
//! What stays per node: tokens made with `yiping token` on a folder, the walls driven by
//! presenters, and the trail's ingest entries.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, stream};
use futures_util::StreamExt;
use tokio::sync::oneshot;
use yiping_protocol::alerts::Alert;
use yiping_protocol::instant::Timestamp;

use crate::AppState;
use crate::alerts::{Pending, Step};
use crate::error::AppError;
use crate::ingest::{Logged, SubmitError};
use crate::store::{Appended, Located};
use crate::sync::OrPoisoned;

/// The stream that is the log.
pub const LOG_STREAM: &str = "YIPING_LOG";
/// The subject of its messages.
pub const LOG_SUBJECT: &str = "yiping.log";
/// The key-value bucket of the clock's lease.
pub const LEASE_BUCKET: &str = "YIPING_LEASE";
/// The lease's key: its holder ticks the alert clock and runs the simulator.
pub const LEASE_KEY: &str = "clock";
/// A lease not renewed for this long lapses (its node is gone).
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often the holder renews it.
pub const LEASE_RENEW: Duration = Duration::from_secs(2);
/// The most of a message's body: events are sent in messages of at most this much (NATS's
/// default limit is 1 MiB).
const CHUNK_BYTES: usize = 768 * 1024;
/// How long a node waits for its own message to come back from the stream and be applied.
const APPLY_WAIT: Duration = Duration::from_secs(60);

/// The epoch of the log stream `info` describes: its creation instant (every node's log and
/// topic streams take it).
pub(crate) fn epoch_of(info: &stream::Info) -> String {
    format!("js{:x}", info.created.unix_timestamp_nanos() / 1_000)
}

/// The node holding the clock's lease proposes the rules' steps of messages at most this old.
pub const PROPOSE_WITHIN: Duration = Duration::from_secs(30);
/// The most proposals a node keeps while another holds the lease.
const KEPT_MOST: usize = 10_000;

/// A message's kind (header `Yiping-Kind`).
const KIND: &str = "Yiping-Kind";
/// A message's time (header `Yiping-Time`): when its publisher received the write.
const TIME: &str = "Yiping-Time";

/// What applying one message gave, for the node waiting on it.
#[derive(Debug)]
enum Applied {
    Events(Result<Vec<Appended>, String>),
    Step(Box<Result<Alert, AppError>>),
    Change(Box<Result<crate::changes::Changed, AppError>>),
    Tick,
}

/// The rules' steps decided on applying one message of the stream: the body of a message of
/// kind `alerts`, whose time is the decided message's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Proposal {
    /// The message they were decided on (its place in the stream).
    pub decided_on: u64,
    /// That message's time (on the wire: the time header of the `alerts` message).
    #[serde(skip, default = "Timestamp::now")]
    pub as_of: Timestamp,
    /// The steps.
    pub steps: Vec<Pending>,
}

/// What a node's rules decided while another node held the lease ([`Cluster::propose`]), in
/// stream order: at most [`KEPT_MOST`] proposals, none older than [`PROPOSE_WITHIN`].
#[derive(Debug, Default)]
struct Kept(VecDeque<Proposal>);

impl Kept {
    fn recent(now: Timestamp, as_of: Timestamp) -> bool {
        now.seconds_since(as_of) <= PROPOSE_WITHIN.as_secs_f64()
    }

    /// Keep a proposal, dropping what has grown too old by `now`.
    fn keep(&mut self, p: Proposal, now: Timestamp) {
        while self.0.front().is_some_and(|k| !Kept::recent(now, k.as_of)) || self.0.len() >= KEPT_MOST {
            self.0.pop_front();
        }
        self.0.push_back(p);
    }

    /// The holder's proposal decided on message `seq` has come: drop what was decided on it
    /// and before (by place in the stream, not by any clock).
    fn forget_until(&mut self, seq: u64) {
        self.0.retain(|k| k.decided_on > seq);
    }

    /// Everything kept that is still recent by `now`, in order; nothing is kept after.
    fn take_recent(&mut self, now: Timestamp) -> Vec<Proposal> {
        self.0.drain(..).filter(|k| Kept::recent(now, k.as_of)).collect()
    }
}

/// A message this node waits to apply; no longer waited for when dropped.
struct Waiting<'a> {
    cluster: &'a Cluster,
    id: &'a str,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.cluster.waiters.lock().or_poisoned().remove(self.id);
    }
}

/// A node's connection to the log stream.
#[derive(Debug)]
pub struct Cluster {
    js: jetstream::Context,
    /// This run of this node, in message ids.
    node: String,
    next: AtomicU64,
    /// Messages this node published, by id, until it has applied them.
    waiters: Mutex<HashMap<String, oneshot::Sender<Applied>>>,
    epoch: String,
    replicas: usize,
    /// Whether this node holds the clock's lease now.
    clock: AtomicBool,
    /// The last message applied: stored and folded.
    applied: AtomicU64,
    /// The writer failed to store a message's events: apply again from the last commit.
    broken: AtomicBool,
    /// The rules' steps this node proposes, on their way to the stream ([`run_proposals`]).
    proposals: tokio::sync::mpsc::UnboundedSender<Proposal>,
    proposals_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Proposal>>>,
    /// Told when this node has saved a snapshot: time for a seed ([`crate::seed`]).
    seed_wanted: tokio::sync::Notify,
    /// What this node's rules decided while another node held the lease, until that node's
    /// proposal decided on the same message comes: proposed again should this node take the
    /// lease first.
    kept: Mutex<Kept>,
}

impl Cluster {
    /// Connect to the NATS server at `url` and make (or find) the log stream with `replicas`
    /// copies.
    pub async fn connect(url: &str, replicas: usize) -> anyhow::Result<Cluster> {
        let shown = crate::nats::without_password(url);
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach NATS at {shown}: {e}"))?;
        let js = jetstream::new(client);
        let config = stream::Config {
            name: LOG_STREAM.into(),
            subjects: vec![LOG_SUBJECT.into()],
            storage: stream::StorageType::File,
            num_replicas: replicas,
            // Kept whole: a new node replays it from the start.
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        // A NATS cluster started with yiping elects its JetStream leader meanwhile.
        let mut tries = 0;
        let mut log = loop {
            match js.get_or_create_stream(config.clone()).await {
                Ok(s) => break s,
                Err(e) if tries < 30 => {
                    tries += 1;
                    tracing::warn!(url = %shown, "the log stream {LOG_STREAM} is not available yet: {e}; trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => anyhow::bail!("the log stream {LOG_STREAM} on {shown}: {e}"),
            }
        };
        let info = log.info().await.map_err(|e| anyhow::anyhow!("the log stream {LOG_STREAM}: {e}"))?;
        if info.config.num_replicas != replicas {
            tracing::warn!(
                stream = LOG_STREAM,
                has = info.config.num_replicas,
                configured = replicas,
                "the log stream keeps another number of copies than configured (it was made so)"
            );
        }
        let epoch = epoch_of(info);
        let node = format!("{:x}{:04x}", Timestamp::now().unix_ns() / 1_000_000, rand::random::<u16>());
        tracing::info!(url = %shown, stream = LOG_STREAM, epoch, node, "the log is the NATS stream");
        let (proposals, proposals_rx) = tokio::sync::mpsc::unbounded_channel();
        Ok(Cluster {
            js,
            node,
            next: AtomicU64::new(0),
            waiters: Mutex::new(HashMap::new()),
            epoch,
            replicas: info.config.num_replicas,
            clock: AtomicBool::new(false),
            applied: AtomicU64::new(0),
            broken: AtomicBool::new(false),
            proposals,
            proposals_rx: Mutex::new(Some(proposals_rx)),
            seed_wanted: tokio::sync::Notify::new(),
            kept: Mutex::new(Kept::default()),
        })
    }

    /// The stream's epoch: every node's log and topic streams take it.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The JetStream context.
    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// How many copies of the log stream the NATS servers keep.
    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// Told when this node has saved a snapshot of its fold.
    pub(crate) fn seed_wanted(&self) -> &tokio::sync::Notify {
        &self.seed_wanted
    }

    /// Whether this node ticks the alert clock (and runs the simulator) now.
    pub fn holds_clock(&self) -> bool {
        self.clock.load(Ordering::Relaxed)
    }

    /// The last message of the stream this node has applied.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Publish one message and wait until this node has applied it.
    async fn send(&self, kind: &str, time: Timestamp, body: Vec<u8>) -> Result<Applied, SubmitError> {
        let id = format!("{}-{}", self.node, self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().or_poisoned().insert(id.clone(), tx);
        // Not waited for any more however this ends (a client that hung up drops this future).
        let _waiting = Waiting { cluster: self, id: &id };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.as_str());
        headers.insert(KIND, kind);
        headers.insert(TIME, time.to_string().as_str());
        let unavailable = |e: String| SubmitError::Unavailable(format!("the log stream: {e}"));
        let ack = self
            .js
            .publish_with_headers(LOG_SUBJECT, headers, body.into())
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        ack.await.map_err(|e| unavailable(e.to_string()))?;
        match tokio::time::timeout(APPLY_WAIT, rx).await {
            Ok(Ok(applied)) => Ok(applied),
            Ok(Err(_)) => Err(SubmitError::Failed("this node stopped applying the log stream".into())),
            Err(_) => Err(SubmitError::Unavailable(format!(
                "kept in the log stream, and still to be applied by this node after {} s (it will \
                 take effect; what it gave is in the log and the trail)",
                APPLY_WAIT.as_secs()
            ))),
        }
    }

    /// Append events to the log: in messages of at most [`CHUNK_BYTES`], each acknowledged by
    /// JetStream and applied here before the next is sent; where each landed, in order.
    pub async fn append(&self, events: &[Located], time: Timestamp) -> Result<Vec<Appended>, SubmitError> {
        let mut out = Vec::with_capacity(events.len());
        let mut body = Vec::new();
        let mut n = 0;
        for (i, l) in events.iter().enumerate() {
            body.extend_from_slice(l.adcode.as_bytes());
            body.push(b' ');
            serde_json::to_writer(&mut body, &l.event).expect("an envelope always serialises");
            body.push(b'\n');
            n += 1;
            if body.len() >= CHUNK_BYTES || i + 1 == events.len() {
                match self.send("events", time, std::mem::take(&mut body)).await? {
                    Applied::Events(Ok(places)) if places.len() == n => out.extend(places),
                    Applied::Events(Ok(places)) => {
                        return Err(SubmitError::Failed(format!(
                            "{n} events sent, {} applied (a message not made by yiping?)",
                            places.len()
                        )));
                    }
                    // Kept in the stream: this node stores it when it applies the stream again.
                    Applied::Events(Err(e)) => {
                        return Err(SubmitError::Unavailable(format!(
                            "kept in the log stream, but this node has not stored it yet ({e})"
                        )));
                    }
                    other => return Err(SubmitError::Failed(format!("unexpected answer {other:?}"))),
                }
                n = 0;
            }
        }
        Ok(out)
    }

    /// Take a person's step on an alert through the log: the alert as this node has it after
    /// applying the step, or why the step did not fit when its turn came.
    pub async fn step(&self, step: &Step, time: Timestamp) -> Result<Alert, AppError> {
        let body = serde_json::to_vec(step).expect("a step serialises");
        match self.send("step", time, body).await {
            Ok(Applied::Step(r)) => *r,
            Ok(other) => Err(AppError::Internal(format!("unexpected answer {other:?}"))),
            Err(SubmitError::Unavailable(m)) => Err(AppError::Busy(m)),
            Err(e) => Err(AppError::Internal(e.to_string())),
        }
    }

    /// Make a change to sessions, tokens or limits through the log ([`crate::changes`]): what
    /// applying it here gave.
    pub async fn change(
        &self,
        changing: &crate::changes::Changing,
        time: Timestamp,
    ) -> Result<crate::changes::Changed, AppError> {
        let body = serde_json::to_vec(changing).expect("a change serialises");
        match self.send("change", time, body).await {
            Ok(Applied::Change(r)) => *r,
            Ok(other) => Err(AppError::Internal(format!("unexpected answer {other:?}"))),
            Err(SubmitError::Unavailable(m)) => Err(AppError::Busy(m)),
            Err(e) => Err(AppError::Internal(e.to_string())),
        }
    }

    /// Propose the rules' steps decided on applying a message of time `as_of`, when this node
    /// holds the clock's lease and that message is recent by `now` (a node catching up on old
    /// messages does not decide: the next tick evaluates everything again once it is current).
    ///
    /// Another node keeps what it decided until the holder's proposal decided on the same
    /// message (or a later one) has come, and proposes it again should it take the lease before
    /// (the holder died before proposing): [`Book::settle`](crate::alerts::Book::settle) drops
    /// what was applied.
    pub fn propose(&self, steps: Vec<Pending>, decided_on: u64, as_of: Timestamp, now: Timestamp) {
        if steps.is_empty() {
            return;
        }
        if now.seconds_since(as_of) > PROPOSE_WITHIN.as_secs_f64() {
            tracing::debug!(%as_of, "alert steps of an old message not proposed (catching up)");
            return;
        }
        let p = Proposal { decided_on, as_of, steps };
        // Under the lock that taking the lease takes: kept before it, or sent after it.
        let mut kept = self.kept.lock().or_poisoned();
        if self.holds_clock() {
            drop(kept);
            let _ = self.proposals.send(p);
        } else {
            kept.keep(p, now);
        }
    }

    /// The holder's proposal decided on message `seq` has been applied: what this node kept
    /// from up to it is no longer needed.
    fn proposed_until(&self, seq: u64) {
        self.kept.lock().or_poisoned().forget_until(seq);
    }

    /// This node takes the lease: from now on it proposes, and it proposes what it kept
    /// (recent as of `now`) first.
    fn take_clock(&self, now: Timestamp) {
        let mut kept = self.kept.lock().or_poisoned();
        self.clock.store(true, Ordering::Relaxed);
        let again = kept.take_recent(now);
        let n: usize = again.iter().map(|p| p.steps.len()).sum();
        for p in again {
            let _ = self.proposals.send(p);
        }
        drop(kept);
        if n > 0 {
            tracing::info!(
                steps = n,
                "alert steps the previous lease holder may not have proposed, proposed again"
            );
        }
    }

    fn answer(&self, id: Option<&str>, applied: Applied) {
        if let Some(tx) = id.and_then(|id| self.waiters.lock().or_poisoned().remove(id)) {
            let _ = tx.send(applied);
        }
    }
}

/// Where applying the stream stands on this node.
struct Applying {
    /// The last message taken from the stream (its events may still be being folded).
    taken: u64,
    /// Event batches given to the writer whose answers are still to come, in order.
    folding: VecDeque<tokio::task::JoinHandle<()>>,
    /// The last events message given to the writer (the next must follow it).
    events_after: u64,
    /// The last message whose entries are in the trail (alert steps, changes): steps, ticks,
    /// proposals and changes up to it are not taken again.
    alerts_done: u64,
}

impl Applying {
    /// Wait until every event batch given to the writer is stored and folded.
    async fn drain(&mut self) {
        for h in self.folding.drain(..) {
            let _ = h.await;
        }
    }
}

/// Apply the log stream to this node, from after message `from` (its log's last committed
/// one), for as long as the server runs; a lost connection or consumer is made again from
/// where it stopped.
pub async fn apply(state: Arc<AppState>, cluster: Arc<Cluster>, from: u64) {
    cluster.applied.store(from, Ordering::Relaxed);
    let alerts_done = state.trail.lock().or_poisoned().alerts_position().unwrap_or_else(|e| {
        tracing::error!("the trail's stream position: {e}");
        0
    });
    let mut at = Applying { taken: from, folding: VecDeque::new(), events_after: from, alerts_done };
    loop {
        match apply_from(&state, &cluster, &mut at).await {
            Ok(()) => tracing::warn!("the log stream's consumer ended; starting it again"),
            Err(e) => tracing::warn!("applying the log stream: {e:#}; starting again in 1 s"),
        }
        // What was given to the writer is done before the consumer is made again.
        at.drain().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if cluster.broken.swap(false, Ordering::Relaxed) {
            // What was taken after the last commit is taken again (a stored event is then a
            // duplicate; steps and ticks up to the trail's position are not taken again).
            let committed =
                state.reader.lock().or_poisoned().stream_position().ok().flatten().map_or(0, |(_, s)| s);
            at.taken = committed;
            at.events_after = committed;
        }
    }
}

/// How long one pull waits for messages before it asks again (and checks that the consumer
/// still delivers what the stream holds).
const PULL_WAIT: Duration = Duration::from_secs(2);
/// The most messages one pull asks for.
const PULL_BATCH: usize = 512;

/// Apply the stream from after the last message taken, with pulls of an ephemeral consumer of
/// this node's own. The consumer is made again (from after the last message taken) whenever
/// a pull fails, a message is not the next one, or a pull comes back empty while the stream
/// holds more: after a NATS server's restart or a leader's change, a consumer can go quiet
/// without an error.
async fn apply_from(state: &Arc<AppState>, cluster: &Arc<Cluster>, at: &mut Applying) -> anyhow::Result<()> {
    let mut log = cluster.js.get_stream(LOG_STREAM).await?;
    let consumer = log
        .create_consumer(consumer::pull::Config {
            deliver_policy: match at.taken {
                0 => consumer::DeliverPolicy::All,
                n => consumer::DeliverPolicy::ByStartSequence { start_sequence: n + 1 },
            },
            ack_policy: consumer::AckPolicy::None,
            memory_storage: true,
            num_replicas: 1,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await?;
    loop {
        let mut batch = consumer.batch().max_messages(PULL_BATCH).expires(PULL_WAIT).messages().await?;
        let mut got = 0;
        // A pull whose server has gone answers nothing at all: it is not waited for past its
        // expiry and a margin.
        while let Some(msg) = tokio::time::timeout(PULL_WAIT * 3, batch.next())
            .await
            .map_err(|_| anyhow::anyhow!("a pull of {LOG_STREAM} got no answer"))?
        {
            let msg = msg.map_err(|e| anyhow::anyhow!("reading {LOG_STREAM}: {e}"))?;
            got += 1;
            let seq = msg
                .info()
                .map_err(|e| anyhow::anyhow!("a message without its position: {e}"))?
                .stream_sequence;
            let taken = at.taken;
            if seq <= taken {
                continue;
            }
            if seq != taken + 1 {
                anyhow::bail!("message {seq} came after {taken}: the messages between are asked for again");
            }
            take(state, cluster, &msg, seq, at).await?;
            at.taken = seq;
        }
        if got == 0 && log.info().await?.state.last_sequence > at.taken {
            anyhow::bail!("the consumer delivers nothing while the stream holds more");
        }
    }
}

/// Apply one message of the stream.
async fn take(
    state: &Arc<AppState>,
    cluster: &Arc<Cluster>,
    msg: &jetstream::Message,
    seq: u64,
    at: &mut Applying,
) -> anyhow::Result<()> {
    let header = |name: &str| msg.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_owned());
    let id = header("Nats-Msg-Id");
    let time = header(TIME).and_then(|t| Timestamp::parse(&t).ok());
    let (kind, Some(time)) = (header(KIND).unwrap_or_default(), time) else {
        tracing::error!(seq, "log stream: a message without a valid {TIME} header is skipped");
        return Ok(());
    };
    while at.folding.front().is_some_and(|h| h.is_finished()) {
        at.folding.pop_front();
    }
    if cluster.broken.load(Ordering::Relaxed) {
        anyhow::bail!("this node's log failed to store a message's events");
    }
    match kind.as_str() {
        "events" => {
            let events = decode_events(seq, &msg.payload);
            let logged = Logged { seq, after: at.events_after, time };
            let reply = state.ingestor().submit_logged(events, logged).await?;
            at.events_after = seq;
            let c = cluster.clone();
            at.folding.push_back(tokio::spawn(async move {
                let r = reply.await.unwrap_or_else(|_| Err("the writer has stopped".into()));
                match &r {
                    Ok(_) => {
                        c.applied.fetch_max(seq, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::error!(seq, "log stream: events not stored here: {e}");
                        c.broken.store(true, Ordering::Relaxed);
                    }
                }
                c.answer(id.as_deref(), Applied::Events(r));
            }));
        }
        "step" | "tick" | "alerts" | "change" => {
            // After every event before it is folded, as on every other node.
            at.drain().await;
            if cluster.broken.load(Ordering::Relaxed) {
                anyhow::bail!("this node's log failed to store a message's events");
            }
            if seq <= at.alerts_done {
                // Taken before this node last stopped: its steps are in the trail.
                cluster.applied.fetch_max(seq, Ordering::Relaxed);
                return Ok(());
            }
            let s = state.clone();
            let applied = if kind == "change" {
                match serde_json::from_slice::<crate::changes::Changing>(&msg.payload) {
                    Ok(c) => {
                        let r = tokio::task::spawn_blocking(move || s.apply_change(&c, time, Some(seq)))
                            .await
                            .unwrap_or_else(|e| Err(AppError::Internal(e.to_string())));
                        if let Err(e) = &r {
                            tracing::warn!(seq, "log stream: a change not made here: {e}");
                        }
                        Applied::Change(Box::new(r))
                    }
                    Err(e) => {
                        tracing::error!(seq, "log stream: a change that is not one is skipped: {e}");
                        Applied::Change(Box::new(Err(AppError::BadRequest(format!("not a change: {e}")))))
                    }
                }
            } else if kind == "alerts" {
                match serde_json::from_slice::<Proposal>(&msg.payload) {
                    Ok(p) => {
                        let decided_on = p.decided_on;
                        tokio::task::spawn_blocking(move || s.take_proposals(p.steps, time, seq))
                            .await
                            .map_err(anyhow::Error::from)
                            .and_then(|r| r.map_err(anyhow::Error::from))
                            .map_err(|e| {
                                anyhow::anyhow!("message {seq}'s alert steps not stored here: {e}")
                            })?;
                        cluster.proposed_until(decided_on);
                    }
                    Err(e) => {
                        tracing::error!(seq, "log stream: alert steps that are not ones are skipped: {e}")
                    }
                }
                Applied::Tick
            } else if kind == "step" {
                match serde_json::from_slice::<Step>(&msg.payload) {
                    Ok(step) => Applied::Step(Box::new(
                        tokio::task::spawn_blocking(move || s.take_step(&step, time, Some(seq)))
                            .await
                            .unwrap_or_else(|e| Err(AppError::Internal(e.to_string()))),
                    )),
                    Err(e) => {
                        tracing::error!(seq, "log stream: a step that is not one is skipped: {e}");
                        Applied::Step(Box::new(Err(AppError::BadRequest(format!("not a step: {e}")))))
                    }
                }
            } else {
                let _ = tokio::task::spawn_blocking(move || s.alert_tick_at(time, Some(seq))).await;
                Applied::Tick
            };
            // A failure to store (not a refusal) is not stepped over: the message is taken again
            // (nodes that step over one would differ from then on).
            let failed = match &applied {
                Applied::Change(r) => matches!(**r, Err(AppError::Internal(_))),
                Applied::Step(r) => matches!(**r, Err(AppError::Internal(_))),
                _ => false,
            };
            if failed {
                anyhow::bail!("message {seq} ({kind}) could not be stored here; it is taken again");
            }
            // Not taken again in this run either (after a failed events write, the messages
            // after the last stored one are taken again).
            at.alerts_done = at.alerts_done.max(seq);
            cluster.applied.fetch_max(seq, Ordering::Relaxed);
            cluster.answer(id.as_deref(), applied);
        }
        other => tracing::error!(seq, kind = other, "log stream: a message of unknown kind is skipped"),
    }
    Ok(())
}

/// A message's events: `<adcode> <event JSON>` a line, as [`Cluster::append`] writes them. A line
/// that is not one (a message not made by yiping) is skipped with the reason logged.
fn decode_events(seq: u64, payload: &[u8]) -> Vec<Located> {
    let text = String::from_utf8_lossy(payload);
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .filter_map(|(i, line)| {
            let parsed = line
                .split_once(' ')
                .ok_or_else(|| "no county before the event".to_owned())
                .and_then(|(adcode, json)| {
                    yiping_protocol::events::parse_line(json)
                        .map(|event| Located::new(event, adcode.to_owned()))
                        .map_err(|e| e.to_string())
                });
            parsed.map_err(|e| tracing::error!(seq, line = i + 1, "log stream: a line skipped: {e}")).ok()
        })
        .collect()
}

/// Hold the clock's lease when nobody else does, and while holding it tick the alert clock
/// through the log every [`crate::ALERT_TICK`]. Runs for as long as the server runs.
pub async fn run_clock(state: Arc<AppState>, cluster: Arc<Cluster>) {
    loop {
        if let Err(e) = hold_clock(&state, &cluster).await {
            tracing::error!("the clock's lease: {e:#}; trying again in {} s", LEASE_RENEW.as_secs());
        }
        cluster.clock.store(false, Ordering::Relaxed);
        tokio::time::sleep(LEASE_RENEW).await;
    }
}

async fn hold_clock(state: &Arc<AppState>, cluster: &Arc<Cluster>) -> anyhow::Result<()> {
    let bucket = match cluster.js.get_key_value(LEASE_BUCKET).await {
        Ok(b) => b,
        Err(_) => {
            cluster
                .js
                .create_key_value(kv::Config {
                    bucket: LEASE_BUCKET.into(),
                    history: 1,
                    max_age: LEASE_TTL,
                    storage: stream::StorageType::File,
                    num_replicas: cluster.replicas,
                    ..Default::default()
                })
                .await?
        }
    };
    let mut every = tokio::time::interval(LEASE_RENEW);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut revision: Option<u64> = None;
    let mut last_tick = tokio::time::Instant::now();
    loop {
        every.tick().await;
        let value = cluster.node.clone().into_bytes().into();
        revision = match revision {
            Some(r) => match bucket.update(LEASE_KEY, value, r).await {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!("the clock's lease is lost ({e}): another node ticks now");
                    None
                }
            },
            None => match bucket.create(LEASE_KEY, value).await {
                Ok(r) => {
                    tracing::info!(
                        node = cluster.node,
                        "this node holds the clock's lease: it ticks the alert clock"
                    );
                    cluster.take_clock(state.clock.now());
                    Some(r)
                }
                Err(_) => None,
            },
        };
        cluster.clock.store(revision.is_some(), Ordering::Relaxed);
        if revision.is_some() && last_tick.elapsed() >= crate::ALERT_TICK {
            last_tick = tokio::time::Instant::now();
            let c = cluster.clone();
            let now = state.clock.now();
            // Not awaited here: the lease is renewed meanwhile.
            tokio::spawn(async move {
                if let Err(e) = c.send("tick", now, Vec::new()).await {
                    tracing::warn!("a tick of the alert clock was not logged: {e}");
                }
            });
        }
    }
}

/// Publish a change ([`crate::changes`]) on the log stream of the NATS server at `url` from
/// outside a node (`yiping user … --nats`): every node applies it when it comes. Returns the
/// message's place in the stream once JetStream has it.
pub async fn publish_change(url: &str, changing: &crate::changes::Changing) -> anyhow::Result<u64> {
    let shown = crate::nats::without_password(url);
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach NATS at {shown}: {e}"))?;
    let js = jetstream::new(client);
    let now = Timestamp::now();
    let mut headers = async_nats::HeaderMap::new();
    let id = format!("cli-{:x}{:08x}", now.unix_ns() / 1_000_000, rand::random::<u32>());
    headers.insert("Nats-Msg-Id", id.as_str());
    headers.insert(KIND, "change");
    headers.insert(TIME, now.to_string().as_str());
    let body = serde_json::to_vec(changing).expect("a change serialises");
    let sent = async {
        js.publish_with_headers(LOG_SUBJECT, headers, body.into()).await?.await.map_err(anyhow::Error::from)
    };
    let ack = sent.await.map_err(|e| {
        anyhow::anyhow!("the log stream {LOG_STREAM} on {shown}: {e} (is a node running on it?)")
    })?;
    Ok(ack.sequence)
}

/// Send the rules' steps this node proposes ([`Cluster::propose`]) to the stream, in order, as
/// messages of kind `alerts` whose time is the instant they were decided at; every node applies
/// them ([`AppState::take_proposals`]). A message JetStream does not take after a few tries is
/// dropped with a warning: the next tick of the alert clock proposes again what still holds.
/// Runs for as long as the server runs.
pub async fn run_proposals(cluster: Arc<Cluster>) {
    let Some(mut rx) = cluster.proposals_rx.lock().or_poisoned().take() else { return };
    while let Some(p) = rx.recv().await {
        let (steps, as_of) = (p.steps.len(), p.as_of);
        let body = serde_json::to_vec(&p).expect("alert steps serialise");
        let id = format!("{}-{}", cluster.node, cluster.next.fetch_add(1, Ordering::Relaxed));
        let mut sent = Err(String::new());
        for _ in 0..5 {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", id.as_str());
            headers.insert(KIND, "alerts");
            headers.insert(TIME, as_of.to_string().as_str());
            sent = match cluster.js.publish_with_headers(LOG_SUBJECT, headers, body.clone().into()).await {
                Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if sent.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if let Err(e) = sent {
            tracing::warn!(steps, "alert steps not proposed ({e}): the next tick proposes again what holds");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(alert: &str) -> Pending {
        Pending {
            alert: alert.into(),
            action: yiping_protocol::alerts::AlertAction::Resolve,
            actor: "system".into(),
            role: String::new(),
            addr: String::new(),
            comment: String::new(),
            body: serde_json::json!({}),
        }
    }

    #[test]
    fn a_node_keeps_what_it_decided_until_the_holder_proposes_it_and_only_while_it_is_recent() {
        let t0 = Timestamp::parse("2026-12-05T08:00:00Z").expect("a time");
        let at = |s: i64| t0.plus_s(s);
        let proposal = |alert: &str, decided_on: u64, as_of: Timestamp| Proposal {
            decided_on,
            as_of,
            steps: vec![step(alert)],
        };
        let alerts =
            |p: &mut dyn Iterator<Item = &Proposal>| p.map(|p| p.steps[0].alert.clone()).collect::<Vec<_>>();
        let mut kept = Kept::default();
        // Messages 1-3; message 3 was received by a node whose clock is behind the others'.
        kept.keep(proposal("A1", 1, at(0)), at(0));
        kept.keep(proposal("A2", 2, at(10)), at(10));
        kept.keep(proposal("A3", 3, at(5)), at(10));
        // The holder's proposal decided on message 2 has come: 1 and 2 go, by place, not time.
        kept.forget_until(2);
        assert_eq!(alerts(&mut kept.0.iter()), ["A3"]);
        // Taking the lease at second 30: message 3's is still recent (25 s).
        kept.keep(proposal("A4", 4, at(28)), at(28));
        assert_eq!(alerts(&mut kept.take_recent(at(30)).iter()), ["A3", "A4"]);
        assert!(kept.0.is_empty(), "nothing is kept after");
        // Older than PROPOSE_WITHIN: dropped when more is kept, and never proposed.
        kept.keep(proposal("A5", 5, at(50)), at(50));
        kept.keep(proposal("A6", 6, at(90)), at(90));
        assert_eq!(alerts(&mut kept.0.iter()), ["A6"]);
        assert!(kept.take_recent(at(200)).is_empty());
        // At most KEPT_MOST.
        for i in 0..KEPT_MOST as u64 + 5 {
            kept.keep(proposal(&format!("B{i}"), 10 + i, at(300)), at(300));
        }
        assert_eq!(kept.0.len(), KEPT_MOST);
        assert_eq!(kept.0.front().map(|p| p.steps[0].alert.as_str()), Some("B5"));
    }
}
