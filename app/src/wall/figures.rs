//! The reactive figures of the wall that more than one screen shows, all read from the overview
//! the server folds: headline figures, the class ring, the project pipeline, prefecture rankings.

use leptos::prelude::*;
use yiping_protocol::events::Stage as ProjectStage;
use yiping_protocol::topics::{Overview, PrefectureFigures};
use yiping_protocol::water::WaterClass;
use yiping_widgets::chart::{BarItem, Slice, Stage};
use yiping_widgets::palette::{self, WATER_CLASSES};

use crate::i18n::{Text, prefecture_name, stage_name};

use super::WallCtx;

impl WallCtx {
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
    pub(super) fn prefecture_bars(self, f: fn(&PrefectureFigures) -> f64) -> Signal<Vec<BarItem>> {
        let (ov, lang) = (self.feeds.overview, self.lang);
        Signal::derive(move || {
            ov.with(|o| {
                o.as_ref()
                    .map(|o| {
                        o.prefectures
                            .iter()
                            .map(|(a, p)| BarItem {
                                key: a.clone(),
                                label: prefecture_name(lang, a).unwrap_or(a).to_string(),
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
