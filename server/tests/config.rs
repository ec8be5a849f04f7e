//! Site configuration through the real binary: `yiping.toml` < `YIPING_*` < flags, `yiping
//! config` saying where each value came from, refusals naming file, line, key and value, and a
//! server started from nothing but a configuration file.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

/// `yiping ARGS` in `dir` with exactly the `YIPING_*` variables given (none inherited).
fn yiping(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("YIPING_") {
            c.env_remove(k);
        }
    }
    c.envs(env.iter().copied()).env("RUST_LOG", "warn");
    c
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    yiping(dir, args, env).output().expect("runs")
}

/// The line of `yiping config`'s output that sets `key`.
fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap_or_else(|| panic!("no {key} in {out}"))
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file() {
    let dir = data_dir("config-precedence");
    std::fs::write(dir.join("yiping.toml"), "seed = 7\nspeed = 120\nsession_hours = 8\nsimulator = false\n")
        .expect("writes");
    // ./yiping.toml is read when present.
    let out = run(&dir, &["config", "--seed", "9"], &[("YIPING_SEED", "8"), ("YIPING_SPEED", "30")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert_eq!(line(&text, "seed"), "seed = 9  # flag --seed");
    assert_eq!(line(&text, "speed"), "speed = 30.0  # environment YIPING_SPEED");
    assert_eq!(line(&text, "session_hours"), "session_hours = 8  # yiping.toml line 3");
    assert_eq!(line(&text, "simulator"), "simulator = false  # yiping.toml line 4");
    assert_eq!(line(&text, "addr"), "addr = \"127.0.0.1:8080\"  # default");
    assert!(text.contains("# retain_days =  (unset)"), "{text}");
    // A flag left at its default does not hide the file's value; --no-simulator is a flag.
    let out = run(&dir, &["config", "--no-simulator", "--speed", "60"], &[]);
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert_eq!(line(&text, "seed"), "seed = 7  # yiping.toml line 1");
    assert_eq!(line(&text, "speed"), "speed = 60.0  # flag --speed");
    assert_eq!(line(&text, "simulator"), "simulator = false  # flag --no-simulator");

    // --config names another file, and so does YIPING_CONFIG; the printed configuration is a
    // valid configuration file that gives the same values.
    let other = dir.join("city.toml");
    std::fs::write(&other, "addr = \"0.0.0.0:9000\"\n").expect("writes");
    let by_flag = run(&dir, &["config", "--config", other.to_str().expect("utf8")], &[]);
    let by_env = run(&dir, &["config"], &[("YIPING_CONFIG", other.to_str().expect("utf8"))]);
    let text = String::from_utf8(by_flag.stdout).expect("utf8");
    assert_eq!(text, String::from_utf8(by_env.stdout).expect("utf8"));
    assert!(line(&text, "addr").starts_with("addr = \"0.0.0.0:9000\"  # "), "{text}");
    assert_eq!(line(&text, "seed"), "seed = 2026  # default", "the other file replaces ./yiping.toml");
    let printed = dir.join("printed.toml");
    std::fs::write(&printed, &text).expect("writes");
    let again = run(&dir, &["config", "--config", printed.to_str().expect("utf8")], &[]);
    let again = String::from_utf8(again.stdout).expect("utf8");
    let values = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split("  #").next().unwrap_or(l).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&again), values(&text));
}

