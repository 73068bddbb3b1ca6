//! REST handlers, one file per resource, and the extractors they share: JSON bodies with
//! field-level errors, the caller's identity, query parameters, cursors.

pub mod admin;
pub mod admin_disputes;
pub mod allowed;
pub mod avatars;
pub mod blocks;
mod body;
pub mod chat;
pub mod disputes;
pub mod docs;
pub mod fallback;
pub mod idempotency;
pub mod likes;
pub mod listing_bodies;
pub mod listings;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod offers;
pub mod ops;
pub mod orders;
pub mod photos;
pub mod profiles;
pub mod reports;
pub mod saved_searches;
pub mod search;
pub mod sockets;
pub mod users;
pub mod wallet;

pub use body::{check_amount, double_option, parse_json, AmountBody, JsonBody, OptionalJsonBody};

use crate::app::AppState;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bazaar_actors::domain::{FieldErrors, LoginId, UserId};
use bazaar_actors::store::models::User;
use bazaar_actors::store::{self, ReadConn};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The largest request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Page size when the client names none, and the most it may ask for.
pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;

/// Runs blocking reads on the blocking pool with a read-only connection: handlers read here
/// and write only by calling the core, so the database refuses a write from `f` (see
/// [`ReadConn`]).
pub async fn db<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut ReadConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    read_on(state, store::Pool::read, f).await
}

/// [`db`] for a search or its facets: on a connection of the searches' own, so that at most
/// `--search-concurrency` run at once and the rest wait their turn (`Pool::searches`).
pub async fn search_db<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut ReadConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    read_on(state, store::Pool::search_read, f).await
}

async fn read_on<T, F>(
    state: &AppState,
    connection: fn(&store::Pool) -> Result<ReadConn, store::StoreError>,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut ReadConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.pool.clone();
    web::block(move || connection(&pool)?.snapshot(f)).await?
}

/// RFC 3339 UTC, as every time on the wire.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The authenticated caller: the user behind a live bearer token.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    /// The login (bearer token) the request came with.
    pub login: LoginId,
}

impl Caller {
    pub fn id(&self) -> UserId {
        UserId(self.user.id)
    }
}

/// The caller if a token was sent (a bad token is still 401); for routes anyone may read.
pub struct MaybeCaller(pub Option<Caller>);

impl MaybeCaller {
    pub fn id(&self) -> Option<UserId> {
        self.0.as_ref().map(Caller::id)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = identify(req);
        Box::pin(async move {
            found
                .await?
                .ok_or(ApiError::Unauthorized("a bearer token is required"))
        })
    }
}

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = identify(req);
        Box::pin(async move { found.await.map(MaybeCaller) })
    }
}

/// `None` without an Authorization header; 401 for a header that is not a live bearer token.
fn identify(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Option<Caller>, ApiError>> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    Box::pin(async move {
        let Some(header) = header else {
            return Ok(None);
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ))?;
        let state = state.ok_or_else(|| {
            ApiError::internal(std::io::Error::other("application state is not configured"))
        })?;
        let hash = crate::auth::token_hash(token);
        let found = match state.logins.get(&hash, store::now()) {
            Some(login) => Some(login),
            None => {
                let key = hash.clone();
                let found = db(&state, move |conn| {
                    Ok(store::users::find_live_login(conn, &key, store::now())?)
                })
                .await?;
                if let Some((login, user)) = &found {
                    state.logins.put(hash, login.clone(), user.clone());
                }
                found
            }
        };
        let (login, user) = found.ok_or(ApiError::Unauthorized(
            "the token is unknown, expired or revoked",
        ))?;
        Ok(Some(Caller {
            user,
            login: login.login_id(),
        }))
    })
}

/// A query string's parameters, and the names given more than once: none of ours is a list,
/// so a repeated one is refused rather than one of its values picked.
#[derive(Debug, Default)]
pub struct QueryParams {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

impl<'de> Deserialize<'de> for QueryParams {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = QueryParams;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("query parameters")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<QueryParams, A::Error> {
                let mut params = QueryParams::default();
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    if params.values.insert(name.clone(), value).is_some() {
                        params.repeated.push(name);
                    }
                }
                Ok(params)
            }
        }
        de.deserialize_map(Visitor)
    }
}

/// Query parameters parsed one by one, so each bad one is reported against its name.
pub struct Params {
    values: HashMap<String, String>,
    errors: FieldErrors,
}

impl Params {
    pub fn new(query: QueryParams) -> Self {
        let mut errors = FieldErrors::new();
        for name in &query.repeated {
            errors.add(name, "must be given once");
        }
        Params {
            values: query.values,
            errors,
        }
    }

