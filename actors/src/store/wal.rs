//! SQLite's write-ahead log, kept bounded. The background checkpointer's PASSIVE checkpoints
//! copy the log into the database but never wait for readers, and the log is only rewound
//! from its start when no reader is using it: under a steady stream of reads it grew without
//! end (263 MB in a probe). (Under steady writes the checkpointer's round, finished in the
//! writers' turn, rewinds it: see `manager.rs`.) So before each write, in this process's writers' turn, a log past
//! its bound is checkpointed with TRUNCATE, which waits for the readers to leave the log and
//! empties the file. The log then never exceeds its bound by more than one write (which may be
//! hundreds of pages: a merge of the words index writes 64 pages a step, and frees as many).

use super::DbConnection;
use diesel::prelude::*;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

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
    /// background checkpointer is not running one too. A checkpoint that could not empty the
    /// log (readers held on past the busy timeout, or another process's checkpoint was
    /// running) is logged and tried again before the next write; it is not retried here,
    /// where every writer of this process waits for it.
    pub(super) fn keep_bounded(&self, conn: &mut DbConnection, checkpoint: &Mutex<()>) {
        let Ok(size) = std::fs::metadata(&self.path).map(|m| m.len()) else {
            return; // no log file yet
        };
        if size <= self.max_bytes {
            return;
        }
        let _only_checkpoint = checkpoint.lock().unwrap_or_else(PoisonError::into_inner);
        match truncate(conn, 1, Duration::ZERO) {
            Truncation::Done => {
                tracing::debug!(wal_bytes = size, "SQLite write-ahead log truncated")
            }
            Truncation::Busy => tracing::warn!(
                wal_bytes = size,
                "SQLite write-ahead log past its bound stayed busy; retrying before the next write"
            ),
            Truncation::Failed(e) => tracing::warn!(
                error = %e,
                wal_bytes = size,
                "SQLite write-ahead log past its bound could not be truncated; retrying"
            ),
        }
    }
}

/// What `PRAGMA wal_checkpoint` answers: 1 in `busy` when it could not finish (another
/// connection was checkpointing, or readers held on past the busy timeout), and the frames in
/// the log (-1 when the checkpoint could not run). A checkpoint that could not finish is this
/// row, not an error.
#[derive(QueryableByName, Debug)]
pub(super) struct CheckpointRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub(super) busy: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub(super) log: i32,
}

/// How a TRUNCATE checkpoint ended.
#[derive(Debug)]
pub(super) enum Truncation {
    /// The log is empty.
    Done,
    /// Every try came back busy.
    Busy,
    /// The checkpoint could not run.
    Failed(diesel::result::Error),
}

/// Checkpoints with TRUNCATE, up to `tries` times `pause` apart while it comes back busy.
pub(super) fn truncate(conn: &mut DbConnection, tries: u32, pause: Duration) -> Truncation {
    for attempt in 1..=tries {
        match diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").load::<CheckpointRow>(conn) {
            Ok(rows) if rows.first().is_some_and(|r| r.busy != 0) => {
                if attempt < tries {
                    std::thread::sleep(pause);
                }
            }
            Ok(_) => return Truncation::Done,
            Err(e) => return Truncation::Failed(e),
        }
    }
    Truncation::Busy
}
