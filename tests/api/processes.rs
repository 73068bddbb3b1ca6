//! Several server processes on one PostgreSQL database.

use crate::helpers::*;
use reqwest::Client;
use serde_json::{json, Value};

async fn call(
    client: &Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    if_match: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = client.request(method, url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(v) = if_match {
        req = req.header("if-match", v);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn two_processes_editing_one_listing_lose_no_update_and_keep_seq_gap_free() {
    let db = TestDb::create();
    if !db.is_postgres() {
        eprintln!("two_processes_…: needs PostgreSQL (set {PG_ENV}); SQLite is one process");
        return;
    }
    let env = [("DATABASE_URL", db.url())];
    let a = ServerProcess::start(&["serve"], &env, None);
    let b = ServerProcess::start(&["serve"], &env, None);
    let client = http_client();
    let post = reqwest::Method::POST;
    let (s, _) = call(
        &client,
        post.clone(),
        format!("{}/api/v1/users", a.address),
        None,
        None,
        json!({"username": "seller", "password": "password123"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, session) = call(
        &client,
        post.clone(),
        format!("{}/api/v1/sessions", b.address),
        None,
        None,
        json!({"username": "seller", "password": "password123"}),
    )
    .await;
    assert_eq!(s, 201);
    let token = session["token"].as_str().unwrap().to_owned();
    let (s, listing) = call(
        &client,
        post,
        format!("{}/api/v1/listings", a.address),
        Some(&token),
        None,
        json!({"title": "Shared", "price_cents": 10_000}),
    )
    .await;
    assert_eq!(s, 201);
    let id = listing["id"].as_i64().unwrap();
    let url = |server: &ServerProcess| format!("{}/api/v1/listings/{id}", server.address);
    let patch = reqwest::Method::PATCH;

    // Warm both processes' actors so each holds a cached row the other will make stale.
    for server in [&a, &b] {
        let (s, _) = call(
            &client,
            patch.clone(),
            url(server),
            Some(&token),
            None,
            json!({"description": "warm"}),
        )
        .await;
        assert_eq!(s, 200);
    }

    // 40 edits spread over both processes, all at once: every one lands with its own version.
    let edits = (0..40).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        call(
            &client,
            patch.clone(),
            url(server),
            Some(&token),
            None,
            json!({"title": format!("edit {i}")}),
        )
    });
    let mut versions = Vec::new();
    for (status, body) in futures_util::future::join_all(edits).await {
        assert_eq!(status, 200, "{body}");
        versions.push(body["version"].as_i64().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (3..=42).collect::<Vec<_>>(),
        "an update was lost or doubled"
    );

    // Guarded edits from both processes at the current version: exactly one wins.
    let racers = (0..20).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        call(
            &client,
            patch.clone(),
            url(server),
            Some(&token),
            Some("\"42\""),
            json!({"price_cents": 9_000 - i}),
        )
    });
    let codes: Vec<u16> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 412).count(), 19, "{codes:?}");

    // The topic's history is gap-free: one update per change (the first warm-up edit, the 40
    // edits, the winning racer; the second warm-up changed nothing) and one price drop.
    let mut conn = db.connect();
    let events =
        bazaar_actors::store::events::after(&mut conn, &format!("listing:{id}"), 0, 1000).unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let updates = events
        .iter()
        .filter(|e| e.event_type == "listing.updated")
        .count();
    assert_eq!(updates, 42);
    let drops = events
        .iter()
        .filter(|e| e.event_type == "listing.price_dropped")
        .count();
    assert_eq!(drops, 1);
    let (_, last) = call(
        &client,
        reqwest::Method::GET,
        url(&b),
        None,
        None,
        Value::Null,
    )
    .await;
    assert_eq!(last["version"], 43);
}
