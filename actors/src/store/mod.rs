//! Storage: one Diesel connection type over SQLite and PostgreSQL, the r2d2 pool, embedded
//! migrations and the queries. Everything here is blocking: call it from the blocking pool.

pub mod addresses;
pub mod audit;
pub mod blocks;
mod bulk;
pub mod chat;
pub mod disputes;
pub mod events;
pub mod idempotency;
mod in_order;
pub mod ledger;
pub mod liker_offers;
pub mod likes;
pub mod listings;
pub mod models;
pub mod notifications;
pub mod offers;
pub mod orders;
pub mod photos;
mod prepared;
pub mod profiles;
pub mod removed_messages;
pub mod reports;
pub mod saved_searches;
pub mod schema;
pub mod search;
pub mod sql_enums;
pub mod stored_time;
pub mod tickets;
pub mod users;

mod connection;
mod job_failures;
mod manager;
mod outage;
mod wal;

pub use connection::{write_transaction, DbConnection, Pool, PooledConn, ReadConn};
pub use manager::{
    connect, connect_with, migrate, revert_all_migrations, revert_to, Backend, DbManager,
    PoolOptions,
};
pub use outage::{pool_outage, query_outage, Outage};
pub use wal::DEFAULT_SQLITE_WAL_MAX_BYTES;

/// A storage failure: the pool could not give a connection, or a query failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database connection unavailable: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("{0}")]
    Config(String),
    #[error("database work on the blocking pool failed: {0}")]
    Task(String),
}

/// True when `err` is a unique-constraint violation (a name already taken, a row already there).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The current time, truncated to microseconds: PostgreSQL keeps no more, so values read back
/// compare equal on both backends.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let now = chrono::Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}
