use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;

fn path(listing: &Value) -> String {
    format!("/api/v1/listings/{}", listing["id"])
}

#[actix_web::test]
async fn create_then_get_with_location_and_etag() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let res = app
        .post(
            "/api/v1/listings",
            Some(&seller.token),
            &json!({"title": "  Road bike ", "description": "Barely used", "price_cents": 25_000,
                    "quantity": 2, "category": "sports-bikes", "condition": "like_new",
                    "auto_accept_cents": 24_000, "auto_decline_cents": 10_000}),
        )
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(res.headers()["etag"], "\"1\"");
    let created = json_of(res, 201).await;
    assert_eq!(location, format!("/api/v1/listings/{}", created["id"]));
    assert_eq!(created["title"], "Road bike");
    assert_eq!(created["status"], "active");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["seller_id"], seller.id);
    assert_eq!(created["like_count"], 0);
    assert_eq!(created["version"], 1);
    assert_eq!(created["auto_accept_cents"], 24_000);

    // Anyone may read it; only the seller sees the auto thresholds.
    let res = app.get(&location, None).await;
    assert_eq!(res.headers()["etag"], "\"1\"");
    let public = json_of(res, 200).await;
    assert_eq!(public["title"], "Road bike");
    assert!(public.get("auto_accept_cents").is_none());
    let own = json_of(app.get(&location, Some(&seller.token)).await, 200).await;
    assert_eq!(own, created);
}

#[actix_web::test]
async fn create_requires_a_token_and_valid_fields() {
    let app = spawn_app().await;
    problem(
        app.post(
            "/api/v1/listings",
            None,
            &json!({"title": "x", "price_cents": 1}),
        )
        .await,
        401,
    )
    .await;
    let seller = app.user("seller").await;
    let create = |body: Value| {
        let app = &app;
        let token = seller.token.clone();
        async move { app.post("/api/v1/listings", Some(&token), &body).await }
    };
    invalid_fields(
        create(json!({"title": "", "price_cents": 0, "quantity": 0})).await,
        &["price_cents", "quantity", "title"],
    )
    .await;
    invalid_fields(
        create(json!({"title": "x".repeat(121), "price_cents": 1_000_000_001, "description": "d".repeat(5001)})).await,
        &["description", "price_cents", "title"],
    )
    .await;
    invalid_fields(
        create(json!({"title": "ok", "price_cents": 5, "status": "sold_out", "condition": "mint", "category": "Bad Cat"})).await,
        &["category", "condition", "status"],
    )
    .await;
    invalid_fields(
        create(json!({"title": "ok", "price_cents": 5, "status": "open"})).await,
        &["status"],
    )
    .await;
    invalid_fields(
        create(json!({"title": "ok", "price_cents": 5, "colour": "red"})).await,
        &["colour"],
    )
    .await;
    invalid_fields(create(json!({"price_cents": 5})).await, &["title"]).await;
    // None of them was stored.
    let page = json_of(app.get("/api/v1/listings", None).await, 200).await;
    assert_eq!(page["items"], json!([]));
}

#[actix_web::test]
async fn unknown_listings_are_404_and_drafts_are_the_sellers_alone() {
    let app = spawn_app().await;
    problem(app.get("/api/v1/listings/999999", None).await, 404).await;
    problem(app.get("/api/v1/listings/not-a-number", None).await, 404).await;
    let seller = app.user("seller").await;
    let other = app.user("other").await;
    let draft = app.listing(&seller, json!({"status": "draft"})).await;
    assert_eq!(draft["status"], "draft");
    problem(app.get(&path(&draft), None).await, 404).await;
    problem(app.get(&path(&draft), Some(&other.token)).await, 404).await;
    json_of(app.get(&path(&draft), Some(&seller.token)).await, 200).await;
    let own_drafts = json_of(
        app.get("/api/v1/listings?status=draft", Some(&seller.token))
            .await,
        200,
    )
    .await;
    assert_eq!(own_drafts["items"].as_array().unwrap().len(), 1);
    let others_view = json_of(
        app.get("/api/v1/listings?status=draft", Some(&other.token))
            .await,
        200,
    )
    .await;
    assert_eq!(others_view["items"], json!([]));
}

