//! The chat filter over the network: with `--chat-filter mask` (the default) both parties see
//! contact details as `[hidden]` with `flags: ["contact_details"]` (REST, acks, live events,
//! the stored history) while the original is kept for moderators; `reject` refuses the message
//! (422 naming `body`, socket error `rejected`); `off` stores it as written.

use crate::helpers::*;
use crate::ws_helpers::connect;
use bazaar::config::ChatFilterMode;
use bazaar_actors::store::{chat as rows, DbConnection};
use serde_json::{json, Value};

const WITH_DETAILS: &str = "call me on 06 12 34 56 78 or mail jane.doe@gmail.com";
const MASKED: &str = "call me on [hidden] or mail [hidden]";
const CLEAN: &str = "Would you take €1,200? EU 42, order #100234, iPhone 13 Pro 256GB";

/// (buyer, seller, conversation id).
async fn conversation(app: &TestApp) -> (TestUser, TestUser, i64) {
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let listing = app.listing(&seller, json!({})).await;
    let conv = json_of(
        app.post(
            &format!("/api/v1/listings/{}/conversations", listing["id"]),
            Some(&buyer.token),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    (buyer, seller, conv["id"].as_i64().unwrap())
}

async fn send(app: &TestApp, who: &TestUser, cid: i64, body: &str, id: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/conversations/{cid}/messages"),
        Some(&who.token),
        &json!({"body": body, "client_msg_id": id}),
    )
    .await
}

async fn history(app: &TestApp, who: &TestUser, cid: i64) -> Vec<Value> {
    let page = json_of(
        app.get(
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(&who.token),
        )
        .await,
        200,
    )
    .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The stored row: (what parties see, flags, original).
fn stored(app: &TestApp, id: i64) -> (String, String, Option<String>) {
    let mut conn = app.db.connect();
    let conn: &mut DbConnection = &mut conn;
    let m = rows::message(conn, id)
        .unwrap()
        .expect("the message is stored");
    (m.body, m.flags, m.original_body)
}

#[actix_web::test]
async fn masked_by_default_for_both_parties_with_the_original_kept() {
    let app = spawn_app().await;
    let (buyer, seller, cid) = conversation(&app).await;
    let mut seller_ws = connect(&app, &seller).await;
    let mut buyer_ws = connect(&app, &buyer).await;

    // Anonymous: 401.
    let path = format!("/api/v1/conversations/{cid}/messages");
    let body = json!({"body": "hi", "client_msg_id": "x"});
    problem(app.post(&path, None, &body).await, 401).await;

    let sent = json_of(send(&app, &buyer, cid, WITH_DETAILS, "m1").await, 201).await;
    assert_eq!(sent["body"], MASKED);
    assert_eq!(sent["flags"], json!(["contact_details"]));
    assert_eq!(
        stored(&app, sent["id"].as_i64().unwrap()),
        (
            MASKED.to_owned(),
            "contact_details".to_owned(),
            Some(WITH_DETAILS.to_owned())
        )
    );

    // Live to the other party, masked.
    let event = seller_ws.event(&format!("user:{}", seller.id)).await;
    assert_eq!(event["event"], "chat.message");
    assert_eq!(event["data"]["message"]["body"], MASKED);
    assert_eq!(
        event["data"]["message"]["flags"],
        json!(["contact_details"])
    );

    // Over the socket: the ack carries the masked message.
    buyer_ws
        .send(
            json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "w1",
                     "body": "venmo @jane-d or paypal.me/janed", "ref": 7}),
        )
        .await;
    let ack = buyer_ws
        .until(|f| f["type"] == "ack" && f["ref"] == 7)
        .await;
    assert_eq!(ack["message"]["body"], "[hidden] or [hidden]");
    assert_eq!(ack["message"]["flags"], json!(["contact_details"]));

    // Prices, sizes, order and model numbers pass untouched, unflagged.
    let clean = json_of(send(&app, &seller, cid, CLEAN, "m2").await, 201).await;
    assert_eq!(
        (clean["body"].as_str(), &clean["flags"]),
        (Some(CLEAN), &json!([]))
    );
    assert_eq!(stored(&app, clean["id"].as_i64().unwrap()).2, None);

    // The history (both parties) and the stored events replay what was shown.
    for who in [&buyer, &seller] {
        let bodies: Vec<(String, Value)> = history(&app, who, cid)
            .await
            .iter()
            .map(|m| (m["body"].as_str().unwrap().to_owned(), m["flags"].clone()))
            .collect();
        assert_eq!(
            bodies,
            vec![
                (CLEAN.to_owned(), json!([])),
                (
                    "[hidden] or [hidden]".to_owned(),
                    json!(["contact_details"])
                ),
                (MASKED.to_owned(), json!(["contact_details"])),
            ]
        );
        let replayed: Vec<String> = app
            .events(&format!("user:{}", who.id))
            .into_iter()
            .filter(|(_, kind, _)| kind == "chat.message")
            .map(|(_, _, data)| data["message"]["body"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            !replayed
                .iter()
                .any(|b| b.contains("0612") || b.contains('@') || b.contains("06 12")),
            "{replayed:?}"
        );
        assert_eq!(replayed.len(), 3);
    }
    // The conversation list's last message is the one shown.
    let list = json_of(
        app.get("/api/v1/conversations", Some(&buyer.token)).await,
        200,
    )
    .await;
    assert_eq!(list["items"][0]["last_message"]["body"], CLEAN);
}

#[actix_web::test]
async fn reject_refuses_messages_with_contact_details_over_rest_and_socket() {
    let app = spawn_app_with(|s| s.chat_filter = ChatFilterMode::Reject).await;
    let (buyer, _seller, cid) = conversation(&app).await;
    let mut ws = connect(&app, &buyer).await;

    invalid_fields(send(&app, &buyer, cid, WITH_DETAILS, "m1").await, &["body"]).await;
    ws.send(
        json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "w1",
                   "body": "cashapp $janed", "ref": 1}),
    )
    .await;
    let answer = ws.until(|f| f["ref"] == 1).await;
    assert_eq!(
        (answer["type"].as_str(), answer["code"].as_str()),
        (Some("error"), Some("rejected")),
        "{answer}"
    );
    assert!(
        history(&app, &buyer, cid).await.is_empty(),
        "nothing stored"
    );

    let clean = json_of(send(&app, &buyer, cid, CLEAN, "m2").await, 201).await;
    assert_eq!(
        (clean["body"].as_str(), &clean["flags"]),
        (Some(CLEAN), &json!([]))
    );
}

#[actix_web::test]
async fn off_stores_and_shows_messages_as_written() {
    let app = spawn_app_with(|s| s.chat_filter = ChatFilterMode::Off).await;
    let (buyer, seller, cid) = conversation(&app).await;
    let mut ws = connect(&app, &buyer).await;

    let sent = json_of(send(&app, &buyer, cid, WITH_DETAILS, "m1").await, 201).await;
    assert_eq!(
        (sent["body"].as_str(), &sent["flags"]),
        (Some(WITH_DETAILS), &json!([]))
    );
    assert_eq!(stored(&app, sent["id"].as_i64().unwrap()).2, None);
    ws.send(
        json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "w1",
                   "body": "venmo @jane", "ref": 1}),
    )
    .await;
    let ack = ws.until(|f| f["type"] == "ack" && f["ref"] == 1).await;
    assert_eq!(ack["message"]["body"], "venmo @jane");
    assert_eq!(history(&app, &seller, cid).await.len(), 2);
}
