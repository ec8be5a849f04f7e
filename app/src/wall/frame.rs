//! The wall's frame: the panels' shared clocks and freshness ([`LivePanel`]), the header
//! (connection, screens, clock), the alert strip and the footer.

use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{POVERTY, PROJECTS, RIVERS, THEMES, WATER};
use yiping_widgets::Panel;
use yiping_widgets::chart::AlertTicker;
use yiping_widgets::format::{shanghai_date, shanghai_hms};

use crate::alert_text::severity_words;
use crate::alerts::ticker_items;
use crate::i18n::{Lang, Text, t, theme_name};
use crate::link::{Feeds, Status};
use crate::screens::Screen;

use super::WallCtx;

/// Until the server says how often a theme reports, its panels go stale after two hours without
/// data (the server's overview carries each theme's expected period).
const STALE_DEFAULT_MS: f64 = 2.0 * 3600.0 * 1000.0;

/// The data time of one source (a theme, or all of them) and when it turns stale.
#[derive(Clone, Copy)]
struct Clock {
    data_ms: RwSignal<Option<f64>>,
    stale_after: RwSignal<f64>,
}

impl Clock {
    fn new() -> Clock {
        Clock { data_ms: RwSignal::new(None), stale_after: RwSignal::new(STALE_DEFAULT_MS) }
    }

    /// Keep the clock on the data time `ms` (epoch ms) and the source's expected period (ms):
    /// its panels are interrupted only when the newest data is older than that period. A period
    /// learnt from the data would flag a monthly source after a burst of reports at start-up.
    fn follow(self, ms: Option<f64>, expected_ms: Option<f64>) {
        if let Some(ms) = ms.filter(|m| m.is_finite())
            && self.data_ms.get_untracked() != Some(ms)
        {
            self.data_ms.set(Some(ms));
        }
        if let Some(e) = expected_ms
            && self.stale_after.get_untracked() != e
        {
            self.stale_after.set(e);
        }
    }
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
    /// The replayed instant (epoch ms) while the wall replays: freshness is judged against it.
    replay_ms: Memo<Option<f64>>,
    /// The mark every panel shows while replaying.
    mark: Memo<Option<String>>,
}

/// The wall clock (epoch ms, every half second) and today in Beijing (changes at midnight only;
/// in a replay, the replayed instant's day, so that overdue counts as it did then).
pub(super) fn wall_clock(
    replayed: Memo<Option<f64>>,
) -> (RwSignal<f64>, Memo<yiping_protocol::instant::Date>) {
    let now = RwSignal::new(js_sys::Date::now());
    crate::timer::every(Duration::from_millis(500), move || now.set(js_sys::Date::now()));
    let today = Memo::new(move |_| {
        Timestamp::from_unix_ms(replayed.get().unwrap_or_else(|| now.get())).beijing_date()
    });
    (now, today)
}

/// The replayed instant, epoch ms (None: live).
pub(super) fn replay_ms(feeds: Feeds) -> Memo<Option<f64>> {
    Memo::new(move |_| {
        feeds.replay.with(|r| r.as_ref().and_then(|c| Timestamp::parse(&c.at).ok()).map(Timestamp::unix_ms))
    })
}

/// Provide the panels' clocks: each theme's panels follow that theme's newest data and expected
/// period; all of them together, the newest of any, interrupted only when every theme is.
pub(super) fn provide_clocks(feeds: Feeds, now: RwSignal<f64>, lang: Lang, replay_ms: Memo<Option<f64>>) {
    let labels =
        Signal::derive(move || (t(lang, Text::DataTime), t(lang, Text::Stale), t(lang, Text::NoData)));
    let mark = Memo::new(move |_| replay_ms.get().map(|ms| crate::replay::mark(lang, ms)));
    let env = PanelEnv {
        all: Clock::new(),
        water: Clock::new(),
        rivers: Clock::new(),
        projects: Clock::new(),
        poverty: Clock::new(),
        now,
        labels,
        replay_ms,
        mark,
    };
    provide_context(env);
    Effect::new(move |_| {
        let (times, expected) = feeds
            .overview
            .with(|o| o.as_ref().map(|o| (o.theme_times.clone(), o.expected_s.clone())))
            .unwrap_or_default();
        let mut longest: Option<f64> = None;
        for (topic, clock) in
            [(WATER, env.water), (RIVERS, env.rivers), (PROJECTS, env.projects), (POVERTY, env.poverty)]
        {
            let e = expected.get(topic).map(|s| *s as f64 * 1000.0);
            longest = match (longest, e) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            clock.follow(times.get(topic).map(|t| t.unix_ms()), e);
        }
        env.all.follow(feeds.overview_ms.get(), longest);
    });
}

