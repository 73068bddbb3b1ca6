//! Buy now, orders and their transitions (through the listing's actor), and ratings.

use super::docs::{AuthErrors, JsonBodyErrors, QueryErrors, RateLimited, Unavailable};
use super::idempotency::{self, Reply};
use super::{
    before_cursor, db, paginate, utc, Caller, JsonBody, OptionalJsonBody, Page, Params, QueryParams,
};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::address::validate_shipment;
use bazaar_actors::domain::listing::{validate_price, QUANTITY};
use bazaar_actors::domain::offer::Party;
use bazaar_actors::domain::order::{validate_rating, visible_ratings, OrderAction, OrderError};
use bazaar_actors::domain::validation::in_range;
use bazaar_actors::domain::{ListingId, Money, OrderId, UserId};
use bazaar_actors::events::OrderView;
use bazaar_actors::listing::{ActOnOrder, Purchase, RateOrder, ShipOrder, ShipOutcome};
use bazaar_actors::store;
use bazaar_actors::store::models::{Order, Rating};
use bazaar_actors::store::orders::{self, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseBody {
    /// Units to buy (default 1).
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: Option<i64>,
    /// The unit price the buyer saw; 409 if the price is different now.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub expected_price_cents: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    #[schema(minimum = 1, maximum = 5)]
    pub stars: i64,
    #[schema(max_length = 1000, pattern = "^[^\\x00]*$")]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    pub id: i64,
    pub order_id: i64,
    pub rater_id: i64,
    pub ratee_id: i64,
    pub stars: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Rating> for RatingView {
    fn from(r: &Rating) -> Self {
        RatingView {
            id: r.id,
            order_id: r.order_id,
            rater_id: r.rater_id,
            ratee_id: r.ratee_id,
            stars: r.stars,
            comment: r.comment.clone(),
            created_at: utc(r.created_at),
        }
    }
}

/// An order with the ratings the caller may see (hidden until both sides rated or the
/// rating window closed).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderWithRatings {
    #[serde(flatten)]
    pub order: OrderView,
    pub ratings: Vec<RatingView>,
}

/// Buy now at the list price: the units are taken, the money moves into escrow and the order
/// is paid, all at once or not at all.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    request_body(content = Option<PurchaseBody>, description = "Optional"),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$", description = "Visible ASCII; a repeat with the same key and request replays the first response; with another request it is 422")),
    responses(
        (status = 201, description = "The paid order", body = OrderView, headers(
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same Idempotency-Key"),
        )),
        JsonBodyErrors,
        AuthErrors,
        (status = 402, description = "Insufficient funds", body = Problem),
        (status = 403, description = "Your own listing, or one of you blocked the other (type /problems/blocked)", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "Sold out, not active, not enough left, the price changed, the listing is too busy, or a request with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "Invalid fields, or the Idempotency-Key is malformed or was used with another request", body = Problem),
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/listings/{id}/purchase")]
pub async fn purchase_listing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
    body: OptionalJsonBody<PurchaseBody>,
) -> Result<HttpResponse, ApiError> {
    let allowed = state
        .limits
        .check(crate::limits::Limit::PurchasesPerUser, caller.id())
        .map_err(ApiError::from);
    let body = body.0.unwrap_or_default();
    let quantity = body.quantity.unwrap_or(1);
    in_range(quantity, 1, QUANTITY.1).map_err(|m| ApiError::invalid("quantity", m))?;
    if let Some(p) = body.expected_price_cents {
        validate_price(p).map_err(|m| ApiError::invalid("expected_price_cents", m))?;
    }
    let listing = ListingId(id.into_inner());
    let (directory, buyer) = (&state.directory, caller.id());
    let expected_price = body.expected_price_cents.map(Money::from_cents);
    idempotency::once(
        &state,
        &req,
        &caller,
        &body,
        allowed,
        created_order,
        |key| async move {
            let command = Purchase {
                buyer,
                quantity,
                expected_price,
                key,
            };
            Ok(send_to_listing(directory, listing, command).await??)
        },
    )
    .await
}

/// A purchase's answer: 201 and the paid order.
fn created_order(order: &Order) -> Result<Reply, ApiError> {
    Reply::json(StatusCode::CREATED, &OrderView::from(order))
}

/// The caller's orders as buyer (default) or seller, newest first.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(
        ("role" = inline(Option<RoleName>), Query, description = "Default buyer"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderView>),
        QueryErrors,
        AuthErrors,
        Unavailable,
    )
)]
#[get("/api/v1/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let role = p
        .parsed("role", |r| match r {
            "buyer" => Ok(Role::Buyer),
            "seller" => Ok(Role::Seller),
            _ => Err("must be buyer or seller".to_owned()),
        })
        .unwrap_or(Role::Buyer);
    let limit = p.limit();
    let before = p.before("cursor");
    p.finish()?;
    let user_id = caller.user.id;
    let rows = db(&state, move |conn| {
        Ok(orders::of_user(conn, user_id, role, before, limit + 1)?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |last| before_cursor(last.id));
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(OrderView::from).collect(),
        next_cursor,
    }))
}

/// Which side of their orders a caller lists.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RoleName {
    Buyer,
    Seller,
}

