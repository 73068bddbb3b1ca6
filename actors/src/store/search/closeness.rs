//! SQLite: whether the words of several clauses match close together among the ids, looked at
//! in the newest listings, so a filter many listings pass (a top-level category, a condition)
//! is stepped in the words index with them, not compared on every match's row (see
//! `domain::search::facet_terms` for the rule and its figures).

use super::*;
use crate::domain::search::{CLOSE_PROBE_IDS, CLOSE_PROBE_MATCHES};

/// Sets `text.close_together` when its words, of several clauses, match at least
/// [`CLOSE_PROBE_MATCHES`] of the newest [`CLOSE_PROBE_IDS`] listings (any status: the
/// closeness of the words' postings is what the read steps through). Looked at only where it
/// decides something: SQLite, several clauses, and a filter many listings pass. A bounded read
/// of FTS5 alone ([`newest_matches_seen`]): 10–25 µs at 1M listings, 50 µs for two words found
/// together nowhere, each in an eighth of the listings.
pub(super) fn look_how_close(
    conn: &mut DbConnection,
    text: &mut TextQuery,
    filters: &SearchFilters,
) -> QueryResult<()> {
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    if !sqlite || text.clauses.len() < 2 || !filters.has_dense_filter() {
        return Ok(());
    }
    let found = newest_matches_seen(conn, &text.to_fts5(), CLOSE_PROBE_MATCHES)?;
    text.close_together = found >= CLOSE_PROBE_MATCHES;
    Ok(())
}

/// SQLite: how many of the newest [`CLOSE_PROBE_IDS`] listings (any status) FTS5 finds for
/// `matched` (an FTS5 expression), counted up to `wanted`: a read of FTS5 alone, its walk
/// stopping at `wanted` matches or at the ids' bound.
pub(super) fn newest_matches_seen(
    conn: &mut DbConnection,
    matched: &str,
    wanted: i64,
) -> QueryResult<i64> {
    // FTS5's rowid is the id negated: the newest ids are its lowest rowids, walked first.
    let mut sql = Sql::new(conn);
    sql.push("SELECT COUNT(*) AS n FROM (SELECT rowid FROM listings_fts WHERE listings_fts MATCH ")
        .text_param(matched)
        .push(" AND rowid < -((SELECT MAX(id) FROM listings) - ")
        .int(CLOSE_PROBE_IDS)
        .push(") ORDER BY rowid");
    sql.limit(wanted).push(")");
    Ok(sql.load::<Number>(conn)?.first().map_or(0, |r| r.n))
}

