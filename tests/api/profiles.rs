//! Public profiles, one's own profile, shipping addresses and their snapshots in orders,
//! shipping with tracking, and who may see an address.

use crate::asyncapi::{assert_documented, document};
use crate::helpers::*;
use crate::ws_helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

fn address(name: &str, country: &str) -> Value {
    json!({
        "name": name,
        "line1": "1 Main Street",
        "line2": "Flat 2",
        "city": "Springfield",
        "region": "Oregon",
        "postal_code": "97403",
        "country": country,
    })
}

async fn put_address(app: &TestApp, user: &TestUser, body: &Value) -> reqwest::Response {
    app.send_json(Method::PUT, "/api/v1/me/address", Some(&user.token), body)
        .await
}

async fn profile(app: &TestApp, user: i64) -> Value {
    json_of(app.get(&format!("/api/v1/users/{user}"), None).await, 200).await
}

async fn rate(app: &TestApp, who: &TestUser, order: &Value, stars: i64) {
    let path = format!("/api/v1/orders/{}/rating", order["id"]);
    json_of(
        app.post(
            &path,
            Some(&who.token),
            &json!({ "stars": stars, "comment": "ok" }),
        )
        .await,
        201,
    )
    .await;
}

/// A completed order of `listing` bought by `buyer` (who has an address).
async fn completed(app: &TestApp, seller: &TestUser, buyer: &TestUser, listing: &Value) -> Value {
    let order = app.buy_one(buyer, listing).await;
    app.order_action(seller, &order, "ship").await;
    app.order_action(buyer, &order, "confirm").await
}

#[actix_web::test]
async fn a_profile_counts_revealed_ratings_only_and_anyone_may_read_it() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let [ann, bob] = ["ann", "bob"].map(|n| n.to_owned());
    let (ann, bob) = (app.user(&ann).await, app.user(&bob).await);
    for buyer in [&ann, &bob] {
        app.deposit(buyer, 50_000).await;
        app.give_address(buyer).await;
    }
    let listing = app
        .listing(
            &seller,
            json!({"title": "Film camera", "price_cents": 5_000, "quantity": 3}),
        )
        .await;
    app.listing(&seller, json!({"title": "A draft", "status": "draft"}))
        .await;
    let first = completed(&app, &seller, &ann, &listing).await;
    let second = completed(&app, &seller, &bob, &listing).await;

    let fresh = profile(&app, seller.id).await;
    assert_eq!(fresh["username"], "seller");
    assert_eq!(fresh["rating_count"], 0);
    assert_eq!(fresh["rating_average"], Value::Null);
    assert_eq!(fresh["active_listings"], 1, "the draft is not on sale");
    assert_eq!(fresh["items_sold"], 2);
    assert!(fresh["joined_at"].is_string());
    assert!(fresh.get("ship_to").is_none() && !fresh.to_string().contains("Main Street"));

    // Ann rates the seller: hidden while the seller has not rated her back.
    rate(&app, &ann, &first, 5).await;
    let hidden = profile(&app, seller.id).await;
    assert_eq!(
        (
            hidden["rating_count"].clone(),
            hidden["rating_average"].clone()
        ),
        (json!(0), Value::Null)
    );
    let page = json_of(
        app.get(&format!("/api/v1/users/{}/ratings", seller.id), None)
            .await,
        200,
    )
    .await;
    assert_eq!(page["items"], json!([]));
    // Once both sides rated, both ratings are revealed.
    rate(&app, &seller, &first, 2).await;
    let one = profile(&app, seller.id).await;
    assert_eq!(one["rating_count"], 1);
    assert_eq!(one["rating_average"], 5.0);
    assert_eq!(profile(&app, ann.id).await["rating_average"], 2.0);
    // 5 and 4: 4.5; Bob's own rating by the seller (3) does not count for the seller.
    rate(&app, &bob, &second, 4).await;
    rate(&app, &seller, &second, 3).await;
    let two = profile(&app, seller.id).await;
    assert_eq!(two["rating_count"], 2);
    assert_eq!(two["rating_average"], 4.5);

    // The ratings page: newest first, one per page, with the rater and the listing.
    let path = format!("/api/v1/users/{}/ratings?limit=1", seller.id);
    let first_page = json_of(app.get(&path, None).await, 200).await;
    let items = first_page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["rater_id"], bob.id);
    assert_eq!(items[0]["rater_username"], "bob");
    assert_eq!(items[0]["rater_display_name"], "bob");
    assert_eq!(items[0]["listing_title"], "Film camera");
    assert_eq!(items[0]["stars"], 4);
    let cursor = first_page["next_cursor"].as_str().expect("a second page");
    let second_page = json_of(app.get(&format!("{path}&cursor={cursor}"), None).await, 200).await;
    assert_eq!(second_page["items"][0]["rater_id"], ann.id);
    assert_eq!(second_page["items"][0]["stars"], 5);
    assert_eq!(second_page["next_cursor"], Value::Null);
    problem(app.get(&format!("{path}&cursor=nonsense"), None).await, 422).await;

    // Unknown users are 404, and the listings of a seller are one filter away.
    problem(app.get("/api/v1/users/999999", None).await, 404).await;
    problem(app.get("/api/v1/users/999999/ratings", None).await, 404).await;
    let theirs = json_of(
        app.get(&format!("/api/v1/listings?seller_id={}", seller.id), None)
            .await,
        200,
    )
    .await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_suspended_users_profile_is_gone_while_the_suspension_holds() {
    let app = spawn_app().await;
    let user = app.user("spammer").await;
    let moderator = crate::moderation::moderator(&app, "moderator").await;
    profile(&app, user.id).await;
    let suspend = format!("/api/v1/admin/users/{}/suspend", user.id);
    json_of(
        app.post(&suspend, Some(&moderator.token), &json!({"note": "spam"}))
            .await,
        200,
    )
    .await;
    problem(
        app.get(&format!("/api/v1/users/{}", user.id), None).await,
        404,
    )
    .await;
    let ratings = format!("/api/v1/users/{}/ratings", user.id);
    problem(app.get(&ratings, None).await, 404).await;
}

