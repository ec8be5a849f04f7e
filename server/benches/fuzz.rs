//! Fuzzing benchmark (runs on stable; not part of `cargo test`): structure-aware generated input
//! against the two doors real sources and clients knock on, with the figures printed.
//!
//! ```text
//! cargo bench -p yiping-server --bench fuzz -- [lines=10000000] [messages=10000000] [seed=1]
//! ```
//!
//! - **Ingest lines** through [`yiping_server::ingest::check_lines`] (what `POST /api/v1/events`
//!   and `yiping import` run), in bodies of 1,000 lines. Seeds are the simulator's own events of
//!   every type; each line is a seed mutated at the JSON level (fields removed, added, retyped,
//!   numbers at and past their limits, strings empty, huge, control characters, times in every
//!   valid and invalid RFC 3339 shape and offset) or at the text level (cut, a byte changed, keys
//!   doubled, deep nesting), or random text. Checked: no panic; every non-blank line is answered
//!   exactly once, accepted or refused; every refusal names its line, the field, the value (unless
//!   the field is missing) and the reason; every line the direct reading accepts is read the same
//!   by the JSON tree (`parse_line_reference`).
//! - **Websocket client messages** sent to a real server (in this process, its data folder in
//!   `/dev/shm`) over real sockets, as a wall page on this machine and as a logged-in presenter:
//!   every kind of [`ClientMsg`], built from the protocol's types and mutated the same way.
//!   Checked: no panic (a connection task that panicked closes its socket), every refusal says
//!   why, the server answers `ping` and `/healthz` at the end.
mod support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use yiping_protocol::api::LineResult;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::present::{Cue, Drawer, Part, Setting, View};
use yiping_protocol::{ClientMsg, ResumePoint, ServerMsg};
use yiping_server::places::Places;

use support::arg;

// ---------------------------------------------------------------------------------------------
// Generators

/// A string of an awkward kind.
fn nasty_string(r: &mut ChaCha8Rng) -> String {
    match r.random_range(0..12) {
        0 => String::new(),
        1 => " ".repeat(r.random_range(1..4)),
        2 => "长".repeat(r.random_range(1..300)),
        3 => "x".repeat(r.random_range(60..20_000)),
        4 => "\u{0}\u{1}\t\r\u{7f}".into(),
        5 => "\u{202e}evil\u{200b}".into(),
        6 => "😀🚩".repeat(r.random_range(1..50)),
        7 => "\\\"'{}[]".into(),
        8 => "-1".into(),
        9 => "420000".into(),
        10 => "section:cj-yangsigang".into(),
        _ => {
            let n = r.random_range(1..40);
            (0..n).map(|_| char::from_u32(r.random_range(0x20..0x3000)).unwrap_or('?')).collect()
        }
    }
}

/// A number of an awkward kind.
fn nasty_number(r: &mut ChaCha8Rng) -> Value {
    match r.random_range(0..10) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(1e308),
        5 => json!(-1e-308),
        6 => json!(0.5),
        7 => json!(r.random_range(-1e6..1e6)),
        8 => json!(4_294_967_296u64),
        _ => json!(r.random_range(0..100_000)),
    }
}

/// An event time: any shape of RFC 3339, valid or not, far or near.
fn time_text(r: &mut ChaCha8Rng) -> String {
    let y = match r.random_range(0..8) {
        0 => r.random_range(0..10_000),
        1 => 2099,
        _ => r.random_range(2015..2027),
    };
    let mo = if r.random_bool(0.9) { r.random_range(1..13) } else { r.random_range(0..100) };
    let d = if r.random_bool(0.9) { r.random_range(1..29) } else { r.random_range(0..40) };
    let h = if r.random_bool(0.95) { r.random_range(0..24) } else { r.random_range(24..100) };
    let mi = if r.random_bool(0.95) { r.random_range(0..60) } else { 60 };
    let s = if r.random_bool(0.95) { r.random_range(0..60) } else { 60 };
    let frac = match r.random_range(0..4) {
        0 => String::new(),
        1 => format!(".{}", r.random_range(0..10)),
        2 => format!(".{:09}", r.random_range(0..1_000_000_000u64)),
        _ => format!(".{}", "9".repeat(r.random_range(10..30))),
    };
    let off = match r.random_range(0..8) {
        0 => "Z".into(),
        1 => "z".into(),
        2 => String::new(),
        3 => "+08:00".into(),
        4 => format!(
            "{}{:02}:{:02}",
            if r.random_bool(0.5) { '+' } else { '-' },
            r.random_range(0..30),
            r.random_range(0..70)
        ),
        5 => "+0800".into(),
        6 => " CST".into(),
        _ => "-00:00".into(),
    };
    let sep = match r.random_range(0..10) {
        0 => ' ',
        1 => 't',
        _ => 'T',
    };
    format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{off}")
}

