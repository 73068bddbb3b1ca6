//! Which filters a words search on SQLite also matches in the words index (FTS5).
//!
//! FTS5 indexes each listing's filter values as terms of its `facets` column (migrations
//! `search_facet_terms`, `search_seller_terms`): the top-level category, the category, the
//! condition, the price ([`price_term`]) and the seller, each [`FACET_TERM_MARK`], a letter
//! and the value. A filter matched there is stepped against the words' postings inside FTS5,
//! so a read finds only the listings that hold both and compares the exact filters on those
//! rows alone; a filter left out is compared on every match of the words, each looked up in
//! `listings`.
//!
//! Measured at 1M listings (the newest 200 matches, or 1,001 for facets), looked up in
//! `listings` against matched in FTS5: "black" in home from 1 to 20 EUR 48.6 → 3.5 ms (87
//! matches), "jacket" from 10 to 50 EUR 4.1 → 1.3, "jacket" in home (none) 17.2 → 2.6, "black"
//! in fashion 0.81 → 0.28, "jacket" in good condition 0.65 → 0.33. FTS5 steps through a filter's
//! postings to each match of the words, so a filter many listings pass costs more per match
//! than a lookup when the words' matches are few and far apart: "leather jacket" (986 matches)
//! in fashion and good condition 1.97 → 5.38 ms, in fashion-men 0.36 → 0.50. Hence the rule of
//! [`SearchFilters::facet_terms`]: a category, a narrow price range (a few hundredths of the
//! catalogue each) and a seller (a shop's own search: at 1M, "size", in every listing, among
//! a seller's 50, looked up every listing, 270–490 ms a page) always; a top-level category or
//! a condition (a tenth to a fifth each) only when the words' matches lie close together:
//! one word's, or several words' that the search
//! found at least [`CLOSE_PROBE_MATCHES`] times among the newest [`CLOSE_PROBE_IDS`] listings
//! (`TextQuery::close_together`). Two words found together that often are looked up row by
//! row at great cost when the filter is one they seldom meet: at 1M, the newest 200 (1,001)
//! matches of "size black" (6.7% of the listings) in vehicles and poor condition 25.5 (45.0)
//! → 4.6 (8.3) ms, "size wear" (12.5%) 24.2 (81.4) → 2.8 (10.0), "black home" (2.0%) in
//! electronics and new 9.9 (21.9) → 4.8 (7.1), "black wear" (0.8%) in home and poor 5.6
//! (7.2) → 4.7 (5.9); "black leather" (0.4%) in home and good is even (3.2, 3.3), and the
//! sparser pairs lose ("vintage black", 0.3%: 1.9 → 2.8).

use super::{price_bucket, price_range_parts, PricePart, SearchFilters};
use crate::domain::category::CategoryLevel;

/// The first character of every filter term in the words index: a private-use character, which
/// FTS5's tokenizer keeps inside a token and a search's words (letters and digits) never hold,
/// so no word typed is, or begins, a filter term.
pub const FACET_TERM_MARK: char = '\u{E000}';

/// Several clauses' matches lie close together when at least [`CLOSE_PROBE_MATCHES`] of the
/// newest this many listings hold them (one in 200: where a top-level category or a condition
/// begins to cost less stepped in the words index than compared row by row, see the module's
/// figures). A bounded look: at most this many ids of each word's postings.
pub const CLOSE_PROBE_IDS: i64 = 10_000;

/// See [`CLOSE_PROBE_IDS`].
pub const CLOSE_PROBE_MATCHES: i64 = 50;

/// A filter term as the words index holds it: [`FACET_TERM_MARK`], `kind`, and the value without
/// the separators FTS5's tokenizer would split it at (`-`, `_`).
fn term(kind: char, value: &str) -> String {
    let value: String = value.chars().filter(|c| !matches!(c, '-' | '_')).collect();
    format!("\"{FACET_TERM_MARK}{kind}{value}\"")
}

