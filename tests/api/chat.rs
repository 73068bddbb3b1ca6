//! Chat under concurrent senders: messages reach the chat writer from REST and sockets at
//! once, are committed in batches (on PostgreSQL by several writers side by side), and must
//! come out in a strict order per conversation, each stored once, and readable the moment
//! their ack arrives.

use crate::helpers::{json_of, problem, spawn_app, spawn_app_with, TestApp, TestUser};
use crate::ws_helpers::{connect, WsClient};
use futures::future::join_all;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// A conversation between a new buyer and seller: (buyer, seller, conversation id).
async fn conversation(app: &TestApp, name: &str) -> (TestUser, TestUser, i64) {
    let seller = app.user(&format!("{name}_seller")).await;
    let buyer = app.user(&format!("{name}_buyer")).await;
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

/// Every message of the conversation, oldest first (paging through the REST history).
async fn history(app: &TestApp, user: &TestUser, cid: i64) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = format!("/api/v1/conversations/{cid}/messages?limit=100");
    loop {
        let page = json_of(app.get(&path, Some(&user.token)).await, 200).await;
        all.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/conversations/{cid}/messages?limit=100&before={cursor}")
            }
            None => break,
        }
    }
    all.reverse();
    all
}

/// Sends `frames` on `ws` without waiting, then collects the answer to each by its `ref`.
async fn send_all_then_answers(ws: &mut WsClient, frames: Vec<Value>) -> HashMap<i64, Value> {
    let count = frames.len();
    for frame in frames {
        ws.send(frame).await;
    }
    let mut answers = HashMap::new();
    while answers.len() < count {
        let frame = ws
            .until(|f| f["type"] == "ack" || f["type"] == "error")
            .await;
        answers.insert(frame["ref"].as_i64().expect("a ref"), frame);
    }
    answers
}

