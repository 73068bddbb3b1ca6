//! SQLite's words index (`listings_fts`) kept in one b-tree: its b-trees' sizes, a bounded
//! step of merging them, and a merge of everything at once for a bulk load's end.
//! `domain::search::merge_due` says when a merge is worth it; the `WordsIndexMerger` actor
//! runs the steps. PostgreSQL's GIN index needs none of this (one b-tree, no pending list).

use super::*;

/// SQLite: the words index's b-trees, each one's size in leaf pages, from FTS5's `%_idx`
/// table (one row per leaf page that begins a term, `pgno` the page number shifted left by
/// one): the span of its pages, an estimate (at 1M listings the merged index's span was
/// 42,458 pages of 4,050 bytes against 172 MB in FTS5's `%_data`).
pub fn words_index_pages(conn: &mut DbConnection) -> QueryResult<Vec<i64>> {
    let mut sql = Sql::new(conn);
    sql.push(
        "SELECT (max(pgno) >> 1) - (min(pgno) >> 1) + 1 AS n FROM listings_fts_idx \
         GROUP BY segid",
    );
    Ok(sql.load::<Number>(conn)?.into_iter().map(|r| r.n).collect())
}

/// SQLite: about `pages` pages of merging the words index's b-trees, a write of its own (call
/// it as one; FTS5 finishes the word it is at, so a word in very many listings can take more).
/// `start`: begin merging every b-tree into one (FTS5's `merge` with a negative count, which
/// puts them all on one level), else go on with the merge begun or merge a level that holds
/// `usermerge` b-trees, 2 since migration `search_words_merged_in_background` (a positive
/// count). Answers whether it did any work: FTS5 counts two changes or more when it did.
pub fn merge_words_index(conn: &mut DbConnection, pages: i64, start: bool) -> QueryResult<bool> {
    let before = changes(conn)?;
    let mut sql = Sql::new(conn);
    sql.push("INSERT INTO listings_fts (listings_fts, rank) VALUES ('merge', ")
        .int(if start { -pages } else { pages })
        .push(")");
    sql.execute(conn)?;
    Ok(changes(conn)? - before >= 2)
}

/// SQLite: every b-tree of the words index merged into one at once, in one write (FTS5's
/// `optimize`: 3 s for the 1M catalogue's 170 MB index), for the end of a bulk load.
pub fn optimize_words_index(conn: &mut DbConnection) -> QueryResult<()> {
    let mut sql = Sql::new(conn);
    sql.push("INSERT INTO listings_fts (listings_fts) VALUES ('optimize')");
    sql.execute(conn).map(|_| ())
}

/// SQLite: the trigger that puts each new listing in the words index (migration
/// `search_facet_terms`), which [`index_every_listing`] does for a bulk load at once.
const WORDS_INDEX_TRIGGER: &str = "listings_fts_insert";

/// SQLite: drops the words index's insert trigger, for a bulk load into an empty table that
/// fills the index afterwards ([`index_every_listing`]); returns how to create it again.
pub fn leave_out_words_trigger(conn: &mut DbConnection) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct Definition {
        #[diesel(sql_type = Text)]
        sql: String,
    }
    let mut sql = Sql::new(conn);
    sql.push("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ")
        .text_param(WORDS_INDEX_TRIGGER);
    let trigger = sql
        .load::<Definition>(conn)?
        .pop()
        .ok_or(diesel::result::Error::NotFound)?;
    conn.batch_execute(&format!("DROP TRIGGER {WORDS_INDEX_TRIGGER}"))?;
    Ok(trigger.sql)
}

/// SQLite: every listing put in the words index in one statement, newest first, then the
/// insert trigger [`leave_out_words_trigger`] dropped created again (`trigger`). FTS5 writes
/// out its pending postings whenever a rowid comes lower than the one before, and its rowid is
/// the listing id negated: rows indexed oldest first, as a load's trigger does, write a b-tree
/// each. Newest first, FTS5 writes one only when its pending postings fill up (1M listings
/// loaded in 72 s this way, 118 s through the trigger with FTS5's own merging off, 178 s with
/// it on). The same columns as the trigger, from the same view; then, as the trigger does,
/// each listing's sizes copied onto its row (migration `search_sizes`).
pub fn index_every_listing(conn: &mut DbConnection, trigger: &str) -> QueryResult<()> {
    let mut sql = Sql::new(conn);
    sql.push(
        "INSERT INTO listings_fts (rowid, title, description, category, facets) \
         SELECT fts_id, title, description, category, facets FROM listings_fts_content \
         ORDER BY id DESC",
    );
    sql.execute(conn)?;
    let mut sql = Sql::new(conn);
    sql.push(
        "UPDATE listings SET search_sizes = \
         (SELECT sz FROM listings_fts_docsize WHERE id = -listings.id)",
    );
    sql.execute(conn)?;
    conn.batch_execute(trigger)
}

