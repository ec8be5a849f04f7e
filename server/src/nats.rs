//! NATS as an ingest source (`nats = "nats://…"`, `--nats`): the data platform publishes events
//! on `yiping.in.<source>`, one or more NDJSON lines a message, exactly as `POST /api/v1/events`
//! takes them, and they are checked, placed and stored exactly as HTTP ingest does.
//!
//! - **Durable both ways.** The subjects are captured by the JetStream stream [`IN_STREAM`]
//!   (file storage), so a message published while yiping is down waits for it. yiping reads it
//!   with the durable pull consumer [`CONSUMER`] and acknowledges a message only once its valid
//!   lines are committed to the log and its refused lines are in the dead-letter stream: a crash
//!   in between redelivers it, and the `(source, id)` uniqueness of the log (and JetStream's
//!   de-duplication of dead letters by message id) makes the redelivery change nothing.
//! - **Refused lines** go to `yiping.dead.<source>` (stream [`DEAD_STREAM`]), one JSON object
//!   per line: the source, the stream sequence of the message, the line's number, the field, the
//!   value and what is wrong, and the line as sent.
//! - **Who may publish** is the NATS server's to say: each source gets credentials allowed to
//!   publish on its own subject only (README, "Feeding it over NATS"); the subject names the
//!   source as a token does over HTTP.
//! - Every message is in the audit trail as an HTTP body is (`ingest`, by `source:<name>`).
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
    let mut wait = Duration::from_secs(1);
    loop {
        match consume(&state, &url).await {
            Ok(()) => tracing::warn!(%url, "NATS: the consumer's messages ended; reconnecting"),
            Err(e) => tracing::error!(%url, "NATS ingest: {e:#}; retrying in {} s", wait.as_secs()),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

async fn consume(state: &Arc<AppState>, url: &str) -> anyhow::Result<()> {
    let client = async_nats::connect(url).await?;
    let js = jetstream::new(client);
    let input = js
        .get_or_create_stream(stream::Config {
            name: IN_STREAM.into(),
            subjects: vec![format!("{IN_PREFIX}>")],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await?;
    js.get_or_create_stream(stream::Config {
        name: DEAD_STREAM.into(),
        subjects: vec![format!("{DEAD_PREFIX}>")],
        storage: stream::StorageType::File,
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
    tracing::info!(%url, stream = IN_STREAM, "taking events from NATS");
    let mut messages = consumer.messages().await?;
    while let Some(msg) = messages.next().await {
        let msg = msg.map_err(|e| anyhow::anyhow!("reading {IN_STREAM}: {e}"))?;
        let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
        match take(state, &js, &msg.subject, seq, &msg.payload).await {
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
        text: String::from_utf8_lossy(&payload[..payload.len().min(4096)]).into_owned(),
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
    state.metrics.rejected.fetch_add(rejected.len() as u64, Ordering::Relaxed);
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
                text: lines.get(line.wrapping_sub(1)).map(|l| (*l).to_owned()).unwrap_or_default(),
            }),
            _ => None,
        })
        .collect();
    let n = ok.len();
    let stored = if ok.is_empty() {
        vec![]
    } else {
        state.ingestor().submit(ok.into_iter().map(|(_, l)| l).collect()).await.map_err(|e| match e {
            SubmitError::Busy => anyhow::anyhow!("the log is busy"),
            SubmitError::Failed(m) => anyhow::anyhow!("the log: {m}"),
        })?
    };
    let accepted = stored.iter().filter(|a| matches!(a, crate::store::Appended::New { .. })).count();
    let refused = dead.len();
    dead_letters(js, &source, dead).await?;
    state.audit(crate::trail::NewEntry {
        actor: format!("source:{source}"),
        addr: "nats".into(),
        action: "ingest".into(),
        target: source.clone(),
        comment: format!("{accepted} accepted, {} duplicate, {refused} rejected (NATS #{seq})", n - accepted),
        body: serde_json::json!({
            "accepted": accepted, "duplicates": n - accepted, "rejected": refused, "stream_seq": seq,
        }),
        ..Default::default()
    })?;
    Ok(())
}

/// Publish `dead` on `yiping.dead.<source>` and wait for JetStream to keep each (a message id
/// per message and line, so that a redelivered message adds none twice).
async fn dead_letters(js: &jetstream::Context, source: &str, dead: Vec<DeadLetter>) -> anyhow::Result<()> {
    let subject = format!("{DEAD_PREFIX}{}", if source.is_empty() { "-" } else { source });
    for d in dead {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{}-{}", d.stream_seq, d.line).as_str());
        let body = serde_json::to_vec(&d)?;
        js.publish_with_headers(subject.clone(), headers, body.into())
            .await?
            .await
            .map_err(|e| anyhow::anyhow!("dead letter of #{} line {}: {e}", d.stream_seq, d.line))?;
    }
    Ok(())
}
