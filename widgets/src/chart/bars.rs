//! Bar charts: a ranking that animates reordering, and a side-by-side comparison of two periods.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use plotters::prelude::*;

use super::host::{Drawn, HPos, Surface, VPos, bold, chart_canvas, px, rgb, text, text_width};
use crate::format::{NumberStyle, change_percent, scaled_text};
use crate::layout::{Area, Hit, Pick, Ranking, change};
use crate::palette::{
    ACCENT, ACCENT_2, BAD, COMPARED, Colour, DIM, GOOD, GRID, INK, MEDALS, TEXT, TRACK, WARN,
};
use crate::scale::nice_ticks;

/// One bar: a stable key (e.g. an adcode), its label and value.
#[derive(Debug, Clone, PartialEq)]
pub struct BarItem {
    /// Stable key, reported on touch.
    pub key: String,
    /// Label drawn.
    pub label: String,
    /// Value.
    pub value: f64,
}

/// How long rows take to slide to their new places, ms.
const REORDER_MS: f64 = 700.0;

/// A ranking bar chart (e.g. the 17 prefectures by patrols): horizontal bars, largest first; when
/// the order changes each row takes its new place at once (two names never share a line) and the
/// bars grow or shrink smoothly.
/// The top three are marked. A touch on a row reports its key, label and value.
#[component]
pub fn RankingBars(
    /// Chart title for assistive technology.
    #[prop(into)]
    label: Signal<String>,
    /// The items, in any order.
    #[prop(into)]
    items: Signal<Vec<BarItem>>,
    /// Unit after the values.
    #[prop(optional, into)]
    unit: Signal<String>,
    /// Decimals of values when scaled.
    #[prop(default = 1)]
    decimals: usize,
    /// Rows shown (the rest are ranked but not drawn).
    #[prop(default = 10)]
    rows: usize,
    /// Whether a large value is bad (bars turn from the accent towards red).
    #[prop(default = false)]
    larger_is_worse: bool,
    /// The order changes at most this often, ms: a ranking that reshuffles several times a
    /// second cannot be read. Values in between are kept and shown at the next step.
    #[prop(default = 2000.0)]
    reorder_every_ms: f64,
    /// Reported on touch.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
    /// `data-testid`.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let style = use_context::<NumberStyle>().unwrap_or_default();
    let ranking = Rc::new(RefCell::new(Ranking::new(REORDER_MS)));
    let r = ranking.clone();
    // Data arriving faster than `reorder_every_ms` waits for the next step; a timer makes sure
    // the last values are shown even if no more data comes.
    let wake = RwSignal::new(0u32);
    let mut last_set = f64::NEG_INFINITY;
    let mut waiting = false;
    let track = move || {
        let list: Vec<(String, String, f64)> =
            items.get().into_iter().map(|i| (i.key, i.label, i.value)).collect();
        unit.track();
        wake.track();
        let now = js_sys::Date::now();
        // The first data shows at once; after that the order steps at most every `reorder_every_ms`.
        if now - last_set >= reorder_every_ms || r.borrow().is_empty() {
            last_set = now;
            waiting = false;
            r.borrow_mut().set(&list, now);
        } else if !waiting {
            waiting = true;
            set_timeout(
                move || wake.update(|w| *w = w.wrapping_add(1)),
                std::time::Duration::from_millis((reorder_every_ms - (now - last_set)).max(0.0) as u64 + 1),
            );
        }
    };
    let paint = move |s: &Surface| {
        draw_ranking(s, &ranking.borrow(), rows, &unit.get_untracked(), decimals, style, larger_is_worse)
    };
    chart_canvas("ranking", label, test_id, track, paint, on_pick)
}