#[actix_web::test]
async fn patch_me_changes_the_display_name_and_bio_and_refuses_bad_text() {
    let app = spawn_app().await;
    let user = app.user("ada").await;
    let patch = |body: Value| {
        let (app, token) = (&app, user.token.clone());
        async move { app.patch("/api/v1/me", Some(&token), &body).await }
    };
    let changed = json_of(
        patch(json!({"display_name": " Ada L. ", "bio": "Engines.\nAnalytical ones."})).await,
        200,
    )
    .await;
    assert_eq!(changed["display_name"], "Ada L.");
    assert_eq!(changed["bio"], "Engines.\nAnalytical ones.");
    let me = json_of(app.get("/api/v1/me", Some(&user.token)).await, 200).await;
    assert_eq!(me["display_name"], "Ada L.");
    let public = profile(&app, user.id).await;
    assert_eq!(public["display_name"], "Ada L.");
    assert_eq!(public["bio"], "Engines.\nAnalytical ones.");
    // Only the bio: the name stays.
    json_of(patch(json!({"bio": ""})).await, 200).await;
    assert_eq!(profile(&app, user.id).await["display_name"], "Ada L.");

    for (body, field) in [
        (json!({"bio": "nul\u{0}here"}), "bio"),
        (json!({"bio": "bell\u{7}"}), "bio"),
        (json!({"bio": "x".repeat(501)}), "bio"),
        (json!({"display_name": "tab\there"}), "display_name"),
        (json!({"display_name": "   "}), "display_name"),
        (json!({"display_name": "n".repeat(65)}), "display_name"),
    ] {
        let p = problem(patch(body.clone()).await, 422).await;
        assert!(p["errors"].get(field).is_some(), "{body}: {p}");
    }
    let anonymous = app.patch("/api/v1/me", None, &json!({"bio": "x"})).await;
    problem(anonymous, 401).await;
    assert_eq!(profile(&app, user.id).await["bio"], "");
}

