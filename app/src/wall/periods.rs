//! 周期对比: the province's figures for 今日 / 本周 / 本月 / 本年 (to date) and 累计, each with 环比 and
//! 同比 where the log reaches back ("—" and why where it does not), and the prefectures side by
//! side for one indicator (交叉比对). From `GET /api/v1/periods` (`at=` in a replay).

use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::periods::{Indicator, Period, PeriodFigures, PeriodsAnswer, Window, change_percent};
use yiping_widgets::chart::{CompareItem, Comparison};
use yiping_widgets::format::{NumberStyle, scaled_text, shanghai_date, shanghai_hms};

use crate::i18n::Lang;

use super::WallCtx;

/// An indicator's figure in the unit shown (investment is counted in 万元 and shown in 元, scaled
/// to 万/亿 like every figure; hours whole).
pub(super) fn shown(i: Indicator, v: f64) -> f64 {
    match i {
        Indicator::InvestDone => v * 1e4,
        // Whole hours, as the cumulative figure shows them.
        Indicator::PatrolHours => v.round(),
        _ => v,
    }
}

/// The indicator's name and unit.
pub(super) fn words(lang: Lang, i: Indicator) -> (&'static str, &'static str) {
    match i {
        Indicator::Patrols => (lang.pick("巡河", "Patrols"), lang.pick("次", "")),
        Indicator::PatrolHours => (lang.pick("巡河时长", "Patrol time"), lang.pick("小时", " h")),
        Indicator::ProblemsFound => (lang.pick("发现问题", "Problems found"), lang.pick("个", "")),
        Indicator::ProblemsClosed => (lang.pick("办结问题", "Problems closed"), lang.pick("个", "")),
        Indicator::Readings => (lang.pick("水质监测数据", "Water readings"), lang.pick("条", "")),
        Indicator::FishingPatrols => (lang.pick("禁渔巡查", "Fishing-ban patrols"), lang.pick("次", "")),
        Indicator::InvestDone => (lang.pick("完成投资", "Investment done"), lang.pick("元", " CNY")),
        Indicator::RiskAdded => (lang.pick("新增风险户", "Newly at risk"), lang.pick("户", "")),
        Indicator::RiskRemoved => (lang.pick("风险消除户", "Risk removed"), lang.pick("户", "")),
    }
}

/// 今日, 本周, 本月, 本年; 累计 for none.
pub(super) fn period_word(lang: Lang, p: Option<Period>) -> &'static str {
    match p {
        Some(Period::Today) => lang.pick("今日", "Today"),
        Some(Period::Week) => lang.pick("本周", "This week"),
        Some(Period::Month) => lang.pick("本月", "This month"),
        Some(Period::Year) => lang.pick("本年", "This year"),
        None => lang.pick("累计", "Total"),
    }
}

/// "2026-12-01 00:00 — 2026-12-04 09:30" (Beijing).
fn window_text(w: &Window) -> String {
    let (a, b) = (w.from.unix_ms(), w.to.unix_ms());
    format!("{} {} — {} {}", shanghai_date(a), &shanghai_hms(a)[..5], shanghai_date(b), &shanghai_hms(b)[..5])
}

/// A comparison cell: the compared value and the change, or "—" and why.
fn compared(lang: Lang, style: NumberStyle, now: f64, then: Option<f64>, first: Option<Timestamp>) -> String {
    match then {
        Some(v) => {
            let change = change_percent(now, v)
                .map_or_else(|| "—".to_string(), yiping_widgets::format::change_percent);
            format!("{} ({change})", scaled_text(v, 1, style))
        }
        None => match first {
            Some(f) => format!("— {} {}", lang.pick("数据始于", "data from"), shanghai_date(f.unix_ms())),
            None => "—".to_string(),
        },
    }
}

