//! The log on NATS JetStream, with real components: 3 `nats-server`s in a cluster (the log
//! stream kept in 3 copies) and 3 yiping nodes, each on its own NATS server.
//!
//! - Ingest on every node while a node is killed (`kill -9`) and then a NATS server: every
//!   acknowledged event is stored exactly once, and every node's log (exported) is the same,
//!   sequence numbers and times of receipt included.
//! - A websocket client of the killed node resumes on another with `since`: the deltas it
//!   missed, no gap, no duplicate, no snapshot.
//! - The killed node, restarted on its data folder, catches up.
//! - Alerts: raised by the alert clock's ticks once, acknowledged on one node and seen on all,
//!   escalated by time with one step; the trail of each alert is the same on every node.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Server, add_user, free_port, login, post_events, request, start_nats_cluster, token};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use yiping_protocol::ServerMsg;
use yiping_protocol::instant::Timestamp;

const PW: &str = "long-enough-pw";

/// Poll `f` until it gives a value, for at most `secs`.
fn until<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn health(addr: SocketAddr) -> Option<Value> {
    let (status, body) = request(addr, "GET", "/healthz", &[], b"").ok()?;
    (status == 200).then(|| serde_json::from_str(&body).ok()).flatten()
}

/// A patrol of team `team`, event `id`.
fn patrol(id: &str, team: u32) -> String {
    common::patrol_of(id, &format!("T{team}"))
}

/// A water reading of `section` at `time`, class II.
fn reading_at(id: &str, section: &str, time: &str) -> String {
    format!(
        r#"{{"type":"water.reading","id":"{id}","time":"{time}","data":{{"section":"{section}","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08}}}}"#
    )
}

/// The alerts a node has, by rule and key (`silent/section:hj-xingou`).
fn alerts(addr: SocketAddr, cookie: &str) -> BTreeMap<String, Value> {
    let (status, body) =
        request(addr, "GET", "/api/v1/alerts?state=all", &[("Cookie", cookie)], b"").expect("request");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    v["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                format!(
                    "{}/{}",
                    a["rule"].as_str().unwrap_or_default(),
                    a["key"].as_str().unwrap_or_default()
                ),
                a.clone(),
            )
        })
        .collect()
}

/// An alert's trail on a node: (time, action, actor, comment) of each step.
fn trail(addr: SocketAddr, cookie: &str, alert: &str) -> Vec<(String, String, String, String)> {
    let (status, body) =
        request(addr, "GET", &format!("/api/v1/audit?alert={alert}"), &[("Cookie", cookie)], b"")
            .expect("request");
    assert_eq!(status, 200, "{body}");
    body.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("time"), s("action"), s("actor"), s("comment"))
        })
        .collect()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(addr: SocketAddr, since: Option<(&str, u64)>) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connects");
    let mut msg = json!({"op": "subscribe", "topics": ["rivers"]});
    if let Some((epoch, seq)) = since {
        msg["since"] = json!({"rivers": {"epoch": epoch, "seq": seq}});
    }
    ws.send(Message::Text(msg.to_string().into())).await.expect("sends");
    ws
}

/// The next updates of the `rivers` topic: ("snapshot" | "delta", epoch, seq); None when the
/// connection ends or nothing comes within `wait`.
async fn next_updates(ws: &mut Ws, wait: Duration) -> Option<Vec<(&'static str, String, u64)>> {
    loop {
        let frame = tokio::time::timeout(wait, ws.next()).await.ok()??.ok()?;
        let Message::Text(t) = frame else { continue };
        let msg: ServerMsg = serde_json::from_str(&t).expect("the protocol");
        let items = match msg {
            ServerMsg::Batch { items } => items,
            other => vec![other],
        };
        let out: Vec<_> = items
            .into_iter()
            .filter_map(|m| match m {
                ServerMsg::Snapshot(u) if u.topic == "rivers" => Some(("snapshot", u.epoch, u.seq)),
                ServerMsg::Delta(u) if u.topic == "rivers" => Some(("delta", u.epoch, u.seq)),
                _ => None,
            })
            .collect();
        if !out.is_empty() {
            return Some(out);
        }
    }
}

