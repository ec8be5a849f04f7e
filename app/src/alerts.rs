//! Alerts in the browser: the wall's ticker and pulsing markers, the alert detail with its
//! trail and the life-cycle actions, and the small REST helpers they use (wasm only).
//!
//! Everything reads [`Feeds::alerts`], which the `alerts` topic keeps current; an action is a
//! `POST /api/v1/alerts/{id}/{action}` whose result arrives on the topic like any other change,
//! so the wall, the console and every other open page show the same step at the same time.

use leptos::prelude::*;
use yiping_protocol::alerts::{Alert, AlertState, Severity};
use yiping_protocol::api::ActBody;
use yiping_widgets::chart::TickerItem;
use yiping_widgets::format::{shanghai_date, shanghai_hms};

use crate::alert_text::{
    action_word, class_label, indicator_name, rule_name, severity_index, severity_word, state_word,
    step_name, summary,
};
use crate::http::post_json;
use crate::i18n::Lang;
use crate::link::Feeds;
use crate::map::Marker;

/// How long a resolved alert stays on the ticker (showing 已办结), ms.
const TICKER_RESOLVED_MS: f64 = 30.0 * 60.0 * 1000.0;

/// The marker colour of a severity.
pub fn severity_color(s: Severity) -> &'static str {
    yiping_widgets::palette::SEVERITY[usize::from(crate::alert_text::severity_index(s))].css()
}

fn time_ms(t: &str) -> f64 {
    js_sys::Date::parse(t)
}

/// Open alerts first (most severe, then newest), then the recently resolved.
pub fn ordered(alerts: &std::collections::BTreeMap<String, Alert>) -> Vec<&Alert> {
    // Each time is read once, not in every comparison.
    let mut v: Vec<_> = alerts.values().map(|a| (a.raised_at(), a)).collect();
    v.sort_by(|(ta, a), (tb, b)| {
        b.is_open()
            .cmp(&a.is_open())
            .then(b.severity.cmp(&a.severity))
            .then_with(|| tb.cmp(ta))
            .then(b.id.cmp(&a.id))
    });
    v.into_iter().map(|(_, a)| a).collect()
}

/// The region words of an alert: the region under the one shown that it lies in (its
/// prefecture, or a city's county).
pub fn region_word(lang: Lang, a: &Alert) -> String {
    let site = crate::site::current();
    site.child_name(lang, &site.child_of(&a.adcode))
}

/// The ticker's items: the open alerts (most severe first) and those resolved in the last half
/// hour, each with its state word, so the wall follows every step of the life cycle.
pub fn ticker_items(feeds: Feeds, lang: Lang) -> Signal<Vec<TickerItem>> {
    // A memo: the ticker reads its items in every slot's every field.
    Memo::new(move |_| {
        let now = js_sys::Date::now();
        feeds.alerts.with(|m| {
            ordered(m)
                .into_iter()
                .filter(|a| a.is_open() || now - time_ms(&a.updated) < TICKER_RESOLVED_MS)
                .map(|a| TickerItem {
                    id: a.id.clone(),
                    severity: severity_index(a.severity),
                    state: state_word(lang, a.state).to_owned(),
                    time_ms: time_ms(&a.raised),
                    region: region_word(lang, a),
                    text: format!("{} · {}", rule_name(lang, a.rule), summary(lang, a)),
                })
                .collect()
        })
    })
    .into()
}

/// Markers for the open alerts of a theme (all themes with `None`): red and orange alerts not yet
/// acknowledged pulse.
pub fn alert_markers(feeds: Feeds, theme: Signal<Option<&'static str>>, lang: Lang) -> Signal<Vec<Marker>> {
    Memo::new(move |_| {
        let th = theme.get();
        feeds.alerts.with(|m| {
            m.values()
                .filter(|a| a.is_open() && th.is_none_or(|t| t == a.theme))
                .map(|a| Marker {
                    key: a.id.clone(),
                    lon: a.lon,
                    lat: a.lat,
                    color: severity_color(a.severity),
                    label: format!("{} {}", severity_word(lang, a.severity), summary(lang, a)),
                    pulse: a.state == AlertState::New && a.severity >= Severity::Orange,
                })
                .collect()
        })
    })
    .into()
}

fn fmt_time(t: &str) -> String {
    let ms = time_ms(t);
    if ms.is_finite() { format!("{} {}", shanghai_date(ms), shanghai_hms(ms)) } else { t.to_owned() }
}

