//! Colours with meaning on the wall.

use yiping_protocol::water::WaterClass;
use yiping_widgets::palette::WATER_CLASSES;

/// The conventional colour of a water-quality class in Chinese bulletins (blue/cyan/green for
/// Ⅰ–Ⅲ, yellow, orange, red for Ⅳ, Ⅴ, 劣Ⅴ).
pub fn class_color(c: WaterClass) -> &'static str {
    WATER_CLASSES[c as usize].css()
}
