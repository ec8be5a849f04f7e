//! Moving the map by hand (wheel, drag, pinch, keys), identifying what is under a pointer, and
//! drilling down with a tap. Each move cancels a fly-to.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use yiping_maps::Viewport;
use yiping_maps::camera::{clamp_box, pan_box, zoom_box};

use super::MapPick;
use super::live::{Inputs, Render, current_frame, now_ms};
use super::tiers::Frame;

/// Pointers down on the canvas (mouse, pen, fingers) and whether this gesture moved the map.
#[derive(Debug, Default)]
struct Gesture {
    pointers: HashMap<i32, (f64, f64)>,
    moved: f64,
}

/// The tooltip: where (CSS pixels in the map) and what.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tip {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) pick: MapPick,
}

/// A move ends a tap: pointers that travelled this far (CSS pixels) moved the map.
const TAP_SLOP: f64 = 6.0;

fn dpr() -> f64 {
    web_sys::window().map_or(1.0, |w| w.device_pixel_ratio())
}

/// What the map's handlers share.
#[derive(Clone)]
pub(super) struct Hands {
    inputs: Inputs,
    render: Rc<RefCell<Render>>,
    generation: Rc<Cell<u32>>,
    gesture: Rc<RefCell<Gesture>>,
    tip: RwSignal<Option<Tip>>,
    on_pick: Option<Callback<MapPick>>,
    reserve_right: f64,
}

impl Hands {
    /// Handlers over the map's inputs and render state; `generation` numbers moves (a newer one
    /// cancels a fly-to); `tip` is the tooltip shown.
    pub(super) fn new(
        inputs: Inputs,
        render: Rc<RefCell<Render>>,
        generation: Rc<Cell<u32>>,
        tip: RwSignal<Option<Tip>>,
        on_pick: Option<Callback<MapPick>>,
        reserve_right: f64,
    ) -> Hands {
        Hands { inputs, render, generation, gesture: Rc::default(), tip, on_pick, reserve_right }
    }

    /// Move the view by `op` (of the box shown and the frame), kept within the province.
    fn move_view(&self, op: &dyn Fn([f64; 4], &Frame) -> [f64; 4]) {
        let Some((_, l, f, _)) = current_frame(self.inputs) else { return };
        let Some(limit) = l.province_box() else { return };
        self.generation.set(self.generation.get().wrapping_add(1));
        self.render.borrow_mut().moving_until = now_ms() + 250.0;
        let moved = clamp_box(op(f.bbox, &f), limit, 0.03, 1.6);
        self.inputs.shown.set(Some(moved));
        self.inputs.camera.set(Some(moved));
        self.tip.set(None);
    }

    /// What is under a point (CSS pixels): live features first (the topmost, so alerts over
    /// clusters), then counties, then prefectures.
    fn identify(&self, x: f64, y: f64) -> Option<MapPick> {
        let (px, py) = (x * dpr(), y * dpr());
        if let Some(h) = self.render.borrow().hits.iter().rev().find(|h| (h.x - px).hypot(h.y - py) <= h.r) {
            return Some(h.pick.clone());
        }
        let (_, l, f, _) = current_frame(self.inputs)?;
        let (lon, lat) = f.viewport().to_lonlat(px, py);
        let choropleth = self.inputs.choropleth;
        let value =
            |a: &str| choropleth.with_untracked(|c| c.as_ref().and_then(|c| c.values.get(a).copied()));
        if let Some(c) = l.counties.at(lon, lat) {
            let parent =
                c.parent.as_deref().and_then(|p| l.prefecture(p)).map(|p| p.name.clone()).unwrap_or_default();
            return Some(MapPick {
                kind: "county",
                key: c.adcode.clone(),
                label: format!("{parent} · {}", c.name),
                value: value(&c.adcode).or_else(|| c.parent.as_deref().and_then(value)),
            });
        }
        l.prefectures.at(lon, lat).map(|p| MapPick {
            kind: "prefecture",
            key: p.adcode.clone(),
            label: p.name.clone(),
            value: value(&p.adcode),
        })
    }

    /// The wheel zooms about the pointer.
    pub(super) fn wheel(&self, e: leptos::ev::WheelEvent) {
        e.prevent_default();
        let (x, y) = (f64::from(e.offset_x()) * dpr(), f64::from(e.offset_y()) * dpr());
        let k = (-e.delta_y() * 0.0015).exp().clamp(0.5, 2.0);
        self.move_view(&|b, f| {
            let (lon, lat) = f.viewport().to_lonlat(x, y);
            zoom_box(b, lon, lat, k)
        });
    }

    /// A pointer goes down: a gesture starts (or gains a finger).
    pub(super) fn down(&self, e: leptos::ev::PointerEvent) {
        let mut g = self.gesture.borrow_mut();
        if g.pointers.is_empty() {
            g.moved = 0.0;
        }
        g.pointers.insert(e.pointer_id(), (f64::from(e.offset_x()), f64::from(e.offset_y())));
        if let Some(c) = self.inputs.canvas.get_untracked() {
            let _ = c.set_pointer_capture(e.pointer_id());
        }
    }

