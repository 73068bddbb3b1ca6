//! Reading a raw statement's row by column name, in the order the statement names them: the
//! column at the next position is taken when its name is the one asked for (one comparison),
//! else the row is searched by name as Diesel's derived `QueryableByName` does (for SQLite,
//! comparing the name with every column before it: 20 fields of a listing, ~200 comparisons a
//! row). A statement that names its columns in another order reads the same values.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::row::{Field, NamedRow, Row};

pub struct InOrder<'r, R> {
    row: &'r R,
    next: usize,
}

impl<'r, R> InOrder<'r, R> {
    pub fn new(row: &'r R) -> Self {
        InOrder { row, next: 0 }
    }

    /// The column `name`, of SQL type `ST`, as a `T`.
    pub fn get<'a, DB, ST, T>(&mut self, name: &str) -> deserialize::Result<T>
    where
        DB: Backend,
        R: NamedRow<'a, DB>,
        T: FromSql<ST, DB>,
    {
        let at = self.next;
        self.next += 1;
        if let Some(field) = Row::get(self.row, at) {
            if field.field_name() == Some(name) {
                return T::from_nullable_sql(field.value());
            }
        }
        NamedRow::get::<ST, T>(self.row, name)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::models::Listing;
    use crate::store::schema::listings;
    use crate::store::search::testing::sqlite_with_listings;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    const COLUMNS: [&str; 20] = [
        "id",
        "seller_id",
        "title",
        "description",
        "category",
        "condition",
        "price_cents",
        "currency",
        "quantity",
        "status",
        "like_count",
        "auto_accept_cents",
        "auto_decline_cents",
        "version",
        "created_at",
        "updated_at",
        "auto_drop_percent",
        "auto_drop_interval_secs",
        "auto_drop_floor_cents",
        "next_price_drop_at",
    ];

    #[test]
    fn a_listing_reads_the_same_in_any_order_of_its_columns() {
        let (_dir, mut conn) = sqlite_with_listings(&["Brown leather jacket"]);
        conn.batch_execute(
            "UPDATE listings SET updated_at = '2026-01-02 03:04:05.678', \
             auto_drop_percent = 10, auto_drop_interval_secs = 3600, \
             auto_drop_floor_cents = 50, next_price_drop_at = '2026-01-03 00:00:00'",
        )
        .expect("a schedule");
        let by_position: Listing = listings::table.get_result(&mut *conn).expect("by position");
        let read = |conn: &mut crate::store::PooledConn, columns: &[&str]| -> Listing {
            diesel::sql_query(format!("SELECT {} FROM listings", columns.join(", ")))
                .get_result(&mut **conn)
                .expect("by name")
        };
        let mut reversed = COLUMNS;
        reversed.reverse();
        let mut extra = vec!["'x' AS other"];
        extra.extend(COLUMNS);
        for columns in [&COLUMNS[..], &reversed[..], &extra[..]] {
            assert_eq!(read(&mut conn, columns), by_position, "{columns:?}");
        }
        assert_eq!(by_position.title, "Brown leather jacket");
        assert_eq!(
            by_position.updated_at.to_string(),
            "2026-01-02 03:04:05.678"
        );
        assert_eq!(by_position.auto_drop_floor_cents, Some(50));
    }
}
