//! `bazaar_bm25` against FTS5's own `bm25` on a real connection.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Double, Text};

#[derive(QueryableByName, Debug)]
struct Scores {
    #[diesel(sql_type = Double)]
    ours: f64,
    #[diesel(sql_type = Double)]
    theirs: f64,
}

fn connection() -> SqliteConnection {
    bazaar_fts_rank::install().expect("the hook is added");
    let mut c = SqliteConnection::establish(":memory:").unwrap();
    diesel::sql_query("CREATE VIRTUAL TABLE docs USING fts5(title, body, tag)")
        .execute(&mut c)
        .unwrap();
    let rows = [
        (
            "Black leather jacket",
            "A black jacket, worn twice",
            "clothing",
        ),
        (
            "Camera",
            "Black camera body with a leather strap",
            "electronics",
        ),
        ("Red bicycle", "Fast and light, a black saddle", "sports"),
        ("Jacket", "Denim jacket, blue", "clothing"),
        (
            "Lamp",
            "Desk lamp, warm light, no scratches at all on it",
            "home",
        ),
        (
            "Leather boots",
            "Brown leather, black laces, size 42",
            "clothing",
        ),
    ];
    for (t, b, g) in rows {
        diesel::sql_query("INSERT INTO docs (title, body, tag) VALUES (?, ?, ?)")
            .bind::<Text, _>(t)
            .bind::<Text, _>(b)
            .bind::<Text, _>(g)
            .execute(&mut c)
            .unwrap();
    }
    c
}

/// Each match's score, ours and bm25's: ours given each row's sizes from the `docs_docsize`
/// shadow table, or (`sizes` false) NULL, so that it asks FTS5 for them.
fn scored(c: &mut SqliteConnection, query: &str, sizes: bool) -> Vec<Scores> {
    let sizes = if sizes { "d.sz" } else { "NULL" };
    diesel::sql_query(format!(
        "SELECT bazaar_bm25(docs, ?, {sizes}, 10.0, 2.0, 1.0) AS ours, \
         -bm25(docs, 10.0, 2.0, 1.0) AS theirs \
         FROM docs JOIN docs_docsize d ON d.id = docs.rowid WHERE docs MATCH ? ORDER BY docs.rowid"
    ))
    .bind::<Text, _>(query)
    .bind::<Text, _>(query)
    .load(c)
    .unwrap()
}

fn scores(c: &mut SqliteConnection, query: &str) -> Vec<Scores> {
    scored(c, query, true)
}

#[test]
fn it_scores_every_row_as_bm25_does_for_words_prefixes_and_pairs() {
    let mut c = connection();
    for query in [
        "black",
        "jacket",
        "leath*",
        "black leather",
        "black OR lamp",
        "l*",
    ] {
        let rows = scores(&mut c, query);
        assert!(!rows.is_empty(), "{query} matches");
        let asked = scored(&mut c, query, false);
        assert_eq!(asked.len(), rows.len());
        for r in rows.iter().chain(&asked) {
            assert!(
                (r.ours - r.theirs).abs() < 1e-9,
                "{query}: {} against bm25's {}",
                r.ours,
                r.theirs
            );
        }
    }
}

#[test]
fn the_idf_is_kept_for_the_same_query_text_on_the_connection() {
    let mut c = connection();
    let before = scores(&mut c, "black leather");
    // Many more rows with "black" make it commoner: bm25 moves at once, the kept IDF does not.
    for _ in 0..20 {
        diesel::sql_query(
            "INSERT INTO docs (title, body, tag) VALUES ('Black mug', 'black', 'home')",
        )
        .execute(&mut c)
        .unwrap();
    }
    let after = scores(&mut c, "black leather");
    let first = after.iter().take(before.len());
    for (b, a) in before.iter().zip(first) {
        assert!(
            (a.ours - b.ours).abs() < 1e-9,
            "kept: {} then {}",
            b.ours,
            a.ours
        );
    }
    assert!(
        after
            .iter()
            .zip(&before)
            .any(|(a, b)| (a.theirs - b.theirs).abs() > 1e-6),
        "bm25 itself moved, so the test shows the keeping"
    );
    // Another query text is counted afresh, and agrees with bm25 now.
    for r in scores(&mut c, "leather black") {
        assert!((r.ours - r.theirs).abs() < 1e-9);
    }
}

/// A phrase of a filter term (U+E000 first) scores nothing, whatever its column weighs: each
/// row of `black AND <filter>` scores as `black` alone does (bm25 with the filter's column
/// weighing 0), the filter's rows not counted.
#[test]
fn a_filter_term_scores_nothing_whatever_its_column_weighs() {
    let mut c = connection();
    c.batch_execute(
        "CREATE VIRTUAL TABLE tagged USING fts5(title, body, tag, facets); \
         INSERT INTO tagged (rowid, title, body, tag, facets) \
         SELECT rowid, title, body, tag, char(57344) || 'x ' || char(57344) || 'y' FROM docs",
    )
    .unwrap();
    // Rows without the filter, so that it would weigh much if it were scored.
    for (t, b, g) in [
        ("Lamp", "warm light", "home"),
        ("Chair", "oak legs", "home"),
    ]
    .repeat(10)
    {
        diesel::sql_query(
            "INSERT INTO tagged (title, body, tag, facets) VALUES (?, ?, ?, char(57344) || 'y')",
        )
        .bind::<Text, _>(t)
        .bind::<Text, _>(b)
        .bind::<Text, _>(g)
        .execute(&mut c)
        .unwrap();
    }
    #[derive(QueryableByName, Debug)]
    struct Score {
        #[diesel(sql_type = Double)]
        score: f64,
    }
    let score = |c: &mut SqliteConnection, sql: &str, query: &str| -> Vec<f64> {
        diesel::sql_query(sql)
            .bind::<Text, _>(query)
            .bind::<Text, _>(query)
            .load::<Score>(c)
            .unwrap()
            .into_iter()
            .map(|s| s.score)
            .collect()
    };
    let filtered = format!("black AND \"{}x\"", bazaar_fts_rank::FILTER_MARK);
    let ours = score(
        &mut c,
        "SELECT bazaar_bm25(tagged, ?, NULL, 10.0, 2.0, 1.0, 5.0) AS score FROM tagged \
         WHERE tagged MATCH ? ORDER BY rowid",
        &filtered,
    );
    let theirs = score(
        &mut c,
        "SELECT -bm25(tagged, 10.0, 2.0, 1.0, 0.0) AS score FROM tagged \
         WHERE tagged MATCH ? AND ? IS NOT NULL ORDER BY rowid",
        &filtered,
    );
    assert_eq!(ours.len(), 4, "the rows of docs that hold black");
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert!((o - t).abs() < 1e-9, "{ours:?} against bm25's {theirs:?}");
    }
}
