//! `Relay`: carries committed events between server processes that share one PostgreSQL
//! database. PostgreSQL is the engine; there is no cluster protocol of our own.
//!
//! Every transaction that writes events rings a doorbell (NOTIFY on `bazaar_events`, payload
//! `<topic> <seq>`; see `store::events::publish`). Each process keeps one dedicated, non-pooled
//! connection that LISTENs; on a doorbell, and on a short poll in case one was missed, it
//! compares `topic_seqs` with what its broker has published for the topics someone here is
//! subscribed to, reads what is missing from the `events` table in seq order and publishes it
//! locally. A dropped connection is re-established and the poll catches up from the table, so
//! nothing is lost. Logouts ring `bazaar_logouts` so a token's sockets close on every process.

use crate::broker::{Broker, Heads, Publish};
use crate::domain::{LoginId, UserId};
use crate::logins::Logins;
use crate::store::events::{self, EVENTS_CHANNEL};
use crate::store::schema::topic_seqs;
use crate::store::DbConnection;
use crate::user::{RevokeLogin, Users};
use actix::Addr;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The channel that carries logouts (payload: `<user id> <login id>`).
pub const LOGOUTS_CHANNEL: &str = "bazaar_logouts";
/// How often the table is checked even without a doorbell.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// How long the loop sleeps between looks at the connection.
const TICK: Duration = Duration::from_millis(10);
const READ_BATCH: i64 = 500;

/// Whether the listener is connected (for `/readyz`).
#[derive(Clone, Debug, Default)]
pub struct RelayStatus {
    connected: Arc<AtomicBool>,
}

impl RelayStatus {
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

pub struct Relay {
    url: String,
    broker: Broker,
    users: Addr<Users>,
    logins: Arc<Logins>,
    status: RelayStatus,
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Connection(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("this process is shutting down")]
    Stopped,
}

impl Relay {
    /// Starts the relay on its own thread (its connection blocks; no async thread waits on it).
    /// `application_name` names the listener's connection in `pg_stat_activity`.
    pub fn start(
        database_url: &str,
        application_name: &str,
        broker: Broker,
        users: Addr<Users>,
        logins: Arc<Logins>,
    ) -> std::io::Result<RelayStatus> {
        let separator = if database_url.contains('?') { '&' } else { '?' };
        let url = format!("{database_url}{separator}application_name={application_name}");
        let status = RelayStatus::default();
        let relay = Relay {
            url,
            broker,
            users,
            logins,
            status: status.clone(),
        };
        std::thread::Builder::new()
            .name("bazaar-relay".into())
            .spawn(move || relay.run())?;
        Ok(status)
    }

    fn run(self) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return tracing::error!(error = %e, "the relay cannot start"),
        };
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.listen(&runtime) {
                Err(RelayError::Stopped) => return,
                Err(e) => {
                    self.status.connected.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, "event listener disconnected; reconnecting");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Ok(()) => backoff = Duration::from_millis(50),
            }
        }
    }

    /// One connection's life: LISTEN, then doorbells and polls until an error.
    fn listen(&self, runtime: &tokio::runtime::Runtime) -> Result<(), RelayError> {
        let pg = diesel::PgConnection::establish(&self.url)?;
        let mut conn = DbConnection::Postgresql(pg);
        conn.batch_execute(&format!(
            "LISTEN {EVENTS_CHANNEL}; LISTEN {LOGOUTS_CHANNEL};"
        ))?;
        self.status.connected.store(true, Ordering::Relaxed);
        tracing::info!("event listener connected");
        // Logouts may have been missed while disconnected: trust no cached login.
        self.logins.forget_all();
        // Catch up at once: anything may have been missed while disconnected.
        let mut last_poll: Option<Instant> = None;
        loop {
            let mut rung = BTreeSet::new();
            if let DbConnection::Postgresql(pg) = &mut conn {
                for notification in pg.notifications_iter() {
                    let notification = notification?;
                    if notification.channel == LOGOUTS_CHANNEL {
                        self.logout(&notification.payload);
                    } else if let Some((topic, _seq)) = notification.payload.rsplit_once(' ') {
                        rung.insert(topic.to_owned());
                    }
                }
            }
            let due = last_poll.is_none_or(|at| at.elapsed() >= POLL_EVERY);
            if due || !rung.is_empty() {
                let heads = runtime
                    .block_on(self.broker.send(Heads))
                    .map_err(|_| RelayError::Stopped)?;
                let wanted: Vec<_> = heads
                    .into_iter()
                    .filter(|(topic, _)| due || rung.contains(topic))
                    .collect();
                self.catch_up(&mut conn, wanted)?;
                if due {
                    // The poll doubles as the connection's health check.
                    conn.batch_execute("SELECT 1")?;
                    last_poll = Some(Instant::now());
                }
            }
            std::thread::sleep(TICK);
        }
    }

    /// Publishes what the table holds beyond what the broker has published, per topic.
    fn catch_up(
        &self,
        conn: &mut DbConnection,
        topics: Vec<(String, Option<i64>)>,
    ) -> Result<(), RelayError> {
        for chunk in topics.chunks(200) {
            let names: Vec<&str> = chunk.iter().map(|(t, _)| t.as_str()).collect();
            let heads: HashMap<String, i64> = topic_seqs::table
                .filter(topic_seqs::topic.eq_any(&names))
                .select((topic_seqs::topic, topic_seqs::last_seq))
                .load::<(String, i64)>(conn)?
                .into_iter()
                .collect();
            for (topic, known) in chunk {
                // Until a local subscriber has read the topic's head, there is nothing to
                // compare with; it tells the broker (`Baseline`) once it has.
                let Some(mut known) = *known else {
                    continue;
                };
                let head = heads.get(topic).copied().unwrap_or(0);
                while known < head {
                    let batch = events::after(conn, topic, known, READ_BATCH)?;
                    let Some(last) = batch.last().map(|e| e.seq) else {
                        break;
                    };
                    known = last;
                    self.broker.do_send(Publish { events: batch });
                }
            }
        }
        Ok(())
    }

    fn logout(&self, payload: &str) {
        let mut parts = payload.split(' ').map(str::parse::<i64>);
        if let (Some(Ok(user)), Some(Ok(login))) = (parts.next(), parts.next()) {
            let login = LoginId(login);
            self.logins.forget_login(login);
            self.users.do_send(RevokeLogin {
                user: UserId(user),
                login,
            });
        }
    }
}

/// Tells every process that a login ended (PostgreSQL only; one process needs no doorbell).
pub fn announce_logout(conn: &mut DbConnection, user: UserId, login: LoginId) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(LOGOUTS_CHANNEL)
            .bind::<diesel::sql_types::Text, _>(format!("{} {login}", user.0))
            .execute(pg)?;
    }
    Ok(())
}
