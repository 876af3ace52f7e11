//! argv -> CLI (and, with the `desktop` feature, the window once it lands). Nothing else.

fn main() -> std::process::ExitCode {
    handoff_console::cli::main()
}
