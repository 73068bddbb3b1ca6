//! How PostgreSQL plans a search's reads: each read switches the connection to its own plan
//! mode (planned once without its values, or with them), and the connection is back to
//! planning with values before it serves anything else.

use super::*;

/// How the connection plans the statements it runs (PostgreSQL's `plan_cache_mode`): with
/// their values, as always, or generically while generic reads run. Generic reads switch it,
/// and [`in_plan_modes`] switches it back before the connection serves anything else.
#[derive(Default)]
struct PlanMode {
    generic: bool,
}

impl PlanMode {
    fn switch(&mut self, conn: &mut DbConnection, generic: bool) -> QueryResult<()> {
        if self.generic != generic {
            conn.batch_execute(if generic {
                "SET plan_cache_mode = force_generic_plan"
            } else {
                "RESET plan_cache_mode"
            })?;
            self.generic = generic;
        }
        Ok(())
    }
}

/// Runs a read's SQL: switches the connection to the read's plan mode and announces it (see
/// [`in_plan_modes`]).
pub(super) type Run<'a> = &'a dyn Fn(&mut DbConnection, &Sql) -> QueryResult<()>;

/// Runs `reads` (the reads of one search or facets call), handing them the [`Run`] each read
/// calls before it runs: it switches the connection to that read's plan mode ([`PlanMode`])
/// and announces the SQL to `each` (the plan check explains it). The connection is back to
/// planning with values afterwards, whatever happened.
pub(super) fn in_plan_modes<T>(
    conn: &mut DbConnection,
    each: impl FnMut(&mut DbConnection, &Sql) -> QueryResult<()>,
    reads: impl FnOnce(&mut DbConnection, Run) -> QueryResult<T>,
) -> QueryResult<T> {
    // Every read switches the mode and is announced to `each`, one at a time.
    let turn = std::cell::RefCell::new((PlanMode::default(), each));
    let result = {
        let run = |conn: &mut DbConnection, sql: &Sql| -> QueryResult<()> {
            let (mode, each) = &mut *turn.borrow_mut();
            mode.switch(conn, sql.generic)?;
            each(conn, sql)
        };
        reads(conn, &run)
    };
    let (mut mode, _) = turn.into_inner();
    let back = mode.switch(conn, false);
    let value = result?;
    back?;
    Ok(value)
}
