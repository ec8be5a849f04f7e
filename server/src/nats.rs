//! NATS as an ingest source (`nats = "nats://…"`, `--nats`): the data platform publishes events
//! on `yiping.in.<source>`, one or more NDJSON lines a message, exactly as `POST /api/v1/events`
//! takes them, and they are checked, placed and stored exactly as HTTP ingest does.
//!
//! - **Durable both ways.** The subjects are captured by the JetStream stream [`IN_STREAM`]
//!   (file storage, a work queue: a message is removed once yiping has acknowledged it), so a
//!   message published while yiping is down waits for it. yiping reads it with the durable pull
//!   consumer [`CONSUMER`] and acknowledges a message only once its valid lines are committed to
//!   the log and its refused lines are in the dead-letter stream: a crash in between redelivers
//!   it, and the `(source, id)` uniqueness of the log (and JetStream's de-duplication of dead
//!   letters by message id, over [`DEAD_DEDUP`]) stores nothing twice. The trail then has an
//!   entry per delivery, each saying what it stored.
//! - **Refused lines** go to `yiping.dead.<source>` (stream [`DEAD_STREAM`]), one JSON object
//!   per line: the source, the stream sequence of the message, the line's number, the field, the
//!   value and what is wrong, and the line as sent.
//! - **Who may publish** is the NATS server's to say: each source gets credentials allowed to
//!   publish on its own subject only (README, "Feeding it over NATS"); the subject names the
//!   source as a token does over HTTP.
//! - Every message is in the audit trail as an HTTP body is (`ingest`, by `source:<name>`, with
//!   its stream sequence and delivery).
//! - Unlike HTTP, a source's rate limit and its tokens do not apply: the NATS server's
//!   permissions and limits do.
//!
//! The connection is retried for as long as the server runs, with the reason logged.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use yiping_protocol::api::LineResult;

use crate::AppState;
use crate::ingest::{SubmitError, check_lines};

/// The stream that keeps what sources publish.
pub const IN_STREAM: &str = "YIPING_IN";
/// The subjects sources publish on: `yiping.in.<source>`.
pub const IN_PREFIX: &str = "yiping.in.";
/// The stream of refused lines.
pub const DEAD_STREAM: &str = "YIPING_DEAD";
/// The subjects of refused lines: `yiping.dead.<source>`.
pub const DEAD_PREFIX: &str = "yiping.dead.";
/// yiping's durable consumer of [`IN_STREAM`].
pub const CONSUMER: &str = "yiping";
/// How long dead letters are de-duplicated by message id (a redelivery within it adds none).
pub const DEAD_DEDUP: Duration = Duration::from_secs(24 * 3600);
/// How long dead letters are kept.
pub const DEAD_KEPT: Duration = Duration::from_secs(90 * 24 * 3600);
/// The most of a refused line a dead letter carries, characters.
const DEAD_TEXT: usize = 4096;

/// A line refused, as published on `yiping.dead.<source>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeadLetter {
    /// The source (the subject's last part).
    pub source: String,
    /// The message's sequence in [`IN_STREAM`].
    pub stream_seq: u64,
    /// The line's number in the message (1-based; 0: the message as a whole).
    pub line: usize,
    /// The field at fault (`-`: the line as a whole).
    pub field: String,
    /// The value as received.
    pub value: String,
    /// What is wrong.
    pub error: String,
    /// The line as sent.
    pub text: String,
}

