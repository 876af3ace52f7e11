//! The shared (PostgreSQL) store back end (issue 17), for clinic groups whose consoles and
//! servers share one history: its URL ([`StoreUrl`]: no password in it, TLS verified except on
//! loopback), its connections ([`Shared`]), and its schema (`migrations/postgres/`, one twin per
//! SQLite migration with the same name, docs/store-postgres.md) applied under sqlx's advisory
//! lock so that instances starting at once do not race. The domains' queries run on it through
//! `store::on_backend!`.

use super::changes::Notifier;
use super::{Dialect, StoreError};
use crate::net::TlsProtection;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, Postgres};
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::Arc;

/// The shared back end's connections: one pool serves reads and writes (PostgreSQL takes its
/// locks per row, not per database, so writers need no connection of their own).
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    pub(crate) read: PgPool,
    pub(crate) write: SharedWrite,
    /// The change listener's own connection (made when a view first waits for changes).
    pub(crate) listen: PgPool,
    /// The URL, for messages (no password is ever in it).
    location: String,
}

/// Writes on the shared store, shaped as the local store's `WritePool`.
#[derive(Clone, Debug)]
pub(crate) struct SharedWrite {
    pool: PgPool,
    /// Tells the other instances' live views that something changed (`store::changes`).
    notifier: Arc<Notifier>,
}

impl SharedWrite {
    /// A transaction (READ COMMITTED, PostgreSQL's default; a statement that must see no
    /// concurrent change locks what it reads). Its commit notifies the live views.
    pub(crate) async fn begin(&self) -> Result<SharedTx, StoreError> {
        Ok(SharedTx(
            self.pool.begin().await?,
            Arc::clone(&self.notifier),
        ))
    }

    /// A connection, for statements that run on their own. A statement that changes what a
    /// view shows is followed by [`SharedWrite::changed`].
    pub(crate) async fn acquire(&self) -> Result<PoolConnection<Postgres>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// After a write outside [`SharedWrite::begin`]'s transactions: notifies the live views.
    pub(crate) async fn changed(&self) {
        self.notifier.committed().await;
    }
}

/// A write transaction on the shared store: dropped without a commit, it rolls back.
pub(crate) struct SharedTx(sqlx::Transaction<'static, Postgres>, Arc<Notifier>);

impl SharedTx {
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await?;
        self.1.committed().await;
        Ok(())
    }

    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.0.rollback().await?)
    }
}

impl std::ops::Deref for SharedTx {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for SharedTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Shared {
    pub(crate) async fn open(url: &StoreUrl, password: Option<&str>) -> Result<Self, StoreError> {
        let pool = open(url, password).await?;
        // Its own pool of one, made lazily: the listener holds its connection for as long as
        // the store is open, and must not take one of the queries'.
        let listen = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(url.connect_options(password));
        Ok(Self {
            read: pool.clone(),
            write: SharedWrite {
                notifier: Notifier::new(pool.clone()),
                pool,
            },
            listen,
            location: url.display(),
        })
    }

    pub(crate) fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    pub(crate) fn text_search(&self) -> super::TextSearch {
        super::TextSearch::Trigram
    }

    pub(crate) fn has_hourly_rollups(&self) -> bool {
        true
    }

    pub(crate) fn has_all_durations(&self) -> bool {
        true
    }

    pub(crate) fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        &PG_MIGRATOR
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    pub(crate) async fn close(&self) {
        self.write.notifier.flush().await;
        self.listen.close().await;
        self.read.close().await;
    }
}

/// Why a connection failed, in words: the server's own message for a database error (without
/// sqlx's note of the server's source line), else sqlx's.
fn connect_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    }
}

