//! Search over more matches than it reads at once (issue 12 at scale): relevance ranks a
//! bounded candidate set (the newest `RELEVANCE_CANDIDATES` matches; with more ids, those of
//! the newest `RELEVANCE_SPAN` ids, or the newest page of matches when those hold fewer), its
//! cursors keep ranking that set and then the set below it, so pages neither skip nor repeat
//! a row while listings are inserted; facets read at most `FACET_COUNT_CAP + 1` matches and
//! say when there were more. Rows are bulk-loaded in plain SQL (a recursive CTE, the same on
//! both backends). Runs on SQLite, and on PostgreSQL with BAZAAR_TEST_DATABASE_URL.

use crate::helpers::*;
use bazaar::http::search::FACET_COUNT_CAP;
use bazaar_actors::store::search::{FIRST_REACH, RELEVANCE_CANDIDATES, RELEVANCE_SPAN};
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Inserts `n` active listings of `seller` in one statement; `title`, `description`,
/// `category` and `condition` are SQL expressions of the row number `i` (1..=n, in id order).
fn bulk_insert(
    app: &TestApp,
    seller: i64,
    n: i64,
    title: &str,
    description: &str,
    category: &str,
    condition: &str,
) {
    let mut conn = app.db.connect();
    conn.batch_execute(&format!(
        "INSERT INTO listings (seller_id, title, description, category, condition, price_cents, \
         currency, quantity, status, version, created_at, updated_at) \
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
         SELECT {seller}, {title}, {description}, {category}, {condition}, 100 + i, 'EUR', 1, \
         'active', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM s ORDER BY i"
    ))
    .unwrap();
}

/// Moves the listings' ids on, so a test has the ids of a large catalogue without its rows:
/// the next listing inserted gets the id `next` (a closed filler listing of `seller` takes the
/// one before, and on PostgreSQL the id sequence is set to it).
fn ids_from(app: &TestApp, seller: i64, next: i64) {
    let mut conn = app.db.connect();
    conn.batch_execute(&format!(
        "INSERT INTO listings (id, seller_id, title, description, category, condition, \
         price_cents, currency, quantity, status, version, created_at, updated_at) VALUES \
         ({filler}, {seller}, 'Filler', 'x', 'other', 'good', 100, 'EUR', 1, 'closed', 1, \
         '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        filler = next - 1
    ))
    .unwrap();
    if app.db.is_postgres() {
        conn.batch_execute(&format!(
            "SELECT setval(pg_get_serial_sequence('listings', 'id'), {})",
            next - 1
        ))
        .unwrap();
    }
}

/// `old` gizmos of four strengths ([`insert_gizmos_of_four_strengths`]), then `new` more from
/// the id `RELEVANCE_SPAN * 3` on, far above them: every match, newest first, and the two
/// batches' first ids.
async fn old_and_far_newer_gizmos(
    app: &TestApp,
    seller: &TestUser,
    old: i64,
    new: i64,
) -> (Vec<i64>, [i64; 2]) {
    insert_gizmos_of_four_strengths(app, seller.id, old);
    let oldest = *all_matches(app).await.last().unwrap();
    let first = RELEVANCE_SPAN * 3;
    ids_from(app, seller.id, first);
    insert_gizmos_of_four_strengths(app, seller.id, new);
    let every = all_matches(app).await;
    assert_eq!(every.len() as i64, old + new);
    (every, [oldest, first])
}

/// Walks every relevance page of `gizmo`, `limit` a page, creating a strong match before each
/// next page: the ids seen, and the ids created.
async fn walk_relevance_inserting(
    app: &TestApp,
    seller: &TestUser,
    limit: usize,
) -> (Vec<i64>, Vec<i64>) {
    let mut seen = Vec::new();
    let mut inserted = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("q=gizmo&limit={limit}&cursor={c}"),
            None => format!("q=gizmo&limit={limit}"),
        };
        let page = get(app, &url).await;
        seen.extend(listing_ids(&page));
        let made = app
            .listing(
                seller,
                json!({"title": format!("Gizmo gizmo {}", inserted.len()),
                       "description": "gizmo gizmo gizmo gizmo", "price_cents": 500}),
            )
            .await;
        inserted.push(made["id"].as_i64().unwrap());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    (seen, inserted)
}

async fn get(app: &TestApp, query: &str) -> Value {
    json_of(
        app.get(&format!("/api/v1/listings?{query}"), None).await,
        200,
    )
    .await
}

