//! The plan check of issue 12: on PostgreSQL, every filter and sort combination of
//! `GET /listings` is served by an index. Shared by the test (`tests/api/search.rs`, 100,000
//! listings) and the `search` bench scenario (1,000,000), which both seed a catalogue with
//! `bazaar::seed::catalogue` and analyse it first.

use super::*;
use crate::domain::search::{CategoryFilter, SearchFilters};

/// Rows per page in the checked queries (a page of 20 and the row that tells whether there is
/// a next one).
pub const PAGE: i64 = 21;

/// One combination's plan and what is wrong with it, if anything.
#[derive(Clone, Debug)]
pub struct PlanCheck {
    /// Status / filters / words / sort / cursor.
    pub what: String,
    pub plan: String,
    /// Empty when the plan is fine.
    pub problems: Vec<String>,
}

/// The most rows any Sort node of an EXPLAIN plan is estimated to sort (0 with none).
pub fn largest_sort(plan: &str) -> i64 {
    plan.lines()
        .filter(|l| l.contains("Sort  ("))
        .filter_map(|l| {
            let rows = l.split("rows=").nth(1)?;
            rows.split(' ').next()?.parse::<i64>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Whether every Sort node of a plan is a top-N sort (directly under a Limit: it keeps only
/// the rows the Limit returns, however many it reads) or sorts no more than a page.
pub fn sorts_are_top_n(plan: &str) -> bool {
    let lines: Vec<&str> = plan.lines().collect();
    lines.iter().enumerate().all(|(i, l)| {
        !l.contains("Sort  (")
            || (i > 0 && lines[i - 1].contains("Limit  ("))
            || largest_sort(l) <= PAGE
    })
}

/// How many walks of the id index a plan has with no condition on the id: with words as its
/// filter, such a walk stops only when it has found enough matches, which for a rare word is
/// at the end of the table.
pub fn unbounded_id_walks(plan: &str) -> usize {
    let lines: Vec<&str> = plan.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            l.contains("using listings_pkey on listings")
                && !lines[i + 1..]
                    .iter()
                    .take_while(|p| !p.contains("->") && !p.starts_with("--"))
                    .any(|p| p.contains("Index Cond"))
        })
        .count()
}

/// What is wrong with a plan: a sequential scan of listings; without words, a Sort of more
/// rows than the page (the index gives the page's order); with words, a Sort that is not a
/// top-N sort, or a walk of the id index with no bound. With words a top-N sort is what a
/// match needs: the relevance page out of its candidates, or the newest candidates out of a
/// rare word's few matches; the id index is walked only within the newest ids (the first of
/// the two steps, `Reach`).
pub fn problems(plan: &str, text: bool) -> Vec<String> {
    let mut out = Vec::new();
    if plan.contains("Seq Scan on listings") {
        out.push("sequential scan of listings".to_owned());
    }
    if text && unbounded_id_walks(plan) > 0 {
        out.push("a walk of the id index with no bound on the id".to_owned());
    }
    let sorted = largest_sort(plan);
    if !text && sorted > PAGE {
        out.push(format!("sorts {sorted} rows (more than the page, {PAGE})"));
    }
    if text && !sorts_are_top_n(plan) {
        out.push(format!("a sort that is not top-N (largest: {sorted} rows)"));
    }
    out
}

fn filters() -> Vec<(&'static str, SearchFilters)> {
    let category = |slug: &str| Some(CategoryFilter::parse(slug).expect("a slug of the tree"));
    vec![
        ("none", SearchFilters::default()),
        (
            "top category",
            SearchFilters {
                category: category("electronics"),
                ..Default::default()
            },
        ),
        (
            "sub-category",
            SearchFilters {
                category: category("home-decor"),
                ..Default::default()
            },
        ),
        (
            "empty category",
            SearchFilters {
                category: category("other"),
                ..Default::default()
            },
        ),
        (
            "condition",
            SearchFilters {
                condition: Some("poor".into()),
                ..Default::default()
            },
        ),
        (
            "category + condition",
            SearchFilters {
                category: category("fashion"),
                condition: Some("new".into()),
                ..Default::default()
            },
        ),
        (
            "seller",
            SearchFilters {
                seller_id: Some(7),
                ..Default::default()
            },
        ),
        (
            "price range",
            SearchFilters {
                min_price: Some(5_000),
                max_price: Some(200_000),
                ..Default::default()
            },
        ),
        (
            "category + price range",
            SearchFilters {
                category: category("sports"),
                min_price: Some(1_000),
                ..Default::default()
            },
        ),
    ]
}

/// The words checked: none, a rare word, a prefix, two words, and the common ones the bench
/// measures (a colour in ~6% of listings, a prefix, a typo of a common word).
pub const TEXTS: [Option<&str>; 8] = [
    None,
    Some("quokka"),
    Some("jack"),
    Some("leather sofa"),
    Some("urban lamp"),
    Some("black"),
    Some("cam"),
    Some("camra "),
];

/// How many combinations [`check`] explains.
pub fn combinations() -> usize {
    let texts = TEXTS.len();
    let sorts = ListingSort::ALL.len();
    // Relevance needs words.
    let per_filter = 2 * (texts * sorts - 1);
    2 * filters().len() * per_filter
}

/// Explains every combination of status, filters, words, sort and cursor on `conn`
/// (PostgreSQL; a catalogue of about `listings` rows, analysed), with what is wrong with each.
pub fn check(conn: &mut DbConnection, listings: i64) -> QueryResult<Vec<PlanCheck>> {
    let after = ListingPosition {
        price_cents: 50_000,
        like_count: 3,
        rank: 0.5,
        id: listings / 2,
        window_lo: listings / 2 - 20_000,
        window_hi: listings / 2 + 20_000,
    };
    let mut out = Vec::new();
    for status in [ListingStatus::Active, ListingStatus::SoldOut] {
        for (name, f) in filters() {
            for text in TEXTS {
                for sort in ListingSort::ALL {
                    if sort == ListingSort::Relevance && text.is_none() {
                        continue;
                    }
                    for cursor in [None, Some(after)] {
                        let filter = ListingFilter {
                            text: text.and_then(TextQuery::parse),
                            filters: f.clone(),
                            status,
                            viewer: None,
                        };
                        let plan = explain_pg(conn, &filter, sort, cursor, PAGE)?;
                        out.push(PlanCheck {
                            what: format!(
                                "{status} / {name} / q={text:?} / {} / cursor {}",
                                sort.as_str(),
                                cursor.is_some()
                            ),
                            problems: problems(&plan, text.is_some()),
                            plan,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan a rare word got at 1M listings after an ANALYZE (3.4 s: the whole table).
    const WHOLE_TABLE: &str = "\
Limit  (cost=0.42..3717.35 rows=200 width=16)
  ->  Index Scan Backward using listings_pkey on listings l  (cost=0.42..87437.56 rows=4705 width=16)
        Filter: ((search_vector @@ '''quokka'':*'::tsquery) AND (status = 'active'::text))";

    const NEWEST_IDS: &str = "\
Limit  (cost=0.42..3717.35 rows=200 width=16)
  ->  Index Scan Backward using listings_pkey on listings l  (cost=0.42..874.56 rows=47 width=16)
        Index Cond: (id > 990000)
        Filter: ((search_vector @@ '''quokka'':*'::tsquery) AND (status = 'active'::text))
-- then, as the read before found too few:
Limit  (cost=17.2..17.3 rows=200 width=16)
  ->  Sort  (cost=17.2..17.3 rows=4705 width=16)
        Sort Key: ((l.id + 0)) DESC
        ->  Bitmap Heap Scan on listings l  (cost=17.2..17.3 rows=4705 width=16)
              Recheck Cond: (search_vector @@ '''quokka'':*'::tsquery)
              ->  Bitmap Index Scan on listings_search  (cost=0.00..16.2 rows=4705 width=0)";

    #[test]
    fn a_walk_of_the_id_index_is_a_problem_with_words_only_when_nothing_bounds_it() {
        assert_eq!(unbounded_id_walks(WHOLE_TABLE), 1);
        assert_eq!(
            problems(WHOLE_TABLE, true),
            vec!["a walk of the id index with no bound on the id".to_owned()]
        );
        // Without words the walk is the newest page's plan: it stops after the page.
        assert!(problems(WHOLE_TABLE, false).is_empty());
        assert_eq!(unbounded_id_walks(NEWEST_IDS), 0);
        assert!(problems(NEWEST_IDS, true).is_empty());
        assert!(sorts_are_top_n(NEWEST_IDS));
    }
}
