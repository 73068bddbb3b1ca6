//! The moderators' audit log: append-only. An entry is appended inside the transaction of the
//! action it records, so an action and its entry commit together or not at all. Nothing here
//! updates or deletes, and triggers on both backends refuse it (see the 000601 migration).

use super::schema::audit_log;
use super::DbConnection;
use crate::domain::moderation::AuditTarget;
use crate::domain::UserId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A row of the audit log. `actor_id` is `None` for the operator at the command line.
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub action: String,
    pub target_type: AuditTarget,
    pub target_id: i64,
    pub note: String,
    pub created_at: NaiveDateTime,
}

/// An entry to append: who (`None`: the operator at the command line) did what to which target.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub target_type: AuditTarget,
    pub target_id: i64,
    pub note: &'a str,
    pub created_at: NaiveDateTime,
}

impl<'a> NewAuditEntry<'a> {
    /// An entry made now.
    pub fn new(
        actor: Option<UserId>,
        action: &'a str,
        target: AuditTarget,
        target_id: i64,
        note: &'a str,
    ) -> Self {
        NewAuditEntry {
            actor_id: actor.map(|a| a.0),
            action,
            target_type: target,
            target_id,
            note,
            created_at: super::now(),
        }
    }
}

/// Appends `entry`; call it inside the transaction of the action it records.
pub fn append(conn: &mut DbConnection, entry: &NewAuditEntry<'_>) -> QueryResult<AuditEntry> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .returning(audit_log::all_columns)
        .get_result(conn)
}

/// Entries newest first, before id `before` (all when `None`), optionally only those about one
/// target; `limit` rows. Served by the primary key, or by `audit_log_target`.
pub fn page(
    conn: &mut DbConnection,
    before: Option<i64>,
    target: Option<(AuditTarget, i64)>,
    limit: i64,
) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    if let Some((target_type, target_id)) = target {
        query = query
            .filter(audit_log::target_type.eq(target_type))
            .filter(audit_log::target_id.eq(target_id));
    }
    query.load(conn)
}
