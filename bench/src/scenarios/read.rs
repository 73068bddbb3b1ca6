//! `read`: GET one listing and a filtered list as fast as `connections` clients can, then an
//! actix-web JSON hello endpoint the same way; the target is a share of hello's rate.

use super::{bazaar, client, join_recorders, listing, Common};
use crate::harness::{seed_users, Check, Recorder, Report, ServerProc};
use std::time::{Duration, Instant};

/// The load the target is stated for (the CLI defaults).
pub const READ_CONNECTIONS: usize = 64;
pub const READ_SECONDS: u64 = 10;

/// Target: `GET /listings/{id}` answers at least this share of the hello endpoint's requests/s.
pub const READ_SHARE_OF_HELLO_TARGET_PERCENT: u32 = 50;

/// Listings seeded, half in the category the list asks for.
const LISTINGS: i64 = 200;

pub async fn run(c: &Common, connections: usize, seconds: u64) -> anyhow::Result<Report> {
    let mut report = Report::new("read", &c.database);
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let seller = seed_users(&mut conn, "seller", 1, 0)?.remove(0);
    let mut ids = Vec::new();
    for i in 0..LISTINGS {
        ids.push(listing(
            &mut conn,
            seller.0,
            &format!("Item {i}"),
            100 + i,
            1,
            if i % 2 == 0 { "sports-bikes" } else { "home" },
        )?);
    }
    let server = bazaar(c, &db)?;
    let duration = Duration::from_secs(seconds);
    let one = vec![format!("{}/api/v1/listings/{}", server.address, ids[0])];
    let get = hammer(one, connections, duration).await;
    let lists = vec![format!(
        "{}/api/v1/listings?category=sports-bikes&sort=price_asc&limit=20",
        server.address
    )];
    let list = hammer(lists, connections, duration).await;
    report.server_peak_rss_kib = server.rss_kib().1;
    drop(server);
    let hello_server = ServerProc::start("serve-hello", &[])?;
    let hello = hammer(
        vec![format!("{}/hello", hello_server.address)],
        connections,
        duration,
    )
    .await;
    let rate = |rec: &Recorder| rec.count() as f64 / rec.elapsed().as_secs_f64();
    let ratio = rate(&get) / rate(&hello).max(1e-9);
    report
        .rows
        .push(get.figures("GET /listings/{id}", "r/s", get.count()));
    report
        .rows
        .push(list.figures("GET /listings?category&sort", "r/s", list.count()));
    report
        .rows
        .push(hello.figures("baseline: actix-web JSON hello", "r/s", hello.count()));
    for (name, rec) in [("get", &get), ("list", &list), ("hello", &hello)] {
        let ok = rec.outcomes.get("200").copied().unwrap_or(0) == rec.count();
        report.checks.push(Check::new(
            format!("{name}: every answer 200"),
            ok,
            format!("{:?}", rec.outcomes),
        ));
    }
    report
        .notes
        .push(format!("GET listing / hello = {:.0}%", ratio * 100.0));
    report.checks.push(Check::new(
        format!("target: read >= {READ_SHARE_OF_HELLO_TARGET_PERCENT}% of hello"),
        ratio >= f64::from(READ_SHARE_OF_HELLO_TARGET_PERCENT) / 100.0,
        format!("{:.0}%", ratio * 100.0),
    ));
    Ok(report)
}

/// `connections` clients, each sending GETs to `urls` in turn until `duration` is up.
pub(super) async fn hammer(urls: Vec<String>, connections: usize, duration: Duration) -> Recorder {
    let http = client();
    let deadline = Instant::now() + duration;
    let tasks = (0..connections).map(|i| {
        let (http, urls) = (http.clone(), urls.clone());
        tokio::spawn(async move {
            let mut rec = Recorder::new();
            let mut n = i;
            while Instant::now() < deadline {
                let started = Instant::now();
                let outcome = match http.get(&urls[n % urls.len()]).send().await {
                    Ok(res) => {
                        let status = res.status().as_u16().to_string();
                        let _ = res.bytes().await;
                        status
                    }
                    Err(_) => "transport".to_owned(),
                };
                rec.record(&outcome, started.elapsed());
                n += 1;
            }
            rec
        })
    });
    join_recorders(tasks).await
}
