//! No oversell under any concurrency, over the network.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;
use std::collections::HashMap;

#[actix_web::test]
async fn two_thousand_purchase_attempts_from_two_hundred_clients_sell_exactly_seven() {
    let app = spawn_app_with(|s| s.pool_size = 16).await;
    let seller = app.user("seller").await;
    let listing = app
        .listing(&seller, json!({"price_cents": 1_000, "quantity": 7}))
        .await;
    let buyers = app.users_fast("buyer", 200);
    for buyer in &buyers {
        app.deposit(buyer, 2_500).await;
    }
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    // 200 clients, 10 attempts each, all at once.
    let clients = buyers.iter().map(|buyer| {
        let (app, path) = (&app, path.clone());
        async move {
            let mut codes = Vec::new();
            for _ in 0..10 {
                let res = app
                    .request(Method::POST, &path, Some(&buyer.token))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                if status != 201 {
                    assert_eq!(body["status"], status, "not problem+json: {body}");
                }
                codes.push(status);
            }
            (buyer.id, codes)
        }
    });
    let results = futures_util::future::join_all(clients).await;
    let mut tally: HashMap<u16, usize> = HashMap::new();
    let mut bought: HashMap<i64, i64> = HashMap::new();
    for (buyer, codes) in &results {
        for code in codes {
            *tally.entry(*code).or_default() += 1;
            if *code == 201 {
                *bought.entry(*buyer).or_default() += 1;
            }
        }
    }
    assert_eq!(tally.get(&201), Some(&7), "{tally:?}");
    assert_eq!(tally.get(&409), Some(&1_993), "{tally:?}");
    assert_eq!(tally.len(), 2, "{tally:?}");

    let l = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    assert_eq!(
        (l["quantity"].as_i64(), l["status"].as_str()),
        (Some(0), Some("sold_out"))
    );
    let sold = json_of(
        app.get("/api/v1/orders?role=seller&limit=100", Some(&seller.token))
            .await,
        200,
    )
    .await;
    assert_eq!(sold["items"].as_array().unwrap().len(), 7);
    for buyer in &buyers {
        let n = bought.get(&buyer.id).copied().unwrap_or(0);
        let wallet = app.wallet(buyer).await;
        assert_eq!(
            wallet["available_cents"],
            2_500 - 1_000 * n,
            "buyer {}",
            buyer.id
        );
        assert_eq!(wallet["in_escrow_cents"], 1_000 * n, "buyer {}", buyer.id);
    }
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn an_acceptance_racing_a_buy_now_for_the_last_unit_has_one_winner() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    for round in 0..5 {
        let offerer = app.user(&format!("offerer{round}")).await;
        let buyer = app.user(&format!("buyer{round}")).await;
        app.deposit(&offerer, 10_000).await;
        app.deposit(&buyer, 10_000).await;
        let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
        let offer = json_of(
            app.post(
                &format!("/api/v1/listings/{}/offers", listing["id"]),
                Some(&offerer.token),
                &json!({"amount_cents": 8_000}),
            )
            .await,
            201,
        )
        .await;
        let (accept_path, purchase_path, empty) = (
            format!("/api/v1/offers/{}/accept", offer["id"]),
            format!("/api/v1/listings/{}/purchase", listing["id"]),
            json!({}),
        );
        let accept = app.post(&accept_path, Some(&seller.token), &empty);
        let purchase = app.post(&purchase_path, Some(&buyer.token), &empty);
        let (accepted, purchased) = futures_util::future::join(accept, purchase).await;
        let codes = (accepted.status().as_u16(), purchased.status().as_u16());
        assert!(
            codes == (200, 409) || codes == (409, 201),
            "round {round}: {codes:?}"
        );
        let orders = json_of(
            app.get("/api/v1/orders?role=seller&limit=100", Some(&seller.token))
                .await,
            200,
        )
        .await;
        assert_eq!(orders["items"].as_array().unwrap().len(), round + 1);
    }
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn fifty_concurrent_retries_with_one_key_make_one_order() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 100_000).await;
    let listing = app
        .listing(&seller, json!({"price_cents": 1_000, "quantity": 100}))
        .await;
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    let retries = (0..50).map(|_| {
        app.request(Method::POST, &path, Some(&buyer.token))
            .header("idempotency-key", "same-key")
            .json(&json!({"quantity": 1}))
            .send()
    });
    let mut bodies = Vec::new();
    for res in futures_util::future::join_all(retries).await {
        let res = res.unwrap();
        let status = res.status().as_u16();
        assert!(status == 201 || status == 409, "{status}");
        if status == 201 {
            bodies.push(res.text().await.unwrap());
        }
    }
    assert!(!bodies.is_empty());
    assert!(bodies.iter().all(|b| *b == bodies[0]), "replays differ");
    let orders = json_of(
        app.get("/api/v1/orders?limit=100", Some(&buyer.token))
            .await,
        200,
    )
    .await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 1);
    // After the first finished, every retry replays it.
    let late = app
        .request(Method::POST, &path, Some(&buyer.token))
        .header("idempotency-key", "same-key")
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 201);
    assert_eq!(late.text().await.unwrap(), bodies[0]);
    assert_eq!(app.wallet(&buyer).await["available_cents"], 99_000);
}

#[actix_web::test]
async fn in_a_group_commit_one_buyers_failure_leaves_the_others_purchases_standing() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app
        .listing(&seller, json!({"price_cents": 1_000, "quantity": 10}))
        .await;
    let buyers = app.users_fast("buyer", 16);
    // Half of them can pay.
    for buyer in buyers.iter().step_by(2) {
        app.deposit(buyer, 1_000).await;
    }
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    let attempts = buyers.iter().map(|b| {
        app.request(Method::POST, &path, Some(&b.token))
            .json(&json!({}))
            .send()
    });
    let codes: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    for (i, code) in codes.iter().enumerate() {
        let expected = if i % 2 == 0 { 201 } else { 402 };
        assert_eq!(*code, expected, "buyer {i}: {codes:?}");
    }
    let l = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    assert_eq!(l["quantity"], 2);
    // A batch of purchases is one listing write: one inventory event per batch, each with the
    // stock after it, so the last one says what is left.
    let mut events = app.events(&format!("listing:{}", listing["id"]));
    assert_eq!(events.remove(0).1, "listing.created");
    assert!(
        (1..=8).contains(&events.len()),
        "one inventory event per batch: {events:?}"
    );
    assert!(events
        .iter()
        .all(|(_, kind, _)| kind == "listing.inventory_changed"));
    let left: Vec<i64> = events
        .iter()
        .map(|(_, _, data)| data["quantity"].as_i64().unwrap())
        .collect();
    assert!(
        left.windows(2).all(|w| w[0] > w[1]),
        "stock only falls: {left:?}"
    );
    assert_eq!(left.last(), Some(&2));
    app.assert_ledger_balanced();
}
