//! History files opened for browsing: each an exported history opened read-only
//! ([`App::open_history`]) under a short id. At most [`MAX_OPEN`] stay open (the oldest is closed
//! first). An uploaded copy lives under `<data dir>/history-files/` and is deleted when closed,
//! evicted or when the registry is dropped; a file opened by its path is never deleted.

use super::App;
use crate::error::AppError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How many history files stay open at once.
pub const MAX_OPEN: usize = 4;
/// The largest history file accepted as an upload.
pub const MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;

/// An open history file as the UI lists it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HistoryFileInfo {
    pub id: String,
    /// The file's name as given (no directory).
    pub name: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub size_bytes: u64,
    pub opened_at: DateTime<Utc>,
}

struct Entry {
    info: HistoryFileInfo,
    app: Arc<App>,
    /// The copy to delete when closed (uploads only).
    owned: Option<PathBuf>,
}

/// The open history files.
pub struct HistoryFiles {
    dir: PathBuf,
    open: Mutex<Vec<Entry>>,
}

impl HistoryFiles {
    /// Uploads go to `<data_dir>/history-files/`. Copies a crashed process left there more than
    /// a day ago are deleted (younger ones may belong to another console on the same data dir).
    pub fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join("history-files");
        sweep_stale(&dir, std::time::Duration::from_secs(24 * 3600));
        Self {
            dir,
            open: Mutex::new(Vec::new()),
        }
    }

    /// A new path for an upload's copy (the folder is made if missing, its owner's alone; the
    /// copy is to be created with [`crate::files::create_private`]).
    pub fn upload_path(&self) -> Result<PathBuf, AppError> {
        crate::files::private_dir(&self.dir).map_err(AppError::internal)?;
        Ok(self
            .dir
            .join(format!("upload-{}.history", uuid::Uuid::now_v7().simple())))
    }

    /// Opens an uploaded copy (deleted when closed; also when it cannot be opened). Errors
    /// name the file as the user gave it, not the copy's internal path.
    pub async fn open_upload(
        &self,
        copy: PathBuf,
        name: &str,
    ) -> Result<HistoryFileInfo, AppError> {
        match self.open_inner(&copy, name, true).await {
            Ok(info) => Ok(info),
            Err(mut e) => {
                remove_copy(&copy);
                let internal = copy.display().to_string();
                let shown = format!("'{}'", clean_name(name));
                e.message = e.message.replace(&internal, &shown);
                for d in &mut e.details {
                    d.reason = d.reason.replace(&internal, &shown);
                }
                Err(e)
            }
        }
    }

    /// Opens a local file in place (the desktop's file picker); it is never deleted.
    pub async fn open_path(&self, path: &Path) -> Result<HistoryFileInfo, AppError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.open_inner(path, &name, false).await
    }

    async fn open_inner(
        &self,
        path: &Path,
        name: &str,
        owned: bool,
    ) -> Result<HistoryFileInfo, AppError> {
        let app = App::open_history(path).await?;
        let size_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let info = HistoryFileInfo {
            id: uuid::Uuid::now_v7().simple().to_string(),
            name: clean_name(name),
            size_bytes,
            opened_at: Utc::now(),
        };
        let evicted = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            open.push(Entry {
                info: info.clone(),
                app: Arc::new(app),
                owned: owned.then(|| path.to_path_buf()),
            });
            let extra = open.len().saturating_sub(MAX_OPEN);
            open.drain(..extra).collect::<Vec<_>>()
        };
        for e in evicted {
            close_entry(e).await;
        }
        Ok(info)
    }

    /// The read-only console of an open file.
    pub fn get(&self, id: &str) -> Result<Arc<App>, AppError> {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|e| e.info.id == id)
            .map(|e| Arc::clone(&e.app))
            .ok_or_else(|| AppError::not_found("history file", id))
    }

    pub fn list(&self) -> Vec<HistoryFileInfo> {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|e| e.info.clone())
            .collect()
    }

    /// Closes a file (and deletes an uploaded copy).
    pub async fn close(&self, id: &str) -> Result<HistoryFileInfo, AppError> {
        let entry = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let at = open
                .iter()
                .position(|e| e.info.id == id)
                .ok_or_else(|| AppError::not_found("history file", id))?;
            open.remove(at)
        };
        let info = entry.info.clone();
        close_entry(entry).await;
        Ok(info)
    }
}

async fn close_entry(e: Entry) {
    e.app.close().await;
    if let Some(p) = e.owned {
        remove_copy(&p);
    }
}

fn sweep_stale(dir: &Path, older_than: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > older_than);
        if stale && name.to_string_lossy().starts_with("upload-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Deletes an uploaded copy with the files SQLite may have made beside it (opening a store in
/// WAL mode, even read-only, makes `-wal` and `-shm`).
fn remove_copy(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

impl Drop for HistoryFiles {
    /// Uploaded copies do not outlive the registry (an open handle does not stop the delete on
    /// Unix; elsewhere it is best effort).
    fn drop(&mut self) {
        let open = self.open.get_mut().unwrap_or_else(|p| p.into_inner());
        for e in open.drain(..) {
            if let Some(p) = e.owned {
                remove_copy(&p);
            }
        }
    }
}

/// The name shown: its last path component, no control characters, at most 200 characters.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        "history file".to_string()
    } else {
        cleaned
    }
}
