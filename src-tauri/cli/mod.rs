//! The command-line adapter: clap definitions, one call into [`App`] per command, and output.
//! `--json` makes stdout exactly one JSON document; logs and progress go to stderr.
//! Exit codes: 0 success, 1 the handoff (or test, or check) failed, or the store or the secrets
//! backend could not be used; 2 usage, configuration or validation errors.

mod output;

use crate::attempts::{HandoffState, HistoryFilter, RetryFilter, Status, Trigger};
use crate::audit::{AuditAction, AuditFilter};
use crate::error::AppError;
use crate::export::ExportFilter;
use crate::ids::AttemptId;
use crate::integrations::{self, SecretSlot, TargetKind};
use crate::secrets::BackendKind;
use crate::service::requests::HandoffsQuery;
use crate::service::{App, TestData, TestRequest};
use crate::stats::{SeriesBucket, StatsFilter};
use crate::targets::ErrorCategory;
use crate::testing::GenerateOptions;
use clap::{Args, Parser, Subcommand};
use output::Output;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

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
    #[arg(long, global = true, value_name = "BACKEND", value_parser = ["keyring", "vault"])]
    secrets: Option<String>,
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
    Integration(IntegrationCommand),
    /// Which secrets backend is in use and whether it works, or choose it.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Deliver one session's collected data to an integration.
    Send {
        #[arg(long, value_name = "ID|NAME")]
        integration: String,
        #[arg(long, value_name = "SID")]
        session: String,
        /// A JSON file of collected field values, or - for stdin.
        #[arg(long, value_name = "DATA.json|-")]
        data: String,
    },
    /// List attempts, newest first.
    History(HistoryArgs),
    /// List handoffs (what sessions asked to deliver; configuration tests left out), newest
    /// activity first, each with its state and its last attempt's outcome.
    Handoffs(HandoffsArgs),
    /// Everything recorded about one attempt (secrets redacted) and its retry chain.
    ShowAttempt { id: AttemptId },
    /// Data keys: `keys rotate` re-seals all handoff data under a new key (resumable).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Show a handoff's raw collected data (it is stored encrypted; this is recorded in the
    /// audit trail).
    Reveal {
        #[arg(value_name = "HANDOFF_ID")]
        handoff: crate::ids::HandoffId,
    },
    /// Retry one attempt's handoff, or every failed handoff matching a filter (--failed).
    Retry(RetryArgs),
    /// Statistics over attempts: totals, success rate, durations, failures by category, top
    /// errors and a time series (UTC buckets); and handoffs by state (delivered, undelivered,
    /// pending).
    Stats(StatsArgs),
    /// Run due automatic retries until stopped (Ctrl-C), or once with --once.
    Worker {
        /// Run every retry that is due now, then exit.
        #[arg(long)]
        once: bool,
        /// How often to look for retries scheduled by other processes.
        #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(50..=3_600_000))]
        poll_ms: u64,
    },
    /// Test an integration's configuration: preview what would be sent, or send test data and
    /// analyse the response (a database test rolls back unless --commit).
    Test(TestArgs),
    /// Export the attempt history (masked data, redacted configs, no secrets) to a new
    /// self-contained file that `--history-file` opens anywhere.
    Export {
        /// The file to create (it must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long, value_name = "ID|NAME")]
        integration: Option<String>,
        /// RFC 3339, a date, or an age such as 30m, 2h, 7d (attempts started then or later).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        #[arg(long, value_name = "T")]
        until: Option<String>,
    },
    /// Create the demo workspace: a SQLite target with the seed's patient_data table and two
    /// integrations (one working, one whose API is down).
    Demo,
    /// Check every integration (or one) and the console's own parts, concurrently; keeps the
    /// results. Exits 1 when any check is in error. Never sends collected data.
    Health {
        #[arg(long, value_name = "ID|NAME", conflicts_with = "last")]
        integration: Option<String>,
        /// The most each check may take.
        #[arg(long, default_value_t = 5000, value_name = "MS", value_parser = clap::value_parser!(u64).range(100..=60_000), conflicts_with = "last")]
        timeout_ms: u64,
        /// Show the last-known results from the store instead of checking (works offline).
        #[arg(long)]
        last: bool,
    },
    /// The audit trail: who changed integrations and secrets, retried, revealed data,
    /// exported or rotated keys, and when; newest first.
    Audit(AuditArgs),
    /// Serve the web UI and its JSON API (every request needs the console's token), and run
    /// due automatic retries, until stopped (Ctrl-C).
    Serve {
        /// Where to listen; a non-loopback address needs --allow-remote.
        #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR:PORT")]
        bind: std::net::SocketAddr,
        /// Listen beyond loopback although the console speaks plain HTTP (put a TLS proxy in
        /// front).
        #[arg(long)]
        allow_remote: bool,
        /// Do not run automatic retries in this process.
        #[arg(long)]
        no_worker: bool,
    },
    /// Print the console's API token (made on first use): the key to `serve`'s API and UI.
    Token,
}

