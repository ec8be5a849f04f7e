//! The HTTP surface: every route with its OpenAPI description ([`routes`]), and the wall app's
//! files for any other address.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use tower_http::compression::CompressionLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
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

/// The app's files and the map layers compressed at build time (release builds; see
/// `server/build.rs`).
mod precompressed {
    include!(concat!(env!("OUT_DIR"), "/precompressed.rs"));
}

/// Whether the request accepts brotli (`Accept-Encoding: br`, not with `q=0`).
fn accepts_brotli(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts.next().is_some_and(|c| c.eq_ignore_ascii_case("br"))
                && parts
                    .all(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()).is_none_or(|q| q > 0.0))
        })
    })
}

/// The file named `name` as compressed at build time, when the request accepts brotli.
fn brotli_for(name: &str, headers: &HeaderMap) -> Option<&'static [u8]> {
    precompressed::BROTLI
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .filter(|_| accepts_brotli(headers))
}

/// An answer of precompressed bytes: the compression layer leaves it as it is.
fn brotli_answer(content_type: HeaderValue, cache: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_ENCODING, HeaderValue::from_static("br")),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/v1/walls`: the walls pages have joined, with who controls each.
#[utoipa::path(
    get,
    path = "/api/v1/walls",
    tag = "presenting",
    security((), ("session" = [])),
    responses((status = 200, description = "The walls pages have joined, with who controls each.", body = Vec<yiping_protocol::present::WallInfo>), crate::openapi::Unauthorized)
)]
async fn walls(
    State(state): State<Arc<AppState>>,
    caller: crate::auth::Caller,
) -> Result<Json<Vec<yiping_protocol::present::WallInfo>>, AppError> {
    caller.read()?;
    Ok(Json(state.walls.list()))
}

/// Every route of the server, each with its OpenAPI description: the router and the document
/// (`crate::openapi`) are both made from this list, so nothing is served undocumented.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    use crate::{alerts::http as alerts, api, export, openapi, session, sources, storylines, ws};
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(api::list_topics))
        .routes(routes!(api::event_types))
        .routes(routes!(api::sections))
        .routes(routes!(api::site))
        .routes(routes!(api::overview))
        .routes(routes!(api::timeline))
        .routes(routes!(api::periods))
        .routes(routes!(api::region))
        .routes(routes!(api::entity))
        .routes(routes!(api::history))
        .routes(routes!(api::counties))
        // The handler reads the body itself, within MAX_BODY_BYTES, once it has a slot.
        .routes(routes!(api::post_events))
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::users))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::detail))
        .routes(routes!(alerts::act))
        .routes(routes!(alerts::rules))
        .routes(routes!(alerts::audit))
        .routes(routes!(walls))
        .routes(routes!(sources::http_list))
        .routes(routes!(sources::http_create))
        .routes(routes!(sources::http_rotate))
        .routes(routes!(sources::http_rate))
        .routes(routes!(sources::http_revoke))
        .routes(routes!(storylines::http_list, storylines::http_create))
        .routes(routes!(storylines::http_import))
        .routes(routes!(storylines::http_get, storylines::http_put, storylines::http_delete))
        .routes(routes!(storylines::http_file))
        .routes(routes!(export::http_export))
        .routes(routes!(api::metrics))
        .routes(routes!(geo_pack))
        .routes(routes!(geo_layer))
        .routes(routes!(ws::upgrade))
        .routes(routes!(boot_script))
        .routes(routes!(openapi::document))
        .routes(routes!(openapi::reader))
}

/// The router of the whole server: [`routes`], and the app's files for any other address.
pub fn router(state: Arc<AppState>) -> Router {
    let (routes, _) = routes().split_for_parts();
    routes
        .fallback(get(app_asset))
        .layer(axum::middleware::map_response(plain_refusals_as_json))
        .layer(CompressionLayer::new())
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Framed by its own pages only: the presenter's console shows the wall's miniature.
        .layer(header_layer(header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
        .with_state(state)
}

/// axum's own refusals of a request it cannot extract (a malformed query or path value, a body
/// that is not the JSON expected, a websocket request without its upgrade) are plain text; they
/// are answered as every other error is, `{"error": "…"}` with the same status.
async fn plain_refusals_as_json(resp: Response) -> Response {
    let status = resp.status();
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    if !(status.is_client_error() && plain) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    // Named by its status, as AppError names its own ("bad request: …").
    let reason = status.canonical_reason().unwrap_or("refused").to_lowercase();
    let error = format!("{reason}: {}", String::from_utf8_lossy(&text).trim());
    let json = serde_json::to_vec(&yiping_protocol::api::ErrorAnswer { error }).unwrap_or_default();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(json))
}

/// The content security policy of every answer: scripts only from this server (no inline script;
/// WebAssembly compilation allowed), no framing but by this server's own pages (the presenter's
/// console frames the wall's miniature), no plugins.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'self'";

fn header_layer(
    name: header::HeaderName,
    value: &'static str,
) -> tower_http::set_header::SetResponseHeaderLayer<HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Trunk's `index.html` starts the app with an inline module script; the CSP allows no inline
/// script, so the server moves it into `/yiping-boot.js` and points the page at that.
fn split_index(html: &str) -> (String, String) {
    const OPEN: &str = "<script type=\"module\">";
    let Some(start) = html.find(OPEN) else { return (html.to_owned(), String::new()) };
    let body_start = start + OPEN.len();
    let Some(len) = html[body_start..].find("</script>") else { return (html.to_owned(), String::new()) };
    let script = html[body_start..body_start + len].to_owned();
    let page = format!(
        "{}<script type=\"module\" src=\"/yiping-boot.js\"></script>{}",
        &html[..start],
        &html[body_start + len + "</script>".len()..]
    );
    (page, script)
}

fn index_parts() -> &'static Option<(String, String)> {
    static PARTS: std::sync::OnceLock<Option<(String, String)>> = std::sync::OnceLock::new();
    PARTS.get_or_init(|| AppAssets::get("index.html").map(|f| split_index(&String::from_utf8_lossy(&f.data))))
}

/// `GET /yiping-boot.js`: the script that starts the wall app (moved out of `index.html`).
#[utoipa::path(
    get,
    path = "/yiping-boot.js",
    tag = "service",
    responses((status = 200, description = "The wall app's start script.", body = String, content_type = "text/javascript"), crate::openapi::NotFound)
)]
async fn boot_script() -> Result<Response, AppError> {
    match index_parts() {
        Some((_, script)) if !script.is_empty() => Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            script.clone(),
        )
            .into_response()),
        _ => Err(AppError::NotFound("/yiping-boot.js".into())),
    }
}

/// `GET /healthz`: alive, with the versions and the log's position.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "The server is up.", body = yiping_protocol::api::Health))
)]
async fn healthz(State(state): State<Arc<AppState>>) -> Json<yiping_protocol::api::Health> {
    Json(yiping_protocol::api::Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol: PROTOCOL_VERSION,
        event_schema: yiping_protocol::events::EVENT_SCHEMA_VERSION,
        epoch: state.hub.epoch(yiping_protocol::topics::WATER).to_owned(),
        uptime_s: state.started.elapsed().as_secs(),
        clients: state.clients.load(std::sync::atomic::Ordering::Relaxed),
        stream_applied: state.cluster.get().map(|c| c.applied()),
        holds_clock: state.cluster.get().map(|c| c.holds_clock()),
    })
}

/// `GET /geo/layers.pack`: every layer the wall draws (the deployment's administrative layers, cut
/// into shared arcs, with the rivers and lakes) in one binary file, read without parsing text
/// (see `yiping_maps::pack`).
#[utoipa::path(
    get,
    path = "/geo/layers.pack",
    tag = "service",
    responses(
        (status = 200, description = "The map pack (with an `ETag`; asked again on every load).", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`.")
    )
)]
async fn geo_pack(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    // Made once (a topology build and a compression): off the async workers.
    let places = state.places.clone();
    let Ok(pack) = tokio::task::spawn_blocking(move || places.map_pack().clone()).await else {
        return AppError::Internal("the map pack could not be made".into()).into_response();
    };
    // Asked again on every load (the app and the boundaries may change with a new release or
    // configuration), answered 304 while it is the same.
    let etag = HeaderValue::from_str(&pack.etag).expect("a quoted hex digest is a header value");
    if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let kind = HeaderValue::from_static("application/octet-stream");
    let mut answer = if accepts_brotli(&headers) {
        brotli_answer(kind, "no-cache", pack.brotli)
    } else {
        (
            [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
            pack.bytes,
        )
            .into_response()
    };
    answer.headers_mut().insert(header::ETAG, etag);
    answer
}

/// `GET /geo/{file}`: a layer for the wall to draw; the administrative ones are the deployment's
/// (its own boundary files, when configured).
#[utoipa::path(
    get,
    path = "/geo/{file}",
    tag = "service",
    params(("file" = String, Path, description = "A layer's file, `hubei_province.geojson`, `hubei_prefectures.geojson`, `hubei_counties.geojson`, `hubei_rivers.geojson` or `hubei_lakes.geojson` (the administrative ones are the deployment's boundaries when it has its own).")),
    responses((status = 200, description = "The layer.", body = Object, content_type = "application/geo+json"), crate::openapi::NotFound)
)]
async fn geo_layer(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let layer = Layer::from_file_name(&file).ok_or_else(|| AppError::NotFound(format!("/geo/{file}")))?;
    let boundaries = state.places.boundaries();
    if !boundaries.is_shipped() && matches!(layer, Layer::Province | Layer::Prefectures | Layer::Counties) {
        return Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/geo+json")),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            ],
            boundaries.geojson(layer).to_owned(),
        )
            .into_response());
    }
    if let Some(body) = brotli_for(&format!("geo/{}", layer.file_name()), &headers) {
        return Ok(brotli_answer(
            HeaderValue::from_static("application/geo+json"),
            "public, max-age=3600",
            body,
        ));
    }
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
async fn app_asset(uri: Uri, headers: HeaderMap) -> Result<Response, AppError> {
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
    if is_index && let Some((page, _)) = index_parts() {
        return Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            page.clone(),
        )
            .into_response());
    }
    let mime = mime_guess::from_path(if is_index { "index.html" } else { path }).first_or_octet_stream();
    // Trunk names every asset with a content hash, so only index.html and the API reader's files
    // (copied as they are named) may change under a name.
    let cache = if is_index || path.starts_with("api-docs/") {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    let content_type =
        HeaderValue::from_str(mime.as_ref()).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    if let Some(body) = brotli_for(path, &headers).filter(|_| !is_index) {
        return Ok(brotli_answer(content_type, cache, body));
    }
    Ok((
        [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, HeaderValue::from_static(cache))],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).expect("a header value"));
        h
    }

    #[test]
    fn brotli_only_when_accepted() {
        assert!(accepts_brotli(&with("gzip, deflate, br, zstd")));
        assert!(accepts_brotli(&with("br;q=0.5")));
        assert!(accepts_brotli(&with("BR")));
        assert!(!accepts_brotli(&with("br;q=0")));
        assert!(!accepts_brotli(&with("gzip, deflate")));
        assert!(!accepts_brotli(&with("brotli")));
        assert!(!accepts_brotli(&HeaderMap::new()));
    }
}
