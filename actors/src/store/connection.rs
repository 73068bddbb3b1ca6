//! The connection enum, the pool that hands it out, transactions and migrations.

use super::job_failures::{JobFailures, StepLog};
use super::manager::{DbManager, SQLITE_BUSY_TIMEOUT_MS};
use super::search::PlanMode;
use super::wal::WalBound;
use super::StoreError;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The longest pause between two tries at SQLite's write lock in [`write_transaction`].
const SQLITE_LOCK_POLL_MAX: Duration = Duration::from_micros(200);

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// The connection pool. On SQLite it also holds the gate at which this process's writers take
/// turns: SQLite has one writer at a time, and a thread asleep on a mutex costs nothing, where
/// threads trying for SQLite's lock in turn take the CPU the writer needs (see
/// [`PooledConn::write_transaction`]).
#[derive(Clone, Debug)]
pub struct Pool {
    pub(super) conns: r2d2::Pool<DbManager>,
    /// SQLite: the connections reads are handed ([`Pool::read`]), read-only from the moment they
    /// open and never switched. Switching one connection between reads and writes (`PRAGMA
    /// query_only`) made SQLite throw away every statement it had compiled on it (a flag
    /// pragma expires them all), so a connection shared by readers and writers compiled its
    /// statements again after each switch, FTS5's own included. PostgreSQL keeps its
    /// statements across `SET SESSION CHARACTERISTICS`, and a second pool would double its
    /// connections: there reads and writes share `conns`.
    pub(super) reads: Option<r2d2::Pool<DbManager>>,
    /// The connections searches are handed ([`Pool::search_read`]): read-only from the
    /// moment they open, and as many as searches may run at once
    /// (`PoolOptions::search_concurrency`). A search past them waits here for one, in turn,
    /// instead of running beside them: a search is milliseconds of work on a core, and
    /// sixteen of them at once on two cores time-slice each other (on the 1M-listing search
    /// benchmark, PostgreSQL on the server's 2 cores and 16 clients, 2 connections instead of
    /// 16 took a rare word's p99 from 55 to 27-29 ms and its rate up 25-30%).
    /// A lane of their own, so that the reads of a page or a socket, a fraction of a
    /// millisecond each, never queue behind a burst of searches.
    pub(super) searches: r2d2::Pool<DbManager>,
    pub(super) writers: Option<Arc<SqliteWriters>>,
    /// How many connections have been found lost so far (shared with the manager's watches).
    pub(super) losses: Arc<AtomicU64>,
    /// The background jobs' failures in a row, so that a job failing at every tick is not
    /// logged at every tick ([`Pool::background`]).
    pub(super) job_failures: Arc<JobFailures>,
}

/// This process's SQLite writers: the gate at which they take turns, and the bound they keep
/// the write-ahead log under (checked in their turn, before each write).
#[derive(Debug)]
pub(super) struct SqliteWriters {
    pub(super) gate: Mutex<()>,
    pub(super) wal: WalBound,
    /// Held while a checkpoint runs: SQLite runs one at a time and answers a second one
    /// "busy" at once, without waiting, so the writers' TRUNCATE waits here for the
    /// background checkpointer's PASSIVE to finish.
    pub(super) checkpoint: Mutex<()>,
}

impl Pool {
    /// A connection from the pool that is not known to be lost. Once any connection has been
    /// found lost, each one opened before is asked `SELECT 1` before it is handed out again:
    /// what ended one has usually ended all of them (a server restart, an administrator's
    /// kill), and a dead one handed out would fail its request. One that fails is dropped and
    /// the next one taken.
    fn checkout(
        &self,
        from: &r2d2::Pool<DbManager>,
    ) -> Result<r2d2::PooledConnection<DbManager>, r2d2::Error> {
        loop {
            let mut conn = from.get()?;
            let losses = self.losses.load(Ordering::SeqCst);
            if conn.losses_seen == losses {
                return Ok(conn);
            }
            if conn.conn.batch_execute("SELECT 1").is_ok() {
                conn.losses_seen = losses;
                return Ok(conn);
            }
            conn.broken = true;
        }
    }

    /// A writable connection, waiting up to the pool's connection timeout for one to come free.
    pub fn get(&self) -> Result<PooledConn, r2d2::Error> {
        loop {
            let mut conn = self.checkout(&self.conns)?;
            // A connection that cannot leave read-only mode is marked broken, so the pool
            // drops it when it comes back; the next one is either writable already or new.
            if conn.set_read_only(false).is_ok() {
                return Ok(PooledConn {
                    conn,
                    writers: self.writers.clone(),
                });
            }
        }
    }

