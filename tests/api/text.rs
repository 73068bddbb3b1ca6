//! Text a client sends: a NUL character is refused with 422 everywhere, on both backends
//! (PostgreSQL cannot store one, so it used to be a 500 there), and changes nothing.

use crate::helpers::*;
use crate::ws_helpers::connect;
use serde_json::json;

#[actix_web::test]
async fn nul_in_any_text_field_is_422_and_stores_nothing() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;

    // Listings: create and edit.
    for field in ["title", "description"] {
        let body = json!({"title": "Lamp", "price_cents": 1_000, field: "a\u{0}b"});
        invalid_fields(
            app.post("/api/v1/listings", Some(&seller.token), &body)
                .await,
            &[field],
        )
        .await;
    }
    let listing = app.listing(&seller, json!({"title": "Lamp"})).await;
    let path = format!("/api/v1/listings/{}", listing["id"]);
    invalid_fields(
        app.patch(&path, Some(&seller.token), &json!({"title": "x\u{0}"}))
            .await,
        &["title"],
    )
    .await;
    let unchanged = json_of(app.get(&path, None).await, 200).await;
    assert_eq!(
        (unchanged["title"].as_str(), &unchanged["version"]),
        (Some("Lamp"), &listing["version"])
    );

    // Search, anonymous.
    invalid_fields(app.get("/api/v1/listings?q=lamp%00", None).await, &["q"]).await;

    // Login, anonymous: refused before any lookup.
    invalid_fields(
        app.post(
            "/api/v1/sessions",
            None,
            &json!({"username": "sel\u{0}ler", "password": "password123"}),
        )
        .await,
        &["username"],
    )
    .await;

    // Chat over REST: body and client_msg_id.
    let conversations = format!("/api/v1/listings/{}/conversations", listing["id"]);
    let conv = json_of(
        app.post(&conversations, Some(&buyer.token), &json!({}))
            .await,
        201,
    )
    .await;
    let messages = format!("/api/v1/conversations/{}/messages", conv["id"]);
    for (body, field) in [
        (json!({"body": "hi\u{0}", "client_msg_id": "m1"}), "body"),
        (
            json!({"body": "hi", "client_msg_id": "m\u{0}"}),
            "client_msg_id",
        ),
    ] {
        invalid_fields(
            app.post(&messages, Some(&buyer.token), &body).await,
            &[field],
        )
        .await;
    }

    // Chat over the socket: an `invalid` error, not "unavailable, send it again".
    let mut ws = connect(&app, &buyer).await;
    ws.send(
        json!({"op": "chat.send", "conversation_id": conv["id"], "client_msg_id": "m2",
                   "body": "a\u{0}b", "ref": 7}),
    )
    .await;
    let error = ws.until(|f| f["type"] == "error").await;
    assert_eq!(
        (error["ref"].as_i64(), error["code"].as_str()),
        (Some(7), Some("invalid")),
        "{error}"
    );
    let stored = json_of(app.get(&messages, Some(&buyer.token)).await, 200).await;
    assert_eq!(stored["items"], json!([]), "nothing was stored");

    // A rating's comment, on a completed order.
    app.deposit(&buyer, 20_000).await;
    app.give_address(&buyer).await;
    let order = app.buy_one(&buyer, &listing).await;
    app.order_action(&seller, &order, "ship").await;
    app.order_action(&buyer, &order, "confirm").await;
    let o = format!("/api/v1/orders/{}", order["id"]);
    invalid_fields(
        app.post(
            &format!("{o}/rating"),
            Some(&buyer.token),
            &json!({"stars": 5, "comment": "fine\u{0}"}),
        )
        .await,
        &["comment"],
    )
    .await;
    let seen = json_of(app.get(&o, Some(&buyer.token)).await, 200).await;
    assert_eq!(seen["ratings"], json!([]), "no rating was stored");
}
