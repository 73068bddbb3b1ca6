//! Disputes over the network: opening one (both eligible states, wrong states), the seller's
//! refund, the dispute timer and the moderators' queue, every resolution with its ledger
//! postings, and who may call each route.

use crate::helpers::*;
use bazaar_actors::domain::ledger::Account;
use bazaar_actors::store::{self, DbConnection};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const PRICE: i64 = 10_000;

/// A seller, a buyer with money, another user, a moderator, and a listing of two units.
struct Market {
    seller: TestUser,
    buyer: TestUser,
    other: TestUser,
    moderator: TestUser,
    listing: Value,
}

async fn market(app: &TestApp) -> Market {
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let other = app.user("other").await;
    let moderator = crate::moderation::moderator(app, "moderator").await;
    app.deposit(&buyer, 5 * PRICE).await;
    app.give_address(&buyer).await;
    let listing = app
        .listing(&seller, json!({"price_cents": PRICE, "quantity": 2}))
        .await;
    Market {
        seller,
        buyer,
        other,
        moderator,
        listing,
    }
}

fn dispute_body() -> Value {
    json!({"reason": "not_as_described", "note": "The frame is cracked"})
}

async fn open(
    app: &TestApp,
    who: Option<&TestUser>,
    order: &Value,
    body: &Value,
) -> reqwest::Response {
    let path = format!("/api/v1/orders/{}/dispute", order["id"]);
    app.post(&path, who.map(|u| u.token.as_str()), body).await
}

/// A shipped order of `m`, disputed by its buyer: (order, dispute).
async fn disputed_order(app: &TestApp, m: &Market) -> (Value, Value) {
    let order = app.buy_one(&m.buyer, &m.listing).await;
    app.order_action(&m.seller, &order, "ship").await;
    let body = json_of(
        open(app, Some(&m.buyer), &order, &dispute_body()).await,
        201,
    )
    .await;
    (body["order"].clone(), body["dispute"].clone())
}

async fn resolve(
    app: &TestApp,
    who: Option<&TestUser>,
    order: &Value,
    body: &Value,
) -> reqwest::Response {
    let path = format!("/api/v1/admin/orders/{}/resolve", order["id"]);
    app.post(&path, who.map(|u| u.token.as_str()), body).await
}

async fn refund(app: &TestApp, who: Option<&TestUser>, order: &Value) -> reqwest::Response {
    let path = format!("/api/v1/orders/{}/refund", order["id"]);
    app.post(&path, who.map(|u| u.token.as_str()), &json!({}))
        .await
}

async fn order_status(app: &TestApp, who: &TestUser, order: &Value) -> Value {
    let path = format!("/api/v1/orders/{}", order["id"]);
    json_of(app.get(&path, Some(&who.token)).await, 200).await["status"].clone()
}

async fn quantity(app: &TestApp, listing: &Value) -> i64 {
    let path = format!("/api/v1/listings/{}", listing["id"]);
    json_of(app.get(&path, None).await, 200).await["quantity"]
        .as_i64()
        .unwrap()
}

fn fees(app: &TestApp) -> i64 {
    let mut conn = app.db.connect();
    let conn: &mut DbConnection = &mut conn;
    store::ledger::balance(conn, &Account::PlatformFees).unwrap()
}

/// Runs `sql` on the test database (to move a stored deadline into the past).
fn execute(app: &TestApp, sql: &str) {
    use diesel::RunQueryDsl;
    let mut conn = app.db.connect();
    let conn: &mut DbConnection = &mut conn;
    diesel::sql_query(sql).execute(conn).unwrap();
}

