//! Offers: make one, negotiate (counter, accept, decline, withdraw), and offers to likers.
//! Every change goes through the listing's actor.

use super::docs::{AuthErrors, JsonBodyErrors, RateLimited, Unavailable};
use super::idempotency::{self, Reply};
use super::{check_amount, db, AmountBody, Caller, JsonBody, Page};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::listing::{visible_to, QUANTITY};
use bazaar_actors::domain::offer::{OfferAction, Party};
use bazaar_actors::domain::validation::in_range;
use bazaar_actors::domain::{ListingId, OfferId};
use bazaar_actors::events::{OfferView, OrderView};
use bazaar_actors::idempotency::KeyCompletion;
use bazaar_actors::listing::{ActOnOffer, OfferOutcome, PlaceOffer, SendLikerOffer};
use bazaar_actors::store::models::Offer;
use bazaar_actors::store::{listings, offers};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    /// The price offered for all the units, in cents; at least the listing's minimum offer.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub amount_cents: i64,
    /// Units wanted (default 1).
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: Option<i64>,
}

/// An offer, and the order it made when it was accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferAndOrder {
    pub offer: OfferView,
    pub order: Option<OrderView>,
}

/// A new offer; `order` is present when the seller's auto-accept bought it at once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOffer {
    #[serde(flatten)]
    pub offer: OfferView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LikerOfferBody {
    pub id: i64,
    pub listing_id: i64,
    pub amount_cents: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The offers made, one per liker (likers already negotiating are skipped).
    pub offers: Vec<OfferView>,
}

/// Make an offer on a listing.
#[utoipa::path(
    tag = "offers",
    security(("bearer" = [])),
    request_body = OfferBody,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$", description = "Visible ASCII; a repeat with the same key and request replays the first response; with another request it is 422")),
    responses(
        (status = 201, description = "The offer (with `order` if auto-accepted)", body = CreatedOffer, headers(
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same Idempotency-Key"),
        )),
        JsonBodyErrors,
        AuthErrors,
        (status = 402, description = "Auto-accepted but the wallet cannot pay", body = Problem),
        (status = 403, description = "Your own listing, or one of you blocked the other (type /problems/blocked)", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "Not active, an open offer exists, the offer limit is reached, not enough units, the listing is too busy, or a request with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "Below the minimum, invalid, or the Idempotency-Key is malformed or was used with another request", body = Problem),
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/listings/{id}/offers")]
pub async fn create_offer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
    body: JsonBody<OfferBody>,
) -> Result<HttpResponse, ApiError> {
    let allowed = state
        .limits
        .check(crate::limits::Limit::OffersPerUser, caller.id())
        .map_err(ApiError::from);
    let body = body.0;
    let amount = check_amount(body.amount_cents)?;
    let quantity = body.quantity.unwrap_or(1);
    in_range(quantity, 1, QUANTITY.1).map_err(|m| ApiError::invalid("quantity", m))?;
    let listing = ListingId(id.into_inner());
    let (directory, buyer) = (&state.directory, caller.id());
    idempotency::once(
        &state,
        &req,
        &caller,
        &body,
        allowed,
        created_offer,
        |key| async move {
            let command = PlaceOffer {
                buyer,
                amount,
                quantity,
                key,
            };
            Ok(send_to_listing(directory, listing, command).await??)
        },
    )
    .await
}

/// A new offer's answer: 201, the offer, and its order if it was auto-accepted.
fn created_offer(outcome: &OfferOutcome) -> Result<Reply, ApiError> {
    Reply::json(
        StatusCode::CREATED,
        &CreatedOffer {
            offer: OfferView::try_from(&outcome.offer)?,
            order: outcome.order.as_ref().map(OrderView::from),
        },
    )
}

/// A listing's offers: the seller sees all, anyone else their own.
#[utoipa::path(
    tag = "offers",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Offers, oldest first", body = Page<OfferView>),
        AuthErrors,
        (status = 404, description = "No such listing", body = Problem),
        Unavailable,
    )
)]
#[get("/api/v1/listings/{id}/offers")]
pub async fn list_listing_offers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (listing_id, viewer) = (id.into_inner(), caller.user.id);
    let rows = db(&state, move |conn| {
        let listing = listings::find(conn, listing_id)?
            .filter(|l| visible_to(l.status(), l.seller(), Some(caller.id())))
            .ok_or_else(|| ApiError::NotFound("listing not found".into()))?;
        let only_buyer = (listing.seller_id != viewer).then_some(viewer);
        Ok(offers::for_listing(conn, listing_id, only_buyer)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .iter()
            .map(OfferView::try_from)
            .collect::<Result<_, _>>()?,
        next_cursor: None,
    }))
}

/// Loads an offer the caller is a party to: 404 if there is none, 403 if not theirs.
async fn party_offer(state: &AppState, caller: &Caller, id: OfferId) -> Result<Offer, ApiError> {
    let offer = db(state, move |conn| Ok(offers::find(conn, id.0)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("offer not found".into()))?;
    if offer.state().side_of(caller.id()).is_none() {
        return Err(ApiError::Forbidden(
            "only the buyer and the seller may see or act on this offer".into(),
        ));
    }
    Ok(offer)
}

/// One offer (parties only).
#[utoipa::path(
    tag = "offers",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The offer", body = OfferView),
        AuthErrors,
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such offer", body = Problem),
        Unavailable,
    )
)]
#[get("/api/v1/offers/{id}")]
pub async fn get_offer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let offer = party_offer(&state, &caller, OfferId(id.into_inner())).await?;
    Ok(HttpResponse::Ok().json(OfferView::try_from(&offer)?))
}