#[test]
fn three_nodes_on_a_nats_cluster_lose_nothing_resume_without_gaps_and_agree_on_alerts() {
    let dir = common::data_dir("cluster");
    let mut nats = start_nats_cluster(&dir, 3);
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, "[escalation]\nyellow_minutes = 1\n").expect("writes the rules");
    let rules = rules.display().to_string();

    // Three nodes, each with its admin and its token for the source (both are per node).
    let mut datas = Vec::new();
    let mut tokens = Vec::new();
    let mut ports = Vec::new();
    for i in 0..3 {
        let data = dir.join(format!("node-{i}"));
        add_user(&data, "ops", "admin", None, PW);
        tokens.push(token(&data, "hbsthj"));
        datas.push(data);
        ports.push(free_port());
    }
    let urls: Vec<String> = nats.iter().map(|n| n.url.clone()).collect();
    let start = |i: usize| {
        let args =
            ["--no-simulator", "--nats", urls[i].as_str(), "--nats-replicas", "3", "--rules", rules.as_str()];
        Server::start(&datas[i], ports[i], &args)
    };
    let mut nodes: Vec<Option<Server>> = (0..3).map(|i| Some(start(i))).collect();
    let addr = |i: usize| SocketAddr::from(([127, 0, 0, 1], ports[i]));
    let epochs: HashSet<String> = (0..3)
        .map(|i| health(addr(i)).expect("healthz")["epoch"].as_str().expect("epoch").to_owned())
        .collect();
    assert_eq!(epochs.len(), 1, "every node takes the stream's epoch: {epochs:?}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    // A wall on node 0 follows the rivers topic.
    let mut ws = rt.block_on(subscribe(addr(0), None));
    let first = rt.block_on(next_updates(&mut ws, Duration::from_secs(10))).expect("a snapshot");
    let (kind, epoch, mut last) = first[0].clone();
    assert_eq!(kind, "snapshot");

    // Ingest: batches of 100 patrols, round robin over the live nodes; a batch not acknowledged
    // is sent again (to the next node) until it is.
    let mut acked: Vec<String> = Vec::new();
    let mut resent = 0;
    let mut send_batch = |b: u32, nodes: &[Option<Server>]| {
        let ids: Vec<String> = (0..100).map(|k| format!("p{b}-{k}")).collect();
        let body: Vec<String> =
            ids.iter().enumerate().map(|(k, id)| patrol(id, (b * 7 + k as u32) % 50)).collect();
        let body = body.join("\n");
        let live: Vec<usize> = (0..3).filter(|i| nodes[*i].is_some()).collect();
        for attempt in 0..200 {
            let i = live[(b as usize + attempt) % live.len()];
            let (status, v) = post_events(addr(i), &tokens[i], &body);
            if status == 200 {
                assert_eq!(
                    v["accepted"].as_u64().unwrap_or(0) + v["duplicates"].as_u64().unwrap_or(0),
                    100,
                    "{v}"
                );
                acked.extend(ids);
                return;
            }
            resent += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("batch {b} was never acknowledged");
    };
    for b in 0..20 {
        send_batch(b, &nodes);
    }
    // The wall on node 0 has seen deltas; node 0 dies.
    while let Some(u) = rt.block_on(next_updates(&mut ws, Duration::from_millis(500))) {
        for (kind, e, seq) in u {
            assert_eq!(
                (kind, e.as_str(), seq),
                ("delta", epoch.as_str(), last + 1),
                "gap or duplicate on node 0"
            );
            last = seq;
        }
    }
    assert!(last > 0, "the wall on node 0 saw deltas");
    nodes[0].take().expect("node 0").kill();
    for b in 20..40 {
        send_batch(b, &nodes);
    }
    // A NATS server dies (node 1's): node 1 goes on through the other two.
    nats[1].kill();
    for b in 40..60 {
        send_batch(b, &nodes);
    }

    // The wall resumes on node 1 from where it was: only deltas, from the next seq on.
    let expected = 6_000u64;
    let mut ws = rt.block_on(subscribe(addr(1), Some((&epoch, last))));
    while last < expected {
        let u = rt.block_on(next_updates(&mut ws, Duration::from_secs(10))).expect("the deltas missed");
        for (kind, e, seq) in u {
            assert_eq!(
                (kind, e.as_str(), seq),
                ("delta", epoch.as_str(), last + 1),
                "gap or duplicate on resume"
            );
            last = seq;
        }
    }

    // Node 0 restarts on its data folder and catches up.
    let restarted = Instant::now();
    nodes[0] = Some(start(0));
    let target = health(addr(1)).expect("healthz")["stream_applied"].as_u64().expect("a stream position");
    until("node 0 to catch up", 60, || {
        (health(addr(0))?["stream_applied"].as_u64()? >= target).then_some(())
    });
    eprintln!("node 0 caught up with {target} messages in {:?} after its restart", restarted.elapsed());
    nats[1].restart();

    // Alerts: two sections last heard of 179.9 minutes ago are silent (3 hours: yellow) within a
    // few ticks of the alert clock.
    let cookies: Vec<String> = (0..3).map(|i| login(addr(i), "ops", PW)).collect();
    let ago = Timestamp::now().plus_s(-(179 * 60 + 54)).to_string();
    let body = [reading_at("s1", "hj-xingou", &ago), reading_at("s2", "hj-zongguan", &ago)].join("\n");
    let (status, v) = post_events(addr(2), &tokens[2], &body);
    assert_eq!((status, v["accepted"].as_u64()), (200, Some(2)), "{v}");
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (a1, a2) = until("the silent alerts on every node", 70, || {
        let per_node: Vec<_> = (0..3).map(|i| alerts(addr(i), &cookies[i])).collect();
        seen = (0..3)
            .map(|i| format!("node {i}: {:?} {:?}", health(addr(i)), per_node[i].keys().collect::<Vec<_>>()))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(Instant::now() < deadline, "the silent alerts are not on every node:\n{seen}");
        let id =
            |m: &BTreeMap<String, Value>, s: &str| m.get(s).and_then(|a| a["id"].as_str()).map(str::to_owned);
        let a1 = id(&per_node[0], "silent/section:hj-xingou")?;
        let a2 = id(&per_node[0], "silent/section:hj-zongguan")?;
        per_node
            .iter()
            .all(|m| {
                id(m, "silent/section:hj-xingou").as_ref() == Some(&a1)
                    && id(m, "silent/section:hj-zongguan").as_ref() == Some(&a2)
            })
            .then_some((a1, a2))
    });
    // Acknowledged on node 2, seen acknowledged on the others.
    let (status, body) = request(
        addr(2),
        "POST",
        &format!("/api/v1/alerts/{a1}/acknowledge"),
        &[("Cookie", &cookies[2]), ("Content-Type", "application/json")],
        br#"{"comment":"on my way"}"#,
    )
    .expect("request");
    assert_eq!(status, 200, "{body}");
    until("the acknowledge on every node", 20, || {
        (0..3)
            .all(|i| alerts(addr(i), &cookies[i])["silent/section:hj-xingou"]["state"] == "acknowledged")
            .then_some(())
    });
    // The same step again, on another node: refused there, as the alert is no longer new.
    let (status, _) = request(
        addr(0),
        "POST",
        &format!("/api/v1/alerts/{a1}/acknowledge"),
        &[("Cookie", &cookies[0]), ("Content-Type", "application/json")],
        b"{}",
    )
    .expect("request");
    assert_eq!(status, 409);
    // The other, left unacknowledged for a minute, goes up to orange once.
    until("the escalation", 100, || {
        (0..3)
            .all(|i| alerts(addr(i), &cookies[i])["silent/section:hj-zongguan"]["severity"] == "orange")
            .then_some(())
    });
    for alert in [&a1, &a2] {
        let trails: Vec<_> = (0..3).map(|i| trail(addr(i), &cookies[i], alert)).collect();
        assert!(trails[0].len() >= 2, "{alert}: {:?}", trails[0]);
        assert_eq!(trails[0], trails[1], "{alert}: nodes 0 and 1");
        assert_eq!(trails[0], trails[2], "{alert}: nodes 0 and 2");
    }
    let escalations = trail(addr(0), &cookies[0], &a2).iter().filter(|t| t.1 == "alert.escalate").count();
    assert_eq!(escalations, 1, "{:?}", trail(addr(0), &cookies[0], &a2));

    // Every node has the same log; every acknowledged event is in it once.
    let position = health(addr(2)).expect("healthz")["stream_applied"].as_u64().expect("a position");
    until("every node at the same position", 30, || {
        (0..3)
            .all(|i| health(addr(i)).and_then(|h| h["stream_applied"].as_u64()) >= Some(position))
            .then_some(())
    });
    for n in &mut nodes {
        n.take().expect("a node").kill();
    }
    let logs: Vec<Vec<Value>> = datas.iter().map(|d| common::export(d)).collect();
    assert_eq!(logs[0], logs[1], "nodes 0 and 1 have the same log");
    assert_eq!(logs[0], logs[2], "nodes 0 and 2 have the same log");
    let ids: Vec<&str> = logs[0].iter().filter_map(|e| e["event"]["id"].as_str()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no event stored twice");
    for id in &acked {
        assert!(unique.contains(id.as_str()), "acknowledged event {id} is in the log");
    }
    eprintln!(
        "{} events acknowledged ({resent} sends refused and sent again), {} in every log",
        acked.len(),
        ids.len()
    );
}
