//! Typo tolerance: a word of 5+ letters no listing contains gets the known words one edit
//! away as alternatives.

use super::prefixes::spell_out_prefixes;
use super::*;

/// Whether a row exists (its value is not read).
#[derive(QueryableByName)]
struct OneRow {
    #[diesel(sql_type = BigInt)]
    #[allow(dead_code)]
    n: i64,
}

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
pub fn correct_typos(conn: &mut DbConnection, text: &mut TextQuery) -> QueryResult<()> {
    let candidates = text.typo_candidates();
    // PostgreSQL: the known words among them (the usual case) in one probe of the primary
    // key for all of them; only an unknown one reads its nearest neighbours.
    let known_pg: Vec<String> = match conn {
        DbConnection::Postgresql(pg) if !candidates.is_empty() => {
            let typed: Vec<&str> = candidates.iter().map(|(_, t)| t.as_str()).collect();
            diesel::sql_query("SELECT word FROM search_words WHERE word = ANY($1)")
                .bind::<diesel::sql_types::Array<Text>, _>(&typed)
                .load::<WordRow>(pg)?
                .into_iter()
                .map(|r| r.word)
                .collect()
        }
        _ => Vec::new(),
    };
    for (clause, typed) in candidates {
        let mut sql = Sql::new(conn);
        let known: Vec<String> = if sql.pg {
            if known_pg.contains(&typed) {
                continue;
            }
            sql.push("SELECT word FROM search_words ORDER BY word <-> ")
                .text_param(&typed)
                .push(" LIMIT 30");
            sql.load::<WordRow>(conn)?
                .into_iter()
                .map(|r| r.word)
                .collect()
        } else {
            // Known = the index has it (after stemming): one doclist lookup; only an unknown
            // word reads the vocabulary.
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
        correct_typos(conn, text)?;
        spell_out_prefixes(conn, text)?;
    }
    Ok(filter)
}
