//! WebSocket tickets: single use, short-lived, stored as SHA-256.

use super::schema::ws_tickets;
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(
    conn: &mut DbConnection,
    ticket_hash: &str,
    user_id: i64,
    session_id: i64,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(ws_tickets::table)
        .values((
            ws_tickets::ticket_hash.eq(ticket_hash),
            ws_tickets::user_id.eq(user_id),
            ws_tickets::session_id.eq(session_id),
            ws_tickets::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Uses the ticket up: (user id, session id) if it was unused and unexpired. The guarded
/// UPDATE makes a second use fail even when two upgrades race.
pub fn redeem(
    conn: &mut DbConnection,
    ticket_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(i64, i64)>> {
    diesel::update(
        ws_tickets::table
            .filter(ws_tickets::ticket_hash.eq(ticket_hash))
            .filter(ws_tickets::used_at.is_null())
            .filter(ws_tickets::expires_at.gt(now)),
    )
    .set(ws_tickets::used_at.eq(now))
    .returning((ws_tickets::user_id, ws_tickets::session_id))
    .get_result(conn)
    .optional()
}
