//! A bare Tauri 2 window: the console's Tauri version and window size, an empty page, no
//! plugins, no commands, no store. `scripts/bench-desktop.sh` starts it the same way as the
//! console's window, under the same Xvfb, as the limit the window's figures are measured against
//! (BENCHMARKS.md, "Desktop window").
//!
//! `BARE_WINDOW_REPORT=<file>`: once the page's first frame is painted, `{"firstPaintEpochMs":
//! ...}` (the page's clock, ms since the epoch) is written there and the window closes;
//! `BARE_WINDOW_STAY=1` keeps it open (the benchmark measures idle memory then).
//!
//! `cargo build --release --example bare_window` (feature `desktop`, on by default).

use std::path::PathBuf;
use tauri::{WebviewUrl, WebviewWindowBuilder};

/// The page reports by navigating here; the window refuses the navigation and keeps the time.
const REPORT_HOST: &str = "paint.invalid";

fn main() {
    let report = std::env::var_os("BARE_WINDOW_REPORT").map(PathBuf::from);
    let stay = std::env::var("BARE_WINDOW_STAY").is_ok_and(|v| v == "1");
    let context = tauri::generate_context!("examples/bare_window/tauri.conf.json");
    let app = tauri::Builder::default()
        .setup(move |app| {
            let handle = app.handle().clone();
            WebviewWindowBuilder::new(app, "bare", WebviewUrl::App("index.html".into()))
                .title("bare window")
                .inner_size(1280.0, 800.0)
                .on_navigation(move |url| {
                    if url.host_str() != Some(REPORT_HOST) {
                        return true;
                    }
                    let at = url
                        .query_pairs()
                        .find(|(k, _)| k == "t")
                        .and_then(|(_, v)| v.parse::<f64>().ok());
                    if let (Some(path), Some(at)) = (&report, at) {
                        let text = format!("{{\"firstPaintEpochMs\": {at}}}\n");
                        let partial = path.with_extension("partial");
                        if let Err(e) = std::fs::write(&partial, text)
                            .and_then(|()| std::fs::rename(&partial, path))
                        {
                            eprintln!("cannot write {}: {e}", path.display());
                        }
                    }
                    if !stay {
                        handle.exit(0);
                    }
                    false
                })
                .build()?;
            Ok(())
        })
        .build(context);
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("the window could not start: {e}");
            std::process::exit(1);
        }
    }
}
