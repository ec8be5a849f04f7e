//! Benchmarks of the aggregator on this machine; prints figures, asserts nothing.
//!
//! ```sh
//! cargo run --release -p yiping-server --example bench -- ingest      # pipeline and HTTP ingest
//! cargo run --release -p yiping-server --example bench -- ingest pipeline  # the pipeline alone
//! cargo run --release -p yiping-server --example bench -- ingest http 4  # HTTP alone, 4 runs
//! cargo run --release -p yiping-server --example bench -- ingest rate 50000,100000 10  # fixed rates
//! cargo run --release -p yiping-server --example bench -- ingest rate 10000 30 villages  # a monitoring feed
//! cargo run --release -p yiping-server --example bench -- check       # checking and placing lines
//! cargo run --release -p yiping-server --example bench -- append 240  # the log's writer, its indexer
//! cargo run --release -p yiping-server --example bench -- fanout 1000 200  # clients, events/s
//! ```
//!
//! - `ingest`: (1) the pipeline alone — events checked, placed, committed to the SQLite log (WAL,
//!   synced to disk before the fold and the acknowledgement) and folded, submitted in batches by 4
//!   concurrent producers, for two workloads: new patrols (each event a new entity, the figure
//!   compared across sessions), and the next reports of 5,000 villages every 10 minutes (each
//!   entity again and again, as monitoring sections, stations, projects and villages report);
//!   (2) the same over HTTP (`POST /api/v1/events`, NDJSON batches of 1,000 lines, 4 concurrent
//!   clients) against the real `yiping` binary. Prints events/s and acknowledgement latency
//!   p50/p99; for (1) also the CPU time each thread spent per event, for (2) how much of the
//!   run the server's writer committed and its folder waited for syncs and folded, by the
//!   server's own counters (the bodies are made before the clock starts, in (1) and (2)).
//!   `ingest http RUNS` runs (2) alone, RUNS times against one server, to compare binaries.
//!   `ingest rate [R1,R2,… [S [patrols|villages]]]` sends (2)'s bodies (or, with `villages`,
//!   reports of 5,000 villages again and again, as (1)'s second workload) at fixed rates
//!   instead (default 25,000, 50,000, 75,000 and 100,000 events/s, 10 s each), as sources send
//!   at their own pace: the acknowledgement latency at a load, from when each body was due,
//!   apart from how much the server takes at most (4 clients that each wait for their answer
//!   measure both at once).
//!   (3) The same published on NATS JetStream (`yiping.in.bench`, a nats-server with fsync
//!   before ack, found as `YIPING_NATS_SERVER` or on `PATH`) to the binary run with `--nats`:
//!   events/s published and acked, and how soon the log has them all; (4) HTTP again, to that
//!   binary, whose log is then the NATS stream.
//! - `append [B]`: the log's writer alone, on one thread: B batches of 1,000 (default 240) of each
//!   workload appended in a transaction each; µs per event; then the log's indexer
//!   ([`yiping_server::logindex`]) alone, its passes bringing the index file up to the log (µs
//!   per event); then an entity's newest 100 events read back (p50/p99), as the API reads them,
//!   with the index up to the log and with none. Runs move ±20 % here from minute to minute:
//!   repeat it.
//! - `fanout N R [K]`: the real `yiping` binary with N websocket clients subscribed to `rivers`; R
//!   events a second are posted for 10 s in 10 bodies a second, each event stamped with the time it
//!   is posted; each client counts the deltas it gets (one per body) and measures the delay from
//!   a delta's `time` (its newest event's) to its arrival. Prints deltas delivered a second,
//!   latency p50/p99, and the server's memory per client (RSS growth while the clients connected,
//!   divided by N). Clients and server share this machine's cores. With K > 1: K nodes on a
//!   cluster of K NATS servers (the log in up to 3 copies), the clients spread over them, the
//!   events posted to the first.
//! - `failover KILLS CLIENTS`: 3 NATS servers, 3 nodes and HAProxy; the busiest node is killed
//!   KILLS times under a steady source; prints kill → first delta on another node p50/p99 over
//!   every client's resumption, the restarted node's catch-up, and faults on resume (must be 0).
//! - `catchup N`: one NATS server and a node with a log of N events (HTTP ingest); a new node on
//!   an empty folder applies the stream from its start (no seed yet), then, once the first node
//!   has uploaded a seed with its snapshot, another new node starts from the seed; prints both
//!   catch-up times (start → applied as far as the first node).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use yiping_server::store::Located;

/// The binary's allocator, so that the pipeline measured in process allocates as it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn patrol(id: &str) -> String {
    patrol_at(id, "2026-11-22T08:00:00Z")
}

/// A river patrol `id` at `time`.
fn patrol_at(id: &str, time: &str) -> String {
    format!(
        r#"{{"type":"river.patrol","id":"{id}","time":"{time}","data":{{"patrol":"{id}","chief":"C1","chief_name":"王建国","level":"county","river":"汉江","lon":114.2199,"lat":30.5797,"minutes":45}}}}"#
    )
}

/// The villages of the second workload: entities that report again and again, as stations,
/// sections and villages do (a patrol is an entity once).
const VILLAGES: usize = 5_000;

/// When the villages' round 0 is reported: round r is 10 × r minutes later.
const VILLAGES_FROM: &str = "2026-11-01T00:00:00Z";

/// When the villages report their `round`-th time.
fn village_time(round: usize) -> yiping_protocol::instant::Timestamp {
    let from = yiping_protocol::instant::Timestamp::parse(VILLAGES_FROM).expect("a time");
    from.plus_s(i64::try_from(round).expect("few rounds") * 600)
}

/// Village `k`'s `round`-th report ([`village_time`]). A batch of 1,000 takes villages far
/// apart in key order (`k` steps by a prime), as a source that reports by region would send
/// them.
fn village(k: usize, round: usize) -> String {
    let (lon, lat) = (114.2199 + (k % 50) as f64 * 0.0002, 30.5797 + (k / 50) as f64 * 0.0001);
    let time = village_time(round);
    format!(
        r#"{{"type":"poverty.village","id":"v{k}-{round}","time":"{time}","data":{{"village":"V{k:05}","name":"监测村{k}","lon":{lon:.4},"lat":{lat:.4},"lifted_households":120,"monitored_households":30,"risk_households":4,"income_yuan":15200,"assistance_wan":12.5}}}}"#
    )
}

/// Line `i` of batch `b` of a workload: a new patrol each, or a village's next report.
fn workload_line(villages: bool, prefix: &str, b: usize, i: usize) -> String {
    if villages {
        let n = b * 1_000 + i;
        village((n * 7_919) % VILLAGES, n / VILLAGES)
    } else {
        patrol(&format!("{prefix}{b}-{i}"))
    }
}