    /// A connection the database keeps from writing (see [`ReadConn`]): on SQLite one of the
    /// read-only connections, on PostgreSQL a pooled one switched to read-only mode (if it
    /// was not already).
    pub fn read(&self) -> Result<ReadConn, StoreError> {
        self.read_from(self.reads.as_ref().unwrap_or(&self.conns))
    }

    /// A connection of `from` in read-only mode (switched to it if it was not already).
    fn read_from(&self, from: &r2d2::Pool<DbManager>) -> Result<ReadConn, StoreError> {
        let mut conn = self.checkout(from)?;
        conn.set_read_only(true)?;
        Ok(ReadConn { conn })
    }

    /// Runs `f` with a writable connection on the blocking pool: how the core's writes are run
    /// from async code. A panic in `f` is reported as [`StoreError::Task`].
    pub(crate) fn run<T, E, F>(&self, f: F) -> impl Future<Output = Result<T, E>> + 'static
    where
        F: FnOnce(&mut PooledConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.clone();
        on_blocking_pool(move || f(&mut pool.get().map_err(StoreError::from)?))
    }

    /// A connection for a search (see [`Pool::searches`]), read-only as [`Pool::read`]'s. It
    /// serves only searches, so it keeps its plan mode from one to the next ([`PlanMode`]).
    pub fn search_read(&self) -> Result<ReadConn, StoreError> {
        let mut read = self.read_from(&self.searches)?;
        read.conn.plan_mode.keep();
        Ok(read)
    }

    /// Like [`Pool::run`] for reads: `f` gets a [`ReadConn`].
    pub(crate) fn run_read<T, E, F>(&self, f: F) -> impl Future<Output = Result<T, E>> + 'static
    where
        F: FnOnce(&mut ReadConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.clone();
        on_blocking_pool(move || pool.read()?.snapshot(f))
    }

    /// Runs a step of a background job (the sweeps and matchers timers start) on the blocking
    /// pool, `f` getting the pool to take its connections from: its answer, or `None` on an
    /// error or a panic. A failure is logged with `job`, which names the step, when the job
    /// begins to fail and then once a minute while it goes on (`job_failures`), and the step
    /// that works again says so.
    pub fn background<T, F>(&self, job: &'static str, f: F) -> impl Future<Output = Option<T>>
    where
        F: FnOnce(&Pool) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.clone();
        let this = self.clone();
        async move {
            match on_blocking_pool(move || f(&pool)).await {
                Ok(answer) => {
                    this.job_worked(job);
                    Some(answer)
                }
                Err(e) => {
                    this.job_failed(job, &e);
                    None
                }
            }
        }
    }

    /// Logs a failed step of the background job `job` when the job begins to fail, then once a
    /// minute while it goes on, with the failures between counted (`job_failures`): a job that
    /// fails at every tick, as all do while the database refuses them, is not logged at every
    /// tick.
    pub fn job_failed(&self, job: &'static str, error: &dyn std::fmt::Display) {
        if let StepLog::Failed { unlogged } = self.job_failures.failed(job, Instant::now()) {
            tracing::error!(error = %error, job, failed_unlogged = unlogged,
                "a background job failed");
        }
    }

    /// Notes a step of the background job `job` that worked: logged when it ends the job's
    /// failures.
    pub fn job_worked(&self, job: &'static str) {
        if let StepLog::Recovered { failures, lasted } =
            self.job_failures.worked(job, Instant::now())
        {
            tracing::info!(
                job,
                failures,
                failing_secs = lasted.as_secs(),
                "a background job works again"
            );
        }
    }

    /// True when the database takes one writer at a time (SQLite): batching writes is then
    /// the only way to more of them; PostgreSQL runs independent writers side by side.
    pub fn one_writer_at_a_time(&self) -> bool {
        self.writers.is_some()
    }

    /// The most connections the pool opens for writers (on PostgreSQL, for anyone).
    pub fn max_size(&self) -> u32 {
        self.conns.max_size()
    }

    /// How many connections are open, and how many of them are idle, readers' included.
    pub fn open_and_idle(&self) -> (u32, u32) {
        self.reads
            .iter()
            .chain([&self.conns, &self.searches])
            .map(|p| p.state())
            .fold((0, 0), |(open, idle), s| {
                (open + s.connections, idle + s.idle_connections)
            })
    }
}

