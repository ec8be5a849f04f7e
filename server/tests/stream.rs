//! The `/ws` stream against the real binary: gap-free resume across a crash and restart, and a
//! slow client that cannot hold up the others.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use yiping_protocol::{ServerMsg, Update};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: std::net::SocketAddr, subscribe: serde_json::Value) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connects");
    ws.send(Message::Text(subscribe.to_string().into())).await.expect("sends");
    ws
}

/// Next updates (batches flattened) as (kind, update).
async fn next(ws: &mut Ws) -> Vec<(&'static str, Update)> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("open")
            .expect("ok");
        if let Message::Text(t) = frame {
            let items = match serde_json::from_str::<ServerMsg>(&t).expect("protocol") {
                ServerMsg::Batch { items } => items,
                m => vec![m],
            };
            return items
                .into_iter()
                .map(|m| match m {
                    ServerMsg::Snapshot(u) => ("snapshot", u),
                    ServerMsg::Delta(u) => ("delta", u),
                    other => panic!("unexpected {other:?}"),
                })
                .collect();
        }
    }
}

fn post(addr: std::net::SocketAddr, tok: &str, ids: std::ops::Range<usize>, prefix: &str) {
    let body: String = ids.map(|i| patrol(&format!("{prefix}{i}")) + "\n").collect();
    let (status, body) = post_events(addr, tok, &body);
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_after_a_crash_gets_exactly_the_missed_deltas() {
    let data = data_dir("resume");
    let tok = token(&data, "t");
    let port = free_port();
    let srv = Server::start(&data, port, &["--no-simulator"]);
    let mut ws = connect(srv.addr, serde_json::json!({"op": "subscribe", "topics": ["rivers"]})).await;
    let first = next(&mut ws).await;
    assert_eq!((first[0].0, first[0].1.seq), ("snapshot", 0));
    let epoch = first[0].1.epoch.clone();
    // Three bodies: 2 events, 1, 2. Each is one delta, with the figures the body left.
    for ids in [0..2, 2..3, 3..5] {
        post(srv.addr, &tok, ids, "a");
    }
    let mut got = vec![];
    while got.len() < 3 {
        got.extend(next(&mut ws).await.into_iter().map(|(k, u)| (k, u.seq, patrols(&u))));
    }
    assert_eq!(got, vec![("delta", 1, 2), ("delta", 2, 3), ("delta", 3, 5)]);
    drop(ws);
    srv.kill();

    // After a crash and restart the epoch is the same (the log is the truth), so resuming from
    // seq 1 yields exactly the deltas since: the two before the crash, rebuilt from the log as
    // they were sent (one per body), and the one stored since.
    let srv = Server::start(&data, port, &["--no-simulator"]);
    post(srv.addr, &tok, 5..8, "a");
    let mut ws = connect(
        srv.addr,
        serde_json::json!({"op": "subscribe", "topics": ["rivers"], "since": {"rivers": {"epoch": epoch, "seq": 1}}}),
    )
    .await;
    let mut got = vec![];
    while got.len() < 3 {
        got.extend(next(&mut ws).await.into_iter().map(|(k, u)| {
            assert_eq!(u.epoch, epoch);
            (k, u.seq, patrols(&u))
        }));
    }
    assert_eq!(got, vec![("delta", 2, 3), ("delta", 3, 5), ("delta", 4, 8)]);
    // A client from another epoch gets a snapshot at the current seq with the full state.
    let mut ws = connect(
        srv.addr,
        serde_json::json!({"op": "subscribe", "topics": ["rivers"], "since": {"rivers": {"epoch": "other", "seq": 5}}}),
    )
    .await;
    let got = next(&mut ws).await;
    assert_eq!((got[0].0, got[0].1.seq), ("snapshot", 4));
    assert_eq!(got[0].1.data["regions"]["420000"]["patrols"], 8);
}

/// The province's patrols in a rivers update.
fn patrols(u: &Update) -> u64 {
    u.data["regions"]["420000"]["patrols"].as_u64().unwrap_or(0)
}

/// What a delta of 500 problems weighs at least, bytes (checked as they arrive).
const DELTA_BYTES_AT_LEAST: usize = 150_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_does_not_hold_up_the_others() {
    let data = data_dir("slow");
    let tok = token(&data, "t");
    // No snapshot of the fold meanwhile: copying the fold takes the folder a while in a debug
    // build, and no delta goes out while it does.
    let srv = Server::start(&data, free_port(), &["--no-simulator", "--snapshot-every", "10000000"]);
    let sub = serde_json::json!({"op": "subscribe", "topics": ["rivers"]});
    // The stalled client subscribes and then never reads.
    let mut stalled = connect(srv.addr, sub.clone()).await;
    let mut live = connect(srv.addr, sub).await;
    assert_eq!(next(&mut live).await[0].0, "snapshot");

    let addr = srv.addr;
    // Bodies of 500 problems each, reported closed (so each is in its delta, one per body, and
    // then leaves the live state): more bytes than the resume window and the kept frames hold,
    // and than the stalled client's socket buffers, so it can be caught up neither from the kept
    // frames nor from the ring. By bytes, not by count: under 200 bodies, quick even in a
    // debug build (the stalled client must still be connected when it reads again: the server
    // drops it `socket::STALL_TICKS` pings after a write to it stalls, about 30 s, and
    // `ws::IDLE_LIMIT` after it last heard from it).
    let places = yiping_server::places::Places::hubei();
    let points: Vec<(f64, f64)> = places
        .counties()
        .iter()
        .filter(|c| places.county_at(c.label.x, c.label.y) == Some(c.adcode.as_str()))
        .map(|c| (c.label.x, c.label.y))
        .collect();
    assert!(points.len() > 90, "nearly every county's label point lies in it");
    // The resume window, and twice as much again for the socket buffers (the server's send
    // buffer, up to `net.ipv4.tcp_wmem`'s 4 MiB by default, and the client's receive buffer, which
    // stays small while it reads nothing) and the kept frames.
    let window = yiping_server::hub::RESUME_BYTES.max(yiping_server::hub::FRAMES_BYTES);
    let total = 3 * window / DELTA_BYTES_AT_LEAST;
    let posted_from = Instant::now();
    let poster = std::thread::spawn(move || {
        for b in 0..total {
            let body: String = (0..500)
                .map(|k| {
                    let (lon, lat) = points[k % points.len()];
                    format!(
                        r#"{{"type":"river.problem","id":"q{b}-{k}","time":"2026-11-22T08:00:00Z","data":{{"problem":"Q{b}-{k}","river":"汉江","lon":{lon},"lat":{lat},"kind":"sewage","status":"closed","found":"2026-11-22T07:30:00Z"}}}}"#
                    ) + "\n"
                })
                .collect();
            let (status, body) = post_events(addr, &tok, &body);
            assert_eq!(status, 200, "{body}");
        }
        Instant::now()
    });
    let mut last = 0;
    let mut worst_gap = Duration::ZERO;
    let mut prev = Instant::now();
    let mut smallest = usize::MAX;
    while last < total as u64 {
        for (kind, u) in next(&mut live).await {
            assert_eq!((kind, u.seq), ("delta", last + 1), "the live client sees every delta in order");
            last = u.seq;
            smallest = smallest.min(serde_json::to_string(&u).expect("serialises").len());
        }
        worst_gap = worst_gap.max(prev.elapsed());
        prev = Instant::now();
    }
    assert!(
        smallest >= DELTA_BYTES_AT_LEAST,
        "a delta of {smallest} bytes: fewer than the {DELTA_BYTES_AT_LEAST} the count of bodies assumes"
    );
    let done_posting = poster.join().expect("poster");
    let posting = done_posting.saturating_duration_since(posted_from);
    assert!(posting < Duration::from_secs(25), "posting took {posting:?}: the stalled client may be gone");
    // The live client had everything promptly after the last acknowledgement.
    let lag = Instant::now().saturating_duration_since(done_posting);
    assert!(lag < Duration::from_secs(2), "live client finished {lag:?} after the last ack");
    assert!(worst_gap < Duration::from_secs(3), "longest wait between frames {worst_gap:?}");

    // The stalled client fell far behind: when it reads again it gets what its socket buffers
    // held, then a snapshot instead of an unbounded backlog, and ends with the right state.
    let mut saw_snapshot_at = None;
    let mut at = 0;
    while at < total as u64 {
        for (kind, u) in next(&mut stalled).await {
            match kind {
                "snapshot" => {
                    if u.seq > 0 {
                        saw_snapshot_at = Some(u.seq);
                    }
                    at = u.seq;
                }
                _ => {
                    assert_eq!(u.seq, at + 1, "after a snapshot or a delta comes the next delta");
                    at = u.seq;
                }
            }
        }
    }
    assert!(saw_snapshot_at.is_some(), "the stalled client was resynchronised with a snapshot");
    let (_, metrics) = request(srv.addr, "GET", "/metrics", &[], b"").expect("metrics");
    assert!(metrics.contains("yiping_ws_resyncs_total 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_and_retention_keep_the_figures_and_the_stream_positions() {
    let data = data_dir("retention");
    let tok = token(&data, "t");
    let port = free_port();
    let args = ["--no-simulator", "--snapshot-every", "100", "--retain-days", "0"];
    let srv = Server::start(&data, port, &args);
    // Snapshots (after events 100 and 200) are written out beside the folding, and the next is
    // taken only once the last is written: each is waited for.
    let snapshots_written = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, metrics) = request(srv.addr, "GET", "/metrics", &[], b"").expect("metrics");
            if metrics.lines().any(|l| l == format!("yiping_snapshots_total {n}")) {
                return;
            }
            assert!(Instant::now() < deadline, "{n} snapshots written: {metrics}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    for b in 0..5 {
        post(srv.addr, &tok, b * 50..(b + 1) * 50, "r");
        if b == 1 || b == 3 {
            snapshots_written(b / 2 + 1);
        }
    }
    srv.kill();
    // Snapshots were taken and the events they cover were deleted (retention of 0 days).
    let kept = export(&data);
    assert!(kept.len() < 250, "retention deleted events covered by a snapshot: {} kept", kept.len());
    // The 5th body's, its topic's 5th delta.
    assert_eq!(kept.len(), 50);
    assert!(kept.iter().all(|e| e["seq"].as_u64() == Some(5)));

    // Restarted from the snapshot plus the events after it: same figures, same positions.
    let srv = Server::start(&data, port, &args);
    let (_, body) = request(srv.addr, "GET", "/api/v1/regions/420000", &[], b"").expect("request");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["rivers"]["patrols"], 250, "{v}");
    // With old events deleted, a past instant cannot be rebuilt: it is refused, never shown wrong.
    let (status, body) =
        request(srv.addr, "GET", "/api/v1/regions/420000?at=2026-11-20T09:00:00%2B08:00", &[], b"")
            .expect("request");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("--retain-days"), "{body}");
    let mut ws = connect(srv.addr, serde_json::json!({"op": "subscribe", "topics": ["rivers"]})).await;
    let first = next(&mut ws).await;
    assert_eq!((first[0].0, first[0].1.seq), ("snapshot", 5));
    post(srv.addr, &tok, 250..251, "r");
    let got = next(&mut ws).await;
    assert_eq!((got[0].0, got[0].1.seq), ("delta", 6));
    // A re-sent event whose original was pruned is stored again: retention bounds what
    // de-duplication can see, which is why it is off by default.
}
