//! The last word, a prefix, spelled out as the words it begins (PostgreSQL).
//!
//! GIN matches a prefix by reading every posting of every word it begins into a bitmap, where
//! whole words are intersected posting list by posting list: `leather & jacket:*` took 6.1 ms
//! at 1M listings, `leather & jacket` 1.0 ms. So a prefix of 4 letters or more
//! (`PREFIX_EXPAND_MIN_CHARS`) that begins at most [`PREFIX_EXPANSION_MAX`] words of the
//! vocabulary is matched as those words (`TextQuery::expand_prefix`); a prefix typed with an
//! accent the vocabulary folded finds none there and stays a prefix. The vocabulary is `search_words` (every word of 4 letters or more of any
//! listing's title or description, accents folded, kept by triggers; a trigram index serves
//! the `LIKE 'prefix%'`) and the words of the category slugs, which listings are matched
//! against too. SQLite's FTS5 keeps its prefix query (it has no such vocabulary table).
//!
//! Saved searches keep their prefix: a search saved for `jack` must match a `jackhammer`
//! listed later. Only a search run now is spelled out, with the vocabulary of now.

use super::typos::WordRow;
use super::*;
use crate::domain::category;
use crate::domain::search::PREFIX_EXPANSION_MAX;

pub(super) fn spell_out_prefixes(conn: &mut DbConnection, text: &mut TextQuery) -> QueryResult<()> {
    let DbConnection::Postgresql(pg) = conn else {
        return Ok(());
    };
    for (clause, prefix) in text.expandable_prefixes() {
        let mut words: Vec<String> =
            diesel::sql_query("SELECT word FROM search_words WHERE word LIKE $1 || '%' LIMIT $2")
                .bind::<Text, _>(&prefix)
                .bind::<BigInt, _>(PREFIX_EXPANSION_MAX as i64 + 1)
                .load::<WordRow>(pg)?
                .into_iter()
                .map(|r| r.word)
                .collect();
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
