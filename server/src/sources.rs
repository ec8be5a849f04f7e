//! Ingest sources: their tokens, made, listed, revoked and rotated by admins (over the API here,
//! or with `yiping token` on the server machine), and their rate limits, enforced per source on
//! `POST /api/v1/events` with 429 and `Retry-After`.
//!
//! A token is shown once, when it is made; the store keeps its SHA-256, and lists and revokes it
//! by an id, the first 12 hex digits of that hash. Rotating a source's tokens makes a new one and
//! ends the others after a grace period, so the source can switch without losing a batch.
//!
//! The rate limit is a token bucket per source, refilled at the source's rate and holding
//! [`BURST_S`] seconds of it: a batch goes through when the bucket holds as many events as the
//! batch has lines; a batch larger than the bucket when the bucket is full, leaving it in debt.
//! Either way the source's average stays within its rate, and a refused batch is told how many
//! seconds to wait. The buckets live in the server's memory (a restart refills them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use yiping_protocol::api::{NewToken, RateLimit, Role, SourceInfo};
use yiping_protocol::instant::Timestamp;

use crate::AppState;
use crate::auth::Caller;
use crate::changes::Change;
use crate::error::AppError;
use crate::store::{Store, StoreError, TOKEN_ID_LEN, token_hash};
use crate::sync::OrPoisoned;
use crate::trail::NewEntry;

/// How many seconds of its rate a source's bucket holds.
pub const BURST_S: f64 = 10.0;

/// The highest rate limit that can be set, events a second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// The lowest rate limit that can be set, events a second (one event in 100 s).
pub const MIN_RATE: f64 = 0.01;

/// The longest grace period of a rotation, hours (a year).
pub const MAX_GRACE_HOURS: u32 = 24 * 366;

/// Whether `name` can name a source: 1–64 characters, no spaces.
pub fn check_source_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(char::is_whitespace) {
        Err(format!("source {name:?}: a source name is 1–64 characters without spaces"))
    } else {
        Ok(())
    }
}

/// Whether `rate` can be a rate limit.
pub fn check_rate(rate: f64) -> Result<(), String> {
    if rate.is_finite() && (MIN_RATE..=MAX_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(format!("rate {rate}: events a second, from {MIN_RATE} to {MAX_RATE}"))
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    rate: f64,
    level: f64,
    at: f64,
}

/// The sources' token buckets.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Take `n` events for `source`, limited to `rate` a second, at `now` (seconds on a steady
    /// clock): `Ok`, or `Err` with the whole seconds to wait (at least 1).
    pub fn take(&self, source: &str, rate: f64, n: usize, now: f64) -> Result<(), u64> {
        let capacity = (rate * BURST_S).max(1.0);
        let mut buckets = self.buckets.lock().or_poisoned();
        let b = buckets.entry(source.to_owned()).or_insert(Bucket { rate, level: capacity, at: now });
        if b.rate != rate {
            // A new limit: the bucket keeps what it holds, within the new capacity.
            b.rate = rate;
            b.level = b.level.min(capacity);
        }
        b.level = (b.level + (now - b.at).max(0.0) * rate).min(capacity);
        b.at = now;
        let n = n as f64;
        // A batch within the bucket needs that many; a larger one needs a full bucket.
        let needed = n.min(capacity);
        if b.level + 1e-9 >= needed {
            b.level -= n;
            Ok(())
        } else {
            Err(((needed - b.level) / rate).ceil().max(1.0) as u64)
        }
    }
}

impl RateLimiter {
    /// Give back `n` events taken for `source` (a batch the log did not take).
    pub fn refund(&self, source: &str, n: usize) {
        if let Some(b) = self.buckets.lock().or_poisoned().get_mut(source) {
            b.level = (b.level + n as f64).min((b.rate * BURST_S).max(1.0));
        }
    }
}

/// Seconds on the process's steady clock, for [`RateLimiter::take`].
pub fn steady_now() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()
}

fn admin(caller: &Caller) -> Result<(String, String), AppError> {
    let u = caller.with_role(&[Role::Admin], "managing sources and tokens")?;
    Ok((u.name.clone(), u.role.as_str().to_owned()))
}

