//! The stage pipeline of project life cycles.

use leptos::prelude::*;
use plotters::prelude::*;

use super::host::{Drawn, HPos, Surface, VPos, bold, chart_canvas, px, rgb, text};
use crate::format::{NumberStyle, scaled_text};
use crate::layout::{Area, Hit, Pick};
use crate::palette::{ACCENT, BAD, DIM, TEXT, TRACK};

/// A stage of a life cycle with how many items are in it and how many of those are overdue.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Stable key, reported on touch (e.g. "approval").
    pub key: String,
    /// Label drawn (e.g. "前期审批").
    pub label: String,
    /// Items in the stage.
    pub count: f64,
    /// Of those, overdue.
    pub overdue: f64,
}

/// A stage pipeline (审批 → 推进 → 验收): one chevron per stage with its count, and the overdue
/// ones in red under it. A touch on a stage reports it (`series` "count"); a touch on its
/// overdue figure reports `series` "overdue" with the overdue count.
#[component]
pub fn StagePipeline(
    /// Chart title for assistive technology.
    #[prop(into)]
    label: Signal<String>,
    /// The stages, in order.
    #[prop(into)]
    stages: Signal<Vec<Stage>>,
    /// The word for overdue, e.g. "逾期".
    #[prop(into)]
    overdue_word: Signal<String>,
    /// Unit after counts, e.g. "个".
    #[prop(optional, into)]
    unit: Signal<String>,
    /// Reported on touch.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
    /// `data-testid`.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let style = use_context::<NumberStyle>().unwrap_or_default();
    let track = move || {
        stages.track();
        overdue_word.track();
        unit.track();
    };
    let paint = move |s: &Surface| {
        stages.with_untracked(|st| draw(s, st, &overdue_word.get_untracked(), &unit.get_untracked(), style))
    };
    chart_canvas("pipeline", label, test_id, track, paint, on_pick)
}

fn draw(s: &Surface, stages: &[Stage], overdue_word: &str, unit: &str, style: NumberStyle) -> Drawn {
    let mut drawn = Drawn::default();
    if stages.is_empty() {
        return drawn;
    }
    let rem = s.rem;
    let n = stages.len() as f64;
    let notch = (s.h * 0.18).min(2.0 * rem);
    let gap = 0.4 * rem;
    let w = (s.w - gap * (n - 1.0) + notch * (n - 1.0)) / n;
    let (y0, y1) = (0.0, s.h * 0.62);
    let mid = (y0 + y1) / 2.0;
    for (i, st) in stages.iter().enumerate() {
        let x = i as f64 * (w + gap - notch);
        // A chevron: notched on the left (except the first), pointed on the right (except the last).
        let mut pts = vec![px(x, y0)];
        pts.push(px(x + w - if i + 1 < stages.len() { notch } else { 0.0 }, y0));
        if i + 1 < stages.len() {
            pts.push(px(x + w, mid));
        }
        pts.push(px(x + w - if i + 1 < stages.len() { notch } else { 0.0 }, y1));
        pts.push(px(x, y1));
        if i > 0 {
            pts.push(px(x + notch, mid));
        }
        let shade = 0.35 + 0.65 * (i as f64 + 1.0) / n;
        let _ = s.root.draw(&Polygon::new(pts, rgb(ACCENT).mix(shade * 0.55).filled()));
        let cx =
            x + (w + if i > 0 { notch } else { 0.0 } - if i + 1 < stages.len() { notch } else { 0.0 }) / 2.0;
        let big = ((y1 - y0) * 0.34).min(2.6 * rem);
        let _ = s.root.draw(&Text::new(
            format!("{}{unit}", scaled_text(st.count, 1, style)),
            px(cx, mid - big * 0.35),
            bold(big, TEXT, HPos::Center, VPos::Center),
        ));
        let _ = s.root.draw(&Text::new(
            st.label.clone(),
            px(cx, mid + big * 0.55),
            text(big * 0.45, TEXT, HPos::Center, VPos::Center),
        ));
        drawn.hits.push(Hit {
            area: Area::Rect { x, y: y0, w, h: y1 - y0 },
            pick: Pick {
                widget: "pipeline",
                series: "count".into(),
                key: st.key.clone(),
                label: st.label.clone(),
                value: st.count,
            },
        });
        // Overdue under the chevron.
        let oy = y1 + (s.h - y1) / 2.0;
        let share = if st.count > 0.0 { st.overdue / st.count * 100.0 } else { 0.0 };
        let (color, label) = if st.overdue > 0.0 {
            (BAD, format!("{overdue_word} {} · {share:.0}%", scaled_text(st.overdue, 1, style)))
        } else {
            (DIM, format!("{overdue_word} 0"))
        };
        // As large as the row allows, but never wider than the box under the chevron.
        let of = ((s.h - y1) * 0.45).min(1.2 * rem).min(w * 0.72 / (0.62 * label.chars().count() as f64));
        let _ = unit;
        let _ = s.root.draw(&Rectangle::new(
            [px(cx - w * 0.38, oy - of * 0.75), px(cx + w * 0.38, oy + of * 0.75)],
            rgb(TRACK).filled(),
        ));
        let _ = s.root.draw(&Text::new(label, px(cx, oy), bold(of, color, HPos::Center, VPos::Center)));
        drawn.hits.push(Hit {
            area: Area::Rect { x: cx - w * 0.38, y: oy - of * 0.75, w: w * 0.76, h: of * 1.5 },
            pick: Pick {
                widget: "pipeline",
                series: "overdue".into(),
                key: st.key.clone(),
                label: format!("{} · {overdue_word}", st.label),
                value: st.overdue,
            },
        });
    }
    drawn
}
