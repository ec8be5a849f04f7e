//! The running server, driven over real sockets: `/healthz`, `/geo`, and the `/ws` protocol.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use yiping_protocol::{ServerMsg, Update};

async fn start() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let dir = std::env::temp_dir().join(format!("yiping-test-{}-{}", std::process::id(), rand_suffix()));
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
