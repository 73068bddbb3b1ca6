//! Opening connections: the backend chosen from the URL, SQLite's pragmas, the pool built and
//! checked at start-up, SQLite's background checkpointer, and the embedded migrations.

use super::connection::{DbConnection, ManagedConn, Pool, SqliteWriters};
use super::outage::{query_outage, Outage};
use super::wal::{truncate, CheckpointRow, Truncation, WalBound, DEFAULT_SQLITE_WAL_MAX_BYTES};
use super::StoreError;
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// How long a SQLite connection waits for the write lock before giving up.
pub(super) const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Opens connections for r2d2. The backend is chosen from the URL scheme here, not by trying
/// each in turn, so an operator sees the real error (e.g. "connection refused").
#[derive(Clone, Debug)]
pub struct DbManager {
    backend: Backend,
    target: String,
    /// How many connections have been found lost so far (see [`LossWatch`]).
    losses: Arc<AtomicU64>,
    /// SQLite: the bound on the write-ahead log (also its `journal_size_limit`).
    sqlite_wal_max_bytes: u64,
    /// SQLite: connections for the readers' pool, read-only (`query_only`) from the start and
    /// planning without bound values.
    read_only: bool,
}

impl DbManager {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://path`, `sqlite:path` or a
    /// plain file path is SQLite.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let (backend, target) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                (Backend::Postgres, url.to_owned())
            } else if let Some(path) = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
            {
                (Backend::Sqlite, path.to_owned())
            } else if url.contains("://") {
                return Err(StoreError::Config(format!(
                    "unsupported database URL scheme in {:?}: use postgres:// or sqlite://",
                    url.split("://").next().unwrap_or_default()
                )));
            } else {
                (Backend::Sqlite, url.to_owned())
            };
        if backend == Backend::Sqlite && (target.is_empty() || target.contains(":memory:")) {
            return Err(StoreError::Config(
                "SQLite needs a file path: an in-memory database is not shared by the pool".into(),
            ));
        }
        if backend == Backend::Sqlite {
            // Relevance ranks with `bazaar_bm25`, which SQLite adds to each connection as it opens.
            bazaar_fts_rank::install().map_err(|rc| {
                StoreError::Config(format!(
                    "SQLite refused the search rank function (code {rc})"
                ))
            })?;
        }
        Ok(DbManager {
            backend,
            target,
            losses: Arc::default(),
            sqlite_wal_max_bytes: DEFAULT_SQLITE_WAL_MAX_BYTES,
            read_only: false,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many connections have been found lost so far.
    fn losses(&self) -> u64 {
        self.losses.load(Ordering::SeqCst)
    }
}

/// Watches every query a pooled connection runs. One that fails because the connection is
/// lost (see [`Outage::Unreachable`]) marks the connection, so the pool drops it when it comes
/// back instead of handing it out again, and counts a loss for the pool: what ended one
/// connection (a server restart, an administrator's kill) has usually ended the others, so
/// [`Pool`] checks each older connection before handing it out again.
struct LossWatch {
    lost: Arc<AtomicBool>,
    losses: Arc<AtomicU64>,
}

impl Instrumentation for LossWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error: Some(e), .. } = event {
            if query_outage(e) == Some(Outage::Unreachable)
                && !self.lost.swap(true, Ordering::SeqCst)
            {
                self.losses.fetch_add(1, Ordering::SeqCst);
                tracing::warn!(error = %e, "a database connection was lost; it will be replaced");
            }
        }
    }
}

/// A connection error with the backend's own message.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connection(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl r2d2::ManageConnection for DbManager {
    type Connection = ManagedConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<ManagedConn, ConnectError> {
        let losses_seen = self.losses();
        let mut conn = self.establish()?;
        let lost = Arc::new(AtomicBool::new(false));
        conn.set_instrumentation(LossWatch {
            lost: lost.clone(),
            losses: self.losses.clone(),
        });
        let mut managed = ManagedConn::new(conn, lost, losses_seen);
        if self.read_only {
            // A reader is read-only from the start and never switched (`Pool::reads`).
            managed.set_read_only(true)?;
        }
        Ok(managed)
    }

    fn is_valid(&self, conn: &mut ManagedConn) -> Result<(), ConnectError> {
        Ok(conn.conn.batch_execute("SELECT 1")?)
    }

    /// Checked when a connection goes back to the pool. One whose last query found it lost
    /// (its [`LossWatch`]), whose transaction state is broken, or whose read-only mode is
    /// unknown is dropped rather than handed out again.
    fn has_broken(&self, conn: &mut ManagedConn) -> bool {
        conn.broken || conn.is_lost() || diesel::r2d2::R2D2Connection::is_broken(&mut conn.conn)
    }
}

