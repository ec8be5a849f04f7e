//! `/gallery`: every wall widget with sample data, for design review, tests and benchmarks.
//!
//! The data here is **sample data** (the page says so in its header): plausible magnitudes for
//! Hubei's prefectures that move every second, so animations and redraws can be seen. It never
//! reaches the wall's figures.
//!
//! Query parameters:
//! - `lang=en`: English.
//! - `only=w-ranking,w-ring`: only these widgets (by `data-testid`; the stale panel is `w-stale`).
//! - `frozen`: no movement (fixed data, for pixel review and click tests).
//! - `bench=N[&per_frame=K][&more=M]`: the benchmark driver ([`crate::bench`]). With `flush`,
//!   every chart waits for its pixels after drawing, so its draw time includes rasterisation.
//!   Every chart canvas reports `data-draws`, `data-draw-ms` and `data-draw-ms-total`; the page
//!   reports the wasm memory size in `data-wasm-bytes`.

use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::events::Stage as ProjectStage;
use yiping_widgets::chart::{
    AlertTicker, BarItem, Category, CompareItem, Comparison, ForecastSpec, Gauge, RankingBars, Ring,
    ShareGroup, Slice, StackedShares, Stage, StagePipeline, TickerItem, TimeSeries,
};
use yiping_widgets::format::shanghai_hms;
use yiping_widgets::layout::Pick;
use yiping_widgets::palette::{SERIES, WATER_CLASSES};
use yiping_widgets::{Kpi, Panel};

use crate::bench::{Bench, query_value, wasm_bytes};
use crate::i18n::{PREFECTURES, Text, prefecture_name, t};

/// Sample weekly patrols per prefecture (same order as [`PREFECTURES`]).
const PATROLS: [f64; 17] = [
    1820.0, 700.0, 1200.0, 1490.0, 1540.0, 350.0, 980.0, 1150.0, 1460.0, 1420.0, 900.0, 760.0, 1310.0, 400.0,
    380.0, 420.0, 120.0,
];

/// A small deterministic generator (xorshift) for the sample data's movement.
#[derive(Debug, Clone, Copy)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The sample data of every widget.
#[derive(Debug, Clone)]
struct Sample {
    rng: Rng,
    tick: u64,
    now: f64,
    patrols: [f64; 17],
    good_share: f64,
    do_mg: f64,
    classes: [[f64; 6]; 3],
    chains: [f64; 6],
    stages: [(f64, f64); 3],
    readings: f64,
    readings_prev: f64,
    alerts: Vec<TickerItem>,
}

impl Sample {
    fn new(now: f64) -> Sample {
        Sample {
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            tick: 0,
            now,
            patrols: PATROLS,
            good_share: 91.2,
            do_mg: 7.4,
            classes: [
                [2.0, 11.0, 5.0, 1.0, 0.0, 0.0],
                [1.0, 7.0, 4.0, 1.0, 1.0, 0.0],
                [0.0, 2.0, 5.0, 4.0, 2.0, 1.0],
            ],
            chains: [58.0, 41.0, 37.0, 29.0, 22.0, 15.0],
            stages: [(86.0, 9.0), (142.0, 14.0), (31.0, 2.0)],
            readings: 1_284_500.0,
            readings_prev: 1_190_300.0,
            alerts: vec![
                alert(
                    "A-1003",
                    0,
                    "新",
                    now - 40_000.0,
                    "荆州",
                    "长江荆州段 观音寺断面 氨氮 2.1 mg/L，劣于Ⅲ类目标",
                ),
                alert("A-1002", 1, "已确认", now - 300_000.0, "十堰", "丹江口库区 巡河逾期 3 天"),
                alert("A-1001", 2, "已派单", now - 900_000.0, "襄阳", "汉江襄阳段 非法采砂问题超期未办结"),
                alert("A-1000", 3, "新", now - 1_800_000.0, "黄冈", "麻城市 防返贫监测户新增 12 户"),
            ],
        }
    }

