//! Listing search and browse: one SQL builder for every filter and sort, full-text matching
//! on both backends, keyset pagination, facets.
//!
//! Text: PostgreSQL matches `listings.search_vector` (a generated `tsvector`, GIN-indexed)
//! against `to_tsquery('bazaar_search', …)` and ranks with `ts_rank`; SQLite matches the FTS5
//! table `listings_fts` (kept by triggers) and ranks with `bazaar_bm25` (FTS5's bm25 with the
//! query's IDF kept a while, crate `bazaar-fts-rank`). The query text comes from
//! [`TextQuery`], whose words are alphanumeric only, and is always a bound parameter.
//!
//! Pages are keyset pages on a total order (the sort key, then the id), so inserting rows
//! between pages never skips or repeats one. Relevance ranks a bounded candidate set (see
//! `relevance.rs`): the newest [`RELEVANCE_CANDIDATES`] matches, whose id range the cursor
//! carries so later pages rank the same set. The boundary is the last row's rank recomputed
//! now (the stored one only if that row no longer matches): SQLite's bm25 depends on the
//! collection's statistics, which an insert moves, and PostgreSQL's `ts_rank` on the query,
//! which a new word can change between pages (a prefix spelled out as one more word divides
//! every rank: `ts_rank` averages over a clause's alternatives; a correction the sweep adds
//! shifts them). So a uniform change of every score moves nothing; only two rows whose order
//! flips between the pages can move.
//!
//! Without relevance no rank is computed (the other sorts do not need it), and on SQLite the
//! FTS5 table is joined directly, so the planner can walk it in rowid order (its rowid is the
//! listing id negated: newest first) and stop early.

