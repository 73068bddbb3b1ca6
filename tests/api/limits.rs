//! Rate limits and the login lock-out, over the network: each family answers 429 problem+json
//! with Retry-After and is counted in /metrics; an unknown username is answered exactly as a
//! known one; X-Forwarded-For counts only from a trusted proxy; `--rate-limits off` lets a burst
//! through. These servers start with limits on (the harness turns them off for other tests).

use crate::helpers::*;
use crate::ws_helpers::*;
use bazaar::config::{Settings, Switch};
use bazaar_actors::store::schema::idempotency_keys as k;
use diesel::prelude::*;
use reqwest::Response;
use serde_json::{json, Value};
use std::time::Duration;

/// A server with the limits on, shaped by `configure`.
async fn spawn_limited(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.rate_limits = Switch::On;
        configure(s);
    })
    .await
}

/// Asserts a 429 problem with a Retry-After of at least a second; returns it and the body.
async fn too_many(response: Response) -> (u64, Value) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("a Retry-After in whole seconds");
    assert!(retry_after >= 1);
    let body = problem(response, 429).await;
    assert_eq!(body["type"], "/problems/too-many-requests");
    (retry_after, body)
}

async fn limited_count(app: &TestApp, limit: &str) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let prefix = format!("bazaar_rate_limited_total{{limit=\"{limit}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

async fn ticket(app: &TestApp, user: &TestUser, forwarded_for: Option<&str>) -> Response {
    let mut req = app.request(
        reqwest::Method::POST,
        "/api/v1/ws/tickets",
        Some(&user.token),
    );
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.unwrap()
}

#[actix_web::test]
async fn logins_per_username_answer_an_unknown_user_as_a_known_one() {
    let app = spawn_limited(|s| {
        s.limit_logins_per_username = "3/hour".parse().unwrap();
        s.login_lockout_after = 100;
    })
    .await;
    json_of(app.register("alice", "password123").await, 201).await;
    let mut answers = Vec::new();
    for name in ["alice", "nobody"] {
        for _ in 0..3 {
            problem(app.login(name, "wrong-password").await, 401).await;
        }
        let (retry_after, body) = too_many(app.login(name, "wrong-password").await).await;
        assert!(retry_after <= 20 * 60, "{retry_after}");
        answers.push(body["detail"].as_str().unwrap().to_owned());
    }
    // The same words for a real account and a made-up one: nothing to enumerate.
    assert_eq!(answers[0], answers[1]);
    // Even the right password waits now.
    too_many(app.login("alice", "password123").await).await;
    // Another username is not held back by these.
    json_of(app.register("bob", "password123").await, 201).await;
    json_of(app.login("bob", "password123").await, 201).await;
    assert_eq!(limited_count(&app, "logins_per_username").await, 3);
}

#[actix_web::test]
async fn logins_are_limited_per_address() {
    let app = spawn_limited(|s| s.limit_logins_per_address = "3/hour".parse().unwrap()).await;
    for name in ["a1", "a2", "a3"] {
        problem(app.login(name, "wrong-password").await, 401).await;
    }
    too_many(app.login("a4", "wrong-password").await).await;
    assert_eq!(limited_count(&app, "logins_per_address").await, 1);
}

#[actix_web::test]
async fn the_lock_out_grows_with_each_failure_for_known_and_unknown_names_alike() {
    let app = spawn_limited(|s| {
        s.login_lockout_after = 2;
        s.login_lockout_secs = 5;
        s.login_lockout_max_secs = 60;
    })
    .await;
    json_of(app.register("carol", "password123").await, 201).await;
    for name in ["carol", "ghost"] {
        problem(app.login(name, "wrong-password").await, 401).await;
        problem(app.login(name, "wrong-password").await, 401).await;
    }
    let mut first = Vec::new();
    for name in ["carol", "ghost"] {
        // Locked for 5 s: even the right password is refused, and not checked.
        let (retry_after, _) = too_many(app.login(name, "password123").await).await;
        assert!(retry_after <= 5, "{retry_after}");
        first.push(retry_after);
    }
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    for name in ["carol", "ghost"] {
        // The lock is over; one more failure locks for twice as long.
        problem(app.login(name, "wrong-password").await, 401).await;
        let (retry_after, body) = too_many(app.login(name, "password123").await).await;
        assert!((6..=10).contains(&retry_after), "{retry_after}");
        assert!(body["detail"].as_str().unwrap().contains("failed logins"));
    }
    assert_eq!(limited_count(&app, "login_lockout").await, 4);
}

#[actix_web::test]
async fn a_successful_login_clears_the_failures() {
    let app = spawn_limited(|s| s.login_lockout_after = 2).await;
    json_of(app.register("dave", "password123").await, 201).await;
    for _ in 0..3 {
        problem(app.login("dave", "wrong-password").await, 401).await;
        json_of(app.login("dave", "password123").await, 201).await;
    }
}

#[actix_web::test]
async fn registrations_and_tickets_are_limited_per_address() {
    let app = spawn_limited(|s| {
        s.limit_registrations_per_address = "2/hour".parse().unwrap();
        s.limit_tickets_per_address = "2/hour".parse().unwrap();
    })
    .await;
    json_of(app.register("reg1", "password123").await, 201).await;
    json_of(app.register("reg2", "password123").await, 201).await;
    too_many(app.register("reg3", "password123").await).await;

    let users = app.users_fast("t", 2);
    json_of(ticket(&app, &users[0], None).await, 201).await;
    json_of(ticket(&app, &users[1], None).await, 201).await;
    // Per address, not per user: the first user's allowance went to both.
    too_many(ticket(&app, &users[0], None).await).await;
    assert_eq!(limited_count(&app, "registrations_per_address").await, 1);
    assert_eq!(limited_count(&app, "tickets_per_address").await, 1);
}

#[actix_web::test]
async fn searches_facets_and_profiles_are_limited_per_address_together() {
    let app = spawn_limited(|s| s.limit_browsing_per_address = "3/hour".parse().unwrap()).await;
    let user = app.users_fast("s", 1).remove(0);
    json_of(app.get("/api/v1/listings?q=lamp", None).await, 200).await;
    json_of(app.get("/api/v1/listings/facets?q=lamp", None).await, 200).await;
    // Signed in or not, from the same address: one allowance.
    json_of(
        app.get("/api/v1/listings?sort=price_asc", Some(&user.token))
            .await,
        200,
    )
    .await;
    let (_, body) = too_many(app.get("/api/v1/listings?q=lamp", None).await).await;
    assert!(
        body["detail"].as_str().unwrap().contains("searches"),
        "{body}"
    );
    too_many(app.get("/api/v1/listings/facets", Some(&user.token)).await).await;
    too_many(app.get(&format!("/api/v1/users/{}", user.id), None).await).await;
    assert_eq!(limited_count(&app, "browsing_per_address").await, 3);
    // A listing by id is not a search.
    let listing = app.listing(&user, json!({})).await;
    json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
}

#[actix_web::test]
async fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
    let tickets = "2/hour";
    // The test client (127.0.0.1) is not a trusted proxy: its header is ignored.
    let app = spawn_limited(|s| s.limit_tickets_per_address = tickets.parse().unwrap()).await;
    let user = app.users_fast("u", 1).remove(0);
    for client in ["198.51.100.1", "198.51.100.2"] {
        json_of(ticket(&app, &user, Some(client)).await, 201).await;
    }
    too_many(ticket(&app, &user, Some("198.51.100.3")).await).await;

    // Behind a trusted proxy, each client has its own allowance, and what a client wrote to
    // the left of the proxy's entry does not count.
    let app = spawn_limited(|s| {
        s.limit_tickets_per_address = tickets.parse().unwrap();
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let user = app.users_fast("u", 1).remove(0);
    for _ in 0..2 {
        json_of(ticket(&app, &user, Some("198.51.100.1")).await, 201).await;
    }
    too_many(ticket(&app, &user, Some("198.51.100.1")).await).await;
    too_many(ticket(&app, &user, Some("198.51.100.9, 198.51.100.1")).await).await;
    json_of(
        ticket(&app, &user, Some("198.51.100.1, 198.51.100.2")).await,
        201,
    )
    .await;
}

#[actix_web::test]
async fn purchases_are_limited_per_user() {
    let app = spawn_limited(|s| s.limit_purchases_per_user = "2/hour".parse().unwrap()).await;
    let mut users = app.users_fast("p", 3);
    let (seller, buyer, other) = (users.remove(0), users.remove(0), users.remove(0));
    for u in [&buyer, &other] {
        app.deposit(u, 100_000).await;
    }
    let listing = app
        .listing(&seller, json!({ "price_cents": 1_000, "quantity": 10 }))
        .await;
    app.buy_one(&buyer, &listing).await;
    app.buy_one(&buyer, &listing).await;
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    let (_, body) = too_many(app.post(&path, Some(&buyer.token), &json!({})).await).await;
    assert!(body["detail"].as_str().unwrap().contains("purchases"));
    // Another buyer is not affected, and nothing was sold by the refused attempt.
    app.buy_one(&other, &listing).await;
    assert_eq!(quantity_left(&app, &listing).await, 7);
    assert_eq!(limited_count(&app, "purchases_per_user").await, 1);
}

async fn quantity_left(app: &TestApp, listing: &Value) -> i64 {
    let path = format!("/api/v1/listings/{}", listing["id"]);
    let now = json_of(app.get(&path, None).await, 200).await;
    now["quantity"].as_i64().expect("a quantity")
}

/// A purchase with an Idempotency-Key.
async fn keyed_purchase(app: &TestApp, buyer: &TestUser, listing: &Value, key: &str) -> Response {
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    app.request(reqwest::Method::POST, &path, Some(&buyer.token))
        .header("idempotency-key", key)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
}

#[actix_web::test]
async fn a_repeat_of_an_answered_request_is_replayed_even_over_the_limit() {
    let app = spawn_limited(|s| s.limit_purchases_per_user = "1/hour".parse().unwrap()).await;
    let mut users = app.users_fast("r", 2);
    let (seller, buyer) = (users.remove(0), users.remove(0));
    app.deposit(&buyer, 100_000).await;
    let listing = app
        .listing(&seller, json!({ "price_cents": 1_000, "quantity": 10 }))
        .await;
    let first = keyed_purchase(&app, &buyer, &listing, "k1").await;
    assert_eq!(first.status(), 201);
    let first = first.text().await.unwrap();
    // The buyer is at the limit now. Retrying the same purchase tells them what became of it…
    let again = keyed_purchase(&app, &buyer, &listing, "k1").await;
    assert_eq!(again.status(), 201);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(again.text().await.unwrap(), first);
    // …while a new purchase, keyed or not, is refused and buys nothing.
    too_many(keyed_purchase(&app, &buyer, &listing, "k2").await).await;
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    too_many(app.post(&path, Some(&buyer.token), &json!({})).await).await;
    assert_eq!(quantity_left(&app, &listing).await, 9);
    // The refused key was not taken: once allowed again it would run.
    let mut conn = app.db.connect();
    let claimed: i64 = k::table
        .filter(k::key.eq("k2"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(claimed, 0);
}

#[actix_web::test]
async fn photo_uploads_are_limited_per_user_before_the_picture_is_read() {
    let app = spawn_limited(|s| s.limit_photos_per_user = "1/hour".parse().unwrap()).await;
    let mut users = app.users_fast("ph", 2);
    let (seller, other) = (users.remove(0), users.remove(0));
    let listing = app.listing(&seller, json!({})).await;
    let theirs = app.listing(&other, json!({})).await;
    let upload = |who: &TestUser, listing: &Value, body: Vec<u8>| {
        app.request(
            reqwest::Method::POST,
            &format!("/api/v1/listings/{}/photos", listing["id"]),
            Some(&who.token),
        )
        .header("content-type", "image/png")
        .body(body)
        .send()
    };
    // The one allowed upload is spent even by a body that is not a picture.
    let res = upload(&seller, &listing, b"not a picture".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let (_, body) = too_many(upload(&seller, &listing, b"x".to_vec()).await.unwrap()).await;
    assert!(
        body["detail"].as_str().unwrap().contains("photos"),
        "{body}"
    );
    // Another seller is not affected.
    let res = upload(&other, &theirs, b"not a picture".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(limited_count(&app, "photos_per_user").await, 1);
}

#[actix_web::test]
async fn chat_is_limited_per_user_over_rest_and_the_socket_together() {
    let app = spawn_limited(|s| s.limit_chat_per_user = "3/hour".parse().unwrap()).await;
    let mut users = app.users_fast("c", 2);
    let (seller, buyer) = (users.remove(0), users.remove(0));
    let listing = app.listing(&seller, json!({})).await;
    let path = format!("/api/v1/listings/{}/conversations", listing["id"]);
    let conv = json_of(app.post(&path, Some(&buyer.token), &json!({})).await, 201).await;
    let cid = conv["id"].as_i64().unwrap();
    let messages = format!("/api/v1/conversations/{cid}/messages");
    for i in 0..2 {
        let body = json!({ "body": "hello", "client_msg_id": format!("r{i}") });
        json_of(app.post(&messages, Some(&buyer.token), &body).await, 201).await;
    }
    let mut socket = connect(&app, &buyer).await;
    let send = |id: &str, reference: i64| json!({"op": "chat.send", "conversation_id": cid, "client_msg_id": id, "body": "hi", "ref": reference});
    socket.send(send("s1", 1)).await;
    let answer = reply_to(&mut socket, 1).await;
    assert_eq!(answer["type"], "ack", "{answer}");
    socket.send(send("s2", 2)).await;
    let answer = reply_to(&mut socket, 2).await;
    assert_eq!(
        (answer["type"].as_str(), answer["code"].as_str()),
        (Some("error"), Some("rate_limited")),
        "{answer}"
    );
    assert!(answer["retry_after"].as_u64().unwrap() >= 1, "{answer}");
    let doc = crate::asyncapi::document();
    crate::asyncapi::assert_documented(&doc, &answer, crate::asyncapi::server_schema(&answer));
    let body = json!({ "body": "hello", "client_msg_id": "r9" });
    too_many(app.post(&messages, Some(&buyer.token), &body).await).await;
    // The seller answers freely.
    let body = json!({ "body": "yes", "client_msg_id": "x" });
    json_of(app.post(&messages, Some(&seller.token), &body).await, 201).await;
    assert_eq!(limited_count(&app, "chat_per_user").await, 2);
}

/// The ack or error frame carrying `reference`, skipping events.
async fn reply_to(socket: &mut WsClient, reference: i64) -> Value {
    loop {
        let frame = socket.next().await;
        if frame["ref"] == reference && frame["type"] != "event" {
            return frame;
        }
    }
}

#[actix_web::test]
async fn rate_limits_off_lets_a_burst_through() {
    let app = spawn_app_with(|s| {
        s.rate_limits = Switch::Off;
        s.limit_tickets_per_address = "1/hour".parse().unwrap();
        s.limit_logins_per_username = "1/hour".parse().unwrap();
        s.login_lockout_after = 1;
    })
    .await;
    let user = app.users_fast("o", 1).remove(0);
    for _ in 0..10 {
        json_of(ticket(&app, &user, None).await, 201).await;
    }
    json_of(app.register("erin", "password123").await, 201).await;
    for _ in 0..3 {
        problem(app.login("erin", "wrong-password").await, 401).await;
    }
    json_of(app.login("erin", "password123").await, 201).await;
    assert_eq!(limited_count(&app, "tickets_per_address").await, 0);
}

#[actix_web::test]
async fn a_full_hashing_queue_answers_503_with_retry_after_rather_than_waiting() {
    // Limits off: what bounds this storm is the hashing queue alone.
    let app = spawn_app_with(|s| {
        s.hash_threads = Some(1);
        s.hash_queue = 1;
    })
    .await;
    let names: Vec<String> = (0..32).map(|i| format!("storm{i}")).collect();
    let attempts = names.iter().map(|name| app.login(name, "wrong-password"));
    let answers = futures::future::join_all(attempts).await;
    let mut refused = 0;
    for answer in answers {
        match answer.status().as_u16() {
            401 => {}
            503 => {
                assert!(answer.headers().contains_key("retry-after"));
                problem(answer, 503).await;
                refused += 1;
            }
            other => panic!("a login answered {other}"),
        }
    }
    // One hashing and one waiting at most, of 32 sent at once.
    assert!(refused >= 1, "no login was refused");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains(&format!("bazaar_password_hash_refused_total {refused}")),
        "{refused} refused"
    );
}
