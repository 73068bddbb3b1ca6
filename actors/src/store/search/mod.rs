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
//! carries so later pages rank the same set. PostgreSQL's rank depends only on the row and the
//! query, so a stored rank is a stable boundary. SQLite's bm25 depends on the collection's
//! statistics, which an insert moves: the boundary is the last row's rank recomputed now (the
//! stored one only if that row no longer matches), so a uniform shift of every score moves
//! nothing; only two rows whose order flips between the pages can move.
//!
//! Without relevance no rank is computed (the other sorts do not need it), and on SQLite the
//! FTS5 table is joined directly, so the planner can walk it in rowid order and stop early.

use super::models::Listing;
use super::DbConnection;
use crate::domain::category::CategoryLevel;
use crate::domain::listing::{ListingStatus, CONDITIONS};
use crate::domain::search::{SearchFilters, TextQuery};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::SqlQuery;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use std::fmt::Write;

mod facets;
mod forget;
pub mod plans;
mod prefixes;
mod reach;
mod relevance;
mod typos;

pub use crate::domain::search::{FIRST_REACH, RELEVANCE_CANDIDATES};
pub use facets::{facets, CappedCount, Facets};
pub use forget::{forget_words, unheld_words, Checked};
use reach::{order_key, plans_generically, reach_clause, read, Reach};
use typos::corrected;

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
/// and for relevance the id range of the candidates the first page ranked (0, 0: none).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ListingPosition {
    pub price_cents: i64,
    pub like_count: i64,
    pub rank: f64,
    pub id: i64,
    pub window_lo: i64,
    pub window_hi: i64,
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

const COLUMNS: &str = "l.id, l.seller_id, l.title, l.description, l.category, l.condition, \
    l.price_cents, l.currency, l.quantity, l.status, l.like_count, l.auto_accept_cents, \
    l.auto_decline_cents, l.version, l.created_at, l.updated_at, l.auto_drop_percent, \
    l.auto_drop_interval_secs, l.auto_drop_floor_cents, l.next_price_drop_at";

/// SQLite's relevance: FTS5's bm25 (higher is better) with the query's IDF kept a while on the
/// connection (`bazaar-fts-rank`), weighing title, description, category. `sizes` is the row's
/// sizes from FTS5's `listings_fts_docsize` (see [`DOCSIZE_JOIN`]), or `NULL` to have FTS5 read
/// them.
fn push_bm25(sql: &mut Sql, text: &TextQuery, sizes: &str) {
    sql.push("bazaar_bm25(listings_fts, ")
        .text_param(&text.to_fts5())
        .push(", ")
        .push(sizes)
        .push(", 10.0, 2.0, 1.0)");
}

/// The join that gives `bazaar_bm25` each match's sizes (`ds.sz`, its length in tokens per
/// column) as one more b-tree lookup, not a blob handle of FTS5's own per row. An outer join:
/// a row without sizes (FTS5 writes them with every row) would still be found, its sizes then
/// read by FTS5 itself.
const DOCSIZE_JOIN: &str = " LEFT JOIN listings_fts_docsize ds ON ds.id = listings_fts.rowid";

enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
}

/// SQL text with its parameters, placeholders in the backend's style.
struct Sql {
    pg: bool,
    /// PostgreSQL: written to be planned once without its values and kept prepared on the
    /// connection (see `reach::plans_generically`); run it in that mode (`reach::PlanMode`).
    generic: bool,
    /// PostgreSQL: kept prepared on the connection and planned as PostgreSQL's plan cache
    /// chooses ([`Sql::kept`]).
    kept: bool,
    text: String,
    binds: Vec<Bind>,
    /// Where in `text` each parameter's placeholder begins.
    marks: Vec<usize>,
}