#[actix_web::test]
async fn an_address_is_validated_and_only_its_owner_reads_it() {
    let app = spawn_app().await;
    let user = app.user("ada").await;
    problem(app.get("/api/v1/me/address", Some(&user.token)).await, 404).await;
    problem(app.get("/api/v1/me/address", None).await, 401).await;
    for (field, value) in [
        ("country", json!("XX")),
        ("country", json!("UK")),
        ("country", json!("gb")),
        ("country", json!("GBR")),
        ("name", json!("n".repeat(101))),
        ("postal_code", json!("1".repeat(17))),
        ("city", json!("Spring\u{0}field")),
        ("line1", json!("  ")),
        ("line2", json!("a\nb")),
    ] {
        let mut body = address("Ada", "GB");
        body[field] = value.clone();
        let p = problem(put_address(&app, &user, &body).await, 422).await;
        assert!(p["errors"].get(field).is_some(), "{field}={value}: {p}");
    }
    let mut without_optional = address(" Ada ", "DE");
    without_optional["line2"] = Value::Null;
    without_optional.as_object_mut().unwrap().remove("region");
    let saved = json_of(put_address(&app, &user, &without_optional).await, 200).await;
    assert_eq!(saved["name"], "Ada");
    assert_eq!(saved["country"], "DE");
    assert_eq!(saved["line2"], Value::Null);
    assert_eq!(saved["orders_filled"], 0);
    let read = json_of(app.get("/api/v1/me/address", Some(&user.token)).await, 200).await;
    assert_eq!(read["city"], "Springfield");
    assert_eq!(read["region"], Value::Null);
    // Replaced, not added.
    json_of(put_address(&app, &user, &address("Ada", "FR")).await, 200).await;
    let read = json_of(app.get("/api/v1/me/address", Some(&user.token)).await, 200).await;
    assert_eq!(read["country"], "FR");
}

#[actix_web::test]
async fn an_order_keeps_the_address_it_was_made_with_and_only_its_parties_see_it() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let stranger = app.user("stranger").await;
    app.deposit(&buyer, 50_000).await;
    json_of(
        put_address(&app, &buyer, &address("First Home", "US")).await,
        200,
    )
    .await;
    let listing = app
        .listing(&seller, json!({"price_cents": 5_000, "quantity": 5}))
        .await;
    let bought = app.buy_one(&buyer, &listing).await;
    assert_eq!(bought["ship_to"]["name"], "First Home");
    assert_eq!(bought["ship_to"]["country"], "US");

    // An accepted offer keeps the address too.
    let offer = json_of(
        app.post(
            &format!("/api/v1/listings/{}/offers", listing["id"]),
            Some(&buyer.token),
            &json!({"amount_cents": 4_000}),
        )
        .await,
        201,
    )
    .await;
    let accepted = json_of(
        app.post(
            &format!("/api/v1/offers/{}/accept", offer["id"]),
            Some(&seller.token),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(accepted["order"]["ship_to"]["name"], "First Home");

    // A later edit changes neither order; the next order gets the new address.
    let moved = json_of(
        put_address(&app, &buyer, &address("Second Home", "CA")).await,
        200,
    )
    .await;
    assert_eq!(
        moved["orders_filled"], 0,
        "both orders have an address already"
    );
    for order in [&bought, &accepted["order"]] {
        let path = format!("/api/v1/orders/{}", order["id"]);
        for party in [&buyer, &seller] {
            let seen = json_of(app.get(&path, Some(&party.token)).await, 200).await;
            assert_eq!(seen["ship_to"]["name"], "First Home");
            assert_eq!(seen["ship_to"]["line2"], "Flat 2");
        }
        problem(app.get(&path, Some(&stranger.token)).await, 403).await;
    }
    let later = app.buy_one(&buyer, &listing).await;
    assert_eq!(later["ship_to"]["name"], "Second Home");

    // Nothing public carries it: the listing, its events, the profiles.
    let public = app
        .get(&format!("/api/v1/listings/{}", listing["id"]), None)
        .await
        .text()
        .await
        .unwrap();
    let topic = format!("listing:{}", listing["id"]);
    let events = serde_json::to_string(&app.events(&topic)).unwrap();
    let profiles = format!(
        "{}{}",
        profile(&app, buyer.id).await,
        profile(&app, seller.id).await
    );
    for text in [public, events, profiles] {
        assert!(
            !text.contains("Home") && !text.contains("Main Street"),
            "{text}"
        );
    }
}

#[actix_web::test]
async fn a_flash_sale_batch_copies_each_buyers_own_address() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyers = app.users_fast("flash", 12);
    for (i, buyer) in buyers.iter().enumerate() {
        app.deposit(buyer, 10_000).await;
        if i % 3 != 0 {
            let body = address(&format!("Buyer {i}"), "NL");
            json_of(put_address(&app, buyer, &body).await, 200).await;
        }
    }
    let listing = app
        .listing(&seller, json!({"price_cents": 1_000, "quantity": 100}))
        .await;
    let orders =
        futures_util::future::join_all(buyers.iter().map(|b| app.buy_one(b, &listing))).await;
    for (i, order) in orders.iter().enumerate() {
        assert_eq!(order["buyer_id"], buyers[i].id);
        if i % 3 == 0 {
            assert_eq!(order["ship_to"], Value::Null, "buyer {i} has no address");
        } else {
            assert_eq!(order["ship_to"]["name"], format!("Buyer {i}"));
        }
    }
}

