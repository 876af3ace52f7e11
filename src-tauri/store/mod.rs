//! The store: the console's history and configuration, on one of two back ends behind the one
//! [`Store`] the service layer calls.
//!
//! - **Local** (the default): one SQLite file (`handoff.db`, WAL) in the data dir, migrated at
//!   open. The hot path's writes (a new handoff, a finished attempt) go through one
//!   group-commit writer; the rarer writes through a one-connection pool; both take SQLite's
//!   write lock up front (`BEGIN IMMEDIATE`) and wait on its busy timeout. Reads use a pool of
//!   read-only connections.
//! - **Shared** (issue 17, [`postgres`]): a PostgreSQL database many instances use at once.
//!
//! A domain's queries (in its own module: `attempts`, `stats`, `audit`, …) run on either through
//! [`on_backend!`]: the body is compiled once per back end, so a statement both dialects accept
//! (`$n` placeholders, `ON CONFLICT`, …) is written once, and [`Dialect`] picks the text where
//! they differ. What a shared store cannot do refuses with [`StoreError::NotShared`] (nothing
//! the console offers today; tests of the local store's internals use it).

mod changes;
mod choice;
pub mod copy;
mod group_commit;
pub(crate) mod journal;
mod memo;
pub mod postgres;

pub use changes::ChangeState;
pub use choice::{LOCAL, STORE_ENV, STORE_SETTING, StoreChoice, write_setting};

pub(crate) use group_commit::GroupCommit;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const STORE_FILE: &str = "handoff.db";
/// The store's migrations, embedded at build time (the health check compares them with the
/// applied ones).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
/// How long a write waits for another connection's (or process's) write lock.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
    /// The shared store's server refused who connected (a wrong or missing password, an
    /// unknown role, `pg_hba.conf`).
    #[error("cannot open the store at {path}: {reason}")]
    Auth { path: String, reason: String },
    /// A SQLite error that is not the environment's (see [`StoreError::Unavailable`]).
    #[error(transparent)]
    Sql(sqlx::Error),
    /// From the group-commit writer's connection.
    #[error(transparent)]
    Write(rusqlite::Error),
    #[error("the store holds a malformed value: {0}")]
    Corrupt(String),
    #[error("the store's writer has stopped")]
    WriterStopped,
    #[error("the store could not commit: {0}")]
    Batch(String),
    /// The path no longer names the file this console opened: writes would go to a file
    /// nobody will read again.
    #[error(
        "the store file {path} was deleted or replaced while the console ran: restart the \
         console (it opens the file now at that path, or makes a new store)"
    )]
    Replaced { path: String },
    /// The environment stopped the store: a full disk, a read-only file, a lock held past the
    /// busy timeout, an I/O error. The text says which and what to do.
    #[error("{0}")]
    Unavailable(String),
    /// Which store to open is badly given (`--store`, `HANDOFF_STORE_URL`, the setting).
    #[error("{field}: {reason}")]
    Choice { field: String, reason: String },
    /// What a shared (PostgreSQL) store cannot do (yet): a local store's internals.
    #[error("{0} does not work on a PostgreSQL store yet: use the local store for it")]
    NotShared(&'static str),
    /// A `store copy` that must not run: the target holds another history, or its schema is
    /// older than the source's. The text says which and what to do.
    #[error("{0}")]
    CopyRefused(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let unavailable = match &e {
            sqlx::Error::Database(d) => {
                if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    postgres::unavailable_reason(pg)
                } else {
                    d.code()
                        .and_then(|c| c.parse::<i32>().ok())
                        .and_then(|code| unavailable_reason(code, d.message()))
                }
            }
            sqlx::Error::PoolTimedOut => Some(
                "the store stayed busy: no connection to it came free in time — try again"
                    .to_string(),
            ),
            sqlx::Error::Io(io) => Some(format!(
                "the store could not be read or written: {io} — check the disk, or the \
                 network to a shared store"
            )),
            sqlx::Error::Tls(e) => Some(format!("the store's TLS connection failed: {e}")),
            _ => None,
        };
        unavailable.map_or(Self::Sql(e), Self::Unavailable)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let unavailable = match &e {
            rusqlite::Error::SqliteFailure(f, message) => unavailable_reason(
                f.extended_code,
                message.as_deref().unwrap_or(&f.to_string()),
            ),
            _ => None,
        };
        unavailable.map_or(Self::Write(e), Self::Unavailable)
    }
}