fn workload_name(villages: bool) -> String {
    if villages { format!("reports of {VILLAGES} villages") } else { "new patrols".to_owned() }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("yiping-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/examples/bench -> target/release/yiping
    exe.parent().and_then(|p| p.parent()).map(|p| p.join("yiping")).expect("target dir")
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(data: &std::path::Path) -> (Child, SocketAddr, String) {
    start_server_with(data, &[])
}

fn start_server_with(data: &std::path::Path, extra: &[&str]) -> (Child, SocketAddr, String) {
    let bin = binary();
    assert!(
        bin.exists(),
        "build the server first: cargo build --release -p yiping-server ({})",
        bin.display()
    );
    let out = Command::new(&bin)
        .args(["token", "create", "--source", "bench", "--data"])
        .arg(data)
        .output()
        .expect("token");
    let token = String::from_utf8(out.stdout).expect("utf8").trim().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    (serve_at(data, addr, extra), addr, token)
}

/// `yiping serve` on `data` at `addr`, once it listens.
fn serve_at(data: &std::path::Path, addr: SocketAddr, extra: &[&str]) -> Child {
    let child = Command::new(binary())
        .args(["serve", "--no-simulator", "--addr", &addr.to_string(), "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("server starts");
    let child = Child(child);
    for _ in 0..1500 {
        if TcpStream::connect(addr).is_ok() {
            settle(addr);
            return child;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server did not start");
}

/// Wait for the map pack, which a release server makes at start-up beside its first requests
/// (a few seconds of brotli on one core): what is measured is then the settled server.
fn settle(addr: SocketAddr) {
    let answer = get(addr, "/geo/layers.pack").expect("the map pack");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "the map pack: {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(200)])
    );
}

fn post(addr: SocketAddr, token: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: b\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body.as_bytes()).expect("write");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The whole answer (head and body) to `GET path`.
fn get(addr: SocketAddr, path: &str) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr)?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    Ok(answer)
}

/// The value of a counter in the server's `/metrics` (0 when it cannot be read).
fn counter(addr: SocketAddr, name: &str) -> u64 {
    metric(addr, name).unwrap_or(0)
}

/// The value of a counter in the server's `/metrics`, if the server has it and answers.
fn metric(addr: SocketAddr, name: &str) -> Option<u64> {
    let answer = get(addr, "/metrics").ok()?;
    String::from_utf8_lossy(&answer).lines().find_map(|l| {
        l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')).and_then(|v| v.trim().parse().ok())
    })
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time so far of this process's threads, by thread name, seconds (`/proc/self/task`).
fn thread_cpu() -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let tick = 100.0; // USER_HZ on Linux
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // pid (comm) state ppid ... utime stime: fields 14 and 15, counted after the comm.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let name = head.split_once('(').map_or("?", |(_, n)| n);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let cpu = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0) / tick;
        *out.entry(name.to_owned()).or_insert(0.0) += cpu(11) + cpu(12);
    }
    out
}

/// Print each thread group's CPU between two [`thread_cpu`] readings, in µs per event.
fn print_cpu(before: &std::collections::BTreeMap<String, f64>, events: f64) {
    let after = thread_cpu();
    let mut parts = Vec::new();
    let mut total = 0.0;
    for (name, t) in &after {
        let used = t - before.get(name).copied().unwrap_or(0.0);
        if used > 0.0 {
            total += used;
            parts.push(format!("{name} {:.2}", used * 1e6 / events));
        }
    }
    println!("  CPU per event, µs: {:.2} in all ({})", total * 1e6 / events, parts.join(", "));
}

/// (0) Checking and placing lines alone, one core: parsing and checking, then placing.
fn check() {
    let places = yiping_server::places::Places::hubei();
    let lines: Vec<String> = (0..100_000).map(|i| patrol(&format!("c{i}"))).collect();
    let body: String = lines.iter().map(|l| l.clone() + "\n").collect();
    let t = Instant::now();
    let parsed: Vec<_> =
        lines.iter().map(|l| yiping_protocol::events::parse_line(l).expect("valid")).collect();
    let parse_us = t.elapsed().as_secs_f64() * 1e6 / lines.len() as f64;
    let t = Instant::now();
    for e in &parsed {
        places.locate(e).expect("in Hubei");
    }
    let locate_us = t.elapsed().as_secs_f64() * 1e6 / lines.len() as f64;
    drop(parsed);
    let t = Instant::now();
    let (ok, _) = yiping_server::ingest::check_lines(
        &body,
        "bench",
        &places,
        yiping_protocol::instant::Timestamp::now(),
        yiping_server::FUTURE_TOLERANCE_S,
    );
    println!(
        "check lines: {:.2} µs per line (parse, validate, place in county) on one core; apart: parse and validate {parse_us:.2} µs, place {locate_us:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / ok.len() as f64
    );
}

/// The writer's share alone: `batches` of 1,000 checked and placed events appended to a fresh
/// log (WAL, `synchronous = NORMAL` as the ingest writer commits, no sync), one transaction each,
/// on this thread, for each workload (new patrols; reports of [`VILLAGES`] villages); then the
/// indexer's passes over them. Prints µs per event; run under `valgrind --tool=callgrind` for
/// repeatable instruction counts.
fn append(batches: usize) {
    for villages in [false, true] {
        append_workload(batches, villages);
    }
}

/// `append` for one workload.
fn append_workload(batches: usize, villages: bool) {
    let places = yiping_server::places::Places::hubei();
    let per_batch = 1_000;
    let now = yiping_protocol::instant::Timestamp::now();
    let prepared: Vec<Vec<Located>> = (0..batches)
        .map(|b| {
            let body: String = (0..per_batch).map(|i| workload_line(villages, "a", b, i) + "\n").collect();
            let (ok, rejected) = yiping_server::ingest::check_lines(
                &body,
                "bench",
                &places,
                now,
                yiping_server::FUTURE_TOLERANCE_S,
            );
            assert!(rejected.is_empty());
            ok.into_iter().map(|(_, l)| l).collect()
        })
        .collect();
    let data = temp("append");
    let mut store = yiping_server::store::Store::open(&data).expect("opens");
    let _wal = store.defer_sync().expect("a write-ahead log");
    let received = now.to_string();
    let t = Instant::now();
    for batch in &prepared {
        store.append(batch, &received).expect("appends");
    }
    let n = (batches * per_batch) as f64;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "append {}: {n:.0} events in {batches} transactions, {:.2} µs per event on one thread ({:.0} events/s)",
        workload_name(villages),
        secs * 1e6 / n,
        n / secs
    );
    // An entity's history as the API reads it (another connection), at the log's end.
    let reader = yiping_server::store::Store::open_side(&data).expect("opens");
    let read_back = |label: &str| {
        let until = yiping_protocol::instant::Timestamp::parse("2030-01-01T00:00:00Z").expect("time");
        let mut lat = Vec::new();
        let mut found = 0;
        for k in 0..200 {
            let entity = if villages {
                format!("village:V{:05}", (k * 37) % VILLAGES)
            } else {
                format!("river_patrol:a{}-{}", (k * 37) % batches, k)
            };
            let t = Instant::now();
            found += reader.history_latest(&entity, 100, until).expect("reads").len();
            lat.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "  an entity's newest 100 events, {label}: {found} found in 200 reads, p50 {:.2} ms, p99 {:.2} ms",
            pct(&mut lat.clone(), 0.5),
            pct(&mut lat, 0.99)
        );
    };
    read_back("none of the log indexed");
    // The indexer, as the server runs it beside the writer: passes of up to 100,000 events.
    let indexer = yiping_server::logindex::Indexer::open(&data).expect("the index opens");
    let t = Instant::now();
    let mut passes = 0;
    while indexer.pass().expect("a pass") > 0 {
        passes += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "  the indexer: {n:.0} events in {passes} passes, {:.2} µs per event on its own thread ({:.0} events/s)",
        secs * 1e6 / n,
        n / secs
    );
    read_back("all of it indexed");
}

/// `bench ingest`'s batches: lines per batch, batches per producer, producers (240,000 events).
const INGEST_SHAPE: (usize, usize, usize) = (1_000, 60, 4);

/// Which parts of `bench ingest` to run.
#[derive(Clone, PartialEq)]
enum IngestParts {
    /// (0) to (4).
    All,
    /// (0) and (1) alone, as for a profile.
    Pipeline,
    /// (2) alone, `RUNS` times against one server, as for comparing builds of the binary.
    Http { runs: usize },
    /// (2) at fixed offered rates (events/s), each for `secs` seconds, against one server.
    Rate { rates: Vec<usize>, secs: usize, villages: bool },
}

async fn ingest(parts: IngestParts) {
    let (per_batch, batches, producers) = INGEST_SHAPE;
    if let IngestParts::Rate { rates, secs, villages } = &parts {
        let data = temp("rate");
        let (_child, addr, token) = start_server(&data);
        // The villages' next reports go on from where the last rate's ended.
        let mut first = 0;
        for (i, rate) in rates.iter().enumerate() {
            let workload = if *villages { Workload::Villages { first } } else { Workload::Patrols };
            first += http_rate(addr, &token, &format!("r{i}-"), *rate, *secs, workload);
        }
        return;
    }
    if let IngestParts::All | IngestParts::Pipeline = parts {
        check();
        // (1) The pipeline alone, for each workload.
        pipeline(false).await;
        pipeline(true).await;
    }
    if parts == IngestParts::Pipeline {
        return;
    }
    // (2) Over HTTP against the real binary.
    let data = temp("http");
    let (_child, addr, token) = start_server(&data);
    let runs = match parts {
        IngestParts::Http { runs } => runs,
        _ => 1,
    };
    for run in 1..=runs {
        // Each run's ids are new: every event is stored, none a duplicate of an earlier run's.
        // (So each run folds into a larger state than the one before: compare the n-th runs.)
        let what = if runs > 1 { format!("ingest over HTTP, run {run}") } else { "ingest over HTTP".into() };
        http_ingest(&what, addr, &token, &format!("h{run}-"), (per_batch, batches, producers));
    }
    if parts == IngestParts::All {
        nats_ingest(per_batch, batches, producers).await;
    }
}

/// (1) The pipeline alone (no snapshots, so that the rebuild below replays every event), for
/// new patrols or reports of [`VILLAGES`] villages, in the shape [`INGEST_SHAPE`].
async fn pipeline(villages: bool) {
    let data = temp(if villages { "pipeline-villages" } else { "pipeline" });
    let no_snapshots = yiping_server::LogOptions { snapshot_every: u64::MAX, ..Default::default() };
    let state = yiping_server::AppState::open_with(&data, no_snapshots).expect("opens");
    let (per_batch, batches, producers) = INGEST_SHAPE;
    // The bodies are made first: the load generator's work is not the pipeline's.
    let bodies: Vec<Vec<String>> = (0..producers)
        .map(|p| {
            (0..batches)
                .map(|b| {
                    let b = if villages { p * batches + b } else { b };
                    (0..per_batch).map(|i| workload_line(villages, &format!("p{p}-"), b, i) + "\n").collect()
                })
                .collect()
        })
        .collect();
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for bodies in bodies {
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for body in bodies {
                let t = Instant::now();
                let (ok, rejected) = yiping_server::ingest::check_lines(
                    &body,
                    "bench",
                    &state.places,
                    state.clock.now(),
                    state.log.future_tolerance_s,
                );
                assert!(rejected.is_empty());
                let events: Vec<Located> = ok.into_iter().map(|(_, l)| l).collect();
                state.ingestor().submit_wait(events).await.expect("stored");
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    let secs = t0.elapsed().as_secs_f64();
    let n = (per_batch * batches * producers) as f64;
    println!(
        "ingest pipeline, {}: {n:.0} events in {secs:.2} s = {:.0} events/s (checked, placed, committed with fsync, folded); batch of {per_batch} acked p50 {:.1} ms, p99 {:.1} ms",
        workload_name(villages),
        n / secs,
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat, 0.99)
    );
    print_cpu(&cpu0, n);
    let commit_s = state.metrics.commit_micros.load(Ordering::Relaxed) as f64 / 1e6;
    println!(
        "  the writer spent {commit_s:.2} s appending to the log in {} transactions and {:.2} s folding and publishing; the producers check and place lines meanwhile",
        state.metrics.commits.load(Ordering::Relaxed),
        state.metrics.fold_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    // Rebuild speed: replay the log into a fresh state.
    let t0 = Instant::now();
    drop(state);
    let state = yiping_server::AppState::open_with(&data, no_snapshots).expect("reopens");
    println!(
        "rebuild from log: {n:.0} events replayed in {:.2} s = {:.0} events/s",
        t0.elapsed().as_secs_f64(),
        n / t0.elapsed().as_secs_f64()
    );
    drop(state);
}

/// `producers` clients each POST `batches` NDJSON bodies of `per_batch` patrols (ids starting
/// with `prefix`) to `addr`, one after another; prints events/s and the acknowledgement latency.
/// The bodies are made before the clock starts, as in the pipeline's (1): making them is the
/// load generator's work, which shares this machine's cores with the server.
fn http_ingest(
    what: &str,
    addr: SocketAddr,
    token: &str,
    prefix: &str,
    (per_batch, batches, producers): (usize, usize, usize),
) {
    let bodies: Vec<Vec<String>> = (0..producers)
        .map(|c| {
            (0..batches)
                .map(|b| (0..per_batch).map(|i| patrol(&format!("{prefix}{c}-{b}-{i}")) + "\n").collect())
                .collect()
        })
        .collect();
    let busy = [
        "yiping_log_commit_microseconds_total",
        "yiping_log_sync_microseconds_total",
        "yiping_fold_microseconds_total",
    ];
    let before = busy.map(|c| metric(addr, c));
    let t0 = Instant::now();
    let mut threads = Vec::new();
    for bodies in bodies {
        let token = token.to_owned();
        threads.push(std::thread::spawn(move || {
            let mut lat = Vec::new();
            for body in bodies {
                let t = Instant::now();
                assert_eq!(post(addr, &token, &body), 200);
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            lat
        }));
    }
    let mut lat: Vec<f64> = threads.into_iter().flat_map(|t| t.join().expect("thread")).collect();
    let secs = t0.elapsed().as_secs_f64();
    let n = per_batch * batches * producers;
    println!(
        "{what}: {n} events in {secs:.2} s = {:.0} events/s; request of {per_batch} lines acked p50 {:.1} ms, p99 {:.1} ms",
        n as f64 / secs,
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat, 0.99)
    );
    // The server's own clocks: how much of the run its writer and folder threads were at work
    // ("n/a": a binary without that counter).
    let share = |i: usize| {
        let used = metric(addr, busy[i]).zip(before[i]).and_then(|(after, before)| after.checked_sub(before));
        used.map_or_else(|| "n/a".to_owned(), |us| format!("{:.0} %", us as f64 / 1e6 / secs * 100.0))
    };
    println!(
        "  the writer committed {} of the run; the folder waited for syncs {} and folded {}",
        share(0),
        share(1),
        share(2)
    );
}

/// What `ingest rate` sends: new patrols, or the reports of [`VILLAGES`] villages (as in the
/// pipeline's second workload: the first 5,000 make the villages, the rest report again) from
/// body `first` of that workload on.
#[derive(Clone, Copy)]
enum Workload {
    Patrols,
    Villages { first: usize },
}

/// Bodies of 1,000 new patrols (or village reports) sent over HTTP at `rate` events/s for `secs`
/// seconds (open loop, as sources send at their own pace rather than when the last answer
/// came): body k is due at k × 1,000 / `rate` s, is sent by the first of [`RATE_SENDERS`]
/// senders free then, and its latency runs from when it was due to its acknowledgement, so
/// that time waiting for a sender (a slow server) counts too; a body turned away (503, busy) is
/// sent again 1 s later, the `Retry-After` the server gives a busy answer, as a source would. A
/// sender makes its body (about 0.5 ms of patrols) before it waits for the body's time. Runs of
/// 20 s or more also print the p99 of each 10 s. Returns how many bodies it sent.
fn http_rate(
    addr: SocketAddr,
    token: &str,
    prefix: &str,
    rate: usize,
    secs: usize,
    workload: Workload,
) -> usize {
    const PER_BATCH: usize = 1_000;
    let n = (rate * secs / PER_BATCH).max(1);
    if let Workload::Villages { first } = workload {
        // The server refuses reports from the future: the run must end by now.
        let last = village_time(((first + n) * PER_BATCH - 1) / VILLAGES);
        assert!(
            last <= yiping_protocol::instant::Timestamp::now(),
            "ingest rate … villages: {n} bodies from body {first} on would report until {last}, after now; offer fewer events (rate × seconds)"
        );
    }
    let (next, turned) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let every = Duration::from_secs_f64(PER_BATCH as f64 / rate as f64);
    let t0 = Instant::now() + Duration::from_millis(200);
    let senders: Vec<_> = (0..RATE_SENDERS)
        .map(|_| {
            let (next, turned, token, prefix) =
                (next.clone(), turned.clone(), token.to_owned(), prefix.to_owned());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= n {
                        break lat;
                    }
                    let body: String = match workload {
                        Workload::Patrols => {
                            (0..PER_BATCH).map(|i| patrol(&format!("{prefix}{k}-{i}")) + "\n").collect()
                        }
                        Workload::Villages { first } => {
                            (0..PER_BATCH).map(|i| workload_line(true, "", first + k, i) + "\n").collect()
                        }
                    };
                    let due = t0 + every * u32::try_from(k).expect("few bodies");
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    loop {
                        match post(addr, &token, &body) {
                            200 => break,
                            503 => {
                                turned.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_secs(1));
                            }
                            status => panic!("POST /api/v1/events: {status}"),
                        }
                    }
                    lat.push((k, due.elapsed().as_secs_f64() * 1e3, Instant::now()));
                }
            })
        })
        .collect();
    let acks: Vec<(usize, f64, Instant)> =
        senders.into_iter().flat_map(|t| t.join().expect("sender")).collect();
    let last = acks.iter().map(|a| a.2).max().unwrap_or(t0);
    let mut lat: Vec<f64> = acks.iter().map(|a| a.1).collect();
    let events = n * PER_BATCH;
    let took = last.saturating_duration_since(t0).as_secs_f64();
    println!(
        "ingest over HTTP{} at {rate} events/s offered for {secs} s: {events} events acked in {took:.2} s ({:.0} events/s); request of {PER_BATCH} lines acked (from when it was due) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; turned away (503) and sent again {}",
        match workload {
            Workload::Patrols => String::new(),
            Workload::Villages { .. } => format!(", {},", workload_name(true)),
        },
        events as f64 / took,
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat.clone(), 0.99),
        pct(&mut lat, 1.0),
        turned.load(Ordering::Relaxed)
    );
    // Each 10 s by when the bodies were due: bursts (the kernel writing back every 30 s, say)
    // that a run of a few seconds misses.
    if secs >= 20 {
        let per_window = (10 * rate / PER_BATCH).max(1);
        let mut windows: Vec<Vec<f64>> = vec![Vec::new(); n.div_ceil(per_window)];
        for (k, ms, _) in &acks {
            windows[k / per_window].push(*ms);
        }
        let p99s: Vec<f64> = windows.iter_mut().map(|w| pct(w, 0.99)).collect();
        let (worst, _) = p99s.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("a window");
        println!(
            "  p99 of each 10 s: {} ms; the worst from {} s",
            p99s.iter().map(|p| format!("{p:.0}")).collect::<Vec<_>>().join(" "),
            worst * 10
        );
    }
    n
}

