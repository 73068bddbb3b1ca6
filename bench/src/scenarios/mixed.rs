//! `mixed`: every user browses 80% of the time, likes 10%, offers 5%, buys 3% and opens a chat
//! 2%, on each other's listings, one request after another; at the end, checks that nothing
//! failed on the server, the books balance and no stock went negative.

use super::{bazaar, client, figures_over, listing, server_errors, Common};
use crate::harness::{seed_users, Check, Recorder, Report};
use bazaar_actors::store::{ledger, listings};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The default load (the CLI defaults).
pub const MIXED_USERS: usize = 64;
pub const MIXED_SECONDS: u64 = 10;

/// Each user's money: enough never to run out.
const BALANCE_CENTS: i64 = 1_000_000;
/// Each user's one listing: its price and stock.
const PRICE_CENTS: i64 = 1_000;
const QUANTITY_UNITS: i64 = 3;
/// Every offer's amount (70% of the price: above the floor offers must clear).
const OFFER_CENTS: i64 = 700;

pub async fn run(c: &Common, users_count: usize, seconds: u64) -> anyhow::Result<Report> {
    let mut report = Report::new("mixed", &c.database);
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let users = seed_users(&mut conn, "u", users_count, BALANCE_CENTS)?;
    let mut items = Vec::new();
    for (i, u) in users.iter().enumerate() {
        items.push((
            listing(
                &mut conn,
                u.0,
                &format!("Thing {i}"),
                PRICE_CENTS,
                QUANTITY_UNITS,
                "other",
            )?,
            u.0,
        ));
    }
    let server = bazaar(c, &db)?;
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let items = Arc::new(items);
    let tasks = users.iter().cloned().enumerate().map(|(n, (me, token))| {
        let (http, items, base) = (http.clone(), items.clone(), server.address.clone());
        tokio::spawn(async move {
            let mut rec = Recorder::new();
            let mut by_kind: BTreeMap<&'static str, Recorder> = BTreeMap::new();
            let mut i = n * 7919;
            while Instant::now() < deadline {
                i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let roll = i % 100;
                let (item, owner) = items[(i / 100) % items.len()];
                if owner == me {
                    continue;
                }
                let started = Instant::now();
                let (kind, req) = match roll {
                    0..=79 => (
                        "browse",
                        http.get(format!("{base}/api/v1/listings?category=other&limit=20")),
                    ),
                    80..=89 => (
                        "like",
                        http.put(format!("{base}/api/v1/listings/{item}/like")),
                    ),
                    90..=94 => (
                        "offer",
                        http.post(format!("{base}/api/v1/listings/{item}/offers"))
                            .json(&json!({"amount_cents": OFFER_CENTS})),
                    ),
                    95..=97 => (
                        "buy",
                        http.post(format!("{base}/api/v1/listings/{item}/purchase"))
                            .json(&json!({})),
                    ),
                    _ => (
                        "chat",
                        http.post(format!("{base}/api/v1/listings/{item}/conversations")),
                    ),
                };
                let outcome = match req.bearer_auth(&token).send().await {
                    Ok(res) => format!("{kind} {}", res.status().as_u16()),
                    Err(_) => format!("{kind} transport"),
                };
                rec.record(&outcome, started.elapsed());
                by_kind
                    .entry(kind)
                    .or_insert_with(Recorder::new)
                    .record(&outcome, started.elapsed());
            }
            (rec, by_kind)
        })
    });
    let mut total = Recorder::new();
    let mut kinds: BTreeMap<&'static str, Recorder> = BTreeMap::new();
    for t in futures::future::join_all(tasks).await {
        let (rec, by_kind) = t?;
        total.merge(&rec);
        for (kind, r) in by_kind {
            kinds.entry(kind).or_insert_with(Recorder::new).merge(&r);
        }
    }
    total.finish();
    report.server_peak_rss_kib = server.rss_kib().1;
    report
        .rows
        .push(total.figures("mixed requests", "r/s", total.count()));
    for (kind, r) in kinds {
        let name = format!("  of which {kind}");
        report
            .rows
            .push(figures_over(&r, &name, "r/s", total.elapsed()));
    }
    let errors = server_errors(&total, 1);
    report
        .checks
        .push(Check::new("no 5xx", errors == 0, format!("{errors}")));
    report.checks.push(Check::new(
        "ledger balanced",
        ledger::unbalanced_transactions(&mut conn)?.is_empty(),
        "every transaction sums to zero",
    ));
    let negative = items
        .iter()
        .filter(|(id, _)| {
            listings::find(&mut conn, *id)
                .ok()
                .flatten()
                .is_none_or(|l| l.quantity < 0)
        })
        .count();
    report.checks.push(Check::new(
        "no negative stock",
        negative == 0,
        format!("{negative}"),
    ));
    Ok(report)
}
