//! Users and their logins (the `sessions` table: bearer tokens, stored as SHA-256 only).

use super::models::{Login, NewLogin, NewUser, User};
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
        .get_result(conn)
        .optional()
}

pub fn insert_login(conn: &mut DbConnection, login: &NewLogin<'_>) -> QueryResult<Login> {
    diesel::insert_into(sessions::table)
        .values(login)
        .returning(sessions::all_columns)
        .get_result(conn)
}

/// The login with this token hash and its user, if it is neither expired nor revoked.
pub fn find_live_login(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(Login, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::revoked_at.is_null())
        .select((sessions::all_columns, users::all_columns))
        .get_result(conn)
        .optional()
}

pub fn revoke_login(
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
    users::table.find(id).get_result(conn).optional()
}

/// Applies a profile change (display name, bio); the user as changed, or `None` if unknown.
pub fn update_profile(
    conn: &mut DbConnection,
    user: crate::domain::UserId,
    patch: &crate::domain::profile::ProfilePatch,
) -> QueryResult<Option<User>> {
    if patch.is_empty() {
        return find(conn, user.0);
    }
    diesel::update(users::table.find(user.0))
        .set((
            patch
                .display_name
                .as_deref()
                .map(|n| users::display_name.eq(n)),
            patch.bio.as_deref().map(|b| users::bio.eq(b)),
        ))
        .returning(users::all_columns)
        .get_result(conn)
        .optional()
}

/// Sets (`Some((small, large))`) or clears `user`'s avatar keys; the user as changed.
pub fn set_avatar(
    conn: &mut DbConnection,
    user: crate::domain::UserId,
    keys: Option<(&str, &str)>,
) -> QueryResult<Option<User>> {
    diesel::update(users::table.find(user.0))
        .set((
            users::avatar_small_key.eq(keys.map(|k| k.0)),
            users::avatar_large_key.eq(keys.map(|k| k.1)),
        ))
        .returning(users::all_columns)
        .get_result(conn)
        .optional()
}

/// The avatar keys (small, large) of those of `ids` that have one, in one query.
pub fn avatars(
    conn: &mut DbConnection,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, (String, String)>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, Option<String>, Option<String>)> = users::table
        .filter(users::id.eq_any(ids))
        .filter(users::avatar_small_key.is_not_null())
        .select((users::id, users::avatar_small_key, users::avatar_large_key))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, small, large)| Some((id, (small?, large?))))
        .collect())
}

/// Whether user `id` is suspended at `now` (an unknown user is not).
pub fn is_suspended(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let found: Option<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = users::table
        .find(id)
        .select((users::suspended_at, users::suspended_until))
        .get_result(conn)
        .optional()?;
    Ok(found.is_some_and(|(since, until)| {
        crate::domain::moderation::suspension_in_force(since, until, now)
    }))
}

/// Sets the role of the user named `username`; the user as changed, or `None` if there is none.
pub fn set_role(
    conn: &mut DbConnection,
    username: &str,
    role: crate::domain::moderation::Role,
) -> QueryResult<Option<User>> {
    diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::role.eq(role))
        .returning(users::all_columns)
        .get_result(conn)
        .optional()
}

/// Suspends a user from `now` until `until` (`None`: until lifted); the user as changed.
pub fn suspend(
    conn: &mut DbConnection,
    user: crate::domain::UserId,
    until: Option<NaiveDateTime>,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<User>> {
    diesel::update(users::table.find(user.0))
        .set((
            users::suspended_at.eq(Some(now)),
            users::suspended_until.eq(until),
            users::suspension_reason.eq(Some(reason)),
        ))
        .returning(users::all_columns)
        .get_result(conn)
        .optional()
}

/// Lifts a user's suspension; the user as changed.
pub fn unsuspend(
    conn: &mut DbConnection,
    user: crate::domain::UserId,
) -> QueryResult<Option<User>> {
    diesel::update(users::table.find(user.0))
        .set((
            users::suspended_at.eq(None::<NaiveDateTime>),
            users::suspended_until.eq(None::<NaiveDateTime>),
            users::suspension_reason.eq(None::<String>),
        ))
        .returning(users::all_columns)
        .get_result(conn)
        .optional()
}

/// Revokes every live login of `user`; the logins revoked.
pub fn revoke_all_logins(
    conn: &mut DbConnection,
    user: crate::domain::UserId,
    now: NaiveDateTime,
) -> QueryResult<Vec<LoginId>> {
    let ids: Vec<i64> = diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user.0))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .returning(sessions::id)
    .get_results(conn)?;
    Ok(ids.into_iter().map(LoginId).collect())
}
