//! The alerts' REST surface: list and detail (`GET /api/v1/alerts[/{id}]`), the life-cycle
//! actions (`POST /api/v1/alerts/{id}/acknowledge|dispatch|resolve`), the rules in force
//! (`GET /api/v1/rules`) and the audit trail (`GET /api/v1/audit`, NDJSON).
//!
//! Who may: every reader sees the alerts in their scope; duty officers and admins act on them,
//! project managers on project alerts; the trail is for admins (all of it) and duty officers (the
//! steps of the alerts in their scope). Nothing here can change or remove a trail entry: the only
//! write is an append, through the book.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use yiping_protocol::alerts::{Alert, AlertAction, AlertsData};

use crate::AppState;
use crate::auth::{Caller, Role, in_scope};
use crate::error::AppError;
use crate::trail::Filter;

use super::{ActError, Book};
use crate::sync::OrPoisoned;
pub use yiping_protocol::api::{AlertQuery, AuditQuery};

/// `GET /api/v1/alerts`: the live list (open, and resolved in the last 24 h), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    security((), ("session" = [])),
    params(yiping_protocol::api::AlertQuery),
    responses((status = 200, description = "The alerts in the caller's scope, newest first.", body = AlertsData), crate::openapi::BadRequest, crate::openapi::Unauthorized)
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AlertQuery>,
) -> Result<Json<AlertsData>, AppError> {
    caller.read()?;
    q.check().map_err(AppError::BadRequest)?;
    let book = state.book.lock().or_poisoned();
    let alerts = book
        .list()
        .into_iter()
        .filter(|a| in_scope(caller.scope(), &a.adcode) && q.matches(a))
        .cloned()
        .collect();
    Ok(Json(AlertsData { alerts }))
}

/// An alert from the live list, or rebuilt from the trail when it has left the list.
fn find(state: &AppState, book: &Book, id: &str) -> Result<Alert, AppError> {
    if let Some(a) = book.get(id) {
        return Ok(a.clone());
    }
    let entries = state.trail.lock().or_poisoned().list(&Filter {
        target: Some(id.to_owned()),
        action_prefix: Some("alert.".into()),
        ..Default::default()
    })?;
    let mut one = Book::new(book.rules().clone(), state.places.clone());
    for e in &entries {
        one.apply(e);
    }
    one.get(id).cloned().ok_or_else(|| AppError::NotFound(format!("alert {id}")))
}

