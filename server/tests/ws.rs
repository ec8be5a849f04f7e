//! The running server, driven over real sockets: `/healthz`, `/geo`, and the `/ws` protocol.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use yiping_protocol::{ServerMsg, Update};

async fn start() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let dir = std::env::temp_dir().join(format!("yiping-test-{}-{}", std::process::id(), rand_suffix()));
    start_on(dir).await
}

/// A server on the data folder `dir`, with the simulator (fast enough that deltas flow every
/// second).
async fn start_on(dir: std::path::PathBuf) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    start_with(dir, None).await
}

/// [`start_on`] with `fanout_threads` threads writing to the clients.
async fn start_with(
    dir: std::path::PathBuf,
    fanout_threads: Option<usize>,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let config = yiping_server::Config {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        data_dir: dir,
        simulator: true,
        seed: 1,
        // Fast enough that deltas flow every second.
        speed: 600.0,
        log: Default::default(),
        rules: Default::default(),
        access: Default::default(),
        clock: None,
        nats: None,
        nats_replicas: 1,
        fanout_threads,
        places: std::sync::Arc::new(yiping_server::places::Places::hubei()),
        title: None,
    };
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        yiping_server::serve(config, Some(bound_tx), async {
            let _ = stop_rx.await;
        })
        .await
        .expect("server runs");
    });
    (bound_rx.await.expect("server binds"), stop_tx)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connects");
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("writes");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("reads");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().expect("status code");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("websocket connects").0
}

/// The next protocol messages, batches flattened.
async fn next_msgs(ws: &mut Ws) -> Vec<ServerMsg> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("stream open")
            .expect("frame ok");
        if let Message::Text(t) = frame {
            let msg: ServerMsg = serde_json::from_str(&t).expect("server speaks the protocol");
            return match msg {
                ServerMsg::Batch { items } => items,
                other => vec![other],
            };
        }
    }
}

async fn send(ws: &mut Ws, v: serde_json::Value) {
    ws.send(Message::Text(v.to_string().into())).await.expect("sends");
}

fn update(m: &ServerMsg) -> (&'static str, &Update) {
    match m {
        ServerMsg::Snapshot(u) => ("snapshot", u),
        ServerMsg::Delta(u) => ("delta", u),
        other => panic!("expected snapshot or delta, got {other:?}"),
    }
}

#[tokio::test]
async fn healthz_and_geo_layers_are_served() {
    let (addr, _stop) = start().await;
    let (status, body) = http_get(addr, "/healthz").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("healthz is JSON");
    assert_eq!(v["status"], "ok");
    let (status, body) = http_get(addr, "/geo/hubei_prefectures.geojson").await;
    assert_eq!(status, 200);
    assert!(body.contains("神农架林区"));
    let (status, _) = http_get(addr, "/geo/hubei_villages.geojson").await;
    assert_eq!(status, 404);
    let (status, body) = http_get(addr, "/api/v1/topics").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"overview\""));
}

