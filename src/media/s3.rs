//! Photos in any S3-compatible object store (`--media-url s3://bucket/prefix`), so several
//! server processes share one set of files. The endpoint and credentials come from the usual
//! `AWS_*` environment variables; `--media-public-url` points photo URLs at a CDN or the
//! bucket's public address instead of the server's own `/media/{key}`.

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::prefix::PrefixStore;
use object_store::{ClientConfigKey, ObjectStore, RetryConfig};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Requests to the store are retried this often (transport errors, 5xx, throttling) before
/// the caller sees the error; object_store's default (10 over 3 minutes) would hold an upload
/// or a start-up for minutes.
const MAX_RETRIES: usize = 3;
/// The longest a request and its retries may take.
const RETRY_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest the start-up check may take, whatever the retries.
const STARTUP_CHECK_TIMEOUT: Duration = Duration::from_secs(40);

/// Everything that can go wrong opening the store; each names what the operator should fix.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("--media-url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "the S3 endpoint {endpoint} is plain http; set AWS_ALLOW_HTTP=true to allow it (only \
         loopback endpoints are allowed without it)"
    )]
    PlainHttp { endpoint: String },
    #[error("configuring the S3 client for bucket {bucket:?}")]
    Build {
        bucket: String,
        #[source]
        source: object_store::Error,
    },
    /// `cause` is the innermost error (object_store's own messages repeat their sources).
    #[error(
        "S3 bucket {bucket:?} at {endpoint} is not usable (check AWS_ENDPOINT_URL, the \
         credentials and that the bucket exists): {cause}"
    )]
    Unreachable {
        bucket: String,
        endpoint: String,
        cause: String,
    },
    #[error("S3 bucket {bucket:?} at {endpoint} did not answer within {} s (check AWS_ENDPOINT_URL)", .waited.as_secs())]
    TimedOut {
        bucket: String,
        endpoint: String,
        waited: Duration,
    },
}

/// A parsed `s3://bucket/prefix`: the prefix has no leading or trailing slash and may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl std::str::FromStr for S3Url {
    type Err = S3Error;

    fn from_str(url: &str) -> Result<Self, S3Error> {
        let invalid = |reason: &str| S3Error::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| invalid("expected s3://bucket or s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        check_bucket(bucket).map_err(|reason| invalid(&reason))?;
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() {
            for segment in prefix.split('/') {
                check_segment(segment).map_err(|reason| invalid(&reason))?;
            }
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix.as_str() {
            "" => write!(f, "s3://{}", self.bucket),
            prefix => write!(f, "s3://{}/{prefix}", self.bucket),
        }
    }
}

/// S3's rules for bucket names: 3 to 63 lower-case letters, digits, dots and hyphens, starting
/// and ending with a letter or a digit. This also refuses what a URL could smuggle in the host
/// (credentials, a port, a query).
fn check_bucket(bucket: &str) -> Result<(), String> {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let chars_ok = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if bucket.is_empty() {
        Err("no bucket name".into())
    } else if !(3..=63).contains(&bucket.len())
        || !chars_ok
        || !edge_ok(bucket.chars().next())
        || !edge_ok(bucket.chars().last())
        || bucket.contains("..")
    {
        Err(format!(
            "{bucket:?} is not a bucket name (3-63 lower-case letters, digits, dots, hyphens)"
        ))
    } else {
        Ok(())
    }
}

/// A prefix is plain path segments: no empty ones (`a//b`), no `.` or `..`, and only
/// characters that need no escaping in a URL or a key.
fn check_segment(segment: &str) -> Result<(), String> {
    let chars_ok = segment
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if segment.is_empty() {
        Err("the prefix has an empty segment (//)".into())
    } else if segment == "." || segment == ".." {
        Err(format!("the prefix may not contain {segment:?}"))
    } else if !chars_ok {
        Err(format!(
            "prefix segment {segment:?} may hold only letters, digits, '-', '_' and '.'"
        ))
    } else {
        Ok(())
    }
}

/// Opens `s3://bucket/prefix` with the endpoint and credentials of the environment
/// (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
/// `AWS_ALLOW_HTTP`, …). Makes no request: see [`check_reachable`].
pub fn open_s3(url: &str) -> Result<Arc<dyn ObjectStore>, S3Error> {
    let url: S3Url = url.parse()?;
    Ok(into_dyn(build(&url)?, &url))
}

/// Opens the store and makes one cheap request (a listing of at most one key under the
/// prefix), so a wrong endpoint, bad credentials or a missing bucket fail start-up clearly.
pub async fn open_s3_checked(url: &S3Url) -> Result<Arc<dyn ObjectStore>, S3Error> {
    let (s3, endpoint) = build_with_endpoint(url)?;
    check_reachable(&s3, url, endpoint.as_deref().unwrap_or("AWS")).await?;
    Ok(into_dyn(s3, url))
}

fn into_dyn(s3: AmazonS3, url: &S3Url) -> Arc<dyn ObjectStore> {
    if url.prefix.is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(PrefixStore::new(s3, url.prefix.as_str()))
    }
}

fn build(url: &S3Url) -> Result<AmazonS3, S3Error> {
    build_with_endpoint(url).map(|(s3, _)| s3)
}

/// The store, and the endpoint it talks to (None: AWS's own).
fn build_with_endpoint(url: &S3Url) -> Result<(AmazonS3, Option<String>), S3Error> {
    // rustls needs one process-wide crypto provider, and ours is ring (see Cargo.toml). An
    // error means one is installed already, which serves as well.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&url.bucket)
        .with_retry(RetryConfig {
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_TIMEOUT,
            ..RetryConfig::default()
        });
    let endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    if let Some(endpoint) = endpoint.clone().filter(|e| e.starts_with("http://")) {
        let allowed = builder
            .get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
            .is_some_and(|v| v == "true");
        if is_loopback(&endpoint) {
            builder = builder.with_allow_http(true);
        } else if !allowed {
            return Err(S3Error::PlainHttp { endpoint });
        }
    }
    let s3 = builder.build().map_err(|source| S3Error::Build {
        bucket: url.bucket.clone(),
        source,
    })?;
    Ok((s3, endpoint))
}

/// `http://127.0.0.1:9000`, `http://localhost:9000/`, `http://[::1]:9000`: a store on this
/// machine, where plain http crosses no network.
fn is_loopback(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn check_reachable(s3: &AmazonS3, url: &S3Url, endpoint: &str) -> Result<(), S3Error> {
    let prefix = (!url.prefix.is_empty()).then(|| format!("{}/", url.prefix));
    let options = PaginatedListOptions {
        max_keys: Some(1),
        ..Default::default()
    };
    match tokio::time::timeout(
        STARTUP_CHECK_TIMEOUT,
        s3.list_paginated(prefix.as_deref(), options),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(S3Error::Unreachable {
            bucket: url.bucket.clone(),
            endpoint: endpoint.to_owned(),
            cause: innermost(&error),
        }),
        Err(_) => Err(S3Error::TimedOut {
            bucket: url.bucket.clone(),
            endpoint: endpoint.to_owned(),
            waited: STARTUP_CHECK_TIMEOUT,
        }),
    }
}

/// The last error of a source chain, on one line: "Connection refused (os error 111)", or the
/// store's answer with its code (`<Code>NoSuchBucket</Code>…`).
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `--media-public-url`: an absolute http(s) URL with a host and no query or fragment (keys
/// are appended to it).
pub fn parse_public_base(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{value:?} is not an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{value:?} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{value:?} may not have a query or fragment (keys are appended to it)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{value:?} may not carry credentials"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests;
