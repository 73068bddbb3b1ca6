//! `saved-alerts`: `searches` saved searches stored (20 per owner, a mix of brand + item,
//! colour + item under a price, a model word, an item in a category, a category under a
//! price), then one subscriber's socket waits for its alert while a seller creates `listings`
//! listings one after another, each matching the subscriber's search and sharing its common
//! words with thousands of the others. Measured: from sending `POST /listings` to the
//! `notification.saved_search` on the subscriber's socket.

use super::sockets::open_live;
use super::{bazaar, client, Common};
use crate::harness::{seed_users, Check, Recorder, Report};
use bazaar_actors::domain::saved_search::SavedSearchInput;
use bazaar_actors::store::{self, saved_searches, DbConnection};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The load the target is stated for (the CLI defaults).
pub const SAVED_SEARCHES: usize = 100_000;
pub const ALERT_LISTINGS: usize = 200;

/// Target: p99 from creating a matching listing to its alert on the socket, in milliseconds.
pub const ALERT_P99_TARGET_MS: f64 = 100.0;

/// How long one alert may take before it counts as lost.
const ALERT_TIMEOUT: Duration = Duration::from_secs(10);

const ITEMS: &[(&str, &str)] = &[
    ("jacket", "fashion-men"),
    ("coat", "fashion-women"),
    ("dress", "fashion-women"),
    ("sneakers", "fashion-shoes"),
    ("handbag", "fashion-bags"),
    ("watch", "fashion-jewellery"),
    ("smartphone", "electronics-phones"),
    ("laptop", "electronics-computers"),
    ("camera", "electronics-cameras"),
    ("headphones", "electronics-audio"),
    ("sofa", "home-furniture"),
    ("lamp", "home-decor"),
    ("bicycle", "sports-bikes"),
    ("tent", "sports-camping"),
    ("guitar", "instruments-guitars"),
    ("stroller", "kids-strollers"),
];
const BRANDS: &[&str] = &[
    "acme", "nordic", "vintage", "urban", "alpine", "coastal", "retro", "summit", "metro",
    "aurora", "pioneer", "harbor",
];
const COLOURS: &[&str] = &[
    "black", "white", "red", "blue", "green", "brown", "grey", "beige", "navy", "pink",
];

/// The `i`th saved search of the mix (deterministic).
fn search(i: usize) -> SavedSearchInput {
    let h = |k: usize| (i.wrapping_mul(k) >> 7) % 1_000_003;
    let (item, category) = ITEMS[h(2_654_435_761) % ITEMS.len()];
    let brand = BRANDS[h(40_503) % BRANDS.len()];
    let colour = COLOURS[h(2_246_822_519) % COLOURS.len()];
    let price = Some(1_000 + (h(3_266_489_917) % 500) as i64 * 100);
    let mut s = SavedSearchInput::default();
    match i % 10 {
        0..=3 => s.q = Some(format!("{brand} {item}")),
        4 | 5 => {
            s.q = Some(format!("{colour} {item}"));
            s.max_price = price;
        }
        6 | 7 => s.q = Some(format!("{item}{}", h(97) % 1_000)),
        8 => {
            s.q = Some(item.to_owned());
            s.category = Some(category.to_owned());
            s.max_price = price;
        }
        _ => {
            s.category = Some(category.to_owned());
            s.max_price = price;
        }
    }
    s
}

pub async fn run(c: &Common, searches: usize, listings: usize) -> anyhow::Result<Report> {
    let mut report = Report::new("saved-alerts", &c.database);
    let db = c.bazaar_db()?;
    let seeding = Instant::now();
    let (subscriber, seller) = {
        let mut conn = db.connect()?;
        let owners = seed_users(&mut conn, "owner", searches.div_ceil(20), 0)?;
        let mut people = seed_users(&mut conn, "alerted", 2, 0)?;
        let (subscriber, seller) = (people.remove(0), people.remove(0));
        let now = store::now();
        conn.write_transaction(|conn: &mut DbConnection| -> anyhow::Result<()> {
            for i in 0..searches {
                let spec = search(i)
                    .validate()
                    .map_err(|e| anyhow::anyhow!("a bad search: {:?}", e.fields()))?;
                saved_searches::insert(conn, owners[i / 20].0, &spec, now)?;
            }
            let mine = SavedSearchInput {
                q: Some("quokka".to_owned()),
                max_price: Some(1_000_000),
                ..SavedSearchInput::default()
            };
            let spec = mine
                .validate()
                .map_err(|e| anyhow::anyhow!("a bad search: {:?}", e.fields()))?;
            saved_searches::insert(conn, subscriber.0, &spec, now)?;
            Ok(())
        })?;
        (subscriber, seller)
    };
    report.notes.push(format!(
        "stored {searches} saved searches ({} owners) in {:.1} s",
        searches.div_ceil(20),
        seeding.elapsed().as_secs_f64()
    ));
    let server = bazaar(c, &db)?;
    let mut socket = open_live(&server.address, &subscriber.1).await?;
    let http = client();
    let mut rec = Recorder::new();
    rec.restart();
    for i in 0..listings {
        let (item, category) = ITEMS[i % ITEMS.len()];
        let body = json!({
            "title": format!("{} {} {item} quokka", BRANDS[i % BRANDS.len()],
                             COLOURS[i % COLOURS.len()]),
            "description": format!("A classic {item}, barely used. Smoke-free home."),
            "category": category,
            "price_cents": 5_000,
        });
        let started = Instant::now();
        let created: Value = http
            .post(format!("{}/api/v1/listings", server.address))
            .bearer_auth(&seller.1)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = created["id"].as_i64();
        let deadline = tokio::time::Instant::now() + ALERT_TIMEOUT;
        let outcome = loop {
            match tokio::time::timeout_at(deadline, socket.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["event"] == "notification.saved_search"
                        && v["data"]["listing_id"].as_i64() == id
                    {
                        break "alerted";
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(_) => anyhow::bail!("the subscriber's socket closed"),
                Err(_) => break "timeout",
            }
        };
        rec.record(outcome, started.elapsed());
    }
    rec.finish();
    report.server_peak_rss_kib = server.rss_kib().1;
    report.rows.push(rec.figures(
        "listing created -> alert on socket",
        "alerts/s",
        rec.count(),
    ));
    let alerted = rec.outcomes.get("alerted").copied().unwrap_or(0);
    report.checks.push(Check::new(
        "every listing alerted its subscriber",
        alerted == listings as u64,
        format!("{:?}", rec.outcomes),
    ));
    let p99 = rec.latency.value_at_quantile(0.99) as f64 / 1000.0;
    report.checks.push(Check::new(
        format!("target: alert p99 <= {ALERT_P99_TARGET_MS} ms with {searches} saved searches"),
        p99 <= ALERT_P99_TARGET_MS,
        format!("{p99:.1} ms"),
    ));
    Ok(report)
}
