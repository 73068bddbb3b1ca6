//! `flash-sale`: purchase attempts from concurrent clients on one listing, on Bazaar and on a
//! conventional server (one conditional UPDATE per request). Checks that no unit is oversold
//! and the books balance; the target is the speed-up over the conventional server.

use super::{bazaar, client, join_recorders, listing, server_errors, Common};
use crate::harness::{seed_users, BenchDb, Check, Recorder, Report, ServerProc};
use bazaar_actors::store::{ledger, listings, DbConnection};
use serde_json::json;
use std::time::Instant;

/// The load the target is stated for (the CLI defaults).
pub const FLASH_SALE_ATTEMPTS: usize = 10_000;
pub const FLASH_SALE_CLIENTS: usize = 256;
pub const FLASH_SALE_QUANTITY_UNITS: i64 = 5_000;

/// Target: Bazaar sells at least this many times as many units per second as the conventional
/// server, on PostgreSQL (SQLite has one writer, so there is no target there).
pub const FLASH_SALE_PG_SPEEDUP_TARGET_X: u32 = 10;

/// The listing's price; each buyer can pay for every attempt it makes.
const PRICE_CENTS: i64 = 100;

pub async fn run(
    c: &Common,
    attempts: usize,
    clients: usize,
    quantity: i64,
) -> anyhow::Result<Report> {
    let mut report = Report::new("flash-sale", &c.database);
    let mut rates = Vec::new();
    for (who, mode) in [
        ("bazaar", "serve-bazaar"),
        ("conventional baseline", "serve-conventional"),
    ] {
        let db = if mode == "serve-bazaar" {
            c.bazaar_db()?
        } else {
            BenchDb::create(&c.database, &c.pg_url)?
        };
        let mut conn = db.connect()?;
        let seller = seed_users(&mut conn, "seller", 1, 0)?.remove(0);
        let per = attempts.div_ceil(clients) as i64;
        let buyers = seed_users(&mut conn, "buyer", clients, PRICE_CENTS * per)?;
        let id = listing(&mut conn, seller.0, "Flash", PRICE_CENTS, quantity, "other")?;
        let server = if mode == "serve-bazaar" {
            bazaar(c, &db)?
        } else {
            ServerProc::start(mode, &[db.url()])?
        };
        let rec = purchases(&server.address, id, &buyers, attempts).await;
        let sold = sale_checks(&mut report, who, &mut conn, id, quantity, &rec)?;
        let mut row = rec.figures(&format!("{who}: purchase attempts"), "/s", rec.count());
        row.throughput = sold as f64 / rec.elapsed().as_secs_f64();
        row.throughput_unit = "p/s".into();
        rates.push(row.throughput);
        if mode == "serve-bazaar" {
            report.server_peak_rss_kib = server.rss_kib().1;
        }
        report.rows.push(row);
    }
    let ratio = rates[0] / rates[1].max(1e-9);
    report.notes.push(format!(
        "throughput = units sold per second of the run; bazaar / baseline = {ratio:.2}x"
    ));
    if c.database == "postgres" {
        report.checks.push(Check::new(
            format!(
                "target: >= {FLASH_SALE_PG_SPEEDUP_TARGET_X}x the conventional baseline on PostgreSQL"
            ),
            ratio >= f64::from(FLASH_SALE_PG_SPEEDUP_TARGET_X),
            format!("{ratio:.2}x"),
        ));
    }
    Ok(report)
}

/// `clients` concurrent clients, each sending its share of `attempts` purchases one after another.
async fn purchases(
    address: &str,
    listing: i64,
    buyers: &[(i64, String)],
    attempts: usize,
) -> Recorder {
    let http = client();
    let per_client = attempts.div_ceil(buyers.len());
    let url = format!("{address}/api/v1/listings/{listing}/purchase");
    let tasks = buyers.iter().enumerate().map(|(i, (_, token))| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        let mine = per_client.min(attempts.saturating_sub(i * per_client));
        tokio::spawn(async move {
            let mut rec = Recorder::new();
            for _ in 0..mine {
                let started = Instant::now();
                let outcome = match http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await
                {
                    Ok(res) => res.status().as_u16().to_string(),
                    Err(_) => "transport".to_owned(),
                };
                rec.record(&outcome, started.elapsed());
            }
            rec
        })
    });
    join_recorders(tasks).await
}

/// The sale's correctness checks for `who`; returns the units sold.
fn sale_checks(
    report: &mut Report,
    who: &str,
    conn: &mut DbConnection,
    listing: i64,
    quantity: i64,
    rec: &Recorder,
) -> anyhow::Result<u64> {
    let sold = rec.outcomes.get("201").copied().unwrap_or(0);
    let left = listings::find(conn, listing)?.map_or(-1, |l| l.quantity);
    let orders: i64 = {
        use bazaar_actors::store::schema::orders;
        use diesel::prelude::*;
        orders::table
            .filter(orders::listing_id.eq(listing))
            .count()
            .get_result(conn)?
    };
    let server_errors = server_errors(rec, 0);
    report.checks.push(Check::new(
        format!("{who}: orders = units sold"),
        orders as u64 == sold && left == quantity - sold as i64,
        format!("{orders} orders, {sold} answered 201, {left} of {quantity} left"),
    ));
    report.checks.push(Check::new(
        format!("{who}: no oversell"),
        left >= 0 && sold as i64 <= quantity,
        format!("{left} left"),
    ));
    report.checks.push(Check::new(
        format!("{who}: ledger balanced"),
        ledger::unbalanced_transactions(conn)?.is_empty(),
        "every transaction sums to zero",
    ));
    report.checks.push(Check::new(
        format!("{who}: no 5xx"),
        server_errors == 0,
        format!("{server_errors} server errors"),
    ));
    Ok(sold)
}
