//! Listing rows: insert, load, the version-checked update, and search with keyset pagination.

use super::models::{Listing, ListingChanges, NewListing};
use super::prepared::AddLikes;
use super::schema::listings;
use super::DbConnection;
use crate::domain::listing::ListingStatus;
use diesel::prelude::*;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub fn insert(conn: &mut DbConnection, listing: &NewListing<'_>) -> QueryResult<Listing> {
    diesel::insert_into(listings::table)
        .values(listing)
        .returning(listings::all_columns)
        .get_result(conn)
}

/// Locks the listing's row until the transaction ends (PostgreSQL: SELECT … FOR UPDATE). On
/// SQLite the write transaction (BEGIN IMMEDIATE) already excludes every other writer.
/// Active listings whose scheduled price drop is due, soonest first.
pub fn due_price_drops(
    conn: &mut DbConnection,
    now: chrono::NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    listings::table
        .filter(listings::next_price_drop_at.le(now))
        .filter(listings::status.eq(ListingStatus::Active))
        .select(listings::id)
        .order(listings::next_price_drop_at.asc())
        .limit(limit)
        .load(conn)
}

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
    listings::table.find(id).first(conn).optional()
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListingSort {
    Newest,
    PriceAsc,
    PriceDesc,
}

/// Which listings to show. `status` is required: drafts are only ever shown to their seller.
#[derive(Clone, Debug)]
pub struct ListingFilter {
    pub text: Option<String>,
    pub category: Option<String>,
    pub seller_id: Option<i64>,
    pub status: ListingStatus,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub viewer: Option<i64>,
}

/// The last row of the previous page, in the page's sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListingPosition {
    pub price_cents: i64,
    pub id: i64,
}

/// One page of listings after `after`. Keyset pagination on a total order (the sort key, then
/// the id) never skips or repeats a row while others are inserted.
pub fn search(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    limit: i64,
) -> QueryResult<Vec<Listing>> {
    let mut query = listings::table.into_boxed();
    query = query.filter(listings::status.eq(filter.status));
    if filter.status == ListingStatus::Draft {
        // A draft is seen only by its seller; with no viewer this matches nothing.
        query = query.filter(listings::seller_id.nullable().eq(filter.viewer));
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        query = query.filter(
            lower(listings::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(listings::description).like(pattern).escape('\\')),
        );
    }
    if let Some(category) = &filter.category {
        query = query.filter(listings::category.eq(category.clone()));
    }
    if let Some(seller) = filter.seller_id {
        query = query.filter(listings::seller_id.eq(seller));
    }
    if let Some(min) = filter.min_price {
        query = query.filter(listings::price_cents.ge(min));
    }
    if let Some(max) = filter.max_price {
        query = query.filter(listings::price_cents.le(max));
    }
    query = match (sort, after) {
        (ListingSort::Newest, Some(p)) => query.filter(listings::id.lt(p.id)),
        (ListingSort::PriceAsc, Some(p)) => query.filter(
            listings::price_cents
                .gt(p.price_cents)
                .or(listings::price_cents
                    .eq(p.price_cents)
                    .and(listings::id.gt(p.id))),
        ),
        (ListingSort::PriceDesc, Some(p)) => query.filter(
            listings::price_cents
                .lt(p.price_cents)
                .or(listings::price_cents
                    .eq(p.price_cents)
                    .and(listings::id.lt(p.id))),
        ),
        (_, None) => query,
    };
    query = match sort {
        ListingSort::Newest => query.order(listings::id.desc()),
        ListingSort::PriceAsc => query.order((listings::price_cents.asc(), listings::id.asc())),
        ListingSort::PriceDesc => query.order((listings::price_cents.desc(), listings::id.desc())),
    };
    query.limit(limit).load(conn)
}

/// Escapes LIKE's wildcards so user text matches literally.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