/// Seqs 1..=n without a gap or repeat, and each (sender, client_msg_id) once.
fn assert_strictly_ordered_once(messages: &[Value]) {
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (1..=messages.len() as i64).collect();
    assert_eq!(
        seqs, expected,
        "seqs strictly increasing from 1 without a gap"
    );
    let keys: HashSet<(i64, String)> = messages
        .iter()
        .map(|m| {
            (
                m["sender_id"].as_i64().unwrap(),
                m["client_msg_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(keys.len(), messages.len(), "each client_msg_id stored once");
}

/// Both parties send to one conversation at once, from sockets and from REST, each message
/// twice (the resend racing the first); a second conversation runs alongside so batches mix
/// conversations.
async fn order_and_exactly_once(app: TestApp) {
    let (buyer, seller, cid) = conversation(&app, "a").await;
    let (other_buyer, _, other_cid) = conversation(&app, "b").await;
    let mut buyer_ws = connect(&app, &buyer).await;
    let mut other_ws = connect(&app, &other_buyer).await;
    let per_side = 15;
    let frames = |cid: i64, prefix: &str| -> Vec<Value> {
        (0..per_side)
            .flat_map(|i| {
                // The same message twice in a row: the second is a resend.
                [2 * i, 2 * i + 1].map(|r| {
                    json!({"op": "chat.send", "conversation_id": cid,
                           "client_msg_id": format!("{prefix}{i}"), "body": format!("{prefix} {i}"), "ref": r})
                })
            })
            .collect()
    };
    let rest_sends = (0..per_side).flat_map(|i| {
        let path = format!("/api/v1/conversations/{cid}/messages");
        let body = json!({"body": format!("rest {i}"), "client_msg_id": format!("r{i}")});
        let seller = &seller;
        let app = &app;
        [0, 1].map(move |_| {
            let (path, body) = (path.clone(), body.clone());
            async move {
                let response = app.post(&path, Some(&seller.token), &body).await;
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap_or_default())
            }
        })
    });
    let (socket_answers, other_answers, rest_answers) = futures::join!(
        send_all_then_answers(&mut buyer_ws, frames(cid, "w")),
        send_all_then_answers(&mut other_ws, frames(other_cid, "o")),
        join_all(rest_sends),
    );

    let messages = history(&app, &buyer, cid).await;
    assert_eq!(messages.len(), 2 * per_side as usize);
    assert_strictly_ordered_once(&messages);
    let by_key: HashMap<(i64, String), &Value> = messages
        .iter()
        .map(|m| {
            (
                (
                    m["sender_id"].as_i64().unwrap(),
                    m["client_msg_id"].as_str().unwrap().to_owned(),
                ),
                m,
            )
        })
        .collect();
    // Each socket send and its resend were acked with the one stored message, and one
    // socket's messages took their seqs in the order it sent them.
    let mut last_seq = 0;
    for i in 0..per_side {
        let (first, resend) = (&socket_answers[&(2 * i)], &socket_answers[&(2 * i + 1)]);
        assert_eq!(
            (first["type"].as_str(), resend["type"].as_str()),
            (Some("ack"), Some("ack"))
        );
        let stored = by_key[&(buyer.id, format!("w{i}"))];
        assert_eq!(first["message"]["id"], stored["id"]);
        assert_eq!(resend["message"]["id"], stored["id"]);
        let seq = stored["seq"].as_i64().unwrap();
        assert!(seq > last_seq, "a socket's messages keep their order");
        last_seq = seq;
    }
    // Each REST send and its resend answered with the one stored message (201 or 200).
    for (i, pair) in rest_answers.chunks(2).enumerate() {
        let stored = by_key[&(seller.id, format!("r{i}"))];
        for (status, message) in pair {
            assert!(*status == 201 || *status == 200, "{status}: {message}");
            assert_eq!(message["id"], stored["id"]);
        }
    }
    let others = history(&app, &other_buyer, other_cid).await;
    assert_eq!(others.len(), per_side as usize);
    assert_strictly_ordered_once(&others);
    assert_eq!(other_answers.len(), 2 * per_side as usize);
    // The conversation's last message is the one with the highest seq.
    let list = json_of(
        app.get("/api/v1/conversations", Some(&seller.token)).await,
        200,
    )
    .await;
    assert_eq!(
        list["items"][0]["last_message"]["id"],
        messages.last().unwrap()["id"]
    );
}

#[actix_web::test]
async fn concurrent_sends_from_rest_and_sockets_are_ordered_and_stored_once() {
    order_and_exactly_once(spawn_app().await).await;
}

#[actix_web::test]
async fn concurrent_sends_are_ordered_and_stored_once_with_one_writer() {
    order_and_exactly_once(spawn_app_with(|s| s.chat_writers = Some(1)).await).await;
}

/// The unbatched writer (kept as the benchmark's baseline) stores and answers as before: it
/// runs messages side by side, so only sequential sends keep their order, and a resend that
/// races its first send may be refused there (it is answered once the first is stored).
#[actix_web::test]
async fn the_unbatched_writer_stores_each_message_once_in_order() {
    let app = spawn_app_with(|s| s.chat_unbatched = true).await;
    let (buyer, _, cid) = conversation(&app, "u").await;
    let mut ws = connect(&app, &buyer).await;
    let mut ids = Vec::new();
    for r in 0..5 {
        ws.send(json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": format!("m{r}"), "body": "hi", "ref": r}))
            .await;
        let ack = ws.until(|f| f["type"] == "ack").await;
        assert_eq!(ack["message"]["seq"], r + 1);
        ids.push(ack["message"]["id"].clone());
    }
    ws.send(json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "m2", "body": "hi", "ref": 9}))
        .await;
    assert_eq!(
        ws.until(|f| f["type"] == "ack").await["message"]["id"],
        ids[2]
    );
    let messages = history(&app, &buyer, cid).await;
    assert_eq!(messages.len(), 5);
    assert_strictly_ordered_once(&messages);
}

#[actix_web::test]
async fn a_client_msg_id_twice_in_one_batch_is_stored_once() {
    let app = spawn_app().await;
    let (buyer, _, cid) = conversation(&app, "d").await;
    let mut ws = connect(&app, &buyer).await;
    // A run of messages keeps the writer committing, so the pairs behind them queue together
    // and commit in one batch (whichever batch they land in, the outcome must be the same).
    let mut frames: Vec<Value> = (0..10)
        .map(|i| json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": format!("warm{i}"), "body": "warm", "ref": i}))
        .collect();
    for (r, id) in [(10, "dup"), (11, "dup"), (12, "next"), (13, "dup")] {
        frames.push(json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": id, "body": format!("body {r}"), "ref": r}));
    }
    let answers = send_all_then_answers(&mut ws, frames).await;
    let id_of = |r: i64| answers[&r]["message"]["id"].clone();
    assert_eq!(id_of(10), id_of(11));
    assert_eq!(id_of(10), id_of(13));
    // The first one sent is the one stored: its body, and the seq after the run.
    assert_eq!(answers[&11]["message"]["body"], "body 10");
    assert_eq!(answers[&10]["message"]["seq"], 11);
    assert_eq!(answers[&12]["message"]["seq"], 12);
    let messages = history(&app, &buyer, cid).await;
    assert_eq!(messages.len(), 12);
    assert_strictly_ordered_once(&messages);
}

#[actix_web::test]
async fn an_acked_message_is_readable_the_moment_its_ack_arrives() {
    let app = spawn_app().await;
    let (buyer, seller, cid) = conversation(&app, "r").await;
    let mut ws = connect(&app, &buyer).await;
    for r in 0..12 {
        ws.send(json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": format!("m{r}"), "body": "hello", "ref": r}))
            .await;
    }
    for _ in 0..12 {
        let ack = ws.until(|f| f["type"] == "ack").await;
        // Read by the other party, over REST, on another connection: committed already.
        let page = json_of(
            app.get(
                &format!("/api/v1/conversations/{cid}/messages?limit=1"),
                Some(&seller.token),
            )
            .await,
            200,
        )
        .await;
        let newest = page["items"][0]["seq"].as_i64().unwrap_or(0);
        assert!(
            newest >= ack["message"]["seq"].as_i64().unwrap(),
            "acked {} but the newest readable is {newest}",
            ack["message"]
        );
    }
    // REST answers after the commit too.
    let sent = json_of(
        app.post(
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(&seller.token),
            &json!({"body": "yes", "client_msg_id": "s"}),
        )
        .await,
        201,
    )
    .await;
    let page = json_of(
        app.get(
            &format!("/api/v1/conversations/{cid}/messages?limit=1"),
            Some(&buyer.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"][0]["id"], sent["id"]);
}

#[actix_web::test]
async fn a_refused_message_in_a_batch_fails_alone() {
    let app = spawn_app().await;
    let (buyer, _, cid) = conversation(&app, "f").await;
    let (_, _, not_mine) = conversation(&app, "g").await;
    let mut ws = connect(&app, &buyer).await;
    let frames = vec![
        json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "a", "body": "one", "ref": 0}),
        json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "b", "body": "nul \u{0} inside", "ref": 1}),
        json!({"op": "chat.send", "conversation_id": not_mine, "client_msg_id": "c", "body": "hi", "ref": 2}),
        json!({"op": "chat.send", "conversation_id": 999_999_999, "client_msg_id": "d", "body": "hi", "ref": 3}),
        json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "e", "body": "two", "ref": 4}),
    ];
    let answers = send_all_then_answers(&mut ws, frames).await;
    let kind = |r: i64| {
        let a = &answers[&r];
        (
            a["type"].as_str().unwrap().to_owned(),
            a["code"].as_str().unwrap_or("").to_owned(),
        )
    };
    assert_eq!(kind(0), ("ack".into(), "".into()));
    assert_eq!(kind(1), ("error".into(), "invalid".into()));
    assert_eq!(kind(2), ("error".into(), "forbidden".into()));
    assert_eq!(kind(3), ("error".into(), "not_found".into()));
    assert_eq!(kind(4), ("ack".into(), "".into()));
    let messages = history(&app, &buyer, cid).await;
    let bodies: Vec<&str> = messages
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["one", "two"]);
    assert_strictly_ordered_once(&messages);
    // Over REST the same NUL is a 422 on its field.
    let refused = problem(
        app.post(
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(&buyer.token),
            &json!({"body": "a\u{0}b", "client_msg_id": "x"}),
        )
        .await,
        422,
    )
    .await;
    assert!(refused.to_string().contains("body"));
}
