//! Live time series with a sliding window and an optional forecast band.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::host::{Drawn, HPos, Surface, VPos, chart_canvas, px, rgb, text};
use crate::forecast::holt;
use crate::format::{NumberStyle, scaled_text, shanghai_hms};
use crate::layout::{Area, Hit, Pick, Window};
use crate::palette::{DIM, GRID, SERIES, TEXT};
use crate::scale::{distinct_decimals, nice_ticks, time_label};

/// How the forecast is made and shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSpec {
    /// Steps ahead, each one resampling step long.
    pub steps: usize,
    /// Resampling steps over the window (Holt's method assumes a regular period).
    pub resample: usize,
    /// Width of the interval in standard deviations (1.96: 95 %).
    pub z: f64,
    /// The legend's words for the forecast, e.g. "趋势预判 (Holt, 95%)".
    pub label: String,
}

/// One sample: time (epoch ms) and one value per series.
pub type Sample = (f64, Vec<f64>);

/// A live time series: each new sample (time in epoch ms, one value per series) is appended to a
/// sliding window of `span_ms` kept inside the widget, so the chart never re-creates and never
/// grows past `capacity` points per series. With `forecast`, the first series is extended by
/// Holt's linear trend (smoothing weights fitted by least squares over a grid) with its
/// prediction interval drawn as a band — a trend indication, not a promise.
///
/// A touch near a point reports it: series name, time (key, epoch ms) and value.
#[component]
pub fn TimeSeries(
    /// Chart title for assistive technology.
    #[prop(into)]
    label: Signal<String>,
    /// Series names, in legend order.
    #[prop(into)]
    names: Signal<Vec<String>>,
    /// The newest sample: time (epoch ms) and one value per series (`NaN` for a gap).
    #[prop(into)]
    latest: Signal<Option<(f64, Vec<f64>)>>,
    /// Time kept on screen, ms.
    span_ms: f64,
    /// Unit printed on the axis.
    #[prop(optional, into)]
    unit: Signal<String>,
    /// Decimals of axis labels.
    #[prop(default = 0)]
    decimals: usize,
    /// Most points kept per series.
    #[prop(default = 2000)]
    capacity: usize,
    /// Forecast band for the first series.
    #[prop(optional)]
    forecast: Option<ForecastSpec>,
    /// Fill the area under each line (translucent), as an area chart.
    #[prop(optional)]
    fill: bool,
    /// A whole history (time, one value per series), e.g. fetched on opening or on choosing
    /// another subject: when it changes the windows start over from it, and `latest` appends.
    #[prop(optional, into)]
    history: Option<Signal<Vec<Sample>>>,
    /// Reported on touch.
    #[prop(optional)]
    on_pick: Option<Callback<Pick>>,
    /// `data-testid`.
    #[prop(optional)]
    test_id: &'static str,
) -> impl IntoView {
    let style = use_context::<NumberStyle>().unwrap_or_default();
    // The windows belong to the widget: samples are appended as they arrive (even several
    // between two frames), frames only read them.
    let windows: Rc<RefCell<Vec<Window>>> = Rc::default();
    let mut last_seen: Option<f64> = None;
    // What the last history looked like (length, first and last time): a different one restarts.
    let mut last_history: Option<(usize, f64, f64)> = None;
    let w = windows.clone();
    let track = move || {
        names.track();
        unit.track();
        if let Some(h) = history {
            h.with(|h| {
                let mark = (h.len(), h.first().map_or(f64::NAN, |p| p.0), h.last().map_or(f64::NAN, |p| p.0));
                let same = last_history.is_some_and(|m| {
                    m.0 == mark.0 && m.1.to_bits() == mark.1.to_bits() && m.2.to_bits() == mark.2.to_bits()
                });
                if !same {
                    last_history = Some(mark);
                    let mut windows = w.borrow_mut();
                    windows.clear();
                    last_seen = None;
                    for (t, values) in h {
                        if windows.len() < values.len() {
                            windows.resize_with(values.len(), || Window::new(span_ms, capacity));
                        }
                        for (w, v) in windows.iter_mut().zip(values) {
                            w.push(*t, *v);
                        }
                        last_seen = Some(*t);
                    }
                }
            });
        }
        if let Some((t, values)) = latest.get()
            && last_seen.is_none_or(|l| t > l)
        {
            last_seen = Some(t);
            let mut windows = w.borrow_mut();
            if windows.len() < values.len() {
                windows.resize_with(values.len(), || Window::new(span_ms, capacity));
            }
            for (w, v) in windows.iter_mut().zip(values) {
                w.push(t, v);
            }
        }
    };
    let paint = move |s: &Surface| -> Drawn {
        let look = Look { unit: &unit.get_untracked(), decimals, style, fill };
        draw(s, &windows.borrow(), &names.get_untracked(), &look, forecast.as_ref())
    };
    chart_canvas("series", label, test_id, track, paint, on_pick)
}

