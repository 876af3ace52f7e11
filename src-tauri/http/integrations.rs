//! `/api/v1` routes of the Integrations screen beyond CRUD: the target table's live columns
//! (for the mapping editor) and the demo workspace's list, sample handoffs and one-step removal.

use super::ApiState;
use super::error::ApiError;
use super::routes::Body;
use crate::service::ColumnsRequest;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

type Result<T> = std::result::Result<T, ApiError>;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/integrations/columns", post(columns))
        .route("/demo", get(demo).delete(remove_demo))
        .route("/demo/samples", post(demo_samples))
}

/// One sample handoff to each demo integration (`DemoSamples`).
async fn demo_samples(State(s): State<ApiState>) -> Result<impl IntoResponse> {
    Ok(Json(s.app.send_demo_samples().await?))
}

async fn columns(
    State(s): State<ApiState>,
    Body(r): Body<ColumnsRequest>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.target_columns(r).await?))
}

/// The demo's integrations' ids (the UI labels them).
async fn demo(State(s): State<ApiState>) -> Result<impl IntoResponse> {
    let ids = s.app.demo_integration_ids().await?;
    Ok(Json(json!({ "integrations": ids })))
}

async fn remove_demo(State(s): State<ApiState>) -> Result<impl IntoResponse> {
    Ok(Json(s.app.remove_demo().await?))
}
