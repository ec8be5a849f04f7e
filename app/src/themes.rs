//! The theme screens' deeper panels (wasm only): a section's indicator trend with its forecast,
//! the ageing of open river problems, the rivers whose patrols are overdue, investment by industry
//! chain, the biggest project delays, and the villages whose relapse risk jumped.
//!
//! Each reads live data the page already has (the `projects`, `rivers` and `alerts` topics) or
//! the REST history of one entity, and each row or slice leads to the records behind it.

use std::collections::BTreeMap;
use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::alerts::Alert;
use yiping_protocol::events::{RiverProblem, StepKind};
use yiping_protocol::instant::Timestamp;
use yiping_protocol::rules::{RuleKind, Rules};
use yiping_protocol::topics::EntityState;
use yiping_widgets::chart::{
    Category, ForecastSpec, Ring, Sample, ShareGroup, Slice, StackedShares, TimeSeries,
};
use yiping_widgets::layout::Pick;
use yiping_widgets::palette;

use crate::alert_text::{severity_word, summary};
use crate::i18n::Lang;
use crate::link::Feeds;

/// Readings kept in a section's trend.
const TREND_READINGS: u32 = 240;

async fn fetch_trend(section: &str) -> Result<Vec<Sample>, String> {
    // None chosen yet (the overview has not listed the sections).
    if section.is_empty() {
        return Ok(Vec::new());
    }
    let h: yiping_protocol::api::EntityRecord = crate::http::fetch_json(&crate::replay::with_at(&format!(
        "/api/v1/entities/section:{section}?latest={TREND_READINGS}"
    )))
    .await?;
    Ok(h.history
        .into_iter()
        .filter_map(|r| match r.event.data {
            yiping_protocol::events::Event::WaterReading(w) => {
                Some((r.event.time.at.unix_ms(), vec![w.nh3n_mg_l, w.tp_mg_l]))
            }
            _ => None,
        })
        .collect())
}

/// A section's main indicators (NH3-N, TP) over its latest readings, with Holt's forecast of
/// NH3-N and its 95 % band; refreshed every 30 s, whenever another section is chosen and whenever
/// its screen is shown again. On a screen kept hidden ([`yiping_widgets::observe::Shown`]) it
/// reads nothing.
#[component]
pub fn SectionTrend(
    /// The section shown (its id).
    section: RwSignal<String>,
    /// Display language.
    lang: Lang,
    /// A touch on the chart (it opens the section's records).
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
) -> impl IntoView {
    let history: RwSignal<Vec<Sample>> = RwSignal::new(Vec::new());
    let load = move || {
        let (id, asked) = (section.get_untracked(), crate::replay::current_stream());
        leptos::task::spawn_local(async move {
            if let Ok(h) = fetch_trend(&id).await
                && section.get_untracked() == id
                && crate::replay::current_stream() == asked
            {
                history.set(h);
            }
        });
    };
    let shown = yiping_widgets::observe::Shown::here();
    Effect::new(move |_| {
        section.track();
        if shown.get() {
            load();
        }
    });
    crate::timer::every(Duration::from_secs(30), move || {
        if shown.get_untracked() {
            load();
        }
    });
    let names =
        lang.pick(vec!["氨氮".to_string(), "总磷".to_string()], vec!["NH3-N".to_string(), "TP".to_string()]);
    view! {
        <div class="trend" data-testid="trend" data-section=move || section.get() data-points=move || history.with(Vec::len).to_string()>
            <TimeSeries
                label=lang.pick("主要指标趋势", "Main indicators").to_string()
                names=names
                latest=Signal::derive(|| None)
                history=history
                span_ms=30.0 * 24.0 * 3600.0 * 1000.0
                unit="mg/L".to_string()
                decimals=2
                forecast=ForecastSpec { steps: 6, resample: 48, z: 1.96, label: lang.pick("氨氮趋势预判 (Holt, 95%)", "NH3-N forecast (Holt, 95%)").to_string() }
                on_pick=on_pick.unwrap_or_else(|| Callback::new(|_| ()))
                test_id="s-trend"
            />
        </div>
    }
}

/// Every county's adcode, name and 精准脱贫 figures (`GET /api/v1/counties`).
pub async fn fetch_counties() -> Result<Vec<(String, String, yiping_protocol::topics::PovertyAgg)>, String> {
    let a: yiping_protocol::api::CountiesAnswer =
        crate::http::fetch_json(&crate::replay::with_at("/api/v1/counties")).await?;
    Ok(a.counties.into_iter().map(|c| (c.adcode, c.name, c.poverty)).collect())
}

