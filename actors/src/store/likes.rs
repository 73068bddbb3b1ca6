//! Likes: who likes which listing, with an optional target price for price-drop alerts.

use super::models::{Like, Listing, NewLike};
use super::schema::{likes, listings};
use super::{is_unique_violation, listings as listing_rows, DbConnection, PooledConn};
use diesel::prelude::*;

/// Likes `listing_id` for `user_id`, or updates the target price of an existing like, in its
/// own write transaction. Idempotent: the like counter moves only when the like is new.
pub fn like(
    conn: &mut PooledConn,
    user_id: i64,
    listing_id: i64,
    target_price_cents: Option<i64>,
) -> QueryResult<()> {
    let attempt = |conn: &mut PooledConn| {
        conn.write_transaction(|conn| like_in(conn, user_id, listing_id, target_price_cents))
    };
    match attempt(conn) {
        // A concurrent like of the same listing by the same user won the insert: ours is now
        // an update of that like.
        Err(e) if is_unique_violation(&e) => attempt(conn),
        other => other,
    }
}

/// [`like`] inside the caller's transaction. A unique violation means a concurrent like of the
/// same listing by the same user won the insert: the caller retries its transaction.
pub fn like_in(
    conn: &mut DbConnection,
    user_id: i64,
    listing_id: i64,
    target_price_cents: Option<i64>,
) -> QueryResult<()> {
    let existing = likes::table
        .filter(likes::user_id.eq(user_id))
        .filter(likes::listing_id.eq(listing_id))
        .select(likes::id)
        .get_result::<i64>(conn)
        .optional()?;
    match existing {
        Some(id) => diesel::update(likes::table.find(id))
            .set(likes::target_price_cents.eq(target_price_cents))
            .execute(conn)
            .map(drop),
        None => {
            let price = listings::table
                .find(listing_id)
                .select(listings::price_cents)
                .get_result::<i64>(conn)?;
            diesel::insert_into(likes::table)
                .values(&NewLike {
                    user_id,
                    listing_id,
                    target_price_cents,
                    created_at: super::now(),
                    seen_price_cents: Some(price),
                })
                .execute(conn)?;
            listing_rows::add_likes(conn, listing_id, 1)
        }
    }
}

/// Removes the like, if any. Idempotent.
pub fn unlike(conn: &mut PooledConn, user_id: i64, listing_id: i64) -> QueryResult<()> {
    conn.write_transaction(|conn| {
        let removed = diesel::delete(
            likes::table
                .filter(likes::user_id.eq(user_id))
                .filter(likes::listing_id.eq(listing_id)),
        )
        .execute(conn)?;
        if removed > 0 {
            listing_rows::add_likes(conn, listing_id, -1)?;
        }
        Ok(())
    })
}

/// The user's likes, most recent first, after the like with id `before` (exclusive).
pub fn liked_by(
    conn: &mut DbConnection,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(Like, Listing)>> {
    let mut query = likes::table
        .inner_join(listings::table)
        .filter(likes::user_id.eq(user_id))
        .select((likes::all_columns, listings::all_columns))
        .order(likes::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(likes::id.lt(before));
    }
    query.load(conn)
}

/// A liker of a listing, as a price drop sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Queryable)]
pub struct Liker {
    pub user_id: i64,
    pub target_price_cents: Option<i64>,
    pub seen_price_cents: Option<i64>,
}

/// Everyone who likes the listing, with their target price and the price they last saw.
pub fn likers_of(conn: &mut DbConnection, listing_id: i64) -> QueryResult<Vec<Liker>> {
    likes::table
        .filter(likes::listing_id.eq(listing_id))
        .select((
            likes::user_id,
            likes::target_price_cents,
            likes::seen_price_cents,
        ))
        .order(likes::id.asc())
        .load(conn)
}

/// Records that `users` were alerted of `listing_id` at `price_cents`: the price they last saw.
pub fn mark_seen(
    conn: &mut DbConnection,
    listing_id: i64,
    users: &[i64],
    price_cents: i64,
) -> QueryResult<()> {
    // Bounded statements: SQLite allows a limited number of bound parameters.
    for chunk in users.chunks(500) {
        diesel::update(
            likes::table
                .filter(likes::listing_id.eq(listing_id))
                .filter(likes::user_id.eq_any(chunk)),
        )
        .set(likes::seen_price_cents.eq(Some(price_cents)))
        .execute(conn)?;
    }
    Ok(())
}