impl SearchFilters {
    /// The filters a words search also matches in SQLite's words index, as an FTS5 expression
    /// (terms joined by AND, a price range as any of its buckets); `None` when none is. A
    /// category, a narrow price range ([`Self::price_buckets`]) and a seller always; a
    /// top-level category and a condition only when the words' matches lie `close_together`
    /// (`TextQuery::matches_close_together`; see the module's figures). The exact filters are
    /// still compared on the rows found.
    pub fn facet_terms(&self, close_together: bool) -> Option<String> {
        let mut terms = Vec::new();
        match &self.category {
            Some(c) if c.level == CategoryLevel::Child => terms.push(term('c', &c.slug)),
            Some(c) if close_together => terms.push(term('t', &c.slug)),
            _ => {}
        }
        if let Some(condition) = self.condition.as_deref().filter(|_| close_together) {
            terms.push(term('k', condition));
        }
        if let Some(seller) = self.seller_id {
            terms.push(term('s', &seller.to_string()));
        }
        if let Some(buckets) = self.price_buckets() {
            let any = price_range_terms(buckets);
            terms.push(if any.len() == 1 {
                any.concat()
            } else {
                format!("({})", any.join(" OR "))
            });
        }
        (!terms.is_empty()).then(|| terms.join(" AND "))
    }

    /// Whether a filter many listings pass is set (a top-level category or a condition): the
    /// filters [`Self::facet_terms`] matches in the words index only when the words' matches
    /// lie close together.
    pub fn has_dense_filter(&self) -> bool {
        let top = self
            .category
            .as_ref()
            .is_some_and(|c| c.level != CategoryLevel::Child);
        top || self.condition.is_some()
    }
}

/// The price term a listing priced `cents` holds (the migration's view writes the same): `u`
/// under the first bound, else the index of the bound it reaches, two digits (bucket less one,
/// see [`price_bucket`]), so a decade's ten terms share their first digit: 1.00–9.99 are
/// `00`–`09`, 10.00–99.99 `10`–`19`.
pub fn price_term(cents: i64) -> String {
    format!(
        "{FACET_TERM_MARK}p{}",
        price_term_value(price_bucket(cents))
    )
}

fn price_term_value(bucket: usize) -> String {
    match bucket.checked_sub(1) {
        Some(bound) => format!("{bound:02}"),
        None => "u".to_owned(),
    }
}

