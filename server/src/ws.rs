//! The websocket endpoint `/ws` (DESIGN §5).
//!
//! One task per connection. Deltas are collected from the client's topic receivers every
//! [`TICK`] and sent as one frame (a `batch` when there are several). A client that falls more than
//! the fan-out capacity behind gets a fresh snapshot instead of the deltas it missed, so its queue
//! is bounded and it never slows the others. The server pings every [`PING_EVERY`] and drops a
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
use yiping_protocol::{ClientMsg, ServerMsg, Update};

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

fn frame(items: Vec<ServerMsg>) -> Option<Message> {
    let msg = match items.len() {
        0 => return None,
        1 => items.into_iter().next()?,
        _ => ServerMsg::Batch { items },
    };
    let text = serde_json::to_string(&msg).expect("protocol messages always serialise");
    Some(Message::Text(text.into()))
}

async fn serve(socket: WebSocket, state: Arc<AppState>) {
    state.clients.fetch_add(1, Ordering::Relaxed);
    let _guard = ClientGuard(state.clone());
    let (mut sink, mut stream) = socket.split();
    let mut subs: BTreeMap<String, broadcast::Receiver<Arc<Update>>> = BTreeMap::new();
    let mut tick = interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ping = interval(PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        let out: Vec<ServerMsg> = tokio::select! {
            incoming = stream.next() => {
                last_heard = Instant::now();
                match incoming {
                    Some(Ok(Message::Text(text))) => handle(&state, &mut subs, text.as_str()),
                    Some(Ok(Message::Binary(_))) => vec![ServerMsg::Error { message: "binary frames are not part of the protocol; send JSON text".into() }],
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
        if let Some(msg) = frame(out) {
            if sink.send(msg).await.is_err() {
                break;
            }
            state.metrics.ws_frames.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

fn handle(
    state: &AppState,
    subs: &mut BTreeMap<String, broadcast::Receiver<Arc<Update>>>,
    text: &str,
) -> Vec<ServerMsg> {
    let msg: ClientMsg = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            return vec![ServerMsg::Error { message: format!("bad request: {e}") }];
        }
    };
    match msg {
        ClientMsg::Ping => vec![ServerMsg::Pong],
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
                    out.push(ServerMsg::Error {
                        message: format!("unknown topic {t:?}; GET /api/v1/topics lists them"),
                    });
                    continue;
                }
                let sub = state.subscribe(&t, since.get(&t));
                out.extend(sub.initial);
                subs.insert(t, sub.rx);
            }
            out
        }
    }
}

fn drain(state: &AppState, subs: &mut BTreeMap<String, broadcast::Receiver<Arc<Update>>>) -> Vec<ServerMsg> {
    let mut out = Vec::new();
    for (topic, rx) in subs.iter_mut() {
        loop {
            match rx.try_recv() {
                Ok(u) => out.push(ServerMsg::Delta((*u).clone())),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                Err(TryRecvError::Lagged(n)) => {
                    state.metrics.ws_resyncs.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(topic, missed = n, "client fell behind; resynchronising with a snapshot");
                    let sub = state.subscribe(topic, None);
                    out.retain(|m| !matches!(m, ServerMsg::Delta(u) if &u.topic == topic));
                    out.extend(sub.initial);
                    *rx = sub.rx;
                }
            }
        }
    }
    out
}
