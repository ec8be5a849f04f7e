//! The HTTP API's OpenAPI 3.1 document (`GET /api/v1/openapi.json`) and its offline reader
//! (`GET /api/docs`).
//!
//! The document is generated, not written: every handler carries a `#[utoipa::path]` with its
//! method, path, parameters, body and answers as the Rust types it uses (the wire types derive
//! their JSON Schemas in `yiping-protocol` behind its `openapi` feature, which only the server
//! turns on), and [`crate::web::router`] is built from those handlers by `utoipa_axum`, so a
//! route cannot be served without being in the document. `tests/openapi.rs` checks that every
//! documented operation is served, that no route is added around the document, that every
//! example in it passes its schema, and that the server's answers do too.
//!
//! The reader is Swagger UI, built into the app's files from npm (`swagger-ui-dist`, see
//! `app/index.html`): no CDN, so it works on a government network without the internet.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};
use yiping_protocol::api::ErrorAnswer;

/// The document's frame: what the API is, its tags and security schemes. The paths are added by
/// the router (see [`crate::web::router`]).
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "yiping",
        description = "The HTTP API of yiping (一屏), the command centre of Hubei's digital government: \
            sources post events (`POST /api/v1/events`, NDJSON, one `Envelope` per line); the wall, the duty \
            console and the data platform's integrators read the figures, drill down by region and entity, act \
            on alerts and present. Every figure is folded from the events by event time; `?at=` gives any \
            endpoint's answer as of an instant (time travel). Live data streams over the websocket `/ws`. \
            Errors answer `{\"error\": \"…\"}` naming the parameter, field or value at fault."
    ),
    tags(
        (name = "ingest", description = "Sources send events."),
        (name = "figures", description = "The figures the wall shows, live or as of `?at=`."),
        (name = "drill-down", description = "A region's or an entity's figures and records."),
        (name = "alerts", description = "Alerts and their life cycle (acknowledge, dispatch, resolve), and the audit trail."),
        (name = "sessions", description = "Log in and out; users."),
        (name = "sources", description = "Sources' tokens and rate limits (admins)."),
        (name = "presenting", description = "Walls, storylines and exports."),
        (name = "service", description = "Health, metrics, map layers, the websocket, this document."),
    ),
    components(schemas(yiping_protocol::events::Envelope)),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// The name of the session cookie's security scheme.
pub const SESSION: &str = "session";
/// The name of the sources' bearer token scheme.
pub const SOURCE_TOKEN: &str = "source_token";

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::COOKIE,
                "The session `POST /api/v1/login` sets. Reading needs none while the deployment allows \
                 anonymous reading.",
            ))),
        );
        c.add_security_scheme(
            SOURCE_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A source's ingest token (`yiping token create --source NAME`, or \
                         `POST /api/v1/sources/{source}/tokens`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The example body of `POST /api/v1/events`: a reading sent in Beijing time with a fraction,
/// a river chief's patrol, a project's progress (the tests post it to a server).
pub const EVENTS_EXAMPLE: &str = concat!(
    r#"{"type":"water.reading","id":"S-2026-000123","time":"2026-11-22T16:00:00.5+08:00","source":"hbsthj","#,
    r#""data":{"section":"cj-yangsigang","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08}}"#,
    "\n",
    r#"{"type":"river.patrol","id":"P-88","time":"2026-11-22T08:05:00Z","source":"hbsthj","data":{"patrol":"HZ-1","#,
    r#""chief":"C1","chief_name":"王建国","level":"county","river":"汉江","lon":114.2199,"lat":30.5797,"minutes":45}}"#,
    "\n",
    r#"{"type":"project.update","id":"WH-1-17","time":"2026-11-22T09:00:00+08:00","source":"hbsthj","data":{"project":"WH-1","#,
    r#""name":"武汉某产业园","industry":"光电子信息","lon":114.40,"lat":30.50,"plan_wan":50000,"done_wan":1000,"#,
    r#""steps":[{"step":"approval","due":"2026-01-01"}]}}"#,
    "\n"
);

/// The example storyline of `POST /api/v1/storylines` and `PUT /api/v1/storylines/{id}`.
pub fn storyline_example() -> serde_json::Value {
    serde_json::json!({
        "name": "长江大保护 · 季度汇报",
        "steps": [
            { "title": "全省总览", "note": "先看总体", "view": { "screen": "overview" } },
            { "title": "黄石水质", "view": { "screen": "yangtze", "region": "420200", "drawer": { "kind": "class", "key": "IV" } } },
            { "title": "三十分钟前", "view": { "screen": "rivers", "at": "2026-11-22T09:30:00+08:00", "speed": 60.0 } }
        ]
    })
}

/// 400: the request is malformed; the message names the parameter, field and value.
#[derive(Debug, IntoResponses)]
#[response(
    status = 400,
    description = "Malformed: the message names the parameter, field and value at fault."
)]
pub struct BadRequest(pub ErrorAnswer);

