//! argv -> CLI; no command opens the desktop window (feature `desktop`). Nothing else.
// (No `windows_subsystem = "windows"`: the same binary is the CLI, which needs its console.)

fn main() -> std::process::ExitCode {
    handoff_console::cli::main()
}