/// A [`Panel`] fed by one source (`theme`: a topic name, or "" for all), with the wall's clock
/// and language: it shows that source's data time and goes stale on its own.
#[component]
pub(super) fn LivePanel(
    #[prop(into)] title: Signal<String>,
    class: &'static str,
    #[prop(default = "")] theme: &'static str,
    children: Children,
) -> impl IntoView {
    let env = use_context::<PanelEnv>();
    let Some(env) = env else {
        // Only the wall provides the clocks; elsewhere a live panel has no time to show.
        return view! { <section class=class>{children()}</section> }.into_any();
    };
    let clock = match theme {
        WATER => env.water,
        RIVERS => env.rivers,
        PROJECTS => env.projects,
        POVERTY => env.poverty,
        _ => env.all,
    };
    // In a replay, "now" is the replayed instant: a source is stale only if it had missed its
    // report then.
    let now = Signal::derive(move || env.replay_ms.get().unwrap_or_else(|| env.now.get()));
    let mark = Signal::derive(move || env.mark.get());
    view! {
        <Panel
            title=title
            data_ms=clock.data_ms
            now_ms=now
            stale_after_ms=clock.stale_after
            labels=env.labels
            mark=mark
            class=format!("{class} theme-{}", if theme.is_empty() { "all" } else { theme })
        >
            {children()}
        </Panel>
    }
    .into_any()
}

