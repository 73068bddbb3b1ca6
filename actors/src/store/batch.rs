//! Writing many rows at once. Each statement is a round trip to PostgreSQL, so a batch of
//! rows goes in one multi-row statement there; SQLite runs in-process, where a statement per
//! row costs no round trip. (Multi-row INSERT does not compile on the connection enum, so the
//! statement runs on the inner connection.)

/// Rows per multi-row INSERT: PostgreSQL binds at most 65,535 parameters per statement.
pub const ROWS_PER_INSERT: usize = 1_000;

/// Inserts the slice `$rows` into `$table` and evaluates to the rows `$returning` gave back,
/// in the order of `$rows` (PostgreSQL assigns ids in VALUES order; sorted by `$id` so the
/// order does not rest on the order RETURNING happens to use).
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr, $returning:expr, $out:ty, |$row:ident| $id:expr) => {{
        let rows = $rows;
        let mut out: Vec<$out> = Vec::with_capacity(rows.len());
        match $conn {
            $crate::store::DbConnection::Postgresql(pg) => {
                for chunk in rows.chunks($crate::store::batch::ROWS_PER_INSERT) {
                    let mut got: Vec<$out> = diesel::insert_into($table)
                        .values(chunk)
                        .returning($returning)
                        .get_results(pg)?;
                    got.sort_by_key(|$row: &$out| $id);
                    out.append(&mut got);
                }
            }
            $crate::store::DbConnection::Sqlite(lite) => {
                for one in rows {
                    out.push(
                        diesel::insert_into($table)
                            .values(one)
                            .returning($returning)
                            .get_result(lite)?,
                    );
                }
            }
        }
        out
    }};
}
