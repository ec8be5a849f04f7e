//! Parts of a whole: stacked distribution bars, a ring (donut), and a gauge against a target.

use std::f64::consts::PI;

use leptos::prelude::*;
use plotters::prelude::*;

use super::host::{Drawn, HPos, Surface, VPos, bold, chart_canvas, px, rgb, text, text_width};
use crate::format::{NumberStyle, scaled_text};
use crate::layout::{Area, Hit, Pick, polar, ring_sectors, shares_percent};
use crate::palette::{ACCENT_2, BAD, Colour, DIM, GOOD, INK, SERIES, TEXT, TRACK, WARN};

/// A category of a distribution: stable key, label, colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// Stable key, reported on touch (e.g. "III").
    pub key: String,
    /// Label drawn (e.g. "Ⅲ类").
    pub label: String,
    /// Colour.
    pub color: Colour,
}

/// A group's counts per category (same order as the categories).
#[derive(Debug, Clone, PartialEq)]
pub struct ShareGroup {
    /// Stable key of the group, reported on touch.
    pub key: String,
    /// Label drawn.
    pub label: String,
    /// Counts per category.
    pub counts: Vec<f64>,
}

/// Stacked 100 % bars, one per group (e.g. water-quality class Ⅰ–劣Ⅴ shares of the sections on
/// the 长江, the 汉江 and the lakes). Shares are rounded so each bar adds up to exactly 100 %.
/// A touch on a segment reports the group (series), the category (key) and its count.
#[component]
pub fn StackedShares(
    /// Chart title for assistive technology.
    #[prop(into)]
    label: Signal<String>,
    /// The categories, in stacking order.
    #[prop(into)]
    categories: Signal<Vec<Category>>,
    /// The groups.
    #[prop(into)]
    groups: Signal<Vec<ShareGroup>>,
    /// Reported on touch.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
    /// `data-testid`.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let track = move || {
        categories.track();
        groups.track();
    };
    let paint =
        move |s: &Surface| categories.with_untracked(|c| groups.with_untracked(|g| draw_stacked(s, c, g)));
    chart_canvas("stacked", label, test_id, track, paint, on_pick)
}

fn draw_stacked(s: &Surface, cats: &[Category], groups: &[ShareGroup]) -> Drawn {
    let mut drawn = Drawn::default();
    let rem = s.rem;
    let small = 0.85 * rem;
    // Legend on top.
    let mut lx = 0.0;
    for c in cats {
        let _ = s
            .root
            .draw(&Rectangle::new([px(lx, 0.5 * rem), px(lx + 0.9 * rem, 1.2 * rem)], rgb(c.color).filled()));
        let _ = s.root.draw(&Text::new(
            c.label.clone(),
            px(lx + 1.2 * rem, 0.85 * rem),
            text(small, TEXT, HPos::Left, VPos::Center),
        ));
        lx += 2.2 * rem + small * c.label.chars().count() as f64;
    }
    if groups.is_empty() {
        return drawn;
    }
    let top = 2.0 * rem;
    // Rows as tall as their names need: the names' size follows the room, down to a legible
    // floor; the groups that do not fit at that size are left out (the first ones are shown), so
    // no two names ever overlap.
    let floor = 0.6 * rem;
    let fit = ((s.h - top) / (1.25 * floor)).floor().max(1.0) as usize;
    let groups = &groups[..groups.len().min(fit)];
    let row_h = (s.h - top) / groups.len() as f64;
    let font = (row_h * 0.75).clamp(floor, rem);
    let label_w =
        groups.iter().map(|g| g.label.chars().count()).max().unwrap_or(2) as f64 * font + 0.8 * font;
    let bh = (row_h * 0.6).min(3.0 * rem);
    let small = (bh * 0.8).min(small);
    let bw = s.w - label_w;
    for (gi, g) in groups.iter().enumerate() {
        let cy = top + row_h * (gi as f64 + 0.5);
        let _ =
            s.root.draw(&Text::new(g.label.clone(), px(0.0, cy), text(font, TEXT, HPos::Left, VPos::Center)));
        let shares = shares_percent(&g.counts, 1);
        let total: f64 = g.counts.iter().filter(|c| c.is_finite() && **c > 0.0).sum();
        let _ = s
            .root
            .draw(&Rectangle::new([px(label_w, cy - bh / 2.0), px(s.w, cy + bh / 2.0)], rgb(TRACK).filled()));
        let mut x = label_w;
        for (ci, share) in shares.iter().enumerate() {
            let Some(cat) = cats.get(ci) else { break };
            let w = bw * share / 100.0;
            if w <= 0.0 {
                continue;
            }
            let _ = s.root.draw(&Rectangle::new(
                [px(x, cy - bh / 2.0), px(x + w, cy + bh / 2.0)],
                rgb(cat.color).filled(),
            ));
            if w > 3.2 * small && small >= 0.5 * rem {
                let _ = s.root.draw(&Text::new(
                    format!("{share:.1}%"),
                    px(x + w / 2.0, cy),
                    bold(small, INK, HPos::Center, VPos::Center),
                ));
            }
            drawn.hits.push(Hit {
                area: Area::Rect { x, y: cy - bh / 2.0, w, h: bh },
                pick: Pick {
                    widget: "stacked",
                    series: g.key.clone(),
                    key: cat.key.clone(),
                    label: format!("{} · {}", g.label, cat.label),
                    value: g.counts[ci],
                },
            });
            x += w;
        }
        if total <= 0.0 {
            let _ = s.root.draw(&Text::new(
                "—",
                px(label_w + bw / 2.0, cy),
                text(small, DIM, HPos::Center, VPos::Center),
            ));
        }
    }
    drawn
}

