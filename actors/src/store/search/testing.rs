//! For the store's own tests of search on SQLite.

use crate::store::{connect, migrate, PooledConn};
use diesel::connection::SimpleConnection;

/// A migrated SQLite database in a temporary directory (kept while the first value lives)
/// with one seller and an active listing per title (description "Plain"), written in plain
/// SQL so only the database's own triggers run.
pub(crate) fn sqlite_with_listings(titles: &[&str]) -> (tempfile::TempDir, PooledConn) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("search.db").display());
    let pool = connect(&url, 1).expect("pool");
    let mut conn = pool.get().expect("connection");
    migrate(&mut conn).expect("migrations");
    conn.batch_execute(
        "INSERT INTO users (id, username, display_name, password_hash, created_at, role, bio) \
         VALUES (1, 'seller', 'Seller', 'x', '2026-01-01 00:00:00', 'user', '')",
    )
    .expect("seller");
    for title in titles {
        add_listing(&mut conn, title);
    }
    (dir, conn)
}

/// One more active listing of the seller, titled `title` (quotes doubled by the caller).
pub(super) fn add_listing(conn: &mut PooledConn, title: &str) {
    conn.batch_execute(&format!(
        "INSERT INTO listings (seller_id, title, description, category, price_cents, \
         currency, quantity, status, version, created_at, updated_at) VALUES (1, \
         '{title}', 'Plain', 'other', 100, 'EUR', 1, 'active', 1, \
         '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    ))
    .expect("listing");
}
