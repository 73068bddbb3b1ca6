use crate::helpers::TestDb;
use bazaar_actors::store::{self, DbConnection};
use diesel::connection::SimpleConnection;

#[test]
fn every_migration_applies_reverts_and_reapplies() {
    let db = TestDb::create();
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    store::migrate(conn).expect("apply");
    conn.batch_execute("SELECT id, topic, seq FROM events; SELECT id, version FROM listings")
        .expect("tables exist");
    store::revert_all_migrations(conn).expect("revert");
    assert!(
        conn.batch_execute("SELECT id FROM listings").is_err(),
        "down.sql left the listings table behind"
    );
    store::migrate(conn).expect("re-apply");
    conn.batch_execute("SELECT id FROM users; SELECT id FROM likes; SELECT id FROM sessions")
        .expect("tables exist again");
    // Running again is a no-op.
    store::migrate(conn).expect("idempotent");
}

#[test]
fn the_schema_refuses_negative_quantities_and_duplicate_seqs() {
    let db = TestDb::create();
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    store::migrate(conn).expect("apply");
    conn.batch_execute(
        "INSERT INTO users (username, display_name, password_hash, created_at) \
         VALUES ('u', 'u', 'x', '2026-01-01 00:00:00')",
    )
    .unwrap();
    let insert = |q: i64| {
        format!(
            "INSERT INTO listings (seller_id, title, description, price_cents, currency, quantity, \
             status, version, created_at, updated_at) SELECT id, 't', '', 100, 'EUR', {q}, \
             'active', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM users"
        )
    };
    conn.batch_execute(&insert(0)).expect("zero is fine");
    assert!(
        conn.batch_execute(&insert(-1)).is_err(),
        "quantity < 0 was accepted"
    );
    let event = "INSERT INTO events (topic, seq, event_type, data, created_at) \
                 VALUES ('listing:1', 1, 'listing.updated', '{}', '2026-01-01 00:00:00')";
    conn.batch_execute(event).unwrap();
    assert!(
        conn.batch_execute(event).is_err(),
        "a duplicate seq was accepted"
    );
}

#[test]
fn a_bad_database_url_reports_the_real_error() {
    let err = store::connect("postgres://nobody@127.0.0.1:1/none", 1).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("onnection refused") || message.contains("connect"),
        "{message}"
    );
    assert!(!message.contains("multiconnection"), "{message}");
    let err = store::connect("mysql://x@localhost/db", 1).unwrap_err();
    assert!(err.to_string().contains("unsupported"), "{err}");
}
