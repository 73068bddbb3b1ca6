//! The database going away (PostgreSQL backends killed by an administrator), and SQLite's
//! write-ahead log kept bounded under load.

use crate::helpers::*;
use crate::ws_helpers::connect;
use diesel::prelude::*;
use reqwest::{Method, Response};
use serde_json::json;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Terminates every other connection to the test database, as an administrator would, from
/// a connection of its own, and waits until they are gone. Returns how many it killed.
async fn kill_backends(admin: diesel::PgConnection) -> (diesel::PgConnection, usize) {
    tokio::task::spawn_blocking(move || {
        let mut admin = admin;
        let killed: Vec<Pid> = diesel::sql_query(
            // Materialised first, so the planner cannot call pg_terminate_backend on this
            // connection before the filter that spares it.
            "WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()) \
             SELECT pid FROM victims WHERE pg_terminate_backend(pid)",
        )
        .load(&mut admin)
        .expect("terminate backends");
        let pids: Vec<i32> = killed.iter().map(|p| p.pid).collect();
        // Waits for the condition, not for a time: the killed backends have exited.
        for _ in 0..3000 {
            let left: Count =
                diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1)")
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Integer>, _>(&pids)
                    .get_result(&mut admin)
                    .expect("count backends");
            if left.n == 0 {
                return (admin, pids.len());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("terminated backends did not exit");
    })
    .await
    .expect("killer")
}

/// What one request came to: `Ok(true)` for success, `Ok(false)` for a proper 503 (problem+json,
/// `Retry-After`, none of the driver's words); anything else is `Err` with what was wrong.
async fn outcome_of(what: &str, response: Response) -> Result<bool, String> {
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(true);
    }
    let retry_after = response.headers().get("retry-after").is_some();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.unwrap_or_default();
    if status != 503 {
        return Err(format!("{what}: {status} during a database outage: {body}"));
    }
    if !retry_after || content_type != "application/problem+json" {
        return Err(format!(
            "{what}: 503 without Retry-After or problem+json: {body}"
        ));
    }
    let problem: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let detail = problem["detail"].as_str().unwrap_or_default();
    for driver_words in [
        "FATAL",
        "terminating",
        "server closed",
        "connection to server",
    ] {
        if detail.contains(driver_words) {
            return Err(format!("{what}: the driver's words in {detail:?}"));
        }
    }
    Ok(false)
}

/// A mix of requests that each succeed while the database is up: reads, an authenticated
/// lookup, listing edits and purchases (the listing actor), deposits (the wallet), chat
/// messages (the chat writer).
struct Traffic {
    app: Rc<TestApp>,
    seller: TestUser,
    buyer: TestUser,
    listing: i64,
    conversation: i64,
    sent: AtomicU64,
}

impl Traffic {
    async fn new(app: Rc<TestApp>) -> Traffic {
        let seller = app.user("seller").await;
        let buyer = app.user("buyer").await;
        let listing = app
            .listing(&seller, json!({"price_cents": 1, "quantity": 100_000}))
            .await;
        app.deposit(&buyer, 1_000_000).await;
        let conversation = json_of(
            app.post(
                &format!("/api/v1/listings/{}/conversations", listing["id"]),
                Some(&buyer.token),
                &json!({}),
            )
            .await,
            201,
        )
        .await;
        Traffic {
            seller,
            buyer,
            listing: listing["id"].as_i64().expect("listing id"),
            conversation: conversation["id"].as_i64().expect("conversation id"),
            sent: AtomicU64::new(0),
            app,
        }
    }