async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: OfferAction,
    key: Option<KeyCompletion<OfferOutcome>>,
) -> Result<OfferOutcome, ApiError> {
    let offer = party_offer(state, caller, OfferId(id)).await?;
    let command = ActOnOffer {
        offer: offer.offer_id(),
        actor: Party::User(caller.id()),
        action,
        key,
    };
    Ok(send_to_listing(&state.directory, ListingId(offer.listing_id), command).await??)
}

/// Counter an offer (on your turn; not above the list price).
#[utoipa::path(
    tag = "offers",
    security(("bearer" = [])),
    request_body = AmountBody,
    responses(
        (status = 200, description = "The countered offer", body = OfferView),
        JsonBodyErrors,
        AuthErrors,
        (status = 402, description = "A buyer's counter the seller's auto-accept takes, which the wallet cannot pay", body = Problem),
        (status = 403, description = "Not a party, or one of you blocked the other (type /problems/blocked)", body = Problem),
        (status = 404, description = "No such offer", body = Problem),
        (status = 409, description = "Not your turn, not open, expired, or the listing is too busy", body = Problem),
        (status = 422, description = "Invalid amount (above the list price, or below the minimum)", body = Problem),
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/offers/{id}/counter")]
pub async fn counter_offer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: JsonBody<AmountBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(crate::limits::Limit::OffersPerUser, caller.id())?;
    let amount = check_amount(body.0.amount_cents)?;
    let outcome = act(
        &state,
        &caller,
        id.into_inner(),
        OfferAction::Counter { amount },
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(OfferView::try_from(&outcome.offer)?))
}

/// Accept an offer (on your turn): it buys the units at the agreed amount.
#[utoipa::path(
    tag = "offers",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$", description = "Visible ASCII; a repeat with the same key and request replays the first response; with another request it is 422")),
    responses(
        (status = 200, description = "The accepted offer and its order", body = OfferAndOrder, headers(
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same Idempotency-Key"),
        )),
        AuthErrors,
        (status = 402, description = "The buyer's wallet cannot pay", body = Problem),
        (status = 403, description = "Not a party, or one of you blocked the other (type /problems/blocked)", body = Problem),
        (status = 404, description = "No such offer", body = Problem),
        (status = 409, description = "Not your turn, not open, sold out, the listing is too busy, or a request with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "The Idempotency-Key is malformed or was used with another request", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/offers/{id}/accept")]
pub async fn accept_offer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (app, who) = (&state, &caller);
    idempotency::once(
        &state,
        &req,
        &caller,
        &id,
        Ok(()),
        accepted_offer,
        |key| async move { act(app, who, id, OfferAction::Accept, key).await },
    )
    .await
}

/// An acceptance's answer: 200, the accepted offer and its order.
fn accepted_offer(outcome: &OfferOutcome) -> Result<Reply, ApiError> {
    Reply::json(
        StatusCode::OK,
        &OfferAndOrder {
            offer: OfferView::try_from(&outcome.offer)?,
            order: outcome.order.as_ref().map(OrderView::from),
        },
    )
}

/// Decline an offer (on your turn).
#[utoipa::path(
    tag = "offers",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The declined offer", body = OfferView),
        AuthErrors,
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such offer", body = Problem),
        (status = 409, description = "Not your turn, not open, or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/offers/{id}/decline")]
pub async fn decline_offer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let outcome = act(&state, &caller, id.into_inner(), OfferAction::Decline, None).await?;
    Ok(HttpResponse::Ok().json(OfferView::try_from(&outcome.offer)?))
}

/// Withdraw your offer (buyer only, while it is open).
#[utoipa::path(
    tag = "offers",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The withdrawn offer", body = OfferView),
        AuthErrors,
        (status = 403, description = "Not the buyer", body = Problem),
        (status = 404, description = "No such offer", body = Problem),
        (status = 409, description = "Not open, or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/offers/{id}/withdraw")]
pub async fn withdraw_offer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let outcome = act(
        &state,
        &caller,
        id.into_inner(),
        OfferAction::Withdraw,
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(OfferView::try_from(&outcome.offer)?))
}

/// Send one offer to everyone who likes the listing (seller only; at least 10% off; once per
/// 24 hours). Users who like the listing while it is open get it too. Likers kept apart from
/// the seller by a block (either way) are skipped: they neither get it nor count, so a send
/// that would reach only them is refused as if nobody liked the listing (409).
#[utoipa::path(
    tag = "offers",
    security(("bearer" = [])),
    request_body = AmountBody,
    responses(
        (status = 201, description = "Sent", body = LikerOfferBody),
        JsonBodyErrors,
        AuthErrors,
        (status = 403, description = "Not the seller", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "Not active, sent too recently, or the listing is too busy", body = Problem),
        (status = 422, description = "Invalid, or not enough below the price", body = Problem),
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/listings/{id}/liker-offers")]
pub async fn create_liker_offer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: JsonBody<AmountBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(crate::limits::Limit::OffersPerUser, caller.id())?;
    let amount = check_amount(body.0.amount_cents)?;
    let command = SendLikerOffer {
        seller: caller.id(),
        amount,
    };
    let outcome = send_to_listing(&state.directory, ListingId(id.into_inner()), command).await??;
    let sent = &outcome.liker_offer;
    Ok(HttpResponse::Created().json(LikerOfferBody {
        id: sent.id,
        listing_id: sent.listing_id,
        amount_cents: sent.amount_cents,
        created_at: sent.created_at.and_utc(),
        expires_at: sent.expires_at.and_utc(),
        offers: outcome
            .offers
            .iter()
            .map(OfferView::try_from)
            .collect::<Result<_, _>>()?,
    }))
}
