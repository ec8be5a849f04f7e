//! The region a page shows and how it is named: the deployment's root region (the province, or
//! a city such as 黄石), or the region a scoped user's login is cut to (`GET /api/v1/site`).
//!
//! Everything region-relative on the wall asks here: the region whose figures the headline
//! shows, the regions one level under it (prefectures of the province, counties of a city) that
//! the map colours and the rankings list, their names in either language, the words for that
//! level (市州 / 区县), and the title. One page shows one region for its life, so the site is
//! set once when the page starts ([`set`]) and read anywhere ([`current`]).
//!
//! ```
//! use yiping_app::i18n::Lang;
//! use yiping_app::site::Site;
//! use yiping_protocol::api::{RegionName, SiteInfo};
//! let hs = Site::new(SiteInfo {
//!     title: None,
//!     root: "420200".into(),
//!     root_name: "黄石市".into(),
//!     region: "420200".into(),
//!     region_name: "黄石市".into(),
//!     children: vec![RegionName { adcode: "420281".into(), name: "大冶市".into() }],
//! });
//! assert_eq!(hs.words(Lang::Zh, "各{L}累计巡河", "Patrols by {l}"), "各区县累计巡河");
//! assert_eq!(hs.words(Lang::En, "各{L}累计巡河", "Patrols by {l}"), "Patrols by county");
//! assert_eq!(hs.child_of("420281"), "420281");
//! assert_eq!(hs.title(Lang::Zh), "黄石市 · 一屏全览");
//! assert_eq!(Site::province().child_of("420105"), "420100");
//! ```

use std::sync::OnceLock;

use yiping_protocol::api::{RegionName, SiteInfo};

use crate::i18n::{Lang, PREFECTURES, prefecture_name};

/// The province's adcode.
pub const PROVINCE: &str = "420000";

/// The region a page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    info: SiteInfo,
}

impl Site {
    /// The site as the server describes it.
    pub fn new(info: SiteInfo) -> Site {
        Site { info }
    }

    /// The province with its 17 prefectures (what a page shows before it has asked, and pages
    /// that do not ask: the gallery, benchmarks).
    pub fn province() -> Site {
        let children = PREFECTURES
            .iter()
            .map(|(adcode, name, _)| RegionName { adcode: (*adcode).to_owned(), name: (*name).to_owned() })
            .collect();
        Site::new(SiteInfo {
            title: None,
            root: PROVINCE.into(),
            root_name: "湖北省".into(),
            region: PROVINCE.into(),
            region_name: "湖北省".into(),
            children,
        })
    }

    /// The region shown (adcode).
    pub fn region(&self) -> &str {
        &self.info.region
    }

    /// Is the region shown the province (its children prefectures), not a city (counties)?
    pub fn is_province(&self) -> bool {
        self.info.region == PROVINCE
    }

    /// The regions one level under the region shown.
    pub fn children(&self) -> &[RegionName] {
        &self.info.children
    }

    /// How many regions are one level under it.
    pub fn child_count(&self) -> usize {
        self.info.children.len()
    }

