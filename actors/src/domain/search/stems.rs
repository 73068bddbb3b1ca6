//! Alternatives of one clause that SQLite's words index holds as one term.
//!
//! A last word spelled out as the words it begins, or a typo's corrections, can put words of
//! one stem side by side in a clause: "jacke" typed last becomes `"jacket" OR "jackets" OR
//! "jacketed"` in a catalogue that holds all three. FTS5 stems each to the same term, and still
//! steps that term's postings once per alternative (at 1M listings, the newest 200 of `leather
//! AND jacket` 155 µs, with `OR jackets` 203, with a third 251), while bm25 counts the clause's
//! hits once per alternative. The words after the first of a term add no match, so they are
//! left out. Which words are one term is the index's own tokenizer's answer (the store asks it,
//! `bazaar_fts5_tokens`): PostgreSQL's stemmer is another algorithm, so this is for SQLite.

use super::TextQuery;
use std::collections::{HashMap, HashSet};

impl TextQuery {
    /// The whole words of every clause that has two or more (and likewise of the query as
    /// typed): the words [`Self::without_repeated_terms`] compares, none when no clause has
    /// two.
    pub fn words_to_compare(&self) -> Vec<String> {
        let mut words: Vec<String> = self
            .clauses
            .iter()
            .filter(|alts| alts.iter().filter(|w| !w.prefix).count() > 1)
            .flat_map(|alts| alts.iter().filter(|w| !w.prefix))
            .map(|w| w.text().to_owned())
            .collect();
        if let Some(typed) = &self.typed {
            words.extend(typed.words_to_compare());
        }
        words.sort_unstable();
        words.dedup();
        words
    }

    /// Leaves out of each clause every whole word whose term (`terms`: word → the tokens the
    /// words index holds it as) a whole word before it in the clause already has, and likewise
    /// in the query as typed. A word whose term is not known, and a prefix, always stay.
    pub fn without_repeated_terms(mut self, terms: &HashMap<String, String>) -> TextQuery {
        for alts in self.clauses.iter_mut() {
            let mut seen = HashSet::new();
            alts.retain(|w| w.prefix || terms.get(w.text()).is_none_or(|t| seen.insert(t)));
        }
        self.typed = self
            .typed
            .map(|t| Box::new(t.without_repeated_terms(terms)));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(w, t)| (w.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn words_of_one_term_after_the_first_are_left_out_of_the_clause_and_the_query_as_typed() {
        let mut text = TextQuery::parse("leather jacket").expect("a query");
        let spelled: Vec<String> = ["jacket", "jacketed", "jackets", "jacketless"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        text.expand_prefix(1, "jacket", &spelled);
        text.typed = Some(Box::new(text.clone()));
        assert_eq!(
            text.words_to_compare(),
            ["jacket", "jacketed", "jacketless", "jackets"]
        );
        let index = terms(&[
            ("jacket", "jacket"),
            ("jacketed", "jacket"),
            ("jackets", "jacket"),
            ("jacketless", "jacketless"),
        ]);
        let spelled = text.without_repeated_terms(&index);
        let expected = r#"("leather" AND ("jacket" OR "jacketless"))"#;
        assert_eq!(spelled.to_fts5(), expected);
        assert_eq!(spelled.typed.expect("as typed").to_fts5(), expected);
    }

    #[test]
    fn a_word_alone_a_prefix_and_a_word_of_unknown_term_stay() {
        let alone = TextQuery::parse("jackets ").expect("a query");
        assert!(alone.words_to_compare().is_empty());
        let index = terms(&[("jackets", "jacket"), ("jacket", "jacket")]);
        assert_eq!(alone.clone().without_repeated_terms(&index), alone);
        // "jacket" typed last is a prefix: compared with nothing.
        let prefixed = TextQuery::parse("jackets OR jacket").expect("a query");
        assert!(prefixed.words_to_compare().is_empty());
        assert_eq!(prefixed.clone().without_repeated_terms(&index), prefixed);
        let both = TextQuery::parse("jackets OR jacket ").expect("a query");
        assert_eq!(
            both.clone().without_repeated_terms(&index).to_fts5(),
            r#"("jackets")"#
        );
        assert_eq!(both.clone().without_repeated_terms(&HashMap::new()), both);
    }
}
