//! Accounts: signing up, logging in and out, the socket tickets a login issues, one's profile
//! and shipping address. Every write to `users`, `sessions`, `ws_tickets` and `addresses` the
//! edges cause is made here; they hash passwords and
//! tokens (CPU work that touches no table) and call these.

use crate::directory::{send_to_listing, Directory};
use crate::domain::account::LOGIN_TTL_DAYS;
use crate::domain::address::Address;
use crate::domain::moderation::{action, AuditTarget, Role};
use crate::domain::profile::ProfilePatch;
use crate::domain::{ListingId, LoginId, OrderId, UserId};
use crate::listing::FillShipTo;
use crate::logins::Logins;
use crate::relay::announce_logout;
use crate::store::addresses::{self, AddressRow};
use crate::store::audit::{self, NewAuditEntry};
use crate::store::models::{Login, NewLogin, NewUser, User};
use crate::store::{self, is_unique_violation, tickets, users, Pool, StoreError};
use crate::user::{RevokeLogin, Users};
use actix::Addr;
use chrono::NaiveDateTime;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the username {0:?} is taken")]
    UsernameTaken(String),
    #[error("no user is named {0:?}")]
    UnknownUser(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A validated sign-up whose password is already hashed.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
}

/// Creates the user with an empty wallet.
pub async fn register(pool: &Pool, account: NewAccount) -> Result<User, AccountError> {
    pool.run(move |conn| {
        let new = NewUser {
            username: &account.username,
            display_name: &account.display_name,
            password_hash: &account.password_hash,
            created_at: store::now(),
        };
        users::insert_user(conn, &new).map_err(|e| {
            if is_unique_violation(&e) {
                AccountError::UsernameTaken(account.username.clone())
            } else {
                StoreError::from(e).into()
            }
        })
    })
    .await
}

/// Opens a login for `user` whose bearer token hashes to `token_hash`, good for
/// [`LOGIN_TTL_DAYS`].
pub async fn log_in(pool: &Pool, user: UserId, token_hash: String) -> Result<Login, StoreError> {
    pool.run(move |conn| {
        let now = store::now();
        let login = NewLogin {
            user_id: user.0,
            token_hash: &token_hash,
            created_at: now,
            expires_at: now + chrono::Duration::days(LOGIN_TTL_DAYS),
        };
        Ok(conn.write(|conn| users::insert_login(conn, &login))?)
    })
    .await
}

/// Revokes a login and closes its sockets, here and (through the relay's doorbell) in every
/// other process. The login is forgotten by this process's cache before the revocation, so it
/// is not trusted even if the write fails, and again after it commits, since a request that
/// read it before the commit may have cached it.
pub async fn log_out(
    pool: &Pool,
    logins: &Logins,
    users: &Addr<Users>,
    user: UserId,
    login: LoginId,
) -> Result<(), StoreError> {
    logins.forget_login(login);
    pool.run(move |conn| {
        conn.write(|conn| {
            users::revoke_login(conn, login, store::now())?;
            announce_logout(conn, user, login)
        })
        .map_err(StoreError::from)
    })
    .await?;
    logins.forget_login(login);
    users.do_send(RevokeLogin { user, login });
    Ok(())
}

/// Stores a single-use socket ticket for the login, good for `ttl`; returns when it expires.
pub async fn issue_ticket(
    pool: &Pool,
    ticket_hash: String,
    user: UserId,
    login: LoginId,
    ttl: chrono::Duration,
) -> Result<NaiveDateTime, StoreError> {
    pool.run(move |conn| {
        let expires_at = store::now() + ttl;
        conn.write(|conn| tickets::insert(conn, &ticket_hash, user, login, expires_at))?;
        Ok(expires_at)
    })
    .await
}

/// Uses a socket ticket up: the user and login it was issued to, if it was unused and
/// unexpired (a second use fails even when two upgrades race).
pub async fn redeem_ticket(
    pool: &Pool,
    ticket_hash: String,
) -> Result<Option<(UserId, LoginId)>, StoreError> {
    pool.run(move |conn| Ok(conn.write(|conn| tickets::redeem(conn, &ticket_hash, store::now()))?))
        .await
}

