//! The Health Dashboard's routes beyond `GET`/`POST /health` (in `routes`): an integration's
//! kept results, newest first, for its trend.

use super::ApiState;
use super::error::ApiError;
use super::routes::Query;
use crate::service::test_health_requests::HealthHistoryQuery;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new().route("/health/history", get(history))
}

async fn history(
    State(s): State<ApiState>,
    Query(q): Query<HealthHistoryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.app.health_history_query(&q).await?))
}