/// The kinds in `user`'s inbox, oldest first.
async fn inbox(app: &TestApp, user: &TestUser) -> Vec<String> {
    let body = json_of(
        app.get("/api/v1/notifications", Some(&user.token)).await,
        200,
    )
    .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn queue(app: &TestApp, who: &TestUser, query: &str) -> Value {
    let path = format!("/api/v1/admin/disputes{query}");
    json_of(app.get(&path, Some(&who.token)).await, 200).await
}

/// The audit log's entries about `order`, newest first.
async fn audit_of(app: &TestApp, moderator: &TestUser, order: &Value) -> Vec<Value> {
    let path = format!(
        "/api/v1/admin/audit?target_type=order&target_id={}",
        order["id"]
    );
    let page = json_of(app.get(&path, Some(&moderator.token)).await, 200).await;
    page["items"].as_array().unwrap().clone()
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dispute"]["id"].as_i64().unwrap())
        .collect()
}

#[actix_web::test]
async fn the_buyer_disputes_a_shipped_order_and_both_parties_hear_of_it() {
    let app = spawn_app_with(|s| s.timer_interval_ms = 50).await;
    let m = market(&app).await;
    let (order, dispute) = disputed_order(&app, &m).await;
    assert_eq!(order["status"], "disputed");
    assert_eq!(order["auto_complete_at"], Value::Null);
    assert_eq!(dispute["reason"], "not_as_described");
    assert_eq!(dispute["note"], "The frame is cracked");
    assert_eq!(dispute["outcome"], Value::Null);
    assert_eq!(dispute["escalated_at"], Value::Null);
    for party in [&m.buyer, &m.seller] {
        let events = app.event_types(&format!("user:{}", party.id));
        assert_eq!(events.last().map(String::as_str), Some("order.disputed"));
        assert_eq!(inbox(&app, party).await, ["order.disputed"]);
    }
    // Auto-completion stops: even a deadline in the past completes nothing.
    execute(
        &app,
        &format!(
            "UPDATE orders SET auto_complete_at = '2020-01-01 00:00:00' WHERE id = {}",
            order["id"]
        ),
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(order_status(&app, &m.buyer, &order).await, "disputed");
    assert_eq!(app.wallet(&m.seller).await["available_cents"], 0);
    assert_eq!(app.wallet(&m.buyer).await["in_escrow_cents"], PRICE);
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn a_paid_order_is_disputable_once_its_ship_deadline_passed() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let order = app.buy_one(&m.buyer, &m.listing).await;
    let body = json!({"reason": "not_received", "note": "Nothing shipped"});
    problem(open(&app, Some(&m.buyer), &order, &body).await, 409).await;
    execute(
        &app,
        &format!(
            "UPDATE orders SET ship_by = '2020-01-01 00:00:00' WHERE id = {}",
            order["id"]
        ),
    );
    let disputed = json_of(open(&app, Some(&m.buyer), &order, &body).await, 201).await;
    assert_eq!(disputed["order"]["status"], "disputed");
    assert_eq!(disputed["dispute"]["reason"], "not_received");
    // Once disputed, the buyer can no longer cancel it either.
    problem(
        app.post(
            &format!("/api/v1/orders/{}/cancel", order["id"]),
            Some(&m.buyer.token),
            &json!({}),
        )
        .await,
        409,
    )
    .await;
}

#[actix_web::test]
async fn only_an_open_order_can_be_disputed_and_only_once() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let (disputed, _) = disputed_order(&app, &m).await;
    problem(
        open(&app, Some(&m.buyer), &disputed, &dispute_body()).await,
        409,
    )
    .await;
    let completed = app.buy_one(&m.buyer, &m.listing).await;
    app.order_action(&m.seller, &completed, "ship").await;
    app.order_action(&m.buyer, &completed, "confirm").await;
    problem(
        open(&app, Some(&m.buyer), &completed, &dispute_body()).await,
        409,
    )
    .await;
    let listing = app.listing(&m.seller, json!({"price_cents": PRICE})).await;
    let cancelled = app.buy_one(&m.buyer, &listing).await;
    app.order_action(&m.seller, &cancelled, "cancel").await;
    problem(
        open(&app, Some(&m.buyer), &cancelled, &dispute_body()).await,
        409,
    )
    .await;
}

#[actix_web::test]
async fn who_may_open_a_dispute() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let order = app.buy_one(&m.buyer, &m.listing).await;
    app.order_action(&m.seller, &order, "ship").await;
    for who in [&m.seller, &m.other, &m.moderator] {
        problem(open(&app, Some(who), &order, &dispute_body()).await, 403).await;
    }
    problem(open(&app, None, &order, &dispute_body()).await, 401).await;
    problem(
        open(
            &app,
            Some(&m.buyer),
            &json!({"id": 999_999}),
            &dispute_body(),
        )
        .await,
        404,
    )
    .await;
    invalid_fields(
        open(
            &app,
            Some(&m.buyer),
            &order,
            &json!({"reason": "bored", "note": "x"}),
        )
        .await,
        &["reason"],
    )
    .await;
    invalid_fields(
        open(
            &app,
            Some(&m.buyer),
            &order,
            &json!({"reason": "damaged", "note": "  "}),
        )
        .await,
        &["note"],
    )
    .await;
    assert_eq!(order_status(&app, &m.buyer, &order).await, "shipped");
    // The buyer's own dispute is accepted.
    json_of(
        open(&app, Some(&m.buyer), &order, &dispute_body()).await,
        201,
    )
    .await;
}

