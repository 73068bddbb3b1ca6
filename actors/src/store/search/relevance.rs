//! `sort=relevance`: rank a bounded candidate set, not every match.
//!
//! A common word matches tens of thousands of listings; scoring each of them (`ts_rank` reads
//! every match's stored `tsvector`, `bm25` walks every posting) costs seconds at a million
//! listings. So relevance is relevance among the newest [`RELEVANCE_CANDIDATES`] matches (the
//! filters applied) of a window of ids (`window_reads`, which `search` opens: the
//! newest [`RELEVANCE_SPAN`](crate::domain::search::RELEVANCE_SPAN) ids, or the newest page
//! of matches when those hold fewer). The matches are read newest first from an index walk
//! that stops after that many or at the window's lowest id (PostgreSQL: the newest ids first,
//! then, when they hold too few, the GIN bitmap of every match, see [`Reach`]; SQLite: FTS5's
//! forward walk, its rowid being the id negated), only those are scored, and the page is a
//! top-N sort of them (PostgreSQL in the same statement, [`build`]; SQLite in Rust after
//! reading them out, [`sqlite_page`]).
//!
//! The candidates' id range (lowest and highest id) travels in the cursor: later pages rank
//! the matches inside that range, so a listing inserted between pages (a higher id) neither
//! enters the set nor pushes an older candidate out of it, and no row is skipped or repeated.

use super::*;
use crate::domain::search::{page_after, CandidateWindow, Ranked};
use plan_mode::Run;
use std::collections::HashMap;

/// The candidates as one `SELECT` (`id`, `rank`): newest first, at most as many as the window
/// takes (else [`RELEVANCE_CANDIDATES`]), inside its range if it has one. PostgreSQL ranks
/// them in the statement around it (`ts_rank` reads each one's vector, so a rare pair of
/// words whose every match is read would otherwise rank them all); SQLite's bm25 exists only
/// inside the FTS5 query that finds them, so it ranks them here.
fn push_candidates(
    sql: &mut Sql,
    filter: &ListingFilter,
    text: &TextQuery,
    after: Option<ListingPosition>,
    reach: Reach,
) {
    let id = IdKey::of(sql, true);
    let matched = fts5_match(text, &filter.filters);
    let take = after.map_or(RELEVANCE_CANDIDATES, |p| p.candidates());
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
            push_bm25(sql, text, &matched, "l.search_sizes");
            sql.push(" AS rank");
        }
        from_clause(sql, Some(text), reach);
        where_clause(sql, filter, reach);
        if let Some(p) = after.filter(|p| p.window_hi > 0) {
            id.push_within(sql, reach, p.window_lo, p.window_hi);
        }
        reach_clause(sql, reach);
    };
    if sql.pg {
        sql.push("SELECT d.id, ");
        push_pg_rank(sql, text, "d.v", |sql| {
            sql.push("d.q");
        });
        sql.push(" AS rank FROM (");
    }
    if let Reach::Descent {
        ceiling,
        lowest,
        eras,
    } = reach
    {
        push_descent(sql, (ceiling, lowest, eras), take, None, select);
    } else {
        select(sql, reach);
        let _ = write!(sql.text, " ORDER BY {}", id.newest_first(reach));
        sql.limit(take);
    }
    if sql.pg {
        sql.push(") d");
    }
}

/// PostgreSQL, one query: the candidates with their rank and range, the keyset, the top of the
/// rest, their rows.
pub(super) fn build(
    conn: &DbConnection,
    filter: &ListingFilter,
    text: &TextQuery,
    after: Option<ListingPosition>,
    limit: i64,
    reach: Reach,
) -> Sql {
    let mut sql = Sql::new(conn);
    debug_assert!(sql.pg, "SQLite ranks its candidates in `sqlite_page`");
    sql.generic = plans_generically(&sql, filter, reach);
    // Innermost: the candidates and their rank; then their id range; then the page, taken
    // before the join so only its rows are read in full.
    let _ = write!(
        sql.text,
        "SELECT {COLUMNS}, p.rank AS rank, p.lo AS window_lo, p.hi AS window_hi, \
         p.n AS candidates FROM \
         (SELECT w.id, w.rank, w.lo, w.hi, w.n FROM \
         (SELECT c.id, c.rank, MIN(c.id) OVER () AS lo, MAX(c.id) OVER () AS hi, \
         COUNT(*) OVER () AS n FROM ("
    );
    push_candidates(&mut sql, filter, text, after, reach);
    sql.push(") c) w");
    if let Some(p) = after.filter(|p| !p.opens_window()) {
        // The last row's rank now, else as it was (that row no longer matches): `ts_rank`
        // moves with the query, which a new word may have changed since (a word spelled out
        // for a prefix or a correction added divides or shifts every rank).
        sql.push(" WHERE (w.rank, w.id) < (COALESCE((SELECT CASE WHEN b.search_vector @@ ");
        push_tsquery(&mut sql, text);
        sql.push(" THEN ");
        push_pg_rank(&mut sql, text, "b.search_vector", |sql| {
            push_tsquery(sql, text)
        });
        sql.push(" END FROM listings b WHERE b.id = ")
            .int(p.id)
            .push("), ")
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

/// A candidate as SQLite's candidates read answers it.
#[derive(QueryableByName)]
struct CandidateRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Double)]
    rank: f64,
}

