//! Long work the UI watches: a job runs in the background and reports `done`/`total` as it goes;
//! the UI polls its status (the same way over HTTP and Tauri) until it has a result. Health
//! checks, bulk retries and exports run as jobs so that the screen can show live progress.

use crate::error::AppError;
use futures_util::FutureExt;
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a finished job's result stays readable.
const KEEP_FINISHED: Duration = Duration::from_secs(600);
/// At most this many jobs are kept (finished ones are dropped first, oldest first).
const MAX_JOBS: usize = 64;
/// At most this many jobs run at once; more is a `conflict` (the UI starts one at a time).
const MAX_RUNNING: usize = 8;

pub type JobId = u64;

/// What a job reports: progress while it runs, then its result or its error.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    #[cfg_attr(test, ts(type = "number"))]
    pub id: JobId,
    /// What the job does (`health`, `retry`, `export`).
    pub kind: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub done: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub total: u64,
    pub finished: bool,
    /// The job's result (the same JSON its direct call returns) once finished without error.
    #[cfg_attr(test, ts(type = "unknown"))]
    pub result: Option<serde_json::Value>,
    pub error: Option<AppError>,
}

/// Progress a job reports; cheap to clone into callbacks.
#[derive(Clone, Default)]
pub struct Progress {
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl Progress {
    pub fn set(&self, done: usize, total: usize) {
        self.total.store(total as u64, Ordering::Relaxed);
        self.done.store(done as u64, Ordering::Relaxed);
    }
}

struct Entry {
    kind: &'static str,
    progress: Progress,
    outcome: Option<Result<serde_json::Value, AppError>>,
    finished_at: Option<Instant>,
}

/// The jobs of one console process.
#[derive(Clone, Default)]
pub struct Jobs {
    inner: Arc<Mutex<JobsInner>>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

#[derive(Default)]
struct JobsInner {
    next: JobId,
    entries: HashMap<JobId, Entry>,
}

impl Jobs {
    /// Starts `work` on the runtime and returns its id at once.
    pub fn start<F, Fut, T>(&self, kind: &'static str, work: F) -> Result<JobId, AppError>
    where
        F: FnOnce(Progress) -> Fut,
        Fut: Future<Output = Result<T, AppError>> + Send + 'static,
        T: Serialize,
    {
        let progress = Progress::default();
        let id = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.prune();
            let running = inner
                .entries
                .values()
                .filter(|e| e.outcome.is_none())
                .count();
            if running >= MAX_RUNNING {
                return Err(AppError::new(
                    crate::ErrorKind::Conflict,
                    format!("{running} jobs are already running; wait for one to finish"),
                ));
            }
            inner.next += 1;
            let id = inner.next;
            inner.entries.insert(
                id,
                Entry {
                    kind,
                    progress: progress.clone(),
                    outcome: None,
                    finished_at: None,
                },
            );
            id
        };
        let future = work(progress);
        let jobs = self.clone();
        let task = tokio::spawn(async move {
            // A panic in the work must still finish the job (as an internal error): otherwise
            // it would count as running forever and the UI would poll it forever.
            let outcome = match AssertUnwindSafe(future).catch_unwind().await {
                Ok(result) => result.and_then(|value| {
                    serde_json::to_value(value).map_err(|e| AppError::internal(e.to_string()))
                }),
                Err(_) => Err(AppError::internal(format!("the {kind} job panicked"))),
            };
            let mut inner = jobs.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = inner.entries.get_mut(&id) {
                entry.outcome = Some(outcome);
                entry.finished_at = Some(Instant::now());
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|t| !t.is_finished());
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
        Ok(id)
    }

    /// Waits (at most `limit`) for the jobs still running, so that a shutdown does not close the
    /// store under a retry whose attempt is not yet recorded.
    pub async fn wait_running(&self, limit: Duration) {
        let tasks: Vec<_> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!("jobs still running after {limit:?}; stopping anyway");
        }
    }

    pub fn status(&self, id: JobId) -> Result<JobStatus, AppError> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let entry = inner
            .entries
            .get(&id)
            .ok_or_else(|| AppError::not_found("job", &id.to_string()))?;
        let (result, error) = match &entry.outcome {
            None => (None, None),
            Some(Ok(v)) => (Some(v.clone()), None),
            Some(Err(e)) => (None, Some(e.clone())),
        };
        Ok(JobStatus {
            id,
            kind: entry.kind.to_string(),
            done: entry.progress.done.load(Ordering::Relaxed),
            total: entry.progress.total.load(Ordering::Relaxed),
            finished: entry.outcome.is_some(),
            result,
            error,
        })
    }
}

impl JobsInner {
    fn prune(&mut self) {
        self.entries
            .retain(|_, e| e.finished_at.is_none_or(|t| t.elapsed() < KEEP_FINISHED));
        while self.entries.len() >= MAX_JOBS {
            let oldest_finished = self
                .entries
                .iter()
                .filter(|(_, e)| e.finished_at.is_some())
                .min_by_key(|(id, _)| **id)
                .map(|(id, _)| *id);
            match oldest_finished {
                Some(id) => {
                    self.entries.remove(&id);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_reports_progress_then_its_result() {
        let jobs = Jobs::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let id = jobs
            .start("count", move |p| async move {
                p.set(1, 3);
                let _ = rx.await;
                p.set(3, 3);
                Ok(serde_json::json!({"counted": 3}))
            })
            .unwrap();
        let mut status = jobs.status(id).unwrap();
        for _ in 0..100 {
            if status.done == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            status = jobs.status(id).unwrap();
        }
        assert_eq!((status.done, status.total, status.finished), (1, 3, false));
        tx.send(()).unwrap();
        for _ in 0..100 {
            status = jobs.status(id).unwrap();
            if status.finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(status.finished);
        assert_eq!(status.result.unwrap()["counted"], 3);
        assert!(jobs.status(id + 1).is_err());
    }

    #[tokio::test]
    async fn a_panicking_job_finishes_with_an_internal_error() {
        let jobs = Jobs::default();
        let id = jobs
            .start("boom", |_| async {
                if jobs_panic() {
                    panic!("a bug");
                }
                Ok(())
            })
            .unwrap();
        jobs.wait_running(Duration::from_secs(5)).await;
        let status = jobs.status(id).unwrap();
        assert!(status.finished);
        assert_eq!(status.error.unwrap().kind, crate::ErrorKind::Internal);
    }

    fn jobs_panic() -> bool {
        true
    }

    #[tokio::test]
    async fn a_failed_job_keeps_its_error() {
        let jobs = Jobs::default();
        let id = jobs
            .start("fail", |_| async {
                Err::<(), _>(AppError::invalid("integration", "no such thing"))
            })
            .unwrap();
        for _ in 0..100 {
            if jobs.status(id).unwrap().finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let status = jobs.status(id).unwrap();
        assert_eq!(status.error.unwrap().field.as_deref(), Some("integration"));
    }
}