/// What SQLite's result `code` (extended or primary) says when the environment, not the
/// console, stopped the store; `None` for other errors (a constraint, a bug). `message` is
/// SQLite's own text for it, which names no data.
fn unavailable_reason(code: i32, message: &str) -> Option<String> {
    use rusqlite::ffi;
    if code == ffi::SQLITE_READONLY_DBMOVED {
        return Some(
            "the store file was moved or deleted while the console ran: restart the console"
                .to_string(),
        );
    }
    let what = match code & 0xff {
        ffi::SQLITE_FULL => "the disk holding the store is full — free some space",
        ffi::SQLITE_READONLY => {
            "the store is read-only — give the console's user write permission to the data \
             dir and the files in it"
        }
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => {
            "another process held the store's lock for longer than the busy timeout — try \
             again"
        }
        ffi::SQLITE_IOERR => "the store's file could not be read or written — check the disk",
        ffi::SQLITE_CANTOPEN => {
            "the store's file cannot be opened — check that the data dir exists and its \
             permissions"
        }
        ffi::SQLITE_PERM => "the store's file may not be used: permission denied",
        ffi::SQLITE_CORRUPT | ffi::SQLITE_NOTADB => "the store's file is damaged",
        _ => return None,
    };
    Some(format!("{what} (SQLite: {message})"))
}

impl StoreError {
    /// The same error for another caller (a failed group commit answers every write in it).
    pub(crate) fn for_another(&self) -> Self {
        match self {
            Self::Replaced { path } => Self::Replaced { path: path.clone() },
            Self::Unavailable(reason) => Self::Unavailable(reason.clone()),
            Self::WriterStopped => Self::WriterStopped,
            Self::NotShared(what) => Self::NotShared(what),
            other => Self::Batch(other.to_string()),
        }
    }
}

/// The store's file as this console opened it: every write transaction first checks that its
/// path still names that file (a `stat`), since SQLite would go on writing to a deleted or
/// replaced file, whose records nobody would ever read.
#[derive(Clone, Debug)]
pub(crate) struct StoreFile {
    path: PathBuf,
    #[cfg(unix)]
    identity: (u64, u64),
}

impl StoreFile {
    fn of(path: &Path) -> std::io::Result<Self> {
        #[cfg(unix)]
        let identity = {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path)?;
            (m.dev(), m.ino())
        };
        Ok(Self {
            path: path.to_path_buf(),
            #[cfg(unix)]
            identity,
        })
    }

    /// Whether the path still names the file that was opened.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        let replaced = || StoreError::Replaced {
            path: self.path.display().to_string(),
        };
        match std::fs::metadata(&self.path) {
            #[cfg(unix)]
            Ok(m) => {
                use std::os::unix::fs::MetadataExt;
                if (m.dev(), m.ino()) == self.identity {
                    Ok(())
                } else {
                    Err(replaced())
                }
            }
            #[cfg(not(unix))]
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Err(replaced())
            }
            Err(e) => Err(StoreError::Unavailable(format!(
                "the store file {} cannot be checked: {e}",
                self.path.display()
            ))),
        }
    }
}

/// How a store finds text in its history (`Local::text_search`, `Shared::text_search`; the search itself is
/// `attempts::search`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextSearch {
    /// SQLite: the FTS5 trigram table.
    Fts5,
    /// SQLite without the index (a history file exported before it, opened read-only):
    /// every attempt is read.
    Scan,
    /// PostgreSQL: `ILIKE` over the `history_search` table (pg_trgm's index serves it).
    Trigram,
}

/// The one-connection pool for writes other than the hot path's. Each write transaction (and
/// each connection taken for single statements) first checks the store's file ([`StoreFile`]).
#[derive(Clone, Debug)]
pub(crate) struct WritePool {
    pool: SqlitePool,
    file: StoreFile,
    /// The hot path's journal, moved into the store before each write (see `journal`).
    journal: JournalCell,
}

/// The journal of a local store, once attached (`Store::attach_journal`); every connection
/// shares it.
pub(crate) type JournalCell = std::sync::Arc<std::sync::OnceLock<journal::Journal>>;

impl WritePool {
    /// Begins a transaction with `statement` (`BEGIN IMMEDIATE`: the write lock up front). The
    /// store's file is checked before, once the lock is held (it may have been replaced while
    /// this waited for it), and again right after the commit ([`WriteTx::commit`]).
    pub(crate) async fn begin_with(&self, statement: &'static str) -> Result<WriteTx, StoreError> {
        self.settle().await?;
        self.file.check()?;
        let tx = self.pool.begin_with(statement).await?;
        // Dropping the transaction rolls it back.
        self.file.check()?;
        Ok(WriteTx {
            tx,
            file: self.file.clone(),
        })
    }

    /// [`WritePool::begin_with`] `BEGIN IMMEDIATE`: what a write transaction on either back end
    /// starts with (see [`on_backend!`]).
    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        self.begin_with("BEGIN IMMEDIATE").await
    }

    /// The write connection, for statements that run on their own.
    pub(crate) async fn acquire(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        self.settle().await?;
        self.file.check()?;
        Ok(self.pool.acquire().await?)
    }

    async fn settle(&self) -> Result<(), StoreError> {
        match self.journal.get() {
            Some(journal) => journal.settle().await,
            None => Ok(()),
        }
    }

    /// Nothing to do: SQLite's live views see every commit (see `changes`). The shared store's
    /// twin notifies them.
    pub(crate) async fn changed(&self) {}

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction of the [`WritePool`]: statements run on it as on its connection.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, Sqlite>,
    file: StoreFile,
}

