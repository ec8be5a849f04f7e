//! The console's controls: what the wall shows (screen, region, map indicator, drawers, an
//! alert), when (live, or a past instant played at a speed), in which language, the carousel
//! and the blank. Each is one `show` or `set` of the wall's state; all are disabled unless this
//! console controls the wall.

use leptos::prelude::*;
use yiping_protocol::present::{Drawer, Setting, View};

use super::Console;
use crate::alert_text::{rule_name, severity_index};

/// The screens, by their keys.
const SCREENS: [(&str, &str, &str); 5] = [
    ("overview", "全局概览", "Overview"),
    ("yangtze", "长江大保护", "Yangtze"),
    ("rivers", "河湖长制", "Rivers & lakes"),
    ("projects", "重大项目", "Major projects"),
    ("poverty", "精准脱贫", "Poverty"),
];

/// The overview map's indicators, in the order of `View::indicator`.
const INDICATORS: [(&str, &str); 5] = [
    ("巡河", "Patrols"),
    ("待办问题", "Open problems"),
    ("风险户", "At risk"),
    ("在库项目", "Projects"),
    ("巡河覆盖", "Coverage"),
];

/// Replay speeds offered: replayed seconds per real second.
const SPEEDS: [(f64, &str, &str); 4] =
    [(0.0, "静止", "Still"), (60.0, "60×", "60×"), (600.0, "600×", "600×"), (3600.0, "3600×", "3600×")];

/// A `datetime-local` value (Beijing wall time) as RFC 3339 with the +08:00 offset.
fn beijing(local: &str) -> Option<String> {
    let t = if local.len() == 16 { format!("{local}:00+08:00") } else { format!("{local}+08:00") };
    yiping_protocol::instant::Timestamp::parse(&t).ok().map(|_| t)
}

