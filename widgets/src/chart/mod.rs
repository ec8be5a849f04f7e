//! The canvas charts (wasm only): plotters drawing on a canvas at device pixels, one retained
//! instance per panel, redrawn at most once per animation frame when data or size changes.

pub mod bars;
mod host;
pub mod pipeline;
pub mod series;
pub mod shares;
pub mod ticker;

pub use bars::{BarItem, CompareItem, Comparison, RankingBars};
pub use pipeline::{Stage, StagePipeline};
pub use series::{ForecastSpec, Sample, TimeSeries};
pub use shares::{Category, Gauge, Ring, ShareGroup, Slice, StackedShares};
pub use ticker::{AlertTicker, TICKER_SLOTS, TickerItem};
