//! Periods and comparisons (交叉比对): 今日 / 本周 / 本月 / 本年 in Asia/Shanghai, each to date, with
//! 环比 (the previous period to the same point) and 同比 (the same period a year before, to the
//! same point), and what is counted over a period.
//!
//! A period's figures are differences of a region's [`Totals`] (cumulative counts, as the fold
//! keeps them by event time) between the period's start and end: "patrols this month" is the
//! patrols as of now minus the patrols as of the 1st at 00:00 Beijing time. So every period figure
//! is reconcilable from the raw events by event time, like every other figure.
//!
//! ```
//! use yiping_protocol::instant::Timestamp;
//! use yiping_protocol::periods::Period;
//! let at = Timestamp::parse("2026-03-31T10:00:00+08:00").unwrap();
//! let w = Period::Month.windows(at);
//! assert_eq!(w.current.from.to_string(), "2026-02-28T16:00:00Z"); // 1 March, Beijing
//! assert_eq!(w.previous.to.to_string(), "2026-02-28T02:00:00Z"); // 28 Feb 10:00: no 31 Feb
//! assert_eq!(w.last_year.from.to_string(), "2025-02-28T16:00:00Z");
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::instant::{Date, Timestamp};
use crate::topics::{PovertyAgg, RiversAgg, WaterAgg};

/// A period of the calendar in Beijing, to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// 今日: since midnight.
    Today,
    /// 本周: since Monday.
    Week,
    /// 本月: since the 1st.
    Month,
    /// 本年: since 1 January.
    Year,
}

/// From an instant to another (the start included, the end included: as of the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Window {
    /// Start: a Beijing midnight.
    pub from: Timestamp,
    /// End.
    pub to: Timestamp,
}

/// A period to date and the two it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Windows {
    /// This period, to the instant.
    pub current: Window,
    /// 环比: the previous period, to the same point.
    pub previous: Window,
    /// 同比: the same period a year before, to the same point.
    pub last_year: Window,
}

/// The instant as far into `day` as `at` is into its own Beijing day.
fn same_time(day: Date, at: Timestamp) -> Timestamp {
    let into = at.unix_ns() - at.beijing_date().beijing_start().unix_ns();
    Timestamp::from_unix_ns(day.beijing_start().unix_ns() + into)
}

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Period; 4] = [Period::Today, Period::Week, Period::Month, Period::Year];

    /// The wire name.
    pub fn key(self) -> &'static str {
        match self {
            Period::Today => "today",
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
        }
    }

    /// The period holding `at`, to `at`, and its comparisons.
    pub fn windows(self, at: Timestamp) -> Windows {
        let day = at.beijing_date();
        let window =
            |first: Date, last_day: Date| Window { from: first.beijing_start(), to: same_time(last_day, at) };
        match self {
            Period::Today => Windows {
                current: window(day, day),
                previous: window(day.plus_days(-1), day.plus_days(-1)),
                last_year: window(day.months_before(12), day.months_before(12)),
            },
            Period::Week => {
                let monday = day.plus_days(-day.weekday_from_monday());
                Windows {
                    current: window(monday, day),
                    previous: window(monday.plus_days(-7), day.plus_days(-7)),
                    // The same week of the year: 52 weeks back, the same weekday.
                    last_year: window(monday.plus_days(-364), day.plus_days(-364)),
                }
            }
            Period::Month => Windows {
                current: window(day.first_of_month(), day),
                previous: window(day.first_of_month().months_before(1), day.months_before(1)),
                last_year: window(day.first_of_month().months_before(12), day.months_before(12)),
            },
            Period::Year => {
                let last = window(day.first_of_year().months_before(12), day.months_before(12));
                Windows { current: window(day.first_of_year(), day), previous: last, last_year: last }
            }
        }
    }
}

/// A region's totals at an instant, by event time: the cumulative counts a period's figures are
/// differences of.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    /// 长江大保护.
    pub water: WaterAgg,
    /// 河湖长制.
    pub rivers: RiversAgg,
    /// Major projects.
    pub projects: u32,
    /// Their investment done, 万元.
    pub done_wan: f64,
    /// 精准脱贫.
    pub poverty: PovertyAgg,
}

/// What a period counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// Water-quality readings received for the period (by sampling time).
    Readings,
    /// River chiefs' patrols.
    Patrols,
    /// Hours patrolled.
    PatrolHours,
    /// Fishing-ban patrols.
    FishingPatrols,
    /// Problems found on rivers (first reported in the period).
    ProblemsFound,
    /// Problems closed (net: closed minus reopened).
    ProblemsClosed,
    /// Investment done, 万元.
    InvestDone,
    /// Households newly at risk of relapse.
    RiskAdded,
    /// Households whose risk was removed.
    RiskRemoved,
}

impl Indicator {
    /// Every indicator, in the order the wall lists them.
    pub const ALL: [Indicator; 9] = [
        Indicator::Patrols,
        Indicator::PatrolHours,
        Indicator::ProblemsFound,
        Indicator::ProblemsClosed,
        Indicator::Readings,
        Indicator::FishingPatrols,
        Indicator::InvestDone,
        Indicator::RiskAdded,
        Indicator::RiskRemoved,
    ];

