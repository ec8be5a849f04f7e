//! The log on NATS JetStream, with real components: 3 `nats-server`s in a cluster (the log
//! stream kept in 3 copies), 3 yiping nodes, each on its own NATS server, and HAProxy in front
//! of them (HTTP and websockets, health-checked on `/healthz`).
//!
//! - Ingest through HAProxy while a node is killed (`kill -9`) and then a NATS server: every
//!   acknowledged event is stored exactly once, and every node's log (exported) is the same,
//!   sequence numbers and times of receipt included.
//! - A websocket client of the killed node resumes through HAProxy on another node with
//!   `since`: the deltas it missed, no gap, no duplicate, no snapshot.
//! - The killed node, restarted on its data folder, catches up.
//! - Alerts: a spike measured against a baseline made before the restart is the same alert on
//!   every node, the restarted one too; the node that decides (the clock's lease holder) is
//!   killed, and another decides: silent sections raised by the alert clock's ticks once,
//!   acknowledged on one node and seen on all, escalated by time with one step; the trail of
//!   each alert is the same on every node.
//! - Sessions, tokens, users and storylines: a login on one node holds on every node, a token
//!   made on one is taken by another and, revoked on a third, by none; a user added or
//!   disabled through the stream logs in everywhere or nowhere; a storyline made on one node
//!   is the same on the others; the trail's entries for all of them are the same on every node.
//! - A new node on an empty folder starts from the seed in the object store (users included)
//!   and has the same log.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, add_user, free_port, login, post_events, request, start_nats_cluster, token};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use yiping_protocol::ServerMsg;
use yiping_protocol::instant::Timestamp;

const PW: &str = "long-enough-pw";
/// The section whose readings spike.
const SPIKY: &str = "cj-yangsigang";

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
    nh3n_at(id, section, time, 0.18)
}

/// A water reading of `section` at `time` with `nh3n` mg/L of ammonia nitrogen.
fn nh3n_at(id: &str, section: &str, time: &str, nh3n: f64) -> String {
    format!(
        r#"{{"type":"water.reading","id":"{id}","time":"{time}","data":{{"section":"{section}","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":{nh3n},"tp_mg_l":0.08}}}}"#
    )
}