/// SQLite: turns on the connection's query planner stability guarantee; answers 1 (0: refused).
const STABLE_PLANS: &str = "SELECT bazaar_stable_plans() AS \"on\"";

#[derive(QueryableByName)]
struct Stable {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    on: i32,
}

/// SQLite: how much of the database file each connection reads through the shared mapping
/// (address space, not memory: the pages are the OS's file cache).
const SQLITE_MMAP_BYTES: u64 = 1 << 30;

/// SQLite: the page cache of a connection that writes, in KiB (SQLite's default is 2,000).
/// The pages a write changes, and those it reads back from the write-ahead log (which the
/// memory map does not cover), stay in this cache for the transaction; SQLite empties it at
/// the next transaction when another connection has written meanwhile. A listing that alerts
/// 480 saved searches writes as many notifications, events and alert rows, ~1,000 index
/// pages: with 2 MB its transaction spilled pages to the log and read them back, and the
/// `saved-alerts` benchmark's server spent 12% more CPU (13.6 s against 12.0 s for 300
/// listings; alert p50 44 against 37 ms). At most this much per writing connection
/// (`--pool-size` of them: 128 MiB at the default 16); readers keep the default.
const SQLITE_WRITER_CACHE_KIB: u32 = 8 * 1024;

impl DbManager {
    /// A new connection of the URL's backend, set up for this server.
    fn establish(&self) -> Result<DbConnection, ConnectError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(&self.target)?;
                // No JIT compiling: the server's statements are short reads and writes, and a
                // generic plan's estimate (which sizes a parameter's rows by a default) can pass
                // `jit_above_cost` and spend 120 ms compiling a 1.3 ms read by eras. No parallel
                // workers either: every connection serves requests side by side, so a worker
                // only takes a core another request needs (and a read whose cost passed the
                // threshold, the older ids' read of a descent priced as a price range's custom
                // plan, then sorted its rows under a Gather Merge, not a top-N sort).
                conn.batch_execute("SET jit = off; SET max_parallel_workers_per_gather = 0")?;
                Ok(DbConnection::Postgresql(conn))
            }
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(&self.target)?;
                // WAL lets readers run beside the writer; busy_timeout makes writers wait for
                // the lock instead of failing; foreign keys are off by default in SQLite.
                // No checkpoint at commit: it syncs the files, and the writer whose commit ran it
                // would hold up every writer queued behind it. `checkpoint_in_background` does it.
                // journal_size_limit: a log rewound after a checkpoint is cut back to the bound.
                // mmap_size: the database file is read through a shared mapping, not copied
                // from the OS into each connection's page cache by a pread per page.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {}; \
                     PRAGMA mmap_size = {SQLITE_MMAP_BYTES};",
                    self.sqlite_wal_max_bytes
                ))?;
                if self.read_only {
                    // Readers plan without the values bound (`bazaar_stable_plans`, crate
                    // bazaar-fts-rank): SQLite 3.50 reads a bound `LIMIT ?` while compiling,
                    // and compiled every Diesel `.limit(n)` read again on each run (73% of a
                    // page of a user's ratings at 1M listings). Writers keep value-based plans:
                    // the sweepers find open offers through a partial index by a bound status.
                    let stable = diesel::sql_query(STABLE_PLANS).get_result::<Stable>(&mut conn)?;
                    if stable.on != 1 {
                        tracing::warn!(
                            "SQLite refused its query planner stability guarantee: reads with a \
                             bound LIMIT are compiled again on every run"
                        );
                    }
                } else {
                    conn.batch_execute(&format!("PRAGMA cache_size = -{SQLITE_WRITER_CACHE_KIB}"))?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// How the pool is built.
#[derive(Clone, Copy, Debug)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub size: u32,
    /// SQLite: the write-ahead log is truncated before a write once it is larger than this.
    pub sqlite_wal_max_bytes: u64,
    /// Most searches running in the database at once (`Pool::searches`).
    pub search_concurrency: u32,
}

/// [`connect_with`] a pool of `size` connections and the other options' defaults.
pub fn connect(url: &str, size: u32) -> Result<Pool, StoreError> {
    connect_with(
        url,
        PoolOptions {
            size,
            sqlite_wal_max_bytes: DEFAULT_SQLITE_WAL_MAX_BYTES,
            search_concurrency: size,
        },
    )
}

