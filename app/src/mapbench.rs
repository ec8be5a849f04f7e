//! `/mapbench`: the map under load, for the map benchmark (`e2e/bench/map.js`) and for review.
//!
//! It shows the map full screen with a choropleth of all 103 counties and 1,000 **sample**
//! markers (20 of them pulsing alerts) that move every second; the page says the data is sample
//! data. Query parameters:
//! - `full`: every update also invalidates the map's cached tiers, so each frame is a full
//!   redraw (the comparison the benchmark prints);
//! - `markers=N`: how many markers (default 1,000);
//! - `bench=N[&per_frame=K][&more=M]`: the benchmark driver ([`crate::bench`]).
//!
//! The root reports `data-updates`, `data-update-at` (`performance.now()` of the last update)
//! and `data-wasm-bytes`; the map canvas reports `data-frame-at` and its draw statistics.

use std::time::Duration;

use leptos::prelude::*;
use yiping_widgets::NumberStyle;
use yiping_widgets::palette::{self, Colour};

use crate::bench::{Bench, perf_now, query_value, wasm_bytes};
use crate::map::{Choropleth, HubeiMap, Marker};

/// xorshift, for reproducible sample movement.
fn next(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

const COLORS: [Colour; 4] = [palette::GOOD, palette::WARN, palette::ACCENT, palette::SERIES[3]];

#[derive(Debug, Clone)]
struct Load {
    rng: u64,
    anchors: Vec<(f64, f64)>,
    markers: Vec<Marker>,
}

impl Load {
    fn new(counties: &[(String, f64, f64)], n: usize) -> Load {
        let mut rng = 0x2545_f491_4f6c_dd1d;
        let anchors: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let (_, lon, lat) = &counties[i % counties.len()];
                (lon + (next(&mut rng) - 0.5) * 0.25, lat + (next(&mut rng) - 0.5) * 0.2)
            })
            .collect();
        let markers = anchors
            .iter()
            .enumerate()
            .map(|(i, &(lon, lat))| Marker {
                key: format!("P{i:04}"),
                lon,
                lat,
                color: if i < 20 { palette::BAD } else { COLORS[i % COLORS.len()] }.css(),
                label: format!("示例项目 {i:04}"),
                pulse: i < 20,
            })
            .collect();
        Load { rng, anchors, markers }
    }

    /// One update: every marker moves a little around its anchor.
    fn step(&mut self) {
        for (m, a) in self.markers.iter_mut().zip(&self.anchors) {
            m.lon = a.0 + (next(&mut self.rng) - 0.5) * 0.02;
            m.lat = a.1 + (next(&mut self.rng) - 0.5) * 0.02;
        }
    }
}

/// The map benchmark page.
#[component]
pub fn MapBench() -> impl IntoView {
    provide_context(NumberStyle::Chinese);
    let query = crate::page::query();
    let full = query_value(&query, "full").is_some();
    let n: usize = query_value(&query, "markers").and_then(|v| v.parse().ok()).unwrap_or(1000);
    let bench = Bench::from_query(&query);
    let load: RwSignal<Option<Load>> = RwSignal::new(None);
    let choropleth: RwSignal<Option<Choropleth>> = RwSignal::new(None);
    let updates = RwSignal::new(0u64);
    let update_at = RwSignal::new(0.0f64);
    let invalidate = RwSignal::new(0u64);
    let wasm = RwSignal::new(wasm_bytes());
    let update = move || {
        if load.with_untracked(Option::is_none) {
            return;
        }
        load.update(|l| {
            if let Some(l) = l {
                l.step();
            }
        });
        if full {
            invalidate.update(|v| *v += 1);
        }
        updates.update(|u| *u += 1);
        update_at.set(perf_now());
    };
    leptos::task::spawn_local(async move {
        let Ok(pack) = crate::map::map_pack().await else { return };
        let counties = &pack.counties;
        let list: Vec<(String, f64, f64)> =
            counties.iter().map(|c| (c.adcode.clone(), c.label.x, c.label.y)).collect();
        let mut rng = 7u64;
        choropleth.set(Some(Choropleth {
            title: "示例指标 (各县)".into(),
            values: list.iter().map(|c| (c.0.clone(), (next(&mut rng) * 500.0).round())).collect(),
        }));
        load.set(Some(Load::new(&list, n)));
        if let Some(b) = bench {
            b.start(update);
        }
    });
    // Started here, not in the task above (which has no owner to stop it): `update` does
    // nothing until the data is loaded.
    if bench.is_none() {
        crate::timer::every(Duration::from_secs(1), update);
    }
    crate::timer::every(Duration::from_millis(500), move || wasm.set(wasm_bytes()));
    let markers =
        Signal::derive(move || load.with(|l| l.as_ref().map(|l| l.markers.clone()).unwrap_or_default()));
    view! {
        <div
            class="mapbench"
            data-testid="mapbench"
            data-updates=move || updates.get().to_string()
            data-update-at=move || format!("{:.3}", update_at.get())
            data-bench-done=move || bench.is_some_and(|b| b.done(updates.get())).then_some("1")
            data-wasm-bytes=move || format!("{:.0}", wasm.get())
            data-first-marker=move || load.with(|l| l.as_ref().and_then(|l| l.markers.first()).map(|m| format!("{:.6},{:.6}", m.lon, m.lat)))
        >
            <span class="sim-badge mapbench-badge">"示例数据 · sample data"</span>
            {bench.map(|b| b.more_button(update))}
            <HubeiMap overview=RwSignal::new(None) choropleth=choropleth markers=markers invalidate=invalidate no_overview=true />
        </div>
    }
}
