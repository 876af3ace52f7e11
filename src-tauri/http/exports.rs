//! `/api/v1/exports`: the history written to a file from the UI, as the CLI's `export` does.
//! `POST` starts the export as a job into `<data dir>/exports/`; the job's `ExportResult` names
//! the file, which `GET /exports/{fileName}` then downloads. Only names the console gives its
//! exports are served, and only from that folder.

use super::ApiState;
use super::error::ApiError;
use super::routes::Body;
use crate::error::AppError;
use crate::service::ExportPlace;
use crate::service::requests::ExportRequest;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::io::AsyncReadExt;

/// How much of the file each chunk of the download carries.
const CHUNK: usize = 64 * 1024;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/exports", post(start))
        .route("/exports/{name}", get(download))
}

async fn start(
    State(s): State<ApiState>,
    Body(r): Body<ExportRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        s.app.start_export(&s.jobs, r, ExportPlace::DataDir).await?,
    ))
}

/// Streams the file, so a large history never sits in memory.
async fn download(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let path = s.app.export_file(&name)?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| AppError::not_found("export", &name))?;
    let length = file.metadata().await.map(|m| m.len()).ok();
    let stream = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), Some(file)))
            }
            // The status is already sent: cut the body short so the download fails visibly.
            Err(e) => Some((Err(e), None)),
        }
    });
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/vnd.sqlite3".to_string()),
            (
                header::CONTENT_DISPOSITION,
                // The name is the console's own (checked above): no quoting needed.
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response();
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, length.into());
    }
    Ok(response)
}
