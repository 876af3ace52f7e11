//! The target table's live columns, for the mapping editor: one direct connection (never the
//! delivery pool) with a database config that may not be saved yet, bounded in time, reading
//! only the catalog. A stored password is used only for the server it was saved for.

use super::{App, secret_key};
use crate::ErrorKind;
use crate::error::AppError;
use crate::ids::IntegrationId;
use crate::integrations::{DatabaseConfig, DbType, IntegrationConfig, SECRET_MASK, SecretSlot};
use crate::targets::database::inspect::{ConnectError, Inspector, TableRef, target_label};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The longest a column lookup may take in all (connect and catalog queries).
const MAX_LOOKUP: Duration = Duration::from_secs(15);

/// `POST /api/v1/integrations/columns`: the (possibly unsaved) config, and the integration
/// being edited, whose stored password is used when the config shows the mask.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnsRequest {
    pub config: IntegrationConfig,
    /// An integration's id or name.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub integration: Option<String>,
}

/// One column of the target table as the database describes it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TargetColumn {
    pub name: String,
    /// The type as the database names it.
    pub type_name: String,
    pub nullable: bool,
    pub has_default: bool,
    /// Filled in by the database (identity, auto-increment, generated, SQLite's rowid).
    pub generated: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TargetColumns {
    /// The table as the database spells it (`schema.table` or the table alone).
    pub table: String,
    pub columns: Vec<TargetColumn>,
}

fn field_error(kind: ErrorKind, field: &str, message: String) -> AppError {
    let mut e = AppError::new(kind, message);
    e.field = Some(field.to_string());
    e
}

impl App {
    /// The columns of `request.config`'s target table.
    pub async fn target_columns(&self, request: ColumnsRequest) -> Result<TargetColumns, AppError> {
        let db = request.config.database.as_ref().ok_or_else(|| {
            AppError::invalid("database", "give a database target to list its columns")
        })?;
        let table = TableRef::parse(db.table.trim()).map_err(|reason| {
            let reason = if db.table.trim().is_empty() {
                "give the table's name".to_string()
            } else {
                reason
            };
            AppError::invalid("database.table", reason)
        })?;
        if db.database.trim().is_empty() {
            return Err(AppError::invalid("database.database", "must not be empty"));
        }
        if db.db_type != DbType::Sqlite
            && db
                .hostname
                .as_deref()
                .is_some_and(|h| h.trim().is_empty() || h.len() > 253)
        {
            return Err(AppError::invalid(
                "database.hostname",
                "must be a host name or address",
            ));
        }
        if db.db_type == DbType::Sqlite && !std::path::Path::new(&db.database).is_file() {
            return Err(AppError::invalid(
                "database.database",
                format!("the SQLite file '{}' does not exist", db.database),
            ));
        }
        let (id, password) = self
            .lookup_password(db, request.integration.as_deref())
            .await?;
        let limit = db.connect_timeout().min(MAX_LOOKUP);
        let connect = Inspector::connect(id, db, password.as_deref());
        let mut conn = match tokio::time::timeout(limit, connect).await {
            Ok(Ok(c)) => c,
            // A file that exists but does not open as SQLite is the config's problem.
            Ok(Err(ConnectError::Network(reason))) if db.db_type == DbType::Sqlite => {
                return Err(field_error(ErrorKind::Invalid, "database.database", reason));
            }
            Ok(Err(ConnectError::Network(reason))) => {
                return Err(field_error(
                    ErrorKind::Unavailable,
                    "database.hostname",
                    reason,
                ));
            }
            Ok(Err(ConnectError::Login(reason))) => {
                return Err(field_error(ErrorKind::Invalid, "database.password", reason));
            }
            Err(_) => {
                return Err(field_error(
                    ErrorKind::Unavailable,
                    "database.hostname",
                    format!(
                        "{} did not answer within {} ms",
                        target_label(db),
                        limit.as_millis()
                    ),
                ));
            }
        };
        let read = tokio::time::timeout(db.statement_timeout().min(MAX_LOOKUP), async {
            conn.table(db, &table).await
        })
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
        let info = match read {
            Ok(Ok(Some(info))) => info,
            Ok(Ok(None)) => {
                return Err(AppError::invalid(
                    "database.table",
                    format!(
                        "there is no table '{}' in {} (or the user cannot see it)",
                        db.table.trim(),
                        target_label(db)
                    ),
                ));
            }
            Ok(Err(reason)) => return Err(field_error(ErrorKind::Unavailable, "database", reason)),
            Err(_) => {
                return Err(field_error(
                    ErrorKind::Unavailable,
                    "database.statementTimeoutMs",
                    "reading the table's columns took too long".to_string(),
                ));
            }
        };
        Ok(TargetColumns {
            table: info.full_name(),
            columns: info
                .columns
                .into_iter()
                .map(|c| TargetColumn {
                    name: c.name,
                    type_name: c.type_name,
                    nullable: c.nullable,
                    has_default: c.has_default,
                    generated: c.generated,
                })
                .collect(),
        })
    }

    /// The id to connect as and the password: the one given, else (for the mask or none) the
    /// stored one of the integration being edited when the server is the same.
    async fn lookup_password(
        &self,
        db: &DatabaseConfig,
        integration: Option<&str>,
    ) -> Result<(IntegrationId, Option<String>), AppError> {
        let given = db.password.as_deref().filter(|p| !p.is_empty());
        if let Some(p) = given
            && p != SECRET_MASK
        {
            let id = match integration {
                Some(i) => self.integration(i).await?.id,
                None => IntegrationId::new(),
            };
            return Ok((id, Some(p.to_string())));
        }
        let Some(existing) = integration else {
            if given.is_some() {
                return Err(AppError::invalid(
                    "database.password",
                    "is the mask, but no saved integration was named to take the stored value \
                     from: give the password",
                ));
            }
            return Ok((IntegrationId::new(), None));
        };
        let current = self.integration(existing).await?;
        let stored = current.config.database.as_ref();
        if given.is_none() || stored.is_none_or(|s| s.password.is_none()) {
            return Ok((current.id, None));
        }
        if !stored.is_some_and(|s| s.same_server(db)) {
            return Err(AppError::invalid(
                "database.password",
                "the stored password is only used with the server and user it was saved for: \
                 give the password for this one",
            ));
        }
        let key = secret_key(current.id, SecretSlot::DatabasePassword);
        let secret = self.with_secrets(move |b| b.get(&key)).await?;
        Ok((current.id, Some(secret.expose().clone())))
    }
}
