//! Ingest sources' tokens and rate limits, on the command line and over the admin API, against
//! a running server: a revoked or rotated-out token is refused at once, a source over its rate is
//! answered 429 with `Retry-After` and nothing of that body is stored, and every change is
//! audited.

mod common;

use std::process::Command;

use common::*;

const PW: &str = "long-enough-pw";

fn yiping(args: &[&str], data: &std::path::Path) -> String {
    let out = Command::new(bin()).args(args).arg("--data").arg(data).output().expect("runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8")
}

fn patrols(from: usize, n: usize) -> String {
    (from..from + n).map(|i| patrol(&format!("P{i}"))).collect::<Vec<_>>().join("\n")
}

#[test]
fn tokens_are_listed_revoked_and_rotated_on_the_command_line() {
    let data = data_dir("sources-cli");
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let a = token(&data, "hbsthj");
    let b = token(&data, "hbsthj");
    let other = token(&data, "hbfgw");
    let list = yiping(&["token", "list"], &data);
    let id = |t: &str| {
        list.lines()
            .find_map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .filter(|id| t.len() > 12 && yiping_server::store::token_hash(t).starts_with(id))
            })
            .unwrap_or_else(|| panic!("{t} not listed in\n{list}"))
            .to_owned()
    };
    let (id_a, _id_b) = (id(&a), id(&b));
    assert!(!list.contains(&a[3..]), "a token is never shown again");
    assert_eq!(post_events(srv.addr, &a, &patrol("P1")).0, 200);

    // Revoked: refused at once by the running server; the source's other token still works.
    let out = yiping(&["token", "revoke", "--id", &id_a[..8]], &data);
    assert_eq!(out.trim(), format!("revoked token {id_a} of hbsthj"), "the whole id, however much was typed");
    let (status, body) = post_events(srv.addr, &a, &patrol("P2"));
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("unknown or ended token"), "{body}");
    assert_eq!(post_events(srv.addr, &b, &patrol("P3")).0, 200);
    let list = yiping(&["token", "list"], &data);
    assert!(list.lines().any(|l| l.contains(&id_a) && l.contains("ended ")), "{list}");

    // Rotated with no grace: a new token, the old ones end; another source is untouched.
    let new = yiping(&["token", "rotate", "--source", "hbsthj", "--grace-hours", "0"], &data);
    let new = new.trim();
    assert_eq!(post_events(srv.addr, &b, &patrol("P4")).0, 401);
    assert_eq!(post_events(srv.addr, new, &patrol("P5")).0, 200);
    assert_eq!(post_events(srv.addr, &other, &patrol("P6")).0, 200);
    // With a grace period the old token keeps working until it ends.
    let newer = yiping(&["token", "rotate", "--source", "hbsthj"], &data);
    assert_eq!(post_events(srv.addr, new, &patrol("P7")).0, 200);
    assert_eq!(post_events(srv.addr, newer.trim(), &patrol("P8")).0, 200);
    let list = yiping(&["token", "list"], &data);
    assert!(list.lines().any(|l| l.contains("valid until ")), "{list}");

    // Ambiguous or unknown ids are refused with the reason.
    let out = Command::new(bin())
        .args(["token", "revoke", "--id", "zz", "--data"])
        .arg(&data)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 6 hex digits"));
    // Every change is in the audit trail.
    let trail = yiping(&["trail"], &data);
    for action in ["token.create", "token.revoke", "token.rotate"] {
        assert!(trail.contains(&format!("\"action\":\"{action}\"")), "{action} in\n{trail}");
    }
}

#[test]
fn a_source_over_its_rate_is_answered_429_and_nothing_of_the_body_is_stored() {
    let data = data_dir("sources-rate");
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let t = token(&data, "hbsthj");
    let out = yiping(&["token", "limit", "--source", "hbsthj", "--rate", "5"], &data);
    assert_eq!(out.trim(), "hbsthj is limited to 5 events a second");
    // The bucket holds 10 s: 50 events go at once, 10 more do not.
    assert_eq!(post_events(srv.addr, &t, &patrols(0, 50)).0, 200);
    let auth = format!("Bearer {t}");
    let (status, head, body) = request_full(
        srv.addr,
        "POST",
        "/api/v1/events",
        &[("Authorization", &auth)],
        patrols(50, 10).as_bytes(),
    )
    .expect("request");
    assert_eq!(status, 429, "{body}");
    let retry: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("retry-after: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a Retry-After header");
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(body.contains("source hbsthj is limited to 5 events a second: try again in"), "{body}");
    assert_eq!(export(&data).len(), 50, "the refused body stored nothing");
    // Lifted: the same body goes.
    yiping(&["token", "limit", "--source", "hbsthj", "--rate", "none"], &data);
    assert_eq!(post_events(srv.addr, &t, &patrols(50, 10)).0, 200);
    assert_eq!(export(&data).len(), 60);
}

