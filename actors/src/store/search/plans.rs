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

/// The rows a line of an EXPLAIN plan (a node) is estimated to return.
pub fn estimated_rows(line: &str) -> Option<i64> {
    let rows = line.split("rows=").nth(1)?;
    rows.split(' ').next()?.parse::<i64>().ok()
}

/// The most rows any Sort node of an EXPLAIN plan is estimated to sort (0 with none).
pub fn largest_sort(plan: &str) -> i64 {
    plan.lines()
        .filter(|l| l.contains("Sort  ("))
        .filter_map(estimated_rows)
        .max()
        .unwrap_or(0)
}

/// Whether every Sort node of a plan is a top-N sort (directly under a Limit: it keeps only
/// the rows the Limit returns, however many it reads) or sorts no more than a page.
pub fn sorts_are_top_n(plan: &str) -> bool {
    let lines: Vec<&str> = plan.lines().collect();
    lines.iter().enumerate().all(|(i, l)| {
        !l.contains("Sort  (")
            || parent_node(&lines, i).is_some_and(|p| p.contains("Limit  ("))
            || largest_sort(l) <= PAGE
    })
}

/// The node line of an EXPLAIN plan that line `i` (a node) is a child of: the nearest node
/// above it that is indented less. The init plans a generic plan lists under its top node
/// (`InitPlan 1 (returns $0)` and the node under it) sit between a node and its first child.
fn parent_node<'a>(lines: &[&'a str], i: usize) -> Option<&'a str> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let own = indent(lines[i]);
    lines[..i]
        .iter()
        .rev()
        .find(|l| l.contains("(cost=") && indent(l) < own)
        .copied()
}

/// Each node of an EXPLAIN plan that walks an index of listings, with the lines under it
/// (its conditions and filters).
fn listing_index_walks(plan: &str) -> Vec<(&str, Vec<&str>)> {
    let lines: Vec<&str> = plan.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("Index Scan") && l.contains(" on listings "))
        .map(|(i, l)| {
            let under = lines[i + 1..]
                .iter()
                .take_while(|p| !p.contains("->") && !p.starts_with("--"))
                .copied()
                .collect();
            (*l, under)
        })
        .collect()
}

/// How many walks of the id index a plan has with no condition on the id: with words as its
/// filter, such a walk stops only when it has found enough matches, which for a rare word is
/// at the end of the table.
pub fn unbounded_id_walks(plan: &str) -> usize {
    listing_index_walks(plan)
        .iter()
        .filter(|(node, under)| {
            node.contains("using listings_pkey") && !under.iter().any(|p| p.contains("Index Cond"))
        })
        .count()
}

/// Index conditions that bound a walk to a part of the listings: newer ids, one category,
/// condition or seller. A walk bounded only by the status (and the page's keyset) reads every
/// listing of that status when the words it filters by are rare.
const WALK_BOUNDS: [&str; 4] = ["id >", "category", "condition", "seller_id"];

/// How many walks of an index of listings filter by the words with nothing but the status
/// bounding them: for a rare word such a walk reads its index to the end (the price index in
/// price order, say), whatever the page needs. A walk within a category, a condition, a
/// seller's listings or the newest ids reads at most that part.
pub fn walks_filtering_by_words(plan: &str) -> usize {
    listing_index_walks(plan)
        .iter()
        .filter(|(_, under)| {
            under
                .iter()
                .any(|p| p.contains("Filter:") && p.contains("search_vector @@"))
                && !under
                    .iter()
                    .any(|p| p.contains("Index Cond:") && WALK_BOUNDS.iter().any(|b| p.contains(b)))
        })
        .count()
}