/// The audit entry of an admin's change to the sources.
fn audit_entry(
    caller: &Caller,
    who: (String, String),
    action: &str,
    target: &str,
    body: serde_json::Value,
) -> NewEntry {
    NewEntry {
        actor: who.0,
        role: who.1,
        addr: caller.ip(),
        action: action.into(),
        target: target.into(),
        body,
        ..Default::default()
    }
}

/// A new token for `source` (a name [`check_source_name`] accepts), to be shown once.
pub fn create(store: &Store, source: &str) -> Result<NewToken, StoreError> {
    let token = store.create_token(source)?;
    let id = token_hash(&token)[..TOKEN_ID_LEN].to_owned();
    Ok(NewToken { source: source.to_owned(), token, id })
}

/// Rotate `source`'s tokens: a new one, to be shown once, and when the others end (RFC 3339),
/// `grace_hours` from now.
pub fn rotate(store: &Store, source: &str, grace_hours: u32) -> Result<(NewToken, String), StoreError> {
    let until = crate::store::unix_now() + i64::from(grace_hours) * 3600;
    let token = store.rotate_tokens(source, until)?;
    let id = token_hash(&token)[..TOKEN_ID_LEN].to_owned();
    Ok((NewToken { source: source.to_owned(), token, id }, Timestamp::from_unix_s(until).to_string()))
}

/// `GET /api/v1/sources` (admins): every source with its tokens (by id) and rate limit.
#[utoipa::path(
    get,
    path = "/api/v1/sources",
    tag = "sources",
    security(("session" = [])),
    responses((status = 200, description = "Every source with its tokens (by id) and rate limit.", body = Vec<SourceInfo>), crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn http_list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<SourceInfo>>, AppError> {
    admin(&caller)?;
    Ok(Json(state.reader.lock().or_poisoned().sources()?))
}

/// `POST /api/v1/sources/{source}/tokens` (admins, with a JSON body): a new token for the
/// source, shown once (201).
#[utoipa::path(
    post,
    path = "/api/v1/sources/{source}/tokens",
    tag = "sources",
    security(("session" = [])),
    params(("source" = String, Path, description = "The source's name.")),
    request_body(content = Object, description = "A JSON body (`{}` will do): a cross-site form cannot send one.", example = json!({})),
    responses((status = 201, description = "The new token, shown once.", body = NewToken), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn http_create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(source): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<(StatusCode, Json<NewToken>), AppError> {
    let who = admin(&caller)?;
    json_required(&headers)?;
    check_source_name(&source).map_err(AppError::BadRequest)?;
    let token = crate::store::new_token();
    let hash = token_hash(&token);
    let id = hash[..TOKEN_ID_LEN].to_owned();
    let change = Change::TokenAdd { hash, source: source.clone(), others_end: None };
    let audit = audit_entry(&caller, who, "token.create", &source, serde_json::json!({ "id": id }));
    state.change(change, audit).await?;
    Ok((StatusCode::CREATED, Json(NewToken { source, token, id })))
}

/// The query of `POST /api/v1/sources/{source}/rotate`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Rotate {
    /// Hours the source's other tokens stay valid (default 24, as on the command line; 0: they
    /// end now).
    #[serde(default = "default_grace")]
    pub grace_hours: u32,
}

fn default_grace() -> u32 {
    24
}

/// A JSON body (`{}` will do) is required on the POSTs that make tokens: a cross-site form
/// cannot send one without a preflight, on top of the SameSite=Strict session cookie.
fn json_required(headers: &axum::http::HeaderMap) -> Result<(), AppError> {
    let json = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if json {
        Ok(())
    } else {
        Err(AppError::BadRequest("send a JSON body (`{}` will do) as application/json".into()))
    }
}

/// `POST /api/v1/sources/{source}/rotate?grace_hours=H` (admins, with a JSON body): a new token,
/// shown once; the source's other tokens end after the grace period (default 24 h) (201).
#[utoipa::path(
    post,
    path = "/api/v1/sources/{source}/rotate",
    tag = "sources",
    security(("session" = [])),
    params(("source" = String, Path, description = "The source's name."), Rotate),
    request_body(content = Object, description = "A JSON body (`{}` will do): a cross-site form cannot send one.", example = json!({})),
    responses(
        (status = 201, description = "The new token, shown once; the source's other tokens end after the grace period.", body = NewToken),
        crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound
    )
)]
pub async fn http_rotate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(source): Path<String>,
    Query(q): Query<Rotate>,
    headers: axum::http::HeaderMap,
) -> Result<(StatusCode, Json<NewToken>), AppError> {
    let who = admin(&caller)?;
    json_required(&headers)?;
    if q.grace_hours > MAX_GRACE_HOURS {
        return Err(AppError::BadRequest(format!(
            "grace_hours {}: at most {MAX_GRACE_HOURS}",
            q.grace_hours
        )));
    }
    check_source_name(&source).map_err(AppError::BadRequest)?;
    let until = crate::store::unix_now() + i64::from(q.grace_hours) * 3600;
    let token = crate::store::new_token();
    let hash = token_hash(&token);
    let id = hash[..TOKEN_ID_LEN].to_owned();
    let ends = Timestamp::from_unix_s(until).to_string();
    let change = Change::TokenAdd { hash, source: source.clone(), others_end: Some(until) };
    let body = serde_json::json!({ "id": id, "others_end": ends });
    state.change(change, audit_entry(&caller, who, "token.rotate", &source, body)).await?;
    Ok((StatusCode::CREATED, Json(NewToken { source, token, id })))
}

