//! Likes: a user likes a listing (optionally with a target price for price-drop alerts). The
//! listing's actor writes the like; this file checks who may see the listing and maps answers.

use super::docs::{AuthErrors, JsonBodyErrors, QueryErrors, Unavailable};
use super::listings::{find_visible, photo_views, ListingBody};
use super::{
    before_cursor, db, paginate, utc, Caller, OptionalJsonBody, Page, Params, QueryParams,
};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::{delete, get, put, web, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::listing::validate_price;
use bazaar_actors::domain::{ListingId, Money};
use bazaar_actors::listing::{LikeListing, UnlikeListing};
use bazaar_actors::store::likes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LikeBody {
    /// Be notified when the price drops below this (cents), whatever the size of the drop.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub target_price_cents: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LikedListingBody<'a> {
    pub listing: ListingBody<'a>,
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
        JsonBodyErrors,
        AuthErrors,
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "The listing is too busy", body = Problem),
        Unavailable,
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
    let command = LikeListing {
        user: caller.id(),
        target_price: target.map(Money::from_cents),
    };
    send_to_listing(&state.directory, ListingId(listing.id), command).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// Stop liking a listing. Idempotent.
#[utoipa::path(
    tag = "likes",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Not liked (any more)"),
        AuthErrors,
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "The listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[delete("/api/v1/listings/{id}/like")]
pub async fn unlike_listing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let listing = find_visible(&state, id.into_inner(), Some(caller.id())).await?;
    let command = UnlikeListing { user: caller.id() };
    send_to_listing(&state.directory, ListingId(listing.id), command).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's likes, most recent first.
#[utoipa::path(
    tag = "likes",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of liked listings", body = Page<LikedListingBody>),
        QueryErrors,
        AuthErrors,
        Unavailable,
    )
)]
#[get("/api/v1/me/likes")]
pub async fn list_my_likes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let limit = p.limit();
    let before = p.before("cursor");
    p.finish()?;
    let user_id = caller.user.id;
    let (rows, mut photos) = db(&state, move |conn| {
        let rows = likes::liked_by(conn, user_id, before, limit + 1)?;
        let ids: Vec<i64> = rows.iter().map(|(_, listing)| listing.id).collect();
        let photos = bazaar_actors::store::photos::of_listings(conn, &ids)?;
        Ok((rows, photos))
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |(like, _)| before_cursor(like.id));
    let viewer = Some(caller.id());
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .iter()
            .map(|(like, listing)| {
                let own = photos.remove(&listing.id).unwrap_or_default();
                LikedListingBody {
                    listing: ListingBody::new(listing, photo_views(&state, &own), viewer),
                    target_price_cents: like.target_price_cents,
                    liked_at: utc(like.created_at),
                }
            })
            .collect(),
        next_cursor,
    }))
}
