//! WebSocket tickets: single use, short-lived, stored as SHA-256.

use super::schema::ws_tickets;
use super::DbConnection;
use crate::domain::{LoginId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(
    conn: &mut DbConnection,
    ticket_hash: &str,
    user: UserId,
    login: LoginId,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(ws_tickets::table)
        .values((
            ws_tickets::ticket_hash.eq(ticket_hash),
            ws_tickets::user_id.eq(user.0),
            ws_tickets::session_id.eq(login.0),
            ws_tickets::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Uses the ticket up: the user and login it was issued to, if it was unused and unexpired. The guarded
/// UPDATE makes a second use fail even when two upgrades race.
pub fn redeem(
    conn: &mut DbConnection,
    ticket_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(UserId, LoginId)>> {
    diesel::update(
        ws_tickets::table
            .filter(ws_tickets::ticket_hash.eq(ticket_hash))
            .filter(ws_tickets::used_at.is_null())
            .filter(ws_tickets::expires_at.gt(now)),
    )
    .set(ws_tickets::used_at.eq(now))
    .returning((ws_tickets::user_id, ws_tickets::session_id))
    .get_result::<(i64, i64)>(conn)
    .optional()
    .map(|row| row.map(|(user, login)| (UserId(user), LoginId(login))))
}
