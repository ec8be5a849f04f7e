//! The websocket endpoint `/ws` (DESIGN §5).
//!
//! One task per connection: it reads what the client sends and answers, pings, and catches the
//! client up. Each topic's new deltas go out as one shared frame (a `batch` when there are
//! several, see `fanout::flush`) whose text was made once for all clients, written by the
//! fan-out's sweepers themselves to every connection that is up to date (see `fanout`): the task
//! is not woken for them. A client the sweep could not write to (it is not reading, its task is writing, or
//! its data is cut to a scope) is its task's: it catches up from the hub's kept frames, from the
//! resume ring, or from a fresh snapshot when even the ring has moved on, so its queue is
//! bounded and it never slows the others. The server pings every [`PING_EVERY`] and drops a
//! connection it has heard nothing from for [`IDLE_LIMIT`].

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::Utf8Bytes;
use axum::response::Response;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, MissedTickBehavior, interval};
use yiping_protocol::{ClientMsg, ResumePoint, ServerMsg};

use crate::fanout::{Conn, Sub};
use crate::hub::{frames_of, to_text};

use crate::auth::Caller;
use crate::present::{self, Relay};
use crate::socket::{self, Incoming, Socket};
use crate::trail::NewEntry;
use crate::{AppState, replay};
use axum::response::IntoResponse;
use yiping_protocol::present::{Part, View, WallState};

/// How often the server pings.
pub const PING_EVERY: Duration = Duration::from_secs(15);
/// Silence after which a connection is considered dead.
pub const IDLE_LIMIT: Duration = Duration::from_secs(45);
/// Largest client message accepted (client messages are tiny): a larger one closes the
/// connection with code 1009 and the reason, as soon as its header is read.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// `GET /ws`: upgrade to a websocket ([`socket`]: frames are written from the shared text, a
/// connection keeps only a small read buffer).
///
/// Readers only (a login, or anonymous reading where allowed: 401 before the upgrade otherwise).
/// A user with a region scope gets every topic's data cut to the scope (entities, regions and
/// alerts under the prefix; every seq still arrives, so resuming works), and the
/// `overview` of the scope's region in place of the root's.
#[utoipa::path(
    get,
    path = "/ws",
    tag = "service",
    security((), ("session" = [])),
    description = "The websocket of live data (`yiping_protocol::ClientMsg` and `ServerMsg`): subscribe to topics, \
        resume from a seq, replay a period, present. A scoped user gets every topic cut to the scope.",
    responses((status = 101, description = "Switching to the websocket protocol."), crate::openapi::Unauthorized)
)]
pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    mut req: axum::extract::Request,
) -> Response {
    use axum::http::header;
    if let Err(e) = caller.read() {
        return e.into_response();
    }
    if let Err(e) = same_origin(req.headers()) {
        return e.into_response();
    }
    let accept = match socket::accept_key(req.headers()) {
        Ok(key) => key,
        Err(socket::Refusal::NotUpgrade(why)) => {
            return crate::error::AppError::BadRequest(why).into_response();
        }
        Err(socket::Refusal::Version(why)) => {
            let mut refused = crate::error::AppError::BadRequest(why).into_response();
            *refused.status_mut() = axum::http::StatusCode::UPGRADE_REQUIRED;
            refused
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_VERSION, header::HeaderValue::from_static("13"));
            return refused;
        }
    };
    let Some(on_upgrade) = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>() else {
        return crate::error::AppError::BadRequest(
            "this connection cannot be upgraded (HTTP/1.1 only)".into(),
        )
        .into_response();
    };
    let who = Who {
        scope: caller.scope().map(str::to_owned),
        actor: present::Actor::of(&caller),
        addr: caller.ip(),
    };
    // On the connections' own runtime (see `run::fanout_threads`).
    let runtime = state.fanout.get().cloned().unwrap_or_else(tokio::runtime::Handle::current);
    drop(runtime.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => serve(Socket::new(upgraded, MAX_CLIENT_MESSAGE), state, who).await,
            Err(e) => tracing::debug!("websocket upgrade failed: {e}"),
        }
    }));
    let mut answer = Response::new(axum::body::Body::empty());
    *answer.status_mut() = axum::http::StatusCode::SWITCHING_PROTOCOLS;
    let h = answer.headers_mut();
    h.insert(header::UPGRADE, header::HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, header::HeaderValue::from_static("upgrade"));
    if let Ok(v) = header::HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    answer
}

