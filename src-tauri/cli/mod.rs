//! The command-line adapter: clap definitions, one call into [`App`] per command, and output.
//! `--json` makes stdout exactly one JSON document; logs and progress go to stderr.
//! Exit codes: 0 success, 1 the handoff (or test, or check) failed, or the store or the secrets
//! backend could not be used; 2 usage, configuration or validation errors.
//!
//! One module per command group, each with its flags (clap types), the code that runs them and
//! what they print: `integration`, `secrets`, `keys` (keys rotate), `send`, `retry` (retry,
//! worker), `history` (history, handoffs, show-attempt, reveal), `stats`, `test`, `health`,
//! `export`, `audit`, `source`, `mapping`, `inbox`, `demo`, `serve` (serve, token), `store`. Where the UI has a request type for a
//! capability, the command fills it from its flags and the service checks it, as for the UI.

mod audit;
mod choices;
mod demo;
mod export;
mod health;
mod hidden;
mod history;
mod inbox;
mod integration;
mod keys;
mod logging;
mod mapping;
mod output;
mod retry;
mod secrets;
mod send;
mod serve;
mod source;
mod stats;
mod store;
mod test;
mod window;

use crate::error::AppError;
use crate::secrets::BackendKind;
use crate::service::App;
use clap::{Parser, Subcommand};
use output::Output;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "handoff-console",
    version,
    about = "Deliver data collected by clinic voice agents to clinics' APIs and databases."
)]
pub struct Cli {
    /// Where the store lives (default: the OS app-data dir).
    #[arg(long, global = true, env = "HANDOFF_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Read a history export (from `export`) instead of the store: read-only, no keyring, no
    /// network; for history, handoffs, stats, show-attempt and audit.
    #[arg(long, global = true, value_name = "FILE")]
    history_file: Option<PathBuf>,
    /// Print exactly one JSON document (camelCase keys) on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Where secrets are kept: the OS keyring or the encrypted-file vault (default:
    /// HANDOFF_SECRETS, else the data dir's setting, else keyring). Never switched silently.
    #[arg(long, global = true, value_name = "BACKEND", value_enum)]
    secrets: Option<BackendKind>,
    /// The store to open: `local` (the data dir's SQLite file) or a PostgreSQL store several
    /// consoles share, postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…&schema=…] (default:
    /// HANDOFF_STORE_URL, else the data dir's setting, else local). Its password comes from
    /// the secrets backend (`store set-password`), never from the URL.
    #[arg(long, global = true, value_name = "STORE")]
    store: Option<String>,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No command opens the desktop window (built with the `desktop` feature).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add, list, show, change or remove integrations.
    #[command(subcommand)]
    Integration(integration::IntegrationCommand),
    /// Which secrets backend is in use and whether it works, or choose it.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Deliver one session's collected data to an integration.
    Send(send::SendArgs),
    /// List attempts, newest first.
    History(history::HistoryArgs),
    /// List handoffs (what sessions asked to deliver; configuration tests left out), newest
    /// activity first, each with its state and its last attempt's outcome.
    Handoffs(history::HandoffsArgs),
    /// Everything recorded about one attempt (secrets redacted) and its retry chain.
    ShowAttempt(history::ShowAttemptArgs),
    /// Data keys: `keys rotate` re-seals all handoff data under a new key (resumable).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Show a handoff's raw collected data (it is stored encrypted; this is recorded in the
    /// audit trail).
    Reveal(history::RevealArgs),
    /// Retry one attempt's handoff, or every failed handoff matching a filter (--failed).
    Retry(retry::RetryArgs),
    /// Statistics over attempts: totals, success rate, durations, failures by category, top
    /// errors and a time series (UTC buckets); and handoffs by state (delivered, undelivered,
    /// pending).
    Stats(stats::StatsArgs),
    /// Run due automatic retries until stopped (Ctrl-C), or once with --once.
    Worker(retry::WorkerArgs),
    /// Test an integration's configuration: preview what would be sent, or send test data and
    /// analyse the response (a database test rolls back unless --commit).
    Test(test::TestArgs),
    /// Export the attempt history (masked data, redacted configs, no secrets) to a new
    /// self-contained file that `--history-file` opens anywhere.
    Export(export::ExportArgs),
    /// Create the demo workspace: a SQLite target with the seed's patient_data table and two
    /// integrations (one working, one whose API is down).
    Demo,
    /// Check every integration (or one) and the console's own parts, concurrently; keeps the
    /// results. Exits 1 when any check is in error. Never sends collected data.
    Health(health::HealthArgs),
    /// The audit trail: who changed integrations and secrets, retried, revealed data,
    /// exported or rotated keys, and when; newest first.
    Audit(audit::AuditArgs),
    /// Intake sources: the systems that push data in (add, list, show, update, remove,
    /// rotate-secret).
    #[command(subcommand)]
    Source(source::SourceCommand),
    /// Intake mappings: which messages of a source become handoffs to which integration, and
    /// how (add, list, show, update, remove, try).
    #[command(subcommand)]
    Mapping(mapping::MappingCommand),
    /// Messages sources pushed in, newest first, and what became of each; `inbox show ID`,
    /// and `reveal`, `release`, `reprocess`, `ignore`.
    Inbox(inbox::InboxArgs),
    /// Serve the web UI and its JSON API (every request needs the console's token), and run
    /// due automatic retries, until stopped (Ctrl-C).
    Serve(serve::ServeArgs),
    /// Print the console's API token (made on first use): the key to `serve`'s API and UI.
    Token,
    /// Which store the console opens (`store use local|URL`), and a shared store's password
    /// (`store set-password`).
    #[command(subcommand)]
    Store(store::StoreCommand),
}

