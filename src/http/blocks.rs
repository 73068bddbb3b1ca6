//! Blocks: a user blocks another, lifts the block, and lists whom they block. The core
//! (`bazaar_actors::blocks`) writes the block and declines the open offers between the two;
//! this file authenticates, maps answers and reads the list.

use super::docs::{AuthErrors, QueryErrors, Unavailable};
use super::{before_cursor, db, paginate, utc, Caller, Page, Params, QueryParams};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::{delete, get, put, web, HttpResponse};
use bazaar_actors::blocks::{self, BlocksError};
use bazaar_actors::domain::block::BlockError;
use bazaar_actors::domain::UserId;
use bazaar_actors::store::blocks as rows;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedUser {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub blocked_at: DateTime<Utc>,
}

impl From<BlocksError> for ApiError {
    fn from(e: BlocksError) -> Self {
        match e {
            BlocksError::Refused(BlockError::Yourself) => {
                ApiError::invalid("user_id", BlockError::Yourself.to_string())
            }
            BlocksError::UnknownUser => ApiError::NotFound(e.to_string()),
            BlocksError::Listing(e) => e.into(),
            BlocksError::Store(e) => e.into(),
        }
    }
}

/// Block a user. Idempotent. Between two users where either blocked the other there is no
/// new conversation, chat message, offer, counter, acceptance, offer to likers or purchase
/// (403, type `/problems/blocked`); the open offers between them are declined (reason
/// `blocked`). Orders already made still run their course.
#[utoipa::path(
    tag = "blocks",
    security(("bearer" = [])),
    params(("user_id" = i64, Path, description = "The user to block")),
    responses(
        (status = 204, description = "Blocked"),
        AuthErrors,
        (status = 404, description = "No such user", body = Problem),
        (status = 422, description = "You cannot block yourself", body = Problem),
        Unavailable,
    )
)]
#[put("/api/v1/me/blocks/{user_id}")]
pub async fn block_user(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let blocked = UserId(user_id.into_inner());
    blocks::block(&state.pool, &state.directory, caller.id(), blocked).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lift your block of a user. Idempotent. A block the other user made stays.
#[utoipa::path(
    tag = "blocks",
    security(("bearer" = [])),
    params(("user_id" = i64, Path, description = "The user to unblock")),
    responses(
        (status = 204, description = "Not blocked (any more)"),
        AuthErrors,
        (status = 404, description = "No such user", body = Problem),
        (status = 422, description = "You cannot unblock yourself", body = Problem),
        Unavailable,
    )
)]
#[delete("/api/v1/me/blocks/{user_id}")]
pub async fn unblock_user(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let blocked = UserId(user_id.into_inner());
    blocks::unblock(&state.pool, caller.id(), blocked).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The users you block, most recently blocked first.
#[utoipa::path(
    tag = "blocks",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of blocked users", body = Page<BlockedUser>),
        QueryErrors,
        AuthErrors,
        Unavailable,
    )
)]
#[get("/api/v1/me/blocks")]
pub async fn list_blocks(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let limit = p.limit();
    let before = p.before("cursor");
    p.finish()?;
    let blocker = caller.user.id;
    let rows = db(&state, move |conn| {
        Ok(rows::page(conn, blocker, before, limit + 1)?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |(block, _, _)| before_cursor(block.id));
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .into_iter()
            .map(|(block, username, display_name)| BlockedUser {
                user_id: block.blocked_id,
                username,
                display_name,
                blocked_at: utc(block.created_at),
            })
            .collect(),
        next_cursor,
    }))
}