#[test]
fn admins_manage_sources_over_the_api_and_nobody_else_does() {
    let data = data_dir("sources-api");
    add_user(&data, "root", "admin", None, PW);
    add_user(&data, "duty1", "duty", None, PW);
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let admin = login(srv.addr, "root", PW);
    let duty = login(srv.addr, "duty1", PW);
    let call = |method: &str, path: &str, cookie: &str, body: &str| {
        let h = [("Cookie", cookie), ("Content-Type", "application/json")];
        let (s, _, b) = request_full(srv.addr, method, path, &h, body.as_bytes()).expect("request");
        (s, b)
    };
    // Not an admin: refused, whatever the call.
    for (m, p, b) in [
        ("GET", "/api/v1/sources", ""),
        ("POST", "/api/v1/sources/hbsthj/tokens", ""),
        ("POST", "/api/v1/sources/hbsthj/rotate", ""),
        ("PUT", "/api/v1/sources/hbsthj/rate", "{\"rate\":5}"),
        ("DELETE", "/api/v1/tokens/abcdef", ""),
    ] {
        assert_eq!(call(m, p, &duty, b).0, 403, "{m} {p}");
    }
    // A token is made only with a JSON body (no cross-site form can send one).
    let (s, _, b) =
        request_full(srv.addr, "POST", "/api/v1/sources/hbsthj/tokens", &[("Cookie", &admin)], b"")
            .expect("request");
    assert_eq!(s, 400, "{b}");
    let (s, made) = call("POST", "/api/v1/sources/hbsthj/tokens", &admin, "{}");
    assert_eq!(s, 201, "{made}");
    let made: serde_json::Value = serde_json::from_str(&made).expect("json");
    let t = made["token"].as_str().expect("token").to_owned();
    assert_eq!(post_events(srv.addr, &t, &patrol("P1")).0, 200);
    assert_eq!(call("PUT", "/api/v1/sources/hbsthj/rate", &admin, "{\"rate\":2.5}").0, 204);
    assert_eq!(call("PUT", "/api/v1/sources/hbsthj/rate", &admin, "{\"rate\":-1}").0, 400);
    let (s, list) = call("GET", "/api/v1/sources", &admin, "");
    assert_eq!(s, 200);
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    assert_eq!(list[0]["source"], "hbsthj");
    assert_eq!(list[0]["rate"], 2.5);
    assert_eq!(list[0]["tokens"][0]["id"], made["id"]);
    // Rotated now: the old token is refused, the new one goes.
    let (s, rotated) = call("POST", "/api/v1/sources/hbsthj/rotate?grace_hours=0", &admin, "{}");
    assert_eq!(s, 201);
    let rotated: serde_json::Value = serde_json::from_str(&rotated).expect("json");
    assert_eq!(post_events(srv.addr, &t, &patrol("P2")).0, 401);
    let t2 = rotated["token"].as_str().expect("token");
    assert_eq!(post_events(srv.addr, t2, &patrol("P3")).0, 200);
    // Revoked by id.
    let id = rotated["id"].as_str().expect("id");
    assert_eq!(call("DELETE", &format!("/api/v1/tokens/{id}"), &admin, "").0, 204);
    assert_eq!(post_events(srv.addr, t2, &patrol("P4")).0, 401);
    assert_eq!(call("DELETE", "/api/v1/tokens/ffffffffffff", &admin, "").0, 404);
    let trail = yiping(&["trail"], &data);
    for action in ["token.create", "token.rotate", "token.revoke", "source.rate"] {
        assert!(
            trail
                .lines()
                .any(|l| l.contains(&format!("\"action\":\"{action}\"")) && l.contains("\"actor\":\"root\"")),
            "{action}"
        );
    }
}
