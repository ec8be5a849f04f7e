//! The HTTP surface: the wall app, `/healthz`, `/api/v1/topics`, `/geo/*`, and `/ws`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use tower_http::compression::CompressionLayer;
use yiping_maps::data::Layer;
use yiping_protocol::PROTOCOL_VERSION;

use crate::AppState;
use crate::error::AppError;

/// The built wall app (Trunk's `dist/`). A release build embeds the files; a debug build reads
/// them from the folder at run time. When the app was not built, `/` says how to build it.
#[derive(RustEmbed)]
#[folder = "../dist"]
#[allow_missing = true]
struct AppAssets;

/// The router of the whole server.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/topics", get(crate::api::list_topics))
        .route("/api/v1/event-types", get(crate::api::event_types))
        .route("/api/v1/sections", get(crate::api::sections))
        .route("/api/v1/regions/{adcode}", get(crate::api::region))
        .route("/api/v1/entities/{key}", get(crate::api::entity))
        .route(
            "/api/v1/events",
            // The handler reads the body itself, within MAX_BODY_BYTES, once it has a slot.
            axum::routing::post(crate::api::post_events),
        )
        .route("/metrics", get(crate::api::metrics))
        .route("/geo/{file}", get(geo_layer))
        .route("/ws", get(crate::ws::upgrade))
        .fallback(get(app_asset))
        .layer(CompressionLayer::new())
        .with_state(state)
}

async fn healthz(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": PROTOCOL_VERSION,
        "event_schema": yiping_protocol::events::EVENT_SCHEMA_VERSION,
        "epoch": state.hub.epoch(yiping_protocol::topics::WATER),
        "uptime_s": state.started.elapsed().as_secs(),
        "clients": state.clients.load(std::sync::atomic::Ordering::Relaxed),
    }))
}

async fn geo_layer(Path(file): Path<String>) -> Result<Response, AppError> {
    let layer = Layer::from_file_name(&file).ok_or_else(|| AppError::NotFound(format!("/geo/{file}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/geo+json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        layer.geojson(),
    )
        .into_response())
}

/// Serve a file of the app; any other path without a file extension gets `index.html`, so the
/// app's own routes (`/yangtze`, `/duty`, …) can be opened directly.
async fn app_asset(uri: Uri) -> Result<Response, AppError> {
    let path = uri.path().trim_start_matches('/');
    let (file, is_index) = match AppAssets::get(path) {
        Some(f) if !path.is_empty() => (f, path == "index.html"),
        _ if path.rsplit('/').next().is_some_and(|last| last.contains('.')) => {
            return Err(AppError::NotFound(uri.path().to_owned()));
        }
        _ => match AppAssets::get("index.html") {
            Some(f) => (f, true),
            None => return Ok(not_built()),
        },
    };
    let mime = mime_guess::from_path(if is_index { "index.html" } else { path }).first_or_octet_stream();
    // Trunk names every asset with a content hash, so only index.html may change under a name.
    let cache = if is_index { "no-cache" } else { "public, max-age=31536000, immutable" };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(mime.as_ref())
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        file.data,
    )
        .into_response())
}

fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "The wall app is not built into this binary. Build it with `trunk build --release` from the \
         project root, then rebuild the server (or use `scripts/run.sh`, which does both).\n",
    )
        .into_response()
}