impl WriteTx {
    /// Commits, then checks that the store's file is still the one opened: a commit into a
    /// deleted or replaced file is lost, and the caller must not take it as recorded.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        self.file.check()
    }

    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// The console's store, on whichever back end it was opened.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// The change number live views wait on (see `changes`).
    changes: std::sync::Arc<changes::Changes>,
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(Local),
    Postgres(postgres::Shared),
}

/// The local (SQLite) back end's connections.
#[derive(Clone, Debug)]
pub(crate) struct Local {
    /// Writes other than the hot path's (integrations, claims of existing handoffs).
    pub(crate) write: WritePool,
    pub(crate) read: SqlitePool,
    /// Group commit for the hot path: new handoffs and attempts (see `attempts::writer`).
    pub(crate) group_commit: GroupCommit,
    /// Where new handoffs' beginnings and attempts' finishes are committed first (see
    /// `journal`), once attached; never in a history file opened read-only.
    journal: JournalCell,
    file: StoreFile,
    /// How text in the history is found: from the index (a migrated store), or by reading
    /// every attempt (a history file exported before the index, opened read-only).
    search: TextSearch,
    /// Whether the store has the hourly statistics rollups (migration `..._stats_hourly.sql`):
    /// a history file exported before them, opened read-only, counts a window's partial days
    /// from its attempts.
    hourly_rollups: bool,
    /// Whether the store has the duration rollups over all integrations (migration
    /// `..._stats_durations_all.sql`): without them, a window's percentiles for all
    /// integrations sum the per-integration rows.
    all_durations: bool,
    /// Whether the store keeps the attempts that are not a listed handoff's last (migration
    /// `..._history_not_last.sql`): without them, a search's handoff count reads each match's
    /// rows.
    not_last: bool,
    /// A history file opened read-only (`Store::open_read_only`).
    read_only: bool,
    /// Integrations looked up, kept in memory (`memo`); none in a history file.
    integrations_memo: Option<std::sync::Arc<memo::IntegrationsMemo>>,
}

/// Runs `$body` with `$db` bound to the store's back end: [`Local`] or [`postgres::Shared`].
/// The body is compiled once for each, so a statement both dialects accept is written once.
/// Both have `read` (a pool), `write` (`begin()` a transaction with `commit()`/`rollback()`,
/// `acquire()` a connection) and `dialect` ([`Dialect`]).
macro_rules! on_backend {
    ($store:expr, $db:ident => $body:expr) => {
        match $store.backend() {
            $crate::store::Backend::Sqlite($db) => $body,
            $crate::store::Backend::Postgres($db) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Where the two back ends' SQL differs, the text for each: `db.dialect.pick(sqlite, pg)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(crate) fn pick<T>(self, sqlite: T, postgres: T) -> T {
        match self {
            Self::Sqlite => sqlite,
            Self::Postgres => postgres,
        }
    }

    /// `left = right`, ASCII case folded (as SQLite's NOCASE; the PostgreSQL store's unique
    /// name indexes fold the same way, `lower(name COLLATE "C")`). Both are fixed SQL text.
    pub(crate) fn nocase_eq(self, left: &str, right: &str) -> String {
        let (before, after) = self.nocase_eq_around(left);
        format!("{before}{right}{after}")
    }

    /// [`Dialect::nocase_eq`] as the text before and after its right side (a bound value a
    /// query builder puts between them).
    pub(crate) fn nocase_eq_around(self, left: &str) -> (String, &'static str) {
        match self {
            Self::Sqlite => (format!("{left} = "), " COLLATE NOCASE"),
            Self::Postgres => (
                format!("lower({left} COLLATE \"C\") = lower("),
                " COLLATE \"C\")",
            ),
        }
    }

    /// The LIKE that ignores case as SQLite's does (`LIKE` there; `ILIKE` on PostgreSQL, whose
    /// `LIKE` is case-sensitive).
    pub(crate) fn like(self) -> &'static str {
        self.pick("LIKE", "ILIKE")
    }

    /// The column that makes an order total where every other column ties: SQLite's rowid
    /// (its indexes end with it, so pages come from an index alone), the id on PostgreSQL.
    pub(crate) fn row_key(self, table: &str) -> String {
        match self {
            Self::Sqlite => format!("{table}.rowid"),
            Self::Postgres => format!("{table}.id"),
        }
    }

    /// An ORDER BY term for `column`, ASCII case folded.
    pub(crate) fn nocase_order(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("{column} COLLATE NOCASE"),
            Self::Postgres => format!("lower({column} COLLATE \"C\")"),
        }
    }
}

impl Local {
    pub(crate) fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    pub(crate) fn text_search(&self) -> TextSearch {
        self.search
    }

    pub(crate) fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub(crate) fn has_hourly_rollups(&self) -> bool {
        self.hourly_rollups
    }

    pub(crate) fn has_all_durations(&self) -> bool {
        self.all_durations
    }

    pub(crate) fn keeps_not_last(&self) -> bool {
        self.not_last
    }