/// `sql` with SQLite's numbered parameters (`?1`) as PostgreSQL numbers them (`$1`), for a
/// statement both back ends run (the local store's writer runs it through rusqlite, which
/// takes `?n`). The statements given have no `?` in a string literal.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// What PostgreSQL's error `e` says when the environment, not the console, stopped the store
/// (SQLSTATE classes: 08 connection, 53 resources, 57 operator intervention, 58 system; and
/// the serialization failures and deadlocks a retry resolves); `None` for the rest (a
/// constraint, a bug). PostgreSQL's own message may quote values, so only its code is shown.
pub(crate) fn unavailable_reason(e: &PgDatabaseError) -> Option<String> {
    let code = e.code();
    let what = match code.get(..2)? {
        "08" => "the connection to the shared store failed — check the network and the server",
        "53" if code == "53100" => "the shared store's disk is full",
        "53" => "the shared store's server is out of resources (memory or connections)",
        "57" => "the shared store's server is shutting down or restarting — try again",
        "58" => "the shared store's server had an I/O error",
        "40" => "the shared store stopped this write to keep another one consistent — try again",
        _ => return None,
    };
    Some(format!("{what} (PostgreSQL: SQLSTATE {code})"))
}

/// The PostgreSQL twins of [`super::MIGRATOR`]'s migrations, embedded at build time.
pub static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Applies the migrations `pool`'s database (its `search_path` schema) has not had yet. sqlx
/// holds `pg_advisory_lock` for the database while it does, so of several instances starting
/// at once one applies them and the others find them applied.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    PG_MIGRATOR.run(pool).await.map_err(|e| StoreError::Open {
        path: "the PostgreSQL store".into(),
        reason: format!("its migrations failed: {e}"),
    })
}

