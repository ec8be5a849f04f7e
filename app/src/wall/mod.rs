//! The wall: five screens in one frame.
//!
//! - [`Wall`] (this module) starts the page: the language, the websocket feeds, the clocks, the
//!   navigation, and what a touch selects ([`WallCtx`]), then lays out the frame.
//! - [`frame`]: the panels' freshness ([`frame::LivePanel`]), header, alert strip, footer.
//! - [`navigation`]: which screen is shown (address, tabs, carousel, back/forward).
//! - [`figures`]: the reactive figures several screens show (headline figures, class ring,
//!   project pipeline, prefecture rankings).
//! - [`periods`]: 周期对比: the figures of today, this week, month and year with 环比 and 同比,
//!   and the prefectures side by side.
//! - [`timebar`]: time travel: into a replay of a past instant, play, pause, step, scrub, back
//!   to live.
//! - [`present`]: a wall named by the address (`?wall=hall-1`) follows a presenter's console:
//!   it shows the view the console sets, reports what a touch on it changes, and shows the
//!   pointer, the highlight, the blank and a discreet mark that it is being driven.
//! - [`map_panel`]: the map column: the map coloured and marked for the screen, and the drawers
//!   a touch opens.
//! - One module per screen, each with the left and right columns beside the map:
//!   [`overview`], [`yangtze`] (长江大保护), [`rivers`] (河湖长制), [`projects`] (重大项目),
//!   [`poverty`] (精准脱贫).

pub mod figures;
pub mod frame;
pub mod map_panel;
pub mod navigation;
pub mod overview;
pub mod periods;
pub mod poverty;
pub mod present;
pub mod projects;
pub mod rivers;
pub mod timebar;
pub mod yangtze;

use std::time::Duration;

use leptos::prelude::*;
use yiping_protocol::instant::Date;
use yiping_protocol::rules::Rules;
use yiping_protocol::topics::{HistoryPoint, PovertyAgg};
use yiping_widgets::layout::Pick;

use crate::i18n::{Lang, Text, t};
use crate::link::{self, Feeds};
use crate::screens::Screen;
use crate::site::{self, Site};

/// The panels the wall shows, in reading order (a selector): the panels of screens not shown are
/// kept in the page, hidden (see [`Pane`]). A presenter's highlight names a panel by its place
/// among these.
pub const SHOWN_PANELS: &str = ".wall .panel:not(.pane-off .panel)";

