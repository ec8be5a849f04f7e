//! The `/wallbench` page (see the module above): a header, two side columns of six charts and the
//! map between them, fed by [`Workload`] and driven by the benchmark's contract.

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yiping_widgets::NumberStyle;
use yiping_widgets::chart::{BarItem, Gauge, RankingBars, Ring, Sample, Slice, TimeSeries};
use yiping_widgets::format::shanghai_hms;
use yiping_widgets::palette::{self, SERIES};

use super::workload::{self, Level, Workload};
use crate::bench::{perf_now, query_value, wasm_bytes};
use crate::i18n::PREFECTURES;
use crate::map::{Choropleth, HubeiMap, Marker};

/// The colour of a marker's class (normal is the wall's accent cyan).
fn colour(val: f64) -> &'static str {
    match Level::of(val) {
        Level::Normal => palette::ACCENT.css(),
        Level::Warning => palette::WARN.css(),
        Level::Alarm => palette::BAD.css(),
    }
}

/// Everything the page shows, one signal per widget; a tick changes them in place.
#[derive(Debug, Clone, Copy)]
struct Shown {
    choropleth: RwSignal<Option<Choropleth>>,
    markers: RwSignal<Vec<Marker>>,
    histories: [RwSignal<Vec<Sample>>; workload::LINES],
    latest: [RwSignal<Option<Sample>>; workload::LINES],
    bars: [RwSignal<Vec<BarItem>>; workload::BARS],
    rings: [RwSignal<Vec<Slice>>; workload::RINGS],
    gauges: [RwSignal<Option<f64>>; workload::GAUGES],
    ticks: RwSignal<u64>,
    clock: RwSignal<f64>,
}

const CHAINS: [&str; workload::SLICES] =
    ["光电子信息", "汽车制造", "生物医药", "高端装备", "新材料", "现代农业"];

impl Shown {
    fn new() -> Shown {
        Shown {
            choropleth: RwSignal::new(None),
            markers: RwSignal::new(Vec::new()),
            histories: std::array::from_fn(|_| RwSignal::new(Vec::new())),
            latest: std::array::from_fn(|_| RwSignal::new(None)),
            bars: std::array::from_fn(|_| RwSignal::new(Vec::new())),
            rings: std::array::from_fn(|_| RwSignal::new(Vec::new())),
            gauges: std::array::from_fn(|_| RwSignal::new(None)),
            ticks: RwSignal::new(0),
            clock: RwSignal::new(js_sys::Date::now()),
        }
    }

    /// Show the initial state of `w`, the counties' adcodes in feature order.
    fn start(&self, w: &Workload, adcodes: &[String]) {
        self.choropleth.set(Some(Choropleth {
            title: "示例指标 (各县, 0–100)".into(),
            values: adcodes.iter().cloned().zip(w.counties.iter().copied()).collect(),
        }));
        self.markers.set(
            w.markers
                .iter()
                .enumerate()
                .map(|(i, p)| Marker {
                    key: format!("M{i:04}"),
                    lon: p.lon,
                    lat: p.lat,
                    color: colour(p.val),
                    label: format!("示例标记 {i:04}"),
                    pulse: false,
                })
                .collect(),
        );
        for (h, line) in self.histories.iter().zip(&w.lines) {
            h.set(line.iter().map(|&(t, v)| (t, vec![v])).collect());
        }
        for (s, bars) in self.bars.iter().zip(&w.bars) {
            s.set(
                PREFECTURES
                    .iter()
                    .zip(bars)
                    .map(|(p, &value)| BarItem { key: p.0.into(), label: p.1.into(), value })
                    .collect(),
            );
        }
        for (s, ring) in self.rings.iter().zip(&w.rings) {
            s.set(
                CHAINS
                    .iter()
                    .zip(ring)
                    .enumerate()
                    .map(|(i, (label, &value))| Slice {
                        key: format!("s{i}"),
                        label: (*label).into(),
                        value,
                        color: Some(SERIES[i % SERIES.len()]),
                    })
                    .collect(),
            );
        }
        for (s, &g) in self.gauges.iter().zip(&w.gauges) {
            s.set(Some(g));
        }
    }

    /// Show `w` after a tick: the existing widgets take the new values.
    fn tick(&self, w: &Workload, adcodes: &[String]) {
        self.choropleth.update(|c| {
            if let Some(c) = c {
                for (code, &v) in adcodes.iter().zip(&w.counties) {
                    if let Some(x) = c.values.get_mut(code) {
                        *x = v;
                    }
                }
            }
        });
        self.markers.update(|ms| {
            for (m, p) in ms.iter_mut().zip(&w.markers) {
                m.lon = p.lon;
                m.lat = p.lat;
                m.color = colour(p.val);
            }
        });
        for (s, line) in self.latest.iter().zip(&w.lines) {
            s.set(line.back().map(|&(t, v)| (t, vec![v])));
        }
        for (s, bars) in self.bars.iter().zip(&w.bars) {
            s.update(|items| items.iter_mut().zip(bars).for_each(|(b, &v)| b.value = v));
        }
        for (s, ring) in self.rings.iter().zip(&w.rings) {
            s.update(|items| items.iter_mut().zip(ring).for_each(|(x, &v)| x.value = v));
        }
        for (s, &g) in self.gauges.iter().zip(&w.gauges) {
            s.set(Some(g));
        }
        self.ticks.set(w.ticks);
        self.clock.set(js_sys::Date::now());
    }
}