/// `GET /api/v1/alerts/{id}`: one alert with its whole trail.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    security((), ("session" = [])),
    params(("id" = String, Path, description = "The alert's id.")),
    responses((status = 200, description = "The alert with its whole trail.", body = Alert), crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound)
)]
pub async fn detail(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Alert>, AppError> {
    caller.read()?;
    let book = state.book.lock().or_poisoned();
    let a = find(&state, &book, &id)?;
    caller.read_region(&a.adcode)?;
    Ok(Json(a))
}

pub use yiping_protocol::api::ActBody;

/// `POST /api/v1/alerts/{id}/{action}` with `{"comment","to"}` (JSON, required): one step of the life cycle,
/// by the logged-in user; answers the alert as it is after the step, once the step is stored.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/{action}",
    tag = "alerts",
    security(("session" = [])),
    params(
        ("id" = String, Path, description = "The alert's id."),
        ("action" = String, Path, description = "`acknowledge`, `dispatch` or `resolve`.")
    ),
    request_body(content = yiping_protocol::api::ActBody, example = json!({"comment": "派区河长现场核查", "to": "li"})),
    responses(
        (status = 200, description = "The alert after the step, once the step is stored.", body = Alert),
        crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound, crate::openapi::Conflict
    )
)]
pub async fn act(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    body: Result<Json<ActBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Alert>, AppError> {
    let Some(action) = AlertAction::parse(&action).filter(|a| AlertAction::BY_PERSON.contains(a)) else {
        return Err(AppError::NotFound(format!(
            "alert action {action:?}: use acknowledge, dispatch or resolve"
        )));
    };
    let actors: Vec<Role> = Role::ALL.into_iter().filter(|r| r.can_act()).collect();
    let user = caller.with_role(&actors, "acting on alerts")?.clone();
    // A JSON body (`{}` will do) is required: a cross-site form cannot send one without a
    // preflight, on top of the SameSite=Strict session cookie.
    let Json(body) = body.map_err(|e| AppError::BadRequest(format!("send a JSON body ({e})")))?;
    let step = super::Step {
        alert: id.clone(),
        action,
        name: user.name.clone(),
        role: user.role.as_str().to_owned(),
        addr: caller.ip(),
        comment: body.comment,
        to: body.to,
    };
    {
        let book = state.book.lock().or_poisoned();
        let a = find(&state, &book, &id)?;
        caller.read_region(&a.adcode)?;
        if !user.role.may_act_on(a.rule) {
            return Err(AppError::Forbidden(format!(
                "a project manager acts on project alerts only; {id} is a {} alert",
                a.theme
            )));
        }
        // Refused at once when it does not fit the alert as this node knows it.
        book.step(&step).map_err(refusal)?;
    }
    match state.cluster.get() {
        // Every node takes the step from the log stream; this answer is this node's.
        Some(cluster) => cluster.step(&step, state.clock.now()).await.map(Json),
        None => state.take_step(&step, state.clock.now(), None).map(Json),
    }
}

fn refusal(e: ActError) -> AppError {
    match e {
        ActError::NotFound(_) | ActError::State { .. } => AppError::Conflict(e.to_string()),
        ActError::Missing(_) => AppError::BadRequest(e.to_string()),
    }
}

impl AppState {
    /// Take a person's step on an alert as of `time`: store it in the trail, apply it, publish
    /// the alert; refused when it does not fit the alert's state.
    pub fn take_step(
        &self,
        step: &super::Step,
        time: yiping_protocol::instant::Timestamp,
        stream_seq: Option<u64>,
    ) -> Result<Alert, AppError> {
        let mut book = self.book.lock().or_poisoned();
        let pending = book.step(step).map_err(refusal)?;
        let changed = self.commit_alerts(&mut book, &[pending], time, stream_seq)?;
        changed.into_iter().next().ok_or_else(|| AppError::Internal("the step was not applied".into()))
    }
}

/// `GET /api/v1/rules`: the rules in force.
#[utoipa::path(
    get,
    path = "/api/v1/rules",
    tag = "alerts",
    security((), ("session" = [])),
    responses((status = 200, description = "The alert rules in force.", body = yiping_protocol::rules::Rules), crate::openapi::Unauthorized)
)]
pub async fn rules(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<super::Rules>, AppError> {
    caller.read()?;
    Ok(Json(state.book.lock().or_poisoned().rules().clone()))
}

/// `GET /api/v1/audit`: the trail as NDJSON, oldest first (admins: everything; duty officers: the
/// steps of the alerts in their scope).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "alerts",
    security(("session" = [])),
    params(yiping_protocol::api::AuditQuery),
    responses(
        (status = 200, description = "The audit trail, oldest first, one JSON entry per line (admins: everything; duty \
            officers: the steps of the alerts in their scope).", body = String, content_type = "application/x-ndjson"),
        crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden
    )
)]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let user = caller.with_role(&[Role::Admin, Role::Duty], "the audit trail")?.clone();
    let only_alerts = user.role != Role::Admin || user.scope.is_some();
    let filter = Filter {
        after: q.after.unwrap_or(0),
        action_prefix: only_alerts.then(|| "alert.".to_owned()),
        target: q.alert.clone(),
        limit: Some(q.limit.unwrap_or(100_000).min(100_000)),
    };
    let entries = state.trail.lock().or_poisoned().list(&filter)?;
    // Which alerts are in scope: the raise entry says where each alert is.
    let mut scoped: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut out = String::new();
    for e in entries {
        if let Some(scope) = user.scope.as_deref() {
            let visible = match scoped.get(&e.target) {
                Some(v) => *v,
                None => {
                    let adcode = if e.action == "alert.raise" {
                        e.body["adcode"].as_str().map(str::to_owned)
                    } else {
                        let book = state.book.lock().or_poisoned();
                        find(&state, &book, &e.target).ok().map(|a| a.adcode)
                    };
                    let v = adcode.is_some_and(|a| a.starts_with(scope));
                    scoped.insert(e.target.clone(), v);
                    v
                }
            };
            if !visible {
                continue;
            }
        }
        out.push_str(&serde_json::to_string(&e).map_err(|err| AppError::Internal(err.to_string()))?);
        out.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8")], out).into_response())
}