#[derive(Debug, Args)]
struct AuditArgs {
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(AuditAction::ALL.map(AuditAction::as_str)))]
    action: Option<String>,
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
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
}

#[derive(Debug, Subcommand)]
enum IntegrationCommand {
    /// Add an integration from a config file (an envelope, or a bare seed APIConfig /
    /// DatabaseConfig); prints its id.
    Add {
        #[arg(long, value_name = "CFG.json|-")]
        file: String,
        /// The name of a bare seed config (default: the file's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// List integrations.
    List {
        #[arg(long, value_parser = ["api", "database"])]
        kind: Option<String>,
    },
    /// Show an integration's config (secrets masked).
    Show { id: String },
    /// Replace an integration's config; masked secrets keep their stored value.
    Update {
        id: String,
        #[arg(long, value_name = "CFG.json|-")]
        file: String,
    },
    /// Remove an integration and its secrets (its history stays).
    Remove { id: String },
    /// Set one secret from stdin: api.token, api.password, api.key or database.password.
    SetSecret { id: String, name: String },
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// The backend in use, what chose it (flag, env, setting or default) and whether it can
    /// give secrets now. Exits 1 when it cannot.
    Status,
    /// Save the backend as the data dir's setting (--secrets and HANDOFF_SECRETS still win).
    /// Secrets are not copied: set them again in the new backend.
    Use {
        #[arg(value_parser = ["keyring", "vault"])]
        backend: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Re-seal every handoff's data under a new data key, then delete the old key; if an
    /// earlier rotation was cut short, finish it instead.
    Rotate {
        /// Re-seal at most this many handoffs now (run again to go on).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
    },
}

#[derive(Debug, Args)]
struct HistoryArgs {
    #[arg(long, value_parser = ["failed", "succeeded", "pending"])]
    status: Option<String>,
    #[arg(long, value_name = "ID|NAME")]
    integration: Option<String>,
    #[arg(long, value_name = "SID")]
    session: Option<String>,
    #[arg(long, value_parser = ["live", "test", "retry", "webhook"])]
    trigger: Option<String>,
    #[arg(long, value_parser = category_parser())]
    category: Option<String>,
    /// RFC 3339, a date, or an age such as 30m, 2h, 7d.
    #[arg(long, value_name = "T")]
    since: Option<String>,
    #[arg(long, value_name = "T")]
    until: Option<String>,
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
}

#[derive(Debug, Args)]
struct HandoffsArgs {
    /// delivered; undelivered (failed for good, or waiting for a scheduled retry); pending (an
    /// attempt is under way).
    #[arg(long, value_parser = ["delivered", "undelivered", "pending"])]
    status: Option<String>,
    #[arg(long, value_name = "ID|NAME")]
    integration: Option<String>,
    #[arg(long, value_name = "SID")]
    session: Option<String>,
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
}

#[derive(Debug, Args)]
struct RetryArgs {
    /// The attempt whose handoff to retry.
    #[arg(required_unless_present = "failed", conflicts_with = "failed")]
    attempt: Option<AttemptId>,
    /// Retry every failed handoff matching the filters.
    #[arg(long)]
    failed: bool,
    #[arg(long, value_name = "ID|NAME", requires = "failed")]
    integration: Option<String>,
    #[arg(long, value_parser = category_parser(), requires = "failed")]
    category: Option<String>,
    /// RFC 3339, a date, or an age such as 30m, 2h, 7d.
    #[arg(long, value_name = "T", requires = "failed")]
    since: Option<String>,
    #[arg(long, value_name = "T", requires = "failed")]
    until: Option<String>,
    /// Only say how many handoffs match.
    #[arg(long, requires = "failed")]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct StatsArgs {
    #[arg(long, value_name = "ID|NAME")]
    integration: Option<String>,
    #[arg(long, value_name = "SID")]
    session: Option<String>,
    /// Attempts of this trigger; handoffs of this origin (live, webhook), retried at least
    /// once (retry), or none (test: configuration tests are not handoffs).
    #[arg(long, value_parser = ["live", "test", "retry", "webhook"])]
    trigger: Option<String>,
    /// RFC 3339, a date, or an age such as 30m, 2h, 7d (inclusive; attempts by start, handoffs
    /// by creation).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// As --since (exclusive).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// The time series' bucket width.
    #[arg(long, default_value = "day", value_parser = ["minute", "hour", "day"])]
    bucket: String,
    /// Compute from every attempt with exact percentiles (slow on a large history) instead of
    /// from the rollups (percentiles within 1%).
    #[arg(long)]
    exact: bool,
}

#[derive(Debug, Args)]
struct TestArgs {
    #[arg(long, value_name = "ID|NAME")]
    integration: String,
    /// Custom test data: a JSON file of field values, or - for stdin.
    #[arg(
        long,
        value_name = "DATA.json|-",
        required_unless_present = "generate",
        conflicts_with = "generate"
    )]
    data: Option<String>,
    /// Generate realistic test data from the field schema.
    #[arg(long)]
    generate: bool,
    /// Reproduce generated data (the seed is printed with every generated test).
    #[arg(long, requires = "generate")]
    seed: Option<u64>,
    /// Generate every field, not only the required ones.
    #[arg(long, requires = "generate")]
    all_fields: bool,
    /// Show exactly what would be sent; send nothing.
    #[arg(long)]
    preview: bool,
    /// Database integrations: keep the test row (recorded as an attempt) instead of rolling
    /// back.
    #[arg(long, conflicts_with = "preview")]
    commit: bool,
}

