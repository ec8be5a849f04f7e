//! One error type for HTTP handlers: each failure maps to one status and a JSON message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A handler failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Nothing at this address.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No valid credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Logged in (or anonymous) but not allowed: wrong role or outside the region scope.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request conflicts with the current state (e.g. resolving a resolved alert).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many attempts: try again after this many seconds.
    #[error("too many attempts: try again in {0} s")]
    TooMany(u64),
    /// A source sent faster than its rate limit: try again after `wait` seconds.
    #[error("source {name} is limited to {rate} events a second: try again in {wait} s")]
    RateLimited {
        /// The source.
        name: String,
        /// Its limit, events a second.
        rate: f64,
        /// Seconds to wait.
        wait: u64,
    },
    /// The body is larger than the limit (bytes).
    #[error("payload too large: the limit is {0} bytes; split the batch")]
    TooLarge(usize),
    /// Overloaded: try again after a second.
    #[error("busy: {0}")]
    Busy(String),
    /// The server failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooMany(_) | AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let busy = matches!(self, AppError::Busy(_));
        let retry = match self {
            AppError::TooMany(s) | AppError::RateLimited { wait: s, .. } => Some(s),
            _ => None,
        };
        let unauthorized = matches!(self, AppError::Unauthorized(_));
        let mut resp =
            (status, Json(yiping_protocol::api::ErrorAnswer { error: self.to_string() })).into_response();
        if busy {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(s) = retry {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if unauthorized {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<crate::timeline::SeekError> for AppError {
    fn from(e: crate::timeline::SeekError) -> Self {
        if let crate::timeline::SeekError::Unavailable(why) = e {
            return AppError::Conflict(why);
        }
        tracing::error!("time travel: {e}");
        AppError::Internal(format!("the state at that instant cannot be rebuilt: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_503_with_retry_after_and_unauthorized_asks_for_a_bearer_token() {
        let r = AppError::Busy("queue full".into()).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
        let r = AppError::Unauthorized("unknown token".into()).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()), Some("Bearer"));
    }
}