    /// The `n`th request of the mix.
    async fn request(&self, n: u64) -> (&'static str, Response) {
        let app = &self.app;
        let listing = format!("/api/v1/listings/{}", self.listing);
        match n % 6 {
            0 => ("read a listing", app.get(&listing, None).await),
            1 => (
                "who am I",
                app.get("/api/v1/me", Some(&self.buyer.token)).await,
            ),
            2 => (
                "edit a listing",
                app.patch(
                    &listing,
                    Some(&self.seller.token),
                    &json!({"title": format!("Edit {n}")}),
                )
                .await,
            ),
            3 => (
                "buy",
                app.post(
                    &format!("{listing}/purchase"),
                    Some(&self.buyer.token),
                    &json!({}),
                )
                .await,
            ),
            4 => (
                "deposit",
                app.post(
                    "/api/v1/wallet/deposits",
                    Some(&self.buyer.token),
                    &json!({"amount_cents": 1}),
                )
                .await,
            ),
            _ => {
                let id = self.sent.fetch_add(1, Ordering::Relaxed);
                (
                    "chat",
                    app.request(
                        Method::POST,
                        &format!("/api/v1/conversations/{}/messages", self.conversation),
                        Some(&self.buyer.token),
                    )
                    .json(&json!({"body": "still there?", "client_msg_id": format!("m{id}")}))
                    .send()
                    .await
                    .expect("the server answers"),
                )
            }
        }
    }
}