#[actix_web::test]
async fn search_filters_and_sorts() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bike = app
        .listing(
            &alice,
            json!({"title": "Red Bike", "price_cents": 300, "category": "sports-bikes"}),
        )
        .await;
    let lamp = app
        .listing(&alice, json!({"title": "Lamp", "description": "a 50% BIKE light", "price_cents": 100, "category": "home"}))
        .await;
    let chair = app
        .listing(
            &bob,
            json!({"title": "Chair", "price_cents": 200, "category": "home"}),
        )
        .await;
    let closed = app
        .listing(&bob, json!({"title": "Old bike", "price_cents": 50}))
        .await;
    assert_eq!(
        app.delete(&path(&closed), Some(&bob.token)).await.status(),
        204
    );
    let id = |l: &Value| l["id"].as_i64().unwrap();
    let get = |q: &'static str| {
        let app = &app;
        async move { json_of(app.get(&format!("/api/v1/listings{q}"), None).await, 200).await }
    };

    assert_eq!(
        listing_ids(&get("").await),
        [id(&chair), id(&lamp), id(&bike)]
    );
    // Relevance: the title match first.
    assert_eq!(listing_ids(&get("?q=bike").await), [id(&bike), id(&lamp)]);
    assert_eq!(
        listing_ids(&get("?q=bike&sort=newest").await),
        [id(&lamp), id(&bike)]
    );
    assert_eq!(listing_ids(&get("?q=50%25").await), [id(&lamp)]);
    assert_eq!(listing_ids(&get("?q=_").await), Vec::<i64>::new());
    assert_eq!(
        listing_ids(&get("?category=home").await),
        [id(&chair), id(&lamp)]
    );
    assert_eq!(
        listing_ids(
            &get(Box::leak(
                format!("?seller_id={}", alice.id).into_boxed_str()
            ))
            .await
        ),
        [id(&lamp), id(&bike)]
    );
    assert_eq!(listing_ids(&get("?status=closed").await), [id(&closed)]);
    assert_eq!(
        listing_ids(&get("?min_price=150&max_price=300").await),
        [id(&chair), id(&bike)]
    );
    assert_eq!(
        listing_ids(&get("?sort=price_asc").await),
        [id(&lamp), id(&chair), id(&bike)]
    );
    assert_eq!(
        listing_ids(&get("?sort=price_desc").await),
        [id(&bike), id(&chair), id(&lamp)]
    );
    assert_eq!(
        listing_ids(&get("?sort=price_asc&category=home&max_price=150").await),
        [id(&lamp)]
    );
}

#[actix_web::test]
async fn bad_search_parameters_are_422() {
    let app = spawn_app().await;
    let bad = |q: &'static str| {
        let app = &app;
        async move { app.get(&format!("/api/v1/listings{q}"), None).await }
    };
    invalid_fields(bad("?limit=0").await, &["limit"]).await;
    invalid_fields(bad("?limit=101").await, &["limit"]).await;
    invalid_fields(bad("?limit=ten").await, &["limit"]).await;
    invalid_fields(bad("?sort=cheapest&status=gone").await, &["sort", "status"]).await;
    invalid_fields(bad("?min_price=10&max_price=5").await, &["min_price"]).await;
    invalid_fields(bad("?min_price=-1").await, &["min_price"]).await;
    invalid_fields(bad("?seller_id=abc").await, &["seller_id"]).await;
    invalid_fields(bad("?cursor=garbage").await, &["cursor"]).await;
    invalid_fields(bad("?category=Not%20Valid").await, &["category"]).await;
}

#[actix_web::test]
async fn cursors_page_through_every_sort_exactly_once() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let mut created = Vec::new();
    for (i, price) in [500, 100, 300, 100, 200, 300, 100].into_iter().enumerate() {
        let l = app
            .listing(
                &seller,
                json!({"title": format!("item {i}"), "price_cents": price}),
            )
            .await;
        created.push((price, l["id"].as_i64().unwrap()));
    }
    let mut newest: Vec<i64> = created.iter().map(|c| c.1).collect();
    newest.reverse();
    assert_eq!(walk_listings(&app, "limit=2").await, newest);
    let mut asc = created.clone();
    asc.sort();
    assert_eq!(
        walk_listings(&app, "limit=3&sort=price_asc").await,
        asc.iter().map(|c| c.1).collect::<Vec<_>>()
    );
    let mut desc = created.clone();
    desc.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        walk_listings(&app, "limit=2&sort=price_desc").await,
        desc.iter().map(|c| c.1).collect::<Vec<_>>()
    );
    // A cursor belongs to its sort.
    let page = json_of(app.get("/api/v1/listings?limit=2", None).await, 200).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    invalid_fields(
        app.get(
            &format!("/api/v1/listings?sort=price_asc&cursor={cursor}"),
            None,
        )
        .await,
        &["cursor"],
    )
    .await;
}

