//! 精准脱贫: villages and households lifted, relapse-risk monitoring (the share at risk, the
//! counties with most households at risk, on the map by county) and the villages whose risk
//! jumped.

use std::time::Duration;

use leptos::prelude::*;
use yiping_widgets::Kpi;
use yiping_widgets::chart::{BarItem, Gauge, RankingBars};

use yiping_protocol::rules::RuleKind;

use crate::i18n::Text;
use crate::map::Choropleth;
use crate::screens::Screen;
use crate::themes::{AlertRuleList, IncomeTrend};

use super::WallCtx;
use super::frame::LivePanel;

/// Keep every county's figures (`GET /api/v1/counties`) in the wall's `counties`: at the start,
/// on every switch to the 精准脱贫 screen and every 30 s while it is shown (and every 30 s
/// until a first list has arrived).
pub(super) fn load_counties(ctx: WallCtx) {
    let (screen, counties) = (ctx.screen, ctx.counties);
    let load = move || {
        if screen.get_untracked() != Screen::Poverty && !counties.with_untracked(Vec::is_empty) {
            return;
        }
        let asked = crate::replay::current_stream();
        leptos::task::spawn_local(async move {
            if let Ok(c) = crate::themes::fetch_counties().await
                && crate::replay::current_stream() == asked
            {
                counties.set(c);
            }
        });
    };
    Effect::new(move |_| {
        screen.track();
        ctx.refetch.track();
        load();
    });
    crate::timer::every(Duration::from_secs(30), load);
}

/// The map's colours on this screen: households at risk by county.
pub(super) fn county_map(ctx: WallCtx) -> Option<Choropleth> {
    let counties = ctx.counties;
    counties.with(|c| !c.is_empty()).then(|| Choropleth {
        title: ctx.lang.pick("各县（市、区）风险未消除户（户）", "At-risk households by county").to_string(),
        values: counties.with(|c| c.iter().map(|(a, _, p)| (a.clone(), p.risk_households as f64)).collect()),
    })
}

/// Villages, households lifted and monitored, income; the share at risk; the income trend.
#[component]
pub(super) fn Left(ctx: WallCtx) -> impl IntoView {
    let (tr, lang, open) = (move |k| ctx.tr(k), ctx.lang, ctx.open_province);
    view! {
        <LivePanel title=tr(Text::PovertyPanel) class="panel-kpis slot-1" theme="poverty">
            <div class="kpi-grid">
                <Kpi label=lang.pick("监测村", "Villages").to_string() value=ctx.figure(|o| Some(f64::from(o.poverty.villages))) unit=tr(Text::UnitItems).to_string() on_pick=open test_id="v-villages" />
                <Kpi label=lang.pick("累计脱贫户", "Households lifted (total)").to_string() value=ctx.figure(|o| Some(o.poverty.lifted_households as f64)) unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open test_id="v-lifted" />
                <Kpi label=tr(Text::Monitored).to_string() value=ctx.figure(|o| Some(o.poverty.monitored_households as f64)) unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open test_id="v-monitored" />
                <Kpi label=lang.pick("脱贫户人均收入", "Income per capita, lifted households").to_string() value=ctx.figure(|o| o.poverty.mean_income_per_household_yuan()) unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open test_id="v-income" />
            </div>
        </LivePanel>
        <LivePanel title=lang.pick("风险户占监测户", "At risk among monitored") class="panel-chart slot-2" theme="poverty">
            <Gauge label=lang.pick("风险未消除占比", "Risk not removed").to_string() value=ctx.figure(|o| o.poverty.risk_percent()) higher_is_better=false unit="%".to_string() on_pick=open test_id="v-risk-share" />
        </LivePanel>
        <LivePanel title=lang.pick("人均收入趋势（近7日）", "Income per capita (7 days)") class="panel-chart slot-3" theme="poverty">
            <IncomeTrend points=ctx.history lang=lang on_pick=open />
        </LivePanel>
    }
}

/// Households at risk, added and removed; the counties with most; the villages whose risk jumped.
#[component]
pub(super) fn Right(ctx: WallCtx) -> impl IntoView {
    let (tr, lang, open) = (move |k| ctx.tr(k), ctx.lang, ctx.open_province);
    let counties = ctx.counties;
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
    view! {
        <LivePanel title=lang.pick("风险未消除", "Risk not yet removed") class="panel-kpis slot-4" theme="poverty">
            <div class="kpi-grid">
                <Kpi label=tr(Text::RiskHouseholds).to_string() value=ctx.figure(|o| Some(o.poverty.risk_households as f64)) unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open test_id="v-risk" />
                <Kpi label=tr(Text::Assistance).to_string() value=ctx.figure(|o| Some(o.poverty.assistance_wan * 1e4)) unit=tr(Text::UnitWanYuan).to_string() decimals=2 on_pick=open test_id="v-assistance" />
                <Kpi label=lang.pick("新增风险户（累计）", "Newly at risk (total)").to_string() value=ctx.figure(|o| Some(o.poverty.risk_added as f64)) unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open test_id="v-added" />
                <Kpi label=lang.pick("风险消除户（累计）", "Risk removed (total)").to_string() value=ctx.figure(|o| Some(o.poverty.risk_removed as f64)) unit=tr(Text::UnitHouseholds).to_string() decimals=2 on_pick=open test_id="v-removed" />
            </div>
        </LivePanel>
        <LivePanel title=lang.pick("风险户最多的县（市、区）", "Counties with most households at risk") class="panel-chart slot-5" theme="poverty">
            <RankingBars label=lang.pick("风险户最多的县（市、区）", "Counties with most households at risk").to_string() items=county_bars unit=tr(Text::UnitHouseholds).to_string() rows=8 larger_is_worse=true on_pick=ctx.select_region test_id="v-ranking" />
        </LivePanel>
        <LivePanel title=lang.pick("需关注村（风险户骤增）", "Villages to watch (risk jumped)") class="panel-list slot-6" theme="poverty">
            <AlertRuleList feeds=ctx.feeds rule=RuleKind::RelapseJump on_open=ctx.open_alert empty=lang.pick("近期没有风险骤增的村", "No recent jumps") lang=lang test_id="v-jumps" />
        </LivePanel>
    }
}
