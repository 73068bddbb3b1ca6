//! Facets of a search: counts per top-level category and condition, and the price range, from
//! one bounded read of the matches.

use super::*;

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

#[derive(QueryableByName)]
struct FacetRow {
    #[diesel(sql_type = Nullable<Text>)]
    category_top: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    condition: Option<String>,
    #[diesel(sql_type = BigInt)]
    price_cents: i64,
}

/// The facets of a search, from one read of the newest `cap + 1` matches (an index walk that
/// stops there), so a call costs the same at any catalogue size. With at most `cap` matches
/// every figure is exact and the counts add up to the matches (those with a category or a
/// condition). With more, the figures describe the newest `cap` matches and every count is
/// marked capped: at least that many match.
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
    let mut sql = Sql::new(conn);
    let id = id_col(&sql, filter.text.is_some());
    sql.push("SELECT l.category_top, l.condition, l.price_cents");
    from_clause(&mut sql, filter.text.as_ref());
    where_clause(&mut sql, filter);
    let _ = write!(sql.text, " ORDER BY {id} DESC LIMIT ");
    sql.int(cap.max(0) + 1);
    let mut rows = sql.load::<FacetRow>(conn)?;
    let capped = rows.len() as i64 > cap;
    rows.truncate(cap.max(0) as usize);
    Ok(count(&rows, capped))
}

/// Counts per top-level category (in the tree's order) and per condition (in
/// [`CONDITIONS`]' order), buckets with none left out, and the price range.
fn count(rows: &[FacetRow], capped: bool) -> Facets {
    let bucket = |value: &str, n: usize| {
        (n > 0).then(|| {
            (
                value.to_owned(),
                CappedCount {
                    count: n as i64,
                    capped,
                },
            )
        })
    };
    let categories = crate::domain::category::TREE
        .iter()
        .filter_map(|top| {
            let n = rows
                .iter()
                .filter(|r| r.category_top.as_deref() == Some(top.slug))
                .count();
            bucket(top.slug, n)
        })
        .collect();
    let conditions = CONDITIONS
        .iter()
        .filter_map(|c| {
            let n = rows
                .iter()
                .filter(|r| r.condition.as_deref() == Some(*c))
                .count();
            bucket(c, n)
        })
        .collect();
    Facets {
        categories,
        conditions,
        min_price: rows.iter().map(|r| r.price_cents).min(),
        max_price: rows.iter().map(|r| r.price_cents).max(),
    }
}
