//! The wall's words in zh-CN (default) and English (`?lang=en`).

/// Display language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From a page query string such as `?lang=en&x=1`: English when `lang=en`, else Chinese.
    pub fn from_query(query: &str) -> Lang {
        let en = query.trim_start_matches('?').split('&').any(|kv| kv.eq_ignore_ascii_case("lang=en"));
        if en { Lang::En } else { Lang::Zh }
    }

    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// Every text of the wall, by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// Page and header title.
    Title,
    /// Header subtitle: the four themes.
    Subtitle,
    /// Marks simulated data.
    Simulated,
    /// Connection states.
    Live,
    /// Reconnecting.
    Reconnecting,
    /// Connecting.
    Connecting,
    /// Water panel title.
    WaterPanel,
    /// KPI: readings received.
    Readings,
    /// Unit for readings.
    ReadingsUnit,
    /// KPI: share of good sections.
    GoodShare,
    /// KPI: reporting sections.
    Reporting,
    /// Map panel title.
    MapPanel,
    /// Sections panel title.
    SectionsPanel,
    /// Freshness words.
    DataTime,
    /// Stale.
    Stale,
    /// No data.
    NoData,
    /// Note under the readings KPI.
    ReadingsNote,
}

/// The text for `key` in `lang`.
pub fn t(lang: Lang, key: Text) -> &'static str {
    use Text::*;
    match (lang, key) {
        (Lang::Zh, Title) => "湖北省数字政府 · 一屏全览",
        (Lang::En, Title) => "Hubei Digital Government · One Screen",
        (Lang::Zh, Subtitle) => "长江大保护 · 河湖长制 · 重大项目 · 精准脱贫",
        (Lang::En, Subtitle) => {
            "Yangtze Protection · River & Lake Chiefs · Major Projects · Poverty Alleviation"
        }
        (Lang::Zh, Simulated) => "模拟数据",
        (Lang::En, Simulated) => "SIMULATED DATA",
        (Lang::Zh, Live) => "实时连接",
        (Lang::En, Live) => "Live",
        (Lang::Zh, Reconnecting) => "连接中断，正在重连",
        (Lang::En, Reconnecting) => "Disconnected, reconnecting",
        (Lang::Zh, Connecting) => "正在连接",
        (Lang::En, Connecting) => "Connecting",
        (Lang::Zh, WaterPanel) => "长江大保护 · 水质监测",
        (Lang::En, WaterPanel) => "Yangtze Protection · Water Quality",
        (Lang::Zh, Readings) => "本轮接收监测数据",
        (Lang::En, Readings) => "Readings received this run",
        (Lang::Zh, ReadingsUnit) => "条",
        (Lang::En, ReadingsUnit) => "",
        (Lang::Zh, GoodShare) => "Ⅰ–Ⅲ类水质断面占比",
        (Lang::En, GoodShare) => "Sections at class Ⅰ–Ⅲ",
        (Lang::Zh, Reporting) => "报送断面",
        (Lang::En, Reporting) => "Sections reporting",
        (Lang::Zh, MapPanel) => "湖北省 · 17个市州",
        (Lang::En, MapPanel) => "Hubei · 17 prefectures",
        (Lang::Zh, SectionsPanel) => "国控/省控断面最新水质",
        (Lang::En, SectionsPanel) => "Latest class by section",
        (Lang::Zh, DataTime) => "数据时间",
        (Lang::En, DataTime) => "Data time",
        (Lang::Zh, Stale) => "数据中断",
        (Lang::En, Stale) => "STALE",
        (Lang::Zh, NoData) => "暂无数据",
        (Lang::En, NoData) => "No data yet",
        (Lang::Zh, ReadingsNote) => "按 GB 3838-2002 单因子评价",
        (Lang::En, ReadingsNote) => "Classed by GB 3838-2002, worst indicator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_unless_lang_en() {
        assert_eq!(Lang::from_query(""), Lang::Zh);
        assert_eq!(Lang::from_query("?lang=zh"), Lang::Zh);
        assert_eq!(Lang::from_query("?x=1&lang=en"), Lang::En);
        assert_eq!(Lang::from_query("?language=en"), Lang::Zh);
        assert_eq!(t(Lang::from_query("?lang=en"), Text::Stale), "STALE");
    }
}
