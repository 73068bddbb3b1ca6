//! Listing photos over the network, with real picture bytes made here by the `image` crate:
//! a JPEG carrying EXIF orientation and a GPS position, PNG, WebP, a decompression bomb, a
//! truncated file, text named .jpg, oversized bodies, the limit per listing, reorders,
//! removal, `/media` (200, 304, 206, 416, 404) and the same picture stored once.

use crate::helpers::*;
use futures::TryStreamExt;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ImageEncoder, Rgb, RgbImage};
use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A landscape picture: left half red, right half blue.
fn two_colours(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    })
}

/// A little-endian TIFF (the body of an EXIF APP1 segment): Orientation 6 (turn 90° clockwise
/// to view) and a GPS IFD with GPSLatitudeRef N and GPSLatitude 48° 51' 24".
fn exif_with_gps_and_orientation() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II\x2a\x00");
    t.extend_from_slice(&8u32.to_le_bytes());
    // IFD0 at 8: two entries, then the next-IFD offset.
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0112, 3, 1, [6, 0, 0, 0]);
    entry(&mut t, 0x8825, 4, 1, 38u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 38);
    // The GPS IFD at 38: latitude ref inline, latitude's three rationals at 68.
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, 5, 3, 68u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 68);
    for (num, den) in [(48u32, 1u32), (51, 1), (2400, 100)] {
        t.extend_from_slice(&num.to_le_bytes());
        t.extend_from_slice(&den.to_le_bytes());
    }
    t
}

fn jpeg_of(picture: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 92);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).expect("JPEG takes EXIF");
    }
    encoder
        .write_image(
            picture.as_raw(),
            picture.width(),
            picture.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode JPEG");
    out
}

