//! Access over real sockets (DESIGN §6): every endpoint and websocket topic × every role and
//! scope, allowed or refused as specified; logins rate limited; every write in the audit trail,
//! which no API can alter; security headers on every answer.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::{Server, add_user, free_port, login, post_events, request_full, token};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use yiping_protocol::ServerMsg;

const PW: &str = "long-enough-pw";

fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).expect("formats")
}

/// A water alert in 武汉 (杨泗港 at class Ⅴ), a relapse-risk alert in 黄石 (大冶), a project alert
/// in 武汉; returns their ids by rule.
fn incidents(addr: SocketAddr, data: &Path) -> (String, String, String) {
    let t = token(data, "hbdata");
    let now = now();
    let reading = |id: &str, nh3n: f64| {
        format!(
            r#"{{"type":"water.reading","id":"{id}","time":"{now}","data":{{"section":"cj-yangsigang","ph":7.5,"do_mg_l":8.0,"codmn_mg_l":2.0,"nh3n_mg_l":{nh3n},"tp_mg_l":0.05}}}}"#
        )
    };
    let village = |id: &str, risk: u32| {
        format!(
            r#"{{"type":"poverty.village","id":"{id}","time":"{now}","data":{{"village":"DY-1","name":"大冶某村","lon":114.98,"lat":30.10,"lifted_households":80,"monitored_households":15,"risk_households":{risk},"income_yuan":13500,"assistance_wan":8}}}}"#
        )
    };
    let project = format!(
        r#"{{"type":"project.update","id":"p1","time":"{now}","data":{{"project":"WH-1","name":"武汉某产业园","industry":"光电子信息","lon":114.40,"lat":30.50,"plan_wan":50000,"done_wan":1000,"steps":[{{"step":"approval","due":"2026-01-01"}}]}}}}"#
    );
    let body =
        [reading("r1", 0.3), reading("r2", 1.8), village("v1", 1), village("v2", 12), project].join("\n");
    let (status, answer) = post_events(addr, &t, &body);
    assert_eq!(status, 200, "{answer}");
    let (_, _, list) =
        request_full(addr, "GET", "/api/v1/alerts?state=all", &[("Cookie", &login(addr, "admin1", PW))], b"")
            .expect("request");
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    let id = |rule: &str| {
        list["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .find(|a| a["rule"] == rule)
            .unwrap_or_else(|| panic!("a {rule} alert in {list}"))["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    (id("water_class"), id("relapse_jump"), id("step_overdue"))
}

fn get(addr: SocketAddr, path: &str, cookie: Option<&str>) -> (u16, String) {
    let h: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
    let (s, _, b) = request_full(addr, "GET", path, &h, b"").expect("request");
    (s, b)
}

fn post(addr: SocketAddr, path: &str, cookie: Option<&str>, body: &serde_json::Value) -> (u16, String) {
    let mut h = vec![("Content-Type", "application/json")];
    if let Some(c) = cookie {
        h.push(("Cookie", c));
    }
    let (s, _, b) = request_full(addr, "POST", path, &h, body.to_string().as_bytes()).expect("request");
    (s, b)
}

const ROLES: [&str; 5] = ["viewer", "duty", "project_manager", "presenter", "admin"];

fn setup(extra: &[&str]) -> (Server, std::path::PathBuf) {
    let data = common::data_dir("access");
    for r in ROLES {
        add_user(&data, &format!("{r}1"), r, None, PW);
    }
    add_user(&data, "hs_duty", "duty", Some("420200"), PW);
    let mut args = vec!["--no-simulator"];
    args.extend_from_slice(extra);
    let srv = Server::start(&data, free_port(), &args);
    (srv, data)
}

#[test]
fn every_endpoint_for_every_role_is_allowed_or_refused_as_specified() {
    let (srv, data) = setup(&["--anonymous", "off"]);
    let addr = srv.addr;
    let (water, hs_village, project) = incidents(addr, &data);
    let cookies: Vec<(&str, String)> =
        ROLES.iter().map(|r| (*r, login(addr, &format!("{r}1"), PW))).collect();
    let reads = [
        "/api/v1/topics".to_owned(),
        "/api/v1/event-types".into(),
        "/api/v1/sections".into(),
        "/api/v1/regions/420100".into(),
        "/api/v1/entities/section:cj-yangsigang".into(),
        "/api/v1/alerts".into(),
        format!("/api/v1/alerts/{water}"),
        "/api/v1/rules".into(),
        "/api/v1/history".into(),
        "/api/v1/counties".into(),
        "/api/v1/me".into(),
        "/api/v1/site".into(),
        "/api/v1/overview".into(),
        "/api/v1/periods".into(),
    ];
    for path in &reads {
        let (s, body) = get(addr, path, None);
        let expect_anon = if path == "/api/v1/me" { 200 } else { 401 };
        assert_eq!(s, expect_anon, "anonymous GET {path}: {body}");
        for (role, c) in &cookies {
            let (s, body) = get(addr, path, Some(c));
            assert_eq!(s, 200, "{role} GET {path}: {body}");
        }
    }
    // Admin-only and trail endpoints.
    for (path, allowed) in [("/api/v1/users", &["admin"][..]), ("/api/v1/audit", &["admin", "duty"][..])] {
        assert_eq!(get(addr, path, None).0, 401, "anonymous {path}");
        for (role, c) in &cookies {
            let expect = if allowed.contains(role) { 200 } else { 403 };
            assert_eq!(get(addr, path, Some(c)).0, expect, "{role} GET {path}");
        }
    }
    // Alert actions: duty officers and admins; project managers on project alerts only.
    let ack = |id: &str| format!("/api/v1/alerts/{id}/acknowledge");
    assert_eq!(post(addr, &ack(&water), None, &serde_json::json!({})).0, 401);
    for (role, c) in &cookies {
        if ["viewer", "presenter", "project_manager"].contains(role) {
            let (s, body) = post(addr, &ack(&water), Some(c), &serde_json::json!({}));
            assert_eq!(s, 403, "{role} acknowledging a water alert: {body}");
        }
    }
    let c = |role: &str| cookies.iter().find(|(r, _)| *r == role).map(|(_, c)| c.as_str());
    assert_eq!(post(addr, &ack(&project), c("project_manager"), &serde_json::json!({})).0, 200);
    assert_eq!(post(addr, &ack(&water), c("duty"), &serde_json::json!({"comment": "seen"})).0, 200);
    let (s, body) = post(addr, &ack(&water), c("admin"), &serde_json::json!({}));
    assert_eq!(s, 409, "acknowledged twice: {body}");
    let dispatch = format!("/api/v1/alerts/{water}/dispatch");
    assert_eq!(post(addr, &dispatch, c("admin"), &serde_json::json!({"comment": "go"})).0, 400, "no `to`");
    assert_eq!(
        post(
            addr,
            &dispatch,
            c("admin"),
            &serde_json::json!({"to": "汉阳区生态环境分局", "comment": "check the outlets"})
        )
        .0,
        200
    );
    assert_eq!(
        post(addr, &format!("/api/v1/alerts/{water}/delete"), c("admin"), &serde_json::json!({})).0,
        404
    );
    // Ingest takes source tokens, never sessions.
    let (s, _, _) =
        request_full(addr, "POST", "/api/v1/events", &[("Cookie", c("admin").expect("admin"))], b"{}")
            .expect("request");
    assert_eq!(s, 401);
    // Liveness and metrics stay open (they hold no data of the themes).
    assert_eq!(get(addr, "/healthz", None).0, 200);
    assert_eq!(get(addr, "/metrics", None).0, 200);

    // A 黄石 duty officer sees and acts on 黄石 only.
    let hs = login(addr, "hs_duty", PW);
    let (s, body) = get(addr, "/api/v1/alerts?state=all", Some(&hs));
    assert_eq!(s, 200);
    let listed: serde_json::Value = serde_json::from_str(&body).expect("json");
    let ids: Vec<&str> =
        listed["alerts"].as_array().expect("list").iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, [hs_village.as_str()], "only the 大冶 alert");
    assert_eq!(get(addr, &format!("/api/v1/alerts/{water}"), Some(&hs)).0, 403);
    assert_eq!(
        post(
            addr,
            &format!("/api/v1/alerts/{water}/resolve"),
            Some(&hs),
            &serde_json::json!({"comment": "x"})
        )
        .0,
        403
    );
    assert_eq!(post(addr, &ack(&hs_village), Some(&hs), &serde_json::json!({})).0, 200);
    assert_eq!(get(addr, "/api/v1/regions/420000", Some(&hs)).0, 403, "not the province");
    // The history is 黄石's: its readings (none: no section lies in 黄石), not the province's.
    let (s, history) = get(addr, "/api/v1/history", Some(&hs));
    assert_eq!(s, 200, "{history}");
    let history: yiping_protocol::api::HistoryAnswer = serde_json::from_str(&history).expect("history");
    assert!(
        !history.points.is_empty()
            && history.points.iter().all(|p| p.readings == 0 && p.risk_households <= 12)
    );
    assert_eq!(history.points.last().map(|p| p.risk_households), Some(12));
    // The site, the overview and the periods are 黄石's and its counties'.
    let (s, site) = get(addr, "/api/v1/site", Some(&hs));
    assert_eq!(s, 200, "{site}");
    let site: yiping_protocol::api::SiteInfo = serde_json::from_str(&site).expect("site");
    assert_eq!(
        (site.root.as_str(), site.region.as_str(), site.region_name.as_str()),
        ("420000", "420200", "黄石市")
    );
    assert_eq!(site.children.len(), 6);
    let (s, periods) = get(addr, "/api/v1/periods", Some(&hs));
    assert_eq!(s, 200, "{periods}");
    let periods: yiping_protocol::periods::PeriodsAnswer = serde_json::from_str(&periods).expect("periods");
    let mut shown: Vec<&String> = periods.totals.keys().collect();
    shown.sort();
    assert_eq!(shown.len(), 7, "黄石 and its six counties: {shown:?}");
    assert!(shown.iter().all(|k| k.starts_with("4202")), "{shown:?}");
    assert!(periods.periods.iter().all(|p| p.regions.keys().all(|k| k.starts_with("4202"))));
    let (_, counties) = get(addr, "/api/v1/counties", Some(&hs));
    let counties: serde_json::Value = serde_json::from_str(&counties).expect("json");
    let codes: Vec<&str> =
        counties["counties"].as_array().expect("list").iter().filter_map(|c| c["adcode"].as_str()).collect();
    assert!(!codes.is_empty() && codes.iter().all(|c| c.starts_with("4202")), "{codes:?}");
    assert_eq!(get(addr, "/api/v1/regions/420100", Some(&hs)).0, 403, "not 武汉");
    assert_eq!(get(addr, "/api/v1/regions/420200", Some(&hs)).0, 200);
    assert_eq!(get(addr, "/api/v1/regions/420281", Some(&hs)).0, 200);
    assert_eq!(get(addr, "/api/v1/entities/section:cj-yangsigang", Some(&hs)).0, 403);
    assert_eq!(get(addr, "/api/v1/entities/village:DY-1", Some(&hs)).0, 200);
    let (_, sections) = get(addr, "/api/v1/sections", Some(&hs));
    assert_eq!(sections.trim(), "[]", "no monitoring section lies in 黄石");
    let (_, trail) = get(addr, "/api/v1/audit", Some(&hs));
    assert!(trail.lines().count() >= 2 && trail.lines().all(|l| l.contains(&hs_village)), "{trail}");

    // The trail holds every alert action and every login, with who and from where.
    let (_, trail) = get(addr, "/api/v1/audit", c("admin"));
    let entries: Vec<serde_json::Value> =
        trail.lines().map(|l| serde_json::from_str(l).expect("ndjson")).collect();
    let has = |action: &str, actor: &str, target: &str| {
        entries.iter().any(|e| {
            e["action"] == action && e["actor"] == actor && e["target"] == target && e["addr"] == "127.0.0.1"
        })
    };
    assert!(has("alert.acknowledge", "duty1", &water));
    assert!(has("alert.dispatch", "admin1", &water));
    assert!(has("alert.acknowledge", "project_manager1", &project));
    assert!(has("alert.acknowledge", "hs_duty", &hs_village));
    assert!(has("login", "viewer1", "viewer1"));
    assert!(has("ingest", "source:hbdata", "hbdata"));
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "alert.raise" && e["actor"] == "system" && e["target"] == water.as_str())
    );
    assert!(
        entries.iter().any(|e| e["action"] == "user.add" && e["actor"] == "cli" && e["target"] == "hs_duty")
    );
    let seqs: Vec<u64> = entries.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "no gaps in the trail");
    // No method changes it.
    for m in ["PUT", "DELETE", "PATCH", "POST"] {
        let (s, _, _) =
            request_full(addr, m, "/api/v1/audit", &[("Cookie", c("admin").expect("admin"))], b"{}")
                .expect("request");
        assert_eq!(s, 405, "{m} /api/v1/audit");
    }
    let (_, again) = get(addr, "/api/v1/audit", c("admin"));
    assert!(again.starts_with(trail.trim_end()), "what was there is still there, unchanged");

    // Disabling a user ends their session at once; logging out ends one's own.
    let out = std::process::Command::new(common::bin())
        .args(["user", "disable", "--name", "viewer1", "--data"])
        .arg(&data)
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert_eq!(get(addr, "/api/v1/alerts", c("viewer")).0, 401);
    let (s, _) = post(addr, "/api/v1/logout", c("presenter"), &serde_json::json!({}));
    assert_eq!(s, 200);
    assert_eq!(get(addr, "/api/v1/alerts", c("presenter")).0, 401);
    drop(srv);
}

