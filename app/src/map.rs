//! The map panel: Hubei's prefectures, rivers and lakes with the monitoring sections (wasm only).
//!
//! Layers are fetched once from the server (`/geo/…`, the copies shipped in `maps/`), parsed once,
//! and kept for the page's life; new data only redraws. The canvas is sized at its CSS size ×
//! devicePixelRatio so it is crisp on any wall. (Layer caching, drill-down and hit-testing are the
//! map engine's next steps.)

use std::sync::{Arc, Mutex};

use geo::MultiPolygon;

use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yiping_maps::data::{ATTRIBUTION, Layer};
use yiping_maps::draw::{paint_dot, paint_label, paint_lines, paint_polygons};
use yiping_maps::region::bbox;
use yiping_maps::topology::Topology;
use yiping_maps::water::{Lake, River, parse_lakes, parse_rivers};
use yiping_maps::{Region, Viewport, parse_regions};
use yiping_protocol::topics::Overview;

use crate::theme::class_color;

/// The parsed layers.
#[derive(Debug)]
pub struct Layers {
    province: Vec<Region>,
    prefectures: Vec<Region>,
    rivers: Vec<River>,
    lakes: Vec<Lake>,
    /// Province and prefectures as shared arcs, simplified per canvas size.
    topology: Topology,
    /// The shapes simplified for the last canvas width: `(width px, province, prefectures)`.
    simplified: Mutex<Option<(u32, Vec<MultiPolygon<f64>>)>>,
}

impl Layers {
    /// Province (index 0) and prefecture shapes simplified to about one device pixel for a
    /// viewport of this scale; recomputed only when the canvas size changes.
    fn shapes(&self, width: u32, vp: &Viewport) -> Vec<MultiPolygon<f64>> {
        let mut cache = self.simplified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((w, shapes)) = cache.as_ref()
            && *w == width
        {
            return shapes.clone();
        }
        // Pixels per degree of longitude (Mercator: 111 319.5 m per degree at any latitude).
        let px_per_degree = vp.scale() * 111_319.49;
        let shapes = self.topology.simplified(0.8 / px_per_degree);
        *cache = Some((width, shapes.clone()));
        shapes
    }
}

async fn fetch_text(path: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(path)).await.map_err(|e| format!("{path}: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| format!("{path}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{path}: HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(|e| format!("{path}: {e:?}"))?)
        .await
        .map_err(|e| format!("{path}: {e:?}"))?;
    text.as_string().ok_or_else(|| format!("{path}: body is not text"))
}

