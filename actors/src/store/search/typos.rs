//! Typo tolerance: a word of 5+ letters no listing contains gets the known words one edit
//! away as alternatives.

use super::prefixes::spell_out_prefixes;
use super::*;
use crate::domain::search::PREFIX_EXPANSION_MAX;

#[derive(QueryableByName)]
pub(super) struct WordRow {
    #[diesel(sql_type = Text)]
    pub(super) word: String,
}

/// Typo tolerance: each word of 5+ letters that the catalogue's vocabulary does not know gets
/// the known words one edit away as alternatives. Only unknown words are corrected, so a
/// correction never competes with an exact match of the same word. PostgreSQL: the
/// `search_words` table (unstemmed words, kept by triggers), the 30 nearest by trigram
/// distance (a GiST index reads them nearest first), any typo position. SQLite: its own
/// `search_words` table (lowercased words, split by a trigger in SQL), read in the range of the
/// word's first letter, so a typo in the first letter is not corrected there.
/// PostgreSQL's known words come with the query's [`Vocabulary`].
pub(super) fn correct_typos(
    conn: &mut DbConnection,
    text: &mut TextQuery,
    vocabulary: Option<&Vocabulary>,
) -> QueryResult<()> {
    for (clause, typed) in text.typo_candidates() {
        let mut sql = Sql::new(conn);
        let known: Vec<String> = if let Some(vocabulary) = vocabulary {
            // PostgreSQL: the known words (the usual case) came with the vocabulary; only an
            // unknown one reads its nearest neighbours.
            if vocabulary.known.contains(&typed) {
                continue;
            }
            sql.kept()
                .push("SELECT word FROM search_words ORDER BY word <-> ")
                .text_param(&typed)
                .push(" LIMIT 30");
            sql.load::<WordRow>(conn)?
                .into_iter()
                .map(|r| r.word)
                .collect()
        } else {
            // Known = the vocabulary has it as typed (a probe of its primary key: the usual
            // case), or else the index has it after stemming ("jackets"; one lookup of the
            // FTS5 index, which opens the word's postings in every segment: 2% of a common
            // word's search at 1M listings when it was the only check). Only an unknown word
            // reads the vocabulary's range.
            sql.push("SELECT 1 AS n FROM search_words WHERE word = ")
                .text_param(&typed);
            if !sql.load::<Number>(conn)?.is_empty() {
                continue;
            }
            let mut sql = Sql::new(conn);
            sql.push("SELECT 1 AS n FROM listings_fts WHERE listings_fts MATCH ")
                .text_param(&format!("\"{typed}\""))
                .push(" LIMIT 1");
            if !sql.load::<Number>(conn)?.is_empty() {
                continue;
            }
            let mut sql = Sql::new(conn);
            let first: String = typed.chars().take(1).collect();
            let after_first = first
                .chars()
                .next()
                .and_then(|c| char::from_u32(c as u32 + 1))
                .map(String::from)
                .unwrap_or_default();
            let len = typed.chars().count() as i64;
            sql.push("SELECT word FROM search_words WHERE word >= ")
                .text_param(&first)
                .push(" AND word < ")
                .text_param(&after_first)
                .push(" AND length(word) BETWEEN ")
                .int(len - 2)
                .push(" AND ")
                .int(len + 1)
                .push(" LIMIT 5000");
            sql.load::<WordRow>(conn)?
                .into_iter()
                .map(|r| r.word)
                .collect()
        };
        if known.contains(&typed) {
            continue;
        }
        text.add_corrections(clause, &typed, &known);
    }
    Ok(())
}

/// The filter with its words' typos corrected (see [`correct_typos`]) and its long prefixes
/// spelled out (see [`spell_out_prefixes`]).
pub(super) fn corrected(
    conn: &mut DbConnection,
    filter: &ListingFilter,
) -> QueryResult<ListingFilter> {
    let mut filter = filter.clone();
    if let Some(text) = filter.text.as_mut() {
        let vocabulary = Vocabulary::of(conn, text)?;
        correct_typos(conn, text, vocabulary.as_ref())?;
        spell_out_prefixes(conn, text, vocabulary.as_ref())?;
    }
    Ok(filter)
}

/// What PostgreSQL's vocabulary (`search_words`) says of a query's words, read in one round
/// trip before its typos and prefixes are looked at: which of its typo candidates are known
/// words, and the words each of its long prefixes begins (at most one more than
/// [`PREFIX_EXPANSION_MAX`]). A correction is never a prefix, so correcting typos leaves the
/// prefixes as they were read. `None` on SQLite, whose two lookups read different tables (the
/// FTS index, `search_tokens`) and stay apart.
pub(super) struct Vocabulary {
    known: Vec<String>,
    begun: Vec<(String, Vec<String>)>,
}

#[derive(QueryableByName)]
struct VocabularyRow {
    #[diesel(sql_type = Text)]
    word: String,
    /// The prefix it begins; none for a known typo candidate.
    #[diesel(sql_type = Nullable<Text>)]
    prefix: Option<String>,
}

impl Vocabulary {
    /// The words `prefix` begins (none if it was not among the query's prefixes).
    pub(super) fn begun_by(&self, prefix: &str) -> &[String] {
        self.begun
            .iter()
            .find(|(p, _)| p == prefix)
            .map_or(&[], |(_, words)| words)
    }

    fn of(conn: &mut DbConnection, text: &TextQuery) -> QueryResult<Option<Vocabulary>> {
        if !matches!(conn, DbConnection::Postgresql(_)) {
            return Ok(None);
        }
        let typed = text.typo_candidates();
        let prefixes = text.expandable_prefixes();
        let mut vocabulary = Vocabulary {
            known: Vec::new(),
            begun: prefixes
                .iter()
                .map(|(_, p)| (p.clone(), Vec::new()))
                .collect(),
        };
        if typed.is_empty() && prefixes.is_empty() {
            return Ok(Some(vocabulary));
        }
        // A known word is a probe of the primary key; a prefix's words, of the trigram index.
        // At most `TYPO_MAX_WORDS` candidates and one prefix: a few shapes, each kept.
        let mut sql = Sql::new(conn);
        sql.kept();
        if !typed.is_empty() {
            sql.push("SELECT word, CAST(NULL AS TEXT) AS prefix FROM search_words WHERE word IN (");
            for (i, (_, word)) in typed.iter().enumerate() {
                sql.push(if i == 0 { "" } else { ", " }).text_param(word);
            }
            sql.push(")");
        }
        for (_, prefix) in &prefixes {
            if !sql.text.is_empty() {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT p.word, p.prefix FROM (SELECT word, ")
                .text_param(prefix)
                .push(" AS prefix FROM search_words WHERE word LIKE ")
                .text_param(prefix)
                .push(" || '%'")
                .limit(PREFIX_EXPANSION_MAX as i64 + 1)
                .push(") p");
        }
        for row in sql.load::<VocabularyRow>(conn)? {
            match row.prefix {
                None => vocabulary.known.push(row.word),
                Some(prefix) => {
                    if let Some((_, words)) =
                        vocabulary.begun.iter_mut().find(|(p, _)| *p == prefix)
                    {
                        words.push(row.word);
                    }
                }
            }
        }
        Ok(Some(vocabulary))
    }
}
