//! The live socket, over real connections.

use crate::helpers::*;
use crate::ws_helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

#[actix_web::test]
async fn the_upgrade_needs_credentials_and_an_allowed_origin() {
    let app = spawn_app_with(|s| s.allowed_origins = vec!["https://app.example".into()]).await;
    let user = app.user("user").await;
    assert!(matches!(
        try_connect(&app, None, "", None).await,
        Connected::Refused(401)
    ));
    assert!(matches!(
        try_connect(&app, Some("bogus"), "", None).await,
        Connected::Refused(401)
    ));
    assert!(matches!(
        try_connect(&app, Some(&user.token), "", Some("https://evil.example")).await,
        Connected::Refused(403)
    ));
    assert!(matches!(
        try_connect(&app, Some(&user.token), "", Some("https://app.example")).await,
        Connected::Open(_)
    ));
    // A plain GET is not an upgrade.
    problem(app.get("/api/v1/ws", Some(&user.token)).await, 400).await;

    // Browsers use a single-use ticket.
    problem(app.post("/api/v1/ws/tickets", None, &json!({})).await, 401).await;
    let ticket = json_of(
        app.post("/api/v1/ws/tickets", Some(&user.token), &json!({}))
            .await,
        201,
    )
    .await;
    let query = format!("?ticket={}", ticket["ticket"].as_str().unwrap());
    assert!(matches!(
        try_connect(&app, None, &query, None).await,
        Connected::Open(_)
    ));
    assert!(matches!(
        try_connect(&app, None, &query, None).await,
        Connected::Refused(401)
    ));
    assert!(matches!(
        try_connect(&app, None, "?ticket=made-up", None).await,
        Connected::Refused(401)
    ));
}