pub(crate) fn jpeg(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let picture = RgbImage::from_fn(width, height, |x, y| {
        Rgb([shade, (x % 256) as u8, (y % 256) as u8])
    });
    jpeg_of(&picture, None)
}

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = two_colours(width, height);
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            picture.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode PNG");
    out
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let picture = two_colours(width, height);
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .write_image(
            picture.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode WebP");
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG of a few hundred bytes that declares `width` × `height` RGB pixels: decoding it
/// would take gigabytes.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let chunk = |out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of 256 zero bytes (stored), far short of the rows declared.
    let mut idat = vec![0x78, 0x01, 0x01, 0x00, 0x01, 0xFF, 0xFE];
    idat.extend_from_slice(&[0u8; 256]);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

pub(crate) const BOUNDARY: &str = "bazaar-test-boundary-7d1f";

/// A `multipart/form-data` body with one file part.
pub(crate) fn multipart(file_name: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{file_name}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn photos_path(listing: &Value) -> String {
    format!("/api/v1/listings/{}/photos", listing["id"])
}

impl TestApp {
    async fn upload_form(
        &self,
        who: &TestUser,
        listing: &Value,
        name: &str,
        bytes: &[u8],
    ) -> reqwest::Response {
        self.request(Method::POST, &photos_path(listing), Some(&who.token))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart(name, "image/jpeg", bytes))
            .send()
            .await
            .expect("upload")
    }

    async fn upload_raw(
        &self,
        who: &TestUser,
        listing: &Value,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        self.request(Method::POST, &photos_path(listing), Some(&who.token))
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .expect("upload")
    }

    /// The files in the photo store: its local folder, or its S3 bucket and prefix.
    pub(crate) async fn stored_files(&self) -> Vec<String> {
        let store: Arc<dyn ObjectStore> = match &self.media_url {
            Some(url) => bazaar::media::s3::open_s3(url).expect("the test bucket"),
            None => Arc::new(LocalFileSystem::new_with_prefix(self.media_dir.path()).expect("dir")),
        };
        let mut names: Vec<String> = store
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .expect("list the store");
        names.sort();
        names
    }

    pub(crate) async fn fetch(&self, url: &Value) -> reqwest::Response {
        let url = url.as_str().expect("a url");
        assert!(url.starts_with("/media/"), "{url}");
        self.get(url, None).await
    }
}

fn ids(photos: &Value) -> Vec<i64> {
    photos
        .as_array()
        .expect("photos array")
        .iter()
        .map(|p| p["id"].as_i64().expect("id"))
        .collect()
}

#[actix_web::test]
async fn a_phone_photo_is_turned_upright_and_loses_its_exif_and_gps() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;
    let original = jpeg_of(
        &two_colours(300, 200),
        Some(exif_with_gps_and_orientation()),
    );
    assert!(original.windows(6).any(|w| w == b"Exif\0\0"));

    let photo = json_of(
        app.upload_form(&seller, &listing, "IMG_0001.jpg", &original)
            .await,
        201,
    )
    .await;
    // Orientation 6 turns the 300 × 200 landscape into a 200 × 300 portrait.
    assert_eq!(
        (photo["width"].as_i64(), photo["height"].as_i64()),
        (Some(200), Some(300))
    );
    for variant in ["thumb", "medium", "full"] {
        let res = app.fetch(&photo["urls"][variant]).await;
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let bytes = res.bytes().await.expect("bytes");
        assert!(
            !bytes.windows(4).any(|w| w == b"Exif"),
            "{variant} keeps EXIF"
        );
        assert!(
            !bytes.windows(4).any(|w| w == b"II\x2a\x00"),
            "{variant} keeps a TIFF block"
        );
        assert!(
            !bytes.windows(2).any(|w| w == b"N\0"),
            "{variant} keeps the GPS reference"
        );
        let served = image::load_from_memory(&bytes).expect("a picture");
        let (w, h) = (served.width(), served.height());
        assert!(h > w, "{variant} is {w} × {h}: not turned upright");
        // The left (red) half of the picture as stored is its top once turned clockwise.
        let rgb = served.to_rgb8();
        let top = rgb.get_pixel(w / 2, h / 4);
        let bottom = rgb.get_pixel(w / 2, h * 3 / 4);
        assert!(top[0] > 150 && top[2] < 100, "{variant} top is {top:?}");
        assert!(
            bottom[2] > 150 && bottom[0] < 100,
            "{variant} bottom is {bottom:?}"
        );
    }
    let full = image::load_from_memory(
        &app.fetch(&photo["urls"]["full"])
            .await
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!((full.width(), full.height()), (200, 300));
}

#[actix_web::test]
async fn png_and_webp_are_accepted_and_sized_in_three_variants() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;

    let from_png = json_of(
        app.upload_raw(&seller, &listing, "image/png", png(2000, 1000))
            .await,
        201,
    )
    .await;
    assert_eq!(
        (from_png["width"].as_i64(), from_png["height"].as_i64()),
        (Some(1600), Some(800))
    );
    let sizes = [
        ("full", 1600u32, 800u32),
        ("medium", 640, 320),
        ("thumb", 240, 120),
    ];
    for (variant, w, h) in sizes {
        let bytes = app
            .fetch(&from_png["urls"][variant])
            .await
            .bytes()
            .await
            .unwrap();
        let served = image::load_from_memory(&bytes).unwrap();
        assert_eq!((served.width(), served.height()), (w, h), "{variant}");
    }

    // A small WebP sent as a form file: never upscaled.
    let body = multipart("pic.webp", "image/webp", &webp(120, 90));
    let res = app
        .request(Method::POST, &photos_path(&listing), Some(&seller.token))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let from_webp = json_of(res, 201).await;
    assert_eq!(
        (from_webp["width"].as_i64(), from_webp["height"].as_i64()),
        (Some(120), Some(90))
    );
    let thumb = app
        .fetch(&from_webp["urls"]["thumb"])
        .await
        .bytes()
        .await
        .unwrap();
    let thumb = image::load_from_memory(&thumb).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (120, 90));

    // The listing shows both, in upload order, with the version moved on each time.
    let got = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    assert_eq!(
        ids(&got["photos"]),
        [
            from_png["id"].as_i64().unwrap(),
            from_webp["id"].as_i64().unwrap()
        ]
    );
    assert_eq!(got["photos"][0], from_png);
    assert_eq!(got["version"], 3);
}