/// Builds the pool and checks that the database answers, so a wrong URL fails at start-up
/// with the database's own message.
pub fn connect_with(url: &str, options: PoolOptions) -> Result<Pool, StoreError> {
    let mut manager = DbManager::new(url)?;
    manager.sqlite_wal_max_bytes = options.sqlite_wal_max_bytes;
    let probe = manager
        .establish()
        .map_err(|e| StoreError::Config(format!("cannot connect to the database: {e}")))?;
    drop(probe);
    // No test query on every checkout: it doubled the round trips of a simple read. A
    // connection that broke is dropped when it comes back instead (`has_broken`).
    let writers = (manager.backend() == Backend::Sqlite).then(|| {
        Arc::new(SqliteWriters {
            gate: Mutex::new(()),
            wal: WalBound::new(&manager.target, options.sqlite_wal_max_bytes),
            checkpoint: Mutex::new(()),
        })
    });
    if let Some(writers) = &writers {
        checkpoint_in_background(&manager, Arc::downgrade(writers))?;
    }
    let losses = manager.losses.clone();
    let build = |manager, size| {
        r2d2::Pool::builder()
            .max_size(size)
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
    };
    let reader = DbManager {
        read_only: true,
        ..manager.clone()
    };
    let reads = match manager.backend() {
        Backend::Sqlite => Some(build(reader.clone(), options.size)?),
        Backend::Postgres => None,
    };
    let searches = build(reader, options.search_concurrency.max(1))?;
    Ok(Pool {
        conns: build(manager, options.size)?,
        reads,
        searches,
        writers,
        losses,
        job_failures: Default::default(),
    })
}

/// How often the SQLite checkpointer copies the write-ahead log into the database file.
const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// How often, and how far apart, the start-up TRUNCATE is tried while another connection's
/// checkpoint keeps it busy.
const STARTUP_TRUNCATE_TRIES: u32 = 20;
const STARTUP_TRUNCATE_PAUSE: Duration = Duration::from_millis(50);

/// Empties the log before this process writes, so a long one that whoever wrote last left (a
/// bulk load, a crash, another process still open on the file) is not emptied by this
/// process's first writer under load. Tried again while another connection's checkpoint
/// keeps it busy; a log it cannot empty is left to the writers' bound.
fn truncate_at_start_up(conn: &mut DbConnection) {
    match truncate(conn, STARTUP_TRUNCATE_TRIES, STARTUP_TRUNCATE_PAUSE) {
        Truncation::Done => {}
        Truncation::Busy => tracing::warn!(
            "SQLite start-up checkpoint stayed busy; the writers' bound will empty the log"
        ),
        Truncation::Failed(e) => tracing::warn!(error = %e, "SQLite start-up checkpoint failed"),
    }
}

/// A PASSIVE checkpoint; true when the log held frames (whether or not all were copied).
fn checkpoint_passive(conn: &mut DbConnection) -> bool {
    match diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").load::<CheckpointRow>(conn) {
        Ok(rows) => rows.first().is_some_and(|r| r.log > 0),
        Err(e) => {
            tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
            false
        }
    }
}

/// Checkpoints the SQLite write-ahead log on a thread and connection of its own, so no writer
/// waits for the bulk of a checkpoint's copying and syncs. Each round has two steps:
/// - a PASSIVE checkpoint beside the writers copies what the log holds (nearly all of it);
/// - then, in the writers' turn, a second one copies the few frames they added meanwhile.
///
/// SQLite rewinds the log to its start (and cuts it back to `journal_size_limit`) only at a
/// write that begins once every frame of it is in the database. Under steady writes the
/// first step alone never gets there, because writers append while it copies, so the log
/// grew to its bound within a second or two (at 2,000 chat messages/s) and the writers'
/// TRUNCATE (`wal.rs`) then held every write for tens of milliseconds. The second step holds
/// them for a copy of milliseconds' worth of frames instead, and the log stays small. PASSIVE
/// never waits for readers; a reader still on an old snapshot only delays the rewind to a
/// later round. The thread ends with the pool (when `pool_alive` can no longer be upgraded).
fn checkpoint_in_background(
    manager: &DbManager,
    pool_alive: Weak<SqliteWriters>,
) -> Result<(), StoreError> {
    let mut conn = manager
        .establish()
        .map_err(|e| StoreError::Config(format!("cannot connect to the database: {e}")))?;
    truncate_at_start_up(&mut conn);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while pool_alive.strong_count() > 0 {
                std::thread::sleep(SQLITE_CHECKPOINT_EVERY);
                let Some(writers) = pool_alive.upgrade() else {
                    break;
                };
                let logged = {
                    let _only_checkpoint = writers
                        .checkpoint
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    checkpoint_passive(&mut conn)
                };
                if logged {
                    // The writers' turn, then the checkpoint's: the order `wal.rs` takes them in.
                    let _turn = writers.gate.lock().unwrap_or_else(PoisonError::into_inner);
                    let _only_checkpoint = writers
                        .checkpoint
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    checkpoint_passive(&mut conn);
                }
            }
            // A last full checkpoint leaves the database file complete on its own.
            let _ = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)");
        })
        .map_err(|e| StoreError::Config(format!("cannot start the SQLite checkpointer: {e}")))?;
    Ok(())
}

