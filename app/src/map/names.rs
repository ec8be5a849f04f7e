//! Region names, placed in every frame clear of each other and of the live tier's marks
//! (markers, clusters, sections, alerts' dots: [`super::live::LiveLayout::marks`]), and drawn
//! between the static tiers and the live tier.
//!
//! Names used to be drawn with the top tier, which is redrawn only when the view changes: they
//! kept clear of the sections, whose places are fixed, but live markers and alerts came and went
//! over them (an alert's dot on the 天 of 天门). Placed in each frame, a name steps aside (above,
//! below, beside its label point: [`Candidate::region`]) for the marks of that frame. A name the
//! map must show (a prefecture's on the province view) that finds no free place takes the one
//! least covered, under the marks, which are the data. A name sits on its label point whenever
//! that is free; otherwise it keeps the place it had in the last frame while that stays free,
//! so names do not hop about as markers move ([`Memory`]).
//!
//! Cost: each text is measured once; placing 20–30 names among a few hundred marks is an R-tree
//! search of well under a millisecond; each is drawn once (a halo stroked along its glyphs and
//! the glyphs filled) and then copied into every frame ([`LabelSprites`]).

use std::collections::HashMap;

use web_sys::CanvasRenderingContext2d;
use yiping_maps::Region;
use yiping_maps::draw::{LabelSprites, label_font};
use yiping_maps::labels::{Candidate, Obstacle, Placement, place};
use yiping_widgets::palette::map::{LABEL, LABEL_DIM};

use super::layers::Layers;
use super::tiers::Frame;

/// What the names remember between frames: their texts' widths (measured once, by font size and
/// text), where each region's name went last ([`Candidate::prefer`]) and each name's drawing
/// ([`LabelSprites`]: rendered once, copied into each frame).
#[derive(Debug, Default)]
pub(super) struct Memory {
    widths: HashMap<u32, HashMap<String, f64>>,
    last: HashMap<String, usize>,
    sprites: LabelSprites,
}

impl Memory {
    /// The width of `text` at `px` (a whole number of pixels, as the font is set).
    fn width(&mut self, ctx: &CanvasRenderingContext2d, text: &str, px: f64) -> f64 {
        let by_text = self.widths.entry(px as u32).or_default();
        if let Some(w) = by_text.get(text) {
            return *w;
        }
        ctx.set_font(&label_font(px));
        let w = ctx.measure_text(text).map_or(px * text.chars().count() as f64, |m| m.width());
        by_text.insert(text.to_owned(), w);
        w
    }
}

/// A name drawn in a frame: its region, the text drawn and its box (device pixels).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Placed {
    pub(super) adcode: String,
    /// The region's full name.
    pub(super) name: String,
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
    memory: &mut Memory,
) -> Vec<Placed> {
    let (w, h, unit) = (f.w, f.h, f.unit());
    let vp = f.viewport();
    let selected = layers.prefecture_of_view(f.view.as_deref());
    let mut regions: Vec<(&'a Region, f64, &'static str)> = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut add = |r: &'a Region, size: f64, color: &'static str, priority: i32| {
        let px = (size * unit).round();
        let tw = memory.width(ctx, &r.short_name, px);
        let (x, y) = vp.to_screen(r.label.x, r.label.y);
        // Counties (dense in city centres) and neighbours are shown where there is room; the
        // prefectures on the province view always.
        let mut c = Candidate::region(x, y, tw + 0.3 * px, 1.25 * px, priority);
        c.required = priority >= 100;
        c.prefer = memory.last.get(&r.adcode).copied();
        candidates.push(c);
        regions.push((r, px, color));
    };
    for (_, c) in selected.into_iter().flat_map(|p| layers.counties_of(p)) {
        add(c, 15.0, LABEL.css(), 50);
    }
    for r in layers.prefectures.regions() {
        if selected == Some(r.adcode.as_str()) {
            continue;
        }
        let (size, color, priority) =
            if selected.is_some() { (15.0, LABEL_DIM, 20) } else { (17.0, LABEL.css(), 100) };
        add(r, size, color, priority);
    }
    let mut drawn = Vec::new();
    let placed = place(&candidates, marks, w, h, 2.0 * unit);
    for (((r, px, color), c), at) in regions.into_iter().zip(&candidates).zip(placed) {
        let Placement::At { x, y, offset } = at else {
            memory.last.remove(&r.adcode);
            continue;
        };
        memory.sprites.paint(ctx, &r.short_name, x, y, px, color);
        memory.last.insert(r.adcode.clone(), offset);
        drawn.push(Placed {
            adcode: r.adcode.clone(),
            name: r.name.clone(),
            text: r.short_name.clone(),
            area: [x - c.w / 2.0, y - c.h / 2.0, x + c.w / 2.0, y + c.h / 2.0],
        });
    }
    drawn
}