/// Senders of `ingest rate`: bodies due while all are waiting for answers wait for one. As many
/// as the server reads at once (`MAX_INGEST_REQUESTS`); more are turned away.
const RATE_SENDERS: usize = yiping_server::api::MAX_INGEST_REQUESTS;

/// (3) The same lines published on NATS (JetStream, fsync before ack) to the real binary with
/// `--nats`: how fast sources can publish, and how soon the log has them all.
async fn nats_ingest(per_batch: usize, batches: usize, producers: usize) {
    let bin = std::env::var("YIPING_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
    let dir = temp("nats");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let conf = dir.join("nats.conf");
    let store = dir.join("js").display().to_string();
    std::fs::write(
        &conf,
        format!("port: {port}\njetstream {{ store_dir: {store:?}, sync_interval: always }}\n"),
    )
    .expect("conf");
    let nats = match Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => Child(c),
        Err(e) => {
            println!(
                "ingest over NATS: not measured ({bin}: {e}; `scripts/tools.sh test` installs nats-server)"
            );
            return;
        }
    };
    let url = format!("nats://127.0.0.1:{port}");
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let data = dir.join("yiping");
    std::fs::create_dir_all(&data).expect("data");
    let (_server, addr, token) = start_server_with(&data, &["--nats", &url]);
    let js = async_nats::jetstream::new(async_nats::connect(&url).await.expect("connects"));
    while js.get_stream(yiping_server::nats::IN_STREAM).await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..producers {
        let js = js.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for b in 0..batches {
                let body: String = (0..per_batch).map(|i| patrol(&format!("n{c}-{b}-{i}")) + "\n").collect();
                let t = Instant::now();
                js.publish("yiping.in.bench", body.into()).await.expect("sent").await.expect("kept");
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    let published = t0.elapsed().as_secs_f64();
    let n = (per_batch * batches * producers) as u64;
    while counter(addr, "yiping_events_accepted_total") < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = t0.elapsed().as_secs_f64();
    println!(
        "ingest over NATS: {n} events published in {published:.2} s = {:.0} events/s (a message of {per_batch} lines acked by JetStream after fsync p50 {:.1} ms, p99 {:.1} ms); all in yiping's log {stored:.2} s after the first = {:.0} events/s",
        n as f64 / published,
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat, 0.99),
        n as f64 / stored
    );
    // (4) Over HTTP again, to the same binary, whose log is now the NATS stream: each batch is
    // acknowledged once JetStream has kept it and the node has applied it.
    http_ingest(
        "ingest over HTTP, the log on NATS (one server)",
        addr,
        &token,
        "l",
        (per_batch, batches, producers),
    );
    drop(nats);
}

/// A yiping node of a benchmark's cluster.
struct Node {
    child: Option<Child>,
    data: PathBuf,
    addr: SocketAddr,
    token: String,
    args: Vec<String>,
}

impl Node {
    fn start(&mut self) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.child = Some(serve_at(&self.data, self.addr, &args));
    }
}

