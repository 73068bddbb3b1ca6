//! Which storage failures mean the database is unavailable, as opposed to a fault in the query
//! or the data. Decided here, once, for every caller: the edges answer an outage with 503 and
//! `Retry-After` (a socket with `unavailable`), and the pool drops a connection that was lost.

use super::StoreError;
use diesel::result::{DatabaseErrorKind, Error};

/// Why the database could not do the work, when the fault is its availability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Outage {
    /// The connection is gone or cannot be made: closed, reset or refused, the server
    /// terminated it or is restarting, SQLite cannot open or read its file. The connection
    /// must not be used again; the database may come back.
    #[error("the database is unreachable; retry shortly")]
    Unreachable,
    /// The database is there but no connection came free in time, or SQLite's write lock
    /// did not.
    #[error("the database is busy; retry shortly")]
    Busy,
}

/// Texts of failures that mean the connection or the database file is gone. Most PostgreSQL
/// losses already come as `ClosedConnection` or `UnableToSendCommand` (libpq reports the
/// connection bad); these catch the server's own words when it says so before closing.
const UNREACHABLE_MESSAGES: &[&str] = &[
    // PostgreSQL (and libpq)
    "terminating connection",
    "server closed the connection",
    "no connection to the server",
    "connection refused",
    "connection reset",
    "could not receive data",
    "could not send data",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    // SQLite
    "unable to open database",
    "disk i/o error",
];

/// SQLite's answer when the write lock did not come free within the busy timeout.
const BUSY_MESSAGES: &[&str] = &["database is locked", "database table is locked"];

/// The outage a query error means, if it means one.
pub fn query_outage(e: &Error) -> Option<Outage> {
    match e {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => Some(Outage::Unreachable),
        Error::DatabaseError(_, info) => message_outage(info.message()),
        // A commit that failed, then a rollback that failed too: the commit's error says why.
        Error::RollbackErrorOnCommit { commit_error, .. } => query_outage(commit_error),
        // A transaction whose rollback failed leaves the connection unusable (it is dropped
        // from the pool): the rollback failed because the connection went.
        Error::BrokenTransactionManager => Some(Outage::Unreachable),
        _ => None,
    }
}

fn message_outage(message: &str) -> Option<Outage> {
    let message = message.to_ascii_lowercase();
    let has = |texts: &[&str]| texts.iter().any(|t| message.contains(t));
    if has(UNREACHABLE_MESSAGES) {
        Some(Outage::Unreachable)
    } else if has(BUSY_MESSAGES) {
        Some(Outage::Busy)
    } else {
        None
    }
}

/// The outage a pool checkout timeout means. r2d2 keeps the last failed connection attempt
/// only in its message: a timeout with one means the database refused new connections; one
/// without means every connection stayed in use.
pub fn pool_outage(e: &r2d2::Error) -> Outage {
    if e.to_string().contains(": ") {
        Outage::Unreachable
    } else {
        Outage::Busy
    }
}

impl StoreError {
    /// The outage this failure means, if it means one (see [`Outage`]).
    pub fn outage(&self) -> Option<Outage> {
        match self {
            StoreError::Pool(e) => Some(pool_outage(e)),
            StoreError::Query(e) => query_outage(e),
            StoreError::Migration(_) | StoreError::Config(_) | StoreError::Task(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn a_broken_transaction_manager_is_unreachable() {
        assert_eq!(
            query_outage(&Error::BrokenTransactionManager),
            Some(Outage::Unreachable)
        );
    }

    #[test]
    fn a_closed_or_unsendable_connection_is_unreachable() {
        for kind in [
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::UnableToSendCommand,
        ] {
            assert_eq!(
                query_outage(&db_error(kind, "anything")),
                Some(Outage::Unreachable)
            );
        }
    }

    #[test]
    fn the_servers_own_words_for_a_lost_connection_are_unreachable() {
        for message in [
            "FATAL:  terminating connection due to administrator command",
            "server closed the connection unexpectedly\n\tThis probably means the server \
             terminated abnormally",
            "no connection to the server\n",
            "could not receive data from server: Connection reset by peer",
            "FATAL:  the database system is shutting down",
            "FATAL:  the database system is starting up",
            "unable to open database",
            "disk I/O error",
        ] {
            assert_eq!(
                query_outage(&db_error(DatabaseErrorKind::Unknown, message)),
                Some(Outage::Unreachable),
                "{message}"
            );
        }
    }

    #[test]
    fn sqlites_write_lock_timing_out_is_busy() {
        assert_eq!(
            query_outage(&db_error(DatabaseErrorKind::Unknown, "database is locked")),
            Some(Outage::Busy)
        );
    }

    #[test]
    fn faults_of_the_query_or_the_data_are_not_outages() {
        for e in [
            Error::NotFound,
            Error::RollbackTransaction,
            db_error(DatabaseErrorKind::UniqueViolation, "duplicate key value"),
            db_error(
                DatabaseErrorKind::ForeignKeyViolation,
                "violates foreign key",
            ),
            db_error(
                DatabaseErrorKind::Unknown,
                "syntax error at or near \"SELEC\"",
            ),
            db_error(
                DatabaseErrorKind::Unknown,
                "invalid byte sequence for encoding \"UTF8\": 0x00",
            ),
            db_error(
                DatabaseErrorKind::ReadOnlyTransaction,
                "read-only transaction",
            ),
        ] {
            assert_eq!(query_outage(&e), None, "{e:?}");
        }
    }

    #[test]
    fn a_commit_lost_with_its_connection_is_unreachable() {
        let e = Error::RollbackErrorOnCommit {
            rollback_error: Box::new(db_error(DatabaseErrorKind::Unknown, "no connection")),
            commit_error: Box::new(db_error(DatabaseErrorKind::ClosedConnection, "closed")),
        };
        assert_eq!(query_outage(&e), Some(Outage::Unreachable));
    }

    #[test]
    fn a_real_sqlite_error_for_a_missing_file_is_unreachable() {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut conn =
            diesel::SqliteConnection::establish(&dir.path().join("main.db").display().to_string())
                .expect("open");
        let missing = dir.path().join("no-such-dir").join("other.db");
        let e = conn
            .batch_execute(&format!("ATTACH DATABASE '{}' AS other", missing.display()))
            .expect_err("a file in a missing directory cannot be opened");
        assert_eq!(query_outage(&e), Some(Outage::Unreachable), "{e:?}");
    }

    #[test]
    fn a_pool_timeout_is_busy_unless_connecting_failed() {
        struct Refusing(bool);
        impl r2d2::ManageConnection for Refusing {
            type Connection = ();
            type Error = std::io::Error;
            fn connect(&self) -> Result<(), std::io::Error> {
                if self.0 {
                    Err(std::io::Error::other("Connection refused"))
                } else {
                    Ok(())
                }
            }
            fn is_valid(&self, _: &mut ()) -> Result<(), std::io::Error> {
                Ok(())
            }
            fn has_broken(&self, _: &mut ()) -> bool {
                false
            }
        }
        let timeout = std::time::Duration::from_millis(20);
        let refused = r2d2::Pool::builder()
            .connection_timeout(timeout)
            .build_unchecked(Refusing(true));
        let e = refused.get().expect_err("no connection");
        assert_eq!(StoreError::from(e).outage(), Some(Outage::Unreachable));
        let full = r2d2::Pool::builder()
            .max_size(1)
            .connection_timeout(timeout)
            .build(Refusing(false))
            .expect("pool");
        let _held = full.get().expect("the one connection");
        let e = full.get().expect_err("none free");
        assert_eq!(StoreError::from(e).outage(), Some(Outage::Busy));
    }
}
