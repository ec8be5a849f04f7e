//! A city deployment through the real binary: the shipped `deploy/huangshi.toml` (root region
//! 420200, its own title and sections) with the simulator running. Every figure is 黄石's, the
//! regions one level down are its six counties, events outside 黄石 are refused, the log audits
//! clean against the raw events, and a province log cannot be served as 黄石's.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use yiping_protocol::api::SiteInfo;
use yiping_protocol::topics::Overview;

const HUANGSHI: [&str; 6] = ["420202", "420203", "420204", "420205", "420222", "420281"];

fn config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/huangshi.toml").display().to_string()
}

fn get<T: serde::de::DeserializeOwned>(addr: std::net::SocketAddr, path: &str) -> T {
    let (status, body) = request(addr, "GET", path, &[], b"").expect("request");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

#[test]
fn a_city_deployment_shows_the_city_and_its_counties_only() {
    let data = data_dir("city");
    let config = config();
    let srv = Server::start(&data, free_port(), &["--config", &config, "--speed", "3000", "--seed", "7"]);
    let site: SiteInfo = get(srv.addr, "/api/v1/site");
    assert_eq!((site.root.as_str(), site.root_name.as_str()), ("420200", "黄石市"));
    assert_eq!(site.region, "420200");
    assert_eq!(site.title.as_deref(), Some("智慧黄石 · 一屏全览"));
    let children: Vec<&str> = site.children.iter().map(|c| c.adcode.as_str()).collect();
    assert_eq!(children, HUANGSHI);
    assert_eq!(site.children[5].name, "大冶市");
    // The simulator fills every theme with 黄石's data.
    let deadline = Instant::now() + Duration::from_secs(60);
    let o = loop {
        let o: Overview = get(srv.addr, "/api/v1/overview");
        let all = o.sections_reporting == 5
            && o.rivers.patrols > 0
            && o.projects.projects > 0
            && o.poverty.villages > 0;
        if all || Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!((o.region.as_str(), o.region_name.as_str()), ("420200", "黄石市"));
    assert_eq!(o.sections_reporting, 5, "the five configured sections report: {:?}", o.sections);
    assert!(o.sections.iter().all(|s| s.id.starts_with("hs-") && s.adcode.starts_with("4202")));
    assert!(o.rivers.patrols > 0 && o.projects.projects > 0 && o.poverty.villages > 0, "{o:?}");
    assert_eq!(o.children.keys().map(String::as_str).collect::<Vec<_>>(), HUANGSHI);
    // The counties add up to the city.
    let patrols: u64 = o.children.values().map(|c| c.patrols).sum();
    let projects: u32 = o.children.values().map(|c| c.projects).sum();
    assert_eq!((patrols, projects), (o.rivers.patrols, o.projects.projects));
    // The counties' own figures, and nothing of the rest of the province.
    let counties: yiping_protocol::api::CountiesAnswer = get(srv.addr, "/api/v1/counties");
    assert!(counties.counties.iter().all(|c| c.adcode.starts_with("4202")), "{:?}", counties.counties);
    let (status, _) = request(srv.addr, "GET", "/api/v1/regions/420100", &[], b"").expect("request");
    assert_eq!(status, 404, "武汉 is not a region of this deployment");
    // An event in 武汉 is refused, naming the field, the value and the root.
    let token = token(&data, "hsdata");
    let (status, answer) = post_events(srv.addr, &token, &patrol("wuhan-1"));
    assert_eq!(status, 422, "{answer}");
    let text = answer.to_string();
    assert!(text.contains("lies outside 黄石市 (420200)") && text.contains("data.lon, data.lat"), "{text}");
    drop(srv);
    // What the wall showed reconciles with the raw events, counted for 黄石.
    let out = std::process::Command::new(bin())
        .args(["audit", "--data"])
        .arg(&data)
        .env("YIPING_CONFIG", &config)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("every figure reconciles"), "{stdout}");
    // A log kept for 黄石 is not the province's, nor the other way round.
    let province = std::process::Command::new(bin())
        .args(["audit", "--data"])
        .arg(&data)
        .env_remove("YIPING_CONFIG")
        .env("YIPING_ROOT_REGION", "420000")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&province.stderr);
    assert!(!province.status.success());
    assert!(err.contains("holds the log of root region 420200, not 420000"), "{err}");
}

