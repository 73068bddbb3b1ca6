//! The ledger: append-only balanced transactions, with each user's two balances (wallet and
//! escrow) kept in `wallets` in the same transaction. A posting that would take a balance
//! below zero is refused and nothing of it is written.

use super::models::{LedgerEntry, LedgerTransaction, Wallet};
use super::prepared::MoveWallet;
use super::schema::{ledger_entries, ledger_transactions, wallets};
use super::DbConnection;
use crate::domain::ledger::{Account, Posting};
use crate::domain::{Money, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

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
    wallets::table.find(user.0).get_result(conn)
}

/// Writes `posting` as one ledger transaction. `reference`, when given, is unique: posting the
/// same reference twice is a unique violation (used for provider event ids).
pub fn post(
    conn: &mut DbConnection,
    posting: &Posting,
    order_id: Option<i64>,
    reference: Option<&str>,
) -> Result<i64, LedgerError> {
    let ids = post_all(
        conn,
        &[PostingRow {
            posting,
            order_id,
            reference,
        }],
    )?;
    ids.first().copied().ok_or(LedgerError::Unbalanced)
}

/// One posting of a batch, with what it refers to.
pub struct PostingRow<'a> {
    pub posting: &'a Posting,
    pub order_id: Option<i64>,
    pub reference: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = ledger_transactions)]
struct NewTransaction<'a> {
    kind: &'a str,
    order_id: Option<i64>,
    reference: Option<&'a str>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = ledger_entries)]
struct NewEntry {
    transaction_id: i64,
    account: String,
    amount_cents: i64,
    created_at: NaiveDateTime,
}

