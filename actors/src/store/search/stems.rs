//! SQLite: which words of a query its words index holds as one term, asked of the index's own
//! tokenizer (`bazaar_fts5_tokens`, crate bazaar-fts-rank), so that a clause steps each term
//! once (`domain::search::stems`).

use super::*;

/// The words index's tokenizer: `listings_fts`'s `tokenize` option (the test below reads it
/// from the table).
const LISTINGS_TOKENIZER: &str = "porter unicode61 remove_diacritics 2";

/// `text` without the whole words that SQLite's words index holds as the term of a whole word
/// before them in their clause (`TextQuery::without_repeated_terms`): one read of the
/// tokenizer, and none when no clause has two whole words.
pub(super) fn without_repeated_terms(
    conn: &mut DbConnection,
    text: TextQuery,
) -> QueryResult<TextQuery> {
    #[derive(QueryableByName)]
    struct Term {
        #[diesel(sql_type = Text)]
        word: String,
        #[diesel(sql_type = Nullable<Text>)]
        term: Option<String>,
    }
    let words = text.words_to_compare();
    if words.is_empty() {
        return Ok(text);
    }
    let list = crate::store::bulk::json_rows(&words)?;
    let mut sql = Sql::new(conn);
    let _ = write!(
        sql.text,
        "SELECT j.value AS word, {}(",
        bazaar_fts_rank::FTS5_TOKENS
    );
    sql.text_param(LISTINGS_TOKENIZER)
        .push(", j.value) AS term FROM json_each(")
        .text_param(&list)
        .push(") j");
    let terms = sql
        .load::<Term>(conn)?
        .into_iter()
        .filter_map(|t| Some((t.word, t.term?)))
        .collect();
    Ok(text.without_repeated_terms(&terms))
}

#[cfg(test)]
mod tests {
    use super::super::testing::sqlite_with_listings;
    use super::*;

    #[derive(QueryableByName)]
    struct Schema {
        #[diesel(sql_type = Text)]
        sql: String,
    }

    #[test]
    fn the_tokenizer_asked_is_the_words_index_own() {
        let (_dir, mut conn) = sqlite_with_listings(&[]);
        let conn: &mut DbConnection = &mut conn;
        let mut sql = Sql::new(conn);
        sql.push("SELECT sql FROM sqlite_master WHERE name = 'listings_fts'");
        let table = sql.load::<Schema>(conn).expect("schema").remove(0).sql;
        assert!(
            table.contains(&format!("tokenize = '{LISTINGS_TOKENIZER}'")),
            "{table}"
        );
    }

    /// Words of many endings, each in a listing of its own, spelled as one clause: every word
    /// left out is found through a word kept (the listing that holds only it is found by the
    /// kept word alone), and the words kept find each other's listings nowhere.
    #[test]
    fn a_word_left_out_is_one_fts5_finds_through_a_word_kept() {
        let stems = [
            "jacket", "lamp", "box", "pony", "glass", "agree", "run", "size",
        ];
        let endings = ["", "s", "es", "ed", "ing", "ies", "er", "ly", "ness"];
        let words: Vec<String> = stems
            .iter()
            .flat_map(|s| endings.iter().map(move |e| format!("{s}{e}")))
            .collect();
        let titles: Vec<String> = words.iter().map(|w| format!("x {w}")).collect();
        let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
        let (_dir, mut conn) = sqlite_with_listings(&titles);
        let conn: &mut DbConnection = &mut conn;
        let mut text = TextQuery::parse("x ").expect("a query");
        text.expand_prefix(0, "x", &words);
        let spelled = without_repeated_terms(conn, text).expect("terms");
        let kept: Vec<String> = spelled.clauses[0]
            .iter()
            .map(|w| w.text().to_owned())
            .collect();
        assert!(kept.len() < words.len() / 2, "{kept:?}");
        let finds = |conn: &mut DbConnection, word: &str, title: &str| {
            let mut sql = Sql::new(conn);
            sql.push(
                "SELECT COUNT(*) AS n FROM listings l JOIN listings_fts f ON f.rowid = -l.id ",
            )
            .push("WHERE listings_fts MATCH ")
            .text_param(&format!("\"{word}\""))
            .push(" AND l.title = ")
            .text_param(&format!("x {title}"));
            sql.load::<Number>(conn).expect("match")[0].n == 1
        };
        for word in &words {
            let through: Vec<&String> = kept.iter().filter(|k| finds(conn, k, word)).collect();
            assert_eq!(
                through.len(),
                1,
                "{word} found through {through:?} of {kept:?}"
            );
        }
    }
}
