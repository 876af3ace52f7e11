//! `source add|list|show|update|remove|rotate-secret`: intake sources, and how they are printed.
//! The flags fill the UI's request types (`SourceRequest`, `SourceChange`,
//! `RotateSecretRequest`); the service checks them.

use super::flag_names;
use super::integration::read_secret;
use super::output::{Output, local, print_json, say};
use crate::error::AppError;
use crate::intake::sources::{Source, SourceKind};
use crate::intake::verify::Verification;
use crate::service::{App, RotateSecretRequest, SourceChange, SourceRequest, SourceSecret};
use clap::{Args, Subcommand};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub(super) enum SourceCommand {
    /// Add a source; prints its secret once (give it to the sender).
    Add {
        /// The URL segment the sender posts to: /intake/v1/<NAME>.
        name: String,
        #[arg(long, value_enum)]
        kind: SourceKind,
        #[command(flatten)]
        verification: VerificationArgs,
        #[arg(long)]
        display_name: Option<String>,
        /// Messages a minute it may send (default 6000); more are answered 429.
        #[arg(long)]
        rate_per_minute: Option<u32>,
        /// The integrations (ids or names) it may name: comma-separated, or the flag repeated
        /// (`--integration` also works).
        #[arg(
            long,
            alias = "integration",
            value_name = "ID|NAME",
            value_delimiter = ','
        )]
        integrations: Vec<String>,
        /// Read the secret the sender already has from stdin (default: make one).
        #[arg(long)]
        secret_stdin: bool,
        /// Add it switched off.
        #[arg(long)]
        disabled: bool,
    },
    /// List sources.
    List,
    /// Show a source (never its secret).
    Show { id: String },
    /// Change a source's settings; what is not given stays.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, value_enum)]
        kind: Option<SourceKind>,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
        #[arg(long)]
        rate_per_minute: Option<u32>,
        /// The integrations it may name (replaces the list): comma-separated, or repeated.
        #[arg(
            long,
            alias = "integration",
            value_name = "ID|NAME",
            value_delimiter = ',',
            conflicts_with = "no_integrations"
        )]
        integrations: Vec<String>,
        /// It may name no integration.
        #[arg(long)]
        no_integrations: bool,
    },
    /// Remove a source and its secrets (its inbox stays).
    Remove { id: String },
    /// Give a source a new secret (printed once); the old one is accepted a while longer.
    RotateSecret {
        id: String,
        /// How long the old secret is still accepted (0 to 720; default 24).
        #[arg(long)]
        keep_previous_hours: Option<u32>,
        /// Read the new secret from stdin (default: make one).
        #[arg(long)]
        secret_stdin: bool,
    },
}

/// How a source proves a message is its own (`Verification`, by its wire names).
#[derive(Debug, Args)]
pub(super) struct VerificationArgs {
    /// standardWebhooks, hmacHex, sharedSecret or intakeKey.
    #[arg(long, value_name = "MODE")]
    verification: String,
    /// The signature (hmacHex) or secret (sharedSecret) header, e.g. X-Signature.
    #[arg(long)]
    header: Option<String>,
    /// What precedes the hex signature (hmacHex), e.g. sha256=.
    #[arg(long)]
    prefix: Option<String>,
    /// A header with the Unix time the signature covers too (hmacHex).
    #[arg(long)]
    timestamp_header: Option<String>,
}

impl VerificationArgs {
    fn read(self) -> Result<Verification, AppError> {
        let mut v = json!({ "mode": self.verification });
        for (key, value) in [
            ("header", self.header),
            ("prefix", self.prefix),
            ("timestampHeader", self.timestamp_header),
        ] {
            if let Some(value) = value {
                v[key] = json!(value);
            }
        }
        serde_json::from_value(v).map_err(|e| {
            AppError::invalid(
                "--verification",
                format!(
                    "{e} (modes: standardWebhooks; hmacHex with --header [--prefix] \
                     [--timestamp-header]; sharedSecret with --header; intakeKey)"
                ),
            )
        })
    }
}

/// The request fields as flags, for errors.
const FLAGS: &[&str] = &[
    "name",
    "displayName",
    "ratePerMinute",
    "integrations",
    "keepPreviousHours",
    "header",
    "prefix",
    "timestampHeader",
];