/// Runs the pending embedded migrations of the connection's backend.
pub fn migrate(conn: &mut DbConnection) -> Result<(), StoreError> {
    let result = match conn {
        DbConnection::Postgresql(c) => c.run_pending_migrations(PG_MIGRATIONS).map(drop),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(drop),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Reverts every migration (used by the tests that check each `down.sql`).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<(), StoreError> {
    let result = match conn {
        DbConnection::Postgresql(c) => c.revert_all_migrations(PG_MIGRATIONS).map(drop),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(drop),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Reverts applied migrations, newest first, until `version` is the newest left applied
/// (used by the tests that check what a migration does to existing rows).
pub fn revert_to(conn: &mut DbConnection, version: &str) -> Result<(), StoreError> {
    fn go<C: MigrationHarness<B>, B: diesel::backend::Backend>(
        c: &mut C,
        source: fn() -> EmbeddedMigrations,
        version: &str,
    ) -> diesel::migration::Result<()> {
        while let Some(last) = c.applied_migrations()?.into_iter().max() {
            if last.to_string().as_str() <= version {
                break;
            }
            c.revert_last_migration(source())?;
        }
        Ok(())
    }
    let result = match conn {
        DbConnection::Postgresql(c) => go(c, || PG_MIGRATIONS, version),
        DbConnection::Sqlite(c) => go(c, || SQLITE_MIGRATIONS, version),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// SQLite's readers plan without the values bound: the guarantee is on (and turning it on
    /// again answers 1 too), so a bound `LIMIT ?` does not make a read compile again each run.
    #[test]
    fn sqlite_readers_have_the_query_planner_stability_guarantee() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("stable.db").display());
        let pool = connect(&url, 2).expect("pool");
        let mut reader = pool.read().expect("a reader");
        let stable = diesel::sql_query(STABLE_PLANS)
            .get_result::<Stable>(&mut *reader)
            .expect("answered");
        assert_eq!(stable.on, 1);
    }

    #[test]
    fn steady_writes_rewind_the_sqlite_log_long_before_its_bound() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("wal.db").display());
        // A bound never reached: only the checkpointer's rounds can keep the log short.
        let options = PoolOptions {
            size: 2,
            sqlite_wal_max_bytes: 1 << 40,
            search_concurrency: 1,
        };
        let pool = connect_with(&url, options).expect("pool");
        let mut conn = pool.get().expect("connection");
        conn.batch_execute("CREATE TABLE pages (body BLOB NOT NULL)")
            .expect("table");
        // A steady stream of small transactions over many of the checkpointer's rounds, with
        // the short pauses between them that requests leave.
        let started = Instant::now();
        let mut writes = 0;
        while started.elapsed() < SQLITE_CHECKPOINT_EVERY * 10 {
            conn.write(|c| c.batch_execute("INSERT INTO pages VALUES (zeroblob(8000))"))
                .expect("write");
            writes += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        let frames = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
            .load::<CheckpointRow>(&mut *conn)
            .expect("checkpoint")
            .first()
            .map_or(-1, |r| r.log);
        // Each write adds at least two pages to the log (its row spills onto an overflow
        // page), so a log never rewound would hold at least twice as many frames as writes.
        eprintln!("{writes} writes; the log holds {frames} frames");
        assert!(frames >= 0, "no checkpoint answer");
        assert!(
            (frames as u64) < writes,
            "the log was not rewound: {frames} frames after {writes} writes"
        );
    }
}
