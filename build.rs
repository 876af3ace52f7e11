//! Builds the web UI (`ui/`, with npm) when its bundle is missing or older than its sources, and
//! embeds the bundle (`ui/dist/`) in the binary, so that `cargo build` from a fresh clone gives
//! a console that serves its UI with or without the `desktop` feature.
//!
//! `HANDOFF_UI_DIST=<dir>` embeds a bundle built elsewhere instead (no npm needed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// What the bundle is built from; a change to any of these rebuilds it.
const UI_SOURCES: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let ui = root.join("ui");
    println!("cargo:rerun-if-env-changed=HANDOFF_UI_DIST");
    let dist = match std::env::var_os("HANDOFF_UI_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => {
            for source in UI_SOURCES {
                println!("cargo:rerun-if-changed=ui/{source}");
            }
            println!("cargo:rerun-if-changed=ui/dist/index.html");
            let dist = ui.join("dist");
            if is_stale(&ui, &dist) {
                build_ui(&ui);
            }
            dist
        }
    };
    write_assets(&dist);
    #[cfg(feature = "desktop")]
    tauri_build::build();
}

fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .max()
}

fn is_stale(ui: &Path, dist: &Path) -> bool {
    let Some(built) = std::fs::metadata(dist.join("index.html"))
        .and_then(|m| m.modified())
        .ok()
    else {
        return true;
    };
    UI_SOURCES
        .iter()
        .filter_map(|s| newest(&ui.join(s)))
        .any(|t| t > built)
}

fn npm(ui: &Path, args: &[&str]) {
    let status = Command::new("npm")
        .args(args)
        .current_dir(ui)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "the web UI (ui/) must be built and `npm {}` could not start: {e}. Install \
                 Node.js 20+ and npm (Debian: `apt install nodejs npm`), or set \
                 HANDOFF_UI_DIST to a built bundle",
                args.join(" ")
            )
        });
    assert!(
        status.success(),
        "`npm {}` in ui/ failed ({status}); run it there to see why",
        args.join(" ")
    );
}

fn build_ui(ui: &Path) {
    let installed = ui.join("node_modules").join(".package-lock.json");
    let lock_newer = match (
        std::fs::metadata(ui.join("package-lock.json")).and_then(|m| m.modified()),
        std::fs::metadata(&installed).and_then(|m| m.modified()),
    ) {
        (Ok(lock), Ok(done)) => lock > done,
        _ => true,
    };
    if lock_newer {
        npm(ui, &["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    npm(ui, &["run", "build", "--silent"]);
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel = format!("{prefix}{name}");
        if path.is_dir() {
            collect(&path, &format!("{rel}/"), out);
        } else {
            out.push((rel, path));
        }
    }
}

fn write_assets(dist: &Path) {
    let mut files = Vec::new();
    collect(dist, "", &mut files);
    files.sort();
    assert!(
        files.iter().any(|(rel, _)| rel == "index.html"),
        "the UI bundle at {} has no index.html",
        dist.display()
    );
    let mut code = String::from(
        "/// The web UI's files: (path, content type, bytes).\n\
         pub static UI_ASSETS: &[(&str, &str, &[u8])] = &[\n",
    );
    for (rel, path) in &files {
        code.push_str(&format!(
            "    ({rel:?}, {:?}, include_bytes!({:?})),\n",
            content_type(rel),
            path.canonicalize().unwrap_or_else(|_| path.clone())
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("ui_assets.rs");
    std::fs::write(out, code).expect("write ui_assets.rs");
}
