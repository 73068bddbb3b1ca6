//! Order rows and ratings.

use super::models::{NewOrder, NewRating, Order, OrderChanges, Rating};
use super::schema::{orders, ratings};
use super::DbConnection;
use crate::domain::order::OrderStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};

pub fn insert(conn: &mut DbConnection, order: &NewOrder) -> QueryResult<Order> {
    diesel::insert_into(orders::table)
        .values(order)
        .returning(orders::all_columns)
        .get_result(conn)
}

/// Inserts many orders at once (a purchase batch); returns them in the order given. On
/// PostgreSQL the rows go as arrays, so the statement's text is the same for any batch.
pub fn insert_all(conn: &mut DbConnection, new: &[NewOrder]) -> QueryResult<Vec<Order>> {
    let pg = match conn {
        DbConnection::Postgresql(pg) => pg,
        // In-process: a statement per order costs no round trip.
        DbConnection::Sqlite(lite) => {
            return new
                .iter()
                .map(|o| {
                    diesel::insert_into(orders::table)
                        .values(o)
                        .returning(orders::all_columns)
                        .get_result(lite)
                })
                .collect()
        }
    };
    let column = |f: fn(&NewOrder) -> i64| new.iter().map(f).collect::<Vec<i64>>();
    let mut made: Vec<Order> = diesel::sql_query(
        "INSERT INTO orders (listing_id, buyer_id, seller_id, offer_id, quantity, \
                             unit_price_cents, total_cents, status, ship_by, version, \
                             created_at, updated_at, ship_to) \
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
                              $6::int8[], $7::int8[], $8::text[], $9::timestamp[], \
                              $10::int8[], $11::timestamp[], $12::timestamp[], $13::text[]) \
         RETURNING *",
    )
    .bind::<Array<BigInt>, _>(column(|o| o.listing_id))
    .bind::<Array<BigInt>, _>(column(|o| o.buyer_id))
    .bind::<Array<BigInt>, _>(column(|o| o.seller_id))
    .bind::<Array<Nullable<BigInt>>, _>(new.iter().map(|o| o.offer_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(column(|o| o.quantity))
    .bind::<Array<BigInt>, _>(column(|o| o.unit_price_cents))
    .bind::<Array<BigInt>, _>(column(|o| o.total_cents))
    .bind::<Array<Text>, _>(new.iter().map(|o| o.status).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(new.iter().map(|o| o.ship_by).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(column(|o| o.version))
    .bind::<Array<Timestamp>, _>(new.iter().map(|o| o.created_at).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(new.iter().map(|o| o.updated_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(new.iter().map(|o| o.ship_to.clone()).collect::<Vec<_>>())
    .load(pg)?;
    made.sort_by_key(|o| o.id);
    Ok(made)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Order>> {
    orders::table.find(id).get_result(conn).optional()
}

/// Version-checked update: `None` when the order moved on since `expected_version`.
pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i64,
    changes: &OrderChanges,
) -> QueryResult<Option<Order>> {
    diesel::update(
        orders::table
            .filter(orders::id.eq(id))
            .filter(orders::version.eq(expected_version)),
    )
    .set(changes)
    .returning(orders::all_columns)
    .get_result(conn)
    .optional()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Buyer,
    Seller,
}

/// A user's orders as buyer or seller, newest first, before order `before`.
pub fn of_user(
    conn: &mut DbConnection,
    user_id: i64,
    role: Role,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Order>> {
    let mut query = orders::table
        .order(orders::id.desc())
        .limit(limit)
        .into_boxed();
    query = match role {
        Role::Buyer => query.filter(orders::buyer_id.eq(user_id)),
        Role::Seller => query.filter(orders::seller_id.eq(user_id)),
    };
    if let Some(before) = before {
        query = query.filter(orders::id.lt(before));
    }
    query.load(conn)
}

/// How many orders of a listing are still open (money in escrow: paid, shipped or disputed).
pub fn open_count(conn: &mut DbConnection, listing_id: i64) -> QueryResult<i64> {
    let open: Vec<OrderStatus> = OrderStatus::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .collect();
    orders::table
        .filter(orders::listing_id.eq(listing_id))
        .filter(orders::status.eq_any(open))
        .count()
        .get_result(conn)
}

/// Shipped orders whose auto-complete deadline passed: (order id, listing id).
pub fn due_to_complete(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    orders::table
        .filter(orders::status.eq(OrderStatus::Shipped))
        .filter(orders::auto_complete_at.le(now))
        .select((orders::id, orders::listing_id))
        .order(orders::auto_complete_at.asc())
        .limit(limit)
        .load(conn)
}

/// Inserts a rating; a second rating by the same side is a unique violation.
pub fn insert_rating(conn: &mut DbConnection, rating: &NewRating<'_>) -> QueryResult<Rating> {
    diesel::insert_into(ratings::table)
        .values(rating)
        .returning(ratings::all_columns)
        .get_result(conn)
}

/// Reveals an order's ratings at `at` (the second side rated), unless revealed earlier.
pub fn reveal_ratings(
    conn: &mut DbConnection,
    order_id: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        ratings::table
            .filter(ratings::order_id.eq(order_id))
            .filter(
                ratings::revealed_at
                    .gt(at)
                    .or(ratings::revealed_at.is_null()),
            ),
    )
    .set(ratings::revealed_at.eq(Some(at)))
    .execute(conn)
    .map(drop)
}

/// Records how a shipped order went (carrier, tracking number).
pub fn set_shipment(
    conn: &mut DbConnection,
    id: i64,
    carrier: Option<&str>,
    tracking_number: Option<&str>,
) -> QueryResult<Order> {
    diesel::update(orders::table.find(id))
        .set((
            orders::carrier.eq(carrier),
            orders::tracking_number.eq(tracking_number),
        ))
        .returning(orders::all_columns)
        .get_result(conn)
}

/// Gives a paid order without an address the buyer's address (`ship_to`), bumping its version;
/// `None` if it has one already, or is no longer paid.
pub fn fill_ship_to(
    conn: &mut DbConnection,
    id: i64,
    ship_to: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Order>> {
    diesel::update(
        orders::table
            .filter(orders::id.eq(id))
            .filter(orders::status.eq(OrderStatus::Paid))
            .filter(orders::ship_to.is_null()),
    )
    .set((
        orders::ship_to.eq(Some(ship_to)),
        orders::version.eq(orders::version + 1),
        orders::updated_at.eq(now),
    ))
    .returning(orders::all_columns)
    .get_result(conn)
    .optional()
}

pub fn ratings_of(conn: &mut DbConnection, order_id: i64) -> QueryResult<Vec<Rating>> {
    ratings::table
        .filter(ratings::order_id.eq(order_id))
        .order(ratings::id.asc())
        .load(conn)
}

/// A listing's orders with `status`, oldest first (served by `orders_listing`).
pub fn of_listing_with_status(
    conn: &mut DbConnection,
    listing_id: i64,
    status: OrderStatus,
) -> QueryResult<Vec<Order>> {
    orders::table
        .filter(orders::listing_id.eq(listing_id))
        .filter(orders::status.eq(status))
        .order(orders::id.asc())
        .load(conn)
}
