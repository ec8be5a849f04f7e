//! The REST API under `/api/v1`: event ingest, drill-down into entities and regions, reference
//! lists. Every handler returns `Result<_, AppError>`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
pub use yiping_protocol::api::HistoryQuery;
use yiping_protocol::api::{
    AsOf, CountiesAnswer, CountyFigures, EntityPlace, EntityRecord, ErrorAnswer, EventTypeInfo,
    HistoryAnswer, IngestAnswer, OverdueToday, RegionFigures, RegionName, SiteInfo, StoredEventView,
};
use yiping_protocol::events::EVENT_TYPES;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{Overview, SectionStatus, TopicInfoList};

use crate::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::ingest::{LineResult, SubmitError, check_lines};
use crate::state::{overview_on, parse_at};
use crate::store::Appended;
use crate::sync::OrPoisoned;

/// Largest ingest body, bytes (larger: 413).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Ingest requests read and checked at the same time (more: 503).
pub const MAX_INGEST_REQUESTS: usize = 8;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// `POST /api/v1/events`: NDJSON, one event per line, authenticated by a source token.
///
/// Answers 200 when every line was stored (or was a duplicate of a stored event), 422 when some
/// lines were refused — the valid lines of the same body are stored all the same, and the body
/// lists the outcome of every line. Nothing is answered before the stored lines are committed.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "ingest",
    security(("source_token" = [])),
    request_body(
        content = String,
        content_type = "application/x-ndjson",
        description = "One event per line, each an `Envelope` (see its schema: `type` selects the schema of \
            `data`); at most 16 MiB. Times are RFC 3339 with any offset and fraction.",
        example = json!(crate::openapi::EVENTS_EXAMPLE)
    ),
    responses(
        (status = 200, description = "Every line was stored, or was a duplicate of a stored event.", body = IngestAnswer),
        (status = 422, description = "Some lines were refused (each names its line, field and value); the valid \
            lines of the same body are stored all the same.", body = IngestAnswer),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::TooMany,
        (status = 413, description = "The body is larger than 16 MiB: split the batch.", body = ErrorAnswer),
        crate::openapi::Busy,
    )
)]
pub async fn post_events(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let token = bearer(&headers).ok_or_else(|| {
        AppError::Unauthorized(
            "send `Authorization: Bearer <token>` (yiping token create --source NAME)".into(),
        )
    })?;
    let (source, rate) = {
        let reader = state.reader.lock().or_poisoned();
        reader.token_grant(token, crate::store::unix_now())?
    }
    .ok_or_else(|| AppError::Unauthorized("unknown or ended token".into()))?;
    // A source in debt on its rate limit is turned away before its body is read.
    let take = |rate: f64, n: usize| {
        state.source_limits.take(&source, rate, n, crate::sources::steady_now()).map_err(|wait| {
            state.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
            AppError::RateLimited { name: source.clone(), rate, wait }
        })
    };
    if let Some(rate) = rate {
        take(rate, 0)?;
    }
    // At most MAX_INGEST_REQUESTS bodies are read and checked at once, so memory stays bounded
    // however many clients post; the others are told to come back.
    let _permit = state.ingest_slots.clone().try_acquire_owned().map_err(|_| {
        state.metrics.busy.fetch_add(1, Ordering::Relaxed);
        AppError::Busy("too many ingest requests at once".into())
    })?;
    let body: Bytes =
        axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| AppError::TooLarge(MAX_BODY_BYTES))?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        AppError::BadRequest(format!("body is not UTF-8 (first bad byte at offset {})", e.valid_up_to()))
    })?;
    if text.trim().is_empty() {
        return Err(AppError::BadRequest("empty body: send one JSON event per line (NDJSON)".into()));
    }
    // A source over its rate limit is told when to come back; nothing of the body is stored.
    // (Charged for its lines now, refunded if the log does not take them.)
    let charged = rate.map(|rate| (rate, text.lines().filter(|l| !l.trim().is_empty()).count()));
    if let Some((rate, lines)) = charged {
        take(rate, lines)?;
    }
    let refund = || {
        if let Some((_, lines)) = charged {
            state.source_limits.refund(&source, lines);
        }
    };
    let (ok, rejected) =
        check_lines(text, &source, &state.places, state.clock.now(), state.log.future_tolerance_s);
    state.metrics.rejected.fetch_add(rejected.len() as u64, Ordering::Relaxed);
    let lines: Vec<(usize, String, &'static str)> =
        ok.iter().map(|(n, l)| (*n, l.event.id.clone(), l.event.data.topic())).collect();
    let events: Vec<_> = ok.into_iter().map(|(_, l)| l).collect();
    let sender = crate::ingest::Sender {
        source: source.clone(),
        addr: caller.ip(),
        rejected: rejected.len(),
        nats: None,
    };
    // Every write is audited: with the events it stored, or alone when none was valid.
    let stored = if events.is_empty() {
        state.audit(sender.entry(&[]))?;
        vec![]
    } else {
        state.submit_from(events, Some(sender), false).await.map_err(|e| {
            refund();
            match e {
                SubmitError::Busy | SubmitError::Unavailable(_) => {
                    state.metrics.busy.fetch_add(1, Ordering::Relaxed);
                    AppError::Busy(e.to_string())
                }
                SubmitError::Failed(m) => AppError::Internal(m),
            }
        })?
    };
    let mut results: Vec<LineResult> = lines
        .into_iter()
        .zip(stored)
        .map(|((line, id, topic), a)| match a {
            Appended::New { tseq, .. } => LineResult::Accepted { line, id, topic: topic.into(), seq: tseq },
            Appended::Duplicate { .. } => LineResult::Duplicate { line, id },
        })
        .collect();
    let n_rejected = rejected.len();
    results.extend(rejected);
    results.sort_by_key(LineResult::line);
    let count = |f: fn(&LineResult) -> bool| results.iter().filter(|r| f(r)).count();
    let (accepted, duplicates) = (
        count(|r| matches!(r, LineResult::Accepted { .. })),
        count(|r| matches!(r, LineResult::Duplicate { .. })),
    );
    let body = IngestAnswer { accepted, duplicates, rejected: n_rejected, lines: results };
    let status = if n_rejected == 0 { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    json_answer(status, &body, 64 + body.lines.len() * 96)
}

/// A large answer as JSON, written into one buffer of about `capacity` bytes. [`Json`] starts
/// from 128 bytes and grows as it writes: for an ingest answer (a result per line) that was a
/// seventh of the request's CPU, most of it copying (perf, session 33).
fn json_answer<T: serde::Serialize>(
    status: StatusCode,
    answer: &T,
    capacity: usize,
) -> Result<Response, AppError> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, answer)
        .map_err(|e| AppError::Internal(format!("the answer cannot be written: {e}")))?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /api/v1/topics`.
#[utoipa::path(
    get,
    path = "/api/v1/topics",
    tag = "service",
    security((), ("session" = [])),
    responses((status = 200, description = "The websocket topics and what each carries.", body = TopicInfoList), crate::openapi::Unauthorized)
)]
pub async fn list_topics(caller: Caller) -> Result<Json<TopicInfoList>, AppError> {
    caller.read()?;
    let mut all = TopicInfoList::all();
    all.0.push(yiping_protocol::TopicInfo {
        name: yiping_protocol::topics::ALERTS.into(),
        description: yiping_protocol::topics::ALERTS_INFO.into(),
    });
    Ok(Json(all))
}

/// `GET /api/v1/event-types`.
#[utoipa::path(
    get,
    path = "/api/v1/event-types",
    tag = "ingest",
    security((), ("session" = [])),
    responses((status = 200, description = "Every event type with what it reports (the schemas: `Envelope`).", body = Vec<EventTypeInfo>), crate::openapi::Unauthorized)
)]
pub async fn event_types(caller: Caller) -> Result<Json<Vec<EventTypeInfo>>, AppError> {
    caller.read()?;
    Ok(Json(
        EVENT_TYPES
            .iter()
            .map(|(t, d)| EventTypeInfo { kind: (*t).to_owned(), description: (*d).to_owned() })
            .collect(),
    ))
}

/// `GET /api/v1/sections`: the water-quality monitoring sections known to this deployment (in
/// the caller's scope), each with the class and time of its newest reading, as the overview has
/// them.
#[utoipa::path(
    get,
    path = "/api/v1/sections",
    tag = "figures",
    security((), ("session" = [])),
    params(AsOf),
    responses((status = 200, description = "The monitoring sections in the caller's scope with their newest class.", body = Vec<SectionStatus>), crate::openapi::BadRequest, crate::openapi::Unauthorized)
)]
pub async fn sections(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AsOf>,
) -> Result<Json<Vec<SectionStatus>>, AppError> {
    caller.read()?;
    let at = parse_at(q.at.as_deref())?;
    let mut sections = state.read_at(at, crate::fold::Fold::sections).await?;
    sections.retain(|s| crate::auth::in_scope(caller.scope(), &s.adcode));
    Ok(Json(sections))
}

/// `GET /api/v1/site`: the deployment's root region and title, and the region this caller's
/// wall shows (the root, or the caller's scope) with the regions one level under it.
#[utoipa::path(
    get,
    path = "/api/v1/site",
    tag = "figures",
    security((), ("session" = [])),
    responses((status = 200, description = "The deployment's root region and title, and the region this caller's wall shows.", body = SiteInfo), crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn site(State(state): State<Arc<AppState>>, caller: Caller) -> Result<Json<SiteInfo>, AppError> {
    let region = caller.shown_region(&state.places)?;
    let name = |a: &str| state.places.name(a).unwrap_or(a).to_owned();
    Ok(Json(SiteInfo {
        title: state.title.clone(),
        root: state.places.root().to_owned(),
        root_name: state.places.root_name().to_owned(),
        region_name: name(&region),
        children: state
            .places
            .children_of(&region)
            .into_iter()
            .map(|adcode| RegionName { name: name(&adcode), adcode })
            .collect(),
        region,
    }))
}

/// `GET /api/v1/overview`: the headline figures (what the `overview` topic sends), live or as of
/// `?at=` (time travel): of the deployment's root region, or of the caller's scope.
#[utoipa::path(
    get,
    path = "/api/v1/overview",
    tag = "figures",
    security((), ("session" = [])),
    params(AsOf),
    responses((status = 200, description = "The headline figures of the root region, or of the caller's scope.", body = Overview), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn overview(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AsOf>,
) -> Result<Json<Overview>, AppError> {
    let region = caller.shown_region(&state.places)?;
    let at = parse_at(q.at.as_deref())?;
    let now = at.unwrap_or_else(|| state.clock.now());
    Ok(Json(state.read_at(at, move |f| overview_on(f, &region, now)).await?))
}

/// `GET /api/v1/periods`: today, this week, this month and this year to date (or to `?at=`),
/// for the root region (or the caller's scope) and each region one level under it, with 环比
/// and 同比 where the log reaches back.
#[utoipa::path(
    get,
    path = "/api/v1/periods",
    tag = "figures",
    security((), ("session" = [])),
    params(AsOf),
    responses((status = 200, description = "Today, this week, month and year to date, with 环比 and 同比.", body = yiping_protocol::periods::PeriodsAnswer), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn periods(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AsOf>,
) -> Result<Json<yiping_protocol::periods::PeriodsAnswer>, AppError> {
    let region = caller.shown_region(&state.places)?;
    let at = parse_at(q.at.as_deref())?;
    let s = state.clone();
    let answer = tokio::task::spawn_blocking(move || crate::periods::answer(&s, at))
        .await
        .map_err(|e| AppError::Internal(format!("periods: {e}")))??;
    let mut shown = state.places.children_of(&region);
    shown.push(region);
    Ok(Json(crate::periods::only(&answer, &shown)))
}

/// `GET /api/v1/timeline`: the span of the log by event time (what time travel can show).
#[utoipa::path(
    get,
    path = "/api/v1/timeline",
    tag = "figures",
    security((), ("session" = [])),
    responses((status = 200, description = "The span of the log by event time (what time travel can show).", body = yiping_protocol::api::TimelineAnswer), crate::openapi::Unauthorized)
)]
pub async fn timeline(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<yiping_protocol::api::TimelineAnswer>, AppError> {
    caller.read()?;
    let timeline = state.timeline.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || timeline.span())
            .await
            .map_err(|e| AppError::Internal(format!("time travel: {e}")))??,
    ))
}

/// `GET /api/v1/regions/{adcode}`: a region's aggregates for every theme (live, or as of `?at=`).
#[utoipa::path(
    get,
    path = "/api/v1/regions/{adcode}",
    tag = "drill-down",
    security((), ("session" = [])),
    params(("adcode" = String, Path, description = "The region's adcode (`420200` for 黄石)."), AsOf),
    responses((status = 200, description = "The region's aggregates for every theme.", body = RegionFigures), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound)
)]
pub async fn region(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(adcode): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Json<RegionFigures>, AppError> {
    caller.read_region(&adcode)?;
    let name =
        state.places.name(&adcode).ok_or_else(|| AppError::NotFound(format!("region {adcode}")))?.to_owned();
    let at = parse_at(q.at.as_deref())?;
    let today = at.unwrap_or_else(|| state.clock.now()).beijing_date();
    Ok(Json(
        state
            .read_at(at, move |f| {
                let projects = f.projects.region(&adcode);
                RegionFigures {
                    adcode: adcode.clone(),
                    name,
                    time: f.last_time(),
                    today,
                    overdue: OverdueToday::of(&projects, today),
                    water: f.water.region(&adcode),
                    rivers: f.rivers.region(&adcode),
                    projects,
                    poverty: f.poverty.region(&adcode),
                }
            })
            .await?,
    ))
}

/// `GET /api/v1/entities/{key}`: an entity's current state and its history of events.
#[utoipa::path(
    get,
    path = "/api/v1/entities/{key}",
    tag = "drill-down",
    security((), ("session" = [])),
    params(("key" = String, Path, description = "The entity as `kind:id`, e.g. `section:cj-yangsigang`, `project:WH-1`."), HistoryQuery),
    responses((status = 200, description = "The entity's current state and its events.", body = EntityRecord), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound)
)]
pub async fn entity(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(key): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<EntityRecord>, AppError> {
    caller.read()?;
    let bound = |name: &str, v: &Option<String>, default: Timestamp| match v {
        None => Ok(default),
        Some(v) => {
            Timestamp::parse(v).map_err(|e| AppError::BadRequest(format!("query `{name}`: {v:?}: {e}")))
        }
    };
    let at = parse_at(q.at.as_deref())?;
    let from = bound("from", &q.from, Timestamp::from_unix_ns(0))?;
    // As of an instant, only the events up to it.
    let until = at.unwrap_or(Timestamp::from_unix_ns(i64::MAX));
    let to = bound("to", &q.to, until)?.min(until);
    let k = key.clone();
    let current = state
        .read_at(at, move |f| {
            [f.water.entity(&k), f.rivers.entity(&k), f.projects.entity(&k), f.poverty.entity(&k)]
                .into_iter()
                .flatten()
                .next()
                .cloned()
        })
        .await?;
    let history = {
        let reader = state.reader.lock().or_poisoned();
        match q.latest {
            Some(n) => reader.history_latest(&key, n.min(10_000), until)?,
            None => reader.history(&key, from, to, q.limit.unwrap_or(1000).min(10_000))?,
        }
    };
    if current.is_none() && history.is_empty() {
        return Err(AppError::NotFound(format!("entity {key}")));
    }
    let adcode =
        current.as_ref().map(|c| c.adcode.clone()).or_else(|| history.first().map(|e| e.adcode.clone()));
    if let Some(adcode) = &adcode {
        caller.read_region(adcode)?;
    }
    let place = adcode.as_deref().map(|a| EntityPlace {
        county: state.places.name(a).map(str::to_owned),
        prefecture: state.places.name(state.places.prefecture(a)).map(str::to_owned),
    });
    Ok(Json(EntityRecord {
        key,
        place,
        current,
        history: history
            .into_iter()
            .map(|e| StoredEventView { gseq: e.gseq, received: e.received, event: e.event })
            .collect(),
    }))
}

/// `GET /api/v1/counties`: every county (in the caller's scope) with its name, prefecture and
/// 精准脱贫 figures, for rankings and county-level maps.
#[utoipa::path(
    get,
    path = "/api/v1/counties",
    tag = "figures",
    security((), ("session" = [])),
    params(AsOf),
    responses((status = 200, description = "Every county in the caller's scope with its 精准脱贫 figures.", body = CountiesAnswer), crate::openapi::BadRequest, crate::openapi::Unauthorized)
)]
pub async fn counties(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AsOf>,
) -> Result<Json<CountiesAnswer>, AppError> {
    caller.read()?;
    let at = parse_at(q.at.as_deref())?;
    let (places, scope) = (state.places.clone(), caller.scope().map(str::to_owned));
    Ok(Json(
        state
            .read_at(at, move |f| CountiesAnswer {
                time: f.last_time(),
                counties: places
                    .counties()
                    .iter()
                    .filter(|c| crate::auth::in_scope(scope.as_deref(), &c.adcode))
                    .map(|c| CountyFigures {
                        adcode: c.adcode.clone(),
                        name: c.name.clone(),
                        prefecture: places.prefecture(&c.adcode).to_owned(),
                        poverty: f.poverty.region(&c.adcode),
                    })
                    .collect(),
            })
            .await?,
    ))
}

/// `GET /api/v1/history`: the headline figures at the end of each 10-minute step of
/// event time over the last 7 days, oldest first (what the trends draw); with `?at=`, the 7 days
/// up to that instant: of the root region, or of a scoped caller's region (kept for the regions
/// one level under the root).
#[utoipa::path(
    get,
    path = "/api/v1/history",
    tag = "figures",
    security((), ("session" = [])),
    params(AsOf),
    responses((status = 200, description = "The headline figures every 10 minutes of event time over 7 days.", body = HistoryAnswer), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn history(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AsOf>,
) -> Result<Json<HistoryAnswer>, AppError> {
    let region = caller.shown_region(&state.places)?;
    let at = parse_at(q.at.as_deref())?;
    let points = state.read_at(at, move |f| f.history_of(&region)).await?;
    let points = points.ok_or_else(|| {
        AppError::Forbidden(
            "history is kept for the root region and the regions one level under it, not for your scope"
                .into(),
        )
    })?;
    Ok(Json(HistoryAnswer { step_s: crate::fold::HISTORY_STEP_S, points }))
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses((status = 200, description = "Counters and gauges in the Prometheus text format.", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.clients.load(Ordering::Relaxed), state.started.elapsed().as_secs()),
    )
}