/// The province's history (`GET /api/v1/history`), oldest first.
pub async fn fetch_history() -> Result<Vec<yiping_protocol::topics::HistoryPoint>, String> {
    crate::http::fetch_json::<yiping_protocol::api::HistoryAnswer>(&crate::replay::with_at("/api/v1/history"))
        .await
        .map(|h| h.points)
}

/// The province's mean per-capita income of the reporting villages over the server's history
/// (10-minute steps of data time, 7 days), as the page keeps it.
#[component]
pub fn IncomeTrend(
    /// The province's history, oldest first.
    points: RwSignal<Vec<yiping_protocol::topics::HistoryPoint>>,
    /// Display language.
    lang: Lang,
    /// A touch on the chart.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
) -> impl IntoView {
    let history = Signal::derive(move || {
        points.with(|h| {
            h.iter().filter_map(|p| Some((p.t.unix_ms(), vec![p.mean_income?]))).collect::<Vec<Sample>>()
        })
    });
    view! {
        <div class="trend" data-testid="income-trend" data-points=move || history.with(Vec::len).to_string()>
            <TimeSeries
                label=lang.pick("脱贫户人均收入趋势（按户加权）", "Per-capita income of lifted households").to_string()
                names=vec![lang.pick("人均收入", "Per-capita income").to_string()]
                latest=Signal::derive(|| None)
                history=history
                span_ms=7.0 * 24.0 * 3600.0 * 1000.0
                unit=lang.pick("元/年", "CNY/yr").to_string()
                decimals=2
                // No forecast: villages report monthly, so 10-minute steps of this trend are not a series to extrapolate.
                on_pick=on_pick.unwrap_or_else(|| Callback::new(|_| ()))
                test_id="v-income-trend"
            />
        </div>
    }
}

/// The age limits of open problems, days: the first three levels of the `problem_open` rule in
/// `rules`, so the buckets are the rule's (below the first level, then level to level). Until the
/// server's rules are read, the default rules' (the same as the embedded configuration).
pub fn age_limits_of(rules: &Rules) -> [f64; 3] {
    let at = |i: usize| rules.problem_open.levels.get(i).map(|l| l.at);
    match (at(0), at(1), at(2)) {
        (Some(a), Some(b), Some(c)) => [a, b, c],
        _ => age_limits_of(&Rules::default()),
    }
}

/// Days from `found` (RFC 3339, any offset) to `now_ms`.
pub fn age_days(found: Timestamp, now_ms: f64) -> f64 {
    (now_ms - found.unix_ms()) / 86_400_000.0
}

/// The bucket of a problem found at `found` as of `now_ms`, by the age `limits`.
pub fn age_bucket(found: Timestamp, now_ms: f64, limits: &[f64; 3]) -> usize {
    let days = age_days(found, now_ms);
    limits.iter().position(|b| days < *b).unwrap_or(limits.len())
}

/// When an open problem was found (its latest report's `found`).
fn found_at(p: &EntityState) -> Option<Timestamp> {
    p.report::<RiverProblem>().map(|r| r.found.at)
}

/// Open problems by age (from the `rivers` topic's live problems); a touch on a slice lists
/// those problems.
#[component]
pub fn ProblemAgeing(
    /// The open problems by key.
    problems: RwSignal<BTreeMap<String, EntityState>>,
    /// The bucket touched (its index), for the list.
    picked: RwSignal<Option<usize>>,
    /// The age limits, days (the `problem_open` rule's levels).
    limits: Signal<[f64; 3]>,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    let colors = [palette::GOOD, palette::WARN, palette::ORANGE, palette::BAD];
    let slices = Signal::derive(move || {
        let now = js_sys::Date::now();
        let l = limits.get();
        let labels: [String; 4] = lang.pick(
            [
                format!("{}天内", l[0]),
                format!("{}–{}天", l[0], l[1]),
                format!("{}–{}天", l[1], l[2]),
                format!("{}天以上", l[2]),
            ],
            [
                format!("< {} d", l[0]),
                format!("{}–{} d", l[0], l[1]),
                format!("{}–{} d", l[1], l[2]),
                format!("{} d +", l[2]),
            ],
        );
        let mut counts = [0.0; 4];
        problems.with(|m| {
            for p in m.values() {
                if let Some(found) = found_at(p) {
                    counts[age_bucket(found, now, &l)] += 1.0;
                }
            }
        });
        (0..4)
            .map(|i| Slice {
                key: i.to_string(),
                label: labels[i].clone(),
                value: counts[i],
                color: Some(colors[i]),
            })
            .collect::<Vec<_>>()
    });
    view! {
        <Ring
            label=lang.pick("待办结问题账龄", "Open problems by age").to_string()
            slices=slices
            caption=lang.pick("待办结", "open").to_string()
            decimals=0
            on_pick=Callback::new(move |p: Pick| picked.set(p.key.parse().ok()))
            test_id="r-ageing"
        />
    }
}