    /// The region shown, named in `lang` (`湖北省` / `Hubei`, `黄石市` / `Huangshi`).
    pub fn region_name(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => self.info.region_name.clone(),
            Lang::En if self.is_province() => "Hubei".into(),
            Lang::En => prefecture_name(Lang::En, self.region())
                .map_or_else(|| self.info.region_name.clone(), str::to_owned),
        }
    }

    /// The wall's title: the deployment's own, or the region shown and 一屏全览.
    pub fn title(&self, lang: Lang) -> String {
        if let Some(t) = &self.info.title {
            return t.clone();
        }
        if self.is_province() {
            return lang.pick("湖北省数字政府 · 一屏全览", "Hubei Digital Government · One Screen").into();
        }
        format!("{} · {}", self.region_name(lang), lang.pick("一屏全览", "One Screen"))
    }

    /// `zh` or `en` with the level's words put in: `{L}` is 市州 or 区县, `{l}` prefecture or
    /// county, `{ls}` prefectures or counties, `{n}` how many, `{R}` the region's name.
    pub fn words(&self, lang: Lang, zh: &str, en: &str) -> String {
        let (level, levels) = match (lang, self.is_province()) {
            (Lang::Zh, true) => ("市州", "市州"),
            (Lang::Zh, false) => ("区县", "区县"),
            (Lang::En, true) => ("prefecture", "prefectures"),
            (Lang::En, false) => ("county", "counties"),
        };
        lang.pick(zh, en)
            .replace("{ls}", levels)
            .replace("{l}", level)
            .replace("{L}", level)
            .replace("{n}", &self.child_count().to_string())
            .replace("{R}", &self.region_name(lang))
    }

    /// The region one level under the region shown that `adcode` (a county, or the region
    /// itself) lies in: its prefecture under the province, the county itself under a city.
    pub fn child_of(&self, adcode: &str) -> String {
        if self.is_province() { prefecture_of(adcode) } else { adcode.to_owned() }
    }

    /// A region one level under the one shown, named in `lang` (prefectures by their short
    /// names; a city's counties by their names, which the boundary layers give in Chinese).
    pub fn child_name(&self, lang: Lang, adcode: &str) -> String {
        if let Some(n) = prefecture_name(lang, adcode) {
            return n.to_owned();
        }
        self.info
            .children
            .iter()
            .find(|c| c.adcode == adcode)
            .map_or_else(|| adcode.to_owned(), |c| c.name.clone())
    }
}

/// The prefecture of a county adcode (`420105` → `420100`).
fn prefecture_of(adcode: &str) -> String {
    // 仙桃, 潜江, 天门 and 神农架 (4290xx) are governed by the province directly: their own
    // prefecture-level units.
    if adcode.starts_with("4290") {
        return adcode.to_owned();
    }
    adcode.get(..4).map_or_else(|| adcode.to_owned(), |p| format!("{p}00"))
}

static SITE: OnceLock<Site> = OnceLock::new();

/// Set the page's site, once, when it starts (later calls are ignored: a page shows one
/// region for its life).
pub fn set(site: Site) {
    let _ = SITE.set(site);
}

/// The page's site (the province until [`set`]).
pub fn current() -> &'static Site {
    SITE.get_or_init(Site::province)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_province_names_its_prefectures_and_the_level() {
        let p = Site::province();
        assert_eq!(p.child_count(), 17);
        assert_eq!(p.words(Lang::Zh, "{R} · {n}个{L}", "{R} · {n} {ls}"), "湖北省 · 17个市州");
        assert_eq!(p.words(Lang::En, "{R} · {n}个{L}", "{R} · {n} {ls}"), "Hubei · 17 prefectures");
        assert_eq!(p.child_name(Lang::En, "422800"), "Enshi");
        assert_eq!(p.child_of("429004"), "429004");
        assert_eq!(p.child_of("420105"), "420100");
        assert_eq!(p.title(Lang::En), "Hubei Digital Government · One Screen");
    }

    #[test]
    fn a_city_names_its_counties_and_keeps_a_configured_title() {
        let mut info = Site::province().info;
        info.root = "420200".into();
        info.region = "420200".into();
        info.region_name = "黄石市".into();
        info.children = vec![RegionName { adcode: "420222".into(), name: "阳新县".into() }];
        info.title = Some("智慧黄石 · 一屏全览".into());
        let hs = Site::new(info);
        assert!(!hs.is_province());
        assert_eq!(hs.words(Lang::Zh, "{R} · {n}个{L}", "{R} · {n} {ls}"), "黄石市 · 1个区县");
        assert_eq!(hs.words(Lang::En, "{R} · {n}个{L}", "{R} · {n} {ls}"), "Huangshi · 1 counties");
        assert_eq!(hs.child_name(Lang::En, "420222"), "阳新县");
        assert_eq!(hs.title(Lang::En), "智慧黄石 · 一屏全览");
    }
}
