//! `/present`: the presenter's console, for a tablet or a laptop beside the wall (see
//! `yiping_protocol::present`).
//!
//! - The page logs its user in, lets them pick a wall (`?wall=hall-1`, or from the walls the
//!   server knows) and watches it over its own websocket; presenters and admins take control
//!   (another presenter's control only explicitly), viewers only watch.
//! - [`mini`]: the live miniature: the wall app itself (`?wall=…&remote=1`) at the wall's
//!   aspect, scaled; in *operate* mode a touch on it drives the wall, in *point* mode the finger
//!   is a pointer on the wall, in *highlight* mode a tap marks a panel.
//! - [`controls`]: screen, region, map indicator, drawers, alerts, time, language, carousel,
//!   blank.
//! - [`export`]: the wall's view, or a storyline, as PNG at the wall's resolution or PDF (made
//!   by the server).
//! - [`story`]: storylines: step through them (buttons, PageDown/PageUp/→/←, a clicker), save
//!   the wall's view as a step, edit, export, import.

pub mod controls;
pub mod export;
pub mod mini;
pub mod story;

use std::cell::Cell;

use leptos::prelude::*;
use yiping_protocol::ClientMsg;
use yiping_protocol::api::{Me, Role};
use yiping_protocol::present::{Cue, Setting, View, WallInfo, WallState};
use yiping_protocol::topics::ALERTS;

use crate::http::fetch_json;
use crate::i18n::Lang;
use crate::link::{self, Feeds};

/// What a touch on the miniature does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Drives the wall as a touch on it would.
    Operate,
    /// Shows a pointer on the wall.
    Point,
    /// Marks a panel.
    Highlight,
}

/// What the console's parts share. All signals: copying it is free.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    lang: Lang,
    feeds: Feeds,
    /// The wall watched.
    wall: RwSignal<Option<String>>,
    mode: RwSignal<Mode>,
    /// The storylines and the step shown.
    story: story::Story,
    /// Whether the wall is blanked, as last sent or heard (a second B before the wall's answer
    /// still toggles).
    blank: RwSignal<bool>,
    /// The view last sent and not yet answered by the wall: the next control builds on it, so
    /// two controls within one round trip (a screen, then a region) both hold. Cleared by the
    /// wall's answer, a loss of control or a change of wall; built on for at most
    /// [`SENT_HOLD_MS`] (a control refused or lost).
    sent: StoredValue<Option<Sent>>,
}

/// A view sent to the wall, waiting for its echo.
#[derive(Debug, Clone)]
struct Sent {
    /// The control's number (the wall's state carries the number of the control that made it).
    n: u64,
    view: View,
    /// When it was sent (ms, `performance.now()`): a control refused or lost is built on no longer
    /// than [`SENT_HOLD_MS`].
    at: f64,
}

/// How long an unanswered control's view is built on.
const SENT_HOLD_MS: f64 = 3_000.0;

thread_local! {
    /// The number of the console's last control (the wall echoes it; the benchmark times it).
    static CONTROLS: Cell<u64> = const { Cell::new(0) };
}

/// The next control's number: at least the clock in ms, so numbers keep growing across a reload
/// of the console and from one console to the next (the wall's state keeps the last one).
fn next_n() -> u64 {
    CONTROLS.with(|c| {
        let n = (c.get() + 1).max(js_sys::Date::now() as u64);
        c.set(n);
        n
    })
}

impl Console {
    /// The wall's state (tracked).
    fn state(self) -> Option<WallState> {
        self.feeds.wall.get()
    }

    /// Whether this console controls the wall (tracked).
    fn yours(self) -> bool {
        self.feeds.wall.with(|s| s.as_ref().is_some_and(|s| s.yours))
    }

    /// Show the wall's view changed by `f`: the view last sent if the wall has not answered it
    /// yet (see [`Console::sent`]), else the view last heard.
    fn show(self, f: impl FnOnce(&mut View)) {
        let Some(heard) = self.feeds.wall.with_untracked(|s| s.as_ref().map(|s| s.view.clone())) else {
            return;
        };
        let waiting = self.sent.get_value().filter(|sent| crate::bench::perf_now() - sent.at < SENT_HOLD_MS);
        let mut view = waiting.map_or(heard, |sent| sent.view);
        f(&mut view);
        self.show_view(view);
    }

    /// Show `view` on the wall.
    fn show_view(self, view: View) {
        let n = next_n();
        self.sent.set_value(Some(Sent { n, view: view.clone(), at: crate::bench::perf_now() }));
        link::send_now(&ClientMsg::Show { view, n });
    }

    fn set(self, setting: Setting) {
        link::send_now(&ClientMsg::Set { setting, n: next_n() });
    }

    /// Blank the wall, or show it again.
    fn toggle_blank(self) {
        let on = !self.blank.get_untracked();
        self.blank.set(on);
        self.set(Setting::Blank { on });
    }

