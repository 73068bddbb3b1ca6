//! The vocabulary forgets the words no listing holds any more.
//!
//! `search_words` (both backends) is kept by triggers that only ever add: a word stays after
//! the last listing that held it was edited. A word the vocabulary knows is never corrected
//! (`typos`), so a listing once titled "Camra bag" and corrected since would keep every later
//! search for "camra" from finding "camera"; and a client editing its listings over and over
//! would grow the vocabulary without bound. So the vocabulary is swept in word order, a little
//! at each step of the `VocabularySweeper` ([`unheld_words`], then [`forget_words`]), and a word
//! the listings' own index no longer finds is deleted. The index is asked for the word as it
//! reads a listing's text: PostgreSQL the GIN index for `plainto_tsquery` of the word, SQLite
//! FTS5 for the word as a phrase. Either finds every listing that holds the word (and perhaps
//! others, with the same stems): a word still held is never forgotten. A word the index
//! cannot look for (on PostgreSQL, a stop word) counts as held.
//!
//! The same sweep counts the active listings that hold each word it finds held (up to
//! [`WORD_COUNT_CAP`]) and keeps, with the word, the neighbours a search for it should also
//! look for ([`corrections`]): at volume a typo is held too ("camra" in one title), and a word
//! only closed or sold listings hold finds nothing anyone can buy. A search reads them with the
//! word (`typos`), so none of this is on the request path.
//!
//! A listing written while its word is being forgotten must not lose it. On SQLite the delete
//! runs in the one writer, after every listing write it could race, and checks the word there.
//! On PostgreSQL a listing's trigger finds the word still there and adds nothing, while the
//! sweep's check, from a snapshot taken before that listing commits, finds the word unheld. So
//! PostgreSQL forgets a word in two sightings (migration `search_words_unheld_since`): the
//! first marks it, the second, at least `grace` later, deletes it if it is still marked and
//! unheld. A listing's trigger clears the marks of the words it holds, taking those rows' locks
//! first (in word order), and the sweep skips a row whose lock a writer holds: whichever comes
//! first, the word stays or the listing adds it again. A listing whose trigger ran before the
//! mark committed long before the second sighting, which sees it (`grace` must exceed the
//! longest a listing's write takes). On SQLite a forgotten word also leaves the prefix
//! vocabulary (`search_words_fts`, whose terms `search_tokens` lists).

use super::typos::{neighbours, WordRow};
use super::*;
use crate::domain::search::{
    is_popular_neighbour, may_have_popular_neighbours, within_one_edit, TYPO_MAX_CORRECTIONS,
    TYPO_MIN_CHARS, WORD_COUNT_CAP,
};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Words read ahead per sweep; how many of them are checked depends on the time allowed.
const READ_AHEAD: i64 = 64;

/// What one step of the sweep found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// The words checked that no listing holds.
    pub unheld: Vec<String>,
    /// The words checked whose count or corrections are not the ones the vocabulary has.
    pub recounted: Vec<Recount>,
    /// Where the next step begins (after this word); empty: from the first word again.
    pub next: String,
}

/// A word as the sweep found it: how many active listings hold it (up to [`WORD_COUNT_CAP`])
/// and the neighbours a search for it also looks for, space-separated (see [`corrections`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, QueryableByName)]
pub struct Recount {
    #[diesel(sql_type = Text)]
    pub word: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub listings: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub corrections: Option<String>,
}

/// One word looked up in the listings' index: whether any listing holds it, and how many
/// active ones do (up to [`WORD_COUNT_CAP`]).
#[derive(QueryableByName)]
struct Sighting {
    #[diesel(sql_type = BigInt)]
    held: i64,
    #[diesel(sql_type = BigInt)]
    listings: i64,
}

