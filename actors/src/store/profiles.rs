//! A user's public profile figures and their revealed ratings. Every figure is one index
//! range read (see migration 001001): no scan of the user's listings, orders or ratings rows.

use super::schema::{listings, orders, ratings, users};
use super::DbConnection;
use crate::domain::listing::ListingStatus;
use crate::domain::order::OrderStatus;
use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

/// What a profile counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileFigures {
    /// Ratings of the user visible to everyone at the time of reading.
    pub rating_count: i64,
    pub rating_stars_sum: i64,
    pub active_listings: i64,
    /// Units sold in completed orders.
    pub items_sold: i64,
}

/// The figures of user `id` at `now`: revealed ratings from `ratings_ratee_revealed`, active
/// listings from `listings_seller_status_id`, units sold from `orders_seller_status` (each
/// an index-only range on PostgreSQL, a covering index on SQLite).
pub fn figures(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<ProfileFigures> {
    let (rating_count, rating_stars_sum) = ratings::table
        .filter(ratings::ratee_id.eq(id))
        .filter(ratings::revealed_at.le(now))
        .select(sql::<(BigInt, BigInt)>(
            "COUNT(*), CAST(COALESCE(SUM(stars), 0) AS BIGINT)",
        ))
        .get_result::<(i64, i64)>(conn)?;
    let active_listings = listings::table
        .filter(listings::seller_id.eq(id))
        .filter(listings::status.eq(ListingStatus::Active))
        .count()
        .get_result(conn)?;
    let items_sold = orders::table
        .filter(orders::seller_id.eq(id))
        .filter(orders::status.eq(OrderStatus::Completed))
        .select(sql::<BigInt>("CAST(COALESCE(SUM(quantity), 0) AS BIGINT)"))
        .get_result::<i64>(conn)?;
    Ok(ProfileFigures {
        rating_count,
        rating_stars_sum,
        active_listings,
        items_sold,
    })
}

/// A revealed rating as a profile lists it: the rating, its rater's name, the listing's title.
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct RatingEntry {
    pub id: i64,
    pub order_id: i64,
    pub stars: i64,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
    pub rater_id: i64,
    pub rater_username: String,
    pub rater_display_name: String,
    pub listing_id: i64,
    pub listing_title: String,
}

/// Ratings of user `id` revealed at `now`, newest first, before rating `before` (keyset on
/// `ratings_ratee`), at most `limit`.
pub fn revealed_ratings(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RatingEntry>> {
    let mut query = ratings::table
        .inner_join(users::table.on(users::id.eq(ratings::rater_id)))
        .inner_join(orders::table.inner_join(listings::table))
        .filter(ratings::ratee_id.eq(id))
        .filter(ratings::revealed_at.le(now))
        .select((
            ratings::id,
            ratings::order_id,
            ratings::stars,
            ratings::comment,
            ratings::created_at,
            ratings::rater_id,
            users::username,
            users::display_name,
            listings::id,
            listings::title,
        ))
        .order(ratings::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(ratings::id.lt(before));
    }
    query.load(conn)
}