    fn cue(self, cue: Cue) {
        link::send_now(&ClientMsg::Cue { cue, n: next_n() });
    }

    fn tr(self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(zh, en)
    }
}

/// The wall named by the page's query (`?wall=hall-1`).
fn wall_from_query(query: &str) -> Option<String> {
    query.trim_start_matches('?').split('&').find_map(|kv| {
        let v = kv.strip_prefix("wall=")?;
        let v = js_sys::decode_uri_component(v).ok()?.as_string()?;
        yiping_protocol::present::check_wall_name(&v).is_ok().then_some(v)
    })
}

/// The console page, once the page knows its region (see [`crate::page::SiteGate`]).
#[component]
pub fn Present() -> impl IntoView {
    view! {
        <crate::page::SiteGate
            heading=("演示人员登录", "Presenter login")
            note=("本部署须登录后查看。", "This deployment asks for a login to look.")
        >
            <PresentConsole />
        </crate::page::SiteGate>
    }
}

/// The console itself.
#[component]
fn PresentConsole() -> impl IntoView {
    let query = crate::page::query();
    let lang = crate::page::start(&query, ("一屏 · 演示台", "yiping · presenter console"));
    let feeds = Feeds::new();
    link::start_with(feeds, &[ALERTS]);
    let me: RwSignal<Option<Me>> = RwSignal::new(None);
    leptos::task::spawn_local(async move {
        if let Ok(m) = fetch_json::<Me>("/api/v1/me").await {
            me.set(Some(m));
        }
    });
    let c = Console {
        lang,
        feeds,
        wall: RwSignal::new(wall_from_query(&query)),
        mode: RwSignal::new(Mode::Operate),
        story: story::Story::new(),
        blank: RwSignal::new(false),
        sent: StoredValue::new(None),
    };
    Effect::new(move |_| {
        if let Some(b) = feeds.wall.with(|s| s.as_ref().map(|s| s.blank)) {
            c.blank.set(b);
        }
    });
    // The view sent is built on until the wall answers it (its state carries that control's
    // number), until this console no longer controls the wall, or until another wall (or none)
    // is watched: a touch on the wall after the answer is then built on, not undone.
    Effect::new(move |_| {
        let heard = feeds.wall.with(|s| s.as_ref().map(|s| (s.n, s.yours)));
        let Some(sent) = c.sent.get_value() else { return };
        if heard.is_none_or(|(n, yours)| !yours || n == sent.n) {
            c.sent.set_value(None);
        }
    });
    // Watch the wall chosen, now and whenever the link reopens.
    link::on_open(move || {
        c.wall.get_untracked().map(|wall| ClientMsg::Drive { wall, take: false, force: false })
    });
    Effect::new(move |_| {
        if let Some(wall) = c.wall.get() {
            feeds.wall.set(None);
            link::send_now(&ClientMsg::Drive { wall, take: false, force: false });
        }
    });
    // A late state of the wall watched before is not this wall's.
    Effect::new(move |_| {
        let other = feeds
            .wall
            .with(|s| s.as_ref().map(|s| s.wall.clone()))
            .filter(|w| Some(w) != c.wall.get().as_ref());
        if other.is_some() {
            feeds.wall.set(None);
        }
    });
    // A wall not open yet is asked for again every few seconds, until it is.
    crate::timer::every(std::time::Duration::from_secs(4), move || {
        if let Some(wall) = c.wall.get_untracked().filter(|_| feeds.wall.with_untracked(Option::is_none)) {
            link::send_now(&ClientMsg::Drive { wall, take: false, force: false });
        }
    });
    // A refusal is shown for a while, then cleared.
    Effect::new(move |_| {
        if let Some(shown) = feeds.refused.get() {
            set_timeout(
                move || {
                    if feeds.refused.with_untracked(|r| r.as_ref() == Some(&shown)) {
                        feeds.refused.set(None);
                    }
                },
                std::time::Duration::from_secs(8),
            );
        }
    });
    story::keys(c);
    let logged_in = move || me.with(|m| m.as_ref().map(|m| m.name.is_some()));
    view! {
        <div class="present" data-testid="present">
            {move || match logged_in() {
                None => view! { <p class="present-wait">{c.tr("正在连接…", "Connecting…")}</p> }.into_any(),
                Some(false) => view! {
                    <crate::login::LoginForm
                        lang=lang
                        heading=("演示人员登录", "Presenter login")
                        note=("演示员与管理员可控制大屏，其他角色只能查看；每一步操作记入审计。", "Presenters and admins drive the wall; others watch. Every control is audited.")
                    />
                }.into_any(),
                Some(true) => view! { <Desk c=c me=me /> }.into_any(),
            }}
        </div>
    }
}