#[test]
fn a_section_outside_the_root_or_dropped_from_the_log_is_refused_at_start() {
    let dir = data_dir("city-refused");
    let file = dir.join("yiping.toml");
    let section = |id: &str, lon: f64, lat: f64| {
        format!(
            "[[sections]]\nid = \"{id}\"\nname = \"{id}\"\nriver = \"长江\"\nbody = \"river\"\nlon = {lon}\nlat = {lat}\n"
        )
    };
    let write = |sections: &str| {
        std::fs::write(&file, format!("root_region = \"420200\"\nsimulator = false\n\n{sections}"))
            .expect("writes")
    };
    let serve = || {
        std::process::Command::new(bin())
            .args(["serve", "--config"])
            .arg(&file)
            .arg("--data")
            .arg(dir.join("state"))
            .args(["--addr", "127.0.0.1:0"])
            .output()
            .expect("runs")
    };
    // 杨泗港 is in 武汉.
    write(&section("far", 114.2554, 30.5127));
    let out = serve();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("line 4: section \"far\" at [114.2554, 30.5127] lies outside 黄石市 (420200)"),
        "{err}"
    );
    // A log that knows a section keeps it: started once with two, refused with one.
    write(&(section("a", 115.182, 30.20596) + "\n" + &section("b", 115.06692, 30.2302)));
    let data = dir.join("state");
    let port = free_port();
    drop(Server::start(&data, port, &["--config", &file.display().to_string()]));
    write(&section("a", 115.182, 30.20596));
    let out = serve();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("the log knows monitoring sections that this configuration does not: b"), "{err}");
}

/// The shipped layer `name` (maps/data/hubei_<name>.geojson) with only the features `keep`
/// accepts, each changed by `change`.
fn shipped_layer(
    name: &str,
    keep: impl Fn(&serde_json::Value) -> bool,
    change: impl Fn(&mut serde_json::Value),
) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../maps/data/hubei_{name}.geojson"));
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("reads")).expect("json");
    let features = v["features"].as_array_mut().expect("features");
    features.retain(|f| keep(&f["properties"]));
    features.iter_mut().for_each(|f| change(&mut f["properties"]));
    v.to_string()
}

#[test]
fn a_deployment_s_own_boundary_files_are_checked_used_and_published() {
    let dir = data_dir("city-boundaries");
    let files = dir.join("official");
    std::fs::create_dir_all(&files).expect("mkdir");
    let in_huangshi = |p: &serde_json::Value| p["adcode"].as_str().is_some_and(|a| a.starts_with("4202"));
    let write = |counties: String| {
        std::fs::write(files.join("province.geojson"), shipped_layer("province", |_| true, |_| ()))
            .expect("writes");
        std::fs::write(files.join("prefectures.geojson"), shipped_layer("prefectures", in_huangshi, |_| ()))
            .expect("writes");
        std::fs::write(files.join("counties.geojson"), counties).expect("writes");
    };
    // An official layer whose 大冶市 carries the name the official file gives it.
    write(shipped_layer("counties", in_huangshi, |p| {
        if p["adcode"] == "420281" {
            p["name"] = "大冶市（官方界线）".into();
        }
    }));
    let data = dir.join("state");
    let folder = files.display().to_string();
    let srv = Server::start(&data, free_port(), &["--root-region", "420200", "--boundaries", &folder]);
    let site: SiteInfo = get(srv.addr, "/api/v1/site");
    let names: Vec<&str> = site.children.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"大冶市（官方界线）"), "{names:?}");
    let (status, layer) = request(srv.addr, "GET", "/geo/hubei_counties.geojson", &[], b"").expect("request");
    assert_eq!(status, 200);
    assert!(layer.contains("大冶市（官方界线）"), "the wall draws the official layer");
    // So does the map pack the wall reads.
    let (status, _, pack) = request_bytes(srv.addr, "GET", "/geo/layers.pack", &[], b"").expect("request");
    assert_eq!(status, 200);
    let pack = yiping_maps::pack::read(&pack).expect("the pack reads");
    assert!(pack.counties.iter().any(|c| c.name == "大冶市（官方界线）"), "the pack has the official layer");
    assert_eq!(pack.prefectures.len(), 1, "only 黄石 in this deployment's prefecture file");
    // Compressed with brotli when asked, the same pack; 304 while its tag holds.
    let (status, head, packed) =
        request_bytes(srv.addr, "GET", "/geo/layers.pack", &[("Accept-Encoding", "br")], b"")
            .expect("request");
    assert_eq!(status, 200);
    assert!(head.contains("content-encoding: br"), "{head}");
    let mut unpacked = Vec::new();
    std::io::Read::read_to_end(&mut brotli::Decompressor::new(&packed[..], 4096), &mut unpacked)
        .expect("brotli");
    assert_eq!(yiping_maps::pack::read(&unpacked).expect("reads").counties.len(), pack.counties.len());
    let etag = head.lines().find_map(|l| l.strip_prefix("etag: ")).expect("an ETag").to_owned();
    let (status, _, body) =
        request_bytes(srv.addr, "GET", "/geo/layers.pack", &[("If-None-Match", &etag)], b"")
            .expect("request");
    assert_eq!((status, body.len()), (304, 0));
    drop(srv);
    // A county that names no prefecture of the file is refused at start: file, feature, field.
    write(shipped_layer("counties", in_huangshi, |p| {
        if p["adcode"] == "420222" {
            p["parent_adcode"] = "420900".into();
        }
    }));
    let out = std::process::Command::new(bin())
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--root-region",
            "420200",
            "--boundaries",
            &folder,
            "--data",
        ])
        .arg(&data)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("the boundary files"), "{err}");
    assert!(
        err.contains(
            "counties.geojson: feature 4 (420222): field `parent_adcode`: \"420900\" is not a feature of"
        ),
        "{err}"
    );
}