/// Checks the words the sweep has not counted yet (new ones, mostly: a typo in a new title is
/// corrected within a step, wherever the pass is), then, with `Some(after)`, the vocabulary's
/// words after it, in order (`None`: the pass rests), for as long as `budget` allows (at least
/// one): answers the ones no listing holds,
/// and for the others how many active listings hold them and their [`corrections`], where
/// those changed. PostgreSQL looks each word up in the GIN index (see [`held`]); a common word
/// costs its whole posting list there (~6 ms for a word in 6% of 1M listings), a rare one a
/// few microseconds; the count reads at most [`WORD_COUNT_CAP`] of its listings.
pub fn unheld_words(
    conn: &mut DbConnection,
    pass_after: Option<&str>,
    budget: Duration,
) -> QueryResult<Checked> {
    let started = Instant::now();
    let uncounted = words_to_check(conn, None)?;
    let after = pass_after.unwrap_or_default();
    let pass = match pass_after {
        Some(after) => words_to_check(conn, Some(after))?,
        None => Vec::new(),
    };
    let whole_rest = pass_after.is_some() && (pass.len() as i64) < READ_AHEAD;
    let mut checked = Checked {
        next: after.to_owned(),
        ..Checked::default()
    };
    let counted = in_index_lookups(conn, |conn| {
        let mut counted = Vec::new();
        let mut look = |kept: &Recount, in_pass: bool| -> QueryResult<()> {
            let seen = sighting(conn, &kept.word)?;
            if seen.held == 0 {
                checked.unheld.push(kept.word.clone());
            } else {
                counted.push((kept.clone(), seen.listings, in_pass));
            }
            Ok(())
        };
        // The words not counted yet take up to half the budget (at least one), the pass the
        // rest (at least one word), so new words never hold the pass up for long.
        let mut first_looked = HashSet::new();
        for (i, kept) in uncounted.iter().enumerate() {
            if i > 0 && started.elapsed() >= budget / 2 {
                break;
            }
            look(kept, false)?;
            first_looked.insert(kept.word.as_str());
        }
        for (i, kept) in pass.iter().enumerate() {
            if i > 0 && started.elapsed() >= budget {
                break;
            }
            if !first_looked.contains(kept.word.as_str()) {
                look(kept, true)?;
            }
            checked.next.clone_from(&kept.word);
        }
        Ok(counted)
    })?;
    // Out of the index-only transaction: PostgreSQL reads a word's neighbours nearest first
    // from its GiST index. Past twice the budget the rest wait for the next step (the first
    // word of each kind is always done), which goes on after the last word of the pass
    // recounted (looking at the words after it again).
    let now: HashMap<&str, i64> = counted
        .iter()
        .map(|(k, n, _)| (k.word.as_str(), *n))
        .collect();
    let mut last_of_pass: Option<&str> = None;
    for (i, (kept, listings, in_pass)) in counted.iter().enumerate() {
        if i > 0 && started.elapsed() >= budget * 2 {
            match (in_pass, last_of_pass) {
                (false, _) => continue,
                (true, Some(last)) => {
                    checked.next = last.to_owned();
                    break;
                }
                (true, None) => {}
            }
        }
        let found = Recount {
            word: kept.word.clone(),
            listings: Some(*listings),
            corrections: corrections(conn, &kept.word, *listings, &now)?,
        };
        if found != *kept {
            checked.recounted.push(found);
        }
        if *in_pass {
            last_of_pass = Some(&kept.word);
        }
    }
    if whole_rest && pass.last().is_none_or(|w| w.word == checked.next) {
        checked.next.clear();
    }
    // Written in word order, the order in which a listing's trigger (PostgreSQL) locks the
    // marked words it clears: the new words came first, so the two could otherwise deadlock.
    checked.recounted.sort_by(|a, b| a.word.cmp(&b.word));
    Ok(checked)
}

/// The next words a step looks at, in word order: those after `after` (the pass), or with
/// `None` those not counted yet (PostgreSQL: nor marked unheld, which the pass sees to).
fn words_to_check(conn: &mut DbConnection, after: Option<&str>) -> QueryResult<Vec<Recount>> {
    let mut sql = Sql::new(conn);
    sql.kept()
        .push("SELECT word, listings, corrections FROM search_words WHERE ");
    match after {
        Some(after) => sql.push("word > ").text_param(after),
        None if sql.pg => sql.push("listings IS NULL AND unheld_since IS NULL"),
        None => sql.push("listings IS NULL"),
    };
    sql.push(" ORDER BY word").limit(READ_AHEAD);
    sql.load::<Recount>(conn)
}

