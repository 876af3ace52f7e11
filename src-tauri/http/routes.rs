//! `/api/v1`: every operation of the list (operations.rs) and the file transfers
//! (transfers.rs), behind the console's bearer token.

use super::error::unauthorized;
use super::{ApiState, token};
use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;

pub fn api(state: ApiState) -> Router {
    let v1 = super::operations::routes()
        .merge(super::transfers::routes())
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