    pub(crate) fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    /// Waits until the journal's entries appended before now are in the store's tables: what
    /// a write outside the journal does first (see `journal`).
    pub(crate) async fn settle(&self) -> Result<(), StoreError> {
        match self.journal.get() {
            Some(journal) => journal.settle().await,
            None => Ok(()),
        }
    }

    /// The journal, once attached.
    pub(crate) fn journal(&self) -> Option<&journal::Journal> {
        self.journal.get()
    }
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir` and applies pending migrations.
    /// The data dir is made (or tightened to) 0700 and the store's files 0600; a store this
    /// user cannot write is refused before SQLite makes any file beside it.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: data_dir.display().to_string(),
            reason,
        };
        private_data_dir(data_dir).map_err(|e| open_err(e.to_string()))?;
        // SQLite makes its `-wal` and `-shm` beside the store.
        crate::files::check_writable(data_dir).map_err(|e| {
            open_err(format!(
                "the folder is read-only for this user ({e}): give the console's user write \
                 permission to it"
            ))
        })?;
        let path = data_dir.join(STORE_FILE);
        prepare_files(&path).map_err(open_err)?;
        let base = SqliteConnectOptions::new()
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed transaction on an application crash, only
            // (possibly) the last ones on a power loss; FULL would fsync every commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // No ping before each acquire: a local file connection does not go stale, and the ping
        // is a round trip to sqlx's worker thread on every handoff. The file exists (made by
        // `prepare_files`): a connection the pool opens later must not make a new, empty one
        // where the store was deleted.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // What this connection deletes or replaces (re-sealed data, above all) is zeroed in
            // the file, not left in free pages.
            .connect_with(base.clone().pragma("secure_delete", "ON"))
            .await
            .map_err(|e| open_err(e.to_string()))?;
        MIGRATOR
            .run(&write)
            .await
            .map_err(|e| open_err(format!("migration failed: {e}")))?;
        let file = StoreFile::of(&path).map_err(|e| open_err(e.to_string()))?;
        let writer_conn = open_writer(&path).map_err(|e| open_err(e.to_string()))?;
        let integrations_memo = memo::IntegrationsMemo::new(
            open_version_reader(&path).map_err(|e| open_err(e.to_string()))?,
        )
        .map(std::sync::Arc::new);
        let group_commit = GroupCommit::start(writer_conn, file.clone())?;
        // Every read first waits for the journal's entries before it, once there is a journal
        // (see `journal`).
        let journal = JournalCell::default();
        let (settle_idle, settle_new) = (journal.clone(), journal.clone());
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .before_acquire(move |_, _| {
                let journal = settle_idle.get().cloned();
                Box::pin(async move {
                    if let Some(journal) = journal {
                        journal.settle_for_read().await;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |_, _| {
                let journal = settle_new.get().cloned();
                Box::pin(async move {
                    if let Some(journal) = journal {
                        journal.settle_for_read().await;
                    }
                    Ok(())
                })
            })
            .connect_with(base.read_only(true))
            .await
            .map_err(|e| open_err(e.to_string()))?;
        Ok(Self::local_with(Local {
            write: WritePool {
                pool: write,
                file: file.clone(),
                journal: journal.clone(),
            },
            read,
            group_commit,
            journal,
            file,
            search: TextSearch::Fts5,
            hourly_rollups: true,
            all_durations: true,
            not_last: true,
            read_only: false,
            integrations_memo,
        }))
    }

    /// Opens a store file read-only, without migrating it: a history export (see `export`),
    /// which `history`, `handoffs`, `stats` and `show-attempt` read like a store. Any write
    /// fails. An export from before handoff origins (migration `..._handoff_origin.sql`) is
    /// read through [`LEGACY_HANDOFF_VIEWS`].
    pub async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: path.display().to_string(),
            reason,
        };
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(e.to_string()))?;
        let has_origin: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM pragma_table_info('handoffs') WHERE name = 'origin'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| open_err(e.to_string()))?;
        let indexed: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM pragma_table_list WHERE name = 'history_search'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| open_err(e.to_string()))?;
        // (A block: the closure borrows the connection, which must not be held across an await.)
        let (hourly_rollups, all_durations, not_last) = {
            let has_table = |name: &str| {
                conn.query_row(
                    "SELECT count(*) > 0 FROM pragma_table_list WHERE name = ?1",
                    [name],
                    |r| r.get::<_, bool>(0),
                )
                .map_err(|e| open_err(e.to_string()))
            };
            (
                has_table("stats_hourly")?,
                has_table("stats_durations_daily_all")?,
                has_table("history_not_last")?,
            )
        };
        let search = if indexed {
            TextSearch::Fts5
        } else {
            TextSearch::Scan
        };
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let pool = |max: u32| {
            let pool = SqlitePoolOptions::new().max_connections(max);
            if has_origin {
                return pool;
            }
            pool.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(LEGACY_HANDOFF_VIEWS).execute(conn).await?;
                    Ok(())
                })
            })
        };
        let read = pool(2)
            .connect_with(options.clone())
            .await
            .map_err(|e| open_err(e.to_string()))?;
        let write = pool(1)
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        let file = StoreFile::of(path).map_err(|e| open_err(e.to_string()))?;
        Ok(Self::local_with(Local {
            write: WritePool {
                pool: write,
                file: file.clone(),
                journal: JournalCell::default(),
            },
            read,
            group_commit: GroupCommit::start(conn, file.clone())?,
            journal: JournalCell::default(),
            file,
            search,
            hourly_rollups,
            all_durations,
            not_last,
            read_only: true,
            integrations_memo: None,
        }))
    }

    /// Opens the shared store at `url` (its password from the secrets backend, when it needs
    /// one), applying the migrations it lacks.
    pub async fn open_shared(
        url: &postgres::StoreUrl,
        password: Option<&str>,
    ) -> Result<Self, StoreError> {
        let shared = postgres::Shared::open(url, password).await?;
        Ok(Self {
            changes: changes::Changes::new(changes::Source::Channel {
                listen: shared.listen.clone(),
                read: shared.read.clone(),
            }),
            backend: Backend::Postgres(shared),
        })
    }

    /// Waits until everything recorded so far is in the store's tables: the local store's
    /// journal moved (see `journal`); at once on a shared store, or with no journal. For what
    /// reads the store's file itself (a benchmark, a copy of the file), and to count the
    /// journal's work in a handoff's cost.
    pub async fn settle(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(local) => local.settle().await,
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// Puts a journal in front of the local store's hot-path writes (see `journal`), moving
    /// what an earlier run left in it first; `apply` writes an entry into the tables. Nothing
    /// on a shared store or a history file (read-only), nor once attached.
    pub(crate) async fn attach_journal(&self, apply: journal::Apply) -> Result<(), StoreError> {
        let Backend::Sqlite(local) = &self.backend else {
            return Ok(());
        };
        if local.read_only || local.journal.get().is_some() {
            return Ok(());
        }
        let journal =
            journal::Journal::open(&local.file, local.group_commit.clone(), apply).await?;
        if let Err(twice) = local.journal.set(journal) {
            // Attached meanwhile: this one's mover stops.
            twice.close().await;
        }
        Ok(())
    }

    fn local_with(local: Local) -> Self {
        Self {
            changes: changes::Changes::new(changes::Source::File(local.file.path.clone())),
            backend: Backend::Sqlite(local),
        }
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The local store's memo of integration lookups and the integrations' version now, when
    /// both are there (see `memo`).
    pub(crate) fn integrations_memo(&self) -> Option<(&memo::IntegrationsMemo, i64)> {
        match &self.backend {
            Backend::Sqlite(local) => {
                let memo = local.integrations_memo.as_deref()?;
                Some((memo, memo.version()?))
            }
            Backend::Postgres(_) => None,
        }
    }

    /// The local back end, for tests of its internals (`what` names the caller in the error).
    #[cfg(test)]
    pub(crate) fn local(&self, what: &'static str) -> Result<&Local, StoreError> {
        match &self.backend {
            Backend::Sqlite(local) => Ok(local),
            Backend::Postgres(_) => Err(StoreError::NotShared(what)),
        }
    }

    /// Whether this is a store several instances share (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The store's file, for a local store.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite(local) => Some(&local.file.path),
            Backend::Postgres(_) => None,
        }
    }

    /// Where the store is, for messages: its file, or its URL (which holds no password).
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite(local) => local.file.path.display().to_string(),
            Backend::Postgres(shared) => shared.location().to_string(),
        }
    }

    /// Whether the store's path still names the file this console opened, and, with the
    /// journal attached, whether the journal's file does too and its mover is not failing (the
    /// health check asks; every write checks the files too). A shared store has no file.
    pub fn check_file(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(local) => {
                local.file.check()?;
                local.journal.get().map_or(Ok(()), journal::Journal::check)
            }
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// The store's change number once it differs from `after` (at once without one), or after
    /// `wait` unchanged: what a live view waits on to know it should refresh. It moves on any
    /// commit by any instance on this store (see `changes`).
    pub async fn changes_after(&self, after: Option<u64>, wait: Duration) -> ChangeState {
        self.changes.wait(after, wait).await
    }

    /// Ends the waits of [`Store::changes_after`] now (a server stopping).
    pub fn stop_change_waits(&self) {
        self.changes.stop();
    }

    /// Commits queued writes and closes every connection (so SQLite checkpoints the WAL).
    pub async fn close(&self) {
        self.changes.stop();
        match &self.backend {
            Backend::Sqlite(local) => {
                // Before the writer's: the last connection to close checkpoints the WAL and
                // removes it, which a read-only one cannot.
                if let Some(memo) = &local.integrations_memo {
                    memo.close();
                }
                // The journal's last move goes through the group commit.
                if let Some(journal) = local.journal.get() {
                    journal.close().await;
                }
                local.group_commit.close().await;
                local.read.close().await;
                local.write.close().await;
            }
            Backend::Postgres(shared) => shared.close().await,
        }
    }
}

/// Reads an export made before handoffs had an origin (and kept their integration's name) as if
/// it had them: temporary views, per connection, shadow `handoffs` and `stats_handoffs_daily`
/// (the file itself is read-only). The origin is the trigger of the handoff's attempt number 1
/// as the migration's backfill sets it; a handoff whose first attempt is not in the file (the
/// export's window left it out) counts as live. The state is `HandoffState::SQL` (a test checks).
pub(crate) const LEGACY_HANDOFF_VIEWS: &str = "
CREATE TEMP VIEW handoffs AS
SELECT h.rowid AS rowid, h.*,
    coalesce((SELECT CASE a.trigger WHEN 'test' THEN 'test' WHEN 'webhook' THEN 'webhook' ELSE 'live' END
              FROM main.attempts a WHERE a.handoff_id = h.id AND a.attempt_number = 1), 'live') AS origin,
    coalesce((SELECT a.integration_name FROM main.attempts a WHERE a.id = h.last_attempt_id),
             (SELECT i.name FROM main.integrations i WHERE i.id = h.integration_id), '') AS integration_name
FROM main.handoffs h;
CREATE TEMP VIEW stats_handoffs_daily AS
SELECT h.created_at / 86400000 AS day, h.integration_id, h.origin, h.attempts > 1 AS retried,
    CASE WHEN h.status = 'succeeded' THEN 'delivered' WHEN h.status = 'pending' AND h.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END AS state,
    count(*) AS n
FROM temp.handoffs h GROUP BY 1, 2, 3, 4, 5;
";

impl Store {
    /// The id of the data key that seals new handoff data, once one was made.
    pub async fn current_data_key(&self) -> Result<Option<String>, StoreError> {
        Ok(on_backend!(self, db => {
            sqlx::query_scalar("SELECT id FROM data_keys WHERE retired_at IS NULL")
                .fetch_optional(&mut *db.write.acquire().await?)
                .await
        })?)
    }

    /// Makes `id` the current data key unless one is current already (another process made it
    /// first); returns the current key's id either way.
    pub async fn adopt_data_key(&self, id: &str) -> Result<String, StoreError> {
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            // A second current key is refused by the store's unique index: then it was first.
            sqlx::query(
                "INSERT INTO data_keys (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            let current: String =
                sqlx::query_scalar("SELECT id FROM data_keys WHERE retired_at IS NULL")
                    .fetch_one(&mut *tx)
                    .await?;
            tx.commit().await?;
            Ok(current)
        })
    }
}

/// A handoff whose data is not yet sealed under the current data key.
#[derive(Debug, Clone)]
pub struct Unsealed {
    pub handoff_id: String,
    pub integration_id: String,
    pub data: String,
    pub data_masked: Option<String>,
}

impl Store {
    /// Makes `id` the current data key and retires `expected`, the one the caller found
    /// current (none: there was none). Returns `false`, changing nothing, when the current key
    /// is no longer `expected` (another rotation got there first).
    pub async fn rotate_in_data_key(
        &self,
        expected: Option<&str>,
        id: &str,
        rotation: bool,
    ) -> Result<bool, StoreError> {
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            if db.dialect() == Dialect::Postgres {
                // SQLite's `BEGIN IMMEDIATE` already keeps other writers out until the commit;
                // PostgreSQL's row locks cannot lock a current key that is not there yet.
                sqlx::query("LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            let now = now_ms();
            let current: Option<String> =
                sqlx::query_scalar("SELECT id FROM data_keys WHERE retired_at IS NULL")
                    .fetch_optional(&mut *tx)
                    .await?;
            if current.as_deref() != expected {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("UPDATE data_keys SET retired_at = $1 WHERE retired_at IS NULL")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO data_keys (id, created_at, rotation_pending) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(now)
            .bind(rotation)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Whether a rotation to the current key `id` is still to be finished.
    pub async fn rotation_pending(&self, id: &str) -> Result<bool, StoreError> {
        let pending: Option<bool> = on_backend!(self, db => {
            sqlx::query_scalar("SELECT rotation_pending FROM data_keys WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *db.write.acquire().await?)
                .await
        })?;
        Ok(pending.unwrap_or(false))
    }

    /// Marks the rotation to `id` finished.
    pub async fn finish_rotation(&self, id: &str) -> Result<(), StoreError> {
        on_backend!(self, db => {
            sqlx::query("UPDATE data_keys SET rotation_pending = FALSE WHERE id = $1")
                .bind(id)
                .execute(&mut *db.write.acquire().await?)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Writes the WAL back into the file and empties it, so page images from before (e.g. data
    /// that was re-sealed) do not linger in it. Best effort: readers may hold it open. A shared
    /// store has no WAL of the console's (PostgreSQL's own vacuum reclaims dead rows).
    pub async fn checkpoint_truncate(&self) -> Result<(), StoreError> {
        if let Backend::Sqlite(local) = &self.backend {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *local.write.acquire().await?)
                .await?;
            // The journal's too: what was moved out of it is zeroed in its file, but older
            // page images stay in its WAL until then.
            if let Some(journal) = local.journal.get() {
                journal.checkpoint_truncate()?;
            }
        }
        Ok(())
    }

    /// The retired data keys, with when each was retired (ms).
    pub async fn retired_data_keys(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_backend!(self, db => {
            sqlx::query_as(
                "SELECT id, retired_at FROM data_keys WHERE retired_at IS NOT NULL ORDER BY id",
            )
            .fetch_all(&db.read)
            .await
        })?)
    }

    /// Forgets a retired data key (to be deleted from the secrets backend) if nothing is sealed
    /// under it; returns whether it was forgotten.
    pub async fn forget_data_key(&self, id: &str) -> Result<bool, StoreError> {
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            // Inbox messages are sealed under the same keys (their body, and their headers).
            let used: i64 = sqlx::query_scalar(
                "SELECT (SELECT count(*) FROM handoffs WHERE data LIKE $1)
                      + (SELECT count(*) FROM intake_messages WHERE body LIKE $1 OR headers LIKE $1)",
            )
            .bind(format!("hc1:{id}:%"))
            .fetch_one(&mut *tx)
            .await?;
            if used > 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            let done =
                sqlx::query("DELETE FROM data_keys WHERE id = $1 AND retired_at IS NOT NULL")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// How many handoffs are not sealed under the key `current` (sealed under another, or
    /// plain from before encryption), and up to `limit` of them with ids after `after`.
    pub async fn unsealed_handoffs(
        &self,
        current: &str,
        after: &str,
        limit: u32,
    ) -> Result<(u64, Vec<Unsealed>), StoreError> {
        // Key ids are hex: no LIKE wildcard can be in the pattern.
        let pattern = format!("hc1:{current}:%");
        /// Id, integration id, data, masked data.
        type Row = (String, String, String, Option<String>);
        let (total, rows): (i64, Vec<Row>) = on_backend!(self, db => {
            let total =
                sqlx::query_scalar("SELECT count(*) FROM handoffs WHERE data NOT LIKE $1")
                    .bind(&pattern)
                    .fetch_one(&db.read)
                    .await?;
            let rows = sqlx::query_as(
                "SELECT id, integration_id, data, data_masked FROM handoffs
                 WHERE data NOT LIKE $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(&pattern)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&db.read)
            .await?;
            (total, rows)
        });
        Ok((
            total.max(0) as u64,
            rows.into_iter()
                .map(|(handoff_id, integration_id, data, data_masked)| Unsealed {
                    handoff_id,
                    integration_id,
                    data,
                    data_masked,
                })
                .collect(),
        ))
    }

    /// Replaces a handoff's data with `sealed` under `key` (and fills its masked copy if it had
    /// none), unless the data changed since it was read as `was` or `key` is no longer the
    /// current one. Returns whether it was replaced.
    pub async fn reseal_handoff(
        &self,
        id: &str,
        was: &str,
        sealed: &str,
        key: &str,
        masked: &str,
    ) -> Result<bool, StoreError> {
        let done = on_backend!(self, db => {
            sqlx::query(
                "UPDATE handoffs SET data = $1, data_masked = coalesce(data_masked, $2)
                 WHERE id = $3 AND data = $4
                   AND EXISTS (SELECT 1 FROM data_keys WHERE id = $5 AND retired_at IS NULL)",
            )
            .bind(sealed)
            .bind(masked)
            .bind(id)
            .bind(was)
            .bind(key)
            .execute(&mut *db.write.acquire().await?)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}

impl Store {
    /// Up to `limit` inbox messages (ids after `after`) whose body or headers are not sealed
    /// under the key `current`: `(id, body, headers)`.
    pub async fn unsealed_inbox(
        &self,
        current: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let pattern = format!("hc1:{current}:%");
        Ok(on_backend!(self, db => {
            sqlx::query_as(
                "SELECT id, body, headers FROM intake_messages
                 WHERE (body NOT LIKE $1 OR (headers IS NOT NULL AND headers NOT LIKE $1))
                   AND id > $2
                 ORDER BY id LIMIT $3",
            )
            .bind(&pattern)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&db.read)
            .await
        })?)
    }

    /// Replaces an inbox message's sealed body and headers, unless they changed since they
    /// were read (`was_*`) or `key` is no longer the current one.
    pub async fn reseal_inbox(
        &self,
        id: &str,
        was: (&str, Option<&str>),
        sealed: (&str, Option<&str>),
        key: &str,
    ) -> Result<bool, StoreError> {
        let done = on_backend!(self, db => {
            sqlx::query(
                "UPDATE intake_messages SET body = $1, headers = $2
                 WHERE id = $3 AND body = $4 AND headers IS NOT DISTINCT FROM $5
                   AND EXISTS (SELECT 1 FROM data_keys WHERE id = $6 AND retired_at IS NULL)",
            )
            .bind(sealed.0)
            .bind(sealed.1)
            .bind(id)
            .bind(was.0)
            .bind(was.1)
            .bind(key)
            .execute(&mut *db.write.acquire().await?)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}

/// What the console keeps in its data dir: files (with their `-wal`, `.tmp`, `.lock`
/// companions, hence prefixes) and folders.
const DATA_DIR_FILES: [&str; 5] = [
    STORE_FILE,
    journal::JOURNAL_FILE,
    "settings.json",
    "api-token",
    "secrets.vault",
];
const DATA_DIR_FOLDERS: [&str; 4] = ["exports", "history-files", "demo", "logs"];

/// Makes the data dir 0700, or tightens an existing one others can reach when it holds nothing
/// but the console's own files. A folder with other things in it (`--data-dir` naming a home
/// folder, say) is not changed under its owner: a warning says so, and the console's files in
/// it are private all the same. A shared folder (the sticky bit, `/tmp`) is refused.
fn private_data_dir(dir: &Path) -> std::io::Result<()> {
    crate::files::create_private_dir(dir)?;
    let mut others = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let ours = DATA_DIR_FILES.iter().any(|f| name.starts_with(f))
            || DATA_DIR_FOLDERS.contains(&name.as_str());
        if !ours {
            others.push(name);
        }
    }
    #[cfg(unix)]
    if !others.is_empty() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o7777;
        if mode & 0o1000 != 0 {
            // The same refusal as tighten_dir's.
            return crate::files::tighten_dir(dir);
        }
        if mode & 0o077 != 0 {
            others.sort();
            others.truncate(3);
            tracing::warn!(
                "the data dir {} is open to other users (mode {mode:o}) and holds other things \
                 ({}…): it is left as it is",
                dir.display(),
                others.join(", ")
            );
        }
        return Ok(());
    }
    #[cfg(not(unix))]
    let _ = others;
    crate::files::tighten_dir(dir)
}

/// Readies the store's files before SQLite opens them. A missing store is made empty with mode
/// 0600, since SQLite gives its `-wal` and `-shm` the store's mode; a store others can read is
/// tightened to its owner's bits; `-wal` and `-shm` are made 0600 (a failed open of a read-only
/// store used to leave them 0444, which kept the store broken after its mode was fixed). Last,
/// a store (or `-wal`, `-shm`) this user cannot write is refused here, before SQLite would
/// open it read-only and make files beside it.
fn prepare_files(path: &Path) -> Result<(), String> {
    use std::io::ErrorKind;
    let name = path.display().to_string();
    let read_only = |file: &str, e: std::io::Error| {
        format!(
            "the store file {file} is read-only for this user ({e}): give the console's user \
             write permission to it (chmod u+w), or run the console as the user who owns it"
        )
    };
    // Nothing here opens an existing file: another store on this file in the same process
    // would lose its SQLite locks when the descriptor closed.
    match crate::files::private_options()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            if let Err(e) = crate::files::tighten(path) {
                tracing::warn!("{name} keeps its mode: {e}");
            }
        }
        Err(e) => return Err(format!("{name} cannot be created: {e}")),
    }
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{name}{suffix}"));
        if let Err(e) = crate::files::repair(&side) {
            tracing::warn!("{} keeps its mode: {e}", side.display());
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{name}{suffix}");
        match crate::files::check_writable(Path::new(&file)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(read_only(&file, e)),
        }
    }
    Ok(())
}

/// The group-commit writer's connection, with the pools' settings (WAL, NORMAL sync, the busy
/// timeout, foreign keys) and its sub-journals in memory; SQLite's automatic checkpoint stays
/// on.
fn open_writer(path: &Path) -> Result<rusqlite::Connection, rusqlite::Error> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Each write of a batch runs under a savepoint, whose sub-journal (a copy of every page
    // the write changes) SQLite would spill to a temp file past 64 KiB: a file made, written
    // and deleted in every batch. The writer's transactions are small; in memory it stays.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(conn)
}

/// A read-only connection of its own for the integrations' version (`memo`).
/// No busy timeout: it reads in a runtime thread, which must not wait; a busy read answers
/// `None` and the lookup reads the row instead.
fn open_version_reader(path: &Path) -> Result<rusqlite::Connection, rusqlite::Error> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // (rusqlite sets 5 s by default.)
    conn.busy_timeout(Duration::ZERO)?;
    Ok(conn)
}

/// Now, as the store keeps times.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl From<StoreError> for crate::error::AppError {
    fn from(e: StoreError) -> Self {
        use StoreError as S;
        // The environment (a full disk, a read-only or deleted file, a lock held too long) is
        // `unavailable` with its reason; what is left would be a bug.
        match e {
            S::Open { .. }
            | S::Auth { .. }
            | S::Replaced { .. }
            | S::Unavailable(_)
            | S::WriterStopped => crate::error::AppError::unavailable(e.to_string()),
            S::Choice { field, reason } => crate::error::AppError::invalid(field, reason),
            // Not a bug: what this store cannot do (yet); the text says so.
            S::NotShared(_) => crate::error::AppError::unavailable(e.to_string()),
            S::CopyRefused(reason) => crate::error::AppError::conflict(reason),
            other => crate::error::AppError::internal(other),
        }
    }
}
