//! `Idempotency-Key` (IETF draft, Stripe's semantics): scoped per user; a repeat returns the
//! first response's status and body byte for byte; the same key with a different request is
//! 422; a repeat while the first is still running is 409 with `Retry-After`. The response is
//! stored in the effect's own transaction (see the core's `idempotency`), so after a crash a
//! key replays what committed or, once its claim's lease ended, runs afresh. Keys are kept for
//! 48 hours.

use super::Caller;
use crate::app::AppState;
use crate::error::{ApiError, IN_PROGRESS_RETRY_AFTER_SECS, PROBLEM_JSON};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use bazaar_actors::idempotency::{self as keys, Claim, KeyCompletion, StoredResponse};
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;

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

/// Renders a command's outcome as its response (the edge's rules); the same function makes the
/// body stored in the effect's transaction and the body answered, so a replay is byte for byte.
pub type Render<T> = fn(&T) -> Result<Reply, ApiError>;

/// The stored response of an earlier request with the same key, marked as such.
fn replayed(status: u16, body: String) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = respond(status, body);
    response.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
        actix_web::http::header::HeaderValue::from_static("true"),
    );
    response
}

/// Runs `work` once per (caller, Idempotency-Key); without the header it simply runs it.
/// `request` is what identifies the request besides its method and path (its parsed body).
/// `allowed` is the caller's rate limit for such requests: when it refuses, nothing runs, but
/// a repeat of a request already answered still gets that answer (a client retrying to learn
/// what became of its purchase is told, not sent away with a 429). `work` gets the key's
/// [`KeyCompletion`] and passes it to the core command, whose transaction stores the response
/// (made by `render`) together with the effect.
pub async fn once<R, T, F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    request: &R,
    allowed: Result<(), ApiError>,
    render: Render<T>,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    R: Serialize,
    T: 'static,
    F: FnOnce(Option<KeyCompletion<T>>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let Some(key) = req.headers().get(HEADER) else {
        allowed?;
        let reply = render(&work(None).await?)?;
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
    if let Err(refused) = allowed {
        return match keys::stored_answer(&state.pool, caller.id(), key, fingerprint).await? {
            Some(stored) => Ok(replayed(stored.status, stored.body)),
            None => Err(refused),
        };
    }
    let lease = state.settings.idempotency_lease();
    let held = match keys::claim(&state.pool, caller.id(), key, fingerprint, lease).await? {
        Claim::Run { held, taken_over } => {
            if taken_over {
                tracing::info!(
                    user.id = %caller.id(),
                    "an Idempotency-Key whose request died unanswered runs afresh"
                );
            }
            held
        }
        Claim::Replay { status, body } => return Ok(replayed(status, body)),
        Claim::InProgress { lease_left } => {
            return Err(ApiError::InProgress {
                detail: format!(
                    "a request with this Idempotency-Key is still in progress; retry later \
                     (if it died, the key runs afresh within {} s)",
                    lease_left.num_seconds() + 1
                ),
                retry_after_secs: IN_PROGRESS_RETRY_AFTER_SECS,
            })
        }
        Claim::Mismatch => {
            return Err(ApiError::invalid(
                HEADER,
                "was already used with a different request",
            ))
        }
    };
    let completion = KeyCompletion {
        held,
        render: Arc::new(move |outcome: &T| {
            render(outcome)
                .map(|reply| StoredResponse {
                    status: reply.status.as_u16(),
                    body: reply.body,
                })
                .map_err(|e| e.to_string())
        }),
    };
    // The work gives up well before the claim's lease ends. It may still commit after that
    // (its answer is then stored and replayed), or, once a retry took the key over, not at all.
    let outcome = tokio::time::timeout(
        state.settings.idempotency_deadline(),
        work(Some(completion)),
    )
    .await
    .map_err(|_| {
        ApiError::Unavailable(
            "the request is taking too long; retry with the same Idempotency-Key for its answer"
                .into(),
        )
    })?;
    let e = match outcome {
        // Its response was stored in the effect's transaction.
        Ok(outcome) => {
            let reply = render(&outcome)?;
            return Ok(respond(reply.status, reply.body));
        }
        Err(e) => e,
    };
    match e {
        // The key is a later request's now: nothing of this one was committed or stored.
        ApiError::InProgress { .. } => Err(e),
        // Client errors are answers with no effect: a repeat gets the same one. Not those that
        // say "try again later" (429): they are no answer to the request.
        e if e.status_code().is_client_error() && e.retry_after_secs().is_none() => {
            let status = e.status_code();
            let body = serde_json::to_string(&e.problem()).map_err(ApiError::internal)?;
            let stored = StoredResponse {
                status: status.as_u16(),
                body: body.clone(),
            };
            keys::answer(&state.pool, held, stored).await?;
            Ok(respond(status, body))
        }
        // Server faults (and 429s) are not stored, so the client may retry with the same key.
        e => {
            let _ = keys::release(&state.pool, held).await;
            Err(e)
        }
    }
}

/// What makes two requests "the same": method, path and body.
fn fingerprint<R: Serialize>(req: &HttpRequest, request: &R) -> Result<String, ApiError> {
    let body = serde_json::to_string(request).map_err(ApiError::internal)?;
    let request = format!("{} {}\n{}", req.method(), req.path(), body);
    Ok(crate::auth::sha256_hex(request.as_bytes()))
}
