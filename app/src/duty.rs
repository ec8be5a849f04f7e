//! The duty officers' console (`/duty`): the live alert list with filters, the alert's detail with
//! the data that triggered it and who answers for it, the map flown to it, and the life-cycle
//! actions in one or two touches; a sound for every new red alert (mutable, remembered).
//!
//! The list comes from the page's websocket (`alerts` topic), so a new alert shows within the
//! server's tick of being raised; actions go to the REST API under the user's session and come
//! back on the topic. Logging in or out reloads the page, so its websocket carries the user's
//! region scope from the start.

use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::alerts::{Alert, AlertState, Severity};
use yiping_widgets::format::{shanghai_date, shanghai_hms};

use crate::alert_text::{rule_name, severity_word, state_word, summary};
use crate::alerts::{AlertDetail, alert_markers, ordered, region_word};
use crate::http::{fetch_json, post_json};
use crate::i18n::Lang;
use crate::link::{self, Feeds, Status};
use crate::map::{HubeiMap, MapPick};
use serde::de::IgnoredAny;
use yiping_protocol::api::Me;
use yiping_protocol::topics::THEMES;

const MUTE_KEY: &str = "yiping.duty.muted";
/// Rows the list shows at most (the most severe and newest first).
const ROW_SLOTS: usize = 120;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// A short two-tone alarm through Web Audio (the browser allows it after the page's first touch).
fn sound_cue(ctx: &web_sys::AudioContext) {
    let t0 = ctx.current_time();
    for (i, freq) in [880.0_f32, 660.0, 880.0].into_iter().enumerate() {
        let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else { return };
        osc.frequency().set_value(freq);
        let start = t0 + 0.22 * i as f64;
        let _ = gain.gain().set_value_at_time(0.0, start);
        let _ = gain.gain().linear_ramp_to_value_at_time(0.25, start + 0.02);
        let _ = gain.gain().linear_ramp_to_value_at_time(0.0, start + 0.2);
        let _ = osc.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&ctx.destination());
        let _ = osc.start_with_when(start);
        let _ = osc.stop_with_when(start + 0.21);
    }
}

/// The console.
/// The duty console, once the page knows its region (see [`crate::page::SiteGate`]).
#[component]
pub fn Duty() -> impl IntoView {
    view! {
        <crate::page::SiteGate
            heading=("值班人员登录", "Duty officer login")
            note=("本部署须登录后查看；确认、派发、办结记入审计。", "This deployment asks for a login to look; acknowledging, dispatching and resolving are audited.")
        >
            <DutyConsole />
        </crate::page::SiteGate>
    }
}

