//! The ingest API against the real binary: every kind of bad input gets its own clear error and
//! never costs the valid lines beside it; acknowledged events survive SIGKILL.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::Value;

fn line(body: &Value, i: usize) -> &Value {
    &body["lines"][i]
}

#[test]
fn malformed_inputs_each_get_their_own_clear_error() {
    let data = data_dir("malformed");
    let tok = token(&data, "hbsthj");
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let a = srv.addr;
    let good = reading("ok-1", "cj-yangsigang", 0.08);

    // (body, expected field of line 2, start of the expected message)
    let huge = format!(
        r#"{{"type":"water.reading","id":"big","time":"2026-11-22T08:00:00Z","data":{{"section":"{}"}}}}"#,
        "x".repeat(300_000)
    );
    let table: Vec<(String, &str, &str)> = vec![
        ("{\"type\":\"water.reading\",".into(), "-", "not valid JSON: EOF while parsing"),
        (
            reading("t1", "cj-yangsigang", 0.08).replace("\"ph\":7.6", "\"ph\":\"neutral\""),
            "data.ph",
            "invalid type: string \"neutral\", expected f64",
        ),
        (
            reading("t2", "cj-yangsigang", 0.08).replace("water.reading", "water.temperature"),
            "type",
            "unknown event type",
        ),
        (
            patrol("t3").replace("\"lon\":114.2199,\"lat\":30.5797", "\"lon\":112.94,\"lat\":28.23"),
            "data.lon, data.lat",
            "lies outside 湖北省",
        ),
        (reading("t4", "cj-nowhere", 0.08), "data.section", "unknown monitoring section"),
        (huge, "-", "line is 300"),
        (
            reading("t5", "cj-yangsigang", 0.08).replace("2026-11-22T08:00:00Z", "yesterday"),
            "time",
            "must be an RFC 3339 time",
        ),
        (
            reading("t7", "cj-yangsigang", 0.08).replace("2026-11-22T08:00:00Z", "2026-99-99T99:99:99Z"),
            "time",
            "must be an RFC 3339 time such as 2026-11-22T08:00:00Z or 2026-11-22T16:00:00.5+08:00 (not a real time",
        ),
        (
            reading("t8", "cj-yangsigang", 0.08).replace("2026-11-22T08:00:00Z", "2099-01-01T00:00:00+08:00"),
            "time",
            "ahead of the server's clock",
        ),
        (
            reading("t6", "cj-yangsigang", 0.08)
                .replace("\"id\":\"t6\",", "\"id\":\"t6\",\"source\":\"other\","),
            "source",
            "does not match the token's source",
        ),
    ];
    for (i, (bad, field, msg)) in table.iter().enumerate() {
        let good_i = good.replace("ok-1", &format!("ok-{i}"));
        let (status, body) = post_events(a, &tok, &format!("{good_i}\n{bad}\n"));
        assert_eq!(status, 422, "case {i}: {body}");
        assert_eq!(body["accepted"], 1, "case {i}: the valid line is stored: {body}");
        assert_eq!(body["rejected"], 1, "case {i}");
        assert_eq!(line(&body, 0)["status"], "accepted");
        assert_eq!(line(&body, 0)["line"], 1);
        let r = line(&body, 1);
        assert_eq!(
            (r["status"].as_str(), r["line"].as_u64()),
            (Some("rejected"), Some(2)),
            "case {i}: {body}"
        );
        assert_eq!(r["field"], *field, "case {i}: {r}");
        assert!(r["error"].as_str().is_some_and(|e| e.starts_with(msg) || e.contains(msg)), "case {i}: {r}");
    }
    // The value at fault is quoted back.
    let (_, body) = post_events(a, &tok, &reading("v1", "cj-nowhere", 0.08));
    assert_eq!(line(&body, 0)["value"], "\"cj-nowhere\"");

    // Duplicate id: reported as a duplicate, stored once.
    let (status, body) = post_events(
        a,
        &tok,
        &format!("{}\n{}\n", reading("dup", "hj-zongguan", 0.05), reading("dup", "hj-zongguan", 0.05)),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["accepted"].as_u64(), body["duplicates"].as_u64()), (Some(1), Some(1)));
    let (status, body) = post_events(a, &tok, &reading("dup", "hj-zongguan", 0.05));
    assert_eq!((status, body["duplicates"].as_u64()), (200, Some(1)));

    // Empty body, wrong token, no token, oversized body.
    let (status, body) = post_events(a, &tok, "\n\n");
    assert_eq!(status, 400);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("empty body")), "{body}");
    let (status, body) = post_events(a, "yp_not-a-token", &good);
    assert_eq!(status, 401, "{body}");
    let (status, _) = request(a, "POST", "/api/v1/events", &[], good.as_bytes()).expect("request");
    assert_eq!(status, 401);
    let big = "x".repeat(17 * 1024 * 1024);
    let (status, _) = post_events(a, &tok, &big);
    assert_eq!(status, 413);

    // The server is still fine, and the log holds exactly the accepted lines.
    let (status, _) = request(a, "GET", "/healthz", &[], b"").expect("request");
    assert_eq!(status, 200);
    drop(srv);
    let ids: Vec<String> =
        export(&data).iter().map(|e| e["event"]["id"].as_str().unwrap_or("").to_owned()).collect();
    let mut expected: Vec<String> = (0..table.len()).map(|i| format!("ok-{i}")).collect();
    expected.push("dup".into());
    assert_eq!(ids, expected);
    // Every body the log took is audited with its counts (committed with its events); the
    // bodies refused whole (nothing valid in them) too.
    let db = rusqlite::Connection::open(data.join("yiping.db")).expect("opens the log");
    let mut st = db
        .prepare("SELECT time, actor, body FROM trail WHERE action = 'ingest' ORDER BY seq")
        .expect("the trail");
    let audited: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("rows");
    let counts: Vec<Value> = audited.iter().map(|(_, _, b)| serde_json::from_str(b).expect("json")).collect();
    let one_each = serde_json::json!({"accepted": 1, "duplicates": 0, "rejected": 1});
    assert_eq!(counts.iter().filter(|c| **c == one_each).count(), table.len(), "{counts:?}");
    assert!(counts.contains(&serde_json::json!({"accepted": 0, "duplicates": 0, "rejected": 1})));
    assert!(counts.contains(&serde_json::json!({"accepted": 1, "duplicates": 1, "rejected": 0})));
    assert!(counts.contains(&serde_json::json!({"accepted": 0, "duplicates": 1, "rejected": 0})));
    assert!(audited.iter().all(|(time, actor, _)| time.starts_with("20") && actor == "source:hbsthj"));
}