/// The problems of an age bucket, oldest first; a touch opens a problem's records.
#[component]
pub fn AgeingDrawer(
    /// The bucket (None: closed).
    picked: RwSignal<Option<usize>>,
    /// The open problems.
    problems: RwSignal<BTreeMap<String, EntityState>>,
    /// The age limits, days (as the ring's).
    limits: Signal<[f64; 3]>,
    /// The entity drawer to open.
    entity: RwSignal<Option<String>>,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    let rows = move || -> Vec<(String, String, String, f64)> {
        let Some(b) = picked.get() else { return Vec::new() };
        let now = js_sys::Date::now();
        let l = limits.get();
        let mut v: Vec<(String, String, String, f64)> = problems.with(|m| {
            m.values()
                .filter_map(|p| {
                    let found = found_at(p)?;
                    let days = age_days(found, now);
                    (age_bucket(found, now, &l) == b).then(|| {
                        let site = crate::site::current();
                        let region = site.child_name(lang, &site.child_of(&p.adcode));
                        (p.key.clone(), p.name.clone(), region, days)
                    })
                })
                .collect()
        });
        v.sort_by(|a, b| b.3.total_cmp(&a.3));
        v
    };
    view! {
        <aside class="drill" data-testid="ageing-drill" hidden=move || picked.with(Option::is_none) data-count=move || rows().len().to_string()>
            <header class="drill-head">
                <h3>{lang.pick("待办结问题", "Open problems")}</h3>
                <button class="drill-close" on:click=move |_| picked.set(None)>{lang.pick("关闭 ✕", "Close ✕")}</button>
            </header>
            <ul class="drill-history drill-projects">
                {move || rows().into_iter().take(200).map(|(key, name, region, days)| {
                    let k = key.clone();
                    view! {
                        <li class="pick-row" on:click=move |_| entity.set(Some(k.clone()))>
                            <span>{format!("{name} · {region}")}</span>
                            <span class="late">{lang.pick(format!("{days:.0}天"), format!("{days:.0} d"))}</span>
                        </li>
                    }
                }).collect::<Vec<_>>()}
            </ul>
        </aside>
    }
}

/// The open alerts of one rule as a list, most severe and newest first; a touch opens the alert.
/// Rows are fixed slots whose content follows the data (the wall runs for weeks).
#[component]
pub fn AlertRuleList(
    /// The page's feeds.
    feeds: Feeds,
    /// The rule listed.
    rule: RuleKind,
    /// Opens an alert.
    on_open: Callback<String>,
    /// What to say when there are none.
    empty: &'static str,
    /// Display language.
    lang: Lang,
    /// `data-testid`.
    test_id: &'static str,
) -> impl IntoView {
    const SLOTS: usize = 12;
    let list = Memo::new(move |_| {
        feeds.alerts.with(|m| {
            let mut v: Vec<Alert> = m.values().filter(|a| a.is_open() && a.rule == rule).cloned().collect();
            v.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| Alert::newest_first(a, b)));
            v
        })
    });
    let slot = move |i: usize| {
        let a = move || list.with(|l| l.get(i).cloned());
        view! {
            <li class="rule-row" hidden=move || list.with(|l| i >= l.len()) data-id=move || a().map(|a| a.id) data-severity=move || a().map(|a| a.severity.as_str())
                on:click=move |_| if let Some(a) = a() { on_open.run(a.id) }>
                <span class="row-sev">{move || a().map(|a| severity_word(lang, a.severity)).unwrap_or_default()}</span>
                <span class="rule-text">{move || a().map(|a| summary(lang, &a)).unwrap_or_default()}</span>
                <span class="rule-who">{move || a().and_then(|a| a.responsible.map(|r| r.name)).unwrap_or_default()}</span>
            </li>
        }
    };
    view! {
        <div class="rule-list" data-testid=test_id data-count=move || list.with(Vec::len).to_string()>
            <ul>{(0..SLOTS).map(slot).collect::<Vec<_>>()}</ul>
            <p class="duty-empty" hidden=move || list.with(|l| !l.is_empty())>{empty}</p>
            <p class="rule-more" hidden=move || list.with(|l| l.len() <= SLOTS)>
                {move || {
                    let n = list.with(Vec::len).saturating_sub(SLOTS);
                    lang.pick(format!("另有 {n} 条，见值班台"), format!("{n} more in the duty console"))
                }}
            </p>
        </div>
    }
}

