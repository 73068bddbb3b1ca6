//! Idempotency-Keys: byte-for-byte replays on every keyed route, 409 with `Retry-After` while
//! the first request runs, a lapsed claim that runs afresh (and whose first request can no
//! longer commit), and a server killed with SIGKILL under load after which every key resolves
//! and no order is made twice.

use crate::helpers::*;
use bazaar_actors::store::idempotency::{self as keys, Claim, Held};
use bazaar_actors::store::schema::{idempotency_keys as k, orders};
use bazaar_actors::store::{self, DbConnection};
use chrono::Duration;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::{Client, Method, Response};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

const REPLAYED: &str = "idempotent-replayed";

/// Sends `body` to `path` with an Idempotency-Key.
async fn keyed(app: &TestApp, user: &TestUser, path: &str, key: &str, body: &Value) -> Response {
    app.request(Method::POST, path, Some(&user.token))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("request")
}

/// Sends it twice: the second answer replays the first, status and bytes. Returns both.
async fn twice(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, String) {
    let first = keyed(app, user, path, key, body).await;
    assert!(first.headers().get(REPLAYED).is_none());
    let (status, text) = (first.status().as_u16(), first.text().await.unwrap());
    let again = keyed(app, user, path, key, body).await;
    assert_eq!(again.status().as_u16(), status, "{path}");
    assert_eq!(again.headers()[REPLAYED], "true", "{path}");
    assert_eq!(again.text().await.unwrap(), text, "{path}: replay differs");
    (status, text)
}

#[actix_web::test]
async fn every_keyed_route_replays_its_first_answer_byte_for_byte() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let (status, deposit) = twice(
        &app,
        &buyer,
        "/api/v1/wallet/deposits",
        "dep",
        &json!({"amount_cents": 50_000}),
    )
    .await;
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(app.wallet(&buyer).await["available_cents"], 50_000);
    invalid_fields(
        keyed(
            &app,
            &buyer,
            "/api/v1/wallet/deposits",
            "dep",
            &json!({"amount_cents": 1}),
        )
        .await,
        &["Idempotency-Key"],
    )
    .await;
    let listing = app
        .listing(&seller, json!({"price_cents": 10_000, "quantity": 5}))
        .await;
    let offers = format!("/api/v1/listings/{}/offers", listing["id"]);
    let (status, offer) = twice(
        &app,
        &buyer,
        &offers,
        "off",
        &json!({"amount_cents": 8_000}),
    )
    .await;
    assert_eq!(status, 201, "{offer}");
    let offer: Value = serde_json::from_str(&offer).unwrap();
    let accept = format!("/api/v1/offers/{}/accept", offer["id"]);
    let (status, accepted) = twice(&app, &seller, &accept, "acc", &json!({})).await;
    assert_eq!(status, 200, "{accepted}");
    let purchase = format!("/api/v1/listings/{}/purchase", listing["id"]);
    let (status, order) = twice(&app, &buyer, &purchase, "buy", &json!({"quantity": 2})).await;
    assert_eq!(status, 201, "{order}");
    let withdraw = "/api/v1/wallet/withdrawals";
    let (status, _) = twice(
        &app,
        &buyer,
        withdraw,
        "wd",
        &json!({"amount_cents": 1_000}),
    )
    .await;
    assert_eq!(status, 201);
    // One accepted offer (8,000) and one purchase of two (20,000), each once.
    let orders = json_of(app.get("/api/v1/orders", Some(&buyer.token)).await, 200).await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 2);
    let wallet = app.wallet(&buyer).await;
    assert_eq!(wallet["available_cents"], 50_000 - 8_000 - 20_000 - 1_000);
    assert_eq!(wallet["in_escrow_cents"], 28_000);
}

/// The fingerprint the server stored for `user`'s `key`.
fn fingerprint_of(conn: &mut DbConnection, user: i64, key: &str) -> String {
    k::table
        .filter(k::user_id.eq(user))
        .filter(k::key.eq(key))
        .select(k::fingerprint)
        .get_result(conn)
        .expect("the key's row")
}

