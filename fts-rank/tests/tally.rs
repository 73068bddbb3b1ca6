//! `bazaar_tally` on a real connection.

use bazaar_fts_rank::Tally;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

#[derive(QueryableByName)]
struct Answer {
    #[diesel(sql_type = Text)]
    tally: String,
}

fn tally(c: &mut SqliteConnection, cap: i64, below: i64) -> Tally {
    let answer: Answer = diesel::sql_query(
        "SELECT bazaar_tally(?, m.price, m.kind, m.state) AS tally FROM \
         (SELECT price, kind, state FROM items WHERE id < ? ORDER BY id DESC LIMIT 3) m",
    )
    .bind::<BigInt, _>(cap)
    .bind::<BigInt, _>(below)
    .get_result(c)
    .unwrap();
    serde_json::from_str(&answer.tally).unwrap()
}

#[test]
fn it_tallies_the_first_rows_of_an_ordered_subquery_and_answers_an_empty_tally_for_none() {
    bazaar_fts_rank::install().expect("the hook is added");
    let mut c = SqliteConnection::establish(":memory:").unwrap();
    diesel::sql_query(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, price INTEGER, kind TEXT, state TEXT)",
    )
    .execute(&mut c)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO items VALUES (1, 900, 'home', 'good'), (2, 300, 'pets', NULL), \
         (3, 100, 'home', 'poor'), (4, 200, NULL, 'poor')",
    )
    .execute(&mut c)
    .unwrap();
    // The newest three, ids 4, 3, 2: the first two tallied, the third only counted as a row.
    assert_eq!(
        tally(&mut c, 2, 10),
        Tally {
            rows: 3,
            min: Some(100),
            max: Some(200),
            values: vec![vec![("home".into(), 1)], vec![("poor".into(), 2)]],
        }
    );
    assert_eq!(tally(&mut c, 2, 1), Tally::default());
}