use super::models::Listing;
use super::DbConnection;
use crate::domain::category::CategoryLevel;
use crate::domain::listing::{ListingStatus, CONDITIONS};
use crate::domain::search::{
    candidates_to_take, expected_in_span, takes_next, window_reads, CandidateWindow, SearchFilters,
    TextQuery, WindowRead,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use std::fmt::Write;

mod closeness;
mod eras;
mod facets;
mod forget;
mod plan_mode;
pub mod plans;
mod prefixes;
mod reach;
mod relevance;
mod spelled;
mod sql;
mod stems;
mod steps;
#[cfg(test)]
pub(crate) mod testing;
mod typos;
mod words_index;

pub use crate::domain::search::{FIRST_REACH, RELEVANCE_CANDIDATES, RELEVANCE_SPAN};
use eras::{push_descent, push_era_match_of_e, Eras};
pub use facets::{facets, CappedCount, Facets};
pub use forget::{forget_words, record_counts, unheld_words, Checked, Recount};
pub use plan_mode::PlanMode;
use reach::{in_price_range, order_key, plans_generically, reach_clause, read, Reach, Start};
pub use spelled::{SpelledQueries, SPELLED_CAPACITY, SPELLED_TTL};
use sql::{Bind, Number, Sql};
use typos::corrected;
pub use words_index::{
    index_every_listing, leave_out_words_trigger, merge_words_index, optimize_words_index,
    words_index_pages,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListingSort {
    Newest,
    PriceAsc,
    PriceDesc,
    /// Most liked first.
    Popular,
    /// Best match first; only with words.
    Relevance,
}

impl ListingSort {
    pub const ALL: [ListingSort; 5] = [
        Self::Newest,
        Self::PriceAsc,
        Self::PriceDesc,
        Self::Popular,
        Self::Relevance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::PriceAsc => "price_asc",
            Self::PriceDesc => "price_desc",
            Self::Popular => "popular",
            Self::Relevance => "relevance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Which listings to show. `status` is required: drafts are only ever shown to their seller.
#[derive(Clone, Debug)]
pub struct ListingFilter {
    pub text: Option<TextQuery>,
    pub filters: SearchFilters,
    pub status: ListingStatus,
    pub viewer: Option<i64>,
}

/// The last row of the previous page, in the page's sort order (only the sort's key is used),
/// and for relevance the id range of the candidates the window's first page ranked (0, 0:
/// none) and how many they were (0: not known, a cursor from before windows went on).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ListingPosition {
    pub price_cents: i64,
    pub like_count: i64,
    pub rank: f64,
    pub id: i64,
    pub window_lo: i64,
    pub window_hi: i64,
    pub window_count: i64,
}

impl ListingPosition {
    /// Relevance, before the first page of a window that `read` opens: its candidates are the
    /// newest `read.take` matches of its ids, ranked from the best (the boundary is above
    /// every rank). A read of every id up to the newest (`newest`: `read.hi` is the newest
    /// id) compares no id: a range of every id would only tempt PostgreSQL's planner to walk
    /// the id index with the words as a filter.
    fn opening(read: WindowRead, newest: i64) -> ListingPosition {
        let every = read.lo <= 1 && read.hi >= newest;
        let (window_lo, window_hi) = if every { (0, 0) } else { (read.lo, read.hi) };
        ListingPosition {
            rank: f64::INFINITY,
            id: i64::MAX,
            window_lo,
            window_hi,
            window_count: read.take,
            ..Default::default()
        }
    }

    /// Whether this is a window's opening ([`Self::opening`]), not a page's last row: a
    /// cursor's rank is always finite.
    fn opens_window(&self) -> bool {
        self.rank == f64::INFINITY
    }

    /// How many candidates a relevance read after this position ranks.
    fn candidates(&self) -> i64 {
        candidates_to_take(self.window_count)
    }
}

/// A listing found, with its relevance (0 without words or sorted otherwise; higher is
/// better) and, sorted by relevance, the id range of the candidates ranked (else 0, 0): the
/// next page's cursor carries it.
#[derive(Clone, Debug, QueryableByName)]
pub struct Found {
    #[diesel(embed)]
    pub listing: Listing,
    #[diesel(sql_type = Double)]
    pub rank: f64,
    #[diesel(sql_type = BigInt)]
    pub window_lo: i64,
    #[diesel(sql_type = BigInt)]
    pub window_hi: i64,
    /// Sorted by relevance: how many candidates were ranked (else 0).
    #[diesel(sql_type = BigInt)]
    pub candidates: i64,
}

impl Found {
    /// Sorted by relevance, the window of candidates it was ranked in.
    fn window(&self) -> CandidateWindow {
        CandidateWindow {
            lo: self.window_lo,
            hi: self.window_hi,
            count: self.candidates,
        }
    }

    fn set_window(&mut self, window: CandidateWindow) {
        self.window_lo = window.lo;
        self.window_hi = window.hi;
        self.candidates = window.count;
    }
}

const COLUMNS: &str = "l.id, l.seller_id, l.title, l.description, l.category, l.condition, \
    l.price_cents, l.currency, l.quantity, l.status, l.like_count, l.auto_accept_cents, \
    l.auto_decline_cents, l.version, l.created_at, l.updated_at, l.auto_drop_percent, \
    l.auto_drop_interval_secs, l.auto_drop_floor_cents, l.next_price_drop_at";

/// SQLite's relevance: FTS5's bm25 (higher is better) with the query's IDF kept a while on the
/// connection (`bazaar-fts-rank`), weighing title, description, category; less
/// [`BELOW_TYPED`] for a match only a popular neighbour of a word brings. `matched` is the
/// statement's MATCH text ([`fts5_match`]): the filter terms in it weigh nothing. `sizes` is the
/// row's sizes as FTS5 stores them, from the listing's row (`l.search_sizes`, copied there by
/// the words index's triggers: migration `search_sizes`; a row without them is `NULL`), or
/// `NULL` to have FTS5 read them.
fn push_bm25(sql: &mut Sql, text: &TextQuery, matched: &str, sizes: &str) {
    sql.push("(bazaar_bm25(listings_fts, ")
        .text_param(matched)
        .push(", ")
        .push(sizes)
        .push(", 10.0, 2.0, 1.0, 0.0)");
    if let Some(typed) = &text.typed {
        // Row by row (FTS5 seeks the typed words' postings to the row): bounded by the rows
        // ranked, however many listings of any status the typed words have.
        sql.push(" - CASE WHEN EXISTS (SELECT 1 FROM listings_fts t WHERE ")
            .push("t.rowid = listings_fts.rowid AND t.listings_fts MATCH ")
            .text_param(&typed.to_fts5());
        let _ = write!(sql.text, ") THEN 0 ELSE {BELOW_TYPED} END");
    }
    sql.push(")");
}

/// What a words search matches in SQLite's words index: the words, and the filters the index
/// holds as terms ([`SearchFilters::facet_terms`]; the dense ones when the words' matches lie
/// close together, [`TextQuery::matches_close_together`]), which FTS5 steps against the words'
/// postings so only listings that hold both are read.
fn fts5_match(text: &TextQuery, filters: &SearchFilters) -> String {
    let words = text.to_fts5();
    match filters.facet_terms(text.matches_close_together()) {
        Some(terms) => format!("({words}) AND {terms}"),
        None => words,
    }
}

/// What a match loses in relevance when only the popular neighbours of the query's words bring
/// it, not the words as typed ([`TextQuery::typed`]): more than any rank is worth (`ts_rank` is
/// at most 1; bm25 here stays in the hundreds), so it ranks below every match of the words as
/// typed, and among the others as before.
const BELOW_TYPED: f64 = 1_000_000.0;

/// SQLite's words index joined to the listings it finds: FTS5's rowid is the listing id
/// negated (migration `search_facet_terms`; see [`IdKey`]).
const FTS_LISTINGS: &str = " FROM listings_fts JOIN listings l ON l.id = -listings_fts.rowid";

/// The text match's source: PostgreSQL needs the query in FROM (matched in WHERE; planned
/// generically, the query is a sub-select of its own, [`push_tsquery`]), SQLite the FTS5 table
/// joined (matched in WHERE).
fn from_clause(sql: &mut Sql, text: Option<&TextQuery>, reach: Reach) {
    match (text, sql.pg) {
        (None, _) if reach == (Reach::PriceRange { from_index: true }) => {
            sql.push(" FROM listings l INDEXED BY listings_status_price");
        }
        (None, _) => {
            sql.push(" FROM listings l");
        }
        (Some(_), true) if sql.generic => {
            sql.push(" FROM listings l");
        }
        (Some(t), true) => {
            sql.push(" FROM listings l, to_tsquery('bazaar_search', ")
                .text_param(&t.to_tsquery())
                .push(") tsq");
        }
        (Some(_), false) => {
            sql.push(FTS_LISTINGS);
        }
    }
}

/// The words' `tsquery` where a generic plan uses it: a sub-select, which PostgreSQL runs once
/// per statement (an init plan) and then matches in the index walk itself. As a FROM item, a
/// generic plan joined it to every row walked (a nested loop), 2.4× the time of a common
/// word's read.
fn push_tsquery(sql: &mut Sql, text: &TextQuery) {
    sql.push("(SELECT to_tsquery('bazaar_search', ")
        .text_param(&text.to_tsquery())
        .push("))");
}

/// How a read names the listing id it orders the newest matches by and bounds: `l.id`, or with
/// words on SQLite FTS5's rowid, the id negated (migration `search_facet_terms`), so FTS5
/// yields the newest matches first on its forward walk (which seeks by its doclist index; its
/// backward walk seeks posting by posting) and stops after the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IdKey {
    Listing,
    /// FTS5's rowid: `-l.id`.
    Negated,
}

/// An id as FTS5's rowid names it, for a bound: a cursor's id can be any integer, and the
/// lowest has no negation (it saturates to the highest, which bounds alike: no listing).
fn negated(id: i64) -> i64 {
    id.saturating_neg()
}

impl IdKey {
    fn of(sql: &Sql, text: bool) -> IdKey {
        if text && !sql.pg {
            IdKey::Negated
        } else {
            IdKey::Listing
        }
    }

    /// The listing id, as a selected column.
    fn id(self) -> &'static str {
        match self {
            IdKey::Listing => "l.id",
            IdKey::Negated => "-listings_fts.rowid",
        }
    }

    /// The `ORDER BY` term of newest first, as `reach` reads.
    fn newest_first(self, reach: Reach) -> String {
        match self {
            IdKey::Listing => format!("{} DESC", order_key("l.id", reach)),
            IdKey::Negated => format!("{} ASC", order_key("listings_fts.rowid", reach)),
        }
    }

    /// ` AND` the id is below `id`, compared where `reach` compares it.
    fn push_below(self, sql: &mut Sql, reach: Reach, id: i64) {
        match self {
            IdKey::Listing => {
                let _ = write!(sql.text, " AND {} < ", reach.id_bound("l.id"));
                sql.int(id);
            }
            IdKey::Negated => {
                let _ = write!(sql.text, " AND {} > ", reach.id_bound("listings_fts.rowid"));
                sql.int(negated(id));
            }
        }
    }

    /// ` AND` the id is from `lo` to `hi`, compared where `reach` compares it.
    fn push_within(self, sql: &mut Sql, reach: Reach, lo: i64, hi: i64) {
        let (column, lo, hi) = match self {
            IdKey::Listing => ("l.id", lo, hi),
            IdKey::Negated => ("listings_fts.rowid", negated(hi), negated(lo)),
        };
        let bound = reach.id_bound(column);
        let _ = write!(sql.text, " AND {bound} >= ");
        sql.int(lo);
        let _ = write!(sql.text, " AND {bound} <= ");
        sql.int(hi);
    }
}

/// `WHERE …` for everything but the keyset, the words matched as `reach` reads them.
fn where_clause(sql: &mut Sql, f: &ListingFilter, reach: Reach) {
    sql.push(" WHERE l.status = ");
    if sql.generic {
        // A constant of the enum, so that the plan knows how common the status is: with a
        // parameter it took any status for a third of the table and read the status index
        // (940,000 entries) to intersect it with a rare word's few matches.
        let _ = write!(sql.text, "'{}'", f.status.as_str());
    } else {
        sql.text_param(f.status.as_str());
    }
    if f.status == ListingStatus::Draft {
        // A draft is seen only by its seller (the caller makes sure there is a viewer).
        sql.push(" AND l.seller_id = ").int(f.viewer.unwrap_or(-1));
    }
    // A suspended seller's listings are hidden while the suspension holds; only suspended
    // users are looked at, in the partial index `users_suspended`. PostgreSQL: an anti-join on
    // that index. SQLite: the suspended ids as a list made once per statement from it; as a
    // correlated `NOT EXISTS`, SQLite looked every candidate's seller up by primary key
    // instead (the 1,001 rows of a facets read at 1M: 1.96 ms, 1.56 this way, 1.46 unchecked).
    let suspended =
        "su.suspended_at IS NOT NULL AND (su.suspended_until IS NULL OR su.suspended_until > ";
    if sql.pg {
        sql.push(" AND NOT EXISTS (SELECT 1 FROM users su WHERE su.id = l.seller_id AND ")
            .push(suspended)
            .push("(now() AT TIME ZONE 'UTC')))");
    } else {
        sql.push(" AND l.seller_id NOT IN (SELECT su.id FROM users su WHERE ")
            .push(suspended)
            .push("strftime('%Y-%m-%d %H:%M:%f', 'now')))");
    }
    match (&f.text, reach) {
        (Some(t), Reach::Era { eras, .. }) => push_era_match_of_e(sql, t, &f.filters, eras),
        (Some(t), _) if sql.generic => {
            sql.push(" AND l.search_vector @@ ");
            push_tsquery(sql, t);
        }
        (Some(_), _) if sql.pg => {
            sql.push(" AND l.search_vector @@ tsq");
        }
        // The words are checked on each row the walk reads (`build`).
        (Some(_), Reach::Walk { .. }) => {}
        (Some(t), _) => {
            sql.push(" AND listings_fts MATCH ")
                .text_param(&fts5_match(t, &f.filters));
        }
        (None, _) => {}
    }
    let s = &f.filters;
    // An era's read matches the category and the condition in the era index, with the words
    // (`push_era_match_of_e`). The older ids' read of a descent, and a read of every match,
    // compare them where no index serves them (`|| ''`): the words' index finds the matches,
    // and a category's or a condition's index would only be intersected with it whole
    // ("quokka" in fashion at 1M: 149,202 ids of fashion for 5 matches, 23 ms).
    let (in_eras, unindexed) = match reach {
        Reach::Era { .. } => (true, ""),
        Reach::Older { .. } | Reach::All => (false, " || ''"),
        _ => (false, ""),
    };
    if let Some(c) = s.category.as_ref().filter(|_| !in_eras) {
        let column = match c.level {
            CategoryLevel::Top => "l.category_top",
            CategoryLevel::Child => "l.category",
        };
        let _ = write!(sql.text, " AND {column}{unindexed} = ");
        sql.text_param(&c.slug);
    }
    if let Some(c) = s.condition.as_ref().filter(|_| !in_eras) {
        let _ = write!(sql.text, " AND l.condition{unindexed} = ");
        sql.text_param(c);
    }
    if let Some(v) = s.seller_id {
        sql.push(" AND l.seller_id = ").int(v);
    }
    // A price range is compared on the rows in every read; where the era index holds its
    // buckets (an era's read, and a narrow range's older ids or every match) on no index, for
    // the same reason as the category's.
    let price = match reach {
        Reach::Era { .. } => "l.price_cents + 0",
        Reach::Older { .. } | Reach::All if s.price_buckets().is_some() => "l.price_cents + 0",
        // Compared on the walk's rows (`build`).
        Reach::Walk {
            price_walked: false,
            ..
        } => return,
        // Not on the price index: the planner walks the order's.
        Reach::PriceRange { from_index: false } => "+l.price_cents",
        _ => "l.price_cents",
    };
    push_price_range(sql, s, price);
}

/// ` AND …` keeping `column` (a price) within the filters' price range.
fn push_price_range(sql: &mut Sql, s: &SearchFilters, column: &str) {
    if let Some(v) = s.min_price {
        let _ = write!(sql.text, " AND {column} >= ");
        sql.int(v);
    }
    if let Some(v) = s.max_price {
        let _ = write!(sql.text, " AND {column} <= ");
        sql.int(v);
    }
}

/// One read of a page within `reach`: one statement, except SQLite's relevance, which ranks
/// its candidates after reading them (`relevance::sqlite_page`).
fn load_page(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    limit: i64,
    reach: Reach,
    run: plan_mode::Run,
) -> QueryResult<Vec<Found>> {
    if let (ListingSort::Relevance, Some(text), DbConnection::Sqlite(_)) =
        (sort, &filter.text, &*conn)
    {
        return relevance::sqlite_page(conn, filter, text, after, limit, reach, run);
    }
    let sql = build(conn, filter, sort, after, limit, reach);
    run(conn, &sql)?;
    sql.load(conn)
}

/// The search's SQL (SQLite's relevance aside: [`load_page`]).
fn build(
    conn: &DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    limit: i64,
    reach: Reach,
) -> Sql {
    if let (ListingSort::Relevance, Some(text)) = (sort, &filter.text) {
        return relevance::build(conn, filter, text, after, limit, reach);
    }
    let mut sql = Sql::new(conn);
    sql.generic = plans_generically(&sql, filter, reach);
    let id = IdKey::of(&sql, filter.text.is_some());
    let select = |sql: &mut Sql, reach: Reach| {
        let _ = write!(
            sql.text,
            "SELECT {COLUMNS}, CAST(0 AS DOUBLE PRECISION) AS rank, \
             CAST(0 AS BIGINT) AS window_lo, CAST(0 AS BIGINT) AS window_hi, \
             CAST(0 AS BIGINT) AS candidates"
        );
        let walk = matches!(reach, Reach::Walk { .. });
        from_clause(sql, filter.text.as_ref().filter(|_| !walk), reach);
        where_clause(sql, filter, reach);
        reach_clause(sql, reach);
        if let Some(p) = after {
            match sort {
                // Relevance without words is the newest order (the HTTP layer refuses it).
                ListingSort::Newest | ListingSort::Relevance => id.push_below(sql, reach, p.id),
                ListingSort::PriceAsc | ListingSort::PriceDesc | ListingSort::Popular => {
                    let (column, value, op) = match sort {
                        ListingSort::PriceAsc => ("l.price_cents", p.price_cents, ">"),
                        ListingSort::PriceDesc => ("l.price_cents", p.price_cents, "<"),
                        _ => ("l.like_count", p.like_count, "<"),
                    };
                    // In a descent's reads, on no index (the era index finds the matches).
                    let (column, id) = match reach {
                        Reach::Era { .. } | Reach::Older { .. } => {
                            (order_key(column, reach), order_key("l.id", reach))
                        }
                        _ => (column.to_owned(), "l.id".to_owned()),
                    };
                    let _ = write!(sql.text, " AND ({column}, {id}) {op} (");
                    sql.int(value).push(", ").int(p.id).push(")");
                }
            }
        }
    };
    // The order of `reach`'s read of the rows named `row` (`l`, or a descent's reads' `m`).
    let order = |reach: Reach, row: &str| {
        let key = |column: &str| order_key(&format!("{row}.{column}"), reach);
        match sort {
            ListingSort::Newest | ListingSort::Relevance => id.newest_first(reach),
            ListingSort::PriceAsc => format!("{} ASC, {row}.id ASC", key("price_cents")),
            ListingSort::PriceDesc => format!("{} DESC, {row}.id DESC", key("price_cents")),
            ListingSort::Popular => format!("{} DESC, {row}.id DESC", key("like_count")),
        }
    };
    if let Reach::Descent {
        ceiling,
        lowest,
        eras,
    } = reach
    {
        // The newest order is the descent's own; a price or likes order takes each era's top
        // rows in that order and then the page's top of them ([`eras::Ordered`]).
        let ordered = match sort {
            ListingSort::Newest | ListingSort::Relevance => None,
            _ => Some(eras::Ordered {
                each: order(
                    Reach::Era {
                        ceiling,
                        lowest,
                        eras,
                    },
                    "l",
                ),
                all: order(Reach::Planner, "m"),
            }),
        };
        push_descent(&mut sql, (ceiling, lowest, eras), limit, ordered, select);
        return sql;
    }
    if let (Reach::Walk { rows, price_walked }, Some(text)) = (reach, &filter.text) {
        // The index walked in the page's order as a co-routine, its rows checked in that order
        // and the walk stopped at the page: an ORDER BY out here would sort, reading every row
        // of the walk first. FTS5 seeks the row's id in the words' postings.
        sql.push("SELECT w.* FROM (");
        select(&mut sql, reach);
        let _ = write!(sql.text, " ORDER BY {}", order(reach, "l"));
        sql.limit(rows).push(") w WHERE TRUE");
        if !price_walked {
            push_price_range(&mut sql, &filter.filters, "w.price_cents");
        }
        sql.push(" AND EXISTS (SELECT 1 FROM listings_fts WHERE listings_fts MATCH ")
            .text_param(&text.to_fts5())
            .push(" AND listings_fts.rowid = -w.id)");
        sql.limit(limit);
        return sql;
    }
    select(&mut sql, reach);
    let _ = write!(sql.text, " ORDER BY {}", order(reach, "l"));
    sql.limit(limit);
    sql
}

/// One page of listings after `after`, its words spelled as `spelled` keeps them. Sorted by
/// relevance, the page ranks the cursor's window of candidates (the first page's: one that
/// [`window_reads`] opens on the newest ids) and, once those run out, the window below it.
pub fn search(
    conn: &mut DbConnection,
    mode: &mut PlanMode,
    spelled: &SpelledQueries,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    limit: i64,
) -> QueryResult<Vec<Found>> {
    if filter.status == ListingStatus::Draft && filter.viewer.is_none() {
        return Ok(Vec::new());
    }
    let filter = &corrected(conn, mode, spelled, filter)?;
    if sort != ListingSort::Relevance || filter.text.is_none() {
        return read(conn, mode, filter, sort, after.into(), limit, |_, _| Ok(()));
    }
    let (mut rows, window) = match after {
        // Later pages keep ranking the window's candidates: carry its range and count on.
        Some(p) if p.window_hi > 0 => {
            let mut rows = read(conn, mode, filter, sort, after.into(), limit, |_, _| Ok(()))?;
            let window = CandidateWindow {
                lo: p.window_lo,
                hi: p.window_hi,
                count: p.window_count,
            };
            for row in &mut rows {
                row.set_window(window);
            }
            (rows, Some(window))
        }
        // A cursor from before windows: the newest candidates below it, as then.
        Some(p) => {
            let rows = read(conn, mode, filter, sort, after.into(), limit, |_, _| Ok(()))?;
            let below = |row: &Found| WindowRead {
                lo: 1,
                hi: row.window_hi,
                take: p.candidates(),
            };
            let window = rows.first().map(|row| below(row).opened(row.window()));
            (rows, window)
        }
        None => open_window(conn, mode, filter, None, limit, limit)?,
    };
    // A window that may have older matches below it: once its pages run out, the page goes on
    // with the window below (one is enough: a page is smaller than a window).
    if let Some(w) = window.filter(CandidateWindow::goes_on_below) {
        let short = limit - rows.len() as i64;
        if short > 0 {
            let below = Some(w.lo - 1);
            rows.extend(open_window(conn, mode, filter, below, limit, short)?.0);
        }
    }
    Ok(rows)
}

/// The first `rows` listings of the relevance window that [`window_reads`] opens for pages
/// of `page`, on the newest ids or `below` an id (inclusive), with the window.
fn open_window(
    conn: &mut DbConnection,
    mode: &mut PlanMode,
    filter: &ListingFilter,
    below: Option<i64>,
    page: i64,
    rows: i64,
) -> QueryResult<(Vec<Found>, Option<CandidateWindow>)> {
    let (reads, start) = window_opening(conn, filter, below, page)?;
    let mut opened = (Vec::new(), None);
    for (i, (taken, at)) in reads.iter().enumerate() {
        let start = Start {
            after: Some(*at),
            ..start
        };
        let mut found = read(
            conn,
            mode,
            filter,
            ListingSort::Relevance,
            start,
            rows,
            |_, _| Ok(()),
        )?;
        let Some(first) = found.first() else {
            continue;
        };
        let candidates = first.window();
        let window = taken.opened(candidates);
        for row in &mut found {
            row.set_window(window);
        }
        opened = (found, Some(window));
        if i + 1 == reads.len() || !takes_next(candidates, page) {
            break;
        }
    }
    Ok(opened)
}

/// The reads that may open a relevance window on the newest ids or `below` an id, for pages of
/// `page`, each with the position it starts at ([`ListingPosition::opening`]), and what the
/// reads start from: on PostgreSQL the words' span, which the reads then take as it is (see
/// [`newest_and_expected`]).
fn window_opening(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    below: Option<i64>,
    page: i64,
) -> QueryResult<(Vec<(WindowRead, ListingPosition)>, Start)> {
    let (span, newest, in_span) = newest_and_expected(conn, filter)?;
    let top = below.map_or(newest, |b| b.min(newest));
    let reads = window_reads(top, page, in_span)
        .into_iter()
        .map(|r| (r, ListingPosition::opening(r, newest)))
        .collect();
    Ok((reads, Start { after: None, span }))
}

/// What a relevance window opens by: on PostgreSQL the words' span, one `search_span` call
/// that gives the newest id and the estimate [`window_reads`] leaves reads out by; on SQLite,
/// whose FTS5 has no estimate, the newest id, and for a search of active listings the
/// vocabulary's counts of its words ([`TextQuery::held_by`]) at their density over every id.
/// (span, newest id, matches expected in the newest [`RELEVANCE_SPAN`] ids.)
fn newest_and_expected(
    conn: &mut DbConnection,
    filter: &ListingFilter,
) -> QueryResult<(Option<steps::Span>, i64, Option<i64>)> {
    if let Some(span) = steps::words_span(conn, filter)? {
        return Ok((Some(span), span.ceiling, span.expected_in_span()));
    }
    let newest = newest_id(conn)?;
    let held = filter
        .text
        .as_ref()
        .and_then(|t| t.held_by)
        .filter(|_| filter.status == ListingStatus::Active);
    Ok((None, newest, held.and_then(|h| expected_in_span(h, newest))))
}

/// The newest listing's id (0: none): an end of the primary key.
fn newest_id(conn: &mut DbConnection) -> QueryResult<i64> {
    let mut sql = Sql::new(conn);
    sql.push("SELECT COALESCE(MAX(id), 0) AS n FROM listings");
    Ok(sql.load::<Number>(conn)?.first().map_or(0, |r| r.n))
}

/// How many matches of `filter` the newest [`RELEVANCE_SPAN`] ids are expected to hold, as a
/// first relevance page's opening reads it ([`window_reads`]: its words spelled as the search
/// spells them): PostgreSQL's estimate, SQLite's from the vocabulary's counts; `None` without
/// statistics or counts.
pub fn expected_in_relevance_span(
    conn: &mut DbConnection,
    filter: &ListingFilter,
) -> QueryResult<Option<i64>> {
    let filter = &corrected(
        conn,
        &mut PlanMode::default(),
        &SpelledQueries::default(),
        filter,
    )?;
    Ok(newest_and_expected(conn, filter)?.2)
}

/// PostgreSQL's plan for a search as [`search`] runs it (typos corrected; EXPLAIN, not run),
/// one line per node; with several reads (as [`search`] ran them just now: the reads are made
/// to decide on the next), each one's plan, [`NEXT_STEP`] between them. A first relevance page
/// has the plans of every read that may open its window ([`window_reads`]).
pub fn explain_pg(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    limit: i64,
) -> QueryResult<String> {
    // Spelled now: the plan of the words as the vocabulary has them.
    let mode = &mut PlanMode::default();
    let filter = &corrected(conn, mode, &SpelledQueries::default(), filter)?;
    let starts = match after {
        None if sort == ListingSort::Relevance && filter.text.is_some() => {
            let (reads, start) = window_opening(conn, filter, None, limit)?;
            reads
                .into_iter()
                .map(|(_, at)| Start {
                    after: Some(at),
                    ..start
                })
                .collect()
        }
        _ => vec![after.into()],
    };
    let mut plans = Vec::new();
    for start in starts {
        read(conn, mode, filter, sort, start, limit, |conn, sql| {
            plans.push(sql.clone().explain(conn)?);
            Ok(())
        })?;
    }
    Ok(plans.join(&format!("\n{NEXT_STEP}\n")))
}

/// Separates the plans of a search's reads in [`explain_pg`]'s answer.
pub const NEXT_STEP: &str = "-- then, as the read before found too few:";

#[cfg(test)]
mod tests {
    /// The words index's filter terms are the phrases `bazaar_bm25` neither counts nor scores.
    #[test]
    fn the_filter_terms_are_what_bazaar_bm25_leaves_unscored() {
        assert_eq!(
            crate::domain::search::FACET_TERM_MARK,
            bazaar_fts_rank::FILTER_MARK
        );
    }
}