/// The terms of a range of price buckets ([`price_range_parts`]): a decade the range holds
/// whole as one prefix query (the term's first three characters: FTS5's prefix index of 3
/// serves it as one list of postings), each other bucket as its own term.
fn price_range_terms(buckets: std::ops::RangeInclusive<usize>) -> Vec<String> {
    price_range_parts(buckets)
        .into_iter()
        .map(|part| match part {
            PricePart::Decade(d) => format!("\"{FACET_TERM_MARK}p{d}\"*"),
            PricePart::Bucket(b) => term('p', &price_term_value(b)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::CategoryFilter;

    fn filters(category: Option<&str>, condition: Option<&str>) -> SearchFilters {
        SearchFilters {
            category: category.map(|c| CategoryFilter::parse(c).unwrap()),
            condition: condition.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn no_filter_the_index_holds_gives_no_terms() {
        assert_eq!(SearchFilters::default().facet_terms(true), None);
        // A range too wide to serve: compared on the rows.
        let wide = SearchFilters {
            min_price: Some(100),
            ..Default::default()
        };
        assert_eq!(wide.facet_terms(true), None);
    }

    #[test]
    fn a_category_and_a_condition_are_terms_without_separators() {
        let m = FACET_TERM_MARK;
        assert_eq!(
            filters(Some("fashion-men"), Some("like_new")).facet_terms(true),
            Some(format!("\"{m}cfashionmen\" AND \"{m}klikenew\""))
        );
        assert_eq!(
            filters(Some("fashion"), None).facet_terms(true),
            Some(format!("\"{m}tfashion\""))
        );
    }

    #[test]
    fn a_seller_is_a_term_whatever_the_words() {
        let m = FACET_TERM_MARK;
        let seller = SearchFilters {
            seller_id: Some(7),
            condition: Some("good".to_owned()),
            ..Default::default()
        };
        assert_eq!(seller.facet_terms(false), Some(format!("\"{m}s7\"")));
        assert_eq!(
            seller.facet_terms(true),
            Some(format!("\"{m}kgood\" AND \"{m}s7\""))
        );
    }

    #[test]
    fn with_matches_far_apart_only_the_sparse_filters_are_terms() {
        let m = FACET_TERM_MARK;
        assert_eq!(
            filters(Some("fashion"), Some("good")).facet_terms(false),
            None
        );
        assert_eq!(
            filters(Some("home-decor"), Some("good")).facet_terms(false),
            Some(format!("\"{m}chomedecor\""))
        );
    }

    #[test]
    fn a_top_level_category_and_a_condition_are_the_dense_filters() {
        assert!(filters(Some("fashion"), None).has_dense_filter());
        assert!(filters(None, Some("good")).has_dense_filter());
        assert!(filters(Some("fashion-men"), Some("good")).has_dense_filter());
        assert!(!filters(Some("fashion-men"), None).has_dense_filter());
        assert!(!priced(Some(1_000), Some(2_000)).has_dense_filter());
        assert!(!SearchFilters::default().has_dense_filter());
    }

    fn priced(min_price: Option<i64>, max_price: Option<i64>) -> SearchFilters {
        SearchFilters {
            min_price,
            max_price,
            ..Default::default()
        }
    }

    #[test]
    fn a_price_range_is_any_of_its_buckets_a_whole_decade_as_a_prefix() {
        let m = FACET_TERM_MARK;
        assert_eq!(
            priced(Some(1_000), Some(1_300)).facet_terms(false),
            Some(format!("(\"{m}p10\" OR \"{m}p11\")"))
        );
        assert_eq!(
            priced(Some(1_000), Some(1_100)).facet_terms(true),
            Some(format!("\"{m}p10\""))
        );
        // Under 20.00: under 1.00, 1.00 to 9.99 whole, then 10.00 to 20.00 by bucket.
        assert_eq!(
            priced(None, Some(2_000)).facet_terms(true),
            Some(format!(
                "(\"{m}pu\" OR \"{m}p0\"* OR \"{m}p10\" OR \"{m}p11\" OR \"{m}p12\" OR \"{m}p13\")"
            ))
        );
        // 10.00 to 100.00: that decade whole, and 100.00 itself.
        assert_eq!(
            priced(Some(1_000), Some(10_000)).facet_terms(true),
            Some(format!("(\"{m}p1\"* OR \"{m}p20\")"))
        );
        // A decade's end not reached: by bucket.
        assert_eq!(
            price_range_terms(11..=19).len(),
            9,
            "10.00 to 79.99 is not the decade"
        );
    }

    #[test]
    fn a_price_term_names_the_bound_it_reaches_in_two_digits() {
        let m = FACET_TERM_MARK;
        assert_eq!(price_term(99), format!("{m}pu"));
        assert_eq!(price_term(100), format!("{m}p00"));
        assert_eq!(price_term(999), format!("{m}p09"));
        assert_eq!(price_term(1_000), format!("{m}p10"));
        assert_eq!(price_term(1_100), format!("{m}p10"));
        assert_eq!(price_term(800_000_000), format!("{m}p69"));
        assert_eq!(price_term(i64::MAX), format!("{m}p69"));
        // Every price of a decade begins its terms alike (the prefix a range reads).
        for (lo, hi, prefix) in [
            (100, 999, "0"),
            (1_000, 9_999, "1"),
            (100_000, 999_999, "3"),
        ] {
            for cents in [lo, lo + 1, (lo + hi) / 2, hi] {
                assert!(
                    price_term(cents).starts_with(&format!("{m}p{prefix}")),
                    "{cents}"
                );
            }
        }
    }
}
