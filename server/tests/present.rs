//! Presenting over real sockets: a console drives a named wall, a viewer cannot, control is
//! handed over explicitly, a touch on the wall reaches the console, every step is in the audit
//! trail; storylines are kept, changed, exported and imported into a fresh data folder.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use common::{Server, add_user, free_port, login, request_full};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use yiping_protocol::ServerMsg;
use yiping_protocol::present::WallState;

const PW: &str = "long-enough-pw";

/// A websocket client with the messages received and not looked at yet (a frame may hold a
/// batch).
struct Ws {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    queue: VecDeque<ServerMsg>,
}

async fn connect(addr: SocketAddr, cookie: Option<&str>) -> Ws {
    let mut req = format!("ws://{addr}/ws").into_client_request().expect("request");
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse().expect("header"));
    }
    Ws { ws: tokio_tungstenite::connect_async(req).await.expect("connects").0, queue: VecDeque::new() }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.ws.send(Message::Text(v.to_string().into())).await.expect("sends");
}

/// The next message, within 5 s.
async fn message(ws: &mut Ws) -> ServerMsg {
    loop {
        if let Some(m) = ws.queue.pop_front() {
            return m;
        }
        let m = tokio::time::timeout(Duration::from_secs(5), ws.ws.next()).await.expect("an answer in time");
        let Some(Ok(Message::Text(t))) = m else { continue };
        match serde_json::from_str::<ServerMsg>(&t).expect("protocol") {
            ServerMsg::Batch { items } => ws.queue.extend(items),
            m => ws.queue.push_back(m),
        }
    }
}

/// The next wall state or error (skipping anything else).
async fn next(ws: &mut Ws) -> Result<WallState, String> {
    loop {
        match message(ws).await {
            ServerMsg::Wall(s) => return Ok(*s),
            ServerMsg::Error { message } => return Err(message),
            _ => {}
        }
    }
}

/// Wall states until one satisfies `f`.
async fn until(ws: &mut Ws, f: impl Fn(&WallState) -> bool) -> WallState {
    loop {
        if let Ok(s) = next(ws).await
            && f(&s)
        {
            return s;
        }
    }
}