/// The controls.
#[component]
pub fn Controls(
    /// The console.
    c: Console,
) -> impl IntoView {
    let view_is = move |f: fn(&View) -> bool| c.state().is_some_and(|s| f(&s.view));
    let off = move || !c.yours();
    let screen_buttons = SCREENS
        .into_iter()
        .map(|(key, zh, en)| {
            view! {
                <button
                    data-testid=format!("screen-{key}")
                    aria-pressed=move || c.state().is_some_and(|s| s.view.screen == key).to_string()
                    disabled=off
                    on:click=move |_| c.show(|v| {
                        if v.screen != key {
                            v.screen = key.into();
                            v.region = None;
                            v.map_box = None;
                            v.drawer = None;
                        }
                    })
                >{c.tr(zh, en)}</button>
            }
        })
        .collect::<Vec<_>>();
    let indicator_buttons = INDICATORS
        .into_iter()
        .enumerate()
        .map(|(i, (zh, en))| {
            let i = u8::try_from(i).unwrap_or(0);
            view! {
                <button
                    data-testid=format!("indicator-{i}")
                    aria-pressed=move || c.state().is_some_and(|s| s.view.indicator == i).to_string()
                    disabled=move || off() || !view_is(|v| v.screen == "overview")
                    on:click=move |_| c.show(|v| v.indicator = i)
                >{c.tr(zh, en)}</button>
            }
        })
        .collect::<Vec<_>>();
    let region = move || c.state().and_then(|s| s.view.region).unwrap_or_default();
    let instant = RwSignal::new(String::new());
    let speed = RwSignal::new(0.0f64);
    view! {
        <section class="present-controls" data-testid="controls">
            <h2>{c.tr("画面", "Screen")}</h2>
            <div class="present-buttons">{screen_buttons}</div>
            <h2>{c.tr("区域与地图", "Region and map")}</h2>
            <div class="present-row">
                <select data-testid="region" disabled=off prop:value=region on:change=move |e| {
                    let v = event_target_value(&e);
                    c.show(|view| {
                        view.region = (!v.is_empty()).then_some(v);
                        view.map_box = None;
                        view.drawer = None;
                    });
                }>
                    <option value="">{crate::site::current().region_name(c.lang)}</option>
                    {crate::site::current().children().iter().map(|r| view! {
                        <option value=r.adcode.clone()>{crate::site::current().child_name(c.lang, &r.adcode)}</option>
                    }).collect::<Vec<_>>()}
                </select>
                <button data-testid="map-reset" disabled=move || off() || !view_is(|v| v.map_box.is_some()) on:click=move |_| c.show(|v| v.map_box = None)>
                    {c.tr("地图复位", "Reset map")}
                </button>
            </div>
            <div class="present-buttons indicators">{indicator_buttons}</div>
            <h2>{c.tr("明细", "Records")}</h2>
            <div class="present-row">
                <button data-testid="open-periods" aria-pressed=move || view_is(|v| v.drawer.as_ref().is_some_and(|d| d.kind == "periods")).to_string() disabled=off on:click=move |_| c.show(|v| {
                    v.drawer = Some(Drawer { kind: "periods".into(), key: String::new() });
                })>{c.tr("周期对比", "Periods")}</button>
                <button data-testid="close-drawer" disabled=move || off() || !view_is(|v| v.drawer.is_some() || v.region.is_some()) on:click=move |_| c.show(|v| {
                    if v.drawer.take().is_none() {
                        v.region = None;
                        v.map_box = None;
                    }
                })>{c.tr("关闭明细（Esc）", "Close (Esc)")}</button>
            </div>
            <Alerts c=c />
            <h2>{c.tr("时间", "Time")}</h2>
            <div class="present-row">
                <button data-testid="live" aria-pressed=move || view_is(|v| v.at.is_none()).to_string() disabled=off on:click=move |_| c.show(|v| {
                    v.at = None;
                    v.speed = 0.0;
                })>{c.tr("实时", "Live")}</button>
                <input type="datetime-local" data-testid="replay-at" disabled=off on:input=move |e| instant.set(event_target_value(&e)) />
                <select data-testid="replay-speed" disabled=off on:change=move |e| speed.set(event_target_value(&e).parse().unwrap_or(0.0))>
                    {SPEEDS.into_iter().map(|(s, zh, en)| view! { <option value=s.to_string()>{c.tr(zh, en)}</option> }).collect::<Vec<_>>()}
                </select>
                <button data-testid="replay" disabled=move || off() || beijing(&instant.get()).is_none() on:click=move |_| {
                    if let Some(at) = beijing(&instant.get_untracked()) {
                        c.show(|v| {
                            v.at = Some(at);
                            v.speed = speed.get_untracked();
                        });
                    }
                }>{c.tr("回放", "Replay")}</button>
            </div>
            <h2>{c.tr("大屏", "Wall")}</h2>
            <div class="present-row">
                <button data-testid="lang" disabled=off on:click=move |_| c.show(|v| v.lang = if v.lang == "zh" { "en".into() } else { "zh".into() })>
                    {move || if view_is(|v| v.lang == "zh") { "English" } else { "中文" }}
                </button>
                <Show when=move || c.state().is_some_and(|s| s.carousel.is_some())>
                    <button data-testid="carousel" disabled=off on:click=move |_| {
                        let run = c.state().is_some_and(|s| s.carousel == Some(false));
                        c.set(Setting::Carousel { run });
                    }>
                        {move || if c.state().is_some_and(|s| s.carousel == Some(false)) { c.tr("继续轮播", "Resume carousel") } else { c.tr("暂停轮播", "Hold carousel") }}
                    </button>
                </Show>
                <button data-testid="blank" aria-pressed=move || c.blank.get().to_string() disabled=off on:click=move |_| c.toggle_blank()>{c.tr("黑屏（B）", "Blank (B)")}</button>
            </div>
        </section>
    }
}

/// The open alerts, most severe first: a touch opens one on the wall (its detail, the map at
/// its prefecture).
#[component]
fn Alerts(c: Console) -> impl IntoView {
    let open = Memo::new(move |_| {
        c.feeds.alerts.with(|m| {
            let mut v: Vec<_> = m.values().filter(|a| a.is_open()).cloned().collect();
            v.sort_by(|a, b| {
                severity_index(a.severity).cmp(&severity_index(b.severity)).then(b.raised.cmp(&a.raised))
            });
            v.truncate(6);
            v
        })
    });
    view! {
        <ul class="present-alerts" data-testid="present-alerts">
            <For each=move || open.get() key=|a| (a.id.clone(), a.state) let:a>
                {
                    let (id, adcode) = (a.id.clone(), a.adcode.clone());
                    let label = format!("{} · {}", a.name, rule_name(c.lang, a.rule));
                    view! {
                        <li>
                            <button class=format!("sev-{}", severity_index(a.severity)) disabled=move || !c.yours() data-alert=id.clone() on:click=move |_| {
                                let (id, region) = (id.clone(), crate::site::current().child_of(&adcode));
                                c.show(|v| {
                                    v.region = Some(region);
                                    v.map_box = None;
                                    v.drawer = Some(Drawer { kind: "alert".into(), key: id });
                                });
                            }>{label}</button>
                        </li>
                    }
                }
            </For>
        </ul>
    }
}
