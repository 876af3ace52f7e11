//! The Stats panel's history routes: `GET /attempts/page` and `GET /handoffs/page` (a page and
//! the total count) and `GET /attempts.csv` (the history matching a filter as CSV, streamed,
//! masked data only).

use super::ApiState;
use super::error::ApiError;
use super::routes::Query;
use crate::service::history::MAX_CSV_ROWS;
use crate::service::requests::{HandoffsQuery, HistoryQuery};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/attempts/page", get(page))
        .route("/handoffs/page", get(handoffs_page))
        .route("/attempts.csv", get(csv))
}

async fn page(
    State(s): State<ApiState>,
    Query(q): Query<HistoryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.app.history_page_query(&q).await?))
}

async fn handoffs_page(
    State(s): State<ApiState>,
    Query(q): Query<HandoffsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.app.handoffs_page_query(&q).await?))
}

/// Streams the export chunk by chunk, so a million rows never sit in memory at once. Its
/// headers say how many attempts matched and how many rows it writes (at most
/// [`MAX_CSV_ROWS`]).
async fn csv(
    State(s): State<ApiState>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    let (export, total) = s.app.history_csv_plan(&q, MAX_CSV_ROWS).await?;
    let rows = total.min(MAX_CSV_ROWS);
    let app = s.app.clone();
    let stream = futures_util::stream::unfold(Some(export), move |export| {
        let app = app.clone();
        async move {
            let mut export = export?;
            match export.next_chunk(&app).await {
                Ok(Some(text)) => Some((Ok::<_, std::io::Error>(Bytes::from(text)), Some(export))),
                Ok(None) => None,
                Err(e) => {
                    // The status is already sent: cut the body short so the download fails
                    // visibly rather than ending as a silently short file.
                    tracing::error!("CSV export stopped: {e}");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"attempts.csv\"".to_string(),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::HeaderName::from_static("x-total-count"),
                total.to_string(),
            ),
            (
                header::HeaderName::from_static("x-exported-rows"),
                rows.to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