/// Set `window.wall[key] = value`.
fn set(obj: &js_sys::Object, key: &str, value: &wasm_bindgen::JsValue) {
    let _ = js_sys::Reflect::set(obj, &key.into(), value);
}

/// Each canvas of the page that draws frames (not the map's ground, drawn with the map's
/// frames: see `crate::map`): whether it is the map, its draws so far, and the markers it took.
fn canvases() -> Vec<(bool, u64, u64)> {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return Vec::new() };
    let Ok(list) = doc.query_selector_all(".wallbench canvas:not(.map-ground)") else { return Vec::new() };
    let num = |c: &web_sys::Element, k: &str| c.get_attribute(k).and_then(|v| v.parse().ok()).unwrap_or(0);
    (0..list.length())
        .filter_map(|i| list.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()))
        .map(|c| {
            (
                c.get_attribute("data-testid").as_deref() == Some("map"),
                num(&c, "data-draws"),
                num(&c, "data-markers"),
            )
        })
        .collect()
}

/// Whether every canvas has drawn since `before` (the draws when the data was given: a chart
/// may have drawn empty before it) and the map with every marker.
fn drawn(before: &[(bool, u64, u64)]) -> bool {
    let now = canvases();
    now.len() == before.len()
        && now.len() > workload::LINES + workload::BARS + workload::RINGS + workload::GAUGES
        && now.iter().zip(before).all(|(&(map, draws, markers), &(_, was, _))| {
            draws > was && (!map || markers == workload::MARKERS as u64)
        })
}

/// Resolve `ready` on the frame after everything has drawn with the data, at most `frames`
/// frames from now (else reject it: the page never drew).
fn when_drawn(
    ready: js_sys::Function,
    fail: js_sys::Function,
    timings: js_sys::Object,
    before: Vec<(bool, u64, u64)>,
    frames: u32,
) {
    request_animation_frame(move || {
        if drawn(&before) {
            request_animation_frame(move || {
                set(&timings, "readyMs", &perf_now().into());
                let _ = ready.call0(&wasm_bindgen::JsValue::NULL);
            });
        } else if frames == 0 {
            let _ =
                fail.call1(&wasm_bindgen::JsValue::NULL, &"wallbench: the wall did not draw its data".into());
        } else {
            when_drawn(ready, fail, timings, before, frames - 1);
        }
    });
}

/// The seed as the peer reads it (`Number(seed) >>> 0`; 1 when absent or not a number).
fn seed_of(query: &str) -> u32 {
    match query_value(query, "seed").and_then(|v| v.parse::<f64>().ok()).filter(|x| x.is_finite()) {
        Some(x) => x.trunc().rem_euclid(4_294_967_296.0) as u32,
        None => 1,
    }
}

