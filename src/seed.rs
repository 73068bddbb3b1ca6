//! Seeding: users with live logins and money, made straight in the database. Used by the
//! load generator and the tests, which need hundreds of users without paying for Argon2 each
//! time (login is exercised on its own elsewhere).

use crate::auth;
use bazaar_actors::domain::ledger::deposit;
use bazaar_actors::domain::{Money, UserId};
use bazaar_actors::store::models::{NewLogin, NewUser};
use bazaar_actors::store::{self, ledger, users, PooledConn, StoreError};

/// A seeded user and a bearer token for them.
#[derive(Clone, Debug)]
pub struct SeededUser {
    pub id: i64,
    pub token: String,
}

/// Creates `username` with a login valid for a day and `balance_cents` in their wallet.
pub fn user(
    conn: &mut PooledConn,
    username: &str,
    balance_cents: i64,
) -> Result<SeededUser, StoreError> {
    let now = store::now();
    let user = users::insert_user(
        conn,
        &NewUser {
            username,
            display_name: username,
            password_hash: "seeded: no password",
            created_at: now,
        },
    )?;
    let token = auth::new_token();
    users::insert_login(
        conn,
        &NewLogin {
            user_id: user.id,
            token_hash: &auth::token_hash(&token),
            created_at: now,
            expires_at: now + chrono::Duration::days(1),
        },
    )?;
    if balance_cents > 0 {
        let posting = deposit(UserId(user.id), Money::from_cents(balance_cents));
        conn.write_transaction(|conn| {
            ledger::post(conn, &posting, None, None).map_err(|e| match e {
                ledger::LedgerError::Db(e) => StoreError::Query(e),
                other => StoreError::Config(other.to_string()),
            })
        })?;
    }
    Ok(SeededUser { id: user.id, token })
}