/// Runs `work` on the blocking pool (Diesel blocks; an async or actor thread must not).
async fn on_blocking_pool<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(StoreError::Task(e.to_string()).into()))
}

/// A pooled writable connection; it goes back to the pool when dropped.
pub struct PooledConn {
    conn: r2d2::PooledConnection<DbManager>,
    writers: Option<Arc<SqliteWriters>>,
}

/// A pooled connection for reads only, as the edges get it: it has no `write` nor
/// `write_transaction`, and the database itself refuses its writes, since a `&mut
/// DbConnection` could still run an INSERT: on PostgreSQL its session's transactions are READ
/// ONLY, on SQLite `query_only` is on. A SQLite reader comes from connections that only ever
/// read ([`Pool::reads`]). A PostgreSQL connection stays in that mode in the pool, so a run of
/// reads pays for the switch once; [`Pool::get`] switches it back before a writer has it.
/// Reads go through this one type so that a separate read pool (a replica) can later hand
/// these out without touching the callers.
pub struct ReadConn {
    conn: r2d2::PooledConnection<DbManager>,
}

impl ReadConn {
    /// The connection and how it plans its statements (PostgreSQL), for a search: a connection
    /// of [`Pool::search_read`] keeps the mode the last search left (see [`PlanMode`]).
    pub fn planned(&mut self) -> (&mut DbConnection, &mut PlanMode) {
        let managed = &mut *self.conn;
        (&mut managed.conn, &mut managed.plan_mode)
    }

    /// Runs `f`'s statements as one read: on SQLite inside one deferred transaction, so they
    /// see one state of the database (a page's rows and their photos, a topic's head and its
    /// events) and take the WAL's read lock once, not once per statement (a search runs five
    /// or six: the lock's taking and leaving, `fcntl` calls on the shared memory, was ~12% of
    /// a SQLite server's CPU under a search load). On PostgreSQL `f` runs as it is: BEGIN and
    /// COMMIT there are two more round trips for every read.
    pub fn snapshot<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut ReadConn) -> Result<T, E>,
        E: From<StoreError>,
    {
        let DbConnection::Sqlite(sqlite) = &mut self.conn.conn else {
            return f(self);
        };
        AnsiTransactionManager::begin_transaction(sqlite).map_err(StoreError::Query)?;
        let result = f(self);
        end_sqlite_transaction(&mut self.conn.conn, result, |e| StoreError::Query(e).into())
    }
}

/// A connection as the pool keeps it: the database connection, whether it is in read-only mode
/// now, whether switching that mode failed, whether a query found it lost (the pool drops it
/// in either case), and how many losses the pool had seen when it was last known alive.
pub struct ManagedConn {
    pub(super) conn: DbConnection,
    read_only: bool,
    /// How the connection plans its statements, as the searches on it left it.
    plan_mode: PlanMode,
    pub(super) broken: bool,
    lost: Arc<AtomicBool>,
    losses_seen: u64,
}

impl ManagedConn {
    pub(super) fn new(conn: DbConnection, lost: Arc<AtomicBool>, losses_seen: u64) -> Self {
        ManagedConn {
            conn,
            read_only: false,
            plan_mode: PlanMode::default(),
            broken: false,
            lost,
            losses_seen,
        }
    }

    /// Whether a query on this connection failed because the connection is gone.
    pub(super) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Puts the connection in (or out of) read-only mode, unless it is there already.
    pub(super) fn set_read_only(&mut self, on: bool) -> QueryResult<()> {
        if self.read_only == on {
            return Ok(());
        }
        let sql = match (&self.conn, on) {
            (DbConnection::Postgresql(_), true) => {
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
            }
            (DbConnection::Postgresql(_), false) => {
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"
            }
            (DbConnection::Sqlite(_), true) => "PRAGMA query_only = ON",
            (DbConnection::Sqlite(_), false) => "PRAGMA query_only = OFF",
        };
        match self.conn.batch_execute(sql) {
            Ok(()) => {
                self.read_only = on;
                Ok(())
            }
            Err(e) => {
                // Its mode is unknown now: it must not be handed out again.
                self.broken = true;
                Err(e)
            }
        }
    }
}

