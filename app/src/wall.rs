//! The wall's overview page: the four themes' headline figures and charts around the map of
//! Hubei. One touch on a prefecture (its ranking bar or the map) flies the map there and opens
//! its records (`drill`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use send_wrapper::SendWrapper;

use leptos::prelude::*;
use yiping_protocol::alerts::{AlertState, Severity};
use yiping_protocol::events::Stage as ProjectStage;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::Overview;
use yiping_protocol::water::WaterClass;
use yiping_widgets::chart::{AlertTicker, BarItem, Gauge, RankingBars, Ring, Slice, Stage, StagePipeline};
use yiping_widgets::format::{shanghai_date, shanghai_hms};
use yiping_widgets::layout::Pick;
use yiping_widgets::palette::{self, WATER_CLASSES};
use yiping_widgets::{Kpi, NumberStyle, Panel};

use crate::alert_text::{prefecture_of, severity_words};
use crate::alerts::{AlertDrawer, alert_markers, ticker_items};
use crate::drill::{ClassDrawer, EntityDrawer, RegionDrawer, StageDrawer, overdue_steps};
use crate::i18n::{Lang, Text, prefecture_name, t};
use crate::link::{self, Feeds, Status};
use crate::map::{Choropleth, HubeiMap, MapPick, Marker};
use crate::screens::{Carousel, Screen, carousel_dwell_ms};
use crate::theme::class_color;
use crate::themes::{
    AgeingDrawer, AlertRuleList, BiggestDelays, IncomeTrend, IndustryInvestment, ProblemAgeing, SectionTrend,
};

/// Until the server says how often a theme reports, its panels go stale after two hours without
/// data (the server's overview carries each theme's expected period).
const STALE_DEFAULT_MS: f64 = 2.0 * 3600.0 * 1000.0;

/// The province's adcode: the region whose records the headline figures open.
const PROVINCE: &str = "420000";

/// The data time of one source (a theme, or all of them) and when it turns stale.
#[derive(Clone, Copy)]
struct Clock {
    data_ms: RwSignal<Option<f64>>,
    stale_after: RwSignal<f64>,
}

/// What every live panel of the wall shares: the clocks of the themes, the wall clock, and the
/// words for freshness.
#[derive(Clone, Copy)]
struct PanelEnv {
    /// Any theme (the newest data of all).
    all: Clock,
    water: Clock,
    rivers: Clock,
    projects: Clock,
    poverty: Clock,
    now: RwSignal<f64>,
    labels: Signal<(&'static str, &'static str, &'static str)>,
}

/// A [`Panel`] fed by one source (`theme`: a topic name, or "" for all), with the wall's clock
/// and language: it shows that source's data time and goes stale on its own.
#[component]
fn LivePanel(
    #[prop(into)] title: Signal<String>,
    class: &'static str,
    #[prop(default = "")] theme: &'static str,
    children: Children,
) -> impl IntoView {
    let env = use_context::<PanelEnv>().expect("Wall provides PanelEnv before rendering its panels");
    let clock = match theme {
        yiping_protocol::topics::WATER => env.water,
        yiping_protocol::topics::RIVERS => env.rivers,
        yiping_protocol::topics::PROJECTS => env.projects,
        yiping_protocol::topics::POVERTY => env.poverty,
        _ => env.all,
    };
    view! {
        <Panel
            title=title
            data_ms=clock.data_ms
            now_ms=env.now
            stale_after_ms=clock.stale_after
            labels=env.labels
            class=format!("{class} theme-{}", if theme.is_empty() { "all" } else { theme })
        >
            {children()}
        </Panel>
    }
}

/// Keep `clock` on the data time `ms` (epoch ms) and the source's expected period (ms): its
/// panels are interrupted only when the newest data is older than that period. A period learnt
/// from the data would flag a monthly source after a burst of reports at start-up.
fn follow(clock: Clock, ms: Option<f64>, expected_ms: Option<f64>) {
    if let Some(ms) = ms.filter(|m| m.is_finite())
        && clock.data_ms.get_untracked() != Some(ms)
    {
        clock.data_ms.set(Some(ms));
    }
    if let Some(e) = expected_ms
        && clock.stale_after.get_untracked() != e
    {
        clock.stale_after.set(e);
    }
}

/// The monitoring sections with their latest class and time. Rows are keyed by section only
/// and their class and time follow the data, so a new reading updates a row instead of
/// re-creating it (a wall runs for weeks; every row ever created costs Leptos a little memory).
#[component]
fn SectionList(
    overview: RwSignal<Option<Overview>>,
    /// A touch on a row: the section's id.
    on_pick: Callback<String>,
) -> impl IntoView {
    let ov = overview;
    view! {
        <ul class="section-list" data-testid="section-list">
            <For
                each=move || ov.with(|o| o.as_ref().map(|o| o.sections.iter().map(|s| (s.id.clone(), s.river.clone(), s.name.clone())).collect::<Vec<_>>()).unwrap_or_default())
                key=|s| s.clone()
                let:s
            >
                {
                    let (id, river, name) = s;
                    let id2 = id.clone();
                    let id3 = id.clone();
                    let class = Signal::derive(move || ov.with(|o| o.as_ref().and_then(|o| o.sections.iter().find(|x| x.id == id).and_then(|x| x.class))));
                    let time = move || ov.with(|o| o.as_ref().and_then(|o| o.sections.iter().find(|x| x.id == id2).and_then(|x| x.time)));
                    view! {
                        <li class="section-row" data-section=id3.clone() data-class=move || class.get().map(|c| c.label()) on:click=move |_| on_pick.run(id3.clone())>
                            <span class="section-name">{format!("{river} · {name}")}</span>
                            <span class="section-time">
                                {move || time().map(|t| shanghai_hms(t.unix_ms())).unwrap_or_default()}
                            </span>
                            <span class="class-chip" style=move || format!("--chip: {}", class.get().map_or(palette::UNKNOWN.css(), class_color))>
                                {move || class.get().map_or("—", |c| c.label())}
                            </span>
                        </li>
                    }
                }
            </For>
        </ul>
    }
}

/// The map colour of an outlet's status: found (red), being remediated (orange), done (green).
fn outlet_color(status: &str) -> &'static str {
    match status {
        "identified" => palette::BAD,
        "remediating" => palette::ORANGE,
        _ => palette::GOOD,
    }
    .css()
}

fn outlet_status_word(lang: Lang, status: &str) -> &'static str {
    match (lang, status) {
        (Lang::Zh, "identified") => "已排查待整治",
        (Lang::Zh, "remediating") => "整治中",
        (Lang::Zh, _) => "已整治",
        (Lang::En, "identified") => "found",
        (Lang::En, "remediating") => "being remediated",
        (Lang::En, _) => "remediated",
    }
}