/// A slice of a ring.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Stable key, reported on touch.
    pub key: String,
    /// Label drawn in the legend.
    pub label: String,
    /// Value.
    pub value: f64,
    /// Colour; `None` takes the series colours in order.
    pub color: Option<Colour>,
}

/// Points of a ring sector as a polygon (plotters has no arc element), about one vertex per
/// 2 degrees.
fn sector_polygon(cx: f64, cy: f64, r0: f64, r1: f64, a0: f64, a1: f64) -> Vec<(i32, i32)> {
    let steps = (((a1 - a0) / (2.0 * PI / 180.0)).ceil() as usize).max(1);
    let mut pts = Vec::with_capacity(2 * steps + 2);
    for i in 0..=steps {
        let a = a0 + (a1 - a0) * i as f64 / steps as f64;
        let (x, y) = polar(cx, cy, r1, a);
        pts.push(px(x, y));
    }
    for i in (0..=steps).rev() {
        let a = a0 + (a1 - a0) * i as f64 / steps as f64;
        let (x, y) = polar(cx, cy, r0, a);
        pts.push(px(x, y));
    }
    pts
}

/// A ring (donut) chart: slices clockwise from 12 o'clock, the total in the centre, a legend
/// with each slice's value and share. A touch on a slice (or its legend row) reports it.
#[component]
pub fn Ring(
    /// Chart title for assistive technology.
    #[prop(into)]
    label: Signal<String>,
    /// The slices.
    #[prop(into)]
    slices: Signal<Vec<Slice>>,
    /// Caption under the total, e.g. "项目总数".
    #[prop(optional, into)]
    caption: Signal<String>,
    /// Decimals of values when scaled.
    #[prop(default = 1)]
    decimals: usize,
    /// Reported on touch.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
    /// `data-testid`.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let style = use_context::<NumberStyle>().unwrap_or_default();
    let track = move || {
        slices.track();
        caption.track();
    };
    let paint = move |s: &Surface| {
        slices.with_untracked(|sl| draw_ring(s, sl, &caption.get_untracked(), decimals, style))
    };
    chart_canvas("ring", label, test_id, track, paint, on_pick)
}

