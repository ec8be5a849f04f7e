//! Fold correctness: the aggregates equal a straightforward recomputation from the raw events.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yiping_protocol::events::{Envelope, parse_line};
use yiping_protocol::instant::{Date, Timestamp};

use super::*;
use crate::places::ROOT;

/// Random events of every type, reusing entity ids so that states get replaced, with times that
/// sometimes go backwards.
fn random_events(places: &Places, n: usize, seed: u64) -> Vec<(Envelope, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Points known to be inside counties: the sections' positions.
    let points: Vec<(f64, f64)> = places.sections().iter().map(|s| (s.lon, s.lat)).collect();
    let mut out = Vec::new();
    for i in 0..n {
        let (lon, lat) = points[rng.random_range(0..points.len())];
        // Times as real sources write them: UTC or +08:00, whole or fractional seconds.
        let (day, hour, minute, second) = (
            rng.random_range(10..20),
            rng.random_range(0..24),
            rng.random_range(0..60),
            rng.random_range(0..60),
        );
        let frac =
            if rng.random_bool(0.3) { format!(".{}", rng.random_range(1..1000)) } else { String::new() };
        let t = if rng.random_bool(0.5) {
            format!("2026-11-{day:02}T{hour:02}:{minute:02}:{second:02}{frac}Z")
        } else {
            let utc = Timestamp::parse(&format!("2026-11-{day:02}T{hour:02}:{minute:02}:{second:02}{frac}Z"))
                .expect("a time");
            let local = utc.plus_s(8 * 3600).to_string();
            format!("{}+08:00", local.trim_end_matches('Z'))
        };
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
        let mut r: Vec<String> = events
            .iter()
            .flat_map(|(_, c)| places.rollup(c).iter().map(|r| r.to_string()).collect::<Vec<_>>())
            .collect();
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
    assert_eq!(o.children.len(), 17);
    for (a, f) in &o.children {
        assert_eq!(
            (f.patrols, f.problems_open),
            (fold.rivers.region(a).patrols, fold.rivers.region(a).problems_open)
        );
        assert_eq!(
            (f.plan_wan, f.done_wan),
            (fold.projects.region(a).plan_wan, fold.projects.region(a).done_wan)
        );
    }
    let sum: u64 = o.children.values().map(|f| f.patrols).sum();
    assert_eq!(sum, o.rivers.patrols, "the prefectures partition the province");
    // Each theme's data time is the newest event time of that theme (whatever the order).
    let mut want: std::collections::BTreeMap<String, Timestamp> = std::collections::BTreeMap::new();
    for (e, _) in &events {
        let t = want.entry(e.data.topic().to_owned()).or_insert(e.time.at);
        *t = (*t).max(e.time.at);
    }
    assert_eq!(want.len(), 4, "the sample covers the four themes");
    assert_eq!(o.theme_times, want);
    // Overdue: as of 11-20 the sample has overdue steps, and the overdue projects are those
    // whose earliest open step is past due.
    let day = Date::parse("2026-11-20").expect("date");
    assert!(o.projects.overdue_steps(day) > 0, "the sample has overdue steps");
    assert!(o.projects.overdue_projects(day).iter().sum::<u32>() <= o.projects.projects);
    // The history's steps equal a recount of the events before each step's end.
    let h = fold.history();
    assert!(h.len() > 100, "{} steps", h.len());
    for p in h.iter().step_by(97).chain(h.last()) {
        let want = crate::audit::history_point(&places, &events, p.t);
        let d = crate::audit::value_differences(&serde_json::json!(p), &serde_json::json!(want));
        assert!(d.is_empty(), "history at {}: {d:?}", p.t);
    }
    // And each prefecture's (a scoped wall's), recounted for the prefecture.
    let mut regions: Vec<&str> = events.iter().map(|(_, c)| places.prefecture(c)).collect();
    regions.sort_unstable();
    regions.dedup();
    assert!(regions.len() >= 3, "{regions:?}");
    for region in regions {
        let h = fold.history_of(region).expect("a prefecture's history");
        assert!(!h.is_empty(), "{region}");
        for p in h.iter().step_by(131).chain(h.last()) {
            let want = crate::audit::history_point_of(&places, &events, p.t, region);
            let d = crate::audit::value_differences(&serde_json::json!(p), &serde_json::json!(want));
            assert!(d.is_empty(), "{region} history at {}: {d:?}", p.t);
        }
    }
    assert_eq!(fold.history_of("420105"), None, "a county's is not kept");
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
fn a_batch_is_one_delta_per_topic_with_the_state_it_left() {
    let places = Arc::new(Places::hubei());
    let problem = r#"{"type":"river.problem","id":"1","time":"2026-11-22T08:00:00Z","source":"t","data":{"problem":"P1","river":"汉江","lon":114.2199,"lat":30.5797,"kind":"garbage","status":"found","found":"2026-11-22T08:00:00Z"}}"#;
    let closed = problem
        .replace("\"found\",\"found\"", "\"closed\",\"found\"")
        .replace("\"id\":\"1\"", "\"id\":\"2\"")
        .replace("08:00:00Z\",\"source", "09:00:00Z\",\"source");
    let other = problem.replace("P1", "P2").replace("\"id\":\"1\"", "\"id\":\"3\"");
    // In 宜昌 (another prefecture), and a patrol in 武汉.
    let far = other
        .replace("114.2199", "111.29")
        .replace("30.5797", "30.70")
        .replace("P2", "P3")
        .replace("\"id\":\"3\"", "\"id\":\"4\"");
    let patrol = r#"{"type":"river.patrol","id":"5","time":"2026-11-22T10:00:00Z","source":"t","data":{"patrol":"R1","chief":"C1","chief_name":"张三","level":"county","river":"汉江","lon":114.2199,"lat":30.5797,"minutes":30}}"#;
    let reading = r#"{"type":"water.reading","id":"6","time":"2026-11-22T08:00:00Z","source":"t","data":{"section":"cj-yangsigang","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08}}"#;
    let lines = [problem, &closed, &other, &far, patrol, reading];
    let events: Vec<(Envelope, String)> = lines
        .iter()
        .map(|l| {
            let e = parse_line(l).expect("valid");
            let county = places.locate(&e).expect("in Hubei");
            (e, county)
        })
        .collect();
    let mut fold = Fold::new(places.clone());
    let mut changes = Changes::default();
    for (e, county) in &events {
        assert!(fold.apply_to(e, county, &mut changes).delta.is_none(), "made once the batch is folded");
    }
    assert_eq!(changes.topics().collect::<Vec<_>>(), ["rivers", "water"], "as they first changed");
    let deltas = fold.deltas(changes);
    let rivers: ThemeData<RiversAgg> =
        serde_json::from_value(serde_json::to_value(&deltas[0].1).expect("serialises")).expect("a delta");
    // P1 as the batch left it: closed (it has left the live state, the delta still says so).
    assert_eq!(rivers.entities.keys().collect::<Vec<_>>(), ["problem:P1", "problem:P2", "problem:P3"]);
    assert_eq!(rivers.entities["problem:P1"].status, "closed");
    assert!(fold.rivers.entity("problem:P1").is_none());
    // Every region any event moved, each with its figures after the whole batch.
    let regions: Vec<&String> = rivers.regions.keys().collect();
    assert_eq!(
        regions,
        ["420000", "420100", "420104", "420500", &places.locate(&events[3].0).expect("in 宜昌")]
    );
    for (code, agg) in &rivers.regions {
        assert_eq!(agg, &fold.rivers.region(code), "{code}");
    }
    assert_eq!((rivers.regions["420000"].problems, rivers.regions["420000"].problems_open), (3, 2));
    assert_eq!(rivers.regions["420000"].patrols, 1);
    // The same events one by one end in the same state.
    let mut one_by_one = Fold::new(places.clone());
    for (e, county) in &events {
        one_by_one.apply(e, county);
    }
    assert_eq!(everything(&one_by_one), everything(&fold));
    let water: ThemeData<WaterAgg> =
        serde_json::from_value(serde_json::to_value(&deltas[1].1).expect("serialises")).expect("a delta");
    assert_eq!(water.entities.keys().collect::<Vec<_>>(), ["section:cj-yangsigang"]);
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
    let copy = full.to_snapshot();
    let text = serde_json::to_string(&copy).expect("serialises");
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
    // The copy shares the entities' reports with the fold until the fold changes them: what it
    // saves is still the state at the copy.
    assert_eq!(serde_json::to_string(&copy).expect("serialises"), text, "the copy is unchanged");
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
    // By event time: a (08:01, 3), d (08:02, 1, late), b (08:05, 4), c (08:25, 6). Each step is
    // the figures as of its end, whatever the arrival order; steps without data carry over.
    let h = fold.history();
    let got: Vec<(String, u64, Option<f64>)> =
        h.iter().map(|p| (p.t.to_string(), p.risk_households, p.mean_income)).collect();
    let want = [
        ("2026-11-01T08:00:00Z", 4, Some(10_400.0)),
        ("2026-11-01T08:10:00Z", 4, Some(10_400.0)),
        ("2026-11-01T08:20:00Z", 6, Some(10_600.0)),
    ];
    assert_eq!(got, want.map(|(t, r, i)| (t.to_owned(), r, i)));
    // A week later the window starts 7 days before the newest step, its first point carries the
    // figures from before it, and it has a point for every step.
    let e = parse_line(&line("e", "2026-11-09T08:00:00Z", 2)).expect("valid");
    let c = places.locate(&e).expect("placed");
    fold.apply(&e, &c);
    let h = fold.history();
    assert_eq!(h.len(), 7 * 144 + 1);
    assert_eq!((h[0].t.to_string().as_str(), h[0].risk_households), ("2026-11-02T08:00:00Z", 6));
    assert_eq!(h.last().map(|p| p.risk_households), Some(2));
    // A late report inside the window changes the steps from its time to the next report.
    let e = parse_line(&line("f", "2026-11-05T08:00:00+08:00", 9)).expect("valid");
    fold.apply(&e, &c);
    let h = fold.history();
    let at = |t: &str| h.iter().find(|p| p.t.to_string() == t).map(|p| p.risk_households);
    assert_eq!(at("2026-11-04T23:50:00Z"), Some(6));
    assert_eq!(at("2026-11-05T00:00:00Z"), Some(9));
    assert_eq!(at("2026-11-09T07:50:00Z"), Some(9));
    assert_eq!(at("2026-11-09T08:00:00Z"), Some(2));
    // And a fold restored from its snapshot has the same history.
    let snap = serde_json::to_string(&fold.to_snapshot()).expect("serialises");
    let back = Fold::from_snapshot(places, serde_json::from_str(&snap).expect("parses"));
    assert_eq!(back.history(), fold.history());
}

/// Everything a wall can show from a fold: every region's aggregates, every entity's state, the
/// overview and the history, as JSON.
fn everything(fold: &Fold) -> serde_json::Value {
    // A region whose figures went back to zero (an entity moved away) is the same as one never
    // touched.
    fn drop_zero<A: Aggregate + PartialEq>(mut d: ThemeData<A>) -> serde_json::Value {
        d.regions.retain(|_, a| *a != A::default());
        serde_json::to_value(d).expect("serialises")
    }
    serde_json::json!({
        "themes": [drop_zero(fold.water.snapshot()), drop_zero(fold.rivers.snapshot()), drop_zero(fold.projects.snapshot()), drop_zero(fold.poverty.snapshot())],
        "overview": fold.overview(),
        "history": fold.history(),
        "prefecture_histories": fold.places.children().iter().map(|c| fold.history_of(c)).collect::<Vec<_>>(),
    })
}

#[test]
fn any_arrival_order_gives_the_same_figures_also_after_a_snapshot() {
    use rand::seq::SliceRandom;
    let places = Arc::new(Places::hubei());
    let events = random_events(&places, 1500, 99);
    let mut reference = Fold::new(places.clone());
    for (e, c) in &events {
        reference.apply_quiet(e, c);
    }
    let want = everything(&reference);
    for seed in 0..12u64 {
        let mut shuffled = events.clone();
        shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        // Half of the permutations go through a snapshot and a restore part way.
        let cut = if seed % 2 == 0 { shuffled.len() } else { shuffled.len() / 3 };
        let mut fold = Fold::new(places.clone());
        for (e, c) in &shuffled[..cut] {
            fold.apply_quiet(e, c);
        }
        if cut < shuffled.len() {
            let text = serde_json::to_string(&fold.to_snapshot()).expect("serialises");
            fold = Fold::from_snapshot(places.clone(), FoldSnapshot::read(&text).expect("reads back"));
            for (e, c) in &shuffled[cut..] {
                fold.apply_quiet(e, c);
            }
        }
        let d = crate::audit::value_differences(&everything(&fold), &want);
        assert!(
            d.is_empty(),
            "permutation {seed}: {} differences, first {:?}",
            d.len(),
            &d[..d.len().min(5)]
        );
    }
}

/// Fold `lines` in the order given.
fn fold_lines(places: &Arc<Places>, lines: &[String]) -> Fold {
    let mut fold = Fold::new(places.clone());
    for l in lines {
        let e = parse_line(l).unwrap_or_else(|err| panic!("{l}: {err}"));
        let c = places.locate(&e).expect("placed");
        fold.apply(&e, &c);
    }
    fold
}

#[test]
fn a_late_report_never_replaces_a_newer_one_for_any_kind_of_entity() {
    let places = Arc::new(Places::hubei());
    let ev = |kind: &str, id: &str, t: &str, data: String| {
        format!(r#"{{"type":"{kind}","id":"{id}","time":"{t}","source":"s","data":{data}}}"#)
    };
    // A problem closed at 11:00 and its 10:00 "assigned" report arriving after it.
    let problem = |id: &str, t: &str, status: &str| {
        ev(
            "river.problem",
            id,
            t,
            format!(
                r#"{{"problem":"Q1","river":"汉江","lon":114.2199,"lat":30.5797,"kind":"garbage","status":"{status}","found":"2026-11-22T09:00:00+08:00"}}"#
            ),
        )
    };
    let f = fold_lines(
        &places,
        &[problem("1", "2026-11-22T11:00:00Z", "closed"), problem("2", "2026-11-22T10:00:00Z", "assigned")],
    );
    let r = f.rivers.region(ROOT);
    assert_eq!((r.problems, r.problems_open), (1, 0), "the late report does not reopen it");
    assert!(f.rivers.entity("problem:Q1").is_none());
    // A section: a reading written with +08:00 is earlier than a later UTC one, whatever the text.
    let reading = |id: &str, t: &str, nh3n: f64| {
        ev(
            "water.reading",
            id,
            t,
            format!(
                r#"{{"section":"cj-yangsigang","ph":7.5,"do_mg_l":8.0,"codmn_mg_l":2.0,"nh3n_mg_l":{nh3n},"tp_mg_l":0.05}}"#
            ),
        )
    };
    let f = fold_lines(
        &places,
        &[reading("1", "2026-11-22T09:00:00Z", 0.1), reading("2", "2026-11-22T16:30:00+08:00", 1.8)],
    );
    let s = f.overview().sections.into_iter().find(|s| s.id == "cj-yangsigang").expect("section");
    assert_eq!(s.class, Some(WaterClass::II), "the 09:00Z reading is the newer one");
    assert_eq!(f.water.region(ROOT).readings, 2, "the late one still counts");
    // Fractions: …:56Z is earlier than …:56.1Z.
    let f = fold_lines(
        &places,
        &[reading("1", "2026-11-22T08:00:56.1Z", 1.8), reading("2", "2026-11-22T08:00:56Z", 0.1)],
    );
    assert_eq!(
        f.overview().sections.iter().find(|s| s.id == "cj-yangsigang").and_then(|s| s.class),
        Some(WaterClass::V)
    );
    // An outlet remediated, then its old "identified" report.
    let outlet = |id: &str, t: &str, status: &str| {
        ev(
            "water.outlet",
            id,
            t,
            format!(
                r#"{{"outlet":"O1","name":"排口","river":"长江","lon":114.2199,"lat":30.5797,"status":"{status}"}}"#
            ),
        )
    };
    let f = fold_lines(
        &places,
        &[
            outlet("1", "2026-11-22T10:00:00Z", "remediated"),
            outlet("2", "2026-11-01T10:00:00Z", "identified"),
        ],
    );
    assert_eq!(f.water.region(ROOT).outlets_remediated, 1);
    // A project: an older report arriving later does not roll its progress back.
    let project = |id: &str, t: &str, done: f64| {
        ev(
            "project.update",
            id,
            t,
            format!(
                r#"{{"project":"J1","name":"项目","industry":"汽车","lon":114.2199,"lat":30.5797,"plan_wan":1000,"done_wan":{done},"steps":[{{"step":"approval","due":"2026-11-12"}}]}}"#
            ),
        )
    };
    let f = fold_lines(
        &places,
        &[project("1", "2026-11-22T10:00:00Z", 600.0), project("2", "2026-11-15T10:00:00Z", 100.0)],
    );
    assert_eq!(f.projects.region(ROOT).done_wan, 600.0);
    // A village: 3 at 11-01, 5 at 11-20, then the 11-10 report (9) arrives late. The state stays
    // 5, and the flows follow event time: 3 → 9 → 5 is 6 added and 4 removed.
    let village = |id: &str, t: &str, risk: u32| {
        ev(
            "poverty.village",
            id,
            t,
            format!(
                r#"{{"village":"V1","name":"村","lon":114.2199,"lat":30.5797,"lifted_households":80,"monitored_households":15,"risk_households":{risk},"income_yuan":10000,"assistance_wan":8}}"#
            ),
        )
    };
    let lines = [
        village("1", "2026-11-01T00:00:00Z", 3),
        village("2", "2026-11-20T00:00:00Z", 5),
        village("3", "2026-11-10T00:00:00+08:00", 9),
    ];
    let f = fold_lines(&places, &lines);
    let p = f.poverty.region(ROOT);
    assert_eq!((p.risk_households, p.risk_added, p.risk_removed), (5, 6, 4));
    let events: Vec<(Envelope, String)> = lines
        .iter()
        .map(|l| {
            let e = parse_line(l).expect("valid");
            let c = places.locate(&e).expect("placed");
            (e, c)
        })
        .collect();
    assert_eq!(crate::audit::recount(&places, &events, ROOT).poverty, p);
}

#[test]
fn overdue_moves_at_beijing_midnight_without_any_event() {
    let places = Arc::new(Places::hubei());
    // A step due 2026-11-22 (Beijing), not done; the report itself is from 11-01.
    let line = r#"{"type":"project.update","id":"1","time":"2026-11-01T10:00:00+08:00","source":"s","data":{"project":"J1","name":"项目","industry":"汽车","lon":114.2199,"lat":30.5797,"plan_wan":1000,"done_wan":10,"steps":[{"step":"approval","due":"2026-10-01","done":"2026-09-30"},{"step":"land","due":"2026-11-22"}]}}"#;
    let f = fold_lines(&places, &[line.to_owned()]);
    let agg = f.projects.region(ROOT);
    let today = |t: &str| Timestamp::parse(t).expect("time").beijing_date();
    // 23:59:59 on the due date in Beijing: not yet overdue; one second later it is.
    assert_eq!(agg.overdue_steps(today("2026-11-22T15:59:59Z")), 0);
    assert_eq!(agg.overdue_steps(today("2026-11-22T16:00:00Z")), 1);
    assert_eq!(agg.overdue_approval_steps(today("2026-11-22T16:00:00Z")), 1);
    assert_eq!(agg.overdue_projects(today("2026-11-23T00:00:01+08:00")), [1, 0, 0]);
    // The same instant written with another offset is the same day.
    assert_eq!(
        agg.overdue_steps(today("2026-11-23T00:00:00+08:00")),
        agg.overdue_steps(today("2026-11-22T16:00:00Z"))
    );
}

#[test]
fn a_snapshot_of_format_3_carries_over_with_the_root_history_only() {
    let places = Arc::new(Places::hubei());
    let events = random_events(&places, 600, 5);
    let mut fold = Fold::new(places.clone());
    for (e, c) in &events {
        fold.apply_quiet(e, c);
    }
    // Format 3 kept one history, the root's, where format 4 keeps `{root, children, …}`.
    let mut v = serde_json::to_value(fold.to_snapshot()).expect("serialises");
    v["history"] = v["history"]["root"].take();
    v["version"] = 3.into();
    let text = v.to_string();
    assert!(FoldSnapshot::read(&text).is_none(), "another format: rebuilt from the log when it can be");
    let old = Fold::from_snapshot(places.clone(), FoldSnapshot::read_older(&text).expect("carried over"));
    assert_eq!(old.overview(), fold.overview());
    assert_eq!(old.history(), fold.history());
    assert_eq!(old.history_of("420100"), None, "the regions' histories are not known");
    assert!(FoldSnapshot::read_older(&serde_json::to_string(&fold.to_snapshot()).expect("json")).is_none());
}

#[test]
fn a_village_s_flows_kept_as_reports_arrive_equal_the_sum_over_all_of_them() {
    // Reports in any order of arrival (late ones between others, some at the same instant from
    // two sources, one folded twice, with the same figure or another): after each, the flows
    // kept equal those summed again.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for round in 0..200 {
        let n = rng.random_range(1..40);
        let mut arrivals: Vec<(Order, u32)> = (0..n)
            .map(|i| {
                let at = Timestamp::from_unix_s(1_790_000_000 + 600 * rng.random_range(0..20));
                let source = if rng.random_bool(0.5) { "a" } else { "b" };
                let order = Order { at, source: source.into(), id: format!("r{i}").into() };
                (order, rng.random_range(0..12))
            })
            .collect();
        if round % 3 == 0 {
            // The first report again, with the same figure or another.
            let again =
                (arrivals[0].0.clone(), if round % 2 == 0 { arrivals[0].1 } else { rng.random_range(0..12) });
            arrivals.push(again);
        }
        let (mut reports, mut flows) = (BTreeMap::new(), (0, 0));
        for (order, risk) in arrivals {
            add_village_report(&mut reports, &mut flows, order, risk);
            assert_eq!(flows, village_flows(reports.values().copied()), "round {round}");
        }
    }
}
