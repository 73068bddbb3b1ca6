//! The last word, a prefix, spelled out as the words it begins.
//!
//! Both indexes answer a prefix by reading every posting of every word it begins before the
//! first row: GIN into a bitmap (`leather & jacket:*` took 6.1 ms at 1M listings on PostgreSQL,
//! `leather & jacket` 1.0 ms), FTS5 into one merged list (`"black"*` 2.4 ms, `"black"` 0.3 ms).
//! So a prefix of 4 letters or more (`PREFIX_EXPAND_MIN_CHARS`) that begins at most
//! [`PREFIX_EXPANSION_MAX`] words of the vocabulary is matched as those words
//! (`TextQuery::expand_prefix`); a prefix typed with an accent the vocabulary folded finds none
//! there and stays a prefix. The vocabulary holds every word of any listing's title or
//! description, accents folded, kept by triggers, and the words of the category slugs, which
//! listings are matched against too:
//! - PostgreSQL: `search_words` (words of 4 letters or more), a trigram index serving the
//!   `LIKE 'prefix%'`, read with the query's known words in one round trip (`Vocabulary`);
//! - SQLite: `search_tokens`, the terms of an FTS5 table of `search_words`' entries tokenized
//!   as the listings are but unstemmed, read in the range the prefix begins.
//!
//! A prefix of 2 or 3 letters stays a prefix. SQLite's FTS5 answers it from a prefix index of
//! its length (migration `search_prefix_index`): one term's postings, not a merge.
//!
//! A saved search has no prefix (`domain::saved_search::saved_query`: its words are complete),
//! so only a search being typed is spelled out, with the vocabulary of now.

use super::typos::{Vocabulary, WordRow};
use super::*;
use crate::domain::category;
use crate::domain::search::PREFIX_EXPANSION_MAX;

pub(super) fn spell_out_prefixes(
    conn: &mut DbConnection,
    text: &mut TextQuery,
    vocabulary: Option<&Vocabulary>,
) -> QueryResult<()> {
    for (clause, prefix) in text.expandable_prefixes() {
        let mut words: Vec<String> = match vocabulary {
            Some(v) => v.begun_by(&prefix).to_vec(),
            None => sqlite_terms_begun_by(conn, &prefix)?,
        };
        words.extend(
            category::slug_words()
                .filter(|w| w.starts_with(prefix.as_str()))
                .map(str::to_owned),
        );
        words.sort_unstable();
        words.dedup();
        text.expand_prefix(clause, &prefix, &words);
    }
    Ok(())
}

/// SQLite: the terms of the vocabulary that `prefix` begins, at most one more than
/// [`PREFIX_EXPANSION_MAX`] (PostgreSQL's come with the query's [`Vocabulary`]). Every term
/// that begins with the prefix sorts between it and it followed by the last character there
/// is.
fn sqlite_terms_begun_by(conn: &mut DbConnection, prefix: &str) -> QueryResult<Vec<String>> {
    let mut sql = Sql::new(conn);
    sql.push("SELECT term AS word FROM search_tokens WHERE term >= ")
        .text_param(prefix)
        .push(" AND term < ")
        .text_param(&format!("{prefix}{}", char::MAX));
    sql.limit(PREFIX_EXPANSION_MAX as i64 + 1);
    Ok(sql
        .load::<WordRow>(conn)?
        .into_iter()
        .map(|r| r.word)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testing::sqlite_with_listings;
    use super::*;

    /// SQLite's vocabulary comes from FTS5's own tokenizer: a word is found whatever glues it to
    /// its neighbours, whatever its case and accents, even in text that holds a control
    /// character, and it is found as the word (the prefix is gone from the query).
    #[test]
    fn sqlite_spells_a_prefix_out_as_every_word_it_begins_in_text_written_in_plain_sql() {
        let (_dir, mut conn) = sqlite_with_listings(&[
            "x#Blackstone kettle",
            "ÉCLAIRS\u{1}tin",
            "Crème BRÛLÉE dish",
            "Blackbird",
        ]);
        for (typed, spelled) in [
            ("blackst", r#"("blackstone")"#),
            ("blac", r#"(("blackbird" OR "blackstone"))"#),
            ("eclai", r#"("eclairs")"#),
            ("brul", r#"("brulee")"#),
            // No word begins with it: it stays a prefix.
            ("blacksmi", r#"("blacksmi"*)"#),
        ] {
            let mut text = TextQuery::parse(typed).expect("a query");
            spell_out_prefixes(&mut conn, &mut text, None).expect("vocabulary read");
            assert_eq!(text.to_fts5(), spelled, "{typed}");
        }
    }

    /// On SQLite a long last word spelled out as words of one term ("jacket", "jacketed",
    /// "jackets") is matched through the first alone, and still finds them all.
    #[test]
    fn sqlite_spells_a_prefix_out_as_the_first_of_the_words_of_one_term() {
        let (_dir, mut conn) =
            sqlite_with_listings(&["Wool jacket", "Two jackets", "Jacketed pipe", "Jackal"]);
        let conn: &mut DbConnection = &mut conn;
        let filter = ListingFilter {
            text: TextQuery::parse("jacke"),
            filters: Default::default(),
            status: ListingStatus::Active,
            viewer: None,
        };
        let spelled = corrected(
            conn,
            &mut Default::default(),
            &SpelledQueries::default(),
            &filter,
        )
        .expect("spelled");
        assert_eq!(spelled.text.expect("words").to_fts5(), r#"("jacket")"#);
        let found = search(
            conn,
            &mut Default::default(),
            &SpelledQueries::default(),
            &filter,
            ListingSort::Newest,
            None,
            10,
        )
        .expect("search");
        let mut titles: Vec<&str> = found.iter().map(|f| f.listing.title.as_str()).collect();
        titles.sort_unstable();
        assert_eq!(titles, ["Jacketed pipe", "Two jackets", "Wool jacket"]);
    }
}
