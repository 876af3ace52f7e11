//! `store use|set-password`: which store the console opens, and the shared store's password.
//! Both run before any store is opened (opening a shared store needs its password).

use super::integration::read_secret;
use super::output::{Output, print_json};
use crate::error::AppError;
use crate::secrets::{BackendKind, Secret};
use crate::service::{StorePasswordSet, choose_store, set_store_password};
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
            let password = read_password()?;
            let set =
                set_store_password(data_dir, secrets, store, url.as_deref(), password).await?;
            out.store_password_set(&set);
        }
    }
    Ok(0)
}

impl Output {
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

/// One line of stdin; on a terminal, asked for on stderr and not echoed.
fn read_password() -> Result<Secret<String>, AppError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return read_secret().map(Secret::new);
    }
    eprint!("store password: ");
    let echo = EchoOff::new();
    let value = read_secret();
    drop(echo);
    eprintln!();
    value.map(Secret::new)
}

/// Turns the terminal's echo off on stdin until dropped (Unix; elsewhere it does nothing).
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> Self {
        #[cfg(unix)]
        {
            // SAFETY: tcgetattr fills the struct it is given; a zeroed termios is a valid
            // value to hand it, and it is only used when the call succeeded.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } != 0 {
                return Self { saved: None };
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            // SAFETY: `t` is the terminal's own settings with ECHO cleared.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) };
            Self { saved: Some(saved) }
        }
        #[cfg(not(unix))]
        Self {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            // SAFETY: restores the settings tcgetattr returned.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved) };
        }
    }
}
