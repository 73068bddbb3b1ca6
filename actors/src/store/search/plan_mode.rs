//! How PostgreSQL plans a search's reads: each read switches the connection to its own plan
//! mode (planned once without its values, or with them). A connection that serves only
//! searches keeps the mode the last read left for the next search ([`PlanMode::keep`]); any
//! other is back to planning with values before it serves anything else.

use super::*;

/// How a connection plans the statements it runs (PostgreSQL's `plan_cache_mode`): with their
/// values, as always, or generically while generic reads run. Generic reads switch it, and
/// reads planned with their values switch it back.
///
/// Each switch is a round trip of its own. A connection of the searches' pool
/// (`Pool::search_read`) keeps its mode from one search to the next ([`PlanMode::keep`]): a
/// run of word searches, all generic reads, then switches nothing, nor a run of browsing
/// without words. The two switches around a word search's reads cost ~67 µs of two cores
/// (AMD EPYC), ~6% of a rare word's page at 1M listings, ~2.5% of facets (BENCHMARKS,
/// twenty-second session). The statements a search runs outside its reads
/// are planned alike in either mode (the span's `search_span` call, whose statements plan
/// with their values inside it; the page's photos by their listings' ids), except the
/// vocabulary's lookups, which switch back to planning with values first
/// ([`PlanMode::with_values`]).
#[derive(Debug)]
pub struct PlanMode {
    /// Whether the connection is in `force_generic_plan` now; `None` after a switch failed.
    generic: Option<bool>,
    /// Whether the mode is kept after a search, for the next one on the same connection.
    kept: bool,
}

/// A new connection's: planning with values, back to that after each search.
impl Default for PlanMode {
    fn default() -> Self {
        PlanMode {
            generic: Some(false),
            kept: false,
        }
    }
}

impl PlanMode {
    /// From now on the mode a search leaves is kept for the next: for a connection that
    /// serves only searches.
    pub fn keep(&mut self) {
        self.kept = true;
    }

    /// Whether the connection plans generically now, if known.
    pub fn is_generic(&self) -> Option<bool> {
        self.generic
    }

    /// The connection back to planning with the values of each statement, for a statement
    /// whose plan depends on them.
    pub(super) fn with_values(&mut self, conn: &mut DbConnection) -> QueryResult<()> {
        self.switch(conn, false)
    }

    fn switch(&mut self, conn: &mut DbConnection, generic: bool) -> QueryResult<()> {
        if self.generic == Some(generic) {
            return Ok(());
        }
        // Unknown until it is done: a failed switch is tried again by the next.
        self.generic = None;
        conn.batch_execute(if generic {
            "SET plan_cache_mode = force_generic_plan"
        } else {
            "RESET plan_cache_mode"
        })?;
        self.generic = Some(generic);
        Ok(())
    }
}

/// Runs a read's SQL: switches the connection to the read's plan mode and announces it (see
/// [`in_plan_modes`]).
pub(super) type Run<'a> = &'a dyn Fn(&mut DbConnection, &Sql) -> QueryResult<()>;

/// Runs `reads` (the reads of one search or facets call), handing them the [`Run`] each read
/// calls before it runs: it switches the connection to that read's plan mode (`mode`) and
/// announces the SQL to `each` (the plan check explains it). Unless `mode` is
/// [`PlanMode::keep`], the connection is back to planning with values afterwards, whatever
/// happened.
pub(super) fn in_plan_modes<T>(
    conn: &mut DbConnection,
    mode: &mut PlanMode,
    each: impl FnMut(&mut DbConnection, &Sql) -> QueryResult<()>,
    reads: impl FnOnce(&mut DbConnection, Run) -> QueryResult<T>,
) -> QueryResult<T> {
    // Every read switches the mode and is announced to `each`, one at a time.
    let turn = std::cell::RefCell::new((&mut *mode, each));
    let result = {
        let run = |conn: &mut DbConnection, sql: &Sql| -> QueryResult<()> {
            let (mode, each) = &mut *turn.borrow_mut();
            mode.switch(conn, sql.generic)?;
            each(conn, sql)
        };
        reads(conn, &run)
    };
    drop(turn);
    let back = if mode.kept {
        Ok(())
    } else {
        mode.with_values(conn)
    };
    let value = result?;
    back?;
    Ok(value)
}
