//! Disputes and refunds of an order, by its parties: the buyer opens a dispute, the seller
//! refunds in full. Both go through the order's listing actor. The moderators' side (the queue
//! and resolving) is `admin_disputes.rs`.

use super::docs::{AuthErrors, JsonBodyErrors, Unavailable};
use super::orders::party_order;
use super::{Caller, JsonBody};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::{post, web, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::dispute::{validate_note, DisputeReason};
use bazaar_actors::domain::{ListingId, OrderId};
use bazaar_actors::events::{DisputedOrder, OrderView};
use bazaar_actors::listing::{OpenDispute, RefundOrder};
use serde::Deserialize;
use utoipa::ToSchema;

/// Why the buyer disputes an order.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum DisputeReasonName {
    NotReceived,
    NotAsDescribed,
    Damaged,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeBody {
    #[schema(value_type = DisputeReasonName)]
    pub reason: String,
    /// What happened, for the seller and the moderators.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\x00]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00]*$"
    )]
    pub note: String,
}

/// The buyer disputes a shipped order before it completes, or a paid order past its ship
/// deadline. The order becomes `disputed` and stops completing by itself; both parties get
/// `order.disputed` live and in their inboxes. Unresolved after the dispute timeout, it is
/// escalated to the moderators, never paid out by itself.
#[utoipa::path(
    tag = "disputes",
    security(("bearer" = [])),
    request_body = DisputeBody,
    responses(
        (status = 201, description = "The disputed order and its dispute", body = DisputedOrder),
        JsonBodyErrors,
        AuthErrors,
        (status = 403, description = "Not the buyer", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Not shipped (or completed already), paid but within its ship deadline, already disputed, or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/orders/{id}/dispute")]
pub async fn open_dispute(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: JsonBody<DisputeBody>,
) -> Result<HttpResponse, ApiError> {
    let DisputeBody { reason, note } = body.0;
    let reason = DisputeReason::parse(&reason).ok_or_else(|| {
        ApiError::invalid(
            "reason",
            "must be not_received, not_as_described or damaged",
        )
    })?;
    validate_note(&note).map_err(ApiError::Validation)?;
    let order = party_order(&state, &caller, OrderId(id.into_inner())).await?;
    let command = OpenDispute {
        order: order.order_id(),
        buyer: caller.id(),
        reason,
        note,
    };
    let (order, dispute) =
        send_to_listing(&state.directory, ListingId(order.listing_id), command).await??;
    Ok(HttpResponse::Created().json(DisputedOrder::of(&order, &dispute)))
}

/// The seller refunds a paid, shipped or disputed order in full at once: the escrow goes back
/// to the buyer, the units back in stock only if they never shipped, and an open dispute ends
/// as `refund_buyer`. Both parties get `order.refunded`.
#[utoipa::path(
    tag = "disputes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The refunded order", body = OrderView),
        AuthErrors,
        (status = 403, description = "Not the seller", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Completed, cancelled or refunded already, or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/orders/{id}/refund")]
pub async fn refund_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let order = party_order(&state, &caller, OrderId(id.into_inner())).await?;
    let command = RefundOrder {
        order: order.order_id(),
        seller: caller.id(),
    };
    let order = send_to_listing(&state.directory, ListingId(order.listing_id), command).await??;
    Ok(HttpResponse::Ok().json(OrderView::from(&order)))
}