/// `minutes` ago, as RFC 3339.
fn minutes_ago(minutes: i64) -> String {
    Timestamp::now().plus_s(-minutes * 60).to_string()
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

/// Who a session cookie is on a node ("" when it is nobody's).
fn me(addr: SocketAddr, cookie: &str) -> String {
    let (status, body) = request(addr, "GET", "/api/v1/me", &[("Cookie", cookie)], b"").expect("request");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    v["name"].as_str().unwrap_or_default().to_owned()
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

/// HAProxy in front of the nodes, killed when dropped. Found as `YIPING_HAPROXY`, else on
/// `PATH` or in `/usr/sbin` (`scripts/tools.sh test` installs Debian's).
struct Haproxy {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_haproxy(dir: &std::path::Path, nodes: &[SocketAddr]) -> Haproxy {
    let port = free_port();
    let servers: String =
        nodes.iter().enumerate().map(|(i, a)| format!("  server n{i} {a} check\n")).collect();
    let conf = dir.join("haproxy.cfg");
    std::fs::write(
        &conf,
        format!(
            "global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 1h\n  \
             timeout server 1h\n  timeout tunnel 1h\n  retries 3\n  option redispatch\n\
             frontend yiping\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
             backend nodes\n  balance roundrobin\n  option httpchk GET /healthz\n  \
             default-server inter 300ms fall 2 rise 2\n{servers}"
        ),
    )
    .expect("writes the configuration");
    let bin = std::env::var("YIPING_HAPROXY").ok().unwrap_or_else(|| {
        if Command::new("haproxy").arg("-v").output().is_ok() {
            "haproxy".into()
        } else {
            "/usr/sbin/haproxy".into()
        }
    });
    let child = Command::new(&bin)
        .arg("-f")
        .arg(&conf)
        .arg("-db")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e} (scripts/tools.sh test installs haproxy)"));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    until("haproxy to pass requests on", 20, || health(addr));
    Haproxy { child, addr }
}

/// Check that `updates` follow `last` one by one on `epoch`, and move `last` on.
fn follow(updates: Vec<(&'static str, String, u64)>, epoch: &str, last: &mut u64) {
    for (kind, e, seq) in updates {
        assert_eq!((kind, e.as_str(), seq), ("delta", epoch, *last + 1), "gap, duplicate or snapshot");
        *last = seq;
    }
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
fn three_nodes_behind_haproxy_lose_nothing_resume_without_gaps_and_agree_on_alerts() {
    let dir = common::data_dir("cluster");
    let mut nats = start_nats_cluster(&dir, 3);
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, "[escalation]\nyellow_minutes = 1\n").expect("writes the rules");
    let rules = rules.display().to_string();

    // Three nodes, provisioned alike: one data folder with the admin and the source's token,
    // copied to each node before its first start (users and tokens are each node's own).
    let seed = dir.join("seed");
    add_user(&seed, "ops", "admin", None, PW);
    let source_token = token(&seed, "hbsthj");
    let mut datas = Vec::new();
    let mut ports = Vec::new();
    for i in 0..3 {
        let data = dir.join(format!("node-{i}"));
        std::fs::create_dir_all(&data).expect("a folder");
        std::fs::copy(seed.join(yiping_server::store::DB_FILE), data.join(yiping_server::store::DB_FILE))
            .expect("copies the seed");
        datas.push(data);
        ports.push(free_port());
    }
    let urls: Vec<String> = nats.iter().map(|n| n.url.clone()).collect();
    // A node on `data` and `port`, on the NATS server at `url`.
    let start_on = |data: &std::path::Path, port: u16, url: &str| {
        let args = [
            "--no-simulator",
            "--nats",
            url,
            "--nats-replicas",
            "3",
            "--rules",
            rules.as_str(),
            "--snapshot-every",
            "1000",
        ];
        Server::start(data, port, &args)
    };
    let start = |i: usize| start_on(&datas[i], ports[i], &urls[i]);
    let mut nodes: Vec<Option<Server>> = (0..3).map(|i| Some(start(i))).collect();
    let addr = |i: usize| SocketAddr::from(([127, 0, 0, 1], ports[i]));
    let epochs: HashSet<String> = (0..3)
        .map(|i| health(addr(i)).expect("healthz")["epoch"].as_str().expect("epoch").to_owned())
        .collect();
    assert_eq!(epochs.len(), 1, "every node takes the stream's epoch: {epochs:?}");
    let lb = start_haproxy(&dir, &(0..3).map(addr).collect::<Vec<_>>());

    // A section's readings: a steady baseline of 0.2 mg/L, then 0.6 (+0.4: no spike). The
    // snapshots the patrols below bring cover them.
    let body: Vec<String> = [(50, 0.2), (40, 0.2), (30, 0.2), (20, 0.2), (10, 0.6)]
        .iter()
        .enumerate()
        .map(|(k, (ago, v))| nh3n_at(&format!("w{k}"), SPIKY, &minutes_ago(*ago), *v))
        .collect();
    let (status, v) = post_events(lb.addr, &source_token, &body.join("\n"));
    assert_eq!((status, v["accepted"].as_u64()), (200, Some(5)), "{v}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    // A wall follows the rivers topic through HAProxy; the node it landed on is the one to die.
    let mut ws = rt.block_on(subscribe(lb.addr, None));
    let first = rt.block_on(next_updates(&mut ws, Duration::from_secs(10))).expect("a snapshot");
    let (kind, epoch, mut last) = first[0].clone();
    assert_eq!(kind, "snapshot");
    let victim =
        until("the wall's node", 10, || (0..3).find(|i| health(addr(*i)).is_some_and(|h| h["clients"] == 1)));
    let other = (victim + 1) % 3;

    // Ingest through HAProxy: batches of 100 patrols; a batch not acknowledged is sent again
    // until it is.
    let mut acked: Vec<String> = Vec::new();
    let mut resent = 0;
    let mut send_batch = |b: u32| {
        let ids: Vec<String> = (0..100).map(|k| format!("p{b}-{k}")).collect();
        let body: Vec<String> =
            ids.iter().enumerate().map(|(k, id)| patrol(id, (b * 7 + k as u32) % 50)).collect();
        let body = body.join("\n");
        for _ in 0..200 {
            let (status, v) = post_events(lb.addr, &source_token, &body);
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
        send_batch(b);
    }
    // The wall has seen deltas; its node dies.
    while let Some(u) = rt.block_on(next_updates(&mut ws, Duration::from_millis(500))) {
        follow(u, &epoch, &mut last);
    }
    assert!(last > 0, "the wall saw deltas");
    let killed = Instant::now();
    nodes[victim].take().expect("the wall's node").kill();
    // It reconnects through HAProxy, to another node, and resumes from where it was: only the
    // deltas it missed, from the next seq on (a connection HAProxy still gives to the dead node
    // ends at once, and is made again).
    let (mut ws, early) = until("the wall to reconnect", 20, || {
        rt.block_on(async {
            let mut ws = subscribe(lb.addr, Some((&epoch, last))).await;
            match tokio::time::timeout(Duration::from_millis(300), ws.next()).await {
                Ok(None | Some(Err(_))) => None,
                Ok(Some(Ok(Message::Close(_)))) => None,
                Ok(Some(Ok(Message::Text(t)))) => Some((ws, Some(t))),
                _ => Some((ws, None)),
            }
        })
    });
    eprintln!("the wall's node killed → the wall connected to another: {:?}", killed.elapsed());
    if let Some(t) = early {
        let msg: ServerMsg = serde_json::from_str(&t).expect("the protocol");
        let items = match msg {
            ServerMsg::Batch { items } => items,
            other => vec![other],
        };
        for m in items {
            match m {
                ServerMsg::Delta(u) if u.topic == "rivers" => {
                    follow(vec![("delta", u.epoch, u.seq)], &epoch, &mut last)
                }
                ServerMsg::Snapshot(u) if u.topic == "rivers" => panic!("a snapshot on resume: {}", u.seq),
                _ => {}
            }
        }
    }
    for b in 20..40 {
        send_batch(b);
    }
    // A NATS server dies (not the killed node's): its node goes on through the other two.
    nats[other].kill();
    for b in 40..60 {
        send_batch(b);
    }
    // One delta per batch: each body is one message of the log stream, folded as one batch.
    let expected = 60u64;
    while last < expected {
        let u = rt.block_on(next_updates(&mut ws, Duration::from_secs(10))).expect("the deltas missed");
        follow(u, &epoch, &mut last);
    }
    assert_eq!(last, expected, "one delta per batch");

    // The killed node restarts on its data folder and catches up.
    let restarted = Instant::now();
    nodes[victim] = Some(start(victim));
    let target = health(addr(other)).expect("healthz")["stream_applied"].as_u64().expect("a stream position");
    until("the restarted node to catch up", 60, || {
        (health(addr(victim))?["stream_applied"].as_u64()? >= target).then_some(())
    });
    eprintln!("the restarted node caught up with {target} messages in {:?}", restarted.elapsed());
    nats[other].restart();

    // The section's next reading, 0.95, is a spike against the baseline of about 0.32 its
    // readings before made (not against the latest alone): whichever node decides, every node
    // has the same alert, the restarted one too.
    let mut cookies: Vec<String> = (0..3).map(|i| login(addr(i), "ops", PW)).collect();
    let (status, v) = post_events(lb.addr, &source_token, &nh3n_at("w5", SPIKY, &minutes_ago(5), 0.95));
    assert_eq!((status, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    let spike = format!("spike/section:{SPIKY}#nh3n_mg_l");
    until("the spike on every node", 30, || {
        let seen: Vec<Option<(Value, Value)>> = (0..3)
            .map(|i| {
                alerts(addr(i), &cookies[i]).get(&spike).map(|a| (a["id"].clone(), a["severity"].clone()))
            })
            .collect();
        (seen[0].as_ref().is_some_and(|(_, sev)| sev == "orange") && seen.iter().all(|s| s == &seen[0]))
            .then_some(())
    });

    // The node that decides dies; another takes the clock's lease and decides from then on.
    let holder = until("the clock's holder", 20, || {
        (0..3).find(|i| health(addr(*i)).is_some_and(|h| h["holds_clock"] == true))
    });
    nodes[holder].take().expect("the holder").kill();
    nodes[holder] = Some(start(holder));
    cookies[holder] = login(addr(holder), "ops", PW);

    // Alerts: two sections last heard of 179.9 minutes ago are silent (3 hours: yellow) within a
    // few ticks of the alert clock.
    let ago = Timestamp::now().plus_s(-(179 * 60 + 54)).to_string();
    let body = [reading_at("s1", "hj-xingou", &ago), reading_at("s2", "hj-zongguan", &ago)].join("\n");
    let (status, v) = post_events(lb.addr, &source_token, &body);
    assert_eq!((status, v["accepted"].as_u64()), (200, Some(2)), "{v}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (a1, a2) = until("the silent alerts on every node", 70, || {
        let per_node: Vec<_> = (0..3).map(|i| alerts(addr(i), &cookies[i])).collect();
        let id =
            |m: &BTreeMap<String, Value>, s: &str| m.get(s).and_then(|a| a["id"].as_str()).map(str::to_owned);
        let ids: Vec<_> = per_node
            .iter()
            .map(|m| (id(m, "silent/section:hj-xingou"), id(m, "silent/section:hj-zongguan")))
            .collect();
        assert!(Instant::now() < deadline, "the silent alerts are not the same on every node: {ids:?}");
        match &ids[0] {
            (Some(a1), Some(a2)) if ids.iter().all(|i| i == &ids[0]) => Some((a1.clone(), a2.clone())),
            _ => None,
        }
    });
    // Acknowledged on one node, seen acknowledged on the others.
    let (status, body) = request(
        addr(other),
        "POST",
        &format!("/api/v1/alerts/{a1}/acknowledge"),
        &[("Cookie", &cookies[other]), ("Content-Type", "application/json")],
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
        addr(victim),
        "POST",
        &format!("/api/v1/alerts/{a1}/acknowledge"),
        &[("Cookie", &cookies[victim]), ("Content-Type", "application/json")],
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

    // Sessions and tokens go through the stream: a login on one node holds on every node; a
    // token made on one is taken by another, and once revoked on a third, by none.
    let cookie = login(addr(0), "ops", PW);
    until("the session on every node", 10, || (0..3).all(|i| me(addr(i), &cookie) == "ops").then_some(()));
    let (status, body) = request(
        addr(1),
        "POST",
        "/api/v1/sources/hbsl/tokens",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        b"{}",
    )
    .expect("request");
    assert_eq!(status, 201, "{body}");
    let made: Value = serde_json::from_str(&body).expect("JSON");
    let new_token = made["token"].as_str().expect("a token").to_owned();
    until("the new token on node 2", 10, || {
        (post_events(addr(2), &new_token, &patrol("tk-1", 1)).0 == 200).then_some(())
    });
    let id = made["id"].as_str().expect("an id");
    let (status, body) =
        request(addr(2), "DELETE", &format!("/api/v1/tokens/{id}"), &[("Cookie", &cookie)], b"")
            .expect("request");
    assert_eq!(status, 204, "{body}");
    until("the token refused on every node", 10, || {
        (0..3).all(|i| post_events(addr(i), &new_token, &patrol("tk-2", 1)).0 == 401).then_some(())
    });
    let (status, _) =
        request(addr(2), "POST", "/api/v1/logout", &[("Cookie", &cookie)], b"").expect("request");
    assert_eq!(status, 200);
    until("the session ended on every node", 10, || {
        (0..3).all(|i| me(addr(i), &cookie).is_empty()).then_some(())
    });
    // A user added through the log stream (`yiping user add --nats`) can log in on every node;
    // disabled the same way, on none.
    let user_cli = |args: &[&str], stdin: &str| {
        let mut child = Command::new(common::bin())
            .arg("user")
            .args(args)
            .args(["--nats", urls[0].as_str()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin.as_bytes()).expect("writes");
        let out = child.wait_with_output().expect("waits");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let logs_in = |i: usize| {
        let body = json!({ "name": "duty2", "password": PW }).to_string();
        request(addr(i), "POST", "/api/v1/login", &[("Content-Type", "application/json")], body.as_bytes())
            .expect("request")
            .0
    };
    user_cli(&["add", "--name", "duty2", "--role", "duty"], &format!("{PW}\n"));
    until("the new user on every node", 10, || (0..3).all(|i| logs_in(i) == 200).then_some(()));
    user_cli(&["disable", "--name", "duty2"], "");
    until("the user disabled on every node", 10, || (0..3).all(|i| logs_in(i) == 401).then_some(()));
    // A storyline made on one node is the same on the others.
    let cookie = login(addr(0), "ops", PW);
    let (status, body) = request(
        addr(0),
        "POST",
        "/api/v1/storylines",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        yiping_server::openapi::storyline_example().to_string().as_bytes(),
    )
    .expect("request");
    assert_eq!(status, 201, "{body}");
    let made: Value = serde_json::from_str(&body).expect("JSON");
    let path = format!("/api/v1/storylines/{}", made["id"]);
    until("the storyline on every node", 10, || {
        (1..3)
            .all(|i| {
                request(addr(i), "GET", &path, &[("Cookie", &cookie)], b"")
                    .ok()
                    .and_then(|(_, b)| serde_json::from_str::<Value>(&b).ok())
                    .is_some_and(|v| v == made)
            })
            .then_some(())
    });

    // Each node's trail holds the same entries for them, at the same times.
    let changes = |i: usize| -> Vec<Value> {
        let (status, body) =
            request(addr(i), "GET", "/api/v1/audit", &[("Cookie", &cookies[i])], b"").expect("request");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("an entry"))
            .filter(|e| {
                let action = e["action"].as_str().unwrap_or_default();
                action.starts_with("login")
                    || action == "logout"
                    || action.starts_with("token.")
                    || action.starts_with("user.")
                    || action.starts_with("storyline.")
            })
            .map(|e| json!([e["time"], e["action"], e["actor"], e["target"], e["body"]]))
            .collect()
    };
    let seen = changes(0);
    assert!(seen.len() >= 5, "{seen:?}");
    assert_eq!(seen, changes(1), "nodes 0 and 1");
    assert_eq!(seen, changes(2), "nodes 0 and 2");

    // Every node has the same log; every acknowledged event is in it once.
    let position = health(addr(other)).expect("healthz")["stream_applied"].as_u64().expect("a position");
    until("every node at the same position", 30, || {
        (0..3)
            .all(|i| health(addr(i)).and_then(|h| h["stream_applied"].as_u64()) >= Some(position))
            .then_some(())
    });
    // A new node on an empty folder starts from the seed the clock's holder uploaded with a
    // snapshot, not from the stream's first message: the users come with it ("ops" can log in
    // there, though nobody made them there), and it catches up from the seed's position.
    let new_data = dir.join("node-new");
    let new_port = free_port();
    let seeded = Instant::now();
    let newcomer = start_on(&new_data, new_port, &urls[1]);
    until("the new node to catch up", 60, || {
        (health(newcomer.addr)?["stream_applied"].as_u64()? >= position).then_some(())
    });
    eprintln!("a new node started from the seed and caught up in {:?}", seeded.elapsed());
    let new_cookie = login(newcomer.addr, "ops", PW);
    assert_eq!(me(newcomer.addr, &new_cookie), "ops");
    datas.push(new_data);
    nodes.push(Some(newcomer));

    drop(lb);
    for n in &mut nodes {
        n.take().expect("a node").kill();
    }
    let logs: Vec<Vec<Value>> = datas.iter().map(|d| common::export(d)).collect();
    assert_eq!(logs[0], logs[1], "nodes 0 and 1 have the same log");
    assert_eq!(logs[0], logs[2], "nodes 0 and 2 have the same log");
    assert_eq!(logs[0], logs[3], "the new node has the same log");
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
