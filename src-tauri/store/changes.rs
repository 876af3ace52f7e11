//! Change signals, for live views (issue 17): a number that moves whenever the store's content
//! changes, whoever wrote it (this process, another console on the same SQLite file, another
//! instance on the same PostgreSQL store), so that a view refreshes within about a second of
//! another instance's attempt, and does not re-run its queries when nothing changed.
//!
//! - SQLite: a watcher reads `PRAGMA data_version` on a connection of its own every
//!   [`SQLITE_POLL`]; it moves when any other connection, in any process, commits.
//! - PostgreSQL: a committed write transaction is followed by a `NOTIFY` on [`CHANNEL`] with the
//!   schema as its payload (one database may hold several stores). A burst of commits sends a
//!   few notifications, not one each: at most one per [`NOTIFY_GAP`] per instance, and the last
//!   one of a burst is always sent. A listener connection of the instance's own receives them.
//!
//! The watcher starts with the first wait ([`Changes::wait`]): a CLI command never starts one.
//! Signals are hints: a view that missed one (the listener reconnecting) still refreshes on its
//! own timer, and a reconnect moves the number too.

use sqlx::postgres::{PgListener, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The PostgreSQL channel every instance notifies and listens on.
pub(crate) const CHANNEL: &str = "handoff_console_changes";
/// The least time between two notifications one instance sends.
pub(crate) const NOTIFY_GAP: Duration = Duration::from_millis(20);
/// How often the SQLite watcher reads `data_version`.
pub(crate) const SQLITE_POLL: Duration = Duration::from_millis(100);
/// How long a watcher that failed waits before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What the watcher watches.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// The SQLite file.
    File(PathBuf),
    /// The PostgreSQL store: its listener's own one-connection pool, and the pool the schema
    /// is read from.
    Channel { listen: PgPool, read: PgPool },
}

/// The change number and its watcher (see the module's doc).
#[derive(Debug)]
pub(crate) struct Changes {
    version: watch::Sender<u64>,
    /// Whether the watcher is connected (a wait answers `live: false` while it is not).
    live: AtomicBool,
    started: AtomicBool,
    /// Set at shutdown: waits end at once.
    stopping: watch::Sender<bool>,
    source: Source,
}

/// The change number now, and whether changes are being followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeState {
    pub version: u64,
    pub live: bool,
}

impl Changes {
    pub(crate) fn new(source: Source) -> Arc<Self> {
        // A start of its own per process: a view that kept a number from before a restart sees
        // a different one (and refreshes) rather than the same one by chance.
        let start = u64::from(rand::random::<u32>());
        Arc::new(Self {
            version: watch::channel(start).0,
            live: AtomicBool::new(false),
            started: AtomicBool::new(false),
            stopping: watch::channel(false).0,
            source,
        })
    }

    fn state(&self) -> ChangeState {
        ChangeState {
            version: *self.version.borrow(),
            live: self.live.load(Ordering::Relaxed),
        }
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Whether changes are followed; a change of it moves the number too, so that a view
    /// waiting learns it at once (and refreshes: what changed meanwhile is not known).
    fn set_live(&self, live: bool) {
        if self.live.swap(live, Ordering::Relaxed) != live {
            self.bump();
        }
    }

    /// The change number once it differs from `after` (at once when it already does, or when
    /// `after` is `None`), or after `wait` with it unchanged; ends early at shutdown. Starts the
    /// watcher on first use.
    pub(crate) async fn wait(self: &Arc<Self>, after: Option<u64>, wait: Duration) -> ChangeState {
        self.start();
        let mut version = self.version.subscribe();
        let mut stopping = self.stopping.subscribe();
        let Some(after) = after else {
            return self.state();
        };
        let changed = version.wait_for(|v| *v != after);
        tokio::select! {
            _ = changed => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stopping.wait_for(|s| *s) => {}
        }
        self.state()
    }

    /// Ends every wait now and the watcher soon (at shutdown: a long wait would hold up a
    /// graceful stop).
    pub(crate) fn stop(&self) {
        self.stopping.send_replace(true);
    }

    fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        let source = self.source.clone();
        let stopping = self.stopping.subscribe();
        tokio::spawn(async move {
            match source {
                Source::File(path) => watch_file(weak, path, stopping).await,
                Source::Channel { listen, read } => {
                    watch_channel(weak, listen, read, stopping).await
                }
            }
        });
    }
}

/// Runs `f` on the [`Changes`] while it still exists and is not stopping; `None` once it is
/// gone (the watcher then ends).
fn with<T>(weak: &Weak<Changes>, f: impl FnOnce(&Changes) -> T) -> Option<T> {
    let changes = weak.upgrade()?;
    if *changes.stopping.borrow() {
        return None;
    }
    Some(f(&changes))
}

