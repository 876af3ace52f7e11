//! One [`LiveSchema`](super::schema::LiveSchema) per database kind, each over its own sqlx
//! connection: the catalog queries, how the kind's type names map to a [`ColumnKind`]
//! (`super::schema::ColumnKind`), the insert privilege and whether TLS is in use.

pub(super) mod mysql;
mod postgres;
mod sqlite;
