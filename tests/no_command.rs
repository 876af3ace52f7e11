//! `handoff-console` with no command: the desktop window when the binary has one and a display
//! exists; otherwise a clear message and exit 2, having touched nothing. (The window itself is
//! tested by scripts/desktop-smoke.sh under Xvfb.)

use std::process::Command;

fn run_without_display(data_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_handoff-console"))
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run handoff-console")
}

#[test]
fn no_command_without_a_window_says_how_to_get_the_ui_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run_without_display(&data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    if cfg!(feature = "desktop") {
        assert!(stderr.starts_with("no display"), "{stderr}");
    } else {
        assert!(
            stderr.contains("built without the desktop window"),
            "{stderr}"
        );
    }
    assert!(stderr.contains("handoff-console serve"), "{stderr}");
    assert!(!data.exists(), "the store was created: {stderr}");
}

#[test]
fn commands_still_work_and_help_lists_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff-console"))
        .arg("--help")
        .output()
        .expect("run handoff-console --help");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.contains("serve") && stdout.contains("integration"),
        "{stdout}"
    );
}
