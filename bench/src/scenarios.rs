//! The scenarios. Each starts its servers with fresh databases, sends bounded traffic to
//! 127.0.0.1 only, and returns a report with figures and checks.

use crate::harness::{seed_users, BenchDb, Check, Recorder, Report, ServerProc};
use bazaar_actors::domain::listing::ListingStatus;
use bazaar_actors::store::models::NewListing;
use bazaar_actors::store::{self, chat, ledger, listings, DbConnection};
use futures::{SinkExt, StreamExt};
use reqwest::Client;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

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
        },
    )?
    .id)
}

/// Bazaar on `db`: the `--url` target if there is one, else a server of the run's own.
fn bazaar(c: &Common, db: &BenchDb) -> anyhow::Result<ServerProc> {
    if let Some(t) = &c.target {
        return Ok(ServerProc::existing(&t.address, t.port));
    }
    ServerProc::start(
        "serve-bazaar",
        &[
            "--database-url",
            db.url(),
            "--log-format",
            "json",
            // One user holds every socket in `fanout` and `idle`.
            "--ws-max-sessions-per-user",
            "1000000",
        ],
    )
}

fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .expect("http client")
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
    let mut total = Recorder::new();
    total.restart();
    for task in futures::future::join_all(tasks).await {
        total.merge(&task.expect("client task"));
    }
    total.finish();
    total
}

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
    let server_errors: u64 = rec
        .outcomes
        .iter()
        .filter(|(k, _)| k.starts_with('5') || *k == "transport")
        .map(|(_, v)| v)
        .sum();
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

pub async fn flash_sale(
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
        let buyers = seed_users(&mut conn, "buyer", clients, 100 * per)?;
        let id = listing(&mut conn, seller.0, "Flash", 100, quantity, "sale")?;
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
            "target: >= 10x the conventional baseline on PostgreSQL",
            ratio >= 10.0,
            format!("{ratio:.2}x"),
        ));
    }
    Ok(report)
}

async fn hammer(urls: Vec<String>, connections: usize, duration: Duration) -> Recorder {
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
    let mut total = Recorder::new();
    for task in futures::future::join_all(tasks).await {
        total.merge(&task.expect("task"));
    }
    total.finish();
    total
}

pub async fn read(c: &Common, connections: usize, seconds: u64) -> anyhow::Result<Report> {
    let mut report = Report::new("read", &c.database);
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let seller = seed_users(&mut conn, "seller", 1, 0)?.remove(0);
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(listing(
            &mut conn,
            seller.0,
            &format!("Item {i}"),
            100 + i,
            1,
            if i % 2 == 0 { "bikes" } else { "home" },
        )?);
    }
    let server = bazaar(c, &db)?;
    let duration = Duration::from_secs(seconds);
    let one = vec![format!("{}/api/v1/listings/{}", server.address, ids[0])];
    let get = hammer(one, connections, duration).await;
    let lists = vec![format!(
        "{}/api/v1/listings?category=bikes&sort=price_asc&limit=20",
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
    let (g, l, h) = (
        get.count() as f64,
        list.count() as f64,
        hello.count() as f64,
    );
    let ratio = g / get.elapsed().as_secs_f64() / (h / hello.elapsed().as_secs_f64()).max(1e-9);
    report
        .rows
        .push(get.figures("GET /listings/{id}", "r/s", get.count()));
    report
        .rows
        .push(list.figures("GET /listings?category&sort", "r/s", list.count()));
    report
        .rows
        .push(hello.figures("baseline: actix-web JSON hello", "r/s", hello.count()));
    let _ = l;
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
        "target: read >= 50% of hello",
        ratio >= 0.5,
        format!("{:.0}%", ratio * 100.0),
    ));
    Ok(report)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(address: &str, path: &str, token: Option<&str>) -> anyhow::Result<Socket> {
    let mut request =
        format!("{}{path}", address.replace("http://", "ws://")).into_client_request()?;
    if let Some(t) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {t}").parse()?);
    }
    // Like a browser, the client sends small frames at once (TCP_NODELAY).
    Ok(
        tokio_tungstenite::connect_async_with_config(request, None, true)
            .await?
            .0,
    )
}