/// Any JSON value, up to `depth` deep.
fn any_value(r: &mut ChaCha8Rng, depth: u32) -> Value {
    match r.random_range(0..if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(r.random_bool(0.5)),
        2 => nasty_number(r),
        3 => json!(nasty_string(r)),
        4 => json!(time_text(r)),
        5 => Value::Array((0..r.random_range(0..4)).map(|_| any_value(r, depth - 1)).collect()),
        _ => Value::Object(
            (0..r.random_range(0..4)).map(|_| (nasty_string(r), any_value(r, depth - 1))).collect(),
        ),
    }
}

/// Every place (object field or array item) in `v`, as paths.
fn places(v: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(json!(k));
                out.push(path.clone());
                places(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(json!(i));
                out.push(path.clone());
                places(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    let mut v = v;
    for p in path {
        v = match p {
            Value::String(k) => v.as_object_mut()?.get_mut(k)?,
            Value::Number(i) => v.as_array_mut()?.get_mut(usize::try_from(i.as_u64()?).ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Mutate a JSON value in place: a few structural changes.
fn mutate(r: &mut ChaCha8Rng, v: &mut Value) {
    for _ in 0..r.random_range(1..4) {
        let mut all = Vec::new();
        places(v, &mut Vec::new(), &mut all);
        let Some(path) = (!all.is_empty()).then(|| all[r.random_range(0..all.len())].clone()) else {
            *v = any_value(r, 3);
            return;
        };
        let (last, parent) = path.split_last().expect("a path is never empty");
        match r.random_range(0..6) {
            // Remove the field (or item).
            0 => match (at_mut(v, parent), last) {
                (Some(Value::Object(m)), Value::String(k)) => {
                    m.remove(k);
                }
                (Some(Value::Array(a)), Value::Number(i)) => {
                    let i = usize::try_from(i.as_u64().unwrap_or(0)).unwrap_or(0);
                    if i < a.len() {
                        a.remove(i);
                    }
                }
                _ => {}
            },
            // Add an unknown field beside it.
            1 => {
                if let Some(Value::Object(m)) = at_mut(v, parent) {
                    m.insert(nasty_string(r), any_value(r, 2));
                }
            }
            // A time in place of the value.
            2 => {
                if let Some(x) = at_mut(v, &path) {
                    *x = json!(time_text(r));
                }
            }
            // A number, at or past a limit.
            3 => {
                if let Some(x) = at_mut(v, &path) {
                    *x = nasty_number(r);
                }
            }
            // Anything at all.
            _ => {
                if let Some(x) = at_mut(v, &path) {
                    *x = any_value(r, 2);
                }
            }
        }
    }
}

/// Mutate the text of a line: cut it, change a byte, double a key, nest deeply.
/// A value as one line of JSON: half the time with an object's keys in the envelope's order
/// (`type`, `id`, `time`, `source`, `data`, then any other), as sources write them, which the
/// direct reading takes in one pass; else sorted (`data` first), which it reads in two.
fn line_of(r: &mut ChaCha8Rng, v: &Value) -> String {
    let Some(map) = v.as_object().filter(|_| r.random_bool(0.5)) else { return v.to_string() };
    const ORDER: [&str; 5] = ["type", "id", "time", "source", "data"];
    let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| rank(k));
    let fields: Vec<String> =
        keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), map[k.as_str()])).collect();
    format!("{{{}}}", fields.join(","))
}

fn mutate_text(r: &mut ChaCha8Rng, s: &mut String) {
    match r.random_range(0..5) {
        0 => {
            let mut cut = r.random_range(0..=s.len());
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        1 => {
            let mut at = r.random_range(0..=s.len());
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            let c = [',', '"', '{', '}', '[', ']', ':', '\\', 'e', '0', '-', '\u{0}'][r.random_range(0..12)];
            s.insert(at, c);
        }
        2 => {
            if let Some(rest) = s.strip_prefix('{') {
                *s = format!("{{\"type\":\"water.reading\",{rest}");
            }
        }
        3 => {
            let n = r.random_range(100..5_000);
            *s = format!("{}{}", "[".repeat(n), "]".repeat(n));
        }
        _ => s.push_str(&" ".repeat(r.random_range(1..3))),
    }
}

// ---------------------------------------------------------------------------------------------
// Ingest lines

fn seeds() -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yiping"))
        .args(["simulate", "--seed", "7", "--count", "3000"])
        .output()
        .expect("runs yiping simulate");
    let seeds: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(seeds.len() > 1000, "the simulator gave {} seed events", seeds.len());
    seeds
}

fn ingest(lines: u64, seed: u64) {
    let seeds = seeds();
    let kinds: std::collections::BTreeSet<&str> = seeds.iter().filter_map(|s| s["type"].as_str()).collect();
    let places = Places::hubei();
    let now = Timestamp::now();
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let (mut done, mut accepted, mut refused, mut panics, mut faults) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut by_field: std::collections::BTreeMap<String, u64> = Default::default();
    let t0 = Instant::now();
    let mut body = String::new();
    let mut generated: Vec<String> = Vec::new();
    while done < lines {
        body.clear();
        generated.clear();
        let n = 1000.min(lines - done);
        for _ in 0..n {
            let mut v = seeds[r.random_range(0..seeds.len())].clone();
            let line = match r.random_range(0..10) {
                // As the simulator sent it (some accepted), or with a time of another shape.
                0 => line_of(&mut r, &v),
                1 => {
                    v["time"] = json!(time_text(&mut r));
                    line_of(&mut r, &v)
                }
                2..=6 => {
                    mutate(&mut r, &mut v);
                    line_of(&mut r, &v)
                }
                7 | 8 => {
                    let mut s = line_of(&mut r, &v);
                    mutate_text(&mut r, &mut s);
                    s
                }
                _ => any_value(&mut r, 3).to_string(),
            };
            // Lines end in \n or \r\n; now and then a blank line.
            body.push_str(&line);
            generated.push(line);
            body.push_str(if r.random_bool(0.1) { "\r\n" } else { "\n" });
            if r.random_bool(0.01) {
                body.push_str("  \n");
            }
        }
        let answered = std::panic::catch_unwind(AssertUnwindSafe(|| {
            yiping_server::ingest::check_lines(&body, "fuzz", &places, now, 600)
        }));
        let Ok((ok, rejected)) = answered else {
            panics += 1;
            let path = std::env::temp_dir().join(format!("yiping-fuzz-panic-{done}.ndjson"));
            let _ = std::fs::write(&path, &body);
            eprintln!("PANIC on a body, saved to {}", path.display());
            done += n;
            continue;
        };
        // Both ways of reading a line agree (the direct one answers only what the tree accepts).
        let agree = std::panic::catch_unwind(AssertUnwindSafe(|| {
            generated
                .iter()
                .filter(|l| {
                    let direct = yiping_protocol::events::parse_line(l);
                    direct.is_ok() && direct != yiping_protocol::events::parse_line_reference(l)
                })
                .count()
        }));
        match agree {
            Ok(0) => {}
            Ok(n) => {
                faults += n as u64;
                eprintln!("FAULT: {n} lines read otherwise by the direct way than by the tree");
            }
            Err(_) => panics += 1,
        }
        let physical: Vec<&str> = body.split('\n').collect();
        let non_blank: Vec<usize> =
            (0..physical.len()).filter(|&i| !physical[i].trim().is_empty()).map(|i| i + 1).collect();
        let mut answered_lines: Vec<usize> = ok.iter().map(|(l, _)| *l).collect();
        for x in &rejected {
            let LineResult::Rejected { line, field, value, error } = x else {
                faults += 1;
                continue;
            };
            answered_lines.push(*line);
            *by_field.entry(field.split(['.', '[']).take(2).collect::<Vec<_>>().join(".")).or_default() += 1;
            let missing = error == "missing";
            if field.is_empty() || error.is_empty() || (value.is_empty() && !missing) {
                faults += 1;
                if faults <= 5 {
                    eprintln!(
                        "FAULT: a refusal without its field, value or reason: line {line} field {field:?} value {value:?} error {error:?}\n  {}",
                        physical[line - 1]
                    );
                }
            }
        }
        answered_lines.sort_unstable();
        if answered_lines != non_blank {
            faults += 1;
            eprintln!("FAULT: lines answered {} ≠ non-blank lines {}", answered_lines.len(), non_blank.len());
        }
        accepted += ok.len() as u64;
        refused += rejected.len() as u64;
        done += n;
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "ingest lines: {done} generated from {} seeds of {} event types in {s:.1} s ({:.0} lines/s)",
        seeds.len(),
        kinds.len(),
        done as f64 / s
    );
    println!(
        "  accepted {accepted}, refused {refused}; panics {panics}; faults (a line unanswered, answered twice, read otherwise by the direct way than by the tree, or a refusal without field, value or reason) {faults}"
    );
    let mut top: Vec<_> = by_field.into_iter().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.1));
    println!(
        "  refusals by field: {}",
        top.iter().take(14).map(|(f, n)| format!("{f} {n}")).collect::<Vec<_>>().join(", ")
    );
    assert_eq!((panics, faults), (0, 0), "the ingest line parser failed the fuzz");
}