fn draw_ring(s: &Surface, slices: &[Slice], caption: &str, decimals: usize, style: NumberStyle) -> Drawn {
    let mut drawn = Drawn::default();
    let rem = s.rem;
    let legend_w = (s.w * 0.5).min(16.0 * rem);
    let r1 = ((s.w - legend_w) / 2.0).min(s.h / 2.0) * 0.92;
    if r1 < 4.0 {
        return drawn;
    }
    let r0 = r1 * 0.64;
    // The ring and its legend side by side, centred together in the canvas.
    let used = 2.0 * r1 / 0.92 + legend_w;
    let x_left = ((s.w - used) / 2.0).max(0.0);
    let (cx, cy) = (x_left + r1 / 0.92, s.h / 2.0);
    let values: Vec<f64> = slices.iter().map(|x| x.value).collect();
    let total: f64 = values.iter().filter(|v| v.is_finite() && **v > 0.0).sum();
    let _ = s.root.draw(&Polygon::new(sector_polygon(cx, cy, r0, r1, 0.0, 2.0 * PI), rgb(TRACK).filled()));
    let shares = shares_percent(&values, 1);
    let gap = if slices.len() > 1 { 0.01 } else { 0.0 };
    // The legend: a row per slice, its font small enough that the longest name fits beside its
    // swatch (down to half the wall's text size); after the names, value and share where every row has room for them, else the
    // share alone, else nothing (a narrow ring never prints one text over another, and every
    // row shows the same).
    let row_h = (s.h / slices.len().max(1) as f64).min(2.2 * rem);
    let lx = x_left + 2.0 * r1 / 0.92 + 0.6 * rem;
    let right = (lx + legend_w - 0.6 * rem).min(s.w);
    let longest = slices.iter().map(|sl| text_width(&sl.label, 1.0)).fold(0.0, f64::max);
    let font = (row_h * 0.5).min(rem).min((legend_w - 0.6 * rem) / (1.1 + longest)).max(0.5 * rem);
    let figures = |i: usize, with_value: bool| {
        let share = format!("{:.1}%", shares[i]);
        if with_value { format!("{}  {share}", scaled_text(slices[i].value, decimals, style)) } else { share }
    };
    let fits = |with_value: bool| {
        slices.iter().enumerate().all(|(i, sl)| {
            let room = right - (lx + 1.1 * font) - text_width(&sl.label, font) - 0.5 * font;
            text_width(&figures(i, with_value), font) <= room
        })
    };
    let shown = [true, false].into_iter().find(|&v| fits(v));
    for (i, ((a0, a1), sl)) in ring_sectors(&values).into_iter().zip(slices).enumerate() {
        let color = sl.color.unwrap_or(SERIES[i % SERIES.len()]);
        if a1 - a0 > 2.0 * gap {
            let _ = s
                .root
                .draw(&Polygon::new(sector_polygon(cx, cy, r0, r1, a0 + gap, a1 - gap), rgb(color).filled()));
        }
        let pick = Pick {
            widget: "ring",
            series: String::new(),
            key: sl.key.clone(),
            label: sl.label.clone(),
            value: sl.value,
        };
        if a1 > a0 {
            drawn.hits.push(Hit { area: Area::Sector { cx, cy, r0, r1, a0, a1 }, pick: pick.clone() });
        }
        // Legend row.
        let ly = s.h / 2.0 - row_h * slices.len() as f64 / 2.0 + row_h * (i as f64 + 0.5);
        let _ = s.root.draw(&Rectangle::new(
            [px(lx, ly - 0.35 * font), px(lx + 0.7 * font, ly + 0.35 * font)],
            rgb(color).filled(),
        ));
        let _ = s.root.draw(&Text::new(
            sl.label.clone(),
            px(lx + 1.1 * font, ly),
            text(font, TEXT, HPos::Left, VPos::Center),
        ));
        if let Some(with_value) = shown {
            let _ = s.root.draw(&Text::new(
                figures(i, with_value),
                px(right, ly),
                text(font, DIM, HPos::Right, VPos::Center),
            ));
        }
        drawn.hits.push(Hit { area: Area::Rect { x: lx, y: ly - row_h / 2.0, w: legend_w, h: row_h }, pick });
    }
    let _ = s.root.draw(&Text::new(
        scaled_text(total, decimals, style),
        px(cx, cy),
        bold(r0 * 0.42, ACCENT_2, HPos::Center, VPos::Center),
    ));
    if !caption.is_empty() {
        let _ = s.root.draw(&Text::new(
            caption.to_string(),
            px(cx, cy + r0 * 0.42),
            text((r0 * 0.2).min(rem), DIM, HPos::Center, VPos::Center),
        ));
    }
    drawn
}

/// The arc a gauge sweeps: from 7.5 to 4.5 o'clock through 12.
const GAUGE_FROM: f64 = -0.75 * PI;
const GAUGE_TO: f64 = 0.75 * PI;

/// A gauge: a value on an arc from `min` to `max`, with a target tick. Coloured green when the
/// target is met, amber within 10 % of the range short of it, red otherwise (for a figure where
/// higher is better; `higher_is_better = false` turns it round). A touch reports the value.
#[component]
pub fn Gauge(
    /// What is measured, drawn under the value.
    #[prop(into)]
    label: Signal<String>,
    /// The value.
    #[prop(into)]
    value: Signal<Option<f64>>,
    /// Start of the scale.
    #[prop(default = 0.0)]
    min: f64,
    /// End of the scale.
    #[prop(default = 100.0)]
    max: f64,
    /// The target, drawn as a tick.
    #[prop(optional, into)]
    target: Signal<Option<f64>>,
    /// Whether higher values are better.
    #[prop(default = true)]
    higher_is_better: bool,
    /// Unit after the value.
    #[prop(optional, into)]
    unit: Signal<String>,
    /// Reported on touch.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
    /// `data-testid`.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let track = move || {
        value.track();
        target.track();
        unit.track();
        label.track();
    };
    let paint = move |s: &Surface| {
        draw_gauge(
            s,
            value.get_untracked(),
            (min, max),
            target.get_untracked(),
            higher_is_better,
            &unit.get_untracked(),
            &label.get_untracked(),
            test_id,
        )
    };
    chart_canvas("gauge", label, test_id, track, paint, on_pick)
}