/// Keep the period figures (`GET /api/v1/periods`) while the drawer is open or the headline
/// figures show a period: on opening, on every seek of a replay, and every minute.
pub(super) fn load(ctx: WallCtx) {
    let wanted = move || ctx.periods_open.get_untracked() || ctx.kpi_period.get_untracked().is_some();
    let load = move || {
        if !wanted() {
            return;
        }
        let asked = crate::replay::current_stream();
        leptos::task::spawn_local(async move {
            let answer =
                crate::http::fetch_json::<PeriodsAnswer>(&crate::replay::with_at("/api/v1/periods")).await;
            if crate::replay::current_stream() != asked {
                return; // a seek or back to live meanwhile: a newer request is on its way
            }
            match answer {
                Ok(a) => {
                    ctx.period_figures.set(Some(a));
                    ctx.period_error.set(None);
                }
                Err(e) => ctx.period_error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        ctx.periods_open.track();
        ctx.kpi_period.track();
        ctx.refetch.track();
        load();
    });
    crate::timer::every(Duration::from_secs(60), load);
}

/// The drawer over the map.
#[component]
pub fn PeriodsDrawer(
    /// The wall.
    ctx: WallCtx,
) -> impl IntoView {
    let (lang, open, site) = (ctx.lang, ctx.periods_open, ctx.site());
    let style = use_context::<NumberStyle>().unwrap_or_default();
    let (answer, error) = (ctx.period_figures, ctx.period_error);
    let period: RwSignal<Option<Period>> = RwSignal::new(Some(Period::Month));
    let indicator = RwSignal::new(Indicator::Patrols);
    let year_on_year = RwSignal::new(true);
    let chosen = move || -> Option<PeriodFigures> {
        let p = period.get()?;
        answer.with(|a| a.as_ref()?.periods.iter().find(|f| f.period == p).cloned())
    };
    let first = move || answer.with(|a| a.as_ref().and_then(|a| a.first_data));
    let chips = move || {
        [Some(Period::Today), Some(Period::Week), Some(Period::Month), Some(Period::Year), None]
            .into_iter()
            .map(|p| {
                let key = p.map_or("total", Period::key);
                view! {
                    <button aria-pressed=move || (period.get() == p).to_string() data-period=key on:click=move |_| period.set(p)>
                        {period_word(lang, p)}
                    </button>
                }
            })
            .collect::<Vec<_>>()
    };
    let rows = move || {
        let figures = chosen();
        let totals = answer.with(|a| a.as_ref().and_then(|a| a.totals.get(site.region()).cloned()));
        Indicator::ALL
            .iter()
            .map(|&i| {
                let (name, unit) = words(lang, i);
                let (now, prev, ly) = match (&figures, &totals) {
                    (Some(f), _) => {
                        let r = f.regions.get(site.region()).cloned().unwrap_or_default();
                        let now = shown(i, r.current.get(&i).copied().unwrap_or(0.0));
                        let prev = r.previous.as_ref().map(|m| shown(i, m.get(&i).copied().unwrap_or(0.0)));
                        let ly = r.last_year.as_ref().map(|m| shown(i, m.get(&i).copied().unwrap_or(0.0)));
                        (now, Some(compared(lang, style, now, prev, first())), Some(compared(lang, style, now, ly, first())))
                    }
                    (None, Some(t)) => (shown(i, i.total(t)), None, None),
                    (None, None) => (0.0, None, None),
                };
                view! {
                    <tr data-indicator=format!("{i:?}") data-value=now.to_string()>
                        <th>{name}</th>
                        <td class="num">{scaled_text(now, 1, style)}<small>{unit}</small></td>
                        <td class="cmp" data-testid="period-previous">{prev.unwrap_or_else(|| "—".into())}</td>
                        <td class="cmp" data-testid="period-last-year">{ly.unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }
            })
            .collect::<Vec<_>>()
    };
    let windows = move || {
        chosen().map(|f| {
            format!(
                "{} {} · {} {} · {} {}",
                period_word(lang, Some(f.period)),
                window_text(&f.windows.current),
                lang.pick("环比", "Prev."),
                window_text(&f.windows.previous),
                lang.pick("同比", "YoY"),
                window_text(&f.windows.last_year)
            )
        })
    };
    let items = Signal::derive(move || {
        let Some(f) = chosen() else { return Vec::new() };
        let i = indicator.get();
        let yoy = year_on_year.get();
        f.regions
            .iter()
            .filter(|(a, _)| a.as_str() != site.region())
            .map(|(a, r)| {
                let then = if yoy { r.last_year.as_ref() } else { r.previous.as_ref() };
                CompareItem {
                    key: a.clone(),
                    label: site.child_name(lang, a),
                    current: r.current.get(&i).map(|v| shown(i, *v)),
                    previous: then.and_then(|m| m.get(&i).map(|v| shown(i, *v))),
                }
            })
            .collect()
    });
    let series = Signal::derive(move || {
        let p = period_word(lang, period.get());
        let other = if year_on_year.get() {
            lang.pick("上年同期", "Same period last year")
        } else {
            lang.pick("上期", "Previous period")
        };
        (p.to_string(), other.to_string())
    });
    view! {
        <aside class="periods" data-testid="periods" hidden=move || !open.get() data-loaded=move || answer.with(Option::is_some).to_string()>
            <header class="drill-head">
                <h3>{format!("{} · {}", lang.pick("周期对比", "Periods"), site.region_name(lang))}</h3>
                <div class="chips" role="group" data-testid="period-chips">{chips}</div>
                <button class="drill-close" data-testid="periods-close" on:click=move |_| open.set(false)>{lang.pick("关闭", "Close")}</button>
            </header>
            <div class="drill-time" data-testid="period-windows">{windows}</div>
            {move || error.get().map(|e| view! { <div class="drill-error" role="alert">{e}</div> })}
            <table class="period-table" data-testid="period-table">
                <thead>
                    <tr>
                        <th>{lang.pick("指标", "Indicator")}</th>
                        <th>{move || period_word(lang, period.get())}</th>
                        <th>{lang.pick("环比（上期）", "vs previous")}</th>
                        <th>{lang.pick("同比（上年同期）", "vs last year")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <Show when=move || period.get().is_some()>
                <div class="chips" role="group" data-testid="compare-indicators">
                    {Indicator::ALL.iter().map(|&i| view! {
                        <button aria-pressed=move || (indicator.get() == i).to_string() on:click=move |_| indicator.set(i)>{words(lang, i).0}</button>
                    }).collect::<Vec<_>>()}
                    <button class="toggle" data-testid="compare-basis" on:click=move |_| year_on_year.update(|y| *y = !*y)>
                        {move || if year_on_year.get() { lang.pick("同比 ⇄ 环比", "YoY ⇄ previous") } else { lang.pick("环比 ⇄ 同比", "Previous ⇄ YoY") }}
                    </button>
                </div>
                <div class="period-compare">
                    <Comparison
                        label=Signal::derive(move || format!("{} · {}", words(lang, indicator.get()).0, series.get().0))
                        items=items
                        series=series
                        unit=Signal::derive(move || words(lang, indicator.get()).1.trim().to_string())
                        decimals=0
                        test_id="period-compare"
                    />
                </div>
            </Show>
        </aside>
    }
}
