//! Truth under real feeds, against the real binary: late, offset and backfilled reports never
//! replace newer ones over HTTP or `yiping import`; an entity's history lists a late report in its
//! place; overdue moves at Beijing midnight with no event (a fixed `--clock`, restarted); and the
//! audit recount agrees with the wall's figures after all of it.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn get(addr: std::net::SocketAddr, path: &str) -> Value {
    let (status, body) = request(addr, "GET", path, &[], b"").expect("request");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

fn problem(id: &str, time: &str, status: &str) -> String {
    format!(
        r#"{{"type":"river.problem","id":"{id}","time":"{time}","data":{{"problem":"Q-7","river":"汉江","lon":114.2199,"lat":30.5797,"kind":"sewage","status":"{status}","found":"2026-11-22T09:30:00+08:00"}}}}"#
    )
}

fn project(id: &str, time: &str, done: f64) -> String {
    format!(
        r#"{{"type":"project.update","id":"{id}","time":"{time}","data":{{"project":"J-7","name":"汉江大桥","industry":"交通","lon":114.2199,"lat":30.5797,"plan_wan":1000,"done_wan":{done},"steps":[{{"step":"approval","due":"2026-10-01","done":"2026-09-28"}},{{"step":"land","due":"2026-11-22"}}]}}}}"#
    )
}

#[test]
fn late_offset_and_backfilled_reports_keep_the_newest_state_and_overdue_follows_beijing_midnight() {
    let data = data_dir("truth");
    let tok = token(&data, "hbslt");
    // 23:59:59 on 2026-11-22 in Beijing.
    let srv = Server::start(&data, free_port(), &["--no-simulator", "--clock", "2026-11-22T15:59:59Z"]);
    let a = srv.addr;
    // The problem was closed at 11:00 UTC; its 10:00 "assigned" report is retried later, written
    // with +08:00 (18:00+08:00 = 10:00Z).
    let body = format!(
        "{}\n{}\n{}\n",
        problem("p1", "2026-11-22T09:00:00Z", "found"),
        problem("p3", "2026-11-22T11:00:00.5Z", "closed"),
        problem("p2", "2026-11-22T18:00:00+08:00", "assigned"),
    );
    let (status, answer) = post_events(a, &tok, &body);
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(3)), "{answer}");
    let region = get(a, "/api/v1/regions/420000");
    assert_eq!(region["rivers"]["problems"], 1);
    assert_eq!(region["rivers"]["problems_open"], 0, "the late report does not reopen it: {region}");
    // The entity's history lists the reports by event time, the late one in its place.
    let h = get(a, "/api/v1/entities/problem:Q-7");
    let ids: Vec<&str> =
        h["history"].as_array().expect("history").iter().filter_map(|e| e["event"]["id"].as_str()).collect();
    assert_eq!(ids, ["p1", "p2", "p3"]);
    // The raw event keeps the time as it was sent.
    assert_eq!(h["history"][1]["event"]["time"], "2026-11-22T18:00:00+08:00");
    // A range by instants: 17:30+08:00 (09:30Z) to 10:30Z holds only the late report.
    let h = get(a, "/api/v1/entities/problem:Q-7?from=2026-11-22T17:30:00%2B08:00&to=2026-11-22T10:30:00Z");
    assert_eq!(h["history"].as_array().map(Vec::len), Some(1), "{h}");

    // A project whose land step is due today (Beijing): not overdue before midnight.
    let (status, answer) = post_events(a, &tok, &project("j2", "2026-11-20T10:00:00+08:00", 600.0));
    assert_eq!(status, 200, "{answer}");
    let region = get(a, "/api/v1/regions/420000");
    assert_eq!(region["today"], "2026-11-22");
    assert_eq!(region["overdue"]["steps"], 0, "{region}");
    srv.kill();

    // Backfill after live data: an older report of the project, imported offline.
    let file = data.join("backfill.ndjson");
    std::fs::write(&file, project("j1", "2026-11-01T10:00:00+08:00", 100.0) + "\n").expect("writes");
    let out = Command::new(bin())
        .args(["import"])
        .arg(&file)
        .args(["--source", "archive", "--data"])
        .arg(&data)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // One second after Beijing midnight, with no event since: the step is overdue.
    let srv = Server::start(&data, free_port(), &["--no-simulator", "--clock", "2026-11-22T16:00:01Z"]);
    let region = get(srv.addr, "/api/v1/regions/420000");
    assert_eq!(region["today"], "2026-11-23");
    assert_eq!(region["overdue"]["steps"], 1, "{region}");
    assert_eq!(region["overdue"]["projects_by_stage"], serde_json::json!([1, 0, 0]));
    assert_eq!(
        region["projects"]["done_wan"], 600.0,
        "the backfilled older report does not roll progress back"
    );
    srv.kill();

    // Four weeks on, after a restart, a retry of the problem's old "assigned" report arrives: the
    // problem stays closed, and the alert rules (which learn only newest reports) raise nothing.
    let srv = Server::start(&data, free_port(), &["--no-simulator", "--clock", "2026-12-20T00:00:00Z"]);
    let (status, answer) = post_events(srv.addr, &tok, &problem("p4", "2026-11-22T10:30:00Z", "assigned"));
    assert_eq!(status, 200, "{answer}");
    std::thread::sleep(std::time::Duration::from_millis(5500)); // one tick of the alert clock
    let region = get(srv.addr, "/api/v1/regions/420000");
    assert_eq!(region["rivers"]["problems_open"], 0, "{region}");
    let alerts = get(srv.addr, "/api/v1/alerts?state=all");
    assert!(
        !alerts["alerts"].as_array().expect("alerts").iter().any(|a| a["rule"] == "problem_open"),
        "no alert for a closed problem: {alerts}"
    );
    srv.kill();

    // And the independent recount agrees with the state rebuilt from the log.
    let out = Command::new(bin()).args(["audit", "--data"]).arg(&data).output().expect("runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
