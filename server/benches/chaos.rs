//! Chaos benchmark (not part of `cargo test`): the real `yiping` binary killed with SIGKILL again
//! and again while a source feeds it and websocket clients follow the `rivers` topic, resuming
//! with `since` after every crash (DESIGN §5). Prints the figures and fails on any loss.
//!
//! ```text
//! cargo bench -p yiping-server --bench chaos -- [kills=50] [clients=100]
//! ```
//!
//! - The source posts a batch of 200 river patrols (ids of its own, by 500 patrol teams) every
//!   100 ms, 2,000 events/s, resending a batch whose answer it did not get (a resend is refused
//!   as a duplicate, so it is safe) until it is acknowledged; an id is *acknowledged* once a 200
//!   answer named it accepted or duplicate.
//! - Each client applies deltas in seq order: a delta whose seq is not the next is a gap (ahead)
//!   or a duplicate (not ahead); a snapshot resets it. After each crash it reconnects and sends
//!   `since` = the epoch and seq it has.
//! - At the end, with the source stopped: every client has reached the server's last seq with no
//!   gap and no duplicate, and `yiping export` holds every acknowledged id exactly once.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, data_dir, export, free_port, patrol_of, request, token};
use futures_util::{SinkExt, StreamExt};
use support::arg;
use tokio_tungstenite::tungstenite::Message;
use yiping_protocol::ServerMsg;

/// What one client has applied, and what went wrong.
#[derive(Default)]
struct Follow {
    epoch: String,
    seq: u64,
    deltas: u64,
    snapshots: u64,
    gaps: u64,
    duplicates: u64,
    reconnects: u64,
    /// Connections that got their first answer (the stream is back).
    answered: u64,
}

fn apply(f: &mut Follow, msg: ServerMsg) {
    match msg {
        ServerMsg::Batch { items } => items.into_iter().for_each(|m| apply(f, m)),
        ServerMsg::Snapshot(u) => {
            f.snapshots += 1;
            f.epoch = u.epoch;
            f.seq = u.seq;
        }
        ServerMsg::Delta(u) => {
            if u.epoch != f.epoch || u.seq > f.seq + 1 {
                f.gaps += 1;
            } else if u.seq <= f.seq {
                f.duplicates += 1;
            } else {
                f.deltas += 1;
            }
            f.epoch = u.epoch;
            f.seq = f.seq.max(u.seq);
        }
        _ => {}
    }
}