/// The sewage outlets not yet remediated, those found first, each with its river and status; a
/// touch opens its records. Rows are a fixed set whose content follows the data.
#[component]
fn OutletList(
    outlets: RwSignal<std::collections::BTreeMap<String, yiping_protocol::topics::EntityState>>,
    lang: Lang,
    on_open: Callback<String>,
) -> impl IntoView {
    const SLOTS: usize = 12;
    let rows = Memo::new(move |_| {
        let mut v: Vec<(String, String, String, String)> = outlets.with(|m| {
            m.values()
                .filter(|o| o.status != "remediated")
                .map(|o| {
                    let river = o.detail.get("river").and_then(|r| r.as_str()).unwrap_or("").to_string();
                    (o.key.clone(), o.name.clone(), river, o.status.clone())
                })
                .collect()
        });
        v.sort_by(|a, b| (a.3 != "identified").cmp(&(b.3 != "identified")).then(a.0.cmp(&b.0)));
        v
    });
    let counts = move || {
        outlets.with(|m| {
            let n = |s: &str| m.values().filter(|o| o.status == s).count();
            (n("identified"), n("remediating"), n("remediated"))
        })
    };
    let slot = move |i: usize| {
        let row = move || rows.with(|l| l.get(i).cloned());
        view! {
            <li class="rule-row" hidden=move || rows.with(|l| i >= l.len()) data-key=move || row().map(|r| r.0)
                on:click=move |_| if let Some(r) = row() { on_open.run(r.0) }>
                <i class="dot" style=move || format!("background: {}", row().map_or("transparent", |r| outlet_color(&r.3)))></i>
                <span class="rule-text">{move || row().map(|r| r.1).unwrap_or_default()}</span>
                <span class="rule-who">{move || row().map(|r| r.2).unwrap_or_default()}</span>
                <span>{move || row().map(|r| outlet_status_word(lang, &r.3)).unwrap_or_default()}</span>
            </li>
        }
    };
    view! {
        <div class="rule-list outlet-list" data-testid="y-outlet-list" data-count=move || rows.with(Vec::len).to_string()
            data-identified=move || counts().0.to_string() data-remediating=move || counts().1.to_string() data-remediated=move || counts().2.to_string()>
            <p class="outlet-counts">{move || {
                let (a, b, c) = counts();
                if lang == Lang::Zh {
                    format!("待整治 {a} · 整治中 {b} · 已整治 {c}")
                } else {
                    format!("found {a} · remediating {b} · remediated {c}")
                }
            }}</p>
            <ul>{(0..SLOTS).map(slot).collect::<Vec<_>>()}</ul>
        </div>
    }
}

/// "模拟数据" while simulated events are in view: for every theme when all the themes with data
/// are simulated, else naming the simulated themes; nothing for real data.
fn simulated_badge(feeds: Feeds, lang: Lang) -> Option<impl IntoView> {
    let (sim, with_data) = feeds.overview.with(|o| {
        o.as_ref().map(|o| {
            use yiping_protocol::topics::{POVERTY, PROJECTS, RIVERS, WATER};
            let sim: Vec<String> = [WATER, RIVERS, PROJECTS, POVERTY]
                .into_iter()
                .filter(|t| o.simulated.get(*t).is_some_and(|n| *n > 0))
                .map(str::to_owned)
                .collect();
            (sim, o.theme_times.len())
        })
    })?;
    if sim.is_empty() {
        return None;
    }
    let word = t(lang, Text::Simulated);
    let text = if sim.len() >= with_data {
        word.to_string()
    } else {
        let names: Vec<&str> = sim.iter().map(|topic| crate::i18n::theme_name(lang, topic)).collect();
        format!("{word}: {}", names.join(if lang == Lang::Zh { "、" } else { ", " }))
    };
    Some(
        view! { <span class="sim-badge" data-testid="sim-badge" data-themes=sim.join(",") title="simulator">{text}</span> },
    )
}