/// Exit code for a handoff (or test, or check) that failed.
const EXIT_FAILED: u8 = 1;
/// Exit code for usage, configuration and validation errors.
const EXIT_USAGE: u8 = 2;

/// Input problems (2) are the caller's to fix; an unreachable store or keyring, or an internal
/// failure, means the operation failed (1) and may work when tried again.
fn exit_code(e: &AppError) -> u8 {
    use crate::ErrorKind as K;
    match e.kind {
        K::NotFound | K::Invalid | K::Conflict => EXIT_USAGE,
        K::Unavailable | K::Internal => EXIT_FAILED,
    }
}

/// The CLI's entry point: parses `std::env::args`, runs the command, returns the exit code.
pub fn main() -> ExitCode {
    let json_requested = std::env::args().any(|a| a == "--json");
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            // Help and version were asked for; anything else (a bare `integration` included,
            // for which clap shows help) is an error that --json reports on stdout.
            if json_requested && !matches!(e.kind(), K::DisplayHelp | K::DisplayVersion) {
                let message = usage_error_message(&e);
                Output::new(true).error(&AppError::new(crate::ErrorKind::Invalid, message));
                return ExitCode::from(EXIT_USAGE);
            }
            e.exit();
        }
    };
    let Some(command) = cli.command.take() else {
        return window::window(cli);
    };
    logging::init_logging(cli.verbose, None);
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let out = Output::new(cli.json);
    let code = runtime.block_on(async {
        match run(cli, command, &out).await {
            Ok(code) => code,
            Err(e) => {
                out.error(&e);
                exit_code(&e)
            }
        }
    });
    ExitCode::from(code)
}

/// The multi-threaded runtime, or the exit code for a machine that cannot start one.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_FAILED)
        })
}

/// A clap error in one line: its text up to the usage (e.g. "the following required arguments
/// were not provided: <ATTEMPT>"), or the usage itself when clap would show help instead.
fn usage_error_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let usage = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Usage:"));
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return format!(
            "a subcommand or argument is missing ({})",
            usage.unwrap_or("see --help")
        );
    }
    let summary = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match summary.trim_start_matches("error: ") {
        "" => "invalid arguments".to_string(),
        s => s.to_string(),
    }
}

/// Opens the store (or the history file, for the commands that read one) and runs `command`.
async fn run(cli: Cli, command: Command, out: &Output) -> Result<u8, AppError> {
    let app = match &cli.history_file {
        Some(file) => {
            if !matches!(
                command,
                Command::History(_)
                    | Command::Handoffs(_)
                    | Command::Stats(_)
                    | Command::ShowAttempt(_)
                    | Command::Audit(_)
            ) {
                return Err(AppError::invalid(
                    "--history-file",
                    "a history file is read-only: use it with history, handoffs, stats, \
                     show-attempt or audit",
                ));
            }
            App::open_history(file).await?
        }
        None => {
            let data_dir = cli
                .data_dir
                .map_or_else(crate::service::default_data_dir, Ok)?;
            if let Command::Store(cmd) = command {
                // Before any store is opened: a shared one needs the password this sets.
                return store::run(&data_dir, cli.secrets, cli.store.as_deref(), cmd, out).await;
            }
            App::open_chosen(&data_dir, cli.secrets, cli.store.as_deref()).await?
        }
    };
    match command {
        // Serve shares the app with its server and closes it itself.
        Command::Serve(args) => serve::serve(app, args, out).await,
        command => {
            let code = dispatch(&app, command, out).await;
            app.close().await;
            code
        }
    }
}

