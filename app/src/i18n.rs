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

/// Hubei's 17 prefecture-level divisions: adcode, Chinese short name, English name.
pub const PREFECTURES: [(&str, &str, &str); 17] = [
    ("420100", "武汉", "Wuhan"),
    ("420200", "黄石", "Huangshi"),
    ("420300", "十堰", "Shiyan"),
    ("420500", "宜昌", "Yichang"),
    ("420600", "襄阳", "Xiangyang"),
    ("420700", "鄂州", "Ezhou"),
    ("420800", "荆门", "Jingmen"),
    ("420900", "孝感", "Xiaogan"),
    ("421000", "荆州", "Jingzhou"),
    ("421100", "黄冈", "Huanggang"),
    ("421200", "咸宁", "Xianning"),
    ("421300", "随州", "Suizhou"),
    ("422800", "恩施", "Enshi"),
    ("429004", "仙桃", "Xiantao"),
    ("429005", "潜江", "Qianjiang"),
    ("429006", "天门", "Tianmen"),
    ("429021", "神农架", "Shennongjia"),
];

/// The name of a theme, by its topic.
pub fn theme_name(lang: Lang, topic: &str) -> &'static str {
    use yiping_protocol::topics::{POVERTY, PROJECTS, RIVERS, WATER};
    match (lang, topic) {
        (Lang::Zh, WATER) => "长江大保护",
        (Lang::Zh, RIVERS) => "河湖长制",
        (Lang::Zh, PROJECTS) => "重大项目",
        (Lang::Zh, POVERTY) => "精准脱贫",
        (Lang::En, WATER) => "Yangtze",
        (Lang::En, RIVERS) => "River chiefs",
        (Lang::En, PROJECTS) => "Major projects",
        (Lang::En, POVERTY) => "Poverty",
        _ => "",
    }
}

