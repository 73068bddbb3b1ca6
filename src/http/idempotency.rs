//! `Idempotency-Key` (IETF draft, Stripe's semantics): scoped per user; a repeat returns the
//! first response's status and body byte for byte; the same key with a different request is
//! 422; a repeat while the first is still running is 409. Keys are kept for 48 hours.

use super::Caller;
use crate::app::AppState;
use crate::error::{ApiError, PROBLEM_JSON};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use bazaar_actors::idempotency::{self as keys, Claim};
use serde::Serialize;
use std::future::Future;

pub const HEADER: &str = "Idempotency-Key";
const MAX_KEY_CHARS: usize = 255;

/// A successful response body, ready to store and replay.
pub struct Reply {
    pub status: StatusCode,
    pub body: String,
}

impl Reply {
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Reply, ApiError> {
        let body = serde_json::to_string(value).map_err(ApiError::internal)?;
        Ok(Reply { status, body })
    }
}

fn respond(status: StatusCode, body: String) -> HttpResponse {
    let content_type = if status.is_success() {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    HttpResponse::build(status)
        .content_type(content_type)
        .body(body)
}

/// Runs `work` once per (caller, Idempotency-Key); without the header it simply runs it.
/// `request` is what identifies the request besides its method and path (its parsed body).
pub async fn once<R, F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    request: &R,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    R: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let Some(key) = req.headers().get(HEADER) else {
        let reply = work().await?;
        return Ok(respond(reply.status, reply.body));
    };
    let key = key.to_str().unwrap_or_default().trim().to_owned();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(ApiError::invalid(
            HEADER,
            format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
        ));
    }
    let fingerprint = fingerprint(req, request)?;
    let claim_id = match keys::claim(&state.pool, caller.id(), key, fingerprint).await? {
        Claim::Fresh(id) => id,
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = respond(status, body);
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
                actix_web::http::header::HeaderValue::from_static("true"),
            );
            return Ok(response);
        }
        Claim::InProgress => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still in progress; retry later".into(),
            ))
        }
        Claim::Mismatch => {
            return Err(ApiError::invalid(
                HEADER,
                "was already used with a different request",
            ))
        }
    };
    // Client errors are answers too: a repeat gets the same one. Server faults are not
    // stored, so the client may retry with the same key.
    let (status, body) = match work().await {
        Ok(reply) => (reply.status, reply.body),
        Err(e) if e.status_code().is_client_error() => {
            let problem = serde_json::to_string(&e.problem()).map_err(ApiError::internal)?;
            (e.status_code(), problem)
        }
        Err(e) => {
            let _ = keys::release(&state.pool, claim_id).await;
            return Err(e);
        }
    };
    keys::complete(&state.pool, claim_id, status.as_u16(), body.clone()).await?;
    Ok(respond(status, body))
}

/// What makes two requests "the same": method, path and body.
fn fingerprint<R: Serialize>(req: &HttpRequest, request: &R) -> Result<String, ApiError> {
    let body = serde_json::to_string(request).map_err(ApiError::internal)?;
    let request = format!("{} {}\n{}", req.method(), req.path(), body);
    Ok(crate::auth::sha256_hex(request.as_bytes()))
}
