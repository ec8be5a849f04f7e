//! The wall's screens, their addresses, and the carousel that steps through them.
//!
//! Each screen has its own address a wall can open directly (`/`, `/yangtze`, `/rivers`,
//! `/projects`, `/poverty`). `?carousel=S` steps through them every S seconds; any touch pauses
//! the carousel, which resumes after the wall has been left alone for [`IDLE_RESUME_MS`].

/// Idle time after a touch before the carousel resumes, ms.
pub const IDLE_RESUME_MS: f64 = 60_000.0;

/// A wall screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    /// 总览: the four themes around the map.
    Overview,
    /// 长江大保护.
    Yangtze,
    /// 河湖长制.
    Rivers,
    /// 重大项目 / 产业地图.
    Projects,
    /// 精准脱贫.
    Poverty,
}

impl Screen {
    /// Every screen, in carousel order.
    pub const ALL: [Screen; 5] =
        [Screen::Overview, Screen::Yangtze, Screen::Rivers, Screen::Projects, Screen::Poverty];

    /// The screen at an address path (`/rivers`, `/rivers/`); unknown paths show the overview.
    pub fn from_path(path: &str) -> Screen {
        match path.trim_end_matches('/') {
            "/yangtze" => Screen::Yangtze,
            "/rivers" => Screen::Rivers,
            "/projects" => Screen::Projects,
            "/poverty" => Screen::Poverty,
            _ => Screen::Overview,
        }
    }

    /// Its address path.
    pub fn path(self) -> &'static str {
        match self {
            Screen::Overview => "/",
            Screen::Yangtze => "/yangtze",
            Screen::Rivers => "/rivers",
            Screen::Projects => "/projects",
            Screen::Poverty => "/poverty",
        }
    }

    /// The next screen in the carousel.
    pub fn next(self) -> Screen {
        let i = Screen::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Screen::ALL[(i + 1) % Screen::ALL.len()]
    }

    /// The theme (topic) the screen shows; the overview shows them all.
    pub fn topic(self) -> Option<&'static str> {
        use yiping_protocol::topics::{POVERTY, PROJECTS, RIVERS, WATER};
        match self {
            Screen::Overview => None,
            Screen::Yangtze => Some(WATER),
            Screen::Rivers => Some(RIVERS),
            Screen::Projects => Some(PROJECTS),
            Screen::Poverty => Some(POVERTY),
        }
    }

    /// A stable name for tests and styles.
    pub fn key(self) -> &'static str {
        match self {
            Screen::Overview => "overview",
            Screen::Yangtze => "yangtze",
            Screen::Rivers => "rivers",
            Screen::Projects => "projects",
            Screen::Poverty => "poverty",
        }
    }
}

/// The carousel's dwell per screen from a query string (`?carousel=30`: 30 s), if it is on.
/// Less than 5 s is taken as 5 s: a leader must be able to read a screen.
pub fn carousel_dwell_ms(query: &str) -> Option<f64> {
    query.trim_start_matches('?').split('&').find_map(|kv| {
        let v = kv.strip_prefix("carousel=")?;
        let s: f64 = v.parse().ok().filter(|s: &f64| s.is_finite() && *s > 0.0)?;
        Some(s.max(5.0) * 1000.0)
    })
}

/// The carousel's state: when the current screen began, and until when a touch holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Carousel {
    /// Dwell per screen, ms.
    pub dwell_ms: f64,
    /// When the current screen was shown, ms.
    pub shown_at: f64,
    /// Paused until this time (a touch), ms.
    pub paused_until: f64,
}

impl Carousel {
    /// A carousel showing a screen from `now`.
    pub fn new(dwell_ms: f64, now: f64) -> Carousel {
        Carousel { dwell_ms, shown_at: now, paused_until: f64::NEG_INFINITY }
    }

    /// A touch at `now`: hold the current screen; resume after `IDLE_RESUME_MS` of quiet.
    pub fn touch(&mut self, now: f64) {
        self.paused_until = now + IDLE_RESUME_MS;
    }

    /// Whether it is paused at `now`.
    pub fn paused(&self, now: f64) -> bool {
        now < self.paused_until
    }

    /// Whether to advance at `now`; if so, the next screen starts now.
    pub fn tick(&mut self, now: f64) -> bool {
        // After a pause, the screen gets a full dwell again, counted from the resume.
        self.shown_at = self.shown_at.max(self.paused_until);
        if self.paused(now) {
            return false;
        }
        if now - self.shown_at >= self.dwell_ms {
            self.shown_at = now;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_the_carousel_visits_every_screen() {
        for s in Screen::ALL {
            assert_eq!(Screen::from_path(s.path()), s);
        }
        assert_eq!(Screen::from_path("/rivers/"), Screen::Rivers);
        assert_eq!(Screen::from_path("/nope"), Screen::Overview);
        let mut s = Screen::Overview;
        let mut seen = vec![];
        for _ in 0..5 {
            s = s.next();
            seen.push(s);
        }
        assert_eq!(seen.last(), Some(&Screen::Overview));
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn dwell_from_the_address() {
        assert_eq!(carousel_dwell_ms("?carousel=30"), Some(30_000.0));
        assert_eq!(carousel_dwell_ms("?lang=en&carousel=1"), Some(5_000.0), "at least 5 s");
        assert_eq!(carousel_dwell_ms("?carousel=x"), None);
        assert_eq!(carousel_dwell_ms("?carousel=0"), None);
        assert_eq!(carousel_dwell_ms(""), None);
    }

    #[test]
    fn a_touch_pauses_and_quiet_resumes_with_a_full_dwell() {
        let mut c = Carousel::new(10_000.0, 0.0);
        assert!(!c.tick(9_999.0));
        assert!(c.tick(10_000.0));
        c.touch(12_000.0);
        assert!(c.paused(13_000.0));
        assert!(!c.tick(50_000.0), "held while paused");
        // Resumes 60 s after the touch, and the screen then stays its full dwell.
        assert!(!c.paused(72_000.0));
        assert!(!c.tick(72_000.0));
        assert!(!c.tick(81_999.0));
        assert!(c.tick(82_000.0));
    }
}