#[tokio::test]
async fn snapshot_then_gapless_deltas_then_exact_resume() {
    let (addr, _stop) = start().await;
    let mut ws = connect(addr).await;
    send(&mut ws, serde_json::json!({"op": "subscribe", "topics": ["overview"]})).await;
    let first = next_msgs(&mut ws).await;
    let (kind, snap) = update(&first[0]);
    assert_eq!(kind, "snapshot");
    let epoch = snap.epoch.clone();
    let mut last = snap.seq;
    // The simulator emits every second: collect a few deltas, each seq exactly one more.
    let mut seen = 0;
    while seen < 4 {
        for m in next_msgs(&mut ws).await {
            let (kind, u) = update(&m);
            assert_eq!((kind, u.seq), ("delta", last + 1), "gap or duplicate");
            last = u.seq;
            seen += 1;
        }
    }
    let resume_from = last - 3;
    drop(ws);

    // Reconnect from 3 deltas back: exactly those first (plus whatever arrived since), in order.
    let mut ws = connect(addr).await;
    send(
        &mut ws,
        serde_json::json!({"op": "subscribe", "topics": ["overview"],
        "since": {"overview": {"epoch": epoch, "seq": resume_from}}}),
    )
    .await;
    let msgs = next_msgs(&mut ws).await;
    let seqs: Vec<u64> = msgs
        .iter()
        .map(|m| update(m))
        .inspect(|(k, _)| assert_eq!(*k, "delta"))
        .map(|(_, u)| u.seq)
        .collect();
    assert!(seqs.len() >= 3, "{seqs:?}");
    assert_eq!(seqs, (resume_from + 1..resume_from + 1 + seqs.len() as u64).collect::<Vec<_>>());

    // A stale epoch gets a snapshot.
    let mut ws = connect(addr).await;
    send(
        &mut ws,
        serde_json::json!({"op": "subscribe", "topics": ["overview"],
        "since": {"overview": {"epoch": "an-old-epoch", "seq": 1}}}),
    )
    .await;
    let msgs = next_msgs(&mut ws).await;
    assert_eq!(update(&msgs[0]).0, "snapshot");
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_the_connection_lives_on() {
    let (addr, _stop) = start().await;
    let mut ws = connect(addr).await;
    ws.send(Message::Text("{not json".into())).await.expect("sends");
    let m = next_msgs(&mut ws).await;
    assert!(
        matches!(&m[0], ServerMsg::Error { message } if message.starts_with("bad request: ") && message.contains("line 1")),
        "{m:?}"
    );
    send(&mut ws, serde_json::json!({"op": "subscribe", "topics": ["weather"]})).await;
    let m = next_msgs(&mut ws).await;
    assert_eq!(
        m,
        vec![ServerMsg::Error { message: "unknown topic \"weather\"; GET /api/v1/topics lists them".into() }]
    );
    send(&mut ws, serde_json::json!({"op": "ping"})).await;
    assert_eq!(next_msgs(&mut ws).await, vec![ServerMsg::Pong]);
}

/// A server over a log holding two simulated days of November (and the live simulator on top).
async fn start_with_history()
-> (SocketAddr, tokio::sync::oneshot::Sender<()>, Vec<yiping_protocol::events::Envelope>) {
    let dir =
        std::env::temp_dir().join(format!("yiping-test-replay-{}-{}", std::process::id(), rand_suffix()));
    let places = std::sync::Arc::new(yiping_server::places::Places::hubei());
    let start = time::macros::datetime!(2026-11-01 00:00 UTC);
    let mut sim = yiping_server::simulator::Simulator::new(5, 1.0, places.clone(), start);
    let mut events = Vec::new();
    for m in 0..2 * 24 * 60 {
        events.extend(sim.step(start + time::Duration::minutes(m), 60.0));
    }
    let located: Vec<yiping_server::store::Located> = events
        .iter()
        .map(|e| yiping_server::store::Located::new(e.clone(), places.locate(e).expect("placed")))
        .collect();
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut store = yiping_server::store::Store::open(&dir).expect("opens");
    store.append(&located, "2026-11-03T00:00:00Z").expect("appends");
    drop(store);
    let (addr, stop) = start_on(dir).await;
    (addr, stop, events)
}

fn readings(u: &Update) -> u64 {
    u.data["readings_total"].as_u64().expect("an overview")
}

#[tokio::test]
async fn a_replay_is_its_own_stream_as_of_the_instant_and_plays_on_while_others_stay_live() {
    let (addr, _stop, events) = start_with_history().await;
    let topics = serde_json::json!({"op": "subscribe", "topics": ["overview", "rivers"]});
    let (mut live, mut wall) = (connect(addr).await, connect(addr).await);
    send(&mut live, topics.clone()).await;
    send(&mut wall, topics).await;
    let first = next_msgs(&mut live).await;
    let live_epoch = update(&first[0]).1.epoch.clone();
    let live_readings = readings(update(&first[0]).1);
    next_msgs(&mut wall).await;

    // As of 09:00 Beijing on the 2nd: exactly the readings sampled by then.
    let at = "2026-11-02T09:00:00+08:00";
    let t = yiping_protocol::instant::Timestamp::parse(at).expect("instant");
    let want = events
        .iter()
        .filter(|e| matches!(e.data, yiping_protocol::events::Event::WaterReading(_)) && e.time.at <= t)
        .count() as u64;
    send(&mut wall, serde_json::json!({"op": "replay", "at": at, "speed": 0})).await;
    let mut got = Vec::new();
    // Live deltas of any topic (each has its stream's epoch) may come until the server has read
    // the request; after the replay's clock, none.
    let is_live = |m: &ServerMsg| matches!(m, ServerMsg::Delta(u) if !u.epoch.starts_with("replay-"));
    while got.iter().filter(|m| matches!(m, ServerMsg::Snapshot(_))).count() < 2 {
        let msgs = next_msgs(&mut wall).await;
        if got.is_empty() {
            got.extend(msgs.into_iter().filter(|m| !is_live(m)));
        } else {
            assert!(!msgs.iter().any(is_live), "a live delta after the replay began: {msgs:?}");
            got.extend(msgs);
        }
    }
    let ServerMsg::Replay(clock) = &got[0] else { panic!("the replay's clock first: {got:?}") };
    assert_eq!(clock.at, "2026-11-02T01:00:00Z");
    assert!(clock.epoch.starts_with("replay-"));
    let snap = got.iter().find_map(|m| match m {
        ServerMsg::Snapshot(u) if u.topic == "overview" => Some(u),
        _ => None,
    });
    let snap = snap.expect("an overview snapshot");
    assert_eq!((snap.epoch.as_str(), snap.seq), (clock.epoch.as_str(), 0));
    assert_eq!(readings(snap), want, "as of {at}");
    assert!(want > 0 && want < live_readings);
    // REST drill-downs take the same instant.
    let (status, body) = http_get(addr, &format!("/api/v1/overview?at={}", at.replace('+', "%2B"))).await;
    assert_eq!(status, 200, "{body}");
    let o: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(o["readings_total"].as_u64(), Some(want));
    let (status, body) = http_get(addr, "/api/v1/overview?at=yesterday").await;
    assert_eq!(status, 400);
    assert!(body.contains("query `at`") && body.contains("yesterday"), "{body}");

    // Another wall replays another instant at the same time, in a stream of its own.
    let mut other = connect(addr).await;
    send(&mut other, serde_json::json!({"op": "subscribe", "topics": ["overview"]})).await;
    next_msgs(&mut other).await;
    let at2 = "2026-11-01T20:00:00+08:00";
    let t2 = yiping_protocol::instant::Timestamp::parse(at2).expect("instant");
    let want2 = events
        .iter()
        .filter(|e| matches!(e.data, yiping_protocol::events::Event::WaterReading(_)) && e.time.at <= t2)
        .count() as u64;
    send(&mut other, serde_json::json!({"op": "replay", "at": at2})).await;
    let snap2 = loop {
        let found = next_msgs(&mut other).await.into_iter().find_map(|m| match m {
            ServerMsg::Snapshot(u) if u.epoch.starts_with("replay-") => Some(u),
            _ => None,
        });
        if let Some(u) = found {
            break u;
        }
    };
    assert_ne!(snap2.epoch, clock.epoch);
    assert_eq!(readings(&snap2), want2, "as of {at2}");
    assert!(want2 < want);

    // Play at 3600×: deltas in sequence on the replay's epoch, the clock moving on.
    send(&mut wall, serde_json::json!({"op": "replay", "at": at, "speed": 3600})).await;
    let (mut seqs, mut clocks, mut last_readings) = (std::collections::BTreeMap::new(), Vec::new(), want);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        for m in next_msgs(&mut wall).await {
            match m {
                ServerMsg::Replay(c) => {
                    clocks.push(yiping_protocol::instant::Timestamp::parse(&c.at).expect("an instant"))
                }
                ServerMsg::Delta(u) => {
                    assert_eq!(u.epoch, clock.epoch, "only the replay's stream");
                    let seq = seqs.entry(u.topic.clone()).or_insert(0);
                    assert_eq!(u.seq, *seq + 1, "{} in sequence", u.topic);
                    *seq = u.seq;
                    if u.topic == "overview" {
                        assert!(readings(&u) >= last_readings);
                        last_readings = readings(&u);
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!(clocks.len() >= 4 && clocks.windows(2).all(|w| w[0] < w[1]), "{clocks:?}");
    assert!(last_readings > want, "the figures move");
    assert!(seqs.get("rivers").is_some_and(|s| *s > 10), "{seqs:?}");

    // The other wall stayed live all along.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while tokio::time::Instant::now() < deadline {
        for m in next_msgs(&mut live).await {
            assert_eq!(update(&m).1.epoch.split('.').next(), live_epoch.split('.').next());
        }
    }

    // Back to live: fresh snapshots of the live streams.
    send(&mut wall, serde_json::json!({"op": "live"})).await;
    let mut back = Vec::new();
    while back.len() < 2 {
        back.extend(next_msgs(&mut wall).await.into_iter().filter_map(|m| match m {
            ServerMsg::Snapshot(u) => Some(u),
            _ => None,
        }));
    }
    let o = back.iter().find(|u| u.topic == "overview").expect("overview");
    assert_eq!(o.epoch, live_epoch);
    assert!(readings(o) >= live_readings);
}

#[tokio::test]
async fn a_message_over_the_limit_closes_the_connection_with_the_reason() {
    let (addr, _stop) = start().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connects");
    let big = format!(r#"{{"op":"ping","pad":"{}"}}"#, "x".repeat(70 * 1024));
    ws.send(Message::Text(big.into())).await.expect("sends");
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("an answer within 10 s") {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let frame = close.expect("the close says why");
    assert_eq!(u16::from(frame.code), 1009, "{frame:?}");
    assert!(frame.reason.contains("too long"), "{frame:?}");
}

#[tokio::test]
async fn pings_are_answered_fragmented_messages_are_joined_and_a_close_is_returned() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
    let (addr, _stop) = start().await;
    // Not an upgrade: a plain GET of /ws is refused with the reason.
    let (status, body) = http_get(addr, "/ws").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not a websocket upgrade"), "{body}");
    // Another protocol version: 426, naming the version spoken.
    let mut raw = tokio::net::TcpStream::connect(addr).await.expect("connects");
    let req = "GET /ws HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
        Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    raw.write_all(req.as_bytes()).await.expect("writes");
    let mut head = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut head))
        .await
        .expect("answers")
        .expect("reads");
    let head = String::from_utf8_lossy(&head[..n]).to_lowercase();
    assert!(head.starts_with("http/1.1 426"), "{head}");
    assert!(head.contains("sec-websocket-version: 13"), "{head}");
    let mut ws = connect(addr).await;
    ws.send(Message::Ping(b"are you there".to_vec().into())).await.expect("pings");
    // A message in two fragments, as a browser may send a long one.
    let (first, rest) = r#"{"op":"ping"}"#.split_at(5);
    let fragment = |fin: bool, opcode: OpCode, text: &str| {
        let header = FrameHeader { is_final: fin, opcode, ..FrameHeader::default() };
        Message::Frame(Frame::from_payload(header, text.as_bytes().to_vec().into()))
    };
    ws.send(fragment(false, OpCode::Data(Data::Text), first)).await.expect("sends");
    ws.send(fragment(true, OpCode::Data(Data::Continue), rest)).await.expect("sends");
    let (mut pong, mut answer) = (None, None);
    while pong.is_none() || answer.is_none() {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("within 5 s") {
            Some(Ok(Message::Pong(p))) => pong = Some(p.to_vec()),
            Some(Ok(Message::Text(t))) => answer = Some(t.to_string()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pong.as_deref(), Some(&b"are you there"[..]));
    assert_eq!(answer.as_deref(), Some(r#"{"type":"pong"}"#));
    ws.close(None).await.expect("closes");
    let after = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("within 5 s");
    assert!(matches!(after, Some(Ok(Message::Close(_))) | None), "the server returns the close: {after:?}");
}

/// A counter of `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> u64 {
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    body.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fan_out_writes_every_up_to_date_client_its_frames_itself_gapless() {
    fan_out_gapless(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sweepers_write_every_client_its_frames_gapless() {
    fan_out_gapless(Some(3)).await;
}

/// The sweep (or `threads` sweepers, each over its part of the connections) writes every
/// up-to-date client its frames, in order and once.
async fn fan_out_gapless(threads: Option<usize>) {
    let dir = std::env::temp_dir().join(format!("yiping-test-{}-{}", std::process::id(), rand_suffix()));
    let (addr, _stop) = start_with(dir, threads).await;
    // More clients than tokio's cooperative budget lets one task poll sockets in a row (128):
    // the sweep must write to all of them, not hand the rest to their tasks.
    const CLIENTS: usize = 200;
    let mut clients = Vec::new();
    let mut last = Vec::new();
    for _ in 0..CLIENTS {
        let mut ws = connect(addr).await;
        send(&mut ws, serde_json::json!({"op": "subscribe", "topics": ["overview"]})).await;
        let msgs = next_msgs(&mut ws).await;
        let (kind, u) = update(&msgs[0]);
        assert_eq!(kind, "snapshot");
        last.push(u.seq);
        clients.push(ws);
    }
    // Every client has its first delta: all are up to date.
    let take = async |clients: &mut [Ws], last: &mut [u64], n: usize| {
        for (ws, last) in clients.iter_mut().zip(last.iter_mut()) {
            let mut seen = 0;
            while seen < n {
                for m in next_msgs(ws).await {
                    let (kind, u) = update(&m);
                    assert_eq!((kind, u.seq), ("delta", *last + 1), "gap or duplicate");
                    *last = u.seq;
                    seen += 1;
                }
            }
        }
    };
    take(&mut clients, &mut last, 1).await;
    let (direct0, handed0) =
        (metric(addr, "yiping_ws_frames_direct_total").await, metric(addr, "yiping_ws_handed_total").await);
    take(&mut clients, &mut last, 4).await;
    let (direct, handed) = (
        metric(addr, "yiping_ws_frames_direct_total").await - direct0,
        metric(addr, "yiping_ws_handed_total").await - handed0,
    );
    // Four frames or more to each client (a frame can carry several deltas), nearly all by the
    // sweep: a client is handed to its task only while it is being pinged or answered.
    assert!(direct >= (CLIENTS as u64) * 3, "frames written by the sweep: {direct}");
    assert!(handed <= 20, "clients handed to their tasks: {handed} (direct: {direct})");
}