#[actix_web::test]
async fn pagination_never_skips_or_repeats_while_listings_are_inserted() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let mut before = HashSet::new();
    for i in 0..30 {
        let l = app
            .listing(
                &seller,
                json!({"title": format!("old {i}"), "price_cents": 100 + (i % 7)}),
            )
            .await;
        before.insert(l["id"].as_i64().unwrap());
    }
    for query in [
        "limit=4",
        "limit=4&sort=price_asc",
        "limit=4&sort=price_desc",
    ] {
        // Insert new listings while another client pages through.
        let inserter = async {
            for i in 0..20 {
                app.listing(
                    &seller,
                    json!({"title": format!("new {i}"), "price_cents": 100 + (i % 9)}),
                )
                .await;
            }
        };
        let (seen, ()) = futures_util::future::join(walk_listings(&app, query), inserter).await;
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{query}: an item was repeated");
        assert!(
            before.is_subset(&unique),
            "{query}: an item that existed before paging began was skipped"
        );
    }
}

#[actix_web::test]
async fn the_seller_edits_with_if_match_and_a_price_drop_is_recorded() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app
        .listing(
            &seller,
            json!({"price_cents": 10_000, "category": "sports-bikes"}),
        )
        .await;
    let res = app
        .request(Method::PATCH, &path(&listing), Some(&seller.token))
        .header("if-match", "\"1\"")
        .json(&json!({"price_cents": 8_000, "title": "Cheaper bike", "category": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["etag"], "\"2\"");
    let edited = json_of(res, 200).await;
    assert_eq!(edited["price_cents"], 8_000);
    assert_eq!(edited["title"], "Cheaper bike");
    assert_eq!(edited["category"], Value::Null);
    assert_eq!(edited["version"], 2);

    // The same If-Match again is stale now, and changes nothing.
    let res = app
        .request(Method::PATCH, &path(&listing), Some(&seller.token))
        .header("if-match", "\"1\"")
        .json(&json!({"price_cents": 1}))
        .send()
        .await
        .unwrap();
    problem(res, 412).await;
    let now = json_of(app.get(&path(&listing), None).await, 200).await;
    assert_eq!(now["price_cents"], 8_000);

    // A raise is an update, not a drop.
    json_of(
        app.patch(
            &path(&listing),
            Some(&seller.token),
            &json!({"price_cents": 9_000}),
        )
        .await,
        200,
    )
    .await;
    let topic = format!("listing:{}", listing["id"]);
    let events = app.events(&topic);
    let kinds: Vec<(i64, &str)> = events.iter().map(|e| (e.0, e.1.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (1, "listing.created"),
            (2, "listing.updated"),
            (3, "listing.price_dropped"),
            (4, "listing.updated")
        ]
    );
    assert_eq!(events[0].2["listing"]["price_cents"], 10_000);
    assert_eq!(events[2].2["old_price_cents"], 10_000);
    assert_eq!(events[2].2["new_price_cents"], 8_000);
    assert_eq!(events[3].2["listing"]["price_cents"], 9_000);
}

#[actix_web::test]
async fn only_the_seller_may_edit_or_close() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let other = app.user("other").await;
    let listing = app.listing(&seller, json!({})).await;
    problem(
        app.patch(
            &path(&listing),
            Some(&other.token),
            &json!({"price_cents": 1}),
        )
        .await,
        403,
    )
    .await;
    problem(app.delete(&path(&listing), Some(&other.token)).await, 403).await;
    problem(
        app.patch(&path(&listing), None, &json!({"price_cents": 1}))
            .await,
        401,
    )
    .await;
    problem(app.delete(&path(&listing), None).await, 401).await;
    problem(
        app.patch(
            "/api/v1/listings/999999",
            Some(&seller.token),
            &json!({"price_cents": 1}),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.delete("/api/v1/listings/999999", Some(&seller.token))
            .await,
        404,
    )
    .await;
    let unchanged = json_of(app.get(&path(&listing), None).await, 200).await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["status"], "active");
    assert_eq!(
        app.event_types(&format!("listing:{}", listing["id"])),
        ["listing.created"]
    );
}