/// A prefecture's short name in `lang`, from its adcode.
pub fn prefecture_name(lang: Lang, adcode: &str) -> Option<&'static str> {
    PREFECTURES.iter().find(|p| p.0 == adcode).map(|p| match lang {
        Lang::Zh => p.1,
        Lang::En => p.2,
    })
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
    /// Outlets remediated.
    Outlets,
    /// Fishing-ban patrols.
    FishingPatrols,
    /// River panel title.
    RiversPanel,
    /// Patrols.
    Patrols,
    /// Patrol hours.
    PatrolHours,
    /// Open problems.
    ProblemsOpen,
    /// Projects panel title.
    ProjectsPanel,
    /// Projects count.
    Projects,
    /// Investment completion.
    InvestmentDone,
    /// Overdue steps.
    OverdueSteps,
    /// Poverty panel title.
    PovertyPanel,
    /// Monitored households.
    Monitored,
    /// Risk households.
    RiskHouseholds,
    /// Assistance.
    Assistance,
    /// Map legend title: patrols by prefecture.
    PatrolsMap,
    /// Map legend: open problems by prefecture.
    ProblemsMap,
    /// Map legend: projects by prefecture.
    ProjectsMap,
    /// Map legend: at-risk households by prefecture.
    RiskMap,
    /// Screen names.
    ScreenOverview,
    /// 长江大保护.
    ScreenYangtze,
    /// 河湖长制.
    ScreenRivers,
    /// 重大项目.
    ScreenProjects,
    /// 精准脱贫.
    ScreenPoverty,
    /// Panel: the sections' latest classes.
    ClassPanel,
    /// Caption in the class ring: sections.
    SectionsCaption,
    /// No class reported yet.
    NotReported,
    /// Panel: prefectures ranked by patrols.
    RankingPanel,
    /// Project stage 1.
    StageApproval,
    /// Project stage 2.
    StageConstruction,
    /// Project stage 3.
    StageAcceptance,
    /// Overdue.
    Overdue,
    /// Unit: times.
    UnitTimes,
    /// Unit: hours.
    UnitHours,
    /// Unit: items.
    UnitItems,
    /// Unit: households.
    UnitHouseholds,
    /// Unit: yuan (figures are scaled by 万/亿).
    UnitWanYuan,
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
        (Lang::Zh, Readings) => "累计监测数据",
        (Lang::En, Readings) => "Readings (total)",
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
        (Lang::Zh, Outlets) => "入河排污口整治率",
        (Lang::En, Outlets) => "Sewage outlets remediated",
        (Lang::Zh, FishingPatrols) => "累计禁渔巡查",
        (Lang::En, FishingPatrols) => "Fishing-ban patrols (total)",
        (Lang::Zh, RiversPanel) => "河湖长制 · 巡河与问题",
        (Lang::En, RiversPanel) => "River Chiefs · Patrols & Problems",
        (Lang::Zh, Patrols) => "累计巡河",
        (Lang::En, Patrols) => "Patrols (total)",
        (Lang::Zh, PatrolHours) => "累计巡河时长",
        (Lang::En, PatrolHours) => "Patrol time (total)",
        (Lang::Zh, ProblemsOpen) => "待办结问题",
        (Lang::En, ProblemsOpen) => "Open problems",
        (Lang::Zh, ProjectsPanel) => "重大项目 · 投资与审批",
        (Lang::En, ProjectsPanel) => "Major Projects · Investment & Approvals",
        (Lang::Zh, Projects) => "在库项目",
        (Lang::En, Projects) => "Projects",
        (Lang::Zh, InvestmentDone) => "投资完成率",
        (Lang::En, InvestmentDone) => "Investment completed",
        (Lang::Zh, OverdueSteps) => "当前逾期环节",
        (Lang::En, OverdueSteps) => "Steps overdue today",
        (Lang::Zh, PovertyPanel) => "精准脱贫 · 防返贫监测",
        (Lang::En, PovertyPanel) => "Poverty · Relapse Monitoring",
        (Lang::Zh, Monitored) => "监测户",
        (Lang::En, Monitored) => "Monitored households",
        (Lang::Zh, RiskHouseholds) => "风险未消除",
        (Lang::En, RiskHouseholds) => "Risk not yet removed",
        (Lang::Zh, Assistance) => "本年帮扶资金",
        (Lang::En, Assistance) => "Assistance this year",
        (Lang::Zh, PatrolsMap) => "各市州累计巡河（次）",
        (Lang::En, PatrolsMap) => "River patrols by prefecture (total)",
        (Lang::Zh, ProblemsMap) => "各市州待办结问题（个）",
        (Lang::En, ProblemsMap) => "Open problems by prefecture",
        (Lang::Zh, ProjectsMap) => "各市州在库项目（个）",
        (Lang::En, ProjectsMap) => "Projects by prefecture",
        (Lang::Zh, RiskMap) => "各市州风险未消除户（户）",
        (Lang::En, RiskMap) => "At-risk households by prefecture",
        (Lang::Zh, ScreenOverview) => "总览",
        (Lang::En, ScreenOverview) => "Overview",
        (Lang::Zh, ScreenYangtze) => "长江大保护",
        (Lang::En, ScreenYangtze) => "Yangtze",
        (Lang::Zh, ScreenRivers) => "河湖长制",
        (Lang::En, ScreenRivers) => "River chiefs",
        (Lang::Zh, ScreenProjects) => "重大项目",
        (Lang::En, ScreenProjects) => "Projects",
        (Lang::Zh, ScreenPoverty) => "精准脱贫",
        (Lang::En, ScreenPoverty) => "Poverty",
        (Lang::Zh, ClassPanel) => "断面水质类别",
        (Lang::En, ClassPanel) => "Sections by water class",
        (Lang::Zh, SectionsCaption) => "监测断面",
        (Lang::En, SectionsCaption) => "sections",
        (Lang::Zh, NotReported) => "未报送",
        (Lang::En, NotReported) => "Not reported",
        (Lang::Zh, RankingPanel) => "各市州累计巡河排名",
        (Lang::En, RankingPanel) => "River patrols by prefecture (total)",
        (Lang::Zh, StageApproval) => "前期审批",
        (Lang::En, StageApproval) => "Approval",
        (Lang::Zh, StageConstruction) => "项目推进",
        (Lang::En, StageConstruction) => "Construction",
        (Lang::Zh, StageAcceptance) => "竣工验收",
        (Lang::En, StageAcceptance) => "Acceptance",
        (Lang::Zh, Overdue) => "逾期项目",
        (Lang::En, Overdue) => "Late projects",
        (Lang::Zh, UnitTimes) => "次",
        (Lang::En, UnitTimes) => "",
        (Lang::Zh, UnitHours) => "小时",
        (Lang::En, UnitHours) => " h",
        (Lang::Zh, UnitItems) => "个",
        (Lang::En, UnitItems) => "",
        (Lang::Zh, UnitHouseholds) => "户",
        (Lang::En, UnitHouseholds) => "",
        (Lang::Zh, UnitWanYuan) => "元",
        (Lang::En, UnitWanYuan) => " CNY",
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

    #[test]
    fn prefecture_names_match_the_shipped_layer() {
        let layer = include_str!("../../maps/data/hubei_prefectures.geojson");
        for (adcode, zh, _) in PREFECTURES {
            assert!(
                layer.contains(&format!("\"adcode\": \"{adcode}\""))
                    || layer.contains(&format!("\"adcode\":\"{adcode}\"")),
                "{adcode}"
            );
            assert!(layer.contains(zh), "{zh}");
        }
        assert_eq!(prefecture_name(Lang::En, "422800"), Some("Enshi"));
        assert_eq!(prefecture_name(Lang::Zh, "429021"), Some("神农架"));
        assert_eq!(prefecture_name(Lang::Zh, "110000"), None);
    }
}
