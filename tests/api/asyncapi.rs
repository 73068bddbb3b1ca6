//! docs/asyncapi.yaml is checked against the frames the server actually sends (and the frames
//! the tests send it), with a small JSON-schema checker (type, const, enum, required,
//! properties, additionalProperties, $ref).

use crate::helpers::*;
use crate::ws_helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

pub(crate) fn document() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/asyncapi.yaml"))
        .unwrap();
    serde_yaml::from_str(&text).expect("docs/asyncapi.yaml is YAML")
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling {reference}")),
            )
        }
        None => schema,
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(c) = schema.get("const") {
        if c != value {
            return Err(format!("{at}: {value} is not {c}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let object = value.as_object().ok_or(format!("{at}: not an object"))?;
            let properties = schema.get("properties").and_then(Value::as_object);
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let key = required.as_str().unwrap();
                if !object.contains_key(key) {
                    return Err(format!("{at}: {key} is required"));
                }
            }
            for (key, field) in object {
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => check(doc, sub, field, &format!("{at}.{key}"))?,
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        return Err(format!("{at}: {key} is not in the schema"));
                    }
                    None => {}
                }
            }
        }
        Some("string") if !value.is_string() => return Err(format!("{at}: not a string")),
        Some("integer") if !value.is_i64() => return Err(format!("{at}: not an integer")),
        _ => {}
    }
    Ok(())
}

/// The schema of a frame the server sends, by its `type`.
pub(crate) fn server_schema(frame: &Value) -> &'static str {
    match frame["type"].as_str().unwrap_or_default() {
        "event" => "Event",
        "subscribed" => "Subscribed",
        "unsubscribed" => "Unsubscribed",
        "ack" => "Ack",
        "error" => "Error",
        other => panic!("the server sent an undocumented frame type {other:?}: {frame}"),
    }
}

fn client_schema(frame: &Value) -> &'static str {
    match frame["op"].as_str().unwrap_or_default() {
        "subscribe" => "Subscribe",
        "unsubscribe" => "Unsubscribe",
        "resume" => "Resume",
        "chat.send" => "ChatSend",
        "chat.typing" => "ChatTyping",
        "chat.read" => "ChatRead",
        other => panic!("no schema for op {other:?}"),
    }
}