/// Every listing id matching `gizmo`, newest first (sort=newest walks them all).
async fn all_matches(app: &TestApp) -> Vec<i64> {
    walk_listings(app, "q=gizmo&sort=newest&limit=100").await
}

/// Inserts `n` listings matching `gizmo` in four strengths, interleaved so that the ranking
/// differs from the id order ([`by_strength`]).
fn insert_gizmos_of_four_strengths(app: &TestApp, seller: i64, n: i64) {
    bulk_insert(
        app,
        seller,
        n,
        "'Gizmo ' || i",
        "CASE i % 4 WHEN 0 THEN 'plain' WHEN 1 THEN 'a gizmo' WHEN 2 THEN 'gizmo gizmo' \
         ELSE 'gizmo gizmo gizmo gizmo' END",
        "'home-decor'",
        "'good'",
    );
}

/// Sorts ids of [`insert_gizmos_of_four_strengths`]'s listings (the first of them `first`) as
/// relevance ranks them: the strongest matches first, newest first among equals. By row number
/// i = id - first + 1, i % 4 == 3 has four words of its description matching (of four), 2 two
/// (of two), 1 one (of two), 0 only the title.
fn by_strength(ids: &mut [i64], first: i64) {
    by_strength_in_batches(ids, &[first]);
}

/// [`by_strength`] for listings of several such batches, the first ids of which are `firsts`:
/// each listing's strength counts from its batch's first id (the highest at most its own).
fn by_strength_in_batches(ids: &mut [i64], firsts: &[i64]) {
    let strength = |i: i64| {
        let first = firsts
            .iter()
            .filter(|&&f| f <= i)
            .max()
            .copied()
            .unwrap_or(i);
        (i - first + 1) % 4
    };
    ids.sort_by_key(|&i| (std::cmp::Reverse(strength(i)), std::cmp::Reverse(i)));
}

/// On PostgreSQL a words query in newest order first reads the newest `FIRST_REACH` ids, then,
/// when they hold too few matches, every match: a word whose matches are mostly older than
/// that is still found whole, newest first, by both sorts and across pages.
#[actix_web::test]
async fn a_word_mostly_older_than_the_newest_ids_is_found_whole_by_newest_and_relevance() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let text = |t: &str| format!("'{t} ' || i");
    bulk_insert(
        &app,
        seller.id,
        30,
        &text("Wombat"),
        "'old'",
        "'sports'",
        "'good'",
    );
    bulk_insert(
        &app,
        seller.id,
        FIRST_REACH + 50,
        &text("Filler"),
        "'x'",
        "'sports'",
        "'good'",
    );
    bulk_insert(
        &app,
        seller.id,
        5,
        &text("Wombat"),
        "'new'",
        "'sports'",
        "'good'",
    );
    let newest = walk_listings(&app, "q=wombat&sort=newest&limit=7").await;
    assert_eq!(newest.len(), 35, "{newest:?}");
    assert!(
        newest.windows(2).all(|w| w[0] > w[1]),
        "newest first: {newest:?}"
    );
    let mut ranked = walk_listings(&app, "q=wombat&limit=7").await;
    assert_eq!(ranked.len(), 35, "{ranked:?}");
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ranked, newest, "relevance ranks the same matches");
    // A cursor edited to reach far above the newest id reads what the real one reads.
    for (query, field) in [
        ("q=wombat&sort=newest&limit=7", "id"),
        ("q=wombat&limit=7", "hi"),
    ] {
        let first = get(&app, query).await;
        let cursor = first["next_cursor"].as_str().unwrap();
        let mut edited: Value = bazaar::http::decode_cursor(cursor).unwrap();
        edited[field] = json!(1_000_000_000_000i64);
        let edited = bazaar::http::encode_cursor(&edited);
        let real = get(&app, &format!("{query}&cursor={cursor}")).await;
        let far = get(&app, &format!("{query}&cursor={edited}")).await;
        let expected = if field == "id" {
            listing_ids(&first)
        } else {
            listing_ids(&real)
        };
        assert_eq!(listing_ids(&far), expected, "{query}");
    }
    // Sorted by price (PostgreSQL: few in the newest ids, so every match from the index).
    let by_price = walk_listings(&app, "q=wombat&sort=price_asc&limit=7").await;
    let mut sorted = by_price.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sorted, newest, "every match once: {by_price:?}");
    // A word only in the oldest rows: the first step finds nothing, the second all of them.
    let old = walk_listings(&app, "q=old&sort=newest&limit=100").await;
    assert_eq!(old, newest[5..].to_vec());
}

