//! What every command's output shares: one JSON document with `--json`, otherwise short
//! human-readable text, with times in the local zone; errors, and progress on stderr. Each
//! command group prints its own results (an `impl Output` block beside the group's code).

use crate::error::AppError;
use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use serde_json::json;

/// `println!` for human output: text that came from a target (messages, headers, bodies, column
/// names) may hold control characters, which are shown escaped instead of reaching the
/// terminal. (`--json` output is escaped by serde.)
macro_rules! say {
    ($($arg:tt)*) => {
        std::println!("{}", $crate::cli::output::printable(&format!($($arg)*)))
    };
}
pub(super) use say;

pub struct Output {
    json: bool,
}

/// A time as the text output shows it: local, to the second.
pub(super) fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Text from a target with control characters (other than newlines and tabs) shown as `\u{..}`
/// escapes, so a response cannot move the cursor or recolour the terminal.
pub(super) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(super) fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => std::println!("{text}"),
        Err(e) => std::println!(
            "{}",
            json!({"error": {"kind": "internal", "message": e.to_string()}})
        ),
    }
}

/// Progress on stderr for work on `min_total` or more items: one updating line on a terminal,
/// otherwise a line at every tenth (so a log shows it without a flood of carriage returns).
pub(super) fn progress_reporter(
    label: &'static str,
    min_total: usize,
) -> impl Fn(usize, usize) + Sync {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    move |done: usize, total: usize| {
        if total < min_total {
            return;
        }
        if terminal {
            eprint!("\r{label} {done}/{total}");
            if done == total {
                eprintln!();
            }
        } else if done > 0 && (done == total || done.is_multiple_of(total.div_ceil(10))) {
            eprintln!("{label} {done}/{total}");
        }
    }
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    pub fn error(&self, e: &AppError) {
        if self.json {
            print_json(&json!({ "error": e }));
        } else {
            eprintln!("error: {}", printable(&e.to_string()));
        }
    }

    pub fn done(&self, message: &str) {
        if self.json {
            print_json(&json!({ "ok": true, "message": message }));
        } else {
            say!("{message}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn terminal_escapes_from_a_target_are_shown_not_obeyed() {
        assert_eq!(
            super::printable("ok\x1b[2J\x07done\n\tnext"),
            "ok\\u{1b}[2J\\u{7}done\n\tnext"
        );
    }
}