#[test]
fn acknowledged_events_survive_sigkill_exactly_once() {
    let data = data_dir("sigkill");
    let tok = token(&data, "stress");
    let port = free_port();
    let srv = Server::start(&data, port, &["--no-simulator"]);
    let addr = srv.addr;
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (acked, stop, tok) = (acked.clone(), stop.clone(), tok.clone());
        writers.push(std::thread::spawn(move || {
            let mut batch_no = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ids: Vec<String> = (0..50).map(|i| format!("w{w}-b{batch_no}-{i}")).collect();
                let body: String = ids.iter().map(|id| patrol(id) + "\n").collect();
                batch_no += 1;
                let auth = format!("Bearer {tok}");
                let answer =
                    request(addr, "POST", "/api/v1/events", &[("Authorization", &auth)], body.as_bytes());
                // Anything but 200 was cut off by the kill: not acknowledged, may or may not be stored.
                if let Ok((200, _)) = answer {
                    acked.lock().expect("lock").extend(ids);
                }
            }
        }));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    srv.kill();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer thread");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 500, "the test must have acknowledged a fair number of events: {}", acked.len());

    let exported = export(&data);
    let ids: Vec<String> =
        exported.iter().map(|e| e["event"]["id"].as_str().unwrap_or("").to_owned()).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no event stored twice");
    let missing: Vec<&String> = acked.iter().filter(|id| !unique.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
    // Seqs are gapless after the crash: each batch's events share one (a delta each), the next
    // batch's is one more. A body of 50 lines is never split between two.
    let seqs: Vec<u64> = exported.iter().map(|e| e["seq"].as_u64().unwrap_or(0)).collect();
    let mut last = 0;
    for s in &seqs {
        assert!(*s == last + 1 || (*s == last && last > 0), "seq {s} after {last}");
        last = *s;
    }
    let batch_of = |id: &str| id.rsplit_once('-').map(|(b, _)| b.to_owned());
    for w in exported.windows(2) {
        let (a, b) = (w[0]["event"]["id"].as_str().unwrap_or(""), w[1]["event"]["id"].as_str().unwrap_or(""));
        if batch_of(a) == batch_of(b) {
            assert_eq!(w[0]["seq"], w[1]["seq"], "{a} and {b} came in one body");
        }
    }
    assert!(last < seqs.len() as u64 / 10, "{last} deltas for {} events", seqs.len());

    // Restart: the state is rebuilt from the log, and re-sending everything stores nothing twice.
    let srv = Server::start(&data, port, &["--no-simulator"]);
    let (status, body) = request(srv.addr, "GET", "/api/v1/regions/420000", &[], b"").expect("request");
    assert_eq!(status, 200);
    let region: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(region["rivers"]["patrols"].as_u64(), Some(ids.len() as u64), "{region}");
    let resend: String = acked.iter().take(200).map(|id| patrol(id) + "\n").collect();
    let (status, body) = post_events(srv.addr, &tok, &resend);
    assert_eq!((status, body["duplicates"].as_u64(), body["accepted"].as_u64()), (200, Some(200), Some(0)));
    // Answered after a sync of the log: the writer's commits do not wait for the disk.
    let (_, metrics) = request(srv.addr, "GET", "/metrics", &[], b"").expect("metrics");
    let counter = |name: &str| {
        metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
    };
    let (syncs, commits) = (counter("yiping_log_syncs_total"), counter("yiping_log_commits_total"));
    assert!(matches!((syncs, commits), (Some(s), Some(c)) if s >= 1 && s <= c), "{metrics}");
}