#[actix_web::test]
async fn a_lost_database_is_503_with_retry_after_never_500_and_dead_connections_are_dropped() {
    // Every request asks the database: no login or listing served from memory.
    let app = spawn_app_with(|s| {
        s.auth_cache_ms = 0;
        s.listing_cache_ms = 0;
    })
    .await;
    if !app.db.is_postgres() {
        // SQLite has no server to lose: its outages (a file that cannot be opened, I/O
        // errors, the write lock timing out) are classified by the unit tests of
        // store::outage, one on a real SQLite error.
        eprintln!("a_lost_database_is_503…: runs on PostgreSQL only");
        return;
    }
    let pool_size = 8; // spawn_app's
    let admin = diesel::PgConnection::establish(app.db.url()).expect("admin connection");
    let traffic = Rc::new(Traffic::new(Rc::new(app)).await);

    // Clients send requests while the database's connections are killed, five times over.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Rc::new(AtomicU64::new(0));
    let unavailable = Rc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4u64)
        .map(|client| {
            let (traffic, stop) = (traffic.clone(), stop.clone());
            let (answered, unavailable) = (answered.clone(), unavailable.clone());
            actix_web::rt::spawn(async move {
                let mut n = client;
                while !stop.load(Ordering::SeqCst) {
                    let (what, response) = traffic.request(n).await;
                    if !outcome_of(what, response).await? {
                        unavailable.fetch_add(1, Ordering::SeqCst);
                    }
                    answered.fetch_add(1, Ordering::SeqCst);
                    n += 4;
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    // Some requests between kills (a count, not a time); a client that stopped on a wrong
    // answer ends the wait.
    let progress = |seen: u64| {
        let (answered, clients) = (answered.clone(), &clients);
        async move {
            while answered.load(Ordering::SeqCst) < seen + 30
                && !clients.iter().any(|c| c.is_finished())
            {
                actix_web::rt::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    let mut admin = admin;
    let mut killed = 0;
    for _ in 0..5 {
        progress(answered.load(Ordering::SeqCst)).await;
        let (conn, n) = kill_backends(admin).await;
        admin = conn;
        killed += n;
    }
    progress(answered.load(Ordering::SeqCst)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        if let Err(wrong) = client.await.expect("client") {
            panic!("{wrong}");
        }
    }
    assert!(killed >= 5, "only {killed} connections were killed");
    eprintln!(
        "{} requests, {} answered 503, {killed} connections killed",
        answered.load(Ordering::SeqCst),
        unavailable.load(Ordering::SeqCst)
    );

    // Once more with no request running: the pool is full of dead connections. The first
    // request may meet one and be told 503; from then on the pool hands none of them out.
    let (admin, n) = kill_backends(admin).await;
    assert!(n > 0, "the pool had connections to kill");
    let mut failed = Vec::new();
    for n in 0..(3 * pool_size) {
        let (what, response) = traffic.request(n).await;
        if !outcome_of(what, response)
            .await
            .unwrap_or_else(|wrong| panic!("{wrong}"))
        {
            failed.push(n);
        }
    }
    assert!(
        failed.is_empty() || failed == [0],
        "requests {failed:?} met a dead connection after the first"
    );

    // A socket open through a kill: a chat message it sends is acknowledged, or refused
    // `unavailable` (send it again); the socket stays open, and the next one is stored.
    let mut socket = connect(&traffic.app, &traffic.buyer).await;
    let _ = kill_backends(admin).await;
    for (reference, id) in [(1, "ws-1"), (2, "ws-2")] {
        socket
            .send(
                json!({"op": "chat.send", "conversation_id": traffic.conversation,
                         "client_msg_id": id, "body": "hello?", "ref": reference}),
            )
            .await;
        let answer = socket
            .until(|f| f["ref"] == reference && (f["type"] == "ack" || f["type"] == "error"))
            .await;
        if answer["type"] == "error" {
            assert_eq!(answer["code"], "unavailable", "{answer}");
            assert_eq!(
                reference, 1,
                "the second message met a dead connection: {answer}"
            );
            socket
                .send(
                    json!({"op": "chat.send", "conversation_id": traffic.conversation,
                             "client_msg_id": id, "body": "hello?", "ref": 10 + reference}),
                )
                .await;
            socket
                .until(|f| f["ref"] == 10 + reference && f["type"] == "ack")
                .await;
        }
    }
}

#[actix_web::test]
async fn the_sqlite_write_ahead_log_stays_bounded_while_readers_are_active() {
    const BOUND: u64 = 256 * 1024;
    let app = spawn_app_with(|s| s.sqlite_wal_max_bytes = BOUND).await;
    let TestDb::Sqlite { url, .. } = &app.db else {
        eprintln!("the_sqlite_write_ahead_log…: SQLite only");
        return;
    };
    let wal = std::path::PathBuf::from(format!(
        "{}-wal",
        url.strip_prefix("sqlite://").expect("sqlite URL")
    ));
    let app = Rc::new(app);
    let seller = app.user("seller").await;
    let stop = Rc::new(AtomicBool::new(false));
    // Readers: listing pages read over and over while the writes go on.
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (app, stop) = (app.clone(), stop.clone());
            actix_web::rt::spawn(async move {
                let mut reads = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    json_of(app.get("/api/v1/listings?limit=50", None).await, 200).await;
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    // Writers: listings with long descriptions, far more in all than the bound. Each looks
    // at the log's size after each of its writes.
    let description = "x".repeat(3000);
    let largest = Rc::new(AtomicU64::new(0));
    let writes = 600;
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (app, seller) = (app.clone(), seller.clone());
            let (description, largest, wal) = (description.clone(), largest.clone(), wal.clone());
            actix_web::rt::spawn(async move {
                for i in 0..writes / 3 {
                    app.listing(
                        &seller,
                        json!({"title": format!("Item {w}-{i}"), "description": description}),
                    )
                    .await;
                    let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
                    largest.fetch_max(size, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    stop.store(true, Ordering::SeqCst);
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.expect("reader");
    }
    let largest = largest.load(Ordering::SeqCst);
    // Without the bound the same load grew the log to 4.6 MB here (18 times the bound).
    // With it, the log never holds more than the bound plus the one write that may follow a
    // check: a listing's insert is a few pages, and a step of the merger of the words index
    // 64 pages written and as many freed (30 runs here saw writes of up to 63 pages, 260 KB).
    // Until FTS5's own merging was turned off (migration `search_words_merged_in_background`)
    // a listing's insert could carry hundreds of pages of merging: a CI run saw the log at 385
    // pages (1.58 MB). Allowed: 1 MiB.
    let one_write = 1024 * 1024;
    eprintln!("{writes} writes, {reads} reads; largest write-ahead log {largest} bytes");
    assert!(reads > 0, "no read ran beside the writes");
    assert!(
        largest <= BOUND + one_write,
        "the write-ahead log reached {largest} bytes (bound {BOUND})"
    );
}

/// The server's log entries about the background job `job` whose message is `message`.
fn job_log(server: &ServerProcess, job: &str, message: &str) -> Vec<serde_json::Value> {
    server
        .log()
        .into_iter()
        .filter(|e| e["job"] == job && e["message"] == message)
        .collect()
}

/// A background job that fails at every tick (the saved-search matcher, every 500 ms, its
/// queue's table renamed away under it, as a database refusing it would) is logged when it
/// begins to fail and, after that, once a minute, not at every tick; and logged when it works
/// again, with the failures counted.
#[test]
fn a_background_job_failing_at_every_tick_is_logged_once_and_again_when_it_works() {
    use diesel::connection::SimpleConnection;
    const JOB: &str = "matching saved searches";
    let db = TestDb::create();
    let server = ServerProcess::start(&["serve"], &[("DATABASE_URL", db.url())], None);
    let mut conn = db.connect();
    conn.batch_execute("ALTER TABLE saved_search_pending RENAME TO saved_search_pending_away")
        .unwrap();
    // A dozen of the matcher's ticks.
    std::thread::sleep(Duration::from_secs(6));
    conn.batch_execute("ALTER TABLE saved_search_pending_away RENAME TO saved_search_pending")
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let again = loop {
        let again = job_log(&server, JOB, "a background job works again");
        if !again.is_empty() || std::time::Instant::now() > deadline {
            break again;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let failed = job_log(&server, JOB, "a background job failed");
    assert_eq!(failed.len(), 1, "logged at every tick: {failed:#?}");
    assert_eq!(failed[0]["level"], "ERROR", "{}", failed[0]);
    assert_eq!(failed[0]["failed_unlogged"], 0, "{}", failed[0]);
    assert_eq!(again.len(), 1, "not logged as working again: {again:#?}");
    let failures = again[0]["failures"].as_u64().unwrap_or(0);
    assert!(failures >= 5, "a failure a tick for 6 s: {}", again[0]);
}

/// A listing whose alerts the database refuses to write (a trigger that fails every insert
/// into the alerts' ledger, as a full disk would fail them) fails at every run of the matcher:
/// logged once, not every 500 ms, and alerted once the database takes the writes again.
#[actix_web::test]
async fn a_listing_whose_alerts_are_refused_is_logged_once_and_alerted_once_they_are_taken() {
    use diesel::connection::SimpleConnection;
    const JOB: &str = "matching a listing against saved searches";
    let db = TestDb::create();
    let server = ServerProcess::start(&["serve"], &[("DATABASE_URL", db.url())], None);
    let mut people = db.users_fast("refused", 2);
    let (owner, seller) = (people.remove(0), people.remove(0));
    let http = http_client();
    let post = |path: &str, token: &str, body: serde_json::Value| {
        http.post(format!("{}/api/v1{path}", server.address))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let search = post("/me/saved-searches", &owner.token, json!({"q": "quokka"}))
        .await
        .unwrap();
    assert_eq!(search.status(), 201);
    let search: serde_json::Value = search.json().await.unwrap();
    let mut conn = db.connect();
    conn.batch_execute(if db.is_postgres() {
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON saved_search_alerts \
         FOR EACH ROW EXECUTE FUNCTION refuse();"
    } else {
        "CREATE TRIGGER refuse BEFORE INSERT ON saved_search_alerts \
         BEGIN SELECT RAISE(ABORT, 'refused'); END;"
    })
    .unwrap();
    let listing = post(
        "/listings",
        &seller.token,
        json!({"title": "Quokka plush", "price_cents": 1_500}),
    )
    .await
    .unwrap();
    assert_eq!(listing.status(), 201);
    // A dozen of the matcher's runs.
    tokio::time::sleep(Duration::from_secs(6)).await;
    conn.batch_execute(if db.is_postgres() {
        "DROP TRIGGER refuse ON saved_search_alerts"
    } else {
        "DROP TRIGGER refuse"
    })
    .unwrap();
    let mut alerts = Vec::new();
    for _ in 0..200 {
        alerts = crate::saved_searches::alerts_in_inbox(&server.address, &owner).await;
        if !alerts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listing: serde_json::Value = listing.json().await.unwrap();
    let expected = (
        search["id"].as_i64().unwrap(),
        listing["id"].as_i64().unwrap(),
    );
    assert_eq!(alerts, [expected], "alerted once the writes are taken");
    let failed = job_log(&server, JOB, "a background job failed");
    assert_eq!(failed.len(), 1, "logged at every run: {failed:#?}");
    let error = failed[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("refused"), "{}", failed[0]);
    let again = job_log(&server, JOB, "a background job works again");
    assert_eq!(again.len(), 1, "{again:#?}");
    assert!(
        again[0]["failures"].as_u64().unwrap_or(0) >= 5,
        "{}",
        again[0]
    );
}
