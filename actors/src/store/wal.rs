//! SQLite's write-ahead log, kept bounded. The background checkpointer's PASSIVE checkpoints
//! copy the log into the database but never wait for readers, and the log is only rewound
//! from its start when no reader is using it: under a steady stream of reads it grew without
//! end (263 MB in a probe). (Under steady writes the checkpointer's round, finished in the
//! writers' turn, rewinds it: see `manager.rs`.) So before each write, in this process's writers' turn, a log past
//! its bound is checkpointed with TRUNCATE, which waits for the readers to leave the log and
//! empties the file. The log then never exceeds its bound by more than one write.

use super::DbConnection;
use diesel::connection::SimpleConnection;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

/// The default bound on the write-ahead log.
pub const DEFAULT_SQLITE_WAL_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A SQLite database's write-ahead log file and the size it is kept under.
#[derive(Clone, Debug)]
pub(super) struct WalBound {
    path: PathBuf,
    max_bytes: u64,
}

impl WalBound {
    /// The log of the database file at `database` (SQLite names it `<database>-wal`).
    pub(super) fn new(database: &str, max_bytes: u64) -> Self {
        WalBound {
            path: PathBuf::from(format!("{database}-wal")),
            max_bytes,
        }
    }

    /// Checkpoints with TRUNCATE when the log has passed its bound. Call it in the writers'
    /// turn: no writer of this process adds to the log meanwhile; `checkpoint` is held so the
    /// background checkpointer is not running one too. A checkpoint that fails (readers held
    /// on past the busy timeout) is logged and tried again before the next write.
    pub(super) fn keep_bounded(&self, conn: &mut DbConnection, checkpoint: &Mutex<()>) {
        let Ok(size) = std::fs::metadata(&self.path).map(|m| m.len()) else {
            return; // no log file yet
        };
        if size <= self.max_bytes {
            return;
        }
        let _only_checkpoint = checkpoint.lock().unwrap_or_else(PoisonError::into_inner);
        match conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)") {
            Ok(()) => tracing::debug!(wal_bytes = size, "SQLite write-ahead log truncated"),
            Err(e) => tracing::warn!(
                error = %e,
                wal_bytes = size,
                "SQLite write-ahead log past its bound could not be truncated; retrying"
            ),
        }
    }
}