/// The console once logged in.
#[component]
fn Desk(c: Console, me: RwSignal<Option<Me>>) -> impl IntoView {
    let role = move || me.with(|m| m.as_ref().and_then(|m| m.role));
    let may_drive = move || matches!(role(), Some(Role::Presenter | Role::Admin));
    let name = move || me.with(|m| m.as_ref().and_then(|m| m.name.clone())).unwrap_or_default();
    view! {
        <header class="present-head">
            <h1>{c.tr("演示台", "Presenter console")}</h1>
            <WallPicker c=c />
            <Status c=c may_drive=Signal::derive(may_drive) />
            <span class="present-me">{move || format!("{} · {}", name(), role().map_or("", Role::as_str))}</span>
        </header>
        {move || c.wall.get().is_some().then(|| view! {
            <main class="present-body">
                <section class="present-stage">
                    <mini::Miniature c=c />
                    <story::Stepper c=c />
                </section>
                <aside class="present-side">
                    <controls::Controls c=c />
                    <Show when=may_drive>
                        <story::Storylines c=c />
                    </Show>
                </aside>
            </main>
        })}
    }
}

/// Choose the wall: the ones the server knows.
#[component]
fn WallPicker(c: Console) -> impl IntoView {
    let walls: RwSignal<Vec<WallInfo>> = RwSignal::new(Vec::new());
    let load = move || {
        leptos::task::spawn_local(async move {
            if let Ok(w) = fetch_json::<Vec<WallInfo>>("/api/v1/walls").await {
                walls.set(w);
            }
        });
    };
    load();
    crate::timer::every(std::time::Duration::from_secs(5), load);
    view! {
        <label class="present-wall">
            {c.tr("大屏", "Wall")}
            <select data-testid="wall-picker" on:change=move |e| {
                let v = event_target_value(&e);
                c.wall.set((!v.is_empty()).then_some(v));
            }>
                <option value="" selected=move || c.wall.get().is_none()>{c.tr("选择大屏…", "Choose a wall…")}</option>
                {move || {
                    let mut list = walls.get();
                    // The wall named in the address, even before the server lists it.
                    if let Some(w) = c.wall.get_untracked()
                        && !list.iter().any(|i| i.wall == w)
                    {
                        list.push(WallInfo { wall: w, pages: 0, controller: None, screen: String::new() });
                    }
                    list.into_iter().map(|w| {
                        let label = format!("{} ({})", w.wall, w.pages);
                        let value = w.wall.clone();
                        view! { <option value=value.clone() selected=move || c.wall.get().as_deref() == Some(value.as_str())>{label}</option> }
                    }).collect::<Vec<_>>()
                }}
            </select>
        </label>
    }
}

/// Who controls the wall; take control, take over, release.
#[component]
fn Status(c: Console, may_drive: Signal<bool>) -> impl IntoView {
    let take = move |force: bool| {
        if let Some(wall) = c.wall.get_untracked() {
            link::send_now(&ClientMsg::Drive { wall, take: true, force });
        }
    };
    let holder = move || c.state().and_then(|s| s.controller);
    view! {
        <div class="present-status" data-testid="present-status" data-yours=move || c.yours().to_string()
            data-view=move || c.state().map(|s| serde_json::to_string(&s.view).unwrap_or_default())>
            <span class="present-who">
                {move || match (c.state(), holder()) {
                    (None, _) => c.tr("未连接大屏", "No wall").to_string(),
                    (Some(s), _) if s.yours => c.lang.pick(format!("由您控制 · {} 块屏在线", s.pages), format!("You control it · {} page(s) online", s.pages)),
                    (Some(s), Some(h)) => c.lang.pick(format!("{h} 正在控制 · {} 块屏在线", s.pages), format!("{h} controls it · {} page(s) online", s.pages)),
                    (Some(s), None) => c.lang.pick(format!("无人控制 · {} 块屏在线", s.pages), format!("Nobody controls it · {} page(s) online", s.pages)),
                }}
            </span>
            <Show when=move || may_drive.get() && !c.yours() && c.state().is_some()>
                {move || match holder() {
                    None => view! { <button class="present-take" data-testid="take" on:click=move |_| take(false)>{c.tr("接管控制", "Take control")}</button> }.into_any(),
                    Some(_) => view! { <button class="present-take warn" data-testid="take-over" on:click=move |_| take(true)>{c.tr("强制接管", "Take over")}</button> }.into_any(),
                }}
            </Show>
            <Show when=move || c.yours()>
                <button data-testid="release" on:click=move |_| { link::send_now(&ClientMsg::Release); }>{c.tr("交还控制", "Release")}</button>
            </Show>
            {move || c.state().and_then(|s| s.note).map(|n| view! { <span class="present-note" role="status">{n}</span> })}
            {move || c.feeds.refused.get().map(|e| view! { <span class="present-refused" role="alert" data-testid="refused">{e}</span> })}
        </div>
    }
}