/// Relevance pages rank the newest `RELEVANCE_CANDIDATES` matches (the first page's window),
/// then the older ones below that window, each window ranked on its own; listings inserted
/// while the pages are walked enter neither.
#[actix_web::test]
async fn relevance_ranks_window_by_window_newest_first_and_its_pages_never_skip_or_repeat() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let extra = 150;
    insert_gizmos_of_four_strengths(&app, seller.id, RELEVANCE_CANDIDATES + extra);
    let before = all_matches(&app).await;
    assert_eq!(before.len() as i64, RELEVANCE_CANDIDATES + extra);

    // Walk relevance, inserting a strong match before each next page.
    let (seen, inserted) = walk_relevance_inserting(&app, &seller, 100).await;
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a row was repeated");
    // The first page's window: exactly the newest candidates, the strongest first, newest
    // first among equals; then the window below it: the older matches, ranked alike. Nothing
    // inserted during the walk enters either.
    let n = RELEVANCE_CANDIDATES as usize;
    let first = *before.last().unwrap();
    let mut window = before[..n].to_vec();
    by_strength(&mut window, first);
    let mut below = before[n..].to_vec();
    by_strength(&mut below, first);
    assert_eq!(
        seen[..n],
        window[..],
        "the first pages are the newest {RELEVANCE_CANDIDATES} matches of the first page, ranked"
    );
    assert_eq!(seen[n..], below[..], "then the older matches, ranked");
    assert!(inserted.iter().all(|i| !unique.contains(i)));

    // A new search ranks the newest matches, the inserted ones among them.
    let fresh = get(&app, "q=gizmo&limit=100").await;
    assert_eq!(listing_ids(&fresh)[0], *inserted.last().unwrap());
    // Other sorts still see every match.
    assert_eq!(all_matches(&app).await.len(), before.len() + inserted.len());
}

/// With more ids than `RELEVANCE_SPAN`, the first window ranks the matches among the newest
/// `RELEVANCE_SPAN` ids only, when they hold a page of them (`domain::search::window_reads`):
/// 40 new matches are ranked on their own, then the 15 old ones, far below, as the next window.
/// Listings inserted while the pages are walked enter no window, and no row is skipped or
/// repeated. (Without an estimate of the words, as here, both backends read the span; with one,
/// the reads it calls for: the test below, and `read_the_newest_matches` in `search.rs`.)
#[actix_web::test]
async fn relevance_ranks_the_matches_of_the_newest_ids_first_when_they_hold_a_page() {
    let app = unswept_app().await;
    let seller = app.user("seller").await;
    let (every, firsts) = old_and_far_newer_gizmos(&app, &seller, 15, 40).await;
    let (first, top) = (firsts[1], firsts[1] + 39);

    without_statistics(&app);
    let page = get(&app, "q=gizmo&limit=20").await;
    let cursor: Value = bazaar::http::decode_cursor(page["next_cursor"].as_str().unwrap()).unwrap();
    let (seen, inserted) = walk_relevance_inserting(&app, &seller, 20).await;
    assert!(inserted.iter().all(|i| !seen.contains(i)));
    assert_eq!(cursor["n"], json!(40), "the new matches only: {cursor}");
    assert_eq!(
        cursor["lo"],
        json!(top - RELEVANCE_SPAN + 1),
        "the window reaches down to its ids' lowest: {cursor}"
    );
    let mut new = every[..40].to_vec();
    by_strength(&mut new, first);
    let mut below = every[40..].to_vec();
    by_strength(&mut below, firsts[0]);
    assert_eq!(seen[..40], new[..], "the newest ids' matches, ranked");
    assert_eq!(seen[40..], below[..], "then the old ones, ranked");
}

