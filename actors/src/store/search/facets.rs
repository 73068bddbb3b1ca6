//! Facets of a search: capped counts per top-level category and condition, and the price range.

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
pub(super) struct CountRow {
    #[diesel(sql_type = BigInt)]
    pub(super) n: i64,
}

#[derive(QueryableByName)]
struct PriceRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    price: Option<i64>,
}

/// Matching rows, at most `cap + 1` of them: each count reads no more than that.
fn capped_count(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    cap: i64,
) -> QueryResult<CappedCount> {
    let mut sql = Sql::new(conn);
    sql.push("SELECT COUNT(*) AS n FROM (SELECT 1 AS one");
    from_clause(&mut sql, filter.text.as_ref());
    where_clause(&mut sql, filter);
    sql.push(" LIMIT ").int(cap + 1).push(") capped");
    let n = sql.load::<CountRow>(conn)?.first().map_or(0, |r| r.n);
    Ok(CappedCount {
        count: n.min(cap),
        capped: n > cap,
    })
}

fn price_bound(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    asc: bool,
) -> QueryResult<Option<i64>> {
    let mut sql = Sql::new(conn);
    sql.push("SELECT l.price_cents AS price");
    from_clause(&mut sql, filter.text.as_ref());
    where_clause(&mut sql, filter);
    sql.push(if asc {
        " ORDER BY l.price_cents ASC, l.id ASC LIMIT 1"
    } else {
        " ORDER BY l.price_cents DESC, l.id DESC LIMIT 1"
    });
    Ok(sql.load::<PriceRow>(conn)?.first().and_then(|r| r.price))
}

/// The facets of a search: each category's and condition's count is one bounded index read
/// (at most `cap + 1` rows), so a call costs the same at any catalogue size.
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
    let mut categories = Vec::new();
    for top in crate::domain::category::TREE {
        let mut f = filter.clone();
        let wanted = crate::domain::search::CategoryFilter {
            slug: top.slug.to_owned(),
            level: CategoryLevel::Top,
        };
        // A category filter narrower than this top-level one keeps its own slug.
        match &filter.filters.category {
            Some(c) if !wanted.admits(Some(&c.slug)) => continue,
            Some(_) => {}
            None => f.filters.category = Some(wanted),
        }
        let count = capped_count(conn, &f, cap)?;
        if count.count > 0 {
            categories.push((top.slug.to_owned(), count));
        }
    }
    let mut conditions = Vec::new();
    for condition in CONDITIONS {
        if filter
            .filters
            .condition
            .as_deref()
            .is_some_and(|c| c != *condition)
        {
            continue;
        }
        let mut f = filter.clone();
        f.filters.condition = Some((*condition).to_owned());
        let count = capped_count(conn, &f, cap)?;
        if count.count > 0 {
            conditions.push(((*condition).to_owned(), count));
        }
    }
    Ok(Facets {
        categories,
        conditions,
        min_price: price_bound(conn, filter, true)?,
        max_price: price_bound(conn, filter, false)?,
    })
}