#[actix_web::test]
async fn the_seller_refunds_in_full_restocking_only_what_never_shipped() {
    let app = spawn_app().await;
    let m = market(&app).await;
    // Paid, never shipped: refunded and back in stock.
    let paid = app.buy_one(&m.buyer, &m.listing).await;
    assert_eq!(quantity(&app, &m.listing).await, 1);
    let refunded = json_of(refund(&app, Some(&m.seller), &paid).await, 200).await;
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(quantity(&app, &m.listing).await, 2);
    assert_eq!(app.wallet(&m.buyer).await["available_cents"], 5 * PRICE);
    // Shipped: refunded, not restocked.
    let shipped = app.buy_one(&m.buyer, &m.listing).await;
    app.order_action(&m.seller, &shipped, "ship").await;
    json_of(refund(&app, Some(&m.seller), &shipped).await, 200).await;
    assert_eq!(quantity(&app, &m.listing).await, 1);
    // Disputed: refunded, and the dispute ends as the seller's refund.
    let (disputed, _) = disputed_order(&app, &m).await;
    json_of(refund(&app, Some(&m.seller), &disputed).await, 200).await;
    assert_eq!(quantity(&app, &m.listing).await, 0);
    let buyer_wallet = app.wallet(&m.buyer).await;
    assert_eq!(buyer_wallet["available_cents"], 5 * PRICE);
    assert_eq!(buyer_wallet["in_escrow_cents"], 0);
    assert_eq!(app.wallet(&m.seller).await["available_cents"], 0);
    let events = app.event_types(&format!("user:{}", m.seller.id));
    assert_eq!(
        events[events.len() - 2..],
        ["order.refunded", "order.dispute_resolved"]
    );
    assert_eq!(
        inbox(&app, &m.buyer).await,
        ["order.disputed", "order.dispute_resolved"]
    );
    // A refunded order is not refunded twice, nor a completed one at all.
    problem(refund(&app, Some(&m.seller), &disputed).await, 409).await;
    let listing = app.listing(&m.seller, json!({"price_cents": PRICE})).await;
    let completed = app.buy_one(&m.buyer, &listing).await;
    app.order_action(&m.seller, &completed, "ship").await;
    app.order_action(&m.buyer, &completed, "confirm").await;
    problem(refund(&app, Some(&m.seller), &completed).await, 409).await;
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn who_may_refund() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let order = app.buy_one(&m.buyer, &m.listing).await;
    for who in [&m.buyer, &m.other, &m.moderator] {
        problem(refund(&app, Some(who), &order).await, 403).await;
    }
    problem(refund(&app, None, &order).await, 401).await;
    problem(
        refund(&app, Some(&m.seller), &json!({"id": 999_999})).await,
        404,
    )
    .await;
    assert_eq!(order_status(&app, &m.buyer, &order).await, "paid");
    json_of(refund(&app, Some(&m.seller), &order).await, 200).await;
}