/// The payload schemas of the replies the operation sending `client_schema` declares.
fn declared_replies(doc: &Value, client_schema: &str) -> BTreeSet<&'static str> {
    let payload = |message: &Value| -> String {
        let message = resolve(doc, message);
        message["payload"]["$ref"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let operation = doc["operations"]
        .as_object()
        .unwrap()
        .values()
        .find(|op| op["action"] == "send" && payload(&op["messages"][0]) == client_schema)
        .unwrap_or_else(|| panic!("no operation sends {client_schema}"));
    operation["reply"]["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("the operation sending {client_schema} declares no reply"))
        .iter()
        .map(|m| match payload(m).as_str() {
            "Subscribed" => "Subscribed",
            "Unsubscribed" => "Unsubscribed",
            "Ack" => "Ack",
            "Error" => "Error",
            "Event" => "Event",
            other => panic!("unexpected reply payload {other}"),
        })
        .collect()
}

pub(crate) fn assert_documented(doc: &Value, frame: &Value, schema: &str) {
    let schema = doc
        .pointer(&format!("/components/schemas/{schema}"))
        .unwrap();
    if let Err(why) = check(doc, schema, frame, "frame") {
        panic!("{frame} does not match docs/asyncapi.yaml: {why}");
    }
}

#[actix_web::test]
async fn the_asyncapi_document_describes_every_frame_the_server_sends() {
    let doc = document();
    assert_eq!(doc["asyncapi"], "3.0.0");
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 50_000).await;
    app.give_address(&buyer).await;
    let listing = app
        .listing(&seller, json!({"price_cents": 10_000, "quantity": 2}))
        .await;
    let topic = format!("listing:{}", listing["id"]);
    let mut s = connect(&app, &seller).await;
    let mut b = connect(&app, &buyer).await;
    let mut sent = Vec::new();
    macro_rules! send {
        ($ws:expr, $frame:expr) => {{
            let frame = $frame;
            sent.push(frame.clone());
            $ws.send(frame).await;
        }};
    }
    send!(
        b,
        json!({"op": "subscribe", "topic": topic, "since": 0, "ref": 1})
    );
    b.until(|f| f["type"] == "subscribed").await;
    // Listing events, offers, an order, a price drop notification.
    let like = app
        .request(
            Method::PUT,
            &format!("/api/v1/listings/{}/like", listing["id"]),
            Some(&buyer.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(like.status(), 204);
    json_of(
        app.patch(
            &format!("/api/v1/listings/{}", listing["id"]),
            Some(&seller.token),
            &json!({"price_cents": 8_000}),
        )
        .await,
        200,
    )
    .await;
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
    json_of(
        app.post(
            &format!("/api/v1/offers/{}/counter", offer["id"]),
            Some(&seller.token),
            &json!({"amount_cents": 7_000}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        app.post(
            &format!("/api/v1/offers/{}/accept", offer["id"]),
            Some(&buyer.token),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let order = app.buy_one(&buyer, &listing).await;
    app.order_action(&seller, &order, "ship").await;
    // Chat: send, ack, read, typing.
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
    send!(
        b,
        json!({"op": "chat.send", "conversation_id": conv["id"], "client_msg_id": "m1", "body": "Hello", "ref": "send"})
    );
    let ack = b.until(|f| f["type"] == "ack").await;
    send!(
        s,
        json!({"op": "chat.read", "conversation_id": conv["id"], "message_id": ack["message"]["id"], "ref": "read"})
    );
    s.until(|f| f["type"] == "ack").await;
    send!(
        s,
        json!({"op": "chat.typing", "conversation_id": conv["id"]})
    );
    b.until(|f| f["event"] == "chat.typing").await;
    // Refusals and the rest of the ops.
    b.send_text("{oops").await;
    send!(b, json!({"op": "resume", "since": 0, "ref": "resume"}));
    b.until(|f| f["ref"] == "resume").await;
    send!(
        b,
        json!({"op": "unsubscribe", "topic": topic, "ref": "bye"})
    );
    b.until(|f| f["type"] == "unsubscribed").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for ws in [&mut s, &mut b] {
        while let Next::Json(_) = ws.next_within(Duration::from_millis(200)).await {}
    }

    let mut types = BTreeSet::new();
    let mut events = BTreeSet::new();
    for frame in s.seen.iter().chain(b.seen.iter()) {
        assert_documented(&doc, frame, server_schema(frame));
        types.insert(frame["type"].as_str().unwrap().to_owned());
        if let Some(e) = frame["event"].as_str() {
            events.insert(e.to_owned());
        }
    }
    for frame in &sent {
        assert_documented(&doc, frame, client_schema(frame));
    }
    // Every reply the server sent to a frame with a `ref` is one its operation declares.
    let mut replied = BTreeSet::new();
    for frame in sent.iter().filter(|f| f.get("ref").is_some()) {
        let declared = declared_replies(&doc, client_schema(frame));
        for reply in s.seen.iter().chain(b.seen.iter()) {
            if reply.get("ref") == frame.get("ref") {
                let schema = server_schema(reply);
                assert!(
                    declared.contains(schema),
                    "{} was answered with {schema}, which its operation does not declare ({declared:?})",
                    frame["op"]
                );
                replied.insert(frame["op"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(
        replied,
        [
            "chat.read",
            "chat.send",
            "resume",
            "subscribe",
            "unsubscribe"
        ]
        .map(String::from)
        .into(),
        "not every op with a ref was answered"
    );
    assert_eq!(
        types,
        ["ack", "error", "event", "subscribed", "unsubscribed"]
            .map(String::from)
            .into(),
        "not every kind of frame was exercised"
    );
    for expected in [
        "listing.updated",
        "listing.price_dropped",
        "listing.inventory_changed",
        "listing.sold_out",
        "offer.created",
        "offer.countered",
        "offer.accepted",
        "order.created",
        "order.shipped",
        "chat.message",
        "chat.read",
        "chat.typing",
        "notification.price_drop",
    ] {
        assert!(
            events.contains(expected),
            "{expected} was not seen; saw {events:?}"
        );
    }
}