#[actix_web::test]
async fn shipping_needs_an_address_the_buyer_is_told_and_tracking_is_kept() {
    let app = spawn_app().await;
    let doc = document();
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let stranger = app.user("stranger").await;
    app.deposit(&buyer, 50_000).await;
    let listing = app.listing(&seller, json!({"price_cents": 5_000})).await;
    let order = app.buy_one(&buyer, &listing).await;
    assert_eq!(order["ship_to"], Value::Null);
    let ship = format!("/api/v1/orders/{}/ship", order["id"]);
    let mut socket = connect(&app, &buyer).await;

    let refused = problem(app.post(&ship, Some(&seller.token), &json!({})).await, 409).await;
    assert_eq!(refused["type"], "/problems/no-address");
    // Others learn nothing about it: the order's parties alone get past 403.
    problem(
        app.post(&ship, Some(&stranger.token), &json!({})).await,
        403,
    )
    .await;
    problem(app.post(&ship, Some(&buyer.token), &json!({})).await, 403).await;
    let topic = format!("user:{}", buyer.id);
    let told = socket.event(&topic).await;
    assert_eq!(told["event"], "notification.address_needed", "{told}");
    assert_eq!(told["data"]["order_id"], order["id"]);
    assert_documented(&doc, &told, "Event");
    let inbox = json_of(
        app.get("/api/v1/notifications", Some(&buyer.token)).await,
        200,
    )
    .await;
    assert_eq!(inbox["items"][0]["kind"], "notification.address_needed");
    let paid = json_of(
        app.get(
            &format!("/api/v1/orders/{}", order["id"]),
            Some(&seller.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(paid["status"], "paid", "the refusal changed nothing");

    // The buyer adds an address: the waiting order gets it, and both parties hear of it.
    let added = json_of(
        put_address(&app, &buyer, &address("Late Home", "IE")).await,
        200,
    )
    .await;
    assert_eq!(added["orders_filled"], 1);
    let filled = socket.event(&topic).await;
    assert_eq!(filled["event"], "order.address_added", "{filled}");
    assert_eq!(filled["data"]["order"]["ship_to"]["name"], "Late Home");
    assert_documented(&doc, &filled, "Event");

    // The shipment's fields are checked, then kept in the order and its event.
    for (body, field) in [
        (json!({"tracking_number": "1Z\u{0}99"}), "tracking_number"),
        (json!({"carrier": "c".repeat(65)}), "carrier"),
        (json!({"carrier": "UPS\r\nX-Evil: 1"}), "carrier"),
    ] {
        let p = problem(app.post(&ship, Some(&seller.token), &body).await, 422).await;
        assert!(p["errors"].get(field).is_some(), "{body}: {p}");
    }
    let shipped = json_of(
        app.post(
            &ship,
            Some(&seller.token),
            &json!({"carrier": "An Post", "tracking_number": "CE123456789IE"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(shipped["carrier"], "An Post");
    assert_eq!(shipped["tracking_number"], "CE123456789IE");
    assert_eq!(shipped["ship_to"]["name"], "Late Home");
    let event = socket.event(&topic).await;
    assert_eq!(event["event"], "order.shipped", "{event}");
    assert_eq!(event["data"]["order"]["carrier"], "An Post");
    assert_eq!(event["data"]["order"]["tracking_number"], "CE123456789IE");
    assert_documented(&doc, &event, "Event");
}

#[actix_web::test]
async fn shipping_without_a_body_still_works() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    app.deposit(&buyer, 50_000).await;
    app.give_address(&buyer).await;
    let listing = app.listing(&seller, json!({"price_cents": 5_000})).await;
    let order = app.buy_one(&buyer, &listing).await;
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/orders/{}/ship", order["id"]),
            Some(&seller.token),
        )
        .send()
        .await
        .unwrap();
    let shipped = json_of(response, 200).await;
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(shipped["carrier"], Value::Null);
    assert_eq!(shipped["tracking_number"], Value::Null);
}
