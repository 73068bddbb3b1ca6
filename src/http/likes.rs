//! Likes: a user likes a listing (optionally with a target price for price-drop alerts).

use super::listings::{find_visible, ListingBody};
use super::{
    db, decode_cursor, encode_cursor, paginate, utc, Caller, OptionalJsonBody, Page, Params,
};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::{delete, get, put, web, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::listing::validate_price;
use bazaar_actors::domain::ListingId;
use bazaar_actors::listing::OfferToNewLiker;
use bazaar_actors::store::likes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LikeBody {
    /// Be notified when the price drops below this (cents), whatever the size of the drop.
    pub target_price_cents: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LikedListingBody {
    pub listing: ListingBody,
    pub target_price_cents: Option<i64>,
    pub liked_at: DateTime<Utc>,
}

/// Like a listing, or change the target price of a like. Idempotent.
#[utoipa::path(
    tag = "likes",
    security(("bearer" = [])),
    request_body(content = Option<LikeBody>, description = "Optional"),
    responses(
        (status = 204, description = "Liked"),
        (status = 401, description = "No live token", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    )
)]
#[put("/api/v1/listings/{id}/like")]
pub async fn like_listing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: OptionalJsonBody<LikeBody>,
) -> Result<HttpResponse, ApiError> {
    let target = body.0.unwrap_or_default().target_price_cents;
    if let Some(t) = target {
        validate_price(t).map_err(|m| ApiError::invalid("target_price_cents", m))?;
    }
    let listing = find_visible(&state, id.into_inner(), Some(caller.id())).await?;
    let (user_id, listing_id) = (caller.user.id, listing.id);
    super::db_write_legacy(&state, move |conn| {
        Ok(likes::like(conn, user_id, listing_id, target)?)
    })
    .await?;
    // The like count moved without a listing command.
    state.listing_cache.forget(listing_id);
    // A seller's offer to likers that is still open reaches new likers too.
    let command = OfferToNewLiker { user: caller.id() };
    send_to_listing(&state.directory, ListingId(listing_id), command).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// Stop liking a listing. Idempotent.
#[utoipa::path(
    tag = "likes",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Not liked (any more)"),
        (status = 401, description = "No live token", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
    )
)]
#[delete("/api/v1/listings/{id}/like")]
pub async fn unlike_listing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let listing = find_visible(&state, id.into_inner(), Some(caller.id())).await?;
    let (user_id, listing_id) = (caller.user.id, listing.id);
    super::db_write_legacy(&state, move |conn| {
        Ok(likes::unlike(conn, user_id, listing_id)?)
    })
    .await?;
    state.listing_cache.forget(listing_id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, Deserialize)]
struct LikesCursor {
    before: i64,
}

/// The caller's likes, most recent first.
#[utoipa::path(
    tag = "likes",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of liked listings", body = Page<LikedListingBody>),
        (status = 401, description = "No live token", body = Problem),
        (status = 422, description = "Invalid parameters", body = Problem),
    )
)]
#[get("/api/v1/me/likes")]
pub async fn list_my_likes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let limit = p.limit();
    let before = p.parsed("cursor", |c| {
        decode_cursor::<LikesCursor>(c).map(|c| c.before)
    });
    p.finish()?;
    let user_id = caller.user.id;
    let rows = db(&state, move |conn| {
        Ok(likes::liked_by(conn, user_id, before, limit + 1)?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |(like, _)| {
        encode_cursor(&LikesCursor { before: like.id })
    });
    let viewer = Some(caller.id());
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .iter()
            .map(|(like, listing)| LikedListingBody {
                listing: ListingBody::new(listing, viewer),
                target_price_cents: like.target_price_cents,
                liked_at: utc(like.created_at),
            })
            .collect(),
        next_cursor,
    }))
}