/// Opens an authenticated socket and waits until it is live: the server has subscribed it to
/// the user's own topic, so nothing sent to the user from then on can miss it.
async fn open_live(address: &str, token: &str) -> anyhow::Result<Socket> {
    let mut socket = open_socket(address, "/api/v1/ws", Some(token)).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap_or_default();
                if v["type"] == "subscribed"
                    && v["topic"].as_str().is_some_and(|t| t.starts_with("user:"))
                {
                    return Ok(socket);
                }
            }
            Ok(Some(Ok(_))) => {}
            other => anyhow::bail!("the socket never went live: {other:?}"),
        }
    }
}

/// Opens `count` sockets, `parallel` at a time.
async fn open_many(
    address: &str,
    path: &str,
    token: Option<&str>,
    count: usize,
) -> anyhow::Result<Vec<Socket>> {
    let mut sockets = Vec::with_capacity(count);
    let mut pending = futures::stream::iter((0..count).map(|_| open_socket(address, path, token)))
        .buffer_unordered(64);
    while let Some(s) = pending.next().await {
        sockets.push(s?);
    }
    Ok(sockets)
}

/// Latency of `drops` frames to every socket: each frame's send time is known by its index.
/// Returns all deliveries, each drop's own (index 1 is the first drop), how many are missing,
/// and the sockets, left open: sockets closing while others still wait for the last drop
/// would slow that drop's delivery (measured: it doubled its p99).
async fn collect_receipts(
    sockets: Vec<Socket>,
    expect: usize,
    pick: fn(&str) -> Option<usize>,
    sent_at: SentAt,
    timeout: Duration,
) -> Receipts {
    let tasks = sockets.into_iter().map(|mut s| {
        tokio::spawn(async move {
            let mut got = Vec::with_capacity(expect);
            // One deadline for the whole socket, not a timer per frame: the reader should
            // cost as little as it can, so the figures are the server's.
            let _ = tokio::time::timeout(timeout, async {
                while got.len() < expect {
                    match s.next().await {
                        Some(Ok(Message::Text(text))) => {
                            if let Some(i) = pick(&text) {
                                got.push((i, Instant::now()));
                            }
                        }
                        Some(Ok(_)) => continue,
                        _ => break,
                    }
                }
            })
            .await;
            (got, s)
        })
    });
    let mut rec = Recorder::new();
    let mut per_drop: Vec<Recorder> = (0..=expect).map(|_| Recorder::new()).collect();
    let mut missing = 0u64;
    let received = futures::future::join_all(tasks).await;
    let sent_at = sent_at.lock().map(|m| m.clone()).unwrap_or_default();
    let mut done = Vec::with_capacity(received.len());
    for task in received {
        let Ok((got, socket)) = task else {
            missing += expect as u64;
            continue;
        };
        done.push(socket);
        missing += (expect - got.len().min(expect)) as u64;
        for (i, at) in got {
            let latency = at.saturating_duration_since(sent_at.get(&i).copied().unwrap_or(at));
            rec.record("delivered", latency);
            if let Some(r) = per_drop.get_mut(i) {
                r.record("delivered", latency);
            }
        }
    }
    (rec, per_drop, missing, done)
}

/// When each drop was sent, by its index.
type SentAt = Arc<std::sync::Mutex<HashMap<usize, Instant>>>;

/// All deliveries, each drop's own, how many are missing, and the sockets (still open).
type Receipts = (Recorder, Vec<Recorder>, u64, Vec<Socket>);

/// Starts reading `drops` frames on every socket (for at most a minute); the caller records
/// each drop's send time in the returned map.
fn start_receipts(
    sockets: Vec<Socket>,
    drops: usize,
    pick: fn(&str) -> Option<usize>,
) -> (tokio::task::JoinHandle<Receipts>, SentAt) {
    let sent_at = SentAt::default();
    let receipts = tokio::spawn(collect_receipts(
        sockets,
        drops,
        pick,
        sent_at.clone(),
        Duration::from_secs(60),
    ));
    (receipts, sent_at)
}

async fn close_all(sockets: Vec<Socket>) {
    futures::stream::iter(sockets)
        .for_each_concurrent(64, |mut s| async move {
            let _ = s.close(None).await;
        })
        .await;
}

/// CPU time per delivery of the server and of this load generator over one measured run.
fn cpu_note(who: &str, deliveries: u64, server: Duration, client: Duration) -> String {
    let per = |d: Duration| d.as_secs_f64() * 1e6 / deliveries.max(1) as f64;
    format!(
        "{who}: CPU per delivery: server {:.1} µs, load generator {:.1} µs",
        per(server),
        per(client)
    )
}