/// 401: no valid session or token.
#[derive(Debug, IntoResponses)]
#[response(
    status = 401,
    description = "No valid session (when the deployment turns anonymous reading off) or token."
)]
pub struct Unauthorized(pub ErrorAnswer);

/// 403: not allowed: the role, or the region scope.
#[derive(Debug, IntoResponses)]
#[response(status = 403, description = "Not allowed: the user's role, or outside the user's region scope.")]
pub struct Forbidden(pub ErrorAnswer);

/// 404: nothing under this name.
#[derive(Debug, IntoResponses)]
#[response(status = 404, description = "Nothing under this name.")]
pub struct NotFound(pub ErrorAnswer);

/// 409: conflicts with the current state.
#[derive(Debug, IntoResponses)]
#[response(status = 409, description = "Conflicts with the current state (e.g. resolving a resolved alert).")]
pub struct Conflict(pub ErrorAnswer);

/// 429: too many attempts, or over the source's rate limit.
#[derive(Debug, IntoResponses)]
#[response(
    status = 429,
    description = "Too many attempts, or over the source's rate limit: try again after `Retry-After` seconds.",
    headers(("Retry-After" = u64, description = "Seconds to wait."))
)]
pub struct TooMany(pub ErrorAnswer);

/// 503: busy.
#[derive(Debug, IntoResponses)]
#[response(
    status = 503,
    description = "Busy: try again after `Retry-After` seconds.",
    headers(("Retry-After" = u64, description = "Seconds to wait."))
)]
pub struct Busy(pub ErrorAnswer);

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json"))
)]
pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], document_json()).into_response()
}

/// The document as JSON, made once.
pub fn document_json() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = crate::web::routes().into_openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        let mut json = serde_json::to_value(&doc).unwrap_or_default();
        integer_bounds(&mut json);
        serde_json::to_string_pretty(&json)
            .unwrap_or_else(|e| format!("{{\"error\": \"the document: {e}\"}}"))
    })
}

/// The bounds of Rust's integer types on every integer schema, which the OpenAPI formats name
/// (`int32` with a minimum of 0 is a `u32`) but a JSON Schema validator does not check: a count
/// past `u32::MAX` is refused by the server, and so by the schema. (A `u8` or `u16` is an
/// `int32` too: such a field states its own `maximum`, which is kept.)
fn integer_bounds(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            let unsigned = m.get("minimum").and_then(serde_json::Value::as_f64) == Some(0.0);
            let max = match m.get("format").and_then(serde_json::Value::as_str) {
                Some("int32") if unsigned => Some(serde_json::json!(u32::MAX)),
                Some("int32") => Some(serde_json::json!(i32::MAX)),
                Some("int64") if unsigned => Some(serde_json::json!(u64::MAX)),
                Some("int64") => Some(serde_json::json!(i64::MAX)),
                _ => None,
            };
            if let Some(max) = max {
                m.entry("maximum").or_insert(max);
            }
            m.values_mut().for_each(integer_bounds);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(integer_bounds),
        _ => {}
    }
}

/// `GET /api/docs`: the document for people: Swagger UI, from this server's own files.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "service",
    responses((status = 200, description = "A page that renders this document (Swagger UI, no CDN).", content_type = "text/html"))
)]
pub async fn reader() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        READER,
    )
        .into_response()
}

/// The reader's page: Swagger UI's files and its start script (the CSP allows no inline script)
/// are in the app's files under `api-docs/`.
const READER: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>yiping · HTTP API</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/api-docs/swagger-ui.css">
</head>
<body>
  <div id="api-docs"></div>
  <script src="/api-docs/swagger-ui-bundle.js"></script>
  <script src="/api-docs/start.js"></script>
</body>
</html>
"#;
