//! The scenarios, one file each. Each starts its servers with fresh databases, sends bounded
//! traffic to 127.0.0.1 only, and returns a report with figures and checks. What they share
//! lives here: the run's options, fixtures, the Bazaar under test and the HTTP client;
//! `sockets` holds the WebSocket client.
//!
//! Every target a scenario checks is a named constant at the top of its file, with its unit in
//! the name; so are the default loads the targets are stated for.

pub mod chat;
pub mod fanout;
pub mod flash_sale;
pub mod idle;
pub mod login_storm;
pub mod mixed;
pub mod photos;
pub mod read;
pub mod relay;
pub mod saved_alerts;
pub mod search;
mod sockets;

use crate::harness::{BenchDb, Figures, Recorder, Report, ServerProc};
use bazaar_actors::domain::listing::ListingStatus;
use bazaar_actors::store::models::NewListing;
use bazaar_actors::store::{self, listings, DbConnection};
use reqwest::Client;
use std::time::Duration;

pub struct Common {
    pub database: String,
    pub pg_url: String,
    /// A Bazaar already running (`--url`), measured instead of one started by the run.
    pub target: Option<Target>,
}

/// A running Bazaar on 127.0.0.1 and the database it uses (fixtures are written there).
#[derive(Clone, Debug)]
pub struct Target {
    pub address: String,
    pub port: u16,
    pub database_url: String,
}

impl Common {
    /// The database Bazaar runs on: the target's, or a fresh one.
    fn bazaar_db(&self) -> anyhow::Result<BenchDb> {
        match &self.target {
            Some(t) => Ok(BenchDb::Existing {
                url: t.database_url.clone(),
            }),
            None => BenchDb::create(&self.database, &self.pg_url),
        }
    }
}

fn listing(
    conn: &mut DbConnection,
    seller: i64,
    title: &str,
    price: i64,
    quantity: i64,
    category: &str,
) -> anyhow::Result<i64> {
    let now = store::now();
    Ok(listings::insert(
        conn,
        &NewListing {
            seller_id: seller,
            title,
            description: "benchmark item",
            category: Some(category),
            condition: None,
            price_cents: price,
            currency: "EUR",
            quantity,
            status: ListingStatus::Active,
            like_count: 0,
            auto_accept_cents: None,
            auto_decline_cents: None,
            version: 1,
            created_at: now,
            updated_at: now,
            auto_drop_percent: None,
            auto_drop_interval_secs: None,
            auto_drop_floor_cents: None,
            next_price_drop_at: None,
        },
    )?
    .id)
}

/// Bazaar on `db`: the `--url` target if there is one, else a server of the run's own.
fn bazaar(c: &Common, db: &BenchDb) -> anyhow::Result<ServerProc> {
    bazaar_with(c, db, &[])
}

/// Bazaar on `db` as `bazaar` starts it, a server of the run's own given `extra` flags.
fn bazaar_with(c: &Common, db: &BenchDb, extra: &[&str]) -> anyhow::Result<ServerProc> {
    if let Some(t) = &c.target {
        return Ok(ServerProc::existing(&t.address, t.port));
    }
    let mut args = vec![
        "--database-url",
        db.url(),
        "--log-format",
        "json",
        // One user holds every socket in `fanout` and `idle`.
        "--ws-max-sessions-per-user",
        "1000000",
        // Load generators are one client sending what a limit is there to stop.
        "--rate-limits",
        "off",
    ];
    args.extend_from_slice(extra);
    ServerProc::start("serve-bazaar", &args)
}

fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .expect("http client")
}

/// Runs the load tasks and merges what they recorded; the clock runs from their start to the
/// last one's end.
async fn join_recorders(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<Recorder>>,
) -> Recorder {
    let mut total = Recorder::new();
    total.restart();
    for task in futures::future::join_all(tasks).await {
        total.merge(&task.expect("load task"));
    }
    total.finish();
    total
}

/// How many answers were server faults: a 5xx status, or no answer at all. The status is word
/// `status_word` (from 0) of an outcome's name.
fn server_errors(rec: &Recorder, status_word: usize) -> u64 {
    rec.outcomes
        .iter()
        .filter(|(k, _)| {
            k.split(' ')
                .nth(status_word)
                .is_some_and(|s| s.starts_with('5') || s == "transport")
        })
        .map(|(_, v)| v)
        .sum()
}

/// The figures of `rec`, its throughput taken over `elapsed` (the whole run) rather than over
/// the recorder's own clock.
fn figures_over(rec: &Recorder, name: &str, unit: &str, elapsed: Duration) -> Figures {
    let mut row = rec.figures(name, unit, rec.count());
    row.seconds = elapsed.as_secs_f64();
    row.throughput = rec.count() as f64 / row.seconds.max(1e-9);
    row
}

/// Raises the open-file limit (sockets need one descriptor each) and notes the new limit.
fn raise_fd_limit(report: &mut Report) -> u64 {
    let limit = crate::harness::raise_fd_limit();
    report
        .notes
        .push(format!("open-file limit raised to {limit}"));
    limit
}