/// How many active listings hold `word` (up to [`WORD_COUNT_CAP`]), and whether any listing
/// does, asked of the listings' index only when no active one does (both backends stop an
/// `OR` at its first true side; a common word's postings are then read once).
fn sighting(conn: &mut DbConnection, word: &str) -> QueryResult<Sighting> {
    let mut sql = Sql::new(conn);
    sql.push("SELECT c.n AS listings, CAST(CASE WHEN c.n > 0 OR ");
    held(&mut sql, Some(word));
    sql.push(" THEN 1 ELSE 0 END AS BIGINT) AS held FROM (SELECT COUNT(*) AS n FROM (SELECT 1");
    sql.push(if sql.pg {
        " FROM listings l"
    } else {
        FTS_LISTINGS
    })
    .push(" WHERE ");
    push_word_match(&mut sql, Some(word));
    sql.push(" AND l.status = 'active'")
        .limit(WORD_COUNT_CAP)
        .push(") x) c");
    let seen = sql.load::<Sighting>(conn)?.pop();
    Ok(seen.unwrap_or(Sighting {
        held: 1,
        listings: 0,
    }))
}

/// The neighbours one edit away that a search for `word`, which `listings` active listings
/// hold, also looks for ([`is_popular_neighbour`]; at most [`TYPO_MAX_CORRECTIONS`], nearest
/// first), space-separated; `None` when there are none. A neighbour's count is the one this
/// step found (`now`), else the one the vocabulary keeps.
fn corrections(
    conn: &mut DbConnection,
    word: &str,
    listings: i64,
    now: &HashMap<&str, i64>,
) -> QueryResult<Option<String>> {
    if !may_have_popular_neighbours(word, listings) || word.chars().count() < TYPO_MIN_CHARS {
        return Ok(None);
    }
    let popular: Vec<String> = neighbours(conn, word)?
        .into_iter()
        .filter(|n| {
            let theirs = now.get(n.word.as_str()).copied().or(n.listings);
            n.word != word
                && within_one_edit(word, &n.word)
                && is_popular_neighbour(word, listings, &n.word, theirs.unwrap_or(0))
        })
        .map(|n| n.word)
        .take(TYPO_MAX_CORRECTIONS)
        .collect();
    Ok((!popular.is_empty()).then(|| popular.join(" ")))
}

/// Keeps what [`unheld_words`] found of the words it recounted, in one transaction. SQLite: run
/// it as a write.
pub fn record_counts(conn: &mut DbConnection, recounted: &[Recount]) -> QueryResult<()> {
    if recounted.is_empty() {
        return Ok(());
    }
    conn.transaction(|conn| recount_each(conn, recounted))
}

fn recount_each(conn: &mut DbConnection, recounted: &[Recount]) -> QueryResult<()> {
    for found in recounted {
        let mut sql = Sql::new(conn);
        sql.kept()
            .push("UPDATE search_words SET listings = ")
            .int(found.listings.unwrap_or(0))
            .push(", corrections = ");
        match &found.corrections {
            Some(c) => sql.text_param(c),
            None => sql.push("NULL"),
        };
        sql.push(" WHERE word = ").text_param(&found.word);
        sql.execute(conn)?;
    }
    Ok(())
}