/// The console itself.
#[component]
fn DutyConsole() -> impl IntoView {
    let lang = crate::page::start(&crate::page::query(), ("一屏 · 值班台", "yiping · duty console"));
    let feeds = Feeds::new();
    link::start(feeds);
    let now = RwSignal::new(js_sys::Date::now());
    crate::timer::every(Duration::from_millis(1000), move || now.set(js_sys::Date::now()));

    // Who is here.
    let me: RwSignal<Option<Me>> = RwSignal::new(None);
    leptos::task::spawn_local(async move {
        if let Ok(m) = fetch_json::<Me>("/api/v1/me").await {
            me.set(Some(m));
        }
    });
    let logged_in = move || me.with(|m| m.as_ref().is_some_and(|m| m.name.is_some()));
    let can_act = Signal::derive(move || me.with(|m| m.as_ref().is_some_and(|m| m.can_act)));
    let logout = move |_| {
        leptos::task::spawn_local(async move {
            let _ = post_json::<_, IgnoredAny>("/api/v1/logout", &()).await;
            crate::login::reload();
        });
    };

    // The cue for new red alerts.
    let muted =
        RwSignal::new(storage().and_then(|s| s.get_item(MUTE_KEY).ok().flatten()).as_deref() == Some("1"));
    let cues = RwSignal::new(0u32);
    let audio = send_wrapper::SendWrapper::new(std::cell::RefCell::new(None::<web_sys::AudioContext>));
    let seen_fresh = RwSignal::new(0usize);
    Effect::new(move |_| {
        let fresh = feeds.fresh_alerts.get();
        let start = seen_fresh.get_untracked().min(fresh.len());
        seen_fresh.set(fresh.len());
        let reds = feeds.alerts.with_untracked(|m| {
            fresh[start..]
                .iter()
                .filter(|id| {
                    m.get(*id).is_some_and(|a| a.severity == Severity::Red && a.state == AlertState::New)
                })
                .count()
        });
        if reds > 0 && !muted.get_untracked() {
            cues.update(|c| *c += 1);
            let mut slot = audio.borrow_mut();
            if slot.is_none() {
                *slot = web_sys::AudioContext::new().ok();
            }
            if let Some(ctx) = slot.as_ref() {
                let _ = ctx.resume();
                sound_cue(ctx);
            }
        }
    });
    let toggle_mute = move |_| {
        let m = !muted.get_untracked();
        muted.set(m);
        if let Some(s) = storage() {
            let _ = s.set_item(MUTE_KEY, if m { "1" } else { "0" });
        }
    };

    // Filters.
    let sev_on = RwSignal::new([true; 4]);
    let theme = RwSignal::new(String::new());
    let region = RwSignal::new(String::new());
    let state = RwSignal::new("open".to_owned());
    let chosen: RwSignal<Option<String>> = RwSignal::new(None);
    let selected_region: RwSignal<Option<String>> = RwSignal::new(None);
    let sev_pos = |s: Severity| match s {
        Severity::Red => 0,
        Severity::Orange => 1,
        Severity::Yellow => 2,
        Severity::Blue => 3,
    };
    let shown = Memo::new(move |_| {
        let (sv, th, rg, st) = (sev_on.get(), theme.get(), region.get(), state.get());
        feeds.alerts.with(|m| {
            ordered(m)
                .into_iter()
                .filter(|a| sv[sev_pos(a.severity)])
                .filter(|a| th.is_empty() || a.theme == th)
                .filter(|a| rg.is_empty() || crate::site::current().child_of(&a.adcode) == rg)
                .filter(|a| match st.as_str() {
                    "open" => a.is_open(),
                    "all" => true,
                    s => a.state.as_str() == s,
                })
                .map(|a| a.id.clone())
                .collect::<Vec<_>>()
        })
    });
    let counts = move || {
        feeds.alerts.with(|m| {
            let open: Vec<&Alert> = m.values().filter(|a| a.is_open()).collect();
            [Severity::Red, Severity::Orange, Severity::Yellow, Severity::Blue]
                .map(|s| open.iter().filter(|a| a.severity == s).count())
        })
    };
    let pick = move |id: String| {
        let adcode =
            feeds.alerts.with_untracked(|m| m.get(&id).map(|a| crate::site::current().child_of(&a.adcode)));
        chosen.set(Some(id));
        if adcode.is_some() {
            selected_region.set(adcode);
        }
    };
    let detail =
        Signal::derive(move || chosen.get().and_then(|id| feeds.alerts.with(|m| m.get(&id).cloned())));
    let markers = alert_markers(feeds, Signal::derive(|| None), lang);
    let on_map_pick = Callback::new(move |p: MapPick| {
        if p.kind == "marker" && p.key.starts_with('A') {
            pick(p.key);
        }
    });
    let status_attr = move || match feeds.status.get() {
        Status::Live => "live",
        Status::Reconnecting => "reconnecting",
        Status::Connecting => "connecting",
    };
    // The list is a fixed set of rows whose content follows the data: nothing is created or
    // dropped as alerts come and go, so a console open for a whole shift keeps its memory.
    let slot = move |i: usize| {
        let a = Memo::new(move |_| {
            shown.with(|v| v.get(i).cloned()).and_then(|id| feeds.alerts.with(|m| m.get(&id).cloned()))
        });
        let text = move |f: fn(Lang, &Alert) -> String| {
            move || a.with(|a| a.as_ref().map(|a| f(lang, a))).unwrap_or_default()
        };
        view! {
            <li
                class=move || {
                    a.with(|a| a.as_ref().map(|a| {
                        let chosen_now = chosen.with(|c| c.as_deref() == Some(a.id.as_str()));
                        format!("duty-row sev-{}{}", a.severity.as_str(), if chosen_now { " chosen" } else { "" })
                    }))
                    .unwrap_or_default()
                }
                data-testid="duty-row"
                hidden=move || a.with(Option::is_none)
                data-id=move || a.with(|a| a.as_ref().map(|a| a.id.clone()))
                data-state=move || a.with(|a| a.as_ref().map(|a| a.state.as_str()))
                data-severity=move || a.with(|a| a.as_ref().map(|a| a.severity.as_str()))
            >
                <button on:click=move |_| if let Some(id) = a.with_untracked(|a| a.as_ref().map(|a| a.id.clone())) { pick(id) }>
                    <span class="row-sev">{text(|l, a| severity_word(l, a.severity).to_string())}</span>
                    <span class="row-rule">{text(|l, a| rule_name(l, a.rule).to_string())}</span>
                    <span class="row-text">{text(summary)}</span>
                    <span class="row-region">{text(region_word)}</span>
                    <span class="row-state">{text(|l, a| state_word(l, a.state).to_string())}</span>
                    <time>{text(|_, a| shanghai_hms(js_sys::Date::parse(&a.raised)))}</time>
                </button>
            </li>
        }
    };

    view! {
        <div class="duty" data-testid="duty" data-cues=move || cues.get().to_string() data-muted=move || muted.get().to_string() data-user=move || me.with(|m| m.as_ref().and_then(|m| m.name.clone()))>
            <header class="wall-head duty-head">
                <div class="head-left">
                    <span class="conn" data-testid="conn" data-state=status_attr><i class="conn-dot"></i>{move || if feeds.status.get() == Status::Live { lang.pick("实时", "Live") } else { lang.pick("连接中", "Connecting") }}</span>
                    <a class="duty-back" href=lang.pick("/", "/?lang=en")>{lang.pick("← 大屏", "← Wall")}</a>
                </div>
                <div class="head-center"><h1>{lang.pick("风险预警 · 值班台", "Risk alerts · duty console")}</h1></div>
                <div class="head-right">
                    <button class="mute" data-testid="mute" aria-pressed=move || muted.get().to_string() on:click=toggle_mute>
                        {move || if muted.get() { lang.pick("提示音：已静音", "Sound: muted") } else { lang.pick("红色预警提示音：开", "Sound on red alerts: on") }}
                    </button>
                    {move || me.get().and_then(|m| m.name.clone().map(|n| {
                        let scope = m.scope.clone().map(|s| format!(" · {s}")).unwrap_or_default();
                        view! { <span class="who" data-testid="who">{format!("{n} ({}){scope}", m.role.map_or("", |r| r.as_str()))}</span><button class="logout" data-testid="logout" on:click=logout>{lang.pick("退出", "Log out")}</button> }
                    }))}
                    <span class="clock">{move || format!("{} {}", shanghai_date(now.get()), shanghai_hms(now.get()))}</span>
                </div>
            </header>
            <Show when=move || me.with(Option::is_some) && !logged_in()>
                <crate::login::LoginForm
                    lang=lang
                    heading=("值班人员登录", "Duty officer login")
                    note=("查看无需登录（按部署设置）；确认、派发、办结须登录，并记入审计。", "Viewing may not need a login (per deployment); acknowledging, dispatching and resolving do, and are audited.")
                />
            </Show>
            <main class="duty-body">
                <section class="panel duty-list">
                    <div class="duty-counts" data-testid="duty-counts">
                        {move || {
                            let c = counts();
                            [Severity::Red, Severity::Orange, Severity::Yellow, Severity::Blue].into_iter().enumerate().map(|(i, s)| view! {
                                <button
                                    class=format!("count-chip sev-{}", s.as_str())
                                    data-testid=format!("filter-{}", s.as_str())
                                    aria-pressed=move || sev_on.with(|v| v[i]).to_string()
                                    on:click=move |_| sev_on.update(|v| v[i] = !v[i])
                                >
                                    {severity_word(lang, s)}<b>{c[i]}</b>
                                </button>
                            }).collect::<Vec<_>>()
                        }}
                    </div>
                    <div class="duty-filters">
                        <select data-testid="filter-theme" on:change=move |e| theme.set(event_target_value(&e))>
                            <option value="">{lang.pick("全部专题", "All themes")}</option>
                            {THEMES.map(|t| view! { <option value=t>{crate::i18n::theme_name(lang, t)}</option> })}
                        </select>
                        <select data-testid="filter-region" on:change=move |e| region.set(event_target_value(&e))>
                            <option value="">{crate::site::current().region_name(lang)}</option>
                            {crate::site::current().children().iter().map(|c| view! { <option value=c.adcode.clone()>{crate::site::current().child_name(lang, &c.adcode)}</option> }).collect::<Vec<_>>()}
                        </select>
                        <select data-testid="filter-state" on:change=move |e| state.set(event_target_value(&e))>
                            <option value="open">{lang.pick("未办结", "Open")}</option>
                            <option value="new">{lang.pick("待确认", "New")}</option>
                            <option value="acknowledged">{lang.pick("已确认", "Acknowledged")}</option>
                            <option value="dispatched">{lang.pick("已派发", "Dispatched")}</option>
                            <option value="resolved">{lang.pick("已办结", "Resolved")}</option>
                            <option value="all">{lang.pick("全部", "All")}</option>
                        </select>
                    </div>
                    <ol class="duty-rows" data-testid="duty-rows">
                        {(0..ROW_SLOTS).map(slot).collect::<Vec<_>>()}
                    </ol>
                    <p class="duty-empty" hidden=move || shown.with(|v| v.len() <= ROW_SLOTS)>
                        {move || {
                            let n = shown.with(Vec::len).saturating_sub(ROW_SLOTS);
                            lang.pick(format!("另有 {n} 条：请缩小筛选范围"), format!("{n} more: narrow the filters"))
                        }}
                    </p>
                    <Show when=move || shown.with(Vec::is_empty)>
                        <p class="duty-empty">{lang.pick("当前筛选下没有预警", "No alerts match the filters")}</p>
                    </Show>
                </section>
                <section class="panel duty-map">
                    <HubeiMap overview=feeds.overview choropleth=Signal::derive(|| None) markers=markers selected=selected_region on_pick=on_map_pick />
                </section>
                <section class="panel duty-detail">
                    <Show when=move || detail.with(Option::is_none)>
                        <p class="duty-empty">{lang.pick("在左侧列表或地图上选择一条预警", "Choose an alert in the list or on the map")}</p>
                    </Show>
                    <AlertDetail alert=detail lang=lang can_act=can_act />
                </section>
            </main>
        </div>
    }
}