/// Take events from the NATS server at `url` until the task is dropped; a lost connection is
/// retried every few seconds.
pub async fn run(state: Arc<AppState>, url: String) {
    let shown = without_password(&url);
    let mut wait = Duration::from_secs(1);
    loop {
        let began = std::time::Instant::now();
        let ended = consume(&state, &url, &shown).await;
        // A connection that lasted a while starts the waits again from 1 s.
        if began.elapsed() > Duration::from_secs(60) {
            wait = Duration::from_secs(1);
        }
        match ended {
            Ok(()) => tracing::warn!(url = %shown, "NATS: the consumer's messages ended; reconnecting"),
            Err(e) => tracing::error!(url = %shown, "NATS ingest: {e:#}; retrying in {} s", wait.as_secs()),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// `url` without the password of its user, for logs (`nats://yiping:***@host:4222`).
pub fn without_password(url: &str) -> String {
    match url.split_once("://").and_then(|(scheme, rest)| Some((scheme, rest.split_once('@')?))) {
        Some((scheme, (user, host))) => {
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

async fn consume(state: &Arc<AppState>, url: &str, shown: &str) -> anyhow::Result<()> {
    let client = async_nats::connect(url).await?;
    let js = jetstream::new(client);
    let input = js
        .get_or_create_stream(stream::Config {
            name: IN_STREAM.into(),
            subjects: vec![format!("{IN_PREFIX}>")],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await?;
    js.get_or_create_stream(stream::Config {
        name: DEAD_STREAM.into(),
        subjects: vec![format!("{DEAD_PREFIX}>")],
        storage: stream::StorageType::File,
        max_age: DEAD_KEPT,
        duplicate_window: DEAD_DEDUP,
        ..Default::default()
    })
    .await?;
    let consumer: consumer::PullConsumer = input
        .get_or_create_consumer(
            CONSUMER,
            consumer::pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                // A message is redelivered when it was not acknowledged within this time (a
                // body of 16 MiB is checked and stored in far less).
                ack_wait: Duration::from_secs(60),
                ..Default::default()
            },
        )
        .await?;
    tracing::info!(url = %shown, stream = IN_STREAM, "taking events from NATS");
    let mut messages = consumer.messages().await?;
    while let Some(msg) = messages.next().await {
        let msg = msg.map_err(|e| anyhow::anyhow!("reading {IN_STREAM}: {e}"))?;
        let (seq, delivery) = msg.info().map(|i| (i.stream_sequence, i.delivered)).unwrap_or((0, 1));
        match take(state, &js, &msg.subject, seq, delivery, &msg.payload).await {
            Ok(()) => msg.double_ack().await.map_err(|e| anyhow::anyhow!("acknowledging #{seq}: {e}"))?,
            Err(e) => {
                // Not stored: JetStream delivers it again after a while.
                tracing::warn!(seq, "NATS message not taken yet: {e:#}");
                let _ = msg.ack_with(jetstream::AckKind::Nak(Some(Duration::from_secs(1)))).await;
            }
        }
    }
    Ok(())
}

/// Check, store and dead-letter one message; Ok once all of it is durable.
async fn take(
    state: &Arc<AppState>,
    js: &jetstream::Context,
    subject: &str,
    seq: u64,
    delivery: i64,
    payload: &[u8],
) -> anyhow::Result<()> {
    let source = subject.strip_prefix(IN_PREFIX).unwrap_or(subject).to_owned();
    let whole = |error: String| DeadLetter {
        source: source.clone(),
        stream_seq: seq,
        line: 0,
        field: "-".into(),
        value: String::new(),
        error,
        text: String::from_utf8_lossy(&payload[..payload.len().min(DEAD_TEXT)]).into_owned(),
    };
    if let Err(e) = crate::sources::check_source_name(&source) {
        return dead_letters(js, &source, vec![whole(format!("subject {subject:?}: {e}"))]).await;
    }
    let text = match std::str::from_utf8(payload) {
        Ok(t) => t,
        Err(e) => {
            let why = format!("not UTF-8 (first bad byte at offset {})", e.valid_up_to());
            return dead_letters(js, &source, vec![whole(why)]).await;
        }
    };
    let (ok, rejected) =
        check_lines(text, &source, &state.places, state.clock.now(), state.log.future_tolerance_s);
    let lines: Vec<&str> = text.lines().collect();
    let dead: Vec<DeadLetter> = rejected
        .iter()
        .filter_map(|r| match r {
            LineResult::Rejected { line, field, value, error } => Some(DeadLetter {
                source: source.clone(),
                stream_seq: seq,
                line: *line,
                field: field.clone(),
                value: value.clone(),
                error: error.clone(),
                text: lines
                    .get(line.wrapping_sub(1))
                    .map(|l| l.chars().take(DEAD_TEXT).collect())
                    .unwrap_or_default(),
            }),
            _ => None,
        })
        .collect();
    let refused = dead.len();
    // What this delivery stored is in the trail as soon as it is stored (committed with it).
    let sender = crate::ingest::Sender {
        source: source.clone(),
        addr: "nats".into(),
        rejected: refused,
        nats: Some((seq, delivery)),
    };
    if ok.is_empty() {
        state.audit(sender.entry(&[]))?;
    } else {
        // Waits for room in the writer's queue (JetStream holds the rest meanwhile).
        let events = ok.into_iter().map(|(_, l)| l).collect();
        state.submit_from(events, Some(sender), true).await.map_err(|e| match e {
            SubmitError::Busy => anyhow::anyhow!("the log is busy"),
            SubmitError::Failed(m) | SubmitError::Unavailable(m) => anyhow::anyhow!("the log: {m}"),
        })?;
    }
    state.metrics.rejected.fetch_add(refused as u64, Ordering::Relaxed);
    dead_letters(js, &source, dead).await
}

/// Publish `dead` on `yiping.dead.<source>` and wait for JetStream to keep each (a message id
/// per message and line, so that a redelivered message adds none twice).
async fn dead_letters(js: &jetstream::Context, source: &str, dead: Vec<DeadLetter>) -> anyhow::Result<()> {
    let subject = format!("{DEAD_PREFIX}{}", if source.is_empty() { "-" } else { source });
    // Sent together, then their acknowledgements awaited.
    let mut acks = Vec::with_capacity(dead.len());
    for d in dead {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{}-{}", d.stream_seq, d.line).as_str());
        let body = serde_json::to_vec(&d)?;
        acks.push((
            (d.stream_seq, d.line),
            js.publish_with_headers(subject.clone(), headers, body.into()).await?,
        ));
    }
    for ((seq, line), ack) in acks {
        ack.await.map_err(|e| anyhow::anyhow!("dead letter of #{seq} line {line}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn logs_show_the_user_not_the_password() {
        assert_eq!(
            super::without_password("nats://yiping:s3cret@10.0.0.5:4222"),
            "nats://yiping:***@10.0.0.5:4222"
        );
        assert_eq!(super::without_password("nats://token@host:4222"), "nats://token:***@host:4222");
        assert_eq!(super::without_password("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}
