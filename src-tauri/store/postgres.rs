//! The PostgreSQL store (issue 17), for clinic groups whose consoles and servers share one
//! history. So far its schema: `migrations/postgres/`, one twin per SQLite migration with the
//! same name (docs/store-postgres.md), applied under sqlx's advisory lock so that instances
//! starting at once do not race. Its queries come next; nothing opens it yet.

use super::StoreError;
use sqlx::PgPool;

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
