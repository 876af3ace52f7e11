//! The Health Dashboard's routes beyond `GET`/`POST /health` (in `routes`): an integration's
//! kept results, newest first, for its trend; and every integration's delivery summary for the
//! Integrations list.

use super::ApiState;
use super::error::ApiError;
use super::routes::Query;
use crate::service::test_health_requests::{DeliveriesQuery, HealthHistoryQuery};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/health/history", get(history))
        .route("/deliveries", get(deliveries))
}

async fn history(
    State(s): State<ApiState>,
    Query(q): Query<HealthHistoryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.app.health_history_query(&q).await?))
}

async fn deliveries(
    State(s): State<ApiState>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.app.delivery_summaries_query(&q).await?))
}
