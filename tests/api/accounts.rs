use crate::helpers::*;
use bazaar_actors::store::schema::{sessions, users};
use diesel::prelude::*;
use serde_json::json;

#[actix_web::test]
async fn register_login_me_logout() {
    let app = spawn_app().await;
    let user = json_of(app.register("alice", "password123").await, 201).await;
    assert_eq!(user["username"], "alice");
    assert_eq!(user["display_name"], "alice");
    assert!(user.get("password_hash").is_none());

    let session = json_of(app.login("alice", "password123").await, 201).await;
    let token = session["token"].as_str().unwrap().to_owned();
    assert_eq!(session["user"]["id"], user["id"]);
    let expires: chrono::DateTime<chrono::Utc> =
        session["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "expires in {days} days");

    let me = json_of(app.get("/api/v1/me", Some(&token)).await, 200).await;
    assert_eq!(me, user);

    let out = app.delete("/api/v1/sessions/current", Some(&token)).await;
    assert_eq!(out.status(), 204);
    problem(app.get("/api/v1/me", Some(&token)).await, 401).await;
    problem(
        app.delete("/api/v1/sessions/current", Some(&token)).await,
        401,
    )
    .await;
}

#[actix_web::test]
async fn passwords_are_argon2id_and_tokens_are_stored_as_sha256_only() {
    let app = spawn_app().await;
    let user = app.user("bob").await;
    let mut conn = app.db.connect();
    let hash: String = users::table
        .filter(users::id.eq(user.id))
        .select(users::password_hash)
        .get_result(&mut *conn)
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let stored: Vec<String> = sessions::table
        .select(sessions::token_hash)
        .load(&mut *conn)
        .unwrap();
    assert_eq!(stored, vec![bazaar::auth::token_hash(&user.token)]);
    assert!(!stored.contains(&user.token));
}

#[actix_web::test]
async fn a_taken_username_is_409() {
    let app = spawn_app().await;
    assert_eq!(app.register("carol", "password123").await.status(), 201);
    let body = problem(app.register("carol", "another-pass").await, 409).await;
    assert!(body["detail"].as_str().unwrap().contains("taken"));
}

#[actix_web::test]
async fn registration_names_every_bad_field() {
    let app = spawn_app().await;
    invalid_fields(app.register("No", "short").await, &["password", "username"]).await;
    invalid_fields(
        app.register(&"a".repeat(33), &"x".repeat(129)).await,
        &["password", "username"],
    )
    .await;
    invalid_fields(
        app.post(
            "/api/v1/users",
            None,
            &json!({"username": "dave", "password": "password123", "display_name": ""}),
        )
        .await,
        &["display_name"],
    )
    .await;
    invalid_fields(
        app.post("/api/v1/users", None, &json!({"username": "dave"}))
            .await,
        &["password"],
    )
    .await;
    invalid_fields(
        app.post(
            "/api/v1/users",
            None,
            &json!({"username": "dave", "password": "password123", "admin": true}),
        )
        .await,
        &["admin"],
    )
    .await;
    // Nothing was created by any of those.
    problem(app.login("dave", "password123").await, 401).await;
}

#[actix_web::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let app = spawn_app().await;
    app.user("erin").await;
    let wrong = problem(app.login("erin", "wrong-password").await, 401).await;
    let unknown = problem(app.login("nobody", "wrong-password").await, 401).await;
    assert_eq!(wrong, unknown);
}

#[actix_web::test]
async fn bad_tokens_are_401() {
    let app = spawn_app().await;
    problem(app.get("/api/v1/me", None).await, 401).await;
    problem(app.get("/api/v1/me", Some("not-a-token")).await, 401).await;
    let basic = app
        .request(reqwest::Method::GET, "/api/v1/me", None)
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    let res = problem(basic, 401).await;
    assert!(res["detail"].as_str().unwrap().contains("Bearer"));
}

#[actix_web::test]
async fn malformed_bodies_are_400_413_and_415() {
    let app = spawn_app().await;
    let send = |body: String, content_type: &'static str| {
        app.request(reqwest::Method::POST, "/api/v1/users", None)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    problem(
        send("{\"username\":".into(), "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    problem(send("[1,2]".into(), "application/json").await.unwrap(), 422).await;
    let huge = format!(
        "{{\"username\":\"frank\",\"password\":\"{}\"}}",
        "x".repeat(70 * 1024)
    );
    problem(send(huge, "application/json").await.unwrap(), 413).await;
    problem(
        send("username=frank".into(), "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
    )
    .await;
    problem(send(String::new(), "application/json").await.unwrap(), 400).await;
}
