//! `store use|set-password`: which store the console opens, and the shared store's password.
//! Both run before any store is opened (opening a shared store needs its password).

use super::hidden::read_hidden;
use super::output::{Output, print_json};
use crate::error::AppError;
use crate::secrets::BackendKind;
use crate::service::{
    StorePasswordSet, StoreStatus, choose_store, set_store_password, store_status,
};
use clap::Subcommand;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub(super) enum StoreCommand {
    /// Save which store this data dir's console opens: `local` (its own SQLite file) or a
    /// PostgreSQL store several consoles share, `postgres://USER@HOST[:PORT]/DATABASE[?…]`
    /// (no password in it: see set-password). --store and HANDOFF_STORE_URL still win.
    Use { store: String },
    /// Keep a PostgreSQL store's password in the secrets backend, where opening the store
    /// finds it. Reads one line from stdin (not echoed on a terminal). For URL, else for the
    /// store --store, HANDOFF_STORE_URL or the setting names.
    SetPassword { url: Option<String> },
    /// Which store the console opens and what chose it, whether it opens and takes writes at
    /// this version's schema, and whether this console holds its data key. Exits 1 when not.
    Status,
}

/// Runs `cmd` for the data dir `data_dir`, with the CLI's `--secrets` and `--store`.
pub(super) async fn run(
    data_dir: &Path,
    secrets: Option<BackendKind>,
    store: Option<&str>,
    cmd: StoreCommand,
    out: &Output,
) -> Result<u8, AppError> {
    match cmd {
        StoreCommand::Status => {
            let status = store_status(data_dir, secrets, store).await?;
            out.store_status(&status);
            return Ok(if status.ok() { 0 } else { super::EXIT_FAILED });
        }
        StoreCommand::Use { store: value } => {
            let choice = choose_store(data_dir, &value)?;
            let value = choice.setting_value();
            if out.is_json() {
                print_json(&serde_json::json!({ "store": value }));
            } else {
                out.done(&format!(
                    "store: {value} from now on (unless --store or {} says otherwise)",
                    crate::store::STORE_ENV
                ));
            }
        }
        StoreCommand::SetPassword { url } => {
            let password = read_hidden("store password")?;
            let set =
                set_store_password(data_dir, secrets, store, url.as_deref(), password).await?;
            out.store_password_set(&set);
        }
    }
    Ok(0)
}

impl Output {
    fn store_status(&self, s: &StoreStatus) {
        if self.is_json() {
            return print_json(s);
        }
        crate::cli::output::say!("store: {} ({}, chosen by {})", s.store, s.kind, s.chosen_by);
        if let Some(e) = &s.error {
            crate::cli::output::say!("opens: no — {e}");
            return;
        }
        for c in &s.checks {
            crate::cli::output::say!(
                "{}: {}{}",
                c.name,
                c.status.as_str(),
                c.reason
                    .as_deref()
                    .map_or(String::new(), |r| format!(" — {r}"))
            );
        }
        match (&s.data_key, s.data_key_held) {
            (None, _) => crate::cli::output::say!("data key: none yet (nothing sealed)"),
            (Some(id), Some(true)) => {
                crate::cli::output::say!("data key: {id}, held by this console's secrets backend")
            }
            (Some(id), Some(false)) => crate::cli::output::say!(
                "data key: {id}, NOT held by this console's secrets backend: bring it here \
                 (keys export on a console that has it, keys import here)"
            ),
            (Some(id), None) => crate::cli::output::say!(
                "data key: {id}; the secrets backend could not be asked whether it holds it"
            ),
        }
    }

    fn store_password_set(&self, s: &StorePasswordSet) {
        if self.is_json() {
            return print_json(s);
        }
        self.done(&format!(
            "the password of {} is kept in the {} secrets backend ({})",
            s.store, s.backend, s.key
        ));
    }
}