/// `DELETE /api/v1/tokens/{id}` (admins): the token ends now (204). `id`: its id, or at least
/// its first 6 hex digits.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "sources",
    security(("session" = [])),
    params(("id" = String, Path, description = "The token's id, or at least its first 6 hex digits.")),
    responses((status = 204, description = "The token ended now."), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound)
)]
pub async fn http_revoke(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let who = admin(&caller)?;
    // The whole id, found here: every node ends the same token.
    let (hash, _) = state.reader.lock().or_poisoned().token_by_id(&id)?.map_err(AppError::NotFound)?;
    let change = Change::TokenEnd { id: hash, at: crate::store::unix_now() };
    // The entry's source and id are filled in by applying the change.
    state.change(change, audit_entry(&caller, who, "token.revoke", "", serde_json::Value::Null)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/sources/{source}/rate` (admins): `{"rate": 200}` limits the source to 200 events
/// a second, `{"rate": null}` lifts its limit (204).
#[utoipa::path(
    put,
    path = "/api/v1/sources/{source}/rate",
    tag = "sources",
    security(("session" = [])),
    params(("source" = String, Path, description = "The source's name.")),
    request_body(content = RateLimit, example = json!({"rate": 200})),
    responses((status = 204, description = "The limit is in force (or lifted)."), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound)
)]
pub async fn http_rate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(source): Path<String>,
    body: Result<Json<RateLimit>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, AppError> {
    let who = admin(&caller)?;
    check_source_name(&source).map_err(AppError::BadRequest)?;
    let Json(limit) = body.map_err(|e| {
        AppError::BadRequest(format!("{{\"rate\": events a second or null}}: {}", e.body_text()))
    })?;
    if let Some(r) = limit.rate {
        check_rate(r).map_err(AppError::BadRequest)?;
    }
    let audit = audit_entry(&caller, who, "source.rate", &source, serde_json::json!({ "rate": limit.rate }));
    state.change(Change::Rate { source, rate: limit.rate }, audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The sources as `yiping token list` prints them: one line per token (or per source without
/// one), aligned.
pub fn listing(store: &Store) -> Result<String, crate::store::StoreError> {
    let now = Timestamp::now();
    let row = |source: &str, id: &str, created: &str, state: &str, rate: &str| {
        format!("{source:<20} {id:<14} {created:<20} {state:<32} {rate}\n")
    };
    let mut out = row("SOURCE", "TOKEN", "CREATED", "STATE", "RATE (events/s)");
    for s in store.sources()? {
        let rate = s.rate.map_or_else(|| "no limit".to_owned(), |r| format!("{r}"));
        if s.tokens.is_empty() {
            out.push_str(&row(&s.source, "—", "—", "no token", &rate));
        }
        for t in &s.tokens {
            let state = match t.expires.as_deref().and_then(|e| Timestamp::parse(e).ok()) {
                None => "valid".to_owned(),
                Some(e) if e > now => format!("valid until {e}"),
                Some(e) => format!("ended {e}"),
            };
            // To the second: a listing, not a record.
            let created = Timestamp::parse(&t.created)
                .map_or_else(|_| t.created.clone(), |c| Timestamp::from_unix_s(c.unix_s()).to_string());
            out.push_str(&row(&s.source, &t.id, &created, &state, &rate));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_ten_seconds_of_the_rate() {
        let l = RateLimiter::default();
        // 100/s: a full bucket is 1,000 events.
        assert_eq!(l.take("a", 100.0, 600, 0.0), Ok(()));
        assert_eq!(l.take("a", 100.0, 400, 0.0), Ok(()));
        // Empty: 50 events need half a second, said as 1.
        assert_eq!(l.take("a", 100.0, 50, 0.0), Err(1));
        assert_eq!(l.take("a", 100.0, 50, 0.5), Ok(()));
        // 700 more need 7 s of refill.
        assert_eq!(l.take("a", 100.0, 700, 0.5), Err(7));
        assert_eq!(l.take("a", 100.0, 700, 7.5), Ok(()));
        // Another source has its own bucket.
        assert_eq!(l.take("b", 100.0, 1000, 7.5), Ok(()));
    }

    #[test]
    fn a_batch_larger_than_the_bucket_waits_for_a_full_one_and_leaves_a_debt() {
        let l = RateLimiter::default();
        // 10/s holds 100; a batch of 500 from a full bucket goes, leaving 400 to pay back.
        assert_eq!(l.take("a", 10.0, 500, 0.0), Ok(()));
        assert_eq!(l.take("a", 10.0, 1, 0.0), Err(41));
        assert_eq!(l.take("a", 10.0, 1, 40.1), Ok(()));
        // Over any long run the average stays within the rate.
        let mut sent = 0;
        let mut t = 100.0;
        while t < 1100.0 {
            if l.take("a", 10.0, 500, t).is_ok() {
                sent += 500;
            }
            t += 1.0;
        }
        assert!(f64::from(sent) <= 10.0 * 1000.0 + 1000.0, "{sent}");
        assert!(f64::from(sent) >= 10.0 * 1000.0 - 1000.0, "{sent}");
    }

    #[test]
    fn a_source_in_debt_is_turned_away_before_its_body_and_a_batch_not_stored_is_refunded() {
        let l = RateLimiter::default();
        assert_eq!(l.take("a", 10.0, 300, 0.0), Ok(()));
        // In debt (-200): even an empty take is refused, with the time until the debt is paid.
        assert_eq!(l.take("a", 10.0, 0, 0.0), Err(20));
        // The log refused the batch: its events come back.
        l.refund("a", 300);
        assert_eq!(l.take("a", 10.0, 100, 0.0), Ok(()));
    }

    #[test]
    fn a_new_rate_applies_at_once() {
        let l = RateLimiter::default();
        assert_eq!(l.take("a", 1000.0, 5000, 0.0), Ok(()));
        // Lowered to 1/s: the bucket keeps at most 10.
        assert_eq!(l.take("a", 1.0, 10, 0.0), Ok(()));
        assert_eq!(l.take("a", 1.0, 1, 0.0), Err(1));
    }

    #[test]
    fn names_and_rates_are_checked() {
        assert!(check_source_name("hbsthj").is_ok());
        assert!(check_source_name("has space").is_err());
        assert!(check_source_name("").is_err());
        assert!(check_rate(0.0).is_err());
        assert!(check_rate(f64::NAN).is_err());
        assert!(check_rate(250.0).is_ok());
        assert!(check_rate(1e-300).is_err(), "a rate that would make Retry-After overflow");
    }
}
