//! Users' shipping addresses (one each), and the copies orders take of them.

use super::schema::{addresses, orders};
use super::DbConnection;
use crate::domain::address::Address;
use crate::domain::order::OrderStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = addresses, treat_none_as_null = true)]
pub struct AddressRow {
    pub user_id: i64,
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub updated_at: NaiveDateTime,
}

impl AddressRow {
    pub fn new(user_id: i64, a: &Address, now: NaiveDateTime) -> Self {
        AddressRow {
            user_id,
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            updated_at: now,
        }
    }

    pub fn address(&self) -> Address {
        Address {
            name: self.name.clone(),
            line1: self.line1.clone(),
            line2: self.line2.clone(),
            city: self.city.clone(),
            region: self.region.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
        }
    }

    /// The copy an order keeps (JSON).
    pub fn snapshot(&self) -> String {
        serde_json::to_string(&self.address()).unwrap_or_default()
    }
}

pub fn find(conn: &mut DbConnection, user_id: i64) -> QueryResult<Option<AddressRow>> {
    addresses::table.find(user_id).get_result(conn).optional()
}

/// The addresses of `users` (a purchase batch's buyers), as order snapshots, in one query.
pub fn snapshots_of(conn: &mut DbConnection, users: &[i64]) -> QueryResult<HashMap<i64, String>> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<AddressRow> = addresses::table
        .filter(addresses::user_id.eq_any(users))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.user_id, r.snapshot()))
        .collect())
}

/// Inserts or replaces the user's address (a read then a write: the accounts writer runs it
/// in one write transaction; the primary key refuses a second row).
pub fn put(conn: &mut DbConnection, row: &AddressRow) -> QueryResult<AddressRow> {
    let updated: Option<AddressRow> = diesel::update(addresses::table.find(row.user_id))
        .set(row)
        .returning(addresses::all_columns)
        .get_result(conn)
        .optional()?;
    match updated {
        Some(row) => Ok(row),
        None => diesel::insert_into(addresses::table)
            .values(row)
            .returning(addresses::all_columns)
            .get_result(conn),
    }
}

/// A buyer's paid orders that have no address yet, as (order id, listing id), oldest first
/// (the partial index `orders_buyer_unaddressed`), at most `limit`.
pub fn unaddressed_orders(
    conn: &mut DbConnection,
    buyer_id: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    orders::table
        .filter(orders::buyer_id.eq(buyer_id))
        .filter(orders::status.eq(OrderStatus::Paid))
        .filter(orders::ship_to.is_null())
        .select((orders::id, orders::listing_id))
        .order(orders::id.asc())
        .limit(limit)
        .load(conn)
}