async fn dispatch(app: &App, command: Command, out: &Output) -> Result<u8, AppError> {
    match command {
        Command::Integration(cmd) => integration::run(app, cmd, out).await,
        Command::Secrets(cmd) => secrets::run(app, cmd, out).await,
        Command::Send(args) => send::run(app, args, out).await,
        Command::History(args) => history::history(app, args, out).await,
        Command::Handoffs(args) => history::handoffs(app, args, out).await,
        Command::ShowAttempt(args) => history::show_attempt(app, args, out).await,
        Command::Keys(cmd) => keys::run(app, cmd, out).await,
        Command::Reveal(args) => history::reveal(app, args, out).await,
        Command::Retry(args) => retry::retry(app, args, out).await,
        Command::Stats(args) => stats::run(app, args, out).await,
        Command::Worker(args) => retry::worker(app, args, out).await,
        Command::Test(args) => test::run(app, args, out).await,
        Command::Export(args) => export::run(app, args, out).await,
        Command::Demo => demo::run(app, out).await,
        Command::Health(args) => health::run(app, args, out).await,
        Command::Audit(args) => audit::run(app, args, out).await,
        Command::Source(cmd) => source::run(app, cmd, out).await,
        Command::Mapping(cmd) => mapping::run(app, cmd, out).await,
        Command::Inbox(args) => inbox::run(app, args, out).await,
        Command::Serve(_) | Command::Store(_) => Err(AppError::internal(
            "serve and store are run by `run`, not `dispatch`",
        )),
        Command::Token => serve::token(app, out),
    }
}

/// A file's text (`-`: stdin), at most the size of the largest config; `flag` names it in
/// errors.
fn read_input(path: &str, flag: &str) -> Result<String, AppError> {
    use std::io::Read;
    let limit = (crate::integrations::MAX_CONFIG_BYTES + 1) as u64;
    let mut text = String::new();
    let result = if path == "-" {
        std::io::stdin().take(limit).read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_string(&mut text))
    };
    result.map_err(|e| AppError::invalid(flag, format!("cannot read '{path}': {e}")))?;
    if text.len() as u64 >= limit {
        return Err(AppError::invalid(
            flag,
            format!("'{path}' is larger than {} bytes", limit - 1),
        ));
    }
    Ok(text)
}

/// A JSON file of collected field values (`-`: stdin), as `--data` takes it.
fn read_json_data(path: &str) -> Result<serde_json::Value, AppError> {
    let text = read_input(path, "--data")?;
    serde_json::from_str(&text)
        .map_err(|e| AppError::invalid("--data", format!("not valid JSON: {e}")))
}

/// The service names a request's fields as the UI sends them (`since`, `timeoutMs`); the CLI
/// user gave flags. This renames those of `fields` in an invalid-input error to their flags
/// (`--since`, `--timeout-ms`); the reasons stay the service's.
fn flag_names(fields: &'static [&'static str]) -> impl Fn(AppError) -> AppError {
    move |mut e| {
        if e.kind != crate::ErrorKind::Invalid {
            return e;
        }
        let as_flag = |field: &mut String| {
            if fields.contains(&field.as_str()) {
                *field = flag_of(field);
            }
        };
        let joined = |e: &AppError| {
            e.details
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        // The message is the problems' list unless the error was made with another one.
        let message_is_list = !e.details.is_empty() && e.message == joined(&e);
        if let Some(field) = e.field.as_mut() {
            as_flag(field);
        }
        for problem in &mut e.details {
            as_flag(&mut problem.field);
        }
        if message_is_list {
            e.message = joined(&e);
        }
        e
    }
}

/// `timeoutMs` → `--timeout-ms`.
fn flag_of(field: &str) -> String {
    let mut flag = String::from("--");
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            flag.push('-');
            flag.push(c.to_ascii_lowercase());
        } else {
            flag.push(c);
        }
    }
    flag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_fields_in_errors_become_the_flags_given() {
        let e = flag_names(&["since", "timeoutMs"])(AppError::invalid("timeoutMs", "too long"));
        assert_eq!(e.field.as_deref(), Some("--timeout-ms"));
        assert_eq!(e.message, "--timeout-ms: too long");
        assert_eq!(e.details[0].field, "--timeout-ms");
        // Fields that are not flags (a config's) stay as they are.
        let e = flag_names(&["since"])(AppError::invalid("api.endpoint", "not a URL"));
        assert_eq!(e.message, "api.endpoint: not a URL");
        let e = flag_names(&["since"])(AppError::not_found("integration", "x"));
        assert_eq!(e.message, "integration 'x' not found");
    }
}
