//! `bazaar_fts5_tokens` on a real connection: the tokens FTS5 indexes a text as.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

const PORTER: &str = "porter unicode61 remove_diacritics 2";

#[derive(QueryableByName)]
struct Tokens {
    #[diesel(sql_type = Nullable<Text>)]
    tokens: Option<String>,
}

fn tokens(c: &mut SqliteConnection, spec: &str, text: &str) -> Option<String> {
    diesel::sql_query("SELECT bazaar_fts5_tokens(?, ?) AS tokens")
        .bind::<Text, _>(spec)
        .bind::<Text, _>(text)
        .get_result::<Tokens>(c)
        .unwrap()
        .tokens
}

fn connection() -> SqliteConnection {
    bazaar_fts_rank::install().expect("the hook is added");
    SqliteConnection::establish(":memory:").unwrap()
}

#[test]
fn it_answers_the_tokens_as_the_tokenizer_stems_and_folds_them() {
    let mut c = connection();
    assert_eq!(tokens(&mut c, PORTER, "Jackets").as_deref(), Some("jacket"));
    assert_eq!(
        tokens(&mut c, PORTER, "jacketed").as_deref(),
        Some("jacket")
    );
    assert_eq!(
        tokens(&mut c, PORTER, "Café crème").as_deref(),
        Some("cafe creme")
    );
    assert_eq!(
        tokens(&mut c, "unicode61", "Jackets").as_deref(),
        Some("jackets")
    );
    assert_eq!(tokens(&mut c, PORTER, "--").as_deref(), Some(""));
    let null: Option<String> = diesel::sql_query("SELECT bazaar_fts5_tokens(?, NULL) AS tokens")
        .bind::<Text, _>(PORTER)
        .get_result::<Tokens>(&mut c)
        .unwrap()
        .tokens;
    assert_eq!(null, None);
    // An unknown tokenizer is FTS5's error, not a crash.
    let unknown = diesel::sql_query("SELECT bazaar_fts5_tokens('nosuch', 'x') AS tokens")
        .get_result::<Tokens>(&mut c);
    assert!(unknown.is_err());
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// For words of every ending, two words have the same tokens exactly when an FTS5 table with
/// that tokenizer finds a row holding one by searching for the other.
#[test]
fn two_words_share_their_tokens_exactly_when_fts5_finds_one_through_the_other() {
    let mut c = connection();
    diesel::sql_query(format!(
        "CREATE VIRTUAL TABLE t USING fts5(body, tokenize = '{PORTER}')"
    ))
    .execute(&mut c)
    .unwrap();
    let stems = [
        "jacket", "lamp", "box", "pie", "glass", "run", "happy", "agree", "size",
    ];
    let endings = [
        "", "s", "es", "ed", "ing", "ies", "er", "ly", "ness", "ation",
    ];
    let words: Vec<String> = stems
        .iter()
        .flat_map(|s| endings.iter().map(move |e| format!("{s}{e}")))
        .collect();
    for (i, word) in words.iter().enumerate() {
        diesel::sql_query("INSERT INTO t (rowid, body) VALUES (?, ?)")
            .bind::<BigInt, _>(i as i64 + 1)
            .bind::<Text, _>(word)
            .execute(&mut c)
            .unwrap();
    }
    let mut merged = 0;
    for (i, a) in words.iter().enumerate() {
        for b in &words {
            let found =
                diesel::sql_query("SELECT COUNT(*) AS n FROM t WHERE t MATCH ? AND rowid = ?")
                    .bind::<Text, _>(format!("\"{b}\""))
                    .bind::<BigInt, _>(i as i64 + 1)
                    .get_result::<Found>(&mut c)
                    .unwrap()
                    .n
                    == 1;
            let same = tokens(&mut c, PORTER, a) == tokens(&mut c, PORTER, b);
            assert_eq!(same, found, "{a} / {b}");
            merged += usize::from(same && a != b);
        }
    }
    // Not a vacuous check: many different words are one term.
    assert!(merged > 50, "{merged}");
}
