//! `integration add|list|show|update|remove|set-secret`, and how integrations are printed.

use super::output::{Output, local, print_json, say};
use super::read_input;
use crate::error::AppError;
use crate::health::DeliverySummary;
use crate::integrations::{self, Integration, SecretSlot, TargetKind};
use crate::service::App;
use crate::service::requests::IntegrationsQuery;
use clap::Subcommand;
use serde_json::json;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub(super) enum IntegrationCommand {
    /// Add an integration from a config file (an envelope, or a bare seed APIConfig /
    /// DatabaseConfig); prints its id.
    Add {
        #[arg(long, value_name = "CFG.json|-")]
        file: String,
        /// The name of a bare seed config (default: the file's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// List integrations.
    List {
        #[arg(long, value_enum)]
        kind: Option<TargetKind>,
    },
    /// Show an integration's config (secrets masked).
    Show { id: String },
    /// Replace an integration's config; masked secrets keep their stored value.
    Update {
        id: String,
        #[arg(long, value_name = "CFG.json|-")]
        file: String,
    },
    /// Remove an integration and its secrets (its history stays).
    Remove { id: String },
    /// Set one secret from stdin: api.token, api.password, api.key or database.password.
    SetSecret { id: String, name: String },
}

/// The longest secret `integration set-secret` reads (a token or password is far shorter; the
/// bound keeps a wrong pipe from filling memory or the vault).
const MAX_SECRET_BYTES: usize = 16 * 1024;

pub(super) async fn run(app: &App, cmd: IntegrationCommand, out: &Output) -> Result<u8, AppError> {
    match cmd {
        IntegrationCommand::Add { file, name } => {
            let saved = app
                .add_integration_from(read_config(&file, name.as_deref())?)
                .await?;
            out.id(&saved);
        }
        IntegrationCommand::List { kind } => {
            let list = app.integrations_query(&IntegrationsQuery { kind }).await?;
            if out.is_json() {
                // The JSON stays the integrations alone.
                out.integrations(&list);
            } else {
                let summaries = app.delivery_summaries(chrono::Duration::hours(24)).await?;
                out.integration_list(&list, &summaries);
            }
        }
        IntegrationCommand::Show { id } => out.integration(&app.integration(&id).await?),
        IntegrationCommand::Update { id, file } => {
            // A bare seed config keeps the integration's name (not the file's).
            let current = app.integration(&id).await?;
            let saved = app
                .update_integration_from(&id, read_config(&file, Some(&current.name))?)
                .await?;
            out.id(&saved);
        }
        IntegrationCommand::Remove { id } => {
            let removed = app.remove_integration(&id).await?;
            out.id(&removed);
        }
        IntegrationCommand::SetSecret { id, name } => {
            let slot = SecretSlot::named(&name, "NAME")?;
            let value = read_secret()?;
            app.set_integration_secret(&id, slot, value).await?;
            out.done(&format!("{} updated", slot.name()));
        }
    }
    Ok(0)
}

/// One line of stdin (without its line break): the secret `set-secret` sets.
pub(super) fn read_secret() -> Result<String, AppError> {
    use std::io::{BufRead, Read};
    let mut value = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_SECRET_BYTES as u64 + 1)
        .read_line(&mut value)
        .map_err(|e| AppError::invalid("stdin", format!("cannot read the secret: {e}")))?;
    let value = value.trim_end_matches(['\r', '\n']).to_string();
    if value.len() > MAX_SECRET_BYTES {
        return Err(AppError::invalid(
            "stdin",
            format!("a secret may be at most {MAX_SECRET_BYTES} bytes"),
        ));
    }
    Ok(value)
}

/// The config file as read, with its problems (the service reports every one of them together
/// with validation's).
fn read_config(path: &str, name: Option<&str>) -> Result<integrations::ConfigDraft, AppError> {
    let text = read_input(path, "--file")?;
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| path != "-");
    Ok(integrations::read_config(&text, name.or(stem))?)
}

fn target_of(i: &Integration) -> String {
    match (&i.config.api, &i.config.database) {
        (Some(api), _) => format!("{} {}", api.method.as_str(), api.endpoint),
        (None, Some(db)) => match &db.hostname {
            Some(h) => format!("{}://{h}/{}#{}", db.db_type.as_str(), db.database, db.table),
            None => format!("{}:{}#{}", db.db_type.as_str(), db.database, db.table),
        },
        (None, None) => String::new(),
    }
}

impl Output {
    pub(super) fn id(&self, i: &Integration) {
        if self.is_json() {
            print_json(&json!({ "id": i.id, "name": i.name }));
        } else {
            say!("{}", i.id);
        }
    }

    pub(super) fn integration(&self, i: &Integration) {
        // The config is printed as stored: secrets are already the mask.
        print_json(i);
    }

    pub(super) fn integrations(&self, list: &[Integration]) {
        if self.is_json() {
            return print_json(&list);
        }
        if list.is_empty() {
            return say!(
                "no integrations (add one with `integration add --file CFG.json`, or try `demo`)"
            );
        }
        say!("{:<36}  {:<8}  {:<28}  TARGET", "ID", "KIND", "NAME");
        for i in list {
            let kind = match i.kind {
                TargetKind::Api => "api",
                TargetKind::Database => "database",
            };
            say!(
                "{:<36}  {:<8}  {:<28}  {}",
                i.id,
                kind,
                i.name,
                target_of(i)
            );
        }
    }

    /// `integration list`: the table with each one's last delivery and its failed deliveries
    /// over the summaries' window (24 h). `--json` prints the integrations alone.
    pub(super) fn integration_list(&self, list: &[Integration], summaries: &[DeliverySummary]) {
        if self.is_json() || list.is_empty() {
            return self.integrations(list);
        }
        say!(
            "{:<36}  {:<8}  {:<28}  {:<29}  {:<13}  TARGET",
            "ID",
            "KIND",
            "NAME",
            "LAST DELIVERY",
            "FAILED (24H)"
        );
        for i in list {
            let summary = summaries.iter().find(|s| s.integration_id == i.id);
            let last = summary
                .and_then(|s| s.last_delivery.as_ref())
                .map_or("-".to_string(), |d| {
                    format!("{} {}", local(d.at), d.status.as_str())
                });
            let failed = summary
                .map(|s| &s.window)
                .filter(|w| w.deliveries > 0)
                .map_or("-".to_string(), |w| {
                    let rate = w.failure_rate.unwrap_or(0.0) * 100.0;
                    format!("{}/{} ({rate:.0}%)", w.failed, w.deliveries)
                });
            let line = format!(
                "{:<36}  {:<8}  {:<28}  {last:<29}  {failed:<13}  {}",
                i.id,
                i.kind.as_str(),
                i.name,
                target_of(i)
            );
            say!("{}", line.trim_end());
        }
    }
}
