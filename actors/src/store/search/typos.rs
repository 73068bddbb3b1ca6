//! Typo tolerance: a word of 5+ letters no listing contains gets the known words one edit
//! away as alternatives.

use super::*;

/// Whether a row exists (its value is not read).
#[derive(QueryableByName)]
struct OneRow {
    #[diesel(sql_type = BigInt)]
    #[allow(dead_code)]
    n: i64,
}

#[derive(QueryableByName)]
struct WordRow {
    #[diesel(sql_type = Text)]
    word: String,
}

/// Typo tolerance: each word of 5+ letters that the catalogue's vocabulary does not know gets
/// the known words one edit away as alternatives. Only unknown words are corrected, so a
/// correction never competes with an exact match of the same word. PostgreSQL: the
/// `search_words` table (unstemmed words, kept by triggers), the 30 nearest by trigram
/// distance (a GiST index reads them nearest first), any typo position. SQLite: FTS5's own vocabulary (`listings_fts_vocab`, stemmed terms), read in the
/// range of the word's first letter, so a typo in the first letter is not corrected there.
pub fn correct_typos(conn: &mut DbConnection, text: &mut TextQuery) -> QueryResult<()> {
    for (clause, typed) in text.typo_candidates() {
        let mut sql = Sql::new(conn);
        let known: Vec<String> = if sql.pg {
            // A known word (the usual case) costs one primary-key probe; only an unknown one
            // reads its nearest neighbours.
            sql.push("SELECT word FROM search_words WHERE word = ")
                .text_param(&typed);
            if !sql.load::<WordRow>(conn)?.is_empty() {
                continue;
            }
            let mut sql = Sql::new(conn);
            sql.push("SELECT word FROM search_words ORDER BY word <-> ")
                .text_param(&typed)
                .push(" LIMIT 30");
            sql.load::<WordRow>(conn)?
                .into_iter()
                .map(|r| r.word)
                .collect()
        } else {
            // Known = the index has it (after stemming): one doclist lookup. Reading the
            // vocabulary costs far more (fts5vocab walks each term's postings), so only an
            // unknown word does.
            sql.push("SELECT 1 AS n FROM listings_fts WHERE listings_fts MATCH ")
                .text_param(&format!("\"{typed}\""))
                .push(" LIMIT 1");
            if !sql.load::<OneRow>(conn)?.is_empty() {
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
            sql.push("SELECT term AS word FROM listings_fts_vocab WHERE term >= ")
                .text_param(&first)
                .push(" AND term < ")
                .text_param(&after_first)
                .push(" AND length(term) BETWEEN ")
                .int(len - 2)
                .push(" AND ")
                .int(len + 1)
                .push(" ORDER BY doc DESC LIMIT 5000");
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

/// The filter with its words' typos corrected (see [`correct_typos`]).
pub(super) fn corrected(
    conn: &mut DbConnection,
    filter: &ListingFilter,
) -> QueryResult<ListingFilter> {
    let mut filter = filter.clone();
    if let Some(text) = filter.text.as_mut() {
        correct_typos(conn, text)?;
    }
    Ok(filter)
}
