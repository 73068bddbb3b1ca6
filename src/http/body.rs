//! Request bodies: JSON with field-level errors (400 malformed, 413 too large, 422 naming the
//! field), optional bodies, PATCH's absent-versus-null, and the shared amount body.

use super::MAX_BODY_BYTES;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use bazaar_actors::domain::listing::validate_price;
use bazaar_actors::domain::Money;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// A JSON request body. Malformed JSON is 400; a missing, unknown or mistyped field is 422
/// naming the field; a body over [`MAX_BODY_BYTES`] is 413.
pub struct JsonBody<T>(pub T);

/// Like [`JsonBody`], for routes whose body may be left out entirely (or sent as `null`).
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json::<T>(req, payload);
        Box::pin(async move {
            body.await?
                .map(JsonBody)
                .ok_or_else(|| ApiError::BadRequest("a JSON request body is required".into()))
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json::<Option<T>>(req, payload);
        Box::pin(async move { body.await.map(|b| OptionalJsonBody(b.flatten())) })
    }
}

/// Reads and parses a JSON body; `None` when the body is empty.
fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<Option<T>, ApiError>> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let bytes = web::Bytes::from_request(req, payload);
    Box::pin(async move {
        let bytes = bytes.await.map_err(payload_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if let Some(ct) = content_type {
            if ct != "application/json" && !ct.ends_with("+json") {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the body must be application/json, not {ct}"
                )));
            }
        }
        parse_json(&bytes).map(Some)
    })
}

fn payload_error(e: actix_web::Error) -> ApiError {
    use actix_web::error::PayloadError;
    match e.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
        _ => ApiError::BadRequest(format!("could not read the request body: {e}")),
    }
}

/// Parses JSON, naming the field at fault when the JSON is well formed but wrong. Every body
/// of this API is an object: an array is refused here (422 naming `body`, as any
/// well-formed body of the wrong shape), since serde would otherwise read a
/// struct from one (`[null, null]` as a body of two optional fields).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.trim_ascii_start().first() == Some(&b'[')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(ApiError::invalid(
            "body",
            "must be a JSON object, not an array",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => {
            de.end().map_err(|e| {
                ApiError::BadRequest(format!(
                    "malformed JSON: {}",
                    strip_position(&e.to_string())
                ))
            })?;
            Ok(value)
        }
        // Maybe an integer written as `4.0`: read again with such numbers as integers.
        Err(e) => match integers_spelled_as_floats(bytes) {
            Some(value) => serde_path_to_error::deserialize(value).map_err(json_error),
            None => Err(json_error(e)),
        },
    }
}

/// JSON (and JSON Schema, which the OpenAPI document uses) makes no difference between `4` and
/// `4.0`: the body with every number written with a fraction or exponent whose value is an
/// integer made that integer, or `None` when it has no such number. Only below 2^53, where a
/// double holds every integer exactly: serde_json reads an integer literal beyond i64 as a
/// double too, and rounding must not bring one into range.
fn integers_spelled_as_floats(bytes: &[u8]) -> Option<serde_json::Value> {
    fn walk(value: &mut serde_json::Value) -> bool {
        use serde_json::Value;
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        match value {
            Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
                Some(f) if f.fract() == 0.0 && f.abs() < EXACT => {
                    *n = serde_json::Number::from(f as i64);
                    true
                }
                _ => false,
            },
            // Every number is visited (no short circuit); the count says whether any changed.
            Value::Array(items) => items.iter_mut().map(walk).filter(|c| *c).count() > 0,
            Value::Object(fields) => fields.values_mut().map(walk).filter(|c| *c).count() > 0,
            Value::Null | Value::Bool(_) | Value::String(_) => false,
        }
    }
    let mut value = serde_json::from_slice(bytes).ok()?;
    walk(&mut value).then_some(value)
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = strip_position(&inner.to_string());
    if !inner.is_data() {
        return ApiError::BadRequest(format!("malformed JSON: {message}"));
    }
    // A missing or unknown field is reported at the object holding it; name the field.
    for (prefix, what) in [
        ("missing field `", "is required"),
        ("unknown field `", "is not a known field"),
        ("duplicate field `", "is given twice"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let name = rest.split('`').next().unwrap_or_default();
            // serde_path_to_error puts an unknown field in the path, a missing one not.
            let field = if path == "." {
                name.to_owned()
            } else if path == name || path.ends_with(&format!(".{name}")) {
                path
            } else {
                format!("{path}.{name}")
            };
            return ApiError::invalid(&field, what);
        }
    }
    let field = if path == "." { "body" } else { path.as_str() };
    ApiError::invalid(field, message)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// For PATCH bodies: tells "absent" (`None`) from "null" (`Some(None)`).
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// A body that is just an amount: an offer's counter, a deposit, a withdrawal.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountBody {
    #[schema(minimum = 1, maximum = 1000000000)]
    pub amount_cents: i64,
}

/// An `amount_cents` as money: a valid price (1 cent to the largest list price), else 422
/// naming `amount_cents`.
pub fn check_amount(amount: i64) -> Result<Money, ApiError> {
    validate_price(amount).map_err(|m| ApiError::invalid("amount_cents", m))?;
    Ok(Money::from_cents(amount))
}
