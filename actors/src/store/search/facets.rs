//! Facets of a search: counts per top-level category and condition, and the price range, from
//! one bounded read of the matches.

use super::*;
use crate::domain::category;

/// A count that stops at a cap: exact below it, "at least" at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CappedCount {
    pub count: i64,
    pub capped: bool,
}

/// Counts of matching listings per top-level category and per condition, and the price range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facets {
    pub categories: Vec<(String, CappedCount)>,
    pub conditions: Vec<(String, CappedCount)>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
}

/// One match as PostgreSQL's facets count it: where it falls among the buckets, and its price.
#[derive(QueryableByName)]
struct FacetRow {
    /// Read from the stored category, as SQLite's tally reads it (there `category_top` is
    /// computed on every read: 15% of a facets call at 1M listings).
    #[diesel(sql_type = Nullable<Text>)]
    category: Option<Place<TopCategories>>,
    #[diesel(sql_type = Nullable<Text>)]
    condition: Option<Place<Conditions>>,
    #[diesel(sql_type = BigInt)]
    price_cents: i64,
}

/// A facet's buckets: which one a value read from the database falls in.
trait Buckets {
    fn bucket(text: &str) -> Option<usize>;
}

/// The top-level categories, in the tree's order; a listing's category falls in its top one.
struct TopCategories;

impl Buckets for TopCategories {
    fn bucket(text: &str) -> Option<usize> {
        let top = category::top_of(text);
        category::TREE.iter().position(|c| c.slug == top)
    }
}

/// The conditions, in [`CONDITIONS`]' order.
struct Conditions;

impl Buckets for Conditions {
    fn bucket(text: &str) -> Option<usize> {
        CONDITIONS.iter().position(|c| *c == text)
    }
}

/// The bucket of `B` a text column's value falls in (`None`: none of them), decoded from the
/// database's own bytes: a `String` per match and column cost 9% of a facets call at 1M
/// listings on SQLite (an allocation and a copy, two thousand times), when it still read the
/// matches row by row. (Diesel asks for the SQLite decoding too, though only PostgreSQL's
/// facets read rows.)
struct Place<B>(Option<usize>, std::marker::PhantomData<B>);

impl<B: Buckets> Place<B> {
    fn of(text: &str) -> Self {
        Place(B::bucket(text), std::marker::PhantomData)
    }
}

impl<B: Buckets> diesel::deserialize::FromSql<Text, diesel::sqlite::Sqlite> for Place<B> {
    fn from_sql(
        mut value: diesel::sqlite::SqliteValue<'_, '_, '_>,
    ) -> diesel::deserialize::Result<Self> {
        Ok(Place::of(value.read_text()))
    }
}

impl<B: Buckets> diesel::deserialize::FromSql<Text, diesel::pg::Pg> for Place<B> {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        Ok(Place::of(std::str::from_utf8(value.as_bytes())?))
    }
}

/// The facets of a search, from the newest `cap + 1` matches, so a call costs about the same at
/// any catalogue size. With at most `cap` matches every figure is exact and the counts add up
/// to the matches (those with a category or a condition). With more, the figures describe the
/// newest `cap` matches and every count is marked capped: at least that many match. The words
/// are spelled as `spelled` keeps them.
///
/// On PostgreSQL the matches of words are read in the steps of [`Reach`] (the newest ids first,
/// then a window that should hold enough, or every match when few are expected) and each step
/// takes its matches from the words' index (`l.id + 0`: no index gives that order), since a
/// walk of the id index would test every listing it passes and the facets need all of a
/// step's matches, not the first few. SQLite counts the matches where it reads them, with the
/// aggregate `bazaar_tally` (crate `bazaar-fts-rank`), and answers one row.
pub fn facets(
    conn: &mut DbConnection,
    mode: &mut PlanMode,
    spelled: &SpelledQueries,
    filter: &ListingFilter,
    cap: i64,
) -> QueryResult<Facets> {
    if filter.status == ListingStatus::Draft && filter.viewer.is_none() {
        return Ok(Counts::default().facets(false));
    }
    let filter = &corrected(conn, mode, spelled, filter)?;
    let cap = cap.max(0);
    if matches!(conn, DbConnection::Sqlite(_)) {
        return sqlite_facets(conn, filter, cap);
    }
    let mut rows = plan_mode::in_plan_modes(
        conn,
        mode,
        |_, _| Ok(()),
        |conn, run| match &filter.text {
            Some(text) => word_facet_rows(conn, filter, text, cap, run),
            None => facet_rows(conn, filter, cap, Reach::Planner, run),
        },
    )?;
    let capped = rows.len() as i64 > cap;
    rows.truncate(cap as usize);
    let mut counts = Counts::default();
    for row in &rows {
        counts.category(row.category.as_ref(), 1);
        counts.condition(row.condition.as_ref(), 1);
        counts.price(Some(row.price_cents));
    }
    Ok(counts.facets(capped))
}

