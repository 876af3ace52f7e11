//! `AppError` as an HTTP response: the status from its kind, the body `{"error": {...}}` (the
//! same shape the CLI prints with `--json`).

use crate::ErrorKind;
use crate::error::AppError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.kind);
        (status, Json(serde_json::json!({ "error": self.0 }))).into_response()
    }
}

/// Unauthorised: no token, or a wrong one.
pub fn unauthorized() -> Response {
    let body = serde_json::json!({"error": {
        "kind": "unauthorized",
        "message": "sign in: send the console's token as 'Authorization: Bearer <token>' \
                    (`handoff-console token` prints it)"
    }});
    (
        StatusCode::UNAUTHORIZED,
        [("www-authenticate", "Bearer")],
        Json(body),
    )
        .into_response()
}
