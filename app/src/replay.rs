//! Time travel on the page: the address that starts a replay (`?at=…&speed=…`), the mark every
//! panel shows while replaying ("回放 11月20日 09:00"), the drill-downs' `at=`, and when a
//! replaying wall refetches what it reads over REST. Plain Rust, tested natively; the time bar
//! is `wall::timebar`.
//!
//! The wall shows "what we know now about T": every event whose time is at or before the
//! replayed instant, including reports that arrived later (the server's `replay`, DESIGN §5).

use std::cell::RefCell;

use yiping_protocol::MAX_REPLAY_SPEED;
use yiping_protocol::instant::Timestamp;

use crate::i18n::Lang;

/// The speeds the time bar offers (replayed seconds per real second).
pub const SPEEDS: [f64; 5] = [1.0, 60.0, 600.0, 1800.0, MAX_REPLAY_SPEED];

/// A replay asked for in the address: `?at=2026-11-20T09:00+08:00` (paused there), with
/// `&speed=60` to play on. Minutes without seconds are accepted, as people type them.
pub fn from_query(query: &str) -> Option<(String, f64)> {
    let mut at = None;
    let mut speed = 0.0;
    for kv in query.trim_start_matches('?').split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = decode(v);
        match k {
            "at" => at = normalise(&v),
            "speed" => speed = v.parse::<f64>().ok().filter(|s| s.is_finite()).unwrap_or(0.0),
            _ => {}
        }
    }
    at.map(|a| (a, speed.clamp(0.0, MAX_REPLAY_SPEED)))
}

/// Percent-decoding of a query value (`%2B` for the `+` of an offset; a bare `+` is kept, since
/// people type offsets into the address as they are).
fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = v.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An instant as RFC 3339 UTC text, from what a person may write: RFC 3339, or without seconds
/// (`2026-11-20T09:00+08:00`); a space for the `+` the address turned into one.
pub fn normalise(text: &str) -> Option<String> {
    let t = text.trim().replace(' ', "+");
    if let Ok(ts) = Timestamp::parse(&t) {
        return Some(ts.to_string());
    }
    // Insert the missing seconds before the offset.
    let split = t.rfind(['+', 'Z', 'z']).or_else(|| t.rfind('-').filter(|i| *i > 10))?;
    let (head, offset) = t.split_at(split);
    (head.len() == 16)
        .then(|| Timestamp::parse(&format!("{head}:00{offset}")).ok())
        .flatten()
        .map(|ts| ts.to_string())
}

/// The mark on every panel while replaying: "回放 11月20日 09:00" / "Replay 20 Nov 09:00" (the
/// time bar names the year).
pub fn mark(lang: Lang, at_ms: f64) -> String {
    let (_, m, d, hm) = parts(at_ms);
    lang.pick(format!("回放 {m}月{d}日 {hm}"), format!("Replay {d} {} {hm}", MONTHS[m - 1]))
}

/// The replayed instant in full, for the time bar: "回放 2026年11月20日 09:00:00".
pub fn clock(lang: Lang, at_ms: f64) -> String {
    let (y, m, d, _) = parts(at_ms);
    let hms = yiping_widgets::format::shanghai_hms(at_ms);
    lang.pick(format!("回放 {y}年{m}月{d}日 {hms}"), format!("Replay {d} {} {y} {hms}", MONTHS[m - 1]))
}

