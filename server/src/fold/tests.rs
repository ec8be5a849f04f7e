//! Fold correctness: the aggregates equal a straightforward recomputation from the raw events.

use std::collections::HashMap;

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

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn aggregates_equal_a_recount_from_the_raw_events() {
    let places = Arc::new(Places::hubei());
    let events = random_events(&places, 3000, 42);
    let mut fold = Fold::new(places.clone());
    for (e, county) in &events {
        fold.apply(e, county);
    }

    // The straightforward way: the last state of every entity (water sections: latest by sampling
    // time), summed per region; counted events summed per region.
    let mut latest: HashMap<String, (&Envelope, &String)> = HashMap::new();
    for (e, c) in &events {
        let key = e.data.entity();
        let replace = match (&e.data, latest.get(&key)) {
            (Event::WaterReading(_), Some((prev, _))) => e.time >= prev.time,
            _ => true,
        };
        if replace {
            latest.insert(key, (e, c));
        }
    }
    let in_region = |county: &str, region: &str| places.rollup(county).iter().any(|r| r == region);
    let regions: Vec<String> = {
        let mut r: Vec<String> = events.iter().flat_map(|(_, c)| places.rollup(c)).collect();
        r.sort();
        r.dedup();
        r
    };
    assert!(regions.len() >= 5);
    for region in &regions {
        let mut w = WaterAgg::default();
        let mut rv = RiversAgg::default();
        let mut pj = ProjectsAgg::default();
        let mut pv = PovertyAgg::default();
        for (e, c) in events.iter().filter(|(_, c)| in_region(c, region)) {
            match &e.data {
                Event::WaterReading(_) => w.readings += 1,
                Event::FishingPatrol(p) => {
                    w.fishing_patrols += 1;
                    w.fishing_hours += p.hours;
                    w.fishing_violations += u64::from(p.violations);
                }
                Event::RiverPatrol(p) => {
                    rv.patrols += 1;
                    rv.patrol_minutes += u64::from(p.minutes);
                    rv.patrols_by_level[p.level as usize] += 1;
                }
                _ => {}
            }
            let _ = c;
        }
        for (e, c) in latest.values().filter(|(_, c)| in_region(c, region)) {
            match &e.data {
                Event::WaterReading(r) => {
                    let s = &places.sections()[places.section(&r.section).expect("known")];
                    w.sections_reporting += 1;
                    w.class_counts[class_index(r.indicators().class(s.body))] += 1;
                }
                Event::SewageOutlet(o) => {
                    w.outlets += 1;
                    w.outlets_remediated += u32::from(o.status == OutletStatus::Remediated);
                }
                Event::RiverProblem(p) => {
                    rv.problems += 1;
                    rv.problems_open += u32::from(p.status != ProblemStatus::Closed);
                    rv.problems_by_kind[p.kind as usize] += 1;
                }
                Event::Project(p) => {
                    pj.projects += 1;
                    pj.plan_wan += p.plan_wan;
                    pj.done_wan += p.done_wan;
                    let started = p.steps.iter().any(|s| s.step == StepKind::Start && s.done.is_some());
                    pj.by_stage[usize::from(started)] += 1;
                    pj.overdue_steps +=
                        p.steps.iter().filter(|s| s.done.is_none() && s.due.as_str() < &e.time[..10]).count()
                            as u32;
                }
                Event::Village(v) => {
                    pv.villages += 1;
                    pv.lifted_households += u64::from(v.lifted_households);
                    pv.monitored_households += u64::from(v.monitored_households);
                    pv.risk_households += u64::from(v.risk_households);
                    pv.assistance_wan += v.assistance_wan;
                    pv.income_sum_yuan += v.income_yuan;
                }
                _ => {}
            }
            let _ = c;
        }
        let fw = fold.water.region(region);
        assert!(close(fw.fishing_hours, w.fishing_hours), "{region}");
        assert_eq!(
            WaterAgg { fishing_hours: 0.0, ..fw },
            WaterAgg { fishing_hours: 0.0, ..w },
            "water {region}"
        );
        assert_eq!(fold.rivers.region(region), rv, "rivers {region}");
        let fp = fold.projects.region(region);
        assert!(close(fp.plan_wan, pj.plan_wan) && close(fp.done_wan, pj.done_wan), "{region}");
        assert_eq!(
            ProjectsAgg { plan_wan: 0.0, done_wan: 0.0, ..fp },
            ProjectsAgg { plan_wan: 0.0, done_wan: 0.0, ..pj },
            "projects {region}"
        );
        let fv = fold.poverty.region(region);
        assert!(close(fv.assistance_wan, pv.assistance_wan) && close(fv.income_sum_yuan, pv.income_sum_yuan));
        assert_eq!(
            PovertyAgg { assistance_wan: 0.0, income_sum_yuan: 0.0, ..fv },
            PovertyAgg { assistance_wan: 0.0, income_sum_yuan: 0.0, ..pv },
            "poverty {region}"
        );
    }
    // The overview is the province's aggregates.
    let o = fold.overview();
    assert_eq!(o.rivers, fold.rivers.region(ROOT));
    assert_eq!(o.readings_total, fold.water.region(ROOT).readings);
    assert_eq!(o.sections.iter().filter(|s| s.class.is_some()).count() as u32, o.sections_reporting);
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