#[allow(clippy::too_many_arguments)]
fn draw_gauge(
    s: &Surface,
    value: Option<f64>,
    (min, max): (f64, f64),
    target: Option<f64>,
    higher_is_better: bool,
    unit: &str,
    label: &str,
    key: &str,
) -> Drawn {
    let mut drawn = Drawn::default();
    let rem = s.rem;
    // The arc's ends reach 0.71 r below the centre; the label goes under them.
    let r1 = (s.w / 2.0).min((s.h - 2.0 * rem) / 1.75) * 0.95;
    if r1 < 4.0 || max <= min {
        return drawn;
    }
    let r0 = r1 * 0.8;
    let (cx, cy) = (s.w / 2.0, r1 * 1.02);
    let frac = |v: f64| ((v - min) / (max - min)).clamp(0.0, 1.0);
    let angle = |v: f64| GAUGE_FROM + (GAUGE_TO - GAUGE_FROM) * frac(v);
    let _ =
        s.root.draw(&Polygon::new(sector_polygon(cx, cy, r0, r1, GAUGE_FROM, GAUGE_TO), rgb(TRACK).filled()));
    let big = r0 * 0.5;
    if let Some(v) = value.filter(|v| v.is_finite()) {
        let color = match target {
            Some(t) => {
                let short = if higher_is_better { t - v } else { v - t };
                if short <= 0.0 {
                    GOOD
                } else if short <= 0.1 * (max - min) {
                    WARN
                } else {
                    BAD
                }
            }
            None => ACCENT_2,
        };
        if frac(v) > 0.0 {
            let _ = s.root.draw(&Polygon::new(
                sector_polygon(cx, cy, r0, r1, GAUGE_FROM, angle(v)),
                rgb(color).filled(),
            ));
        }
        let _ = s.root.draw(&Text::new(
            format!("{v:.1}"),
            px(cx, cy),
            bold(big, TEXT, HPos::Center, VPos::Center),
        ));
        drawn.hits.push(Hit {
            area: Area::Sector { cx, cy, r0: 0.0, r1, a0: GAUGE_FROM, a1: GAUGE_TO },
            pick: Pick {
                widget: "gauge",
                series: String::new(),
                key: key.to_string(),
                label: label.to_string(),
                value: v,
            },
        });
    } else {
        let _ = s.root.draw(&Text::new("—", px(cx, cy), bold(big, DIM, HPos::Center, VPos::Center)));
    }
    let _ = s.root.draw(&Text::new(
        unit.to_string(),
        px(cx, cy + big * 0.75),
        text((big * 0.4).min(1.2 * rem), DIM, HPos::Center, VPos::Center),
    ));
    if let Some(t) = target {
        let a = angle(t);
        let (x0, y0) = polar(cx, cy, r0 * 0.94, a);
        let (x1, y1) = polar(cx, cy, r1 * 1.06, a);
        let _ = s.root.draw(&PathElement::new(
            vec![px(x0, y0), px(x1, y1)],
            rgb(TEXT).stroke_width((0.18 * rem).max(2.0) as u32),
        ));
    }
    // Scale ends and the label.
    let small = 0.8 * rem;
    let (ax, ay) = polar(cx, cy, (r0 + r1) / 2.0, GAUGE_FROM);
    let (bx, by) = polar(cx, cy, (r0 + r1) / 2.0, GAUGE_TO);
    let _ = s.root.draw(&Text::new(
        format!("{min}"),
        px(ax, ay + 0.3 * rem),
        text(small, DIM, HPos::Center, VPos::Top),
    ));
    let _ = s.root.draw(&Text::new(
        format!("{max}"),
        px(bx, by + 0.3 * rem),
        text(small, DIM, HPos::Center, VPos::Top),
    ));
    let _ = s.root.draw(&Text::new(
        label.to_string(),
        px(cx, s.h - 0.2 * rem),
        text(rem, TEXT, HPos::Center, VPos::Bottom),
    ));
    drawn
}
