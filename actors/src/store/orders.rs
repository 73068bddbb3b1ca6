//! Order rows and ratings.

use super::models::{NewOrder, NewRating, Order, OrderChanges, Rating};
use super::schema::{orders, ratings};
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConnection, order: &NewOrder<'_>) -> QueryResult<Order> {
    diesel::insert_into(orders::table)
        .values(order)
        .returning(orders::all_columns)
        .get_result(conn)
}

/// Inserts many orders at once (a purchase batch); returns them in the order given.
pub fn insert_all(conn: &mut DbConnection, new: &[NewOrder<'_>]) -> QueryResult<Vec<Order>> {
    Ok(insert_all!(
        conn,
        orders::table,
        new,
        orders::all_columns,
        Order,
        |o| o.id
    ))
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Order>> {
    orders::table.find(id).first(conn).optional()
}

/// Version-checked update: `None` when the order moved on since `expected_version`.
pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i64,
    changes: &OrderChanges<'_>,
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

/// How many orders of a listing are still open (paid or shipped).
pub fn open_count(conn: &mut DbConnection, listing_id: i64) -> QueryResult<i64> {
    orders::table
        .filter(orders::listing_id.eq(listing_id))
        .filter(orders::status.eq_any(["paid", "shipped"]))
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
        .filter(orders::status.eq("shipped"))
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

pub fn ratings_of(conn: &mut DbConnection, order_id: i64) -> QueryResult<Vec<Rating>> {
    ratings::table
        .filter(ratings::order_id.eq(order_id))
        .order(ratings::id.asc())
        .load(conn)
}
