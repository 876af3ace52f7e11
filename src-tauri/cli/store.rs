//! `store use|set-password|status|copy`: which store the console opens, the shared store's
//! password, how the store is, and copying a local history into a shared store. They run
//! before any store is opened (opening a shared store needs its password).

use super::hidden::read_hidden;
use super::output::{Output, print_json};
use crate::error::AppError;
use crate::secrets::BackendKind;
use crate::service::{
    StoreCopied, StorePasswordSet, StoreStatus, choose_store, copy_store, set_store_password,
    store_status,
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
    /// Copy a console's local history (integrations, handoffs and attempts, intake sources,
    /// mappings and inbox, audit trail, health results) into a PostgreSQL store, then compare
    /// the counts and statistics of both (exit 1 when they differ). The target must be empty,
    /// or hold an earlier run of this copy: run it again to resume one cut short. Stop the
    /// consoles using the local store first. Secrets stay in the secrets backend.
    Copy {
        /// The data dir whose local store (handoff.db) to copy.
        #[arg(long, value_name = "DATA_DIR")]
        from: std::path::PathBuf,
        /// The PostgreSQL store to copy into (default: the one --store, HANDOFF_STORE_URL or
        /// `store use` names); its password from `store set-password`.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
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
        StoreCommand::Copy { from, to } => {
            let copied = copy_store(
                data_dir,
                secrets,
                store,
                &from,
                to.as_deref(),
                copy_progress(),
            )
            .await?;
            out.store_copied(&copied);
            return Ok(if copied.ok() { 0 } else { super::EXIT_FAILED });
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

/// The copy's progress on stderr: one line per table rewritten in place on a terminal, else a
/// line at each tenth of a table.
fn copy_progress() -> impl FnMut(crate::store::copy::CopyProgress<'_>) {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let mut shown = (String::new(), 0u64);
    move |p| {
        if terminal {
            eprint!("\r{}: {} of {}", p.table, p.done, p.total);
            if p.done == p.total {
                eprintln!();
            }
            return;
        }
        let tenth = (p.done * 10).checked_div(p.total).unwrap_or(10);
        if shown.0 != p.table {
            shown = (p.table.to_string(), 0);
            if p.total == 0 {
                eprintln!("{}: 0 of 0", p.table);
                return;
            }
        }
        if tenth > shown.1 {
            shown.1 = tenth;
            eprintln!("{}: {} of {}", p.table, p.done, p.total);
        }
    }
}

impl Output {
    fn store_copied(&self, c: &StoreCopied) {
        if self.is_json() {
            return print_json(c);
        }
        let r = &c.report;
        crate::cli::output::say!(
            "{} {} into {}",
            if r.resumed {
                "resumed the copy of"
            } else {
                "copied"
            },
            r.from,
            r.to
        );
        for t in &r.tables {
            crate::cli::output::say!(
                "{}: {} in the source, {} in the target ({} copied now){}",
                t.table,
                t.source,
                t.target,
                t.copied,
                if t.source == t.target {
                    ""
                } else {
                    " — DIFFERENT"
                }
            );
        }
        crate::cli::output::say!(
            "statistics: {}",
            if c.stats_match {
                "the same on both"
            } else {
                "DIFFERENT"
            }
        );
        for m in &c.mismatches {
            crate::cli::output::say!("  {m}");
        }
        if let Some(key) = &c.data_key {
            crate::cli::output::say!(
                "data key {key}: {}",
                match c.data_key_held {
                    Some(true) => "held by this console's secrets backend",
                    Some(false) =>
                        "NOT in this console's secrets backend: consoles on the store need it \
                         (keys export / keys import)",
                    None => "its secrets backend could not be asked",
                }
            );
        }
    }

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