async fn load() -> Result<Layers, String> {
    let get = |l: Layer| async move { fetch_text(&format!("/geo/{}", l.file_name())).await };
    let province = parse_regions(&get(Layer::Province).await?).map_err(|e| e.to_string())?;
    let prefectures = parse_regions(&get(Layer::Prefectures).await?).map_err(|e| e.to_string())?;
    let rivers = parse_rivers(&get(Layer::Rivers).await?).map_err(|e| e.to_string())?;
    let lakes = parse_lakes(&get(Layer::Lakes).await?).map_err(|e| e.to_string())?;
    let all: Vec<Region> = province.iter().chain(&prefectures).cloned().collect();
    let topology = Topology::build(&all);
    Ok(Layers { province, prefectures, rivers, lakes, topology, simplified: Mutex::new(None) })
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

/// The layers that do not change with live data, drawn once per canvas size.
fn draw_static(ctx: &CanvasRenderingContext2d, layers: &Layers, w: f64, h: f64, vp: &Viewport, unit: f64) {
    ctx.clear_rect(0.0, 0.0, w, h);
    // Shapes simplified to about a device pixel, borders still shared between neighbours.
    let shapes = layers.shapes(w as u32, vp);
    let (province, prefectures) = shapes.split_at(layers.province.len());
    // Province: soft glow under the outline.
    ctx.save();
    ctx.set_shadow_color("rgba(0, 190, 255, 0.55)");
    ctx.set_shadow_blur(28.0 * unit);
    for shape in province {
        paint_polygons(ctx, shape, vp, Some("#0b2a4a"), Some(("#37b6ff", 2.6 * unit)));
    }
    ctx.restore();
    for shape in prefectures {
        paint_polygons(ctx, shape, vp, Some("rgba(18, 70, 120, 0.55)"), None);
    }
    for l in &layers.lakes {
        paint_polygons(ctx, &l.shape, vp, Some("#1f6fb2"), Some(("#3c9be0", 0.8 * unit)));
    }
    for r in &layers.rivers {
        let (color, width) = match (r.name.as_deref(), r.rank) {
            (Some("长江"), _) => ("#5cc8ff", 3.2 * unit),
            (Some(_), _) => ("#49aef0", 2.2 * unit),
            (None, 1 | 2) => ("rgba(73, 174, 240, 0.8)", 1.4 * unit),
            _ => ("rgba(73, 174, 240, 0.55)", 0.9 * unit),
        };
        paint_lines(ctx, &r.shape, vp, color, width);
    }
    for shape in prefectures {
        paint_polygons(ctx, shape, vp, None, Some(("rgba(140, 210, 255, 0.75)", 1.1 * unit)));
    }
    for r in &layers.prefectures {
        let (x, y) = vp.to_screen(r.label.x, r.label.y);
        // The smallest units (鄂州, 仙桃, 潜江, 天门) get a smaller label so neighbours stay apart.
        let small = matches!(r.adcode.as_str(), "420700" | "429004" | "429005" | "429006");
        paint_label(ctx, &r.short_name, x, y, if small { 13.0 } else { 17.0 } * unit, "#e6f4ff");
    }
    ctx.set_font(&format!("{:.0}px sans-serif", 11.0 * unit));
    ctx.set_text_align("right");
    ctx.set_text_baseline("bottom");
    ctx.set_fill_style_str("rgba(170, 200, 230, 0.6)");
    let _ = ctx.fill_text(ATTRIBUTION, w - 8.0 * unit, h - 6.0 * unit);
}

/// Draw the map: the static layers from their cache (re-rendered only when the size changed),
/// then the live layers. Returns whether the static layers were re-rendered.
fn draw(
    canvas: &HtmlCanvasElement,
    cache: &HtmlCanvasElement,
    layers: &Layers,
    overview: Option<&Overview>,
) -> bool {
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let (css_w, css_h) = (f64::from(canvas.client_width()), f64::from(canvas.client_height()));
    if css_w < 1.0 || css_h < 1.0 {
        return false;
    }
    let (w, h) = ((css_w * dpr).round(), (css_h * dpr).round());
    if f64::from(canvas.width()) != w || f64::from(canvas.height()) != h {
        canvas.set_width(w as u32);
        canvas.set_height(h as u32);
    }
    let (Some(ctx), Some(b)) = (context(canvas), bbox(&layers.province)) else {
        return false;
    };
    // Text and strokes scale with the panel, so the map reads the same from across the room on a
    // 1080p screen and on a 2160p wall.
    let unit = (w.min(h * 1.6) / 900.0).max(0.5);
    let vp = Viewport::fit(b, w, h, 24.0 * unit);
    let mut redrawn = false;
    if f64::from(cache.width()) != w || f64::from(cache.height()) != h {
        cache.set_width(w as u32);
        cache.set_height(h as u32);
        if let Some(cctx) = context(cache) {
            draw_static(&cctx, layers, w, h, &vp, unit);
            redrawn = true;
        }
    }
    ctx.clear_rect(0.0, 0.0, w, h);
    let _ = ctx.draw_image_with_html_canvas_element(cache, 0.0, 0.0);
    if let Some(o) = overview {
        for s in &o.sections {
            let (x, y) = vp.to_screen(s.lon, s.lat);
            let color = s.class.map_or("#7f8c9a", class_color);
            paint_dot(&ctx, x, y, 5.5 * unit, color, "rgba(255,255,255,0.9)");
        }
    }
    redrawn
}

/// The map of Hubei with the monitoring sections coloured by their latest class.
#[component]
pub fn HubeiMap(
    /// The overview whose sections are drawn.
    overview: RwSignal<Option<Overview>>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let layers: RwSignal<Option<Arc<Layers>>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let resized = RwSignal::new(0u32);
    let draws = RwSignal::new(0u32);
    let static_draws = RwSignal::new(0u32);
    // The static layers' cache: an off-screen canvas kept for the component's life.
    let cache: Option<HtmlCanvasElement> = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok());
    leptos::task::spawn_local(async move {
        match load().await {
            Ok(l) => layers.set(Some(Arc::new(l))),
            Err(e) => error.set(Some(e)),
        }
    });
    let listener = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || listener.remove());
    Effect::new(move |_| {
        resized.track();
        let Some(l) = layers.get() else { return };
        let Some(c) = canvas.get() else { return };
        let Some(cache) = cache.as_ref() else { return };
        if overview.with(|o| draw(&c, cache, &l, o.as_ref())) {
            static_draws.update(|n| *n += 1);
        }
        draws.update(|n| *n += 1);
    });
    view! {
        <div class="map-wrap">
            <canvas class="map-canvas" node_ref=canvas data-testid="map" data-draws=move || draws.get().to_string()
                data-static-draws=move || static_draws.get().to_string()></canvas>
            {move || error.get().map(|e| view! { <div class="map-error" role="alert">{format!("地图数据加载失败 / map data failed to load: {e}")}</div> })}
        </div>
    }
}