/// What every screen of the wall shares: the data, the language, today, and what a touch has
/// selected. All signals: copying it is free.
#[derive(Debug, Clone, Copy)]
pub struct WallCtx {
    /// Display language.
    lang: Lang,
    /// The websocket's data.
    feeds: Feeds,
    /// Today in Beijing (overdue counts against it).
    today: Memo<Date>,
    /// The screen shown.
    screen: RwSignal<Screen>,
    /// The region drilled into (the map flies there, the region drawer shows its records).
    selected: RwSignal<Option<String>>,
    /// The figure a drill-down started from.
    picked: RwSignal<Option<Pick>>,
    /// The entity whose records are open (`section:…`, a project, an outlet).
    entity: RwSignal<Option<String>>,
    /// The alert whose detail is open.
    alert_open: RwSignal<Option<String>>,
    /// The water class whose sections are listed.
    class_pick: RwSignal<Option<String>>,
    /// The project stage listed, and whether only its overdue projects.
    stage_pick: RwSignal<Option<(String, bool)>>,
    /// The age bucket of open problems listed.
    age_pick: RwSignal<Option<usize>>,
    /// The overview map's indicator (the buttons over it).
    indicator: RwSignal<usize>,
    /// The map's box when moved by hand or by a presenter (None: framed on `selected`).
    camera: RwSignal<Option<[f64; 4]>>,
    /// The industry chain the industry map shows (None: all).
    industry: RwSignal<Option<String>>,
    /// The section whose trend the 长江 screen shows (see [`yangtze::follow_trend_section`]).
    trend_section: RwSignal<String>,
    /// The deployment's target share of good sections (rules), when it has one.
    good_target: RwSignal<Option<f64>>,
    /// The problem ageing's buckets: the problem_open rule's levels, days.
    age_limits: RwSignal<[f64; 3]>,
    /// The province's history by event time (10-minute steps), oldest first.
    history: RwSignal<Vec<HistoryPoint>>,
    /// Its point an hour before the newest data (the headline figures' previous values).
    hour_ago: Memo<Option<HistoryPoint>>,
    /// Every county's 精准脱贫 figures: adcode, name, figures.
    counties: RwSignal<Vec<(String, String, PovertyAgg)>>,
    /// The replayed instant, epoch ms (None: live): the one reading of the server's replay clock.
    replay_ms: Memo<Option<f64>>,
    /// Changes when a replaying wall should refetch what it reads over REST (a seek, or so much
    /// replayed time); None while live.
    refetch: Memo<Option<(String, i64)>>,
    /// Whether the 周期对比 drawer is open.
    periods_open: RwSignal<bool>,
    /// The period the headline counts show (None: 累计).
    kpi_period: RwSignal<Option<yiping_protocol::periods::Period>>,
    /// The period figures, while the drawer or the headline figures need them.
    period_figures: RwSignal<Option<yiping_protocol::periods::PeriodsAnswer>>,
    /// Why they could not be read.
    period_error: RwSignal<Option<String>>,
    /// A headline figure touched: the province's records.
    open_province: Callback<Pick>,
    /// A prefecture or county touched (ranking bar): drill into it.
    select_region: Callback<Pick>,
    /// A slice of the class ring touched: the sections of that class.
    open_class: Callback<Pick>,
    /// A pipeline stage (or its overdue figure) touched: the projects behind it.
    open_stage: Callback<Pick>,
    /// An alert touched (ticker, marker, list): its detail, the map flown to its prefecture.
    open_alert: Callback<String>,
}

impl WallCtx {
    fn new(
        lang: Lang,
        feeds: Feeds,
        replay_ms: Memo<Option<f64>>,
        today: Memo<Date>,
        screen: RwSignal<Screen>,
        selected: RwSignal<Option<String>>,
    ) -> WallCtx {
        let picked: RwSignal<Option<Pick>> = RwSignal::new(None);
        let class_pick = RwSignal::new(None);
        let stage_pick = RwSignal::new(None);
        let alert_open = RwSignal::new(None);
        let history = RwSignal::new(Vec::new());
        WallCtx {
            lang,
            feeds,
            today,
            screen,
            selected,
            picked,
            entity: RwSignal::new(None),
            alert_open,
            class_pick,
            stage_pick,
            age_pick: RwSignal::new(None),
            indicator: RwSignal::new(0),
            camera: RwSignal::new(None),
            industry: RwSignal::new(None),
            trend_section: RwSignal::new(String::new()),
            good_target: RwSignal::new(None),
            age_limits: RwSignal::new(crate::themes::age_limits_of(&Rules::default())),
            history,
            hour_ago: overview::hour_before(history),
            counties: RwSignal::new(Vec::new()),
            replay_ms,
            refetch: Memo::new(move |_| {
                let ms = replay_ms.get()?;
                feeds.replay.with(|r| r.as_ref().map(|c| crate::replay::refetch_tick(&c.epoch, ms, c.speed)))
            }),
            periods_open: RwSignal::new(false),
            kpi_period: RwSignal::new(None),
            period_figures: RwSignal::new(None),
            period_error: RwSignal::new(None),
            open_province: Callback::new(move |p: Pick| {
                selected.set(Some(site::current().region().to_owned()));
                picked.set(Some(p));
            }),
            select_region: Callback::new(move |p: Pick| {
                selected.set(Some(p.key.clone()));
                picked.set(Some(p));
            }),
            open_class: Callback::new(move |p: Pick| {
                class_pick.set(Some(p.key.clone()));
                picked.set(Some(p));
            }),
            open_stage: Callback::new(move |p: Pick| {
                stage_pick.set(Some((p.key.clone(), p.series == "overdue")));
                picked.set(Some(p));
            }),
            open_alert: Callback::new(move |id: String| {
                let prefecture =
                    feeds.alerts.with_untracked(|m| m.get(&id).map(|a| site::current().child_of(&a.adcode)));
                if let Some(p) = prefecture {
                    selected.set(Some(p));
                }
                alert_open.set(Some(id));
            }),
        }
    }