    /// One second of movement.
    fn step(&mut self, now: f64) {
        self.tick += 1;
        self.now = now;
        let r = &mut self.rng;
        for p in &mut self.patrols {
            *p += (r.next() * 30.0).floor();
        }
        self.good_share = (self.good_share + (r.next() - 0.5) * 0.8).clamp(80.0, 99.0);
        self.do_mg = (self.do_mg + (r.next() - 0.48) * 0.15).clamp(5.0, 9.5);
        let g = (r.next() * 3.0) as usize % 3;
        let c = (r.next() * 6.0) as usize % 6;
        self.classes[g][c] = (self.classes[g][c] + if r.next() < 0.5 { 1.0 } else { -1.0 }).max(0.0);
        let i = (r.next() * 6.0) as usize % 6;
        self.chains[i] += 1.0;
        let s = (r.next() * 3.0) as usize % 3;
        self.stages[s].0 += 1.0;
        if r.next() < 0.2 {
            self.stages[s].1 += 1.0;
        }
        self.readings += (r.next() * 200.0).floor();
        if self.tick.is_multiple_of(7) {
            let id = format!("A-{}", 1003 + self.tick / 7);
            let sev = (r.next() * 4.0) as u8 % 4;
            self.alerts.insert(0, alert(&id, sev, "新", now, "武汉", "东湖 总磷 0.09 mg/L，较前日上升 40%"));
            self.alerts.truncate(12);
        }
    }
}

fn alert(id: &str, severity: u8, state: &str, time_ms: f64, region: &str, text: &str) -> TickerItem {
    TickerItem {
        id: id.into(),
        severity,
        state: state.into(),
        time_ms,
        region: region.into(),
        text: text.into(),
    }
}

