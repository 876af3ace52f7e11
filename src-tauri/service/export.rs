//! Offline history: exporting it to a file (from the CLI to a path it names, from the UI to a
//! file the console names), and opening such a file read-only.

use super::App;
use crate::audit::{AuditObject, AuditRecord};
use crate::error::AppError;
use crate::export::{self, ExportFilter, ExportSummary};
use crate::secrets::{Secret, SecretsBackend, SecretsError};
use crate::store::Store;
use crate::targets::Targets;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// What a console export's file names start with; the rest is its UTC time
/// (`handoff-history-20261124-153000.sqlite`, `-2` and on when that name is taken).
const EXPORT_PREFIX: &str = "handoff-history-";
/// The extension of a console export (an SQLite file; the CLI's `--out` takes any name).
const EXPORT_EXTENSION: &str = ".sqlite";
/// Exports in `<data dir>/exports/` older than this are deleted when a new one is written.
pub const KEEP_EXPORTS: Duration = Duration::from_secs(24 * 60 * 60);

/// Where a console export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportPlace {
    /// The user's Downloads folder (the window), else `<data dir>/exports/`.
    Downloads,
    /// `<data dir>/exports/` (`serve`: the browser downloads it from there).
    DataDir,
}

/// What an export from the UI wrote: the file (its name, and where it is) and its counts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    /// The file's name; over HTTP, `GET /api/v1/exports/{fileName}` downloads it.
    pub file_name: String,
    /// The attempts written (the audit entry's `rows`).
    #[cfg_attr(test, ts(type = "number"))]
    pub rows: u64,
    /// `path` (the whole path on the console's machine), the counts, `bytes`, `exportedAt`.
    #[serde(flatten)]
    pub summary: ExportSummary,
}

/// Whether `name` is a console export's name: `handoff-history-YYYYMMDD-HHMMSS[-N].sqlite`
/// and nothing else (so no path, no other file in the folder).
pub fn is_export_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_prefix(EXPORT_PREFIX)
        .and_then(|rest| rest.strip_suffix(EXPORT_EXTENSION))
    else {
        return false;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = stem.split('-');
    let (Some(date), Some(time)) = (parts.next(), parts.next()) else {
        return false;
    };
    let counter = parts.next();
    digits(date, 8)
        && digits(time, 6)
        && counter.is_none_or(|c| (1..=4).contains(&c.len()) && digits(c, c.len()))
        && parts.next().is_none()
}

/// The secrets backend of a history file: there are no secrets in one.
struct NoSecrets;

impl SecretsBackend for NoSecrets {
    fn name(&self) -> &'static str {
        "none (history file)"
    }
    fn set(&self, _: &str, _: &Secret<String>) -> Result<(), SecretsError> {
        Err(SecretsError::Unavailable(
            "a history file is read-only and holds no secrets".into(),
        ))
    }
    fn get(&self, key: &str) -> Result<Secret<String>, SecretsError> {
        Err(SecretsError::Missing { what: key.into() })
    }
    fn delete(&self, _: &str) -> Result<(), SecretsError> {
        Ok(())
    }
}

impl App {
    /// Writes the history matching `filter` to a new self-contained file (masked data,
    /// redacted configs, no secrets), reporting progress as `(handoffs done, total)`.
    pub async fn export_history(
        &self,
        out: &Path,
        filter: &ExportFilter,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ExportSummary, AppError> {
        let summary = self.store.export(out, filter, progress).await?;
        let integration = match filter.integration {
            Some(id) => {
                let name = self.store.integration(id).await?.map(|i| i.name);
                Some(AuditObject::integration(
                    id,
                    name.as_deref().unwrap_or("(removed)"),
                ))
            }
            None => None,
        };
        // The file exists now: a failure to record is logged, not reported as a failed export.
        self.record_audit_after(AuditRecord::HistoryExported {
            integration,
            filter: serde_json::json!({
                "integration": filter.integration,
                "sinceMs": filter.since_ms,
                "untilMs": filter.until_ms,
            }),
            destination: Some(summary.path.display().to_string()),
            rows: summary.attempts,
        })
        .await;
        Ok(summary)
    }

    /// `<data dir>/exports/`: where `serve` writes the UI's exports (and the window when there is
    /// no Downloads folder).
    pub fn exports_dir(&self) -> PathBuf {
        self.data_dir.join("exports")
    }

    /// Exports the history matching `filter` to a new file in `place`, named for now (UTC),
    /// as the CLI's `export` does (audited the same way). In the data dir the folder is
    /// private (0700), and exports older than [`KEEP_EXPORTS`] there are deleted first.
    pub async fn export_to(
        &self,
        place: ExportPlace,
        filter: &ExportFilter,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ExportResult, AppError> {
        let downloads = match place {
            ExportPlace::Downloads => dirs::download_dir().filter(|d| d.is_dir()),
            ExportPlace::DataDir => None,
        };
        let dir = match downloads {
            Some(d) => d,
            None => {
                let dir = self.exports_dir();
                private_dir(&dir)?;
                delete_old_exports(&dir, KEEP_EXPORTS);
                dir
            }
        };
        // One export of this console picks its name and writes it at a time, so two (a double
        // click) never choose the same name; another process exporting into the same folder
        // can still race for it, and loses cleanly (publishing never replaces a file).
        static NAMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _turn = NAMING.lock().await;
        let out = free_export_path(&dir, chrono::Utc::now())?;
        let summary = self.export_history(&out, filter, progress).await?;
        let file_name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ExportResult {
            file_name,
            rows: summary.attempts,
            summary,
        })
    }

    /// A console export in `<data dir>/exports/` by its name, for download. Any other name (a
    /// path, another file) is `notFound`, as is an export that is gone.
    pub fn export_file(&self, name: &str) -> Result<PathBuf, AppError> {
        let path = self.exports_dir().join(name);
        if is_export_name(name) && path.is_file() {
            Ok(path)
        } else {
            Err(AppError::not_found("export", name))
        }
    }

    /// Opens a history export read-only: history, stats and attempts can be read; nothing
    /// can be sent, changed or revealed. Needs no keyring and no network.
    pub async fn open_history(path: &Path) -> Result<Self, AppError> {
        export::check_history_file(path)?;
        let store = Store::open_read_only(path).await?;
        Ok(Self {
            store,
            secrets: Arc::new(NoSecrets),
            secrets_chosen_by: crate::secrets::ChosenBy::Caller,
            actor: crate::audit::os_actor(),
            data_keys: Default::default(),
            sealing_cache: Default::default(),
            targets: Targets::default(),
            secret_cache: Mutex::new(HashMap::new()),
            data_dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            intake: Default::default(),
            worker_name: super::worker_name(),
        })
    }
}

/// Creates `dir` if needed, readable by its owner only (Unix).
fn private_dir(dir: &Path) -> Result<(), AppError> {
    crate::files::private_dir(dir).map_err(AppError::internal)
}

/// Deletes the console's exports (and leftovers of interrupted ones) in `dir` older than
/// `keep`; other files are never touched. A file that cannot be deleted is logged.
fn delete_old_exports(dir: &Path, keep: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = is_export_name(&name) || partial_of_export(&name);
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > keep);
        if ours && old {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::info!(file = %name, "old export deleted"),
                Err(e) => tracing::warn!(file = %name, "could not delete an old export: {e}"),
            }
        }
    }
}