/// When the newest `RELEVANCE_SPAN` ids hold fewer matches than a page, the first window takes
/// the newest page of matches, however old (the server reads a page and one more, to know
/// whether another follows); the older matches follow as the window below it.
#[actix_web::test]
async fn relevance_takes_the_newest_page_of_matches_when_the_newest_ids_hold_fewer() {
    let app = unswept_app().await;
    let seller = app.user("seller").await;
    let (every, firsts) = old_and_far_newer_gizmos(&app, &seller, 30, 5).await;

    without_statistics(&app);
    let limit = 10;
    let page = get(&app, &format!("q=gizmo&limit={limit}")).await;
    let cursor: Value = bazaar::http::decode_cursor(page["next_cursor"].as_str().unwrap()).unwrap();
    let seen = walk_listings(&app, &format!("q=gizmo&limit={limit}")).await;
    let read = limit + 1;
    assert_eq!(
        (&cursor["n"], &cursor["lo"]),
        (&json!(read), &json!(every[read - 1]))
    );
    // One window of the newest `read` matches, new and old ranked together (both batches
    // repeat the same four strengths); then the older ones, ranked.
    let mut window = every[..read].to_vec();
    by_strength_in_batches(&mut window, &firsts);
    let mut below = every[read..].to_vec();
    by_strength(&mut below, firsts[0]);
    assert_eq!(
        seen[..read],
        window[..],
        "the newest page of matches, ranked"
    );
    assert_eq!(seen[read..], below[..], "then the older ones, ranked");
}

/// Where the words are known to be few (on SQLite the vocabulary sweep's counts of them, on
/// PostgreSQL its statistics), a window's opening leaves out the read that would find too few:
/// 55 matches over 150,000 ids put 19 in the newest `RELEVANCE_SPAN` ids, fewer than a page of
/// 20, so the first window is the newest page of matches (and one more) straight away, where
/// without an estimate it ranks the 40 the span holds (the test above). Every match is still
/// found once, window by window.
#[actix_web::test]
async fn relevance_takes_the_newest_page_at_once_when_the_words_are_known_to_be_few() {
    let app = crate::search::sweeping_app().await;
    let seller = app.user("seller").await;
    let (every, firsts) = old_and_far_newer_gizmos(&app, &seller, 15, 40).await;
    let limit = 20;
    let estimate = estimated(&app).await;
    assert!(estimate < limit, "expected in the span: {estimate}");

    let page = get(&app, &format!("q=gizmo&limit={limit}")).await;
    let cursor: Value = bazaar::http::decode_cursor(page["next_cursor"].as_str().unwrap()).unwrap();
    let read = limit as usize + 1;
    assert_eq!(
        (&cursor["n"], &cursor["lo"]),
        (&json!(read), &json!(every[read - 1])),
        "the newest page of matches and one more: {cursor}"
    );
    let mut window = every[..read].to_vec();
    by_strength(&mut window, firsts[1]);
    assert_eq!(listing_ids(&page), window[..limit as usize], "ranked");
    let seen = walk_listings(&app, &format!("q=gizmo&limit={limit}")).await;
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sorted, every, "every match once: {seen:?}");
}