#[actix_web::test]
async fn an_unresolved_dispute_is_escalated_once_and_queued_first_never_paid_out() {
    let app = spawn_app_with(|s| s.timer_interval_ms = 50).await;
    let m = market(&app).await;
    let listing = app
        .listing(&m.seller, json!({"price_cents": PRICE, "quantity": 3}))
        .await;
    let mut disputes = Vec::new();
    for _ in 0..3 {
        let order = app.buy_one(&m.buyer, &listing).await;
        app.order_action(&m.seller, &order, "ship").await;
        let body = json_of(
            open(&app, Some(&m.buyer), &order, &dispute_body()).await,
            201,
        )
        .await;
        disputes.push(body["dispute"]["id"].as_i64().unwrap());
    }
    let (a, b, c) = (disputes[0], disputes[1], disputes[2]);
    assert_eq!(ids(&queue(&app, &m.moderator, "").await), [a, b, c]);
    // The middle one's timer passes: it is escalated and comes first.
    execute(
        &app,
        &format!("UPDATE disputes SET escalate_at = '2020-01-01 00:00:00' WHERE id = {b}"),
    );
    let escalated = wait_until(Duration::from_secs(10), || async {
        ids(&queue(&app, &m.moderator, "").await) == [b, a, c]
    })
    .await;
    assert!(escalated, "the dispute was not escalated");
    let first = queue(&app, &m.moderator, "").await;
    let escalated_at = first["items"][0]["dispute"]["escalated_at"].clone();
    assert!(escalated_at.is_string(), "{first}");
    assert_eq!(first["items"][0]["order"]["status"], "disputed");
    assert_eq!(first["items"][1]["dispute"]["escalated_at"], Value::Null);
    // More ticks change nothing: it fired once, and no money moved.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = queue(&app, &m.moderator, "").await;
    assert_eq!(again["items"][0]["dispute"]["escalated_at"], escalated_at);
    assert_eq!(app.wallet(&m.buyer).await["in_escrow_cents"], 3 * PRICE);
    assert_eq!(app.wallet(&m.seller).await["available_cents"], 0);
    // Cursor pages of one keep the order.
    let mut seen = Vec::new();
    let mut query = "?limit=1".to_owned();
    loop {
        let page = queue(&app, &m.moderator, &query).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [b, a, c]);
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn a_moderator_refunds_the_buyer() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let (order, _) = disputed_order(&app, &m).await;
    let body = json!({"outcome": "refund_buyer", "note": "Tracking shows it lost"});
    let resolved = json_of(resolve(&app, Some(&m.moderator), &order, &body).await, 200).await;
    assert_eq!(resolved["order"]["status"], "refunded");
    let dispute = &resolved["dispute"];
    assert_eq!(dispute["outcome"], "refund_buyer");
    assert_eq!(
        (
            dispute["buyer_cents"].clone(),
            dispute["seller_cents"].clone(),
            dispute["fee_cents"].clone()
        ),
        (json!(PRICE), json!(0), json!(0))
    );
    assert_eq!(dispute["resolved_by"], m.moderator.id);
    assert_eq!(dispute["resolution_note"], "Tracking shows it lost");
    assert_eq!(app.wallet(&m.buyer).await["available_cents"], 5 * PRICE);
    assert_eq!(app.wallet(&m.seller).await["available_cents"], 0);
    // It shipped: the unit stays sold.
    assert_eq!(quantity(&app, &m.listing).await, 1);
    for party in [&m.buyer, &m.seller] {
        assert_eq!(
            inbox(&app, party).await,
            ["order.disputed", "order.dispute_resolved"]
        );
    }
    let audit = audit_of(&app, &m.moderator, &order).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["action"], "dispute_resolved");
    assert_eq!(audit[0]["actor_id"], m.moderator.id);
    let note = audit[0]["note"].as_str().unwrap();
    assert!(
        note.starts_with("refund_buyer: buyer 10000 cents, seller 0 cents, fee 0 cents"),
        "{note}"
    );
    assert!(note.ends_with("Tracking shows it lost"), "{note}");
    // Resolved once: a second resolution is refused, moves nothing and records nothing.
    problem(resolve(&app, Some(&m.moderator), &order, &body).await, 409).await;
    assert_eq!(app.wallet(&m.buyer).await["available_cents"], 5 * PRICE);
    assert_eq!(audit_of(&app, &m.moderator, &order).await.len(), 1);
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn a_moderator_releases_to_the_seller_less_the_fee() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let (order, _) = disputed_order(&app, &m).await;
    let body = json!({"outcome": "release_seller", "note": "Photos match the listing"});
    let resolved = json_of(resolve(&app, Some(&m.moderator), &order, &body).await, 200).await;
    assert_eq!(resolved["order"]["status"], "completed");
    assert_eq!(resolved["dispute"]["seller_cents"], 9_000);
    assert_eq!(resolved["dispute"]["fee_cents"], 1_000);
    assert_eq!(app.wallet(&m.seller).await["available_cents"], 9_000);
    assert_eq!(app.wallet(&m.buyer).await["in_escrow_cents"], 0);
    assert_eq!(fees(&app), 1_000);
    let audit = audit_of(&app, &m.moderator, &order).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(audit[0]["note"]
        .as_str()
        .unwrap()
        .starts_with("release_seller: buyer 0 cents, seller 9000 cents, fee 1000 cents"));
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn a_split_pays_the_buyer_their_part_and_the_seller_the_rest_less_its_fee() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let (order, _) = disputed_order(&app, &m).await;
    let body = json!({"outcome": "split", "buyer_cents": 4_000, "note": "Damaged, still usable"});
    let resolved = json_of(resolve(&app, Some(&m.moderator), &order, &body).await, 200).await;
    assert_eq!(resolved["order"]["status"], "completed");
    let dispute = &resolved["dispute"];
    assert_eq!(dispute["outcome"], "split");
    assert_eq!(
        (
            dispute["buyer_cents"].clone(),
            dispute["seller_cents"].clone(),
            dispute["fee_cents"].clone()
        ),
        (json!(4_000), json!(5_400), json!(600))
    );
    assert_eq!(
        app.wallet(&m.buyer).await["available_cents"],
        5 * PRICE - PRICE + 4_000
    );
    assert_eq!(app.wallet(&m.buyer).await["in_escrow_cents"], 0);
    assert_eq!(app.wallet(&m.seller).await["available_cents"], 5_400);
    assert_eq!(fees(&app), 600);
    let audit = audit_of(&app, &m.moderator, &order).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(audit[0]["note"]
        .as_str()
        .unwrap()
        .starts_with("split: buyer 4000 cents, seller 5400 cents, fee 600 cents"));
    let events = app.event_types(&format!("user:{}", m.buyer.id));
    assert_eq!(
        events.last().map(String::as_str),
        Some("order.dispute_resolved")
    );
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn a_resolution_must_name_a_sound_outcome() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let (order, _) = disputed_order(&app, &m).await;
    let bad = [
        (json!({"outcome": "split", "note": "n"}), "buyer_cents"),
        (
            json!({"outcome": "split", "buyer_cents": PRICE + 1, "note": "n"}),
            "buyer_cents",
        ),
        (
            json!({"outcome": "split", "buyer_cents": -1, "note": "n"}),
            "buyer_cents",
        ),
        (
            json!({"outcome": "refund_buyer", "buyer_cents": 5, "note": "n"}),
            "buyer_cents",
        ),
        (json!({"outcome": "toss_a_coin", "note": "n"}), "outcome"),
        (json!({"outcome": "refund_buyer", "note": ""}), "note"),
    ];
    for (body, field) in bad {
        invalid_fields(
            resolve(&app, Some(&m.moderator), &order, &body).await,
            &[field],
        )
        .await;
    }
    // An order that is not disputed has nothing to resolve.
    let paid = app.buy_one(&m.buyer, &m.listing).await;
    let body = json!({"outcome": "release_seller", "note": "n"});
    problem(resolve(&app, Some(&m.moderator), &paid, &body).await, 409).await;
    problem(
        resolve(&app, Some(&m.moderator), &json!({"id": 999_999}), &body).await,
        404,
    )
    .await;
    assert_eq!(order_status(&app, &m.buyer, &order).await, "disputed");
    assert!(audit_of(&app, &m.moderator, &order).await.is_empty());
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn only_moderators_resolve_and_see_the_queue() {
    let app = spawn_app().await;
    let m = market(&app).await;
    let (order, _) = disputed_order(&app, &m).await;
    let body = json!({"outcome": "release_seller", "note": "n"});
    for who in [&m.buyer, &m.seller, &m.other] {
        problem(resolve(&app, Some(who), &order, &body).await, 403).await;
        problem(
            app.get("/api/v1/admin/disputes", Some(&who.token)).await,
            403,
        )
        .await;
    }
    problem(resolve(&app, None, &order, &body).await, 401).await;
    problem(app.get("/api/v1/admin/disputes", None).await, 401).await;
    // A seller who is also a moderator sees the queue but may not judge their own dispute.
    crate::moderation::grant(
        &app,
        &m.seller,
        bazaar_actors::domain::moderation::Role::Moderator,
    );
    assert_eq!(ids(&queue(&app, &m.seller, "").await).len(), 1);
    problem(resolve(&app, Some(&m.seller), &order, &body).await, 403).await;
    assert_eq!(order_status(&app, &m.buyer, &order).await, "disputed");
    assert_eq!(ids(&queue(&app, &m.moderator, "").await).len(), 1);
    json_of(resolve(&app, Some(&m.moderator), &order, &body).await, 200).await;
    assert!(ids(&queue(&app, &m.moderator, "").await).is_empty());
    let bad_cursor = app
        .request(
            Method::GET,
            "/api/v1/admin/disputes?cursor=nonsense",
            Some(&m.moderator.token),
        )
        .send()
        .await
        .unwrap();
    invalid_fields(bad_cursor, &["cursor"]).await;
}

