//! The intake listener: `POST /intake/v1/{source}` (webhooks and pushes),
//! `POST /intake/v1/{source}/handoffs` (a voice platform naming the integration) and the seed's
//! routes under `/intake/v1/{source}/api/…` (every route is declared in `intake_routes.rs`), served on an
//! address of its own (`serve --intake-bind`), apart from the admin API: nothing else is routed
//! here, and the console's token means nothing here. A thin adapter over
//! `App::accept_intake`; what each refusal is answered with is decided once, in
//! [`refusal`].

use super::intake_routes::{Action, OPENAPI_PATH, ROUTES};
use crate::intake::{IntakeError, MAX_INTAKE_BODY};
use crate::service::App;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The intake routes (declared in `intake_routes.rs`, which also describes them), their
/// OpenAPI document, and a JSON 404 for anything else.
pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new().route(OPENAPI_PATH, get(openapi_document));
    for route in ROUTES {
        let action = route.action;
        let method = MethodFilter::try_from(route.method.clone())
            .unwrap_or_else(|_| panic!("intake_routes.rs: no method filter for {}", route.method));
        let handler = move |State(app): State<Arc<App>>,
                            Path(mut params): Path<HashMap<String, String>>,
                            request| {
            let source = params.remove("source").unwrap_or_default();
            take(app, source, action, request)
        };
        router = router.route(route.path, on(method, handler));
    }
    router.fallback(not_found).with_state(app)
}

/// How to send to this listener; no credentials needed (it says nothing about any source).
async fn openapi_document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::intake_routes::intake_json(),
    )
        .into_response()
}

/// The request's headers as the service reads them: names in lowercase (as HTTP/1 gives them
/// to axum), values that are visible ASCII (any other reads as missing).
fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

async fn take(app: Arc<App>, source: String, action: Action, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_INTAKE_BODY as u64) {
        return refusal(&source, IntakeError::TooLarge);
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return refusal(&source, e),
    };
    let headers = header_list(&parts.headers);
    let endpoint = match action {
        Action::Accept(endpoint) => endpoint,
        Action::TestDatabase => {
            return match app.test_database_intake(&source, &headers, &body).await {
                Ok(answer) => (StatusCode::OK, axum::Json(&answer)).into_response(),
                Err(e) => refusal(&source, e),
            };
        }
    };
    match app.accept_intake(&source, endpoint, &headers, &body).await {
        Ok(accepted) => {
            let mut response = (StatusCode::ACCEPTED, axum::Json(&accepted)).into_response();
            if accepted.repeat {
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            response
        }
        Err(e) => refusal(&source, e),
    }
}

/// The body, refused as too large as soon as it passes the limit (whatever Content-Length
/// said). A sender that went away gets nothing back, so any other error reads the same.
async fn read_body(body: axum::body::Body) -> Result<Vec<u8>, IntakeError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| IntakeError::TooLarge)?;
        if bytes.len() + chunk.len() > MAX_INTAKE_BODY {
            return Err(IntakeError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The one place a refusal becomes an answer. A failed verification and an unknown source read
/// the same (401, nothing more); the reason goes to the log.
fn refusal(source: &str, e: IntakeError) -> Response {
    let body = |kind: &str, message: String| {
        axum::Json(json!({"error": {"kind": kind, "message": message}}))
    };
    match e {
        IntakeError::Unauthorized(reason) => {
            tracing::warn!(source = %source, "intake message refused: {reason}");
            (
                StatusCode::UNAUTHORIZED,
                body("unauthorized", "unauthorized".into()),
            )
                .into_response()
        }
        IntakeError::Disabled => {
            (StatusCode::FORBIDDEN, body("forbidden", e.to_string())).into_response()
        }
        IntakeError::NotAllowed(_) => {
            (StatusCode::FORBIDDEN, body("forbidden", e.to_string())).into_response()
        }
        IntakeError::RateLimited(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.max(1).to_string())],
                body("rateLimited", e.to_string()),
            )
                .into_response()
        }
        IntakeError::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            body("tooLarge", e.to_string()),
        )
            .into_response(),
        IntakeError::Invalid(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "error": e })),
        )
            .into_response(),
        IntakeError::Unavailable(e) => {
            tracing::error!(source = %source, "intake message not taken: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5".to_string())],
                body(
                    "unavailable",
                    "the console cannot take messages right now; send it again".into(),
                ),
            )
                .into_response()
        }
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": {"kind": "notFound", "message": "no such intake route: POST /intake/v1/<source> or /intake/v1/<source>/handoffs"}})),
    )
        .into_response()
}
