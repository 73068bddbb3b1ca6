//! Wallet movements: sandbox deposits, withdrawals, and deposits the payment provider confirms.
//! Each is one balanced ledger posting in a transaction of its own; the ledger refuses one that
//! would take a balance below zero.

use crate::domain::ledger::{self as postings, Posting};
use crate::domain::{Money, UserId};
use crate::idempotency::{ClaimLost, KeyCompletion};
use crate::store::ledger::{self, LedgerError};
use crate::store::models::Wallet;
use crate::store::{is_unique_violation, users, Pool, PooledConn, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("no such user")]
    NoSuchUser,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request's Idempotency-Key claim was taken over: nothing was posted.
    #[error(transparent)]
    ClaimLost(#[from] ClaimLost),
}

impl From<diesel::result::Error> for WalletError {
    fn from(e: diesel::result::Error) -> Self {
        WalletError::Ledger(LedgerError::Db(e))
    }
}

/// What the owner of a wallet may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovementKind {
    Deposit,
    Withdrawal,
}

/// A posted movement and the balances after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub transaction_id: i64,
    pub amount: Money,
    pub wallet: Wallet,
}

/// What became of a provider's payment event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credit {
    Processed,
    /// The event was credited before (its id is the posting's unique reference).
    Duplicate,
}

/// Deposits into or withdraws from `user`'s wallet; with `key`, the request's response
/// commits with the posting.
pub async fn move_money(
    pool: &Pool,
    user: UserId,
    kind: MovementKind,
    amount: Money,
    key: Option<KeyCompletion<Movement>>,
) -> Result<Movement, WalletError> {
    let posting = match kind {
        MovementKind::Deposit => postings::deposit(user, amount),
        MovementKind::Withdrawal => postings::withdrawal(user, amount),
    };
    pool.run(move |conn| post_movement(conn, user, amount, &posting, None, key.as_ref()))
        .await
}

/// Credits a payment the provider confirmed, once per provider event id.
pub async fn credit_payment(
    pool: &Pool,
    user: UserId,
    amount: Money,
    event_id: &str,
) -> Result<Credit, WalletError> {
    let reference = format!("webhook:{event_id}");
    pool.run(move |conn| {
        if users::find(conn, user.0)
            .map_err(StoreError::from)?
            .is_none()
        {
            return Err(WalletError::NoSuchUser);
        }
        let posting = postings::deposit(user, amount);
        match post_movement(conn, user, amount, &posting, Some(&reference), None) {
            Ok(_) => Ok(Credit::Processed),
            Err(WalletError::Ledger(LedgerError::Db(e))) if is_unique_violation(&e) => {
                Ok(Credit::Duplicate)
            }
            Err(e) => Err(e),
        }
    })
    .await
}

/// Posts a movement of `amount` in its own transaction and returns the balances after it.
/// A keyed request holds its claim first and stores its response with the posting.
fn post_movement(
    conn: &mut PooledConn,
    user: UserId,
    amount: Money,
    posting: &Posting,
    reference: Option<&str>,
    key: Option<&KeyCompletion<Movement>>,
) -> Result<Movement, WalletError> {
    conn.write_transaction(|conn| {
        if let Some(key) = key {
            if !key.hold(conn)? {
                return Err(ClaimLost.into());
            }
        }
        let transaction_id = ledger::post(conn, posting, None, reference)?;
        let wallet = ledger::wallet(conn, user)?;
        let movement = Movement {
            transaction_id,
            amount,
            wallet,
        };
        if let Some(key) = key {
            key.answer(conn, &movement)?;
        }
        Ok(movement)
    })
}