#[actix_web::test]
async fn both_parties_hear_of_disputes_live_as_the_asyncapi_document_says() {
    use crate::asyncapi::{assert_documented, document};
    use crate::ws_helpers::connect;
    let app = spawn_app().await;
    let m = market(&app).await;
    let doc = document();
    let mut buyer_ws = connect(&app, &m.buyer).await;
    let mut seller_ws = connect(&app, &m.seller).await;
    let (order, dispute) = disputed_order(&app, &m).await;
    for ws in [&mut buyer_ws, &mut seller_ws] {
        let frame = ws.until(|f| f["event"] == "order.disputed").await;
        assert_documented(&doc, &frame, "Event");
        assert_eq!(frame["data"]["order"]["status"], "disputed");
        assert_eq!(frame["data"]["dispute"]["id"], dispute["id"]);
        assert!(frame["data"]["notification_id"].is_i64(), "{frame}");
    }
    let body = json!({"outcome": "split", "buyer_cents": 1, "note": "Half a bicycle"});
    json_of(resolve(&app, Some(&m.moderator), &order, &body).await, 200).await;
    for ws in [&mut buyer_ws, &mut seller_ws] {
        let frame = ws.until(|f| f["event"] == "order.dispute_resolved").await;
        assert_documented(&doc, &frame, "Event");
        assert_eq!(frame["data"]["dispute"]["outcome"], "split");
        assert_eq!(frame["data"]["dispute"]["buyer_cents"], 1);
    }
    let paid = app.buy_one(&m.buyer, &m.listing).await;
    json_of(refund(&app, Some(&m.seller), &paid).await, 200).await;
    for ws in [&mut buyer_ws, &mut seller_ws] {
        let frame = ws.until(|f| f["event"] == "order.refunded").await;
        assert_documented(&doc, &frame, "Event");
        assert_eq!(frame["data"]["order"]["id"], paid["id"]);
    }
    app.assert_ledger_balanced();
}
