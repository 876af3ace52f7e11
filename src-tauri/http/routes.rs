//! `/api/v1`: every operation of the list (operations.rs), the file transfers (transfers.rs)
//! and the API's OpenAPI document (openapi.rs), behind the console's bearer token.

use super::error::unauthorized;
use super::{ApiState, token};
use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn api(state: ApiState) -> Router {
    let v1 = super::operations::routes()
        .merge(super::transfers::routes())
        .route("/openapi.json", get(openapi_document))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state);
    Router::new().nest("/api/v1", v1)
}

async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if token::matches(&state.token, t.trim()) => next.run(request).await,
        _ => unauthorized(),
    }
}

/// The admin API's OpenAPI document. Behind the token like every `/api/v1` route: it is
/// harmless, but one rule for the whole prefix leaves nothing to remember.
async fn openapi_document() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        super::openapi::admin_json(),
    )
        .into_response()
}