/// SQLite: how many of the newest [`CLOSE_PROBE_IDS`] listings that hold the words of `text`
/// are active listings in `filter`'s filters, counted up to `wanted`: FTS5 yields the words'
/// matches newest first, each compared on its row until `wanted` pass. Not the filters as
/// terms of the same FTS5 query: FTS5 steps an AND of its terms to their next match
/// whatever the ids' bound, so words that never meet the filters had every posting of both
/// stepped (2.2 ms for "leather jacket" in vehicles and poor condition at 1M listings).
pub(super) fn newest_matches_in_filters(
    conn: &mut DbConnection,
    text: &TextQuery,
    filter: &ListingFilter,
    wanted: i64,
) -> QueryResult<i64> {
    let mut sql = Sql::new(conn);
    // CROSS JOIN: FTS5's walk is the outer loop, so the count stops at `wanted`.
    sql.push("SELECT COUNT(*) AS n FROM (SELECT 1 FROM (SELECT rowid FROM listings_fts WHERE ")
        .push("listings_fts MATCH ")
        .text_param(&text.to_fts5())
        .push(" AND rowid < -((SELECT MAX(id) FROM listings) - ")
        .int(CLOSE_PROBE_IDS)
        .push(") ORDER BY rowid) w CROSS JOIN listings l ON l.id = -w.rowid");
    let rows = ListingFilter {
        text: None,
        ..filter.clone()
    };
    where_clause(&mut sql, &rows, Reach::Planner);
    sql.limit(wanted).push(")");
    Ok(sql.load::<Number>(conn)?.first().map_or(0, |r| r.n))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{add_listing, sqlite_with_listings};
    use super::*;
    use crate::domain::search::CategoryFilter;

    fn looked(conn: &mut DbConnection, q: &str, filters: &SearchFilters) -> bool {
        let mut text = TextQuery::parse(q).expect("words");
        look_how_close(conn, &mut text, filters).expect("look");
        text.close_together
    }

    /// Two words in every other one of the newest listings match close together; two that meet
    /// in them fewer times than the look wants do not; one word, or a filter few listings pass,
    /// needs no look. Close together, a top-level category is matched in FTS5.
    #[test]
    fn several_words_match_close_together_when_enough_of_the_newest_listings_hold_them() {
        let (_dir, mut conn) = sqlite_with_listings(&["Rare amber jacket"]);
        for i in 0..CLOSE_PROBE_MATCHES * 2 {
            let title = if i % 2 == 0 {
                "Black leather sofa"
            } else {
                "Black wool coat"
            };
            add_listing(&mut conn, title);
        }
        let conn: &mut DbConnection = &mut conn;
        let top = SearchFilters {
            category: Some(CategoryFilter::parse("home").expect("slug")),
            ..Default::default()
        };
        let poor = SearchFilters {
            condition: Some("poor".to_owned()),
            ..Default::default()
        };
        let child = SearchFilters {
            category: Some(CategoryFilter::parse("home-decor").expect("slug")),
            ..Default::default()
        };
        assert!(looked(conn, "black sofa", &top), "every other listing");
        assert!(looked(conn, "black coat", &poor));
        // The two meet in none of them; the older listing's pair is one match.
        assert!(!looked(conn, "leather coat", &top));
        assert!(!looked(conn, "amber jacket", &top));
        // Nothing decided: no look.
        assert!(!looked(conn, "black", &top), "one clause");
        assert!(!looked(conn, "black sofa", &child), "a sparse filter");
        let mut text = TextQuery::parse("black sofa").expect("words");
        look_how_close(conn, &mut text, &top).expect("look");
        assert!(text.matches_close_together());
        assert!(
            fts5_match(&text, &top)
                .contains(&format!("{}thome", crate::domain::search::FACET_TERM_MARK)),
            "the top-level category stepped in FTS5"
        );
    }

    /// The words' matches among the newest listings are counted in the filters, compared on
    /// each row, up to what is wanted; words that never meet the filters count none.
    #[test]
    fn the_newest_matches_of_the_words_are_counted_in_the_filters() {
        let (_dir, mut conn) = sqlite_with_listings(&[]);
        for i in 0..40 {
            add_listing(
                &mut conn,
                if i % 2 == 0 {
                    "Black leather sofa"
                } else {
                    "Black wool coat"
                },
            );
        }
        conn.batch_execute(
            "UPDATE listings SET category = 'home-decor', condition = 'poor' \
             WHERE title LIKE '%sofa'; UPDATE listings SET price_cents = 5000 WHERE id % 3 = 0",
        )
        .expect("filters");
        let conn: &mut DbConnection = &mut conn;
        let mut count = |q: &str, filters: SearchFilters, wanted: i64| {
            let filter = ListingFilter {
                text: None,
                filters,
                status: ListingStatus::Active,
                viewer: None,
            };
            let text = TextQuery::parse(q).expect("words");
            newest_matches_in_filters(conn, &text, &filter, wanted).expect("count")
        };
        let home = || SearchFilters {
            category: Some(CategoryFilter::parse("home").expect("slug")),
            ..Default::default()
        };
        assert_eq!(count("black", home(), 100), 20);
        assert_eq!(count("black", home(), 5), 5, "up to what is wanted");
        assert_eq!(count("coat", home(), 100), 0, "never in home");
        assert_eq!(count("black", SearchFilters::default(), 100), 40);
        let poor_dear = SearchFilters {
            condition: Some("poor".to_owned()),
            min_price: Some(5000),
            ..Default::default()
        };
        // The sofas (odd ids) at 50.00: ids 3, 9, …, 39.
        assert_eq!(count("black", poor_dear, 100), 7);
    }
}