#[actix_web::test]
async fn edits_are_validated_and_status_moves_only_along_legal_edges() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({"status": "draft"})).await;
    let edit = |body: Value| {
        let (app, token, p) = (&app, seller.token.clone(), path(&listing));
        async move { app.patch(&p, Some(&token), &body).await }
    };
    invalid_fields(
        edit(json!({"price_cents": 0, "title": " ", "quantity": 2_000_000})).await,
        &["price_cents", "quantity", "title"],
    )
    .await;
    invalid_fields(edit(json!({"status": "gone"})).await, &["status"]).await;
    invalid_fields(edit(json!({"seller_id": 5})).await, &["seller_id"]).await;
    invalid_fields(
        edit(json!({"auto_accept_cents": 100, "auto_decline_cents": 200})).await,
        &["auto_decline_cents"],
    )
    .await;
    let active = json_of(edit(json!({"status": "active"})).await, 200).await;
    assert_eq!(active["status"], "active");
    problem(edit(json!({"status": "draft"})).await, 409).await;
    problem(edit(json!({"status": "sold_out"})).await, 409).await;
    assert_eq!(
        app.delete(&path(&listing), Some(&seller.token))
            .await
            .status(),
        204
    );
    // Closing keeps the row; a closed listing cannot be edited; closing again is harmless.
    let closed = json_of(app.get(&path(&listing), None).await, 200).await;
    assert_eq!(closed["status"], "closed");
    problem(edit(json!({"title": "again"})).await, 409).await;
    problem(edit(json!({"status": "active"})).await, 409).await;
    assert_eq!(
        app.delete(&path(&listing), Some(&seller.token))
            .await
            .status(),
        204
    );
    let after = json_of(app.get(&path(&listing), None).await, 200).await;
    assert_eq!(after["version"], closed["version"]);
}

#[actix_web::test]
async fn concurrent_edits_lose_nothing_and_if_match_lets_exactly_one_win() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;
    let p = path(&listing);

    // 20 racing edits all guarded by version 1: exactly one wins.
    let racers = (0..20).map(|i| {
        app.request(Method::PATCH, &p, Some(&seller.token))
            .header("if-match", "\"1\"")
            .json(&json!({"title": format!("racer {i}")}))
            .send()
    });
    let results = futures_util::future::join_all(racers).await;
    let codes: Vec<u16> = results
        .iter()
        .map(|r| r.as_ref().unwrap().status().as_u16())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 412).count(), 19, "{codes:?}");

    // 30 unguarded edits: every one applies, each with its own version and event.
    let edits = (0..30).map(|i| {
        app.request(Method::PATCH, &p, Some(&seller.token))
            .json(&json!({"title": format!("edit {i}")}))
            .send()
    });
    let mut versions = Vec::new();
    for res in futures_util::future::join_all(edits).await {
        versions.push(
            json_of(res.unwrap(), 200).await["version"]
                .as_i64()
                .unwrap(),
        );
    }
    versions.sort_unstable();
    assert_eq!(versions, (3..=32).collect::<Vec<_>>());
    let events = app.events(&format!("listing:{}", listing["id"]));
    assert_eq!(
        events.iter().map(|e| e.0).collect::<Vec<_>>(),
        (1..=32).collect::<Vec<_>>()
    );
}

#[actix_web::test]
async fn a_passivated_listing_actor_comes_back_from_the_database() {
    let app = spawn_app_with(|s| s.listing_idle_secs = 0).await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;
    for price in [9_000, 8_000, 7_000] {
        json_of(
            app.patch(
                &path(&listing),
                Some(&seller.token),
                &json!({"price_cents": price}),
            )
            .await,
            200,
        )
        .await;
        // With a zero idle period the actor stops between commands.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let now = json_of(app.get(&path(&listing), None).await, 200).await;
    assert_eq!(now["price_cents"], 7_000);
    assert_eq!(now["version"], 4);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("bazaar_active_listing_actors 0"),
        "the idle actor did not passivate:\n{metrics}"
    );
}

#[actix_web::test]
async fn a_listing_read_between_writes_always_shows_the_last_write() {
    // Reads of a listing are served from memory; every write must be seen by the next read.
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 10_000).await;
    let listing = app
        .listing(&seller, json!({"price_cents": 2_000, "quantity": 3}))
        .await;
    assert_eq!(read(&app, &listing).await["price_cents"], 2_000);
    let edited = json_of(
        app.patch(
            &path(&listing),
            Some(&seller.token),
            &json!({"price_cents": 1_500}),
        )
        .await,
        200,
    )
    .await;
    let seen = read(&app, &listing).await;
    assert_eq!(
        (&seen["price_cents"], &seen["version"]),
        (&json!(1_500), &edited["version"])
    );
    json_of(
        app.post(
            &format!("{}/purchase", path(&listing)),
            Some(&buyer.token),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(read(&app, &listing).await["quantity"], 2);
    let like = app
        .request(
            Method::PUT,
            &format!("{}/like", path(&listing)),
            Some(&buyer.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(like.status(), 204);
    assert_eq!(read(&app, &listing).await["like_count"], 1);
}

async fn read(app: &TestApp, listing: &Value) -> Value {
    json_of(app.get(&path(listing), None).await, 200).await
}