fn order_count(conn: &mut DbConnection) -> i64 {
    orders::table
        .count()
        .get_result(conn)
        .expect("count orders")
}

#[actix_web::test]
async fn a_running_key_is_409_with_retry_after_and_a_lapsed_one_runs_afresh() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 10_000).await;
    let listing = app
        .listing(&seller, json!({"price_cents": 1_000, "quantity": 5}))
        .await;
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    let body = json!({"quantity": 1});
    json_of(keyed(&app, &buyer, &path, "done", &body).await, 201).await;
    let mut conn = app.db.connect();
    let conn: &mut DbConnection = &mut conn;
    // A request with the key "stuck" is claimed and has not answered: as if it were running,
    // or its server had died with it in flight.
    let now = store::now();
    let fingerprint = fingerprint_of(conn, buyer.id, "done");
    diesel::insert_into(k::table)
        .values((
            k::user_id.eq(buyer.id),
            k::key.eq("stuck"),
            k::fingerprint.eq(&fingerprint),
            k::created_at.eq(now),
            k::token.eq(42_i64),
            k::locked_until.eq(now + Duration::seconds(60)),
        ))
        .execute(conn)
        .unwrap();
    let running = keyed(&app, &buyer, &path, "stuck", &body).await;
    assert_eq!(running.headers()["retry-after"], "1");
    let p = problem(running, 409).await;
    assert_eq!(p["type"], "/problems/in-progress");
    assert_eq!(order_count(conn), 1);

    // Its lease lapses: the next repeat runs it afresh, once.
    diesel::update(k::table.filter(k::key.eq("stuck")))
        .set(k::locked_until.eq(now - Duration::seconds(1)))
        .execute(conn)
        .unwrap();
    let fresh = keyed(&app, &buyer, &path, "stuck", &body).await;
    assert!(fresh.headers().get(REPLAYED).is_none());
    let fresh = json_of(fresh, 201).await;
    assert_eq!(order_count(conn), 2);
    let replay = keyed(&app, &buyer, &path, "stuck", &body).await;
    assert_eq!(replay.headers()[REPLAYED], "true");
    assert_eq!(json_of(replay, 201).await, fresh);
    // The first claim (token 42) can no longer hold, answer or release the key.
    let id: i64 = k::table
        .filter(k::key.eq("stuck"))
        .select(k::id)
        .get_result(conn)
        .unwrap();
    let stale = Held { id, token: 42 };
    assert!(!keys::hold(conn, stale).unwrap());
    assert!(!keys::answer(conn, stale, 500, "lost").unwrap());
    keys::release(conn, stale).unwrap();
    let replay = keyed(&app, &buyer, &path, "stuck", &body).await;
    assert_eq!(json_of(replay, 201).await, fresh);
    assert_eq!(order_count(conn), 2);
}

#[actix_web::test]
async fn a_claim_taken_over_can_neither_commit_nor_release_and_the_new_one_answers() {
    let app = spawn_app().await;
    let buyer = app.user("buyer").await;
    let mut conn = app.db.connect();
    let conn: &mut DbConnection = &mut conn;
    let claim = |conn: &mut DbConnection, fingerprint: &str, lease: Duration| {
        keys::claim(conn, buyer.id, "k", fingerprint, store::now(), lease).unwrap()
    };
    // A claim whose lease is already over (its request died).
    let Claim::Run {
        held: first,
        taken_over: false,
    } = claim(conn, "f", Duration::zero())
    else {
        panic!("a new key is claimed");
    };
    assert_eq!(claim(conn, "g", Duration::seconds(60)), Claim::Mismatch);
    let Claim::Run {
        held: second,
        taken_over: true,
    } = claim(conn, "f", Duration::seconds(60))
    else {
        panic!("a lapsed claim is taken over");
    };
    assert_eq!(second.id, first.id);
    assert_ne!(second.token, first.token);
    assert!(matches!(
        claim(conn, "f", Duration::seconds(60)),
        Claim::InProgress { lease_left } if lease_left > Duration::zero()
    ));
    assert!(!keys::hold(conn, first).unwrap());
    keys::release(conn, first).unwrap();
    assert!(keys::hold(conn, second).unwrap());
    assert!(keys::answer(conn, second, 201, "{\"id\":7}").unwrap());
    assert!(!keys::answer(conn, second, 500, "again").unwrap());
    assert_eq!(
        claim(conn, "f", Duration::seconds(60)),
        Claim::Replay {
            status: 201,
            body: "{\"id\":7}".into()
        }
    );
}

