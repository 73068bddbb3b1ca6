//! The S3-compatible photo store (`--media-url s3://bucket/prefix`): the store itself against
//! the S3 server `.ci/s3.sh` starts (skipped with a note when `BAZAAR_TEST_S3_URL` is unset),
//! and the server's start-up errors (those need no S3 server).

use crate::helpers::*;
use bazaar::media::s3::{open_s3, S3Url};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::process::{Command, Output};
use std::sync::Arc;

/// Bytes that are not the same at any two offsets a test reads, so a wrong range shows.
fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn read_all(store: &Arc<dyn ObjectStore>, key: &Path) -> Vec<u8> {
    let got = store.get(key).await.expect("get");
    got.bytes().await.expect("body").to_vec()
}

async fn keys_under(store: &Arc<dyn ObjectStore>, prefix: Option<&Path>) -> Vec<String> {
    let mut keys: Vec<String> = store
        .list(prefix)
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .expect("list");
    keys.sort();
    keys
}

#[actix_web::test]
async fn the_s3_store_puts_gets_ranges_lists_and_deletes_under_its_prefix() {
    let Some(url) = test_s3_url("the_s3_store_puts_gets_ranges_lists_and_deletes") else {
        return;
    };
    let store = open_s3(&url).expect("open");
    let body = sample(300_000);
    let key = Path::from("ab/cdef-640.jpg");
    let other = Path::from("ab/cdef-240.jpg");
    store.put(&key, body.clone().into()).await.expect("put");
    store
        .put(&other, PutPayload::from_static(b"small"))
        .await
        .expect("put");

    assert_eq!(read_all(&store, &key).await, body);
    let range = store
        .get_range(&key, 120_000..120_100)
        .await
        .expect("range");
    assert_eq!(range.as_ref(), &body[120_000..120_100]);
    assert_eq!(
        store.head(&key).await.expect("head").size,
        body.len() as u64
    );
    assert_eq!(
        keys_under(&store, Some(&Path::from("ab"))).await,
        ["ab/cdef-240.jpg", "ab/cdef-640.jpg"]
    );

    // The prefix is honoured: from the bucket's root the objects sit under it, and nothing of
    // this test is outside it.
    let parsed: S3Url = url.parse().expect("parse");
    let root = open_s3(&format!("s3://{}", parsed.bucket)).expect("open the root");
    let under_prefix = Path::from(format!("{}/ab/cdef-640.jpg", parsed.prefix));
    assert_eq!(read_all(&root, &under_prefix).await, body);
    assert_eq!(
        keys_under(&root, Some(&Path::from(parsed.prefix.as_str()))).await,
        [
            format!("{}/ab/cdef-240.jpg", parsed.prefix),
            format!("{}/ab/cdef-640.jpg", parsed.prefix)
        ]
    );

    store.delete(&key).await.expect("delete");
    match store.get(&key).await {
        Err(object_store::Error::NotFound { .. }) => {}
        other => panic!("a deleted object was found: {other:?}"),
    }
    assert_eq!(
        keys_under(&store, None).await,
        ["ab/cdef-240.jpg"],
        "only the other object is left"
    );
}

#[actix_web::test]
async fn two_server_processes_start_on_one_bucket_and_see_each_others_objects() {
    let Some(url) = test_s3_url("two_server_processes_start_on_one_bucket") else {
        return;
    };
    let client = http_client();
    let (db_a, db_b) = (TestDb::create(), TestDb::create());
    let a = ServerProcess::start(
        &["--media-url", &url, "--database-url", db_a.url()],
        &[],
        None,
    );
    let b = ServerProcess::start(
        &["--database-url", db_b.url()],
        &[("BAZAAR_MEDIA_URL", &url)],
        None,
    );
    for server in [&a, &b] {
        let ready = client
            .get(format!("{}/readyz", server.address))
            .send()
            .await
            .expect("readyz");
        assert_eq!(ready.status(), 200);
    }

    // What one process's store writes, the other's reads: the same bucket and prefix.
    let (store_a, store_b) = (open_s3(&url).expect("a"), open_s3(&url).expect("b"));
    let key = Path::from("shared/photo-1600.webp");
    let body = sample(40_000);
    store_a.put(&key, body.clone().into()).await.expect("put");
    assert_eq!(read_all(&store_b, &key).await, body);
    store_b.delete(&key).await.expect("delete");
    assert!(matches!(
        store_a.head(&key).await,
        Err(object_store::Error::NotFound { .. })
    ));
}

/// Runs `bazaar serve` to its exit (the cases here all fail start-up), on a database of its
/// own, with `env` over the test's environment.
fn serve_until_exit(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bazaar"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--database-url", db.url()])
        .args(args)
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_ENDPOINT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run bazaar")
}

/// Credentials that point no client at an instance-metadata service, for the cases that
/// need no real S3 server.
const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "bazaar-test"),
    ("AWS_SECRET_ACCESS_KEY", "bazaar-test"),
    ("AWS_REGION", "us-east-1"),
];

fn with_credentials<'a>(more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    CREDENTIALS
        .iter()
        .copied()
        .chain(more.iter().copied())
        .collect()
}

#[test]
fn a_missing_bucket_fails_start_up_and_names_it() {
    let Some(url) = test_s3_url("a_missing_bucket_fails_start_up") else {
        return;
    };
    let parsed: S3Url = url.parse().expect("parse");
    let missing = format!("s3://{}-missing/x", parsed.bucket);
    let db = TestDb::create();
    let out = serve_until_exit(&db, &["--media-url", &missing], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("set with the test bucket");
    assert!(
        stderr.contains(&format!(
            "S3 bucket \"{}-missing\" at {endpoint} is not usable",
            parsed.bucket
        )),
        "{stderr}"
    );
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unreachable_endpoint_fails_start_up_with_the_real_error() {
    let db = TestDb::create();
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let env = with_credentials(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
    let out = serve_until_exit(&db, &["--media-url", "s3://photos/prod"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("S3 bucket \"photos\" at http://127.0.0.1:1 is not usable"),
        "{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_plain_http_endpoint_elsewhere_needs_aws_allow_http() {
    let db = TestDb::create();
    // Refused before any request: `.invalid` never resolves, so nothing is sent anywhere.
    let env = with_credentials(&[
        ("AWS_ENDPOINT_URL", "http://minio.invalid:9000"),
        ("AWS_ALLOW_HTTP", "false"),
    ]);
    let out = serve_until_exit(&db, &["--media-url", "s3://photos"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("http://minio.invalid:9000 is plain http; set AWS_ALLOW_HTTP=true"),
        "{stderr}"
    );
}

#[test]
fn a_bad_media_url_is_a_usage_error_before_anything_starts() {
    let db = TestDb::create();
    let out = serve_until_exit(&db, &["--media-url", "s3://Photos_2024/a//b"], &CREDENTIALS);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--media-url"), "{stderr}");
    assert!(stderr.contains("is not a bucket name"), "{stderr}");

    let env = with_credentials(&[("BAZAAR_MEDIA_URL", "https://photos.example.com")]);
    let out = serve_until_exit(&db, &[], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("expected s3://bucket"), "{stderr}");

    let out = serve_until_exit(
        &db,
        &["--media-public-url", "cdn.example.com/x"],
        &CREDENTIALS,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--media-public-url"), "{stderr}");
}