/// Writes each posting as its own ledger transaction, all in the caller's transaction, and
/// returns their ids in order. The balances move by each user's net change; if any balance
/// would go below zero nothing is written (the caller's transaction must roll back) and the
/// account at fault is named. A batch costs a fixed number of statements on PostgreSQL,
/// however many postings it holds.
pub fn post_all(conn: &mut DbConnection, rows: &[PostingRow<'_>]) -> Result<Vec<i64>, LedgerError> {
    if rows.iter().any(|row| row.posting.sum() != 0) {
        return Err(LedgerError::Unbalanced);
    }
    let now = super::now();
    let transactions: Vec<NewTransaction<'_>> = rows
        .iter()
        .map(|row| NewTransaction {
            kind: row.posting.kind.as_str(),
            order_id: row.order_id,
            reference: row.reference,
            created_at: now,
        })
        .collect();
    let ids = insert_transactions(conn, &transactions)?;
    let mut entries = Vec::new();
    let mut moves: BTreeMap<UserId, BalanceMove> = BTreeMap::new();
    for (row, transaction_id) in rows.iter().zip(&ids) {
        for (account, amount) in &row.posting.entries {
            entries.push(NewEntry {
                transaction_id: *transaction_id,
                account: account.key(),
                amount_cents: amount.cents(),
                created_at: now,
            });
            match account {
                Account::Wallet(user) => {
                    moves.entry(*user).or_default().available += amount.cents()
                }
                Account::Escrow(user) => moves.entry(*user).or_default().escrow += amount.cents(),
                Account::PlatformFees | Account::External => {}
            }
        }
    }
    insert_entries(conn, &entries)?;
    let moved = move_balances(conn, &moves)?;
    if let Some((user, change)) = moves.iter().find(|(user, _)| !moved.contains(user)) {
        let account = if change.available < 0 {
            Account::Wallet(*user)
        } else {
            Account::Escrow(*user)
        };
        return Err(LedgerError::InsufficientFunds(account));
    }
    Ok(ids)
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Inserts ledger transactions and returns their ids in the order given; on PostgreSQL as
/// arrays (see [`insert_entries`]).
fn insert_transactions(
    conn: &mut DbConnection,
    transactions: &[NewTransaction<'_>],
) -> QueryResult<Vec<i64>> {
    let pg = match conn {
        DbConnection::Postgresql(pg) => pg,
        DbConnection::Sqlite(lite) => {
            return transactions
                .iter()
                .map(|t| {
                    diesel::insert_into(ledger_transactions::table)
                        .values(t)
                        .returning(ledger_transactions::id)
                        .get_result(lite)
                })
                .collect()
        }
    };
    let mut ids: Vec<i64> = diesel::sql_query(
        "INSERT INTO ledger_transactions (kind, order_id, reference, created_at) \
         SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::timestamp[]) \
         RETURNING id",
    )
    .bind::<Array<Text>, _>(transactions.iter().map(|t| t.kind).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(transactions.iter().map(|t| t.order_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(transactions.iter().map(|t| t.reference).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(
        transactions
            .iter()
            .map(|t| t.created_at)
            .collect::<Vec<_>>(),
    )
    .load::<Inserted>(pg)?
    .into_iter()
    .map(|row| row.id)
    .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Inserts ledger entries: on PostgreSQL as arrays, so the statement's text stays the same
/// however many entries a batch has (no VALUES list of thousands to parse).
fn insert_entries(conn: &mut DbConnection, entries: &[NewEntry]) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(pg) => {
            diesel::sql_query(
                "INSERT INTO ledger_entries (transaction_id, account, amount_cents, created_at) \
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::timestamp[])",
            )
            .bind::<Array<BigInt>, _>(entries.iter().map(|e| e.transaction_id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(
                entries
                    .iter()
                    .map(|e| e.account.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<BigInt>, _>(entries.iter().map(|e| e.amount_cents).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(entries.iter().map(|e| e.created_at).collect::<Vec<_>>())
            .execute(pg)?;
        }
        // In-process: a statement per entry costs no round trip.
        DbConnection::Sqlite(lite) => {
            for entry in entries {
                diesel::insert_into(ledger_entries::table)
                    .values(entry)
                    .execute(lite)?;
            }
        }
    }
    Ok(())
}

/// A user's net change to their two balances.
#[derive(Clone, Copy, Debug, Default)]
struct BalanceMove {
    available: i64,
    escrow: i64,
}

#[derive(QueryableByName)]
struct MovedWallet {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
}

/// Applies each user's net change where neither balance would go below zero; returns the users
/// whose balances moved. Rows are locked in user order, so two batches never wait on each
/// other in a cycle (SQLite's write transaction already holds the whole database).
fn move_balances(
    conn: &mut DbConnection,
    moves: &BTreeMap<UserId, BalanceMove>,
) -> QueryResult<BTreeSet<UserId>> {
    let mut moved = BTreeSet::new();
    if moves.is_empty() {
        return Ok(moved);
    }
    match conn {
        DbConnection::Postgresql(pg) => {
            let users: Vec<i64> = moves.keys().map(|u| u.0).collect();
            let available: Vec<i64> = moves.values().map(|m| m.available).collect();
            let escrow: Vec<i64> = moves.values().map(|m| m.escrow).collect();
            wallets::table
                .filter(wallets::user_id.eq_any(&users))
                .order(wallets::user_id)
                .select(wallets::user_id)
                .for_update()
                .load::<i64>(pg)?;
            let rows: Vec<MovedWallet> = diesel::sql_query(
                "UPDATE wallets \
                 SET available_cents = wallets.available_cents + m.available, \
                     escrow_cents = wallets.escrow_cents + m.escrow \
                 FROM unnest($1::int8[], $2::int8[], $3::int8[]) AS m(user_id, available, escrow) \
                 WHERE wallets.user_id = m.user_id \
                   AND wallets.available_cents + m.available >= 0 \
                   AND wallets.escrow_cents + m.escrow >= 0 \
                 RETURNING wallets.user_id",
            )
            .bind::<Array<BigInt>, _>(&users)
            .bind::<Array<BigInt>, _>(&available)
            .bind::<Array<BigInt>, _>(&escrow)
            .load(pg)?;
            moved.extend(rows.into_iter().map(|row| UserId(row.user_id)));
        }
        DbConnection::Sqlite(_) => {
            for (user, change) in moves {
                let n = MoveWallet {
                    user_id: user.0,
                    available: change.available,
                    escrow: change.escrow,
                }
                .execute(conn)?;
                if n > 0 {
                    moved.insert(*user);
                }
            }
        }
    }
    Ok(moved)
}

/// The available balances of `users`, with their wallet rows locked until the transaction
/// ends (in user order, as [`post_all`] locks them).
pub fn lock_available(
    conn: &mut DbConnection,
    users: &BTreeSet<UserId>,
) -> QueryResult<BTreeMap<UserId, Money>> {
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    let query = wallets::table
        .filter(wallets::user_id.eq_any(&ids))
        .order(wallets::user_id)
        .select((wallets::user_id, wallets::available_cents));
    let rows: Vec<(i64, i64)> = match conn {
        DbConnection::Postgresql(pg) => query.for_update().load(pg)?,
        DbConnection::Sqlite(_) => query.load(conn)?,
    };
    Ok(rows
        .into_iter()
        .map(|(user, cents)| (UserId(user), Money::from_cents(cents)))
        .collect())
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