    /// A pointer moves: hover identifies (a mouse with no button down); one pointer down drags,
    /// two pinch (scale about their midpoint, and follow it).
    pub(super) fn moved(&self, e: leptos::ev::PointerEvent) {
        let (x, y) = (f64::from(e.offset_x()), f64::from(e.offset_y()));
        let mut g = self.gesture.borrow_mut();
        let Some(&(ox, oy)) = g.pointers.get(&e.pointer_id()) else {
            if e.pointer_type() == "mouse" {
                drop(g);
                let pick = self.identify(x, y);
                self.tip.set(pick.map(|pick| Tip { x, y, pick }));
            }
            return;
        };
        let before: Vec<(f64, f64)> = g.pointers.values().copied().collect();
        g.pointers.insert(e.pointer_id(), (x, y));
        let after: Vec<(f64, f64)> = g.pointers.values().copied().collect();
        g.moved += (x - ox).hypot(y - oy);
        if g.moved < TAP_SLOP {
            return;
        }
        drop(g);
        let d = dpr();
        if let ([a0, b0], [a1, b1]) = (&before[..], &after[..]) {
            let k = (a1.0 - b1.0).hypot(a1.1 - b1.1) / (a0.0 - b0.0).hypot(a0.1 - b0.1).max(1.0);
            let (m0, m1) =
                (((a0.0 + b0.0) / 2.0, (a0.1 + b0.1) / 2.0), ((a1.0 + b1.0) / 2.0, (a1.1 + b1.1) / 2.0));
            self.move_view(&|b, f| {
                let (lon, lat) = f.viewport().to_lonlat(m0.0 * d, m0.1 * d);
                let zoomed = zoom_box(b, lon, lat, k);
                let s = Viewport::fit(zoomed, f.w, f.h, 24.0 * f.unit()).scale();
                pan_box(zoomed, (m1.0 - m0.0) * d, (m1.1 - m0.1) * d, s)
            });
        } else if before.len() == 1 {
            self.move_view(&|b, f| pan_box(b, (x - ox) * d, (y - oy) * d, f.viewport().scale()));
        }
    }

    /// A pointer goes up. A tap identifies what is under it (reported to the page); a tap on a
    /// region drills: in a prefecture's view to one of its counties (the third level), elsewhere
    /// to the prefecture under it.
    pub(super) fn up(&self, e: leptos::ev::PointerEvent) {
        let (removed, moved, rest) = {
            let mut g = self.gesture.borrow_mut();
            let removed = g.pointers.remove(&e.pointer_id()).is_some();
            (removed, g.moved, g.pointers.len())
        };
        if !removed || moved >= TAP_SLOP || rest > 0 {
            return;
        }
        let (x, y) = (f64::from(e.offset_x()), f64::from(e.offset_y()));
        let pick = self.identify(x, y);
        if let (Some(cb), Some(p)) = (self.on_pick, pick.clone()) {
            cb.run(p);
        }
        let live = pick.as_ref().is_some_and(|p| matches!(p.kind, "marker" | "cluster" | "section"));
        self.tip.set(pick.clone().filter(|_| live).map(|pick| Tip { x, y, pick }));
        if live {
            return;
        }
        let Some((_, l, f, _)) = current_frame(self.inputs) else { return };
        let (lon, lat) = f.viewport().to_lonlat(x * dpr(), y * dpr());
        let view = self.inputs.view;
        let current = view.get_untracked();
        let shown = l.prefecture_of_view(current.as_deref()).map(str::to_owned);
        let county = l.counties.at(lon, lat).filter(|c| shown.is_some() && c.parent == shown);
        let hit = match county {
            Some(c) => Some(c.adcode.clone()),
            None => l.prefectures.at(lon, lat).map(|r| r.adcode.clone()),
        };
        if hit != current {
            view.set(hit);
        }
    }

    /// A pointer is cancelled (the system took it).
    pub(super) fn cancel(&self, e: leptos::ev::PointerEvent) {
        self.gesture.borrow_mut().pointers.remove(&e.pointer_id());
    }

    /// Keys: arrows pan, + and - zoom about the centre, 0 or Home frame the view again.
    pub(super) fn key(&self, e: leptos::ev::KeyboardEvent) {
        let step = 0.12;
        match e.key().as_str() {
            "ArrowLeft" => self.move_view(&|b, f| pan_box(b, f.w * step, 0.0, f.viewport().scale())),
            "ArrowRight" => self.move_view(&|b, f| pan_box(b, -f.w * step, 0.0, f.viewport().scale())),
            "ArrowUp" => self.move_view(&|b, f| pan_box(b, 0.0, f.h * step, f.viewport().scale())),
            "ArrowDown" => self.move_view(&|b, f| pan_box(b, 0.0, -f.h * step, f.viewport().scale())),
            "+" | "=" => self.move_view(&|b, f| {
                let (lon, lat) = f.viewport().to_lonlat(f.w / 2.0, f.h / 2.0);
                zoom_box(b, lon, lat, 1.4)
            }),
            "-" | "_" => self.move_view(&|b, f| {
                let (lon, lat) = f.viewport().to_lonlat(f.w / 2.0, f.h / 2.0);
                zoom_box(b, lon, lat, 1.0 / 1.4)
            }),
            "0" | "Home" => {
                let (layers, view) = (self.inputs.layers, self.inputs.view);
                if let Some(b) = layers
                    .get_untracked()
                    .and_then(|l| l.view_box(view.get_untracked().as_deref(), self.reserve_right))
                {
                    self.inputs.shown.set(Some(b));
                }
            }
            _ => return,
        }
        e.prevent_default();
    }
}
