//! Wall widgets for yiping.
//!
//! Design: every widget is a Leptos component that takes reactive inputs (`Signal`s) and owns its
//! DOM for as long as its panel lives; new data updates text and canvases in place and never
//! rebuilds the widget, so a wall left open for weeks does not grow.
//!
//! - Charts ([`chart`], wasm only) draw with `plotters` on a canvas sized at CSS size ×
//!   devicePixelRatio, with text sized from the page's CSS `rem` so they scale with the wall. A
//!   data change schedules one redraw on the next animation frame (several changes between two
//!   frames cost one draw); animations (a ranking reordering) ask for further frames only while
//!   they move. Every figure drawn registers its area, and a touch reports a [`layout::Pick`]
//!   (widget, series, key, label, value) so a screen can open the records behind it.
//! - The maths that figures rely on is plain Rust, tested natively: number and time formatting
//!   ([`format`]), staleness ([`freshness`]), axis ticks ([`scale`]), trend prediction with an
//!   interval ([`forecast`]), and chart geometry and state ([`layout`]: shares that add up to
//!   100 %, ring sectors, hit areas, animated ranking, sliding windows, period change).

#[cfg(target_arch = "wasm32")]
pub mod chart;
pub mod forecast;
pub mod format;
pub mod freshness;
pub mod layout;
#[cfg(target_arch = "wasm32")]
pub mod observe;
pub mod palette;
pub mod scale;

pub mod kpi;
pub mod panel;

pub use format::NumberStyle;
pub use kpi::Kpi;
pub use panel::Panel;