/// How many matches of "gizmo" the newest `RELEVANCE_SPAN` ids are expected to hold, once
/// there is an estimate: PostgreSQL's once the table is analysed, SQLite's once the vocabulary
/// sweep (a step every 250 ms here) has counted the word; at most 20 s.
async fn estimated(app: &TestApp) -> i64 {
    let filter = crate::search::active_search("gizmo", Default::default());
    let mut conn = app.db.connect();
    if app.db.is_postgres() {
        conn.batch_execute("ANALYZE listings").unwrap();
    }
    for _ in 0..400 {
        let estimate =
            bazaar_actors::store::search::expected_in_relevance_span(&mut conn, &filter).unwrap();
        if let Some(n) = estimate {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no estimate of the words after 20 s");
}

/// A server whose vocabulary sweep never steps in a test's life (a step every five timer
/// intervals of 20 minutes): SQLite has no counts of the words to estimate by.
async fn unswept_app() -> TestApp {
    spawn_app_with(|s| s.timer_interval_ms = 1_200_000).await
}

/// The listings have no statistics (PostgreSQL: never analysed, and kept so: no autovacuum on
/// the table; SQLite: the vocabulary's words not counted, [`unswept_app`]), so no estimate
/// leaves a read of a window's opening out.
fn without_statistics(app: &TestApp) {
    let filter = crate::search::active_search("gizmo", Default::default());
    let mut conn = app.db.connect();
    if app.db.is_postgres() {
        conn.batch_execute("ALTER TABLE listings SET (autovacuum_enabled = false)")
            .unwrap();
    }
    let estimate = bazaar_actors::store::search::expected_in_relevance_span(&mut conn, &filter);
    assert_eq!(estimate.unwrap(), None, "no estimate of the words");
}

/// A relevance cursor from before windows went on (no `n`, how many candidates its window held)
/// still pages its window and ends with it, as it did; the same cursor with `n` goes on below.
#[actix_web::test]
async fn a_relevance_cursor_from_before_ends_with_its_window() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    insert_gizmos_of_four_strengths(&app, seller.id, RELEVANCE_CANDIDATES + 50);
    let page = get(&app, "q=gizmo&limit=100").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let mut before: Value = bazaar::http::decode_cursor(cursor).unwrap();
    assert_eq!(before["n"], json!(RELEVANCE_CANDIDATES));
    before.as_object_mut().unwrap().remove("n");
    let before = bazaar::http::encode_cursor(&before);

    let ended = get(&app, &format!("q=gizmo&limit=100&cursor={before}")).await;
    let went_on = get(&app, &format!("q=gizmo&limit=100&cursor={cursor}")).await;
    assert_eq!(listing_ids(&ended), listing_ids(&went_on));
    assert_eq!(listing_ids(&ended).len(), 100);
    assert!(ended["next_cursor"].is_null());
    let next = went_on["next_cursor"].as_str().expect("the window below");
    let below = get(&app, &format!("q=gizmo&limit=100&cursor={next}")).await;
    assert_eq!(listing_ids(&below).len(), 50);
}

/// A relevance page goes on below the previous page's last row, ranked as it is now; when that
/// row has left the candidates since (closed), it is ranked on its own, and the next pages are
/// still exactly the candidates below it, none skipped or repeated.
#[actix_web::test]
async fn relevance_goes_on_below_a_last_row_closed_since_and_skips_nothing() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    insert_gizmos_of_four_strengths(&app, seller.id, 60);
    let mut expected = all_matches(&app).await;
    let first = *expected.last().unwrap();
    by_strength(&mut expected, first);

    let page = get(&app, "q=gizmo&limit=20").await;
    let mut seen = listing_ids(&page);
    let last = *seen.last().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/listings/{last}"), Some(&seller.token))
            .await
            .status(),
        204
    );
    // Newer matches, outside the first page's candidates, move the collection's statistics.
    bulk_insert(
        &app,
        seller.id,
        30,
        "'Gizmo gizmo ' || i",
        "'gizmo gizmo'",
        "'home-decor'",
        "'good'",
    );
    let mut cursor = page["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = get(&app, &format!("q=gizmo&limit=20&cursor={c}")).await;
        seen.extend(listing_ids(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, expected);
}

/// Facets read the newest `FACET_COUNT_CAP + 1` matches. Here the matches (every `every`th row)
/// reach back past the newest `FIRST_REACH` ids, so on PostgreSQL the read takes more than one
/// step; the figures must still describe exactly the newest `FACET_COUNT_CAP` of them.
#[actix_web::test]
async fn facets_over_more_matches_than_they_read_say_at_least_and_add_up_to_what_they_read() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let cap = FACET_COUNT_CAP;
    // Sparse enough that the newest `cap + 1` matches span more than the first reach.
    let every = FIRST_REACH / cap + 5;
    let n: i64 = every * (cap + 100);
    let categories = ["fashion-men", "home-decor", "electronics-audio"];
    let conditions = ["new", "good", "fair", "poor", "like_new"];
    bulk_insert(
        &app,
        seller.id,
        n,
        &format!("CASE i % {every} WHEN 0 THEN 'Sprocket ' ELSE 'Widget ' END || i"),
        "'spare part'",
        &format!(
            "CASE (i / {every}) % 3 WHEN 0 THEN 'fashion-men' WHEN 1 THEN 'home-decor' \
             ELSE 'electronics-audio' END"
        ),
        &format!(
            "CASE (i / {every}) % 5 WHEN 0 THEN 'new' WHEN 1 THEN 'good' WHEN 2 THEN 'fair' \
             WHEN 3 THEN 'poor' ELSE 'like_new' END"
        ),
    );
    let matches: Vec<i64> = (1..=n).filter(|i| i % every == 0).collect();
    assert!(matches.len() as i64 > cap);
    assert!(n - matches[matches.len() - 1 - cap as usize] > FIRST_REACH);
    // The facets read the newest `cap` matches and say there were more.
    let read = &matches[matches.len() - cap as usize..];
    let mut want_categories: HashMap<String, i64> = HashMap::new();
    let mut want_conditions: HashMap<String, i64> = HashMap::new();
    for i in read {
        let top = categories[((i / every) % 3) as usize]
            .split('-')
            .next()
            .unwrap();
        *want_categories.entry(top.to_owned()).or_default() += 1;
        *want_conditions
            .entry(conditions[((i / every) % 5) as usize].to_owned())
            .or_default() += 1;
    }
    let facets = json_of(
        app.get("/api/v1/listings/facets?q=sprocket", None).await,
        200,
    )
    .await;
    let at_least = |key: &str| -> HashMap<String, i64> {
        facets[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let count = b["count"].as_str().expect("a capped count is a string");
                let n = count.strip_suffix('+').expect("N+").parse().unwrap();
                (b["value"].as_str().unwrap().to_owned(), n)
            })
            .collect()
    };
    assert_eq!(at_least("categories"), want_categories);
    assert_eq!(at_least("conditions"), want_conditions);
    assert_eq!(at_least("categories").values().sum::<i64>(), cap);
    assert_eq!(facets["min_price_cents"], 100 + read[0]);
    assert_eq!(facets["max_price_cents"], 100 + read[read.len() - 1]);

    // Narrowed below the cap, the counts are exact numbers again and add up.
    let narrow = json_of(
        app.get(
            "/api/v1/listings/facets?q=sprocket&category=home-decor&condition=new",
            None,
        )
        .await,
        200,
    )
    .await;
    let expected = matches
        .iter()
        .filter(|i| (*i / every) % 3 == 1 && (*i / every) % 5 == 0)
        .count() as i64;
    assert!(expected > 0 && expected < cap);
    assert_eq!(
        narrow["categories"],
        json!([{"value": "home", "count": expected}])
    );
    assert_eq!(
        narrow["conditions"],
        json!([{"value": "new", "count": expected}])
    );
}