impl Sql {
    fn new(conn: &DbConnection) -> Sql {
        Sql {
            pg: matches!(conn, DbConnection::Postgresql(_)),
            generic: false,
            kept: false,
            text: String::new(),
            binds: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Keeps the statement prepared on a PostgreSQL connection, as SQLite keeps every one: for
    /// a statement whose best plan hangs on no value bound to it, and whose text takes a few
    /// shapes at most (so a client cannot fill the connections' statement caches). Each run
    /// then skips the parse, and the planning too once PostgreSQL's plan cache settles on the
    /// generic plan (after five runs, when that plan costs no more than the custom ones):
    /// the vocabulary's lookups before a words search cost 0.28 ms of parse and plan against
    /// 0.03 ms of execution at 1M listings.
    fn kept(&mut self) -> &mut Self {
        self.kept = true;
        self
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        self.marks.push(self.text.len());
        if self.pg {
            let _ = write!(self.text, "${}", self.binds.len());
        } else {
            self.text.push('?');
        }
        self
    }

    fn text_param(&mut self, s: &str) -> &mut Self {
        self.bind(Bind::Text(s.to_owned()))
    }

    fn int(&mut self, v: i64) -> &mut Self {
        self.bind(Bind::Int(v))
    }

    /// ` LIMIT n`, `n` bound. On SQLite written `LIMIT +?`: SQLite (3.50) reads the value bound
    /// to a plain `LIMIT ?` while it compiles the statement, to size the plan, and so marks the
    /// statement to be compiled again whenever that parameter is bound anew: on every run (a
    /// quarter of the newest page's instructions at 1M listings went to compiling it again).
    /// `+?` is an expression it does not read ahead; the plans do not depend on the page size.
    /// (Read-only connections now plan without bound values anyway, `bazaar_stable_plans`;
    /// this keeps the search's statements from that cost on any connection.)
    fn limit(&mut self, n: i64) -> &mut Self {
        self.push(if self.pg { " LIMIT " } else { " LIMIT +" })
            .int(n)
    }

    fn load<T>(self, conn: &mut DbConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
    {
        match conn {
            DbConnection::Postgresql(c) if self.generic || self.kept => Kept(&self).load(c),
            DbConnection::Postgresql(c) => self.unnamed().load::<T>(c),
            DbConnection::Sqlite(c) => Kept(&self).load(c),
        }
    }

    /// Runs a statement that answers no rows (a write); the number of rows it changed.
    fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        match conn {
            DbConnection::Postgresql(c) if self.generic || self.kept => Kept(&self).execute(c),
            DbConnection::Postgresql(c) => self.unnamed().execute(c),
            DbConnection::Sqlite(c) => Kept(&self).execute(c),
        }
    }

    /// The statement as PostgreSQL runs it unnamed: parsed and planned with its values.
    fn unnamed(self) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, SqlQuery> {
        let mut q = diesel::sql_query(self.text).into_boxed::<diesel::pg::Pg>();
        for b in self.binds {
            q = match b {
                Bind::Text(s) => q.bind::<Text, _>(s),
                Bind::Int(v) => q.bind::<BigInt, _>(v),
                Bind::Float(v) => q.bind::<Double, _>(v),
            };
        }
        q
    }
}

/// A search's SQL as a statement Diesel prepares once per connection and keeps, keyed by its
/// text (which names the filters used, never their values). SQLite plans a statement without
/// looking at the values bound to it, so preparing it again for each request only repeated the
/// parse and the planning: every SQLite search runs kept. PostgreSQL's plans do depend on the
/// values (how common the words are), so its statements stay unnamed and are planned at each
/// run, except those written to be planned once without their values (`Sql::generic`) and the
/// lookups whose plans hang on no value (`Sql::kept`).
struct Kept<'a>(&'a Sql);

impl<DB> diesel::query_builder::QueryFragment<DB> for Kept<'_>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Double>,
    String: diesel::serialize::ToSql<Text, DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    f64: diesel::serialize::ToSql<Double, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        let Sql {
            text, binds, marks, ..
        } = self.0;
        let mut from = 0;
        for (at, bind) in marks.iter().zip(binds) {
            out.push_sql(&text[from..*at]);
            match bind {
                Bind::Text(s) => out.push_bind_param::<Text, _>(s)?,
                Bind::Int(v) => out.push_bind_param::<BigInt, _>(v)?,
                Bind::Float(v) => out.push_bind_param::<Double, _>(v)?,
            }
            // Diesel writes the placeholder (`?`, `$n`) that `Sql::bind` wrote at `at`.
            from = at + placeholder_len(&text[*at..]);
        }
        out.push_sql(&text[from..]);
        Ok(())
    }
}

/// The length of the placeholder `text` begins with: `?`, or `$` and its number.
fn placeholder_len(text: &str) -> usize {
    match text.strip_prefix('$') {
        Some(rest) => 1 + rest.bytes().take_while(u8::is_ascii_digit).count(),
        None => 1,
    }
}

impl diesel::query_builder::QueryId for Kept<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Kept<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<diesel::SqliteConnection> for Kept<'_> {}
impl RunQueryDsl<diesel::PgConnection> for Kept<'_> {}