/// The whole wall.
#[component]
pub fn Wall() -> impl IntoView {
    let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let lang = Lang::from_query(&query);
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if let Some(el) = doc.document_element() {
            let _ = el.set_attribute("lang", lang.tag());
        }
        doc.set_title(t(lang, Text::Title));
    }
    let feeds = Feeds::new();
    link::start(feeds);
    let now = RwSignal::new(js_sys::Date::now());
    let _ = set_interval_with_handle(move || now.set(js_sys::Date::now()), Duration::from_millis(500));
    // Today in Beijing: changes at midnight only.
    let today = Memo::new(move |_| Timestamp::from_unix_ms(now.get()).beijing_date());

    let tr = move |k: Text| t(lang, k);
    let labels = Signal::derive(move || (tr(Text::DataTime), tr(Text::Stale), tr(Text::NoData)));
    let clock = || Clock { data_ms: RwSignal::new(None), stale_after: RwSignal::new(STALE_DEFAULT_MS) };
    let env = PanelEnv {
        all: clock(),
        water: clock(),
        rivers: clock(),
        projects: clock(),
        poverty: clock(),
        now,
        labels,
    };
    provide_context(env);
    // Each theme's panels follow that theme's newest data and expected period; all of them
    // together, the newest of any, interrupted only when every theme is.
    Effect::new(move |_| {
        let (times, expected) = feeds
            .overview
            .with(|o| o.as_ref().map(|o| (o.theme_times.clone(), o.expected_s.clone())))
            .unwrap_or_default();
        let clocks = [env.water, env.rivers, env.projects, env.poverty];
        let mut longest: Option<f64> = None;
        for (topic, clock) in [
            yiping_protocol::topics::WATER,
            yiping_protocol::topics::RIVERS,
            yiping_protocol::topics::PROJECTS,
            yiping_protocol::topics::POVERTY,
        ]
        .iter()
        .zip(clocks)
        {
            let e = expected.get(*topic).map(|s| *s as f64 * 1000.0);
            longest = match (longest, e) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            follow(clock, times.get(*topic).map(|t| t.unix_ms()), e);
        }
        follow(env.all, feeds.overview_ms.get(), longest);
    });
    provide_context(lang.pick(NumberStyle::Chinese, NumberStyle::Western));
    let ov = feeds.overview;
    let pick =
        move |f: fn(&Overview) -> Option<f64>| Signal::derive(move || ov.with(|o| o.as_ref().and_then(f)));
    let readings = pick(|o| Some(o.readings_total as f64));
    let good = pick(Overview::good_share_percent);
    let outlets = pick(|o| {
        (o.water.outlets > 0)
            .then(|| 100.0 * f64::from(o.water.outlets_remediated) / f64::from(o.water.outlets))
    });
    let fishing = pick(|o| Some(o.water.fishing_patrols as f64));
    let patrols = pick(|o| Some(o.rivers.patrols as f64));
    let patrol_hours = pick(|o| Some((o.rivers.patrol_minutes as f64 / 60.0).round()));
    let problems_open = pick(|o| Some(f64::from(o.rivers.problems_open)));
    let projects = pick(|o| Some(f64::from(o.projects.projects)));
    let invest =
        pick(|o| (o.projects.plan_wan > 0.0).then(|| 100.0 * o.projects.done_wan / o.projects.plan_wan));
    // Overdue counts against today in Beijing, so it moves at midnight without any event.
    let overdue = Signal::derive(move || {
        ov.with(|o| o.as_ref().map(|o| f64::from(o.projects.overdue_steps(today.get()))))
    });
    let monitored = pick(|o| Some(o.poverty.monitored_households as f64));
    let risk = pick(|o| Some(o.poverty.risk_households as f64));
    let assistance = pick(|o| Some(o.poverty.assistance_wan * 1e4));
    let reporting = pick(|o| Some(f64::from(o.sections_reporting)));
    let total_sections = move || ov.with(|o| o.as_ref().map_or(0, |o| o.sections.len()));
    let problems_total = move || ov.with(|o| o.as_ref().map_or(0, |o| o.rivers.problems));
    // The sections' latest classes, Ⅰ to 劣Ⅴ, and those with no reading yet.
    let class_slices = Signal::derive(move || {
        ov.with(|o| {
            let Some(o) = o.as_ref() else { return Vec::new() };
            let mut slices: Vec<Slice> = WaterClass::ALL
                .iter()
                .enumerate()
                .map(|(i, c)| Slice {
                    key: c.code().into(),
                    label: if lang == Lang::Zh {
                        format!("{}类", c.label())
                    } else {
                        format!("Class {}", c.label())
                    },
                    value: o.sections.iter().filter(|s| s.class == Some(*c)).count() as f64,
                    color: Some(WATER_CLASSES[i]),
                })
                .collect();
            slices.push(Slice {
                key: "none".into(),
                label: tr(Text::NotReported).into(),
                value: o.sections.iter().filter(|s| s.class.is_none()).count() as f64,
                color: Some(palette::UNKNOWN),
            });
            slices
        })
    });
    let stages = Signal::derive(move || {
        ov.with(|o| {
            let Some(p) = o.as_ref().map(|o| &o.projects) else { return Vec::new() };
            // Projects with a step overdue today, by the stage they are in.
            let overdue = p.overdue_projects(today.get());
            [
                (ProjectStage::Approval, Text::StageApproval),
                (ProjectStage::Construction, Text::StageConstruction),
                (ProjectStage::Accepted, Text::StageAcceptance),
            ]
            .iter()
            .map(|(k, label)| Stage {
                key: k.as_str().into(),
                label: tr(*label).into(),
                count: f64::from(p.by_stage[k.index()]),
                overdue: f64::from(overdue[k.index()]),
            })
            .collect()
        })
    });
    // Prefectures ranked by one of their figures.
    let prefecture_bars = move |f: fn(&yiping_protocol::topics::PrefectureFigures) -> f64| {
        Signal::derive(move || {
            ov.with(|o| {
                o.as_ref()
                    .map(|o| {
                        o.prefectures
                            .iter()
                            .map(|(a, p)| BarItem {
                                key: a.clone(),
                                label: prefecture_name(lang, a).unwrap_or(a).to_string(),
                                value: f(p),
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    };
    let ranking = prefecture_bars(|p| p.patrols as f64);
    // One touch on a prefecture anywhere (ranking bar, map) selects it: the map flies there and
    // the drawer shows its records.
    let selected: RwSignal<Option<String>> = RwSignal::new(None);
    let picked: RwSignal<Option<Pick>> = RwSignal::new(None);
    let select_region = Callback::new(move |p: Pick| {
        selected.set(Some(p.key.clone()));
        picked.set(Some(p));
    });
    // The map panel's title follows the map: the province, or the prefecture drilled into.
    let map_title = Signal::derive(move || {
        let view = selected.get().map(|a| prefecture_of(&a));
        match view.as_deref().and_then(|a| prefecture_name(lang, a).map(|n| (a.to_owned(), n))) {
            Some((_, name)) if lang == Lang::Zh => format!("{name} · 县级行政区"),
            Some((_, name)) => format!("{name} · counties"),
            None => tr(Text::MapPanel).to_string(),
        }
    });
    // A touch on a slice of the class ring lists the sections behind it.
    let class_pick: RwSignal<Option<String>> = RwSignal::new(None);
    let open_class = Callback::new(move |p: Pick| {
        class_pick.set(Some(p.key.clone()));
        picked.set(Some(p));
    });
    // A touch on a pipeline stage (or its overdue figure) lists the projects behind it.
    let stage_pick: RwSignal<Option<(String, bool)>> = RwSignal::new(None);
    let open_stage = Callback::new(move |p: Pick| {
        stage_pick.set(Some((p.key.clone(), p.series == "overdue")));
        picked.set(Some(p));
    });
    // A touch on a marker (a project on the industry map) opens that entity's records.
    let entity: RwSignal<Option<String>> = RwSignal::new(None);
    // A touched alert (ticker or marker) opens its detail over the map, flown to its prefecture.
    let alert_open: RwSignal<Option<String>> = RwSignal::new(None);
    let open_alert = move |id: String| {
        let prefecture = feeds.alerts.with_untracked(|m| m.get(&id).map(|a| prefecture_of(&a.adcode)));
        if let Some(p) = prefecture {
            selected.set(Some(p));
        }
        alert_open.set(Some(id));
    };
    let on_map_pick = Callback::new(move |p: MapPick| {
        if p.kind == "marker" && p.key.starts_with('A') {
            open_alert(p.key);
        } else if p.kind == "marker" {
            entity.set(Some(p.key));
        }
    });
    let on_ticker_pick = Callback::new(move |p: Pick| open_alert(p.key));
    let open_alert_cb = Callback::new(open_alert);
    // The 长江 screen's trend follows the section touched in its list.
    let trend_section = RwSignal::new("cj-yangsigang".to_string());
    let age_pick: RwSignal<Option<usize>> = RwSignal::new(None);
    let pick_section = Callback::new(move |id: String| {
        trend_section.set(id.clone());
        entity.set(Some(format!("section:{id}")));
    });
    let trend_title = Signal::derive(move || {
        let id = trend_section.get();
        let name = feeds
            .overview
            .with(|o| {
                o.as_ref().and_then(|o| {
                    o.sections.iter().find(|s| s.id == id).map(|s| format!("{} · {}", s.river, s.name))
                })
            })
            .unwrap_or(id);
        if lang == Lang::Zh {
            format!("{name} 主要指标趋势")
        } else {
            format!("{name}: main indicators")
        }
    });
    // The industry chain the industry map shows (None: all).
    let industry: RwSignal<Option<String>> = RwSignal::new(None);
    Effect::new(move |_| {
        // A region drill-down closes the entity's records and the stage list.
        selected.track();
        entity.set(None);
        stage_pick.set(None);
        class_pick.set(None);
    });
    // A headline figure is the province's: a touch opens the province's records.
    let open_province = Callback::new(move |p: Pick| {
        selected.set(Some(PROVINCE.to_owned()));
        picked.set(Some(p));
    });
    // The screen shown: from the address, the navigation, the carousel, or the browser's back.
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    let screen = RwSignal::new(Screen::from_path(&path));
    Effect::new(move |_| {
        // Another screen closes the entity's records.
        screen.track();
        entity.set(None);
    });
    let go = move |s: Screen, push: bool| {
        if screen.get_untracked() == s {
            return;
        }
        selected.set(None);
        screen.set(s);
        if let Some(w) = web_sys::window()
            && let Ok(h) = w.history()
        {
            let url = format!("{}{}", s.path(), w.location().search().unwrap_or_default());
            let _ = if push {
                h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
            } else {
                h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
            };
        }
    };
    let popped = window_event_listener(leptos::ev::popstate, move |_| {
        let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
        screen.set(Screen::from_path(&path));
    });
    // The carousel (`?carousel=S`): any touch holds the screen; quiet resumes it.
    let carousel =
        carousel_dwell_ms(&query).map(|d| Rc::new(RefCell::new(Carousel::new(d, js_sys::Date::now()))));
    let carousel_state = RwSignal::new(if carousel.is_some() { "running" } else { "off" });
    if let Some(c) = carousel.clone() {
        let touched = SendWrapper::new(c.clone());
        let _ = set_interval_with_handle(
            move || {
                let now = js_sys::Date::now();
                let mut c = c.borrow_mut();
                if c.tick(now) {
                    go(screen.get_untracked().next(), false);
                }
                let s = if c.paused(now) { "paused" } else { "running" };
                if carousel_state.get_untracked() != s {
                    carousel_state.set(s);
                }
            },
            Duration::from_millis(250),
        );
        let touches = window_event_listener(leptos::ev::pointerdown, move |_| {
            touched.borrow_mut().touch(js_sys::Date::now());
            carousel_state.set("paused");
        });
        on_cleanup(move || touches.remove());
    }
    on_cleanup(move || popped.remove());
    // The industry map: every major project where it is, coloured by stage, red when a step is
    // overdue today (the one overdue rule).
    let project_markers = Signal::derive(move || {
        if screen.get() != Screen::Projects {
            return Vec::new();
        }
        // Projects with an orange or red alert nobody has acknowledged yet pulse.
        let alarmed: std::collections::HashSet<String> = feeds.alerts.with(|m| {
            m.values()
                .filter(|a| {
                    a.state == AlertState::New && a.severity >= Severity::Orange && a.theme == "projects"
                })
                .map(|a| a.subject.clone())
                .collect()
        });
        let only = industry.get();
        let today = today.get();
        feeds.projects.with(|m| {
            m.values()
                .filter(|p| {
                    only.as_deref()
                        .is_none_or(|i| p.detail.get("industry").and_then(|x| x.as_str()) == Some(i))
                })
                .map(|p| {
                    let overdue = overdue_steps(p, today) > 0;
                    let industry = p.detail.get("industry").and_then(|i| i.as_str()).unwrap_or("");
                    let color = match (overdue, p.status.as_str()) {
                        (true, _) => palette::BAD,
                        (_, "approval") => palette::AMBER,
                        (_, "construction") => palette::ACCENT,
                        _ => palette::GOOD,
                    }
                    .css();
                    Marker {
                        key: p.key.clone(),
                        lon: p.lon,
                        lat: p.lat,
                        color,
                        label: format!("{} · {industry}", p.name),
                        pulse: alarmed.contains(&p.key),
                    }
                })
                .collect()
        })
    });
    // Open alerts of the screen's theme (all of them on the overview), on top of the projects.
    // (On the industry map the projects themselves carry their alerts: one marker per project.)
    let alert_theme = Signal::derive(move || match screen.get() {
        Screen::Overview => None,
        Screen::Yangtze => Some(yiping_protocol::topics::WATER),
        Screen::Rivers => Some(yiping_protocol::topics::RIVERS),
        Screen::Projects => Some(yiping_protocol::topics::PROJECTS),
        Screen::Poverty => Some(yiping_protocol::topics::POVERTY),
    });
    let alert_spots = alert_markers(feeds, alert_theme, lang);
    // On the 长江 screen the sewage outlets are on the map by status.
    let outlet_markers = Signal::derive(move || {
        if screen.get() != Screen::Yangtze {
            return Vec::new();
        }
        feeds.outlets.with(|m| {
            m.values()
                .map(|o| Marker {
                    key: o.key.clone(),
                    lon: o.lon,
                    lat: o.lat,
                    color: outlet_color(&o.status),
                    label: format!("{} · {}", o.name, outlet_status_word(lang, &o.status)),
                    pulse: false,
                })
                .collect()
        })
    });
    let map_markers = Signal::derive(move || {
        if screen.get() == Screen::Projects {
            return project_markers.get();
        }
        let mut v = outlet_markers.get();
        v.extend(alert_spots.get());
        v
    });
    // The map's colours follow the screen.
    // The previous period of the headline figures: the province an hour before the newest data,
    // from the server's history (no change is shown until the history is an hour long).
    let history: RwSignal<Vec<yiping_protocol::topics::HistoryPoint>> = RwSignal::new(Vec::new());
    let load_history = move || {
        leptos::task::spawn_local(async move {
            if let Ok(points) = crate::themes::fetch_history().await {
                history.set(points);
            }
        });
    };
    load_history();
    let _ = set_interval_with_handle(load_history, Duration::from_secs(60));
    let hour_ago = Memo::new(move |_| {
        history.with(|h| {
            let times: Vec<f64> = h.iter().map(|p| p.t.unix_ms()).collect();
            crate::periods::point_before(&times, 3_600_000.0).map(|i| h[i].clone())
        })
    });
    let before = move |f: fn(&yiping_protocol::topics::HistoryPoint) -> Option<f64>| {
        Signal::derive(move || hour_ago.with(|p| p.as_ref().and_then(f)))
    };
    let hour_word = if lang == Lang::Zh { "较1小时前" } else { "vs 1 h ago" };
    // Every county's 精准脱贫 figures (`GET /api/v1/counties`), for the county ranking and map.
    let counties: RwSignal<Vec<(String, String, yiping_protocol::topics::PovertyAgg)>> =
        RwSignal::new(Vec::new());
    let load_counties = move || {
        if screen.get_untracked() != Screen::Poverty && !counties.with_untracked(Vec::is_empty) {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(c) = crate::themes::fetch_counties().await {
                counties.set(c);
            }
        });
    };
    Effect::new(move |_| {
        screen.track();
        load_counties();
    });
    let _ = set_interval_with_handle(load_counties, Duration::from_secs(30));
    let county_bars = Signal::derive(move || {
        counties.with(|c| {
            c.iter()
                .map(|(a, name, p)| BarItem {
                    key: a.clone(),
                    label: name.clone(),
                    value: p.risk_households as f64,
                })
                .collect::<Vec<_>>()
        })
    });
    // The province's target share of good sections, when the deployment configures one (rules).
    // And the problem ageing's buckets are the problem_open rule's levels.
    let good_target: RwSignal<Option<f64>> = RwSignal::new(None);
    let age_limits = RwSignal::new(crate::themes::AGE_LIMITS);
    leptos::task::spawn_local(async move {
        if let Ok(text) = crate::map::fetch_text("/api/v1/rules").await
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        {
            good_target.set(v["targets"]["good_share_percent"].as_f64());
            if let Some(l) = crate::themes::age_limits_of(&v) {
                age_limits.set(l);
            }
        }
    });
    // The overview's map is coloured by the indicator chosen over it.
    let map_indicator = RwSignal::new(0usize);
    let screen_map = Signal::derive(move || {
        let by = |title: &str, f: fn(&yiping_protocol::topics::PrefectureFigures) -> f64| {
            ov.with(|o| {
                o.as_ref().map(|o| Choropleth {
                    title: title.to_string(),
                    values: o.prefectures.iter().map(|(a, p)| (a.clone(), f(p))).collect(),
                })
            })
        };
        match screen.get() {
            Screen::Overview => match map_indicator.get() {
                1 => by(tr(Text::ProblemsMap), |p| f64::from(p.problems_open)),
                2 => by(tr(Text::RiskMap), |p| p.risk_households as f64),
                3 => by(tr(Text::ProjectsMap), |p| f64::from(p.projects)),
                4 => by(
                    if lang == Lang::Zh {
                        "各市州近7日巡河覆盖（%）"
                    } else {
                        "Rivers patrolled in 7 days (%)"
                    },
                    |p| p.coverage.percent().unwrap_or(0.0),
                ),
                _ => by(tr(Text::PatrolsMap), |p| p.patrols as f64),
            },
            Screen::Yangtze => None,
            Screen::Rivers => by(tr(Text::ProblemsMap), |p| f64::from(p.problems_open)),
            Screen::Projects => by(tr(Text::ProjectsMap), |p| f64::from(p.projects)),
            Screen::Poverty if counties.with(|c| !c.is_empty()) => Some(Choropleth {
                title: if lang == Lang::Zh {
                    "各县（市、区）风险未消除户（户）"
                } else {
                    "At-risk households by county"
                }
                .to_string(),
                values: counties
                    .with(|c| c.iter().map(|(a, _, p)| (a.clone(), p.risk_households as f64)).collect()),
            }),
            Screen::Poverty => by(tr(Text::RiskMap), |p| p.risk_households as f64),
        }
    });
    let slices = move |labels: Vec<&'static str>, f: fn(&Overview) -> Vec<f64>| {
        Signal::derive(move || {
            ov.with(|o| {
                o.as_ref()
                    .map(|o| {
                        f(o).into_iter()
                            .zip(&labels)
                            .enumerate()
                            .map(|(i, (v, l))| Slice {
                                key: format!("{i}"),
                                label: (*l).to_string(),
                                value: v,
                                color: None,
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    };
    let closed_share = pick(|o| {
        (o.rivers.problems > 0).then(|| {
            100.0 * f64::from(o.rivers.problems - o.rivers.problems_open) / f64::from(o.rivers.problems)
        })
    });
    let coverage = pick(|o| o.coverage.percent());
    let risk_added = pick(|o| Some(o.poverty.risk_added as f64));
    let risk_removed = pick(|o| Some(o.poverty.risk_removed as f64));
    let fishing_hours = pick(|o| Some(o.water.fishing_hours.round()));
    let violations = pick(|o| Some(o.water.fishing_violations as f64));
    let outlets_total = pick(|o| Some(f64::from(o.water.outlets)));
    let plan = pick(|o| Some(o.projects.plan_wan * 1e4));
    let done = pick(|o| Some(o.projects.done_wan * 1e4));
    let villages = pick(|o| Some(f64::from(o.poverty.villages)));
    let lifted = pick(|o| Some(o.poverty.lifted_households as f64));
    let income = pick(|o| o.poverty.mean_income_per_household_yuan());
    let risk_share = pick(|o| {
        (o.poverty.monitored_households > 0)
            .then(|| 100.0 * o.poverty.risk_households as f64 / o.poverty.monitored_households as f64)
    });
    let theme_left = move |s: Screen| -> AnyView {
        match s {
            Screen::Overview => ().into_any(),
            Screen::Yangtze => view! {
                <LivePanel title=tr(Text::WaterPanel) class="panel-kpis slot-1" theme="water">
                    <div class="kpi-grid">
                        <Kpi label=tr(Text::GoodShare).to_string() value=good unit="%".to_string() note=Signal::derive(move || good_target.get().map(|t| lang.pick(format!("目标 {t:.1}%"), format!("target {t:.1}%"))).unwrap_or_default()) on_pick=open_province test_id="y-good-share" />
                        <Kpi label=tr(Text::Readings).to_string() value=readings unit=tr(Text::ReadingsUnit).to_string() decimals=2 on_pick=open_province test_id="y-readings" />
                        <Kpi label=tr(Text::Reporting).to_string() value=reporting unit=Signal::derive(move || format!(" / {}", total_sections())) on_pick=open_province test_id="y-reporting" />
                        <Kpi label=lang.pick("排污口", "Sewage outlets").to_string() value=outlets_total unit=tr(Text::UnitItems).to_string() on_pick=open_province test_id="y-outlets-total" />
                    </div>
                </LivePanel>
                <LivePanel title=tr(Text::ClassPanel) class="panel-chart slot-2" theme="water">
                    <Ring label=tr(Text::ClassPanel).to_string() slices=class_slices caption=tr(Text::SectionsCaption).to_string() decimals=0 on_pick=open_class test_id="y-class-ring" />
                </LivePanel>
                <LivePanel title=trend_title class="panel-chart slot-3" theme="water">
                    <SectionTrend section=trend_section lang=lang on_pick=Callback::new(move |_| entity.set(Some(format!("section:{}", trend_section.get_untracked())))) />
                </LivePanel>
            }
            .into_any(),
            Screen::Rivers => view! {
                <LivePanel title=tr(Text::RiversPanel) class="panel-kpis slot-1" theme="rivers">
                    <div class="kpi-grid">
                        <Kpi label=tr(Text::Patrols).to_string() value=patrols unit=tr(Text::UnitTimes).to_string() decimals=2 on_pick=open_province test_id="r-patrols" />
                        <Kpi label=tr(Text::PatrolHours).to_string() value=patrol_hours unit=tr(Text::UnitHours).to_string() decimals=2 on_pick=open_province test_id="r-hours" />
                        <Kpi label=lang.pick("近7日巡河覆盖", "Rivers patrolled in 7 days").to_string() value=coverage unit="%".to_string() note=Signal::derive(move || ov.with(|o| o.as_ref().map(|o| lang.pick(format!("{} / {} 条河湖（县域）", o.coverage.patrolled_7d, o.coverage.rivers), format!("{} of {} rivers (by county)", o.coverage.patrolled_7d, o.coverage.rivers)))).unwrap_or_default()) on_pick=open_province test_id="r-coverage" />
                        <Kpi label=lang.pick("累计问题办结率", "Problems closed (total)").to_string() value=closed_share unit="%".to_string() on_pick=open_province test_id="r-closed" />
                    </div>
                </LivePanel>
                <LivePanel title=lang.pick("各级河湖长巡河", "Patrols by chief level") class="panel-chart slot-2" theme="rivers">
                    <Ring
                        label=lang.pick("各级河湖长巡河", "Patrols by chief level").to_string()
                        slices=slices(lang.pick(vec!["省级", "市级", "县级", "乡级", "村级"], vec!["Province", "City", "County", "Township", "Village"]), |o| o.rivers.patrols_by_level.iter().map(|v| *v as f64).collect())
                        caption=tr(Text::Patrols).to_string()
                        decimals=1
                        on_pick=open_province
                        test_id="r-levels"
                    />
                </LivePanel>
                <LivePanel title=lang.pick("待办结问题账龄", "Open problems by age") class="panel-chart slot-3" theme="rivers">
                    <ProblemAgeing problems=feeds.problems picked=age_pick limits=age_limits.into() lang=lang />
                </LivePanel>
            }
            .into_any(),
            Screen::Projects => view! {
                <LivePanel title=tr(Text::ProjectsPanel) class="panel-kpis slot-1" theme="projects">
                    <div class="kpi-grid">
                        <Kpi label=tr(Text::Projects).to_string() value=projects unit=tr(Text::UnitItems).to_string() on_pick=open_province test_id="p-projects" />
                        <Kpi label=tr(Text::OverdueSteps).to_string() value=overdue unit=tr(Text::UnitItems).to_string() on_pick=open_province test_id="p-overdue" />
                        <Kpi label=lang.pick("计划投资", "Planned investment").to_string() value=plan unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open_province test_id="p-plan" />
                        <Kpi label=lang.pick("累计完成投资", "Investment done (total)").to_string() value=done unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open_province test_id="p-done" />
                    </div>
                </LivePanel>
                <LivePanel title=tr(Text::InvestmentDone) class="panel-chart slot-2" theme="projects">
                    <Gauge label=tr(Text::InvestmentDone).to_string() value=invest unit="%".to_string() on_pick=open_province test_id="p-invest" />
                </LivePanel>
                <LivePanel title=lang.pick("各产业链投资完成", "Investment by industry chain") class="panel-chart slot-3" theme="projects">
                    <IndustryInvestment projects=feeds.projects industry=industry lang=lang />
                </LivePanel>
            }
            .into_any(),
            Screen::Poverty => view! {
                <LivePanel title=tr(Text::PovertyPanel) class="panel-kpis slot-1" theme="poverty">
                    <div class="kpi-grid">
                        <Kpi label=lang.pick("监测村", "Villages").to_string() value=villages unit=tr(Text::UnitItems).to_string() on_pick=open_province test_id="v-villages" />
                        <Kpi label=lang.pick("累计脱贫户", "Households lifted (total)").to_string() value=lifted unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open_province test_id="v-lifted" />
                        <Kpi label=tr(Text::Monitored).to_string() value=monitored unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open_province test_id="v-monitored" />
                        <Kpi label=lang.pick("脱贫户人均收入", "Income per capita, lifted households").to_string() value=income unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open_province test_id="v-income" />
                    </div>
                </LivePanel>
                <LivePanel title=lang.pick("风险户占监测户", "At risk among monitored") class="panel-chart slot-2" theme="poverty">
                    <Gauge label=lang.pick("风险未消除占比", "Risk not removed").to_string() value=risk_share higher_is_better=false unit="%".to_string() on_pick=open_province test_id="v-risk-share" />
                </LivePanel>
                <LivePanel title=lang.pick("人均收入趋势（近7日）", "Income per capita (7 days)") class="panel-chart slot-3" theme="poverty">
                    <IncomeTrend lang=lang on_pick=open_province />
                </LivePanel>
            }
            .into_any(),
        }
    };
    let theme_right = move |s: Screen| -> AnyView {
        match s {
            Screen::Overview => ().into_any(),
            Screen::Yangtze => view! {
                <LivePanel title=lang.pick("禁渔巡查", "Fishing-ban patrols") class="panel-kpis slot-4" theme="water">
                    <div class="kpi-grid kpi-grid-3">
                        <Kpi label=tr(Text::FishingPatrols).to_string() value=fishing unit=tr(Text::UnitTimes).to_string() decimals=2 on_pick=open_province test_id="y-fishing" />
                        <Kpi label=lang.pick("累计巡查时长", "Hours (total)").to_string() value=fishing_hours unit=tr(Text::UnitHours).to_string() decimals=2 on_pick=open_province test_id="y-fishing-hours" />
                        <Kpi label=lang.pick("累计查处违法", "Violations (total)").to_string() value=violations unit=tr(Text::UnitItems).to_string() on_pick=open_province test_id="y-violations" />
                    </div>
                </LivePanel>
                <LivePanel title=tr(Text::Outlets) class="panel-chart panel-outlets slot-5" theme="water">
                    <div class="outlets">
                        <Gauge label=tr(Text::Outlets).to_string() value=outlets unit="%".to_string() test_id="y-outlets" />
                        <OutletList outlets=feeds.outlets lang=lang on_open=Callback::new(move |k: String| entity.set(Some(k))) />
                    </div>
                </LivePanel>
                <LivePanel title=tr(Text::SectionsPanel) class="panel-sections slot-6" theme="water">
                    <SectionList overview=ov on_pick=pick_section />
                </LivePanel>
            }
            .into_any(),
            Screen::Rivers => view! {
                <LivePanel title=lang.pick("问题类型", "Problems by kind") class="panel-chart slot-4" theme="rivers">
                    <Ring
                        label=lang.pick("问题类型", "Problems by kind").to_string()
                        slices=slices(lang.pick(vec!["垃圾", "排污", "侵占", "非法采砂", "其他"], vec!["Garbage", "Sewage", "Encroachment", "Illegal sand", "Other"]), |o| o.rivers.problems_by_kind.iter().map(|v| f64::from(*v)).collect())
                        caption=lang.pick("累计发现问题", "problems found").to_string()
                        decimals=0
                        on_pick=open_province
                        test_id="r-kinds"
                    />
                </LivePanel>
                <LivePanel title=lang.pick("各市州待办结问题", "Open problems by prefecture") class="panel-chart slot-5" theme="rivers">
                    <RankingBars label=lang.pick("各市州待办结问题", "Open problems by prefecture").to_string() items=prefecture_bars(|p| f64::from(p.problems_open)) unit=tr(Text::UnitItems).to_string() rows=17 larger_is_worse=true on_pick=select_region test_id="r-ranking" />
                </LivePanel>
                <LivePanel title=lang.pick("巡河超期河湖", "Rivers with overdue patrols") class="panel-list slot-6" theme="rivers">
                    <AlertRuleList feeds=feeds rule="patrol_overdue" on_open=open_alert_cb empty=lang.pick("没有巡河超期的河湖", "No river is overdue") lang=lang test_id="r-overdue" />
                </LivePanel>
            }
            .into_any(),
            Screen::Projects => view! {
                <LivePanel title=lang.pick("项目全生命周期", "Project life cycle") class="panel-chart slot-4" theme="projects">
                    <StagePipeline label=tr(Text::ProjectsPanel).to_string() stages=stages overdue_word=tr(Text::Overdue).to_string() unit=tr(Text::UnitItems).to_string() on_pick=open_stage test_id="p-pipeline" />
                </LivePanel>
                <LivePanel title=lang.pick("各市州投资完成率", "Investment done by prefecture") class="panel-chart slot-5" theme="projects">
                    <RankingBars label=lang.pick("各市州投资完成率", "Investment done by prefecture").to_string() items=prefecture_bars(|p| if p.plan_wan > 0.0 { 100.0 * p.done_wan / p.plan_wan } else { 0.0 }) unit="%".to_string() rows=17 on_pick=select_region test_id="p-ranking" />
                </LivePanel>
                <LivePanel title=lang.pick("延误最久的项目", "Biggest delays") class="panel-list slot-6" theme="projects">
                    <BiggestDelays projects=feeds.projects entity=entity lang=lang />
                </LivePanel>
            }
            .into_any(),
            Screen::Poverty => view! {
                <LivePanel title=lang.pick("风险未消除", "Risk not yet removed") class="panel-kpis slot-4" theme="poverty">
                    <div class="kpi-grid">
                        <Kpi label=tr(Text::RiskHouseholds).to_string() value=risk unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open_province test_id="v-risk" />
                        <Kpi label=tr(Text::Assistance).to_string() value=assistance unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open_province test_id="v-assistance" />
                        <Kpi label=lang.pick("新增风险户（累计）", "Newly at risk (total)").to_string() value=risk_added unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open_province test_id="v-added" />
                        <Kpi label=lang.pick("风险消除户（累计）", "Risk removed (total)").to_string() value=risk_removed unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open_province test_id="v-removed" />
                    </div>
                </LivePanel>
                <LivePanel title=lang.pick("风险户最多的县（市、区）", "Counties with most households at risk") class="panel-chart slot-5" theme="poverty">
                    <RankingBars label=lang.pick("风险户最多的县（市、区）", "Counties with most households at risk").to_string() items=county_bars unit=tr(Text::UnitHouseholds).to_string() rows=8 larger_is_worse=true on_pick=select_region test_id="v-ranking" />
                </LivePanel>
                <LivePanel title=lang.pick("需关注村（风险户骤增）", "Villages to watch (risk jumped)") class="panel-list slot-6" theme="poverty">
                    <AlertRuleList feeds=feeds rule="relapse_jump" on_open=open_alert_cb empty=lang.pick("近期没有风险骤增的村", "No recent jumps") lang=lang test_id="v-jumps" />
                </LivePanel>
            }
            .into_any(),
        }
    };
    let status = feeds.status;
    let (status_word, status_attr) = (
        move || match status.get() {
            Status::Live => tr(Text::Live),
            Status::Reconnecting => tr(Text::Reconnecting),
            Status::Connecting => tr(Text::Connecting),
        },
        move || match status.get() {
            Status::Live => "live",
            Status::Reconnecting => "reconnecting",
            Status::Connecting => "connecting",
        },
    );

    view! {
        <div
            class=move || format!("wall screen-{}", screen.get().key())
            data-testid="wall"
            data-screen=move || screen.get().key()
            data-carousel=move || carousel_state.get()
        >
            <header class="wall-head">
                <div class="head-left">
                    <span class="conn" data-testid="conn" data-state=status_attr>
                        <i class="conn-dot"></i>
                        {status_word}
                    </span>
                    {move || simulated_badge(feeds, lang)}
                </div>
                <div class="head-center">
                    <h1>{tr(Text::Title)}</h1>
                    <nav class="screens" aria-label="screens">
                        {Screen::ALL
                            .iter()
                            .map(|&sc| {
                                let name = tr(match sc {
                                    Screen::Overview => Text::ScreenOverview,
                                    Screen::Yangtze => Text::ScreenYangtze,
                                    Screen::Rivers => Text::ScreenRivers,
                                    Screen::Projects => Text::ScreenProjects,
                                    Screen::Poverty => Text::ScreenPoverty,
                                });
                                view! {
                                    <button
                                        class="screen-tab"
                                        data-testid=format!("tab-{}", sc.key())
                                        aria-current=move || (screen.get() == sc).then_some("page")
                                        on:click=move |_| go(sc, true)
                                    >
                                        {name}
                                    </button>
                                }
                            })
                            .collect::<Vec<_>>()}
                    </nav>
                </div>
                <div class="head-right">
                    <span class="clock-date">{move || shanghai_date(now.get())}</span>
                    <span class="clock">{move || shanghai_hms(now.get())}</span>
                </div>
            </header>
            <main class="wall-body">
                <div class="col col-left">
                    <Show when=move || screen.get() == Screen::Overview fallback=move || view! { {move || theme_left(screen.get())} }>
                    <LivePanel title=tr(Text::WaterPanel) class="panel-kpis panel-water" theme="water">
                        <div class="kpi-grid">
                            <Kpi label=tr(Text::GoodShare).to_string() value=good unit="%".to_string() previous=before(|p| p.good_share) change_label=hour_word.to_string() on_pick=open_province test_id="good-share" />
                            <Kpi
                                label=tr(Text::Readings).to_string()
                                value=readings
                                unit=tr(Text::ReadingsUnit).to_string()
                                decimals=2
                                note=tr(Text::ReadingsNote).to_string()
                                on_pick=open_province test_id="readings-total"
                            />
                            <Kpi label=tr(Text::Outlets).to_string() value=outlets unit="%".to_string() on_pick=open_province test_id="outlets" />
                            <Kpi
                                label=tr(Text::FishingPatrols).to_string()
                                value=fishing
                                unit=tr(Text::UnitTimes).to_string()
                                decimals=2
                                on_pick=open_province test_id="fishing"
                            />
                        </div>
                    </LivePanel>
                    <LivePanel title=tr(Text::ClassPanel) class="panel-chart panel-classes" theme="water">
                        <Ring
                            label=tr(Text::ClassPanel).to_string()
                            slices=class_slices
                            caption=tr(Text::SectionsCaption).to_string()
                            decimals=0
                            on_pick=open_class
                            test_id="class-ring"
                        />
                    </LivePanel>
                    <LivePanel title=tr(Text::RiversPanel) class="panel-kpis panel-rivers" theme="rivers">
                        <div class="kpi-grid">
                            <Kpi
                                label=tr(Text::Patrols).to_string()
                                value=patrols
                                unit=tr(Text::UnitTimes).to_string()
                                decimals=2
                                on_pick=open_province test_id="patrols-total"
                            />
                            <Kpi
                                label=tr(Text::PatrolHours).to_string()
                                value=patrol_hours
                                unit=tr(Text::UnitHours).to_string()
                                decimals=2
                                on_pick=open_province test_id="patrol-hours"
                            />
                            <Kpi
                                label=tr(Text::ProblemsOpen).to_string()
                                value=problems_open
                                previous=before(|p| Some(f64::from(p.problems_open)))
                                change_label=hour_word.to_string()
                                higher_is_better=false
                                unit=Signal::derive(move || format!(" / {}", problems_total()))
                                on_pick=open_province test_id="problems-open"
                            />
                            <Kpi
                                label=tr(Text::Reporting).to_string()
                                value=reporting
                                unit=Signal::derive(move || format!(" / {}", total_sections()))
                                on_pick=open_province test_id="reporting"
                            />
                        </div>
                    </LivePanel>
                    </Show>
                </div>
                <div class="col col-map">
                    <LivePanel title=map_title class="panel-map">
                        <HubeiMap overview=feeds.overview choropleth=screen_map markers=map_markers selected=selected reserve_right=0.38 on_pick=on_map_pick />
                        <RegionDrawer selected=selected lang=lang />
                        <EntityDrawer entity=entity lang=lang />
                        <StageDrawer picked=stage_pick projects=feeds.projects lang=lang />
                        <ClassDrawer picked=class_pick overview=feeds.overview lang=lang />
                        <AlertDrawer open=alert_open feeds=feeds lang=lang />
                        <Show when=move || screen.get() == Screen::Overview>
                            <div class="map-indicator" role="group" data-testid="map-indicator">
                                {[lang.pick("巡河", "Patrols"), lang.pick("待办问题", "Open problems"), lang.pick("风险户", "At risk"), lang.pick("在库项目", "Projects"), lang.pick("巡河覆盖", "Coverage")]
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, label)| view! {
                                        <button aria-pressed=move || (map_indicator.get() == i).to_string() data-indicator=i on:click=move |_| map_indicator.set(i)>{label}</button>
                                    })
                                    .collect::<Vec<_>>()}
                            </div>
                        </Show>
                        <AgeingDrawer picked=age_pick problems=feeds.problems limits=age_limits.into() entity=entity lang=lang />
                        <Show when=move || screen.get() == Screen::Projects>
                            <ul class="marker-legend" data-testid="marker-legend">
                                <li><i style="background: #ffb340"></i>{tr(Text::StageApproval)}</li>
                                <li><i style="background: #37b6ff"></i>{tr(Text::StageConstruction)}</li>
                                <li><i style="background: #4cd964"></i>{tr(Text::StageAcceptance)}</li>
                                <li><i style="background: #ff453a"></i>{lang.pick("有逾期环节", "Step overdue")}</li>
                                {move || industry.get().map(|i| view! {
                                    <li><button class="legend-filter" data-testid="industry-filter" on:click=move |_| industry.set(None)>{format!("{i} ✕")}</button></li>
                                })}
                            </ul>
                        </Show>
                        <output class="drill-from" data-testid="drill-from" hidden=true data-key=move || picked.get().map(|p| p.key) data-value=move || picked.get().map(|p| p.value.to_string())></output>
                    </LivePanel>
                </div>
                <div class="col col-right">
                    <Show when=move || screen.get() == Screen::Overview fallback=move || view! { {move || theme_right(screen.get())} }>
                    <LivePanel title=tr(Text::ProjectsPanel) class="panel-kpis panel-projects" theme="projects">
                        <div class="kpi-grid kpi-grid-3">
                            <Kpi label=tr(Text::Projects).to_string() value=projects unit=tr(Text::UnitItems).to_string() on_pick=open_province test_id="projects" />
                            <Kpi label=tr(Text::InvestmentDone).to_string() value=invest unit="%".to_string() previous=before(|p| p.invest_percent) change_label=hour_word.to_string() on_pick=open_province test_id="invest" />
                            <Kpi label=tr(Text::OverdueSteps).to_string() value=overdue unit=tr(Text::UnitItems).to_string() on_pick=open_province test_id="overdue" />
                        </div>
                        <div class="pipeline-box">
                            <StagePipeline
                                label=tr(Text::ProjectsPanel).to_string()
                                stages=stages
                                overdue_word=tr(Text::Overdue).to_string()
                                unit=tr(Text::UnitItems).to_string()
                                on_pick=open_stage
                                test_id="pipeline"
                            />
                        </div>
                    </LivePanel>
                    <LivePanel title=tr(Text::PovertyPanel) class="panel-kpis panel-poverty" theme="poverty">
                        <div class="kpi-grid kpi-grid-3">
                            <Kpi label=tr(Text::Monitored).to_string() value=monitored unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open_province test_id="monitored" />
                            <Kpi label=tr(Text::RiskHouseholds).to_string() value=risk unit=tr(Text::UnitHouseholds).to_string() decimals=2 previous=before(|p| Some(p.risk_households as f64)) change_label=hour_word.to_string() higher_is_better=false on_pick=open_province test_id="risk" />
                            <Kpi label=tr(Text::Assistance).to_string() value=assistance unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open_province test_id="assistance" />
                        </div>
                    </LivePanel>
                    <LivePanel title=tr(Text::RankingPanel) class="panel-chart panel-ranking" theme="rivers">
                        <RankingBars
                            label=tr(Text::RankingPanel).to_string()
                            items=ranking
                            unit=tr(Text::UnitTimes).to_string()
                            decimals=1
                            rows=17
                            on_pick=select_region
                            test_id="ranking"
                        />
                    </LivePanel>
                    </Show>
                </div>
            </main>
            <section class="wall-alerts" data-testid="wall-alerts">
                <span class="alerts-title">
                    {move || lang.pick("风险预警", "Alerts")}
                    <b data-testid="alerts-open">{move || feeds.alerts.with(|m| m.values().filter(|a| a.is_open()).count())}</b>
                </span>
                <div class="alerts-ticker">
                    <AlertTicker
                        items=ticker_items(feeds, lang)
                        severity_words=severity_words(lang)
                        empty=lang.pick("暂无预警", "No alerts").to_string()
                        on_pick=on_ticker_pick
                        test_id="ticker"
                    />
                </div>
            </section>
            <footer class="wall-foot">
                <span>{move || format!("{} · {}", tr(Text::DataTime), feeds.overview_ms.get().map(|m| format!("{} {}", shanghai_date(m), shanghai_hms(m))).unwrap_or_else(|| tr(Text::NoData).to_string()))}</span>
                <span>"Asia/Shanghai"</span>
            </footer>
        </div>
    }
}
