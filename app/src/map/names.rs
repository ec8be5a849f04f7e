//! Region names, placed in every frame clear of what the live tier draws there (markers,
//! clusters, sections, alerts) and of each other, and drawn between the static tiers and the
//! live tier.
//!
//! Names used to be drawn with the top tier, which is redrawn only when the view changes: they
//! kept clear of the sections, whose places are fixed, but live markers and alerts came and went
//! over them (an alert's dot on the 天 of 天门). Placed in each frame, a name steps aside (above,
//! below, beside its label point: [`Candidate::region`]) for the marks of that frame; a name the
//! map must show (a prefecture's on the province view) that finds no free place stays at its
//! label point, under the marks, which are the data. Each text is measured once ([`Widths`]).
//! Placing 20–30 names among a few hundred marks is an R-tree search of well under a
//! millisecond; drawing them is a stroke and a fill each.

use std::collections::HashMap;

use web_sys::CanvasRenderingContext2d;
use yiping_maps::Region;
use yiping_maps::draw::paint_label;
use yiping_maps::labels::{Candidate, Obstacle, Placement, place};
use yiping_widgets::palette::map::{LABEL, LABEL_DIM};

use super::layers::Layers;
use super::tiers::{Frame, LABEL_FONT};

/// Names' widths as measured, by font size (whole pixels, as the font is set) and text: a name
/// is measured once, not in every frame.
#[derive(Debug, Default)]
pub(super) struct Widths(HashMap<u32, HashMap<String, f64>>);

impl Widths {
    fn of(&mut self, ctx: &CanvasRenderingContext2d, text: &str, px: f64) -> f64 {
        let by_text = self.0.entry(px.round() as u32).or_default();
        if let Some(w) = by_text.get(text) {
            return *w;
        }
        ctx.set_font(&format!("500 {px:.0}px {LABEL_FONT}"));
        let w = ctx.measure_text(text).map_or(px * text.chars().count() as f64, |m| m.width());
        by_text.insert(text.to_owned(), w);
        w
    }
}

/// A name drawn in a frame: its text and box (device pixels).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Placed {
    pub(super) text: String,
    pub(super) area: Obstacle,
}

/// Place the names of frame `f` clear of `marks` (the boxes of what the live tier will draw) and
/// of each other, and draw them: the view's own regions first (the selected prefecture's
/// counties, or the prefectures), then the neighbours. Returns what was drawn.
pub(super) fn draw_names<'a>(
    ctx: &CanvasRenderingContext2d,
    layers: &'a Layers,
    f: &Frame,
    marks: &[Obstacle],
    widths: &mut Widths,
) -> Vec<Placed> {
    let (w, h, unit) = (f.w, f.h, f.unit());
    let vp = f.viewport();
    let selected = layers.prefecture_of_view(f.view.as_deref());
    let in_view = |c: &Region| selected.is_some() && c.parent.as_deref() == selected;
    let mut names: Vec<(&str, f64, &'static str, Candidate)> = Vec::new();
    let mut add = |r: &'a Region, px: f64, color: &'static str, priority: i32| {
        let text = r.short_name.as_str();
        let tw = widths.of(ctx, text, px);
        let (x, y) = vp.to_screen(r.label.x, r.label.y);
        // Counties (dense in city centres) and neighbours are shown where there is room; the
        // prefectures on the province view always.
        let mut c = Candidate::region(x, y, tw + 0.3 * px, 1.25 * px, priority);
        c.required = priority >= 100;
        names.push((text, px, color, c));
    };
    for c in layers.counties.regions().iter().filter(|c| in_view(c)) {
        add(c, 15.0 * unit, LABEL.css(), 50);
    }
    for r in layers.prefectures.regions() {
        if selected == Some(r.adcode.as_str()) {
            continue;
        }
        if selected.is_some() {
            add(r, 15.0 * unit, LABEL_DIM, 20);
        } else {
            add(r, 17.0 * unit, LABEL.css(), 100);
        }
    }
    let candidates: Vec<Candidate> = names.iter().map(|n| n.3.clone()).collect();
    let mut drawn = Vec::new();
    for ((text, px, color, c), at) in names.iter().zip(place(&candidates, marks, w, h, 2.0 * unit)) {
        if let Placement::At { x, y } = at {
            paint_label(ctx, text, x, y, *px, color);
            let area = [x - c.w / 2.0, y - c.h / 2.0, x + c.w / 2.0, y + c.h / 2.0];
            drawn.push(Placed { text: (*text).to_owned(), area });
        }
    }
    drawn
}