fn draw_ranking(
    s: &Surface,
    ranking: &Ranking,
    shown: usize,
    unit: &str,
    decimals: usize,
    style: NumberStyle,
    larger_is_worse: bool,
) -> Drawn {
    let (rows, animating) = ranking.frame(s.now);
    let mut drawn = Drawn { hits: Vec::new(), animating };
    let n = rows.len().min(shown.max(1));
    if n == 0 {
        return drawn;
    }
    let rem = s.rem;
    // Rows too short to read (17 prefectures in a short panel) go into two columns when there is
    // the width for them.
    let cols: usize = if s.h / (n as f64) < 1.3 * rem && s.w > 22.0 * rem { 2 } else { 1 };
    let per_col = n.div_ceil(cols);
    let gap = 1.2 * rem;
    let col_w = (s.w - gap * (cols - 1) as f64) / cols as f64;
    let row_h = s.h / per_col as f64;
    let font = (row_h * 0.5).clamp(0.6 * rem, 1.3 * rem);
    let badge = 1.6 * font;
    let label_w = 4.6 * font;
    let value_w = 5.2 * font;
    let bar_w = (col_w - (badge + 0.6 * font + label_w) - value_w).max(1.0);
    let max = rows.iter().map(|r| r.value.max(r.shown_value)).fold(0.0, f64::max).max(1e-9);
    // Each row stands at its rank: only the bars move, so two names never share a line while the
    // order changes.
    for row in rows.iter().filter(|r| r.rank < n) {
        let (col, slot) = (row.rank / per_col, row.rank % per_col);
        let left = col as f64 * (col_w + gap);
        let x0 = left + badge + 0.6 * font + label_w;
        let y = slot as f64 * row_h;
        if y > s.h - 1.0 {
            continue;
        }
        let cy = y + row_h / 2.0;
        // Rank badge: the top three in the wall's medal colours.
        let badge_color: Colour = MEDALS.get(row.rank).copied().unwrap_or(TRACK);
        let _ = s.root.draw(&Rectangle::new(
            [px(left, cy - badge * 0.42), px(left + badge, cy + badge * 0.42)],
            rgb(badge_color).mix(if row.rank < 3 { 0.9 } else { 1.0 }).filled(),
        ));
        let _ = s.root.draw(&Text::new(
            (row.rank + 1).to_string(),
            px(left + badge / 2.0, cy),
            bold(font * 0.85, if row.rank < 3 { INK } else { TEXT }, HPos::Center, VPos::Center),
        ));
        let _ = s.root.draw(&Text::new(
            row.label.clone(),
            px(left + badge + 0.6 * font, cy),
            text(font, TEXT, HPos::Left, VPos::Center),
        ));
        // Track, then the bar.
        let bh = (row_h * 0.46).max(2.0);
        let _ = s.root.draw(&Rectangle::new(
            [px(x0, cy - bh / 2.0), px(x0 + bar_w, cy + bh / 2.0)],
            rgb(TRACK).filled(),
        ));
        let len = (row.shown_value.max(0.0) / max * bar_w).max(1.0);
        let frac = row.value / max;
        let color = if larger_is_worse {
            if frac > 0.8 {
                BAD
            } else if frac > 0.5 {
                WARN
            } else {
                ACCENT
            }
        } else if row.rank == 0 {
            ACCENT_2
        } else {
            ACCENT
        };
        let _ = s
            .root
            .draw(&Rectangle::new([px(x0, cy - bh / 2.0), px(x0 + len, cy + bh / 2.0)], rgb(color).filled()));
        let _ = s.root.draw(&Text::new(
            format!("{}{unit}", scaled_text(row.value, decimals, style)),
            px(left + col_w, cy),
            bold(font, TEXT, HPos::Right, VPos::Center),
        ));
        if row.rank < n {
            drawn.hits.push(Hit {
                area: Area::Rect { x: left, y, w: col_w, h: row_h },
                pick: Pick {
                    widget: "ranking",
                    series: String::new(),
                    key: row.key.clone(),
                    label: row.label.clone(),
                    value: row.value,
                },
            });
        }
    }
    drawn
}

/// One region in a comparison: its value now and in the period compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareItem {
    /// Stable key (e.g. adcode), reported on touch.
    pub key: String,
    /// Label drawn.
    pub label: String,
    /// This period.
    pub current: Option<f64>,
    /// The period compared with (same period last year for 同比, the previous one for 环比).
    pub previous: Option<f64>,
}

/// A comparison view (交叉比对): regions side by side, each with this period's bar next to the
/// compared period's, and the change in percent above. Which comparison it is (同比, 环比) is
/// named by `series`. A touch on a bar reports its region, series and value.
#[component]
pub fn Comparison(
    /// Chart title for assistive technology.
    #[prop(into)]
    label: Signal<String>,
    /// The regions, in display order.
    #[prop(into)]
    items: Signal<Vec<CompareItem>>,
    /// Names of the two series, e.g. ("本期", "上年同期").
    #[prop(into)]
    series: Signal<(String, String)>,
    /// Unit of the values.
    #[prop(optional, into)]
    unit: Signal<String>,
    /// Decimals of axis labels.
    #[prop(default = 0)]
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
        items.track();
        series.track();
        unit.track();
    };
    let paint = move |s: &Surface| {
        items.with_untracked(|i| {
            draw_comparison(s, i, &series.get_untracked(), &unit.get_untracked(), decimals, style)
        })
    };
    chart_canvas("comparison", label, test_id, track, paint, on_pick)
}

