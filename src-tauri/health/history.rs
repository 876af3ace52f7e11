//! Health results in the local store (`health_results`): each run's checks are written in one
//! transaction, old runs pruned per integration, and read back as the last-known state or an
//! integration's trend. Values are always bound.

use super::{
    Check, HealthReport, HealthSnapshot, HealthStatus, IntegrationHealth, LastHealth, LocalCheck,
    LocalSnapshot, worst,
};
use crate::ids::IntegrationId;
use crate::integrations::TargetKind;
use crate::store::{Dialect, Store, StoreError, from_ms, on_backend};
use sqlx::AssertSqlSafe;

/// Runs kept per integration (and for the local checks); older ones are pruned. Also the most
/// an integration's history returns.
pub const MAX_HISTORY_RUNS: u32 = 500;

/// The subject of the local checks' rows.
const LOCAL: &str = "local";

const INSERT: &str = "INSERT INTO health_results (run_id, checked_at, subject, subject_name, kind, \
     subject_status, subject_latency_ms, position, check_name, status, latency_ms, reason) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

const PRUNE: &str = "DELETE FROM health_results WHERE subject = $1 AND run_id NOT IN ( \
     SELECT DISTINCT run_id FROM health_results WHERE subject = $1 ORDER BY run_id DESC LIMIT $2)";

const COLUMNS: &str = "run_id, checked_at, subject, subject_name, kind, subject_status, \
     subject_latency_ms, check_name, status, latency_ms, reason";

/// Each subject's rows from its latest run.
fn last(dialect: Dialect) -> String {
    format!(
        "SELECT {COLUMNS} FROM health_results r WHERE r.run_id = ( \
         SELECT max(run_id) FROM health_results WHERE subject = r.subject) \
         ORDER BY r.subject = 'local', {}, r.subject, r.position",
        dialect.nocase_order("r.subject_name")
    )
}

fn history() -> String {
    format!(
        "SELECT {COLUMNS} FROM health_results WHERE subject = $1 AND run_id IN ( \
         SELECT DISTINCT run_id FROM health_results WHERE subject = $1 \
         ORDER BY run_id DESC LIMIT $2) \
         ORDER BY run_id DESC, position"
    )
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("health {what} '{value}'"))
}

fn status(s: String) -> Result<HealthStatus, StoreError> {
    HealthStatus::parse(&s).ok_or_else(|| corrupt("status", &s))
}

fn latency(v: Option<i64>) -> u64 {
    v.map_or(0, |v| u64::try_from(v).unwrap_or(0))
}

/// A row as both back ends return it.
#[derive(sqlx::FromRow)]
struct Row {
    run_id: String,
    checked_at: i64,
    subject: String,
    subject_name: String,
    kind: String,
    subject_status: String,
    subject_latency_ms: Option<i64>,
    check_name: String,
    status: String,
    latency_ms: Option<i64>,
    reason: Option<String>,
}

/// One stored row.
struct StoredRow {
    run_id: String,
    checked_at: i64,
    subject: String,
    subject_name: String,
    kind: String,
    subject_status: HealthStatus,
    subject_latency_ms: u64,
    check: Check,
}

impl Row {
    fn stored(self) -> Result<StoredRow, StoreError> {
        Ok(StoredRow {
            run_id: self.run_id,
            checked_at: self.checked_at,
            subject: self.subject,
            subject_name: self.subject_name,
            kind: self.kind,
            subject_status: status(self.subject_status)?,
            subject_latency_ms: latency(self.subject_latency_ms),
            check: Check {
                name: self.check_name,
                status: status(self.status)?,
                latency_ms: latency(self.latency_ms),
                reason: self.reason,
            },
        })
    }
}

/// Rows grouped by (run, subject), in the order they came.
fn group(rows: Vec<StoredRow>) -> Vec<Vec<StoredRow>> {
    let mut groups: Vec<Vec<StoredRow>> = Vec::new();
    for r in rows {
        match groups.last_mut() {
            Some(g) if g[0].run_id == r.run_id && g[0].subject == r.subject => g.push(r),
            _ => groups.push(vec![r]),
        }
    }
    groups
}

