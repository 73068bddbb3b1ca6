//! Offer rows.

use super::models::{NewOffer, Offer, OfferChanges};
use super::schema::offers;
use super::DbConnection;
use crate::domain::offer::OfferStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConnection, offer: &NewOffer<'_>) -> QueryResult<Offer> {
    diesel::insert_into(offers::table)
        .values(offer)
        .returning(offers::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Offer>> {
    offers::table.find(id).get_result(conn).optional()
}

/// Version-checked update: `None` when the offer moved on since `expected_version`.
pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i64,
    changes: &OfferChanges<'_>,
) -> QueryResult<Option<Offer>> {
    diesel::update(
        offers::table
            .filter(offers::id.eq(id))
            .filter(offers::version.eq(expected_version)),
    )
    .set(changes)
    .returning(offers::all_columns)
    .get_result(conn)
    .optional()
}

/// (has an open offer, offers made in all) by `buyer` on `listing`.
pub fn buyer_standing(
    conn: &mut DbConnection,
    listing_id: i64,
    buyer_id: i64,
) -> QueryResult<(bool, i64)> {
    let statuses: Vec<String> = offers::table
        .filter(offers::listing_id.eq(listing_id))
        .filter(offers::buyer_id.eq(buyer_id))
        .select(offers::status)
        .load(conn)?;
    let open = statuses.iter().any(|s| s == "open");
    Ok((open, statuses.len() as i64))
}

pub fn open_for_listing(conn: &mut DbConnection, listing_id: i64) -> QueryResult<Vec<Offer>> {
    offers::table
        .filter(offers::listing_id.eq(listing_id))
        .filter(offers::status.eq(OfferStatus::Open))
        .order(offers::id.asc())
        .load(conn)
}

/// A listing's offers, all of them or one buyer's, oldest first.
pub fn for_listing(
    conn: &mut DbConnection,
    listing_id: i64,
    buyer_id: Option<i64>,
) -> QueryResult<Vec<Offer>> {
    let mut query = offers::table
        .filter(offers::listing_id.eq(listing_id))
        .order(offers::id.asc())
        .into_boxed();
    if let Some(buyer) = buyer_id {
        query = query.filter(offers::buyer_id.eq(buyer));
    }
    query.load(conn)
}

/// Open offers whose deadline has passed: (offer id, listing id).
pub fn due_to_expire(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    offers::table
        .filter(offers::status.eq(OfferStatus::Open))
        .filter(offers::expires_at.le(now))
        .select((offers::id, offers::listing_id))
        .order(offers::expires_at.asc())
        .limit(limit)
        .load(conn)
}

/// The listings with an open offer between `a` and `b`, either as the buyer (served by the
/// partial index `offers_open_between`).
pub fn listings_with_open_offers_between(
    conn: &mut DbConnection,
    a: i64,
    b: i64,
) -> QueryResult<Vec<i64>> {
    offers::table
        .filter(offers::status.eq(OfferStatus::Open))
        .filter(
            (offers::buyer_id.eq(a).and(offers::seller_id.eq(b)))
                .or(offers::buyer_id.eq(b).and(offers::seller_id.eq(a))),
        )
        .select(offers::listing_id)
        .distinct()
        .load(conn)
}