#[test]
fn garbage_never_crashes_the_server_and_drill_down_returns_history() {
    use rand::{Rng, SeedableRng};
    let data = data_dir("garbage");
    let tok = token(&data, "fuzz");
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let base = reading("g", "cj-yangsigang", 0.08);
    for round in 0..300 {
        // Mutate a valid line: flip, delete or insert bytes; sometimes pure noise or deep nesting.
        let mut bytes = base.clone().into_bytes();
        match round % 4 {
            0 => {
                for _ in 0..rng.random_range(1..6) {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] = rng.random();
                }
            }
            1 => {
                let i = rng.random_range(0..bytes.len());
                bytes.truncate(i);
            }
            2 => bytes = (0..rng.random_range(1..200)).map(|_| rng.random()).collect(),
            _ => {
                bytes = format!("{}1{}", "[".repeat(rng.random_range(100..5000)), "]".repeat(10)).into_bytes()
            }
        }
        let body = String::from_utf8_lossy(&bytes).replace('\n', " ");
        let (status, _) = post_events(srv.addr, &tok, &body);
        assert!(matches!(status, 200 | 400 | 422), "round {round}: status {status} for {body:?}");
    }
    let (status, _) = request(srv.addr, "GET", "/healthz", &[], b"").expect("request");
    assert_eq!(status, 200, "still serving after 300 garbage requests");

    // Drill-down: an entity's current state and its history in a time range.
    let lines: String = [
        ("h1", "2026-11-20T00:00:00Z", 0.05),
        ("h2", "2026-11-21T00:00:00Z", 0.25),
        ("h3", "2026-11-22T00:00:00Z", 0.08),
    ]
    .iter()
    .map(|(id, t, tp)| reading(id, "hj-zongguan", *tp).replace("2026-11-22T08:00:00Z", t) + "\n")
    .collect();
    let (status, body) = post_events(srv.addr, &tok, &lines);
    assert_eq!(status, 200, "{body}");
    let (status, body) = request(
        srv.addr,
        "GET",
        "/api/v1/entities/section:hj-zongguan?from=2026-11-20T12:00:00Z&to=2026-11-22T23:00:00Z",
        &[],
        b"",
    )
    .expect("request");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let ids: Vec<&str> =
        v["history"].as_array().expect("history").iter().filter_map(|h| h["event"]["id"].as_str()).collect();
    assert_eq!(ids, ["h2", "h3"]);
    assert_eq!(v["current"]["status"], "II", "the latest sample (TP 0.08) is class Ⅱ: {v}");
    assert_eq!(v["current"]["adcode"], "420104");
    assert_eq!(v["place"]["county"], "硚口区");
    assert_eq!(v["place"]["prefecture"], "武汉市");
    // The newest two, oldest first (a trend's recent history).
    let (_, body) =
        request(srv.addr, "GET", "/api/v1/entities/section:hj-zongguan?latest=2", &[], b"").expect("request");
    let v: Value = serde_json::from_str(&body).expect("json");
    let ids: Vec<&str> =
        v["history"].as_array().expect("history").iter().filter_map(|h| h["event"]["id"].as_str()).collect();
    assert_eq!(ids, ["h2", "h3"]);
    let (status, _) =
        request(srv.addr, "GET", "/api/v1/entities/section:nowhere", &[], b"").expect("request");
    assert_eq!(status, 404);
    let (status, body) =
        request(srv.addr, "GET", "/api/v1/entities/section:hj-zongguan?from=yesterday", &[], b"")
            .expect("request");
    assert_eq!(status, 400);
    assert!(body.contains("query `from`"), "{body}");
    // Region aggregates roll up county → prefecture → province. (A mutated line may have
    // happened to be a valid reading at 杨泗港, also in 武汉: it counts in the city, not in 硚口区.)
    let readings = |adcode: &str| {
        let (_, body) =
            request(srv.addr, "GET", &format!("/api/v1/regions/{adcode}"), &[], b"").expect("request");
        serde_json::from_str::<Value>(&body).expect("json")["water"]["readings"].as_u64().unwrap_or(0)
    };
    assert_eq!(readings("420104"), 3);
    assert!(readings("420100") >= 3);
    assert_eq!(readings("420100"), readings("420000"));
    let (status, _) = request(srv.addr, "GET", "/api/v1/regions/999999", &[], b"").expect("request");
    assert_eq!(status, 404);
}
