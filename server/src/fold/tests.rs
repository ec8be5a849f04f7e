//! Fold correctness: the aggregates equal a straightforward recomputation from the raw events.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yiping_protocol::events::{Envelope, parse_line};

use super::*;

/// Random events of every type, reusing entity ids so that states get replaced, with times that
/// sometimes go backwards.
fn random_events(places: &Places, n: usize, seed: u64) -> Vec<(Envelope, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Points known to be inside counties: the sections' positions.
    let points: Vec<(f64, f64)> = places.sections().iter().map(|s| (s.lon, s.lat)).collect();
    let mut out = Vec::new();
    for i in 0..n {
        let (lon, lat) = points[rng.random_range(0..points.len())];
        let t = format!("2026-11-{:02}T{:02}:00:00Z", rng.random_range(10..20), rng.random_range(0..24));
        let e = rng.random_range(0..6);
        let data = match e {
            0 => {
                let s = &places.sections()[rng.random_range(0..places.sections().len())];
                format!(
                    r#"{{"section":"{}","ph":7.5,"do_mg_l":{:.2},"codmn_mg_l":2.5,"nh3n_mg_l":{:.2},"tp_mg_l":{:.3}}}"#,
                    s.id,
                    rng.random_range(1.5..9.0),
                    rng.random_range(0.05..2.5),
                    rng.random_range(0.01..0.5)
                )
            }
            1 => format!(
                r#"{{"outlet":"O{}","name":"排口","river":"长江","lon":{lon},"lat":{lat},"status":"{}"}}"#,
                rng.random_range(0..8),
                ["identified", "remediating", "remediated"][rng.random_range(0..3)]
            ),
            2 => format!(
                r#"{{"patrol":"F{i}","lon":{lon},"lat":{lat},"officers":3,"hours":{:.1},"violations":{}}}"#,
                rng.random_range(0.5..6.0),
                rng.random_range(0..3)
            ),
            3 => format!(
                r#"{{"patrol":"R{i}","chief":"C1","chief_name":"张三","level":"{}","river":"汉江","lon":{lon},"lat":{lat},"minutes":{}}}"#,
                ["province", "city", "county", "township", "village"][rng.random_range(0..5)],
                rng.random_range(10..240)
            ),
            4 => format!(
                r#"{{"problem":"P{}","river":"汉江","lon":{lon},"lat":{lat},"kind":"{}","status":"{}","found":"2026-11-01T00:00:00Z"}}"#,
                rng.random_range(0..10),
                ["garbage", "sewage", "encroachment", "illegal_sand", "other"][rng.random_range(0..5)],
                ["found", "assigned", "rectifying", "closed"][rng.random_range(0..4)]
            ),
            _ => {
                if rng.random_bool(0.5) {
                    format!(
                        r#"{{"project":"J{}","name":"项目","industry":"汽车","lon":{lon},"lat":{lat},"plan_wan":{:.1},"done_wan":{:.1},"steps":[{{"step":"approval","due":"2026-11-12","done":"2026-11-01"}},{{"step":"start","due":"2026-11-15"{}}}]}}"#,
                        rng.random_range(0..6),
                        rng.random_range(1000.0..90000.0),
                        rng.random_range(0.0..1000.0),
                        if rng.random_bool(0.5) { r#","done":"2026-11-14""# } else { "" }
                    )
                } else {
                    let m = rng.random_range(0..20);
                    format!(
                        r#"{{"village":"V{}","name":"村","lon":{lon},"lat":{lat},"lifted_households":{},"monitored_households":{m},"risk_households":{},"income_yuan":{:.0},"assistance_wan":{:.1}}}"#,
                        rng.random_range(0..6),
                        rng.random_range(50..400),
                        rng.random_range(0..=m),
                        rng.random_range(9000.0..20000.0),
                        rng.random_range(0.0..80.0)
                    )
                }
            }
        };
        let kind =
            ["water.reading", "water.outlet", "water.fishing_patrol", "river.patrol", "river.problem", ""][e];
        let kind = if kind.is_empty() {
            if data.contains("\"project\"") { "project.update" } else { "poverty.village" }
        } else {
            kind
        };
        let line = format!(r#"{{"type":"{kind}","id":"e{i}","time":"{t}","source":"test","data":{data}}}"#);
        let env = parse_line(&line).unwrap_or_else(|err| panic!("{line}: {err}"));
        let county = places.locate(&env).expect("inside the region");
        out.push((env, county));
    }
    out
}

#[test]
fn aggregates_equal_a_recount_from_the_raw_events() {
    let places = Arc::new(Places::hubei());
    let events = random_events(&places, 3000, 42);
    let mut fold = Fold::new(places.clone());
    for (e, county) in &events {
        fold.apply(e, county);
    }

    // The straightforward way (crate::audit): the last state of every entity, summed per region,
    // plus the counted events.
    let regions: Vec<String> = {
        let mut r: Vec<String> = events.iter().flat_map(|(_, c)| places.rollup(c)).collect();
        r.sort();
        r.dedup();
        r
    };
    assert!(regions.len() >= 5);
    for region in &regions {
        let want = crate::audit::recount(&places, &events, region);
        let got = crate::audit::Figures {
            water: fold.water.region(region),
            rivers: fold.rivers.region(region),
            projects: fold.projects.region(region),
            poverty: fold.poverty.region(region),
            coverage: fold.coverage(region),
        };
        assert_eq!(crate::audit::differences(&got, &want), Vec::<String>::new(), "{region}");
    }
    assert!(fold.overview().coverage.rivers > 0);
    let poverty = fold.poverty.region(ROOT);
    assert!(poverty.risk_added > 0 && poverty.risk_removed > 0, "villages rose and fell: {poverty:?}");
    // The overview is the province's aggregates.
    let o = fold.overview();
    assert_eq!(o.rivers, fold.rivers.region(ROOT));
    assert_eq!(o.readings_total, fold.water.region(ROOT).readings);
    assert_eq!(o.sections.iter().filter(|s| s.class.is_some()).count() as u32, o.sections_reporting);
    // And carries the 17 prefectures' figures, each its region's.
    assert_eq!(o.prefectures.len(), 17);
    for (a, f) in &o.prefectures {
        assert_eq!(
            (f.patrols, f.problems_open),
            (fold.rivers.region(a).patrols, fold.rivers.region(a).problems_open)
        );
        assert_eq!(
            (f.plan_wan, f.done_wan),
            (fold.projects.region(a).plan_wan, fold.projects.region(a).done_wan)
        );
    }
    let sum: u64 = o.prefectures.values().map(|f| f.patrols).sum();
    assert_eq!(sum, o.rivers.patrols, "the prefectures partition the province");
    // Each theme's data time is the newest event time of that theme (whatever the order).
    let mut want: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut other = Fold::new(places.clone());
    for (e, county) in &events {
        let topic = other.apply(e, county).topic.to_owned();
        let t = want.entry(topic).or_default();
        if e.time > *t {
            t.clone_from(&e.time);
        }
    }
    assert_eq!(want.len(), 4, "the sample covers the four themes");
    assert_eq!(o.theme_times, want);
    // Overdue steps by stage partition the overdue steps.
    assert!(o.projects.overdue_steps > 0, "the sample has overdue steps");
    assert_eq!(o.projects.overdue_by_stage.iter().sum::<u32>(), o.projects.overdue_steps);
}

#[test]
fn a_delta_carries_the_changed_entity_and_regions() {
    let places = Arc::new(Places::hubei());
    let mut fold = Fold::new(places.clone());
    let line = r#"{"type":"river.problem","id":"1","time":"2026-11-22T08:00:00Z","source":"t","data":{"problem":"P1","river":"汉江","lon":114.2199,"lat":30.5797,"kind":"garbage","status":"found","found":"2026-11-22T08:00:00Z"}}"#;
    let e = parse_line(line).expect("valid");
    let county = places.locate(&e).expect("in 硚口区");
    let change = fold.apply(&e, &county);
    assert_eq!(change.topic, "rivers");
    let d: ThemeData<RiversAgg> =
        serde_json::from_value(serde_json::to_value(&change.delta).expect("serialises"))
            .expect("theme delta");
    assert_eq!(d.entities.keys().collect::<Vec<_>>(), vec!["problem:P1"]);
    assert_eq!(d.entities["problem:P1"].status, "found");
    assert_eq!(d.regions.keys().cloned().collect::<Vec<_>>(), vec!["420000", "420100", "420104"]);
    assert_eq!(d.regions["420000"].problems_open, 1);
    // Closing it: open count falls back, the problem stays counted.
    let closed = parse_line(
        &line.replace("\"found\",\"found\"", "\"closed\",\"found\"").replace("\"id\":\"1\"", "\"id\":\"2\""),
    )
    .expect("valid");
    fold.apply(&closed, &county);
    let root = fold.rivers.region(ROOT);
    assert_eq!((root.problems, root.problems_open), (1, 0));
    // A closed case leaves the live state (so state does not grow with years of closed cases)
    // but keeps counting; reported again, it replaces its closed self instead of counting twice.
    assert!(fold.rivers.entity("problem:P1").is_none());
    assert!(fold.rivers.snapshot().entities.is_empty());
    let reopened = parse_line(&line.replace("\"id\":\"1\"", "\"id\":\"3\"")).expect("valid");
    fold.apply(&reopened, &county);
    let root = fold.rivers.region(ROOT);
    assert_eq!((root.problems, root.problems_open), (1, 1));
    assert!(fold.rivers.entity("problem:P1").is_some());
}

#[test]
fn a_fold_restored_from_a_snapshot_continues_exactly_like_the_original() {
    let places = Arc::new(Places::hubei());
    let events = random_events(&places, 2000, 7);
    let (first, rest) = events.split_at(1200);
    let mut full = Fold::new(places.clone());
    for (e, c) in first {
        full.apply(e, c);
    }
    let text = serde_json::to_string(&full.to_snapshot()).expect("serialises");
    let mut restored =
        Fold::from_snapshot(places.clone(), serde_json::from_str(&text).expect("deserialises"));
    for (e, c) in rest {
        let a = full.apply(e, c);
        let b = restored.apply(e, c);
        assert_eq!(
            serde_json::to_value(&a.delta).expect("ser"),
            serde_json::to_value(&b.delta).expect("ser"),
            "same deltas"
        );
    }
    assert_eq!(full.overview(), restored.overview());
    for t in ["water", "rivers", "projects", "poverty"] {
        assert_eq!(full.snapshot(t), restored.snapshot(t), "{t}");
    }
}

#[test]
fn patrol_coverage_counts_the_rivers_patrolled_in_the_week_up_to_the_newest_data() {
    let places = Arc::new(Places::hubei());
    let line = |id: &str, t: &str, river: &str| {
        format!(
            r#"{{"type":"river.patrol","id":"{id}","time":"{t}","data":{{"patrol":"{id}","chief":"C1","chief_name":"王建国","level":"county","river":"{river}","lon":114.2199,"lat":30.5797,"minutes":45}}}}"#
        )
    };
    let events: Vec<(Envelope, String)> = [
        line("p1", "2026-11-01T08:00:00Z", "汉江"),
        line("p2", "2026-11-09T08:00:00Z", "府河"),
        line("p3", "2026-10-20T08:00:00Z", "府河"), // late and older: the newest stays
        line("p4", "2026-11-10T08:00:00Z", "汉江").replace("114.2199", "110.8"), // elsewhere (十堰)
    ]
    .iter()
    .map(|l| {
        let e = parse_line(l).expect("valid");
        let c = places.locate(&e).expect("placed");
        (e, c)
    })
    .collect();
    let mut fold = Fold::new(places.clone());
    for (e, c) in &events {
        fold.apply(e, c);
    }
    // As of 11-10: the week starts 11-03. 汉江 in 硚口 (11-01) is out, 府河 (11-09) in, 汉江 in
    // 十堰 (11-10) in.
    let province = fold.overview().coverage;
    assert_eq!((province.rivers, province.patrolled_7d), (3, 2));
    assert_eq!(province.percent().map(|p| p.round()), Some(67.0));
    let wuhan = fold.coverage("420100");
    assert_eq!((wuhan.rivers, wuhan.patrolled_7d), (2, 1));
    assert_eq!(crate::audit::recount(&places, &events, "420100").coverage, wuhan);
    assert_eq!(crate::audit::recount(&places, &events, ROOT).coverage, province);
}

#[test]
fn the_history_keeps_the_figures_at_the_end_of_each_step_of_the_newest_data() {
    let places = Arc::new(Places::hubei());
    let line = |id: &str, t: &str, risk: u32| {
        format!(
            r#"{{"type":"poverty.village","id":"{id}","time":"{t}","data":{{"village":"V1","name":"村","lon":114.2199,"lat":30.5797,"lifted_households":80,"monitored_households":15,"risk_households":{risk},"income_yuan":{},"assistance_wan":8}}}}"#,
            10_000 + risk * 100
        )
    };
    let mut fold = Fold::new(places.clone());
    for (id, t, risk) in [
        ("a", "2026-11-01T08:01:00Z", 3),
        ("b", "2026-11-01T08:05:00Z", 4), // same step: overwrites it
        ("c", "2026-11-01T08:25:00Z", 6), // a later step
        ("d", "2026-11-01T08:02:00Z", 1), // late: changes the figures of the newest step only
    ] {
        let e = parse_line(&line(id, t, risk)).expect("valid");
        let c = places.locate(&e).expect("placed");
        fold.apply(&e, &c);
    }
    let h = fold.history();
    let got: Vec<(&str, u64, Option<f64>)> =
        h.iter().map(|p| (p.t.as_str(), p.risk_households, p.mean_income)).collect();
    assert_eq!(
        got,
        [("2026-11-01T08:00:00Z", 4, Some(10_400.0)), ("2026-11-01T08:20:00Z", 1, Some(10_100.0))]
    );
    // A week later, the first steps have gone.
    let e = parse_line(&line("e", "2026-11-09T08:00:00Z", 2)).expect("valid");
    let c = places.locate(&e).expect("placed");
    fold.apply(&e, &c);
    assert_eq!(fold.history().len(), 1);
    // And a fold restored from its snapshot has the same history.
    let snap = serde_json::to_string(&fold.to_snapshot()).expect("serialises");
    let back = Fold::from_snapshot(places, serde_json::from_str(&snap).expect("parses"));
    assert_eq!(back.history(), fold.history());
}