/// Progress on stderr for work on `min_total` or more items: one updating line on a terminal,
/// otherwise a line at every tenth (so a log shows it without a flood of carriage returns).
fn progress_reporter(label: &'static str, min_total: usize) -> impl Fn(usize, usize) + Sync {
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

fn category_parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(ErrorCategory::ALL.map(ErrorCategory::as_str))
}

/// Exit code for a handoff (or test, or check) that failed.
const EXIT_FAILED: u8 = 1;
/// Exit code for usage, configuration and validation errors.
const EXIT_USAGE: u8 = 2;
/// The longest secret `integration set-secret` reads (a token or password is far shorter; the
/// bound keeps a wrong pipe from filling memory or the vault).
const MAX_SECRET_BYTES: usize = 16 * 1024;

/// A handoff's exit code: 0 when it was delivered and recorded; 1 when it failed, or when its
/// outcome could not be recorded (the store's error, as for `unavailable`).
fn handoff_exit(r: &crate::service::HandoffResult) -> u8 {
    match &r.record_error {
        Some(e) => exit_code(e),
        None if r.success => 0,
        None => EXIT_FAILED,
    }
}

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
        return window(cli);
    };
    init_logging(cli.verbose, None);
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

/// No command: the desktop window, when this binary has one and a display exists.
#[cfg(not(feature = "desktop"))]
fn window(_cli: Cli) -> ExitCode {
    eprintln!(
        "this handoff-console was built without the desktop window (feature `desktop`): run \
         `handoff-console serve` and open the printed URL, or see `handoff-console --help` for \
         the commands"
    );
    ExitCode::from(EXIT_USAGE)
}

