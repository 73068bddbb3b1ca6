//! Blocks over the network: the routes and who may call them, every action refused between
//! blocked users in both directions (REST and socket), open offers declined when a block is
//! made, unblocking restoring everything, and orders made before a block still completing.

use crate::helpers::*;
use crate::ws_helpers::{connect, WsClient};
use bazaar_actors::store::{self, blocks, DbConnection};
use reqwest::Method;
use serde_json::{json, Value};

async fn put(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    app.request(Method::PUT, path, token)
        .send()
        .await
        .expect("request")
}

async fn block(app: &TestApp, who: &TestUser, whom: &TestUser) {
    let path = format!("/api/v1/me/blocks/{}", whom.id);
    assert_eq!(put(app, &path, Some(&who.token)).await.status(), 204);
}

async fn unblock(app: &TestApp, who: &TestUser, whom: &TestUser) {
    let path = format!("/api/v1/me/blocks/{}", whom.id);
    assert_eq!(app.delete(&path, Some(&who.token)).await.status(), 204);
}

/// Asserts a 403 problem of type `/problems/blocked`.
async fn refused_as_blocked(response: reqwest::Response) {
    let body = problem(response, 403).await;
    assert_eq!(body["type"], "/problems/blocked", "{body}");
}

/// Asserts the socket's answer to the frame with `reference` is the error `blocked`.
async fn socket_refused_as_blocked(ws: &mut WsClient, reference: i64) {
    let answer = ws.until(|f| f["ref"] == reference).await;
    assert_eq!(
        (answer["type"].as_str(), answer["code"].as_str()),
        (Some("error"), Some("blocked")),
        "{answer}"
    );
}

