//! Wall widgets for yiping.
//!
//! Design: every widget is a Leptos component that takes reactive inputs (`Signal`s) and owns its
//! DOM for as long as its panel lives; new data updates text and canvases in place and never
//! rebuilds the widget, so a wall left open for weeks does not grow. The numeric and time
//! formatting that figures rely on lives in [`format`] and [`freshness`] as plain functions,
//! tested natively.

pub mod format;
pub mod freshness;

mod kpi;
mod panel;

pub use kpi::Kpi;
pub use panel::Panel;
