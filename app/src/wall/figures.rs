//! The reactive figures of the wall that more than one screen shows, all read from the overview
//! the server folds: headline figures, the class ring, the project pipeline, prefecture rankings.

use leptos::prelude::*;
use yiping_protocol::events::Stage as ProjectStage;
use yiping_protocol::periods::{Indicator, Period, change_percent};
use yiping_protocol::topics::{ChildFigures, Overview};
use yiping_protocol::water::WaterClass;
use yiping_widgets::chart::{BarItem, Slice, Stage};
use yiping_widgets::palette::{self, WATER_CLASSES};

use crate::i18n::{Text, stage_name};

use super::WallCtx;

/// A counted headline figure for the period chosen (累计 by default): what its label says, its
/// value, the value it is compared with (环比, in a period) and the note under it (同比).
#[derive(Clone, Copy)]
pub(super) struct Flow {
    /// "累计巡河" or "本月巡河".
    pub(super) label: Signal<String>,
    /// The count.
    pub(super) value: Signal<Option<f64>>,
    /// 环比: the previous period to the same point (None in 累计, or where the log does not reach).
    pub(super) previous: Signal<Option<f64>>,
    /// "环比" in a period.
    pub(super) change_label: Signal<String>,
    /// 同比 in a period ("同比 ▲ 3.2%", or "同比 — 数据始于 …"), else `total_note`.
    pub(super) note: Signal<String>,
}

impl WallCtx {
    /// A counted figure of the province as [`Flow`]: `total` from the overview in 累计, the
    /// period's figure of `indicator` (`GET /api/v1/periods`) otherwise.
    pub(super) fn flow(
        self,
        indicator: Indicator,
        total_label: Text,
        total_note: &'static str,
        total: fn(&Overview) -> Option<f64>,
    ) -> Flow {
        let (lang, period, answer) = (self.lang, self.kpi_period, self.period_figures);
        let region = move |p: Period| {
            answer.with(|a| {
                a.as_ref()?
                    .periods
                    .iter()
                    .find(|f| f.period == p)
                    .and_then(|f| f.regions.get(crate::site::current().region()).cloned())
            })
        };
        let first = move || answer.with(|a| a.as_ref().and_then(|a| a.first_data));
        let shown = move |v: f64| super::periods::shown(indicator, v);
        let cumulative = self.figure(total);
        Flow {
            label: Signal::derive(move || match period.get() {
                None => self.tr(total_label).to_string(),
                Some(p) => format!(
                    "{}{}",
                    super::periods::period_word(lang, Some(p)),
                    lang.pick("", " ").to_owned() + super::periods::words(lang, indicator).0
                ),
            }),
            value: Signal::derive(move || match period.get() {
                None => cumulative.get(),
                Some(p) => region(p).and_then(|r| r.current.get(&indicator).copied()).map(shown),
            }),
            previous: Signal::derive(move || {
                let p = period.get()?;
                region(p)?.previous?.get(&indicator).copied().map(shown)
            }),
            change_label: Signal::derive(move || {
                period.get().map_or(String::new(), |_| lang.pick("环比", "vs previous").to_string())
            }),
            note: Signal::derive(move || {
                let Some(p) = period.get() else { return total_note.to_string() };
                let Some(r) = region(p) else { return String::new() };
                let now = r.current.get(&indicator).copied().unwrap_or(0.0);
                let word = lang.pick("同比", "YoY");
                match r.last_year.and_then(|m| m.get(&indicator).copied()) {
                    Some(then) => match change_percent(now, then) {
                        Some(c) => format!("{word} {}", yiping_widgets::format::change_percent(c)),
                        None => format!("{word} —"),
                    },
                    None => match first() {
                        Some(f) => format!(
                            "{word} — {} {}",
                            lang.pick("数据始于", "data from"),
                            yiping_widgets::format::shanghai_date(f.unix_ms())
                        ),
                        None => format!("{word} —"),
                    },
                }
            }),
        }
    }