/// Year, month, day and `HH:MM` in Beijing.
fn parts(at_ms: f64) -> (String, usize, usize, String) {
    let date = yiping_widgets::format::shanghai_date(at_ms);
    let hms = yiping_widgets::format::shanghai_hms(at_ms);
    let n = |s: &str| s.parse::<usize>().unwrap_or(1);
    (date[..4].to_owned(), n(&date[5..7]).clamp(1, 12), n(&date[8..10]), hms[..5].to_owned())
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

thread_local! {
    /// The page's replay while it replays: its stream's epoch (a new one on every seek) and the
    /// replayed instant (RFC 3339), what REST drill-downs ask about.
    static AT: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Set (or clear) the page's replay: its epoch and replayed instant.
pub fn set_at(replay: Option<(String, String)>) {
    AT.with(|a| *a.borrow_mut() = replay);
}

/// The page's replay stream now (its epoch; None: live). A loader notes it when it asks and
/// drops the answer if it changed meanwhile (a seek, or back to live), so an answer about
/// another stretch of time never overwrites the current one; while a replay plays on, answers
/// a little behind its clock are kept.
pub fn current_stream() -> Option<String> {
    AT.with(|a| a.borrow().as_ref().map(|(epoch, _)| epoch.clone()))
}

/// `path` asking about the replayed instant while the page replays (`?at=…` or `&at=…`), else
/// `path` itself: every drill-down of a replaying wall shows the state as it was then.
pub fn with_at(path: &str) -> String {
    AT.with(|a| match a.borrow().as_ref().map(|(_, at)| at.as_str()) {
        Some(at) => {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{path}{sep}at={}", at.replace('+', "%2B"))
        }
        None => path.to_owned(),
    })
}

/// When a replaying wall refetches what it reads over REST (the history, the counties, an open
/// drawer): a value that changes on every seek (the epoch) and then every so much replayed time
/// (an hour, or five real seconds of play when that is longer), so that a wall playing at 3600×
/// asks the server every few seconds, not four times a second.
pub fn refetch_tick(epoch: &str, at_ms: f64, speed: f64) -> (String, i64) {
    let every_ms = (speed * 5_000.0).max(3_600_000.0);
    (epoch.to_owned(), (at_ms / every_ms).floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_starts_a_replay_as_people_type_it() {
        let at = |q| from_query(q);
        assert_eq!(at("?at=2026-11-20T09:00:00%2B08:00"), Some(("2026-11-20T01:00:00Z".into(), 0.0)));
        assert_eq!(
            at("?lang=en&at=2026-11-20T09:00+08:00&speed=60"),
            Some(("2026-11-20T01:00:00Z".into(), 60.0))
        );
        // A `+` the browser made a space, and minutes only.
        assert_eq!(at("?at=2026-11-20T09:00 08:00"), Some(("2026-11-20T01:00:00Z".into(), 0.0)));
        assert_eq!(at("?at=2026-11-20T01:00Z&speed=99999"), Some(("2026-11-20T01:00:00Z".into(), 3600.0)));
        assert_eq!(at("?at=yesterday"), None);
        assert_eq!(at("?carousel=30"), None);
    }

    #[test]
    fn the_mark_names_the_replayed_minute_in_beijing() {
        let ms = Timestamp::parse("2026-11-20T01:00:00Z").expect("t").unix_ms();
        assert_eq!(mark(Lang::Zh, ms), "回放 11月20日 09:00");
        assert_eq!(mark(Lang::En, ms), "Replay 20 Nov 09:00");
        assert_eq!(clock(Lang::Zh, ms + 5_000.0), "回放 2026年11月20日 09:00:05");
        assert_eq!(clock(Lang::En, ms), "Replay 20 Nov 2026 09:00:00");
    }

    #[test]
    fn drill_downs_ask_about_the_replayed_instant() {
        assert_eq!(with_at("/api/v1/history"), "/api/v1/history");
        set_at(Some(("replay-1".into(), "2026-11-20T01:00:00Z".into())));
        assert_eq!(current_stream().as_deref(), Some("replay-1"));
        assert_eq!(with_at("/api/v1/history"), "/api/v1/history?at=2026-11-20T01:00:00Z");
        assert_eq!(
            with_at("/api/v1/entities/a?latest=50"),
            "/api/v1/entities/a?latest=50&at=2026-11-20T01:00:00Z"
        );
        set_at(None);
    }

    #[test]
    fn a_playing_replay_refetches_every_hour_of_data_or_five_seconds_of_play() {
        let h = 3_600_000.0;
        assert_eq!(refetch_tick("e", 10.5 * h, 60.0), refetch_tick("e", 10.9 * h, 60.0));
        assert_ne!(refetch_tick("e", 10.9 * h, 60.0), refetch_tick("e", 11.0 * h, 60.0));
        // At 3600× five seconds of play are five hours.
        assert_eq!(refetch_tick("e", 10.0 * h, 3600.0), refetch_tick("e", 14.9 * h, 3600.0));
        assert_ne!(refetch_tick("e", 10.0 * h, 60.0), refetch_tick("f", 10.0 * h, 60.0));
    }
}
