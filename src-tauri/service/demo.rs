//! The demo workspace: lets a new user try the console with no external system. A SQLite
//! target database in the data dir with the seed's `patient_data` table, a database
//! integration mapped onto it, and an API integration whose target is down (to see a failure,
//! its category and a retry). Also which integrations are the demo's, and removing it all in
//! one step.

use super::App;
use crate::error::AppError;
use crate::integrations::{Integration, IntegrationConfig};
use serde_json::json;
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

pub const DEMO_DATABASE_NAME: &str = "Demo clinic database";
pub const DEMO_API_NAME: &str = "Demo EMR API (offline)";

/// Where nothing listens: the demo API's endpoint.
const DEMO_API_ENDPOINT: &str = "http://127.0.0.1:9/api/patients";

const PATIENT_DATA: &str = "CREATE TABLE IF NOT EXISTS patient_data (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    appointment_date TEXT,
    notes TEXT,
    submission_timestamp DATETIME DEFAULT CURRENT_TIMESTAMP,
    source TEXT DEFAULT 'voice_agent'
)";

fn demo_fields() -> serde_json::Value {
    json!([
        {"name": "fullName", "type": "name", "required": true},
        {"name": "email", "type": "email"},
        {"name": "phoneNumber", "type": "phone"},
        {"name": "appointmentDate", "type": "date"},
        {"name": "additionalNotes", "type": "text"}
    ])
}

/// The same file however it is spelled (`demo/../demo/clinic.db`, a symlinked data dir).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl App {
    /// Creates the demo workspace (what is missing of it) and returns its integrations.
    pub async fn create_demo(&self) -> Result<Vec<Integration>, AppError> {
        let db_path = self.demo_database_path();
        std::fs::create_dir_all(db_path.parent().unwrap_or(self.data_dir()))
            .map_err(AppError::internal)?;
        let mut conn = SqliteConnectOptions::new()
            .filename(&db_path)
            .create_if_missing(true)
            .connect()
            .await
            .map_err(AppError::internal)?;
        sqlx::query(PATIENT_DATA)
            .execute(&mut conn)
            .await
            .map_err(AppError::internal)?;
        drop(conn);

        let configs = [
            json!({
                "name": DEMO_DATABASE_NAME,
                "kind": "database",
                "description": "Demo: a SQLite file in the data dir with the seed's patient_data table.",
                "fields": demo_fields(),
                "database": {
                    "type": "sqlite",
                    "database": db_path.display().to_string(),
                    "table": "patient_data",
                    "fieldMapping": {
                        "fullName": "patient_name",
                        "email": "email",
                        "phoneNumber": "phone",
                        "appointmentDate": "appointment_date",
                        "additionalNotes": "notes"
                    }
                }
            }),
            json!({
                "name": DEMO_API_NAME,
                "kind": "api",
                "description": "Demo: an EMR API that is down (nothing listens on its port), to see a failure and a retry.",
                "fields": demo_fields(),
                "api": {
                    "endpoint": DEMO_API_ENDPOINT,
                    "method": "POST",
                    "headers": {"X-API-Version": "1.0"},
                    "payloadStructure": {
                        "patient_name": "{{fullName}}",
                        "email": "{{email}}",
                        "phone": "{{phoneNumber}}",
                        "appointment_date": "{{appointmentDate}}",
                        "notes": "{{additionalNotes}}",
                        "created_at": "{{timestamp}}"
                    },
                    "timeoutMs": 3000,
                    "connectTimeoutMs": 1000
                },
                "retry": {"maxAttempts": 3, "baseDelayMs": 2000}
            }),
        ];
        let mut out = Vec::new();
        for value in configs {
            let config: IntegrationConfig =
                serde_json::from_value(value).map_err(AppError::internal)?;
            match self.store.find_integration(&config.name).await? {
                Some(existing) => out.push(existing),
                None => out.push(self.add_integration(config).await?),
            }
        }
        Ok(out)
    }
}

/// What removing the demo did.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct DemoRemoved {
    /// The demo integrations removed (their history stays, like any removal's).
    pub removed: Vec<Integration>,
    /// Whether the demo's SQLite file was deleted (it is kept while another integration uses it).
    pub database_deleted: bool,
}

impl App {
    fn demo_database_path(&self) -> std::path::PathBuf {
        self.data_dir().join("demo").join("clinic.db")
    }

    /// Whether `i` is one the demo made: its name and its target both are the demo's, so an
    /// integration the user made (or re-pointed) is never taken for it.
    fn is_demo(&self, i: &Integration) -> bool {
        let db_path = self.demo_database_path();
        match i.name.as_str() {
            DEMO_DATABASE_NAME => i
                .config
                .database
                .as_ref()
                .is_some_and(|d| same_file(std::path::Path::new(&d.database), &db_path)),
            DEMO_API_NAME => i
                .config
                .api
                .as_ref()
                .is_some_and(|a| a.endpoint == DEMO_API_ENDPOINT),
            _ => false,
        }
    }

    /// The ids of the demo's integrations (the UI labels them).
    pub async fn demo_integration_ids(&self) -> Result<Vec<crate::ids::IntegrationId>, AppError> {
        Ok(self
            .demo_integrations()
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect())
    }

    /// The demo's integrations that exist.
    pub async fn demo_integrations(&self) -> Result<Vec<Integration>, AppError> {
        let all = self.integrations(None).await?;
        Ok(all.into_iter().filter(|i| self.is_demo(i)).collect())
    }

    /// Removes the demo: its integrations with their secrets, and its SQLite file unless another
    /// integration still uses it. History is kept, as with any removal.
    pub async fn remove_demo(&self) -> Result<DemoRemoved, AppError> {
        let mut removed = Vec::new();
        for i in self.demo_integrations().await? {
            removed.push(self.remove_integration(&i.id.to_string()).await?);
        }
        let db_path = self.demo_database_path();
        let in_use = self.integrations(None).await?.iter().any(|i| {
            i.config
                .database
                .as_ref()
                .is_some_and(|d| same_file(std::path::Path::new(&d.database), &db_path))
        });
        let mut database_deleted = false;
        if !in_use && db_path.exists() {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = db_path.clone().into_os_string();
                p.push(suffix);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(AppError::internal(e)),
                }
            }
            // The folder only held the demo's file; one the user added files to stays.
            if let Some(dir) = db_path.parent() {
                let _ = std::fs::remove_dir(dir);
            }
            database_deleted = true;
        }
        tracing::info!(removed = removed.len(), database_deleted, "demo removed");
        Ok(DemoRemoved {
            removed,
            database_deleted,
        })
    }
}
