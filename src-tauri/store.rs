//! The local store: one SQLite file (WAL) in the data dir, migrated at open.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}
