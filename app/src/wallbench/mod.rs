//! `/wallbench`: the fixed wall workload of `../shared/WALLBENCH.md`, drawn by the product's own
//! map engine and widgets, so the peer's driver (`../shared/peers/echarts/measure.mjs`) measures
//! yiping's wall and the ECharts wall the same way.
//!
//! [`workload`] is the data (plain Rust, tested against the spec's JavaScript); `page` (wasm) lays
//! it out as the spec says and implements the page contract: `window.wall.ready`,
//! `window.wall.update()`, `?auto=0`, `?seed=`, `window.wall.info`, `window.wall.timings` and
//! `window.wall.memoryBytes()`.

pub mod workload;

#[cfg(target_arch = "wasm32")]
pub mod page;
#[cfg(target_arch = "wasm32")]
pub use page::WallBench;