/// The rows the connection's statements have changed since it opened.
fn changes(conn: &mut DbConnection) -> QueryResult<i64> {
    let mut sql = Sql::new(conn);
    sql.push("SELECT total_changes() AS n");
    Ok(sql.load::<Number>(conn)?.pop().map_or(0, |r| r.n))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{add_listing, sqlite_with_listings};
    use super::*;
    use crate::domain::search::{merge_due, MERGE_SHARE_PERCENT};

    /// Listings written in four transactions of different sizes, as a catalogue grows: FTS5
    /// keeps b-trees of different sizes on different levels (its own merging is off since
    /// migration `search_words_merged_in_background`: they are there whatever their sizes).
    fn grown(conn: &mut DbConnection) {
        for (n, word) in [(2_000, "amber"), (400, "birch"), (60, "cedar"), (9, "dune")] {
            conn.batch_execute(&format!(
                "INSERT INTO listings (seller_id, title, description, category, price_cents, \
                 currency, quantity, status, version, created_at, updated_at) \
                 WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
                 SELECT 1, '{word} lamp ' || i, 'Plain', 'other', 100 + i, 'EUR', 1, 'active', \
                 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM s"
            ))
            .expect("a batch of listings");
        }
    }

    /// Each query's matches, newest first, as FTS5 reads them.
    fn matches(conn: &mut DbConnection) -> Vec<Vec<i64>> {
        [
            "lamp",
            "amber",
            "birch",
            "cedar",
            "dune",
            "amber OR dune",
            "lamp NOT birch",
        ]
        .iter()
        .map(|q| {
            let mut sql = Sql::new(conn);
            sql.push("SELECT rowid AS n FROM listings_fts WHERE listings_fts MATCH ")
                .text_param(q)
                .push(" ORDER BY rowid DESC");
            sql.load::<Number>(conn)
                .expect("matches")
                .into_iter()
                .map(|r| r.n)
                .collect()
        })
        .collect()
    }

    /// Writers merge nothing (migration `search_words_merged_in_background`): listings inserted
    /// one by one add a b-tree each, side by side, and the merger's steps (a positive count)
    /// merge a level of them as FTS5's own merging did. Over 2,000 inserts (of words already
    /// in the vocabulary, whose own index merges as it goes) with steps after every tenth, as
    /// the server's ticks go, the worst insert changed 16 rows: a listing's own. With FTS5's
    /// own merging on (`automerge` 2, as before) the worst changed 143, every 64th a merge.
    #[test]
    fn a_listings_insert_merges_nothing_and_the_steps_merge_the_levels() {
        let (_dir, mut conn) = sqlite_with_listings(&[]);
        for i in 1..=15 {
            add_listing(&mut conn, &format!("Ember lamp {i}"));
        }
        assert_eq!(words_index_pages(&mut conn).expect("sizes").len(), 15);
        let mut steps = 0;
        while merge_words_index(&mut conn, 8, false).expect("a step") {
            steps += 1;
            assert!(steps < 100, "a merge that does not end");
        }
        assert!(steps > 0);
        assert_eq!(words_index_pages(&mut conn).expect("sizes").len(), 1);

        let mut worst = 0;
        for i in 1..=2_000 {
            let before = changes(&mut conn).expect("changes");
            let wood = ["oak", "birch", "cedar", "pine", "elm", "ash", "yew"][i % 7];
            add_listing(&mut conn, &format!("Ember lamp of {wood}"));
            worst = worst.max(changes(&mut conn).expect("changes") - before);
            if i % 10 == 0 {
                while merge_words_index(&mut conn, 64, false).expect("a step") {}
            }
        }
        assert!(worst <= 40, "an insert changed {worst} rows");
        let lamps = count(
            &mut conn,
            "SELECT count(*) AS n FROM listings_fts WHERE listings_fts MATCH 'lamp'",
        );
        assert_eq!(lamps, 15 + 2_000);
        conn.batch_execute(
            "INSERT INTO listings_fts (listings_fts, rank) VALUES ('integrity-check', 1)",
        )
        .expect("the index is intact");
    }

    /// Steps of a few pages merge a grown index into one b-tree, the first starting the merge
    /// and the rest going on with it, and the last step says it did nothing; every query
    /// finds the same rows in the same order before and after, and the index is intact.
    #[test]
    fn bounded_steps_merge_a_grown_index_into_one_b_tree_and_every_match_stays() {
        let (_dir, mut conn) = sqlite_with_listings(&[]);
        grown(&mut conn);
        let pages = words_index_pages(&mut conn).expect("sizes");
        assert!(pages.len() > 1, "{pages:?}");
        assert!(
            merge_due(&words_index_pages(&mut conn).expect("sizes")),
            "{pages:?}"
        );
        let before = matches(&mut conn);
        assert_eq!(before[0].len(), 2_469);

        let mut steps = 0;
        let mut start = true;
        while merge_words_index(&mut conn, 8, start).expect("a step") {
            start = false;
            steps += 1;
            assert!(steps < 1_000, "a merge that does not end");
        }
        assert!(steps > 2, "8 pages a step: {steps} steps");
        assert_eq!(words_index_pages(&mut conn).expect("sizes").len(), 1);
        assert!(!merge_due(&words_index_pages(&mut conn).expect("sizes")));
        assert!(!merge_words_index(&mut conn, 8, true).expect("nothing left to merge"));
        assert_eq!(matches(&mut conn), before);
        conn.batch_execute(
            "INSERT INTO listings_fts (listings_fts, rank) VALUES ('integrity-check', 1)",
        )
        .expect("the index is intact");
    }

    /// Listings written between the merger's ticks (1 to 6 a tick), each in a transaction of
    /// its own (a b-tree each, which the steps merge level by level too), do not end the merge
    /// of every b-tree before it is done: when a tick's steps run out of work, as the merger's
    /// do before it looks at the sizes again, only the last ticks' small b-trees are left
    /// beside the merged one, and every listing is found.
    #[test]
    fn writes_between_the_steps_do_not_end_the_merge_before_it_is_done() {
        /// Steps of 8 pages in a tick, at most.
        const STEPS_A_TICK: usize = 10;
        for per_tick in 1..=6 {
            let (_dir, mut conn) = sqlite_with_listings(&[]);
            grown(&mut conn);
            let mut start = true;
            let mut written = 0;
            let mut steps = 0;
            'ticks: loop {
                for _ in 0..per_tick {
                    written += 1;
                    add_listing(&mut conn, &format!("Ember lamp {written}"));
                }
                for _ in 0..STEPS_A_TICK {
                    if !merge_words_index(&mut conn, 8, start).expect("a step") {
                        break 'ticks;
                    }
                    start = false;
                    steps += 1;
                    assert!(steps < 1_000, "a merge that does not end");
                }
            }
            let pages = words_index_pages(&mut conn).expect("sizes");
            assert!(steps > 2, "8 pages a step: {steps} steps");
            assert!(!merge_due(&pages), "{per_tick} a tick: {pages:?}");
            let largest = pages.iter().copied().max().unwrap_or(0);
            let mut others = pages.clone();
            others.remove(pages.iter().position(|&p| p == largest).unwrap());
            assert!(
                others.iter().sum::<i64>() <= per_tick as i64 + 2 && others.len() <= per_tick + 2,
                "{per_tick} a tick: {pages:?}"
            );
            let lamps = count(
                &mut conn,
                "SELECT count(*) AS n FROM listings_fts WHERE listings_fts MATCH 'lamp'",
            );
            assert_eq!(lamps, 2_469 + written);
        }
    }

    /// The one number `query` answers (as `n`).
    fn count(conn: &mut DbConnection, query: &str) -> i64 {
        let mut sql = Sql::new(conn);
        sql.push(query);
        sql.load::<Number>(conn).expect("count").pop().unwrap().n
    }

    /// How many listings there are, and how many of them have no sizes on their row or others
    /// than FTS5 stores for them.
    fn sizes_copied(conn: &mut DbConnection) -> (i64, i64) {
        let differ = count(
            conn,
            "SELECT count(*) AS n FROM listings l \
             LEFT JOIN listings_fts_docsize ds ON ds.id = -l.id \
             WHERE ds.sz IS NULL OR l.search_sizes IS NOT ds.sz",
        );
        (count(conn, "SELECT count(*) AS n FROM listings"), differ)
    }

    /// A listing's sizes on its row ([`index_every_listing`]'s, the triggers').
    fn sizes_of(conn: &mut DbConnection, id: i64) -> Vec<u8> {
        #[derive(QueryableByName)]
        struct Sizes {
            #[diesel(sql_type = diesel::sql_types::Binary)]
            search_sizes: Vec<u8>,
        }
        let mut sql = Sql::new(conn);
        sql.push("SELECT search_sizes FROM listings WHERE id = ")
            .int(id);
        sql.load::<Sizes>(conn)
            .expect("sizes")
            .pop()
            .unwrap()
            .search_sizes
    }

    /// Every listing's row holds its sizes as FTS5 stores them for bm25 (migration
    /// `search_sizes`): written one by one and in batches in plain SQL, its title changed, its
    /// price or likes changed (sizes kept), and loaded into an empty table with the trigger left
    /// out and the index filled at once, after which the trigger copies them again.
    #[test]
    fn every_listing_row_holds_its_sizes_as_the_words_index_stores_them() {
        let (_dir, mut conn) = sqlite_with_listings(&["Amber lamp", "Birch chair"]);
        grown(&mut conn);
        assert_eq!(sizes_copied(&mut conn), (2 + 2_469, 0));
        let short = sizes_of(&mut conn, 1);
        conn.batch_execute(
            "UPDATE listings SET title = 'Cedar table, round, seats four' WHERE id = 1; \
             UPDATE listings SET price_cents = 90000, like_count = 3 WHERE id = 2",
        )
        .expect("writes");
        assert_eq!(sizes_copied(&mut conn), (2 + 2_469, 0));
        assert_ne!(sizes_of(&mut conn, 1), short, "a longer title, other sizes");

        let (_dir, mut conn) = sqlite_with_listings(&[]);
        let trigger = leave_out_words_trigger(&mut conn).expect("trigger left out");
        conn.batch_execute(
            "INSERT INTO listings (seller_id, title, description, category, price_cents, \
             currency, quantity, status, version, created_at, updated_at) \
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300) \
             SELECT 1, 'Dune lamp ' || i, substr('A lamp, brass, from the sixties. ', 1, i % 33), \
             'other', 100 + i, 'EUR', 1, 'active', 1, '2026-01-01 00:00:00', \
             '2026-01-01 00:00:00' FROM s",
        )
        .expect("a load");
        assert_eq!(sizes_copied(&mut conn), (300, 300), "not indexed yet");
        index_every_listing(&mut conn, &trigger).expect("index filled");
        assert_eq!(sizes_copied(&mut conn), (300, 0));
        add_listing(&mut conn, "Ember vase");
        assert_eq!(sizes_copied(&mut conn), (301, 0));
    }

    /// A few listings written after a merge wait for their share of the index.
    #[test]
    fn a_few_new_listings_beside_a_merged_index_wait_for_their_share() {
        let (_dir, mut conn) = sqlite_with_listings(&[]);
        grown(&mut conn);
        optimize_words_index(&mut conn).expect("optimize");
        assert_eq!(words_index_pages(&mut conn).expect("sizes").len(), 1);
        add_listing(&mut conn, "Amber vase");
        let pages = words_index_pages(&mut conn).expect("sizes");
        assert_eq!(pages.len(), 2, "{pages:?}");
        let rest: i64 = pages.iter().sum::<i64>() - pages.iter().max().unwrap();
        assert!(rest * 100 < pages.iter().max().unwrap() * MERGE_SHARE_PERCENT);
        assert!(!merge_due(&words_index_pages(&mut conn).expect("sizes")));
    }
}
