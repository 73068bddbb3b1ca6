//! Offer negotiation over the network.

use crate::helpers::*;
use serde_json::{json, Value};

fn offers_path(listing: &Value) -> String {
    format!("/api/v1/listings/{}/offers", listing["id"])
}

async fn offer(app: &TestApp, buyer: &TestUser, listing: &Value, amount: i64) -> reqwest::Response {
    app.post(
        &offers_path(listing),
        Some(&buyer.token),
        &json!({"amount_cents": amount}),
    )
    .await
}

async fn act(
    app: &TestApp,
    who: &TestUser,
    offer: &Value,
    action: &str,
    body: Value,
) -> reqwest::Response {
    app.post(
        &format!("/api/v1/offers/{}/{action}", offer["id"]),
        Some(&who.token),
        &body,
    )
    .await
}

#[actix_web::test]
async fn sides_take_turns_and_acceptance_buys_at_the_agreed_price() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 20_000).await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;

    let o = json_of(offer(&app, &buyer, &listing, 6_000).await, 201).await;
    assert_eq!(
        (
            o["status"].as_str(),
            o["turn"].as_str(),
            o["round"].as_i64()
        ),
        (Some("open"), Some("seller"), Some(1))
    );
    assert!(o["expires_at"].is_string());
    // Not the buyer's turn.
    problem(
        act(&app, &buyer, &o, "counter", json!({"amount_cents": 7_000})).await,
        409,
    )
    .await;
    problem(act(&app, &buyer, &o, "accept", json!({})).await, 409).await;
    // The seller counters (not above the list price).
    invalid_fields(
        act(
            &app,
            &seller,
            &o,
            "counter",
            json!({"amount_cents": 10_001}),
        )
        .await,
        &["amount_cents"],
    )
    .await;
    let c = json_of(
        act(&app, &seller, &o, "counter", json!({"amount_cents": 9_000})).await,
        200,
    )
    .await;
    assert_eq!(
        (
            c["turn"].as_str(),
            c["round"].as_i64(),
            c["amount_cents"].as_i64()
        ),
        (Some("buyer"), Some(2), Some(9_000))
    );
    problem(act(&app, &seller, &o, "accept", json!({})).await, 409).await;
    // The buyer counters back, and the seller accepts.
    json_of(
        act(&app, &buyer, &o, "counter", json!({"amount_cents": 8_000})).await,
        200,
    )
    .await;
    let accepted = json_of(act(&app, &seller, &o, "accept", json!({})).await, 200).await;
    assert_eq!(accepted["offer"]["status"], "accepted");
    assert_eq!(accepted["order"]["total_cents"], 8_000);
    assert_eq!(accepted["order"]["offer_id"], o["id"]);
    let history: Vec<(&str, &str)> = accepted["offer"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["action"].as_str().unwrap(), h["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("offered", "buyer"),
            ("countered", "seller"),
            ("countered", "buyer"),
            ("accepted", "seller")
        ]
    );
    let wallet = app.wallet(&buyer).await;
    assert_eq!(
        (
            wallet["available_cents"].as_i64(),
            wallet["in_escrow_cents"].as_i64()
        ),
        (Some(12_000), Some(8_000))
    );
    problem(act(&app, &buyer, &o, "withdraw", json!({})).await, 409).await;
    assert_eq!(
        app.event_types(&format!("user:{}", buyer.id)),
        [
            "offer.created",
            "offer.countered",
            "offer.countered",
            "offer.accepted",
            "order.created"
        ]
    );
    let mut seller_events = app.event_types(&format!("user:{}", seller.id));
    assert_eq!(seller_events.remove(0), "listing.created");
    assert_eq!(
        seller_events,
        app.event_types(&format!("user:{}", buyer.id))
    );
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn offer_rules_and_authorization() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let stranger = app.user("stranger").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    problem(
        app.post(
            &offers_path(&listing),
            None,
            &json!({"amount_cents": 6_000}),
        )
        .await,
        401,
    )
    .await;
    problem(offer(&app, &seller, &listing, 6_000).await, 403).await;
    invalid_fields(
        offer(&app, &buyer, &listing, 4_999).await,
        &["amount_cents"],
    )
    .await;
    invalid_fields(
        offer(&app, &buyer, &listing, 10_001).await,
        &["amount_cents"],
    )
    .await;
    invalid_fields(
        app.post(
            &offers_path(&listing),
            Some(&buyer.token),
            &json!({"amount_cents": 6_000, "quantity": 0}),
        )
        .await,
        &["quantity"],
    )
    .await;
    problem(
        app.post(
            "/api/v1/listings/999999/offers",
            Some(&buyer.token),
            &json!({"amount_cents": 6_000}),
        )
        .await,
        404,
    )
    .await;

    let first = json_of(offer(&app, &buyer, &listing, 5_000).await, 201).await;
    problem(offer(&app, &buyer, &listing, 6_000).await, 409).await;
    // Only the parties see or touch it; only the buyer withdraws.
    problem(
        app.get(
            &format!("/api/v1/offers/{}", first["id"]),
            Some(&stranger.token),
        )
        .await,
        403,
    )
    .await;
    problem(
        act(&app, &stranger, &first, "decline", json!({})).await,
        403,
    )
    .await;
    problem(act(&app, &seller, &first, "withdraw", json!({})).await, 403).await;
    problem(
        app.get("/api/v1/offers/999999", Some(&buyer.token)).await,
        404,
    )
    .await;
    json_of(
        app.get(
            &format!("/api/v1/offers/{}", first["id"]),
            Some(&seller.token),
        )
        .await,
        200,
    )
    .await;
    let w = json_of(act(&app, &buyer, &first, "withdraw", json!({})).await, 200).await;
    assert_eq!(w["status"], "withdrawn");
    let second = json_of(offer(&app, &buyer, &listing, 5_500).await, 201).await;
    let d = json_of(act(&app, &seller, &second, "decline", json!({})).await, 200).await;
    assert_eq!(d["status"], "declined");
    problem(act(&app, &seller, &second, "accept", json!({})).await, 409).await;
    json_of(offer(&app, &buyer, &listing, 6_000).await, 201).await;
    // Three offers in all per buyer and listing.
    let third = json_of(
        app.get(&offers_path(&listing), Some(&buyer.token)).await,
        200,
    )
    .await;
    assert_eq!(third["items"].as_array().unwrap().len(), 3);
    let last = third["items"][2].clone();
    json_of(act(&app, &buyer, &last, "withdraw", json!({})).await, 200).await;
    let refused = problem(offer(&app, &buyer, &listing, 7_000).await, 409).await;
    assert!(refused["detail"].as_str().unwrap().contains("most offers"));

    // The seller sees every offer on the listing; others only their own.
    json_of(offer(&app, &stranger, &listing, 7_000).await, 201).await;
    let all = json_of(
        app.get(&offers_path(&listing), Some(&seller.token)).await,
        200,
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    let own = json_of(
        app.get(&offers_path(&listing), Some(&stranger.token)).await,
        200,
    )
    .await;
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
    problem(app.get(&offers_path(&listing), None).await, 401).await;
}

