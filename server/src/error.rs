//! One error type for HTTP handlers: each failure maps to one status and a JSON message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A handler failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Nothing at this address.
    #[error("not found: {0}")]
    NotFound(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
        };
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}