/// `nodes` yiping nodes on a NATS cluster of as many servers (the log stream in up to 3
/// copies), each node with its own token for source `bench`; with 1, one node of its own
/// (SQLite log, no NATS). Returns the processes (NATS servers first), the nodes' addresses and
/// the first node's token.
fn start_nodes(nodes: usize) -> (Vec<Child>, Vec<SocketAddr>, String) {
    if nodes == 1 {
        let (child, addr, token) = start_server(&temp("fanout"));
        return (vec![child], vec![addr], token);
    }
    let (mut children, nodes) = start_cluster(nodes);
    let addrs = nodes.iter().map(|n| n.addr).collect();
    let token = nodes[0].token.clone();
    children.extend(nodes.into_iter().filter_map(|n| n.child));
    (children, addrs, token)
}

/// `nodes` NATS servers in a cluster and a yiping node on each (the log in up to 3 copies).
fn start_cluster(nodes: usize) -> (Vec<Child>, Vec<Node>) {
    start_cluster_with(nodes, &[])
}

/// [`start_cluster`], the nodes started with `extra` arguments.
fn start_cluster_with(nodes: usize, extra: &[&str]) -> (Vec<Child>, Vec<Node>) {
    let bin = std::env::var("YIPING_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
    let dir = temp("fanout-cluster");
    let free =
        || std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let ports: Vec<(u16, u16)> = (0..nodes).map(|_| (free(), free())).collect();
    let routes: Vec<String> = ports.iter().map(|(_, r)| format!("nats-route://127.0.0.1:{r}")).collect();
    let mut children = Vec::new();
    for (i, (port, route)) in ports.iter().enumerate() {
        let conf = dir.join(format!("nats-{i}.conf"));
        let store = dir.join(format!("js-{i}")).display().to_string();
        // One server alone is not a cluster (its JetStream would wait for peers).
        let cluster = if nodes > 1 {
            format!("cluster {{ name: bench, listen: 127.0.0.1:{route}, routes: [{}] }}\n", routes.join(", "))
        } else {
            String::new()
        };
        std::fs::write(
            &conf,
            format!(
                "server_name: n{i}\nport: {port}\njetstream {{ store_dir: {store:?}, sync_interval: always }}\n{cluster}"
            ),
        )
        .expect("conf");
        let c = Command::new(&bin).arg("-c").arg(&conf).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        children.push(Child(
            c.unwrap_or_else(|e| panic!("{bin}: {e} (`scripts/tools.sh test` installs nats-server)")),
        ));
        while TcpStream::connect(("127.0.0.1", *port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let replicas = nodes.min(3).to_string();
    let mut out = Vec::new();
    for (i, (port, _)) in ports.iter().enumerate() {
        let data = dir.join(format!("node-{i}"));
        std::fs::create_dir_all(&data).expect("data");
        let url = format!("nats://127.0.0.1:{port}");
        let mut args = vec!["--nats", url.as_str(), "--nats-replicas", replicas.as_str()];
        args.extend_from_slice(extra);
        let (child, addr, token) = start_server_with(&data, &args);
        let args = args.iter().map(|a| (*a).to_owned()).collect();
        out.push(Node { child: Some(child), data, addr, token, args });
    }
    (children, out)
}

/// Health of a node: (websocket clients, last stream message applied).
fn node_health(addr: SocketAddr) -> Option<(u64, u64)> {
    let text = String::from_utf8(get(addr, "/healthz").ok()?).ok()?;
    let v: serde_json::Value = serde_json::from_str(text.split_once("\r\n\r\n")?.1).ok()?;
    Some((v["clients"].as_u64()?, v["stream_applied"].as_u64()?))
}

/// One websocket client of the failover benchmark: follows `rivers` through `lb`, resumes with
/// `since` whenever its connection ends, and after a break takes the time from the kill to its
/// first delta as a sample; counts gaps, duplicates and snapshots on resume as faults.
async fn failover_client(
    lb: SocketAddr,
    origin: Instant,
    killed_at: Arc<AtomicU64>,
    samples: Arc<std::sync::Mutex<Vec<f64>>>,
    faults: Arc<AtomicU64>,
) {
    use yiping_protocol::ServerMsg;
    let mut pos: Option<(String, u64)> = None;
    let mut broken = false;
    loop {
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("ws://{lb}/ws")).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let mut msg = serde_json::json!({"op": "subscribe", "topics": ["rivers"]});
        if let Some((e, s)) = &pos {
            msg["since"] = serde_json::json!({"rivers": {"epoch": e, "seq": s}});
        }
        if ws.send(Message::Text(msg.to_string().into())).await.is_err() {
            continue;
        }
        while let Some(Ok(m)) = ws.next().await {
            let Message::Text(t) = m else { continue };
            let Ok(msg) = serde_json::from_str::<ServerMsg>(&t) else { continue };
            let items = match msg {
                ServerMsg::Batch { items } => items,
                other => vec![other],
            };
            for item in items {
                match item {
                    ServerMsg::Snapshot(u) if u.topic == "rivers" => {
                        if pos.is_some() {
                            faults.fetch_add(1, Ordering::Relaxed);
                        }
                        pos = Some((u.epoch, u.seq));
                    }
                    ServerMsg::Delta(u) if u.topic == "rivers" => {
                        if !matches!(&pos, Some((e, s)) if *e == u.epoch && u.seq == s + 1) {
                            faults.fetch_add(1, Ordering::Relaxed);
                        }
                        pos = Some((u.epoch, u.seq));
                        if broken {
                            broken = false;
                            let now = origin.elapsed().as_micros() as f64;
                            let at = killed_at.load(Ordering::Relaxed) as f64;
                            samples.lock().expect("lock").push((now - at) / 1e3);
                        }
                    }
                    _ => {}
                }
            }
        }
        broken = true;
    }
}

/// HAProxy in front of `addrs` (health-checked, websockets passed), listening on a free port.
fn start_haproxy(addrs: &[SocketAddr]) -> (Child, SocketAddr) {
    let dir = temp("haproxy");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let servers: String =
        addrs.iter().enumerate().map(|(i, a)| format!("  server n{i} {a} check\n")).collect();
    std::fs::write(
        dir.join("haproxy.cfg"),
        format!(
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 1h\n  timeout server 1h\n  \
             timeout tunnel 1h\n  retries 3\n  option redispatch\nfrontend f\n  bind 127.0.0.1:{port}\n  \
             default_backend b\nbackend b\n  balance leastconn\n  option httpchk GET /healthz\n  \
             default-server inter 300ms fall 2 rise 2\n{servers}"
        ),
    )
    .expect("conf");
    let haproxy =
        if Command::new("haproxy").arg("-v").output().is_ok() { "haproxy" } else { "/usr/sbin/haproxy" };
    let child = Command::new(haproxy)
        .arg("-f")
        .arg(dir.join("haproxy.cfg"))
        .arg("-db")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{haproxy}: {e} (`scripts/tools.sh cluster` installs HAProxy)"));
    let lb: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    while TcpStream::connect(lb).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    (Child(child), lb)
}

/// `failover KILLS CLIENTS`: 3 NATS servers, 3 nodes and HAProxy; CLIENTS websocket clients
/// follow `rivers` through HAProxy while 100 events a second are posted to the nodes alive.
/// KILLS times, the node with the most clients is killed (`kill -9`): each of its clients
/// reconnects through HAProxy and resumes with `since`; the time from the kill to its first
/// delta is a sample. Then the node restarts on its folder and catches up. Prints failover
/// p50/p99, catch-up times, and gaps, duplicates and snapshots seen on resume (all must be 0).
async fn failover(kills: usize, clients: usize) {
    let (_nats, nodes) = start_cluster(3);
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let nodes = Arc::new(std::sync::Mutex::new(nodes));
    let (_lb, lb) = start_haproxy(&addrs);
    while node_health(lb).is_none() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The source: 10 events every 100 ms, to a node alive.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poster = {
        let (nodes, stop) = (nodes.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let live: Vec<(SocketAddr, String)> = nodes
                    .lock()
                    .expect("lock")
                    .iter()
                    .filter(|x| x.child.is_some())
                    .map(|x| (x.addr, x.token.clone()))
                    .collect();
                if let Some((addr, token)) = live.get(n as usize % live.len().max(1)) {
                    let body: String = (0..10).map(|i| patrol(&format!("f{n}-{i}")) + "\n").collect();
                    let _ = std::panic::catch_unwind(|| post(*addr, token, &body));
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let origin = Instant::now();
    let killed_at = Arc::new(AtomicU64::new(0));
    let samples: Arc<std::sync::Mutex<Vec<f64>>> = Arc::default();
    let faults = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(failover_client(lb, origin, killed_at.clone(), samples.clone(), faults.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut catch_up = Vec::new();
    for k in 0..kills {
        let (victim, n_clients) = (0..3)
            .filter_map(|i| node_health(addrs[i]).map(|(c, _)| (i, c)))
            .max_by_key(|(_, c)| *c)
            .expect("a node alive");
        let before = samples.lock().expect("lock").len();
        killed_at.store(origin.elapsed().as_micros() as u64, Ordering::Relaxed);
        let child = nodes.lock().expect("lock")[victim].child.take();
        drop(child);
        let t = Instant::now();
        while samples.lock().expect("lock").len() < before + n_clients as usize
            && t.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let resumed = samples.lock().expect("lock").len() - before;
        // Back on its folder, and caught up with the others.
        let t = Instant::now();
        let node = nodes.clone();
        tokio::task::spawn_blocking(move || {
            let mut n = node.lock().expect("lock");
            n[victim].start();
        })
        .await
        .expect("restart");
        let target = (0..3)
            .filter(|i| *i != victim)
            .filter_map(|i| node_health(addrs[i]).map(|h| h.1))
            .max()
            .unwrap_or(0);
        while node_health(addrs[victim]).is_none_or(|h| h.1 < target) && t.elapsed() < Duration::from_secs(60)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        catch_up.push(t.elapsed().as_secs_f64());
        println!(
            "failover: kill {}: node {victim} with {n_clients} clients, {resumed} resumed elsewhere; restarted and caught up in {:.2} s",
            k + 1,
            t.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = poster.join();
    for h in &handles {
        h.abort();
    }
    let mut l = samples.lock().expect("lock").clone();
    println!(
        "failover: {kills} kills, {} client resumptions: kill -> first delta on another node p50 {:.0} ms, p99 {:.0} ms; restart -> caught up p50 {:.2} s, max {:.2} s; gaps, duplicates or snapshots on resume: {}",
        l.len(),
        pct(&mut l.clone(), 0.5),
        pct(&mut l, 0.99),
        pct(&mut catch_up.clone(), 0.5),
        catch_up.iter().copied().fold(0.0, f64::max),
        faults.load(Ordering::Relaxed)
    );
}

/// A port free now, and its address.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr")
}

/// Wait until the node at `addr` has applied the stream up to `target`; how long since `t`.
async fn caught_up(addr: SocketAddr, target: u64, t: Instant) -> f64 {
    while node_health(addr).is_none_or(|h| h.1 < target) {
        assert!(t.elapsed() < Duration::from_secs(900), "the node did not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.elapsed().as_secs_f64()
}

/// `catchup N`: a new node's catch-up on a log of N events, by applying the stream from its
/// first message, and from the seed in the object store.
async fn catchup(events: usize) {
    let every = (events + 1000).to_string();
    let (_nats, nodes) = start_cluster_with(1, &["--snapshot-every", every.as_str()]);
    let (a, token, url) = (nodes[0].addr, nodes[0].token.clone(), nodes[0].args[1].clone());
    http_ingest("catchup: the log", a, &token, "c", (1000, events.div_ceil(4000), 4));
    let target = node_health(a).expect("healthz").1;
    let db_mb =
        |d: &std::path::Path| std::fs::metadata(d.join("yiping.db")).map_or(0, |m| m.len()) / 1_000_000;
    let size = db_mb(&nodes[0].data);
    // A new node before any seed: it applies the stream from its first message.
    let (replay_dir, addr) = (temp("catchup-replay"), free_addr());
    let t = Instant::now();
    let replaying = serve_at(&replay_dir, addr, &["--nats", url.as_str()]);
    let replay = caught_up(addr, target, t).await;
    drop(replaying);
    // One more batch: the first node's snapshot, and with it the seed.
    let body: String = (0..1000).map(|i| patrol(&format!("cs-{i}")) + "\n").collect();
    assert_eq!(post(a, &token, &body), 200);
    let target = node_health(a).expect("healthz").1;
    let js = async_nats::jetstream::new(async_nats::connect(url.as_str()).await.expect("NATS"));
    let t = Instant::now();
    let info = loop {
        if let Ok(bucket) = js.get_object_store(yiping_server::seed::SEED_BUCKET).await
            && let Ok(info) = bucket.info(yiping_server::seed::SEED_OBJECT).await
        {
            break info;
        }
        assert!(t.elapsed() < Duration::from_secs(300), "no seed uploaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let upload = t.elapsed().as_secs_f64();
    let (seed_dir, addr) = (temp("catchup-seed"), free_addr());
    let t = Instant::now();
    let from_seed = serve_at(&seed_dir, addr, &["--nats", url.as_str()]);
    let seeded = caught_up(addr, target, t).await;
    println!(
        "catchup: a log of {} events ({size} MB): a new node applying the stream from its start caught up in {replay:.1} s ({:.0} events/s); \
         from the seed ({} MB, there {upload:.1} s after the snapshot's batch was acknowledged) in {seeded:.2} s",
        events + 1000,
        events as f64 / replay,
        info.size / 1_000_000,
    );
    drop(from_seed);
    let cluster_dir = nodes[0].data.parent().map(std::path::Path::to_owned);
    drop(nodes);
    for d in [Some(replay_dir), Some(seed_dir), cluster_dir].into_iter().flatten() {
        let _ = std::fs::remove_dir_all(d);
    }
}

async fn fanout(clients: usize, rate: usize, nodes: usize) {
    let (children, addrs, token) = start_nodes(nodes);
    let addr = addrs[0];
    let pids: Vec<u32> = children.iter().rev().take(nodes).map(|c| c.0.id()).collect();
    let rss = || pids.iter().map(|p| rss_kb(*p)).sum::<u64>();
    let rss0 = rss();
    let origin = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    let last_us = Arc::new(AtomicU64::new(0));
    let lats: Arc<std::sync::Mutex<Vec<f64>>> = Arc::default();
    let mut handles = Vec::new();
    let t_connect = Instant::now();
    for c in 0..clients {
        let node = addrs[c % nodes];
        let (mut ws, _) = loop {
            match tokio_tungstenite::connect_async(format!("ws://{node}/ws")).await {
                Ok(x) => break x,
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        ws.send(Message::Text(r#"{"op":"subscribe","topics":["rivers"]}"#.into())).await.expect("subscribe");
        let (received, lats, last_us) = (received.clone(), lats.clone(), last_us.clone());
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    // A frame holds one delta or a batch of them; each delta's `time` is its
                    // newest event's, stamped when it was posted.
                    let now = yiping_protocol::instant::Timestamp::now();
                    let mut n = 0;
                    for delta in t.split(r#""type":"delta""#).skip(1) {
                        n += 1;
                        let time = delta.split_once(r#""time":""#).and_then(|(_, r)| r.split_once('"'));
                        if let Some(sent) =
                            time.and_then(|(t, _)| yiping_protocol::instant::Timestamp::parse(t).ok())
                        {
                            mine.push(now.seconds_since(sent) * 1e3);
                        }
                    }
                    received.fetch_add(n, Ordering::Relaxed);
                    if n > 0 {
                        last_us.fetch_max(origin.elapsed().as_micros() as u64, Ordering::Relaxed);
                    }
                    if mine.len() >= 64 {
                        lats.lock().expect("lock").append(&mut mine);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss1 = rss();
    println!(
        "fanout: {clients} clients over {nodes} node(s) connected in {:.1} s; servers' RSS {:.1} MB -> {:.1} MB = {:.1} KB per client",
        t_connect.elapsed().as_secs_f64(),
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0,
        (rss1.saturating_sub(rss0)) as f64 / clients as f64
    );
    // Post `rate` events a second for 10 s, in 10 batches a second.
    let rate_batches = 10;
    let per_batch = (rate / rate_batches).max(1);
    let seconds = 10;
    let start_recv = received.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let mut n = 0;
    for b in 0..(rate_batches * seconds) {
        let due = Duration::from_secs_f64(b as f64 / rate_batches as f64);
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let time = yiping_protocol::instant::Timestamp::now().to_string();
        let body: String = (0..per_batch)
            .map(|i| {
                n += 1;
                patrol_at(&format!("b-{n}-{i}"), &time)
            })
            .map(|l| l + "\n")
            .collect();
        let token = token.clone();
        let status = tokio::task::spawn_blocking(move || post(addr, &token, &body)).await.expect("post");
        assert_eq!(status, 200);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = received.load(Ordering::Relaxed) - start_recv;
    // From the first post to the last delivery.
    let secs = last_us.load(Ordering::Relaxed) as f64 / 1e6 - t0.duration_since(origin).as_secs_f64();
    let rss2 = rss();
    // A delta per body to every client.
    let expected = (rate_batches * seconds * clients) as u64;
    println!(
        "fanout: {} events posted, {got} deltas delivered of {expected} expected in {secs:.1} s = {:.0} deltas/s; server RSS under load {:.1} MB",
        rate_batches * seconds * per_batch,
        got as f64 / secs,
        rss2 as f64 / 1024.0
    );
    for h in &handles {
        h.abort();
    }
    let mut l = lats.lock().expect("lock").clone();
    println!(
        "fanout: latency from the events' time (stamped as posted) to delivery p50 {:.1} ms, p99 {:.1} ms ({} samples)",
        pct(&mut l.clone(), 0.5),
        pct(&mut l, 0.99),
        lats.lock().expect("lock").len()
    );
    for (i, a) in addrs.iter().enumerate() {
        let metrics = String::from_utf8_lossy(&get(*a, "/metrics").expect("metrics")).into_owned();
        for line in metrics
            .lines()
            .filter(|l| l.starts_with("yiping_ws_resyncs_total") || l.starts_with("yiping_ws_frames_total"))
        {
            println!("fanout: node {i}: {line}");
        }
    }
    drop(children);
}

/// Time travel over a log (by default a year simulated into a temporary folder): checkpoints
/// built, seeks to instants spread over the log (p50/p99), playback at 3600× (an hour of events
/// per real second: how many real seconds an hour takes), and memory per replaying fold.
fn seek(data: Option<PathBuf>) {
    use yiping_protocol::instant::Timestamp;
    let data = data.unwrap_or_else(|| {
        let dir = temp("seek");
        let t = Instant::now();
        let out = Command::new(binary())
            .args(["simulate", "--from", "2025-12-01", "--to", "2026-12-01T00:00:00+08:00", "--data"])
            .arg(&dir)
            .output()
            .expect("yiping simulate runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        print!(
            "simulated a year in {:.1} s: {}",
            t.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&out.stdout)
        );
        dir
    });
    let places = Arc::new(yiping_server::places::Places::hubei());
    let timeline = yiping_server::timeline::Timeline::new(&data, places, Default::default());
    let store = yiping_server::store::Store::open(&data).expect("the log opens");
    drop(store);
    // As the server starts: the log's index brought up to a log written while it was stopped.
    let t = Instant::now();
    let indexed = yiping_server::logindex::catch_up(&data).expect("the log's index");
    println!("the log's index: {indexed} events indexed in {:.1} s", t.elapsed().as_secs_f64());
    let store = yiping_server::store::Store::open_side(&data).expect("the log opens");
    let (first, last) = store.time_range().expect("the log reads").expect("the log has events");
    let t = Instant::now();
    let saved = timeline.checkpoint().expect("checkpoints build");
    println!(
        "checkpoints: {saved} built in {:.1} s ({} in all, every {} events at least)",
        t.elapsed().as_secs_f64(),
        store.checkpoint_times().expect("reads").len(),
        yiping_server::timeline::CHECKPOINT_EVENTS
    );
    let db = std::fs::metadata(data.join(yiping_server::store::DB_FILE)).map_or(0, |m| m.len());
    println!("log database: {:.0} MB", db as f64 / 1e6);
    // Seeks at 40 instants spread over the log (a fixed stride, so runs compare).
    let mut times = Vec::new();
    for i in 0..40i64 {
        let at = first + (last - first) / 40 * i + (i * 7_919_000_000_000) % ((last - first) / 40);
        let t = Instant::now();
        let fold = timeline.seek(Timestamp::from_unix_ns(at)).expect("seek");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if std::env::var_os("SEEK_VERBOSE").is_some() {
            eprintln!("seek {} {:.0} ms", Timestamp::from_unix_ns(at), times[times.len() - 1]);
        }
        std::hint::black_box(fold.overview());
    }
    times.sort_by(f64::total_cmp);
    let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "seek over {:.0} days: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        (last - first) as f64 / 86_400e9,
        p(0.5),
        p(0.99),
        times[times.len() - 1]
    );
    // Playback at 3600×: one hour of events per real second, from the log's last month.
    let start = last - 30 * 86_400_000_000_000;
    let mut fold = timeline.seek(Timestamp::from_unix_ns(start)).expect("seek");
    let (mut n, t) = (0u64, Instant::now());
    let hours = 24 * 7;
    for h in 0..hours {
        let from = start + h * 3_600_000_000_000 + 1;
        n += store
            .events_between(from, from + 3_600_000_000_000 - 1, |e| {
                std::hint::black_box(fold.apply(&e.event, &e.adcode));
                true
            })
            .expect("reads");
        std::hint::black_box(fold.overview());
    }
    let per_hour = t.elapsed().as_secs_f64() / hours as f64;
    println!(
        "playback: {hours} hours of events ({n}) folded with deltas, {:.1} ms per hour of data: 3600× needs 1,000 ms ({:.0}× headroom)",
        per_hour * 1000.0,
        1.0 / per_hour
    );
    // Memory: RSS growth while holding 4 folds of the log's end.
    let me = std::process::id();
    drop(fold);
    let before = rss_kb(me);
    let held: Vec<_> = (0..4).map(|_| timeline.seek(Timestamp::from_unix_ns(last)).expect("seek")).collect();
    let after = rss_kb(me);
    println!(
        "memory per replaying fold at the log's end: {:.0} MB (RSS growth holding {})",
        (after.saturating_sub(before)) as f64 / 1024.0 / held.len() as f64,
        held.len()
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("ingest") => {
            let parts = match args.get(2).map(String::as_str) {
                Some("pipeline") => IngestParts::Pipeline,
                Some("http") => IngestParts::Http {
                    runs: args
                        .get(3)
                        .map_or(1, |n| n.parse().ok().filter(|r| *r > 0).expect("RUNS: a number ≥ 1")),
                },
                Some("rate") => IngestParts::Rate {
                    rates: args.get(3).map_or(vec![25_000, 50_000, 75_000, 100_000], |r| {
                        r.split(',')
                            .map(|r| {
                                r.parse()
                                    .ok()
                                    .filter(|r| *r >= 1_000)
                                    .expect("RATES: events/s ≥ 1000, by commas")
                            })
                            .collect()
                    }),
                    secs: args
                        .get(4)
                        .map_or(10, |n| n.parse().ok().filter(|s| *s > 0).expect("SECONDS: a number ≥ 1")),
                    villages: match args.get(5).map(String::as_str) {
                        None | Some("patrols") => false,
                        Some("villages") => true,
                        Some(w) => panic!("the workload: patrols or villages, not {w}"),
                    },
                },
                _ => IngestParts::All,
            };
            ingest(parts).await
        }
        Some("check") => check(),
        Some("append") => append(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(240)),
        Some("fanout") => {
            let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
            let rate = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(200);
            let nodes = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(1);
            fanout(n, rate, nodes).await;
        }
        Some("seek") => seek(args.get(2).map(PathBuf::from)),
        Some("failover") => {
            let kills = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10);
            let clients = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100);
            failover(kills, clients).await;
        }
        Some("catchup") => {
            let events = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
            catchup(events).await;
        }
        _ => eprintln!(
            "usage: bench ingest [pipeline | http [RUNS] | rate [RATES [SECONDS]]] | bench check | bench append [BATCHES] | bench fanout CLIENTS [EVENTS_PER_SECOND [NODES]] | bench failover [KILLS [CLIENTS]] | bench catchup [EVENTS] | bench seek [DATA]"
        ),
    }
}
