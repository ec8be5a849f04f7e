//! Time as instants, and calendar dates in Beijing time (DESIGN §2).
//!
//! Sources write event times as RFC 3339 with any offset and any fraction of a second
//! (`2026-11-22T16:30:00+08:00`, `2026-11-22T08:30:00.125Z`). Two such texts can only be compared
//! as instants: `2026-11-22T16:30:00+08:00` is *earlier* than `2026-11-22T09:00:00Z`, and
//! `…:56Z` is earlier than `…:56.1Z` although it sorts after it as text. So every time is parsed
//! once, at the edge, into a [`Timestamp`] (nanoseconds since the Unix epoch), and every
//! comparison, ordering and date computation uses that. The text a source sent is kept beside it
//! in an [`EventTime`], so the raw event stays exactly as received.
//!
//! Calendar rules (due dates, overdue, "today") are about dates in Asia/Shanghai (UTC+8, no
//! daylight saving): [`Timestamp::beijing_date`] and [`Date`].
//!
//! ```
//! use yiping_protocol::instant::Timestamp;
//! let a = Timestamp::parse("2026-11-22T16:30:00+08:00").unwrap();
//! let b = Timestamp::parse("2026-11-22T09:00:00Z").unwrap();
//! assert!(a < b);
//! assert_eq!(a.to_string(), "2026-11-22T08:30:00Z");
//! assert_eq!(b.beijing_date().to_string(), "2026-11-22");
//! assert!(Timestamp::parse("2026-99-99T99:99:99Z").is_err());
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Nanoseconds in a second.
const NS: i128 = 1_000_000_000;
/// Beijing time's offset from UTC, seconds.
const BEIJING_OFFSET_S: i32 = 8 * 3600;

/// An instant: nanoseconds since 1970-01-01T00:00:00Z. Ordered as time runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// Why a text is not an acceptable time or date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeError {}

/// The earliest accepted event time (older texts are typing errors, not backfill).
pub const EARLIEST: &str = "1970-01-01T00:00:00Z";

impl Timestamp {
    /// Parse an RFC 3339 timestamp with any offset and fraction (a space may stand for `T`).
    /// Refuses texts that are not real instants (month 13, hour 25, 30 February), texts without
    /// an offset, and times before 1970 or after 2262.
    pub fn parse(s: &str) -> Result<Timestamp, TimeError> {
        let bad = |why: &str| {
            TimeError(format!(
                "must be an RFC 3339 time such as 2026-11-22T08:00:00Z or 2026-11-22T16:00:00.5+08:00 ({why})"
            ))
        };
        let normalised;
        let text = if s.as_bytes().get(10) == Some(&b' ') {
            normalised = format!("{}T{}", &s[..10], &s[11..]);
            normalised.as_str()
        } else {
            s
        };
        let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
            let why = match e {
                time::error::Parse::TryFromParsed(time::error::TryFromParsed::ComponentRange(c)) => {
                    format!("not a real time: {} out of range", c.name())
                }
                _ => "not a valid time".to_owned(),
            };
            bad(&why)
        })?;
        let ns = t.unix_timestamp_nanos();
        if ns < 0 {
            return Err(TimeError(format!("earlier than {EARLIEST}: not a plausible event time")));
        }
        i64::try_from(ns).map(Timestamp).map_err(|_| TimeError("later than the year 2262".into()))
    }

    /// The instant `ms` milliseconds after the epoch (a browser's `Date.now()`).
    pub fn from_unix_ms(ms: f64) -> Timestamp {
        Timestamp((ms * 1e6) as i64)
    }

    /// The instant `s` seconds after the epoch.
    pub fn from_unix_s(s: i64) -> Timestamp {
        Timestamp(s.saturating_mul(1_000_000_000))
    }

    /// The instant `ns` nanoseconds after the epoch.
    pub fn from_unix_ns(ns: i64) -> Timestamp {
        Timestamp(ns)
    }

    /// Nanoseconds since the epoch.
    pub fn unix_ns(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn unix_s(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Milliseconds since the epoch, for a browser's `Date`.
    pub fn unix_ms(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// This instant moved by `s` seconds (negative: earlier).
    pub fn plus_s(self, s: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(s.saturating_mul(1_000_000_000)))
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (i128::from(self.0) - i128::from(earlier.0)) as f64 / NS as f64
    }

    fn utc(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The calendar date in Asia/Shanghai at this instant.
    pub fn beijing_date(self) -> Date {
        let offset = UtcOffset::from_whole_seconds(BEIJING_OFFSET_S).unwrap_or(UtcOffset::UTC);
        Date(self.utc().to_offset(offset).date())
    }

    /// The current instant (the system clock; in a browser, `Date.now()`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn now() -> Timestamp {
        Timestamp(i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX))
    }
}

