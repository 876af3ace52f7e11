//! The demo workspace: lets a new user try the console with no external system. A SQLite
//! target database in the data dir with the seed's `patient_data` table, a database
//! integration mapped onto it, and an API integration whose target is down (to see a failure,
//! its category and a retry).

use super::App;
use crate::error::AppError;
use crate::integrations::{Integration, IntegrationConfig};
use serde_json::json;
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

pub const DEMO_DATABASE_NAME: &str = "Demo clinic database";
pub const DEMO_API_NAME: &str = "Demo EMR API (offline)";

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

impl App {
    /// Creates the demo workspace (what is missing of it) and returns its integrations.
    pub async fn create_demo(&self) -> Result<Vec<Integration>, AppError> {
        let db_path = self.data_dir().join("demo").join("clinic.db");
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
                    "endpoint": "http://127.0.0.1:9/api/patients",
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