/// Gives the user named `username` the role `role`: the operator's `bazaar admin grant` and
/// `revoke` (to `user`). The change and its audit entry (by the operator: no actor) commit
/// together. Moderator routes read the role afresh on every request, so it holds at once.
pub async fn set_role(pool: &Pool, username: String, role: Role) -> Result<User, AccountError> {
    pool.run(move |conn| {
        type Outcome = Result<User, AccountError>;
        conn.write_transaction(|conn| -> Result<Outcome, diesel::result::Error> {
            let Some(user) = users::set_role(conn, &username, role)? else {
                return Ok(Err(AccountError::UnknownUser(username.clone())));
            };
            let (what, note) = match role {
                Role::User => (action::ROLE_REVOKED, String::new()),
                granted => (action::ROLE_GRANTED, granted.as_str().to_owned()),
            };
            let entry = NewAuditEntry::new(None, what, AuditTarget::User, user.id, &note);
            audit::append(conn, &entry)?;
            Ok(Ok(user))
        })
        .map_err(StoreError::from)?
    })
    .await
}

/// Changes how others see `user` (display name, bio); the user as changed. Cached logins of
/// this process are forgotten so the caller's next request reads the change.
pub async fn update_profile(
    pool: &Pool,
    logins: &Logins,
    user: UserId,
    login: LoginId,
    patch: ProfilePatch,
) -> Result<User, AccountError> {
    let changed = pool
        .run(move |conn| -> Result<_, StoreError> {
            Ok(conn.write(|conn| users::update_profile(conn, user, &patch))?)
        })
        .await?;
    logins.forget_login(login);
    changed.ok_or_else(|| AccountError::UnknownUser(user.to_string()))
}

/// The stored keys of an avatar's two squares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvatarKeys {
    /// 240 px.
    pub small: String,
    /// 640 px.
    pub large: String,
}

/// Sets (`Some`) or removes (`None`) `user`'s avatar; the user as changed. The files must be
/// stored already; the ones no longer named are deleted later by the media sweep. Cached
/// logins of this process are forgotten as for [`update_profile`].
pub async fn set_avatar(
    pool: &Pool,
    logins: &Logins,
    user: UserId,
    login: LoginId,
    avatar: Option<AvatarKeys>,
) -> Result<User, AccountError> {
    let changed = pool
        .run(move |conn| -> Result<_, StoreError> {
            let keys = avatar
                .as_ref()
                .map(|k| (k.small.as_str(), k.large.as_str()));
            Ok(conn.write(|conn| users::set_avatar(conn, user, keys))?)
        })
        .await?;
    logins.forget_login(login);
    changed.ok_or_else(|| AccountError::UnknownUser(user.to_string()))
}

/// The most open orders one address change fills at once (an address is usually added with
/// one or two orders waiting; any more wait for the next address change).
pub const MAX_ORDERS_FILLED: i64 = 100;

/// Stores `user`'s shipping address (replacing any), then gives it to their paid orders that
/// have none, each through its listing's actor (the orders' writer). Returns the stored
/// address and how many orders received it. A purchase that read "no address" just before
/// this commit and committed just after the waiting orders were read is not filled: its
/// shipment is refused, the buyer told, and their next address change fills it.
pub async fn set_address(
    pool: &Pool,
    directory: &Addr<Directory>,
    user: UserId,
    address: Address,
) -> Result<(AddressRow, usize), AccountError> {
    let (row, waiting) = pool
        .run(move |conn| -> Result<_, StoreError> {
            let row = AddressRow::new(user.0, &address, store::now());
            let stored = conn.write_transaction(|conn| -> Result<_, diesel::result::Error> {
                addresses::put(conn, &row)
            })?;
            let waiting = addresses::unaddressed_orders(conn, user.0, MAX_ORDERS_FILLED)?;
            Ok((stored, waiting))
        })
        .await?;
    let mut filled = 0;
    for (order, listing) in waiting {
        let command = FillShipTo {
            order: OrderId(order),
            buyer: user,
        };
        match send_to_listing(directory, ListingId(listing), command).await {
            Ok(Ok(Some(_))) => filled += 1,
            Ok(Ok(None)) => {}
            // The address is stored; an order left without it is still refused shipping
            // (and its buyer told), and the next address change fills it.
            Ok(Err(e)) => {
                tracing::warn!(order.id = order, error = %e, "order not given the address")
            }
            Err(e) => tracing::warn!(order.id = order, error = %e, "order not given the address"),
        }
    }
    Ok((row, filled))
}
