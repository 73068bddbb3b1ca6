//! Stored deadlines: offer expiry and auto-completion, including across a restart.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn an_offer_expires_when_its_deadline_passes() {
    let app = spawn_app_with(|s| {
        s.offer_ttl_secs = 1;
        s.timer_interval_ms = 50;
    })
    .await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    let offer = json_of(
        app.post(
            &format!("/api/v1/listings/{}/offers", listing["id"]),
            Some(&buyer.token),
            &json!({"amount_cents": 6_000}),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/api/v1/offers/{}", offer["id"]);
    let expired = wait_until(Duration::from_secs(10), || async {
        json_of(app.get(&path, Some(&buyer.token)).await, 200).await["status"] == "expired"
    })
    .await;
    assert!(expired, "the offer did not expire");
    problem(
        app.post(&format!("{path}/accept"), Some(&seller.token), &json!({}))
            .await,
        409,
    )
    .await;
    assert_eq!(
        app.event_types(&format!("user:{}", buyer.id)),
        ["offer.created", "offer.expired"]
    );
}

#[actix_web::test]
async fn a_shipped_order_completes_by_itself() {
    let app = spawn_app_with(|s| {
        s.auto_complete_secs = 1;
        s.timer_interval_ms = 50;
    })
    .await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 10_000).await;
    app.give_address(&buyer).await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    let order = app.buy_one(&buyer, &listing).await;
    app.order_action(&seller, &order, "ship").await;
    let path = format!("/api/v1/orders/{}", order["id"]);
    let completed = wait_until(Duration::from_secs(10), || async {
        json_of(app.get(&path, Some(&buyer.token)).await, 200).await["status"] == "completed"
    })
    .await;
    assert!(completed, "the order did not complete by itself");
    assert_eq!(app.wallet(&seller).await["available_cents"], 9_000);
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn a_deadline_that_passed_while_the_server_was_down_fires_once_at_start_up() {
    let db = TestDb::create();
    let env = [("DATABASE_URL", db.url())];
    // The first server never checks its deadlines (an hour between checks) and is stopped.
    let mut first = ServerProcess::start(
        &[
            "serve",
            "--offer-ttl-secs",
            "1",
            "--timer-interval-ms",
            "3600000",
        ],
        &env,
        None,
    );
    let client = http_client();
    let post = |base: &str, path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut req = client.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let base = first.address.clone();
    for name in ["seller", "buyer"] {
        let res = post(
            &base,
            "/api/v1/users",
            None,
            json!({"username": name, "password": "password123"}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 201);
    }
    let mut tokens = Vec::new();
    for name in ["seller", "buyer"] {
        let s: serde_json::Value = post(
            &base,
            "/api/v1/sessions",
            None,
            json!({"username": name, "password": "password123"}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        tokens.push(s["token"].as_str().unwrap().to_owned());
    }
    let listing: serde_json::Value = post(
        &base,
        "/api/v1/listings",
        Some(&tokens[0]),
        json!({"title": "Lamp", "price_cents": 1_000}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let offer: serde_json::Value = post(
        &base,
        &format!("/api/v1/listings/{}/offers", listing["id"]),
        Some(&tokens[1]),
        json!({"amount_cents": 600}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(offer["status"], "open");
    assert!(first
        .signal_and_wait("TERM", Duration::from_secs(20))
        .is_some());
    std::thread::sleep(Duration::from_millis(1_200));

    // The second server finds the passed deadline at start-up.
    let second = ServerProcess::start(&["serve", "--timer-interval-ms", "100"], &env, None);
    let path = format!("{}/api/v1/offers/{}", second.address, offer["id"]);
    let expired = wait_until(Duration::from_secs(10), || async {
        let o: serde_json::Value = client
            .get(&path)
            .bearer_auth(&tokens[1])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        o["status"] == "expired"
    })
    .await;
    assert!(
        expired,
        "the passed deadline did not fire after the restart"
    );
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let mut conn = db.connect();
    let buyer_events = bazaar_actors::store::events::after(
        &mut conn,
        &format!("user:{}", offer["buyer_id"]),
        0,
        100,
    )
    .unwrap();
    let expiries = buyer_events
        .iter()
        .filter(|e| e.event_type == "offer.expired")
        .count();
    assert_eq!(expiries, 1, "the expiry fired {expiries} times");
}

/// The timekeeper's price-drop read on SQLite goes through the partial index of scheduled drops
/// (`listings_price_drops_due`) on a reader's and on a writer's connection alike, and sorts
/// nothing: with only the next drop in that index, SQLite (no statistics) took the status index
/// for the status the query names and sorted every active listing, 0.7 s a tick at a million.
#[test]
fn sqlite_finds_due_price_drops_through_their_index_without_sorting() {
    use bazaar_actors::store::{self, listings, DbConnection};
    use diesel::sql_types::{BigInt, Text, Timestamp};

    let Some((_db, pool)) = migrated_sqlite_pool() else {
        return;
    };
    let now = store::now();
    let query = listings::due_price_drops_query(now, 500);
    let statement = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
    let statement = statement
        .split(" -- binds:")
        .next()
        .expect("the statement's text");
    let plan = |conn: &mut DbConnection| -> String {
        sqlite_plan(
            conn,
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {statement}"))
                .bind::<Timestamp, _>(now)
                .bind::<Text, _>("active")
                .bind::<BigInt, _>(500),
        )
    };
    for (who, plan) in [
        ("writer", plan(&mut pool.get().expect("writer"))),
        ("reader", plan(&mut pool.read().expect("reader"))),
    ] {
        assert!(plan.contains("listings_price_drops_due"), "{who}: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{who}: {plan}");
    }
}