    /// The text for `key` in the wall's language.
    fn tr(self, key: Text) -> &'static str {
        t(self.lang, key)
    }

    /// The text for `key`, a template, with the words of the region shown put in (市州 or
    /// 区县, its name, how many regions are under it: see [`Site::words`]).
    fn say(self, key: Text) -> String {
        site::current().words(self.lang, t(Lang::Zh, key), t(Lang::En, key))
    }

    /// The region shown: the deployment's root, or the user's scope.
    fn site(self) -> &'static Site {
        site::current()
    }

    /// Drawers close when what they were opened from goes away: a region drill-down closes the
    /// entity's records and the stage and class lists; another screen closes the records.
    fn close_drawers_on_change(self) {
        Effect::new(move |_| {
            self.selected.track();
            self.entity.set(None);
            self.stage_pick.set(None);
            self.class_pick.set(None);
        });
        Effect::new(move |_| {
            self.screen.track();
            self.entity.set(None);
        });
    }

    /// Learn the deployment's rules once: the target share of good sections and the levels of
    /// the problem_open rule (the problem ageing's buckets).
    fn load_rules(self) {
        leptos::task::spawn_local(async move {
            if let Ok(rules) = crate::http::fetch_json::<Rules>("/api/v1/rules").await {
                self.good_target.set(rules.targets.good_share_percent);
                self.age_limits.set(crate::themes::age_limits_of(&rules));
            }
        });
    }
}

/// The wall page: the wall once the page knows its region (see [`crate::page::SiteGate`]).
#[component]
pub fn WallPage() -> impl IntoView {
    view! {
        <crate::page::SiteGate
            heading=("一屏全览 · 登录", "One Screen · log in")
            note=("本部署须登录后查看；所见范围为账号的辖区。", "This deployment asks for a login to look; what is shown is the account's region.")
        >
            <Wall />
        </crate::page::SiteGate>
    }
}

/// The whole wall, for the page's region ([`site::current`]).
#[component]
pub fn Wall() -> impl IntoView {
    let query = crate::page::query();
    let s = site::current();
    let (zh, en) = (s.title(Lang::Zh), s.title(Lang::En));
    let lang = crate::page::start(&query, (&zh, &en));
    let feeds = Feeds::new();
    // `?at=…` opens the wall as of that instant (`&speed=…` plays on).
    if let Some((at, speed)) = crate::replay::from_query(&query) {
        feeds.want.set(link::Want::Replay { at, speed });
    }
    // Drill-downs ask about the replayed instant while the wall replays.
    Effect::new(move |_| {
        crate::replay::set_at(feeds.replay.with(|r| r.as_ref().map(|c| (c.epoch.clone(), c.at.clone()))))
    });
    link::start(feeds);
    let replay_ms = frame::replay_ms(feeds);
    let (now, today) = frame::wall_clock(replay_ms);
    frame::provide_clocks(feeds, now, lang, replay_ms);
    let selected = RwSignal::new(None);
    let nav = navigation::start(&query, selected);
    let ctx = WallCtx::new(lang, feeds, replay_ms, today, nav.screen, selected);
    ctx.close_drawers_on_change();
    ctx.load_rules();
    yangtze::follow_trend_section(ctx);
    poverty::load_counties(ctx);
    overview::load_history(ctx);
    periods::load(ctx);
    let presented = present::follow(&query, ctx, nav);
    // The screen shown, changed only when it really changes.
    let shown = Memo::new(move |_| nav.screen.get());
    // The screens not shown yet are built hidden once the page has settled, one every so often
    // (see `Pane`): the first touch to a screen costs no more than the next.
    let warm = RwSignal::new(0usize);
    for n in 1..=Screen::ALL.len() {
        crate::timer::after(WARM_START + WARM_STEP * (n as u32 - 1), move || warm.set(n));
    }
    let panes = move |side: Side| {
        Screen::ALL
            .into_iter()
            .enumerate()
            .map(|(i, s)| view! { <Pane ctx=ctx shown=shown screen=s side=side warm=Signal::derive(move || warm.get() > i) /> })
            .collect_view()
    };
    let (left, right) = (panes(Side::Left), panes(Side::Right));
    view! {
        <div
            class=move || format!("wall screen-{}", shown.get().key())
            class:replaying=move || feeds.replay.with(Option::is_some)
            data-testid="wall"
            data-replay=move || feeds.replay.with(|r| r.as_ref().map(|c| c.at.clone()))
            data-screen=move || shown.get().key()
            data-carousel=move || nav.carousel.get()
        >
            <frame::Header ctx=ctx now=now go=nav.go />
            <main class="wall-body">
                <div class="col col-left">{left}</div>
                <div class="col col-map">
                    <map_panel::MapPanel ctx=ctx />
                </div>
                <div class="col col-right">{right}</div>
            </main>
            <frame::AlertStrip ctx=ctx />
            <frame::Footer ctx=ctx />
            <present::Marks ctx=ctx presented=presented />
        </div>
    }
}