fn snapshot(rows: Vec<StoredRow>) -> Result<HealthSnapshot, StoreError> {
    let first = &rows[0];
    let kind = match first.kind.as_str() {
        "api" => TargetKind::Api,
        "database" => TargetKind::Database,
        other => return Err(corrupt("kind", other)),
    };
    let id: IntegrationId = first
        .subject
        .parse()
        .map_err(|_| corrupt("integration id", &first.subject))?;
    Ok(HealthSnapshot {
        checked_at: from_ms(first.checked_at),
        integration: IntegrationHealth {
            id,
            name: first.subject_name.clone(),
            kind,
            status: first.subject_status,
            latency_ms: first.subject_latency_ms,
            checks: rows.into_iter().map(|r| r.check).collect(),
        },
    })
}

impl Store {
    /// Writes one run's results and prunes the runs past `keep` of each subject in it.
    pub(crate) async fn record_health(
        &self,
        report: &HealthReport,
        keep: u32,
    ) -> Result<(), StoreError> {
        let run_id = uuid::Uuid::now_v7().to_string();
        let at = report.checked_at.timestamp_millis();
        let local_status = worst(report.local.iter().map(|c| c.status));
        on_backend!(self, db => {
        let mut tx = db.write.begin().await?;
        for i in &report.integrations {
            for (position, c) in i.checks.iter().enumerate() {
                sqlx::query(INSERT)
                    .bind(&run_id)
                    .bind(at)
                    .bind(i.id.to_string())
                    .bind(&i.name)
                    .bind(i.kind.as_str())
                    .bind(i.status.as_str())
                    .bind(i64::try_from(i.latency_ms).unwrap_or(i64::MAX))
                    .bind(position as i64)
                    .bind(&c.name)
                    .bind(c.status.as_str())
                    .bind(i64::try_from(c.latency_ms).unwrap_or(i64::MAX))
                    .bind(&c.reason)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for (position, c) in report.local.iter().enumerate() {
            sqlx::query(INSERT)
                .bind(&run_id)
                .bind(at)
                .bind(LOCAL)
                .bind("this console")
                .bind(LOCAL)
                .bind(local_status.as_str())
                .bind(None::<i64>)
                .bind(position as i64)
                .bind(&c.name)
                .bind(c.status.as_str())
                .bind(None::<i64>)
                .bind(&c.reason)
                .execute(&mut *tx)
                .await?;
        }
        let subjects = report
            .integrations
            .iter()
            .map(|i| i.id.to_string())
            .chain((!report.local.is_empty()).then(|| LOCAL.to_string()));
        for subject in subjects {
            sqlx::query(PRUNE)
                .bind(subject)
                .bind(i64::from(keep))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
        })
    }

    /// Forgets the results of integrations that no longer exist.
    pub(crate) async fn prune_health_except(
        &self,
        current: &[IntegrationId],
    ) -> Result<(), StoreError> {
        let keep: Vec<String> = current.iter().map(ToString::to_string).collect();
        let keep = serde_json::to_string(&keep).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        on_backend!(self, db => {
            sqlx::query(db.dialect().pick(
                "DELETE FROM health_results WHERE subject != 'local' \
                 AND subject NOT IN (SELECT value FROM json_each($1))",
                "DELETE FROM health_results WHERE subject != 'local' \
                 AND subject NOT IN (SELECT jsonb_array_elements_text($1::jsonb))",
            ))
            .bind(keep)
            .execute(&mut *db.write.acquire().await?)
            .await?;
        });
        Ok(())
    }

    /// Each integration's latest result, and the latest local checks.
    pub(crate) async fn last_health(&self) -> Result<LastHealth, StoreError> {
        let rows: Vec<Row> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(last(db.dialect())))
                .fetch_all(&db.read)
                .await
        })?;
        let rows = rows
            .into_iter()
            .map(Row::stored)
            .collect::<Result<Vec<_>, _>>()?;
        let mut integrations = Vec::new();
        let mut local = None;
        for g in group(rows) {
            if g[0].subject == LOCAL {
                local = Some(LocalSnapshot {
                    checked_at: from_ms(g[0].checked_at),
                    checks: g
                        .into_iter()
                        .map(|r| LocalCheck {
                            name: r.check.name,
                            status: r.check.status,
                            reason: r.check.reason,
                        })
                        .collect(),
                });
            } else {
                integrations.push(snapshot(g)?);
            }
        }
        let statuses = integrations
            .iter()
            .map(|s: &HealthSnapshot| s.integration.status)
            .chain(local.iter().flat_map(|l| l.checks.iter().map(|c| c.status)));
        let status = statuses.max();
        Ok(LastHealth {
            status,
            integrations,
            local,
        })
    }

