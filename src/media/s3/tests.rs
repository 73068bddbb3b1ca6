use super::*;

fn parsed(url: &str) -> (String, String) {
    let url: S3Url = url.parse().unwrap_or_else(|e| panic!("{url}: {e}"));
    (url.bucket, url.prefix)
}

fn refused(url: &str) -> String {
    match url.parse::<S3Url>() {
        Ok(parsed) => panic!("{url} parsed as {parsed:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_s3_url_names_a_bucket_and_an_optional_prefix() {
    assert_eq!(parsed("s3://photos"), ("photos".into(), "".into()));
    assert_eq!(parsed("s3://photos/"), ("photos".into(), "".into()));
    assert_eq!(
        parsed("s3://my.photos-2/prod/listing_photos/"),
        ("my.photos-2".into(), "prod/listing_photos".into())
    );
    let url: S3Url = "s3://photos/prod/a/".parse().unwrap();
    assert_eq!(url.to_string(), "s3://photos/prod/a");
    assert_eq!(
        "s3://photos".parse::<S3Url>().unwrap().to_string(),
        "s3://photos"
    );
}

#[test]
fn a_bad_s3_url_says_what_is_wrong() {
    assert!(refused("https://photos/x").contains("expected s3://bucket"));
    assert!(refused("photos").contains("expected s3://bucket"));
    assert!(refused("s3://").contains("no bucket name"));
    assert!(refused("s3:///prefix").contains("no bucket name"));
    for bad_bucket in [
        "s3://Photos",
        "s3://ab",
        "s3://-photos",
        "s3://photos-",
        "s3://pho..tos",
        "s3://key:secret@photos",
        "s3://photos:9000",
        "s3://photos?x=1",
        "s3://photos#a",
        "s3://pho_tos",
    ] {
        assert!(
            refused(bad_bucket).contains("is not a bucket name"),
            "{bad_bucket}"
        );
    }
    let long = format!("s3://{}", "a".repeat(64));
    assert!(refused(&long).contains("is not a bucket name"));
    assert!(format!("s3://{}", "a".repeat(63)).parse::<S3Url>().is_ok());
    assert!(refused("s3://photos/a//b").contains("empty segment"));
    assert!(refused("s3://photos/a/../b").contains("\"..\""));
    assert!(refused("s3://photos/./b").contains("\".\""));
    assert!(refused("s3://photos/a b").contains("may hold only"));
    assert!(refused("s3://photos/a?b").contains("may hold only"));
    assert!(refused("s3://photos/a%2Fb").contains("may hold only"));
    // The whole URL is in the message, so the operator sees which setting is wrong.
    assert!(refused("s3://Photos").starts_with("--media-url \"s3://Photos\""));
}

#[test]
fn open_s3_refuses_a_bad_url_without_a_request() {
    match open_s3("s3://No") {
        Err(S3Error::InvalidUrl { url, .. }) => assert_eq!(url, "s3://No"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn loopback_endpoints_are_recognised() {
    for yes in [
        "http://127.0.0.1:9000",
        "http://127.0.0.2",
        "http://localhost:9000/",
        "http://LOCALHOST",
        "http://[::1]:9000",
    ] {
        assert!(is_loopback(yes), "{yes}");
    }
    for no in [
        "http://10.0.0.1:9000",
        "http://minio:9000",
        "http://localhost.example.com",
        "https://127.0.0.1",
        "http://[::2]:9000",
    ] {
        assert!(!is_loopback(no), "{no}");
    }
}

#[test]
fn the_public_base_must_be_an_absolute_http_url() {
    assert_eq!(
        parse_public_base("https://cdn.example.com/photos/").unwrap(),
        "https://cdn.example.com/photos"
    );
    assert_eq!(
        parse_public_base("http://127.0.0.1:9000/bucket").unwrap(),
        "http://127.0.0.1:9000/bucket"
    );
    for (bad, why) in [
        ("cdn.example.com/photos", "is not a URL"),
        ("/media", "is not a URL"),
        ("ftp://cdn.example.com", "not an http or https URL"),
        ("s3://bucket", "not an http or https URL"),
        ("https://cdn.example.com/p?sig=1", "query or fragment"),
        ("https://cdn.example.com/p#x", "query or fragment"),
        ("https://user:pw@cdn.example.com", "credentials"),
    ] {
        let e = parse_public_base(bad).expect_err(bad);
        assert!(e.contains(why), "{bad}: {e}");
    }
}
