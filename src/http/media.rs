//! `GET /media/{key}`: a stored photo file, straight from the object store. Keys are content
//! hashes, so a file never changes: it is cached for a year (`immutable`). Conditional GETs
//! and byte ranges are the store's own (`get_opts`), so they work the same on a local folder
//! and on S3.

use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use bazaar_actors::domain::photo::media_type_of_key;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStoreExt};

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// A stored photo file (the URLs in a listing's `photos` point here).
#[utoipa::path(
    tag = "photos",
    params(
        ("key" = String, Path, pattern = "^[0-9a-f]{64}\\.(jpg|png|webp)$", description = "The file's key, as in a photo's urls"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag seen before: 304 if it still matches"),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. bytes=0-1023"),
    ),
    responses(
        (status = 200, description = "The file (Cache-Control: public, max-age=31536000, immutable; ETag)", content_type = "image/jpeg"),
        (status = 206, description = "The byte range asked for, with Content-Range"),
        (status = 304, description = "Not modified since the ETag named"),
        (status = 404, description = "No such file", body = Problem),
        (status = 416, description = "The range starts past the end of the file", body = Problem),
    )
)]
#[get("/media/{key}")]
pub async fn get_media(
    state: web::Data<AppState>,
    key: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let not_found = || ApiError::NotFound("no such file".into());
    let content_type = media_type_of_key(&key).ok_or_else(not_found)?;
    let path = Path::from(key.as_str());
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_range);
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(normalize_tags);
    let options = GetOptions {
        if_none_match: if_none_match.clone(),
        range: range.clone(),
        ..GetOptions::default()
    };
    let store = &state.media.store;
    let result = match store.get_opts(&path, options).await {
        Ok(result) => result,
        Err(object_store::Error::NotFound { .. }) => return Err(not_found()),
        Err(object_store::Error::NotModified { .. }) => {
            let mut response = HttpResponse::NotModified();
            response.insert_header((header::CACHE_CONTROL, CACHE_FOREVER));
            if let Some(tag) = if_none_match.as_deref().and_then(|t| t.split(',').next()) {
                response.insert_header((header::ETAG, quoted(tag.trim())));
            }
            return Ok(response.finish());
        }
        Err(e) if range.is_some() => {
            // A range the store refused: past the end is 416, anything else a fault.
            let meta = match store.head(&path).await {
                Ok(meta) => meta,
                Err(object_store::Error::NotFound { .. }) => return Err(not_found()),
                Err(_) => return Err(ApiError::internal(e)),
            };
            if range.as_ref().is_some_and(|r| starts_past(r, meta.size)) {
                let problem = Problem::new(
                    "range-not-satisfiable",
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    format!("the file has {} bytes", meta.size),
                );
                let mut response = problem.response();
                response.headers_mut().insert(
                    header::CONTENT_RANGE,
                    header::HeaderValue::from_str(&format!("bytes */{}", meta.size))
                        .map_err(ApiError::internal)?,
                );
                return Ok(response);
            }
            return Err(ApiError::internal(e));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let size = result.meta.size;
    let served = result.range.clone();
    let mut response = if range.is_some() {
        let mut partial = HttpResponse::PartialContent();
        partial.insert_header((
            header::CONTENT_RANGE,
            format!(
                "bytes {}-{}/{size}",
                served.start,
                served.end.saturating_sub(1)
            ),
        ));
        partial
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, CACHE_FOREVER))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    if let Some(tag) = &result.meta.e_tag {
        response.insert_header((header::ETAG, quoted(tag)));
    }
    let body = result
        .into_stream()
        .map(|chunk| chunk.map_err(actix_web::error::ErrorInternalServerError));
    let length = served.end - served.start;
    Ok(response.body(actix_http::body::SizedStream::new(length, Box::pin(body))))
}

/// One byte range of a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`). Anything else,
/// several ranges included, is ignored: the whole file is sent, as RFC 9110 allows.
fn parse_range(value: &str) -> Option<GetRange> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    match (start.is_empty(), end.is_empty()) {
        (true, false) => end.parse().ok().filter(|n| *n > 0).map(GetRange::Suffix),
        (false, true) => start.parse().ok().map(GetRange::Offset),
        (false, false) => {
            let (a, b): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
            (a <= b).then(|| GetRange::Bounded(a..b.saturating_add(1)))
        }
        (true, true) => None,
    }
}

fn starts_past(range: &GetRange, size: u64) -> bool {
    match range {
        GetRange::Bounded(r) => r.start >= size,
        GetRange::Offset(start) => *start >= size,
        GetRange::Suffix(_) => size == 0,
    }
}

/// The tags of an `If-None-Match` header as the store compares them: quoted, without weak
/// markers (a weak comparison is what If-None-Match asks for).
fn normalize_tags(value: &str) -> String {
    value
        .split(',')
        .map(|t| {
            let t = t.trim().trim_start_matches("W/");
            if t == "*" {
                t.to_owned()
            } else {
                quoted(t)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted(tag: &str) -> String {
    if tag.starts_with('"') {
        tag.to_owned()
    } else {
        format!("\"{tag}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_range_is_understood_and_anything_else_ignored() {
        assert_eq!(parse_range("bytes=0-9"), Some(GetRange::Bounded(0..10)));
        assert_eq!(parse_range("bytes=5-"), Some(GetRange::Offset(5)));
        assert_eq!(parse_range("bytes=-3"), Some(GetRange::Suffix(3)));
        assert_eq!(parse_range("bytes=9-5"), None);
        assert_eq!(parse_range("bytes=0-1,4-5"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(parse_range("bytes=-"), None);
        assert_eq!(parse_range("bytes=-0"), None);
    }

    #[test]
    fn tags_are_compared_quoted_and_strong() {
        assert_eq!(normalize_tags("\"a-1\""), "\"a-1\"");
        assert_eq!(normalize_tags("W/\"a\", b"), "\"a\", \"b\"");
        assert_eq!(normalize_tags("*"), "*");
        assert_eq!(quoted("a"), "\"a\"");
        assert_eq!(quoted("\"a\""), "\"a\"");
    }
}