    /// An integration's results, newest run first.
    pub(crate) async fn health_history(
        &self,
        id: IntegrationId,
        limit: u32,
    ) -> Result<Vec<HealthSnapshot>, StoreError> {
        let rows: Vec<Row> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(history()))
                .bind(id.to_string())
                .bind(i64::from(limit.min(MAX_HISTORY_RUNS)))
                .fetch_all(&db.read)
                .await
        })?;
        let rows = rows
            .into_iter()
            .map(Row::stored)
            .collect::<Result<Vec<_>, _>>()?;
        group(rows).into_iter().map(snapshot).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::HealthReport;

    fn report(id: IntegrationId, status: HealthStatus, at_ms: i64) -> HealthReport {
        HealthReport {
            status,
            checked_at: from_ms(at_ms),
            integrations: vec![IntegrationHealth {
                id,
                name: "emr".into(),
                kind: TargetKind::Api,
                status,
                latency_ms: 7,
                checks: vec![Check {
                    name: "connect".into(),
                    status,
                    latency_ms: 7,
                    reason: Some(format!("run at {at_ms}")),
                }],
            }],
            local: vec![LocalCheck {
                name: "store".into(),
                status: HealthStatus::Healthy,
                reason: None,
            }],
        }
    }

    #[tokio::test]
    async fn old_runs_are_pruned_per_integration_and_removed_ones_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let (a, b) = (IntegrationId::new(), IntegrationId::new());
        for (n, at) in [1_000, 2_000, 3_000].into_iter().enumerate() {
            let status = if n == 2 {
                HealthStatus::Error
            } else {
                HealthStatus::Healthy
            };
            store
                .record_health(&report(a, status, at), 2)
                .await
                .unwrap();
        }
        store
            .record_health(&report(b, HealthStatus::Warning, 500), 2)
            .await
            .unwrap();
        let kept = store.health_history(a, 10).await.unwrap();
        let times: Vec<i64> = kept
            .iter()
            .map(|s| s.checked_at.timestamp_millis())
            .collect();
        assert_eq!(times, [3_000, 2_000], "the oldest run is pruned");
        assert_eq!(kept[0].integration.status, HealthStatus::Error);
        assert_eq!(
            kept[1].integration.checks[0].reason.as_deref(),
            Some("run at 2000")
        );
        assert_eq!(store.health_history(b, 10).await.unwrap().len(), 1);

        let last = store.last_health().await.unwrap();
        assert_eq!(last.integrations.len(), 2);
        assert_eq!(last.status, Some(HealthStatus::Error));
        assert_eq!(last.local.unwrap().checked_at.timestamp_millis(), 500);

        store.prune_health_except(&[a]).await.unwrap();
        assert!(store.health_history(b, 10).await.unwrap().is_empty());
        assert_eq!(store.last_health().await.unwrap().integrations.len(), 1);
        store.close().await;
    }
}