/// Canonical text: UTC, `Z`, the fraction only when there is one (trailing zeros dropped).
/// Not for comparing: compare [`Timestamp`]s.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Digits written into a buffer, not through `write!`: every state and delta the server
        // sends carries times, and formatting them was a tenth of publishing an entity's state.
        let t = self.utc();
        let mut buf = [0u8; 30];
        let two = |b: &mut [u8], v: u8| {
            b[0] = b'0' + v / 10;
            b[1] = b'0' + v % 10;
        };
        // Years 1677–2262 (a `Timestamp` is an i64 of nanoseconds): always four digits.
        let y = u16::try_from(t.year()).unwrap_or(0);
        two(&mut buf[0..2], u8::try_from(y / 100).unwrap_or(0));
        two(&mut buf[2..4], u8::try_from(y % 100).unwrap_or(0));
        buf[4] = b'-';
        two(&mut buf[5..7], u8::from(t.month()));
        buf[7] = b'-';
        two(&mut buf[8..10], t.day());
        buf[10] = b'T';
        two(&mut buf[11..13], t.hour());
        buf[13] = b':';
        two(&mut buf[14..16], t.minute());
        buf[16] = b':';
        two(&mut buf[17..19], t.second());
        let mut len = 19;
        let mut nanos = t.nanosecond();
        if nanos > 0 {
            buf[19] = b'.';
            let mut digits = 9;
            while nanos.is_multiple_of(10) {
                nanos /= 10;
                digits -= 1;
            }
            for i in (0..digits).rev() {
                buf[20 + i] = b'0' + u8::try_from(nanos % 10).unwrap_or(0);
                nanos /= 10;
            }
            len = 20 + digits;
        }
        buf[len] = b'Z';
        f.write_str(std::str::from_utf8(&buf[..=len]).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A time as a source wrote it, with the instant it stands for. Serialised as the original text
/// (so the raw event is kept as received); compare [`EventTime::at`], never the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventTime {
    /// The instant.
    pub at: Timestamp,
    /// The text as received.
    pub text: String,
}

impl EventTime {
    /// Parse a time as received (see [`Timestamp::parse`]).
    pub fn parse(s: &str) -> Result<EventTime, TimeError> {
        Ok(EventTime { at: Timestamp::parse(s)?, text: s.to_owned() })
    }
}

impl From<Timestamp> for EventTime {
    /// An event time written in canonical UTC text (what the simulator sends).
    fn from(at: Timestamp) -> EventTime {
        EventTime { at, text: at.to_string() }
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for EventTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let at = Timestamp::parse(&s).map_err(serde::de::Error::custom)?;
        Ok(EventTime { at, text: s })
    }
}

/// A calendar date (`YYYY-MM-DD`), e.g. a due date, meant in Asia/Shanghai.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(time::Date);

impl Date {
    /// Parse `YYYY-MM-DD`; refuses dates that do not exist (2026-02-30, 2026-13-01).
    pub fn parse(s: &str) -> Result<Date, TimeError> {
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return Err(TimeError("must be a date YYYY-MM-DD".into()));
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().unwrap_or(0);
        let month = time::Month::try_from(u8::try_from(num(5..7)).unwrap_or(0))
            .map_err(|_| TimeError("must be a date YYYY-MM-DD: no such month".into()))?;
        let year = i32::from(num(0..4));
        let day = u8::try_from(num(8..10)).unwrap_or(0);
        time::Date::from_calendar_date(year, month, day)
            .map(Date)
            .map_err(|_| TimeError("must be a date YYYY-MM-DD: no such day in that month".into()))
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        (later.0 - self.0).whole_days()
    }

    /// The date `n` days later (earlier when negative).
    pub fn plus_days(self, n: i64) -> Date {
        Date(self.0.saturating_add(time::Duration::days(n)))
    }