/// What is wrong with a plan: a sequential scan of listings; without words, a Sort of more
/// rows than the page (the index gives the page's order); with words, a Sort that is not a
/// top-N sort, or a walk of the id index with no bound; with [`RARE_WORD`], any walk of an
/// index that filters by the words with only the status bounding it (the words' index must
/// find them). With words a top-N sort is what a
/// match needs: the relevance page out of its candidates, or the newest candidates out of a
/// rare word's few matches; the id index is walked only within the newest ids (the first of
/// the two steps, `Reach`).
pub fn problems(plan: &str, text: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if plan.contains("Seq Scan on listings") {
        out.push("sequential scan of listings".to_owned());
    }
    if text.is_some() && unbounded_id_walks(plan) > 0 {
        out.push("a walk of the id index with no bound on the id".to_owned());
    }
    if text == Some(RARE_WORD) && walks_filtering_by_words(plan) > 0 {
        out.push("a rare word read by walking an index with the words as a filter".to_owned());
    }
    let text = text.is_some();
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

/// A word in a handful of listings of the seeded catalogue (`seed::catalogue`'s rare notes).
pub const RARE_WORD: &str = "quokka";

/// The words checked: none, a rare word, a prefix, two words, and the common ones the bench
/// measures (a colour in ~6% of listings, a prefix, a typo of a common word).
pub const TEXTS: [Option<&str>; 8] = [
    None,
    Some(RARE_WORD),
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
        window_count: RELEVANCE_CANDIDATES,
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
                            problems: problems(&plan, text),
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

    /// A rare word's read as a generic plan makes it: the words' query an init plan between
    /// the Limit and its Sort.
    const GENERIC_TOP_N: &str = "\
Limit  (cost=1515.66..1515.78 rows=47 width=257)
  InitPlan 1 (returns $0)
    ->  Result  (cost=0.00..0.26 rows=1 width=32)
  ->  Sort  (cost=1515.40..1516.58 rows=470 width=257)
        Sort Key: ((l.id + 0)) DESC
        ->  Bitmap Heap Scan on listings l  (cost=15.87..1480.42 rows=470 width=217)
              Recheck Cond: (search_vector @@ $0)
              ->  Bitmap Index Scan on listings_search  (cost=0.00..15.75 rows=500 width=0)";

    #[test]
    fn a_sort_under_a_limit_is_top_n_whatever_init_plans_come_between() {
        assert!(sorts_are_top_n(GENERIC_TOP_N));
        assert!(problems(GENERIC_TOP_N, Some(RARE_WORD)).is_empty());
        // The same sort under anything else sorts every row it reads.
        let whole = GENERIC_TOP_N.replace("Limit  (cost", "Unique  (cost");
        assert!(!sorts_are_top_n(&whole));
    }

    #[test]
    fn a_walk_of_the_id_index_is_a_problem_with_words_only_when_nothing_bounds_it() {
        assert_eq!(unbounded_id_walks(WHOLE_TABLE), 1);
        assert_eq!(
            problems(WHOLE_TABLE, Some("black")),
            vec!["a walk of the id index with no bound on the id".to_owned()]
        );
        // Without words the walk is the newest page's plan: it stops after the page.
        assert!(problems(WHOLE_TABLE, None).is_empty());
        assert_eq!(unbounded_id_walks(NEWEST_IDS), 0);
        assert!(problems(NEWEST_IDS, Some(RARE_WORD)).is_empty());
        assert!(sorts_are_top_n(NEWEST_IDS));
    }

    /// `q=quokka&sort=price_asc` at 1M before the count of the newest ids (6.9 s).
    const PRICE_WALK: &str = "\
Limit  (cost=0.42..775.74 rows=21 width=16)
  ->  Index Scan using listings_status_price on listings l  (cost=0.42..173523.86 rows=4700 width=16)
        Index Cond: (status = 'active'::text)
        Filter: (search_vector @@ '''quokka'':*'::tsquery)";

    #[test]
    fn a_rare_word_must_not_be_read_by_walking_an_index_with_the_words_as_a_filter() {
        assert_eq!(walks_filtering_by_words(PRICE_WALK), 1);
        assert_eq!(
            problems(PRICE_WALK, Some(RARE_WORD)),
            vec!["a rare word read by walking an index with the words as a filter".to_owned()]
        );
        // A common word's walk of the price index stops after a page.
        assert!(problems(PRICE_WALK, Some("black")).is_empty());
        // The newest ids' walk is bounded by its id condition, one seller's by the seller.
        assert_eq!(walks_filtering_by_words(NEWEST_IDS), 0);
        let one_seller = PRICE_WALK.replace(
            "Index Cond: (status = 'active'::text)",
            "Index Cond: ((seller_id = '7'::bigint) AND (status = 'active'::text))",
        );
        assert_eq!(walks_filtering_by_words(&one_seller), 0);
    }
}
