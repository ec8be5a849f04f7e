//! The page's one websocket: connect, subscribe, resume, reconnect (wasm only).
//!
//! Protocol logic (sequence checks, resume points, backoff) is in [`crate::cursors`]; this module
//! only moves messages between the browser's `WebSocket` and the reactive [`Feeds`]. On close it
//! reconnects after [`backoff_ms`] with jitter; on reconnect it resubscribes every topic from its
//! last applied seq, so the server sends exactly the missed deltas (or a snapshot when the epoch
//! changed). A watchdog closes a connection it has heard nothing from for 45 s (a half-open TCP
//! connection gives no close event), and a ping every 20 s keeps a quiet link audibly alive.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::Update as _;
use leptos::prelude::*;
use serde::Deserialize as _;
use std::collections::BTreeMap;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

use yiping_protocol::alerts::{Alert, AlertsData};
use yiping_protocol::present::{Cue, WallState};
use yiping_protocol::topics::{
    ALERTS, EntityState, OVERVIEW, Overview, PROJECTS, ProjectsAgg, RIVERS, RiversAgg, ThemeData, WATER,
    WaterAgg,
};
use yiping_protocol::{ClientMsg, ReplayClock, ServerMsg, Update};

use crate::cursors::{Cursors, Step, backoff_ms};

const PING_EVERY: Duration = Duration::from_secs(20);
const SILENCE_LIMIT_MS: f64 = 45_000.0;

/// Connection state shown on the wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// First connection in progress.
    Connecting,
    /// Connected and subscribed.
    Live,
    /// Lost; a reconnect is scheduled.
    Reconnecting,
}

/// The reactive data the widgets read.
#[derive(Debug, Clone, Copy)]
pub struct Feeds {
    /// Connection state.
    pub status: RwSignal<Status>,
    /// Latest overview.
    pub overview: RwSignal<Option<Overview>>,
    /// The overview's data time, epoch ms.
    pub overview_ms: RwSignal<Option<f64>>,
    /// Every major project's latest state, by key (the `projects` topic), for the industry map.
    pub projects: RwSignal<BTreeMap<String, EntityState>>,
    /// The open problems found on rivers, by key (the `rivers` topic's live entities).
    pub problems: RwSignal<BTreeMap<String, EntityState>>,
    /// The sewage outlets (入河排污口) with their latest status, by key (the `water` topic's
    /// `outlet:` entities).
    pub outlets: RwSignal<BTreeMap<String, EntityState>>,
    /// Open alerts and those resolved in the last 24 h, by id (the `alerts` topic).
    pub alerts: RwSignal<BTreeMap<String, Alert>>,
    /// Alerts that arrived after the first snapshot (new ids), newest last: the duty console
    /// sounds its cue for the red ones.
    pub fresh_alerts: RwSignal<Vec<String>>,
    /// What the page asks for: the live streams, or a replay (time travel).
    pub want: RwSignal<Want>,
    /// Where the replay stands, as the server says (None: live).
    pub replay: RwSignal<Option<ReplayClock>>,
    /// Presenting: the wall this page is part of or watches, as the server says.
    pub wall: RwSignal<Option<WallState>>,
    /// Presenting: the newest cue for the wall, with its control's number.
    pub cue: RwSignal<Option<(Cue, u64)>>,
    /// The newest request the server refused, and why.
    pub refused: RwSignal<Option<String>>,
}

/// What a page asks the server to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// The live streams.
    Live,
    /// The state as of `at` (RFC 3339), playing on at `speed`× (0: paused).
    Replay {
        /// The instant.
        at: String,
        /// Replayed seconds per real second.
        speed: f64,
    },
}

impl Want {
    /// The message that asks for it.
    fn message(&self) -> ClientMsg {
        match self {
            Want::Live => ClientMsg::Live,
            Want::Replay { at, speed } => ClientMsg::Replay { at: at.clone(), speed: *speed },
        }
    }
}