/// PostgreSQL: the newest `cap + 1` matches of `text` (and the filters), each read run by
/// `run`: by eras where they serve, else in the steps of [`Reach`].
fn word_facet_rows(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    text: &TextQuery,
    cap: i64,
    run: plan_mode::Run,
) -> QueryResult<Vec<FacetRow>> {
    if eras::eras_serve(filter) {
        // The newest matches whatever the words: a descent through the eras, the newest id
        // found by the read itself, no estimate asked for. At 1M, facets of "jacket" (1.6% of
        // the listings) 800 → 900/s, "smoke" (12%) 380 → 900/s, "home" (29%) 440 → 560/s
        // against walking the newest ids; only a word in nearly every listing reads more by
        // eras (an era's every match for 1,001: "size", in all of them, 310 → 215/s).
        // With a category or a condition (in the era index too), words the statistics expect
        // few of are read whole from the words' index: a descent would probe every era for the
        // few that pass.
        let filtered = filter.filters.in_era_index();
        if filtered && steps::Span::whole(conn, text, Some(&filter.filters))?.few_words() {
            return facet_rows(conn, filter, cap, Reach::All, run);
        }
        let newest = Reach::Descent {
            ceiling: i64::MAX,
            lowest: 1,
            // No estimate asked for: the era index's eras, which serve the facets' 201 best.
            eras: eras::descent_eras(&filter.filters, false),
        };
        return facet_rows(conn, filter, cap, newest, run);
    }
    let span = steps::Span::whole(conn, text, None)?;
    let load = |conn: &mut DbConnection, reach| facet_rows(conn, filter, cap, reach, run);
    let count = |conn: &mut DbConnection, look: steps::FirstLook| look.count(conn, filter, run);
    steps::stepped(conn, span, cap + 1, None, load, count, |rows| {
        rows.len() as i64
    })
}

/// `SELECT` of the newest `cap + 1` matches within `reach`: their category, condition and price.
fn newest_matches(sql: &mut Sql, filter: &ListingFilter, cap: i64, reach: Reach) {
    // Every match of the words, or those in a window's eras, is planned once without its
    // values, as the search's reads are (planning the facets' read with its values cost
    // 0.4 ms of a ~3.7 ms call at 1M). Not a narrow window read from the words' index: the
    // facets order it by no index, and a plan made without the window's bound would take
    // every match of a word common enough to need only a narrow window.
    sql.generic = plans_generically(sql, filter, reach) && !matches!(reach, Reach::Above { .. });
    let id = IdKey::of(sql, filter.text.is_some());
    let select = |sql: &mut Sql, reach: Reach| {
        sql.push("SELECT l.category, l.condition, l.price_cents");
        from_clause(sql, filter.text.as_ref(), reach);
        where_clause(sql, filter, reach);
        reach_clause(sql, reach);
    };
    if let Reach::Descent {
        ceiling,
        lowest,
        eras,
    } = reach
    {
        push_descent(sql, (ceiling, lowest, eras), cap + 1, None, select);
        return;
    }
    select(sql, reach);
    // Each step of `Reach` takes its matches from the words' index or the era index: in no
    // index's order.
    let read = if matches!(reach, Reach::Planner | Reach::PriceRange { .. }) {
        reach
    } else {
        Reach::All
    };
    let _ = write!(sql.text, " ORDER BY {}", id.newest_first(read));
    sql.limit(cap + 1);
}