    /// A figure of the overview (None until the first overview, or where `f` has none).
    pub(super) fn figure(self, f: fn(&Overview) -> Option<f64>) -> Signal<Option<f64>> {
        let ov = self.feeds.overview;
        Signal::derive(move || ov.with(|o| o.as_ref().and_then(f)))
    }

    /// Steps overdue today in Beijing, so it moves at midnight without any event.
    pub(super) fn overdue_steps(self) -> Signal<Option<f64>> {
        let (ov, today) = (self.feeds.overview, self.today);
        Signal::derive(move || {
            ov.with(|o| o.as_ref().map(|o| f64::from(o.projects.overdue_steps(today.get()))))
        })
    }

    /// Sections reporting, over all the sections (" / 120").
    pub(super) fn of_all_sections(self) -> Signal<String> {
        let ov = self.feeds.overview;
        Signal::derive(move || format!(" / {}", ov.with(|o| o.as_ref().map_or(0, |o| o.sections.len()))))
    }

    /// The sections' latest classes, Ⅰ to 劣Ⅴ, and those with no reading yet.
    pub(super) fn class_slices(self) -> Signal<Vec<Slice>> {
        let (ov, lang) = (self.feeds.overview, self.lang);
        Signal::derive(move || {
            ov.with(|o| {
                let Some(o) = o.as_ref() else { return Vec::new() };
                let mut slices: Vec<Slice> = WaterClass::ALL
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Slice {
                        key: c.code().into(),
                        label: lang.pick(format!("{}类", c.label()), format!("Class {}", c.label())),
                        value: o.sections.iter().filter(|s| s.class == Some(*c)).count() as f64,
                        color: Some(WATER_CLASSES[i]),
                    })
                    .collect();
                slices.push(Slice {
                    key: "none".into(),
                    label: self.tr(Text::NotReported).into(),
                    value: o.sections.iter().filter(|s| s.class.is_none()).count() as f64,
                    color: Some(palette::UNKNOWN),
                });
                slices
            })
        })
    }

    /// Projects by life-cycle stage, with those that have a step overdue today.
    pub(super) fn stages(self) -> Signal<Vec<Stage>> {
        let (ov, today) = (self.feeds.overview, self.today);
        Signal::derive(move || {
            ov.with(|o| {
                let Some(p) = o.as_ref().map(|o| &o.projects) else { return Vec::new() };
                let overdue = p.overdue_projects(today.get());
                ProjectStage::ALL
                    .iter()
                    .map(|k| Stage {
                        key: k.as_str().into(),
                        label: stage_name(self.lang, *k).into(),
                        count: f64::from(p.by_stage[k.index()]),
                        overdue: f64::from(overdue[k.index()]),
                    })
                    .collect()
            })
        })
    }

    /// The prefectures with one of their figures, for a ranking.
    pub(super) fn prefecture_bars(self, f: fn(&ChildFigures) -> f64) -> Signal<Vec<BarItem>> {
        let (ov, lang) = (self.feeds.overview, self.lang);
        Signal::derive(move || {
            ov.with(|o| {
                o.as_ref()
                    .map(|o| {
                        o.children
                            .iter()
                            .map(|(a, p)| BarItem {
                                key: a.clone(),
                                label: crate::site::current().child_name(lang, a),
                                value: f(p),
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    }

    /// Slices of a ring from a list of the overview's figures, named by `labels` in order.
    pub(super) fn slices(
        self,
        labels: Vec<&'static str>,
        f: fn(&Overview) -> Vec<f64>,
    ) -> Signal<Vec<Slice>> {
        let ov = self.feeds.overview;
        Signal::derive(move || {
            ov.with(|o| {
                o.as_ref()
                    .map(|o| {
                        f(o).into_iter()
                            .zip(&labels)
                            .enumerate()
                            .map(|(i, (v, l))| Slice {
                                key: format!("{i}"),
                                label: (*l).to_string(),
                                value: v,
                                color: None,
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    }
}
