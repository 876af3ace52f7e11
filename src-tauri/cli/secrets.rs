//! `secrets status|use`: the secrets backend in use, and the choice of it.

use super::EXIT_FAILED;
use super::output::{Output, print_json, say};
use crate::error::AppError;
use crate::secrets::BackendKind;
use crate::service::{App, SecretsReport};
use clap::Subcommand;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub(super) enum SecretsCommand {
    /// The backend in use, what chose it (flag, env, setting or default) and whether it can
    /// give secrets now. Exits 1 when it cannot.
    Status,
    /// Save the backend as the data dir's setting (--secrets and HANDOFF_SECRETS still win).
    /// Secrets are not copied: set them again in the new backend.
    Use {
        #[arg(value_enum)]
        backend: BackendKind,
    },
}

pub(super) async fn run(app: &App, cmd: SecretsCommand, out: &Output) -> Result<u8, AppError> {
    match cmd {
        SecretsCommand::Status => {
            let report = app.secrets_status(Duration::from_secs(10)).await;
            out.secrets_status(&report);
            Ok(if report.status.available {
                0
            } else {
                EXIT_FAILED
            })
        }
        SecretsCommand::Use { backend } => {
            app.choose_secrets_backend(backend)?;
            out.done(&format!(
                "secrets: {} from now on (unless --secrets or HANDOFF_SECRETS says \
                 otherwise); secrets already stored elsewhere are not moved — set them again \
                 with integration set-secret",
                backend.as_str()
            ));
            Ok(0)
        }
    }
}

impl Output {
    pub(super) fn secrets_status(&self, r: &SecretsReport) {
        if self.is_json() {
            return print_json(r);
        }
        let chosen_by = match r.chosen_by {
            crate::secrets::ChosenBy::Flag => "--secrets",
            crate::secrets::ChosenBy::Env => crate::secrets::SECRETS_ENV,
            crate::secrets::ChosenBy::Setting => "the data dir's setting",
            crate::secrets::ChosenBy::Default => "default",
            crate::secrets::ChosenBy::Caller => "the embedding program",
        };
        let state = if r.status.available {
            "available"
        } else {
            "NOT AVAILABLE"
        };
        say!("secrets: {} ({chosen_by}), {state}", r.backend);
        if let Some(path) = &r.status.path {
            say!("  file: {}", path.display());
        }
        say!("  {}", r.status.detail);
    }
}
