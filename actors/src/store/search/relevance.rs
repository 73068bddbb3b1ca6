//! `sort=relevance`: rank a bounded candidate set, not every match.
//!
//! A common word matches tens of thousands of listings; scoring each of them (`ts_rank` reads
//! every match's stored `tsvector`, `bm25` walks every posting) costs seconds at a million
//! listings. So relevance is relevance among the newest [`RELEVANCE_CANDIDATES`] matches (the
//! filters applied): the matches are read newest first from an index walk that stops after
//! that many (PostgreSQL: the newest ids first, then, when they hold too few, the GIN bitmap
//! of every match, see [`Reach`]; SQLite: FTS5's forward walk, its rowid being the id
//! negated), only those are scored, and the page is a top-N sort of them.
//!
//! The candidates' id range (lowest and highest id) travels in the cursor: later pages rank
//! the matches inside that range, so a listing inserted between pages (a higher id) neither
//! enters the set nor pushes an older candidate out of it, and no row is skipped or repeated.

use super::*;

/// One query: the candidates (newest first, at most [`RELEVANCE_CANDIDATES`], inside the
/// cursor's range if it has one) with their rank and range, the keyset, the top of the rest.
pub(super) fn build(
    conn: &DbConnection,
    filter: &ListingFilter,
    text: &TextQuery,
    after: Option<ListingPosition>,
    limit: i64,
    reach: Reach,
) -> Sql {
    let mut sql = Sql::new(conn);
    sql.generic = plans_generically(&sql, filter, reach);
    let id = IdKey::of(&sql, true);
    let matched = fts5_match(text, &filter.filters);
    // Innermost: the candidates and their rank; then their id range; then the page, taken
    // before the join so only its rows are read in full.
    let _ = write!(
        sql.text,
        "SELECT {COLUMNS}, p.rank AS rank, p.lo AS window_lo, p.hi AS window_hi, \
         p.n AS candidates FROM \
         (SELECT w.id, w.rank, w.lo, w.hi, w.n FROM \
         (SELECT c.id, c.rank, MIN(c.id) OVER () AS lo, MAX(c.id) OVER () AS hi, \
         COUNT(*) OVER () AS n FROM "
    );
    // The candidates as one read of `reach` writes them (a descent writes two).
    let select = |sql: &mut Sql, reach: Reach| {
        if sql.pg {
            sql.push("SELECT l.id AS id, l.search_vector AS v, ");
            if sql.generic {
                push_tsquery(sql, text);
            } else {
                sql.push("tsq");
            }
            sql.push(" AS q");
        } else {
            let _ = write!(sql.text, "SELECT {} AS id, ", id.id());
            push_bm25(sql, text, &matched, "ds.sz");
            sql.push(" AS rank");
        }
        from_clause(sql, Some(text), reach);
        if !sql.pg {
            sql.push(DOCSIZE_JOIN);
        }
        where_clause(sql, filter, reach);
        if let Some(p) = after.filter(|p| p.window_hi > 0) {
            id.push_within(sql, reach, p.window_lo, p.window_hi);
        }
        reach_clause(sql, reach);
    };
    // PostgreSQL ranks only the candidates (`ts_rank` reads each one's vector, so a rare pair of
    // words whose every match is read would otherwise rank them all); SQLite's bm25 exists only
    // inside the FTS5 query that finds them.
    if sql.pg {
        sql.push("(SELECT d.id, ");
        push_pg_rank(&mut sql, text, "d.v", |sql| {
            sql.push("d.q");
        });
        sql.push(" AS rank FROM (");
    } else {
        sql.push("(");
    }
    if let Reach::Descent {
        ceiling,
        lowest,
        eras,
    } = reach
    {
        push_descent(
            &mut sql,
            (ceiling, lowest, eras),
            RELEVANCE_CANDIDATES,
            None,
            select,
        );
    } else {
        select(&mut sql, reach);
        let _ = write!(sql.text, " ORDER BY {}", id.newest_first(reach));
        sql.limit(RELEVANCE_CANDIDATES);
    }
    sql.push(if sql.pg { ") d) c) w" } else { ") c) w" });
    if let Some(p) = after {
        // The last row's rank now, else as it was (that row no longer matches): bm25 moves with
        // the collection's statistics, and `ts_rank` with the query, which a new word may have
        // changed since (a word spelled out for a prefix or a correction added divides or
        // shifts every rank).
        sql.push(" WHERE (w.rank, w.id) < (COALESCE((SELECT ");
        if sql.pg {
            sql.push("CASE WHEN b.search_vector @@ ");
            push_tsquery(&mut sql, text);
            sql.push(" THEN ");
            push_pg_rank(&mut sql, text, "b.search_vector", |sql| {
                push_tsquery(sql, text)
            });
            sql.push(" END FROM listings b WHERE b.id = ").int(p.id);
        } else {
            push_bm25(&mut sql, text, &matched, "NULL");
            sql.push(" FROM listings_fts WHERE listings_fts MATCH ")
                .text_param(&matched)
                .push(" AND listings_fts.rowid = ")
                .int(negated(p.id));
        }
        sql.push("), ")
            .bind(Bind::Float(p.rank))
            .push("), ")
            .int(p.id)
            .push(")");
    }
    sql.push(" ORDER BY w.rank DESC, w.id DESC")
        .limit(limit)
        .push(") p JOIN listings l ON l.id = p.id ORDER BY p.rank DESC, p.id DESC");
    sql
}

/// PostgreSQL's rank of the vector `v` for `text` (`q`: the query as a tsquery): `ts_rank`, less
/// [`BELOW_TYPED`] where the query as typed does not match when corrections were added.
fn push_pg_rank(sql: &mut Sql, text: &TextQuery, v: &str, q: impl FnOnce(&mut Sql)) {
    let _ = write!(sql.text, "CAST(ts_rank({v}, ");
    q(sql);
    sql.push(") AS DOUBLE PRECISION)");
    if let Some(typed) = &text.typed {
        let _ = write!(sql.text, " - CASE WHEN {v} @@ ");
        push_tsquery(sql, typed);
        let _ = write!(sql.text, " THEN 0 ELSE {BELOW_TYPED} END");
    }
}