/// Follow `rivers` on the server at `addr` until `stop`, reconnecting after every crash.
async fn client(addr: std::net::SocketAddr, follow: Arc<Mutex<Follow>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let sub = {
            let f = follow.lock().expect("not poisoned");
            if f.epoch.is_empty() {
                serde_json::json!({"op": "subscribe", "topics": ["rivers"]})
            } else {
                serde_json::json!({"op": "subscribe", "topics": ["rivers"], "since": {"rivers": {"epoch": f.epoch, "seq": f.seq}}})
            }
        };
        if ws.send(Message::Text(sub.to_string().into())).await.is_err() {
            continue;
        }
        let mut first = true;
        loop {
            let next = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
            match next {
                Ok(Some(Ok(Message::Text(t)))) => {
                    if let Ok(msg) = serde_json::from_str::<ServerMsg>(&t) {
                        let mut f = follow.lock().expect("not poisoned");
                        f.answered += u64::from(std::mem::take(&mut first));
                        apply(&mut f, msg);
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(None | Some(Err(_))) => break,
                Err(_) if stop.load(Ordering::Relaxed) => return,
                Err(_) => {}
            }
        }
        follow.lock().expect("not poisoned").reconnects += 1;
    }
}

fn q(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or(f64::NAN)
}

fn main() {
    let kills = arg(0, 50);
    let clients = arg(1, 100);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "chaos: {kills} × SIGKILL under ingest, {clients} websocket clients resuming; machine load {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    let data = data_dir("chaos");
    let tok = token(&data, "chaos");
    let port = free_port();
    let server = Arc::new(Mutex::new(Some(Server::start(&data, port, &["--no-simulator"]))));
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");

    // The source.
    let stop_feed = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let (resends, batches) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let feeder = {
        let (stop, acked, resends, batches, tok) =
            (stop_feed.clone(), acked.clone(), resends.clone(), batches.clone(), tok.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                next += Duration::from_millis(100);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                let ids: Vec<String> = (n..n + 200).map(|i| format!("c{i}")).collect();
                let body: String = ids
                    .iter()
                    .enumerate()
                    .map(|(k, id)| patrol_of(id, &format!("T{}", (n + k) % 500)) + "\n")
                    .collect();
                let auth = format!("Bearer {tok}");
                loop {
                    let answer = request(
                        addr,
                        "POST",
                        "/api/v1/events",
                        &[("Authorization", &auth), ("Content-Type", "application/x-ndjson")],
                        body.as_bytes(),
                    );
                    match answer {
                        Ok((200, text)) => {
                            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                            let ok = v["lines"].as_array().is_some_and(|ls| {
                                ls.len() == ids.len()
                                    && ls.iter().all(|l| {
                                        matches!(l["status"].as_str(), Some("accepted" | "duplicate"))
                                    })
                            });
                            assert!(
                                ok,
                                "a batch answered 200 without every line accepted or duplicate: {text:.300}"
                            );
                            acked.lock().expect("not poisoned").extend(ids.iter().cloned());
                            break;
                        }
                        _ => {
                            // Cut off by a crash (or refused while starting): not acknowledged; send it again.
                            resends.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
                batches.fetch_add(1, Ordering::Relaxed);
                n += 200;
            }
        })
    };

    // The clients.
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let stop_clients = Arc::new(AtomicBool::new(false));
    let follows: Vec<Arc<Mutex<Follow>>> = (0..clients).map(|_| Arc::default()).collect();
    let tasks: Vec<_> =
        follows.iter().map(|f| rt.spawn(client(addr, f.clone(), stop_clients.clone()))).collect();

    // The crashes.
    let mut restart_ms = Vec::new();
    let mut resume_ms = Vec::new();
    let t0 = Instant::now();
    let mut rng_state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..kills {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        std::thread::sleep(Duration::from_millis(500 + rng_state % 1500));
        let before: Vec<u64> = follows.iter().map(|f| f.lock().expect("not poisoned").answered).collect();
        let killed = Instant::now();
        if let Some(s) = server.lock().expect("not poisoned").take() {
            s.kill();
        }
        *server.lock().expect("not poisoned") = Some(Server::start(&data, port, &["--no-simulator"]));
        restart_ms.push(killed.elapsed().as_secs_f64() * 1000.0);
        // Every client back on the stream: reconnected, and answered by the new server.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let back =
                follows.iter().zip(&before).all(|(f, b)| f.lock().expect("not poisoned").answered > *b);
            if back {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        resume_ms.push(killed.elapsed().as_secs_f64() * 1000.0);
    }
    let chaos_s = t0.elapsed().as_secs_f64();
    stop_feed.store(true, Ordering::Relaxed);
    feeder.join().expect("the source ran");

    // The server's last seq: what a fresh subscriber's snapshot says; wait for every client.
    let last = rt.block_on(async {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connects");
        ws.send(Message::Text(r#"{"op":"subscribe","topics":["rivers"]}"#.into())).await.expect("sends");
        let mut f = Follow::default();
        while f.snapshots == 0 {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                apply(&mut f, serde_json::from_str(&t).expect("protocol"));
            }
        }
        f.seq
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && follows.iter().any(|f| f.lock().expect("not poisoned").seq < last) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop_clients.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = rt.block_on(t);
    }
    if let Some(s) = server.lock().expect("not poisoned").take() {
        s.kill();
    }

    // Every acknowledged event in the log exactly once.
    let acked = acked.lock().expect("not poisoned").clone();
    let mut stored: HashMap<String, u32> = HashMap::new();
    for e in export(&data) {
        let ev = if e.get("event").is_some() { &e["event"] } else { &e };
        if let Some(id) = ev["id"].as_str() {
            *stored.entry(id.to_owned()).or_default() += 1;
        }
    }
    let lost = acked.iter().filter(|id| !stored.contains_key(*id)).count();
    let twice = stored.values().filter(|n| **n > 1).count();
    let sum =
        |f: fn(&Follow) -> u64| follows.iter().map(|x| f(&x.lock().expect("not poisoned"))).sum::<u64>();
    let behind = follows.iter().filter(|f| f.lock().expect("not poisoned").seq < last).count();
    println!(
        "  {kills} kills in {chaos_s:.0} s; source: {} batches acknowledged ({} events), {} sends cut off and resent",
        batches.load(Ordering::Relaxed),
        acked.len(),
        resends.load(Ordering::Relaxed)
    );
    println!(
        "  log: {} events stored; acknowledged but lost {lost}; stored more than once {twice}",
        stored.len()
    );
    println!(
        "  clients: last seq {last}; deltas applied {}, snapshots {}, reconnects {}; gaps {}, duplicates {}, behind at the end {behind}",
        sum(|f| f.deltas),
        sum(|f| f.snapshots),
        sum(|f| f.reconnects),
        sum(|f| f.gaps),
        sum(|f| f.duplicates)
    );
    println!(
        "  kill → serving again (healthz): p50 {:.0} ms, p99 {:.0} ms; kill → all {clients} clients resumed: p50 {:.0} ms, p99 {:.0} ms",
        q(&mut restart_ms, 0.5),
        q(&mut restart_ms, 0.99),
        q(&mut resume_ms, 0.5),
        q(&mut resume_ms, 0.99)
    );
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(
        (lost, twice, sum(|f| f.gaps), sum(|f| f.duplicates), behind),
        (0, 0, 0, 0, 0),
        "chaos found a loss"
    );
}
