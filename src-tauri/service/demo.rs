//! The demo workspace: lets a new user try the console with no external system. A SQLite
//! target database in the data dir with the seed's `patient_data` table, a database
//! integration mapped onto it, and an API integration whose target is down (to see a failure,
//! its category and a retry). Also which integrations are the demo's, sending each of them a
//! sample handoff, and removing it all in one step.

use super::{App, HandoffResult};
use crate::attempts::Trigger;
use crate::error::AppError;
use crate::ids::IntegrationId;
use crate::integrations::{Integration, IntegrationConfig};
use crate::testing::{self, GenerateOptions};
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
        crate::files::private_dir(db_path.parent().unwrap_or(self.data_dir()))
            .map_err(AppError::internal)?;
        // The console's file like the store (SQLite gives its journal the file's mode).
        match crate::files::private_options()
            .write(true)
            .create_new(true)
            .open(&db_path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(AppError::internal(e)),
        }
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

/// What sending the demo's samples did: one live handoff per demo integration.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct DemoSamples {
    pub results: Vec<DemoSample>,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct DemoSample {
    pub integration_id: IntegrationId,
    pub integration_name: String,
    /// The handoff's first attempt, as `send` reports it; `None` when it could not be sent.
    pub result: Option<HandoffResult>,
    /// Why it could not be sent (the secrets backend was locked, say); the other samples
    /// still went, so this is reported beside them rather than instead of them.
    pub error: Option<AppError>,
}

/// The session id of the demo's sample handoffs: `demo-` and 8 random hex digits.
fn demo_session() -> String {
    format!("demo-{:08x}", rand::random::<u32>())
}

impl App {
    /// Sends one sample handoff (realistic generated data, every field) to each demo
    /// integration as a live handoff, under one session id: the demo database takes it, the
    /// offline demo API fails (`network`) and gets an automatic retry. `notFound` when there is
    /// no demo.
    pub async fn send_demo_samples(&self) -> Result<DemoSamples, AppError> {
        let demo = self.demo_integrations().await?;
        if demo.is_empty() {
            return Err(AppError::new(
                crate::ErrorKind::NotFound,
                "there is no demo workspace: create the demo first, then send its samples",
            ));
        }
        let session = demo_session();
        let sends = demo.iter().map(|i| {
            let generated = testing::generate(
                &i.config.fields,
                GenerateOptions {
                    seed: None,
                    all_fields: true,
                },
            );
            let (id, session) = (i.id.to_string(), session.as_str());
            async move {
                self.send(
                    &id,
                    session,
                    serde_json::Value::Object(generated.data),
                    Trigger::Live,
                )
                .await
            }
        });
        let sent = futures_util::future::join_all(sends).await;
        let mut results = Vec::with_capacity(demo.len());
        for (i, result) in demo.into_iter().zip(sent) {
            let (result, error) = match result {
                Ok(r) => (Some(r), None),
                Err(e) => (None, Some(e)),
            };
            results.push(DemoSample {
                integration_id: i.id,
                integration_name: i.name,
                result,
                error,
            });
        }
        tracing::info!(integrations = results.len(), "demo samples sent");
        Ok(DemoSamples { results })
    }
}

/// What removing the demo did.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
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
