//! `audit`: the audit trail, newest first.

use super::flag_names;
use super::output::{Output, local, print_json, say};
use crate::audit::{AuditAction, AuditEvent, AuditFilter};
use crate::error::AppError;
use crate::service::App;
use crate::service::time_arg;
use clap::Args;

#[derive(Debug, Args)]
pub(super) struct AuditArgs {
    #[arg(long, value_enum)]
    action: Option<AuditAction>,
    /// An integration's id or name (also the name a removed integration had).
    #[arg(long, value_name = "ID|NAME")]
    integration: Option<String>,
    /// Exactly as recorded (e.g. alice@clinic-pc).
    #[arg(long, value_name = "USER")]
    actor: Option<String>,
    /// RFC 3339, a date, or an age such as 30m, 2h, 7d (inclusive).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// As --since (exclusive).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// The UI has no request for the audit trail with these filters (a history file's lists its
/// latest entries alone), so the filter is built here, with the service's time syntax.
pub(super) async fn run(app: &App, args: AuditArgs, out: &Output) -> Result<u8, AppError> {
    let filter = AuditFilter {
        action: args.action,
        integration: args.integration,
        actor: args.actor,
        since_ms: time_arg::parse_opt(args.since.as_deref(), "--since")?,
        until_ms: time_arg::parse_opt(args.until.as_deref(), "--until")?,
        limit: Some(args.limit),
    };
    let entries = app
        .audit_log(&filter)
        .await
        .map_err(flag_names(&["limit"]))?;
    out.audit(&entries);
    Ok(0)
}

impl Output {
    pub(super) fn audit(&self, list: &[AuditEvent]) {
        if self.is_json() {
            return print_json(&list);
        }
        if list.is_empty() {
            return say!("no audit entries match");
        }
        say!(
            "{:<19}  {:<24}  {:<19}  {:<24}  DETAILS",
            "AT",
            "ACTOR",
            "ACTION",
            "OBJECT"
        );
        for e in list {
            let object = e
                .object
                .as_ref()
                .map(|o| o.name.clone().unwrap_or_else(|| o.id.clone()))
                .unwrap_or_else(|| "-".to_string());
            let details: String = audit_summary(e).chars().take(120).collect();
            let line = format!(
                "{:<19}  {:<24}  {:<19}  {:<24}  {details}",
                local(e.at),
                e.actor.chars().take(24).collect::<String>(),
                e.action.as_str(),
                object.chars().take(24).collect::<String>(),
            );
            say!("{}", line.trim_end());
        }
    }
}

/// An audit entry's details in one line: the changed paths of an update, otherwise its
/// top-level values (`key=value`).
fn audit_summary(e: &AuditEvent) -> String {
    let d = &e.details;
    if let Some(changes) = d.get("changes").and_then(|c| c.as_array()) {
        let paths: Vec<&str> = changes
            .iter()
            .filter_map(|c| c.get("path").and_then(|p| p.as_str()))
            .collect();
        let omitted = d.get("omitted").and_then(|o| o.as_u64()).unwrap_or(0);
        let more = if omitted > 0 {
            format!(" (+{omitted} more)")
        } else {
            String::new()
        };
        return format!("changed: {}{more}", paths.join(", "));
    }
    let Some(map) = d.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
