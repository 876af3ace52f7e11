//! Logs on stderr (and in the window's log file).

/// Logs to stderr, and to `file` too when given (the window's log file, without colours).
pub(super) fn init_logging(verbose: u8, file: Option<std::fs::File>) {
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
