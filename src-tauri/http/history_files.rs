//! `/api/v1/history-files`: browsing an exported history file read-only. The browser uploads
//! the file (the raw body, at most 512 MiB, streamed to a copy in the data dir); it is opened
//! with `App::open_history` under an id, and its attempts (a list, pages, one attempt's view),
//! handoffs (pages), stats and audit trail are read from that read-only console. `DELETE`
//! closes it and deletes the copy.

use super::ApiState;
use super::error::ApiError;
use super::routes::Query;
use crate::audit::AuditFilter;
use crate::error::AppError;
use crate::service::history_files::{HistoryFiles, MAX_UPLOAD_BYTES};
use crate::service::requests::{HandoffsQuery, HistoryQuery, StatsQuery};
use axum::body::Body;
use axum::extract::{Extension, Path};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

type Result<T> = std::result::Result<T, ApiError>;
type Files = Extension<Arc<HistoryFiles>>;

/// The routes, with a registry of their own (made lazily under the console's data dir).
pub fn routes(state: &ApiState) -> Router<ApiState> {
    let files = Arc::new(HistoryFiles::new(state.app.data_dir()));
    let uploads = Uploads(Arc::new(tokio::sync::Semaphore::new(
        MAX_CONCURRENT_UPLOADS,
    )));
    Router::new()
        .route("/history-files", post(upload).get(list))
        .route("/history-files/{id}", axum::routing::delete(close))
        .route("/history-files/{id}/attempts", get(attempts))
        .route("/history-files/{id}/attempts/page", get(attempts_page))
        .route("/history-files/{id}/attempts/{attempt}", get(attempt_view))
        .route("/history-files/{id}/handoffs/page", get(handoffs_page))
        .route("/history-files/{id}/stats", get(stats))
        .route("/history-files/{id}/audit", get(audit))
        .layer(Extension(files))
        .layer(Extension(uploads))
}

/// Uploads at once: each may take up to [`MAX_UPLOAD_BYTES`] of disk while it streams in.
const MAX_CONCURRENT_UPLOADS: usize = 2;

#[derive(Clone)]
struct Uploads(Arc<tokio::sync::Semaphore>);

/// An upload's copy, deleted unless it was opened: also when the request is dropped midway
/// (the client went away, or the console is stopping).
struct PartialUpload(Option<std::path::PathBuf>);

impl Drop for PartialUpload {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    name: Option<String>,
}

async fn upload(
    Extension(files): Files,
    Extension(uploads): Extension<Uploads>,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> Result<impl IntoResponse> {
    let _slot = uploads.0.try_acquire().map_err(|_| {
        AppError::new(
            crate::ErrorKind::Conflict,
            format!("{MAX_CONCURRENT_UPLOADS} uploads are under way; try again when one is done"),
        )
    })?;
    let path = files.upload_path()?;
    let mut partial = PartialUpload(Some(path.clone()));
    write_bounded(&path, body).await?;
    let name = q.name.as_deref().unwrap_or("history file");
    // From here the registry owns the copy (and deletes it on a failed open).
    partial.0 = None;
    let info = files.open_upload(path, name).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Streams the body to `path`, refusing more than [`MAX_UPLOAD_BYTES`] or nothing at all.
async fn write_bounded(path: &std::path::Path, body: Body) -> std::result::Result<(), AppError> {
    // Patients' history, masked: its owner's alone, as the store is.
    let mut file =
        tokio::fs::File::from_std(crate::files::create_private(path).map_err(AppError::internal)?);
    let mut stream = body.into_data_stream();
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| AppError::invalid("file", format!("upload failed: {e}")))?;
        written += chunk.len() as u64;
        if written > MAX_UPLOAD_BYTES {
            return Err(AppError::invalid(
                "file",
                format!(
                    "larger than the {} MiB an upload may be: open it in the desktop console (which \
                     reads the file where it is), or export a shorter time window",
                    MAX_UPLOAD_BYTES / 1024 / 1024
                ),
            ));
        }
        file.write_all(&chunk).await.map_err(AppError::internal)?;
    }
    if written == 0 {
        return Err(AppError::invalid("file", "the file is empty"));
    }
    file.flush().await.map_err(AppError::internal)?;
    Ok(())
}

async fn list(Extension(files): Files) -> Json<Vec<crate::service::HistoryFileInfo>> {
    Json(files.list())
}

async fn close(Extension(files): Files, Path(id): Path<String>) -> Result<impl IntoResponse> {
    Ok(Json(files.close(&id).await?))
}

async fn attempts(
    Extension(files): Files,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<impl IntoResponse> {
    Ok(Json(files.get(&id)?.history_query(&q).await?))
}

async fn attempts_page(
    Extension(files): Files,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<impl IntoResponse> {
    Ok(Json(files.get(&id)?.history_page_query(&q).await?))
}

async fn attempt_view(
    Extension(files): Files,
    Path((id, attempt)): Path<(String, String)>,
) -> Result<impl IntoResponse> {
    let attempt: crate::ids::AttemptId = attempt
        .parse()
        .map_err(|_| AppError::invalid("attemptId", format!("'{attempt}' is not an id")))?;
    Ok(Json(files.get(&id)?.attempt_view(attempt).await?))
}

async fn handoffs_page(
    Extension(files): Files,
    Path(id): Path<String>,
    Query(q): Query<HandoffsQuery>,
) -> Result<impl IntoResponse> {
    Ok(Json(files.get(&id)?.handoffs_page_query(&q).await?))
}

async fn stats(
    Extension(files): Files,
    Path(id): Path<String>,
    Query(q): Query<StatsQuery>,
) -> Result<impl IntoResponse> {
    Ok(Json(files.get(&id)?.stats_query(&q).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<u32>,
}

async fn audit(
    Extension(files): Files,
    Path(id): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<impl IntoResponse> {
    let filter = AuditFilter {
        limit: q.limit,
        ..Default::default()
    };
    Ok(Json(files.get(&id)?.audit_log(&filter).await?))
}