#[actix_web::test]
async fn bombs_truncated_files_and_text_are_refused_cleanly() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;

    for (width, height) in [(50_000, 50_000), (10_000, 10_000)] {
        let res = app
            .upload_raw(&seller, &listing, "image/png", png_bomb(width, height))
            .await;
        let body = problem(res, 422).await;
        let why = body["errors"]["photo"].as_str().unwrap_or_default();
        assert!(
            why.starts_with("too large in pixels"),
            "{width}×{height}: {body}"
        );
    }
    let whole = jpeg(800, 600, 10);
    let truncated = whole[..whole.len() / 2].to_vec();
    let body = problem(
        app.upload_raw(&seller, &listing, "image/jpeg", truncated)
            .await,
        422,
    )
    .await;
    assert!(
        body["errors"]["photo"]
            .as_str()
            .unwrap()
            .starts_with("not an image"),
        "{body}"
    );
    let whole = png(400, 300);
    let truncated = whole[..whole.len() / 2].to_vec();
    let body = problem(
        app.upload_raw(&seller, &listing, "image/png", truncated)
            .await,
        422,
    )
    .await;
    assert!(
        body["errors"]["photo"]
            .as_str()
            .unwrap()
            .starts_with("not an image"),
        "{body}"
    );

    let text = b"Dear buyer, this is not a picture at all.\n".repeat(20);
    let body = problem(
        app.upload_form(&seller, &listing, "holiday.jpg", &text)
            .await,
        422,
    )
    .await;
    assert!(
        body["errors"]["photo"]
            .as_str()
            .unwrap()
            .starts_with("not an image"),
        "{body}"
    );
    problem(
        app.upload_raw(&seller, &listing, "text/plain", b"hello".to_vec())
            .await,
        415,
    )
    .await;

    // Nothing was stored or added, and the server is still well.
    let stored = app.stored_files().await;
    assert!(stored.is_empty(), "{stored:?}");
    let got = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    assert_eq!(got["photos"], json!([]));
    assert_eq!(got["version"], 1);
    json_of(
        app.upload_raw(&seller, &listing, "image/jpeg", jpeg(64, 64, 1))
            .await,
        201,
    )
    .await;
}

#[actix_web::test]
async fn an_upload_past_the_limit_is_413_without_reading_the_rest() {
    let app = spawn_app_with(|s| s.media.photo_max_bytes = 64 * 1024).await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;

    // Declared too large: refused at once.
    let body = vec![0xAB; 200 * 1024];
    problem(
        app.upload_raw(&seller, &listing, "image/jpeg", body.clone())
            .await,
        413,
    )
    .await;
    let form = multipart("big.jpg", "image/jpeg", &body);
    let res = app
        .request(Method::POST, &photos_path(&listing), Some(&seller.token))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    problem(res, 413).await;

    // Chunked, with no length: the answer comes once the limit is passed, while the client
    // still holds most of its body back.
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n",
        photos_path(&listing),
        seller.token
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![0xCDu8; 16 * 1024];
    for _ in 0..6 {
        socket
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        socket.write_all(&chunk).await.unwrap();
        socket.write_all(b"\r\n").await.unwrap();
    }
    // 96 KiB sent of a body that would go on for ever: the server must answer now.
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(20), socket.read(&mut answer))
        .await
        .expect("the server answered before the body ended")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Exactly at the limit is fine (the picture is still judged by its bytes).
    let mut at_limit = jpeg(64, 64, 3);
    at_limit.resize(64 * 1024, 0);
    json_of(
        app.upload_raw(&seller, &listing, "image/jpeg", at_limit)
            .await,
        201,
    )
    .await;
}

#[actix_web::test]
async fn only_the_seller_adds_photos_and_at_most_twelve() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let other = app.user("other").await;
    let listing = app.listing(&seller, json!({})).await;
    let draft = app.listing(&seller, json!({"status": "draft"})).await;

    problem(
        app.upload_raw(&other, &listing, "image/jpeg", jpeg(32, 32, 0))
            .await,
        403,
    )
    .await;
    problem(
        app.upload_raw(&other, &draft, "image/jpeg", jpeg(32, 32, 0))
            .await,
        404,
    )
    .await;
    let nowhere = json!({"id": 999_999});
    problem(
        app.upload_raw(&seller, &nowhere, "image/jpeg", jpeg(32, 32, 0))
            .await,
        404,
    )
    .await;
    let res = app
        .request(Method::POST, &photos_path(&listing), None)
        .header("content-type", "image/jpeg")
        .body(jpeg(32, 32, 0))
        .send()
        .await
        .unwrap();
    problem(res, 401).await;

    for shade in 0..12u8 {
        json_of(
            app.upload_raw(&seller, &listing, "image/jpeg", jpeg(32, 32, shade * 20))
                .await,
            201,
        )
        .await;
    }
    let body = problem(
        app.upload_raw(&seller, &listing, "image/jpeg", jpeg(32, 32, 255))
            .await,
        409,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("12"), "{body}");
    let got = json_of(
        app.get(&format!("/api/v1/listings/{}", listing["id"]), None)
            .await,
        200,
    )
    .await;
    assert_eq!(got["photos"].as_array().unwrap().len(), 12);
    // A draft of one's own takes photos too.
    json_of(
        app.upload_raw(&seller, &draft, "image/jpeg", jpeg(32, 32, 7))
            .await,
        201,
    )
    .await;
}

