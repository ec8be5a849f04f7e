//! Wall widgets for yiping.
//!
//! Design: every widget is a Leptos component that takes reactive inputs (`Signal`s) and owns its
//! DOM for as long as its panel lives; new data updates text and canvases in place and never
//! rebuilds the widget, so a wall left open for weeks does not grow. The maths that figures rely
//! on is plain Rust, tested natively: number and time formatting ([`format`]), staleness
//! ([`freshness`]), axis ticks ([`scale`]) and trend prediction with an interval ([`forecast`]).

pub mod forecast;
pub mod format;
pub mod freshness;
pub mod scale;

mod kpi;
mod panel;

pub use kpi::{Kpi, NumberStyle};
pub use panel::Panel;
