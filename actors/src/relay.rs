//! `Relay`: carries committed events between server processes that share one PostgreSQL
//! database. PostgreSQL is the engine; there is no cluster protocol of our own.
//!
//! Every transaction that writes events rings a doorbell (NOTIFY on `bazaar_events`, payload
//! lines of `<topic> <last seq>`, as many topics per notification as fit; see
//! `store::events::publish`). Each process keeps one dedicated, non-pooled connection that
//! LISTENs. On doorbells it compares the seqs they name with what its broker has published for
//! the topics someone here is subscribed to; on a short poll, in case one was missed, it
//! compares `topic_seqs` instead. What is missing it reads from the `events` table, many topics
//! in one query (by seq range), and publishes locally, each topic in seq order. A dropped connection is re-established and the poll catches up from the table, so
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
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The channel that carries logouts (payload: `<user id> <login id>`).
pub const LOGOUTS_CHANNEL: &str = "bazaar_logouts";
/// How often the table is checked even without a doorbell.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// How long the loop sleeps between looks at the connection when nothing rang (a doorbell
/// waits at most this long; a look is one non-blocking read of the socket).
const TICK: Duration = Duration::from_millis(2);
/// At most this many topics per catch-up read, and this many events of each.
const READ_TOPICS: usize = 200;
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
            // Each topic a doorbell named, with the highest seq it named.
            let mut rung: HashMap<String, i64> = HashMap::new();
            if let DbConnection::Postgresql(pg) = &mut conn {
                for notification in pg.notifications_iter() {
                    let notification = notification?;
                    if notification.channel == LOGOUTS_CHANNEL {
                        self.logout(&notification.payload);
                        continue;
                    }
                    for (topic, seq) in events::rung(&notification.payload) {
                        let head = rung.entry(topic.to_owned()).or_insert(seq);
                        *head = (*head).max(seq);
                    }
                }
            }
            let due = last_poll.is_none_or(|at| at.elapsed() >= POLL_EVERY);
            if !due && rung.is_empty() {
                std::thread::sleep(TICK);
                continue;
            }
            let heads = runtime
                .block_on(self.broker.send(Heads))
                .map_err(|_| RelayError::Stopped)?;
            let behind = if due {
                let mut table = table_heads(&mut conn, &heads)?;
                for (topic, seq) in rung {
                    let head = table.entry(topic).or_insert(seq);
                    *head = (*head).max(seq);
                }
                behind(heads, &table)
            } else {
                behind(heads, &rung)
            };
            self.catch_up(&mut conn, behind)?;
            if due {
                // The poll doubles as the connection's health check.
                conn.batch_execute("SELECT 1")?;
                last_poll = Some(Instant::now());
            }
            // No sleep: doorbells that rang while this one was read are read at once.
        }
    }

    /// Publishes the events of each `(topic, published, head)` after `published` up to
    /// `head`: one read for many topics at a time, each topic's events in seq order.
    fn catch_up(
        &self,
        conn: &mut DbConnection,
        mut behind: Vec<(String, i64, i64)>,
    ) -> Result<(), RelayError> {
        while !behind.is_empty() {
            let mut still = Vec::new();
            for chunk in behind.chunks(READ_TOPICS) {
                let ranges: Vec<(&str, i64, i64)> = chunk
                    .iter()
                    .map(|(topic, known, head)| {
                        (topic.as_str(), *known, (*head).min(known + READ_BATCH))
                    })
                    .collect();
                let events = events::in_ranges(conn, &ranges)?;
                for ((topic, _, head), (_, _, upto)) in chunk.iter().zip(&ranges) {
                    if upto < head {
                        still.push((topic.clone(), *upto, *head));
                    }
                }
                if !events.is_empty() {
                    self.broker.do_send(Publish { events });
                }
            }
            behind = still;
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

/// The last seqs `topic_seqs` holds for the topics of `heads` (the poll: one query per
/// `READ_TOPICS` topics).
fn table_heads(
    conn: &mut DbConnection,
    heads: &[(String, Option<i64>)],
) -> QueryResult<HashMap<String, i64>> {
    let mut table = HashMap::new();
    for chunk in heads.chunks(READ_TOPICS) {
        let names: Vec<&str> = chunk.iter().map(|(t, _)| t.as_str()).collect();
        table.extend(
            topic_seqs::table
                .filter(topic_seqs::topic.eq_any(&names))
                .select((topic_seqs::topic, topic_seqs::last_seq))
                .load::<(String, i64)>(conn)?,
        );
    }
    Ok(table)
}

/// `(topic, published, head)` for each topic of `published` (what the broker has published of
/// the topics someone here subscribes to) that is behind its head in `heads`. Until a local
/// subscriber has read a topic's head there is nothing to compare with; it tells the broker
/// (`Baseline`) once it has.
fn behind(
    published: Vec<(String, Option<i64>)>,
    heads: &HashMap<String, i64>,
) -> Vec<(String, i64, i64)> {
    published
        .into_iter()
        .filter_map(|(topic, known)| {
            let known = known?;
            let head = heads.get(&topic).copied()?;
            (known < head).then_some((topic, known, head))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_topics_with_a_baseline_and_behind_their_head_are_read() {
        let published = vec![
            ("listing:1".to_owned(), Some(3)),
            ("listing:2".to_owned(), Some(5)),
            ("listing:3".to_owned(), None),
            ("listing:4".to_owned(), Some(1)),
        ];
        let heads: HashMap<String, i64> = [("listing:1", 7), ("listing:2", 5), ("listing:3", 9)]
            .into_iter()
            .map(|(t, s)| (t.to_owned(), s))
            .collect();
        assert_eq!(
            behind(published, &heads),
            vec![("listing:1".to_owned(), 3, 7)]
        );
    }
}
