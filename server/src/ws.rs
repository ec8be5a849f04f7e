//! The websocket endpoint `/ws` (DESIGN §5).
//!
//! One task per connection. Deltas are collected from the client's topic receivers every
//! [`TICK`] and sent as one frame (a `batch` when there are several); their wire text was made once
//! at publication and is shared by all clients. A client that falls behind the fan-out channel
//! catches up from the resume ring, or gets a fresh snapshot when even the ring has moved on, so
//! its queue is bounded and it never slows the others. The server pings every [`PING_EVERY`] and drops a
//! connection it has heard nothing from for [`IDLE_LIMIT`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::time::{Instant, MissedTickBehavior, interval};
use yiping_protocol::{ClientMsg, ResumePoint, ServerMsg};

use crate::hub::{Delta, to_text};

use crate::AppState;

/// How often deltas are flushed to a client.
pub const TICK: Duration = Duration::from_millis(100);
/// How often the server pings.
pub const PING_EVERY: Duration = Duration::from_secs(15);
/// Silence after which a connection is considered dead.
pub const IDLE_LIMIT: Duration = Duration::from_secs(45);
/// Largest client message accepted (client messages are tiny).
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// `GET /ws`: upgrade with small buffers (most traffic is server → client and small).
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<Arc<AppState>>) -> Response {
    ws.read_buffer_size(8 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(socket, state))
}

struct ClientGuard(Arc<AppState>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Largest frame the server builds, bytes: a long catch-up goes out as several frames.
const MAX_FRAME_BYTES: usize = 1 << 20;

/// Group wire texts into frames: one message alone, several as a `batch`.
fn frames(items: Vec<Arc<str>>) -> Vec<Message> {
    let mut out = Vec::new();
    let mut group: Vec<Arc<str>> = Vec::new();
    let mut size = 0;
    let flush = |group: &mut Vec<Arc<str>>, out: &mut Vec<Message>| match group.len() {
        0 => {}
        1 => out.push(Message::Text(group.pop().map(|t| t.to_string()).unwrap_or_default().into())),
        _ => {
            let mut s = String::with_capacity(group.iter().map(|t| t.len() + 1).sum::<usize>() + 32);
            s.push_str(r#"{"type":"batch","items":["#);
            for (i, t) in group.drain(..).enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&t);
            }
            s.push_str("]}");
            out.push(Message::Text(s.into()));
        }
    };
    for t in items {
        if size + t.len() > MAX_FRAME_BYTES && !group.is_empty() {
            flush(&mut group, &mut out);
            size = 0;
        }
        size += t.len();
        group.push(t);
    }
    flush(&mut group, &mut out);
    out
}

/// A client's subscription to one topic: its receiver and the last seq it was given.
struct Sub {
    rx: broadcast::Receiver<Arc<Delta>>,
    seq: u64,
}

async fn serve(socket: WebSocket, state: Arc<AppState>) {
    state.clients.fetch_add(1, Ordering::Relaxed);
    let _guard = ClientGuard(state.clone());
    let (mut sink, mut stream) = socket.split();
    let mut subs: BTreeMap<String, Sub> = BTreeMap::new();
    let mut tick = interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ping = interval(PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        let out: Vec<Arc<str>> = tokio::select! {
            incoming = stream.next() => {
                last_heard = Instant::now();
                match incoming {
                    Some(Ok(Message::Text(text))) => handle(&state, &mut subs, text.as_str()),
                    Some(Ok(Message::Binary(_))) => vec![to_text(&ServerMsg::Error { message: "binary frames are not part of the protocol; send JSON text".into() })],
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue, // ping/pong
                }
            }
            _ = tick.tick() => drain(&state, &mut subs),
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    break;
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
                continue;
            }
        };
        for msg in frames(out) {
            if sink.send(msg).await.is_err() {
                return;
            }
            state.metrics.ws_frames.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn handle(state: &AppState, subs: &mut BTreeMap<String, Sub>, text: &str) -> Vec<Arc<str>> {
    let msg: ClientMsg = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return vec![to_text(&ServerMsg::Error { message: format!("bad request: {e}") })],
    };
    match msg {
        ClientMsg::Ping => vec![to_text(&ServerMsg::Pong)],
        ClientMsg::Unsubscribe { topics } => {
            for t in topics {
                subs.remove(&t);
            }
            vec![]
        }
        ClientMsg::Subscribe { topics, since } => {
            let mut out = Vec::new();
            for t in topics {
                if !state.hub.has_topic(&t) {
                    out.push(to_text(&ServerMsg::Error {
                        message: format!("unknown topic {t:?}; GET /api/v1/topics lists them"),
                    }));
                    continue;
                }
                let sub = state.subscribe(&t, since.get(&t));
                out.extend(sub.initial);
                subs.insert(t, Sub { rx: sub.rx, seq: sub.seq });
            }
            out
        }
    }
}

fn drain(state: &AppState, subs: &mut BTreeMap<String, Sub>) -> Vec<Arc<str>> {
    let mut out = Vec::new();
    for (topic, sub) in subs.iter_mut() {
        loop {
            match sub.rx.try_recv() {
                Ok(d) if d.seq <= sub.seq => {} // already sent (in the initial messages)
                Ok(d) => {
                    sub.seq = d.seq;
                    out.push(d.text.clone());
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                Err(TryRecvError::Lagged(n)) => {
                    // Fell behind the channel: catch up from the resume ring, or, if even that has
                    // moved on, start again from a snapshot.
                    let since = ResumePoint { epoch: state.hub.epoch(topic).to_owned(), seq: sub.seq };
                    let fresh = state.subscribe(topic, Some(&since));
                    if fresh.initial.len() == 1 && fresh.initial[0].starts_with(r#"{"type":"snapshot""#) {
                        state.metrics.ws_resyncs.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(
                            topic,
                            missed = n,
                            "client fell behind; resynchronising with a snapshot"
                        );
                    }
                    out.extend(fresh.initial);
                    *sub = Sub { rx: fresh.rx, seq: fresh.seq };
                }
            }
        }
    }
    out
}
