//! Negotiation and rating rules an audit over the network found wanting (issue 16): price-drop
//! alerts against the price a liker last saw, thresholds on a buyer's counter, no rating after
//! the window, and no offer to likers with nobody to reach.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn price_alerts(app: &TestApp, user: &TestUser) -> Vec<i64> {
    let inbox = json_of(
        app.get("/api/v1/notifications", Some(&user.token)).await,
        200,
    )
    .await;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "notification.price_drop")
        .map(|n| n["data"]["new_price_cents"].as_i64().unwrap())
        .collect()
}

#[actix_web::test]
async fn small_drops_alert_a_liker_once_their_total_from_the_seen_price_reaches_ten_percent() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let fan = app.user("fan").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    app.like(&fan, &listing, None).await;
    // Three 5% drops: -5%, -9.75%: nothing yet; -14.26% from the price the fan saw: alerted.
    app.set_price(&seller, &listing, 9_500).await;
    app.set_price(&seller, &listing, 9_025).await;
    assert_eq!(price_alerts(&app, &fan).await, Vec::<i64>::new());
    app.set_price(&seller, &listing, 8_574).await;
    assert_eq!(price_alerts(&app, &fan).await, vec![8_574]);
    // The alert moved what the fan last saw: another 5% from there says nothing...
    app.set_price(&seller, &listing, 8_145).await;
    assert_eq!(price_alerts(&app, &fan).await, vec![8_574]);
    // ...and a second 5% (-9.75% from 85.74) neither; a third reaches it.
    app.set_price(&seller, &listing, 7_738).await;
    assert_eq!(price_alerts(&app, &fan).await, vec![8_574]);
    app.set_price(&seller, &listing, 7_351).await;
    assert_eq!(price_alerts(&app, &fan).await, vec![8_574, 7_351]);
    // A liker who likes now has seen the current price: a 5% drop says nothing to them.
    let late = app.user("late").await;
    app.like(&late, &listing, None).await;
    app.set_price(&seller, &listing, 6_983).await;
    assert_eq!(price_alerts(&app, &late).await, Vec::<i64>::new());
}

async fn offer(app: &TestApp, buyer: &TestUser, listing: &Value, amount: i64) -> Value {
    json_of(
        app.post(
            &format!("/api/v1/listings/{}/offers", listing["id"]),
            Some(&buyer.token),
            &json!({"amount_cents": amount}),
        )
        .await,
        201,
    )
    .await
}

async fn counter(app: &TestApp, who: &TestUser, offer: &Value, amount: i64) -> Value {
    json_of(
        app.post(
            &format!("/api/v1/offers/{}/counter", offer["id"]),
            Some(&who.token),
            &json!({"amount_cents": amount}),
        )
        .await,
        200,
    )
    .await
}

#[actix_web::test]
async fn the_sellers_thresholds_apply_to_a_buyers_counter() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let keen = app.user("keen").await;
    let cheap = app.user("cheap").await;
    app.deposit(&keen, 20_000).await;
    let listing = app
        .listing(
            &seller,
            json!({"price_cents": 10_000, "quantity": 2,
                   "auto_accept_cents": 9_000, "auto_decline_cents": 6_000}),
        )
        .await;
    // A counter at the auto-accept threshold buys at once.
    let first = offer(&app, &keen, &listing, 7_000).await;
    assert_eq!(first["status"], "open");
    counter(&app, &seller, &first, 9_800).await;
    let accepted = counter(&app, &keen, &first, 9_000).await;
    assert_eq!(
        (accepted["status"].as_str(), accepted["reason"].as_str()),
        (Some("accepted"), Some("auto_accepted"))
    );
    let orders = json_of(
        app.get("/api/v1/orders?role=buyer", Some(&keen.token))
            .await,
        200,
    )
    .await;
    assert_eq!(orders["items"][0]["total_cents"], 9_000);
    assert_eq!(orders["items"][0]["offer_id"], first["id"]);
    // A counter below the auto-decline threshold is declined at once.
    let second = offer(&app, &cheap, &listing, 7_000).await;
    counter(&app, &seller, &second, 9_500).await;
    let declined = counter(&app, &cheap, &second, 5_500).await;
    assert_eq!(
        (declined["status"].as_str(), declined["reason"].as_str()),
        (Some("declined"), Some("auto_declined"))
    );
    // The seller's own counters are never decided for them.
    let third = offer(&app, &cheap, &listing, 7_000).await;
    let countered = counter(&app, &seller, &third, 9_500).await;
    assert_eq!(countered["status"], "open");
}

#[actix_web::test]
async fn nobody_rates_once_the_rating_window_closed() {
    let app = spawn_app_with(|s| s.rating_window_secs = 1).await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 20_000).await;
    app.give_address(&buyer).await;
    let listing = app.listing(&seller, json!({"price_cents": 5_000})).await;
    let order = app.buy_one(&buyer, &listing).await;
    app.order_action(&seller, &order, "ship").await;
    app.order_action(&buyer, &order, "confirm").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for who in [&buyer, &seller] {
        let refused = problem(
            app.post(
                &format!("/api/v1/orders/{}/rating", order["id"]),
                Some(&who.token),
                &json!({"stars": 5}),
            )
            .await,
            409,
        )
        .await;
        assert!(
            refused["detail"]
                .as_str()
                .unwrap()
                .contains("rating window"),
            "{refused}"
        );
    }
}

#[actix_web::test]
async fn an_offer_to_likers_with_nobody_liking_is_refused_and_uses_nothing_up() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let fan = app.user("fan").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    let path = format!("/api/v1/listings/{}/liker-offers", listing["id"]);
    let body = json!({"amount_cents": 8_000});
    let refused = problem(app.post(&path, Some(&seller.token), &body).await, 409).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("nobody likes"),
        "{refused}"
    );
    app.like(&fan, &listing, None).await;
    let sent = json_of(app.post(&path, Some(&seller.token), &body).await, 201).await;
    assert_eq!(sent["offers"].as_array().unwrap().len(), 1);
}
