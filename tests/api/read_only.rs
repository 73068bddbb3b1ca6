//! The edges' read handle: the database itself refuses a write through it, on either backend,
//! and a connection that served reads writes again once the pool hands it to a writer.

use crate::helpers::{migrated_sqlite_pool, sqlite_plan, TestDb};
use bazaar_actors::store::{self, DbConnection};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

fn insert_user(name: &str) -> String {
    format!(
        "INSERT INTO users (username, display_name, password_hash, created_at) \
         VALUES ('{name}', '{name}', 'x', '2026-01-01 00:00:00')"
    )
}

fn usernames(conn: &mut DbConnection) -> Vec<String> {
    use bazaar_actors::store::schema::users;
    users::table
        .select(users::username)
        .order(users::username)
        .load(conn)
        .expect("usernames")
}

/// The database's refusal, not some other failure (PostgreSQL: "cannot execute INSERT in a
/// read-only transaction"; SQLite: "attempt to write a readonly database").
fn assert_refused_as_read_only(result: QueryResult<()>, what: &str) {
    let message = match result {
        Ok(()) => panic!("{what}: a write through the read handle succeeded"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains("read-only") || message.contains("readonly"),
        "{what}: refused for another reason: {message}"
    );
}

#[test]
fn a_write_through_the_read_handle_is_refused_by_the_database() {
    let db = TestDb::create();
    // One connection: the writer below is handed the very connection the reader had.
    let pool = store::connect(db.url(), 1).expect("pool");
    store::migrate(&mut pool.get().expect("connection")).expect("migrate");
    {
        let mut read = pool.read().expect("read handle");
        assert_eq!(usernames(&mut read), Vec::<String>::new(), "reads work");
        assert_refused_as_read_only(read.batch_execute(&insert_user("plain")), "a statement");
        assert_refused_as_read_only(
            read.transaction(|conn| conn.batch_execute(&insert_user("in_tx"))),
            "a statement in a transaction",
        );
        let typed = diesel::update(store::schema::users::table)
            .set(store::schema::users::display_name.eq("changed"))
            .execute(&mut *read)
            .map(drop);
        assert_refused_as_read_only(typed, "a Diesel UPDATE");
    }
    let mut write = pool.get().expect("writable connection");
    assert_eq!(
        usernames(&mut write),
        Vec::<String>::new(),
        "nothing was written"
    );
    write
        .write(|conn| conn.batch_execute(&insert_user("writer")))
        .expect("the same connection writes for a writer");
    drop(write);
    let mut read = pool.read().expect("read handle again");
    assert_refused_as_read_only(read.batch_execute(&insert_user("again")), "a second read");
    assert_eq!(usernames(&mut read), ["writer"]);
}

/// SQLite plans a reader's statements without the values bound to them (its query planner
/// stability guarantee, `bazaar_stable_plans`), so a bound `LIMIT ?` never makes it compile a
/// statement again; a writer's plans still use them: the offers' expiry sweeper finds open
/// offers through the partial index `offers_open_expiry` by a bound status, which a reader's
/// plan cannot.
#[test]
fn sqlite_readers_plan_without_bound_values_and_writers_with_them() {
    let Some((_db, pool)) = migrated_sqlite_pool() else {
        return;
    };
    let plan = |conn: &mut DbConnection| -> String {
        sqlite_plan(
            conn,
            diesel::sql_query(
                "EXPLAIN QUERY PLAN SELECT id FROM offers WHERE status = ? AND expires_at <= ? \
                 ORDER BY expires_at LIMIT ?",
            )
            .bind::<diesel::sql_types::Text, _>("open")
            .bind::<diesel::sql_types::Text, _>("2026-01-01 00:00:00")
            .bind::<diesel::sql_types::BigInt, _>(10),
        )
    };
    let written = plan(&mut pool.get().expect("writer"));
    assert!(written.contains("offers_open_expiry"), "writer: {written}");
    let read = plan(&mut pool.read().expect("reader"));
    assert!(!read.contains("offers_open_expiry"), "reader: {read}");
}