/// The gallery page.
#[component]
pub fn Gallery() -> impl IntoView {
    let query = crate::page::query();
    let lang = crate::page::start(&query, ("组件库 · 一屏全览", "Widget gallery · One Screen"));
    let frozen = query_value(&query, "frozen").is_some();
    let bench = Bench::from_query(&query);
    let start = js_sys::Date::now();
    let data = RwSignal::new(Sample::new(start));
    let updates = RwSignal::new(0u64);
    let now = RwSignal::new(start);
    let wasm = RwSignal::new(wasm_bytes());
    crate::timer::every(Duration::from_millis(500), move || {
        now.set(js_sys::Date::now());
        wasm.set(wasm_bytes());
    });
    // One update: a second of sample movement (in bench runs, as fast as frames allow).
    let step = move |now: f64| {
        data.update(|d| d.step(now));
        updates.update(|n| *n += 1);
    };
    let bench_update = move || step(data.with_untracked(|d| d.now) + 1000.0);
    match bench {
        Some(b) => b.start(bench_update),
        None if !frozen => {
            crate::timer::every(Duration::from_millis(1000), move || step(js_sys::Date::now()));
        }
        None => {}
    }
    let only = query_value(&query, "only").map(str::to_string);
    let want = move |id: &str| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == id));
    let last_pick: RwSignal<Option<Pick>> = RwSignal::new(None);
    let on_pick = Callback::new(move |p: Pick| last_pick.set(Some(p)));

    let name =
        move |i: usize| prefecture_name(lang, PREFECTURES[i].0).unwrap_or(PREFECTURES[i].1).to_string();
    let ranking = Signal::derive(move || {
        data.with(|d| {
            d.patrols
                .iter()
                .enumerate()
                .map(|(i, v)| BarItem { key: PREFECTURES[i].0.into(), label: name(i), value: *v })
                .collect::<Vec<_>>()
        })
    });
    let series_names = Signal::derive(move || {
        vec![
            lang.pick("Ⅰ–Ⅲ类水质占比", "Class I–III share").to_string(),
            lang.pick("溶解氧 ×10", "DO ×10").to_string(),
        ]
    });
    let latest = Signal::derive(move || data.with(|d| Some((d.now, vec![d.good_share, d.do_mg * 10.0]))));
    let class_labels = ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ"];
    let class_keys = ["I", "II", "III", "IV", "V", "WorseThanV"];
    let categories = Signal::derive(move || {
        (0..6)
            .map(|i| Category {
                key: class_keys[i].into(),
                label: lang.pick(
                    format!("{}类", class_labels[i]),
                    format!("Class {}", class_keys[i]).replace("WorseThanV", "V+"),
                ),
                color: WATER_CLASSES[i],
            })
            .collect::<Vec<_>>()
    });
    let groups = Signal::derive(move || {
        let names = [
            lang.pick("长江干流", "Yangtze main"),
            lang.pick("汉江", "Han River"),
            lang.pick("湖库", "Lakes"),
        ];
        let keys = ["yangtze", "han", "lakes"];
        data.with(|d| {
            (0..3)
                .map(|g| ShareGroup {
                    key: keys[g].into(),
                    label: names[g].into(),
                    counts: d.classes[g].to_vec(),
                })
                .collect::<Vec<_>>()
        })
    });
    let slices = Signal::derive(move || {
        let names = [
            lang.pick("光电子信息", "Optoelectronics"),
            lang.pick("汽车制造", "Automotive"),
            lang.pick("生物医药", "Biomedicine"),
            lang.pick("高端装备", "High-end equipment"),
            lang.pick("新材料", "New materials"),
            lang.pick("现代农业", "Modern agriculture"),
        ];
        data.with(|d| {
            (0..6)
                .map(|i| Slice {
                    key: format!("chain-{i}"),
                    label: names[i].into(),
                    value: d.chains[i],
                    color: Some(SERIES[i]),
                })
                .collect::<Vec<_>>()
        })
    });
    let stages = Signal::derive(move || {
        data.with(|d| {
            (0..3)
                .map(|i| Stage {
                    key: ProjectStage::ALL[i].as_str().into(),
                    label: crate::i18n::stage_name(lang, ProjectStage::ALL[i]).into(),
                    count: d.stages[i].0,
                    overdue: d.stages[i].1,
                })
                .collect::<Vec<_>>()
        })
    });
    let compare = Signal::derive(move || {
        data.with(|d| {
            [0usize, 4, 3, 8, 9]
                .iter()
                .map(|&i| CompareItem {
                    key: PREFECTURES[i].0.into(),
                    label: name(i),
                    current: Some(d.patrols[i]),
                    previous: Some(PATROLS[i] * 0.93),
                })
                .collect::<Vec<_>>()
        })
    });
    let alerts = Signal::derive(move || data.with(|d| d.alerts.clone()));
    let good = Signal::derive(move || data.with(|d| Some(d.good_share)));
    let readings = Signal::derive(move || data.with(|d| Some(d.readings)));
    let readings_prev = Signal::derive(move || data.with(|d| Some(d.readings_prev)));
    let labels =
        Signal::derive(move || (t(lang, Text::DataTime), t(lang, Text::Stale), t(lang, Text::NoData)));
    let data_ms = Signal::derive(move || Some(data.with(|d| d.now)));
    let old_ms = Signal::derive(move || Some(start - 5.0 * 60_000.0));
    let stale_after = if bench.is_some() || frozen { 1e12 } else { 5_000.0 };
    let panel = move |title: &'static str, title_en: &'static str| lang.pick(title, title_en).to_string();

    view! {
        <div
            class="gallery"
            data-testid="gallery"
            data-updates=move || updates.get().to_string()
            data-bench-done=move || bench.is_some_and(|b| b.done(updates.get())).then_some("1")
            data-wasm-bytes=move || format!("{:.0}", wasm.get())
        >
            <header class="gallery-head">
                <h1>{lang.pick("一屏全览 · 组件库", "One Screen · Widget gallery")}</h1>
                <span class="sim-badge">{lang.pick("示例数据", "Sample data")}</span>
                <output class="gallery-pick" data-testid="last-pick" data-widget=move || last_pick.get().map(|p| p.widget) data-key=move || last_pick.get().map(|p| p.key) data-series=move || last_pick.get().map(|p| p.series) data-value=move || last_pick.get().map(|p| p.value.to_string())>
                    {move || match last_pick.get() {
                        Some(p) => format!("{} {} · {} · {} · {}", lang.pick("点选:", "Picked:"), p.widget, p.series, p.label, p.value),
                        None => lang.pick("点选任一图形以查看其来源记录", "Touch any figure to see what it reports").to_string(),
                    }}
                </output>
            </header>
            {bench.map(|b| b.more_button(bench_update))}
            <main class="gallery-grid">
                {want("w-series").then(|| view! {
                    <Panel title=panel("实时趋势 · 趋势预判", "Live trend · forecast") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-series">
                        <TimeSeries
                            label=panel("实时趋势", "Live trend")
                            names=series_names
                            latest=latest
                            span_ms=120_000.0
                            unit="%".to_string()
                            forecast=ForecastSpec { steps: 12, resample: 60, z: 1.96, label: lang.pick("趋势预判 (Holt, 95%)", "Forecast (Holt, 95%)").into() }
                            on_pick=on_pick
                            test_id="w-series"
                        />
                    </Panel>
                })}
                {want("w-ranking").then(|| view! {
                    <Panel title=panel("巡河次数排名", "Patrols by prefecture") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-ranking">
                        <RankingBars
                            label=panel("巡河次数排名", "Patrols by prefecture")
                            items=ranking
                            unit=lang.pick("次", "").to_string()
                            decimals=1
                            rows=10
                            on_pick=on_pick
                            test_id="w-ranking"
                        />
                    </Panel>
                })}
                {want("w-stacked").then(|| view! {
                    <Panel title=panel("水质类别分布", "Water-quality classes") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-stacked">
                        <StackedShares
                            label=panel("水质类别分布", "Water-quality classes")
                            categories=categories
                            groups=groups
                            on_pick=on_pick
                            test_id="w-stacked"
                        />
                    </Panel>
                })}
                {want("w-ring").then(|| view! {
                    <Panel title=panel("产业链项目构成", "Projects by industry chain") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-ring">
                        <Ring
                            label=panel("产业链项目构成", "Projects by industry chain")
                            slices=slices
                            caption=lang.pick("项目总数", "projects").to_string()
                            decimals=1
                            on_pick=on_pick
                            test_id="w-ring"
                        />
                    </Panel>
                })}
                {want("w-gauge").then(|| view! {
                    <Panel title=panel("优良水体比例", "Good water share") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-gauge">
                        <Gauge
                            label=panel("Ⅰ–Ⅲ类占比 · 目标 88%", "Class I–III · target 88%")
                            value=good
                            min=0.0
                            max=100.0
                            target=Some(88.0)
                            unit="%".to_string()
                            on_pick=on_pick
                            test_id="w-gauge"
                        />
                    </Panel>
                })}
                {want("w-kpi").then(|| view! {
                    <Panel title=panel("核心指标", "Key figures") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-kpi">
                        <div class="kpi-grid">
                            <Kpi
                                label=panel("监测数据", "Readings")
                                value=readings
                                previous=readings_prev
                                change_label=lang.pick("较上期", "vs. last period").to_string()
                                unit=lang.pick("条", "").to_string()
                                decimals=2
                                on_pick=on_pick
                                test_id="w-kpi"
                            />
                            <Kpi label=panel("Ⅰ–Ⅲ类占比", "Class I–III") value=good unit="%".to_string() test_id="w-kpi-2" />
                        </div>
                    </Panel>
                })}
                {want("w-pipeline").then(|| view! {
                    <Panel title=panel("项目全生命周期", "Project life cycle") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-pipeline">
                        <StagePipeline
                            label=panel("项目全生命周期", "Project life cycle")
                            stages=stages
                            overdue_word=lang.pick("逾期", "Overdue").to_string()
                            unit=lang.pick("个", "").to_string()
                            on_pick=on_pick
                            test_id="w-pipeline"
                        />
                    </Panel>
                })}
                {want("w-compare").then(|| view! {
                    <Panel title=panel("巡河次数 · 同比", "Patrols · year on year") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-compare">
                        <Comparison
                            label=panel("巡河次数同比", "Patrols year on year")
                            items=compare
                            series=(lang.pick("本期", "This period").to_string(), lang.pick("上年同期", "Same period last year").to_string())
                            unit=lang.pick("次", "times").to_string()
                            on_pick=on_pick
                            test_id="w-compare"
                        />
                    </Panel>
                })}
                {want("w-stale").then(|| view! {
                    <Panel title=panel("数据中断示例", "A stale panel") data_ms=old_ms now_ms=now stale_after_ms=60_000.0 labels=labels class="g-stale">
                        <div class="g-stale-note">
                            {move || format!("{} {}", lang.pick("最后数据", "Last data"), shanghai_hms(start - 5.0 * 60_000.0))}
                        </div>
                    </Panel>
                })}
                {want("w-ticker").then(|| view! {
                    <Panel title=panel("预警滚动", "Alert ticker") data_ms=data_ms now_ms=now stale_after_ms=stale_after labels=labels class="g-ticker">
                        <AlertTicker
                            items=alerts
                            severity_words=Signal::derive(move || crate::alert_text::severity_words(lang))
                            empty=lang.pick("当前无预警", "No active alerts").to_string()
                            on_pick=on_pick
                            test_id="w-ticker"
                        />
                    </Panel>
                })}
            </main>
        </div>
    }
}