// ---------------------------------------------------------------------------------------------
// Websocket client messages

fn view(r: &mut ChaCha8Rng) -> View {
    let screens = ["overview", "yangtze", "rivers", "projects", "poverty", "nowhere"];
    View {
        screen: screens[r.random_range(0..screens.len())].into(),
        region: r
            .random_bool(0.5)
            .then(|| ["420100", "420200", "420281", "999999", ""][r.random_range(0..5)].into()),
        map_box: r.random_bool(0.3).then(|| {
            [
                r.random_range(100.0..120.0),
                r.random_range(20.0..40.0),
                r.random_range(100.0..120.0),
                r.random_range(20.0..40.0),
            ]
        }),
        indicator: r.random_range(0..8),
        drawer: r.random_bool(0.3).then(|| Drawer {
            kind: Drawer::KINDS[r.random_range(0..Drawer::KINDS.len())].into(),
            key: nasty_string(r),
        }),
        lang: ["zh", "en", "fr"][r.random_range(0..3)].into(),
        at: r.random_bool(0.2).then(|| time_text(r)),
        speed: [0.0, 1.0, 60.0, -5.0, 1e9][r.random_range(0..5)],
    }
}

fn client_msg(r: &mut ChaCha8Rng) -> ClientMsg {
    let topics = ["overview", "water", "rivers", "projects", "poverty", "alerts", "nope"];
    let some_topics = |r: &mut ChaCha8Rng| {
        (0..r.random_range(0..4)).map(|_| topics[r.random_range(0..topics.len())].to_string()).collect()
    };
    let walls = ["hall-1", "hall-2", "export-x", "bad name", ""];
    let wall = |r: &mut ChaCha8Rng| walls[r.random_range(0..walls.len())].to_string();
    let n = |r: &mut ChaCha8Rng| r.random_range(0..1000);
    match r.random_range(0..12) {
        0 => ClientMsg::Subscribe {
            topics: some_topics(r),
            since: (0..r.random_range(0..2))
                .map(|_| {
                    (
                        topics[r.random_range(0..topics.len())].to_string(),
                        ResumePoint { epoch: nasty_string(r), seq: r.next_u64() >> r.random_range(0..64) },
                    )
                })
                .collect(),
        },
        1 => ClientMsg::Unsubscribe { topics: some_topics(r) },
        2 => ClientMsg::Ping,
        3 => ClientMsg::Replay {
            at: time_text(r),
            speed: [0.0, 1.0, 3600.0, -1.0, 1e12][r.random_range(0..5)],
        },
        4 => ClientMsg::Live,
        5 => ClientMsg::Join {
            wall: wall(r),
            part: if r.random_bool(0.5) { Part::Wall } else { Part::Remote },
            view: r.random_bool(0.7).then(|| view(r)),
            size: r.random_bool(0.5).then(|| [r.random_range(0..100_000), r.random_range(0..100_000)]),
            carousel: r.random_bool(0.5).then(|| r.random_bool(0.5)),
        },
        6 => ClientMsg::Report { view: view(r), base: n(r), auto: r.random_bool(0.2) },
        7 => ClientMsg::Drive { wall: wall(r), take: r.random_bool(0.5), force: r.random_bool(0.3) },
        8 => ClientMsg::Release,
        9 => ClientMsg::Show { view: view(r), n: n(r) },
        10 => ClientMsg::Set {
            setting: match r.random_range(0..3) {
                0 => Setting::Blank { on: r.random_bool(0.5) },
                1 => Setting::Highlight { panel: r.random_bool(0.5).then(|| r.random_range(0..100)) },
                _ => Setting::Carousel { run: r.random_bool(0.5) },
            },
            n: n(r),
        },
        _ => ClientMsg::Cue {
            cue: if r.random_bool(0.8) {
                Cue::Pointer {
                    x: r.random_range(-1.0..2.0),
                    y: r.random_range(-1.0..2.0),
                    down: r.random_bool(0.3),
                }
            } else {
                Cue::Lift
            },
            n: n(r),
        },
    }
}