/// One line on how each drop fared: which part of the run the tail comes from.
fn per_drop_note(who: &str, per_drop: &[Recorder]) -> String {
    let drops: Vec<String> = per_drop
        .iter()
        .skip(1)
        .map(|r| {
            let f = r.figures("", "", r.count());
            format!("{:.0}/{:.0}", f.p50_ms, f.p99_ms)
        })
        .collect();
    format!(
        "{who}: p50/p99 ms of each drop in turn: {}",
        drops.join(" ")
    )
}

/// The index a price-drop frame carries, read without building a JSON tree (the reader
/// parses 10,000 frames per drop on the same cores as the server).
fn drop_index(text: &str) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct Frame<'a> {
        #[serde(borrow)]
        event: std::borrow::Cow<'a, str>,
        data: Price,
    }
    #[derive(serde::Deserialize)]
    struct Price {
        new_price_cents: i64,
    }
    let f: Frame<'_> = serde_json::from_str(text).ok()?;
    if f.event != "listing.price_dropped" {
        return None;
    }
    Some((1_000_000 - f.data.new_price_cents) as usize)
}

fn broadcast_index(text: &str) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct Frame {
        data: Index,
    }
    #[derive(serde::Deserialize)]
    struct Index {
        index: usize,
    }
    serde_json::from_str::<Frame>(text)
        .ok()
        .map(|f| f.data.index)
}