async fn watch_file(weak: Weak<Changes>, path: PathBuf, mut stopping: watch::Receiver<bool>) {
    // A writer's commit or checkpoint can hold the file for a moment: the read waits briefly
    // rather than failing (a failed read skipped a poll, and reconnecting cost a second).
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .read_only(true)
        .busy_timeout(SQLITE_POLL);
    let mut conn: Option<SqliteConnection> = None;
    let mut last: Option<i64> = None;
    let mut failures = 0u32;
    loop {
        if conn.is_none() {
            match SqliteConnection::connect_with(&options).await {
                Ok(c) => conn = Some(c),
                Err(e) => tracing::debug!("live changes: cannot open {}: {e}", path.display()),
            }
        }
        let read = match conn.as_mut() {
            Some(c) => Some(
                sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                    .fetch_one(&mut *c)
                    .await,
            ),
            None => None,
        };
        let go_on = match read {
            Some(Ok(v)) => {
                failures = 0;
                let moved = last.is_some_and(|l| l != v);
                last = Some(v);
                with(&weak, |changes| {
                    changes.set_live(true);
                    if moved {
                        changes.bump();
                    }
                })
            }
            failed => {
                if let Some(Err(e)) = failed {
                    tracing::debug!("live changes: reading {}: {e}", path.display());
                }
                // A few misses in a row are a lost connection: a new one, and the number moves
                // (what changed meanwhile is not known).
                failures += 1;
                if failures >= 5 {
                    conn = None;
                    last = None;
                    with(&weak, |c| c.set_live(false))
                } else {
                    Some(())
                }
            }
        };
        if go_on.is_none() {
            return;
        }
        let pause = if conn.is_some() {
            SQLITE_POLL
        } else {
            RETRY_AFTER
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        if weak.strong_count() == 0 {
            return;
        }
    }
}

async fn watch_channel(
    weak: Weak<Changes>,
    listen: PgPool,
    read: PgPool,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        let connected = async {
            let schema: String = sqlx::query("SELECT current_schema()")
                .fetch_one(&read)
                .await?
                .try_get(0)?;
            let mut listener = PgListener::connect_with(&listen).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>((schema, listener))
        };
        let outcome = tokio::select! {
            c = connected => c,
            _ = stopping.wait_for(|s| *s) => return,
        };
        match outcome {
            Ok((schema, mut listener)) => {
                // Whatever changed while no listener was connected is not known: say it moved.
                if with(&weak, |c| {
                    c.set_live(true);
                    c.bump();
                })
                .is_none()
                {
                    return;
                }
                loop {
                    let next = tokio::select! {
                        n = listener.try_recv() => n,
                        _ = stopping.wait_for(|s| *s) => return,
                    };
                    let go_on = match next {
                        Ok(Some(n)) => with(&weak, |c| {
                            if n.payload() == schema {
                                c.bump();
                            }
                        }),
                        // Lost and connected again (notifications may have been missed).
                        Ok(None) => with(&weak, Changes::bump),
                        Err(e) => {
                            tracing::debug!("live changes: the listener stopped: {e}");
                            break;
                        }
                    };
                    if go_on.is_none() {
                        return;
                    }
                }
            }
            Err(e) => tracing::debug!("live changes: cannot listen: {e}"),
        }
        if with(&weak, |c| c.set_live(false)).is_none() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_AFTER) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

/// Sends the PostgreSQL store's change notifications for one instance (see the module's doc).
#[derive(Debug)]
pub(crate) struct Notifier {
    pool: PgPool,
    state: Mutex<NotifyState>,
}

#[derive(Debug, Default)]
struct NotifyState {
    last: Option<Instant>,
    /// A notification is scheduled for the end of the current gap.
    trailing: bool,
}

impl Notifier {
    pub(crate) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            state: Mutex::new(NotifyState::default()),
        })
    }

    /// After a commit: notifies now, or (one was sent less than [`NOTIFY_GAP`] ago) once at the
    /// end of that gap.
    pub(crate) async fn committed(self: &Arc<Self>) {
        let now = Instant::now();
        let send_now = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match s.last {
                Some(last) if now.duration_since(last) < NOTIFY_GAP => {
                    if !s.trailing {
                        s.trailing = true;
                        let this = Arc::clone(self);
                        tokio::spawn(async move {
                            tokio::time::sleep_until(last + NOTIFY_GAP).await;
                            this.send_trailing().await;
                        });
                    }
                    false
                }
                _ => {
                    s.last = Some(now);
                    true
                }
            }
        };
        if send_now {
            self.send().await;
        }
    }

    async fn send_trailing(&self) {
        {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if !s.trailing {
                return;
            }
            s.trailing = false;
            s.last = Some(Instant::now());
        }
        self.send().await;
    }

    /// Sends a notification still scheduled (before the store closes: a command that wrote
    /// and exits at once must not leave its last change unsaid).
    pub(crate) async fn flush(&self) {
        self.send_trailing().await;
    }

    async fn send(&self) {
        // A lost notification only delays a view (it refreshes on its own timer too).
        if let Err(e) = sqlx::query("SELECT pg_notify($1, current_schema())")
            .bind(CHANNEL)
            .execute(&self.pool)
            .await
        {
            tracing::debug!("live changes: cannot notify: {e}");
        }
    }
}
