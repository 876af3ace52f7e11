//! `/api/v1` routes that move files rather than JSON, so they are not operations (HTTP only; the
//! window reads and writes files where they are): uploading an exported history file to open it
//! read-only (`POST /history-files`, the raw body, at most 512 MiB, streamed to a copy in the
//! data dir), the history as CSV (`GET /attempts.csv`, streamed, masked data only), and an
//! export's file (`GET /exports/{fileName}`; only names the console gives its exports, only
//! from that folder).

use super::ApiState;
use super::error::ApiError;
use super::extract::Query;
use crate::error::AppError;
use crate::service::history::MAX_CSV_ROWS;
use crate::service::history_files::MAX_UPLOAD_BYTES;
use crate::service::requests::HistoryQuery;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Result<T> = std::result::Result<T, ApiError>;

/// How much of an export's file each chunk of its download carries.
const CHUNK: usize = 64 * 1024;

pub fn routes() -> Router<ApiState> {
    let uploads = Uploads(Arc::new(tokio::sync::Semaphore::new(
        MAX_CONCURRENT_UPLOADS,
    )));
    Router::new()
        .route("/history-files", post(upload))
        .route("/attempts.csv", get(csv))
        .route("/exports/{name}", get(download))
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
    State(s): State<ApiState>,
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
    let path = s.console.files.upload_path()?;
    let mut partial = PartialUpload(Some(path.clone()));
    write_bounded(&path, body).await?;
    let name = q.name.as_deref().unwrap_or("history file");
    // From here the registry owns the copy (and deletes it on a failed open).
    partial.0 = None;
    let info = s.console.files.open_upload(path, name).await?;
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

/// Streams the export chunk by chunk, so a million rows never sit in memory at once. Its
/// headers say how many attempts matched and how many rows it writes (at most
/// [`MAX_CSV_ROWS`]).
async fn csv(State(s): State<ApiState>, Query(q): Query<HistoryQuery>) -> Result<Response> {
    let (export, total) = s.console.app.history_csv_plan(&q, MAX_CSV_ROWS).await?;
    let rows = total.min(MAX_CSV_ROWS);
    let app = s.console.app.clone();
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

/// Streams the file, so a large history never sits in memory.
async fn download(State(s): State<ApiState>, Path(name): Path<String>) -> Result<Response> {
    let path = s.console.app.export_file(&name)?;
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