#[test]
fn logins_are_rate_limited_and_failures_audited() {
    let (srv, _data) = setup(&["--anonymous", "off"]);
    let addr = srv.addr;
    for i in 0..5 {
        let (s, body) = post(
            addr,
            "/api/v1/login",
            None,
            &serde_json::json!({"name": "duty1", "password": format!("guess-{i}")}),
        );
        assert_eq!(s, 401, "{body}");
    }
    let (s, head, _) = request_full(
        addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        serde_json::json!({"name": "duty1", "password": PW}).to_string().as_bytes(),
    )
    .expect("request");
    assert_eq!(s, 429, "even the right password waits");
    assert!(head.to_ascii_lowercase().contains("retry-after: "), "{head}");
    let admin = login(addr, "admin1", PW);
    let (_, trail) = get(addr, "/api/v1/audit", Some(&admin));
    assert_eq!(trail.lines().filter(|l| l.contains("\"login.failed\"") && l.contains("duty1")).count(), 5);
}

#[test]
fn anonymous_reading_from_this_machine_by_default_but_never_writing() {
    let (srv, data) = setup(&[]);
    let addr = srv.addr;
    let (water, _, _) = incidents(addr, &data);
    assert_eq!(get(addr, "/api/v1/alerts", None).0, 200);
    assert_eq!(get(addr, "/api/v1/regions/420000", None).0, 200);
    assert_eq!(
        post(addr, &format!("/api/v1/alerts/{water}/acknowledge"), None, &serde_json::json!({})).0,
        401
    );
    assert_eq!(get(addr, "/api/v1/audit", None).0, 401);
    // Security headers on the app and the API.
    for path in ["/", "/api/v1/alerts"] {
        let (_, head, _) = request_full(addr, "GET", path, &[], b"").expect("request");
        let head = head.to_ascii_lowercase();
        let csp = head.lines().find_map(|l| l.strip_prefix("content-security-policy: ")).expect("a CSP");
        assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
        let script = csp.split(';').find(|d| d.trim().starts_with("script-src")).expect("script-src");
        assert!(!script.contains("unsafe-inline"), "{script}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    }
}

async fn ws_messages(addr: SocketAddr, cookie: Option<&str>, topics: &[&str]) -> Result<Vec<ServerMsg>, u16> {
    let mut req = format!("ws://{addr}/ws").into_client_request().expect("request");
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse().expect("header"));
    }
    let mut ws = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => return Err(r.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    };
    let sub = serde_json::json!({"op": "subscribe", "topics": topics}).to_string();
    ws.send(Message::Text(sub.into())).await.expect("sends");
    let mut out = Vec::new();
    while out.len() < topics.len() {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("in time");
        let Some(Ok(Message::Text(t))) = m else { continue };
        match serde_json::from_str::<ServerMsg>(&t).expect("protocol") {
            ServerMsg::Batch { items } => out.extend(items),
            m => out.push(m),
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_topics_by_role_and_scope() {
    let (srv, data) = tokio::task::spawn_blocking(|| setup(&["--anonymous", "off"])).await.expect("starts");
    let addr = srv.addr;
    let later = data.clone();
    let (water, hs_village, _) =
        tokio::task::spawn_blocking(move || incidents(addr, &data)).await.expect("posts");
    assert_eq!(ws_messages(addr, None, &["alerts"]).await.err(), Some(401), "no login, no socket");
    let topics = ["overview", "water", "rivers", "projects", "poverty", "alerts"];
    for role in ROLES {
        let c =
            tokio::task::spawn_blocking(move || login(addr, &format!("{role}1"), PW)).await.expect("logs in");
        let msgs = ws_messages(addr, Some(&c), &topics).await.expect("connects");
        let snapshots: Vec<&str> = msgs
            .iter()
            .filter_map(|m| match m {
                ServerMsg::Snapshot(u) => Some(u.topic.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(snapshots.len(), topics.len(), "{role}: {snapshots:?}");
    }
    let hs = tokio::task::spawn_blocking(move || login(addr, "hs_duty", PW)).await.expect("logs in");
    let msgs =
        ws_messages(addr, Some(&hs), &["overview", "alerts", "poverty", "water"]).await.expect("connects");
    let mut overview = None;
    for m in &msgs {
        match m {
            ServerMsg::Snapshot(u) if u.topic == "overview" => overview = Some(u.data.clone()),
            ServerMsg::Snapshot(u) if u.topic == "alerts" => {
                let ids: Vec<&str> = u.data["alerts"]
                    .as_array()
                    .expect("alerts")
                    .iter()
                    .filter_map(|a| a["id"].as_str())
                    .collect();
                assert_eq!(ids, [hs_village.as_str()], "not {water}");
            }
            ServerMsg::Snapshot(u) => {
                let regions = u.data["regions"].as_object().expect("regions");
                assert!(regions.keys().all(|k| k.starts_with("4202")), "{}: {:?}", u.topic, regions.keys());
                let entities = u.data["entities"].as_object().expect("entities");
                assert!(
                    entities.values().all(|e| e["adcode"].as_str().is_some_and(|a| a.starts_with("4202")))
                );
                if u.topic == "poverty" {
                    assert!(entities.contains_key("village:DY-1"));
                } else {
                    assert!(entities.is_empty(), "杨泗港 is in 武汉");
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The overview of 黄石, not the province's: its figures, its counties, its sections.
    let o: yiping_protocol::topics::Overview =
        serde_json::from_value(overview.expect("an overview of 黄石")).expect("an overview");
    assert_eq!((o.region.as_str(), o.region_name.as_str()), ("420200", "黄石市"));
    assert_eq!(o.children.len(), 6, "黄石's six counties: {:?}", o.children.keys());
    assert!(o.children.keys().all(|k| k.starts_with("4202")));
    assert_eq!(o.poverty.risk_households, 12, "the village's newest report");
    assert_eq!((o.projects.projects, o.readings_total), (0, 0), "the project and readings are in 武汉");
    assert!(o.sections.is_empty(), "no section lies in 黄石");
    let (status, rest) = tokio::task::spawn_blocking({
        let hs = hs.clone();
        move || get(addr, "/api/v1/overview", Some(&hs))
    })
    .await
    .expect("gets");
    assert_eq!(status, 200, "{rest}");
    let rest: yiping_protocol::topics::Overview = serde_json::from_str(&rest).expect("an overview");
    assert_eq!((rest.region, rest.children.len(), rest.poverty.risk_households), ("420200".into(), 6, 12));
    // A replay gives the overview of 黄石 too, as of its instant.
    let mut req = format!("ws://{addr}/ws").into_client_request().expect("request");
    req.headers_mut().insert("Cookie", hs.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("connects");
    let at = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let at = at.format(&time::format_description::well_known::Rfc3339).expect("formats");
    for m in [
        serde_json::json!({"op": "subscribe", "topics": ["poverty"]}),
        serde_json::json!({"op": "replay", "at": at}),
        serde_json::json!({"op": "subscribe", "topics": ["overview"]}),
        serde_json::json!({"op": "live"}),
        serde_json::json!({"op": "ping"}),
    ] {
        ws.send(Message::Text(m.to_string().into())).await.expect("sends");
    }
    let (mut overviews, mut topics) = (Vec::new(), Vec::new());
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("in time");
        let Some(Ok(Message::Text(t))) = m else { continue };
        let msgs = match serde_json::from_str::<ServerMsg>(&t).expect("protocol") {
            ServerMsg::Batch { items } => items,
            m => vec![m],
        };
        let pong = msgs.iter().any(|m| matches!(m, ServerMsg::Pong));
        for m in msgs {
            match m {
                ServerMsg::Error { message } => panic!("refused: {message}"),
                ServerMsg::Snapshot(u) | ServerMsg::Delta(u) => {
                    if u.topic == "overview" {
                        overviews.push(u.data["region"].as_str().unwrap_or("").to_owned());
                    }
                    topics.push(u.topic);
                }
                _ => {}
            }
        }
        if pong {
            break;
        }
    }
    assert!(overviews.len() >= 2, "in the replay and live again: {topics:?}");
    assert!(overviews.iter().all(|r| r == "420200"), "{overviews:?}");
    assert!(topics.iter().filter(|t| *t == "poverty").count() >= 3, "live, replay, live again: {topics:?}");
    // Live deltas are cut to the scope as the snapshots are: a reading in 武汉 and a report from
    // 大冶 arrive with 黄石's regions and entities only, and the overview is 黄石's.
    let mut req = format!("ws://{addr}/ws").into_client_request().expect("request");
    req.headers_mut().insert("Cookie", hs.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("connects");
    let sub = serde_json::json!({"op": "subscribe", "topics": ["water", "poverty", "overview"]});
    ws.send(Message::Text(sub.to_string().into())).await.expect("sends");
    let (mut snapshots, mut risk) = (0, None);
    let mut water_deltas = 0;
    let mut posted = false;
    while risk.is_none() || water_deltas == 0 {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("in time");
        let Some(Ok(Message::Text(t))) = m else { continue };
        let msgs = match serde_json::from_str::<ServerMsg>(&t).expect("protocol") {
            ServerMsg::Batch { items } => items,
            m => vec![m],
        };
        for m in msgs {
            match m {
                ServerMsg::Snapshot(_) => snapshots += 1,
                ServerMsg::Delta(u) if u.topic == "overview" => {
                    assert_eq!(u.data["region"], "420200", "the overview of 黄石");
                    risk = risk.or(u.data["poverty"]["risk_households"].as_u64().filter(|&r| r == 13));
                }
                ServerMsg::Delta(u) => {
                    if let Some(regions) = u.data["regions"].as_object() {
                        assert!(regions.keys().all(|k| k.starts_with("4202")), "{}: {regions:?}", u.topic);
                    }
                    if let Some(entities) = u.data["entities"].as_object() {
                        assert!(
                            entities
                                .values()
                                .all(|e| e["adcode"].as_str().is_some_and(|a| a.starts_with("4202"))),
                            "{}: {entities:?}",
                            u.topic
                        );
                    }
                    water_deltas += usize::from(u.topic == "water");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        if snapshots == 3 && !posted {
            posted = true;
            let later = later.clone();
            tokio::task::spawn_blocking(move || {
                let now = now();
                let body = format!(
                    "{}\n{}",
                    format_args!(
                        r#"{{"type":"water.reading","id":"r3","time":"{now}","data":{{"section":"cj-yangsigang","ph":7.5,"do_mg_l":8.0,"codmn_mg_l":2.0,"nh3n_mg_l":0.4,"tp_mg_l":0.05}}}}"#
                    ),
                    format_args!(
                        r#"{{"type":"poverty.village","id":"v3","time":"{now}","data":{{"village":"DY-1","name":"大冶某村","lon":114.98,"lat":30.10,"lifted_households":80,"monitored_households":15,"risk_households":13,"income_yuan":13500,"assistance_wan":8}}}}"#
                    )
                );
                let (status, answer) = post_events(addr, &token(&later, "hbdata"), &body);
                assert_eq!(status, 200, "{answer}");
            })
            .await
            .expect("posts");
        }
    }
    assert_eq!((snapshots, risk), (3, Some(13)));
    drop(srv);
}

#[test]
fn several_events_about_one_subject_in_one_batch_raise_one_alert() {
    let (srv, data) = setup(&["--anonymous", "off"]);
    let addr = srv.addr;
    let t = token(&data, "batch");
    let now = time::OffsetDateTime::now_utc();
    let line = |i: i64, nh3n: f64| {
        let at = (now - time::Duration::minutes(10 - i))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formats");
        format!(
            r#"{{"type":"water.reading","id":"b{i}","time":"{at}","data":{{"section":"cj-baihushan","ph":7.5,"do_mg_l":8.0,"codmn_mg_l":2.0,"nh3n_mg_l":{nh3n},"tp_mg_l":0.05}}}}"#
        )
    };
    // Good, then four bad readings (Ⅴ, then 劣Ⅴ twice), in one body.
    let body = [line(0, 0.3), line(1, 1.8), line(2, 1.8), line(3, 2.5), line(4, 2.5)].join("\n");
    let (status, answer) = post_events(addr, &t, &body);
    assert_eq!(status, 200, "{answer}");
    let admin = login(addr, "admin1", PW);
    let (_, trail) = get(addr, "/api/v1/audit", Some(&admin));
    let steps: Vec<serde_json::Value> =
        trail.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let of_class: Vec<&str> = steps
        .iter()
        .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("alert.")))
        .filter(|e| {
            let id = e["target"].as_str().unwrap_or("");
            steps.iter().any(|r| {
                r["action"] == "alert.raise" && r["target"] == id && r["body"]["rule"] == "water_class"
            })
        })
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(of_class, ["alert.raise", "alert.escalate"], "one alert, escalated once");
    drop(srv);
}
