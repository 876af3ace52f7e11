//! The Test Panel's routes beyond `POST /tests` (in `routes`): test data generated from the
//! field schema without running anything, and the check of custom test data.

use super::ApiState;
use super::error::ApiError;
use super::routes::Body;
use crate::service::test_health_requests::{TestCheckRequest, TestDataRequest};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/tests/data", post(generate))
        .route("/tests/check", post(check))
}

async fn generate(
    State(s): State<ApiState>,
    Body(r): Body<TestDataRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.app.test_data_request(r).await?))
}

async fn check(
    State(s): State<ApiState>,
    Body(r): Body<TestCheckRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.app.test_check_request(r).await?))
}