#[actix_web::test]
async fn photos_are_reordered_by_patch_and_removed_with_events() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let other = app.user("other").await;
    let listing = app.listing(&seller, json!({})).await;
    let path = format!("/api/v1/listings/{}", listing["id"]);
    let mut uploaded = Vec::new();
    for shade in [10u8, 90, 170] {
        let photo = json_of(
            app.upload_raw(&seller, &listing, "image/jpeg", jpeg(40, 30, shade))
                .await,
            201,
        )
        .await;
        uploaded.push(photo["id"].as_i64().unwrap());
    }
    let (a, b, c) = (uploaded[0], uploaded[1], uploaded[2]);

    let edited = json_of(
        app.patch(&path, Some(&seller.token), &json!({"photo_ids": [c, a, b]}))
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&edited["photos"]), [c, a, b]);
    assert_eq!(edited["version"], 5);
    let got = json_of(app.get(&path, None).await, 200).await;
    assert_eq!(ids(&got["photos"]), [c, a, b]);
    // With other fields in the same edit, one version step.
    let edited = json_of(
        app.patch(
            &path,
            Some(&seller.token),
            &json!({"photo_ids": [a, b, c], "title": "Red bike"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (ids(&edited["photos"]), edited["version"].as_i64()),
        (vec![a, b, c], Some(6))
    );

    for bad in [
        json!([a, b]),
        json!([a, b, c, 999]),
        json!([a, a, b, c]),
        json!([a, b, b]),
    ] {
        invalid_fields(
            app.patch(&path, Some(&seller.token), &json!({"photo_ids": bad}))
                .await,
            &["photo_ids"],
        )
        .await;
    }
    problem(
        app.patch(&path, Some(&other.token), &json!({"photo_ids": [c, b, a]}))
            .await,
        403,
    )
    .await;

    // Removal: others are refused, the seller's goes through, a second time is 404.
    let one = format!("{path}/photos/{b}");
    problem(app.delete(&one, Some(&other.token)).await, 403).await;
    let res = app.delete(&one, Some(&seller.token)).await;
    assert_eq!(res.status(), 204);
    problem(app.delete(&one, Some(&seller.token)).await, 404).await;
    let got = json_of(app.get(&path, None).await, 200).await;
    assert_eq!(
        (ids(&got["photos"]), got["version"].as_i64()),
        (vec![a, c], Some(7))
    );

    // Every change told the listing's subscribers, with the photos as they then were.
    let topic = format!("listing:{}", listing["id"]);
    let updates: Vec<Vec<i64>> = app
        .events(&topic)
        .into_iter()
        .filter(|(_, kind, _)| kind == "listing.updated")
        .map(|(_, _, data)| ids(&data["listing"]["photos"]))
        .collect();
    assert_eq!(
        updates,
        [
            vec![a],
            vec![a, b],
            vec![a, b, c],
            vec![c, a, b],
            vec![a, b, c],
            vec![a, c]
        ]
    );

    // The search pages carry them too, in order.
    let page = json_of(app.get("/api/v1/listings", None).await, 200).await;
    assert_eq!(ids(&page["items"][0]["photos"]), [a, c]);
}

#[actix_web::test]
async fn media_is_served_cached_conditional_and_by_range() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;
    let photo = json_of(
        app.upload_raw(&seller, &listing, "image/png", png(500, 300))
            .await,
        201,
    )
    .await;
    let url = photo["urls"]["medium"].as_str().unwrap().to_owned();

    let res = app.get(&url, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let whole = res.bytes().await.unwrap();
    assert!(whole.len() > 100);

    let res = app
        .request(Method::GET, &url, None)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app
        .request(Method::GET, &url, None)
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let res = app
        .request(Method::GET, &url, None)
        .header("range", "bytes=10-49")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 10-49/{}", whole.len()).as_str()
    );
    assert_eq!(res.bytes().await.unwrap(), whole.slice(10..50));
    let res = app
        .request(Method::GET, &url, None)
        .header("range", "bytes=-20")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.bytes().await.unwrap(), whole.slice(whole.len() - 20..));
    let past = format!("bytes={}-", whole.len() + 10);
    let res = app
        .request(Method::GET, &url, None)
        .header("range", past)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes */{}", whole.len()).as_str()
    );

    let unknown = format!("/media/{}.jpg", "0".repeat(64));
    problem(app.get(&unknown, None).await, 404).await;
    for bad in [
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/media/bazaar.db",
        "/media/%2E%2E",
        "/media/x.jpg",
    ] {
        let status = app.get(bad, None).await.status().as_u16();
        assert_eq!(status, 404, "{bad}");
    }
}