    /// Days since the Monday of its week (0 on a Monday).
    pub fn weekday_from_monday(self) -> i64 {
        i64::from(self.0.weekday().number_days_from_monday())
    }

    /// The first day of its month.
    pub fn first_of_month(self) -> Date {
        Date(self.0.replace_day(1).expect("every month has a first day"))
    }

    /// The first day of its year.
    pub fn first_of_year(self) -> Date {
        Date(
            time::Date::from_calendar_date(self.0.year(), time::Month::January, 1).expect("1 January exists"),
        )
    }

    /// The same day `n` months earlier, or the month's last day when it has no such day (31 March
    /// → 28 or 29 February; 29 February → 28 February a year before).
    pub fn months_before(self, n: u32) -> Date {
        let total =
            self.0.year() * 12 + i32::from(u8::from(self.0.month())) - 1 - i32::try_from(n).unwrap_or(0);
        let (year, month) = (total.div_euclid(12), u8::try_from(total.rem_euclid(12) + 1).unwrap_or(1));
        let month = time::Month::try_from(month).expect("1 to 12");
        let day = self.0.day().min(month.length(year));
        Date(time::Date::from_calendar_date(year, month, day).expect("clamped to the month"))
    }

    /// The first instant of this date in Beijing time.
    pub fn beijing_start(self) -> Timestamp {
        let midnight = self.0.midnight().assume_utc();
        Timestamp::from_unix_s(midnight.unix_timestamp() - i64::from(BEIJING_OFFSET_S))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), u8::from(self.0.month()), self.0.day())
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The JSON Schemas of the time types (strings), for the server's OpenAPI document.
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::{RefOr, Schema};

    /// The shapes, for validators that do not check formats (a space may stand for the `T`).
    const TIME: &str =
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";
    const DATE: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

    fn text(format: KnownFormat, description: &str, example: &str) -> RefOr<Schema> {
        let pattern = if matches!(format, KnownFormat::Date) { DATE } else { TIME };
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
            .pattern(Some(pattern))
            .description(Some(description))
            .examples([example])
            .into()
    }

    impl utoipa::PartialSchema for super::Timestamp {
        fn schema() -> RefOr<Schema> {
            text(
                KnownFormat::DateTime,
                "An instant, written in UTC with `Z` and a fraction only when there is one.",
                "2026-11-22T08:00:00.25Z",
            )
        }
    }
    impl utoipa::ToSchema for super::Timestamp {}

    impl utoipa::PartialSchema for super::EventTime {
        fn schema() -> RefOr<Schema> {
            text(
                KnownFormat::DateTime,
                "When the fact happened: RFC 3339 with any offset (`Z`, `+08:00`) and fraction, from 1970 to 2262; \
                 compared as an instant, the text kept as sent. (The server also takes a space for the `T`.)",
                "2026-11-22T16:00:00+08:00",
            )
        }
    }
    impl utoipa::ToSchema for super::EventTime {}

    impl utoipa::PartialSchema for super::Date {
        fn schema() -> RefOr<Schema> {
            text(KnownFormat::Date, "A calendar date in Beijing time, `YYYY-MM-DD`.", "2026-12-31")
        }
    }
    impl utoipa::ToSchema for super::Date {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn offsets_and_fractions_are_compared_as_instants() {
        assert!(ts("2026-11-22T16:30:00+08:00") < ts("2026-11-22T09:00:00Z"));
        assert_eq!(ts("2026-11-22T16:30:00+08:00"), ts("2026-11-22T08:30:00Z"));
        assert!(ts("2026-11-22T08:00:56Z") < ts("2026-11-22T08:00:56.1Z"));
        assert!(ts("2026-11-22T08:00:56.0001Z") < ts("2026-11-22T08:00:56.0002Z"));
        assert_eq!(ts("2026-11-22 08:00:00Z"), ts("2026-11-22T08:00:00Z"));
        assert_eq!(ts("2026-11-22T08:00:00-05:00"), ts("2026-11-22T13:00:00Z"));
    }

    /// The canonical text as `write!` made it, before [`Timestamp`]'s own digits.
    fn reference_text(t: Timestamp) -> String {
        let u = t.utc();
        let (y, mo, d) = (u.year(), u8::from(u.month()), u.day());
        let (h, mi, s) = (u.hour(), u.minute(), u.second());
        let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        if u.nanosecond() > 0 {
            let frac = format!("{:09}", u.nanosecond());
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out + "Z"
    }

    #[test]
    fn canonical_text_matches_the_reference_over_the_range() {
        // Every fraction length, both ends of the range (before 1970 too: an instant moved back
        // can be), leap days, and a walk of odd steps.
        let mut cases = vec![
            0,
            1,
            10,
            999_999_999,
            1_000_000_000,
            i64::MAX,
            i64::MIN,
            -1,
            -999_999_999,
            951_782_400 * NS as i64,
        ];
        let mut x: i64 = 1;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            // Cut the fraction to a random number of digits, as sources send them.
            let keep = 10i64.pow(u32::try_from(x.rem_euclid(10)).unwrap_or(0));
            cases.push(x / keep * keep);
        }
        for ns in cases {
            let t = Timestamp::from_unix_ns(ns);
            assert_eq!(t.to_string(), reference_text(t), "{ns}");
            // (Texts before 1970 are refused as event times.)
            if ns >= 0 {
                assert_eq!(Timestamp::parse(&t.to_string()), Ok(t), "{ns}");
            }
        }
    }

    #[test]
    fn canonical_text_is_utc() {
        assert_eq!(ts("2026-11-22T16:30:00+08:00").to_string(), "2026-11-22T08:30:00Z");
        assert_eq!(ts("2026-11-22T08:30:00.120Z").to_string(), "2026-11-22T08:30:00.12Z");
        assert_eq!(ts("2026-11-22T08:30:00.000000001Z").to_string(), "2026-11-22T08:30:00.000000001Z");
        let back: Timestamp = serde_json::from_str("\"2026-11-22T16:30:00+08:00\"").expect("parses");
        assert_eq!(serde_json::to_string(&back).expect("serialises"), "\"2026-11-22T08:30:00Z\"");
    }

    #[test]
    fn impossible_times_are_refused_with_a_reason() {
        for bad in [
            "2026-99-99T99:99:99Z",
            "2026-02-30T08:00:00Z",
            "2026-11-22T25:00:00Z",
            "2026-11-22T08:00:00",
            "22/11/2026",
            "2026-11-22",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} accepted");
        }
        let e = Timestamp::parse("2026-13-01T00:00:00Z").expect_err("month 13");
        assert!(e.to_string().contains("month"), "{e}");
        assert!(Timestamp::parse("1969-12-31T23:59:59Z").is_err());
    }

    #[test]
    fn event_times_keep_their_text() {
        let t: EventTime = serde_json::from_str("\"2026-11-22T16:30:00.5+08:00\"").expect("parses");
        assert_eq!(t.text, "2026-11-22T16:30:00.5+08:00");
        assert_eq!(t.at.to_string(), "2026-11-22T08:30:00.5Z");
        assert_eq!(serde_json::to_string(&t).expect("serialises"), "\"2026-11-22T16:30:00.5+08:00\"");
        assert!(serde_json::from_str::<EventTime>("\"2026-99-99T99:99:99Z\"").is_err());
    }

    #[test]
    fn beijing_dates_change_at_beijing_midnight() {
        assert_eq!(ts("2026-11-22T15:59:59Z").beijing_date().to_string(), "2026-11-22");
        assert_eq!(ts("2026-11-22T16:00:00Z").beijing_date().to_string(), "2026-11-23");
        assert_eq!(ts("2026-11-23T00:00:00+08:00").beijing_date().to_string(), "2026-11-23");
        let d = Date::parse("2026-11-23").expect("date");
        assert_eq!(d.beijing_start(), ts("2026-11-22T16:00:00Z"));
        assert_eq!(d.plus_days(-1).to_string(), "2026-11-22");
        assert_eq!(Date::parse("2026-11-20").expect("date").days_until(d), 3);
    }

    #[test]
    fn dates_must_exist() {
        assert!(Date::parse("2026-02-28").is_ok());
        assert!(Date::parse("2024-02-29").is_ok());
        for bad in ["2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-2-28", "2026-11-22T00"] {
            assert!(Date::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Date::parse("2026-01-02").expect("d") > Date::parse("2025-12-31").expect("d"));
    }
}