/// A generated message within the server's 64 KiB bound (a larger one closes the connection with
/// code 1009, by design; `server/tests/ws.rs` checks that).
fn message_text(r: &mut ChaCha8Rng) -> String {
    loop {
        let text = any_message_text(r);
        if text.len() <= 64 * 1024 {
            return text;
        }
    }
}

fn any_message_text(r: &mut ChaCha8Rng) -> String {
    let mut v = serde_json::to_value(client_msg(r)).expect("client messages serialise");
    match r.random_range(0..10) {
        0..=3 => v.to_string(),
        4..=7 => {
            mutate(r, &mut v);
            v.to_string()
        }
        8 => {
            let mut s = v.to_string();
            mutate_text(r, &mut s);
            s
        }
        _ => any_value(r, 3).to_string(),
    }
}

async fn start_server(dir: std::path::PathBuf) -> SocketAddr {
    let config = yiping_server::Config {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        data_dir: dir,
        simulator: false,
        seed: 1,
        speed: 60.0,
        log: Default::default(),
        rules: Default::default(),
        access: Default::default(),
        clock: None,
        nats: None,
        nats_replicas: 1,
        fanout_threads: None,
        places: std::sync::Arc::new(yiping_server::places::Places::hubei()),
        title: None,
    };
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        yiping_server::serve(config, Some(bound_tx), std::future::pending()).await.expect("server runs");
    });
    bound_rx.await.expect("server binds")
}

