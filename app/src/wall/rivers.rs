//! 河湖长制: patrols by chief level, weekly coverage, the open problems by age and kind, the
//! prefectures ranked by open problems, and the rivers whose patrols are overdue.

use leptos::prelude::*;
use yiping_widgets::Kpi;
use yiping_widgets::chart::{RankingBars, Ring};

use yiping_protocol::rules::RuleKind;

use crate::i18n::Text;
use crate::themes::{AlertRuleList, ProblemAgeing};

use super::WallCtx;
use super::frame::LivePanel;

/// Patrols, coverage, closure; patrols by chief level; open problems by age.
#[component]
pub(super) fn Left(ctx: WallCtx) -> impl IntoView {
    let (tr, lang, open) = (move |k| ctx.tr(k), ctx.lang, ctx.open_province);
    let ov = ctx.feeds.overview;
    let coverage_note = Signal::derive(move || {
        ov.with(|o| {
            o.as_ref().map(|o| {
                let (done, all) = (o.coverage.patrolled_7d, o.coverage.rivers);
                lang.pick(
                    format!("{done} / {all} 条河湖（县域）"),
                    format!("{done} of {all} rivers (by county)"),
                )
            })
        })
        .unwrap_or_default()
    });
    let levels = lang.pick(
        vec!["省级", "市级", "县级", "乡级", "村级"],
        vec!["Province", "City", "County", "Township", "Village"],
    );
    view! {
        <LivePanel title=tr(Text::RiversPanel) class="panel-kpis slot-1" theme="rivers">
            <div class="kpi-grid">
                <Kpi label=tr(Text::Patrols).to_string() value=ctx.figure(|o| Some(o.rivers.patrols as f64)) unit=tr(Text::UnitTimes).to_string() decimals=2 on_pick=open test_id="r-patrols" />
                <Kpi label=tr(Text::PatrolHours).to_string() value=ctx.figure(|o| Some((o.rivers.patrol_minutes as f64 / 60.0).round())) unit=tr(Text::UnitHours).to_string() decimals=2 on_pick=open test_id="r-hours" />
                <Kpi label=lang.pick("近7日巡河覆盖", "Rivers patrolled in 7 days").to_string() value=ctx.figure(|o| o.coverage.percent()) unit="%".to_string() note=coverage_note on_pick=open test_id="r-coverage" />
                <Kpi label=lang.pick("累计问题办结率", "Problems closed (total)").to_string() value=ctx.figure(|o| o.rivers.closed_percent()) unit="%".to_string() on_pick=open test_id="r-closed" />
            </div>
        </LivePanel>
        <LivePanel title=lang.pick("各级河湖长巡河", "Patrols by chief level") class="panel-chart slot-2" theme="rivers">
            <Ring
                label=lang.pick("各级河湖长巡河", "Patrols by chief level").to_string()
                slices=ctx.slices(levels, |o| o.rivers.patrols_by_level.iter().map(|v| *v as f64).collect())
                caption=tr(Text::Patrols).to_string()
                decimals=1
                on_pick=open
                test_id="r-levels"
            />
        </LivePanel>
        <LivePanel title=lang.pick("待办结问题账龄", "Open problems by age") class="panel-chart slot-3" theme="rivers">
            <ProblemAgeing problems=ctx.feeds.problems picked=ctx.age_pick limits=ctx.age_limits.into() lang=lang />
        </LivePanel>
    }
}

/// Problems by kind, open problems by prefecture, rivers with overdue patrols.
#[component]
pub(super) fn Right(ctx: WallCtx) -> impl IntoView {
    let (tr, lang) = (move |k| ctx.tr(k), ctx.lang);
    let kinds = lang.pick(
        vec!["垃圾", "排污", "侵占", "非法采砂", "其他"],
        vec!["Garbage", "Sewage", "Encroachment", "Illegal sand", "Other"],
    );
    view! {
        <LivePanel title=lang.pick("问题类型", "Problems by kind") class="panel-chart slot-4" theme="rivers">
            <Ring
                label=lang.pick("问题类型", "Problems by kind").to_string()
                slices=ctx.slices(kinds, |o| o.rivers.problems_by_kind.iter().map(|v| f64::from(*v)).collect())
                caption=lang.pick("累计发现问题", "problems found").to_string()
                decimals=0
                on_pick=ctx.open_province
                test_id="r-kinds"
            />
        </LivePanel>
        <LivePanel title=ctx.site().words(lang, "各{L}待办结问题", "Open problems by {l}") class="panel-chart slot-5" theme="rivers">
            <RankingBars label=ctx.site().words(lang, "各{L}待办结问题", "Open problems by {l}") items=ctx.prefecture_bars(|p| f64::from(p.problems_open)) unit=tr(Text::UnitItems).to_string() rows=ctx.site().child_count() larger_is_worse=true on_pick=ctx.select_region test_id="r-ranking" />
        </LivePanel>
        <LivePanel title=lang.pick("巡河超期河湖", "Rivers with overdue patrols") class="panel-list slot-6" theme="rivers">
            <AlertRuleList feeds=ctx.feeds rule=RuleKind::PatrolOverdue on_open=ctx.open_alert empty=lang.pick("没有巡河超期的河湖", "No river is overdue") lang=lang test_id="r-overdue" />
        </LivePanel>
    }
}