/// The newest `cap + 1` matches within `reach`, a row each (PostgreSQL), read by `run`.
fn facet_rows(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    cap: i64,
    reach: Reach,
    run: plan_mode::Run,
) -> QueryResult<Vec<FacetRow>> {
    let mut sql = Sql::new(conn);
    newest_matches(&mut sql, filter, cap, reach);
    run(conn, &sql)?;
    sql.load::<FacetRow>(conn)
}

/// SQLite: the newest `cap + 1` matches counted by `bazaar_tally` as SQLite reads them (the
/// subquery hands them over newest first, so the tally's first `cap` are the newest), one row
/// back instead of a thousand.
fn sqlite_facets(conn: &mut DbConnection, filter: &ListingFilter, cap: i64) -> QueryResult<Facets> {
    #[derive(QueryableByName)]
    struct Answer {
        #[diesel(sql_type = Text)]
        tally: String,
    }
    let mut sql = Sql::new(conn);
    let _ = write!(sql.text, "SELECT {}(", bazaar_fts_rank::TALLY);
    sql.int(cap)
        .push(", m.price_cents, m.category, m.condition) AS tally FROM (");
    let reach = in_price_range(conn, filter, cap + 1)?;
    newest_matches(&mut sql, filter, cap, reach);
    sql.push(") m");
    let answer = sql.load::<Answer>(conn)?.pop();
    let tally: bazaar_fts_rank::Tally = match answer {
        Some(a) => serde_json::from_str(&a.tally)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
        None => Default::default(),
    };
    let mut counts = Counts::default();
    let mut columns = tally.values.iter();
    for (value, n) in columns.next().into_iter().flatten() {
        counts.category(Some(&Place::of(value)), *n);
    }
    for (value, n) in columns.next().into_iter().flatten() {
        counts.condition(Some(&Place::of(value)), *n);
    }
    counts.price(tally.min);
    counts.price(tally.max);
    Ok(counts.facets(tally.rows > cap))
}

/// Matches counted per top-level category (in the tree's order) and per condition (in
/// [`CONDITIONS`]' order), and their price range.
struct Counts {
    per_top: Vec<i64>,
    per_condition: Vec<i64>,
    min_price: Option<i64>,
    max_price: Option<i64>,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            per_top: vec![0; category::TREE.len()],
            per_condition: vec![0; CONDITIONS.len()],
            min_price: None,
            max_price: None,
        }
    }
}

impl Counts {
    fn category(&mut self, place: Option<&Place<TopCategories>>, n: i64) {
        if let Some(Place(Some(i), _)) = place {
            self.per_top[*i] += n;
        }
    }

    fn condition(&mut self, place: Option<&Place<Conditions>>, n: i64) {
        if let Some(Place(Some(i), _)) = place {
            self.per_condition[*i] += n;
        }
    }

    fn price(&mut self, price: Option<i64>) {
        if let Some(p) = price {
            self.min_price = Some(self.min_price.map_or(p, |m| m.min(p)));
            self.max_price = Some(self.max_price.map_or(p, |m| m.max(p)));
        }
    }

    /// The facets, buckets with none left out, every count marked `capped` or none.
    fn facets(self, capped: bool) -> Facets {
        let buckets = |values: &mut dyn Iterator<Item = &str>, counts: &[i64]| {
            values
                .zip(counts)
                .filter(|(_, n)| **n > 0)
                .map(|(value, n)| (value.to_owned(), CappedCount { count: *n, capped }))
                .collect()
        };
        Facets {
            categories: buckets(&mut category::TREE.iter().map(|t| t.slug), &self.per_top),
            conditions: buckets(&mut CONDITIONS.iter().copied(), &self.per_condition),
            min_price: self.min_price,
            max_price: self.max_price,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_falls_in_its_top_level_bucket_and_an_unknown_value_in_none() {
        let electronics = category::TREE.iter().position(|c| c.slug == "electronics");
        assert!(electronics.is_some());
        assert_eq!(TopCategories::bucket("electronics"), electronics);
        assert_eq!(TopCategories::bucket("electronics-phones"), electronics);
        assert_eq!(TopCategories::bucket("spaceships"), None);
        assert_eq!(Conditions::bucket("like_new"), Some(1));
        assert_eq!(Conditions::bucket("like"), None);
    }
}
