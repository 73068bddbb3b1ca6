//! Dispute rows: opened with the order moving to `disputed`, escalated by the dispute timer,
//! resolved once. Written only by the order's listing actor, in the order's transaction.

use super::models::Order;
use super::schema::{disputes, orders};
use super::DbConnection;
use crate::domain::dispute::{DisputeOutcome, DisputeReason, DisputeState, Settlement};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Dispute {
    pub id: i64,
    pub order_id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub reason: DisputeReason,
    pub note: String,
    pub escalate_at: NaiveDateTime,
    pub escalated_at: Option<NaiveDateTime>,
    pub outcome: Option<DisputeOutcome>,
    pub buyer_cents: Option<i64>,
    pub seller_cents: Option<i64>,
    pub fee_cents: Option<i64>,
    pub resolved_by: Option<i64>,
    pub resolution_note: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Dispute {
    pub fn state(&self) -> DisputeState {
        DisputeState {
            escalate_at: self.escalate_at,
            escalated_at: self.escalated_at,
            resolved_at: self.resolved_at,
        }
    }
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = disputes)]
pub struct NewDispute<'a> {
    pub order_id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub reason: DisputeReason,
    pub note: &'a str,
    pub escalate_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// How a dispute ended: the outcome, where the money went, who decided and why.
#[derive(Clone, Debug)]
pub struct DisputeResolution<'a> {
    pub outcome: DisputeOutcome,
    pub settlement: Settlement,
    pub resolved_by: i64,
    pub note: Option<&'a str>,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewDispute<'_>) -> QueryResult<Dispute> {
    diesel::insert_into(disputes::table)
        .values(new)
        .returning(disputes::all_columns)
        .get_result(conn)
}

/// The dispute of an order, if it has one (an order is disputed at most once).
pub fn of_order(conn: &mut DbConnection, order_id: i64) -> QueryResult<Option<Dispute>> {
    disputes::table
        .filter(disputes::order_id.eq(order_id))
        .get_result(conn)
        .optional()
}

/// Marks an open dispute escalated; `None` if it was resolved or escalated meanwhile.
pub fn escalate(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<Dispute>> {
    diesel::update(
        disputes::table
            .filter(disputes::id.eq(id))
            .filter(disputes::resolved_at.is_null())
            .filter(disputes::escalated_at.is_null()),
    )
    .set(disputes::escalated_at.eq(now))
    .returning(disputes::all_columns)
    .get_result(conn)
    .optional()
}

/// Records how an open dispute ended; `None` if it was resolved meanwhile.
pub fn resolve(
    conn: &mut DbConnection,
    id: i64,
    resolution: &DisputeResolution<'_>,
) -> QueryResult<Option<Dispute>> {
    let s = &resolution.settlement;
    diesel::update(
        disputes::table
            .filter(disputes::id.eq(id))
            .filter(disputes::resolved_at.is_null()),
    )
    .set((
        disputes::outcome.eq(Some(resolution.outcome)),
        disputes::buyer_cents.eq(Some(s.to_buyer.cents())),
        disputes::seller_cents.eq(Some(s.to_seller.cents())),
        disputes::fee_cents.eq(Some(s.fee.cents())),
        disputes::resolved_by.eq(Some(resolution.resolved_by)),
        disputes::resolution_note.eq(resolution.note),
        disputes::resolved_at.eq(Some(resolution.at)),
    ))
    .returning(disputes::all_columns)
    .get_result(conn)
    .optional()
}

/// Open disputes whose timer passed and that are not escalated yet: (order id, listing id),
/// through the partial index `disputes_due`.
pub fn due_to_escalate(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    disputes::table
        .filter(disputes::resolved_at.is_null())
        .filter(disputes::escalated_at.is_null())
        .filter(disputes::escalate_at.le(now))
        .select((disputes::order_id, disputes::listing_id))
        .order(disputes::escalate_at.asc())
        .limit(limit)
        .load(conn)
}

/// A position in the moderators' queue: the last dispute of a page and whether it was
/// escalated (escalated disputes come first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuePosition {
    pub escalated: bool,
    pub id: i64,
}

/// Unresolved disputes with their orders, escalated first, then oldest first, after `after`
/// (the index `disputes_queue` keeps this order).
pub fn queue(
    conn: &mut DbConnection,
    after: Option<QueuePosition>,
    limit: i64,
) -> QueryResult<Vec<(Dispute, Order)>> {
    let mut query = disputes::table
        .inner_join(orders::table)
        .filter(disputes::resolved_at.is_null())
        .select((disputes::all_columns, orders::all_columns))
        .order((disputes::escalated_at.is_null().asc(), disputes::id.asc()))
        .limit(limit)
        .into_boxed();
    query = match after {
        None => query,
        Some(QueuePosition {
            escalated: true,
            id,
        }) => query.filter(disputes::escalated_at.is_null().or(disputes::id.gt(id))),
        Some(QueuePosition {
            escalated: false,
            id,
        }) => query
            .filter(disputes::escalated_at.is_null())
            .filter(disputes::id.gt(id)),
    };
    query.load(conn)
}
