//! Typo tolerance: a word of 5+ letters no listing contains, or that far fewer listings hold
//! than a word one edit away, gets the known words one edit away as alternatives.

use super::closeness::look_how_close;
use super::prefixes::spell_out_prefixes;
use super::spelled::SpelledQueries;
use super::*;
use crate::domain::search::PREFIX_EXPANSION_MAX;

#[derive(QueryableByName)]
pub(super) struct WordRow {
    #[diesel(sql_type = Text)]
    pub(super) word: String,
}

/// A word of the vocabulary and how many active listings hold it, as the sweep last counted
/// them (`None`: not yet).
#[derive(QueryableByName)]
pub(super) struct Neighbour {
    #[diesel(sql_type = Text)]
    pub(super) word: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(super) listings: Option<i64>,
}

/// What the vocabulary says of a word typed.
enum Typed {
    /// No listing holds it (as typed or stemmed): its neighbours are looked up now.
    Unknown,
    /// Listings hold it: the neighbours the sweep found it should be corrected to (none for
    /// most words, see `forget::corrections`), as the vocabulary keeps them, space-separated.
    Known(Kept),
}

/// A word's corrections found: its clause, the word as typed, the known words one edit away.
type Corrections = (usize, String, Vec<String>);

/// Typo tolerance: each word of 5+ letters gets the known words one edit away as alternatives
/// when the catalogue's vocabulary does not know it, or when the vocabulary sweep found it
/// held by a few active listings and a neighbour by far more ("camra", one listing's typo, is
/// also "camera"), or by none and a neighbour by some (`forget::corrections`; a word the sweep
/// has not looked at yet is taken as typed). The corrections of an unknown word, or of one no
/// active listing holds, are added to `text` here; those of a word some do are answered, to be
/// added once the query as typed is kept (its matches rank above theirs). An unknown word's
/// neighbours (see [`neighbours`]) are read now; a held word's come with it. PostgreSQL's known
/// words come with the query's [`Vocabulary`].
pub(super) fn correct_typos(
    conn: &mut DbConnection,
    text: &mut TextQuery,
    vocabulary: Option<&Vocabulary>,
) -> QueryResult<Vec<Corrections>> {
    let mut held = Vec::new();
    for (clause, typed) in text.typo_candidates() {
        let kind = match vocabulary {
            Some(vocabulary) => match vocabulary.known.iter().find(|(w, _)| *w == typed) {
                Some((_, kept)) => Typed::Known(kept.clone()),
                None => Typed::Unknown,
            },
            None => sqlite_typed(conn, &typed)?,
        };
        match kind {
            Typed::Known(kept) => {
                let words: Vec<String> = kept
                    .corrections
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
                if kept.listings == Some(0) {
                    // No active listing holds the word: nothing to rank above the corrections.
                    text.add_corrections(clause, &typed, &words);
                } else if !words.is_empty() {
                    held.push((clause, typed, words));
                }
            }
            Typed::Unknown => {
                let known: Vec<String> = neighbours(conn, &typed)?
                    .into_iter()
                    .map(|n| n.word)
                    .collect();
                if !known.contains(&typed) {
                    text.add_corrections(clause, &typed, &known);
                }
            }
        }
    }
    Ok(held)
}

/// SQLite: what the vocabulary says of `typed`. Known = the vocabulary has it as typed (a probe
/// of its primary key: the usual case), or else the index has it after stemming ("jackets";
/// one lookup of the FTS5 index, which opens the word's postings in every segment: 2% of a
/// common word's search at 1M listings when it was the only check).
fn sqlite_typed(conn: &mut DbConnection, typed: &str) -> QueryResult<Typed> {
    let mut sql = Sql::new(conn);
    sql.push("SELECT listings, corrections FROM search_words WHERE word = ")
        .text_param(typed);
    if let Some(kept) = sql.load::<Kept>(conn)?.pop() {
        return Ok(Typed::Known(kept));
    }
    let mut sql = Sql::new(conn);
    sql.push("SELECT 1 AS n FROM listings_fts WHERE listings_fts MATCH ")
        .text_param(&format!("\"{typed}\""))
        .push(" LIMIT 1");
    Ok(if sql.load::<Number>(conn)?.is_empty() {
        Typed::Unknown
    } else {
        Typed::Known(Kept::default())
    })
}

/// What the sweep last found of a word (`search_words.listings`, `.corrections`).
#[derive(Clone, Default, QueryableByName)]
pub(super) struct Kept {
    #[diesel(sql_type = Nullable<BigInt>)]
    listings: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    corrections: Option<String>,
}

/// The vocabulary's words that may be one edit from `typed`, with their counts. PostgreSQL: the
/// 30 nearest by trigram distance (a GiST index reads them nearest first), any typo position.
/// SQLite: the range of the word's first letter (a typo there is not corrected), lengths two
/// shorter to one longer, at most 5,000.
pub(super) fn neighbours(conn: &mut DbConnection, typed: &str) -> QueryResult<Vec<Neighbour>> {
    let mut sql = Sql::new(conn);
    if sql.pg {
        sql.kept()
            .push("SELECT word, listings FROM search_words ORDER BY word <-> ")
            .text_param(typed)
            .push(" LIMIT 30");
        return sql.load::<Neighbour>(conn);
    }
    let first: String = typed.chars().take(1).collect();
    let after_first = first
        .chars()
        .next()
        .and_then(|c| char::from_u32(c as u32 + 1))
        .map(String::from)
        .unwrap_or_default();
    let len = typed.chars().count() as i64;
    sql.push("SELECT word, listings FROM search_words WHERE word >= ")
        .text_param(&first)
        .push(" AND word < ")
        .text_param(&after_first)
        .push(" AND length(word) BETWEEN ")
        .int(len - 2)
        .push(" AND ")
        .int(len + 1)
        .push(" LIMIT 5000");
    sql.load::<Neighbour>(conn)
}