    /// A text parameter, as sent; empty counts as absent.
    pub fn text(&mut self, name: &str) -> Option<String> {
        self.values.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// A parameter exactly as sent (not trimmed); empty counts as absent.
    pub fn raw(&mut self, name: &str) -> Option<String> {
        self.values.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// An integer parameter within `min..=max`.
    pub fn int(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        let raw = self.text(name)?;
        match raw.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            Ok(_) => {
                self.errors
                    .add(name, format!("must be between {min} and {max}"));
                None
            }
            Err(_) => {
                self.errors.add(name, "must be an integer");
                None
            }
        }
    }

    /// A parameter checked (and converted) by `parse`.
    pub fn parsed<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.text(name)?;
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.add(name, message);
                None
            }
        }
    }

    /// Records a problem found after parsing.
    pub fn fail(&mut self, name: &str, message: impl Into<String>) {
        self.errors.add(name, message);
    }

    pub fn limit(&mut self) -> i64 {
        self.int("limit", 1, MAX_PAGE_SIZE)
            .unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// 422 with every bad parameter, or Ok.
    pub fn finish(self) -> Result<(), ApiError> {
        self.errors.into_result(()).map_err(ApiError::Validation)
    }
}

/// An opaque page cursor: URL-safe base64 of JSON.
pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

pub fn decode_cursor<T: DeserializeOwned>(cursor: &str) -> Result<T, String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| "is not a cursor from a previous page".to_owned())
}

/// The cursor of every newest-first list keyed by one growing number (an id or a seq): the
/// next page holds the rows before it. One shape, so every such cursor is parsed the same way.
#[derive(Debug, Serialize, Deserialize)]
struct BeforeCursor {
    before: i64,
}

/// The cursor of the page after a row whose key is `key`.
pub fn before_cursor(key: i64) -> String {
    encode_cursor(&BeforeCursor { before: key })
}

impl Params {
    /// The key in a cursor made by `before_cursor`, from the parameter `name`.
    pub fn before(&mut self, name: &str) -> Option<i64> {
        self.parsed(name, |c| decode_cursor::<BeforeCursor>(c).map(|c| c.before))
    }
}

/// Splits rows fetched with `limit + 1` into a page and the cursor of the next one: the extra
/// row only says that there is more; the cursor points after the page's last row.
pub fn paginate<R>(
    mut rows: Vec<R>,
    limit: i64,
    cursor_after: impl FnOnce(&R) -> String,
) -> (Vec<R>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(cursor_after);
    (rows, next)
}

/// A page of items and the cursor of the next page (`null` on the last).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        price_cents: i64,
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::Validation(errors) => errors.fields().keys().next().cloned().unwrap(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"title":"a","price_cents":"x"}"#).unwrap_err();
        assert_eq!(field_of(e), "price_cents");
        let e = parse_json::<Body>(br#" ["a", 1]"#).unwrap_err();
        assert_eq!(field_of(e), "body");
        let e = parse_json::<Body>(br#"{"title":"a"}"#).unwrap_err();
        assert_eq!(field_of(e), "price_cents");
        let e = parse_json::<Body>(br#"{"title":"a","price_cents":1,"extra":2}"#).unwrap_err();
        assert_eq!(field_of(e), "extra");
    }

    #[test]
    fn a_repeated_query_parameter_is_refused_by_name() {
        let query = web::Query::<QueryParams>::from_query("limit=5&limit=6&q=x").unwrap();
        let mut p = Params::new(query.into_inner());
        assert_eq!(p.text("q").as_deref(), Some("x"));
        let e = p.finish().unwrap_err();
        assert_eq!(field_of(e), "limit");
    }

    #[test]
    fn integral_numbers_are_integers_whatever_their_spelling() {
        let body = parse_json::<Body>(br#"{"title":"a","price_cents":1500.0}"#).unwrap();
        assert_eq!(body.price_cents, 1500);
        let body = parse_json::<Body>(br#"{"title":"a","price_cents":15e2}"#).unwrap();
        assert_eq!(body.price_cents, 1500);
        let e = parse_json::<Body>(br#"{"title":"a","price_cents":1500.5}"#).unwrap_err();
        assert_eq!(field_of(e), "price_cents");
        let e = parse_json::<Body>(br#"{"title":"a","price_cents":1e19}"#).unwrap_err();
        assert_eq!(field_of(e), "price_cents");
        // Only the spelling of numbers is forgiven: a repeated field is still refused.
        let e = parse_json::<Body>(br#"{"title":"a","title":"b","price_cents":1}"#).unwrap_err();
        assert_eq!(field_of(e), "title");
        // One below i64::MIN reads as a double that rounds to i64::MIN: still out of range.
        let e =
            parse_json::<Body>(br#"{"title":"a","price_cents":-9223372036854775809}"#).unwrap_err();
        assert_eq!(field_of(e), "price_cents");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(
            parse_json::<Body>(br#"{"title":"#),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"title":"a","price_cents":1} trailing"#),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn paginate_uses_the_extra_row_only_to_say_there_is_more() {
        let (page, next) = paginate(vec![1, 2, 3], 2, |last| last.to_string());
        assert_eq!((page, next), (vec![1, 2], Some("2".to_owned())));
        let (page, next) = paginate(vec![1, 2], 2, |last| last.to_string());
        assert_eq!((page, next), (vec![1, 2], None));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(&(5, 7));
        assert_eq!(decode_cursor::<(i64, i64)>(&c), Ok((5, 7)));
        assert!(decode_cursor::<(i64, i64)>("garbage!").is_err());
    }
}
