//! The ledger: append-only balanced transactions, with each user's two balances (wallet and
//! escrow) kept in `wallets` in the same transaction. A posting that would take a balance
//! below zero is refused and nothing of it is written.

use super::models::{LedgerEntry, LedgerTransaction, Wallet};
use super::schema::{ledger_entries, ledger_transactions, wallets};
use super::DbConnection;
use crate::domain::ledger::{Account, Posting};
use crate::domain::UserId;
use diesel::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("insufficient funds in {0}")]
    InsufficientFunds(Account),
    #[error("the posting does not balance")]
    Unbalanced,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Creates the user's (empty) balances; call it with the user's insert.
pub fn open_wallet(conn: &mut DbConnection, user: UserId) -> QueryResult<()> {
    diesel::insert_into(wallets::table)
        .values(wallets::user_id.eq(user.0))
        .execute(conn)
        .map(drop)
}

pub fn wallet(conn: &mut DbConnection, user: UserId) -> QueryResult<Wallet> {
    wallets::table.find(user.0).first(conn)
}

/// Writes `posting` as one ledger transaction. `reference`, when given, is unique: posting the
/// same reference twice is a unique violation (used for provider event ids).
pub fn post(
    conn: &mut DbConnection,
    posting: &Posting,
    order_id: Option<i64>,
    reference: Option<&str>,
) -> Result<i64, LedgerError> {
    if posting.sum() != 0 {
        return Err(LedgerError::Unbalanced);
    }
    let now = super::now();
    let transaction_id: i64 = diesel::insert_into(ledger_transactions::table)
        .values((
            ledger_transactions::kind.eq(posting.kind.as_str()),
            ledger_transactions::order_id.eq(order_id),
            ledger_transactions::reference.eq(reference),
            ledger_transactions::created_at.eq(now),
        ))
        .returning(ledger_transactions::id)
        .get_result(conn)?;
    // Balances are locked in user order, so two postings never wait on each other in a cycle.
    let mut entries = posting.entries.clone();
    entries.sort_by_key(|(account, _)| account.owner());
    for (account, amount) in &entries {
        diesel::insert_into(ledger_entries::table)
            .values((
                ledger_entries::transaction_id.eq(transaction_id),
                ledger_entries::account.eq(account.key()),
                ledger_entries::amount_cents.eq(amount.cents()),
                ledger_entries::created_at.eq(now),
            ))
            .execute(conn)?;
        let delta = amount.cents();
        let moved = match account {
            Account::Wallet(user) => diesel::update(
                wallets::table
                    .find(user.0)
                    .filter((wallets::available_cents + delta).ge(0)),
            )
            .set(wallets::available_cents.eq(wallets::available_cents + delta))
            .execute(conn)?,
            Account::Escrow(user) => diesel::update(
                wallets::table
                    .find(user.0)
                    .filter((wallets::escrow_cents + delta).ge(0)),
            )
            .set(wallets::escrow_cents.eq(wallets::escrow_cents + delta))
            .execute(conn)?,
            Account::PlatformFees | Account::External => 1,
        };
        if moved == 0 {
            return Err(LedgerError::InsufficientFunds(*account));
        }
    }
    Ok(transaction_id)
}

/// The user's most recent entries (wallet and escrow), newest first, before entry `before`.
pub fn entries_of(
    conn: &mut DbConnection,
    user: UserId,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(LedgerEntry, LedgerTransaction)>> {
    let accounts = [Account::Wallet(user).key(), Account::Escrow(user).key()];
    let mut query = ledger_entries::table
        .inner_join(ledger_transactions::table)
        .filter(ledger_entries::account.eq_any(accounts))
        .select((
            ledger_entries::all_columns,
            ledger_transactions::all_columns,
        ))
        .order(ledger_entries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(ledger_entries::id.lt(before));
    }
    query.load(conn)
}

/// The sum of every entry of `account` (for accounts without a balance row, and for checks).
/// Summed here: SQL's SUM of BIGINT is NUMERIC on PostgreSQL but BIGINT on SQLite.
pub fn balance(conn: &mut DbConnection, account: &Account) -> QueryResult<i64> {
    ledger_entries::table
        .filter(ledger_entries::account.eq(account.key()))
        .select(ledger_entries::amount_cents)
        .load::<i64>(conn)
        .map(|amounts| amounts.into_iter().sum())
}

/// Every transaction's entries summed: each is zero when the ledger balances.
pub fn unbalanced_transactions(conn: &mut DbConnection) -> QueryResult<Vec<(i64, i64)>> {
    let rows: Vec<(i64, i64)> = ledger_entries::table
        .select((ledger_entries::transaction_id, ledger_entries::amount_cents))
        .load(conn)?;
    let mut sums = std::collections::BTreeMap::new();
    for (tx, amount) in rows {
        *sums.entry(tx).or_insert(0i64) += amount;
    }
    Ok(sums.into_iter().filter(|(_, sum)| *sum != 0).collect())
}