/// The text match's source: PostgreSQL needs the query in FROM (matched in WHERE; planned
/// generically, the query is a sub-select of its own, [`push_tsquery`]), SQLite the FTS5 table
/// joined (matched in WHERE).
fn from_clause(sql: &mut Sql, text: Option<&TextQuery>) {
    match (text, sql.pg) {
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
            sql.push(" FROM listings_fts JOIN listings l ON l.id = listings_fts.rowid");
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

/// The listing id as the ordering should name it: with words on SQLite, the FTS5 table's
/// rowid (equal to it), so FTS5 can return the matches newest first and stop early.
fn id_col(sql: &Sql, text: bool) -> &'static str {
    if text && !sql.pg {
        "listings_fts.rowid"
    } else {
        "l.id"
    }
}

/// `WHERE …` for everything but the keyset.
fn where_clause(sql: &mut Sql, f: &ListingFilter) {
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
    if let Some(t) = &f.text {
        if sql.generic {
            sql.push(" AND l.search_vector @@ ");
            push_tsquery(sql, t);
        } else if sql.pg {
            sql.push(" AND l.search_vector @@ tsq");
        } else {
            sql.push(" AND listings_fts MATCH ")
                .text_param(&t.to_fts5());
        }
    }
    let s = &f.filters;
    if let Some(c) = &s.category {
        match c.level {
            CategoryLevel::Top => sql.push(" AND l.category_top = "),
            CategoryLevel::Child => sql.push(" AND l.category = "),
        };
        sql.text_param(&c.slug);
    }
    if let Some(c) = &s.condition {
        sql.push(" AND l.condition = ").text_param(c);
    }
    if let Some(v) = s.seller_id {
        sql.push(" AND l.seller_id = ").int(v);
    }
    if let Some(v) = s.min_price {
        sql.push(" AND l.price_cents >= ").int(v);
    }
    if let Some(v) = s.max_price {
        sql.push(" AND l.price_cents <= ").int(v);
    }
}

/// The search's SQL.
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
    let id = id_col(&sql, filter.text.is_some());
    let _ = write!(
        sql.text,
        "SELECT {COLUMNS}, CAST(0 AS DOUBLE PRECISION) AS rank, \
         CAST(0 AS BIGINT) AS window_lo, CAST(0 AS BIGINT) AS window_hi, \
         CAST(0 AS BIGINT) AS candidates"
    );
    from_clause(&mut sql, filter.text.as_ref());
    where_clause(&mut sql, filter);
    reach_clause(&mut sql, reach);
    if let Some(p) = after {
        match sort {
            // Relevance without words is the newest order (the HTTP layer refuses it).
            ListingSort::Newest | ListingSort::Relevance => {
                let _ = write!(sql.text, " AND {id} < ");
                sql.int(p.id)
            }
            ListingSort::PriceAsc => sql
                .push(" AND (l.price_cents, l.id) > (")
                .int(p.price_cents)
                .push(", ")
                .int(p.id)
                .push(")"),
            ListingSort::PriceDesc => sql
                .push(" AND (l.price_cents, l.id) < (")
                .int(p.price_cents)
                .push(", ")
                .int(p.id)
                .push(")"),
            ListingSort::Popular => sql
                .push(" AND (l.like_count, l.id) < (")
                .int(p.like_count)
                .push(", ")
                .int(p.id)
                .push(")"),
        };
    }
    let order = match sort {
        ListingSort::Newest | ListingSort::Relevance => format!("{} DESC", order_key(id, reach)),
        ListingSort::PriceAsc => format!("{} ASC, l.id ASC", order_key("l.price_cents", reach)),
        ListingSort::PriceDesc => {
            format!("{} DESC, l.id DESC", order_key("l.price_cents", reach))
        }
        ListingSort::Popular => format!("{} DESC, l.id DESC", order_key("l.like_count", reach)),
    };
    let _ = write!(sql.text, " ORDER BY {order}");
    sql.limit(limit);
    sql
}

/// One page of listings after `after`.
pub fn search(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    mut after: Option<ListingPosition>,
    limit: i64,
) -> QueryResult<Vec<Found>> {
    if filter.status == ListingStatus::Draft && filter.viewer.is_none() {
        return Ok(Vec::new());
    }
    let filter = &corrected(conn, filter)?;
    if let (Some(p), Some(text), DbConnection::Sqlite(_), ListingSort::Relevance) =
        (after.as_mut(), &filter.text, &*conn, sort)
    {
        if let Some(now) = sqlite_rank_now(conn, text, p.id)? {
            p.rank = now;
        }
    }
    let mut rows = read(conn, filter, sort, after, limit, |_, _| Ok(()))?;
    // Later pages keep ranking the first page's candidates: carry its range on unchanged.
    if let Some(p) = after.filter(|p| p.window_hi > 0 && sort == ListingSort::Relevance) {
        for row in &mut rows {
            row.window_lo = p.window_lo;
            row.window_hi = p.window_hi;
        }
    }
    Ok(rows)
}