/// Investment completed vs. still to do, by industry chain (100 % bars); a touch on an industry
/// shows only its projects on the map (again: all).
#[component]
pub fn IndustryInvestment(
    /// Every project's latest state.
    projects: RwSignal<BTreeMap<String, EntityState>>,
    /// The industry the map shows (None: all).
    industry: RwSignal<Option<String>>,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    let categories = vec![
        Category { key: "done".into(), label: lang.pick("已完成", "Done").into(), color: palette::ACCENT },
        Category {
            key: "left".into(),
            label: lang.pick("未完成", "To do").into(),
            color: palette::REMAINING,
        },
    ];
    let groups = Signal::derive(move || {
        let mut by: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        projects.with(|m| {
            // Done beyond plan shows as all done: the bar splits the plan.
            for p in m.values().filter_map(crate::drill::project_of) {
                let (plan, done) = (p.plan_wan, p.done_wan.min(p.plan_wan));
                let e = by.entry(p.industry).or_default();
                e.0 += done;
                e.1 += plan - done;
            }
        });
        let mut v: Vec<(String, (f64, f64))> = by.into_iter().collect();
        v.sort_by(|a, b| (b.1.0 + b.1.1).total_cmp(&(a.1.0 + a.1.1)));
        v.into_iter()
            .take(8)
            .map(|(k, (d, l))| ShareGroup { key: k.clone(), label: k, counts: vec![d, l] })
            .collect::<Vec<_>>()
    });
    view! {
        <div class="industry-box" data-testid="industry" data-industry=move || industry.get()>
            <StackedShares
                label=lang.pick("各产业链投资完成", "Investment by industry chain").to_string()
                categories=categories
                groups=groups
                on_pick=Callback::new(move |p: Pick| {
                    let pick = (!p.series.is_empty()).then_some(p.series);
                    industry.update(|i| *i = if *i == pick { None } else { pick });
                })
                test_id="p-industry"
            />
        </div>
    }
}

/// Days the most overdue step of a project is late today (Asia/Shanghai), with the step (the one
/// overdue rule, [`yiping_protocol::events::ProjectStep::is_overdue`]).
pub fn worst_delay(p: &EntityState, today: yiping_protocol::instant::Date) -> Option<(f64, StepKind)> {
    let project = crate::drill::project_of(p)?;
    let (step, days) = project.worst_overdue(today)?;
    Some((days as f64, step.step))
}

/// The projects with the biggest delays (their most overdue step), worst first; a touch opens
/// the project's records.
#[component]
pub fn BiggestDelays(
    /// Every project's latest state.
    projects: RwSignal<BTreeMap<String, EntityState>>,
    /// The entity drawer to open.
    entity: RwSignal<Option<String>>,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    const SLOTS: usize = 10;
    let list = Memo::new(move |_| {
        let today = crate::drill::today();
        let mut v: Vec<(String, String, StepKind, f64)> = projects.with(|m| {
            m.values()
                .filter_map(|p| {
                    let (d, step) = worst_delay(p, today)?;
                    Some((p.key.clone(), p.name.clone(), step, d))
                })
                .collect()
        });
        v.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.0.cmp(&b.0)));
        v.truncate(SLOTS);
        v
    });
    let slot = move |i: usize| {
        let row = move || list.with(|l| l.get(i).cloned());
        view! {
            <li class="rule-row" hidden=move || list.with(|l| i >= l.len()) data-key=move || row().map(|r| r.0)
                on:click=move |_| if let Some(r) = row() { entity.set(Some(r.0)) }>
                <span class="rule-rank">{i + 1}</span>
                <span class="rule-text">{move || row().map(|r| r.1).unwrap_or_default()}</span>
                <span class="rule-who">{move || row().map(|r| crate::alert_text::step_name(lang, r.2).to_string()).unwrap_or_default()}</span>
                <span class="late">{move || row().map(|r| lang.pick(format!("{:.0}天", r.3), format!("{:.0} d", r.3))).unwrap_or_default()}</span>
            </li>
        }
    };
    view! {
        <div class="rule-list" data-testid="p-delays" data-count=move || list.with(Vec::len).to_string()>
            <ul>{(0..SLOTS).map(slot).collect::<Vec<_>>()}</ul>
            <p class="duty-empty" hidden=move || list.with(|l| !l.is_empty())>{lang.pick("没有逾期环节", "No overdue steps")}</p>
        </div>
    }
}