/// `dir/handoff-history-<UTC yyyymmdd-hhmmss>.sqlite`, or with `-2`, `-3`… when taken.
/// A partial copy of one of the console's exports (`<name>.<random hex>.partial`, see
/// `export::partial_path`), left by an interrupted export.
fn partial_of_export(name: &str) -> bool {
    name.strip_suffix(".partial")
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(export, tag)| {
            is_export_name(export) && !tag.is_empty() && tag.chars().all(|c| c.is_ascii_hexdigit())
        })
}

fn free_export_path(dir: &Path, at: chrono::DateTime<chrono::Utc>) -> Result<PathBuf, AppError> {
    let stamp = at.format("%Y%m%d-%H%M%S");
    for n in 1..=999 {
        let name = if n == 1 {
            format!("{EXPORT_PREFIX}{stamp}{EXPORT_EXTENSION}")
        } else {
            format!("{EXPORT_PREFIX}{stamp}-{n}{EXPORT_EXTENSION}")
        };
        let path = dir.join(&name);
        if !path.exists() {
            return Ok(path);
        }
    }
    Err(AppError::new(
        crate::ErrorKind::Conflict,
        "too many exports this second; try again",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_consoles_own_export_names_are_accepted() {
        for ok in [
            "handoff-history-20261124-153000.sqlite",
            "handoff-history-20261124-153000-2.sqlite",
        ] {
            assert!(is_export_name(ok), "{ok}");
        }
        for bad in [
            "",
            "handoff-history-.sqlite",
            "../handoff-history-20261124-153000.sqlite",
            "handoff-history-20261124-153000.sqlite/..",
            "handoff-history-2026112-153000.sqlite",
            "handoff-history-20261124-153000.sqlite.partial",
            "handoff-history-20261124-153000-x.sqlite",
            "handoff-history-20261124-153000-2-3.sqlite",
            "handoff-history-20261124-15300a.sqlite",
            "store.db",
            "handoff-history-20261124-153000.db",
        ] {
            assert!(!is_export_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_taken_name_gets_a_counter_and_old_exports_alone_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-24T15:30:00Z")
            .unwrap()
            .to_utc();
        let first = free_export_path(dir.path(), at).unwrap();
        assert_eq!(
            first.file_name().unwrap(),
            "handoff-history-20261124-153000.sqlite"
        );
        std::fs::write(&first, b"x").unwrap();
        let second = free_export_path(dir.path(), at).unwrap();
        assert_eq!(
            second.file_name().unwrap(),
            "handoff-history-20261124-153000-2.sqlite"
        );
        let other = dir.path().join("notes.txt");
        std::fs::write(&other, b"x").unwrap();
        // An interrupted export's partial copy is the console's too; a look-alike is not.
        let leftover = dir
            .path()
            .join("handoff-history-20261124-153000.sqlite.0a1b2c3d.partial");
        std::fs::write(&leftover, b"x").unwrap();
        let lookalike = dir
            .path()
            .join("handoff-history-20261124-153000.sqlite.notes.partial");
        std::fs::write(&lookalike, b"x").unwrap();
        // Nothing is older than an hour yet; with no time to keep, every export goes.
        delete_old_exports(dir.path(), Duration::from_secs(3600));
        assert!(first.exists());
        std::thread::sleep(Duration::from_millis(20));
        delete_old_exports(dir.path(), Duration::from_millis(10));
        assert!(!first.exists());
        assert!(
            !leftover.exists(),
            "an interrupted export's copy is deleted"
        );
        assert!(other.exists(), "a file the console did not make stays");
        assert!(lookalike.exists(), "a file the console did not make stays");
    }
}