async fn make_offer(
    app: &TestApp,
    buyer: &TestUser,
    listing: &Value,
    cents: i64,
) -> reqwest::Response {
    app.post(
        &format!("/api/v1/listings/{}/offers", listing["id"]),
        Some(&buyer.token),
        &json!({"amount_cents": cents}),
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

async fn get_offer(app: &TestApp, who: &TestUser, offer: &Value) -> Value {
    json_of(
        app.get(&format!("/api/v1/offers/{}", offer["id"]), Some(&who.token))
            .await,
        200,
    )
    .await
}

#[actix_web::test]
async fn blocking_is_idempotent_listed_and_only_for_the_caller() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let path = format!("/api/v1/me/blocks/{}", bob.id);

    // Anonymous: 401 on every route.
    problem(put(&app, &path, None).await, 401).await;
    problem(app.delete(&path, None).await, 401).await;
    problem(app.get("/api/v1/me/blocks", None).await, 401).await;

    // Twice is the same as once.
    block(&app, &alice, &bob).await;
    block(&app, &alice, &bob).await;
    block(&app, &alice, &carol).await;
    let list = json_of(app.get("/api/v1/me/blocks", Some(&alice.token)).await, 200).await;
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["user_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![carol.id, bob.id], "newest first, each once");
    assert_eq!(list["items"][1]["username"], "bob");
    assert!(list["items"][1]["blocked_at"].is_string());

    // Pages.
    let first = json_of(
        app.get("/api/v1/me/blocks?limit=1", Some(&alice.token))
            .await,
        200,
    )
    .await;
    assert_eq!(first["items"][0]["user_id"], carol.id);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = json_of(
        app.get(
            &format!("/api/v1/me/blocks?limit=1&cursor={cursor}"),
            Some(&alice.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(second["items"][0]["user_id"], bob.id);
    assert!(second["next_cursor"].is_null());

    // Another user sees only their own blocks (bob blocked nobody).
    let bobs = json_of(app.get("/api/v1/me/blocks", Some(&bob.token)).await, 200).await;
    assert_eq!(bobs["items"], json!([]));
    // Bob cannot lift alice's block: his DELETE only lifts his own (none), hers stays.
    unblock(&app, &bob, &alice).await;
    let list = json_of(app.get("/api/v1/me/blocks", Some(&alice.token)).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // Yourself: 422 naming user_id; an unknown user: 404.
    let me = format!("/api/v1/me/blocks/{}", alice.id);
    invalid_fields(put(&app, &me, Some(&alice.token)).await, &["user_id"]).await;
    invalid_fields(app.delete(&me, Some(&alice.token)).await, &["user_id"]).await;
    problem(
        put(&app, "/api/v1/me/blocks/999999", Some(&alice.token)).await,
        404,
    )
    .await;
    problem(
        app.delete("/api/v1/me/blocks/999999", Some(&alice.token))
            .await,
        404,
    )
    .await;

    // Unblocking is idempotent too.
    unblock(&app, &alice, &bob).await;
    unblock(&app, &alice, &bob).await;
    let list = json_of(app.get("/api/v1/me/blocks", Some(&alice.token)).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// Every action between the two is refused while either blocks the other, and works again
/// once the block is lifted: `blocker_is_buyer` picks who blocks.
async fn every_action_is_refused_then_restored(blocker_is_buyer: bool) {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 100_000).await;
    let listing = app
        .listing(&seller, json!({"price_cents": 10_000, "quantity": 5}))
        .await;
    let open_path = format!("/api/v1/listings/{}/conversations", listing["id"]);
    let conv = json_of(
        app.post(&open_path, Some(&buyer.token), &json!({})).await,
        201,
    )
    .await;
    let send_path = format!("/api/v1/conversations/{}/messages", conv["id"]);
    let mut ws = connect(&app, &buyer).await;
    let mut seller_ws = connect(&app, &seller).await;
    // The session knows the conversation's parties before the block is made.
    ws.send(json!({"op": "chat.typing", "conversation_id": conv["id"]}))
        .await;
    seller_ws.until(|f| f["event"] == "chat.typing").await;

    let (blocker, blocked) = if blocker_is_buyer {
        (&buyer, &seller)
    } else {
        (&seller, &buyer)
    };
    block(&app, blocker, blocked).await;

    // No conversation (not even the one that exists), no message (REST, socket).
    refused_as_blocked(app.post(&open_path, Some(&buyer.token), &json!({})).await).await;
    for who in [&buyer, &seller] {
        let body = json!({"body": "hello?", "client_msg_id": format!("m{}", who.id)});
        refused_as_blocked(app.post(&send_path, Some(&who.token), &body).await).await;
    }
    ws.send(
        json!({"op": "chat.send", "conversation_id": conv["id"], "client_msg_id": "w1",
                   "body": "hello?", "ref": 1}),
    )
    .await;
    socket_refused_as_blocked(&mut ws, 1).await;
    // Nor is typing relayed.
    ws.send(json!({"op": "chat.typing", "conversation_id": conv["id"], "ref": 2}))
        .await;
    socket_refused_as_blocked(&mut ws, 2).await;

    // No offer, no purchase.
    refused_as_blocked(make_offer(&app, &buyer, &listing, 8_000).await).await;
    let buy = format!("/api/v1/listings/{}/purchase", listing["id"]);
    refused_as_blocked(app.post(&buy, Some(&buyer.token), &json!({})).await).await;
    assert_eq!(
        app.wallet(&buyer).await["available_cents"],
        100_000,
        "nothing was taken"
    );

    // Lifted: everything works again.
    unblock(&app, blocker, blocked).await;
    json_of(
        app.post(&open_path, Some(&buyer.token), &json!({})).await,
        200,
    )
    .await;
    let body = json!({"body": "still there?", "client_msg_id": "after"});
    json_of(app.post(&send_path, Some(&buyer.token), &body).await, 201).await;
    // The seller's socket got the message, and no typing from while they were apart.
    let first = seller_ws
        .until(|f| f["event"] == "chat.message" || f["event"] == "chat.typing")
        .await;
    assert_eq!(first["event"], "chat.message", "{first}");
    ws.send(json!({"op": "chat.typing", "conversation_id": conv["id"]}))
        .await;
    seller_ws.until(|f| f["event"] == "chat.typing").await;
    json_of(make_offer(&app, &buyer, &listing, 8_000).await, 201).await;
    json_of(app.post(&buy, Some(&buyer.token), &json!({})).await, 201).await;
    app.assert_ledger_balanced();
}

#[actix_web::test]
async fn a_buyer_who_blocks_the_seller_can_do_nothing_with_them_until_unblocking() {
    every_action_is_refused_then_restored(true).await;
}

#[actix_web::test]
async fn a_seller_who_blocks_the_buyer_is_left_alone_until_unblocking() {
    every_action_is_refused_then_restored(false).await;
}

#[actix_web::test]
async fn open_offers_between_them_are_declined_when_the_block_is_made() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let other = app.user("other").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    // And the other way round: the seller makes an offer on something the buyer sells.
    let buyers_listing = app.listing(&buyer, json!({"price_cents": 4_000})).await;
    let theirs = json_of(make_offer(&app, &buyer, &listing, 7_000).await, 201).await;
    let reverse = json_of(make_offer(&app, &seller, &buyers_listing, 3_000).await, 201).await;
    let bystander = json_of(make_offer(&app, &other, &listing, 7_500).await, 201).await;

    block(&app, &buyer, &seller).await;

    for (offer, who) in [(&theirs, &buyer), (&reverse, &seller)] {
        let now = get_offer(&app, who, offer).await;
        assert_eq!(
            (now["status"].as_str(), now["reason"].as_str()),
            (Some("declined"), Some("blocked")),
            "{now}"
        );
        // Through the listing's actor, with its usual event on both parties' topics.
        for party in [&buyer, &seller] {
            let declined = app
                .events(&format!("user:{}", party.id))
                .into_iter()
                .filter(|(_, kind, data)| {
                    kind == "offer.declined" && data["offer"]["id"] == offer["id"]
                })
                .count();
            assert_eq!(declined, 1, "offer.declined for user {}", party.id);
        }
    }
    assert_eq!(get_offer(&app, &other, &bystander).await["status"], "open");

    // Declined offers cannot be revived while blocked (the block is checked first).
    let countered = act(
        &app,
        &seller,
        &theirs,
        "counter",
        json!({"amount_cents": 9_000}),
    )
    .await;
    refused_as_blocked(countered).await;
}

#[actix_web::test]
async fn an_offer_open_when_the_block_lands_can_only_be_let_go() {
    // An offer placed at the very moment of the block may stay open (the block's sweep read
    // before it committed): every later step reads the block in its own transaction. The
    // block row is written straight to the database here to stand for that race.
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 50_000).await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    let offer = json_of(make_offer(&app, &buyer, &listing, 7_000).await, 201).await;
    {
        let mut conn = app.db.connect();
        let conn: &mut DbConnection = &mut conn;
        assert!(blocks::insert(conn, seller.id, buyer.id, store::now()).unwrap());
    }
    refused_as_blocked(
        act(
            &app,
            &seller,
            &offer,
            "counter",
            json!({"amount_cents": 9_000}),
        )
        .await,
    )
    .await;
    refused_as_blocked(act(&app, &seller, &offer, "accept", json!({})).await).await;
    let declined = json_of(act(&app, &seller, &offer, "decline", json!({})).await, 200).await;
    assert_eq!(declined["status"], "declined");
    assert_eq!(app.wallet(&buyer).await["available_cents"], 50_000);
}

#[actix_web::test]
async fn offers_to_likers_skip_blocked_likers() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let fan = app.user("fan").await;
    let blocked = app.user("blocked").await;
    let blocker = app.user("blocker").await;
    let late = app.user("late").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    let lonely = app.listing(&seller, json!({"price_cents": 10_000})).await;
    for liker in [&fan, &blocked, &blocker] {
        app.like(liker, &listing, None).await;
    }
    app.like(&blocked, &lonely, None).await;
    block(&app, &seller, &blocked).await;
    block(&app, &blocker, &seller).await;
    block(&app, &seller, &late).await;

    let path = format!("/api/v1/listings/{}/liker-offers", listing["id"]);
    let sent = json_of(
        app.post(&path, Some(&seller.token), &json!({"amount_cents": 8_000}))
            .await,
        201,
    )
    .await;
    let reached: Vec<i64> = sent["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["buyer_id"].as_i64().unwrap())
        .collect();
    assert_eq!(reached, vec![fan.id], "only the liker nobody blocked");

    // A new liker kept apart from the seller does not get the open offer either.
    app.like(&late, &listing, None).await;
    let offers = json_of(
        app.get(
            &format!("/api/v1/listings/{}/offers", listing["id"]),
            Some(&seller.token),
        )
        .await,
        200,
    )
    .await;
    let buyers: Vec<i64> = offers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["buyer_id"].as_i64().unwrap())
        .collect();
    assert_eq!(buyers, vec![fan.id]);

    // Only blocked likers: refused as if nobody liked it, and nothing is used up.
    let lonely_path = format!("/api/v1/listings/{}/liker-offers", lonely["id"]);
    problem(
        app.post(
            &lonely_path,
            Some(&seller.token),
            &json!({"amount_cents": 8_000}),
        )
        .await,
        409,
    )
    .await;
    unblock(&app, &seller, &blocked).await;
    json_of(
        app.post(
            &lonely_path,
            Some(&seller.token),
            &json!({"amount_cents": 8_000}),
        )
        .await,
        201,
    )
    .await;
}

#[actix_web::test]
async fn orders_made_before_a_block_still_complete() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 30_000).await;
    app.give_address(&buyer).await;
    let listing = app
        .listing(&seller, json!({"price_cents": 10_000, "quantity": 2}))
        .await;
    let first = app.buy_one(&buyer, &listing).await;
    let second = app.buy_one(&buyer, &listing).await;

    block(&app, &seller, &buyer).await;

    let shipped = app.order_action(&seller, &first, "ship").await;
    assert_eq!(shipped["status"], "shipped");
    let completed = app.order_action(&buyer, &first, "confirm").await;
    assert_eq!(completed["status"], "completed");
    // Cancelling an unshipped order still refunds.
    let cancelled = app.order_action(&seller, &second, "cancel").await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(app.wallet(&buyer).await["available_cents"], 20_000);
    assert_eq!(
        app.wallet(&seller).await["available_cents"],
        9_000,
        "paid less the fee"
    );
    app.assert_ledger_balanced();
}