fn http(addr: SocketAddr, method: &str, path: &str, cookie: &str, ct: &str, body: &str) -> (u16, String) {
    let (s, _, b) =
        request_full(addr, method, path, &[("Cookie", cookie), ("Content-Type", ct)], body.as_bytes())
            .expect("request");
    (s, b)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_console_drives_a_named_wall_with_explicit_hand_over_and_everything_audited() {
    let data = common::data_dir("present");
    for (n, r) in [("zhang", "presenter"), ("li", "admin"), ("wang", "viewer")] {
        add_user(&data, n, r, None, PW);
    }
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let addr = srv.addr;
    let (zhang, li, wang) = (login(addr, "zhang", PW), login(addr, "li", PW), login(addr, "wang", PW));

    // The wall joins, showing 河湖长制.
    let mut wall = connect(addr, None).await;
    send(&mut wall, json!({"op": "join", "wall": "hall-1", "part": "wall", "view": {"screen": "rivers"}, "size": [7680, 2160]})).await;
    let s = until(&mut wall, |s| s.pages == 1).await;
    assert_eq!((s.view.screen.as_str(), s.size, s.controller.clone()), ("rivers", Some([7680, 2160]), None));

    // A viewer watches but cannot drive.
    let mut viewer = connect(addr, Some(&wang)).await;
    send(&mut viewer, json!({"op": "drive", "wall": "hall-1", "take": true})).await;
    let e = next(&mut viewer).await.expect_err("refused");
    assert!(e.contains("presenter or admin; you are viewer"), "{e}");
    let s = next(&mut viewer).await.expect("still sees the wall");
    assert!(!s.yours);
    send(&mut viewer, json!({"op": "show", "view": {"screen": "poverty"}})).await;
    assert!(next(&mut viewer).await.expect_err("refused").contains("take control"));

    // The presenter takes control and shows 重大项目 in 黄石 with a project's records open.
    let mut console = connect(addr, Some(&zhang)).await;
    send(&mut console, json!({"op": "drive", "wall": "hall-1", "take": true})).await;
    let s = until(&mut console, |s| s.yours).await;
    assert_eq!(s.controller.as_deref(), Some("zhang"));
    let view = json!({"screen": "projects", "region": "420200", "drawer": {"kind": "entity", "key": "project:HS-1"}});
    send(&mut console, json!({"op": "show", "view": view, "n": 41})).await;
    let s = until(&mut wall, |s| s.n == 41).await;
    assert_eq!((s.view.screen.as_str(), s.view.region.as_deref()), ("projects", Some("420200")));
    assert_eq!(s.view.drawer.as_ref().map(|d| d.key.as_str()), Some("project:HS-1"));
    assert!(!s.yours, "a wall page never controls");
    // A bad view is refused with its field and value, and changes nothing.
    send(&mut console, json!({"op": "show", "view": {"screen": "projects", "lang": "fr"}})).await;
    assert_eq!(until_err(&mut console).await, "lang \"fr\": zh or en");
    // Blank, highlight, pointer.
    send(&mut console, json!({"op": "set", "setting": {"set": "blank", "on": true}, "n": 42})).await;
    assert!(until(&mut wall, |s| s.n == 42).await.blank);
    send(&mut console, json!({"op": "set", "setting": {"set": "highlight", "panel": 2}, "n": 43})).await;
    assert_eq!(until(&mut wall, |s| s.n == 43).await.highlight, Some(2));
    send(
        &mut console,
        json!({"op": "cue", "cue": {"cue": "pointer", "x": 0.25, "y": 0.5, "down": true}, "n": 44}),
    )
    .await;
    loop {
        if let ServerMsg::Cue { n, .. } = message(&mut wall).await {
            assert_eq!(n, 44);
            break;
        }
    }

    // A touch on the wall changes the view for everyone; one against an older view is ignored.
    let v = until(&mut console, |s| s.n == 43).await.version;
    send(&mut wall, json!({"op": "report", "view": {"screen": "poverty"}, "base": v})).await;
    let s = until(&mut console, |s| s.view.screen == "poverty").await;
    assert!(s.yours, "the presenter keeps control");
    send(&mut wall, json!({"op": "report", "view": {"screen": "yangtze"}, "base": v})).await;
    let s = next(&mut wall).await.expect("the stale page is sent the current state");
    assert_eq!(s.view.screen, "poverty");

    // Another presenter (an admin) must take over explicitly; the first is told.
    let mut admin = connect(addr, Some(&li)).await;
    send(&mut admin, json!({"op": "drive", "wall": "hall-1", "take": true})).await;
    let e = until_err(&mut admin).await;
    assert_eq!(e, "wall \"hall-1\" is controlled by zhang; take over explicitly to drive it");
    send(&mut admin, json!({"op": "drive", "wall": "hall-1", "take": true, "force": true})).await;
    until(&mut admin, |s| s.yours).await;
    let s = until(&mut console, |s| s.controller.as_deref() == Some("li")).await;
    assert!(!s.yours);
    assert_eq!(s.note.as_deref(), Some("taken over by li"));
    send(&mut console, json!({"op": "show", "view": {"screen": "overview"}})).await;
    assert!(until_err(&mut console).await.contains("controlled by li"));

    // The console goes away: the wall keeps its view and its controller.
    drop(admin);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, walls) = http(addr, "GET", "/api/v1/walls", &wang, "application/json", "");
    let walls: Value = serde_json::from_str(&walls).expect("json");
    assert_eq!(walls, json!([{"wall": "hall-1", "pages": 1, "controller": "li", "screen": "poverty"}]));

    // The trail lists every control action, with who and from where.
    let (s, trail) = http(addr, "GET", "/api/v1/audit", &li, "application/json", "");
    assert_eq!(s, 200, "{trail}");
    let actions: Vec<(String, String)> = trail
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("ndjson"))
        .filter(|e| e["target"] == "wall:hall-1")
        .map(|e| {
            (e["action"].as_str().unwrap_or("").to_owned(), e["actor"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let want = [
        ("present.join", "anonymous"),
        ("present.take", "zhang"),
        ("present.show", "zhang"),
        ("present.set", "zhang"),
        ("present.set", "zhang"),
        ("present.pointer", "zhang"),
        ("present.touch", "anonymous"),
        ("present.takeover", "li"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    assert_eq!(actions, want);
}

async fn until_err(ws: &mut Ws) -> String {
    loop {
        if let Err(e) = next(ws).await {
            return e;
        }
    }
}

#[test]
fn storylines_are_kept_changed_audited_and_carried_to_a_fresh_data_folder() {
    let data = common::data_dir("storylines");
    add_user(&data, "zhang", "presenter", None, PW);
    add_user(&data, "wang", "viewer", None, PW);
    add_user(&data, "li", "admin", None, PW);
    let srv = Server::start(&data, free_port(), &["--no-simulator"]);
    let addr = srv.addr;
    let (zhang, wang, li) = (login(addr, "zhang", PW), login(addr, "wang", PW), login(addr, "li", PW));
    let story = json!({"name": "防汛会商", "steps": [
        {"title": "全省概览", "note": "先说总体", "view": {"screen": "overview", "indicator": 1}},
        {"title": "长江断面", "view": {"screen": "yangtze", "drawer": {"kind": "class", "key": "IV"}}},
        {"title": "黄石 · 上周", "view": {"screen": "projects", "region": "420200", "at": "2026-11-20T09:00:00+08:00"}},
    ]});
    let json_ct = "application/json";
    assert_eq!(http(addr, "POST", "/api/v1/storylines", &wang, json_ct, &story.to_string()).0, 403);
    let (s, made) = http(addr, "POST", "/api/v1/storylines", &zhang, json_ct, &story.to_string());
    assert_eq!(s, 201, "{made}");
    let made: Value = serde_json::from_str(&made).expect("json");
    let id = made["id"].as_u64().expect("an id");
    assert_eq!(made["changed_by"], "zhang");
    // Reorder (the last first), rename, drop the middle step.
    let mut changed = made.clone();
    changed["name"] = json!("防汛会商（改）");
    let steps = made["steps"].as_array().expect("steps");
    changed["steps"] = json!([steps[2], steps[0]]);
    let (s, body) =
        http(addr, "PUT", &format!("/api/v1/storylines/{id}"), &zhang, json_ct, &changed.to_string());
    assert_eq!(s, 200, "{body}");
    // A bad step is refused with its place, and nothing changes.
    let mut bad = changed.clone();
    bad["steps"][1]["view"]["screen"] = json!("nowhere");
    let (s, body) = http(addr, "PUT", &format!("/api/v1/storylines/{id}"), &zhang, json_ct, &bad.to_string());
    assert_eq!(s, 400);
    assert!(body.contains("step 2: view.screen \\\"nowhere\\\""), "{body}");
    let (_, list) = http(addr, "GET", "/api/v1/storylines", &zhang, json_ct, "");
    let list: Value = serde_json::from_str(&list).expect("json");
    assert_eq!(list[0]["name"], "防汛会商（改）");
    let titles = |s: &Value| {
        s["steps"].as_array().expect("steps").iter().map(|s| s["title"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(titles(&list[0]), vec![json!("黄石 · 上周"), json!("全省概览")]);

    // Carried as TOML to a fresh data folder: the same steps.
    let (s, file) =
        http(addr, "GET", &format!("/api/v1/storylines/{id}/file?format=toml"), &zhang, json_ct, "");
    assert_eq!(s, 200, "{file}");
    assert!(file.contains("name = \"防汛会商（改）\""), "{file}");
    let (s, file_json) =
        http(addr, "GET", &format!("/api/v1/storylines/{id}/file?format=json"), &zhang, json_ct, "");
    assert_eq!(s, 200);
    let other = common::data_dir("storylines-city");
    add_user(&other, "chen", "admin", None, PW);
    let srv2 = Server::start(&other, free_port(), &["--no-simulator"]);
    let chen = login(srv2.addr, "chen", PW);
    assert_eq!(http(srv2.addr, "POST", "/api/v1/storylines/import", &chen, "text/plain", &file).0, 400);
    let (s, imported) =
        http(srv2.addr, "POST", "/api/v1/storylines/import", &chen, "application/toml", &file);
    assert_eq!(s, 201, "{imported}");
    let imported: Value = serde_json::from_str(&imported).expect("json");
    assert_eq!(imported["steps"], list[0]["steps"]);
    assert_eq!(imported["changed_by"], "chen");
    let (s, again) = http(srv2.addr, "POST", "/api/v1/storylines/import", &chen, json_ct, &file_json);
    assert_eq!(s, 201, "{again}");
    let (s, body) =
        http(srv2.addr, "POST", "/api/v1/storylines/import", &chen, "application/toml", "name = 3\n");
    assert_eq!(s, 400);
    assert!(body.contains("line 1"), "{body}");

    // Deleted; the trail has each change with who made it.
    assert_eq!(http(addr, "DELETE", &format!("/api/v1/storylines/{id}"), &zhang, json_ct, "").0, 204);
    assert_eq!(http(addr, "GET", &format!("/api/v1/storylines/{id}"), &zhang, json_ct, "").0, 404);
    let (_, trail) = http(addr, "GET", "/api/v1/audit", &li, json_ct, "");
    let trail: Vec<Value> = trail.lines().map(|l| serde_json::from_str(l).expect("ndjson")).collect();
    let actions: Vec<&str> = trail
        .iter()
        .filter(|e| e["target"] == format!("storyline:{id}") && e["actor"] == "zhang")
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["storyline.create", "storyline.update", "storyline.delete"]);
}
