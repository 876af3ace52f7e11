//! What the local store keeps in memory while the integrations stay the same (issue 18): every
//! handoff looks its integration up, and reading the row went through sqlx's SQLite worker
//! thread and parsed the config's JSON each time (70 µs of CPU per handoff in
//! `benches/handoff_api`). Now a lookup reads one number, `integrations_version` (migration
//! `..._integrations_version.sql`: a trigger bumps it with every change of an integration,
//! whoever makes it: this console, the CLI or another console on the same file), on a
//! connection of the memo's own, in the caller's thread; the same number means the same
//! integrations, so what was looked up at that number is answered from memory
//! (`Store::integration`, `Store::find_integration`).
//!
//! Never stale: the number is read before the row, so a change committed between the two
//! leaves the entry under the older number, and the next lookup reads the new one and looks
//! again. Only the local store keeps one: on PostgreSQL the number would be a round trip, as
//! the lookup is.

use rusqlite::Connection;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Lookups kept at most; past it the memo starts again (a console has a few integrations, but
/// a caller may look up any text).
const MAX_ENTRIES: usize = 256;

/// The memo's connection and the lookups kept at one version, each under its key (the
/// caller's: what it looked up, and how). Values are the caller's type: the store knows none
/// of the integrations' types.
#[derive(Debug)]
pub(crate) struct IntegrationsMemo {
    /// Read-only, for the version alone; `None` once the store is closed.
    conn: Mutex<Option<Connection>>,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    version: Option<i64>,
    found: HashMap<String, Arc<dyn Any + Send + Sync>>,
}

impl IntegrationsMemo {
    /// A memo over the store whose version `conn` reads: `None` when the store has no
    /// `integrations_version` (a history file from before it).
    pub(crate) fn new(conn: Connection) -> Option<Self> {
        let memo = Self {
            conn: Mutex::new(Some(conn)),
            entries: Mutex::default(),
        };
        memo.version()?;
        Some(memo)
    }

    /// The integrations' version now, or `None` when it cannot be read at once (the
    /// connection is busy with another lookup, SQLite failed, the store is closed): the caller
    /// reads the row, as without a memo. Runs in the caller's thread: one read of a page SQLite
    /// mostly has in memory, a few microseconds; the connection has no busy timeout, so it
    /// never waits on a lock.
    pub(crate) fn version(&self) -> Option<i64> {
        let conn = self.conn.try_lock().ok()?;
        let mut statement = conn
            .as_ref()?
            .prepare_cached("SELECT version FROM integrations_version WHERE id = 1")
            .ok()?;
        statement.query_row([], |r| r.get(0)).ok()
    }

    /// Closes the connection (the store is closing): lookups read the row from now on.
    pub(crate) fn close(&self) {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(conn);
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .found
            .clear();
    }

    /// What `key` found at `version`, if it was looked up at that version.
    pub(crate) fn get<T: Clone + 'static>(&self, version: i64, key: &str) -> Option<T> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.version != Some(version) {
            return None;
        }
        entries.found.get(key)?.downcast_ref::<T>().cloned()
    }

    /// Keeps what `key` found, read after `version` was: a newer version drops every entry
    /// kept at an older one; a value read at an older version than the memo's is left out.
    pub(crate) fn put<T: Send + Sync + 'static>(&self, version: i64, key: String, found: T) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.version {
            Some(v) if v > version => return,
            Some(v) if v == version && entries.found.len() < MAX_ENTRIES => {}
            _ => {
                entries.version = Some(version);
                entries.found.clear();
            }
        }
        entries.found.insert(key, Arc::new(found));
    }
}
