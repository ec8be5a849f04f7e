//! Drill-down: the records behind a region's figures, from the REST API.
//!
//! One touch on a region (a ranking bar, the map) selects it; this drawer then shows what the
//! server's fold holds for that region across the four themes (`GET /api/v1/regions/{adcode}`),
//! refreshed while it is open, with its data time. Closing it (or the map's breadcrumb, Escape,
//! the browser's back) returns to the province.

use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::api::{EntityPlace, EntityRecord, RegionFigures};
use yiping_protocol::events::{Project, Stage};
use yiping_protocol::instant::{Date, Timestamp};
use yiping_protocol::topics::EntityState;
use yiping_widgets::format::{NumberStyle, scaled_text, shanghai_hms};

use crate::http::fetch_json;
use crate::i18n::Lang;

async fn fetch_region(adcode: &str) -> Result<RegionFigures, String> {
    fetch_json(&crate::replay::with_at(&format!("/api/v1/regions/{adcode}"))).await
}

/// The drawer with the selected region's records.
#[component]
pub fn RegionDrawer(
    /// The selected region (None: closed).
    selected: RwSignal<Option<String>>,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    let style = use_context::<NumberStyle>().unwrap_or_default();
    let record: RwSignal<Option<RegionFigures>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let load = move || {
        if let Some(a) = selected.get_untracked() {
            let asked = crate::replay::current_stream();
            leptos::task::spawn_local(async move {
                match fetch_region(&a).await {
                    // Only if still selected (a newer touch may have moved on), and still of the
                    // instant shown.
                    Ok(r)
                        if selected.get_untracked().as_deref() == Some(r.adcode.as_str())
                            && crate::replay::current_stream() == asked =>
                    {
                        error.set(None);
                        record.set(Some(r));
                    }
                    Ok(_) => {}
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    Effect::new(move |_| {
        if selected.get().is_none() {
            record.set(None);
        }
        load();
    });
    // While open, refresh every 2 s: the records stay as live as the figure that opened them.
    crate::timer::every(Duration::from_secs(2), move || {
        if selected.get_untracked().is_some() {
            load();
        }
    });
    let num = move |v: f64| scaled_text(v, 2, style);
    let row = move |label: &'static str, id: &'static str, value: Option<f64>, unit: &'static str| {
        view! {
            <div class="drill-row" data-testid=id data-value=value.map(|v| v.to_string())>
                <span class="drill-label">{label}</span>
                <span class="drill-value">{value.map_or_else(|| "—".to_string(), num)}<small>{unit}</small></span>
            </div>
        }
    };
    view! {
        <aside class="drill" data-testid="drill" hidden=move || selected.with(Option::is_none) data-adcode=move || selected.get()>
            <header class="drill-head">
                <h3>{move || record.with(|r| r.as_ref().map(|r| r.name.clone())).unwrap_or_default()}</h3>
                <button class="drill-close" data-testid="drill-close" on:click=move |_| selected.set(None)>
                    {lang.pick("关闭 ✕", "Close ✕")}
                </button>
            </header>
            <div class="drill-time">
                {move || record.with(|r| r.as_ref().and_then(|r| r.time).map(|t| format!("{} {}", lang.pick("数据时间", "Data time"), shanghai_hms(t.unix_ms())))).unwrap_or_default()}
            </div>
            {move || error.get().map(|e| view! { <div class="drill-error" role="alert">{e}</div> })}
            {move || record.get().map(|r| {
                let (w, rv, p, pv) = (r.water, r.rivers, r.projects, r.poverty);
                view! {
                    <section class="drill-group">
                        <h4>{lang.pick("河湖长制", "River chiefs")}</h4>
                        {row(lang.pick("累计巡河", "Patrols"), "drill-patrols", Some(rv.patrols as f64), lang.pick("次", ""))}
                        {row(lang.pick("巡河时长", "Patrol hours"), "drill-hours", Some((rv.patrol_minutes as f64 / 60.0).round()), lang.pick("小时", " h"))}
                        {row(lang.pick("待办结问题", "Open problems"), "drill-problems-open", Some(f64::from(rv.problems_open)), lang.pick("个", ""))}
                        {row(lang.pick("发现问题", "Problems found"), "drill-problems", Some(f64::from(rv.problems)), lang.pick("个", ""))}
                    </section>
                    <section class="drill-group">
                        <h4>{lang.pick("长江大保护", "Yangtze protection")}</h4>
                        {row(lang.pick("监测数据", "Readings"), "drill-readings", Some(w.readings as f64), lang.pick("条", ""))}
                        {row(lang.pick("禁渔巡查", "Fishing-ban patrols"), "drill-fishing", Some(w.fishing_patrols as f64), lang.pick("次", ""))}
                        {row(lang.pick("排污口", "Sewage outlets"), "drill-outlets", Some(f64::from(w.outlets)), lang.pick("个", ""))}
                    </section>
                    <section class="drill-group">
                        <h4>{lang.pick("重大项目", "Major projects")}</h4>
                        {row(lang.pick("在库项目", "Projects"), "drill-projects", Some(f64::from(p.projects)), lang.pick("个", ""))}
                        {row(lang.pick("投资完成率", "Investment done"), "drill-invest", p.invest_percent().map(|v| (v * 10.0).round() / 10.0), "%")}
                        {row(lang.pick("逾期环节（今日）", "Overdue steps (today)"), "drill-overdue", Some(f64::from(r.overdue.steps)), lang.pick("个", ""))}
                    </section>
                    <section class="drill-group">
                        <h4>{lang.pick("精准脱贫", "Poverty alleviation")}</h4>
                        {row(lang.pick("监测户", "Monitored households"), "drill-monitored", Some(pv.monitored_households as f64), lang.pick("户", ""))}
                        {row(lang.pick("风险未消除", "At risk"), "drill-risk", Some(pv.risk_households as f64), lang.pick("户", ""))}
                        {row(lang.pick("新增风险户（累计）", "Newly at risk (total)"), "drill-risk-added", Some(pv.risk_added as f64), lang.pick("户", ""))}
                        {row(lang.pick("风险消除户（累计）", "Risk removed (total)"), "drill-risk-removed", Some(pv.risk_removed as f64), lang.pick("户", ""))}
                        {row(lang.pick("本年帮扶资金", "Assistance this year"), "drill-assistance", Some(pv.assistance_wan * 1e4), lang.pick("元", " yuan"))}
                    </section>
                }
            })}
        </aside>
    }
}

async fn fetch_entity(key: &str) -> Result<EntityRecord, String> {
    // The newest 50 events (the drawer lists them newest first).
    fetch_json(&crate::replay::with_at(&format!(
        "/api/v1/entities/{}?latest=50",
        js_sys::encode_uri_component(key)
    )))
    .await
}

/// The drawer with one entity's records: its latest state and the events behind it, newest
/// first, each with its time (a touch on a map marker opens it).
#[component]
pub fn EntityDrawer(
    /// The entity shown (None: closed).
    entity: RwSignal<Option<String>>,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    let record: RwSignal<Option<EntityRecord>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    Effect::new(move |_| {
        record.set(None);
        let Some(k) = entity.get() else { return };
        leptos::task::spawn_local(async move {
            match fetch_entity(&k).await {
                Ok(r) if entity.get_untracked().as_deref() == Some(r.key.as_str()) => {
                    error.set(None);
                    record.set(Some(r));
                }
                Ok(_) => {}
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let status_word = move |s: &str| -> String {
        yiping_protocol::events::Stage::from_name(s)
            .map_or_else(|| s.to_string(), |stage| crate::i18n::stage_name(lang, stage).to_string())
    };
    let kind_word = move |k: &str| -> String {
        let w = match k {
            "water.reading" => lang.pick("水质监测", "Water reading"),
            "water.outlet" => lang.pick("排污口", "Sewage outlet"),
            "water.fishing_patrol" => lang.pick("禁渔巡查", "Fishing-ban patrol"),
            "river.patrol" => lang.pick("巡河", "River patrol"),
            "river.problem" => lang.pick("问题处置", "Problem"),
            "project.update" => lang.pick("项目进度上报", "Project report"),
            "poverty.village" => lang.pick("村级监测", "Village report"),
            other => return other.to_string(),
        };
        w.to_string()
    };
    let when = |t: Timestamp| {
        let ms = t.unix_ms();
        format!("{} {}", yiping_widgets::format::shanghai_date(ms), shanghai_hms(ms))
    };
    view! {
        <aside class="drill" data-testid="entity-drill" hidden=move || entity.with(Option::is_none) data-key=move || entity.get()>
            <header class="drill-head">
                <h3>{move || record.with(|r| r.as_ref().and_then(|r| r.current.as_ref().map(|c| c.name.clone()))).unwrap_or_default()}</h3>
                <button class="drill-close" data-testid="entity-close" on:click=move |_| entity.set(None)>
                    {lang.pick("关闭 ✕", "Close ✕")}
                </button>
            </header>
            {move || error.get().map(|e| view! { <div class="drill-error" role="alert">{e}</div> })}
            {move || record.get().map(|r| {
                let c = r.current.clone();
                let n = r.history.len();
                view! {
                    <div class="drill-time">{c.as_ref().map(|c| format!("{} {}", lang.pick("数据时间", "Data time"), when(c.time))).unwrap_or_default()}</div>
                    <section class="drill-group">
                        <div class="drill-row"><span class="drill-label">{lang.pick("编号", "Key")}</span><span class="drill-value">{r.key.clone()}</span></div>
                        <div class="drill-row"><span class="drill-label">{lang.pick("状态", "Status")}</span><span class="drill-value" data-testid="entity-status" data-status=c.as_ref().map(|c| c.status.clone())>{c.as_ref().map(|c| status_word(&c.status)).unwrap_or_default()}</span></div>
                        <div class="drill-row"><span class="drill-label">{lang.pick("所在县区", "County")}</span><span class="drill-value" data-testid="entity-place">{
                            let code = c.as_ref().map(|c| c.adcode.clone()).unwrap_or_default();
                            match r.place.as_ref() {
                                Some(EntityPlace { county: Some(county), prefecture }) => {
                                    let pre = prefecture.as_deref().filter(|p| p != county).map(|p| format!("{p} ")).unwrap_or_default();
                                    format!("{pre}{county} ({code})")
                                }
                                _ => code,
                            }
                        }</span></div>
                    </section>
                    {c.as_ref().and_then(project_of).map(|p| view! { <ProjectSteps project=p lang=lang /> })}
                    <section class="drill-group">
                        <h4>{format!("{} ({n})", lang.pick("上报记录", "Reports"))}</h4>
                        <ul class="drill-history" data-testid="entity-history" data-count=n.to_string()>
                            {r.history.iter().rev().take(12).map(|h| {
                                view! { <li><span>{when(h.event.time.at)}</span><span>{kind_word(&h.event.kind)}</span></li> }
                            }).collect::<Vec<_>>()}
                        </ul>
                    </section>
                }
            })}
        </aside>
    }
}

/// A project's life-cycle steps with their due and done dates (late ones say by how many days,
/// today in Beijing), and its investment plan against what is done.
#[component]
fn ProjectSteps(project: Project, lang: Lang) -> impl IntoView {
    let today = today();
    let style = use_context::<NumberStyle>().unwrap_or_default();
    let money = move |wan: f64| format!("{}{}", scaled_text(wan * 1e4, 2, style), lang.pick("元", " CNY"));
    let invest = project.invest_percent().map_or_else(|| "—".to_string(), |p| format!("{p:.1}%"));
    let rows = project
        .steps
        .iter()
        .map(|s| {
            let key = s.step.as_str();
            let name = crate::alert_text::step_name(lang, s.step);
            let (state, late) = match (s.done, s.is_overdue(today)) {
                (Some(d), _) => (format!("{} {d}", lang.pick("完成", "done")), false),
                (None, true) => (
                    format!("{} {} {}", lang.pick("逾期", "late"), s.days_late(today), lang.pick("天", "d")),
                    true,
                ),
                (None, false) => (lang.pick("未到期", "not due").to_string(), false),
            };
            view! {
                <li data-step=key data-late=late.then_some("1")>
                    <span>{name}</span>
                    <span>{format!("{} {}", lang.pick("到期", "due"), s.due)}</span>
                    <span class:late=late>{state}</span>
                </li>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <section class="drill-group" data-testid="project-steps">
            <h4>{lang.pick("全生命周期环节", "Life-cycle steps")}</h4>
            <ul class="drill-history drill-steps">{rows}</ul>
            <div class="drill-row" data-testid="project-invest" data-plan=project.plan_wan.to_string() data-done=project.done_wan.to_string()>
                <span class="drill-label">{lang.pick("计划 / 完成投资", "Plan / done")}</span>
                <span class="drill-value">{format!("{} / {} · {invest}", money(project.plan_wan), money(project.done_wan))}</span>
            </div>
        </section>
    }
}

/// A project as the stage list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRow {
    /// Entity key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Industry chain.
    pub industry: String,
    /// Steps overdue today.
    pub overdue: u32,
}

/// Today in Asia/Shanghai, by this browser's clock (what overdue is counted against).
pub fn today() -> Date {
    Timestamp::from_unix_ms(js_sys::Date::now()).beijing_date()
}

/// A project entity's latest report.
pub fn project_of(p: &EntityState) -> Option<Project> {
    p.report()
}

/// The projects behind a pipeline figure: those in a stage (or only those with overdue steps),
/// the biggest delays first.
#[component]
pub fn StageDrawer(
    /// The stage picked ([`Stage::as_str`]) and whether only those with overdue steps.
    picked: RwSignal<Option<(String, bool)>>,
    /// Every project's latest state.
    projects: RwSignal<std::collections::BTreeMap<String, yiping_protocol::topics::EntityState>>,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    let rows = move || -> Vec<ProjectRow> {
        let Some((stage, only_overdue)) = picked.get() else { return Vec::new() };
        let today = today();
        let mut rows: Vec<ProjectRow> = projects.with(|m| {
            m.values()
                .filter(|e| e.status == stage)
                .filter_map(|e| Some((e, project_of(e)?)))
                .map(|(e, p)| ProjectRow {
                    key: e.key.clone(),
                    name: e.name.clone(),
                    industry: p.industry.clone(),
                    overdue: p.overdue_steps(today).count() as u32,
                })
                .filter(|r| !only_overdue || r.overdue > 0)
                .collect()
        });
        rows.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.key.cmp(&b.key)));
        rows
    };
    let title = move || {
        picked.get().map(|(stage, only_overdue)| {
            let name = Stage::from_name(&stage).map_or("", |s| crate::i18n::stage_name(lang, s));
            if only_overdue {
                format!("{name} · {}", lang.pick("逾期项目", "overdue"))
            } else {
                name.to_string()
            }
        })
    };
    view! {
        <aside
            class="drill"
            data-testid="stage-drill"
            hidden=move || picked.with(Option::is_none)
            data-count=move || { rows().len().to_string() }
            data-overdue=move || { rows().iter().filter(|r| r.overdue > 0).count().to_string() }
        >
            <header class="drill-head">
                <h3>{move || title().unwrap_or_default()}</h3>
                <button class="drill-close" data-testid="stage-close" on:click=move |_| picked.set(None)>
                    {lang.pick("关闭 ✕", "Close ✕")}
                </button>
            </header>
            <div class="drill-time">{move || format!("{} {}", rows().len(), lang.pick("个项目 · 逾期环节多者在前", "projects · biggest delays first"))}</div>
            <ul class="drill-history drill-projects">
                {move || rows().into_iter().take(40).map(|r| view! {
                    <li data-key=r.key.clone()>
                        <span>{format!("{} · {}", r.name, r.industry)}</span>
                        <span class:late={ r.overdue > 0 }>{if r.overdue > 0 { format!("{} {}", lang.pick("逾期", "overdue"), r.overdue) } else { "—".to_string() }}</span>
                    </li>
                }).collect::<Vec<_>>()}
            </ul>
        </aside>
    }
}

/// The sections behind a slice of the class ring: those whose latest class is `picked`
/// (a [`WaterClass`](yiping_protocol::water::WaterClass) name such as `II`, or `none` for those
/// that have not reported).
#[component]
pub fn ClassDrawer(
    /// The class picked.
    picked: RwSignal<Option<String>>,
    /// The overview, whose sections are listed.
    overview: RwSignal<Option<yiping_protocol::topics::Overview>>,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    let rows = move || -> Vec<(String, String)> {
        let Some(k) = picked.get() else { return Vec::new() };
        overview.with(|o| {
            o.as_ref()
                .map(|o| {
                    o.sections
                        .iter()
                        .filter(|s| s.class.map_or("none", |c| c.code()) == k)
                        .map(|s| {
                            let t = s.time.map(|t| shanghai_hms(t.unix_ms()));
                            (format!("{} · {}", s.river, s.name), t.unwrap_or_default())
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
    };
    let title = move || {
        picked.get().map(|k| match k.as_str() {
            "none" => lang.pick("未报送断面", "Sections not reported").to_string(),
            _ => {
                let label = yiping_protocol::water::WaterClass::ALL
                    .iter()
                    .find(|c| c.code() == k)
                    .map_or(k.clone(), |c| c.label().to_string());
                lang.pick(format!("{label}类断面"), format!("Class {label} sections"))
            }
        })
    };
    view! {
        <aside class="drill" data-testid="class-drill" hidden=move || picked.with(Option::is_none) data-count=move || { rows().len().to_string() }>
            <header class="drill-head">
                <h3>{move || title().unwrap_or_default()}</h3>
                <button class="drill-close" data-testid="class-close" on:click=move |_| picked.set(None)>
                    {lang.pick("关闭 ✕", "Close ✕")}
                </button>
            </header>
            <ul class="drill-history drill-projects">
                {move || rows().into_iter().map(|(name, time)| view! { <li><span>{name}</span><span>{time}</span></li> }).collect::<Vec<_>>()}
            </ul>
        </aside>
    }
}
