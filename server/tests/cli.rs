//! The command line: `simulate` writes what the ingest API accepts, `import` loads it offline,
//! `export` gives it back in order with gapless seqs, and a running server refuses an import.

mod common;

use std::process::Command;

use common::*;

fn import(file: &std::path::Path, data: &std::path::Path) -> std::process::Output {
    Command::new(bin())
        .arg("import")
        .arg(file)
        .args(["--source", "history", "--data"])
        .arg(data)
        .output()
        .expect("runs")
}

#[test]
fn simulate_import_export_round_trip() {
    let out = Command::new(bin())
        .args(["simulate", "--seed", "9", "--count", "800", "--start", "2026-11-20T00:00:00Z"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert_eq!(text.lines().count(), 800);
    // Deterministic for a seed and start.
    let again = Command::new(bin())
        .args(["simulate", "--seed", "9", "--count", "800", "--start", "2026-11-20T00:00:00Z"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&again.stdout), text);
    let file = std::env::temp_dir().join(format!("yiping-sim-{}.ndjson", std::process::id()));
    std::fs::write(&file, &text).expect("writes");

    let data = data_dir("cli");
    let out = import(&file, &data);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 800 events, 0 duplicates skipped, 0 lines refused"
    );
    // Importing again stores nothing twice.
    let out = import(&file, &data);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 0 events, 800 duplicates skipped, 0 lines refused"
    );

    let exported = export(&data);
    assert_eq!(exported.len(), 800);
    // A topic's seq is its deltas': the import wrote its 800 events in one batch, so each
    // topic's events share the seq of its first delta.
    for (i, e) in exported.iter().enumerate() {
        assert_eq!(e["gseq"].as_u64(), Some(i as u64 + 1));
        assert_eq!(e["seq"].as_u64(), Some(1), "one batch, one delta per topic: {e}");
        assert_eq!(e["event"]["source"], "history");
        assert!(e["adcode"].as_str().is_some_and(|a| a.starts_with("42") && a.len() == 6));
    }

    // A bad line in a file is reported with its line number, and the good ones still go in.
    let bad = format!(
        "{}\n{{\"type\":\"nope\"}}\n",
        text.lines().next().unwrap_or_default().replace("\"id\":\"sim-", "\"id\":\"re-")
    );
    std::fs::write(&file, bad).expect("writes");
    let out = import(&file, &data);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"line\":2") && err.contains("\"field\":\"id\""), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 1 events, 0 duplicates skipped, 1 lines refused"
    );

    // With a server running on the folder, import refuses and says why.
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let out = import(&file, &data);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by a running yiping server"));
    // ... and the server rebuilt its state from the imported log.
    let (status, body) = request(srv.addr, "GET", "/api/v1/regions/420000", &[], b"").expect("request");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let patrols = exported.iter().filter(|e| e["event"]["type"] == "river.patrol").count() as u64;
    assert_eq!(v["rivers"]["patrols"].as_u64(), Some(patrols));
}

#[test]
fn audit_reconciles_every_figure_of_a_simulated_run_with_the_raw_events() {
    let data = data_dir("audit");
    // The simulator at high speed, with frequent snapshots, then a crash.
    let srv = Server::start(&data, free_port(), &["--speed", "3000", "--snapshot-every", "500"]);
    std::thread::sleep(std::time::Duration::from_secs(4));
    srv.kill();
    let out = Command::new(bin()).arg("audit").arg("--data").arg(&data).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("every figure reconciles"), "{stdout}");
    let events: usize = stdout.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(events > 1000, "a busy run was audited: {stdout}");
}

#[test]
fn simulate_writes_a_history_into_a_log_that_audits_clean() {
    let data = data_dir("history");
    let out = Command::new(bin())
        .args(["simulate", "--from", "2026-09-01", "--to", "2026-09-03T00:00:00+08:00", "--data"])
        .arg(&data)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Two days at the real volume: about 6,200 events a day, from Beijing midnight.
    let n: usize = stdout.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!((10_000..16_000).contains(&n), "{stdout}");
    assert!(stdout.contains("from 2026-08-31T16:00:00Z to 2026-09-02T16:00:00Z"), "{stdout}");
    let out = Command::new(bin()).arg("audit").arg("--data").arg(&data).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // A server on it keeps the totals at each midnight (for periods); the audit recounts them.
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, body) = request(srv.addr, "GET", "/api/v1/timeline", &[], b"").expect("answers");
        let t: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        if t["days"] == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "day totals: {t}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    srv.kill();
    let out = Command::new(bin()).arg("audit").arg("--data").arg(&data).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // A day total that does not reconcile is found.
    let db = rusqlite::Connection::open(data.join("yiping.db")).expect("opens");
    db.execute("UPDATE days SET body = replace(body, '\"patrols\":', '\"patrols\":9')", []).expect("updates");
    drop(db);
    let out = Command::new(bin()).arg("audit").arg("--data").arg(&data).output().expect("runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("day totals 2026-09-0"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // As NDJSON on standard output, the same events (a file for `yiping import` or the API).
    let out = Command::new(bin())
        .args(["simulate", "--from", "2026-09-01", "--to", "2026-09-03T00:00:00+08:00"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), n);
    // A history cannot end in the future, nor before it starts.
    let out = Command::new(bin())
        .args(["simulate", "--from", "2026-09-03", "--to", "2026-09-01T00:00:00Z"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be after --from"));
}
