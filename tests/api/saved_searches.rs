//! Saved searches over the network: saving, listing and deleting them (owner, other user,
//! anonymous), the limit of 20, validation, and their alerts: live on the owner's socket and
//! in the inbox, exactly once per search and listing, never to the seller, also with two
//! server processes on one PostgreSQL database.

use crate::helpers::*;
use crate::ws_helpers::*;
use bazaar_actors::store::schema::{saved_search_alerts, saved_search_pending};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::time::Duration;

const PATH: &str = "/api/v1/me/saved-searches";

async fn save(app: &TestApp, user: &TestUser, body: Value) -> Value {
    json_of(app.post(PATH, Some(&user.token), &body).await, 201).await
}

/// Waits until every listing left for the matcher has been matched.
async fn settled(db: &TestDb) {
    let done = wait_until(Duration::from_secs(30), || async {
        let mut conn = db.connect();
        let left: i64 = saved_search_pending::table
            .count()
            .get_result(&mut *conn)
            .expect("count pending");
        left == 0
    })
    .await;
    assert!(done, "listings still waiting to be matched");
}

/// The saved-search alerts in `user`'s inbox: (saved search, listing) pairs.
pub(crate) async fn alerts_in_inbox(address: &str, user: &TestUser) -> Vec<(i64, i64)> {
    let inbox: Value = http_client()
        .get(format!("{address}/api/v1/notifications?limit=100"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "notification.saved_search")
        .map(|n| {
            (
                n["data"]["saved_search_id"].as_i64().unwrap(),
                n["data"]["listing_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The next saved-search alert on the socket: (saved search, listing).
async fn next_alert(ws: &mut WsClient, user: &TestUser) -> (i64, i64) {
    alert_ids(&next_alert_event(ws, user).await)
}

/// A saved-search alert's (saved search, listing).
fn alert_ids(event: &Value) -> (i64, i64) {
    (
        event["data"]["saved_search_id"].as_i64().unwrap(),
        event["data"]["listing_id"].as_i64().unwrap(),
    )
}

/// The next saved-search alert on the socket, whole.
async fn next_alert_event(ws: &mut WsClient, user: &TestUser) -> Value {
    let event = ws.event(&format!("user:{}", user.id)).await;
    assert_eq!(event["event"], "notification.saved_search", "{event}");
    event
}

#[actix_web::test]
async fn saved_searches_belong_to_their_owner() {
    let app = spawn_app().await;
    let owner = app.user("owner").await;
    let other = app.user("other").await;

    assert_eq!(app.post(PATH, None, &json!({})).await.status(), 401);
    assert_eq!(app.get(PATH, None).await.status(), 401);
    assert_eq!(app.delete(&format!("{PATH}/1"), None).await.status(), 401);

    let saved = save(
        &app,
        &owner,
        json!({"name": "Cameras", "q": "leica camera", "category": "electronics",
               "condition": "good", "min_price": 100, "max_price": 50_000}),
    )
    .await;
    assert_eq!(saved["name"], "Cameras");
    assert_eq!(saved["q"], "leica camera");
    assert_eq!(saved["category"], "electronics");
    assert_eq!(saved["condition"], "good");
    assert_eq!(saved["min_price"], 100);
    assert_eq!(saved["max_price"], 50_000);
    let bare = save(&app, &owner, json!({})).await;
    assert_eq!(bare["q"], Value::Null);

    let mine = json_of(app.get(PATH, Some(&owner.token)).await, 200).await;
    assert_eq!(mine["items"], json!([saved, bare]));
    let theirs = json_of(app.get(PATH, Some(&other.token)).await, 200).await;
    assert_eq!(theirs["items"], json!([]));

    let path = format!("{PATH}/{}", saved["id"]);
    problem(app.delete(&path, Some(&other.token)).await, 404).await;
    assert_eq!(app.delete(&path, Some(&owner.token)).await.status(), 204);
    problem(app.delete(&path, Some(&owner.token)).await, 404).await;
    let mine = json_of(app.get(PATH, Some(&owner.token)).await, 200).await;
    assert_eq!(mine["items"], json!([bare]));
}

#[actix_web::test]
async fn a_user_keeps_at_most_twenty() {
    let app = spawn_app().await;
    let user = app.user("collector").await;
    let mut first = Value::Null;
    for i in 0..20 {
        let saved = save(&app, &user, json!({"q": format!("word{i}")})).await;
        if i == 0 {
            first = saved;
        }
    }
    let refused = problem(
        app.post(PATH, Some(&user.token), &json!({"q": "lamps"}))
            .await,
        409,
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("20"),
        "{refused}"
    );
    // Another user is not affected; a deletion makes room.
    let other = app.user("other").await;
    save(&app, &other, json!({"q": "lamps"})).await;
    let path = format!("{PATH}/{}", first["id"]);
    assert_eq!(app.delete(&path, Some(&user.token)).await.status(), 204);
    save(&app, &user, json!({"q": "lamps"})).await;
}

#[actix_web::test]
async fn bad_saved_searches_are_422_naming_the_field() {
    let app = spawn_app().await;
    let user = app.user("picky").await;
    let cases = [
        (json!({"q": "x".repeat(201)}), "q"),
        (json!({"q": "a\u{0}b"}), "q"),
        (json!({"q": "the of"}), "q"),
        (json!({"category": "spaceships"}), "category"),
        (json!({"condition": "mint"}), "condition"),
        (json!({"min_price": -1}), "min_price"),
        (json!({"max_price": 1_000_000_001i64}), "max_price"),
        (json!({"min_price": 500, "max_price": 100}), "min_price"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "n".repeat(101)}), "name"),
    ];
    for (body, field) in cases {
        invalid_fields(app.post(PATH, Some(&user.token), &body).await, &[field]).await;
    }
    let mine = json_of(app.get(PATH, Some(&user.token)).await, 200).await;
    assert_eq!(mine["items"], json!([]));
}

#[actix_web::test]
async fn a_matching_listing_alerts_the_owner_live_and_in_the_inbox_once() {
    let app = spawn_app().await;
    let buyer = app.user("buyer").await;
    let seller = app.user("seller").await;
    let search = save(
        &app,
        &buyer,
        json!({"name": "Leicas", "q": "leica cameras", "max_price": 50_000}),
    )
    .await;
    // The seller saved the same search: their own listings never alert them.
    save(
        &app,
        &seller,
        json!({"q": "leica cameras", "max_price": 50_000}),
    )
    .await;
    let mut ws = connect(&app, &buyer).await;

    // Not matching: other words, or above the range.
    app.listing(
        &seller,
        json!({"title": "Nikon camera", "price_cents": 40_000}),
    )
    .await;
    app.listing(
        &seller,
        json!({"title": "Leica camera", "price_cents": 90_000}),
    )
    .await;
    // Matching (stemmed: "cameras" finds "camera"), in the description.
    let listing = app
        .listing(
            &seller,
            json!({"title": "Rangefinder", "description": "A Leica M6 camera, boxed",
                   "price_cents": 40_000}),
        )
        .await;
    let expected = (
        search["id"].as_i64().unwrap(),
        listing["id"].as_i64().unwrap(),
    );
    let alert = next_alert_event(&mut ws, &buyer).await;
    assert_eq!(alert_ids(&alert), expected, "{alert}");
    let data = &alert["data"];
    // The alert names the search as its owner named it, and the listing as it is.
    assert_eq!(data["saved_search_name"], "Leicas", "{alert}");
    assert_eq!(data["title"], "Rangefinder", "{alert}");
    assert_eq!(data["price_cents"], 40_000, "{alert}");
    // A drop within the range, after the alert: nothing more.
    app.set_price(&seller, &listing, 30_000).await;
    settled(&app.db).await;
    ws.quiet(Duration::from_millis(300)).await;
    assert_eq!(alerts_in_inbox(&app.address, &buyer).await, [expected]);
    assert_eq!(alerts_in_inbox(&app.address, &seller).await, []);
}

/// A deleted saved search's alert records stay in the ledger (keyed by listing, nothing finds
/// one search's rows), so a search's id is never used again: a new search for the same words
/// is alerted when the same listing drops into its range, not silenced by the old records.
#[actix_web::test]
async fn a_new_saved_search_is_not_silenced_by_a_deleted_ones_records() {
    let app = spawn_app().await;
    let buyer = app.user("buyer").await;
    let seller = app.user("seller").await;
    let deleted = save(&app, &buyer, json!({"q": "theremin"})).await;
    let listing = app
        .listing(&seller, json!({"title": "Theremin", "price_cents": 40_000}))
        .await;
    settled(&app.db).await;
    let listing_id = listing["id"].as_i64().unwrap();
    let deleted_id = deleted["id"].as_i64().unwrap();
    let records = |search: i64| {
        let mut conn = app.db.connect();
        saved_search_alerts::table
            .filter(saved_search_alerts::saved_search_id.eq(search))
            .filter(saved_search_alerts::listing_id.eq(listing_id))
            .count()
            .get_result::<i64>(&mut *conn)
            .expect("count records")
    };
    assert_eq!(records(deleted_id), 1);
    // The newest search is deleted: an id counter that reused the largest would reuse it.
    let path = format!("{PATH}/{deleted_id}");
    assert_eq!(app.delete(&path, Some(&buyer.token)).await.status(), 204);
    let renewed = save(&app, &buyer, json!({"q": "theremin", "max_price": 30_000})).await;
    let renewed_id = renewed["id"].as_i64().unwrap();
    assert!(renewed_id > deleted_id, "id {deleted_id} was used again");
    let mut ws = connect(&app, &buyer).await;
    app.set_price(&seller, &listing, 30_000).await;
    assert_eq!(next_alert(&mut ws, &buyer).await, (renewed_id, listing_id));
    settled(&app.db).await;
    assert_eq!(records(renewed_id), 1);
    assert_eq!(
        alerts_in_inbox(&app.address, &buyer).await,
        [(deleted_id, listing_id), (renewed_id, listing_id)]
    );
}

#[actix_web::test]
async fn activating_a_draft_and_dropping_into_the_range_alert() {
    let app = spawn_app().await;
    let buyer = app.user("buyer").await;
    let seller = app.user("seller").await;
    let search = save(
        &app,
        &buyer,
        json!({"category": "home", "condition": "good", "max_price": 5_000}),
    )
    .await;
    let search_id = search["id"].as_i64().unwrap();
    let mut ws = connect(&app, &buyer).await;

    // A draft is not visible: no alert until it is activated.
    let draft = app
        .listing(
            &seller,
            json!({"title": "Armchair", "category": "home-furniture", "condition": "good",
                   "price_cents": 4_000, "status": "draft"}),
        )
        .await;
    settled(&app.db).await;
    assert_eq!(alerts_in_inbox(&app.address, &buyer).await, []);
    let path = format!("/api/v1/listings/{}", draft["id"]);
    json_of(
        app.patch(&path, Some(&seller.token), &json!({"status": "active"}))
            .await,
        200,
    )
    .await;
    let draft_alert = (search_id, draft["id"].as_i64().unwrap());
    assert_eq!(next_alert(&mut ws, &buyer).await, draft_alert);

    // Above the range: nothing; its price drops into the range: an alert; again: nothing.
    let lamp = app
        .listing(
            &seller,
            json!({"title": "Lamp", "category": "home", "condition": "good",
                   "price_cents": 8_000}),
        )
        .await;
    settled(&app.db).await;
    assert_eq!(alerts_in_inbox(&app.address, &buyer).await, [draft_alert]);
    app.set_price(&seller, &lamp, 6_000).await;
    settled(&app.db).await;
    assert_eq!(alerts_in_inbox(&app.address, &buyer).await, [draft_alert]);
    app.set_price(&seller, &lamp, 5_000).await;
    let lamp_alert = (search_id, lamp["id"].as_i64().unwrap());
    assert_eq!(next_alert(&mut ws, &buyer).await, lamp_alert);
    app.set_price(&seller, &lamp, 4_000).await;
    settled(&app.db).await;
    ws.quiet(Duration::from_millis(300)).await;
    assert_eq!(
        alerts_in_inbox(&app.address, &buyer).await,
        [draft_alert, lamp_alert]
    );
}

#[actix_web::test]
async fn a_scheduled_drop_into_the_range_alerts() {
    let app = spawn_app_with(|s| {
        s.auto_price_drop_min_interval_secs = 1;
        s.timer_interval_ms = 50;
    })
    .await;
    let buyer = app.user("buyer").await;
    let seller = app.user("seller").await;
    let search = save(&app, &buyer, json!({"q": "teapot", "max_price": 9_000})).await;
    let mut ws = connect(&app, &buyer).await;
    let listing = app
        .listing(
            &seller,
            json!({"title": "Teapot", "price_cents": 10_000,
                   "auto_price_drop": {"percent": 10, "interval_secs": 1, "floor_cents": 8_000}}),
        )
        .await;
    let expected = (
        search["id"].as_i64().unwrap(),
        listing["id"].as_i64().unwrap(),
    );
    assert_eq!(next_alert(&mut ws, &buyer).await, expected);
    // The next scheduled drops stay in the range: no second alert.
    let path = format!("/api/v1/listings/{}", listing["id"]);
    let at_floor = wait_until(Duration::from_secs(30), || async {
        let now = json_of(app.get(&path, None).await, 200).await;
        now["price_cents"] == 8_000
    })
    .await;
    assert!(at_floor);
    settled(&app.db).await;
    assert_eq!(alerts_in_inbox(&app.address, &buyer).await, [expected]);
}

#[actix_web::test]
async fn two_processes_alert_once() {
    let db = TestDb::create();
    if !db.is_postgres() {
        eprintln!("needs PostgreSQL (set {PG_ENV}): SQLite is one process");
        return;
    }
    let env = [("DATABASE_URL", db.url())];
    let nodes = [
        ServerProcess::start(&["serve"], &env, None),
        ServerProcess::start(&["serve"], &env, None),
    ];
    let users = db.users_fast("u", 2);
    let (buyer, seller) = (&users[0], &users[1]);
    let client = http_client();
    let search: Value = client
        .post(format!("{}{PATH}", nodes[1].address))
        .bearer_auth(&buyer.token)
        .json(&json!({"q": "bicycle", "max_price": 20_000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let search_id = search["id"].as_i64().unwrap();
    let mut ws = match try_connect_to(&nodes[1].address, Some(&buyer.token), "", None).await {
        Connected::Open(ws) => *ws,
        Connected::Refused(status) => panic!("refused with {status}"),
    };
    // Listings made on both processes; both processes' matchers look for pending ones.
    let mut expected = Vec::new();
    for i in 0..6 {
        let node = &nodes[i % 2];
        let listing: Value = client
            .post(format!("{}/api/v1/listings", node.address))
            .bearer_auth(&seller.token)
            .json(&json!({"title": format!("Bicycle {i}"), "price_cents": 15_000}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = listing["id"].as_i64().unwrap();
        // And a drop on the other process: not a second alert.
        let patched = client
            .patch(format!(
                "{}/api/v1/listings/{id}",
                nodes[(i + 1) % 2].address
            ))
            .bearer_auth(&seller.token)
            .json(&json!({"price_cents": 12_000}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), 200);
        expected.push((search_id, id));
    }
    let mut live = Vec::new();
    for _ in 0..expected.len() {
        live.push(next_alert(&mut ws, buyer).await);
    }
    settled(&db).await;
    ws.quiet(Duration::from_millis(500)).await;
    live.sort();
    assert_eq!(live, expected);
    let mut inbox = alerts_in_inbox(&nodes[0].address, buyer).await;
    inbox.sort();
    assert_eq!(inbox, expected);
}

/// A listing left pending by a writer that never woke this process's matcher (another
/// process that stopped after its commit) is matched by the matcher's own rounds.
#[actix_web::test]
async fn a_pending_listing_nobody_rang_for_is_matched() {
    use bazaar_actors::domain::saved_search::Trigger;
    use bazaar_actors::store::{self, saved_searches as rows};
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await;
    let buyer = app.user("buyer").await;
    let seller = app.user("seller").await;
    let search = save(&app, &buyer, json!({"q": "gramophone"})).await;
    let mut ws = connect(&app, &buyer).await;
    let draft = app
        .listing(&seller, json!({"title": "Gramophone", "status": "draft"}))
        .await;
    let id = draft["id"].as_i64().unwrap();
    {
        let mut conn = app.db.connect();
        conn.batch_execute(&format!(
            "UPDATE listings SET status = 'active' WHERE id = {id}"
        ))
        .unwrap();
        rows::mark_pending(&mut conn, id, Trigger::Visible, store::now()).unwrap();
    }
    let expected = (search["id"].as_i64().unwrap(), id);
    assert_eq!(next_alert(&mut ws, &buyer).await, expected);
    settled(&app.db).await;
    assert_eq!(alerts_in_inbox(&app.address, &buyer).await, [expected]);
}

/// One listing that matches many saved searches of several users, some with the same words:
/// each owner is alerted once per matching search, live and in the inbox, with the live
/// event naming the inbox notification it announces; the searches that do not match (other
/// words, an excluded word, a price above the range) alert nobody.
#[actix_web::test]
async fn one_listing_alerts_every_matching_search_once_with_its_own_notification() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let ana = app.user("ana").await;
    let ben = app.user("ben").await;
    let mut want: Vec<(i64, i64)> = Vec::new();
    let mut matching = |user: &TestUser, search: &Value| {
        want.push((user.id, search["id"].as_i64().unwrap()));
    };
    for user in [&ana, &ben] {
        // The same words saved twice by each user, and other forms of them.
        for q in ["leica cameras", "leica cameras", "camera", "Leica OR nikon"] {
            let s = save(&app, user, json!({"q": q})).await;
            matching(user, &s);
        }
        let s = save(
            &app,
            user,
            json!({"category": "electronics", "max_price": 50_000}),
        )
        .await;
        matching(user, &s);
        // Not matching.
        save(&app, user, json!({"q": "leica -camera"})).await;
        save(&app, user, json!({"q": "leica tripod"})).await;
        save(&app, user, json!({"q": "camera", "max_price": 100})).await;
    }
    let mut sockets = [connect(&app, &ana).await, connect(&app, &ben).await];
    let listing = app
        .listing(
            &seller,
            json!({"title": "Leica M6 camera", "category": "electronics-cameras",
                   "price_cents": 40_000}),
        )
        .await;
    let listing_id = listing["id"].as_i64().unwrap();
    let mut live: Vec<(i64, i64, i64)> = Vec::new();
    for (user, ws) in [&ana, &ben].into_iter().zip(sockets.iter_mut()) {
        for _ in 0..5 {
            let event = ws.event(&format!("user:{}", user.id)).await;
            assert_eq!(event["event"], "notification.saved_search", "{event}");
            assert_eq!(event["data"]["listing_id"], listing_id, "{event}");
            live.push((
                user.id,
                event["data"]["saved_search_id"].as_i64().unwrap(),
                event["data"]["notification_id"].as_i64().unwrap(),
            ));
        }
    }
    settled(&app.db).await;
    for ws in sockets.iter_mut() {
        ws.quiet(Duration::from_millis(300)).await;
    }
    let mut got: Vec<(i64, i64)> = live.iter().map(|&(u, s, _)| (u, s)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // Each live event names the inbox notification of its own search.
    for user in [&ana, &ben] {
        let inbox: Value = json_of(
            app.get("/api/v1/notifications?limit=100", Some(&user.token))
                .await,
            200,
        )
        .await;
        let mut stored: Vec<(i64, i64, i64)> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "notification.saved_search")
            .map(|n| {
                assert_eq!(n["data"]["listing_id"], listing_id, "{n}");
                (
                    user.id,
                    n["data"]["saved_search_id"].as_i64().unwrap(),
                    n["id"].as_i64().unwrap(),
                )
            })
            .collect();
        stored.sort();
        let mut mine: Vec<(i64, i64, i64)> =
            live.iter().copied().filter(|l| l.0 == user.id).collect();
        mine.sort();
        assert_eq!(stored, mine);
    }
    assert_eq!(alerts_in_inbox(&app.address, &seller).await, []);
}

/// One listing that 260 saved searches of 13 users match: more than one transaction writes
/// them on PostgreSQL, and SQLite records them in one statement. Every search alerts its
/// owner once, live and in the inbox; matching the listing again (left pending once more, as
/// a process that died before its last commit leaves it) alerts nobody twice.
#[actix_web::test]
async fn a_listing_that_hundreds_of_searches_match_alerts_each_once() {
    use bazaar_actors::domain::saved_search::Trigger;
    use bazaar_actors::store::{self, saved_searches as rows};
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let mut owners = Vec::new();
    let mut want: Vec<(i64, i64)> = Vec::new();
    for n in 0..13 {
        let owner = app.user(&format!("owner{n}")).await;
        for i in 0..20 {
            let body = match i % 4 {
                0 => json!({"q": "gramophone"}),
                1 => json!({"q": "walnut gramophone", "max_price": 90_000 + i}),
                2 => json!({"category": "home", "name": format!("home {i}")}),
                _ => json!({"q": "gramophones", "min_price": i}),
            };
            let s = save(&app, &owner, body).await;
            want.push((s["id"].as_i64().unwrap(), owner.id));
        }
        owners.push(owner);
    }
    // Two owners watch live: one in each share of the owners.
    let mut sockets = [
        connect(&app, &owners[0]).await,
        connect(&app, &owners[1]).await,
    ];
    let listing = app
        .listing(
            &seller,
            json!({"title": "Walnut gramophone", "category": "home-decor",
                   "price_cents": 40_000}),
        )
        .await;
    let listing_id = listing["id"].as_i64().unwrap();
    for (owner, ws) in owners.iter().zip(sockets.iter_mut()) {
        let mut live = Vec::new();
        for _ in 0..20 {
            let (search, listing) = next_alert(ws, owner).await;
            assert_eq!(listing, listing_id);
            live.push(search);
        }
        live.sort_unstable();
        let mut expected: Vec<i64> = want
            .iter()
            .filter(|w| w.1 == owner.id)
            .map(|w| w.0)
            .collect();
        expected.sort_unstable();
        assert_eq!(live, expected, "live alerts of {}", owner.id);
    }
    settled(&app.db).await;
    // Again, as if the pending row had come back.
    {
        let mut conn = app.db.connect();
        rows::mark_pending(&mut conn, listing_id, Trigger::Visible, store::now()).unwrap();
    }
    settled(&app.db).await;
    for ws in sockets.iter_mut() {
        ws.quiet(Duration::from_millis(300)).await;
    }
    let mut got = Vec::new();
    for owner in &owners {
        for (search, listing) in alerts_in_inbox(&app.address, owner).await {
            assert_eq!(listing, listing_id);
            got.push((search, owner.id));
        }
    }
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    let mut conn = app.db.connect();
    let recorded: i64 = saved_search_alerts::table
        .filter(saved_search_alerts::listing_id.eq(listing_id))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(recorded, 260);
}