impl Feeds {
    /// Empty feeds, connecting.
    pub fn new() -> Feeds {
        Feeds {
            status: RwSignal::new(Status::Connecting),
            overview: RwSignal::new(None),
            overview_ms: RwSignal::new(None),
            projects: RwSignal::new(BTreeMap::new()),
            problems: RwSignal::new(BTreeMap::new()),
            outlets: RwSignal::new(BTreeMap::new()),
            alerts: RwSignal::new(BTreeMap::new()),
            fresh_alerts: RwSignal::new(Vec::new()),
            want: RwSignal::new(Want::Live),
            replay: RwSignal::new(None),
            wall: RwSignal::new(None),
            cue: RwSignal::new(None),
            refused: RwSignal::new(None),
        }
    }
}

impl Default for Feeds {
    fn default() -> Self {
        Feeds::new()
    }
}

/// How long resolved alerts stay in the page's list.
const KEEP_RESOLVED_MS: f64 = 24.0 * 3600.0 * 1000.0;

struct Handlers {
    _open: Closure<dyn FnMut(Event)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
}

/// What a page says again whenever its link (re)opens, after subscribing (presenting: its
/// `join` or `drive`, which the server forgot with the old connection).
type Hello = Rc<dyn Fn() -> Option<ClientMsg>>;

struct Inner {
    url: String,
    hello: Option<Hello>,
    cursors: Cursors,
    ws: Option<WebSocket>,
    handlers: Option<Handlers>,
    attempt: u32,
    last_heard_ms: f64,
    feeds: Feeds,
}

type Shared = Rc<RefCell<Inner>>;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

