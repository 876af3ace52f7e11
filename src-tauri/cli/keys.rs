//! `keys rotate|export|import`: re-sealing handoff data under a new data key, and moving the
//! data keys to another console's secrets backend in a passphrase-sealed bundle.

use super::hidden::read_hidden;
use super::output::{Output, print_json, progress_reporter, say};
use crate::error::AppError;
use crate::service::{App, KeyRotation, RotationOptions};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(super) enum KeysCommand {
    /// Re-seal every handoff's data under a new data key, then delete the old key; if an
    /// earlier rotation was cut short, finish it instead.
    Rotate {
        /// Re-seal at most this many handoffs now (run again to go on).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
    },
    /// Write the store's data keys to a new file sealed by a passphrase (read from stdin, at
    /// least 12 characters), to give them to another console's secrets backend (`keys import`):
    /// a second console on a shared store, or this store copied elsewhere.
    Export {
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
    },
    /// Add the data keys of a file `keys export` wrote to this console's secrets backend (the
    /// passphrase from stdin). A different key with the same id is never replaced.
    Import { file: std::path::PathBuf },
}

pub(super) async fn run(app: &App, cmd: KeysCommand, out: &Output) -> Result<u8, AppError> {
    let limit = match cmd {
        KeysCommand::Rotate { limit } => limit,
        KeysCommand::Export { to } => {
            let passphrase = read_hidden("passphrase for the key bundle")?;
            let done = app.export_data_keys(&to, passphrase).await?;
            if out.is_json() {
                print_json(&done);
            } else {
                out.done(&format!(
                    "{} data key(s) written to {} ({}); give it and its passphrase to the other \
                     console: keys import FILE",
                    done.keys.len(),
                    done.path,
                    done.keys.join(", ")
                ));
                if !done.missing.is_empty() {
                    say!(
                        "not in this secrets backend, so not in the bundle: {}",
                        done.missing.join(", ")
                    );
                }
            }
            return Ok(0);
        }
        KeysCommand::Import { file } => {
            let passphrase = read_hidden("passphrase of the key bundle")?;
            let done = app.import_data_keys(&file, passphrase).await?;
            if out.is_json() {
                print_json(&done);
            } else {
                out.done(&format!(
                    "data keys added: {}; already here: {}",
                    list_or_none(&done.added),
                    list_or_none(&done.already)
                ));
            }
            return Ok(0);
        }
    };
    let progress = progress_reporter("re-sealing handoff", 1);
    let report = |done: u64, total: u64| progress(done as usize, total as usize);
    let options = RotationOptions {
        limit,
        ..Default::default()
    };
    let rotation = app.rotate_data_key(options, &report).await?;
    out.key_rotation(&rotation);
    Ok(0)
}

fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

impl Output {
    pub(super) fn key_rotation(&self, r: &KeyRotation) {
        if self.is_json() {
            return print_json(r);
        }
        let how = if r.resumed {
            "finished rotating to"
        } else {
            "rotated to"
        };
        say!(
            "{how} data key {}: {} handoff(s) re-sealed, {} skipped (data that cannot be opened), \
             {} left, {} old key(s) deleted",
            r.key,
            r.resealed,
            r.skipped,
            r.remaining,
            r.deleted_keys
        );
        if r.remaining > r.skipped {
            say!("run `keys rotate` again to re-seal the rest");
        }
        if r.deleted_keys == 0 {
            say!(
                "old keys stay in the secrets backend for {} minutes after a rotation (a send may \
                 still be using one); a later `keys rotate` deletes them",
                crate::service::KEEP_RETIRED.as_secs() / 60
            );
        }
    }
}