#[actix_web::test]
async fn the_same_picture_twice_is_stored_once_and_unused_files_are_swept() {
    let app = spawn_app_with(|s| {
        s.media.media_sweep_interval_secs = 1;
        // Long enough that no upload's files are older than it before its row commits.
        s.media.media_sweep_grace_secs = 2;
    })
    .await;
    let seller = app.user("seller").await;
    let first = app.listing(&seller, json!({})).await;
    let second = app.listing(&seller, json!({"title": "Another"})).await;
    let picture = jpeg(900, 700, 50);
    let a = json_of(
        app.upload_raw(&seller, &first, "image/jpeg", picture.clone())
            .await,
        201,
    )
    .await;
    let b = json_of(
        app.upload_form(&seller, &second, "copy.jpg", &picture)
            .await,
        201,
    )
    .await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["urls"], b["urls"]);
    let stored = app.stored_files().await;
    assert_eq!(stored.len(), 3, "{stored:?}");

    // Still named by the second listing's photo: kept.
    let res = app
        .delete(
            &format!("/api/v1/listings/{}/photos/{}", first["id"], a["id"]),
            Some(&seller.token),
        )
        .await;
    assert_eq!(res.status(), 204);
    // Past the grace period, with sweeps since.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert_eq!(app.stored_files().await.len(), 3);
    assert_eq!(app.fetch(&b["urls"]["full"]).await.status(), 200);

    // Named by nothing: gone after the next sweeps.
    let res = app
        .delete(
            &format!("/api/v1/listings/{}/photos/{}", second["id"], b["id"]),
            Some(&seller.token),
        )
        .await;
    assert_eq!(res.status(), 204);
    let swept = wait_until(Duration::from_secs(20), || async {
        app.stored_files().await.is_empty()
    })
    .await;
    assert!(swept, "left: {:?}", app.stored_files().await);
    assert_eq!(app.fetch(&b["urls"]["full"]).await.status(), 404);
}

/// Several servers on one bucket share their photos: a photo uploaded through one server is
/// served, byte for byte, by another's `/media/{key}` (S3 store only; skipped without it).
#[actix_web::test]
async fn a_photo_uploaded_to_one_server_is_served_by_another_on_the_same_bucket() {
    let Some(url) = test_s3_url("a_photo_uploaded_to_one_server_is_served_by_another") else {
        return;
    };
    let one = spawn_app_with(|s| s.media.media_url = Some(url.parse().expect("url"))).await;
    let other = spawn_app_with(|s| s.media.media_url = Some(url.parse().expect("url"))).await;
    let seller = one.user("seller").await;
    let listing = one.listing(&seller, json!({})).await;
    let photo = json_of(
        one.upload_raw(&seller, &listing, "image/png", png(900, 600))
            .await,
        201,
    )
    .await;
    for variant in ["full", "medium", "thumb"] {
        let here = one.fetch(&photo["urls"][variant]).await;
        assert_eq!(here.status(), 200, "{variant}");
        let there = other.fetch(&photo["urls"][variant]).await;
        assert_eq!(there.status(), 200, "{variant}");
        assert_eq!(
            here.bytes().await.unwrap(),
            there.bytes().await.unwrap(),
            "{variant}"
        );
    }
}