/// The same fan-out through a server that is not Bazaar (`mode`): `sockets` subscribers, and
/// `drops` frames of the same shape sent by a publisher socket opened at `publisher_path`.
async fn fanout_without_bazaar(
    report: &mut Report,
    mode: &str,
    publisher_path: &str,
    name: &str,
    (sockets, drops, id): (usize, usize, i64),
) -> anyhow::Result<crate::harness::Figures> {
    let server = ServerProc::start(mode, &[])?;
    let subs = open_many(&server.address, "/", None, sockets).await?;
    let mut publisher = open_socket(&server.address, publisher_path, None).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (receipts, sent_at) = start_receipts(subs, drops, broadcast_index);
    let started = Instant::now();
    let cpu_before = (server.cpu_time(), crate::harness::own_cpu_time());
    for i in 1..=drops {
        let frame = json!({"type": "event", "topic": format!("listing:{id}"), "seq": i, "event": "listing.price_dropped",
            "at": chrono::Utc::now(), "data": {"index": i, "listing_id": id, "old_price_cents": 1_000_000, "new_price_cents": 999_999, "currency": "EUR", "version": i}});
        if let Ok(mut m) = sent_at.lock() {
            m.insert(i, Instant::now());
        }
        publisher.send(Message::Text(frame.to_string())).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (mut rec, per_drop, missing, open) = receipts.await?;
    rec.finish();
    let elapsed = started.elapsed();
    let who = name.split(':').next().unwrap_or(name);
    let cpu = cpu_note(
        who,
        rec.count(),
        server.cpu_time() - cpu_before.0,
        crate::harness::own_cpu_time() - cpu_before.1,
    );
    close_all(open).await;
    let mut row = rec.figures(name, "d/s", rec.count());
    row.seconds = elapsed.as_secs_f64();
    row.throughput = rec.count() as f64 / elapsed.as_secs_f64();
    report.rows.push(row.clone());
    report.checks.push(Check::new(
        format!("{who}: none missing"),
        missing == 0,
        format!("{missing} missing"),
    ));
    report.notes.push(per_drop_note(who, &per_drop));
    report.notes.push(cpu);
    Ok(row)
}

pub async fn fanout(c: &Common, sockets: usize, drops: usize) -> anyhow::Result<Report> {
    let mut report = Report::new("fanout", &c.database);
    let limit = crate::harness::raise_fd_limit();
    report
        .notes
        .push(format!("open-file limit raised to {limit}"));
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let users = seed_users(&mut conn, "u", 2, 0)?;
    let id = listing(&mut conn, users[0].0, "Hot", 1_000_000, 1, "hot")?;
    let server = bazaar(c, &db)?;
    let subs = open_many(&server.address, "/api/v1/ws", Some(&users[1].1), sockets).await?;
    let mut subs2 = Vec::with_capacity(subs.len());
    for mut s in subs {
        s.send(Message::Text(
            json!({"op": "subscribe", "topic": format!("listing:{id}")}).to_string(),
        ))
        .await?;
        subs2.push(s);
    }
    tokio::time::sleep(Duration::from_millis(500 + sockets as u64 / 10)).await;
    let (receipts, sent_at) = start_receipts(subs2, drops, drop_index);
    let http = client();
    let started = Instant::now();
    let cpu_before = (server.cpu_time(), crate::harness::own_cpu_time());
    for i in 1..=drops {
        let res = http
            .patch(format!("{}/api/v1/listings/{id}", server.address))
            .bearer_auth(&users[0].1)
            .json(&json!({"price_cents": 1_000_000 - i as i64}))
            .send()
            .await?;
        if let Ok(mut m) = sent_at.lock() {
            m.insert(i, Instant::now());
        }
        anyhow::ensure!(res.status().is_success(), "PATCH failed: {}", res.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (mut rec, rec_drops, missing, open) = receipts.await?;
    rec.finish();
    let elapsed = started.elapsed();
    let rec_cpu = cpu_note(
        "bazaar",
        rec.count(),
        server.cpu_time() - cpu_before.0,
        crate::harness::own_cpu_time() - cpu_before.1,
    );
    close_all(open).await;
    report.server_peak_rss_kib = server.rss_kib().1;
    let mut row = rec.figures("bazaar: PATCH response -> socket", "d/s", rec.count());
    row.seconds = elapsed.as_secs_f64();
    row.throughput = rec.count() as f64 / elapsed.as_secs_f64();
    report.rows.push(row.clone());
    report.checks.push(Check::new(
        "bazaar: none missing",
        missing == 0,
        format!("{missing} missing of {}", sockets * drops),
    ));
    drop(server);

    report.notes.push(
        "drops are 200 ms apart in every run; deliveries/s is deliveries over the run".into(),
    );
    report.notes.push(per_drop_note("bazaar", &rec_drops));
    report.notes.push(rec_cpu);
    let brow = fanout_without_bazaar(
        &mut report,
        "serve-broadcast",
        "/",
        "baseline: tungstenite broadcast",
        (sockets, drops, id),
    )
    .await?;
    fanout_without_bazaar(
        &mut report,
        "serve-floor",
        "/publish",
        "floor: one write per socket",
        (sockets, drops, id),
    )
    .await?;
    report.checks.push(Check::new(
        "target: p99 <= 50 ms",
        row.p99_ms <= 50.0,
        format!("{:.1} ms", row.p99_ms),
    ));
    let ratio = row.throughput / brow.throughput.max(1e-9);
    report.checks.push(Check::new(
        "target: >= 50% of the broadcast server's deliveries/s",
        ratio >= 0.5,
        format!("{:.0}%", ratio * 100.0),
    ));
    Ok(report)
}

pub async fn chat_scenario(
    c: &Common,
    pairs: usize,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Report> {
    let mut report = Report::new("chat", &c.database);
    crate::harness::raise_fd_limit();
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let users = seed_users(&mut conn, "u", pairs * 2, 0)?;
    let seller = &users[0];
    let id = listing(&mut conn, seller.0, "Chatty", 100, 1, "chat")?;
    let mut conversations = Vec::new();
    for p in 0..pairs {
        let (buyer, other) = (&users[2 * p], &users[2 * p + 1]);
        // Each pair chats about a listing of the second user's.
        let l = if p == 0 {
            id
        } else {
            listing(&mut conn, other.0, "Chatty", 100, 1, "chat")?
        };
        let (conv, _) = chat::open(&mut conn, l, buyer.0, other.0, store::now())?;
        conversations.push(conv.id);
    }
    let server = bazaar(c, &db)?;
    // Every socket is open and live before the clock starts: the run measures chat, not
    // connection set-up, and no pair starts while others are still connecting.
    let address = server.address.clone();
    let sockets: Vec<(Socket, Socket)> = futures::stream::iter((0..pairs).map(|p| {
        let (address, sender, receiver) = (
            address.clone(),
            users[2 * p].1.clone(),
            users[2 * p + 1].1.clone(),
        );
        async move {
            let tx = open_live(&address, &sender).await?;
            let rx = open_live(&address, &receiver).await?;
            anyhow::Ok((tx, rx))
        }
    }))
    .buffered(32)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<anyhow::Result<_>>()?;
    let start = Instant::now();
    let total = (rate * seconds) as usize;
    let per_pair = total.div_ceil(pairs);
    let gap = Duration::from_secs_f64(pairs as f64 / rate as f64);
    let acks = Arc::new(std::sync::Mutex::new(Recorder::new()));
    let received = Arc::new(std::sync::Mutex::new(Recorder::new()));
    let mut tasks = Vec::new();
    for (p, (mut tx, mut rx)) in sockets.into_iter().enumerate() {
        let (conv, acks, received) = (conversations[p], acks.clone(), received.clone());
        // Pairs start spread over one gap, not all on the same tick.
        let offset = gap.mul_f64(p as f64 / pairs as f64);
        tasks.push(tokio::spawn(async move {
            let reader = tokio::spawn(async move {
                let mut seen = std::collections::HashSet::new();
                // Generous: a saturated server falls behind the offered rate, and a message
                // counts as missing only if it never arrives.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds * 4 + 30);
                while seen.len() < per_pair {
                    match tokio::time::timeout_at(deadline, rx.next()).await {
                        Ok(Some(Ok(Message::Text(t)))) => {
                            let v: Value = serde_json::from_str(&t).unwrap_or_default();
                            if v["event"] == "chat.message" {
                                let body = v["data"]["message"]["body"].as_str().unwrap_or_default();
                                let sent: u64 = body.split(':').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                                let latency = start.elapsed().saturating_sub(Duration::from_micros(sent));
                                let fresh = seen.insert(v["data"]["message"]["client_msg_id"].as_str().unwrap_or_default().to_owned());
                                if let Ok(mut r) = received.lock() {
                                    r.record(if fresh { "received" } else { "duplicate" }, latency);
                                }
                            }
                        }
                        Ok(Some(Ok(_))) => continue,
                        _ => break,
                    }
                }
                seen.len()
            });
            let mut pending = HashMap::new();
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, gap);
            let mut sent = 0;
            while sent < per_pair || !pending.is_empty() {
                tokio::select! {
                    _ = ticker.tick(), if sent < per_pair => {
                        let at = start.elapsed().as_micros() as u64;
                        let frame = json!({"op": "chat.send", "conversation_id": conv, "client_msg_id": format!("m{sent}"), "body": format!("t:{at}"), "ref": sent});
                        pending.insert(sent as u64, Instant::now());
                        if tx.send(Message::Text(frame.to_string())).await.is_err() { break; }
                        sent += 1;
                    }
                    msg = tx.next() => match msg {
                        Some(Ok(Message::Text(t))) => {
                            let v: Value = serde_json::from_str(&t).unwrap_or_default();
                            if v["type"] == "ack" {
                                if let Some(at) = v["ref"].as_u64().and_then(|r| pending.remove(&r)) {
                                    if let Ok(mut a) = acks.lock() { a.record("ack", at.elapsed()); }
                                }
                            } else if v["type"] == "error" {
                                if let Ok(mut a) = acks.lock() { a.record(v["code"].as_str().unwrap_or("error"), Duration::ZERO); }
                                if let Some(r) = v["ref"].as_u64() { pending.remove(&r); }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                }
            }
            reader.await.unwrap_or(0)
        }));
    }
    let mut delivered = 0;
    for t in tasks {
        delivered += t.await?;
    }
    let elapsed = start.elapsed();
    report.server_peak_rss_kib = server.rss_kib().1;
    if let Ok(res) = client()
        .get(format!("{}/metrics", server.address))
        .send()
        .await
    {
        let text = res.text().await.unwrap_or_default();
        for line in text
            .lines()
            .filter(|l| l.starts_with("bazaar_ws_closed_total"))
        {
            report.notes.push(format!("server: {line}"));
        }
    }
    let mut acks = Arc::try_unwrap(acks)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .unwrap_or_else(Recorder::new);
    let mut received = Arc::try_unwrap(received)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .unwrap_or_else(Recorder::new);
    for r in [&mut acks, &mut received] {
        r.finish();
    }
    let mut a = acks.figures("send -> ack", "m/s", acks.count());
    a.seconds = elapsed.as_secs_f64();
    a.throughput = acks.count() as f64 / a.seconds;
    let mut r = received.figures("send -> other party's socket", "m/s", received.count());
    r.seconds = a.seconds;
    r.throughput = received.count() as f64 / r.seconds;
    let expected = per_pair * pairs;
    let dups = received.outcomes.get("duplicate").copied().unwrap_or(0);
    report.checks.push(Check::new(
        "none missing",
        delivered == expected,
        format!("{delivered} of {expected} delivered"),
    ));
    report.checks.push(Check::new(
        "none duplicated",
        dups == 0,
        format!("{dups} duplicates"),
    ));
    report.checks.push(Check::new(
        "target: p99 send -> receive <= 10 ms",
        r.p99_ms <= 10.0,
        format!("{:.2} ms", r.p99_ms),
    ));
    report.rows.push(a);
    report.rows.push(r);
    Ok(report)
}

/// Descriptors the server and the load generator need besides the sockets (database files,
/// listeners, epoll and event descriptors).
const FD_RESERVE: u64 = 500;

pub async fn idle(c: &Common, sockets: usize) -> anyhow::Result<Report> {
    let mut report = Report::new("idle", &c.database);
    let limit = crate::harness::raise_fd_limit();
    report
        .notes
        .push(format!("open-file limit raised to {limit}"));
    // Both ends hold one descriptor per socket, and the limit is per process: past it the
    // run would only measure "too many open files".
    let most = limit.saturating_sub(FD_RESERVE) as usize;
    let sockets = if sockets > most {
        report.notes.push(format!(
            "{sockets} sockets asked for; {most} held: the open-file hard limit is {limit} per process"
        ));
        most
    } else {
        sockets
    };
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let users = seed_users(&mut conn, "u", 1, 0)?;
    let server = bazaar(c, &db)?;
    // Warm the server up with one socket so per-socket figures exclude start-up allocations.
    let warm = open_socket(&server.address, "/api/v1/ws", Some(&users[0].1)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, _) = server.rss_kib();
    let started = Instant::now();
    let held = open_many(&server.address, "/api/v1/ws", Some(&users[0].1), sockets).await?;
    let opened = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (after, peak) = server.rss_kib();
    report.server_peak_rss_kib = peak;
    let per = (after.saturating_sub(before)) as f64 / held.len().max(1) as f64;
    report.notes.push(format!("{} sockets opened in {:.1} s; server RSS {before} KiB -> {after} KiB: {per:.1} KiB per socket", held.len(), opened.as_secs_f64()));
    report.checks.push(Check::new(
        "all sockets held",
        held.len() == sockets,
        format!("{}", held.len()),
    ));
    report.checks.push(Check::new(
        "target: <= 20 KiB of server RSS per socket",
        per <= 20.0,
        format!("{per:.1} KiB"),
    ));
    drop(warm);
    drop(held);
    Ok(report)
}

pub async fn mixed(c: &Common, users_count: usize, seconds: u64) -> anyhow::Result<Report> {
    let mut report = Report::new("mixed", &c.database);
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let users = seed_users(&mut conn, "u", users_count, 1_000_000)?;
    let mut items = Vec::new();
    for (i, u) in users.iter().enumerate() {
        items.push((
            listing(&mut conn, u.0, &format!("Thing {i}"), 1_000, 3, "mixed")?,
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
            let mut by_kind: std::collections::BTreeMap<&'static str, Recorder> =
                std::collections::BTreeMap::new();
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
                        http.get(format!("{base}/api/v1/listings?category=mixed&limit=20")),
                    ),
                    80..=89 => (
                        "like",
                        http.put(format!("{base}/api/v1/listings/{item}/like")),
                    ),
                    90..=94 => (
                        "offer",
                        http.post(format!("{base}/api/v1/listings/{item}/offers"))
                            .json(&json!({"amount_cents": 700})),
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
    let mut kinds: std::collections::BTreeMap<&'static str, Recorder> =
        std::collections::BTreeMap::new();
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
    for (kind, mut r) in kinds {
        r.finish();
        let mut row = r.figures(&format!("  of which {kind}"), "r/s", r.count());
        row.seconds = total.elapsed().as_secs_f64();
        row.throughput = r.count() as f64 / row.seconds.max(1e-9);
        report.rows.push(row);
    }
    let errors: u64 = total
        .outcomes
        .iter()
        .filter(|(k, _)| {
            k.ends_with(" transport") || k.split(' ').nth(1).is_some_and(|s| s.starts_with('5'))
        })
        .map(|(_, v)| v)
        .sum();
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
