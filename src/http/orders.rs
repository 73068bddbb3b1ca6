//! Buy now, orders and their transitions (through the listing's actor), and ratings.

use super::idempotency::{self, Reply};
use super::{
    db, decode_cursor, encode_cursor, paginate, utc, Caller, JsonBody, OptionalJsonBody, Page,
    Params,
};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::listing::{validate_price, QUANTITY};
use bazaar_actors::domain::offer::Actor as Party;
use bazaar_actors::domain::order::{rating_visible, OrderAction, OrderStatus};
use bazaar_actors::domain::validation::{char_length, in_range};
use bazaar_actors::domain::{ListingId, Money, UserId};
use bazaar_actors::events::OrderView;
use bazaar_actors::listing::{ActOnOrder, Purchase};
use bazaar_actors::store::models::{NewRating, Order, Rating};
use bazaar_actors::store::orders::{self, Role};
use bazaar_actors::store::{self, is_unique_violation};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseBody {
    /// Units to buy (default 1).
    pub quantity: Option<i64>,
    /// The unit price the buyer saw; 409 if the price is different now.
    pub expected_price_cents: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    /// 1 to 5.
    pub stars: i64,
    /// At most 1000 characters.
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
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats replay the first response")),
    responses(
        (status = 201, description = "The paid order", body = OrderView),
        (status = 402, description = "Insufficient funds", body = Problem),
        (status = 403, description = "Your own listing", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "Sold out, not active, not enough left, or the price changed", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
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
    let body = body.0.unwrap_or_default();
    let quantity = body.quantity.unwrap_or(1);
    in_range(quantity, 1, QUANTITY.1).map_err(|m| ApiError::invalid("quantity", m))?;
    if let Some(p) = body.expected_price_cents {
        validate_price(p).map_err(|m| ApiError::invalid("expected_price_cents", m))?;
    }
    let listing = ListingId(id.into_inner());
    idempotency::once(&state, &req, &caller, &body, || async {
        let command = Purchase {
            buyer: caller.id(),
            quantity,
            expected_price: body.expected_price_cents.map(Money::from_cents),
        };
        let order = send_to_listing(&state.directory, listing, command).await??;
        Reply::json(StatusCode::CREATED, &OrderView::from(&order))
    })
    .await
}

#[derive(Debug, Serialize, Deserialize)]
struct OrdersCursor {
    before: i64,
}

/// The caller's orders as buyer (default) or seller, newest first.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(
        ("role" = Option<String>, Query, description = "buyer (default) or seller"),
        ("limit" = Option<i64>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderView>),
        (status = 401, description = "No live token", body = Problem),
        (status = 422, description = "Invalid parameters", body = Problem),
    )
)]
#[get("/api/v1/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<HashMap<String, String>>,
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
    let before = p.parsed("cursor", |c| {
        decode_cursor::<OrdersCursor>(c).map(|c| c.before)
    });
    p.finish()?;
    let user_id = caller.user.id;
    let rows = db(&state, move |conn| {
        Ok(orders::of_user(conn, user_id, role, before, limit + 1)?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |last| {
        encode_cursor(&OrdersCursor { before: last.id })
    });
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(OrderView::from).collect(),
        next_cursor,
    }))
}

/// Loads an order the caller is a party to: 404 if there is none, 403 if not theirs.
async fn party_order(state: &AppState, caller: &Caller, id: i64) -> Result<Order, ApiError> {
    let order = db(state, move |conn| Ok(orders::find(conn, id)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("order not found".into()))?;
    if caller.user.id != order.buyer_id && caller.user.id != order.seller_id {
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
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such order", body = Problem),
    )
)]
#[get("/api/v1/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let order = party_order(&state, &caller, id.into_inner()).await?;
    let order_id = order.id;
    let ratings = db(&state, move |conn| Ok(orders::ratings_of(conn, order_id)?)).await?;
    let both_rated = ratings.len() >= 2;
    let now = store::now();
    let visible = ratings
        .iter()
        .filter(|r| {
            rating_visible(
                UserId(r.rater_id),
                caller.id(),
                both_rated,
                order.completed_at,
                &state.rules,
                now,
            )
        })
        .map(RatingView::from)
        .collect();
    Ok(HttpResponse::Ok().json(OrderWithRatings {
        order: OrderView::from(&order),
        ratings: visible,
    }))
}

async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: OrderAction,
) -> Result<HttpResponse, ApiError> {
    let order = party_order(state, caller, id).await?;
    let command = ActOnOrder {
        order_id: order.id,
        actor: Party::User(caller.id()),
        action,
    };
    let order = send_to_listing(&state.directory, ListingId(order.listing_id), command).await??;
    Ok(HttpResponse::Ok().json(OrderView::from(&order)))
}

/// The seller ships a paid order; it completes by itself 72 hours later unless confirmed.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shipped order", body = OrderView),
        (status = 403, description = "Not the seller", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Not paid", body = Problem),
    )
)]
#[post("/api/v1/orders/{id}/ship")]
pub async fn ship_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &caller, id.into_inner(), OrderAction::Ship).await
}

/// The buyer confirms receipt: escrow goes to the seller, less the platform's fee.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The completed order", body = OrderView),
        (status = 403, description = "Not the buyer", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Not shipped", body = Problem),
    )
)]
#[post("/api/v1/orders/{id}/confirm")]
pub async fn confirm_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &caller, id.into_inner(), OrderAction::Confirm).await
}

/// Cancel an unshipped order: the seller at any time, the buyer once the ship deadline passed.
/// The buyer is refunded and the units restocked.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled order", body = OrderView),
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Already shipped, or the ship deadline has not passed", body = Problem),
    )
)]
#[post("/api/v1/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &caller, id.into_inner(), OrderAction::Cancel).await
}

/// Rate the other side of a completed order, once.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    request_body = RatingBody,
    responses(
        (status = 201, description = "The rating", body = RatingView),
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such order", body = Problem),
        (status = 409, description = "Not completed, or already rated", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
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
    let mut errors = bazaar_actors::domain::FieldErrors::new();
    errors.check("stars", in_range(stars, 1, 5));
    if let Some(c) = &comment {
        errors.check("comment", char_length(c, 0, 1000));
    }
    errors.into_result(()).map_err(ApiError::Validation)?;
    let order = party_order(&state, &caller, id.into_inner()).await?;
    if order.state().status != OrderStatus::Completed {
        return Err(ApiError::Conflict(format!(
            "only a completed order can be rated; this one is {}",
            order.status
        )));
    }
    let rater = caller.user.id;
    let ratee = if rater == order.buyer_id {
        order.seller_id
    } else {
        order.buyer_id
    };
    let rating = super::db_write_legacy(&state, move |conn| {
        let new = NewRating {
            order_id: order.id,
            rater_id: rater,
            ratee_id: ratee,
            stars,
            comment: comment.as_deref(),
            created_at: store::now(),
        };
        orders::insert_rating(conn, &new).map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict("you have already rated this order".into())
            } else {
                e.into()
            }
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(RatingView::from(&rating)))
}