    /// The cumulative count it is the difference of.
    pub fn total(self, t: &Totals) -> f64 {
        match self {
            Indicator::Readings => t.water.readings as f64,
            Indicator::Patrols => t.rivers.patrols as f64,
            Indicator::PatrolHours => t.rivers.patrol_minutes as f64 / 60.0,
            Indicator::FishingPatrols => t.water.fishing_patrols as f64,
            Indicator::ProblemsFound => f64::from(t.rivers.problems),
            Indicator::ProblemsClosed => f64::from(t.rivers.problems) - f64::from(t.rivers.problems_open),
            Indicator::InvestDone => t.done_wan,
            Indicator::RiskAdded => t.poverty.risk_added as f64,
            Indicator::RiskRemoved => t.poverty.risk_removed as f64,
        }
    }

    /// Its figure over a window: the total at the end minus the total at the start.
    pub fn over(self, start: &Totals, end: &Totals) -> f64 {
        self.total(end) - self.total(start)
    }
}

/// One region's figures for a period and its comparisons (None: the log does not reach back to
/// the compared window's start).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionPeriod {
    /// This period.
    pub current: BTreeMap<Indicator, f64>,
    /// 环比.
    pub previous: Option<BTreeMap<Indicator, f64>>,
    /// 同比.
    pub last_year: Option<BTreeMap<Indicator, f64>>,
}

/// The figures of every region (the province and its prefectures) for one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodFigures {
    /// Which period.
    pub period: Period,
    /// Its windows.
    pub windows: Windows,
    /// By region adcode.
    pub regions: BTreeMap<String, RegionPeriod>,
}

/// `GET /api/v1/periods` (`?at=` for an instant of the past): every period's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodsAnswer {
    /// The instant the periods run to.
    pub at: Timestamp,
    /// The oldest event's time: comparisons that would start before it are left out.
    pub first_data: Option<Timestamp>,
    /// Today, this week, this month, this year.
    pub periods: Vec<PeriodFigures>,
    /// The cumulative totals (累计) by region.
    pub totals: BTreeMap<String, Totals>,
}

/// Change from `previous` to `current` in percent (None without a base).
pub fn change_percent(current: f64, previous: f64) -> Option<f64> {
    (previous.abs() > f64::EPSILON).then(|| 100.0 * (current - previous) / previous.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).expect("an instant")
    }

    #[test]
    fn periods_run_from_beijing_midnights_and_compare_to_the_same_point() {
        // Wednesday 4 March 2026, 09:30 in Beijing (01:30 UTC).
        let at = t("2026-03-04T09:30:00+08:00");
        let w = Period::Today.windows(at);
        assert_eq!((w.current.from, w.current.to), (t("2026-03-04T00:00:00+08:00"), at));
        assert_eq!(
            (w.previous.from, w.previous.to),
            (t("2026-03-03T00:00:00+08:00"), t("2026-03-03T09:30:00+08:00"))
        );
        assert_eq!(w.last_year.to, t("2025-03-04T09:30:00+08:00"));
        let w = Period::Week.windows(at);
        assert_eq!(w.current.from, t("2026-03-02T00:00:00+08:00"), "Monday");
        assert_eq!(w.previous.to, t("2026-02-25T09:30:00+08:00"));
        assert_eq!(w.last_year.from, t("2025-03-03T00:00:00+08:00"), "Monday 52 weeks before");
        let w = Period::Month.windows(at);
        assert_eq!(w.current.from, t("2026-03-01T00:00:00+08:00"));
        assert_eq!(
            (w.previous.from, w.previous.to),
            (t("2026-02-01T00:00:00+08:00"), t("2026-02-04T09:30:00+08:00"))
        );
        let w = Period::Year.windows(at);
        assert_eq!(w.current.from, t("2026-01-01T00:00:00+08:00"));
        assert_eq!(w.previous, w.last_year);
        assert_eq!(w.last_year.to, t("2025-03-04T09:30:00+08:00"));
        // Just after midnight in Beijing is the next day, though still the day before in UTC.
        let w = Period::Today.windows(t("2026-03-04T16:10:00Z"));
        assert_eq!(w.current.from, t("2026-03-05T00:00:00+08:00"));
        // A leap day a year on.
        assert_eq!(
            Period::Today.windows(t("2028-02-29T12:00:00+08:00")).last_year.from,
            t("2027-02-28T00:00:00+08:00")
        );
    }

    #[test]
    fn a_period_counts_the_difference_of_the_totals() {
        let mut a = Totals::default();
        a.rivers.patrols = 10;
        a.rivers.problems = 5;
        a.rivers.problems_open = 4;
        let mut b = a.clone();
        b.rivers.patrols = 25;
        b.rivers.problems = 7;
        b.rivers.problems_open = 3;
        assert_eq!(Indicator::Patrols.over(&a, &b), 15.0);
        assert_eq!(Indicator::ProblemsFound.over(&a, &b), 2.0);
        assert_eq!(Indicator::ProblemsClosed.over(&a, &b), 3.0);
        assert_eq!(change_percent(15.0, 10.0), Some(50.0));
        assert_eq!(change_percent(15.0, 0.0), None);
    }
}
