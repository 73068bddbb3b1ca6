//! Users and their sessions (bearer tokens, stored as SHA-256 only).

use super::models::{NewSession, NewUser, Session, User};
use super::schema::{sessions, users};
use super::DbConnection;
use crate::domain::LoginId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Inserts a user with an empty wallet; a taken username is a unique violation (see
/// `is_unique_violation`).
pub fn insert_user(conn: &mut super::PooledConn, user: &NewUser<'_>) -> QueryResult<User> {
    conn.write_transaction(|conn| {
        let user: User = diesel::insert_into(users::table)
            .values(user)
            .returning(users::all_columns)
            .get_result(conn)?;
        super::ledger::open_wallet(conn, crate::domain::UserId(user.id))?;
        Ok(user)
    })
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username.eq(username))
        .first(conn)
        .optional()
}

pub fn insert_session(conn: &mut DbConnection, session: &NewSession<'_>) -> QueryResult<Session> {
    diesel::insert_into(sessions::table)
        .values(session)
        .returning(sessions::all_columns)
        .get_result(conn)
}

/// The session with this token hash and its user, if it is neither expired nor revoked.
pub fn find_live_session(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(Session, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::revoked_at.is_null())
        .select((sessions::all_columns, users::all_columns))
        .first(conn)
        .optional()
}

pub fn revoke_session(
    conn: &mut DbConnection,
    login: LoginId,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(sessions::table.find(login.0))
        .set(sessions::revoked_at.eq(now))
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<User>> {
    users::table.find(id).first(conn).optional()
}