thread_local! {
    /// The page's link, for [`send_now`].
    static LINK: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

/// Send `msg` on the page's link now; false when it is not open (it will say its [`on_open`]
/// message again when it reopens).
pub fn send_now(msg: &ClientMsg) -> bool {
    LINK.with(|l| {
        let l = l.borrow();
        let Some(shared) = l.as_ref() else { return false };
        let inner = shared.borrow();
        match inner.ws.as_ref().filter(|ws| ws.ready_state() == WebSocket::OPEN) {
            Some(ws) => {
                send(ws, msg);
                true
            }
            None => false,
        }
    })
}

/// What to say whenever the link opens (now too, if it is open).
pub fn on_open(hello: impl Fn() -> Option<ClientMsg> + 'static) {
    let hello: Hello = Rc::new(hello);
    if let Some(m) = hello() {
        send_now(&m);
    }
    LINK.with(|l| {
        if let Some(shared) = l.borrow().as_ref() {
            shared.borrow_mut().hello = Some(hello);
        }
    });
}

/// Open the page's link to `/ws` on the serving host and keep it open for the page's life,
/// subscribed to every topic the wall shows.
pub fn start(feeds: Feeds) {
    start_with(feeds, &[OVERVIEW, PROJECTS, RIVERS, WATER, ALERTS]);
}

/// Open the page's link, subscribed to `topics`.
pub fn start_with(feeds: Feeds, topics: &[&str]) {
    let location = web_sys::window().expect("a browser page has a window").location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let host = location.host().unwrap_or_else(|_| "127.0.0.1:8080".into());
    let shared: Shared = Rc::new(RefCell::new(Inner {
        url: format!("{scheme}://{host}/ws"),
        hello: None,
        cursors: Cursors::new(topics),
        ws: None,
        handlers: None,
        attempt: 0,
        last_heard_ms: now_ms(),
        feeds,
    }));
    LINK.with(|l| *l.borrow_mut() = Some(Rc::clone(&shared)));
    connect(&shared);
    // A change of what the page wants (a seek, play, pause, back to live) goes out at once; on
    // a reconnect the open handler asks again.
    let asker = Rc::clone(&shared);
    Effect::new(move |_| {
        let want = feeds.want.get();
        if want == Want::Live {
            feeds.replay.set(None);
        }
        let inner = asker.borrow();
        if let Some(ws) = inner.ws.as_ref().filter(|ws| ws.ready_state() == WebSocket::OPEN) {
            send(ws, &want.message());
        }
    });
    let watch = Rc::clone(&shared);
    // The interval lives as long as the page: the link is the page's.
    crate::timer::every(PING_EVERY, move || {
        let inner = watch.borrow();
        if let Some(ws) = inner.ws.as_ref().filter(|ws| ws.ready_state() == WebSocket::OPEN) {
            if now_ms() - inner.last_heard_ms > SILENCE_LIMIT_MS {
                let _ = ws.close();
            } else {
                send(ws, &ClientMsg::Ping);
            }
        }
    });
}

fn send(ws: &WebSocket, msg: &ClientMsg) {
    let text = serde_json::to_string(msg).expect("protocol messages always serialise");
    let _ = ws.send_with_str(&text);
}

fn parse_time_ms(rfc3339: &str) -> Option<f64> {
    let ms = js_sys::Date::parse(rfc3339);
    ms.is_finite().then_some(ms)
}

fn apply(feeds: Feeds, u: &Update, snapshot: bool) {
    if u.topic == ALERTS {
        match AlertsData::deserialize(&u.data) {
            Ok(d) => {
                let mut fresh = Vec::new();
                feeds.alerts.update(|m| {
                    if snapshot {
                        m.clear();
                    }
                    // In a replay the server sends the alerts as they stood then.
                    let cutoff = match feeds.replay.get_untracked() {
                        Some(_) => f64::NEG_INFINITY,
                        None => now_ms() - KEEP_RESOLVED_MS,
                    };
                    for a in d.alerts {
                        if !snapshot && !m.contains_key(&a.id) {
                            fresh.push(a.id.clone());
                        }
                        m.insert(a.id.clone(), a);
                    }
                    m.retain(|_, a| a.is_open() || parse_time_ms(&a.updated).is_none_or(|t| t >= cutoff));
                });
                if !fresh.is_empty() {
                    feeds.fresh_alerts.update(|f| {
                        f.extend(fresh);
                        let n = f.len();
                        if n > 64 {
                            f.drain(..n - 64);
                        }
                    });
                }
            }
            Err(e) => web_sys::console::error_1(&format!("alerts payload not understood: {e}").into()),
        }
        return;
    }
    if u.topic == RIVERS {
        match ThemeData::<RiversAgg>::deserialize(&u.data) {
            // A snapshot holds every open problem; a delta the ones that changed (a closed one
            // leaves).
            Ok(d) => {
                if snapshot || !d.entities.is_empty() {
                    feeds.problems.update(|m| {
                        if snapshot {
                            m.clear();
                        }
                        for (k, e) in d.entities {
                            if e.status == "closed" {
                                m.remove(&k);
                            } else {
                                m.insert(k, e);
                            }
                        }
                    });
                }
            }
            Err(e) => web_sys::console::error_1(&format!("rivers payload not understood: {e}").into()),
        }
        return;
    }
    if u.topic == WATER {
        match ThemeData::<WaterAgg>::deserialize(&u.data) {
            // Only the outlets are kept (the sections' latest classes come with the overview).
            Ok(d) => {
                let mut outlets = d.entities.into_iter().filter(|(k, _)| k.starts_with("outlet:")).peekable();
                if snapshot || outlets.peek().is_some() {
                    feeds.outlets.update(|m| {
                        if snapshot {
                            m.clear();
                        }
                        m.extend(outlets);
                    });
                }
            }
            Err(e) => web_sys::console::error_1(&format!("water payload not understood: {e}").into()),
        }
        return;
    }
    if u.topic == PROJECTS {
        match ThemeData::<ProjectsAgg>::deserialize(&u.data) {
            // A snapshot holds every project; a delta the ones that changed.
            Ok(d) => feeds.projects.update(|m| {
                if snapshot {
                    m.clear();
                }
                m.extend(d.entities);
            }),
            Err(e) => web_sys::console::error_1(&format!("projects payload not understood: {e}").into()),
        }
        return;
    }
    if u.topic == OVERVIEW {
        match Overview::deserialize(&u.data) {
            Ok(o) => {
                feeds.overview.set(Some(o));
                feeds.overview_ms.set(parse_time_ms(&u.time));
            }
            Err(e) => web_sys::console::error_1(&format!("overview payload not understood: {e}").into()),
        }
    }
}

fn connect(shared: &Shared) {
    let url = shared.borrow().url.clone();
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => return schedule_reconnect(shared),
    };
    let s = Rc::clone(shared);
    let open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
        let mut inner = s.borrow_mut();
        inner.attempt = 0;
        inner.last_heard_ms = now_ms();
        let req = inner.cursors.subscribe();
        let feeds = inner.feeds;
        if let Some(ws) = &inner.ws {
            send(ws, &req);
            // A replay resumes where it stood (the server forgot it with the old connection).
            let want = match (feeds.want.get_untracked(), feeds.replay.get_untracked()) {
                (Want::Replay { speed, .. }, Some(c)) => Want::Replay { at: c.at, speed },
                (w, _) => w,
            };
            if want != Want::Live {
                send(ws, &want.message());
            }
            if let Some(m) = inner.hello.as_ref().and_then(|h| h()) {
                send(ws, &m);
            }
        }
        drop(inner);
        feeds.status.set(Status::Live);
    });
    let s = Rc::clone(shared);
    let message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some(text) = e.data().as_string() else {
            return;
        };
        let msg = match ServerMsg::from_json(&text) {
            Ok(m) => m,
            Err(err) => {
                web_sys::console::error_1(&format!("message not understood: {err}").into());
                return;
            }
        };
        let mut inner = s.borrow_mut();
        inner.last_heard_ms = now_ms();
        let steps = inner.cursors.steps(msg);
        let feeds = inner.feeds;
        for step in &steps {
            if let Step::Gap { topic } = step {
                let req = inner.cursors.resubscribe(topic);
                if let Some(ws) = &inner.ws {
                    send(ws, &req);
                }
            }
        }
        drop(inner);
        for step in steps {
            match step {
                Step::Snapshot(u) => apply(feeds, &u, true),
                Step::Delta(u) => apply(feeds, &u, false),
                Step::Other(ServerMsg::Replay(c)) if feeds.want.get_untracked() != Want::Live => {
                    feeds.replay.set(Some(c));
                }
                Step::Other(ServerMsg::Error { message }) => {
                    web_sys::console::error_1(&format!("server refused a request: {message}").into());
                    feeds.refused.set(Some(message));
                }
                Step::Other(ServerMsg::Wall(s)) => {
                    // A state older than the one held (a direct answer overtaken by a broadcast)
                    // is dropped.
                    let older = feeds
                        .wall
                        .with_untracked(|w| w.as_ref().is_some_and(|w| w.wall == s.wall && w.seq > s.seq));
                    if !older {
                        feeds.wall.set(Some(*s));
                    }
                }
                Step::Other(ServerMsg::Cue { cue, n }) => feeds.cue.set(Some((cue, n))),
                _ => {}
            }
        }
    });
    let s = Rc::clone(shared);
    let close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
        let feeds = s.borrow().feeds;
        feeds.status.set(Status::Reconnecting);
        schedule_reconnect(&s);
    });
    ws.set_onopen(Some(open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(close.as_ref().unchecked_ref()));
    let mut inner = shared.borrow_mut();
    if let Some(old) = inner.ws.take() {
        old.set_onopen(None);
        old.set_onmessage(None);
        old.set_onclose(None);
    }
    // The previous handlers are not running now (connect runs from a timer), so they can go.
    inner.handlers = Some(Handlers { _open: open, _message: message, _close: close });
    inner.ws = Some(ws);
}

fn schedule_reconnect(shared: &Shared) {
    let delay = {
        let mut inner = shared.borrow_mut();
        let d = backoff_ms(inner.attempt, js_sys::Math::random());
        inner.attempt = inner.attempt.saturating_add(1);
        d
    };
    let s = Rc::clone(shared);
    let _ = set_timeout_with_handle(move || connect(&s), Duration::from_millis(delay as u64));
}
