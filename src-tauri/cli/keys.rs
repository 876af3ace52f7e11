//! `keys rotate`: re-sealing handoff data under a new data key.

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
}

pub(super) async fn run(app: &App, cmd: KeysCommand, out: &Output) -> Result<u8, AppError> {
    let KeysCommand::Rotate { limit } = cmd;
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
