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
            let span = reach::Span::whole(conn)?;
            let load = |conn: &mut DbConnection, reach| facet_rows(conn, filter, cap, reach);
            reach::stepped(conn, text, span, cap + 1, load, |rows| rows.len() as i64)?
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
    sql.push("SELECT l.category_top, l.condition, l.price_cents");
    from_clause(&mut sql, filter.text.as_ref());
    where_clause(&mut sql, filter);
    reach_clause(&mut sql, reach);
    // Each step of `Reach` takes its matches from the words' index: in no index's order.
    let order = if reach == Reach::Planner {
        id.to_owned()
    } else {
        order_key(id, Reach::All)
    };
    let _ = write!(sql.text, " ORDER BY {order} DESC LIMIT ");
    sql.int(cap + 1);
    sql.load::<FacetRow>(conn)
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