/// No command: the desktop window on the store `--data-dir`/`--secrets` choose, until closed.
#[cfg(feature = "desktop")]
fn window(cli: Cli) -> ExitCode {
    let out = Output::new(cli.json);
    if cli.history_file.is_some() {
        out.error(&AppError::invalid(
            "--history-file",
            "the window works on the store; read a history file with history, handoffs, stats, \
             show-attempt or audit",
        ));
        return ExitCode::from(EXIT_USAGE);
    }
    if !crate::desktop::display_available() {
        eprintln!("{}", crate::desktop::NO_DISPLAY);
        return ExitCode::from(EXIT_USAGE);
    }
    let log_file = match crate::desktop::open_log_file() {
        Ok((_, file)) => Some(file),
        Err(e) => {
            let place = crate::desktop::log_dir()
                .map(|d| format!(" in {}", d.display()))
                .unwrap_or_default();
            eprintln!("warning: no log file{place}: {e}");
            None
        }
    };
    // The window's log says at least what it did (opened, closed, retried, notified).
    init_logging(cli.verbose.max(1), log_file);
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let data_dir = match cli
        .data_dir
        .map_or_else(crate::service::default_data_dir, Ok)
    {
        Ok(dir) => dir,
        Err(e) => {
            out.error(&e);
            return ExitCode::from(exit_code(&e));
        }
    };
    let secrets = cli.secrets.as_deref().and_then(BackendKind::parse);
    let app = match runtime.block_on(App::open_chosen(&data_dir, secrets)) {
        Ok(app) => std::sync::Arc::new(app),
        Err(e) => {
            out.error(&e);
            return ExitCode::from(exit_code(&e));
        }
    };
    let result = crate::desktop::run(std::sync::Arc::clone(&app), &runtime);
    runtime.block_on(app.close());
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(EXIT_FAILED)),
        Err(e) => {
            tracing::error!("{e}");
            out.error(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Logs to stderr, and to `file` too when given (the window's log file, without colours).
fn init_logging(verbose: u8, file: Option<std::fs::File>) {
    use tracing_subscriber::EnvFilter;
    // The seed's debug switch still works.
    let seed_debug = std::env::var("DEBUG_DATA_HANDOFF").is_ok_and(|v| v == "true" || v == "1");
    let level = match (verbose, seed_debug) {
        (0, false) => "warn",
        (1, false) => "info",
        (0 | 1, true) | (2, _) => "debug",
        _ => "trace",
    };
    // sqlx logs every statement at info; keep that for -vvv. Below it, its "slow statement"
    // and "slow acquire" warnings are left out too: a slow target or a busy store is timed in
    // the attempt's record, and those lines (with the statement's text) only alarm.
    let default = if verbose >= 3 {
        format!("{level},sqlx=debug")
    } else {
        format!("{level},sqlx=warn,sqlx::query=error,sqlx::pool::acquire=error")
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match file {
        // Colours only for a person at a terminal: a pipe, a file or a service's journal would
        // keep the escape codes as text.
        None => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .try_init(),
        Some(file) => {
            use tracing_subscriber::fmt::writer::MakeWriterExt;
            builder
                .with_ansi(false)
                .with_writer(std::io::stderr.and(std::sync::Mutex::new(file)))
                .try_init()
        }
    };
}

fn read_input(path: &str, what: &str) -> Result<String, AppError> {
    use std::io::Read;
    let limit = (integrations::MAX_CONFIG_BYTES + 1) as u64;
    let mut text = String::new();
    let result = if path == "-" {
        std::io::stdin().take(limit).read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_string(&mut text))
    };
    result.map_err(|e| AppError::invalid(what, format!("cannot read '{path}': {e}")))?;
    if text.len() as u64 >= limit {
        return Err(AppError::invalid(
            what,
            format!("'{path}' is larger than {} bytes", limit - 1),
        ));
    }
    Ok(text)
}

/// The config file as read, with its problems (the service reports every one of them together
/// with validation's).
fn read_config(path: &str, name: Option<&str>) -> Result<integrations::ConfigDraft, AppError> {
    let text = read_input(path, "--file")?;
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| path != "-");
    Ok(integrations::read_config(&text, name.or(stem))?)
}

async fn run(cli: Cli, command: Command, out: &Output) -> Result<u8, AppError> {
    let app = match &cli.history_file {
        Some(file) => {
            if !matches!(
                command,
                Command::History(_)
                    | Command::Handoffs(_)
                    | Command::Stats(_)
                    | Command::ShowAttempt { .. }
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
            let secrets = cli.secrets.as_deref().and_then(BackendKind::parse);
            App::open_chosen(&data_dir, secrets).await?
        }
    };
    match command {
        Command::Serve {
            bind,
            allow_remote,
            no_worker,
        } => serve(app, bind, allow_remote, !no_worker, out).await,
        command => {
            let code = dispatch(&app, command, out).await;
            app.close().await;
            code
        }
    }
}

async fn dispatch(app: &App, command: Command, out: &Output) -> Result<u8, AppError> {
    match command {
        Command::Integration(cmd) => integration(app, cmd, out).await,
        Command::Secrets(SecretsCommand::Status) => {
            let report = app.secrets_status(Duration::from_secs(10)).await;
            out.secrets_status(&report);
            Ok(if report.status.available {
                0
            } else {
                EXIT_FAILED
            })
        }
        Command::Secrets(SecretsCommand::Use { backend }) => {
            let kind = BackendKind::parse(&backend).unwrap_or(BackendKind::Keyring);
            app.choose_secrets_backend(kind)?;
            out.done(&format!(
                "secrets: {backend} from now on (unless --secrets or HANDOFF_SECRETS says \
                 otherwise); secrets already stored elsewhere are not moved — set them again \
                 with integration set-secret"
            ));
            Ok(0)
        }
        Command::Audit(args) => audit(app, args, out).await,
        Command::Token => {
            out.token(&crate::http::token::load_or_create(app.data_dir())?);
            Ok(0)
        }
        Command::Serve { .. } => Err(AppError::internal("serve is run by `run`, not `dispatch`")),
        Command::Send {
            integration,
            session,
            data,
        } => {
            let text = read_input(&data, "--data")?;
            let data: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| AppError::invalid("--data", format!("not valid JSON: {e}")))?;
            let result = app
                .send(&integration, &session, data, Trigger::Live)
                .await?;
            out.handoff(&result);
            Ok(handoff_exit(&result))
        }
        Command::History(args) => {
            let filter = HistoryFilter {
                status: args.status.as_deref().and_then(Status::parse),
                integration: app.integration_filter(args.integration.as_deref()).await?,
                session: args.session,
                trigger: args.trigger.as_deref().and_then(Trigger::parse),
                category: args.category.as_deref().and_then(ErrorCategory::parse),
                since_ms: crate::service::time_arg::parse_opt(args.since.as_deref(), "--since")?,
                until_ms: crate::service::time_arg::parse_opt(args.until.as_deref(), "--until")?,
                limit: Some(args.limit),
                ..Default::default()
            };
            out.history(&app.history(&filter).await?);
            Ok(0)
        }
        Command::Handoffs(args) => {
            let query = HandoffsQuery {
                status: args.status.as_deref().and_then(HandoffState::parse),
                integration: args.integration,
                session: args.session,
                limit: Some(args.limit),
                ..Default::default()
            };
            out.handoffs(&app.handoffs_query(&query).await?);
            Ok(0)
        }
        Command::Keys(KeysCommand::Rotate { limit }) => {
            let progress = progress_reporter("re-sealing handoff", 1);
            let report = |done: u64, total: u64| progress(done as usize, total as usize);
            let options = crate::service::RotationOptions {
                limit,
                ..Default::default()
            };
            let rotation = app.rotate_data_key(options, &report).await?;
            out.key_rotation(&rotation);
            Ok(0)
        }
        Command::Reveal { handoff } => {
            let data = app.reveal(handoff).await?;
            out.revealed(handoff, &data);
            Ok(0)
        }
        Command::ShowAttempt { id } => {
            let (detail, chain) = app.attempt(id).await?;
            out.attempt(&detail, &chain);
            Ok(0)
        }
        Command::Retry(args) => {
            if let Some(id) = args.attempt {
                let result = app.retry_attempt(id).await?;
                out.handoff(&result);
                return Ok(handoff_exit(&result));
            }
            let filter = RetryFilter {
                integration: app.integration_filter(args.integration.as_deref()).await?,
                trigger: None,
                category: args.category.as_deref().and_then(ErrorCategory::parse),
                since_ms: crate::service::time_arg::parse_opt(args.since.as_deref(), "--since")?,
                until_ms: crate::service::time_arg::parse_opt(args.until.as_deref(), "--until")?,
            };
            let progress = progress_reporter("retrying", 1);
            let bulk = app.retry_failed(&filter, args.dry_run, &progress).await?;
            out.bulk(&bulk);
            // Attempts whose handoff was delivered since are skipped, not failed: only a
            // retried handoff that is still undelivered (or could not be retried) fails this.
            let all_ok =
                bulk.results.iter().all(|r| handoff_exit(r) == 0) && bulk.skipped.is_empty();
            Ok(if all_ok { 0 } else { EXIT_FAILED })
        }
        Command::Stats(args) => {
            let filter = StatsFilter {
                integration: app.integration_filter(args.integration.as_deref()).await?,
                session: args.session,
                trigger: args.trigger.as_deref().and_then(Trigger::parse),
                since_ms: crate::service::time_arg::parse_opt(args.since.as_deref(), "--since")?,
                until_ms: crate::service::time_arg::parse_opt(args.until.as_deref(), "--until")?,
                bucket: SeriesBucket::parse(&args.bucket).unwrap_or_default(),
            };
            out.stats(&app.stats(&filter, args.exact).await?);
            Ok(0)
        }
        Command::Worker { once, poll_ms } => {
            let pass = if once {
                app.run_due_retries().await?
            } else {
                let shutdown = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                app.run_worker(Duration::from_millis(poll_ms.max(50)), shutdown)
                    .await?
            };
            out.worker(&pass);
            Ok(0)
        }
        Command::Test(args) => {
            let data =
                match &args.data {
                    Some(path) => {
                        let text = read_input(path, "--data")?;
                        TestData::Custom(serde_json::from_str(&text).map_err(|e| {
                            AppError::invalid("--data", format!("not valid JSON: {e}"))
                        })?)
                    }
                    None => TestData::Generate(GenerateOptions {
                        seed: args.seed,
                        all_fields: args.all_fields,
                    }),
                };
            let request = TestRequest {
                data,
                preview: args.preview,
                commit: args.commit,
            };
            let report = app.run_test(&args.integration, request).await?;
            out.test_report(&report);
            Ok(if report.outcome.success {
                0
            } else {
                EXIT_FAILED
            })
        }
        Command::Export {
            out: file,
            integration,
            since,
            until,
        } => {
            let filter = ExportFilter {
                integration: app.integration_filter(integration.as_deref()).await?,
                since_ms: crate::service::time_arg::parse_opt(since.as_deref(), "--since")?,
                until_ms: crate::service::time_arg::parse_opt(until.as_deref(), "--until")?,
            };
            let progress = progress_reporter("exporting handoff", 1);
            let report = |done: u64, total: u64| progress(done as usize, total as usize);
            let summary = app.export_history(&file, &filter, &report).await?;
            out.export(&summary);
            Ok(0)
        }
        Command::Demo => {
            let created = app.create_demo().await?;
            out.integrations(&created);
            Ok(0)
        }
        Command::Health {
            integration,
            timeout_ms,
            last,
        } => {
            use crate::health::HealthStatus;
            if last {
                let known = app.last_health().await?;
                out.last_health(&known);
                return Ok(if known.status == Some(HealthStatus::Error) {
                    EXIT_FAILED
                } else {
                    0
                });
            }
            let progress = progress_reporter("checking", 2);
            let report = app
                .health_with_progress(
                    integration.as_deref(),
                    Some(Duration::from_millis(timeout_ms)),
                    &progress,
                )
                .await?;
            out.health(&report);
            Ok(if report.status == HealthStatus::Error {
                EXIT_FAILED
            } else {
                0
            })
        }
    }
}

async fn serve(
    app: App,
    bind: std::net::SocketAddr,
    allow_remote: bool,
    worker: bool,
    out: &Output,
) -> Result<u8, AppError> {
    let options = crate::http::ServeOptions {
        bind,
        allow_remote,
        worker,
    };
    crate::http::check_bind(&options)?;
    let token = crate::http::token::load_or_create(app.data_dir())?;
    let app = std::sync::Arc::new(app);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let served = crate::http::serve(std::sync::Arc::clone(&app), options, shutdown, |addr| {
        out.serving(&crate::http::sign_in_url(addr, &token), addr);
    })
    .await;
    app.close().await;
    served.map(|()| 0)
}

async fn audit(app: &App, args: AuditArgs, out: &Output) -> Result<u8, AppError> {
    let filter = AuditFilter {
        action: args.action.as_deref().and_then(AuditAction::parse),
        integration: args.integration,
        actor: args.actor,
        since_ms: crate::service::time_arg::parse_opt(args.since.as_deref(), "--since")?,
        until_ms: crate::service::time_arg::parse_opt(args.until.as_deref(), "--until")?,
        limit: Some(args.limit),
    };
    out.audit(&app.audit_log(&filter).await?);
    Ok(0)
}

async fn integration(app: &App, cmd: IntegrationCommand, out: &Output) -> Result<u8, AppError> {
    match cmd {
        IntegrationCommand::Add { file, name } => {
            let saved = app
                .add_integration_from(read_config(&file, name.as_deref())?)
                .await?;
            out.id(&saved);
        }
        IntegrationCommand::List { kind } => {
            let kind = kind.as_deref().map(|k| {
                if k == "api" {
                    TargetKind::Api
                } else {
                    TargetKind::Database
                }
            });
            let list = app.integrations(kind).await?;
            if out.is_json() {
                // The JSON stays the integrations alone.
                out.integrations(&list);
            } else {
                let summaries = app.delivery_summaries(chrono::Duration::hours(24)).await?;
                out.integration_list(&list, &summaries);
            }
        }
        IntegrationCommand::Show { id } => out.integration(&app.integration(&id).await?),
        IntegrationCommand::Update { id, file } => {
            // A bare seed config keeps the integration's name (not the file's).
            let current = app.integration(&id).await?;
            let saved = app
                .update_integration_from(&id, read_config(&file, Some(&current.name))?)
                .await?;
            out.id(&saved);
        }
        IntegrationCommand::Remove { id } => {
            let removed = app.remove_integration(&id).await?;
            out.id(&removed);
        }
        IntegrationCommand::SetSecret { id, name } => {
            let slot = SecretSlot::named(&name, "NAME")?;
            use std::io::{BufRead, Read};
            let mut value = String::new();
            std::io::stdin()
                .lock()
                .take(MAX_SECRET_BYTES as u64 + 1)
                .read_line(&mut value)
                .map_err(|e| AppError::invalid("stdin", format!("cannot read the secret: {e}")))?;
            let value = value.trim_end_matches(['\r', '\n']).to_string();
            if value.len() > MAX_SECRET_BYTES {
                return Err(AppError::invalid(
                    "stdin",
                    format!("a secret may be at most {MAX_SECRET_BYTES} bytes"),
                ));
            }
            app.set_integration_secret(&id, slot, value).await?;
            out.done(&format!("{} updated", slot.name()));
        }
    }
    Ok(0)
}