/// The filter with its words' typos corrected (see [`correct_typos`]) and its long prefixes
/// spelled out (see [`spell_out_prefixes`]), as `spelled` keeps them a while, and on SQLite how
/// close together the matches of its words lie when that decides how it is read (see
/// [`look_how_close`]: it depends on the filters, and is looked at every time). Spelled now,
/// the vocabulary's lookups are planned with their values (`mode`: a prefix's plan depends on
/// it).
pub(super) fn corrected(
    conn: &mut DbConnection,
    mode: &mut PlanMode,
    spelled: &SpelledQueries,
    filter: &ListingFilter,
) -> QueryResult<ListingFilter> {
    let mut filter = filter.clone();
    if let Some(text) = filter.text.as_mut() {
        *text = spelled.spelled(text, || {
            mode.with_values(conn)?;
            spell(conn, text)
        })?;
        look_how_close(conn, text, &filter.filters)?;
    }
    Ok(filter)
}

/// `typed` with its typos corrected and its long prefixes spelled out, from the vocabulary as
/// it is now; on SQLite without the words its words index holds as the term of a word beside
/// them (`stems::without_repeated_terms`).
fn spell(conn: &mut DbConnection, typed: &TextQuery) -> QueryResult<TextQuery> {
    let mut text = typed.clone();
    let vocabulary = Vocabulary::of(conn, &text)?;
    let held = correct_typos(conn, &mut text, vocabulary.as_ref())?;
    spell_out_prefixes(conn, &mut text, vocabulary.as_ref())?;
    if !held.is_empty() {
        text.typed = Some(Box::new(text.clone()));
        for (clause, typed, known) in held {
            text.add_corrections(clause, &typed, &known);
        }
    }
    match conn {
        DbConnection::Sqlite(_) => {
            let text = stems::without_repeated_terms(conn, text)?;
            count_held(conn, text)
        }
        _ => Ok(text),
    }
}

/// SQLite: `text` with how many active listings at most hold its words, as the vocabulary
/// sweep last counted them ([`TextQuery::held_at_most`]; one read of `search_words` by its
/// key, kept with the spelling): the estimate a relevance window opens by
/// (`window_opening`), which PostgreSQL has from its statistics and FTS5 has not.
fn count_held(conn: &mut DbConnection, mut text: TextQuery) -> QueryResult<TextQuery> {
    let words: Vec<&str> = text
        .clauses
        .iter()
        .flatten()
        .filter(|w| !w.prefix)
        .map(|w| w.text())
        .collect();
    if words.is_empty() {
        return Ok(text);
    }
    let list = crate::store::bulk::json_rows(&words)?;
    let mut sql = Sql::new(conn);
    sql.push("SELECT w.word, w.listings FROM json_each(")
        .text_param(&list)
        .push(") j JOIN search_words w ON w.word = j.value");
    let counted = sql.load::<Neighbour>(conn)?;
    text.held_by = text.held_at_most(|word| {
        counted
            .iter()
            .find(|c| c.word == word)
            .and_then(|c| c.listings)
    });
    Ok(text)
}

/// What PostgreSQL's vocabulary (`search_words`) says of a query's words, read in one round
/// trip before its typos and prefixes are looked at: which of its typo candidates are known
/// words, and the words each of its long prefixes begins (at most one more than
/// [`PREFIX_EXPANSION_MAX`]). A correction is never a prefix, so correcting typos leaves the
/// prefixes as they were read. `None` on SQLite, whose two lookups read different tables (the
/// FTS index, `search_tokens`) and stay apart.
pub(super) struct Vocabulary {
    /// The typo candidates the vocabulary has, with what the sweep found of them.
    known: Vec<(String, Kept)>,
    begun: Vec<(String, Vec<String>)>,
}

#[derive(QueryableByName)]
struct VocabularyRow {
    #[diesel(sql_type = Text)]
    word: String,
    /// The prefix it begins; none for a known typo candidate.
    #[diesel(sql_type = Nullable<Text>)]
    prefix: Option<String>,
    /// What the sweep found of a known typo candidate (see [`correct_typos`]).
    #[diesel(embed)]
    kept: Kept,
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
            sql.push(
                "SELECT word, CAST(NULL AS TEXT) AS prefix, listings, corrections \
                 FROM search_words WHERE word IN (",
            );
            for (i, (_, word)) in typed.iter().enumerate() {
                sql.push(if i == 0 { "" } else { ", " }).text_param(word);
            }
            sql.push(")");
        }
        for (_, prefix) in &prefixes {
            if !sql.text.is_empty() {
                sql.push(" UNION ALL ");
            }
            sql.push(
                "SELECT p.word, p.prefix, CAST(NULL AS BIGINT) AS listings, \
                 CAST(NULL AS TEXT) AS corrections FROM (SELECT word, ",
            )
            .text_param(prefix)
            .push(" AS prefix FROM search_words WHERE word LIKE ")
            .text_param(prefix)
            .push(" || '%'")
            .limit(PREFIX_EXPANSION_MAX as i64 + 1)
            .push(") p");
        }
        for row in sql.load::<VocabularyRow>(conn)? {
            match row.prefix {
                None => vocabulary.known.push((row.word, row.kept)),
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
