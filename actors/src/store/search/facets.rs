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

/// One match as the facets count it: where it falls among the buckets, and its price.
#[derive(QueryableByName)]
struct FacetRow {
    /// Read from the stored category: on SQLite `category_top` is computed on every read
    /// (15% of a facets call at 1M listings).
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
/// listings on SQLite (an allocation and a copy, two thousand times).
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
/// newest `cap` matches and every count is marked capped: at least that many match.
///
/// On PostgreSQL the matches of words are read in the steps of [`Reach`] (the newest ids first,
/// then a window that should hold enough, or every match when few are expected) and each step
/// takes its matches from the words' index (`l.id + 0`: no index gives that order), since a
/// walk of the id index would test every listing it passes and the facets need all of a
/// step's matches, not the first few.
pub fn facets(conn: &mut DbConnection, filter: &ListingFilter, cap: i64) -> QueryResult<Facets> {
    if filter.status == ListingStatus::Draft && filter.viewer.is_none() {
        return Ok(Facets {
            categories: Vec::new(),
            conditions: Vec::new(),
            min_price: None,
            max_price: None,
        });
    }
    let filter = &corrected(conn, filter)?;
    let cap = cap.max(0);
    let mut rows = match (&filter.text, matches!(conn, DbConnection::Postgresql(_))) {
        (Some(text), true) => {
            let span = reach::Span::whole(conn, text)?;
            let load = |conn: &mut DbConnection, reach| facet_rows(conn, filter, cap, reach);
            reach::stepped(conn, span, cap + 1, load, |rows| rows.len() as i64)?
        }
        _ => facet_rows(conn, filter, cap, Reach::Planner)?,
    };
    let capped = rows.len() as i64 > cap;
    rows.truncate(cap as usize);
    Ok(count(&rows, capped))
}

/// The newest `cap + 1` matches within `reach`: their top-level category, condition and price.
fn facet_rows(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    cap: i64,
    reach: Reach,
) -> QueryResult<Vec<FacetRow>> {
    let mut sql = Sql::new(conn);
    let id = id_col(&sql, filter.text.is_some());
    sql.push("SELECT l.category, l.condition, l.price_cents");
    from_clause(&mut sql, filter.text.as_ref());
    where_clause(&mut sql, filter);
    reach_clause(&mut sql, reach);
    // Each step of `Reach` takes its matches from the words' index: in no index's order.
    let order = if reach == Reach::Planner {
        id.to_owned()
    } else {
        order_key(id, Reach::All)
    };
    let _ = write!(sql.text, " ORDER BY {order} DESC");
    sql.limit(cap + 1);
    sql.load::<FacetRow>(conn)
}

/// Counts per top-level category (in the tree's order) and per condition (in
/// [`CONDITIONS`]' order), buckets with none left out, and the price range: one pass over the
/// rows.
fn count(rows: &[FacetRow], capped: bool) -> Facets {
    let mut per_top = vec![0; category::TREE.len()];
    let mut per_condition = vec![0; CONDITIONS.len()];
    for row in rows {
        if let Some(Place(Some(i), _)) = row.category {
            per_top[i] += 1;
        }
        if let Some(Place(Some(i), _)) = row.condition {
            per_condition[i] += 1;
        }
    }
    let buckets = |values: &mut dyn Iterator<Item = &str>, counts: &[i64]| {
        values
            .zip(counts)
            .filter(|(_, n)| **n > 0)
            .map(|(value, n)| (value.to_owned(), CappedCount { count: *n, capped }))
            .collect()
    };
    Facets {
        categories: buckets(&mut category::TREE.iter().map(|t| t.slug), &per_top),
        conditions: buckets(&mut CONDITIONS.iter().copied(), &per_condition),
        min_price: rows.iter().map(|r| r.price_cents).min(),
        max_price: rows.iter().map(|r| r.price_cents).max(),
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