fn draw_comparison(
    s: &Surface,
    items: &[CompareItem],
    series: &(String, String),
    unit: &str,
    decimals: usize,
    style: NumberStyle,
) -> Drawn {
    let mut drawn = Drawn::default();
    let rem = s.rem;
    let small = 0.85 * rem;
    // Many regions in a narrow chart: their names and changes go on two staggered rows, so no
    // label runs into its neighbour's.
    let slot_guess = (s.w - 4.7 * rem) / items.len().max(1) as f64;
    let widest = items
        .iter()
        .map(|i| {
            let name = text_width(&i.label, small * 1.05);
            let ch = change(i.current, i.previous)
                .and_then(|c| c.percent)
                .map_or(0.0, |c| text_width(&change_percent(c), small));
            name.max(ch)
        })
        .fold(0.0, f64::max);
    let stagger = widest > slot_guess * 0.92;
    let line = 1.15 * small;
    // Staggered changes stand in two fixed rows above the plot, the names in two rows below.
    let (left, top, bottom) = (
        4.2 * rem,
        2.2 * rem + if stagger { 2.0 * line } else { 0.0 },
        2.0 * rem + if stagger { line } else { 0.0 },
    );
    let (pw, ph) = (s.w - left - 0.5 * rem, s.h - top - bottom);
    if items.is_empty() || pw < 10.0 || ph < 10.0 {
        return drawn;
    }
    let lower = |i: usize| if stagger && i % 2 == 1 { line } else { 0.0 };
    // Legend.
    let names = [&series.0, &series.1];
    let colors = [ACCENT, COMPARED];
    let mut lx = left;
    for (name, c) in names.iter().zip(colors) {
        let _ =
            s.root.draw(&Rectangle::new([px(lx, 0.5 * rem), px(lx + 1.0 * rem, 1.2 * rem)], rgb(c).filled()));
        let _ = s.root.draw(&Text::new(
            name.to_string(),
            px(lx + 1.3 * rem, 0.85 * rem),
            text(small, TEXT, HPos::Left, VPos::Center),
        ));
        lx += 2.4 * rem + small * name.chars().count() as f64 * 1.05;
    }
    if !unit.is_empty() {
        let _ = s.root.draw(&Text::new(
            unit.to_string(),
            px(s.w, 0.85 * rem),
            text(small, DIM, HPos::Right, VPos::Center),
        ));
    }
    let max = items.iter().flat_map(|i| [i.current, i.previous]).flatten().fold(0.0, f64::max);
    let ticks = nice_ticks(0.0, max.max(1.0), 5);
    let y_max = ticks.last().copied().unwrap_or(1.0).max(max);
    let y_of = |v: f64| top + ph - v.max(0.0) / y_max * ph;
    for v in &ticks {
        let y = y_of(*v);
        let _ =
            s.root.draw(&PathElement::new(vec![px(left, y), px(left + pw, y)], rgb(GRID).stroke_width(1)));
        let _ = s.root.draw(&Text::new(
            scaled_text(*v, decimals, style),
            px(left - 0.5 * rem, y),
            text(small, DIM, HPos::Right, VPos::Center),
        ));
    }
    let slot = pw / items.len() as f64;
    let bw = (slot * 0.32).min(3.0 * rem);
    for (i, item) in items.iter().enumerate() {
        let cx = left + slot * (i as f64 + 0.5);
        for (j, (value, c)) in [item.current, item.previous].into_iter().zip(colors).enumerate() {
            let Some(v) = value else { continue };
            let x = if j == 0 { cx - bw - 0.08 * rem } else { cx + 0.08 * rem };
            let y = y_of(v);
            let _ = s.root.draw(&Rectangle::new([px(x, y), px(x + bw, top + ph)], rgb(c).filled()));
            drawn.hits.push(Hit {
                area: Area::Rect { x, y: top, w: bw, h: ph },
                pick: Pick {
                    widget: "comparison",
                    series: names[j].to_string(),
                    key: item.key.clone(),
                    label: item.label.clone(),
                    value: v,
                },
            });
        }
        // The change above the pair, green when up, red when down.
        if let Some(ch) = change(item.current, item.previous).and_then(|c| c.percent) {
            let top_y = if stagger {
                top - 0.1 * rem
            } else {
                y_of(item.current.unwrap_or(0.0).max(item.previous.unwrap_or(0.0)))
            };
            let c = if ch > 0.05 {
                GOOD
            } else if ch < -0.05 {
                BAD
            } else {
                DIM
            };
            let _ = s.root.draw(&Text::new(
                change_percent(ch),
                px(cx, top_y - 0.3 * rem - lower(i)),
                text(small, c, HPos::Center, VPos::Bottom),
            ));
        }
        let _ = s.root.draw(&Text::new(
            item.label.clone(),
            px(cx, top + ph + 0.4 * rem + lower(i)),
            text(small * 1.05, TEXT, HPos::Center, VPos::Top),
        ));
    }
    drawn
}