/// A browser's socket must come from a page of this server (its `Origin` names the `Host`):
/// another site's page cannot use a presenter's cookie to drive a wall. Clients that are not
/// browsers send no `Origin`.
fn same_origin(headers: &axum::http::HeaderMap) -> Result<(), crate::error::AppError> {
    let Some(origin) = headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(crate::error::AppError::Forbidden(format!(
            "websocket from origin {origin:?}: only this server's pages ({host})"
        )))
    }
}

/// Who is connected: the scope their data is cut to, and who they are to a wall.
struct Who {
    scope: Option<String>,
    actor: present::Actor,
    addr: String,
}

/// The wall a connection takes part in (a page) or watches (a console, `part` None).
struct Attached {
    wall: String,
    part: Option<Part>,
    rx: broadcast::Receiver<Arc<Relay>>,
}

/// The next change of the wall attached (pending forever when none).
async fn next_relay(a: &mut Option<Attached>) -> Result<Arc<Relay>, RecvError> {
    match a {
        Some(a) => a.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A connection counted and registered with the fan-out, for as long as its task lasts.
struct ClientGuard(Arc<AppState>, Arc<Conn>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.conns.unregister(&self.1);
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Cut one wire message to a region scope (see [`upgrade`]).
pub fn scoped_text(text: &str, scope: &str) -> Utf8Bytes {
    scoped_with(text, scope, &mut |_| None)
}

/// Cut one live wire message to a region scope, the root's overview replaced by the scope
/// region's (each overview update is the whole overview, so the newest stands for any of them).
fn scoped_live(state: &AppState, text: &str, scope: &str) -> Utf8Bytes {
    scoped_with(text, scope, &mut |topic| {
        (topic == yiping_protocol::topics::OVERVIEW).then(|| state.scoped_overview(scope))
    })
}

/// Cut `text` to `scope`; a topic's data that `replace` gives is put in place of what it had.
fn scoped_with(
    text: &str,
    scope: &str,
    replace: &mut dyn FnMut(&str) -> Option<Arc<serde_json::Value>>,
) -> Utf8Bytes {
    match ServerMsg::from_json(text) {
        Ok(mut msg) => {
            scope_msg(&mut msg, scope, replace);
            Utf8Bytes::from(serde_json::to_string(&msg).expect("messages serialise"))
        }
        // What cannot be cut is not sent (the server makes every message: this is a bug).
        Err(e) => {
            tracing::error!("a message for a scoped connection does not parse: {e}");
            let refusal = ServerMsg::Error { message: "a message could not be cut to your scope".into() };
            Utf8Bytes::from(serde_json::to_string(&refusal).expect("messages serialise"))
        }
    }
}

fn scope_msg(
    msg: &mut ServerMsg,
    scope: &str,
    replace: &mut dyn FnMut(&str) -> Option<Arc<serde_json::Value>>,
) {
    match msg {
        ServerMsg::Snapshot(u) | ServerMsg::Delta(u) => match replace(&u.topic) {
            Some(data) => u.data = (*data).clone(),
            None => scope_data(&mut u.data, scope),
        },
        ServerMsg::Batch { items } => items.iter_mut().for_each(|m| scope_msg(m, scope, replace)),
        ServerMsg::Pong
        | ServerMsg::Error { .. }
        | ServerMsg::Replay(_)
        | ServerMsg::Wall(_)
        | ServerMsg::Cue { .. } => {}
    }
}

fn scope_data(data: &mut serde_json::Value, scope: &str) {
    let Some(obj) = data.as_object_mut() else { return };
    if let Some(serde_json::Value::Array(alerts)) = obj.get_mut("alerts") {
        alerts.retain(|a| a["adcode"].as_str().is_some_and(|c| c.starts_with(scope)));
    }
    if let Some(serde_json::Value::Object(entities)) = obj.get_mut("entities") {
        entities.retain(|_, e| e["adcode"].as_str().is_some_and(|c| c.starts_with(scope)));
    }
    if let Some(serde_json::Value::Object(regions)) = obj.get_mut("regions") {
        regions.retain(|k, _| k.starts_with(scope));
    }
}

async fn serve(mut socket: Socket, state: Arc<AppState>, who: Who) {
    // The wall this connection is a page of, or watches.
    let mut wall: Option<Attached> = None;
    state.clients.fetch_add(1, Ordering::Relaxed);
    let conn = state.conns.register(Box::new(socket.writer()));
    let _guard = ClientGuard(state.clone(), conn.clone());
    // A replay in place of the live streams, while the client asks for one (dropped with the
    // connection: its slot is freed). Boxed: it is large and rare.
    let mut replay: Option<Box<replay::Session>> = None;
    converse(&state, &who, &mut socket, &conn, &mut replay, &mut wall).await;
    // Boxed: a presenting act's future is large, and every connection's task would hold it.
    Box::pin(detach(&state, &mut wall, &who)).await;
}

/// The connection's conversation, until it closes or falls silent.
///
/// Every client keeps this future for as long as it is connected, so what is rare (a presenting
/// act, a replay) is boxed when it happens rather than held in every connection's state.
async fn converse(
    state: &Arc<AppState>,
    who: &Who,
    socket: &mut Socket,
    conn: &Conn,
    replay: &mut Option<Box<replay::Session>>,
    wall: &mut Option<Attached>,
) {
    let scope = who.scope.as_deref();
    // The first ping at a random point of the first period: clients that connected together
    // (a restart, a benchmark) are not all pinged in the same instant every period.
    let first = PING_EVERY.mul_f64(rand::random::<f64>());
    let mut ping = tokio::time::interval_at(Instant::now() + first, PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut replay_tick = interval(replay::TICK);
    replay_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    // What the fan-out left unsent of its last write, owed before anything else.
    let mut rest = Vec::new();
    if settle(state, conn, socket, &mut ping, scope).await.is_err() {
        return;
    }
    loop {
        let playing = replay.as_ref().is_some_and(|r| r.playing());
        let mut control: Option<(u8, Vec<u8>)> = None;
        let out: Vec<Utf8Bytes> = tokio::select! {
            incoming = socket.recv() => {
                last_heard = Instant::now();
                match incoming {
                    Ok(Incoming::Text(text)) => {
                        // Subscriptions may change: the fan-out leaves this connection alone.
                        rest.extend(conn.pause());
                        match serde_json::from_str::<ClientMsg>(&text) {
                            Ok(msg) if is_present(&msg) => frames_of(&Box::pin(present_msg(state, wall, who, msg)).await),
                            Ok(msg) => frames_of(&Box::pin(receive(state, conn, replay, msg, scope)).await),
                            Err(e) => frames_of(&refusal(format!("bad request: {e}"))),
                        }
                    }
                    Ok(Incoming::Binary(_)) => frames_of(&[to_text(&ServerMsg::Error { message: "binary frames are not part of the protocol; send JSON text".into() })]),
                    Ok(Incoming::Ping(payload)) => {
                        control = Some((socket::PONG, payload));
                        vec![]
                    }
                    Ok(Incoming::Pong) => continue,
                    Ok(Incoming::Close(_)) => {
                        Box::pin(finish(socket, conn, &mut rest, Some((socket::close::NORMAL, String::new())), &mut ping)).await;
                        break;
                    }
                    // A broken frame or an over-long message: the client is told why, if it can be.
                    Err(e) => {
                        let close = e.close_code().map(|code| (code, e.to_string()));
                        Box::pin(finish(socket, conn, &mut rest, close, &mut ping)).await;
                        break;
                    }
                }
            }
            () = conn.kicked() => vec![],
            relay = next_relay(wall) => frames_of(&relayed(state, wall, who, relay)),
            _ = replay_tick.tick(), if playing => match replay.as_mut() {
                Some(r) => frames_of(&Box::pin(r.tick(state)).await),
                None => continue,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    Box::pin(finish(socket, conn, &mut rest, None, &mut ping)).await;
                    break;
                }
                control = Some((socket::PING, Vec::new()));
                vec![]
            }
        };
        let out: Vec<Utf8Bytes> = match scope {
            // A replay makes its overview of the scope's region itself.
            Some(sc) if replay.is_none() => out.iter().map(|t| scoped_live(state, t.as_str(), sc)).collect(),
            Some(sc) => out.iter().map(|t| scoped_text(t.as_str(), sc)).collect(),
            None => out,
        };
        rest.extend(conn.pause());
        let sent = async {
            if !rest.is_empty() {
                socket.send_rest(&rest, &mut ping).await?;
                rest.clear();
            }
            if let Some((opcode, payload)) = &control {
                socket.send_control(*opcode, payload, &mut ping).await?;
            }
            send_all(state, socket, &out, &mut ping).await?;
            settle(state, conn, socket, &mut ping, scope).await
        };
        // A client that takes nothing for 3 pings' time (30–45 s) is given up.
        if sent.await.is_err() {
            return;
        }
    }
}

/// End the connection: closed with a code and its reason, if given, after what the fan-out left
/// unsent of a frame (a close cannot cut into one). Callers box it: it is rare, and every
/// connection's state would otherwise hold room for it.
async fn finish(
    socket: &mut Socket,
    conn: &Conn,
    rest: &mut Vec<u8>,
    close: Option<(u16, String)>,
    watch: &mut tokio::time::Interval,
) {
    rest.extend(conn.pause());
    let Some((code, reason)) = close else { return };
    if !rest.is_empty() {
        let sent = tokio::time::timeout(Duration::from_secs(2), socket.send_rest(rest, watch)).await;
        if !matches!(sent, Ok(Ok(()))) {
            return;
        }
    }
    let _ = socket.close(code, &reason).await;
}

/// Write `out`, as many frames a `writev` as it takes (see [`socket::MAX_FRAMES_PER_WRITE`]).
async fn send_all(
    state: &AppState,
    socket: &mut Socket,
    out: &[Utf8Bytes],
    watch: &mut tokio::time::Interval,
) -> Result<(), socket::SocketError> {
    for chunk in out.chunks(socket::MAX_FRAMES_PER_WRITE) {
        socket.send_texts(chunk, watch).await?;
        state.metrics.ws_frames.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// Catch the client up with every frame made for its subscriptions, and hand the connection
/// back to the fan-out (unless it has a scope: then its task cuts every frame to it). A client
/// that fell behind by several frames is sent them in as few writes as they take, so a late
/// client costs less work exactly when it is late. One catch-up at a time: when frames were made
/// while it was written, the task is woken again, after it has read what its client sent.
async fn settle(
    state: &AppState,
    conn: &Conn,
    socket: &mut Socket,
    watch: &mut tokio::time::Interval,
    scope: Option<&str>,
) -> Result<(), socket::SocketError> {
    let flushed = |topic| state.hub.flushed(topic);
    if conn.resume(flushed, scope.is_some()) {
        return Ok(());
    }
    let mut out = Vec::new();
    for (topic, seq) in conn.subs() {
        match state.hub.catch_up(topic, seq) {
            Some((texts, at)) => {
                out.extend(texts);
                conn.set_seq(topic, at);
            }
            None => out.extend(resync(state, conn, topic, seq)),
        }
    }
    if let Some(sc) = scope {
        out = out.iter().map(|t| scoped_live(state, t.as_str(), sc)).collect();
    }
    send_all(state, socket, &out, watch).await?;
    if !conn.resume(flushed, scope.is_some()) {
        conn.kick();
    }
    Ok(())
}

/// One client message about the streams: replay requests here (they may wait for a seek), the
/// rest in [`handle`].
async fn receive(
    state: &Arc<AppState>,
    conn: &Conn,
    replay: &mut Option<Box<replay::Session>>,
    msg: ClientMsg,
    scope: Option<&str>,
) -> Vec<Arc<str>> {
    let refuse = |e: replay::ReplayError| vec![to_text(&ServerMsg::Error { message: e.to_string() })];
    match (msg, replay.as_mut()) {
        (ClientMsg::Replay { at, speed }, session) => {
            let (at, speed) = match replay::parse(&at, speed) {
                // Not past the present: what is not known yet cannot be replayed.
                Ok((at, speed)) => (at.min(state.clock.now()), speed),
                Err(e) => return refuse(e),
            };
            if let Some(session) = session {
                return session.seek(state, at, speed).await.unwrap_or_else(refuse);
            }
            let topics: Vec<String> =
                conn.subs().into_iter().map(|(topic, _)| state.hub.name(topic).to_owned()).collect();
            if topics.is_empty() {
                return vec![to_text(&ServerMsg::Error {
                    message: "replay: subscribe to the topics to replay first".into(),
                })];
            }
            match replay::Session::start(state, topics, at, speed, scope).await {
                Ok((session, out)) => {
                    // The live streams stop for this connection while it replays.
                    conn.clear();
                    *replay = Some(Box::new(session));
                    out
                }
                Err(e) => refuse(e),
            }
        }
        (ClientMsg::Live, _) => {
            let Some(session) = replay.take() else { return vec![] };
            let mut out = Vec::new();
            for t in session.topics() {
                out.extend(subscribe(state, conn, t, None));
            }
            out
        }
        (ClientMsg::Subscribe { topics, .. }, Some(session)) => {
            // The same checks as live: a replay shows no more than the live streams would.
            let (mut out, mut allowed) = (Vec::new(), Vec::new());
            for t in topics {
                match check_topic(state, &t) {
                    Ok(()) => allowed.push(t),
                    Err(refused) => out.push(refused),
                }
            }
            out.extend(session.subscribe(state, allowed));
            out
        }
        (ClientMsg::Unsubscribe { topics }, Some(session)) => {
            session.unsubscribe(&topics);
            vec![]
        }
        (msg, _) => handle(state, conn, msg),
    }
}

/// Is `topic` one to subscribe to? The refusal to send when not. (A scoped connection may have
/// every topic: each is cut to its scope when sent, see [`scoped_live`].)
fn check_topic(state: &AppState, topic: &str) -> Result<(), Arc<str>> {
    if !state.hub.has_topic(topic) {
        return Err(to_text(&ServerMsg::Error {
            message: format!("unknown topic {topic:?}; GET /api/v1/topics lists them"),
        }));
    }
    Ok(())
}

/// Subscribe the connection to `topic` (paused, see [`Conn::pause`]): what to send first.
fn subscribe(state: &AppState, conn: &Conn, topic: &str, since: Option<&ResumePoint>) -> Vec<Arc<str>> {
    let sub = state.subscribe(topic, since);
    conn.insert(Sub { topic: sub.topic, seq: sub.seq, watch: sub.watch });
    sub.initial
}

fn handle(state: &AppState, conn: &Conn, msg: ClientMsg) -> Vec<Arc<str>> {
    match msg {
        ClientMsg::Ping => vec![to_text(&ServerMsg::Pong)],
        ClientMsg::Unsubscribe { topics } => {
            for t in topics {
                if let Some(topic) = state.hub.index(&t) {
                    conn.remove(topic);
                }
            }
            vec![]
        }
        // Replay is answered in `receive`, presenting in `present_msg`.
        ClientMsg::Replay { .. }
        | ClientMsg::Live
        | ClientMsg::Join { .. }
        | ClientMsg::Report { .. }
        | ClientMsg::Drive { .. }
        | ClientMsg::Release
        | ClientMsg::Show { .. }
        | ClientMsg::Set { .. }
        | ClientMsg::Cue { .. } => vec![],
        ClientMsg::Subscribe { topics, since } => {
            let mut out = Vec::new();
            for t in topics {
                if let Err(refused) = check_topic(state, &t) {
                    out.push(refused);
                    continue;
                }
                out.extend(subscribe(state, conn, &t, since.get(&t)));
            }
            out
        }
    }
}

/// Catch a subscriber up after it fell further behind than the hub keeps: a fresh start, from
/// the ring when it still holds what was missed, otherwise from a snapshot.
fn resync(state: &AppState, conn: &Conn, topic: usize, seq: u64) -> Vec<Utf8Bytes> {
    let name = state.hub.name(topic);
    let since = ResumePoint { epoch: state.hub.epoch(name).to_owned(), seq };
    let initial = subscribe(state, conn, name, Some(&since));
    if initial.len() == 1 && initial[0].starts_with(r#"{"type":"snapshot""#) {
        state.metrics.ws_resyncs.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(topic = name, "client fell behind; resynchronising with a snapshot");
    }
    frames_of(&initial)
}

fn is_present(msg: &ClientMsg) -> bool {
    matches!(
        msg,
        ClientMsg::Join { .. }
            | ClientMsg::Report { .. }
            | ClientMsg::Drive { .. }
            | ClientMsg::Release
            | ClientMsg::Show { .. }
            | ClientMsg::Set { .. }
            | ClientMsg::Cue { .. }
    )
}

fn wall_text(s: WallState, who: &Who) -> Arc<str> {
    to_text(&ServerMsg::Wall(Box::new(present::for_connection(s, who.actor.name.as_deref()))))
}

fn refusal(message: String) -> Vec<Arc<str>> {
    vec![to_text(&ServerMsg::Error { message })]
}

/// A presenting message (see [`present`]): join or watch a wall, or act on it.
async fn present_msg(
    state: &Arc<AppState>,
    wall: &mut Option<Attached>,
    who: &Who,
    msg: ClientMsg,
) -> Vec<Arc<str>> {
    let (name, act) = match msg {
        ClientMsg::Join { wall: name, part, view, size, carousel } => {
            // The server's own walls (an export's page) may be joined once the server made them.
            let own = name.starts_with(crate::export::WALL_PREFIX) && state.walls.state(&name).is_some();
            let named = if own { Ok(()) } else { present::check_name(&name) };
            if let Err(e) = named.and_then(|()| view.as_ref().map_or(Ok(()), View::check)) {
                return refusal(e);
            }
            detach(state, wall, who).await;
            let rx = match state.walls.attach(&name, view.as_ref()) {
                Ok((rx, _)) => rx,
                Err(e) => return refusal(e),
            };
            *wall = Some(Attached { wall: name.clone(), part: Some(part), rx });
            (name, present::Act::Join { part, view, size, carousel })
        }
        ClientMsg::Drive { wall: name, take, force } => {
            if let Err(e) = present::check_name(&name) {
                return refusal(e);
            }
            if wall.as_ref().is_none_or(|a| a.wall != name || a.part.is_some()) {
                detach(state, wall, who).await;
                let rx = match state.walls.attach(&name, None) {
                    Ok((rx, _)) => rx,
                    Err(e) => return refusal(e),
                };
                *wall = Some(Attached { wall: name.clone(), part: None, rx });
            }
            (name, present::Act::Drive { take, force })
        }
        other => {
            let Some(a) = wall.as_ref() else {
                return refusal("join or drive a wall first".into());
            };
            let act = match other {
                ClientMsg::Report { view, base, auto } => match a.part {
                    Some(part) => present::Act::Report { part, view, base, auto },
                    None => return refusal("report: only a wall's pages report; a console shows".into()),
                },
                ClientMsg::Release => present::Act::Release,
                ClientMsg::Show { view, n } => present::Act::Show { view, n },
                ClientMsg::Set { setting, n } => present::Act::Set { setting, n },
                ClientMsg::Cue { cue, n } => present::Act::Cue { cue, n },
                _ => return vec![],
            };
            (a.wall.clone(), act)
        }
    };
    let is_drive = matches!(act, present::Act::Drive { .. });
    match act_audited(state, who, &name, act).await {
        Ok(done) => {
            let mut out: Vec<Arc<str>> = done.reply.into_iter().map(|s| wall_text(s, who)).collect();
            // A console that only watches is sent the state at once.
            if is_drive && out.is_empty() {
                out.extend(state.walls.state(&name).map(|s| wall_text(s, who)));
            }
            out
        }
        Err(e) => {
            // The console learns why, and sees the wall as it is.
            let mut out = refusal(e);
            out.extend(state.walls.state(&name).map(|s| wall_text(s, who)));
            out
        }
    }
}

/// Apply a presenting act with its audit entry written first (off the runtime's threads: the
/// entry waits for the disk).
async fn act_audited(
    state: &Arc<AppState>,
    who: &Who,
    wall: &str,
    act: present::Act,
) -> Result<present::Done, String> {
    let (st, actor, addr, wall) = (Arc::clone(state), who.actor.clone(), who.addr.clone(), wall.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut record = |action: &'static str, body: &serde_json::Value| {
            let entry = NewEntry {
                actor: actor.name.clone().unwrap_or_else(|| "anonymous".into()),
                role: actor.role.map_or("", yiping_protocol::api::Role::as_str).to_owned(),
                addr: addr.clone(),
                action: action.to_owned(),
                target: format!("wall:{wall}"),
                body: body.clone(),
                ..NewEntry::default()
            };
            st.audit(entry).map(|_| ()).map_err(|e| {
                tracing::error!(wall, action, "audit trail write failed: {e}");
                format!("{action}: not done: the audit trail could not be written ({e})")
            })
        };
        st.walls.act(&wall, &actor, act, &mut record)
    })
    .await
    .unwrap_or_else(|e| Err(format!("internal error: {e}")))
}

/// A change of the wall attached, as this connection sees it (a lagging receiver gets the
/// state now: states are whole, so nothing is lost but cues).
fn relayed(
    state: &AppState,
    wall: &mut Option<Attached>,
    who: &Who,
    relay: Result<Arc<Relay>, RecvError>,
) -> Vec<Arc<str>> {
    let Some(a) = wall.as_ref() else { return vec![] };
    match relay {
        Ok(r) => match &*r {
            Relay::State(s) => vec![wall_text((**s).clone(), who)],
            // Cues are for the wall's pages; a console draws its own.
            Relay::Cue { .. } if a.part.is_none() => vec![],
            Relay::Cue { cue, n } => vec![to_text(&ServerMsg::Cue { cue: cue.clone(), n: *n })],
        },
        Err(RecvError::Lagged(_)) => {
            state.walls.state(&a.wall).map(|s| wall_text(s, who)).into_iter().collect()
        }
        Err(RecvError::Closed) => {
            *wall = None;
            vec![]
        }
    }
}

/// Leave the wall attached, if any (a page: the wall counts one page fewer).
async fn detach(state: &Arc<AppState>, wall: &mut Option<Attached>, who: &Who) {
    let Some(a) = wall.take() else { return };
    if let Some(part) = a.part {
        // The wall is known (attached): only a failed audit entry refuses this (and is logged).
        let _ = act_audited(state, who, &a.wall, present::Act::Leave { part }).await;
    }
}
