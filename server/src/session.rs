//! Logging in and out: `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/me`, and the
//! admins' `GET /api/v1/users`. Every attempt is audited; failures are rate limited per client
//! address and per user name ([`crate::auth::Limiter`]).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use yiping_protocol::api::{Me, OkAnswer};

use crate::AppState;
use crate::auth::{self, Caller, Role};
use crate::changes::Change;
use crate::error::AppError;
use crate::sync::OrPoisoned;
use crate::trail::NewEntry;

pub use yiping_protocol::api::Login;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// `POST /api/v1/login` with `{"name","password"}`: sets the session cookie.
#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "sessions",
    request_body(content = yiping_protocol::api::Login, example = json!({"name": "zhang", "password": "a long passphrase"})),
    responses(
        (status = 200, description = "Logged in: the session cookie is set.", body = Me,
            headers(("Set-Cookie" = String, description = "The session cookie (HttpOnly, SameSite=Strict)."))),
        crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::TooMany
    )
)]
pub async fn login(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    form: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Json(form) = form.map_err(|e| {
        AppError::BadRequest(format!("a login as JSON {{\"name\", \"password\"}}: {}", e.body_text()))
    })?;
    let now = Instant::now();
    let keys = [format!("ip:{}", caller.ip()), format!("user:{}", form.name)];
    let limits = [auth::LOGIN_FAILURES_PER_ADDRESS, auth::LOGIN_FAILURES];
    if let Some(wait) =
        keys.iter().zip(limits).filter_map(|(k, max)| state.limiter.blocked(k, max, now)).max()
    {
        return Err(AppError::TooMany(wait.as_secs().max(1)));
    }
    let found = {
        let trail = state.trail.lock().or_poisoned();
        auth::find_user(trail.connection(), &form.name).map_err(internal)?
    };
    // Verify even for unknown names, so the answer takes as long either way.
    let stored = found.as_ref().map(|(_, h)| h.clone());
    let password = form.password.clone();
    let ok = tokio::task::spawn_blocking(move || {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| auth::hash_password("not anybody's password").unwrap_or_default());
        auth::verify_password(&password, stored.as_deref().unwrap_or(dummy))
    })
    .await
    .map_err(internal)?;
    let user = match found {
        Some((u, _)) if ok && !u.disabled => u,
        other => {
            for k in &keys {
                state.limiter.fail(k, now);
            }
            let why = match other {
                Some((u, _)) if u.disabled => "account disabled",
                Some(_) => "wrong password",
                None => "unknown user",
            };
            let audit = NewEntry {
                actor: form.name.clone(),
                addr: caller.ip(),
                action: "login.failed".into(),
                target: form.name.clone(),
                comment: why.into(),
                ..Default::default()
            };
            state.change(Change::Audit, audit).await?;
            return Err(AppError::Unauthorized("wrong user name or password".into()));
        }
    };
    state.limiter.clear(&keys[1]);
    // The token stays here; every node keeps its hash (a console whose node dies stays logged in).
    let (token, hash) = auth::new_session_token();
    let change = Change::SessionStart {
        hash,
        user: user.name.clone(),
        expires: auth::session_expires(state.access.session),
        addr: caller.ip(),
    };
    let audit = NewEntry {
        actor: user.name.clone(),
        role: user.role.as_str().into(),
        addr: caller.ip(),
        action: "login".into(),
        target: user.name.clone(),
        ..Default::default()
    };
    state.change(change, audit).await?;
    let cookie = auth::session_cookie(Some(&token), &state.access);
    let me = Me {
        name: Some(user.name.clone()),
        role: Some(user.role),
        scope: user.scope.clone(),
        can_read: true,
        can_act: user.role.can_act(),
    };
    let mut resp = Json(me).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(internal)?);
    Ok(resp)
}

/// `POST /api/v1/logout`: ends the session and clears the cookie.
#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "sessions",
    security(("session" = [])),
    responses((status = 200, description = "The session ended; the cookie is cleared.", body = yiping_protocol::api::OkAnswer))
)]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let user = caller.user()?.clone();
    let audit = NewEntry {
        actor: user.name.clone(),
        role: user.role.as_str().into(),
        addr: caller.ip(),
        action: "logout".into(),
        target: user.name,
        ..Default::default()
    };
    let change = match auth::cookie_token(&headers) {
        Some(t) => Change::SessionEnd { hash: crate::store::token_hash(&t) },
        None => Change::Audit,
    };
    state.change(change, audit).await?;
    let mut resp = Json(OkAnswer { ok: true }).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&auth::session_cookie(None, &state.access)).map_err(internal)?,
    );
    Ok(resp)
}

/// `GET /api/v1/me`: who the session is, and what it may do.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "sessions",
    security((), ("session" = [])),
    responses((status = 200, description = "Who the session is and what it may do.", body = Me))
)]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(match &caller.user {
        Some(u) => Me {
            name: Some(u.name.clone()),
            role: Some(u.role),
            scope: u.scope.clone(),
            can_read: true,
            can_act: u.role.can_act(),
        },
        None => Me { can_read: caller.anonymous_ok, ..Me::default() },
    })
}

/// `GET /api/v1/users`: every account (admins only).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "sessions",
    security(("session" = [])),
    responses((status = 200, description = "Every account (admins only).", body = Vec<auth::User>), crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn users(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<auth::User>>, AppError> {
    caller.with_role(&[Role::Admin], "the user list")?;
    let trail = state.trail.lock().or_poisoned();
    Ok(Json(auth::list_users(trail.connection()).map_err(internal)?))
}
