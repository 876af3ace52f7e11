//! Handoff Console: delivers data collected by clinic voice agents to clinics' own APIs and
//! database tables, records every attempt, and retries failures.
//!
//! The core (everything but the adapters `cli`, `http` and `desktop`) knows nothing of Tauri, HTTP servers or terminals; the
//! adapters call [`service::App`], which offers one async method per capability.

pub mod attempts;
pub mod audit;
pub mod category;
pub mod cli;
pub mod crypto;
#[cfg(feature = "desktop")]
pub mod desktop;
pub mod error;
pub mod export;
pub mod fields;
pub mod files;
pub mod health;
pub mod http;
pub mod ids;
pub mod intake;
pub mod integrations;
pub mod masking;
pub mod net;
pub mod retry;
pub mod secrets;
pub mod service;
pub mod settings;
pub mod stats;
pub mod store;
pub mod targets;
pub mod templating;
pub mod testing;

pub use error::{AppError, ErrorKind};
pub use service::App;

/// Every binary that links the console (the app, its tests and benchmarks) allocates with
/// mimalloc: a handoff or an intake message makes many small, short-lived allocations (JSON
/// values, requests, rows) across threads, where glibc's allocator cost about a third of the
/// runtime's CPU (BENCHMARKS.md, `intake`). Built without transparent huge pages (`no_thp`):
/// with them, mimalloc's first arena took 2 MiB pages where the console uses a few small ones,
/// 25 MB of the window's idle memory (BENCHMARKS.md, "Desktop window").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