/// The wall benchmark page.
#[component]
pub fn WallBench() -> impl IntoView {
    provide_context(NumberStyle::Chinese);
    let init_ms = perf_now();
    let query = crate::page::query();
    let auto = query_value(&query, "auto") != Some("0");
    let seed = seed_of(&query);
    let shown = Shown::new();
    let work: StoredValue<Option<(Workload, Vec<String>)>> = StoredValue::new(None);
    let update = move || {
        work.update_value(|w| {
            if let Some((w, adcodes)) = w {
                w.tick();
                shown.tick(w, adcodes);
                // `window.wall.tick`: the driver counts the updates applied by it.
                if let Some(wall) =
                    web_sys::window().and_then(|win| js_sys::Reflect::get(&win, &"wall".into()).ok())
                {
                    let _ = js_sys::Reflect::set(&wall, &"tick".into(), &(w.ticks as f64).into());
                }
            }
        });
    };

    // The page contract, on `window.wall`.
    let wall = js_sys::Object::new();
    let timings = js_sys::Object::new();
    let mut settle = None;
    let ready = js_sys::Promise::new(&mut |res, rej| settle = Some((res, rej)));
    let info = js_sys::Object::new();
    set(&info, "impl", &"yiping".into());
    set(&info, "version", &env!("CARGO_PKG_VERSION").into());
    set(&info, "seed", &seed.into());
    set(&info, "renderer", &"yiping map engine (tiered canvas) + plotters widgets".into());
    set(&info, "markers", &(workload::MARKERS as u32).into());
    // Where the product draws differently from the workload's description (WALLBENCH.md).
    set(
        &info,
        "differences",
        &"markers near each other are clustered as on the wall; the choropleth has five classes, not a continuous scale; \
          county names and borders are drawn when the map is zoomed to a prefecture, not at province scale; river widths \
          follow the map's own ranks; each line ends in a dot"
            .into(),
    );
    set(&wall, "info", &info);
    set(&wall, "timings", &timings);
    set(&wall, "tick", &0.into());
    set(&wall, "ready", &ready);
    set(&wall, "update", &Closure::<dyn Fn()>::new(update).into_js_value());
    set(&wall, "memoryBytes", &Closure::<dyn Fn() -> f64>::new(wasm_bytes).into_js_value());
    set(&timings, "initMs", &init_ms.into());
    if let Some(w) = web_sys::window() {
        set(&w, "wall", &wall);
    }
    on_cleanup(|| {
        if let Some(w) = web_sys::window() {
            let _ = js_sys::Reflect::delete_property(&w, &"wall".into());
        }
    });

    leptos::task::spawn_local(async move {
        // The counties in the layer's feature order (the pack keeps it).
        let counties = crate::map::map_pack()
            .await
            .map(|p| p.counties.iter().map(|c| c.adcode.clone()).collect::<Vec<String>>());
        let Some((res, rej)) = settle else { return };
        let adcodes = match counties {
            Ok(c) => c,
            Err(e) => {
                let e = format!("wallbench: the counties could not be loaded: {e}");
                leptos::logging::error!("{e}");
                set(&wall, "error", &e.clone().into());
                let _ = rej.call1(&wasm_bindgen::JsValue::NULL, &e.into());
                return;
            }
        };
        // The workload is drawn for Hubei's 103 counties: another deployment's boundaries give
        // other numbers than the peer's (said in `info.counties`).
        set(&info, "counties", &(adcodes.len() as u32).into());
        if adcodes.len() != 103 {
            leptos::logging::warn!(
                "wallbench: {} counties, not Hubei's 103: not the peer's workload",
                adcodes.len()
            );
        }
        let before = canvases();
        let w = Workload::new(seed, adcodes.len());
        shown.start(&w, &adcodes);
        work.set_value(Some((w, adcodes)));
        set(&timings, "dataMs", &perf_now().into());
        // Up to about a minute of frames.
        when_drawn(res, rej, timings, before, 3600);
    });
    // Started here, not in the task above (which has no owner to stop it): `update` does
    // nothing until the data is loaded.
    if auto {
        crate::timer::every(Duration::from_secs(1), update);
    }

    let chart = move |i: usize| {
        let (title, body) = match i {
            0..4 => (
                format!("示例趋势 {}", i + 1),
                view! {
                    <TimeSeries
                        label=format!("示例趋势 {}", i + 1)
                        names=vec![format!("序列 {}", i + 1)]
                        latest=shown.latest[i]
                        history=Signal::from(shown.histories[i])
                        span_ms=(workload::LINE_POINTS as f64 - 1.0) * 1000.0
                        capacity=workload::LINE_POINTS
                        fill=true
                        test_id="wb-line"
                    />
                }
                .into_any(),
            ),
            4..8 => (
                format!("示例排名 {} (各市州)", i - 3),
                view! {
                    <RankingBars
                        label=format!("示例排名 {}", i - 3)
                        items=shown.bars[i - 4]
                        decimals=1
                        rows=workload::PREFECTURES
                        test_id="wb-bars"
                    />
                }
                .into_any(),
            ),
            8..10 => (
                format!("示例构成 {}", i - 7),
                view! { <Ring label=format!("示例构成 {}", i - 7) slices=shown.rings[i - 8] caption="合计".to_string() test_id="wb-ring" /> }
                    .into_any(),
            ),
            _ => (
                format!("示例仪表 {}", i - 9),
                view! { <Gauge label=format!("示例仪表 {}", i - 9) value=shown.gauges[i - 10] min=0.0 max=100.0 test_id="wb-gauge" /> }
                    .into_any(),
            ),
        };
        // The data is sample data without a time of its own (the header says so): a panel
        // with its title only.
        view! {
            <section class="panel panel-chart">
                <header class="panel-head"><h2 class="panel-title">{title}</h2></header>
                <div class="panel-body">{body}</div>
            </section>
        }
    };
    // Left: lines 0–1, bars 0–1, ring 0, gauge 0; right: lines 2–3, bars 2–3, ring 1, gauge 1.
    let left = [0, 1, 4, 5, 8, 10];
    let right = [2, 3, 6, 7, 9, 11];
    view! {
        <div class="wallbench" data-testid="wallbench" data-ticks=move || shown.ticks.get().to_string()>
            <header class="wallbench-head">
                <h1>"一屏全览 · 大屏基准负载"</h1>
                <span class="sim-badge">"示例数据 · sample data (WALLBENCH)"</span>
                <span class="wallbench-clock">{move || shanghai_hms(shown.clock.get())}</span>
                <span class="wallbench-ticks" data-testid="wallbench-ticks">{move || format!("第 {} 次更新", shown.ticks.get())}</span>
            </header>
            <main class="wallbench-body">
                <div class="wallbench-side">{left.into_iter().map(chart).collect::<Vec<_>>()}</div>
                <div class="wallbench-map">
                    <HubeiMap overview=RwSignal::new(None) choropleth=shown.choropleth markers=shown.markers no_overview=true />
                </div>
                <div class="wallbench-side">{right.into_iter().map(chart).collect::<Vec<_>>()}</div>
            </main>
        </div>
    }
}