#[actix_web::test]
async fn auto_accept_buys_at_once_and_auto_decline_refuses_at_once() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 20_000).await;
    let listing = app
        .listing(
            &seller,
            json!({"price_cents": 10_000, "auto_accept_cents": 9_000, "auto_decline_cents": 6_000}),
        )
        .await;
    let low = json_of(offer(&app, &buyer, &listing, 5_900).await, 201).await;
    assert_eq!(
        (low["status"].as_str(), low["reason"].as_str()),
        (Some("declined"), Some("auto_declined"))
    );
    let mid = json_of(offer(&app, &buyer, &listing, 7_000).await, 201).await;
    assert_eq!(mid["status"], "open");
    json_of(act(&app, &buyer, &mid, "withdraw", json!({})).await, 200).await;
    let high = json_of(offer(&app, &buyer, &listing, 9_000).await, 201).await;
    assert_eq!(high["status"], "accepted");
    assert_eq!(high["order"]["total_cents"], 9_000);
    let l = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    assert_eq!(l["status"], "sold_out");
}

#[actix_web::test]
async fn selling_out_declines_every_open_offer() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    app.deposit(&b, 10_000).await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    let open = json_of(offer(&app, &a, &listing, 6_000).await, 201).await;
    json_of(
        app.post(
            &format!("/api/v1/listings/{}/purchase", listing["id"]),
            Some(&b.token),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    let after = json_of(
        app.get(&format!("/api/v1/offers/{}", open["id"]), Some(&a.token))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (after["status"].as_str(), after["reason"].as_str()),
        (Some("declined"), Some("sold_out"))
    );
    assert_eq!(
        app.event_types(&format!("user:{}", a.id)),
        ["offer.created", "offer.declined"]
    );
    problem(offer(&app, &a, &listing, 6_000).await, 409).await;
}

#[actix_web::test]
async fn offers_to_likers_reach_current_and_new_likers() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let fan1 = app.user("fan1").await;
    let fan2 = app.user("fan2").await;
    let late = app.user("late").await;
    app.deposit(&fan1, 10_000).await;
    let listing = app
        .listing(&seller, json!({"price_cents": 10_000, "quantity": 3}))
        .await;
    let like = format!("/api/v1/listings/{}/like", listing["id"]);
    for fan in [&fan1, &fan2] {
        let res = app
            .request(reqwest::Method::PUT, &like, Some(&fan.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
    let path = format!("/api/v1/listings/{}/liker-offers", listing["id"]);
    problem(
        app.post(&path, Some(&fan1.token), &json!({"amount_cents": 8_000}))
            .await,
        403,
    )
    .await;
    invalid_fields(
        app.post(&path, Some(&seller.token), &json!({"amount_cents": 9_001}))
            .await,
        &["amount_cents"],
    )
    .await;
    let sent = json_of(
        app.post(&path, Some(&seller.token), &json!({"amount_cents": 9_000}))
            .await,
        201,
    )
    .await;
    let offers = sent["offers"].as_array().unwrap();
    assert_eq!(offers.len(), 2);
    assert!(offers
        .iter()
        .all(|o| o["turn"] == "buyer" && o["amount_cents"] == 9_000));
    problem(
        app.post(&path, Some(&seller.token), &json!({"amount_cents": 8_000}))
            .await,
        409,
    )
    .await;
    assert_eq!(
        app.event_types(&format!("user:{}", fan2.id)),
        ["offer.created", "notification.offer"]
    );

    // Someone who likes it while the offer is open gets it too.
    let res = app
        .request(reqwest::Method::PUT, &like, Some(&late.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let late_offers = json_of(
        app.get(
            &format!("/api/v1/listings/{}/offers", listing["id"]),
            Some(&late.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(late_offers["items"].as_array().unwrap().len(), 1);

    // A liker accepts it and buys at the offered price.
    let mine = offers.iter().find(|o| o["buyer_id"] == fan1.id).unwrap();
    let accepted = json_of(act(&app, &fan1, mine, "accept", json!({})).await, 200).await;
    assert_eq!(accepted["order"]["total_cents"], 9_000);
}

#[actix_web::test]
async fn the_remaining_offer_error_codes() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let stranger = app.user("stranger").await;
    // 409: the listing is not active.
    let draft = app
        .listing(&seller, json!({"status": "draft", "price_cents": 10_000}))
        .await;
    // Someone else's draft does not exist for the buyer (issue 13, point 10).
    problem(offer(&app, &buyer, &draft, 6_000).await, 404).await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    let o = json_of(offer(&app, &buyer, &listing, 6_000).await, 201).await;
    // 403: strangers may not counter or accept.
    problem(
        act(
            &app,
            &stranger,
            &o,
            "counter",
            json!({"amount_cents": 7_000}),
        )
        .await,
        403,
    )
    .await;
    problem(act(&app, &stranger, &o, "accept", json!({})).await, 403).await;
    // 402: the seller accepts, but the buyer's wallet cannot pay; nothing changes.
    let refused = problem(act(&app, &seller, &o, "accept", json!({})).await, 402).await;
    assert!(refused["detail"].as_str().unwrap().contains("funds"));
    let still = json_of(
        app.get(&format!("/api/v1/offers/{}", o["id"]), Some(&buyer.token))
            .await,
        200,
    )
    .await;
    assert_eq!(still["status"], "open");
    let l = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    assert_eq!(l["quantity"], 1);
    // 409: countering an offer that is no longer open.
    json_of(act(&app, &seller, &o, "decline", json!({})).await, 200).await;
    problem(
        act(&app, &seller, &o, "counter", json!({"amount_cents": 7_000})).await,
        409,
    )
    .await;
    problem(act(&app, &buyer, &o, "withdraw", json!({})).await, 409).await;
}

#[actix_web::test]
async fn someone_elses_draft_is_not_found_for_offers_and_purchases() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 50_000).await;
    let draft = app.listing(&seller, json!({"status": "draft"})).await;
    let id = &draft["id"];
    // 404 as for a listing that does not exist: a 409 "listing is draft" would say it does.
    let offer = app
        .post(
            &format!("/api/v1/listings/{id}/offers"),
            Some(&buyer.token),
            &json!({"amount_cents": 9_000}),
        )
        .await;
    assert_eq!(problem(offer, 404).await["detail"], "listing not found");
    let purchase = app
        .post(
            &format!("/api/v1/listings/{id}/purchase"),
            Some(&buyer.token),
            &json!({}),
        )
        .await;
    assert_eq!(problem(purchase, 404).await["detail"], "listing not found");
    assert_eq!(
        app.wallet(&buyer).await["available_cents"],
        50_000,
        "no money moved"
    );
    // The seller still hears why they cannot buy their own draft.
    let own = app
        .post(
            &format!("/api/v1/listings/{id}/purchase"),
            Some(&seller.token),
            &json!({}),
        )
        .await;
    problem(own, 403).await;
}