#[test]
fn a_bad_configuration_is_refused_naming_where_the_key_and_the_value() {
    let dir = data_dir("config-refused");
    let file = dir.join("yiping.toml");
    std::fs::write(&file, "# a city\nport = 8080\nspeed = \"fast\"\nanonymous = \"public\"\n")
        .expect("writes");
    let out = run(&dir, &["config"], &[("YIPING_SESSION_HOURS", "forever")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).expect("utf8");
    for expect in [
        "yiping.toml line 2: port: unknown key (the keys are root_region, boundaries, title, addr, data, ",
        "yiping.toml line 3: speed = \"fast\": expected a number above 0",
        "yiping.toml line 4: anonymous = \"public\": expected off, local or all",
        "YIPING_SESSION_HOURS=\"forever\": expected a whole number of hours",
    ] {
        assert!(err.contains(expect), "missing {expect:?} in {err}");
    }
    // `serve` refuses the same configuration at start, before it listens or touches a data
    // folder.
    let data = dir.join("data");
    let t = Instant::now();
    let out = run(&dir, &["serve", "--data", data.to_str().expect("utf8"), "--addr", "127.0.0.1:0"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(t.elapsed() < Duration::from_secs(10));
    let err = String::from_utf8(out.stderr).expect("utf8");
    assert!(err.contains("the configuration is refused"), "{err}");
    assert!(err.contains("yiping.toml line 2: port: unknown key"), "{err}");
    assert!(!data.exists(), "nothing is created on a refused configuration");
    // Not valid TOML: the line of the fault.
    std::fs::write(&file, "seed = 1\nspeed = = 2\n").expect("writes");
    let err = String::from_utf8(run(&dir, &["config"], &[]).stderr).expect("utf8");
    assert!(err.contains("yiping.toml line 2: not valid TOML"), "{err}");
    // A root region that is not in the boundary layers, named with where it was set; `config`
    // says so as `serve` would.
    std::fs::write(&file, "root_region = \"430000\"\n").expect("writes");
    let err = String::from_utf8(run(&dir, &["config"], &[]).stderr).expect("utf8");
    assert!(
        err.contains("yiping.toml line 1: root_region = \"430000\": root region \"430000\" is not in the boundary layers"),
        "{err}"
    );
    let err =
        String::from_utf8(run(&dir, &["config"], &[("YIPING_ROOT_REGION", "429004")]).stderr).expect("utf8");
    assert!(err.contains("environment YIPING_ROOT_REGION: root_region = \"429004\": root region 429004 (仙桃市) has no counties under it"), "{err}");
    // A file named and missing.
    let out = run(&dir, &["config", "--config", "nowhere.toml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).expect("utf8");
    assert!(err.contains("cannot read the configuration file nowhere.toml"), "{err}");
}

#[test]
fn a_server_runs_from_its_configuration_file_alone() {
    let dir = data_dir("config-serve");
    let port = free_port();
    let data = dir.join("state");
    std::fs::write(
        dir.join("yiping.toml"),
        format!(
            "addr = \"127.0.0.1:{port}\"\ndata = {:?}\nsimulator = false\nclock = 2026-11-20T08:00:00+08:00\n",
            data.display().to_string()
        ),
    )
    .expect("writes");
    let mut child =
        yiping(&dir, &["serve"], &[]).stdout(std::process::Stdio::null()).spawn().expect("starts");
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut up = false;
    while Instant::now() < deadline && !up {
        up = matches!(request(addr, "GET", "/healthz", &[], b""), Ok((200, _)));
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "the server listens on the file's address");
    assert!(data.join("yiping.lock").exists(), "and keeps its files in the file's data folder");
}

#[test]
fn offline_commands_find_the_configured_data_folder() {
    let dir = data_dir("config-offline");
    std::fs::write(dir.join("yiping.toml"), "data = \"state\"\n").expect("writes");
    let mut add = yiping(&dir, &["user", "add", "--name", "hs_duty", "--role", "duty"], &[])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    use std::io::Write;
    add.stdin.take().expect("stdin").write_all(b"long-enough-pw\n").expect("writes");
    let out = add.wait_with_output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("state").is_dir(), "the user went into the configured folder");
    let list = String::from_utf8(run(&dir, &["user", "list"], &[]).stdout).expect("utf8");
    assert!(list.contains("hs_duty"), "{list}");
    // YIPING_DATA over the file, --data over both.
    let other = dir.join("elsewhere");
    let list = run(&dir, &["user", "list"], &[("YIPING_DATA", other.to_str().expect("utf8"))]);
    assert!(!String::from_utf8_lossy(&list.stdout).contains("hs_duty"));
    assert!(other.is_dir());
    let list = run(&dir, &["user", "list", "--data", "state"], &[("YIPING_DATA", "nowhere")]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("hs_duty"));
}
