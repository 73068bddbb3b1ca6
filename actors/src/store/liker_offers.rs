//! Offers a seller sends to everyone who likes a listing.

use super::models::LikerOffer;
use super::schema::{liker_offers, likes};
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(
    conn: &mut DbConnection,
    listing_id: i64,
    seller_id: i64,
    amount_cents: i64,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<LikerOffer> {
    diesel::insert_into(liker_offers::table)
        .values((
            liker_offers::listing_id.eq(listing_id),
            liker_offers::seller_id.eq(seller_id),
            liker_offers::amount_cents.eq(amount_cents),
            liker_offers::created_at.eq(now),
            liker_offers::expires_at.eq(expires_at),
        ))
        .returning(liker_offers::all_columns)
        .get_result(conn)
}

/// The listing's most recent liker offer (the newest of many: the LIMIT is the point).
#[allow(clippy::disallowed_methods)]
pub fn latest(conn: &mut DbConnection, listing_id: i64) -> QueryResult<Option<LikerOffer>> {
    liker_offers::table
        .filter(liker_offers::listing_id.eq(listing_id))
        .order(liker_offers::id.desc())
        .first(conn)
        .optional()
}

/// Everyone who likes the listing.
pub fn likers(conn: &mut DbConnection, listing_id: i64) -> QueryResult<Vec<i64>> {
    likes::table
        .filter(likes::listing_id.eq(listing_id))
        .select(likes::user_id)
        .order(likes::id.asc())
        .load(conn)
}