/// Forgets those of `words` that no listing holds now (checked again, so a word a listing took
/// up since [`unheld_words`] stays), on SQLite from the prefix vocabulary too; answers how
/// many went. SQLite: at once (run it as a write). PostgreSQL: those marked unheld at least
/// `grace` ago go, the others are marked (see the module's doc).
pub fn forget_words(
    conn: &mut DbConnection,
    words: &[String],
    grace: std::time::Duration,
) -> QueryResult<usize> {
    if words.is_empty() {
        return Ok(0);
    }
    in_index_lookups(conn, |conn| {
        let mut sql = Sql::new(conn);
        let pg = sql.pg;
        sql.push("DELETE FROM search_words WHERE word IN (");
        if pg {
            // Marked long enough, and not being cleared by a listing's write right now.
            push_unlocked(&mut sql, words, |sql| {
                sql.push("unheld_since <= (now() AT TIME ZONE 'UTC') - ")
                    .int(grace.as_millis().try_into().unwrap_or(i64::MAX))
                    .push(" * INTERVAL '1 millisecond'");
            });
        } else {
            push_words(&mut sql, words);
        }
        sql.push(") AND NOT ");
        held(&mut sql, None);
        sql.push(" RETURNING word");
        let gone = sql.load::<WordRow>(conn)?;
        if pg {
            let mut sql = Sql::new(conn);
            sql.push("UPDATE search_words SET unheld_since = (now() AT TIME ZONE 'UTC') ")
                .push("WHERE word IN (");
            push_unlocked(&mut sql, words, |sql| {
                sql.push("unheld_since IS NULL");
            });
            sql.push(")");
            sql.execute(conn)?;
        } else {
            for row in &gone {
                forget_prefix_entry(conn, &row.word)?;
            }
        }
        Ok(gone.len())
    })
}

/// PostgreSQL: `SELECT` of those of `words` whose row meets `condition` and no one else has
/// locked, locking them in word order (a listing's trigger locks the marked ones it clears in
/// that order too; skipping them, the sweep never waits for a writer).
fn push_unlocked(sql: &mut Sql, words: &[String], condition: impl FnOnce(&mut Sql)) {
    sql.push("SELECT word FROM search_words WHERE word IN (");
    push_words(sql, words);
    sql.push(") AND ");
    condition(sql);
    sql.push(" ORDER BY word FOR UPDATE SKIP LOCKED");
}

/// `words` as parameters, comma-separated.
fn push_words(sql: &mut Sql, words: &[String]) {
    for (i, word) in words.iter().enumerate() {
        sql.push(if i == 0 { "" } else { ", " }).text_param(word);
    }
}

/// SQLite: deletes `word`'s entry from the prefix vocabulary (`search_words_fts`, whose terms
/// `search_tokens` lists). An FTS5 table finds a row by its tokens only (`detail = none`: each
/// on its own, no phrases), so the entry is looked up by the word's runs of letters and digits
/// (how FTS5's unicode61 splits it, near enough) and then by its text: an entry this split
/// gets wrong is not found and stays, which only leaves its words among a prefix's spellings.
fn forget_prefix_entry(conn: &mut DbConnection, word: &str) -> QueryResult<()> {
    let tokens: Vec<String> = word
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| format!("\"{t}\""))
        .collect();
    if tokens.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(conn);
    sql.push("DELETE FROM search_words_fts WHERE rowid IN (SELECT rowid FROM search_words_fts ")
        .push("WHERE search_words_fts MATCH ")
        .text_param(&tokens.join(" AND "))
        .push(" AND word = ")
        .text_param(word)
        .push(")");
    sql.execute(conn)?;
    Ok(())
}

/// Whether some listing holds `word` (a parameter), or the row's `search_words.word`, as the
/// listings' index finds it: a condition.
fn held(sql: &mut Sql, word: Option<&str>) {
    if sql.pg {
        sql.push("(numnode(plainto_tsquery('bazaar_search', ");
        push_word(sql, word);
        sql.push(")) = 0 OR EXISTS (SELECT 1 FROM listings l WHERE ");
    } else {
        sql.push("(EXISTS (SELECT 1 FROM listings_fts WHERE ");
    }
    push_word_match(sql, word);
    sql.push("))");
}