/// A rank now, as SQLite's boundary read answers it (`NULL`: that row no longer matches).
#[derive(QueryableByName)]
struct RankRow {
    #[diesel(sql_type = Nullable<Double>)]
    rank: Option<f64>,
}

/// SQLite: the candidates read out with their rank (FTS5 finds and scores them), the page
/// ranked out of them here ([`page_after`]), then its rows read by id. In one statement, as
/// PostgreSQL's, the candidates' range and count were window functions over them, which SQLite
/// computes by writing every candidate to a scratch b-tree and reading it back: ~85 µs of a
/// two-word search's ~470 at 1M listings (sqlean, SQLite 3.50). Listings are never deleted, so
/// every id of the page has its row; a row changed since the candidates were read is shown as
/// it is now.
pub(super) fn sqlite_page(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    text: &TextQuery,
    after: Option<ListingPosition>,
    limit: i64,
    reach: Reach,
    run: Run,
) -> QueryResult<Vec<Found>> {
    let mut sql = Sql::new(conn);
    push_candidates(&mut sql, filter, text, after, reach);
    run(conn, &sql)?;
    let candidates: Vec<Ranked> = sql
        .load::<CandidateRow>(conn)?
        .into_iter()
        .map(|c| Ranked {
            id: c.id,
            rank: c.rank,
        })
        .collect();
    let window = CandidateWindow::of(&candidates);
    let boundary = match after.filter(|p| !p.opens_window()) {
        Some(p) => Some(Ranked {
            id: p.id,
            rank: sqlite_rank_now(conn, filter, text, &candidates, p, run)?,
        }),
        None => None,
    };
    let page = page_after(&candidates, boundary, usize::try_from(limit).unwrap_or(0));
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Sql::new(conn);
    let ids = page.iter().map(|r| r.id.to_string()).collect::<Vec<_>>();
    let _ = write!(
        rows.text,
        "SELECT {COLUMNS} FROM listings l WHERE l.id IN (SELECT value FROM json_each("
    );
    rows.text_param(&format!("[{}]", ids.join(","))).push("))");
    run(conn, &rows)?;
    let mut listings: HashMap<i64, Listing> = rows
        .load::<Listing>(conn)?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    Ok(page
        .iter()
        .filter_map(|r| {
            listings.remove(&r.id).map(|listing| Found {
                listing,
                rank: r.rank,
                window_lo: window.lo,
                window_hi: window.hi,
                candidates: window.count,
            })
        })
        .collect())
}

/// The previous page's last row's rank now (bm25 moves with the collection's statistics, which
/// an insert moves), else as it was (that row no longer matches): so a uniform change of every
/// score moves nothing between pages. Among the candidates it was just ranked; otherwise (sold,
/// say) FTS5 ranks it.
fn sqlite_rank_now(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    text: &TextQuery,
    candidates: &[Ranked],
    p: ListingPosition,
    run: Run,
) -> QueryResult<f64> {
    if let Some(c) = candidates.iter().find(|c| c.id == p.id) {
        return Ok(c.rank);
    }
    let matched = fts5_match(text, &filter.filters);
    let mut sql = Sql::new(conn);
    sql.push("SELECT ");
    push_bm25(&mut sql, text, &matched, "NULL");
    sql.push(" AS rank FROM listings_fts WHERE listings_fts MATCH ")
        .text_param(&matched)
        .push(" AND listings_fts.rowid = ")
        .int(negated(p.id));
    run(conn, &sql)?;
    let now = sql.load::<RankRow>(conn)?.into_iter().next();
    Ok(now.and_then(|r| r.rank).unwrap_or(p.rank))
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
