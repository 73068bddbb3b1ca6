//! Photo rows: a listing's photos in the seller's order, a page's photos in one query, the
//! writes of the listing's actor, and the sweep's question (which stored keys rows still name).

use super::bulk::json_rows;
use super::prepared::PhotosOfListings;
use super::schema::{photos, users};
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Identifiable)]
#[diesel(table_name = photos)]
pub struct Photo {
    pub id: i64,
    pub listing_id: i64,
    pub position: i32,
    pub width: i32,
    pub height: i32,
    pub full_key: String,
    pub medium_key: String,
    pub thumb_key: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = photos)]
pub struct NewPhoto<'a> {
    pub listing_id: i64,
    pub position: i32,
    pub width: i32,
    pub height: i32,
    pub full_key: &'a str,
    pub medium_key: &'a str,
    pub thumb_key: &'a str,
    pub created_at: NaiveDateTime,
}

/// A listing's photos in the seller's order.
pub fn of_listing(conn: &mut DbConnection, listing: i64) -> QueryResult<Vec<Photo>> {
    photos::table
        .filter(photos::listing_id.eq(listing))
        .order((photos::position.asc(), photos::id.asc()))
        .load(conn)
}

/// The photos of several listings (a page), in one query, each listing's in order.
pub fn of_listings(
    conn: &mut DbConnection,
    listings: &[i64],
) -> QueryResult<HashMap<i64, Vec<Photo>>> {
    let mut by_listing: HashMap<i64, Vec<Photo>> = HashMap::new();
    if listings.is_empty() {
        return Ok(by_listing);
    }
    let rows: Vec<Photo> = match conn {
        DbConnection::Sqlite(lite) => PhotosOfListings {
            listings: json_rows(&listings)?,
        }
        .load(lite)?,
        // `= ANY($1)`: one text for any page already, kept by Diesel.
        DbConnection::Postgresql(_) => photos::table
            .filter(photos::listing_id.eq_any(listings))
            .order((
                photos::listing_id.asc(),
                photos::position.asc(),
                photos::id.asc(),
            ))
            .load(conn)?,
    };
    for row in rows {
        by_listing.entry(row.listing_id).or_default().push(row);
    }
    Ok(by_listing)
}

pub fn insert(conn: &mut DbConnection, photo: &NewPhoto<'_>) -> QueryResult<Photo> {
    diesel::insert_into(photos::table)
        .values(photo)
        .returning(photos::all_columns)
        .get_result(conn)
}

pub fn delete(conn: &mut DbConnection, listing: i64, photo: i64) -> QueryResult<usize> {
    diesel::delete(
        photos::table
            .filter(photos::id.eq(photo))
            .filter(photos::listing_id.eq(listing)),
    )
    .execute(conn)
}

/// Numbers a listing's photos 0, 1, 2… in the order of `ids`.
pub fn set_order(conn: &mut DbConnection, listing: i64, ids: &[i64]) -> QueryResult<()> {
    for (position, id) in ids.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        diesel::update(
            photos::table
                .filter(photos::id.eq(id))
                .filter(photos::listing_id.eq(listing)),
        )
        .set(photos::position.eq(position))
        .execute(conn)?;
    }
    Ok(())
}

/// Which of `keys` some photo row (any variant) or some user's avatar still names.
pub fn referenced(conn: &mut DbConnection, keys: &[String]) -> QueryResult<HashSet<String>> {
    let mut found = HashSet::new();
    if keys.is_empty() {
        return Ok(found);
    }
    for column in 0..5 {
        let rows: Vec<String> = match column {
            0 => photos::table
                .filter(photos::full_key.eq_any(keys))
                .select(photos::full_key)
                .load(conn)?,
            1 => photos::table
                .filter(photos::medium_key.eq_any(keys))
                .select(photos::medium_key)
                .load(conn)?,
            2 => photos::table
                .filter(photos::thumb_key.eq_any(keys))
                .select(photos::thumb_key)
                .load(conn)?,
            // Avatars name stored files too.
            3 => users::table
                .filter(users::avatar_small_key.assume_not_null().eq_any(keys))
                .select(users::avatar_small_key.assume_not_null())
                .load(conn)?,
            _ => users::table
                .filter(users::avatar_large_key.assume_not_null().eq_any(keys))
                .select(users::avatar_large_key.assume_not_null())
                .load(conn)?,
        };
        found.extend(rows);
    }
    Ok(found)
}