/// SQLite: a catalogue grown in transactions of different sizes holds its words index (FTS5)
/// in several b-trees, which every search looks each word up in; the server's
/// `WordsIndexMerger` merges them in the background, a few pages a write, until no merge is
/// due (`merge_due`: what is left beside the largest is under a tenth of it), and every search
/// and facets call answers the same before, during and after. (Without the merger nothing
/// merges here: no write follows the load.)
#[actix_web::test]
async fn the_server_merges_a_grown_words_index_until_no_merge_is_due_and_answers_the_same() {
    // The merger looks at the index every tick: the first tick comes after the listings below
    // are written and their b-trees counted.
    let app = spawn_app_with(|s| s.timer_interval_ms = 5_000).await;
    if app.db.is_postgres() {
        return;
    }
    let seller = app.user("seller").await;
    // The b-trees the load leaves are there whatever their sizes: no writer merges them (FTS5's
    // own merging is off). A load in ascending ids leaves many: FTS5's rowid is the id
    // negated, and FTS5 writes out what it holds whenever a rowid comes lower than the last.
    for (n, word) in [(2_000, "Amber"), (400, "Birch"), (60, "Cedar"), (9, "Dune")] {
        let title = format!("'{word} lamp ' || i");
        bulk_insert(&app, seller.id, n, &title, "'Plain'", "'home'", "'good'");
    }
    let pages = || bazaar_actors::store::search::words_index_pages(&mut app.db.connect()).unwrap();
    let grown = pages();
    assert!(
        bazaar_actors::domain::search::merge_due(&grown),
        "{grown:?}"
    );
    let queries = [
        "listings?q=lamp&sort=newest&limit=100",
        "listings?q=amber%20lamp&limit=20",
        "listings?q=birch%20OR%20dune&sort=price_desc&limit=50",
        "listings?q=lamp%20-amber&sort=newest&limit=100",
        "listings?q=ced&limit=100",
        "listings/facets?q=lamp",
    ];
    let answers = || async {
        let mut all = Vec::new();
        for q in queries {
            all.push(json_of(app.get(&format!("/api/v1/{q}"), None).await, 200).await);
        }
        all
    };
    let before = answers().await;
    assert_eq!(before[0]["items"].as_array().unwrap().len(), 100);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while bazaar_actors::domain::search::merge_due(&pages()) {
        assert_eq!(answers().await, before, "while merging");
        assert!(
            std::time::Instant::now() < deadline,
            "not merged: {:?}",
            pages()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(answers().await, before);
    assert_eq!(
        walk_listings(&app, "q=lamp&sort=newest&limit=100")
            .await
            .len(),
        2_469
    );
}