/// The listings' index matching `word` (a parameter), or the row's `search_words.word`, as it
/// reads a listing's text: PostgreSQL `l.search_vector` against `plainto_tsquery` of it,
/// SQLite `listings_fts` against it as a phrase.
fn push_word_match(sql: &mut Sql, word: Option<&str>) {
    if sql.pg {
        sql.push("l.search_vector @@ plainto_tsquery('bazaar_search', ");
        push_word(sql, word);
        sql.push(")");
    } else {
        sql.push("listings_fts MATCH '\"' || replace(");
        push_word(sql, word);
        sql.push(", '\"', '\"\"') || '\"'");
    }
}

/// `word` as a parameter, or the row's `search_words.word`.
fn push_word(sql: &mut Sql, word: Option<&str>) {
    match word {
        Some(w) => {
            sql.text_param(w);
        }
        None => {
            sql.push("search_words.word");
        }
    }
}

/// Runs `f` so that PostgreSQL answers [`held`] from the GIN index: in a transaction that rules
/// out the table's scan and the id index's walk. It takes any word outside its statistics for
/// 0.5% of the listings and would look for the first match by walking the table, which for a
/// word no listing holds reads every row (333 ms at 1M listings). SQLite's FTS5 is the only way
/// it has to match: `f` runs as it is.
fn in_index_lookups<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    if !matches!(conn, DbConnection::Postgresql(_)) {
        return f(conn);
    }
    conn.transaction(|conn| {
        conn.batch_execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")?;
        f(conn)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{add_listing, sqlite_with_listings};
    use super::*;

    /// On SQLite: a sweep counts the active listings that hold each word and keeps, for one a
    /// single listing holds, the neighbour ten holding it; a recount that finds the same
    /// answers nothing to write.
    #[test]
    fn a_sweep_counts_the_words_and_finds_a_rare_ones_popular_neighbours() {
        let mut titles = vec!["Camra bag".to_owned()];
        titles.extend((0..10).map(|i| format!("Camera {i}")));
        let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
        let (_dir, mut conn) = sqlite_with_listings(&titles);
        let step = unheld_words(&mut conn, Some(""), Duration::from_secs(60)).expect("a step");
        assert!(step.unheld.is_empty());
        let found = |word: &str| step.recounted.iter().find(|r| r.word == word).cloned();
        let camra = found("camra").expect("camra counted");
        assert_eq!(camra.listings, Some(1));
        assert_eq!(camra.corrections.as_deref(), Some("camera"));
        let camera = found("camera").expect("camera counted");
        assert_eq!(camera.listings, Some(10));
        assert_eq!(camera.corrections, None, "not a typo of camra");
        record_counts(&mut conn, &step.recounted).expect("kept");
        let again = unheld_words(&mut conn, Some(""), Duration::from_secs(60)).expect("a step");
        assert_eq!(again.recounted, Vec::new());
    }

    /// On SQLite: a step looks at the words not counted yet first, wherever the pass is: a
    /// typo a new listing brings is corrected at the next step, not when the pass comes round.
    #[test]
    fn a_step_counts_the_new_words_first_wherever_the_pass_is() {
        let mut titles: Vec<String> = (0..10).map(|i| format!("Camera {i}")).collect();
        titles.push("Zebra lamp".to_owned());
        let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
        let (_dir, mut conn) = sqlite_with_listings(&titles);
        let counted = unheld_words(&mut conn, Some(""), Duration::from_secs(60)).expect("a step");
        record_counts(&mut conn, &counted.recounted).expect("kept");

        add_listing(&mut conn, "Camra");
        // The pass is at "lamp", past "camra": it would come round to it after "zebra".
        let step = unheld_words(&mut conn, Some("lamp"), Duration::ZERO).expect("a step");
        let camra = step.recounted.iter().find(|r| r.word == "camra");
        assert_eq!(
            camra.map(|r| (r.listings, r.corrections.as_deref())),
            Some((Some(1), Some("camera"))),
            "{step:?}"
        );
        assert_eq!(step.next, "plain", "and the pass goes on by one word");
        record_counts(&mut conn, &step.recounted).expect("kept");
        let again = unheld_words(&mut conn, Some("lamp"), Duration::ZERO).expect("a step");
        assert!(
            again.recounted.iter().all(|r| r.word != "camra"),
            "{again:?}"
        );

        // While the pass rests (after a whole one), a step still counts the new words.
        add_listing(&mut conn, "Lensss");
        let resting = unheld_words(&mut conn, None, Duration::ZERO).expect("a step");
        let lensss = resting.recounted.iter().find(|r| r.word == "lensss");
        assert_eq!(lensss.map(|r| r.listings), Some(Some(1)), "{resting:?}");
    }

    /// On SQLite: with no time allowed a step checks one word and says where to go on; a word
    /// some listing holds is kept whatever punctuation glues it, accents or quotes included,
    /// and a word none holds (one edited away, or an entry FTS5 finds no token in) goes.
    #[test]
    fn a_sweep_goes_word_by_word_and_forgets_only_the_words_no_listing_holds() {
        let (_dir, mut conn) =
            sqlite_with_listings(&["Camra bag", "x#blackstone kettle", "Crème d''or mug"]);
        conn.batch_execute(
            "UPDATE listings SET title = 'Camera bag' WHERE title = 'Camra bag'; \
             INSERT INTO search_words (word) VALUES ('###'), ('ghostword')",
        )
        .expect("an edit and two entries no listing holds");
        let words = |conn: &mut DbConnection| -> Vec<String> {
            let mut sql = Sql::new(conn);
            sql.push("SELECT word FROM search_words ORDER BY word");
            sql.load::<WordRow>(conn)
                .expect("vocabulary")
                .into_iter()
                .map(|r| r.word)
                .collect()
        };
        let before = words(&mut conn);
        for word in [
            "camra",
            "camera",
            "x#blackstone",
            "crème",
            "d'or",
            "###",
            "ghostword",
        ] {
            assert!(before.contains(&word.to_owned()), "{word} in {before:?}");
        }

        // Every word is new here (not counted yet), so each step also looks at the first of
        // those; counts are kept after each step, as the sweeper does, so the words still
        // uncounted are the unheld ones.
        let first = unheld_words(&mut conn, Some(""), Duration::ZERO).expect("a step");
        assert_eq!(first.next, before[0], "one word of the pass checked");
        record_counts(&mut conn, &first.recounted).expect("kept");
        let mut unheld = first.unheld;
        let mut after = first.next;
        let mut steps = 1;
        while !after.is_empty() {
            let step = unheld_words(&mut conn, Some(&after), Duration::ZERO).expect("a step");
            record_counts(&mut conn, &step.recounted).expect("kept");
            unheld.extend(step.unheld);
            after = step.next;
            steps += 1;
        }
        assert_eq!(steps, before.len(), "a step per word, then the end");
        unheld.sort();
        unheld.dedup();
        assert_eq!(unheld, ["###", "camra", "ghostword"]);

        // A listing takes a word up again between the check and the delete: it stays.
        add_listing(&mut conn, "Ghostword lamp");
        assert_eq!(
            forget_words(&mut conn, &unheld, Duration::ZERO).expect("forget"),
            2
        );
        let after: Vec<String> = words(&mut conn);
        let gone: Vec<&String> = before.iter().filter(|w| !after.contains(w)).collect();
        assert_eq!(gone, ["###", "camra"]);
        // Nor is "camra" a term of the prefix vocabulary any more; "camera" and "ghostword" are.
        let mut terms = |from: &str, to: &str| -> Vec<String> {
            let mut sql = Sql::new(&conn);
            sql.push("SELECT term AS word FROM search_tokens WHERE term >= ")
                .text_param(from)
                .push(" AND term < ")
                .text_param(to)
                .push(" ORDER BY term");
            sql.load::<WordRow>(&mut conn)
                .expect("terms")
                .into_iter()
                .map(|r| r.word)
                .collect()
        };
        assert_eq!(terms("cam", "can"), ["camera"]);
        assert_eq!(terms("ghost", "ghosu"), ["ghostword"]);
    }
}