/// One keyed request of the crash test: what it sends, and what it was answered.
struct Attempt {
    token: String,
    path: String,
    key: String,
    body: Value,
    /// `Some(cents)` for a deposit.
    deposit: Option<i64>,
    /// The final answer it got before the crash, if any.
    first: Option<(u16, String)>,
}

/// Whether an answer is final: not "in progress", "busy" or "too slow, retry".
fn is_final(status: u16, body: &str) -> bool {
    let in_progress = status == 409 && body.contains("/problems/in-progress");
    !(in_progress || status == 503 || status == 429)
}

async fn send(client: &Client, base: &str, a: &Attempt) -> reqwest::Result<(u16, bool, String)> {
    let res = client
        .post(format!("{base}{}", a.path))
        .bearer_auth(&a.token)
        .header("idempotency-key", &a.key)
        .json(&a.body)
        .send()
        .await?;
    let status = res.status().as_u16();
    let replayed = res.headers().get(REPLAYED).is_some();
    Ok((status, replayed, res.text().await?))
}

const CLIENTS: usize = 12;
const OPS_PER_CLIENT: usize = 40;
const KILL_AFTER_ANSWERS: usize = 120;
const LEASE_MS: &str = "1500";
const PRICE: i64 = 100;
const DEPOSIT: i64 = 300;

