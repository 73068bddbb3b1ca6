//! The moderators' side of disputes: the queue (escalated first, then oldest) and resolving a
//! disputed order, through the order's listing actor, which appends the audit entry in the
//! resolution's transaction.

use super::admin::{Moderator, ModeratorErrors};
use super::docs::{JsonBodyErrors, QueryErrors};
use super::{db, decode_cursor, encode_cursor, paginate, JsonBody, Page, Params, QueryParams};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::{get, post, web, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::dispute::{validate_note, DisputeOutcome, Resolution};
use bazaar_actors::domain::{ListingId, OrderId};
use bazaar_actors::events::DisputedOrder;
use bazaar_actors::listing::ResolveDispute;
use bazaar_actors::store::disputes::{self, QueuePosition};
use bazaar_actors::store::orders;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a moderator ends a dispute.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OutcomeName {
    RefundBuyer,
    ReleaseSeller,
    Split,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDisputeBody {
    #[schema(value_type = OutcomeName)]
    pub outcome: String,
    /// With `split` only: what the buyer gets back, from 0 to the order's total; the seller
    /// gets the rest less the fee on it.
    #[schema(minimum = 0, maximum = 1000000000000000_i64)]
    pub buyer_cents: Option<i64>,
    /// Why, for the parties and the audit log.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\x00]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00]*$"
    )]
    pub note: String,
}

/// A moderator resolves a disputed order: `refund_buyer` (escrow back to the buyer; an item
/// that never shipped goes back in stock), `release_seller` (escrow to the seller less the
/// fee) or `split` (`buyer_cents` to the buyer, the rest to the seller less the fee on the
/// seller's part). Both parties get `order.dispute_resolved`; the audit log records it.
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    request_body = ResolveDisputeBody,
    responses(
        (status = 200, description = "The order and its resolved dispute", body = DisputedOrder),
        JsonBodyErrors,
        ModeratorErrors,
        (status = 403, description = "Not a moderator, or a party to this order (nobody judges their own dispute)", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "The order is not disputed (or the dispute is resolved), or the listing is too busy", body = Problem),
    )
)]
#[post("/api/v1/admin/orders/{id}/resolve")]
pub async fn resolve_dispute(
    state: web::Data<AppState>,
    moderator: Moderator,
    id: web::Path<i64>,
    body: JsonBody<ResolveDisputeBody>,
) -> Result<HttpResponse, ApiError> {
    let ResolveDisputeBody {
        outcome,
        buyer_cents,
        note,
    } = body.0;
    let outcome = DisputeOutcome::parse(&outcome).ok_or_else(|| {
        ApiError::invalid("outcome", "must be refund_buyer, release_seller or split")
    })?;
    let resolution = Resolution::from_request(outcome, buyer_cents)?;
    validate_note(&note).map_err(ApiError::Validation)?;
    let id = OrderId(id.into_inner());
    let order = db(&state, move |conn| Ok(orders::find(conn, id.0)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("order not found".into()))?;
    let command = ResolveDispute {
        order: id,
        moderator: moderator.id(),
        resolution,
        note,
    };
    let (order, dispute) =
        send_to_listing(&state.directory, ListingId(order.listing_id), command).await??;
    Ok(HttpResponse::Ok().json(DisputedOrder::of(&order, &dispute)))
}

/// Where the next page of the queue starts.
#[derive(Serialize, Deserialize)]
struct QueueCursor {
    escalated: bool,
    after: i64,
}

/// The moderators' dispute queue: unresolved disputes with their orders, escalated ones
/// (unresolved past the dispute timeout) first, then oldest first.
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of open disputes, escalated first, then oldest first", body = Page<DisputedOrder>),
        QueryErrors,
        ModeratorErrors,
    )
)]
#[get("/api/v1/admin/disputes")]
pub async fn list_disputes(
    state: web::Data<AppState>,
    _moderator: Moderator,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let limit = p.limit();
    let after = p.parsed("cursor", |c| {
        decode_cursor::<QueueCursor>(c).map(|c| QueuePosition {
            escalated: c.escalated,
            id: c.after,
        })
    });
    p.finish()?;
    let rows = db(&state, move |conn| {
        Ok(disputes::queue(conn, after, limit + 1)?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |(dispute, _)| {
        encode_cursor(&QueueCursor {
            escalated: dispute.escalated_at.is_some(),
            after: dispute.id,
        })
    });
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .iter()
            .map(|(dispute, order)| DisputedOrder::of(order, dispute))
            .collect(),
        next_cursor,
    }))
}
