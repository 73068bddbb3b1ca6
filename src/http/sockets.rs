//! The WebSocket entry: tickets for browsers, and the upgrade itself (authenticated, Origin
//! checked). The session lives in `crate::ws`.

use super::docs::{AuthErrors, RateLimited, Unavailable};
use super::{Caller, MaybeCaller, Params, QueryParams};
use crate::app::AppState;
use crate::auth;
use crate::error::{ApiError, Problem};
use crate::ws::{self, SessionParams};
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use bazaar_actors::accounts;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketBody {
    /// Pass as `?ticket=` to `GET /api/v1/ws`; good for one upgrade.
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// A single-use ticket for opening a socket where headers cannot be set (browsers).
#[utoipa::path(
    tag = "realtime",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A ticket", body = TicketBody),
        AuthErrors,
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/ws/tickets")]
pub async fn create_ws_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    address: crate::limits::ClientAddr,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(crate::limits::Limit::TicketsPerAddress, address)?;
    let ticket = auth::new_token();
    let ttl = chrono::Duration::seconds(state.settings.ws_ticket_ttl_secs);
    let hash = auth::token_hash(&ticket);
    let expires_at =
        accounts::issue_ticket(&state.pool, hash, caller.id(), caller.login, ttl).await?;
    Ok(HttpResponse::Created().json(TicketBody {
        ticket,
        expires_at: expires_at.and_utc(),
    }))
}

/// Open the live socket (`Upgrade: websocket`). Authenticate with `Authorization: Bearer` or
/// `?ticket=`; `?since=` resumes your private topic after that seq.
#[utoipa::path(
    tag = "realtime",
    security((), ("bearer" = [])),
    params(
        ("ticket" = Option<String>, Query, description = "From POST /api/v1/ws/tickets"),
        ("since" = Option<i64>, Query, minimum = 0, description = "Replay your topic's events after this seq"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol (see docs/asyncapi.yaml)"),
        (status = 400, description = "Not a WebSocket upgrade, or the query string cannot be read", body = Problem),
        (status = 401, description = "No valid token or ticket", body = Problem),
        (status = 403, description = "Origin not allowed", body = Problem),
        (status = 422, description = "A bad parameter", body = Problem),
        Unavailable,
    )
)]
#[get("/api/v1/ws")]
pub async fn open_socket(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    caller: MaybeCaller,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, actix_web::Error> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !state.settings.allowed_origins.iter().any(|o| o == origin) {
            return Err(
                ApiError::Forbidden(format!("origin {origin:?} may not open a socket")).into(),
            );
        }
    }
    let mut p = Params::new(query.into_inner());
    let since = p.int("since", 0, i64::MAX);
    let ticket = p.text("ticket");
    p.finish()?;
    let (user, login) = match (caller.0, ticket) {
        (Some(caller), _) => (caller.id(), caller.login),
        (None, Some(ticket)) => accounts::redeem_ticket(&state.pool, auth::token_hash(&ticket))
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::Unauthorized(
                "the ticket is unknown, used or expired",
            ))?,
        (None, None) => {
            return Err(ApiError::Unauthorized("a bearer token or a ticket is required").into())
        }
    };
    ws::start(&req, payload, state, SessionParams { user, login, since })
}