/// One HTTP/1.1 exchange; the status and the body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connects");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("writes");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("reads");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (text[9..12].parse().unwrap_or(0), head.to_owned(), body.to_owned())
}

async fn websocket(r: &mut ChaCha8Rng, messages: u64, seed: u64) {
    let dir = std::path::Path::new("/dev/shm").join(format!("yiping-fuzz-{}-{seed}", std::process::id()));
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        dir
    } else {
        std::env::temp_dir().join(dir.file_name().expect("named"))
    };
    std::fs::create_dir_all(&dir).expect("data folder");
    // A presenter, made the way an admin makes one.
    let mut add = std::process::Command::new(env!("CARGO_BIN_EXE_yiping"))
        .args(["user", "add", "--name", "fz", "--role", "presenter", "--data"])
        .arg(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("runs yiping user add");
    add.stdin.take().expect("stdin").write_all(b"long-enough-pw\n").expect("password");
    assert!(add.wait().expect("user add ends").success(), "user add");
    let addr = start_server(dir.clone()).await;
    let (status, head, _) = http(
        addr,
        "POST",
        "/api/v1/login",
        "Content-Type: application/json\r\n",
        r#"{"name":"fz","password":"long-enough-pw"}"#,
    )
    .await;
    assert_eq!(status, 200, "login");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();

    let sent = Arc::new(AtomicU64::new(0));
    let refusals = Arc::new(AtomicU64::new(0));
    let answers = Arc::new(AtomicU64::new(0));
    let faults = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    // Two pages on this machine (anonymous: a wall's own browser) and two presenters' consoles.
    for (i, with_cookie) in [(0u64, false), (1, false), (2, true), (3, true)] {
        let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            format!("ws://{addr}/ws"),
        )
        .expect("request");
        if with_cookie {
            req.headers_mut().insert("cookie", cookie.parse().expect("cookie header"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connects");
        let (mut tx, mut rx) = ws.split();
        let mut rr = ChaCha8Rng::seed_from_u64(r.next_u64());
        let share = messages / 4 + u64::from(i < messages % 4);
        let (sent, refusals, answers, faults) =
            (sent.clone(), refusals.clone(), answers.clone(), faults.clone());
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ending = closing.clone();
        // The last barrier the server has answered (see below).
        let synced = Arc::new(AtomicU64::new(0));
        let seen = synced.clone();
        tasks.push(tokio::spawn(async move {
            // Reads every answer; true when the server closed the connection before we did (a
            // task that panicked drops its socket), or never answered after the last message.
            let reader = tokio::spawn(async move {
                let mut pong_at_end = false;
                while let Some(m) = rx.next().await {
                    let t = match m {
                        Ok(Message::Text(t)) => t,
                        Ok(Message::Close(_)) | Err(_) => break,
                        Ok(_) => continue,
                    };
                    answers.fetch_add(1, Ordering::Relaxed);
                    let count = |msg: &ServerMsg| {
                        if let ServerMsg::Error { message } = msg {
                            refusals.fetch_add(1, Ordering::Relaxed);
                            if message.trim().is_empty() {
                                faults.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    };
                    if let Some(k) = t
                        .split("fuzz-sync-")
                        .nth(1)
                        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|k| k.parse().ok())
                    {
                        seen.fetch_max(k, Ordering::Relaxed);
                    }
                    match serde_json::from_str::<ServerMsg>(&t) {
                        Ok(ServerMsg::Batch { items }) => items.iter().for_each(count),
                        Ok(ServerMsg::Pong) => pong_at_end |= ending.load(Ordering::Relaxed),
                        Ok(msg) => count(&msg),
                        Err(_) => {
                            faults.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                !(ending.load(Ordering::Relaxed) && pong_at_end)
            });
            let mut window: Vec<String> = Vec::new();
            for k in 0..share {
                // A client that reads its answers: every 2,000 messages it waits until the server
                // has answered a barrier (a subscription to a topic named for it, refused by name).
                // A client that floods without reading is held back by TCP and, once the server
                // has not been able to read from it for 45 s, dropped; that is not what this
                // measures.
                if k % 2000 == 1999 {
                    let b = k / 2000 + 1;
                    let barrier = format!(r#"{{"op":"subscribe","topics":["fuzz-sync-{b}"]}}"#);
                    if tx.send(Message::Text(barrier.into())).await.is_err() {
                        break;
                    }
                    let waited = Instant::now();
                    while synced.load(Ordering::Relaxed) < b && waited.elapsed().as_secs() < 60 {
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                    if synced.load(Ordering::Relaxed) < b {
                        let path = std::env::temp_dir().join(format!("yiping-fuzz-ws-{i}-{b}.ndjson"));
                        let _ = std::fs::write(&path, window.join("\n"));
                        eprintln!(
                            "FAULT: connection {i}: no answer to barrier {b} within 60 s; the messages since the last barrier are in {}",
                            path.display()
                        );
                        break;
                    }
                    window.clear();
                }
                let text = message_text(&mut rr);
                window.push(text.clone());
                if tx.send(Message::Text(text.into())).await.is_err() {
                    eprintln!("FAULT: connection {i} closed by the server after {k} messages");
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
            // The server still answers this connection after all that.
            closing.store(true, Ordering::Relaxed);
            let _ = tx.send(Message::Text(r#"{"op":"ping"}"#.into())).await;
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            let _ = tx.send(Message::Close(None)).await;
            reader.await.unwrap_or(true)
        }));
    }
    let mut dropped = 0;
    for t in tasks {
        if t.await.unwrap_or(true) {
            dropped += 1;
        }
    }
    let s = t0.elapsed().as_secs_f64();
    let (status, _, _) = http(addr, "GET", "/healthz", "", "").await;
    let n = sent.load(Ordering::Relaxed);
    println!(
        "websocket messages: {n} generated ({:.0}/s) over 4 connections (2 wall pages on this machine, 2 presenters) in {s:.1} s",
        n as f64 / s
    );
    println!(
        "  answers {}, refusals {}; connections that did not answer the closing ping {dropped}; faults (a refusal without a reason, an answer that is not a server message) {}; /healthz afterwards {status}",
        answers.load(Ordering::Relaxed),
        refusals.load(Ordering::Relaxed),
        faults.load(Ordering::Relaxed)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        (dropped, faults.load(Ordering::Relaxed), status),
        (0, 0, 200),
        "the websocket server failed the fuzz"
    );
}

fn main() {
    let lines = arg(0, 10_000_000);
    let messages = arg(1, 10_000_000);
    let seed = arg(2, 1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "fuzz: seed {seed}; machine load {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    ingest(lines, seed);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    rt.block_on(websocket(&mut r, messages, seed));
}