/// Loads an order the caller is a party to: 404 if there is none, 403 if not theirs.
pub(super) async fn party_order(
    state: &AppState,
    caller: &Caller,
    id: OrderId,
) -> Result<Order, ApiError> {
    let order = db(state, move |conn| Ok(orders::find(conn, id.0)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("order not found".into()))?;
    if order.state().side_of(caller.id()).is_none() {
        return Err(ApiError::Forbidden(
            "only the buyer and the seller may see or act on this order".into(),
        ));
    }
    Ok(order)
}

/// One order (parties only), with the ratings the caller may see.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order", body = OrderWithRatings),
        AuthErrors,
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        Unavailable,
    )
)]
#[get("/api/v1/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let order = party_order(&state, &caller, OrderId(id.into_inner())).await?;
    let order_id = order.id;
    let ratings = db(&state, move |conn| Ok(orders::ratings_of(conn, order_id)?)).await?;
    let raters: Vec<UserId> = ratings.iter().map(|r| UserId(r.rater_id)).collect();
    let shown = visible_ratings(
        &raters,
        caller.id(),
        order.completed_at,
        &state.rules,
        store::now(),
    );
    let visible = ratings
        .iter()
        .zip(shown)
        .filter(|(_, shown)| *shown)
        .map(|(r, _)| RatingView::from(r))
        .collect();
    Ok(HttpResponse::Ok().json(OrderWithRatings {
        order: OrderView::from(&order),
        ratings: visible,
    }))
}

async fn act(
    state: &AppState,
    caller: &Caller,
    id: OrderId,
    action: OrderAction,
) -> Result<HttpResponse, ApiError> {
    let order = party_order(state, caller, id).await?;
    let command = ActOnOrder {
        order: order.order_id(),
        actor: Party::User(caller.id()),
        action,
    };
    let order = send_to_listing(&state.directory, ListingId(order.listing_id), command).await??;
    Ok(HttpResponse::Ok().json(OrderView::from(&order)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipBody {
    /// Who carries the parcel, e.g. `DHL`; no control characters.
    #[schema(max_length = 64, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub carrier: Option<String>,
    /// The carrier's tracking number; no control characters.
    #[schema(max_length = 64, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub tracking_number: Option<String>,
}

/// The seller ships a paid order (optionally naming the carrier and tracking number, both shown
/// in the order and its `order.shipped` event); it completes by itself once the auto-complete
/// period has passed, unless the buyer confirms it first. An order whose buyer gave no address
/// is refused (409, type `/problems/no-address`) and the buyer is asked to add one, live and
/// in their inbox (`notification.address_needed`).
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    request_body(content = Option<ShipBody>, description = "Optional"),
    responses(
        (status = 200, description = "The shipped order", body = OrderView),
        JsonBodyErrors,
        AuthErrors,
        (status = 403, description = "Not the seller", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Not paid, the buyer has no address yet (type /problems/no-address), or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/orders/{id}/ship")]
pub async fn ship_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: OptionalJsonBody<ShipBody>,
) -> Result<HttpResponse, ApiError> {
    let ShipBody {
        carrier,
        tracking_number,
    } = body.0.unwrap_or_default();
    let shipment = validate_shipment(carrier.as_deref(), tracking_number.as_deref())
        .map_err(ApiError::Validation)?;
    let order = party_order(&state, &caller, OrderId(id.into_inner())).await?;
    let command = ShipOrder {
        order: order.order_id(),
        seller: caller.id(),
        shipment,
    };
    match send_to_listing(&state.directory, ListingId(order.listing_id), command).await?? {
        ShipOutcome::Shipped(order) => Ok(HttpResponse::Ok().json(OrderView::from(&*order))),
        ShipOutcome::NeedsAddress => Err(OrderError::NoShippingAddress.into()),
    }
}

/// The buyer confirms receipt: escrow goes to the seller, less the platform's fee.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The completed order", body = OrderView),
        AuthErrors,
        (status = 403, description = "Not the buyer", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Not shipped, or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/orders/{id}/confirm")]
pub async fn confirm_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    act(
        &state,
        &caller,
        OrderId(id.into_inner()),
        OrderAction::Confirm,
    )
    .await
}

/// Cancel an unshipped order: the seller at any time, the buyer once the ship deadline passed.
/// The buyer is refunded and the units restocked.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled order", body = OrderView),
        AuthErrors,
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Already shipped, the ship deadline has not passed, or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    act(
        &state,
        &caller,
        OrderId(id.into_inner()),
        OrderAction::Cancel,
    )
    .await
}

/// Rate the other side of a completed order, once.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    request_body = RatingBody,
    responses(
        (status = 201, description = "The rating", body = RatingView),
        JsonBodyErrors,
        AuthErrors,
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Not completed, already rated, or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/orders/{id}/rating")]
pub async fn rate_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: JsonBody<RatingBody>,
) -> Result<HttpResponse, ApiError> {
    let RatingBody { stars, comment } = body.0;
    validate_rating(stars, comment.as_deref()).map_err(ApiError::Validation)?;
    let order = party_order(&state, &caller, OrderId(id.into_inner())).await?;
    let command = RateOrder {
        order: order.order_id(),
        rater: caller.id(),
        stars,
        comment,
    };
    let rating = send_to_listing(&state.directory, ListingId(order.listing_id), command).await??;
    Ok(HttpResponse::Created().json(RatingView::from(&rating)))
}