/// "模拟数据" while simulated events are in view: for every theme when all the themes with data
/// are simulated, else naming the simulated themes; nothing for real data.
fn simulated_badge(feeds: Feeds, lang: Lang) -> Option<impl IntoView> {
    let (sim, with_data) = feeds.overview.with(|o| {
        o.as_ref().map(|o| {
            let sim: Vec<String> = THEMES
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
        let names: Vec<&str> = sim.iter().map(|topic| theme_name(lang, topic)).collect();
        format!("{word}: {}", names.join(lang.pick("、", ", ")))
    };
    Some(
        view! { <span class="sim-badge" data-testid="sim-badge" data-themes=sim.join(",") title="simulator">{text}</span> },
    )
}

/// The header: connection state and the simulated-data badge, the title and the screens, the
/// clock.
#[component]
pub(super) fn Header(ctx: WallCtx, now: RwSignal<f64>, go: Callback<Screen>) -> impl IntoView {
    let (feeds, lang, screen) = (ctx.feeds, ctx.lang, ctx.screen);
    let status = feeds.status;
    let replaying = move || feeds.replay.with(Option::is_some);
    let status_word = move || match status.get() {
        Status::Live if replaying() => lang.pick("回放", "Replay"),
        Status::Live => t(lang, Text::Live),
        Status::Reconnecting => t(lang, Text::Reconnecting),
        Status::Connecting => t(lang, Text::Connecting),
    };
    let status_attr = move || match status.get() {
        Status::Live if replaying() => "replay",
        Status::Live => "live",
        Status::Reconnecting => "reconnecting",
        Status::Connecting => "connecting",
    };
    let tab = move |sc: Screen| {
        let name = t(
            lang,
            match sc {
                Screen::Overview => Text::ScreenOverview,
                Screen::Yangtze => Text::ScreenYangtze,
                Screen::Rivers => Text::ScreenRivers,
                Screen::Projects => Text::ScreenProjects,
                Screen::Poverty => Text::ScreenPoverty,
            },
        );
        view! {
            <button
                class="screen-tab"
                data-testid=format!("tab-{}", sc.key())
                aria-current=move || (screen.get() == sc).then_some("page")
                on:click=move |_| go.run(sc)
            >
                {name}
            </button>
        }
    };
    view! {
        <header class="wall-head">
            <div class="head-left">
                <span class="conn" data-testid="conn" data-state=status_attr>
                    <i class="conn-dot"></i>
                    {status_word}
                </span>
                {move || simulated_badge(feeds, lang)}
                <KpiPeriod ctx=ctx />
            </div>
            <div class="head-center">
                <h1>{crate::site::current().title(lang)}</h1>
                <nav class="screens" aria-label="screens">
                    {Screen::ALL.iter().map(|&sc| tab(sc)).collect::<Vec<_>>()}
                </nav>
            </div>
            <div class="head-right">
                <span class="clock-date">{move || shanghai_date(now.get())}</span>
                <span class="clock">{move || shanghai_hms(now.get())}</span>
            </div>
        </header>
    }
}

/// Which period the headline counts show: 累计 (the default), 今日, 本周, 本月, 本年.
#[component]
fn KpiPeriod(ctx: WallCtx) -> impl IntoView {
    use yiping_protocol::periods::Period;
    let (lang, period) = (ctx.lang, ctx.kpi_period);
    let chip = move |p: Option<Period>| {
        view! {
            <button aria-pressed=move || (period.get() == p).to_string() data-period=p.map_or("total", Period::key) on:click=move |_| period.set(p)>
                {super::periods::period_word(lang, p)}
            </button>
        }
    };
    view! {
        <span class="kpi-period" role="group" data-testid="kpi-period" title=lang.pick("统计周期", "Period")>
            {[None, Some(Period::Today), Some(Period::Week), Some(Period::Month), Some(Period::Year)].into_iter().map(chip).collect::<Vec<_>>()}
        </span>
    }
}

/// The alert strip under the screens: how many alerts are open and the ticker.
#[component]
pub(super) fn AlertStrip(ctx: WallCtx) -> impl IntoView {
    let (feeds, lang) = (ctx.feeds, ctx.lang);
    view! {
        <section class="wall-alerts" data-testid="wall-alerts">
            <span class="alerts-title">
                {move || lang.pick("风险预警", "Alerts")}
                <b data-testid="alerts-open">{move || feeds.alerts.with(|m| m.values().filter(|a| a.is_open()).count())}</b>
                {move || {
                    let ms = ctx.replay_ms.get()?;
                    Some(view! { <span class="replay-mark" data-testid="replay-mark">{crate::replay::mark(lang, ms)}</span> })
                }}
            </span>
            <div class="alerts-ticker">
                <AlertTicker
                    items=ticker_items(feeds, lang)
                    severity_words=severity_words(lang)
                    empty=lang.pick("暂无预警", "No alerts").to_string()
                    on_pick=Callback::new(move |p: yiping_widgets::layout::Pick| ctx.open_alert.run(p.key))
                    test_id="ticker"
                />
            </div>
        </section>
    }
}

/// The footer: the newest data time of all.
#[component]
pub(super) fn Footer(ctx: WallCtx) -> impl IntoView {
    let (feeds, lang) = (ctx.feeds, ctx.lang);
    let data_time = move || {
        let when = feeds.overview_ms.get().map(|m| format!("{} {}", shanghai_date(m), shanghai_hms(m)));
        format!("{} · {}", t(lang, Text::DataTime), when.unwrap_or_else(|| t(lang, Text::NoData).to_string()))
    };
    view! {
        <footer class="wall-foot">
            <span>{data_time}<super::present::Badge ctx=ctx /></span>
            <span class="foot-tools">
                <button class="timebar-open" data-testid="periods-open" on:click=move |_| ctx.periods_open.update(|o| *o = !*o)>
                    {lang.pick("周期对比", "Periods")}
                </button>
                <super::timebar::TimeBar ctx=ctx />
            </span>
            <span>"Asia/Shanghai"</span>
        </footer>
    }
}
