//! Listing rows: insert, load, the version-checked update. Search lives in `search.rs`.

use super::models::{Listing, ListingChanges, NewListing};
use super::prepared::AddLikes;
use super::schema::listings;
use super::DbConnection;
use crate::domain::listing::ListingStatus;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConnection, listing: &NewListing<'_>) -> QueryResult<Listing> {
    diesel::insert_into(listings::table)
        .values(listing)
        .returning(listings::all_columns)
        .get_result(conn)
}

/// Active listings whose scheduled price drop is due, soonest first.
pub fn due_price_drops(
    conn: &mut DbConnection,
    now: chrono::NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    due_price_drops_query(now, limit).load(conn)
}

/// [`due_price_drops`]' statement, read through the partial index `listings_price_drops_due`
/// (status, then the next drop: migration `price_drops_due_by_status`): with the status in the
/// index, SQLite's planner (no statistics) no longer prefers the status index and sorts every
/// active listing by its next drop, which took 0.7 s at a million listings, every tick.
#[diesel::dsl::auto_type]
pub fn due_price_drops_query(now: chrono::NaiveDateTime, limit: i64) -> _ {
    let active: ListingStatus = ListingStatus::Active;
    listings::table
        .filter(listings::next_price_drop_at.le(now))
        .filter(listings::status.eq(active))
        .select(listings::id)
        .order(listings::next_price_drop_at.asc())
        .limit(limit)
}

/// Locks the listing's row until the transaction ends (PostgreSQL: SELECT … FOR UPDATE). On
/// SQLite the write transaction (BEGIN IMMEDIATE) already excludes every other writer.
pub fn lock(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        listings::table
            .find(id)
            .select(listings::id)
            .for_update()
            .load::<i64>(pg)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Listing>> {
    listings::table.find(id).get_result(conn).optional()
}

/// `UPDATE … WHERE id = ? AND version = ?`: `None` when the row has moved on since
/// `expected_version` was read (another command or another process wrote first).
pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i64,
    changes: &ListingChanges<'_>,
) -> QueryResult<Option<Listing>> {
    diesel::update(
        listings::table
            .filter(listings::id.eq(id))
            .filter(listings::version.eq(expected_version)),
    )
    .set(changes)
    .returning(listings::all_columns)
    .get_result(conn)
    .optional()
}

/// Adds `delta` to the like counter; likes do not change what the seller edits, so the
/// version stays.
pub fn add_likes(conn: &mut DbConnection, id: i64, delta: i64) -> QueryResult<()> {
    AddLikes {
        listing_id: id,
        delta,
    }
    .execute(conn)
    .map(drop)
}

pub use super::search::{search, ListingFilter, ListingPosition, ListingSort};
