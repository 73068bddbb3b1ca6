//! Reports and what the report rules need to know about a target.

use super::schema::{conversations, listings, messages, reports, users};
use super::DbConnection;
use crate::domain::listing::ListingStatus;
use crate::domain::report::{ReportReason, ReportStatus, ReportTarget, Resolution, TargetFacts};
use crate::domain::UserId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Report {
    pub id: i64,
    pub reporter_id: i64,
    pub target_type: ReportTarget,
    pub target_id: i64,
    pub reason: ReportReason,
    pub note: String,
    pub status: ReportStatus,
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolution_note: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = reports)]
pub struct NewReport<'a> {
    pub reporter_id: i64,
    pub target_type: ReportTarget,
    pub target_id: i64,
    pub reason: ReportReason,
    pub note: &'a str,
    pub status: ReportStatus,
    pub created_at: NaiveDateTime,
}

/// Inserts an open report; a second open one by the same reporter about the same target is a
/// unique violation (`reports_one_open`).
pub fn insert(conn: &mut DbConnection, report: &NewReport<'_>) -> QueryResult<Report> {
    diesel::insert_into(reports::table)
        .values(report)
        .returning(reports::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Report>> {
    reports::table.find(id).get_result(conn).optional()
}

/// Reports with `status`, oldest first, after id `after`; served by `reports_queue`.
pub fn queue(
    conn: &mut DbConnection,
    status: ReportStatus,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Report>> {
    reports::table
        .filter(reports::status.eq(status))
        .filter(reports::id.gt(after))
        .order(reports::id.asc())
        .limit(limit)
        .load(conn)
}

/// Resolves an open report; `None` if it is not open (any more).
pub fn resolve(
    conn: &mut DbConnection,
    id: i64,
    resolution: Resolution,
    by: UserId,
    note: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Report>> {
    diesel::update(
        reports::table
            .find(id)
            .filter(reports::status.eq(ReportStatus::Open)),
    )
    .set((
        reports::status.eq(ReportStatus::Resolved),
        reports::resolution.eq(Some(resolution)),
        reports::resolved_by.eq(Some(by.0)),
        reports::resolved_at.eq(Some(now)),
        reports::resolution_note.eq(Some(note)),
    ))
    .returning(reports::all_columns)
    .get_result(conn)
    .optional()
}

/// What the report rules need about a target, as `reporter` would see it; `None` if there is
/// no such target.
pub fn target_facts(
    conn: &mut DbConnection,
    reporter: UserId,
    target: ReportTarget,
    id: i64,
) -> QueryResult<Option<TargetFacts>> {
    Ok(match target {
        ReportTarget::User => users::table
            .find(id)
            .select(users::id)
            .get_result::<i64>(conn)
            .optional()?
            .map(|owner| TargetFacts {
                owner: UserId(owner),
                visible_to_reporter: true,
            }),
        ReportTarget::Listing => listings::table
            .find(id)
            .select((listings::seller_id, listings::status))
            .get_result::<(i64, ListingStatus)>(conn)
            .optional()?
            .map(|(seller, status)| TargetFacts {
                owner: UserId(seller),
                visible_to_reporter: status != ListingStatus::Draft || seller == reporter.0,
            }),
        ReportTarget::Message => messages::table
            .inner_join(conversations::table)
            .filter(messages::id.eq(id))
            .select((
                messages::sender_id,
                conversations::buyer_id,
                conversations::seller_id,
            ))
            .get_result::<(i64, i64, i64)>(conn)
            .optional()?
            .map(|(sender, buyer, seller)| TargetFacts {
                owner: UserId(sender),
                visible_to_reporter: reporter.0 == buyer || reporter.0 == seller,
            }),
    })
}

/// The user a report's target belongs to (the user, the seller, the sender).
pub fn target_owner(
    conn: &mut DbConnection,
    target: ReportTarget,
    id: i64,
) -> QueryResult<Option<UserId>> {
    Ok(target_facts(conn, UserId(0), target, id)?.map(|f| f.owner))
}
