//! Alternatives of one clause that SQLite's words index holds as one term.
//!
//! A last word spelled out as the words it begins, or a typo's corrections, can put a word and
//! its plural side by side in a clause: "jacket" typed last becomes `"jacket" OR "jackets"` in a
//! catalogue that holds both. FTS5 stems each to the same term, and still steps that term's
//! postings once per alternative (at 1M listings, the newest 200 of `leather AND (jacket OR
//! jackets)` 203 µs against 155 for `leather AND jacket`, and 251 with a third), while bm25
//! counts the clause's hits once per alternative. The plural adds no match, so it is left out.

use super::TextQuery;

/// The longest token, in bytes, that FTS5's `porter` tokenizer stems
/// (`FTS5_PORTER_MAX_TOKEN`); longer ones pass through whole.
const PORTER_MAX_TOKEN_BYTES: usize = 64;

/// The shortest token, in bytes, that FTS5's `porter` tokenizer stems; shorter ones pass
/// through whole.
const PORTER_MIN_TOKEN_BYTES: usize = 3;

/// Whether FTS5's `porter` tokenizer stems `plural` exactly as it stems `word`: `plural` is
/// `word` and an "s", both ASCII (the tokenizer folds accents before it stems, which can
/// shorten a word past the bound below) and both stemmed (3 to 64 bytes). Its step 1a then
/// strips that "s" (it keeps "ss", makes "sses" "ss" and "ies" "i", so `word` must not end in
/// "s", "ie" or "sse"), and every later step runs on the same letters. Only this one sure
/// case: other endings ("-es", "-ed", "-ing") depend on the stem's measure, and PostgreSQL's
/// stemmer (Snowball's English) is another algorithm with exceptions of its own ("news" stays
/// "news"), so this is for SQLite alone.
pub fn fts5_porter_plural(word: &str, plural: &str) -> bool {
    plural.len() == word.len() + 1
        && plural.is_ascii()
        && plural.starts_with(word)
        && plural.ends_with('s')
        && (PORTER_MIN_TOKEN_BYTES..PORTER_MAX_TOKEN_BYTES).contains(&word.len())
        && !word.ends_with('s')
        && !word.ends_with("ie")
        && !word.ends_with("sse")
}

impl TextQuery {
    /// Leaves out of each clause every whole word that is the FTS5-porter plural of another
    /// whole word of the same clause ([`fts5_porter_plural`]), and likewise in the query as
    /// typed: SQLite matches it through the word's own term. A prefix is never left out nor
    /// compared.
    pub fn without_fts5_plurals(mut self) -> TextQuery {
        for alts in self.clauses.iter_mut() {
            let singulars: Vec<String> = alts
                .iter()
                .filter(|w| !w.prefix)
                .map(|w| w.text().to_owned())
                .collect();
            alts.retain(|w| {
                w.prefix
                    || !singulars
                        .iter()
                        .any(|singular| fts5_porter_plural(singular, w.text()))
            });
        }
        self.typed = self.typed.map(|t| Box::new(t.without_fts5_plurals()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_s_that_porter_strips_makes_a_plural() {
        for (word, plural) in [("jacket", "jackets"), ("shoe", "shoes"), ("lamp", "lamps")] {
            assert!(fts5_porter_plural(word, plural), "{word} {plural}");
        }
        for (word, plural) in [
            // "ss" stays; "sses" → "ss"; "ies" → "i".
            ("glass", "glasss"),
            ("bus", "buss"),
            ("pie", "pies"),
            ("posse", "posses"),
            // Too short to be stemmed: "ay" passes through, "ays" → "ai".
            ("ay", "ays"),
            // Not a plural of it.
            ("jacket", "jacketed"),
            ("jacket", "jacket"),
            ("cat", "cats2"),
            // Folded to "ay" and "ays" before stemming.
            ("áy", "áys"),
        ] {
            assert!(!fts5_porter_plural(word, plural), "{word} {plural}");
        }
        let long = "a".repeat(63);
        assert!(fts5_porter_plural(&long, &format!("{long}s")));
        let longer = "a".repeat(64);
        assert!(!fts5_porter_plural(&longer, &format!("{longer}s")));
    }

    #[test]
    fn a_plural_beside_its_word_is_left_out_of_the_clause_and_the_query_as_typed() {
        let mut text = TextQuery::parse("leather jacket").expect("a query");
        text.expand_prefix(1, "jacket", &["jacket".into(), "jackets".into()]);
        text.typed = Some(Box::new(text.clone()));
        let spelled = text.without_fts5_plurals();
        assert_eq!(spelled.to_fts5(), r#"("leather" AND "jacket")"#);
        assert_eq!(
            spelled.typed.expect("as typed").to_fts5(),
            r#"("leather" AND "jacket")"#
        );
        // A plural alone, or beside a prefix, stays.
        let alone = TextQuery::parse("jackets ").expect("a query");
        assert_eq!(alone.clone().without_fts5_plurals(), alone);
        let prefixed = TextQuery::parse("jackets OR jacket").expect("a query");
        assert_eq!(prefixed.clone().without_fts5_plurals(), prefixed);
    }
}
