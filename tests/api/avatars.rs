//! Avatars over the network, with real picture bytes made here: a wide JPEG whose centred
//! square is all green (so the crop shows), a small PNG (never upscaled), text (422), no
//! login (401); shown on the profile, on `/me` and beside a conversation's other party;
//! replaced, removed, and their files kept by the media sweep while an avatar names them.

use crate::helpers::*;
use crate::photos::{jpeg, multipart, png, BOUNDARY};
use image::{ImageEncoder, Rgb, RgbImage};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// 1600 × 800: red left quarter, green middle half, blue right quarter.
fn wide_with_green_middle() -> Vec<u8> {
    let picture = RgbImage::from_fn(1600, 800, |x, _| match x {
        0..400 => Rgb([220, 20, 20]),
        400..1200 => Rgb([20, 200, 20]),
        _ => Rgb([20, 20, 220]),
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .write_image(picture.as_raw(), 1600, 800, image::ExtendedColorType::Rgb8)
        .expect("encode JPEG");
    out
}

impl TestApp {
    async fn put_avatar_raw(
        &self,
        token: Option<&str>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        self.request(Method::PUT, "/api/v1/me/avatar", token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .expect("avatar upload")
    }

    async fn put_avatar_form(&self, who: &TestUser, bytes: &[u8]) -> reqwest::Response {
        self.request(Method::PUT, "/api/v1/me/avatar", Some(&who.token))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart("me.png", "image/png", bytes))
            .send()
            .await
            .expect("avatar upload")
    }

    /// A stored file by its URL, decoded.
    async fn picture(&self, url: &Value) -> image::DynamicImage {
        let res = self.fetch(url).await;
        assert_eq!(res.status(), 200, "{url}");
        let bytes = res.bytes().await.expect("body");
        image::load_from_memory(&bytes).expect("a picture")
    }

    async fn profile(&self, id: i64) -> Value {
        json_of(self.get(&format!("/api/v1/users/{id}"), None).await, 200).await
    }

    async fn me(&self, who: &TestUser) -> Value {
        json_of(self.get("/api/v1/me", Some(&who.token)).await, 200).await
    }
}

/// The stored file name an avatar URL names.
fn key(url: &Value) -> String {
    let url = url.as_str().expect("a url");
    url.strip_prefix("/media/")
        .expect("a /media url")
        .to_owned()
}

#[actix_web::test]
async fn an_avatar_is_a_square_shown_on_the_profile_me_and_conversations() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;

    let me = json_of(
        app.put_avatar_raw(Some(&ann.token), "image/jpeg", wide_with_green_middle())
            .await,
        200,
    )
    .await;
    let avatar = me["avatar"].clone();
    assert_eq!(me["id"].as_i64(), Some(ann.id), "{me}");
    let small = app.picture(&avatar["urls"]["small"]).await;
    let large = app.picture(&avatar["urls"]["large"]).await;
    assert_eq!((small.width(), small.height()), (240, 240));
    assert_eq!((large.width(), large.height()), (640, 640));
    // The centred square: green edge to edge, none of the red or blue sides.
    let large = large.to_rgb8();
    for (x, y) in [(10, 10), (629, 10), (10, 629), (629, 629), (320, 320)] {
        let Rgb([r, g, b]) = *large.get_pixel(x, y);
        assert!(g > 150 && r < 80 && b < 80, "({x}, {y}) is {r},{g},{b}");
    }

    assert_eq!(app.me(&ann).await["avatar"], avatar);
    assert_eq!(app.profile(ann.id).await["avatar"], avatar);
    assert_eq!(app.profile(bob.id).await["avatar"], Value::Null);
    assert_eq!(app.me(&bob).await["avatar"], Value::Null);

    // Beside the other party of a conversation: ann's to bob, none of bob's to ann.
    let listing = app.listing(&ann, json!({})).await;
    let opened = json_of(
        app.post(
            &format!("/api/v1/listings/{}/conversations", listing["id"]),
            Some(&bob.token),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(opened["other_party_avatar"], avatar);
    let bobs = json_of(
        app.get("/api/v1/conversations", Some(&bob.token)).await,
        200,
    )
    .await;
    assert_eq!(bobs["items"][0]["other_party_avatar"], avatar, "{bobs}");
    let anns = json_of(
        app.get("/api/v1/conversations", Some(&ann.token)).await,
        200,
    )
    .await;
    assert_eq!(
        anns["items"][0]["other_party_avatar"],
        Value::Null,
        "{anns}"
    );

    // Replaced by a small PNG sent as a form: square, never upscaled.
    let replaced = json_of(app.put_avatar_form(&ann, &png(300, 200)).await, 200).await;
    let new_avatar = replaced["avatar"].clone();
    assert_ne!(new_avatar, avatar);
    for size in ["small", "large"] {
        let picture = app.picture(&new_avatar["urls"][size]).await;
        assert_eq!((picture.width(), picture.height()), (200, 200), "{size}");
    }
    assert_eq!(app.profile(ann.id).await["avatar"], new_avatar);
    assert_eq!(app.me(&ann).await["avatar"], new_avatar);

    let res = app.delete("/api/v1/me/avatar", Some(&ann.token)).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.profile(ann.id).await["avatar"], Value::Null);
    assert_eq!(app.me(&ann).await["avatar"], Value::Null);
    let bobs = json_of(
        app.get("/api/v1/conversations", Some(&bob.token)).await,
        200,
    )
    .await;
    assert_eq!(bobs["items"][0]["other_party_avatar"], Value::Null);
}

#[actix_web::test]
async fn an_avatar_must_be_a_picture_from_a_logged_in_user() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let body = problem(
        app.put_avatar_raw(
            Some(&ann.token),
            "image/jpeg",
            b"hello, I am a .jpg".to_vec(),
        )
        .await,
        422,
    )
    .await;
    assert!(
        body["errors"]["avatar"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not an image"),
        "{body}"
    );
    let res = app
        .put_avatar_raw(None, "image/jpeg", jpeg(400, 300, 9))
        .await;
    assert_eq!(res.status(), 401);
    let res = app.delete("/api/v1/me/avatar", None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(app.me(&ann).await["avatar"], Value::Null);
    let stored = app.stored_files().await;
    assert!(stored.is_empty(), "{stored:?}");
}

#[actix_web::test]
async fn the_sweep_keeps_a_live_avatars_files_and_removes_replaced_ones() {
    let app = spawn_app_with(|s| {
        s.media.media_sweep_interval_secs = 1;
        s.media.media_sweep_grace_secs = 2;
    })
    .await;
    let ann = app.user("ann").await;
    let first = json_of(
        app.put_avatar_raw(Some(&ann.token), "image/jpeg", jpeg(800, 500, 30))
            .await,
        200,
    )
    .await;
    let second = json_of(
        app.put_avatar_raw(Some(&ann.token), "image/jpeg", jpeg(900, 600, 200))
            .await,
        200,
    )
    .await;
    let live = |v: &Value| {
        let mut keys = vec![
            key(&v["avatar"]["urls"]["small"]),
            key(&v["avatar"]["urls"]["large"]),
        ];
        keys.sort();
        keys
    };
    let (old_keys, live_keys) = (live(&first), live(&second));
    let stored = app.stored_files().await;
    assert_eq!(stored.len(), 4, "{stored:?}");

    // The replaced avatar's files go; the live one's stay, past the grace period.
    let swept = wait_until(Duration::from_secs(20), || async {
        app.stored_files().await == live_keys
    })
    .await;
    assert!(swept, "left: {:?}", app.stored_files().await);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert_eq!(app.stored_files().await, live_keys);
    for url in [
        &second["avatar"]["urls"]["small"],
        &second["avatar"]["urls"]["large"],
    ] {
        assert_eq!(app.fetch(url).await.status(), 200);
    }
    assert!(old_keys.iter().all(|k| !live_keys.contains(k)));

    // Removed: nothing names them, so they go too.
    let res = app.delete("/api/v1/me/avatar", Some(&ann.token)).await;
    assert_eq!(res.status(), 204);
    let swept = wait_until(Duration::from_secs(20), || async {
        app.stored_files().await.is_empty()
    })
    .await;
    assert!(swept, "left: {:?}", app.stored_files().await);
}