/// How long opening the store waits for a connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Connects to the store at `url` (its password from the secrets backend, when it needs one)
/// and applies the migrations it lacks.
pub async fn open(url: &StoreUrl, password: Option<&str>) -> Result<PgPool, StoreError> {
    let options = url.connect_options(password);
    // One connection first: a pool retries until its timeout and then says only that it timed
    // out, where this says why (refused, no such host, no such role, the password, TLS).
    let refused = |e: sqlx::Error| {
        let auth = matches!(&e, sqlx::Error::Database(d)
            if d.code().is_some_and(|c| c.starts_with("28")));
        let reason = format!("cannot connect: {}", connect_reason(&e));
        if auth {
            StoreError::Auth {
                path: url.display(),
                reason,
            }
        } else {
            StoreError::Open {
                path: url.display(),
                reason,
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Ok(first)) => {
            let _ = first.close().await;
        }
        Ok(Err(e)) => return Err(refused(e)),
        Err(_) => {
            return Err(StoreError::Open {
                path: url.display(),
                reason: format!(
                    "cannot connect: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ),
            });
        }
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(refused)?;
    if let Some(schema) = &url.schema {
        // A validated identifier (lowercase letters, digits, underscores), quoted.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&pool)
        .await
        .map_err(|e| StoreError::Open {
            path: url.display(),
            reason: format!("cannot make its schema: {e}"),
        })?;
    }
    migrate(&pool).await?;
    Ok(pool)
}

/// Where a shared store is: `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…&sslrootcert=…]`
/// (`postgresql://` too), with no password in it: a password written in a URL ends up in shell
/// history, process lists and unit files, so it lives in the secrets backend like any other
/// credential, under [`StoreUrl::password_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    /// As given, or (none given) verified TLS to another machine and `prefer` on this one, as
    /// for database targets: a local server rarely has a certificate for `localhost`, and the
    /// data does not leave the machine.
    pub tls: TlsProtection,
    /// A PEM file of CA certificates that may sign the server's certificate.
    pub root_cert: Option<String>,
    /// The schema the store's tables live in (`public` when none is given): one database can
    /// hold several stores, or the store beside another application's tables.
    pub schema: Option<String>,
}

/// Why a store URL is refused: which part, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store URL: {part} {reason}")]
pub struct StoreUrlError {
    pub part: &'static str,
    pub reason: String,
}

fn refuse(part: &'static str, reason: impl Into<String>) -> StoreUrlError {
    StoreUrlError {
        part,
        reason: reason.into(),
    }
}

impl StoreUrl {
    pub fn parse(text: &str) -> Result<Self, StoreUrlError> {
        let url = url::Url::parse(text.trim()).map_err(|e| {
            refuse(
                "as a whole",
                format!("is not a URL ({e}); write postgres://USER@HOST[:PORT]/DATABASE"),
            )
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(refuse(
                "scheme",
                format!("must be postgres:// (not {}://)", url.scheme()),
            ));
        }
        if url.password().is_some() {
            // Not echoed: the message must not carry the password on.
            return Err(refuse(
                "password",
                "must not be written in the URL (it would end up in shell history and process \
                 lists): leave it out, and keep it in the secrets backend instead",
            ));
        }
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.to_string(),
            _ => return Err(refuse("host", "is missing: postgres://USER@HOST/DATABASE")),
        };
        let user = match url.username() {
            "" => return Err(refuse("user", "is missing: postgres://USER@HOST/DATABASE")),
            u => percent_decode(u, "user")?,
        };
        let database = match url.path().trim_start_matches('/') {
            "" => {
                return Err(refuse(
                    "database",
                    "is missing: postgres://USER@HOST/DATABASE",
                ));
            }
            d if d.contains('/') => return Err(refuse("database", "must be one name")),
            d => percent_decode(d, "database")?,
        };
        let (mut tls, mut root_cert, mut schema) = (None, None, None);
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "sslmode" => {
                    tls = Some(TlsProtection::from_pg_sslmode(&value).ok_or_else(|| {
                        refuse(
                            "sslmode",
                            "must be one of disable, prefer, require, verify-ca, verify-full",
                        )
                    })?);
                }
                "sslrootcert" => root_cert = Some(value.into_owned()),
                "schema" => {
                    let ok = value.len() <= 63
                        && value.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                        && value
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                    if !ok {
                        return Err(refuse(
                            "schema",
                            "must be 1 to 63 lowercase letters, digits and underscores, not \
                             starting with a digit",
                        ));
                    }
                    schema = Some(value.into_owned());
                }
                other => {
                    return Err(refuse(
                        "query",
                        format!(
                            "'{other}' is not a setting the store takes (sslmode, sslrootcert, \
                             schema)"
                        ),
                    ));
                }
            }
        }
        if root_cert.is_some()
            && matches!(
                tls,
                Some(TlsProtection::Encrypted | TlsProtection::Opportunistic)
            )
        {
            return Err(refuse(
                "sslrootcert",
                "is only used to verify the server: with it, sslmode must be verify-ca or \
                 verify-full (or left out)",
            ));
        }
        let tls = tls.unwrap_or(
            if root_cert.is_none() && crate::net::is_loopback_host(&host) {
                TlsProtection::Opportunistic
            } else {
                TlsProtection::Verified
            },
        );
        Ok(Self {
            host,
            port: url.port().unwrap_or(5432),
            user,
            database,
            tls,
            root_cert,
            schema,
        })
    }

    /// The URL without secrets (there are none in it), for logs and messages.
    pub fn display(&self) -> String {
        let schema = self
            .schema
            .as_deref()
            .map_or(String::new(), |s| format!("&schema={s}"));
        format!(
            "postgres://{}@{}:{}/{}?sslmode={}{schema}",
            self.user,
            self.host,
            self.port,
            self.database,
            self.tls.pg_sslmode()
        )
    }

    /// The secrets backend's name for this store's password: one per user, server and database
    /// (the schema does not change who logs in).
    pub fn password_key(&self) -> String {
        format!(
            "store/postgres/{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    /// Connect options for the store (the password from the secrets backend, when it has one).
    pub fn connect_options(&self, password: Option<&str>) -> PgConnectOptions {
        let mut o = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .database(&self.database)
            .ssl_mode(self.tls.pg_ssl_mode())
            .application_name("handoff-console:store");
        if let Some(ca) = &self.root_cert {
            o = o.ssl_root_cert(ca);
        }
        if let Some(schema) = &self.schema {
            o = o.options([("search_path", schema.as_str())]);
        }
        if let Some(p) = password {
            o = o.password(p);
        }
        o
    }
}

fn percent_decode(text: &str, part: &'static str) -> Result<String, StoreUrlError> {
    // The `url` crate leaves the user and the path percent-encoded.
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| refuse(part, "is not valid UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> StoreUrlError {
        StoreUrl::parse(url).expect_err(url)
    }

    #[test]
    fn a_store_url_names_user_host_port_and_database() {
        let u = StoreUrl::parse("postgres://console@db.clinic.example:6432/handoffs").unwrap();
        assert_eq!(
            (
                u.user.as_str(),
                u.host.as_str(),
                u.port,
                u.database.as_str()
            ),
            ("console", "db.clinic.example", 6432, "handoffs")
        );
        assert_eq!(
            u.tls,
            TlsProtection::Verified,
            "another machine: verified TLS"
        );
        assert_eq!(
            u.password_key(),
            "store/postgres/console@db.clinic.example:6432/handoffs"
        );
        let u = StoreUrl::parse("postgresql://front%20desk@localhost/clinic%2Dgroup").unwrap();
        assert_eq!((u.user.as_str(), u.port), ("front desk", 5432));
        assert_eq!(u.database, "clinic-group");
        assert_eq!(u.tls, TlsProtection::Opportunistic, "this machine: prefer");
        assert_eq!(
            StoreUrl::parse("postgres://c@127.0.0.1/h").unwrap().tls,
            TlsProtection::Opportunistic
        );
    }

    #[test]
    fn tls_is_as_given_and_a_ca_file_means_verified() {
        let tls = |q: &str| StoreUrl::parse(&format!("postgres://c@localhost/h?{q}")).unwrap();
        assert_eq!(tls("sslmode=disable").tls, TlsProtection::Off);
        assert_eq!(tls("sslmode=require").tls, TlsProtection::Encrypted);
        let ca = tls("sslrootcert=/etc/ca.pem");
        assert_eq!(
            ca.tls,
            TlsProtection::Verified,
            "a CA file on loopback still verifies"
        );
        assert_eq!(ca.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(
            tls("sslmode=verify-ca&sslrootcert=/ca").tls,
            TlsProtection::VerifiedCa
        );
        assert!(
            tls("sslmode=verify-full")
                .display()
                .ends_with("?sslmode=verify-full")
        );
        let schema = tls("schema=clinic_2");
        assert_eq!(schema.schema.as_deref(), Some("clinic_2"));
        assert!(schema.display().ends_with("&schema=clinic_2"));
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_repeating_it() {
        let e = refused("postgres://console:hunter2@db/handoffs");
        assert_eq!(e.part, "password");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("secrets backend"), "{e}");
    }

    #[test]
    fn numbered_parameters_become_postgres_ones() {
        assert_eq!(
            numbered("UPDATE t SET a = ?1, b = ?12 WHERE c = ?1 AND d != '?'"),
            "UPDATE t SET a = $1, b = $12 WHERE c = $1 AND d != '?'"
        );
    }

    #[test]
    fn bad_store_urls_say_which_part_is_wrong() {
        for (url, part) in [
            ("not a url", "as a whole"),
            ("mysql://c@db/h", "scheme"),
            ("postgres://db/h", "user"),
            ("postgres://c@db", "database"),
            ("postgres://c@db/", "database"),
            ("postgres://c@db/a/b", "database"),
            ("postgres://c@db/h?sslmode=allow", "sslmode"),
            (
                "postgres://c@db/h?sslmode=require&sslrootcert=/ca",
                "sslrootcert",
            ),
            ("postgres://c@db/h?options=-c%20x", "query"),
            ("postgres://c@db/%FF", "database"),
            ("postgres://c@db/h?schema=Clinic", "schema"),
            ("postgres://c@db/h?schema=1st", "schema"),
            ("postgres://c@db/h?schema=a;drop", "schema"),
        ] {
            assert_eq!(refused(url).part, part, "{url}");
        }
    }
}
