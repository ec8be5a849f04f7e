//! Colours with meaning on the wall.

use yiping_protocol::water::WaterClass;

/// The conventional colour of a water-quality class in Chinese bulletins (blue/cyan/green for
/// Ⅰ–Ⅲ, yellow, orange, red for Ⅳ, Ⅴ, 劣Ⅴ).
pub fn class_color(c: WaterClass) -> &'static str {
    match c {
        WaterClass::I => "#3fa7ff",
        WaterClass::II => "#22c7c7",
        WaterClass::III => "#4cd964",
        WaterClass::IV => "#ffd60a",
        WaterClass::V => "#ff9f0a",
        WaterClass::WorseThanV => "#ff453a",
    }
}