/// How the series are drawn: the value axis's unit and decimals, the number style, and whether
/// the area under each line is filled.
struct Look<'a> {
    unit: &'a str,
    decimals: usize,
    style: NumberStyle,
    fill: bool,
}

fn draw(
    s: &Surface,
    windows: &[Window],
    names: &[String],
    look: &Look<'_>,
    forecast: Option<&ForecastSpec>,
) -> Drawn {
    let Look { unit, decimals, style, fill } = *look;
    let mut drawn = Drawn::default();
    let rem = s.rem;
    let small = 0.85 * rem;
    let (left, right, top, bottom) = (4.2 * rem, 1.0 * rem, 2.0 * rem, 1.8 * rem);
    let (pw, ph) = (s.w - left - right, s.h - top - bottom);
    if pw < 10.0 || ph < 10.0 {
        return drawn;
    }
    // The forecast of the first series. A series that is never negative (a concentration, a
    // count) gets no band below zero.
    let fc =
        forecast.and_then(|spec| {
            let (step, samples) = windows.first()?.resample(spec.resample)?;
            let values: Vec<f64> = samples.iter().map(|p| p.1).collect();
            let f = holt(&values, spec.steps, spec.z)?;
            let (t_last, v_last) = *samples.last()?;
            let floor = if values.iter().all(|v| *v >= 0.0) { 0.0 } else { f64::NEG_INFINITY };
            let mut band = vec![(t_last, v_last, v_last, v_last)];
            band.extend(f.points.iter().map(|p| {
                (t_last + step * p.h as f64, p.value.max(floor), p.low.max(floor), p.high.max(floor))
            }));
            Some((spec, band))
        });
    let mut t_max = windows.iter().filter_map(|w| w.points().last().map(|p| p.0)).fold(f64::NAN, f64::max);
    if let Some((_, band)) = &fc
        && let Some(b) = band.last()
    {
        t_max = t_max.max(b.0);
    }
    let t_min = windows.iter().filter_map(|w| w.points().next().map(|p| p.0)).fold(f64::NAN, f64::min);
    // Legend (also when empty, so the reader knows what will come).
    let mut lx = left;
    for (i, name) in names.iter().enumerate() {
        let c = SERIES[i % SERIES.len()];
        let _ = s.root.draw(&Rectangle::new(
            [px(lx, top * 0.45 - 0.15 * rem), px(lx + 1.2 * rem, top * 0.45 + 0.15 * rem)],
            rgb(c).filled(),
        ));
        let _ = s.root.draw(&Text::new(
            name.clone(),
            px(lx + 1.5 * rem, top * 0.45),
            text(small, TEXT, HPos::Left, VPos::Center),
        ));
        lx += 2.2 * rem + small * name.chars().count() as f64 * 1.05;
    }
    if let Some((spec, _)) = &fc {
        let _ = s.root.draw(&Rectangle::new(
            [px(lx, top * 0.45 - 0.4 * rem), px(lx + 1.2 * rem, top * 0.45 + 0.4 * rem)],
            rgb(SERIES[0]).mix(0.25).filled(),
        ));
        let _ = s.root.draw(&Text::new(
            spec.label.clone(),
            px(lx + 1.5 * rem, top * 0.45),
            text(small, DIM, HPos::Left, VPos::Center),
        ));
    }
    if !t_min.is_finite() || !t_max.is_finite() {
        return drawn;
    }
    let t_max = if t_max > t_min { t_max } else { t_min + 1.0 };
    // Value range over all series and the band, with nice ticks.
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for w in windows {
        for p in w.points() {
            lo = lo.min(p.1);
            hi = hi.max(p.1);
        }
    }
    if let Some((_, band)) = &fc {
        for b in band {
            lo = lo.min(b.2);
            hi = hi.max(b.3);
        }
    }
    if !lo.is_finite() {
        return drawn;
    }
    if hi - lo < 1e-9 {
        // Flat data: a band of ±1 % around it (at least ±1), so the axis has room and meaning.
        let pad = (hi.abs() * 0.01).max(1.0);
        hi += pad;
        lo -= pad;
    }
    let ticks = nice_ticks(lo, hi, 5);
    // Enough decimals that no two value labels read the same.
    let decimals = distinct_decimals(&ticks, decimals, style);
    let (y0, y1) =
        (ticks.first().copied().unwrap_or(lo).min(lo), ticks.last().copied().unwrap_or(hi).max(hi));
    let area = s.root.apply_coord_spec(Cartesian2d::<RangedCoordf64, RangedCoordf64>::new(
        t_min..t_max,
        y0..y1,
        // y grows upwards: the value range maps from the bottom pixel to the top one.
        ((left as i32)..((left + pw) as i32), ((top + ph) as i32)..(top as i32)),
    ));
    let to_px =
        |t: f64, v: f64| (left + (t - t_min) / (t_max - t_min) * pw, top + ph - (v - y0) / (y1 - y0) * ph);
    // Grid and value axis.
    for v in &ticks {
        let (_, y) = to_px(t_min, *v);
        let _ =
            s.root.draw(&PathElement::new(vec![px(left, y), px(left + pw, y)], rgb(GRID).stroke_width(1)));
        let _ = s.root.draw(&Text::new(
            scaled_text(*v, decimals, style),
            px(left - 0.5 * rem, y),
            text(small, DIM, HPos::Right, VPos::Center),
        ));
    }
    if !unit.is_empty() {
        let _ = s.root.draw(&Text::new(
            unit.to_string(),
            px(left - 0.5 * rem, top - 0.6 * rem),
            text(small, DIM, HPos::Right, VPos::Bottom),
        ));
    }
    // Time axis: up to five labels in Asia/Shanghai, as many as fit side by side with a gap, none
    // repeated; where not even the first and the last fit, the last (newest) alone.
    let label_w = time_label(t_max, t_max - t_min).chars().count() as f64 * 0.62 * small;
    let n = if pw < 2.3 * label_w { 0 } else { ((pw / (1.6 * label_w)).floor() as u32).clamp(1, 5) };
    let mut previous = String::new();
    for i in 0..=n {
        let t = if n == 0 { t_max } else { t_min + (t_max - t_min) * f64::from(i) / f64::from(n) };
        let (x, _) = to_px(t, y0);
        let h = if i == n {
            HPos::Right
        } else if i == 0 {
            HPos::Left
        } else {
            HPos::Center
        };
        let label = time_label(t, t_max - t_min);
        if label == previous {
            continue;
        }
        previous.clone_from(&label);
        let _ = s.root.draw(&Text::new(label, px(x, top + ph + 0.4 * rem), text(small, DIM, h, VPos::Top)));
    }
    // The forecast band and line.
    if let Some((_, band)) = &fc {
        let mut poly: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.3)).collect();
        poly.extend(band.iter().rev().map(|b| (b.0, b.2)));
        let _ = area.draw(&Polygon::new(poly, rgb(SERIES[0]).mix(0.22).filled()));
        let line: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.1)).collect();
        let _ = area.draw(&PathElement::new(
            line,
            rgb(SERIES[0]).mix(0.8).stroke_width((0.12 * rem).max(1.0) as u32),
        ));
    }
    // The series.
    let stroke = (0.16 * rem).max(1.5) as u32;
    let r = 0.9 * rem;
    for (i, w) in windows.iter().enumerate() {
        let c = SERIES[i % SERIES.len()];
        let pts: Vec<(f64, f64)> = w.points().copied().collect();
        if fill && let (Some(&(first, _)), Some(&(last, _))) = (pts.first(), pts.last()) {
            let under = pts.iter().copied().chain([(last, y0), (first, y0)]).filter(|p| p.1.is_finite());
            let _ = area.draw(&Polygon::new(under.collect::<Vec<_>>(), rgb(c).mix(0.18).filled()));
        }
        let _ = area.draw(&PathElement::new(pts.clone(), rgb(c).stroke_width(stroke)));
        if let Some(&(t, v)) = pts.last() {
            let (x, y) = to_px(t, v);
            let _ = s.root.draw(&Circle::new(px(x, y), (0.3 * rem) as i32, rgb(c).filled()));
        }
        let name = names.get(i).cloned().unwrap_or_default();
        drawn.hits.extend(pts.iter().map(|&(t, v)| {
            let (x, y) = to_px(t, v);
            Hit {
                area: Area::Rect { x: x - r, y: y - r, w: 2.0 * r, h: 2.0 * r },
                pick: Pick {
                    widget: "series",
                    series: name.clone(),
                    key: format!("{t:.0}"),
                    label: shanghai_hms(t),
                    value: v,
                },
            }
        }));
    }
    drawn
}