#[actix_web::test]
async fn subscribe_replays_after_since_then_streams_live() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let watcher = app.user("watcher").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    for title in ["a", "b", "c"] {
        json_of(
            app.patch(
                &format!("/api/v1/listings/{}", listing["id"]),
                Some(&seller.token),
                &json!({"title": title}),
            )
            .await,
            200,
        )
        .await;
    }
    let topic = format!("listing:{}", listing["id"]);
    let mut ws = connect(&app, &watcher).await;
    let subscribed = ws.subscribe(&topic, Some(2)).await;
    assert_eq!(subscribed["seq"], 4);
    assert_eq!(subscribed["ref"], topic.as_str());
    let e2 = ws.event(&topic).await;
    let e3 = ws.event(&topic).await;
    assert_eq!((e2["seq"].as_i64(), e3["seq"].as_i64()), (Some(3), Some(4)));
    assert_eq!(e3["event"], "listing.updated");
    assert_eq!(e3["data"]["listing"]["title"], "c");
    app.set_price(&seller, &listing, 9_900).await;
    let e4 = ws.event(&topic).await;
    let e5 = ws.event(&topic).await;
    assert_eq!((e4["seq"].as_i64(), e5["seq"].as_i64()), (Some(5), Some(6)));
    assert_eq!(e5["event"], "listing.price_dropped");
    // Unsubscribed: nothing more.
    ws.send(json!({"op": "unsubscribe", "topic": topic, "ref": 9}))
        .await;
    let u = ws.until(|f| f["type"] == "unsubscribed").await;
    assert_eq!(u["ref"], 9);
    app.set_price(&seller, &listing, 9_800).await;
    ws.quiet(Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn a_replay_racing_new_commits_has_no_gap_and_no_duplicate() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let watcher = app.user("watcher").await;
    let listing = app.listing(&seller, json!({"price_cents": 100_000})).await;
    let topic = format!("listing:{}", listing["id"]);
    let path = format!("/api/v1/listings/{}", listing["id"]);
    for i in 0..40 {
        json_of(
            app.patch(
                &path,
                Some(&seller.token),
                &json!({"title": format!("before {i}")}),
            )
            .await,
            200,
        )
        .await;
    }
    // Subscribe from 0 while 60 more edits commit.
    let writer = async {
        for i in 0..60 {
            json_of(
                app.patch(
                    &path,
                    Some(&seller.token),
                    &json!({"title": format!("during {i}")}),
                )
                .await,
                200,
            )
            .await;
        }
    };
    let reader = async {
        let mut clients = Vec::new();
        for _ in 0..3 {
            let mut ws = connect(&app, &watcher).await;
            ws.subscribe(&topic, Some(0)).await;
            clients.push(ws);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        clients
    };
    let ((), mut clients) = futures_util::future::join(writer, reader).await;
    for ws in &mut clients {
        let mut seqs = Vec::new();
        // 100 edits after the listing.created that opens the topic at seq 1.
        while seqs.len() < 101 {
            seqs.push(ws.event(&topic).await["seq"].as_i64().unwrap());
        }
        assert_eq!(seqs, (1..=101).collect::<Vec<_>>());
        ws.quiet(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn bad_frames_get_an_error_with_the_ref_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let me = app.user("mine").await;
    let other = app.user("other").await;
    let mut ws = connect(&app, &me).await;
    ws.send_text("{not json").await;
    let e = ws.until(|f| f["type"] == "error").await;
    assert_eq!(e["code"], "bad_json");
    ws.send(json!({"op": "fly", "ref": "r1"})).await;
    let e = ws.until(|f| f["type"] == "error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("unknown_op"), Some("r1"))
    );
    ws.send(json!({"op": "subscribe", "topic": format!("user:{}", other.id), "ref": 2}))
        .await;
    let e = ws.until(|f| f["type"] == "error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_i64()),
        (Some("forbidden"), Some(2))
    );
    ws.send(json!({"op": "subscribe", "topic": "listing:999999", "ref": 3}))
        .await;
    let e = ws.until(|f| f["type"] == "error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_i64()),
        (Some("not_found"), Some(3))
    );
    ws.send(json!({"op": "subscribe", "topic": "weather", "ref": 4}))
        .await;
    assert_eq!(
        ws.until(|f| f["type"] == "error").await["code"],
        "unknown_topic"
    );
    ws.send(json!({"op": "resume", "since": "x", "ref": 5}))
        .await;
    assert_eq!(ws.until(|f| f["type"] == "error").await["code"], "invalid");
    // Still open and working.
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;
    ws.subscribe(&format!("listing:{}", listing["id"]), None)
        .await;
}

#[actix_web::test]
async fn a_price_drop_reaches_subscribers_online_likers_and_offline_inboxes() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let online = app.user("online").await;
    let offline = app.user("offline").await;
    let targeted = app.user("targeted").await;
    let watcher = app.user("watcher").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    app.like(&online, &listing, None).await;
    app.like(&offline, &listing, None).await;
    app.like(&targeted, &listing, Some(9_600)).await;
    let topic = format!("listing:{}", listing["id"]);
    let mut watching = connect(&app, &watcher).await;
    watching.subscribe(&topic, None).await;
    let mut liker = connect(&app, &online).await;
    let mut target_ws = connect(&app, &targeted).await;

    // A 5% drop: subscribers see it; only the liker whose target it reaches is notified.
    app.set_price(&seller, &listing, 9_500).await;
    let dropped = watching
        .until(|f| f["event"] == "listing.price_dropped")
        .await;
    assert_eq!(
        (
            dropped["data"]["old_price_cents"].as_i64(),
            dropped["data"]["new_price_cents"].as_i64()
        ),
        (Some(10_000), Some(9_500))
    );
    let n = target_ws.event(&format!("user:{}", targeted.id)).await;
    assert_eq!(n["event"], "notification.price_drop");
    liker.quiet(Duration::from_millis(300)).await;

    // A 20% drop: every liker.
    app.set_price(&seller, &listing, 7_600).await;
    let n = liker.event(&format!("user:{}", online.id)).await;
    assert_eq!(n["event"], "notification.price_drop");
    assert_eq!(n["data"]["new_price_cents"], 7_600);
    assert_eq!(n["data"]["listing_id"], listing["id"]);
    let inbox = json_of(
        app.get("/api/v1/notifications", Some(&offline.token)).await,
        200,
    )
    .await;
    assert_eq!(inbox["unread_count"], 1);
    let item = &inbox["items"][0];
    assert_eq!(
        (item["kind"].as_str(), item["read"].as_bool()),
        (Some("notification.price_drop"), Some(false))
    );
    let read = app
        .post(
            "/api/v1/notifications/read",
            Some(&offline.token),
            &json!({"up_to": item["id"]}),
        )
        .await;
    assert_eq!(read.status(), 204);
    let inbox = json_of(
        app.get("/api/v1/notifications", Some(&offline.token)).await,
        200,
    )
    .await;
    assert_eq!(inbox["unread_count"], 0);
    assert_eq!(inbox["items"][0]["read"], true);
    let later = json_of(
        app.get(
            &format!("/api/v1/notifications?after={}", item["id"]),
            Some(&offline.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(later["items"], json!([]));
    problem(app.get("/api/v1/notifications", None).await, 401).await;
}

#[actix_web::test]
async fn chat_between_two_users_with_two_devices_each() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let stranger = app.user("stranger").await;
    let listing = app.listing(&seller, json!({})).await;
    let path = format!("/api/v1/listings/{}/conversations", listing["id"]);
    problem(app.post(&path, Some(&seller.token), &json!({})).await, 403).await;
    let conv = json_of(app.post(&path, Some(&buyer.token), &json!({})).await, 201).await;
    let again = json_of(app.post(&path, Some(&buyer.token), &json!({})).await, 200).await;
    assert_eq!(again["id"], conv["id"]);
    let cid = conv["id"].as_i64().unwrap();
    let (buyer_topic, seller_topic) = (format!("user:{}", buyer.id), format!("user:{}", seller.id));

    let mut b1 = connect(&app, &buyer).await;
    let mut b2 = connect(&app, &buyer).await;
    let mut s1 = connect(&app, &seller).await;
    let mut s2 = connect(&app, &seller).await;

    b1.send(json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "a1", "body": "Is it available?", "ref": 1})).await;
    // The sender's device gets the ack and its own copy of the event; on PostgreSQL the relay
    // may deliver the event first (the contract does not order them), so take both as they come.
    let (mut ack, mut own) = (None, None);
    while ack.is_none() || own.is_none() {
        let frame = b1.next().await;
        if frame["type"] == "ack" {
            ack = Some(frame);
        } else if frame["type"] == "event" && frame["topic"] == buyer_topic.as_str() {
            own = Some(frame);
        }
    }
    let (ack, own) = (ack.unwrap_or_default(), own.unwrap_or_default());
    assert_eq!(
        (ack["ref"].as_i64(), ack["client_msg_id"].as_str()),
        (Some(1), Some("a1"))
    );
    let message = ack["message"].clone();
    assert_eq!(message["body"], "Is it available?");
    assert_eq!(own["event"], "chat.message");
    assert_eq!(own["data"]["message"]["id"], message["id"]);
    for (ws, topic) in [
        (&mut s1, &seller_topic),
        (&mut s2, &seller_topic),
        (&mut b2, &buyer_topic),
    ] {
        let e = ws.event(topic).await;
        assert_eq!(e["event"], "chat.message");
        assert_eq!(e["data"]["message"]["id"], message["id"]);
    }
    // The same client_msg_id again: the same message, nothing new stored or sent.
    b1.send(json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "a1", "body": "Is it available?", "ref": 2})).await;
    let ack = b1.until(|f| f["type"] == "ack").await;
    assert_eq!(ack["message"]["id"], message["id"]);
    s1.quiet(Duration::from_millis(300)).await;

    // The seller answers over REST; order is strict.
    let reply = json_of(
        app.post(
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(&seller.token),
            &json!({"body": "Yes!", "client_msg_id": "s1"}),
        )
        .await,
        201,
    )
    .await;
    assert!(reply["seq"].as_i64() > message["seq"].as_i64());
    assert_eq!(
        b2.event(&buyer_topic).await["data"]["message"]["body"],
        "Yes!"
    );
    let list = json_of(
        app.get("/api/v1/conversations", Some(&buyer.token)).await,
        200,
    )
    .await;
    assert_eq!(
        (
            list["items"][0]["unread_count"].as_i64(),
            list["items"][0]["last_message"]["body"].as_str()
        ),
        (Some(1), Some("Yes!"))
    );

    // Read receipts reach the other party; typing is relayed without a seq.
    b1.send(
        json!({"op": "chat.read", "conversation_id": cid, "message_id": reply["id"], "ref": 3}),
    )
    .await;
    assert_eq!(b1.until(|f| f["type"] == "ack").await["ref"], 3);
    let receipt = s1.until(|f| f["event"] == "chat.read").await;
    assert_eq!(receipt["data"]["message_id"], reply["id"]);
    let list = json_of(
        app.get("/api/v1/conversations", Some(&buyer.token)).await,
        200,
    )
    .await;
    assert_eq!(list["items"][0]["unread_count"], 0);
    s1.send(json!({"op": "chat.typing", "conversation_id": cid}))
        .await;
    let typing = b1.until(|f| f["event"] == "chat.typing").await;
    assert!(typing.get("seq").is_none());
    assert_eq!(typing["data"]["user_id"], seller.id);
    for _ in 0..5 {
        s1.send(json!({"op": "chat.typing", "conversation_id": cid, "ref": "t"}))
            .await;
    }
    let limited = s1.until(|f| f["type"] == "error").await;
    assert_eq!(limited["code"], "rate_limited");

    // History pages newest first; strangers are refused everywhere.
    let page = json_of(
        app.get(
            &format!("/api/v1/conversations/{cid}/messages?limit=1"),
            Some(&buyer.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"][0]["body"], "Yes!");
    let older = json_of(
        app.get(
            &format!(
                "/api/v1/conversations/{cid}/messages?limit=1&before={}",
                page["next_cursor"].as_str().unwrap()
            ),
            Some(&buyer.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(older["items"][0]["body"], "Is it available?");
    assert_eq!(older["next_cursor"], Value::Null);
    problem(
        app.get(
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(&stranger.token),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.post(
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(&stranger.token),
            &json!({"body": "hi", "client_msg_id": "x"}),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.post(
            &format!("/api/v1/conversations/{cid}/read"),
            Some(&stranger.token),
            &json!({"message_id": reply["id"]}),
        )
        .await,
        403,
    )
    .await;
    invalid_fields(
        app.post(
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(&buyer.token),
            &json!({"body": "", "client_msg_id": "y"}),
        )
        .await,
        &["body"],
    )
    .await;
    let mut s3 = connect(&app, &stranger).await;
    s3.send(json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": "z", "body": "hi", "ref": 7})).await;
    assert_eq!(
        s3.until(|f| f["type"] == "error").await["code"],
        "forbidden"
    );
}

#[actix_web::test]
async fn reconnecting_with_since_receives_exactly_the_missed_events() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let listing = app.listing(&seller, json!({"price_cents": 10_000})).await;
    let topic = format!("user:{}", seller.id);
    let mut ws = connect(&app, &seller).await;
    let offers = format!("/api/v1/listings/{}/offers", listing["id"]);
    let first = json_of(
        app.post(&offers, Some(&buyer.token), &json!({"amount_cents": 6_000}))
            .await,
        201,
    )
    .await;
    let seen = ws.event(&topic).await["seq"].as_i64().unwrap();
    ws.socket.close(None).await.unwrap();

    // While the seller is away: a withdrawal, a new offer, a decline.
    app.post(
        &format!("/api/v1/offers/{}/withdraw", first["id"]),
        Some(&buyer.token),
        &json!({}),
    )
    .await;
    let second = json_of(
        app.post(&offers, Some(&buyer.token), &json!({"amount_cents": 7_000}))
            .await,
        201,
    )
    .await;
    app.post(
        &format!("/api/v1/offers/{}/decline", second["id"]),
        Some(&seller.token),
        &json!({}),
    )
    .await;

    let mut back = connect_with(&app, &seller, &format!("?since={seen}")).await;
    let mut missed = Vec::new();
    for _ in 0..3 {
        let e = back.event(&topic).await;
        missed.push((
            e["seq"].as_i64().unwrap(),
            e["event"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        missed,
        [
            (seen + 1, "offer.withdrawn".to_owned()),
            (seen + 2, "offer.created".to_owned()),
            (seen + 3, "offer.declined".to_owned())
        ]
    );
    back.quiet(Duration::from_millis(300)).await;
    // The `resume` op does the same on an open socket.
    back.send(json!({"op": "resume", "since": seen + 1, "ref": "r"}))
        .await;
    let resumed = back.until(|f| f["type"] == "subscribed").await;
    assert_eq!(resumed["ref"], "r");
    let again = back.event(&topic).await;
    assert!(again["seq"].as_i64().unwrap() > seen + 1);
}

#[actix_web::test]
async fn logging_out_closes_that_tokens_sockets_at_once() {
    let app = spawn_app().await;
    let user = app.user("user").await;
    let other_login = json_of(app.login("user", "password123").await, 201).await;
    let other_token = other_login["token"].as_str().unwrap().to_owned();
    let mut ws = connect(&app, &user).await;
    let mut kept = match try_connect(&app, Some(&other_token), "", None).await {
        Connected::Open(c) => *c,
        Connected::Refused(s) => panic!("{s}"),
    };
    assert_eq!(
        app.delete("/api/v1/sessions/current", Some(&user.token))
            .await
            .status(),
        204
    );
    assert_eq!(ws.closed().await, Some(1008));
    kept.quiet(Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn sessions_per_user_are_capped() {
    let app = spawn_app_with(|s| s.ws_max_sessions_per_user = 2).await;
    let user = app.user("user").await;
    let _a = connect(&app, &user).await;
    let _b = connect(&app, &user).await;
    let mut c = connect(&app, &user).await;
    assert_eq!(c.closed().await, Some(1008));
}

/// Runs a raw (blocking) client off the test's thread, which also runs the server's actors.
async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[actix_web::test]
async fn oversized_messages_close_with_1009_whole_or_fragmented() {
    let app = spawn_app().await;
    let user = app.user("user").await;
    let (address, token) = (app.address.clone(), user.token.clone());
    let (whole, fragmented, small) = off_thread(move || {
        let big = "x".repeat(70 * 1024);
        let mut raw = RawWs::connect(&address, &token, None);
        let _ = raw.frame(true, 1, big.as_bytes());
        let whole = raw.read_to_close().0;
        // Fragments each under the limit but over it together.
        let mut raw = RawWs::connect(&address, &token, None);
        let chunk = "y".repeat(30 * 1024);
        let _ = raw.frame(false, 1, chunk.as_bytes());
        let _ = raw.frame(false, 0, chunk.as_bytes());
        let _ = raw.frame(true, 0, chunk.as_bytes());
        let fragmented = raw.read_to_close().0;
        // A fragmented message within the limit is fine.
        let mut raw = RawWs::connect(&address, &token, None);
        let frame = json!({"op": "fly", "ref": "frag"}).to_string();
        let (a, b) = frame.split_at(5);
        raw.frame(false, 1, a.as_bytes()).unwrap();
        raw.frame(true, 0, b.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        raw.frame(true, 8, &1000u16.to_be_bytes()).unwrap();
        let (_, text) = raw.read_all();
        (
            whole,
            fragmented,
            String::from_utf8_lossy(&text).contains("unknown_op"),
        )
    })
    .await;
    assert_eq!(whole, Some(1009));
    assert_eq!(fragmented, Some(1009));
    assert!(small, "the assembled message was not handled");
}

#[actix_web::test]
async fn a_flood_of_frames_closes_with_1008() {
    let app = spawn_app().await;
    let user = app.user("user").await;
    let (address, token) = (app.address.clone(), user.token.clone());
    let code = off_thread(move || {
        let mut raw = RawWs::connect(&address, &token, None);
        let frame = json!({"op": "unsubscribe", "topic": "listing:1"}).to_string();
        for _ in 0..100 {
            if raw.frame(true, 1, frame.as_bytes()).is_err() {
                break;
            }
        }
        raw.read_to_close().0
    })
    .await;
    assert_eq!(code, Some(1008));
    // Twenty frames a second for two seconds is fine.
    let mut ws = connect(&app, &user).await;
    for _ in 0..40 {
        ws.send(json!({"op": "fly"})).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ws.send(json!({"op": "fly", "ref": "last"})).await;
    ws.until(|f| f["ref"] == "last").await;
}

#[actix_web::test]
async fn a_text_frame_that_is_not_utf8_is_closed_with_1007() {
    let app = spawn_app().await;
    let user = app.user("user").await;
    let (address, token) = (app.address.clone(), user.token.clone());
    let code = off_thread(move || {
        let mut raw = RawWs::connect(&address, &token, None);
        raw.frame(true, 0x1, &[0xff, 0xfe, 0xfd]).unwrap();
        raw.read_to_close().0
    })
    .await;
    assert_eq!(code, Some(1007));
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("bazaar_ws_closed_total{reason=\"text is not UTF-8\"} 1"),
        "{metrics}"
    );
}

/// The /metrics text once `wanted` appears in it (or after 10 s, for the assertion to show).
async fn metrics_once(app: &TestApp, wanted: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.get("/metrics", None).await.text().await.unwrap();
        if metrics.contains(wanted) || std::time::Instant::now() > deadline {
            return metrics;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn a_connection_that_breaks_is_counted_as_lost_not_as_a_protocol_error() {
    let app = spawn_app().await;
    let user = app.user("user").await;
    for how in [std::net::Shutdown::Both, std::net::Shutdown::Write] {
        let (address, token) = (app.address.clone(), user.token.clone());
        off_thread(move || {
            use std::io::Write;
            let mut raw = RawWs::connect(&address, &token, None);
            // The start of a masked text frame of 100 bytes, then the connection goes.
            raw.stream
                .write_all(&[0x81, 0x80 | 100, 1, 2, 3, 4, b'{'])
                .unwrap();
            raw.stream.shutdown(how).unwrap();
        })
        .await;
    }
    let wanted = "bazaar_ws_closed_total{reason=\"connection lost\"} 2";
    let metrics = metrics_once(&app, wanted).await;
    assert!(metrics.contains(wanted), "{metrics}");
    assert!(!metrics.contains("reason=\"protocol error\""), "{metrics}");
}

#[actix_web::test]
async fn a_silent_client_is_closed_after_the_timeout() {
    let app = spawn_app_with(|s| {
        s.ws_ping_secs = 1;
        s.ws_timeout_secs = 2;
    })
    .await;
    let user = app.user("user").await;
    let (address, token) = (app.address.clone(), user.token.clone());
    // The raw client never answers pings.
    let (code, waited) = off_thread(move || {
        let mut raw = RawWs::connect(&address, &token, None);
        let started = std::time::Instant::now();
        let code = raw.read_to_close().0;
        (code, started.elapsed())
    })
    .await;
    assert_eq!(code, Some(1001));
    assert!(waited >= Duration::from_secs(2), "closed after {waited:?}");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("bazaar_ws_closed_total{reason=\"heartbeat timeout\"} 1"),
        "{metrics}"
    );
}

/// A new user's raw socket (4 KiB receive buffer) subscribed to `listing`'s topic, which
/// from here on reads nothing until the test says so.
async fn a_subscriber_that_stops_reading(app: &TestApp, listing: &Value) -> RawWs {
    let reader = app.user("reader").await;
    let topic = format!("listing:{}", listing["id"]);
    let (address, token) = (app.address.clone(), reader.token.clone());
    let mut slow = off_thread(move || RawWs::connect(&address, &token, Some(4096))).await;
    slow.frame(
        true,
        1,
        json!({"op": "subscribe", "topic": topic})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow
}

#[actix_web::test]
async fn a_client_that_never_reads_is_cut_off_and_its_backlog_stays_bounded() {
    let app = spawn_app_with(|s| {
        s.ws_max_backlog_bytes = 256 * 1024;
        // The edits below take over 30 s on PostgreSQL here: the kernel's timeout for data the
        // client does not take (TCP_USER_TIMEOUT, this setting) must not reset the
        // connection before the client reads again.
        s.ws_timeout_secs = 300;
        // Nor may the server drop it for not taking the close frame: this client reads late.
        s.ws_close_grace_secs = 3_600;
    })
    .await;
    let seller = app.user("seller").await;
    let listing = app
        .listing(&seller, json!({"description": "d".repeat(5_000)}))
        .await;
    let mut slow = a_subscriber_that_stops_reading(&app, &listing).await;
    // 3,000 events of over 5 KB each: about 16 MB, far more than the socket buffers (about
    // 4 MiB here) and the 256 KiB backlog allowed.
    let path = format!("/api/v1/listings/{}", listing["id"]);
    for i in 0..3_000 {
        json_of(
            app.patch(
                &path,
                Some(&seller.token),
                &json!({"title": format!("t{i}")}),
            )
            .await,
            200,
        )
        .await;
    }
    // The client finally reads: it gets what was buffered, then the close frame (1008: the
    // backlog limit is a policy), and the connection ends.
    slow.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (code, received) = off_thread(move || slow.read_to_close()).await;
    assert_eq!(code, Some(1008), "no close frame after {received} bytes");
    assert!(received > 0, "nothing was delivered at all");
    assert!(
        received < 8 * 1024 * 1024,
        "received {received} bytes: the backlog was not bounded"
    );
    let mut deregistered = false;
    for _ in 0..50 {
        let metrics = app.get("/metrics", None).await.text().await.unwrap();
        if metrics.contains("bazaar_ws_sessions 0")
            && metrics.contains("bazaar_ws_closed_total{reason=\"backlog\"} 1")
        {
            deregistered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(deregistered, "the cut-off session did not deregister");
}

#[actix_web::test]
async fn a_client_that_does_not_take_its_close_frame_loses_its_connection() {
    let app = spawn_app_with(|s| {
        // The backlog overflows on what the connection has not taken from the session, and
        // the close frame is stuck only once the socket buffers are full: with 64 KiB, five
        // edits that ran before the connection's task did (a loaded machine: it happened in
        // CI) overflowed it early, the close frame went out on buffers with room, and the
        // connection ended by itself, with nothing left to drop. 1 MiB is ~70 events of lag.
        s.ws_max_backlog_bytes = 1024 * 1024;
        // Far longer than the test: only the grace below can end the connection.
        s.ws_timeout_secs = 120;
        s.ws_close_grace_secs = 1;
    })
    .await;
    let seller = app.user("seller").await;
    // 5,000 three-byte characters: every event carries the listing, about 15 KB.
    let listing = app
        .listing(&seller, json!({"description": "€".repeat(5_000)}))
        .await;
    let mut slow = a_subscriber_that_stops_reading(&app, &listing).await;
    // The client never reads. Edits until its connection is dropped, at most 13.5 MB of
    // events: over twice the socket buffers (about 4 MiB here) and the 1 MiB backlog together.
    let path = format!("/api/v1/listings/{}", listing["id"]);
    let dropped = |metrics: &str| {
        metrics.contains("bazaar_ws_dropped_total 1") && metrics.contains("bazaar_ws_sessions 0")
    };
    for i in 0..900 {
        json_of(
            app.patch(
                &path,
                Some(&seller.token),
                &json!({"title": format!("t{i}")}),
            )
            .await,
            200,
        )
        .await;
        if i % 50 == 49 && dropped(&app.get("/metrics", None).await.text().await.unwrap()) {
            break;
        }
    }
    // Dropped (and its session gone) within a minute of the last edit, though the kernel
    // would have kept it for 120 s.
    let mut metrics = String::new();
    for _ in 0..600 {
        metrics = app.get("/metrics", None).await.text().await.unwrap();
        if dropped(&metrics) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        dropped(&metrics),
        "the connection was not dropped: {metrics}"
    );
    // The client reads at last: the connection is gone (reset, or the end of the stream after
    // what the kernel had already delivered), well before the 120 s TCP timeout.
    slow.stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let ended = off_thread(move || {
        use std::io::Read;
        let mut buf = [0u8; 65_536];
        loop {
            match slow.stream.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => continue,
                Err(e) => return Err(e.kind()),
            }
        }
    })
    .await;
    assert!(
        matches!(ended, Ok(()) | Err(std::io::ErrorKind::ConnectionReset)),
        "the connection did not end: {ended:?}"
    );
}

/// Receives `topic`'s events until `last`, noting their seqs and sizes.
async fn receive_until(
    ws: &mut WsClient,
    topic: &str,
    last: i64,
    seqs: &mut Vec<i64>,
    bytes: &mut usize,
) {
    while seqs.last().is_none_or(|s| *s < last) {
        let event = ws.event(topic).await;
        *bytes += event.to_string().len();
        seqs.push(event["seq"].as_i64().unwrap());
    }
}

#[actix_web::test]
async fn a_client_that_missed_megabytes_catches_up_over_one_connection_in_order() {
    // The default backlog limit (1 MiB): the replay below is three times that.
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let reader = app.user("reader").await;
    // 5,000 three-byte characters: every event carries the listing, about 15 KB.
    let listing = app
        .listing(&seller, json!({"description": "€".repeat(5_000)}))
        .await;
    let topic = format!("listing:{}", listing["id"]);
    let path = format!("/api/v1/listings/{}", listing["id"]);
    let edit = |i: usize| {
        let (app, path, token) = (&app, &path, &seller.token);
        async move {
            json_of(
                app.patch(path, Some(token), &json!({"title": format!("t{i}")}))
                    .await,
                200,
            )
            .await;
        }
    };
    let mut ws = connect(&app, &reader).await;
    let seen = ws.subscribe(&topic, None).await["seq"].as_i64().unwrap();
    drop(ws);
    // Missed while away: over 3 MiB.
    for i in 0..220 {
        edit(i).await;
    }
    let missed = app.events(&topic).last().unwrap().0;
    let mut ws = connect(&app, &reader).await;
    let (mut seqs, mut bytes) = (Vec::new(), 0);
    // Resume from where it was, while new edits keep coming (live events during the replay).
    ws.send(json!({"op": "subscribe", "topic": topic, "since": seen}))
        .await;
    let live = async {
        for i in 220..260 {
            edit(i).await;
        }
    };
    tokio::join!(
        live,
        receive_until(&mut ws, &topic, missed, &mut seqs, &mut bytes)
    );
    let head = app.events(&topic).last().unwrap().0;
    receive_until(&mut ws, &topic, head, &mut seqs, &mut bytes).await;
    assert!(bytes > 3 * 1024 * 1024, "only {bytes} bytes were replayed");
    // Every event once, in order, with no gap: nothing cut the connection.
    assert_eq!(seqs, ((seen + 1)..=head).collect::<Vec<_>>());
}

#[actix_web::test]
async fn subscriptions_per_connection_are_capped() {
    let app = spawn_app_with(|s| s.ws_max_subscriptions = 2).await;
    let seller = app.user("seller").await;
    let me = app.user("mine").await;
    let mut listings = Vec::new();
    for _ in 0..3 {
        listings.push(app.listing(&seller, json!({})).await);
    }
    let mut ws = connect(&app, &me).await;
    for l in &listings[..2] {
        ws.subscribe(&format!("listing:{}", l["id"]), None).await;
    }
    ws.send(json!({"op": "subscribe", "topic": format!("listing:{}", listings[2]["id"]), "ref": "third"})).await;
    let e = ws.until(|f| f["type"] == "error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("too_many_subscriptions"), Some("third"))
    );
    // Unsubscribing makes room; unsubscribing twice is refused.
    let first = format!("listing:{}", listings[0]["id"]);
    ws.send(json!({"op": "unsubscribe", "topic": first, "ref": "u1"}))
        .await;
    ws.until(|f| f["type"] == "unsubscribed").await;
    ws.send(json!({"op": "unsubscribe", "topic": first, "ref": "u2"}))
        .await;
    assert_eq!(
        ws.until(|f| f["type"] == "error").await["code"],
        "not_subscribed"
    );
    ws.subscribe(&format!("listing:{}", listings[2]["id"]), None)
        .await;
}
