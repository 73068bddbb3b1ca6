//! Which filters a words search on SQLite also matches in the words index (FTS5).
//!
//! FTS5 indexes each listing's filter values as terms of its `facets` column (migration
//! `search_facet_terms`): the top-level category, the category, the condition and the price
//! bucket ([`price_bucket`]), each [`FACET_TERM_MARK`], a letter and the value. A filter
//! matched there is stepped against the words' postings inside FTS5, so a read finds only the
//! listings that hold both and compares the exact filters on those rows alone; a filter left
//! out is compared on every match of the words, each looked up in `listings`.
//!
//! Measured at 1M listings (the newest 200 matches, or 1,001 for facets), looked up in
//! `listings` against matched in FTS5: "black" in home from 1 to 20 EUR 48.6 → 3.5 ms (87
//! matches), "jacket" from 10 to 50 EUR 4.1 → 1.3, "jacket" in home (none) 17.2 → 2.6, "black"
//! in fashion 0.81 → 0.28, "jacket" in good condition 0.65 → 0.33. FTS5 steps through a filter's
//! postings to each match of the words, so a filter many listings pass costs more per match
//! than a lookup when the words' matches are few and far apart: "leather jacket" (986 matches)
//! in fashion and good condition 1.97 → 5.38 ms, in fashion-men 0.36 → 0.50. Hence the rule of
//! [`SearchFilters::facet_terms`]: a category or a narrow price range (a few hundredths of the
//! catalogue each) always; a top-level category or a condition (a tenth to a fifth each) only
//! with one word, whose matches are many and close together.

use super::{price_bucket, SearchFilters};
use crate::domain::category::CategoryLevel;

/// The first character of every filter term in the words index: a private-use character, which
/// FTS5's tokenizer keeps inside a token and a search's words (letters and digits) never hold,
/// so no word typed is, or begins, a filter term.
pub const FACET_TERM_MARK: char = '\u{E000}';

/// A filter term as the words index holds it: [`FACET_TERM_MARK`], `kind`, and the value without
/// the separators FTS5's tokenizer would split it at (`-`, `_`).
fn term(kind: char, value: &str) -> String {
    let value: String = value.chars().filter(|c| !matches!(c, '-' | '_')).collect();
    format!("\"{FACET_TERM_MARK}{kind}{value}\"")
}

impl SearchFilters {
    /// The filters a words search of `word_clauses` clauses also matches in SQLite's words
    /// index, as an FTS5 expression (terms joined by AND, a price range as any of its buckets);
    /// `None` when none is. A category and a narrow price range ([`Self::price_buckets`])
    /// always; a top-level category and a condition only with one clause (see the module's
    /// figures). The exact filters are still compared on the rows found.
    pub fn facet_terms(&self, word_clauses: usize) -> Option<String> {
        let one_clause = word_clauses <= 1;
        let mut terms = Vec::new();
        match &self.category {
            Some(c) if c.level == CategoryLevel::Child => terms.push(term('c', &c.slug)),
            Some(c) if one_clause => terms.push(term('t', &c.slug)),
            _ => {}
        }
        if let Some(condition) = self.condition.as_deref().filter(|_| one_clause) {
            terms.push(term('k', condition));
        }
        if let Some(buckets) = self.price_buckets() {
            let any: Vec<String> = buckets.map(|b| term('p', &b.to_string())).collect();
            terms.push(if any.len() == 1 {
                any.concat()
            } else {
                format!("({})", any.join(" OR "))
            });
        }
        (!terms.is_empty()).then(|| terms.join(" AND "))
    }
}

/// The price bucket term a listing priced `cents` holds (the migration's view writes the same).
pub fn price_term(cents: i64) -> String {
    format!("{FACET_TERM_MARK}p{}", price_bucket(cents))
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
        assert_eq!(SearchFilters::default().facet_terms(1), None);
        let seller = SearchFilters {
            seller_id: Some(7),
            ..Default::default()
        };
        assert_eq!(seller.facet_terms(1), None);
        // A range too wide to serve: compared on the rows.
        let wide = SearchFilters {
            min_price: Some(100),
            ..Default::default()
        };
        assert_eq!(wide.facet_terms(1), None);
    }

    #[test]
    fn a_category_and_a_condition_are_terms_without_separators() {
        let m = FACET_TERM_MARK;
        assert_eq!(
            filters(Some("fashion-men"), Some("like_new")).facet_terms(1),
            Some(format!("\"{m}cfashionmen\" AND \"{m}klikenew\""))
        );
        assert_eq!(
            filters(Some("fashion"), None).facet_terms(1),
            Some(format!("\"{m}tfashion\""))
        );
    }

    #[test]
    fn with_two_words_only_the_sparse_filters_are_terms() {
        let m = FACET_TERM_MARK;
        assert_eq!(filters(Some("fashion"), Some("good")).facet_terms(2), None);
        assert_eq!(
            filters(Some("home-decor"), Some("good")).facet_terms(3),
            Some(format!("\"{m}chomedecor\""))
        );
    }

    #[test]
    fn a_price_range_is_any_of_its_buckets() {
        let m = FACET_TERM_MARK;
        let range = SearchFilters {
            min_price: Some(1_000),
            max_price: Some(1_300),
            ..Default::default()
        };
        assert_eq!(
            range.facet_terms(2),
            Some(format!("(\"{m}p11\" OR \"{m}p12\")"))
        );
        let one = SearchFilters {
            min_price: Some(1_000),
            max_price: Some(1_100),
            ..Default::default()
        };
        assert_eq!(one.facet_terms(1), Some(format!("\"{m}p11\"")));
        assert_eq!(price_term(1_100), format!("{m}p11"));
        assert_eq!(price_term(99), format!("{m}p0"));
    }
}