/// A column beside the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// When the wall starts building the screens it does not show (after its first paint and first
/// data), and how far apart.
const WARM_START: Duration = Duration::from_millis(4_000);
const WARM_STEP: Duration = Duration::from_millis(500);

/// One screen's panels in one column: built when the screen is first shown or once the page has
/// settled (`warm`), whichever comes first, then kept, hidden while another screen is shown (the
/// `pane-off` class: not drawn, laid out or touchable). Showing a screen builds no page and makes
/// no canvas: at 7680×2160 a new screen's panels cost their building, their layout and every
/// chart's new canvas in the frame that shows them. The widgets of a hidden pane do no drawing of
/// their own ([`yiping_widgets::observe::Shown`]).
#[component]
fn Pane(ctx: WallCtx, shown: Memo<Screen>, screen: Screen, side: Side, warm: Signal<bool>) -> impl IntoView {
    let on = Memo::new(move |_| shown.get() == screen);
    let built = Memo::new(move |was: Option<&bool>| was.copied().unwrap_or(false) || on.get() || warm.get());
    let panels = move || {
        built.get().then(|| match (screen, side) {
            (Screen::Overview, Side::Left) => view! { <overview::Left ctx=ctx /> }.into_any(),
            (Screen::Overview, Side::Right) => view! { <overview::Right ctx=ctx /> }.into_any(),
            (Screen::Yangtze, Side::Left) => view! { <yangtze::Left ctx=ctx /> }.into_any(),
            (Screen::Yangtze, Side::Right) => view! { <yangtze::Right ctx=ctx /> }.into_any(),
            (Screen::Rivers, Side::Left) => view! { <rivers::Left ctx=ctx /> }.into_any(),
            (Screen::Rivers, Side::Right) => view! { <rivers::Right ctx=ctx /> }.into_any(),
            (Screen::Projects, Side::Left) => view! { <projects::Left ctx=ctx /> }.into_any(),
            (Screen::Projects, Side::Right) => view! { <projects::Right ctx=ctx /> }.into_any(),
            (Screen::Poverty, Side::Left) => view! { <poverty::Left ctx=ctx /> }.into_any(),
            (Screen::Poverty, Side::Right) => view! { <poverty::Right ctx=ctx /> }.into_any(),
        })
    };
    view! {
        <div class="pane" class:pane-off=move || !on.get() data-pane=screen.key()>
            <leptos::context::Provider value=yiping_widgets::observe::Shown(on.into())>
                {panels}
            </leptos::context::Provider>
        </div>
    }
}