impl PooledConn {
    /// [`write_transaction`], after this process's other writers (SQLite): they queue at the
    /// pool's gate instead of at SQLite's lock.
    pub fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        let writers = self.writers.clone();
        let _turn = take_turn(writers.as_deref(), &mut self.conn.conn);
        write_transaction(&mut self.conn.conn, f)
    }

    /// A write outside a transaction (each statement commits on its own), after this
    /// process's other writers on SQLite: it waits at the pool's gate, not in SQLite's busy
    /// handler, which sleeps 1–100 ms between tries while the lock may long be free. On
    /// PostgreSQL it runs at once.
    pub fn write<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
    {
        let writers = self.writers.clone();
        let _turn = take_turn(writers.as_deref(), &mut self.conn.conn);
        f(&mut self.conn.conn)
    }
}

/// This process's turn to write on SQLite (None on PostgreSQL, which takes writers side by
/// side), with the write-ahead log back under its bound. A writer that panicked left nothing
/// half-done behind the gate: SQLite rolled back.
fn take_turn<'a>(
    writers: Option<&'a SqliteWriters>,
    conn: &mut DbConnection,
) -> Option<MutexGuard<'a, ()>> {
    writers.map(|w| {
        let turn = w.gate.lock().unwrap_or_else(PoisonError::into_inner);
        w.wal.keep_bounded(conn, &w.checkpoint);
        turn
    })
}

impl Deref for PooledConn {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn.conn
    }
}

impl DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn.conn
    }
}

impl Deref for ReadConn {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn.conn
    }
}

impl DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn.conn
    }
}

/// Runs `f` in a transaction that will write. On SQLite it starts with BEGIN IMMEDIATE: a
/// transaction that reads and then writes cannot upgrade its lock under WAL, so it takes the
/// write lock up front (see [`begin_immediate`] for how it waits).
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    begin_immediate(sqlite)?;
    let result = f(conn);
    end_sqlite_transaction(conn, result, E::from)
}

/// Ends the SQLite transaction `result` came out of: COMMIT if it is `Ok` (a failed COMMIT
/// becomes the error, through `error`), else ROLLBACK, and the error that made us roll back is
/// the one worth reporting.
fn end_sqlite_transaction<T, E>(
    conn: &mut DbConnection,
    result: Result<T, E>,
    error: impl FnOnce(diesel::result::Error) -> E,
) -> Result<T, E> {
    let DbConnection::Sqlite(sqlite) = conn else {
        unreachable!("a connection does not change its backend");
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite).map_err(error)?;
            Ok(value)
        }
        Err(e) => {
            let _ = AnsiTransactionManager::rollback_transaction(sqlite);
            Err(e)
        }
    }
}

/// BEGIN IMMEDIATE, waiting for the write lock by polling every few microseconds. SQLite's own
/// busy handler sleeps 1, 2, 5, 10 … 100 ms between tries, so under contention a writer sleeps
/// on long after the lock is free and writes queue up behind sleepers (measured: chat on
/// SQLite saturated at a few hundred messages/s). The deadline is the same busy timeout.
fn begin_immediate(sqlite: &mut diesel::SqliteConnection) -> QueryResult<()> {
    let deadline = Instant::now() + Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS.into());
    sqlite.batch_execute("PRAGMA busy_timeout = 0")?;
    let mut pause = Duration::from_micros(5);
    let begun = loop {
        match AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
            Err(e) if is_locked(&e) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(SQLITE_LOCK_POLL_MAX);
            }
            other => break other,
        }
    };
    let restored = sqlite.batch_execute(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"));
    if let Err(e) = restored {
        if begun.is_ok() {
            let _ = AnsiTransactionManager::rollback_transaction(sqlite);
        }
        return Err(e);
    }
    begun
}