#[actix_web::test]
async fn after_kill_9_under_load_every_key_resolves_and_no_order_is_made_twice() {
    let db = TestDb::create();
    // A small pool: PostgreSQL's connections are shared with the tests running beside it.
    let args = [
        "serve",
        "--idempotency-lease-ms",
        LEASE_MS,
        "--pool-size",
        "6",
    ];
    // Rate limits (where the server has them) would only slow the load down.
    let env = [("DATABASE_URL", db.url()), ("BAZAAR_RATE_LIMITS", "off")];
    let mut server = ServerProcess::start(&args, &env, None);
    let client = Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let seller = db.users_fast("seller", 1).remove(0);
    let buyers = db.users_fast("buyer", CLIENTS);
    let res = client
        .post(format!("{}/api/v1/listings", server.address))
        .bearer_auth(&seller.token)
        .json(&json!({"title": "Flash sale", "price_cents": PRICE, "quantity": 100_000}))
        .send()
        .await
        .unwrap();
    let listing = json_of(res, 201).await;
    let purchase = format!("/api/v1/listings/{}/purchase", listing["id"]);

    // Each client deposits, then buys (three purchases per deposit), each request with a key
    // of its own, one after another with no pause.
    let mut plans: Vec<Vec<Attempt>> = buyers
        .iter()
        .enumerate()
        .map(|(c, buyer)| {
            (0..OPS_PER_CLIENT)
                .map(|op| {
                    let deposit = op % 4 == 0;
                    Attempt {
                        token: buyer.token.clone(),
                        path: if deposit {
                            "/api/v1/wallet/deposits".into()
                        } else {
                            purchase.clone()
                        },
                        key: format!("c{c}-op{op}"),
                        body: if deposit {
                            json!({"amount_cents": DEPOSIT})
                        } else {
                            json!({"quantity": 1})
                        },
                        deposit: deposit.then_some(DEPOSIT),
                        first: None,
                    }
                })
                .collect()
        })
        .collect();

    let answered = AtomicUsize::new(0);
    let cut = AtomicUsize::new(0);
    let base = server.address.clone();
    let load = futures_util::future::join_all(plans.iter_mut().map(|plan| {
        let (client, base, answered, cut) = (&client, &base, &answered, &cut);
        async move {
            let mut sent = 0;
            for attempt in plan.iter_mut() {
                sent += 1;
                match send(client, base, attempt).await {
                    Ok((status, _, body)) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                        if is_final(status, &body) {
                            attempt.first = Some((status, body));
                        }
                    }
                    Err(_) => {
                        // The server died with this request in flight.
                        cut.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            sent
        }
    }));
    let kill = async {
        while answered.load(Ordering::Relaxed) < KILL_AFTER_ANSWERS {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        server.child.kill().expect("kill -9");
        server.child.wait().expect("reap");
    };
    let (sent, ()) = futures_util::future::join(load, kill).await;
    for (plan, sent) in plans.iter_mut().zip(sent) {
        plan.truncate(sent);
    }
    assert!(
        cut.load(Ordering::Relaxed) >= 1,
        "the kill caught no request in flight"
    );
    let unanswered: i64 = {
        let mut conn = db.connect();
        k::table
            .filter(k::status.is_null())
            .count()
            .get_result(&mut *conn)
            .unwrap()
    };
    eprintln!(
        "after kill -9: {} answers, {} requests cut, {unanswered} keys claimed and unanswered",
        answered.load(Ordering::Relaxed),
        cut.load(Ordering::Relaxed)
    );

    // Restart on the same database and repeat every key until it has a final answer.
    let server = ServerProcess::start(&args, &env, None);
    let base = server.address.clone();
    let finals = futures_util::future::join_all(plans.iter().map(|plan| {
        let (client, base) = (&client, &base);
        async move {
            let mut finals = Vec::new();
            for attempt in plan {
                let mut last = None;
                for _ in 0..300 {
                    let (status, replayed, body) =
                        send(client, base, attempt).await.expect("restarted server");
                    if is_final(status, &body) {
                        last = Some((status, replayed, body));
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                let Some((status, replayed, body)) = last else {
                    panic!("key {} never resolved", attempt.key);
                };
                if let Some((first_status, first_body)) = &attempt.first {
                    assert!(
                        replayed,
                        "key {}: answered again, not replayed",
                        attempt.key
                    );
                    assert_eq!(
                        (status, &body),
                        (*first_status, first_body),
                        "key {}: the replay differs from the first answer",
                        attempt.key
                    );
                }
                finals.push((status, body));
            }
            finals
        }
    }))
    .await;

    // Orders: exactly the ones the purchase keys finally answered 201, each once.
    let mut answered_orders = Vec::new();
    let mut deposited = 0;
    for (plan, finals) in plans.iter().zip(&finals) {
        for (attempt, (status, body)) in plan.iter().zip(finals) {
            if *status != 201 {
                continue;
            }
            match attempt.deposit {
                Some(cents) => deposited += cents,
                None => {
                    let order: Value = serde_json::from_str(body).unwrap();
                    answered_orders.push(order["id"].as_i64().expect("order id"));
                }
            }
        }
    }
    let named: BTreeSet<i64> = answered_orders.iter().copied().collect();
    assert_eq!(
        named.len(),
        answered_orders.len(),
        "two keys name one order"
    );
    let mut conn = db.connect();
    let stored: BTreeSet<i64> = orders::table
        .select(orders::id)
        .load::<i64>(&mut *conn)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        stored, named,
        "orders in the database differ from the orders the keys answered"
    );
    assert!(!stored.is_empty());

    // Money: every deposit answered 201 was posted once, and every order's price is in escrow.
    let (mut available, mut escrow) = (0, 0);
    for buyer in &buyers {
        let res = client
            .get(format!("{base}/api/v1/wallet"))
            .bearer_auth(&buyer.token)
            .send()
            .await
            .unwrap();
        let wallet = json_of(res, 200).await;
        available += wallet["available_cents"].as_i64().unwrap();
        escrow += wallet["in_escrow_cents"].as_i64().unwrap();
    }
    assert_eq!(
        available + escrow,
        deposited,
        "a deposit was lost or doubled"
    );
    assert_eq!(escrow, PRICE * stored.len() as i64);
    let unanswered: i64 = k::table
        .filter(k::status.is_null())
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(unanswered, 0, "a key is still unanswered");
}

#[actix_web::test]
async fn a_request_that_outlives_its_claim_commits_nothing_and_the_retry_buys_once() {
    let app = spawn_app_with(|s| s.idempotency_lease_ms = 2_000).await;
    if !app.db.is_postgres() {
        // SQLite has one writer: a lock that holds the purchase back would hold the retry's
        // claim back too. The token rules are checked on SQLite by the tests above.
        eprintln!("a_request_that_outlives_…: needs PostgreSQL (set {PG_ENV})");
        return;
    }
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 10_000).await;
    let listing = app
        .listing(&seller, json!({"price_cents": 1_000, "quantity": 5}))
        .await;
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    let body = json!({"quantity": 1});
    let mut conn = app.db.connect();
    // Another transaction holds the listing's row: the purchase's batch waits for it.
    let mut blocker = app.db.connect();
    let lock = format!(
        "BEGIN; SELECT id FROM listings WHERE id = {} FOR UPDATE",
        listing["id"]
    );
    SimpleConnection::batch_execute(&mut *blocker, &lock).unwrap();
    // The first request gives up before its claim's lease ends (503); its purchase stays in
    // its batch, waiting for the lock.
    let slow = keyed(&app, &buyer, &path, "slow", &body).await;
    assert_eq!(slow.headers()["retry-after"], "1");
    problem(slow, 503).await;
    let claim = |conn: &mut DbConnection| -> (i64, chrono::NaiveDateTime) {
        k::table
            .filter(k::key.eq("slow"))
            .select((k::token, k::locked_until))
            .get_result(conn)
            .unwrap()
    };
    let (first_token, lease_end) = claim(&mut conn);
    let left = (lease_end - store::now()).num_milliseconds().max(0) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(left + 100)).await;
    // A retry takes the key over; as soon as it has, the lock goes and both purchases run,
    // the first one's batch first.
    let retry = keyed(&app, &buyer, &path, "slow", &body);
    let unblock = async {
        for _ in 0..500 {
            if claim(&mut conn).0 != first_token {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        SimpleConnection::batch_execute(&mut *blocker, "COMMIT").unwrap();
    };
    let (retry, ()) = futures_util::future::join(retry, unblock).await;
    assert_ne!(
        claim(&mut conn).0,
        first_token,
        "the key was not taken over"
    );
    let status = retry.status().as_u16();
    let text = retry.text().await.unwrap();
    // 201: the retry's purchase ran; 503 only if this machine stalled past its deadline (its
    // purchase then never ran, and the key runs afresh below).
    assert!(status == 201 || status == 503, "{status} {text}");
    let mut answer = (status == 201).then(|| text.clone());
    for _ in 0..100 {
        if answer.is_some() {
            break;
        }
        let res = keyed(&app, &buyer, &path, "slow", &body).await;
        let (status, text) = (res.status().as_u16(), res.text().await.unwrap());
        if is_final(status, &text) {
            assert_eq!(status, 201, "{text}");
            answer = Some(text);
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let order: Value = serde_json::from_str(&answer.expect("the key resolves")).unwrap();
    // The first purchase lost its claim and committed nothing: one order, paid once.
    let made: Vec<i64> = orders::table.select(orders::id).load(&mut *conn).unwrap();
    assert_eq!(made, vec![order["id"].as_i64().unwrap()]);
    assert_eq!(app.wallet(&buyer).await["available_cents"], 9_000);
    let replay = keyed(&app, &buyer, &path, "slow", &body).await;
    assert_eq!(replay.headers()[REPLAYED], "true");
    assert_eq!(json_of(replay, 201).await, order);
}