fn data_rows(lang: Lang, a: &Alert) -> Vec<(String, String)> {
    let label = |k: &str| -> String {
        let z = match k {
            "class" => "当前水质",
            "target" => "目标水质",
            "time" => "数据时间",
            "indicator" => "指标",
            "value" => "当前值",
            "baseline" => "基线",
            "last_reading" => "最后数据",
            "river" => "河湖",
            "last_patrol" => "最近巡河",
            "days" => "天数",
            "found" => "发现时间",
            "kind" => "问题类型",
            "status" => "处理状态",
            "step" => "逾期环节",
            "due" => "应完成",
            "days_late" => "逾期天数",
            "industry" => "产业链",
            "expected_percent" => "应完成投资%",
            "done_percent" => "已完成投资%",
            "plan_wan" => "计划投资(万元)",
            "done_wan" => "完成投资(万元)",
            "start" => "开工",
            "acceptance_due" => "验收应完成",
            "risk_households" => "风险户",
            "previous" => "上期风险户",
            other => return other.to_owned(),
        };
        lang.pick(z.to_owned(), k.replace('_', " "))
    };
    a.data
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| k.as_str() != "reading")
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s)
                            if k == "time" || k == "last_reading" || k == "last_patrol" || k == "found" =>
                        {
                            fmt_time(s)
                        }
                        serde_json::Value::String(s) if k == "step" => {
                            yiping_protocol::events::StepKind::parse(s)
                                .map_or_else(|| s.clone(), |k| step_name(lang, k).to_owned())
                        }
                        serde_json::Value::String(s) if k == "class" || k == "target" => {
                            format!("{}{}", class_label(v), lang.pick("类", ""))
                        }
                        serde_json::Value::String(s) if k == "indicator" => {
                            indicator_name(lang, s).to_owned()
                        }
                        serde_json::Value::String(s) if k == "kind" || k == "status" => s.replace('_', " "),
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) => n.as_f64().map_or_else(
                            || n.to_string(),
                            |f| {
                                if f.fract() == 0.0 { format!("{f:.0}") } else { format!("{f}") }
                            },
                        ),
                        serde_json::Value::Null => "—".into(),
                        other => other.to_string(),
                    };
                    (label(k), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One alert in full: what, where, who answers for it, the data that triggered it, its trail,
/// and (for a user who may act) the life-cycle actions.
#[component]
pub fn AlertDetail(
    /// The alert shown.
    #[prop(into)]
    alert: Signal<Option<Alert>>,
    /// Display language.
    lang: Lang,
    /// The user may act on it.
    #[prop(into)]
    can_act: Signal<bool>,
) -> impl IntoView {
    let to = RwSignal::new(String::new());
    let comment = RwSignal::new(String::new());
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    // A different alert starts with an empty form.
    Effect::new(move |prev: Option<Option<String>>| {
        let id = alert.with(|a| a.as_ref().map(|a| a.id.clone()));
        if prev.is_some_and(|p| p != id) {
            to.set(String::new());
            comment.set(String::new());
            error.set(None);
        }
        id
    });
    let act = move |action: &'static str| {
        let Some(id) = alert.with_untracked(|a| a.as_ref().map(|a| a.id.clone())) else { return };
        let body = ActBody {
            comment: comment.get_untracked(),
            to: (action == "dispatch").then(|| to.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match post_json::<_, Alert>(&format!("/api/v1/alerts/{id}/{action}"), &body).await {
                Ok(_) => {
                    error.set(None);
                    comment.set(String::new());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let open_state = move || alert.with(|a| a.as_ref().map(|a| a.state));
    view! {
        {move || alert.get().map(|a| {
            let rows = data_rows(lang, &a);
            let steps = a.steps.clone();
            view! {
                <div class="alert-detail" data-testid="alert-detail" data-id=a.id.clone() data-state=a.state.as_str() data-severity=a.severity.as_str()>
                    <div class=format!("alert-badge sev-{}", a.severity.as_str())>
                        {severity_word(lang, a.severity)}" · "{rule_name(lang, a.rule)}
                    </div>
                    <h4 class="alert-summary">{summary(lang, &a)}</h4>
                    <dl class="alert-facts">
                        <dt>{lang.pick("编号", "Id")}</dt><dd>{a.id.clone()}</dd>
                        <dt>{lang.pick("状态", "State")}</dt><dd data-testid="alert-state">{state_word(lang, a.state)}{a.cleared.then(|| lang.pick("（条件已解除）", " (condition cleared)"))}</dd>
                        <dt>{lang.pick("地区", "Region")}</dt><dd>{region_word(lang, &a)}" "{a.adcode.clone()}</dd>
                        <dt>{lang.pick("触发时间", "Raised")}</dt><dd>{fmt_time(&a.raised)}</dd>
                        <dt>{lang.pick("责任人", "Responsible")}</dt>
                        <dd data-testid="alert-responsible">{a.responsible.as_ref().map_or_else(|| lang.pick("数据未列明", "not named in the data").to_owned(), |r| {
                            format!("{} ({})", r.name, crate::alert_text::role_name(lang, &r.role))
                        })}</dd>
                        {a.assignee.clone().map(|w| view! { <dt>{lang.pick("派发给", "Dispatched to")}</dt><dd data-testid="alert-assignee">{w}</dd> })}
                    </dl>
                    <table class="alert-data">
                        <caption>{lang.pick("触发数据", "Triggering data")}</caption>
                        <tbody>
                            {rows.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> }).collect::<Vec<_>>()}
                        </tbody>
                    </table>
                    <ol class="alert-trail" data-testid="alert-trail">
                        {steps.into_iter().map(|s| view! {
                            <li data-action=s.action.as_str()>
                                <time>{fmt_time(&s.time)}</time>
                                <b>{action_word(lang, s.action)}</b>
                                <span>{if s.actor == "system" { lang.pick("系统规则", "rules").to_owned() } else { s.actor.clone() }}</span>
                                {s.to.map(|t| view! { <span>"→ "{t}</span> })}
                                <span class="trail-comment">{s.comment}</span>
                            </li>
                        }).collect::<Vec<_>>()}
                    </ol>
                </div>
            }
        })}
        <Show when=move || can_act.get() && open_state().is_some_and(|s| s != AlertState::Resolved)>
            <div class="alert-actions" data-testid="alert-actions">
                <input class="alert-input" data-testid="alert-comment" placeholder=lang.pick("处置说明", "Comment") prop:value=move || comment.get() on:input=move |e| comment.set(event_target_value(&e)) />
                <div class="alert-buttons">
                    <button data-testid="act-acknowledge" disabled=move || busy.get() || open_state() != Some(AlertState::New) on:click=move |_| act("acknowledge")>{lang.pick("确认", "Acknowledge")}</button>
                    <input class="alert-input alert-to" data-testid="alert-to" placeholder=lang.pick("派发给（单位或责任人）", "Dispatch to (office or person)") prop:value=move || to.get() on:input=move |e| to.set(event_target_value(&e)) />
                    <button data-testid="act-dispatch" disabled=move || busy.get() || to.with(|t| t.trim().is_empty()) on:click=move |_| act("dispatch")>{lang.pick("派发", "Dispatch")}</button>
                    <button data-testid="act-resolve" disabled=move || busy.get() || comment.with(|c| c.trim().is_empty()) on:click=move |_| act("resolve")>{lang.pick("办结", "Resolve")}</button>
                </div>
                {move || error.get().map(|e| view! { <div class="drill-error" role="alert" data-testid="alert-error">{e}</div> })}
            </div>
        </Show>
    }
}

/// The wall's drawer for a touched alert (ticker item or marker): the detail, and the map flown
/// to its prefecture by the caller.
#[component]
pub fn AlertDrawer(
    /// The alert shown (None: closed).
    open: RwSignal<Option<String>>,
    /// The page's feeds.
    feeds: Feeds,
    /// Display language.
    lang: Lang,
) -> impl IntoView {
    let alert = Signal::derive(move || open.get().and_then(|id| feeds.alerts.with(|m| m.get(&id).cloned())));
    view! {
        <aside class="drill alert-drawer" data-testid="alert-drawer" hidden=move || open.with(Option::is_none)>
            <header class="drill-head">
                <h3>{lang.pick("预警详情", "Alert")}</h3>
                <button class="drill-close" data-testid="alert-close" on:click=move |_| open.set(None)>{lang.pick("关闭 ✕", "Close ✕")}</button>
            </header>
            <AlertDetail alert=alert lang=lang can_act=false />
            <a class="duty-link" href=lang.pick("/duty", "/duty?lang=en")>{lang.pick("到值班台处置 →", "Handle in the duty console →")}</a>
        </aside>
    }
}