/// SQLite's answer when another connection holds the write lock.
fn is_locked(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(_, info)
        if info.message().contains("database is locked"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::connect;
    use std::sync::mpsc;

    /// A SQLite pool on a fresh file (the directory lives as long as the pool is used).
    fn sqlite_pool() -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("gate.db").display());
        let pool = connect(&url, 4).expect("pool");
        pool.get()
            .expect("connection")
            .batch_execute("CREATE TABLE marks (at TEXT NOT NULL)")
            .expect("table");
        (dir, pool)
    }

    #[test]
    fn a_write_outside_a_transaction_waits_for_the_writer_at_the_gate() {
        let (_dir, pool) = sqlite_pool();
        let (inside, entered) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let writer = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().expect("connection");
                conn.write_transaction(|c| {
                    c.batch_execute("INSERT INTO marks VALUES ('transaction')")?;
                    inside.send(()).expect("signal");
                    // Holds its turn until the test lets it go.
                    released.recv().expect("release");
                    Ok::<_, diesel::result::Error>(())
                })
            })
        };
        entered.recv().expect("the writer began");
        let (wrote, done) = mpsc::channel();
        let single = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().expect("connection");
                // No busy handler: at SQLite's lock this write would fail at once, so it
                // succeeds only by waiting at the gate.
                conn.batch_execute("PRAGMA busy_timeout = 0")
                    .expect("pragma");
                let result = conn.write(|c| c.batch_execute("INSERT INTO marks VALUES ('single')"));
                wrote.send(()).expect("signal");
                result
            })
        };
        // While the transaction holds the gate, the single write has not run.
        assert!(done.recv_timeout(Duration::from_millis(200)).is_err());
        release.send(()).expect("release");
        writer.join().expect("writer").expect("transaction");
        single.join().expect("single").expect("single write");
        #[derive(diesel::QueryableByName)]
        struct Mark {
            #[diesel(sql_type = diesel::sql_types::Text)]
            at: String,
        }
        let marks: Vec<Mark> = diesel::sql_query("SELECT at FROM marks ORDER BY rowid")
            .load(&mut *pool.get().expect("connection"))
            .expect("marks");
        let order: Vec<&str> = marks.iter().map(|m| m.at.as_str()).collect();
        assert_eq!(order, ["transaction", "single"]);
    }

    #[derive(diesel::QueryableByName)]
    struct MarkCount {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    fn marks(conn: &mut DbConnection) -> QueryResult<i64> {
        Ok(diesel::sql_query("SELECT COUNT(*) AS n FROM marks").load::<MarkCount>(conn)?[0].n)
    }

    #[test]
    fn a_snapshot_reads_as_of_its_first_statement_and_ends_with_its_reads() {
        let (_dir, pool) = sqlite_pool();
        let write = |at: &str| {
            pool.get()
                .expect("a writer")
                .write(|c| c.batch_execute(&format!("INSERT INTO marks VALUES ('{at}')")))
                .expect("write")
        };
        write("before");
        let mut reader = pool.read().expect("a reader");
        let seen = reader
            .snapshot(|conn| {
                let first = marks(conn)?;
                // A write committed between two of the snapshot's statements.
                write("between");
                Ok::<_, StoreError>((first, marks(conn)?))
            })
            .expect("snapshot");
        assert_eq!(seen, (1, 1), "both statements read one snapshot");
        // The snapshot is over: the next read sees the write, and the connection is in no
        // transaction (an error in one ends it too).
        assert_eq!(marks(&mut reader).expect("after"), 2);
        let failed = reader.snapshot(|conn| {
            marks(conn)?;
            diesel::sql_query("SELECT no_such_column FROM marks")
                .execute(&mut **conn)
                .map_err(StoreError::Query)
        });
        assert!(failed.is_err());
        write("after");
        assert_eq!(marks(&mut reader).expect("after the failed snapshot"), 3);
    }

    #[test]
    fn searches_past_the_search_concurrency_wait_their_turn_and_other_reads_do_not() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("lane.db").display());
        let options = crate::store::PoolOptions {
            size: 4,
            sqlite_wal_max_bytes: crate::store::DEFAULT_SQLITE_WAL_MAX_BYTES,
            search_concurrency: 1,
        };
        let pool = crate::store::connect_with(&url, options).expect("pool");
        pool.get()
            .expect("a writer")
            .batch_execute("CREATE TABLE t (x INTEGER)")
            .expect("write");
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count = |conn: &mut ReadConn| {
            diesel::sql_query("SELECT COUNT(*) AS n FROM t")
                .load::<Count>(&mut **conn)
                .expect("count")[0]
                .n
        };
        let first = pool.search_read().expect("the one search connection");
        // Other reads and the writers do not wait for the searches.
        assert_eq!(count(&mut pool.read().expect("a reader")), 0);
        let (searched, done) = mpsc::channel();
        let second = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let n = count(&mut pool.search_read().expect("a search connection"));
                searched.send(()).expect("signal");
                n
            })
        };
        // While the one search connection is out, the second search has not run; it runs once
        // the connection is back.
        assert!(done.recv_timeout(Duration::from_millis(200)).is_err());
        drop(first);
        assert_eq!(second.join().expect("second search"), 0);
    }
}