pub(super) async fn run(app: &App, cmd: SourceCommand, out: &Output) -> Result<u8, AppError> {
    let flags = flag_names(FLAGS);
    match cmd {
        SourceCommand::Add {
            name,
            kind,
            verification,
            display_name,
            rate_per_minute,
            integrations,
            secret_stdin,
            disabled,
        } => {
            let request = SourceRequest {
                name,
                display_name,
                kind,
                verification: verification.read()?,
                enabled: Some(!disabled),
                rate_per_minute,
                integrations,
                secret: secret_stdin.then(read_secret).transpose()?,
            };
            out.source_secret(&app.add_source(request).await.map_err(flags)?);
        }
        SourceCommand::List => out.sources(&app.sources().await?),
        SourceCommand::Show { id } => out.source(&app.source(&id).await?),
        SourceCommand::Update {
            id,
            name,
            display_name,
            kind,
            enable,
            disable,
            rate_per_minute,
            integrations,
            no_integrations,
        } => {
            let change = SourceChange {
                name,
                display_name,
                kind,
                verification: None,
                enabled: (enable || disable).then_some(enable),
                rate_per_minute,
                integrations: (no_integrations || !integrations.is_empty()).then_some(integrations),
            };
            out.source(&app.update_source(&id, change).await.map_err(flags)?);
        }
        SourceCommand::Remove { id } => {
            let removed = app.remove_source(&id).await?;
            out.done(&format!("source {} removed", removed.name));
        }
        SourceCommand::RotateSecret {
            id,
            keep_previous_hours,
            secret_stdin,
        } => {
            let request = RotateSecretRequest {
                secret: secret_stdin.then(read_secret).transpose()?,
                keep_previous_hours,
            };
            let rotated = app
                .rotate_source_secret(&id, request)
                .await
                .map_err(flags)?;
            out.source_secret(&rotated);
        }
    }
    Ok(0)
}

fn verification_summary(v: &Verification) -> String {
    match v {
        Verification::StandardWebhooks => "standardWebhooks".into(),
        Verification::HmacHex {
            header,
            prefix,
            timestamp_header,
        } => {
            let ts = timestamp_header
                .as_deref()
                .map(|t| format!(" (+{t})"))
                .unwrap_or_default();
            format!("hmacHex {header}: {prefix}<hex>{ts}")
        }
        Verification::SharedSecret { header } => format!("sharedSecret {header}"),
        Verification::IntakeKey => "intakeKey (Authorization: Bearer)".into(),
    }
}

impl Output {
    fn sources(&self, list: &[Source]) {
        if self.is_json() {
            return print_json(&list);
        }
        if list.is_empty() {
            return say!("no sources (add one with `source add`)");
        }
        say!(
            "{:<24}  {:<6}  {:<8}  {:>8}  VERIFICATION",
            "NAME",
            "KIND",
            "STATE",
            "PER MIN"
        );
        for s in list {
            let line = format!(
                "{:<24}  {:<6}  {:<8}  {:>8}  {}",
                s.name,
                s.kind.as_str(),
                if s.enabled { "enabled" } else { "disabled" },
                s.rate_per_minute,
                verification_summary(&s.verification),
            );
            say!("{}", line.trim_end());
        }
    }

    fn source(&self, s: &Source) {
        if self.is_json() {
            return print_json(s);
        }
        say!("{} ({})", s.display_name, s.name);
        say!("  id:            {}", s.id);
        say!("  endpoint:      POST /intake/v1/{}", s.name);
        say!("  kind:          {}", s.kind.as_str());
        say!("  verification:  {}", verification_summary(&s.verification));
        say!(
            "  state:         {}",
            if s.enabled { "enabled" } else { "disabled" }
        );
        say!("  rate:          {} a minute", s.rate_per_minute);
        let names: Vec<String> = s.integrations.iter().map(ToString::to_string).collect();
        say!(
            "  integrations:  {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
        if let Some(until) = s.previous_secret_until {
            say!("  old secret accepted until {}", local(until));
        }
    }

    fn source_secret(&self, s: &SourceSecret) {
        if self.is_json() {
            return print_json(s);
        }
        self.source(&s.source);
        say!("");
        say!("secret (shown once; give it to the sender now):");
        say!("{}", s.secret);
    }
}
