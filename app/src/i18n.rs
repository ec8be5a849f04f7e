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

    /// The one way the app chooses words: `zh` in Chinese, `en` in English. Words used in one place
    /// are written there as `lang.pick("巡河", "Patrols")` (also for formatted text:
    /// `lang.pick(format!("{n}天"), format!("{n} d"))`); words used in several places are named
    /// in [`Text`] and read with [`t`], which picks the same way.
    pub fn pick<T>(self, zh: T, en: T) -> T {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
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
    let (zh, en) = match topic {
        WATER => ("长江大保护", "Yangtze"),
        RIVERS => ("河湖长制", "River chiefs"),
        PROJECTS => ("重大项目", "Major projects"),
        POVERTY => ("精准脱贫", "Poverty"),
        _ => ("", ""),
    };
    lang.pick(zh, en)
}

/// The name of a project's life-cycle stage.
pub fn stage_name(lang: Lang, stage: yiping_protocol::events::Stage) -> &'static str {
    use yiping_protocol::events::Stage;
    t(
        lang,
        match stage {
            Stage::Approval => Text::StageApproval,
            Stage::Construction => Text::StageConstruction,
            Stage::Accepted => Text::StageAcceptance,
        },
    )
}

/// A prefecture's short name in `lang`, from its adcode.
pub fn prefecture_name(lang: Lang, adcode: &str) -> Option<&'static str> {
    PREFECTURES.iter().find(|p| p.0 == adcode).map(|p| lang.pick(p.1, p.2))
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
    /// Map panel title (a template: see [`crate::site::Site::words`]).
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
    /// Map legend title: patrols by prefecture (a template: see [`crate::site::Site::words`]).
    PatrolsMap,
    /// Map legend: open problems by prefecture (a template).
    ProblemsMap,
    /// Map legend: projects by prefecture (a template).
    ProjectsMap,
    /// Map legend: at-risk households by prefecture (a template).
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
    /// Panel: prefectures ranked by patrols (a template).
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
    let (zh, en) = match key {
        Title => ("湖北省数字政府 · 一屏全览", "Hubei Digital Government · One Screen"),
        Subtitle => (
            "长江大保护 · 河湖长制 · 重大项目 · 精准脱贫",
            "Yangtze Protection · River & Lake Chiefs · Major Projects · Poverty Alleviation",
        ),
        Simulated => ("模拟数据", "SIMULATED DATA"),
        Live => ("实时连接", "Live"),
        Reconnecting => ("连接中断，正在重连", "Disconnected, reconnecting"),
        Connecting => ("正在连接", "Connecting"),
        WaterPanel => ("长江大保护 · 水质监测", "Yangtze Protection · Water Quality"),
        Readings => ("累计监测数据", "Readings (total)"),
        ReadingsUnit => ("条", ""),
        GoodShare => ("Ⅰ–Ⅲ类水质断面占比", "Sections at class Ⅰ–Ⅲ"),
        Reporting => ("报送断面", "Sections reporting"),
        MapPanel => ("{R} · {n}个{L}", "{R} · {n} {ls}"),
        SectionsPanel => ("国控/省控断面最新水质", "Latest class by section"),
        DataTime => ("数据时间", "Data time"),
        Stale => ("数据中断", "STALE"),
        NoData => ("暂无数据", "No data yet"),
        ReadingsNote => ("按 GB 3838-2002 单因子评价", "Classed by GB 3838-2002, worst indicator"),
        Outlets => ("入河排污口整治率", "Sewage outlets remediated"),
        FishingPatrols => ("累计禁渔巡查", "Fishing-ban patrols (total)"),
        RiversPanel => ("河湖长制 · 巡河与问题", "River Chiefs · Patrols & Problems"),
        Patrols => ("累计巡河", "Patrols (total)"),
        PatrolHours => ("累计巡河时长", "Patrol time (total)"),
        ProblemsOpen => ("待办结问题", "Open problems"),
        ProjectsPanel => ("重大项目 · 投资与审批", "Major Projects · Investment & Approvals"),
        Projects => ("在库项目", "Projects"),
        InvestmentDone => ("投资完成率", "Investment completed"),
        OverdueSteps => ("当前逾期环节", "Steps overdue today"),
        PovertyPanel => ("精准脱贫 · 防返贫监测", "Poverty · Relapse Monitoring"),
        Monitored => ("监测户", "Monitored households"),
        RiskHouseholds => ("风险未消除", "Risk not yet removed"),
        Assistance => ("本年帮扶资金", "Assistance this year"),
        PatrolsMap => ("各{L}累计巡河（次）", "River patrols by {l} (total)"),
        ProblemsMap => ("各{L}待办结问题（个）", "Open problems by {l}"),
        ProjectsMap => ("各{L}在库项目（个）", "Projects by {l}"),
        RiskMap => ("各{L}风险未消除户（户）", "At-risk households by {l}"),
        ScreenOverview => ("总览", "Overview"),
        ScreenYangtze => ("长江大保护", "Yangtze"),
        ScreenRivers => ("河湖长制", "River chiefs"),
        ScreenProjects => ("重大项目", "Projects"),
        ScreenPoverty => ("精准脱贫", "Poverty"),
        ClassPanel => ("断面水质类别", "Sections by water class"),
        SectionsCaption => ("监测断面", "sections"),
        NotReported => ("未报送", "Not reported"),
        RankingPanel => ("各{L}累计巡河排名", "River patrols by {l} (total)"),
        StageApproval => ("前期审批", "Approval"),
        StageConstruction => ("项目推进", "Construction"),
        StageAcceptance => ("竣工验收", "Acceptance"),
        Overdue => ("逾期项目", "Late projects"),
        UnitTimes => ("次", ""),
        UnitHours => ("小时", " h"),
        UnitItems => ("个", ""),
        UnitHouseholds => ("户", ""),
        UnitWanYuan => ("元", " CNY"),
    };
    lang.pick(zh, en)
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
