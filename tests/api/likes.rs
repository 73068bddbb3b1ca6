use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

fn like_path(listing: &Value) -> String {
    format!("/api/v1/listings/{}/like", listing["id"])
}

async fn like_count(app: &TestApp, listing: &Value) -> i64 {
    let l = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    l["like_count"].as_i64().unwrap()
}

#[actix_web::test]
async fn likes_are_idempotent_and_counted() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let fan = app.user("fan").await;
    let listing = app.listing(&seller, json!({})).await;
    let version = listing["version"].clone();

    for _ in 0..2 {
        let res = app
            .request(Method::PUT, &like_path(&listing), Some(&fan.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
    assert_eq!(like_count(&app, &listing).await, 1);
    // Setting a target price updates the same like.
    let res = app
        .send_json(
            Method::PUT,
            &like_path(&listing),
            Some(&fan.token),
            &json!({"target_price_cents": 7_500}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(like_count(&app, &listing).await, 1);

    let likes = json_of(app.get("/api/v1/me/likes", Some(&fan.token)).await, 200).await;
    let items = likes["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["listing"]["id"], listing["id"]);
    assert_eq!(items[0]["target_price_cents"], 7_500);
    assert!(items[0]["liked_at"].is_string());

    for _ in 0..2 {
        assert_eq!(
            app.delete(&like_path(&listing), Some(&fan.token))
                .await
                .status(),
            204
        );
    }
    assert_eq!(like_count(&app, &listing).await, 0);
    let likes = json_of(app.get("/api/v1/me/likes", Some(&fan.token)).await, 200).await;
    assert_eq!(likes["items"], json!([]));
    // Likes do not change what the seller edits: the version stays.
    let l = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    assert_eq!(l["version"], version);
}

#[actix_web::test]
async fn concurrent_likes_count_each_user_once() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;
    let mut fans = Vec::new();
    for i in 0..5 {
        fans.push(app.user(&format!("fan{i}")).await);
    }
    let (app_ref, path) = (&app, like_path(&listing));
    let likes = fans.iter().flat_map(|fan| {
        let path = path.clone();
        (0..4).map(move |_| app_ref.request(Method::PUT, &path, Some(&fan.token)).send())
    });
    for res in futures_util::future::join_all(likes).await {
        assert_eq!(res.unwrap().status(), 204);
    }
    assert_eq!(like_count(&app, &listing).await, 5);
}

#[actix_web::test]
async fn like_errors() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let fan = app.user("fan").await;
    let listing = app.listing(&seller, json!({})).await;
    let draft = app.listing(&seller, json!({"status": "draft"})).await;
    let put = |path: String, token: Option<String>, body: Option<Value>| {
        let app = &app;
        async move {
            let mut req = app.request(Method::PUT, &path, token.as_deref());
            if let Some(body) = body {
                req = req.json(&body);
            }
            req.send().await.unwrap()
        }
    };
    problem(put(like_path(&listing), None, None).await, 401).await;
    problem(app.delete(&like_path(&listing), None).await, 401).await;
    problem(app.get("/api/v1/me/likes", None).await, 401).await;
    problem(
        put(
            "/api/v1/listings/999999/like".into(),
            Some(fan.token.clone()),
            None,
        )
        .await,
        404,
    )
    .await;
    problem(
        app.delete("/api/v1/listings/999999/like", Some(&fan.token))
            .await,
        404,
    )
    .await;
    problem(
        put(like_path(&draft), Some(fan.token.clone()), None).await,
        404,
    )
    .await;
    invalid_fields(
        put(
            like_path(&listing),
            Some(fan.token.clone()),
            Some(json!({"target_price_cents": 0})),
        )
        .await,
        &["target_price_cents"],
    )
    .await;
    invalid_fields(
        put(
            like_path(&listing),
            Some(fan.token.clone()),
            Some(json!({"target": 5})),
        )
        .await,
        &["target"],
    )
    .await;
    assert_eq!(like_count(&app, &listing).await, 0);
    invalid_fields(
        app.get("/api/v1/me/likes?limit=500", Some(&fan.token))
            .await,
        &["limit"],
    )
    .await;
}

#[actix_web::test]
async fn my_likes_page_newest_first() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let fan = app.user("fan").await;
    let mut liked = Vec::new();
    for i in 0..5 {
        let l = app
            .listing(&seller, json!({"title": format!("item {i}")}))
            .await;
        let res = app
            .request(Method::PUT, &like_path(&l), Some(&fan.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        liked.push(l["id"].as_i64().unwrap());
    }
    liked.reverse();
    let mut seen = Vec::new();
    let mut url = "/api/v1/me/likes?limit=2".to_owned();
    loop {
        let page = json_of(app.get(&url, Some(&fan.token)).await, 200).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["listing"]["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/me/likes?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, liked);
}