#[derive(QueryableByName)]
struct RankRow {
    #[diesel(sql_type = Double)]
    rank: f64,
}

/// The bm25 rank `id` has for `text` with the collection as it is now (SQLite).
fn sqlite_rank_now(conn: &mut DbConnection, text: &TextQuery, id: i64) -> QueryResult<Option<f64>> {
    let mut sql = Sql::new(conn);
    sql.push("SELECT ");
    push_bm25(&mut sql, text, "NULL");
    sql.push(" AS rank FROM listings_fts WHERE listings_fts MATCH ")
        .text_param(&text.to_fts5())
        .push(" AND rowid = ")
        .int(id);
    Ok(sql.load::<RankRow>(conn)?.first().map(|r| r.rank))
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

impl Sql {
    /// PostgreSQL's plan for this statement as it would run (EXPLAIN, not run), one line per
    /// node. A generic statement's plan is the one made without its values: it is prepared by
    /// name and explained with `EXPLAIN EXECUTE` (the connection in generic mode, as `read`
    /// leaves it for such a read); explained directly, PostgreSQL would plan it with its values.
    fn explain(mut self, conn: &mut DbConnection) -> QueryResult<String> {
        const NAME: &str = "bazaar_plan_check";
        let lines = if self.generic {
            let types: Vec<&str> = self.binds.iter().map(Bind::pg_type).collect();
            let values: Vec<String> = self.binds.iter().map(Bind::literal).collect();
            conn.batch_execute(&format!(
                "PREPARE {NAME}({}) AS {}",
                types.join(", "),
                self.text
            ))?;
            let lines = diesel::sql_query(format!("EXPLAIN EXECUTE {NAME}({})", values.join(", ")))
                .load::<PlanLine>(conn);
            conn.batch_execute(&format!("DEALLOCATE {NAME}"))?;
            lines?
        } else {
            self.text.insert_str(0, "EXPLAIN ");
            self.load::<PlanLine>(conn)?
        };
        Ok(lines
            .into_iter()
            .map(|l| l.line)
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

impl Bind {
    /// The PostgreSQL type it is bound as.
    fn pg_type(&self) -> &'static str {
        match self {
            Bind::Text(_) => "text",
            Bind::Int(_) => "bigint",
            Bind::Float(_) => "double precision",
        }
    }

    /// The value as a PostgreSQL literal (for `EXPLAIN EXECUTE` only).
    fn literal(&self) -> String {
        match self {
            Bind::Text(s) => format!("'{}'", s.replace('\'', "''")),
            Bind::Int(v) => v.to_string(),
            Bind::Float(v) => format!("'{v:?}'::double precision"),
        }
    }
}

/// PostgreSQL's plan for a search as [`search`] runs it (typos corrected; EXPLAIN, not run),
/// one line per node; with several reads (as [`search`] ran them just now: the reads are made
/// to decide on the next), each one's plan, [`NEXT_STEP`] between them.
pub fn explain_pg(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    limit: i64,
) -> QueryResult<String> {
    let filter = &corrected(conn, filter)?;
    let mut plans = Vec::new();
    read(conn, filter, sort, after, limit, |conn, reach| {
        let sql = build(conn, filter, sort, after, limit, reach);
        plans.push(sql.explain(conn)?);
        Ok(())
    })?;
    Ok(plans.join(&format!("\n{NEXT_STEP}\n")))
}

/// Separates the plans of a search's reads in [`explain_pg`]'s answer.
pub const NEXT_STEP: &str = "-- then, as the read before found too few:";

/// For the store's own tests of search on SQLite.
#[cfg(test)]
mod testing {
    use crate::store::{connect, migrate, PooledConn};
    use diesel::connection::SimpleConnection;

    /// A migrated SQLite database in a temporary directory (kept while the first value lives)
    /// with one seller and an active listing per title (description "Plain"), written in plain
    /// SQL so only the database's own triggers run.
    pub(super) fn sqlite_with_listings(titles: &[&str]) -> (tempfile::TempDir, PooledConn) {
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
}
