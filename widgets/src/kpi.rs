use leptos::prelude::*;

use crate::format::{scale_cn, scale_en};

/// How figures are scaled, provided as context by the page: 万/亿 (default) or K/M/B.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NumberStyle {
    /// 万 and 亿, as Chinese reports write.
    #[default]
    Chinese,
    /// K, M and B, for English walls.
    Western,
}

/// A headline figure: label, value scaled by 万/亿 (or K/M/B, see [`NumberStyle`]), unit, and an
/// optional note line.
///
/// The value updates in place; `None` shows a dash (no data yet), never a made-up zero.
#[component]
pub fn Kpi(
    /// What the figure is.
    #[prop(into)]
    label: Signal<String>,
    /// The value.
    #[prop(into)]
    value: Signal<Option<f64>>,
    /// Unit after the value (e.g. "条", "%").
    #[prop(into)]
    unit: Signal<String>,
    /// Decimals when scaled or fractional.
    #[prop(default = 1)]
    decimals: usize,
    /// A small line under the value.
    #[prop(optional, into)]
    note: Signal<String>,
    /// `data-testid` for tests and automation.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let style = use_context::<NumberStyle>().unwrap_or_default();
    let scaled = move || {
        value.get().map(|v| match style {
            NumberStyle::Chinese => scale_cn(v, decimals),
            NumberStyle::Western => scale_en(v, decimals),
        })
    };
    view! {
        <div class="kpi" data-testid=test_id>
            <div class="kpi-label">{label}</div>
            <div class="kpi-value">
                <span class="kpi-number">{move || scaled().map_or_else(|| "—".to_string(), |s| s.value)}</span>
                <span class="kpi-unit">{move || format!("{}{}", scaled().map_or("", |s| s.unit), unit.get())}</span>
            </div>
            <div class="kpi-note">{note}</div>
        </div>
    }
}
