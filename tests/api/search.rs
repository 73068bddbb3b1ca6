//! Search and browse over the network (issue 12): full-text matching on a small fixed corpus,
//! relevance, every sort with cursors while listings are inserted, categories, conditions,
//! facets, and hostile input. Runs on SQLite, and on PostgreSQL with BAZAAR_TEST_DATABASE_URL.

use crate::helpers::*;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

fn id(l: &Value) -> i64 {
    l["id"].as_i64().unwrap()
}

async fn get(app: &TestApp, query: &str) -> Value {
    json_of(
        app.get(&format!("/api/v1/listings?{query}"), None).await,
        200,
    )
    .await
}

async fn found(app: &TestApp, q: &str) -> Vec<i64> {
    let q = urlencoding(q);
    listing_ids(&get(app, &format!("q={q}&limit=100")).await)
}

fn urlencoding(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Corpus {
    jacket: i64,
    brown: i64,
    cafe: i64,
    camera: i64,
    lens: i64,
    described: i64,
}

async fn corpus(app: &TestApp, seller: &TestUser) -> Corpus {
    let make = |fields: Value| {
        let app = &*app;
        async move { id(&app.listing(seller, fields).await) }
    };
    let jacket = make(json!({"title": "Vintage jacket", "description": "Warm wool, size M", "category": "fashion-men", "condition": "good", "price_cents": 4_000})).await;
    let brown = make(json!({"title": "Brown leather jacket", "description": "Real leather", "category": "fashion-women", "condition": "like_new", "price_cents": 9_000})).await;
    let cafe = make(json!({"title": "Café table", "description": "Small round table from a Parisian café", "category": "home-furniture", "condition": "fair", "price_cents": 7_000})).await;
    let camera = make(json!({"title": "Film camera", "description": "35mm, works", "category": "electronics-cameras", "condition": "good", "price_cents": 12_000})).await;
    let lens = make(json!({"title": "Zoom lens", "description": "Fits the Canon camera body", "category": "electronics-cameras", "condition": "new", "price_cents": 15_000})).await;
    let described = make(json!({"title": "Bundle", "description": "A jacket and a scarf", "category": "fashion", "price_cents": 1_000})).await;
    Corpus {
        jacket,
        brown,
        cafe,
        camera,
        lens,
        described,
    }
}

#[actix_web::test]
async fn full_text_stems_folds_accents_any_order_and_prefixes() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let c = corpus(&app, &seller).await;

    // Stemming: "jackets" finds "Vintage jacket"; titles rank above descriptions.
    let jackets = found(&app, "jackets").await;
    assert_eq!(
        jackets.iter().copied().collect::<HashSet<_>>(),
        HashSet::from([c.jacket, c.brown, c.described])
    );
    assert_eq!(*jackets.last().unwrap(), c.described, "{jackets:?}");
    // Any order, all words required.
    assert_eq!(found(&app, "leather brown").await, [c.brown]);
    assert_eq!(found(&app, "jacket wool").await, [c.jacket]);
    assert_eq!(
        found(&app, "jacket nothing-like-it").await,
        Vec::<i64>::new()
    );
    // Accents ignored, both ways.
    assert_eq!(found(&app, "cafe").await, [c.cafe]);
    assert_eq!(found(&app, "CAFÉ TABLÉ").await, [c.cafe]);
    // The last word is a prefix (search as you type); an earlier one is not.
    assert_eq!(found(&app, "film cam").await, [c.camera]);
    let cam = found(&app, "cam").await;
    assert_eq!(cam, [c.camera, c.lens], "title match first");
    assert_eq!(found(&app, "cam ").await, Vec::<i64>::new());
    // A word followed by a stop word or an exclusion was finished too.
    assert_eq!(found(&app, "cam for").await, Vec::<i64>::new());
    assert_eq!(found(&app, "film cam -scarf").await, Vec::<i64>::new());
    assert_eq!(found(&app, "film for cam").await, [c.camera]);
    // OR and exclusion.
    let either: HashSet<i64> = found(&app, "lens OR table").await.into_iter().collect();
    assert_eq!(either, HashSet::from([c.lens, c.cafe]));
    assert_eq!(found(&app, "jacket -leather -scarf").await, [c.jacket]);
    // Category names are searchable (weighted lowest).
    assert_eq!(found(&app, "furniture").await, [c.cafe]);
}

/// A last word of 4+ letters that begins few words of the catalogue is matched as those words
/// on PostgreSQL (`store/search/prefixes.rs`), and as a prefix on SQLite: either way it finds
/// every word it begins, including words only in a category's slug, and one that begins many
/// words stays a prefix.
#[actix_web::test]
async fn a_long_last_word_finds_every_word_it_begins() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let c = corpus(&app, &seller).await;
    let make = |title: String, category: &str| {
        let (app, seller) = (&app, &seller);
        let category = category.to_owned();
        async move {
            id(&app
                .listing(
                    seller,
                    json!({"title": title, "price_cents": 1_000, "category": category}),
                )
                .await)
        }
    };
    let jackal = make("Jackal figurine".into(), "home-decor").await;
    let hammer = make("Jackhammer, heavy".into(), "other").await;
    let phone = make("Thing".into(), "electronics-phones").await;
    let jack: HashSet<i64> = found(&app, "jack").await.into_iter().collect();
    assert_eq!(
        jack,
        HashSet::from([c.jacket, c.brown, c.described, jackal, hammer])
    );
    assert_eq!(found(&app, "leather jack").await, [c.brown]);
    // "jacke" begins only "jacket". As a prefix it is stemmed first ("jack"), so SQLite's
    // FTS5 (and PostgreSQL before a prefix was spelled out) also find the jackal and the
    // jackhammer.
    let jacke: HashSet<i64> = found(&app, "jacke").await.into_iter().collect();
    let jackets = HashSet::from([c.jacket, c.brown, c.described]);
    if app.db.is_postgres() {
        assert_eq!(jacke, jackets);
    } else {
        assert!(jacke.is_superset(&jackets), "{jacke:?}");
    }
    assert_eq!(found(&app, "vinta").await, [c.jacket]);
    // A word only in the category: "electronics-phones" holds "phones".
    assert_eq!(found(&app, "phon").await, [phone]);
    // Nine words begun by "lamp": more than are spelled out, still all found.
    let mut lamps = HashSet::new();
    for i in 0..9 {
        lamps.insert(make(format!("Lampshade{i}"), "home-decor").await);
    }
    let lamp: HashSet<i64> = found(&app, "lamp").await.into_iter().collect();
    assert_eq!(lamp, lamps);
}

#[actix_web::test]
async fn one_typo_in_a_long_word_still_finds_it() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let c = corpus(&app, &seller).await;
    // Substitution, deletion, insertion, transposition; as the last word (a prefix) too.
    assert_eq!(found(&app, "film camra ").await, [c.camera]);
    assert_eq!(found(&app, "filmm camera ").await, [c.camera]);
    assert_eq!(found(&app, "film cmaera").await, [c.camera]);
    assert_eq!(found(&app, "leathr jacket").await, [c.brown]);
    let camra = found(&app, "camra").await;
    assert_eq!(camra, [c.camera, c.lens], "title match first");
    // Short words are not corrected, nor are two typos.
    assert_eq!(found(&app, "lnes ").await, Vec::<i64>::new());
    assert_eq!(found(&app, "cmra ").await, Vec::<i64>::new());
    // A word the catalogue knows is taken as typed, not widened.
    assert_eq!(found(&app, "table ").await, [c.cafe]);
}

/// At volume a typo is a word too: some listing's title says "camra". Such a word, once the
/// vocabulary sweep has counted the active listings that hold it, is still corrected to a
/// neighbour at least ten times as many hold (and ten or more), its own matches ranked above
/// the neighbour's; a word only closed listings hold, to any neighbour. Before, any word a
/// listing held was taken as typed: "camra" found one bag, "lenss" nothing anyone could buy.
#[actix_web::test]
async fn a_word_few_listings_hold_is_also_corrected_to_a_far_more_popular_one() {
    let app = sweeping_app().await;
    let seller = app.user("seller").await;
    let bag = id(&app.listing(&seller, json!({"title": "Camra bag"})).await);
    let closed = id(&app.listing(&seller, json!({"title": "Old lenss"})).await);
    assert_eq!(
        app.delete(&format!("/api/v1/listings/{closed}"), Some(&seller.token))
            .await
            .status(),
        204
    );
    let zoom = id(&app.listing(&seller, json!({"title": "Zoom lenses"})).await);
    let mut cameras = Vec::new();
    for i in 0..10 {
        let title = format!("Camera body {i}");
        cameras.push(id(&app.listing(&seller, json!({ "title": title })).await));
    }
    let flask = id(&app.listing(&seller, json!({"title": "Black flask"})).await);
    let block = id(&app.listing(&seller, json!({"title": "Block flask"})).await);
    // Until the sweep has counted them (a step every 250 ms) held words are taken as typed.
    let camra = found_eventually(&app, "camra ", 11).await;
    assert_eq!(camra.len(), 11, "camra finds the cameras too: {camra:?}");
    assert_eq!(camra[0], bag, "the word as typed ranks first");
    let rest: HashSet<i64> = camra[1..].iter().copied().collect();
    assert_eq!(rest, cameras.iter().copied().collect::<HashSet<i64>>());
    // Pages of three follow the same order, the ranks below the typed word's in the cursor.
    let mut paged = Vec::new();
    let mut url = "q=camra%20&limit=3".to_owned();
    loop {
        let page = get(&app, &url).await;
        paged.extend(listing_ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("q=camra%20&limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, camra);
    // Newest first, every match in its place; the popular word is not widened by its typo.
    let newest = listing_ids(&get(&app, "q=camra%20&sort=newest&limit=100").await);
    let mut expected: Vec<i64> = cameras.iter().rev().copied().collect();
    expected.push(bag);
    assert_eq!(newest, expected);
    assert_eq!(
        found(&app, "camera ")
            .await
            .into_iter()
            .collect::<HashSet<i64>>(),
        cameras.iter().copied().collect::<HashSet<i64>>()
    );
    // Only a closed listing says "lenss": any neighbour an open one holds is a correction.
    assert_eq!(found_eventually(&app, "lenss ", 1).await, [zoom]);
    // Two words held alike are two words.
    assert_eq!(found(&app, "block ").await, [block]);
    assert_eq!(found(&app, "black ").await, [flask]);
}

/// A last word that begins words of one stem ("jacket", "jackets", "jacketed") is spelled out
/// as all of them (SQLite then matches the first alone, which its index holds the others
/// under too): either way it finds the listings of all three, as each word typed in full does.
#[actix_web::test]
async fn a_last_word_spelled_out_as_words_of_one_stem_finds_them_all() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let one = titled(&app, &seller, "Leather jacket", 1_000).await;
    let two = titled(&app, &seller, "Two leather jackets", 2_000).await;
    let three = titled(&app, &seller, "Leather jacketed pipe", 3_000).await;
    for q in [
        "jacke",
        "jacket",
        "leather jacke",
        "leather jackets",
        "jackets leather ",
        "leather jacketed ",
    ] {
        let mut got = found(&app, q).await;
        got.sort_unstable();
        assert_eq!(got, [one, two, three], "{q}");
    }
}

/// A query's spelling is kept a while (`--spelled-ttl-ms`), its listings never: a listing of a
/// word the kept spelling has is found at once; one of a word new to the catalogue that the
/// typed prefix begins is found once the spelling is made again (here after 5 s), and at once
/// by a server that keeps no spelling.
#[actix_web::test]
async fn a_kept_spelling_still_finds_new_listings_and_new_words_once_spelled_again() {
    let app = spawn_app_with(|s| s.spelled_ttl_ms = 5_000).await;
    let seller = app.user("seller").await;
    let c = corpus(&app, &seller).await;
    // "vinta" is spelled out as "vintage", the one word it begins, and kept.
    assert_eq!(found(&app, "vinta").await, [c.jacket]);
    let lamp = titled(&app, &seller, "Vintage lamp", 2_000).await;
    let mut vintage = found(&app, "vinta").await;
    vintage.sort_unstable();
    assert_eq!(vintage, [c.jacket, lamp], "a new listing of a kept word");
    let new_word = titled(&app, &seller, "Vintalux radio", 3_000).await;
    assert!(
        !found(&app, "vinta").await.contains(&new_word),
        "the kept spelling is still \"vintage\""
    );
    let mut spelled_again = found_eventually(&app, "vinta", 3).await;
    spelled_again.sort_unstable();
    assert_eq!(spelled_again, [c.jacket, lamp, new_word]);

    let unkept = spawn_app_with(|s| s.spelled_ttl_ms = 0).await;
    let seller = unkept.user("seller").await;
    let c = corpus(&unkept, &seller).await;
    assert_eq!(found(&unkept, "vinta").await, [c.jacket]);
    let new_word = titled(&unkept, &seller, "Vintalux radio", 3_000).await;
    let mut at_once = found(&unkept, "vinta").await;
    at_once.sort_unstable();
    assert_eq!(at_once, [c.jacket, new_word]);
}

/// `seller` lists `title` at `price_cents` (201): its id.
async fn titled(app: &TestApp, seller: &TestUser, title: &str, price_cents: i64) -> i64 {
    id(&app
        .listing(seller, json!({"title": title, "price_cents": price_cents}))
        .await)
}

/// `seller` retitles `listing` (200).
async fn retitle(app: &TestApp, seller: &TestUser, listing: i64, title: &str) {
    json_of(
        app.patch(
            &format!("/api/v1/listings/{listing}"),
            Some(&seller.token),
            &json!({ "title": title }),
        )
        .await,
        200,
    )
    .await;
}

/// A server whose vocabulary sweep steps every 250 ms (five 50 ms timer intervals), and which
/// spells every query anew: these tests watch the sweep change what a word is corrected to, and
/// a spelling kept (`--spelled-ttl-ms`) would add its lifetime to each wait.
pub(crate) async fn sweeping_app() -> TestApp {
    spawn_app_with(|s| {
        s.timer_interval_ms = 50;
        s.spelled_ttl_ms = 0;
    })
    .await
}

/// What `q` finds once it finds `n` listings, or after 20 s.
async fn found_eventually(app: &TestApp, q: &str, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..400 {
        ids = found(app, q).await;
        if ids.len() == n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    ids
}

/// A word no listing holds any more is forgotten by the vocabulary, a little of which the
/// server sweeps a step at a time: a typo in a title, once corrected by its seller, no longer
/// counts as a known word, so searches for it are corrected again (before the sweep a known
/// word stayed known for good, and "camra" found only listings that still said "camra"). A
/// word another listing still holds is kept.
#[actix_web::test]
async fn a_word_no_listing_holds_any_more_is_forgotten_and_its_typos_corrected_again() {
    let app = sweeping_app().await;
    let seller = app.user("seller").await;
    let bag = id(&app.listing(&seller, json!({"title": "Camra bag"})).await);
    let strap = id(&app
        .listing(&seller, json!({"title": "Blue camra strap"}))
        .await);
    retitle(&app, &seller, bag, "Camera bag").await;
    // The strap still says "camra": the word is known and taken as typed, however many times
    // the sweep goes over the vocabulary (a step every 250 ms: five 50 ms timer intervals).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(found(&app, "camra").await, [strap]);
    assert_eq!(found(&app, "camera").await, [bag]);
    retitle(&app, &seller, strap, "Blue camera strap").await;
    // PostgreSQL forgets a word at its second sighting unheld, 2 s (8 steps) or more after the
    // first: up to two passes (~3.5 s each) and the grace; 20 s allowed.
    let camra: HashSet<i64> = found_eventually(&app, "camra", 2)
        .await
        .into_iter()
        .collect();
    assert_eq!(
        camra,
        HashSet::from([bag, strap]),
        "camra is corrected again"
    );
}

/// PostgreSQL: a listing written while the sweep forgets one of its words keeps the word. The
/// listing's transaction has added its words (the word was there: nothing to add) and is still
/// open when the sweep, which cannot see it, finds the word unheld; then it commits. Before the
/// sweep forgot in two sightings it deleted the word at that first one, and the vocabulary no
/// longer knew a word a listing held: "ghostwird" was corrected to nothing. (SQLite forgets in
/// its one writer, which no listing write runs beside.)
#[actix_web::test]
async fn a_word_a_listing_takes_up_while_the_sweep_forgets_it_stays_known() {
    let app = sweeping_app().await;
    if !app.db.is_postgres() {
        return;
    }
    let seller = app.user("seller").await;
    let lamp = id(&app
        .listing(&seller, json!({"title": "Ghostword lamp"}))
        .await);
    retitle(&app, &seller, lamp, "Plain lamp").await;
    let mut writer = app.db.connect();
    writer
        .batch_execute(&format!(
            "BEGIN; {}",
            plain_sql_listing(&seller, "Ghostword vase")
        ))
        .unwrap();
    // The sweep (a step every 250 ms) sees the word unheld while the listing is uncommitted.
    let mut observer = app.db.connect();
    let mut seen = false;
    for _ in 0..400 {
        use diesel::RunQueryDsl;
        let rows: Vec<Count> = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM search_words \
             WHERE word = 'ghostword' AND unheld_since IS NULL",
        )
        .load(&mut *observer)
        .unwrap();
        if rows[0].n == 0 {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen, "the sweep found the word unheld");
    writer.batch_execute("COMMIT").unwrap();
    let vase: Vec<i64> = found(&app, "ghostword").await;
    assert_eq!(vase.len(), 1);
    // Past the grace (8 steps, 2 s) and a whole pass more, the word is still known.
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    assert_eq!(
        found(&app, "ghostwird").await,
        vase,
        "ghostwird is corrected"
    );
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[actix_web::test]
async fn rows_written_in_plain_sql_are_searchable_at_once() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let mut conn = app.db.connect();
    conn.batch_execute(&format!(
        "INSERT INTO listings (seller_id, title, description, category, price_cents, currency, \
         quantity, status, version, created_at, updated_at) VALUES ({}, 'Bulk-loaded \
         harmonica', 'Chromatic', 'instruments', 2500, 'EUR', 1, 'active', 1, \
         '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        seller.id
    ))
    .unwrap();
    assert_eq!(found(&app, "harmonicas").await.len(), 1);
    conn.batch_execute("UPDATE listings SET title = 'Bulk-loaded kazoo'")
        .unwrap();
    assert_eq!(found(&app, "harmonica").await.len(), 0);
    assert_eq!(found(&app, "kazoo").await.len(), 1);
    let page = get(&app, "category=instruments").await;
    assert_eq!(listing_ids(&page).len(), 1);
}

/// A plain SQL INSERT of an active listing by `seller` titled `title`: only the database's own
/// triggers run on it.
fn plain_sql_listing(seller: &TestUser, title: &str) -> String {
    format!(
        "INSERT INTO listings (seller_id, title, description, category, price_cents, \
         currency, quantity, status, version, created_at, updated_at) VALUES ({}, '{title}', \
         'Plain', 'other', 100, 'EUR', 1, 'active', 1, '2026-01-01 00:00:00', \
         '2026-01-01 00:00:00')",
        seller.id
    )
}

/// Typos are corrected from the words of listings however they were written: inserts and
/// edits in plain SQL (the vocabulary is kept by triggers on both backends), with quotes,
/// backslashes or a control character in the text, which never fails the write.
#[actix_web::test]
async fn typos_are_corrected_from_words_written_in_plain_sql_whatever_their_punctuation() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let mut conn = app.db.connect();
    conn.batch_execute(&plain_sql_listing(&seller, r#"A "harmonica", \ boxed"#))
        .unwrap();
    conn.batch_execute(&plain_sql_listing(&seller, "Tuba\u{1}with a bell"))
        .unwrap();
    assert_eq!(found(&app, "harmonika").await.len(), 1, "substitution");
    assert_eq!(
        found(&app, "bell").await.len(),
        1,
        "the control character broke nothing"
    );
    conn.batch_execute("UPDATE listings SET title = 'A concertina' WHERE title LIKE '%harmonica%'")
        .unwrap();
    assert_eq!(
        found(&app, "concertna").await.len(),
        1,
        "a word an edit brought"
    );
}

/// The last word, spelled out from the vocabulary (SQLite: its FTS5 tokens), still finds a
/// word glued to odd punctuation, in capitals with accents, or in text with a control character.
#[actix_web::test]
async fn the_last_word_finds_words_written_in_plain_sql_whatever_glues_them_or_their_accents() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let mut conn = app.db.connect();
    for title in [
        "x#Blackstone kettle",
        "ÉCLAIRS\u{1}tin",
        "Crème BRÛLÉE dish",
    ] {
        conn.batch_execute(&plain_sql_listing(&seller, title))
            .unwrap();
    }
    for (typed, title) in [
        ("blackst", "x#Blackstone kettle"),
        ("kettle blacks", "x#Blackstone kettle"),
        ("eclai", "ÉCLAIRS\u{1}tin"),
        ("brul", "Crème BRÛLÉE dish"),
        ("creme brule", "Crème BRÛLÉE dish"),
    ] {
        let page = get(&app, &format!("q={}&limit=100", urlencoding(typed))).await;
        let titles: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, [title], "{typed}");
    }
}

/// Walks every page of `query` (limit 2), inserting a listing that matches before each next
/// page; returns the ids seen.
async fn walk_while_inserting(app: &TestApp, seller: &TestUser, query: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut n = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{query}&limit=2&cursor={c}"),
            None => format!("{query}&limit=2"),
        };
        let page = get(app, &url).await;
        seen.extend(listing_ids(&page));
        n += 1;
        app.listing(
            seller,
            json!({"title": format!("Interloper lamp {n}"), "description": "lamp lamp lamp",
                   "price_cents": 1 + n * 50, "category": "home-decor", "condition": "good"}),
        )
        .await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
}

#[actix_web::test]
async fn every_sort_pages_with_cursors_without_skips_or_repeats_while_inserting() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let liker = app.user("liker").await;
    let mut lamps = Vec::new();
    for (i, (price, desc)) in [
        (500, "a lamp"),
        (100, "lamp lamp"),
        (300, "desk"),
        (100, "a lamp for a desk lamp"),
        (200, "bright"),
        (300, "a lamp"),
        (100, "old"),
    ]
    .into_iter()
    .enumerate()
    {
        let l = app
            .listing(
                &seller,
                json!({"title": format!("Lamp {i}"), "description": desc, "price_cents": price,
                       "category": "home-decor", "condition": "good"}),
            )
            .await;
        lamps.push(id(&l));
    }
    // Likes for the popular sort (ties included).
    for &l in &lamps[..3] {
        let res = app
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/listings/{l}/like"),
                Some(&liker.token),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
    let before: HashSet<i64> = lamps.iter().copied().collect();
    for query in [
        "q=lamp",
        "q=lamp&sort=relevance",
        "q=lamp&sort=newest",
        "q=lamp&sort=price_asc",
        "q=lamp&sort=price_desc",
        "q=lamp&sort=popular",
        "category=home&sort=price_asc",
        "category=home-decor&sort=popular",
        "condition=good&sort=price_desc",
        "sort=newest",
    ] {
        let seen = walk_while_inserting(&app, &seller, query).await;
        let distinct: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(distinct.len(), seen.len(), "{query}: a repeat in {seen:?}");
        assert!(
            before.is_subset(&distinct),
            "{query}: skipped {:?}",
            before.difference(&distinct).collect::<Vec<_>>()
        );
    }
    // Orders are what they say (no inserts now).
    let page = get(&app, "q=lamp&sort=price_asc&limit=100").await;
    let prices: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["price_cents"].as_i64().unwrap())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let page = get(&app, "sort=popular&limit=3").await;
    assert_eq!(listing_ids(&page), [lamps[2], lamps[1], lamps[0]]);
    // A pre-existing cursor shape (sort, price_cents, id) still works.
    let old = base64_url(&format!(
        "{{\"sort\":\"price_asc\",\"price_cents\":100,\"id\":{}}}",
        lamps[1]
    ));
    let page = get(
        &app,
        &format!("sort=price_asc&category=home-decor&cursor={old}"),
    )
    .await;
    assert_eq!(listing_ids(&page)[0], lamps[3]);
}

/// On PostgreSQL a last word of 4+ letters is matched as the few words it begins, spelled out,
/// so a listing that brings a new such word between pages changes the query, and `ts_rank`
/// divides by a clause's alternatives: every rank moves (on SQLite the prefix's bm25 moves as
/// its matches grow). A later page takes its boundary from the last row's rank now, so the
/// pages still skip and repeat nothing.
#[actix_web::test]
async fn relevance_pages_skip_and_repeat_nothing_when_a_new_word_changes_the_query() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let mut jackets = Vec::new();
    for (i, desc) in [
        "a jacket",
        "jacket jacket",
        "warm",
        "a jacket, a jacket",
        "dry",
        "a jacket",
    ]
    .into_iter()
    .enumerate()
    {
        let l = app
            .listing(
                &seller,
                json!({"title": format!("Jacket {i}"), "description": desc,
                       "price_cents": 1_000, "category": "fashion"}),
            )
            .await;
        jackets.push(id(&l));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for n in 0..20 {
        let url = match &cursor {
            Some(c) => format!("q=jack&limit=2&cursor={c}"),
            None => "q=jack&limit=2".to_owned(),
        };
        let page = get(&app, &url).await;
        seen.extend(listing_ids(&page));
        // A word "jack" begins that no listing held before: the next page's query has it.
        app.listing(
            &seller,
            json!({"title": format!("Jackfruit{n} crate"), "price_cents": 500,
                   "category": "other"}),
        )
        .await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    seen.sort_unstable();
    jackets.sort_unstable();
    assert_eq!(seen, jackets, "each listing once, every one of them");
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[actix_web::test]
async fn categories_form_a_tree_and_listings_must_use_it() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let tree = json_of(app.get("/api/v1/categories", None).await, 200).await;
    let items = tree["items"].as_array().unwrap();
    assert!(items.len() >= 10);
    let electronics = items.iter().find(|c| c["slug"] == "electronics").unwrap();
    assert_eq!(electronics["name"], "Electronics");
    assert!(electronics["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["slug"] == "electronics-phones"));

    let res = app
        .post(
            "/api/v1/listings",
            Some(&seller.token),
            &json!({"title": "x", "price_cents": 5, "category": "bikes"}),
        )
        .await;
    invalid_fields(res, &["category"]).await;
    let phone = app
        .listing(
            &seller,
            json!({"category": "electronics-phones", "condition": "fair"}),
        )
        .await;
    let tv = app
        .listing(
            &seller,
            json!({"category": "electronics-tv", "condition": "new"}),
        )
        .await;
    let top = app
        .listing(&seller, json!({"category": "electronics"}))
        .await;
    let _sofa = app
        .listing(&seller, json!({"category": "home-furniture"}))
        .await;
    let res = app
        .patch(
            &format!("/api/v1/listings/{}", id(&tv)),
            Some(&seller.token),
            &json!({"category": "televisions"}),
        )
        .await;
    invalid_fields(res, &["category"]).await;

    assert_eq!(
        listing_ids(&get(&app, "category=electronics").await),
        [id(&top), id(&tv), id(&phone)]
    );
    assert_eq!(
        listing_ids(&get(&app, "category=electronics-tv").await),
        [id(&tv)]
    );
    assert_eq!(
        listing_ids(&get(&app, "category=electronics&condition=fair").await),
        [id(&phone)]
    );
    assert_eq!(
        listing_ids(&get(&app, "category=kids").await),
        Vec::<i64>::new()
    );
}

#[actix_web::test]
async fn facets_count_matches_and_add_up() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let c = corpus(&app, &seller).await;
    let facets = json_of(app.get("/api/v1/listings/facets", None).await, 200).await;
    let buckets = |f: &Value, key: &str| -> HashMap<String, i64> {
        f[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["value"].as_str().unwrap().to_owned(),
                    b["count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        buckets(&facets, "categories"),
        HashMap::from([
            ("fashion".into(), 3),
            ("home".into(), 1),
            ("electronics".into(), 2)
        ])
    );
    // The bundle has no condition: conditions add up to the rest.
    assert_eq!(
        buckets(&facets, "conditions"),
        HashMap::from([
            ("good".into(), 2),
            ("like_new".into(), 1),
            ("fair".into(), 1),
            ("new".into(), 1)
        ])
    );
    assert_eq!(facets["min_price_cents"], 1_000);
    assert_eq!(facets["max_price_cents"], 15_000);

    let jackets = json_of(
        app.get("/api/v1/listings/facets?q=jackets&condition=good", None)
            .await,
        200,
    )
    .await;
    assert_eq!(
        buckets(&jackets, "categories"),
        HashMap::from([("fashion".into(), 1)])
    );
    assert_eq!(
        buckets(&jackets, "conditions"),
        HashMap::from([("good".into(), 1)])
    );
    assert_eq!(jackets["min_price_cents"], 4_000);
    let _ = c.jacket;
    let none = json_of(app.get("/api/v1/listings/facets?q=zzzz", None).await, 200).await;
    assert_eq!(none["categories"], json!([]));
    assert_eq!(none["min_price_cents"], Value::Null);
    invalid_fields(
        app.get("/api/v1/listings/facets?category=nope&condition=mint", None)
            .await,
        &["category", "condition"],
    )
    .await;
}

/// With one search connection (`--search-concurrency 1`) searches and facets asked at once
/// take turns on it: every one is answered, each as it is when asked alone.
#[actix_web::test]
async fn searches_past_the_search_concurrency_wait_their_turn_and_are_all_answered() {
    let app = spawn_app_with(|s| s.search_concurrency = Some(1)).await;
    let seller = app.user("seller").await;
    corpus(&app, &seller).await;
    let paths = [
        "/api/v1/listings?q=jacket",
        "/api/v1/listings?q=camera&sort=price_asc",
        "/api/v1/listings?category=fashion&sort=newest",
        "/api/v1/listings/facets?q=jacket",
        "/api/v1/listings/facets",
    ];
    let mut alone = Vec::new();
    for path in paths {
        alone.push(json_of(app.get(path, None).await, 200).await);
    }
    let at_once = futures::future::join_all((0..30).map(|n| {
        let app = &app;
        async move { json_of(app.get(paths[n % paths.len()], None).await, 200).await }
    }))
    .await;
    for (n, answer) in at_once.iter().enumerate() {
        assert_eq!(
            answer,
            &alone[n % paths.len()],
            "{}",
            paths[n % paths.len()]
        );
    }
}

#[actix_web::test]
async fn hostile_queries_are_422_or_answered_never_5xx() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    corpus(&app, &seller).await;
    let long = "a".repeat(201);
    invalid_fields(
        app.get(&format!("/api/v1/listings?q={long}"), None).await,
        &["q"],
    )
    .await;
    invalid_fields(app.get("/api/v1/listings?q=a%00b", None).await, &["q"]).await;
    invalid_fields(
        app.get("/api/v1/listings/facets?q=a%00b", None).await,
        &["q"],
    )
    .await;
    invalid_fields(
        app.get("/api/v1/listings?sort=relevance", None).await,
        &["sort"],
    )
    .await;
    // A `q` of stop words only matches nothing, in its default sort and asked for by name.
    for query in ["q=the", "q=the&sort=relevance", "q=for%20&sort=relevance"] {
        let page = get(&app, query).await;
        assert_eq!(listing_ids(&page), Vec::<i64>::new(), "{query}");
    }
    assert_eq!(found(&app, &"é".repeat(200)).await, Vec::<i64>::new());
    let nasty = [
        "\"",
        "'",
        "''",
        "\\",
        "\"jacket",
        "jacket\"",
        "-",
        "--",
        "-jacket",
        "OR",
        "OR OR",
        "jacket OR",
        "OR jacket",
        "AND",
        "NOT",
        "NOT jacket",
        "jacket NOT",
        "(",
        ")",
        "())(",
        "*",
        "jacket*",
        ":*",
        "a:*",
        "&",
        "|",
        "!",
        "!jacket",
        "<->",
        "jacket <-> leather",
        "{title}:jacket",
        "title:jacket",
        "NEAR(jacket leather)",
        "^jacket",
        "%",
        "_",
        "$1",
        "?",
        ";",
        "'; DROP TABLE listings; --",
        "\u{202e}",
        "🧥",
        "jacket🧥",
        "\u{0301}",
        "e\u{0301}",
        "ß",
        "İstanbul",
        "ﬁlm",
        "١٢٣",
        "the",
        "a an the",
        "x",
        "q=1&sort=",
        "jacket -",
        "- jacket",
        "jacket - leather",
        "\t\n",
        "😀😀😀",
        "中文 相机",
    ];
    for q in nasty {
        for sort in ["", "&sort=newest", "&sort=price_asc"] {
            let res = app
                .get(
                    &format!("/api/v1/listings?q={}{sort}", urlencoding(q)),
                    None,
                )
                .await;
            assert_eq!(res.status(), 200, "q={q:?}");
        }
        let res = app
            .get(
                &format!("/api/v1/listings/facets?q={}", urlencoding(q)),
                None,
            )
            .await;
        assert_eq!(res.status(), 200, "facets q={q:?}");
    }
    // Syntax means what it says.
    assert_eq!(found(&app, "\"jacket\" -leather -scarf").await.len(), 1);
    // Cursors made up with ids at the ends of the range (SQLite's words index reads the id
    // negated): answered, or 422 when no page could have made them, never a 5xx.
    for (id, lo, hi) in [
        (i64::MIN, i64::MIN, i64::MAX),
        (i64::MAX, i64::MIN, i64::MIN),
        (i64::MIN, 0, 0),
        (i64::MAX, i64::MAX, i64::MAX),
        (i64::MAX, 0, 0),
        (1, 1, i64::MAX),
        (i64::MAX, 1, i64::MAX),
    ] {
        for sort in ["relevance", "newest", "price_asc", "popular"] {
            let cursor = base64_url(&format!(
                "{{\"sort\":\"{sort}\",\"id\":{id},\"price_cents\":{id},\"like_count\":{id},\
                 \"rank_bits\":0,\"lo\":{lo},\"hi\":{hi}}}"
            ));
            let res = app
                .get(
                    &format!("/api/v1/listings?q=jacket&sort={sort}&cursor={cursor}"),
                    None,
                )
                .await;
            if id < 1 || lo < 0 || hi < 0 {
                invalid_fields(res, &["cursor"]).await;
            } else {
                assert_eq!(res.status(), 200, "{sort} {id} {lo} {hi}");
            }
        }
    }
}

#[test]
fn the_migration_maps_free_text_categories_to_other_and_indexes_old_rows() {
    use bazaar_actors::store::{self, DbConnection};
    let db = TestDb::create();
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    store::migrate(conn).unwrap();
    store::revert_to(conn, "20261202000102").unwrap();
    conn.batch_execute(
        "INSERT INTO users (username, display_name, password_hash, created_at) \
         VALUES ('u', 'u', 'x', '2026-01-01 00:00:00'); \
         INSERT INTO listings (seller_id, title, description, category, price_cents, currency, \
         quantity, status, version, created_at, updated_at) SELECT id, t, '', c, 100, 'EUR', 1, \
         'active', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM users, (SELECT \
         'Old bicycle' AS t, 'bikes' AS c UNION ALL SELECT 'Old sofa', 'home' UNION ALL \
         SELECT 'Old mug', NULL) x",
    )
    .unwrap();
    store::migrate(conn).unwrap();
    let filter = |text: &str| active_search(text, Default::default());
    let rows = search_page(
        conn,
        &filter("old"),
        store::search::ListingSort::Newest,
        None,
        10,
    );
    let categories: Vec<(String, Option<String>)> = rows
        .into_iter()
        .map(|f| (f.listing.title, f.listing.category))
        .collect();
    assert_eq!(
        categories,
        [
            ("Old mug".to_owned(), None),
            ("Old sofa".to_owned(), Some("home".to_owned())),
            ("Old bicycle".to_owned(), Some("other".to_owned())),
        ]
    );
}

/// Arbitrary strings through the query builder, executed on the real database: never an
/// error.
#[test]
fn any_text_is_a_valid_query_on_the_database() {
    use bazaar_actors::domain::listing::ListingStatus;
    use bazaar_actors::domain::search::TextQuery;
    use bazaar_actors::store::{self, search, DbConnection};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let db = TestDb::create();
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    store::migrate(conn).unwrap();
    conn.batch_execute(
        "INSERT INTO users (username, display_name, password_hash, created_at) \
         VALUES ('u', 'u', 'x', '2026-01-01 00:00:00'); \
         INSERT INTO listings (seller_id, title, description, category, price_cents, currency, \
         quantity, status, version, created_at, updated_at) SELECT id, 'Café jacket', \
         'or and not near', 'fashion', 100, 'EUR', 1, 'active', 1, '2026-01-01 00:00:00', \
         '2026-01-01 00:00:00' FROM users",
    )
    .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop_oneof![any::<String>(), "[ a-zA-Z0-9éß\"'()*:&|!<>{}^+\\-]{0,40}",];
    // The runner takes an `Fn`: the connection and the tally live in cells.
    let conn = std::cell::RefCell::new(conn);
    let parsed = std::cell::Cell::new(0);
    runner
        .run(&strategy, |q| {
            if let Some(text) = TextQuery::parse(&q) {
                parsed.set(parsed.get() + 1);
                let mut conn = conn.borrow_mut();
                for sort in [
                    search::ListingSort::Relevance,
                    search::ListingSort::PriceAsc,
                ] {
                    let filter = search::ListingFilter {
                        text: Some(text.clone()),
                        filters: Default::default(),
                        status: ListingStatus::Active,
                        viewer: None,
                    };
                    let after = search::ListingPosition {
                        price_cents: 1,
                        like_count: 0,
                        rank: 0.5,
                        id: 10,
                        window_lo: 2,
                        window_hi: 40,
                        window_count: 0,
                    };
                    search::search(
                        &mut conn,
                        &mut Default::default(),
                        &Default::default(),
                        &filter,
                        sort,
                        Some(after),
                        5,
                    )
                    .map_err(|e| TestCaseError::fail(format!("q={q:?}: {e}")))?;
                    search::facets(
                        &mut conn,
                        &mut Default::default(),
                        &Default::default(),
                        &filter,
                        10,
                    )
                    .map_err(|e| TestCaseError::fail(format!("facets q={q:?}: {e}")))?;
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(parsed.get() > 100, "only {} inputs had words", parsed.get());
}

/// Every filter and sort combination of `GET /listings` is served by an index on PostgreSQL:
/// a catalogue is seeded in plain SQL (`seed::catalogue`, the one `bazaar seed` loads) and
/// analysed, and each combination's plan (`store::search::plans::check`) must have no
/// sequential scan on listings and no Sort over more rows than the page (without words) or
/// the relevance candidates (with words: the ranking, or the few matches of a rare word).
/// 100,000 listings keep this under a minute; the `search` bench scenario runs the same check
/// at 1,000,000 and prints it.
#[test]
fn every_filter_and_sort_is_served_by_an_index_on_postgres() {
    use bazaar_actors::domain::search::TextQuery;
    use bazaar_actors::store::{search::plans, DbConnection};
    let Some(db) = TestDb::catalogue() else {
        eprintln!("query plans are checked on PostgreSQL (set {PG_ENV})");
        return;
    };
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    let checked = plans::check(conn, CATALOGUE_LISTINGS).unwrap();
    assert_eq!(checked.len(), plans::combinations());
    let bad: Vec<String> = checked
        .iter()
        .filter(|c| !c.problems.is_empty())
        .map(|c| format!("{}: {:?}\n{}", c.what, c.problems, c.plan))
        .collect();
    assert!(
        bad.is_empty(),
        "{} bad plans:\n{}",
        bad.len(),
        bad.join("\n\n")
    );
    // The reads were sized by `search_span`'s estimate, which must be the planner's own, as
    // made for these words or as kept on the session since (the check above asked for each).
    for text in plans::TEXTS.into_iter().flatten() {
        let words = TextQuery::parse(text).expect("words").to_tsquery();
        let (from_span, from_explain) = span_and_explain(conn, &words);
        assert_eq!(from_span, from_explain, "{text}");
    }
    // A slot of the session keeps one query's estimate: words that fall in the same slot are
    // estimated afresh, never answered with the other's.
    let [common, rare] = same_slot(conn, ["black", plans::RARE_WORD]);
    let (common_estimate, rare_estimate) = (
        span_and_explain(conn, &common).1,
        span_and_explain(conn, &rare).1,
    );
    assert_ne!(common_estimate, rare_estimate, "{common} and {rare}");
    for words in [&common, &rare, &common, &rare, &rare] {
        let (from_span, from_explain) = span_and_explain(conn, words);
        assert_eq!(from_span, from_explain, "{words}");
    }
    // The last one was answered from its slot, which holds it (expiry:estimate:words).
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kept: String,
    }
    let kept = diesel::sql_query(
        "SELECT current_setting('bazaar.search_span_' || (hashtext($1) & 63)) AS kept",
    )
    .bind::<diesel::sql_types::Text, _>(&rare)
    .get_result::<Kept>(conn)
    .unwrap()
    .kept;
    let estimate = rare_estimate.1.expect("an estimate");
    assert!(kept.ends_with(&format!(":{estimate}:{rare}")), "{kept}");
}

/// A read of the newest ids at least an era wide takes its matches from the era index
/// (migration `search_eras`): on 100,000 listings, analysed, the newest 1,001 matches of a word
/// in ~6% of them (the facets' read: a window of ~24,000 ids, two eras) are read by eras, as
/// the plan shows, and they, and the facets counted from them, are exactly the newest matches
/// the words' own index finds. A prefix and a word with an excluded one likewise; and listing
/// by listing either era index matches what the words' index matches, a phrase included.
#[test]
fn reads_by_eras_find_the_newest_matches_the_words_index_finds() {
    use bazaar_actors::domain::search::TextQuery;
    use bazaar_actors::store::{search, DbConnection};
    use diesel::sql_types::{BigInt, Text};
    use diesel::RunQueryDsl;
    const WANTED: i64 = 1_001;
    let Some(db) = catalogue_of_eras() else {
        return;
    };
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    // Listing by listing, each era index's match is the words' own: a word, a prefix, an
    // excluded word, either of two words, and a word PostgreSQL's parser splits into a phrase
    // (`²` is a digit to Rust and a separator to the parser: `'leather' <-> 'jacket'`).
    #[derive(diesel::QueryableByName)]
    struct Agreement {
        #[diesel(sql_type = BigInt)]
        plain: i64,
        #[diesel(sql_type = BigInt)]
        differ: i64,
    }
    for text in [
        "leather",
        "leath",
        "leather -jacket",
        "black OR red leather",
        "leather²jacket",
    ] {
        let words = TextQuery::parse(text).expect("words").to_tsquery();
        let agreement: Agreement = diesel::sql_query(
            "SELECT COUNT(*) FILTER (WHERE search_vector @@ q) AS plain, \
             COUNT(*) FILTER (WHERE (search_vector @@ q) \
               <> (search_eras(id, search_vector) @@ search_era_query(q, id, id)) \
               OR (search_vector @@ q) \
               <> (search_fine_eras(id, search_vector) @@ search_fine_era_query(q, id, id))) \
               AS differ \
             FROM listings, to_tsquery('bazaar_search', $1) q WHERE id <= 20000",
        )
        .bind::<Text, _>(&words)
        .get_result(conn)
        .unwrap();
        assert!(agreement.plain > 0, "{text} ({words}): no match to compare");
        assert_eq!(agreement.differ, 0, "{text} ({words})");
    }
    for text in ["leather", "leath", "leather -jacket"] {
        let filter = active_search(text, Default::default());
        let newest = newest_matches(conn, &filter, WANTED);
        assert_eq!(newest.len() as i64, WANTED, "{text}: a word this common");
        let plan =
            search::explain_pg(conn, &filter, search::ListingSort::Newest, None, WANTED).unwrap();
        assert!(descends(&plan, &filter.filters), "{text}:\n{plan}");
        let found = search_page(conn, &filter, search::ListingSort::Newest, None, WANTED);
        let found: Vec<i64> = found.iter().map(|f| f.listing.id).collect();
        let expected: Vec<i64> = newest.iter().map(|m| m.id).collect();
        assert_eq!(found, expected, "{text}");
        facets_count_exactly(conn, &filter, &newest, WANTED - 1);
    }
}

/// Whether `plan` is a descent through the eras of an era index that serves a search with
/// `filters`: the era index with a category, a condition or a narrow price range (its
/// entries); without them, the era index or, for words that fill its eras, the fine era index
/// (words only).
fn descends(plan: &str, filters: &bazaar_actors::domain::search::SearchFilters) -> bool {
    let era_index = plan.contains("listings_search_eras ");
    let fine = plan.contains("listings_search_fine_eras ");
    let index = if filters.in_era_index() {
        era_index && !fine
    } else {
        era_index || fine
    };
    plan.contains("generate_series") && index
}

/// On PostgreSQL (the era index is its own), a database of 100,000 catalogue listings
/// ([`CATALOGUE_LISTINGS`]: seven eras of 16,384 ids, 25 fine eras of 4,096), analysed;
/// `None` on SQLite.
fn catalogue_of_eras() -> Option<TestDb> {
    let db = TestDb::catalogue();
    if db.is_none() {
        eprintln!("the era index is PostgreSQL's (set {PG_ENV})");
    }
    db
}

/// PostgreSQL: a connection of the searches' pool keeps the plan mode a search leaves for the
/// next (no switch between two word searches, all generic reads), switches back to planning
/// with values for a read that needs it (a page or facets without words), and the mode it
/// tracks is always the connection's own; any other connection is back to planning with
/// values after each search. The answers are the same either way.
#[test]
fn a_search_connection_keeps_the_plan_mode_the_last_search_left() {
    use bazaar_actors::store::search::{self, ListingSort, PlanMode};
    use bazaar_actors::store::{self, DbConnection};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        mode: String,
    }
    let Some(db) = catalogue_of_eras() else {
        return;
    };
    // The mode tracked is the connection's own: generic or planning with values (`auto`).
    let in_mode = |conn: &mut DbConnection, mode: &PlanMode, generic: bool| {
        let setting = diesel::sql_query("SELECT current_setting('plan_cache_mode') AS mode")
            .get_result::<Setting>(conn)
            .unwrap()
            .mode;
        let expected = if generic {
            "force_generic_plan"
        } else {
            "auto"
        };
        assert_eq!(
            (mode.is_generic(), setting.as_str()),
            (Some(generic), expected)
        );
    };
    let words = active_search("jacket", Default::default());
    let browse = active_search("", Default::default());
    assert!(words.text.is_some() && browse.text.is_none());
    let page = |conn: &mut DbConnection, mode: &mut PlanMode, filter| {
        let spelled = Default::default();
        let rows = search::search(conn, mode, &spelled, filter, ListingSort::Newest, None, 20);
        let ids: Vec<i64> = rows.unwrap().iter().map(|f| f.listing.id).collect();
        assert_eq!(ids.len(), 20);
        ids
    };
    let facets = |conn: &mut DbConnection, mode: &mut PlanMode, filter| {
        search::facets(conn, mode, &Default::default(), filter, 1_000).unwrap()
    };

    let pool = store::connect(db.url(), 2).expect("pool");
    let mut read = pool.search_read().expect("a search connection");
    let (conn, mode) = read.planned();
    in_mode(conn, mode, false);
    // A word search's reads are generic, and the next starts in the mode left (its vocabulary
    // lookups switch back to planning with values first, then its read to generic again).
    let first = page(conn, mode, &words);
    in_mode(conn, mode, true);
    assert_eq!(page(conn, mode, &words), first);
    in_mode(conn, mode, true);
    // A page without words, and facets without words, plan with their values.
    let newest = page(conn, mode, &browse);
    in_mode(conn, mode, false);
    let counted = facets(conn, mode, &words);
    in_mode(conn, mode, true);
    let all = facets(conn, mode, &browse);
    in_mode(conn, mode, false);
    drop(read);

    // Another connection, a mode not kept: back to planning with values after each search.
    let mut conn = pool.get().expect("a connection");
    let conn: &mut DbConnection = &mut conn;
    let mut mode = PlanMode::default();
    assert_eq!(page(conn, &mut mode, &words), first);
    in_mode(conn, &mode, false);
    assert_eq!(page(conn, &mut mode, &browse), newest);
    assert_eq!(facets(conn, &mut mode, &words), counted);
    in_mode(conn, &mode, false);
    assert_eq!(facets(conn, &mut mode, &browse), all);
}

/// A match as the words' own index finds it, with what the facets count.
#[derive(diesel::QueryableByName)]
struct Match {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    category_top: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    condition: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    price_cents: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    like_count: i64,
}

/// The newest `wanted` active matches of `filter`'s words as the words' own index finds them,
/// newest first, in `filter`'s category, condition and price range if it has them, compared on
/// each row (no seller is suspended, no other filter). PostgreSQL: the words' GIN index;
/// SQLite: FTS5 matching the words alone (no filter terms).
fn newest_matches(
    conn: &mut bazaar_actors::store::DbConnection,
    filter: &bazaar_actors::store::search::ListingFilter,
    wanted: i64,
) -> Vec<Match> {
    matches_in_order(conn, filter, "id DESC", wanted)
}

/// The first `wanted` matches of [`newest_matches`]' kind in `order` (SQL over the listing's
/// columns).
fn matches_in_order(
    conn: &mut bazaar_actors::store::DbConnection,
    filter: &bazaar_actors::store::search::ListingFilter,
    order: &str,
    wanted: i64,
) -> Vec<Match> {
    use bazaar_actors::domain::category::CategoryLevel;
    use diesel::sql_types::{BigInt, Nullable, Text};
    use diesel::RunQueryDsl;
    let text = filter.text.as_ref().expect("words");
    let f = &filter.filters;
    let category = |level| {
        f.category
            .as_ref()
            .filter(|c| c.level == level)
            .map(|c| c.slug.clone())
    };
    let (words, sql) = match conn {
        bazaar_actors::store::DbConnection::Postgresql(_) => (
            text.to_tsquery(),
            "SELECT id, category_top, condition, price_cents, like_count FROM listings \
             WHERE status = 'active' AND search_vector @@ to_tsquery('bazaar_search', $1) \
             AND ($3 IS NULL OR category_top = $3) AND ($4 IS NULL OR category = $4) \
             AND ($5 IS NULL OR condition = $5) AND ($6 IS NULL OR price_cents >= $6) \
             AND ($7 IS NULL OR price_cents <= $7) AND ($8 IS NULL OR seller_id = $8) \
             ORDER BY {order} LIMIT $2",
        ),
        bazaar_actors::store::DbConnection::Sqlite(_) => (
            text.to_fts5(),
            "SELECT l.id, l.category_top, l.condition, l.price_cents, l.like_count \
             FROM listings_fts JOIN listings l ON l.id = -listings_fts.rowid \
             WHERE l.status = 'active' AND listings_fts MATCH ?1 \
             AND (?3 IS NULL OR l.category_top = ?3) AND (?4 IS NULL OR l.category = ?4) \
             AND (?5 IS NULL OR l.condition = ?5) AND (?6 IS NULL OR l.price_cents >= ?6) \
             AND (?7 IS NULL OR l.price_cents <= ?7) AND (?8 IS NULL OR l.seller_id = ?8) \
             ORDER BY {order} LIMIT ?2",
        ),
    };
    diesel::sql_query(sql.replace("{order}", order))
        .bind::<Text, _>(&words)
        .bind::<BigInt, _>(wanted)
        .bind::<Nullable<Text>, _>(category(CategoryLevel::Top))
        .bind::<Nullable<Text>, _>(category(CategoryLevel::Child))
        .bind::<Nullable<Text>, _>(f.condition.clone())
        .bind::<Nullable<BigInt>, _>(f.min_price)
        .bind::<Nullable<BigInt>, _>(f.max_price)
        .bind::<Nullable<BigInt>, _>(f.seller_id)
        .load(conn)
        .unwrap()
}

/// `filter`'s facets, capped at `cap`, count exactly the newest `cap` of `newest` (the newest
/// matches, newest first), every count marked capped when there are more.
fn facets_count_exactly(
    conn: &mut bazaar_actors::store::DbConnection,
    filter: &bazaar_actors::store::search::ListingFilter,
    newest: &[Match],
    cap: i64,
) {
    use bazaar_actors::store::search;
    let text = filter
        .text
        .as_ref()
        .map_or_else(|| "no words".to_owned(), |t| t.to_tsquery());
    let facets = search::facets(
        conn,
        &mut Default::default(),
        &Default::default(),
        filter,
        cap,
    )
    .unwrap();
    let wanted = FacetsWanted::of(newest, cap);
    let read = |buckets: &[(String, search::CappedCount)]| -> HashMap<String, i64> {
        assert!(
            buckets.iter().all(|(_, c)| c.capped == wanted.capped),
            "{text}: {buckets:?}"
        );
        buckets.iter().map(|(v, c)| (v.clone(), c.count)).collect()
    };
    assert_eq!(read(&facets.categories), wanted.per_top, "{text}");
    assert_eq!(read(&facets.conditions), wanted.per_condition, "{text}");
    assert_eq!(facets.min_price, wanted.min_price, "{text}");
    assert_eq!(facets.max_price, wanted.max_price, "{text}");
}

/// What facets capped at `cap` say of the newest matches: the newest `cap` counted per
/// top-level category and per condition, their lowest and highest price, and whether there
/// were more (then every count is "at least").
struct FacetsWanted {
    capped: bool,
    per_top: HashMap<String, i64>,
    per_condition: HashMap<String, i64>,
    min_price: Option<i64>,
    max_price: Option<i64>,
}

impl FacetsWanted {
    /// `newest`: the newest matches, newest first, at least `cap + 1` of them if there are.
    fn of(newest: &[Match], cap: i64) -> FacetsWanted {
        let counted = &newest[..newest.len().min(cap as usize)];
        let mut per_top: HashMap<String, i64> = HashMap::new();
        let mut per_condition: HashMap<String, i64> = HashMap::new();
        for m in counted {
            if let Some(top) = &m.category_top {
                *per_top.entry(top.clone()).or_default() += 1;
            }
            if let Some(condition) = &m.condition {
                *per_condition.entry(condition.clone()).or_default() += 1;
            }
        }
        let prices = counted.iter().map(|m| m.price_cents);
        FacetsWanted {
            capped: newest.len() as i64 > cap,
            per_top,
            per_condition,
            min_price: prices.clone().min(),
            max_price: prices.max(),
        }
    }

    /// The facets' answer over HTTP is this.
    fn check(&self, body: &Value, case: &str) {
        let counts = |list: &Value| -> HashMap<String, i64> {
            let mut counts = HashMap::new();
            for bucket in list.as_array().unwrap() {
                let (n, capped) = match &bucket["count"] {
                    Value::String(s) => (s.trim_end_matches('+').parse().unwrap(), true),
                    n => (n.as_i64().unwrap(), false),
                };
                assert_eq!(capped, self.capped, "{case}: {body}");
                counts.insert(bucket["value"].as_str().unwrap().to_owned(), n);
            }
            counts
        };
        assert_eq!(counts(&body["categories"]), self.per_top, "{case}");
        assert_eq!(counts(&body["conditions"]), self.per_condition, "{case}");
        assert_eq!(body["min_price_cents"].as_i64(), self.min_price, "{case}");
        assert_eq!(body["max_price_cents"].as_i64(), self.max_price, "{case}");
    }
}

/// PostgreSQL, 100,000 listings (seven eras of 16,384 ids, 25 fine eras of 4,096) analysed:
/// words the statistics do not know for common (two words, a prefix, an excluded word, a rare
/// word) are read in one descent through the eras, as the plan shows (the series of windows,
/// an era index: the fine one for the page of "quokka", which the statistics put at 0.5%, so
/// it would fill an era of the era index twice over), and the newest pages by cursor,
/// relevance's candidates and the facets are exactly the newest matches of the words' own
/// index. Then again with 2,000 listings copied to ids 300,050 to 400,000 (eras 18 to 24): a
/// descent through the era index names 16 eras at most (24 down to 9, seven of them empty),
/// and the older ids' matches come from the words' index in the same read. The facets of the
/// words likewise (they always descend).
#[test]
fn a_descent_through_the_eras_finds_the_newest_matches_the_words_index_finds() {
    use bazaar_actors::store::{search, DbConnection};
    use search::ListingSort::Newest;
    let Some(db) = catalogue_of_eras() else {
        return;
    };
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    let mut through_fine_eras = Vec::new();
    for copied in [false, true] {
        if copied {
            conn.batch_execute(
                "INSERT INTO listings (id, seller_id, title, description, category, condition, \
                 price_cents, currency, quantity, status, version, created_at, updated_at) \
                 SELECT id + 300000, seller_id, title, description, category, condition, \
                 price_cents, currency, quantity, status, version, created_at, updated_at \
                 FROM listings WHERE id % 50 = 0; ANALYZE listings",
            )
            .unwrap();
        }
        for text in [
            "leather jacket",
            "leather jack",
            "leather jacket -black",
            "quokka",
        ] {
            let filter = active_search(text, Default::default());
            let newest = newest_matches(conn, &filter, 1_001);
            assert!(!newest.is_empty(), "{text}: no match to compare");
            let plan = search::explain_pg(conn, &filter, Newest, None, 20).unwrap();
            assert!(
                descends(&plan, &filter.filters),
                "{text} (copied: {copied}):\n{plan}"
            );
            if plan.contains("listings_search_fine_eras ") {
                through_fine_eras.push(format!("{text} (copied: {copied})"));
            }
            // The older ids' read, from the words' index, runs only if ids are left below
            // the eras named (a one-time filter).
            assert!(
                plan.contains("listings_search ") && plan.contains("One-Time Filter"),
                "{text} (copied: {copied}): the older ids' read\n{plan}"
            );
            read_the_newest_matches(conn, &filter, &newest, &format!("{text} ({copied})"));
        }
    }
    // A word the statistics do not know is estimated at 0.5% of the listings, which fills an
    // era of the era index twice over with a page of 21: its page reads fine eras.
    assert!(
        through_fine_eras.contains(&"quokka (copied: false)".to_owned()),
        "{through_fine_eras:?}"
    );
}

/// The search of `filter` reads exactly `newest` (its newest matches as the words' own index
/// finds them, newest first): three newest pages of 20 by cursor, relevance's candidates (the
/// newest 200 of the newest `RELEVANCE_SPAN` ids when those hold a page: their id range and
/// count, [`first_relevance_window`]) and the facets of the newest 1,000.
fn read_the_newest_matches(
    conn: &mut bazaar_actors::store::DbConnection,
    filter: &bazaar_actors::store::search::ListingFilter,
    newest: &[Match],
    case: &str,
) {
    use bazaar_actors::store::search;
    use diesel::RunQueryDsl;
    use search::ListingSort::{Newest, Relevance};
    #[derive(diesel::QueryableByName)]
    struct Top {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        top: i64,
    }
    let ids: Vec<i64> = newest.iter().map(|m| m.id).collect();
    let paged = three_pages(conn, filter, Newest);
    assert_eq!(paged, ids[..ids.len().min(60)], "{case}");
    let top = diesel::sql_query("SELECT MAX(id) AS top FROM listings")
        .get_result::<Top>(conn)
        .unwrap()
        .top;
    let estimate = search::expected_in_relevance_span(conn, filter).unwrap();
    let page = search_page(conn, filter, Relevance, None, 20);
    let first = page.first().expect("a page");
    assert_eq!(
        (first.window_lo, first.window_hi, first.candidates),
        first_relevance_window(&ids, top, estimate, 20),
        "{case} (expected in the span: {estimate:?})"
    );
    facets_count_exactly(conn, filter, newest, 1_000);
}

/// The window (its lowest and highest id, how many candidates) of a first relevance page of
/// `page` listings whose newest matches are `ids` (newest first), the newest listing's id
/// `top`: the newest `RELEVANCE_CANDIDATES` matches, and with more ids than `RELEVANCE_SPAN`
/// those of the newest `RELEVANCE_SPAN` ids when they are a page at least, else the newest
/// page. Where an `estimate` of the matches in those ids says which (PostgreSQL's), only that
/// read: at least the candidates there, the newest candidates of every id; fewer than a page,
/// the newest page. A window that took fewer than it could reaches down to the lowest id read;
/// one that took all, to its oldest candidate.
fn first_relevance_window(
    ids: &[i64],
    top: i64,
    estimate: Option<i64>,
    page: usize,
) -> (i64, i64, i64) {
    use bazaar_actors::domain::search::{RELEVANCE_CANDIDATES, RELEVANCE_SPAN};
    let most = RELEVANCE_CANDIDATES as usize;
    let floor = top - RELEVANCE_SPAN + 1;
    let in_span = ids.iter().take_while(|&&id| id >= floor).count().min(most);
    let every = (&ids[..ids.len().min(most)], most, 1);
    let newest_page = (&ids[..ids.len().min(page)], page, 1);
    let (taken, could, lowest) = match estimate {
        _ if top <= RELEVANCE_SPAN => every,
        Some(n) if n >= RELEVANCE_CANDIDATES => every,
        Some(n) if n < page as i64 => newest_page,
        _ if in_span >= page => (&ids[..in_span], most, floor),
        _ => newest_page,
    };
    let lo = if taken.len() < could {
        lowest
    } else {
        *taken.last().unwrap()
    };
    (lo, taken[0], taken.len() as i64)
}

/// PostgreSQL, 100,000 listings analysed, some without a category or a condition: with a
/// category (top-level or not) or a condition, which the era index holds (migration
/// `search_eras_filters`), the newest pages by cursor, relevance's candidates and the facets
/// are exactly the newest matches of the words in that category and condition as the words'
/// own index finds them, whichever way the newest page reads them (the plan shows which):
/// words the statistics expect few of (every match from the words' index), common words and
/// a filter rare together (a descent through the eras), a word in every listing with a broad
/// filter (a walk). Unfiltered, a listing without a category or a condition is still found
/// by eras.
#[test]
fn a_descent_matches_a_category_and_a_condition_in_the_era_index() {
    use bazaar_actors::domain::search::{CategoryFilter, SearchFilters};
    use bazaar_actors::store::DbConnection;
    let Some(db) = catalogue_of_eras() else {
        return;
    };
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    conn.batch_execute(
        "UPDATE listings SET condition = NULL WHERE id % 97 = 0; \
         UPDATE listings SET category = NULL WHERE id % 89 = 0; ANALYZE listings",
    )
    .unwrap();
    let filters = |category: Option<&str>, condition: Option<&str>| SearchFilters {
        category: category.map(|c| CategoryFilter::parse(c).unwrap()),
        condition: condition.map(str::to_owned),
        ..SearchFilters::default()
    };
    // A rare word in the top-level category of its oldest match: the descent reads every era.
    let oldest = newest_matches(conn, &active_search("quokka", filters(None, None)), 1_001).pop();
    let rare_top = oldest
        .and_then(|m| m.category_top)
        .expect("a quokka with a category");
    // How the newest page reads: every match of the words from their own index (the
    // statistics expect few words), a descent (words and filter under 5%), or a walk.
    let cases = [
        (
            "leather jacket",
            filters(Some("fashion"), None),
            Read::Whole,
        ),
        ("jacket", filters(None, Some("good")), Read::Whole),
        ("quokka", filters(Some(&rare_top), None), Read::Whole),
        ("smoke", filters(None, Some("good")), Read::Descent),
        ("size", filters(Some("fashion-men"), None), Read::Descent),
        (
            "size",
            filters(Some("fashion-men"), Some("like_new")),
            Read::Descent,
        ),
        ("size", filters(Some("fashion"), None), Read::Walk),
        ("leather jacket", filters(None, None), Read::Descent),
    ];
    reads_the_newest_matches_as_planned(conn, cases, |_, _, _| {});
}

/// How a search's newest page reads, as its plan shows: every match of the words from their
/// own index, by eras (a descent, perhaps after a walk fell short), or a walk of the newest ids.
#[derive(Debug, PartialEq)]
enum Read {
    Whole,
    Descent,
    Walk,
}

/// A page of `filter` as a search finds it (typos corrected each time, the connection back to
/// planning with values after).
fn search_page(
    conn: &mut bazaar_actors::store::DbConnection,
    filter: &bazaar_actors::store::search::ListingFilter,
    sort: bazaar_actors::store::search::ListingSort,
    after: Option<bazaar_actors::store::search::ListingPosition>,
    limit: i64,
) -> Vec<bazaar_actors::store::search::Found> {
    let mode = &mut Default::default();
    bazaar_actors::store::search::search(
        conn,
        mode,
        &Default::default(),
        filter,
        sort,
        after,
        limit,
    )
    .unwrap()
}

/// An active listings' search for `text` in `filters`.
pub(crate) fn active_search(
    text: &str,
    filters: bazaar_actors::domain::search::SearchFilters,
) -> bazaar_actors::store::search::ListingFilter {
    bazaar_actors::store::search::ListingFilter {
        text: bazaar_actors::domain::search::TextQuery::parse(text),
        filters,
        status: bazaar_actors::domain::listing::ListingStatus::Active,
        viewer: None,
    }
}

/// The first three pages of `filter` sorted by price or likes (`sort`), by cursor, are `every`
/// match (of the words' own index, in the filters) in that order, ties by id.
fn pages_in_value_order(
    conn: &mut bazaar_actors::store::DbConnection,
    filter: &bazaar_actors::store::search::ListingFilter,
    sort: bazaar_actors::store::search::ListingSort,
    every: &[Match],
    case: &str,
) {
    use bazaar_actors::store::search::ListingSort;
    let mut expected: Vec<&Match> = every.iter().collect();
    expected.sort_by_key(|m| match sort {
        ListingSort::PriceAsc => (m.price_cents, m.id),
        ListingSort::PriceDesc => (-m.price_cents, -m.id),
        _ => (-m.like_count, -m.id),
    });
    let expected: Vec<i64> = expected.iter().take(60).map(|m| m.id).collect();
    assert_eq!(three_pages(conn, filter, sort), expected, "{case}");
}

/// The ids of the first three pages of 20 of `filter` in `sort` (not relevance), by cursor.
fn three_pages(
    conn: &mut bazaar_actors::store::DbConnection,
    filter: &bazaar_actors::store::search::ListingFilter,
    sort: bazaar_actors::store::search::ListingSort,
) -> Vec<i64> {
    use bazaar_actors::store::search;
    let mut paged = Vec::new();
    let mut after = None;
    for _ in 0..3 {
        let page = search_page(conn, filter, sort, after, 20);
        paged.extend(page.iter().map(|f| f.listing.id));
        let Some(last) = page.last().filter(|_| page.len() == 20) else {
            break;
        };
        after = Some(search::ListingPosition {
            price_cents: last.listing.price_cents,
            like_count: last.listing.like_count,
            id: last.listing.id,
            ..Default::default()
        });
    }
    paged
}

/// For each case (words, filters, how its newest page reads): the newest page reads so, and
/// pages, relevance's candidates and facets are exactly the newest matches the words' own
/// index finds in the filters ([`read_the_newest_matches`]); `check` sees those matches first.
fn reads_the_newest_matches_as_planned<const N: usize>(
    conn: &mut bazaar_actors::store::DbConnection,
    cases: [(&str, bazaar_actors::domain::search::SearchFilters, Read); N],
    check: impl Fn(&bazaar_actors::domain::search::SearchFilters, &[Match], &str),
) {
    use bazaar_actors::store::search;
    for (text, filters, read) in cases {
        let filter = active_search(text, filters);
        let case = format!("{text} {:?}", filter.filters);
        let newest = newest_matches(conn, &filter, 1_001);
        assert!(!newest.is_empty(), "{case}: no match to compare");
        check(&filter.filters, &newest, &case);
        let plan =
            search::explain_pg(conn, &filter, search::ListingSort::Newest, None, 20).unwrap();
        let planned = if descends(&plan, &filter.filters) {
            Read::Descent
        } else if plan.contains("Bitmap Index Scan on listings_search ") {
            Read::Whole
        } else {
            Read::Walk
        };
        assert_eq!(planned, read, "{case}:\n{plan}");
        read_the_newest_matches(conn, &filter, &newest, &case);
    }
}

/// PostgreSQL, 100,000 listings analysed, some priced on a bucket's bound or just under it:
/// with a narrow price range, whose buckets and decades the era index holds (migrations
/// `search_eras_prices`, `search_eras_price_decades`), the newest pages by cursor, relevance's
/// candidates and the facets are exactly the newest matches in the range as the words' own
/// index finds them, the range's edges included and the prices beside them not, whichever way
/// the newest page reads them; a wide range (not in the index) still reads by eras. The
/// database's buckets are Rust's.
#[test]
fn a_descent_matches_a_price_range_in_the_era_index() {
    use bazaar_actors::domain::search::{
        price_bucket, CategoryFilter, SearchFilters, PRICE_BUCKET_BOUNDS,
    };
    use bazaar_actors::store::DbConnection;
    use diesel::sql_types::{BigInt, Integer};
    use diesel::RunQueryDsl;
    let Some(db) = catalogue_of_eras() else {
        return;
    };
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    #[derive(diesel::QueryableByName)]
    struct Bucket {
        #[diesel(sql_type = Integer)]
        bucket: i32,
    }
    let prices = PRICE_BUCKET_BOUNDS
        .iter()
        .flat_map(|&b| [b - 1, b, b + 1])
        .chain([0, 1, i64::MAX]);
    for price in prices {
        let bucket = diesel::sql_query("SELECT search_price_bucket($1) AS bucket")
            .bind::<BigInt, _>(price)
            .get_result::<Bucket>(conn)
            .unwrap()
            .bucket;
        assert_eq!(bucket as usize, price_bucket(price), "{price}");
    }
    conn.batch_execute(
        "UPDATE listings SET price_cents = 1000 WHERE id % 53 = 0; \
         UPDATE listings SET price_cents = 999 WHERE id % 59 = 0; \
         UPDATE listings SET price_cents = 5000 WHERE id % 61 = 0; \
         UPDATE listings SET price_cents = 5001 WHERE id % 67 = 0; ANALYZE listings",
    )
    .unwrap();
    let priced = |min: Option<i64>, max: Option<i64>, category: Option<&str>| SearchFilters {
        category: category.map(|c| CategoryFilter::parse(c).unwrap()),
        min_price: min,
        max_price: max,
        ..SearchFilters::default()
    };
    // At 100,000 listings "jacket" (~1,600) and "leather jacket" are words expected few, read
    // whole; words and a narrow range the statistics put in 5% of the listings or more
    // together ("size", in every listing, from 100.00 to 500.00) are walked, and fewer
    // ("smoke", ~12%, from 10.00 to 50.00, which ~6% of the listings are in here) read by
    // eras (migration `search_span_prices`: the estimate has the range).
    let cases = [
        (
            "jacket",
            priced(Some(1_000), Some(5_000), None),
            Read::Whole,
        ),
        ("jacket", priced(None, Some(1_000), None), Read::Whole),
        (
            "leather jacket",
            priced(Some(1_000), Some(5_000), None),
            Read::Whole,
        ),
        (
            "smoke",
            priced(Some(1_000), Some(5_000), None),
            Read::Descent,
        ),
        ("size", priced(Some(10_000), Some(50_000), None), Read::Walk),
        (
            "smoke",
            priced(Some(5_001), Some(5_001), None),
            Read::Descent,
        ),
        (
            "smoke",
            priced(Some(1_000), Some(5_000), Some("home")),
            Read::Descent,
        ),
        // A decade held whole (10.00–99.99) is one entry of the era index (migration
        // `search_eras_price_decades`), the bucket from 100.00 another.
        (
            "smoke",
            priced(Some(1_000), Some(10_000), Some("home")),
            Read::Descent,
        ),
        (
            "size",
            priced(Some(5_000), Some(5_000), None),
            Read::Descent,
        ),
        // Wide: compared on the rows each era yields.
        ("jacket", priced(Some(1_000), None, None), Read::Descent),
    ];
    reads_the_newest_matches_as_planned(conn, cases, |f, newest, case| {
        if f.price_buckets().is_some() {
            let edges = [f.min_price, f.max_price];
            assert!(
                newest.iter().any(|m| edges.contains(&Some(m.price_cents))),
                "{case}: no match on an edge of the range"
            );
        }
    });
}

/// PostgreSQL, 100,000 listings analysed: words sorted by price or likes whose filter in the
/// era index makes them few (a category, a condition, a narrow price range) read every era's
/// matches through the era index, and three pages by cursor in each order are exactly the
/// matches the words' own index finds in the filter, in that order.
#[test]
fn a_value_sort_reads_a_rare_filter_through_every_era() {
    use bazaar_actors::domain::search::{CategoryFilter, SearchFilters};
    use bazaar_actors::store::{search, DbConnection};
    use search::ListingSort::{Popular, PriceAsc, PriceDesc};
    let Some(db) = catalogue_of_eras() else {
        return;
    };
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    // Likes with ties, so the id breaks them across pages: on every listing the cases below can
    // find (the rest keep theirs; all 100,000 took 28 s).
    conn.batch_execute(
        "UPDATE listings SET like_count = id % 7 WHERE condition IN ('good', 'new') \
         AND (category = 'home' OR category LIKE 'home-%' OR category = 'fashion-men'); \
         ANALYZE listings",
    )
    .unwrap();
    let filters = |category: &str, condition: &str, max_price: Option<i64>| SearchFilters {
        category: Some(CategoryFilter::parse(category).unwrap()),
        condition: Some(condition.to_owned()),
        max_price,
        ..SearchFilters::default()
    };
    for (text, filters) in [
        ("smoke", filters("home", "good", None)),
        ("size", filters("fashion-men", "new", Some(50_000))),
    ] {
        let filter = active_search(text, filters);
        let case = format!("{text} {:?}", filter.filters);
        let mut every = newest_matches(conn, &filter, 100_000);
        assert!(
            (60..5_000).contains(&every.len()),
            "{case}: {} matches",
            every.len()
        );
        for sort in [PriceAsc, PriceDesc, Popular] {
            let plan = search::explain_pg(conn, &filter, sort, None, 20).unwrap();
            assert!(descends(&plan, &filter.filters), "{case} {sort:?}:\n{plan}");
            every.sort_by_key(|m| match sort {
                PriceAsc => (m.price_cents, m.id),
                PriceDesc => (-m.price_cents, -m.id),
                _ => (-m.like_count, -m.id),
            });
            let mut paged = Vec::new();
            let mut after = None;
            for _ in 0..3 {
                let page = search_page(conn, &filter, sort, after, 20);
                paged.extend(page.iter().map(|f| f.listing.id));
                let last = page.last().expect("a full page");
                after = Some(search::ListingPosition {
                    id: last.listing.id,
                    price_cents: last.listing.price_cents,
                    like_count: last.listing.like_count,
                    ..Default::default()
                });
            }
            let expected: Vec<i64> = every.iter().take(60).map(|m| m.id).collect();
            assert_eq!(paged, expected, "{case} {sort:?}");
        }
    }
}

/// Two `tsquery`s, one of each word OR'ed with a word of no listing, that `search_span` keeps
/// in the same one of its 64 slots (slot = `hashtext(words) & 63`).
fn same_slot(conn: &mut bazaar_actors::store::DbConnection, words: [&str; 2]) -> [String; 2] {
    use diesel::sql_types::{BigInt, Text};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Slot {
        #[diesel(sql_type = BigInt)]
        slot: i64,
    }
    let mut slot_of = |q: &str| {
        diesel::sql_query("SELECT CAST(hashtext($1) & 63 AS BIGINT) AS slot")
            .bind::<Text, _>(q)
            .get_result::<Slot>(conn)
            .unwrap()
            .slot
    };
    let spelled = |word: &str, n: usize| format!("'{word}' | 'zqxv{n}'");
    let firsts: Vec<i64> = (0..64).map(|n| slot_of(&spelled(words[0], n))).collect();
    for m in 0..256 {
        let second = spelled(words[1], m);
        if let Some(n) = firsts.iter().position(|s| *s == slot_of(&second)) {
            return [spelled(words[0], n), second];
        }
    }
    panic!("no two queries in one slot");
}

/// For `words` (a `tsquery`): the newest id and the estimate `search_span` answers, and the
/// newest id and the estimate of an `EXPLAIN` of the words' match (PostgreSQL, analysed).
fn span_and_explain(
    conn: &mut bazaar_actors::store::DbConnection,
    words: &str,
) -> ((i64, Option<i64>), (i64, Option<i64>)) {
    use bazaar_actors::store::search::plans;
    use diesel::sql_types::{BigInt, Nullable, Text};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Span {
        #[diesel(sql_type = BigInt)]
        ceiling: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        expected: Option<i64>,
    }
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Newest {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let span = diesel::sql_query("SELECT ceiling, expected FROM search_span($1)")
        .bind::<Text, _>(words)
        .get_result::<Span>(conn)
        .unwrap();
    let plan = diesel::sql_query(
        "EXPLAIN SELECT 1 FROM listings l, to_tsquery('bazaar_search', $1) tsq \
         WHERE l.search_vector @@ tsq",
    )
    .bind::<Text, _>(words)
    .load::<Line>(conn)
    .unwrap();
    let newest = diesel::sql_query("SELECT MAX(id) AS id FROM listings")
        .get_result::<Newest>(conn)
        .unwrap();
    (
        (span.ceiling, span.expected),
        (newest.id, plans::estimated_rows(&plan[0].line)),
    )
}

/// PostgreSQL discards its activity statistics, the time of each table's last ANALYZE among
/// them, in crash recovery (and a copied database starts without them), but keeps the
/// statistics the planner uses. `search_span` trusts those: on a copy of an analysed catalogue,
/// and after `pg_stat_reset()` (the same loss) on a new connection (nothing kept on its
/// session), it answers the planner's estimate; a table never analysed has none.
#[test]
fn search_span_trusts_the_statistics_when_the_time_of_the_last_analyse_is_lost() {
    use bazaar_actors::domain::search::TextQuery;
    use diesel::sql_types::{Bool, Nullable, Text};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Timed {
        #[diesel(sql_type = Bool)]
        timed: bool,
    }
    #[derive(diesel::QueryableByName)]
    struct Expected {
        #[diesel(sql_type = Nullable<diesel::sql_types::BigInt>)]
        expected: Option<i64>,
    }
    let Some(db) = TestDb::catalogue() else {
        eprintln!("search_span is PostgreSQL's (set {PG_ENV})");
        return;
    };
    let timed = |conn: &mut bazaar_actors::store::DbConnection| {
        diesel::sql_query(
            "SELECT pg_stat_get_last_analyze_time('listings'::regclass) IS NOT NULL \
             OR pg_stat_get_last_autoanalyze_time('listings'::regclass) IS NOT NULL AS timed",
        )
        .get_result::<Timed>(conn)
        .unwrap()
        .timed
    };
    let words = TextQuery::parse("black").unwrap().to_tsquery();
    {
        let mut conn = db.connect();
        assert!(!timed(&mut conn), "a copy starts without the time");
        let (span, explain) = span_and_explain(&mut conn, &words);
        assert!(explain.1.is_some_and(|n| n > 0), "{explain:?}");
        assert_eq!(span, explain, "the copy");
        conn.batch_execute("ANALYZE listings").unwrap();
        assert!(timed(&mut conn));
        conn.batch_execute("SELECT pg_stat_reset()").unwrap();
        assert!(!timed(&mut conn), "the time is lost as in a crash");
    }
    let mut conn = db.connect();
    let (span, explain) = span_and_explain(&mut conn, &words);
    assert_eq!(span, explain, "after the reset");
    // Never analysed: no statistics, no estimate.
    let empty = TestDb::migrated();
    let mut conn = empty.connect();
    let span = diesel::sql_query("SELECT expected FROM search_span($1)")
        .bind::<Text, _>(&words)
        .get_result::<Expected>(&mut *conn)
        .unwrap();
    assert_eq!(span.expected, None);
}

/// `seed::catalogue` loads an empty table with its indexes dropped and built again after the
/// load, and a table with rows through its indexes: either way every index is there afterwards
/// (on SQLite its triggers too, and the words index's settings as they were), and every row
/// it wrote is searchable.
#[test]
fn the_catalogue_seed_keeps_every_index_and_leaves_every_row_searchable() {
    use bazaar_actors::store::{self, search, DbConnection};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let db = TestDb::create();
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    store::migrate(conn).unwrap();
    let indexes = |conn: &mut DbConnection| -> Vec<String> {
        let query = if db.is_postgres() {
            "SELECT indexdef AS name FROM pg_indexes WHERE tablename = 'listings' ORDER BY 1"
        } else {
            // And the triggers (the words index's insert trigger is left out of a load into the
            // empty table) and the words index's settings.
            "SELECT sql AS name FROM sqlite_master WHERE type IN ('index', 'trigger') \
             AND tbl_name = 'listings' AND sql IS NOT NULL \
             UNION ALL SELECT 'listings_fts ' || k || ' = ' || v FROM listings_fts_config \
             ORDER BY 1"
        };
        let rows: Vec<Name> = diesel::sql_query(query).load(conn).unwrap();
        rows.into_iter().map(|r| r.name).collect()
    };
    let jackets = |conn: &mut DbConnection| -> (usize, usize) {
        let filter = active_search("jacket ", Default::default());
        let found = search_page(conn, &filter, search::ListingSort::Newest, None, 10_000).len();
        let rows: Vec<Name> = diesel::sql_query(
            "SELECT CAST(id AS TEXT) AS name FROM listings \
             WHERE status = 'active' AND title LIKE '%jacket%'",
        )
        .load(conn)
        .unwrap();
        (found, rows.len())
    };
    let before = indexes(conn);
    assert!(before.len() > 10, "{before:?}");
    bazaar::seed::catalogue(conn, 3_000).unwrap();
    assert_eq!(indexes(conn), before, "after a load into the empty table");
    let (found, written) = jackets(conn);
    assert!(written > 0);
    assert_eq!(found, written);
    bazaar::seed::catalogue(conn, 2_000).unwrap();
    assert_eq!(indexes(conn), before, "after a load into a table with rows");
    let (found_after, written_after) = jackets(conn);
    assert!(written_after > written);
    assert_eq!(found_after, written_after);
}

/// SQLite, 100,000 catalogue listings, some without a category or a condition, some priced on
/// a bucket's bound or just under it: with the filters its words index holds as terms
/// (migration `search_facet_terms`: a category, a condition, a narrow price range), the newest
/// pages by cursor, relevance's candidates and the facets are exactly the newest matches of the
/// words in the filters as FTS5 finds the words alone and the rows' own values compare, for
/// one word, two (also two words in most listings, whose top-level category and condition are
/// matched in the index too), a prefix and an excluded word, the range's edges included and
/// the prices beside them not; among one seller's listings (its seller a term too, also once
/// a listing moves to another); a combination nothing holds finds nothing. Each listing's
/// terms are those of its row, also after its price, condition, category and seller change,
/// and the database's price buckets are Rust's. And the reads that count before they read:
/// words by price or likes (a walk of that index, or every match), a price range without
/// words (read from the price index, or compared on a walk), pages and facets alike.
#[test]
fn sqlite_matches_filters_in_the_words_index_as_the_rows_hold_them() {
    use bazaar_actors::domain::search::{
        price_term, CategoryFilter, SearchFilters, PRICE_BUCKET_BOUNDS,
    };
    use bazaar_actors::store::{self, search, DbConnection};
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;
    let db = TestDb::create();
    if db.is_postgres() {
        eprintln!("the words index's filter terms are SQLite's");
        return;
    }
    let mut conn = db.connect();
    let conn: &mut DbConnection = &mut conn;
    store::migrate(conn).unwrap();
    bazaar::seed::catalogue(conn, 100_000).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Terms {
        #[diesel(sql_type = diesel::sql_types::Text)]
        facets: String,
    }
    let terms = |conn: &mut DbConnection, id: i64| -> String {
        diesel::sql_query("SELECT facets FROM listings_fts_content WHERE id = ?")
            .bind::<BigInt, _>(id)
            .get_result::<Terms>(conn)
            .unwrap()
            .facets
    };
    // Every bucket's bound and the cents beside it, written to one listing (each price change
    // that moves it to another bucket indexes it anew).
    for price in PRICE_BUCKET_BOUNDS.iter().flat_map(|&b| [b - 1, b, b + 1]) {
        conn.batch_execute(&format!(
            "UPDATE listings SET price_cents = {price} WHERE id = 7"
        ))
        .unwrap();
        let held = terms(conn, 7);
        assert!(
            held.split(' ').any(|t| t == price_term(price)),
            "{price}: {held:?}"
        );
    }
    conn.batch_execute(
        "UPDATE listings SET condition = NULL WHERE id % 97 = 0; \
         UPDATE listings SET category = NULL WHERE id % 89 = 0; \
         UPDATE listings SET price_cents = 1000 WHERE id % 53 = 0; \
         UPDATE listings SET price_cents = 999 WHERE id % 59 = 0; \
         UPDATE listings SET price_cents = 5000 WHERE id % 61 = 0; \
         UPDATE listings SET price_cents = 5001 WHERE id % 67 = 0; \
         UPDATE listings SET condition = 'poor', category = 'home-decor' WHERE id % 71 = 0; \
         INSERT INTO listings_fts (listings_fts, rank) VALUES ('integrity-check', 1)",
    )
    .unwrap();
    let filters = |category: Option<&str>,
                   condition: Option<&str>,
                   min_price: Option<i64>,
                   max_price: Option<i64>| SearchFilters {
        category: category.map(|c| CategoryFilter::parse(c).unwrap()),
        condition: condition.map(str::to_owned),
        min_price,
        max_price,
        ..SearchFilters::default()
    };
    let cases = [
        ("jacket", filters(Some("fashion"), None, None, None)),
        ("jacket", filters(None, Some("good"), None, None)),
        ("jacket", filters(None, Some("poor"), None, None)),
        (
            "black",
            filters(Some("home"), None, Some(1_000), Some(2_000)),
        ),
        (
            "black",
            filters(Some("home-decor"), Some("poor"), None, None),
        ),
        ("jacket", filters(None, None, Some(1_000), Some(5_000))),
        ("jacket", filters(None, None, None, Some(1_000))),
        ("jacket", filters(None, None, Some(1_000), Some(10_000))),
        ("black", filters(Some("home"), None, None, Some(2_000))),
        ("jacket", filters(None, None, Some(1_000), None)),
        (
            "leather jacket",
            filters(Some("fashion"), Some("good"), None, None),
        ),
        // Words in most listings, a filter they seldom meet: stepped in the words index.
        (
            "size black",
            filters(Some("vehicles"), Some("poor"), None, None),
        ),
        (
            "size home",
            filters(Some("fashion"), Some("poor"), None, None),
        ),
        (
            "leather jacket",
            filters(None, None, Some(1_000), Some(5_000)),
        ),
        (
            "leather jack",
            filters(Some("fashion"), None, None, Some(5_000)),
        ),
        (
            "jacket -black",
            filters(None, Some("good"), Some(999), Some(1_000)),
        ),
    ];
    for (text, filters) in cases {
        let filter = active_search(text, filters);
        let case = format!("{text} {:?}", filter.filters);
        let newest = newest_matches(conn, &filter, 1_001);
        assert!(!newest.is_empty(), "{case}: no match to compare");
        if let (Some(lo), Some(hi)) = (filter.filters.min_price, filter.filters.max_price) {
            assert!(
                newest
                    .iter()
                    .any(|m| m.price_cents == lo || m.price_cents == hi),
                "{case}: no match on an edge of the range"
            );
        }
        read_the_newest_matches(conn, &filter, &newest, &case);
    }
    // A shop's own search: its seller is a term, for words in every listing, with a dense
    // filter, and after the listing moves to another seller.
    let seller_of = |conn: &mut DbConnection, id: i64| -> i64 {
        diesel::sql_query("SELECT seller_id AS n FROM listings WHERE id = ?")
            .bind::<BigInt, _>(id)
            .get_result::<Count>(conn)
            .unwrap()
            .n
    };
    let (first, other) = (seller_of(conn, 7), seller_of(conn, 99_999));
    assert_ne!(first, other, "two sellers to move a listing between");
    conn.batch_execute(&format!(
        "UPDATE listings SET seller_id = {other} WHERE id = 7"
    ))
    .unwrap();
    let mark = bazaar_actors::domain::search::FACET_TERM_MARK;
    let held = terms(conn, 7);
    assert!(
        held.split(' ').any(|t| t == format!("{mark}s{other}")),
        "{held:?}"
    );
    assert!(
        !held.split(' ').any(|t| t == format!("{mark}s{first}")),
        "{held:?}"
    );
    for (text, seller, condition) in [
        ("size", other, None),
        ("size", first, None),
        // Listing 7 is a handbag.
        ("size handbag", other, None),
        ("size", other, Some("good")),
    ] {
        let filter = active_search(
            text,
            SearchFilters {
                seller_id: Some(seller),
                condition: condition.map(str::to_owned),
                ..SearchFilters::default()
            },
        );
        let case = format!("{text} {:?}", filter.filters);
        let newest = newest_matches(conn, &filter, 1_001);
        assert!(!newest.is_empty(), "{case}: no match to compare");
        read_the_newest_matches(conn, &filter, &newest, &case);
    }
    // Sorted by price or likes: words in many of the newest listings walk that index (each
    // row checked in FTS5), the rest are read whole and sorted; a walk whose rows hold too few
    // (a range the words seldom reach first) reads every match. Either way the pages by
    // cursor are every match in that order.
    for (text, filters) in [
        ("black", SearchFilters::default()),
        ("size", filters(Some("vehicles"), None, None, None)),
        ("size black", filters(None, Some("poor"), None, None)),
        ("size", filters(None, None, None, Some(150))),
        ("leather jacket", SearchFilters::default()),
        ("quokka", SearchFilters::default()),
    ] {
        let filter = active_search(text, filters);
        let every = newest_matches(conn, &filter, 1_000_000);
        for sort in [
            search::ListingSort::PriceAsc,
            search::ListingSort::PriceDesc,
            search::ListingSort::Popular,
        ] {
            let case = format!("{text} {:?} {sort:?}", filter.filters);
            pages_in_value_order(conn, &filter, sort, &every, &case);
        }
    }
    // No words, a price range: one few listings hold is read from the price index, one many
    // hold compared on the walk of the order's index; the pages by cursor and the facets are
    // the listings of the range either way.
    let mut held = Vec::new();
    for (min_price, max_price) in [
        (Some(5_001), Some(5_001)),
        (Some(999), Some(1_000)),
        (Some(1_000), Some(5_000)),
        (Some(30_000), Some(30_500)),
        (None, Some(150)),
    ] {
        let filter = bazaar_actors::store::search::ListingFilter {
            text: None,
            ..active_search("x", filters(None, None, min_price, max_price))
        };
        let every: Vec<Match> = diesel::sql_query(
            "SELECT id, category_top, condition, price_cents, like_count FROM listings \
             WHERE status = 'active' AND price_cents >= ? AND price_cents <= ? ORDER BY id DESC",
        )
        .bind::<BigInt, _>(min_price.unwrap_or(0))
        .bind::<BigInt, _>(max_price.unwrap_or(i64::MAX))
        .load(conn)
        .unwrap();
        held.push(every.len());
        let case = format!("{:?}", filter.filters);
        let ids: Vec<i64> = every.iter().take(60).map(|m| m.id).collect();
        assert_eq!(
            three_pages(conn, &filter, search::ListingSort::Newest),
            ids,
            "{case}"
        );
        pages_in_value_order(conn, &filter, search::ListingSort::Popular, &every, &case);
        facets_count_exactly(conn, &filter, &every, 1_000);
    }
    let n = diesel::sql_query("SELECT COUNT(*) AS n FROM listings")
        .get_result::<Count>(conn)
        .unwrap()
        .n;
    let page_most = bazaar_actors::domain::search::price_range_read_max(20, n);
    assert!(
        held.iter().any(|&h| h > 60 && (h as i64) < page_most)
            && held.iter().any(|&h| h as i64 >= page_most),
        "a range read from the price index and one walked: {held:?} ({page_most})"
    );
    // "jacket" is a fashion word only: nothing in home, however it is read.
    let none = active_search("jacket", filters(Some("home"), Some("good"), None, None));
    assert!(newest_matches(conn, &none, 1).is_empty());
    for sort in search::ListingSort::ALL {
        assert!(search_page(conn, &none, sort, None, 20).is_empty());
    }
    let facets = search::facets(
        conn,
        &mut Default::default(),
        &Default::default(),
        &none,
        1_000,
    )
    .unwrap();
    assert!(facets.categories.iter().all(|(_, c)| c.count == 0));
    assert_eq!(facets.min_price, None);
}

/// Random searches of a seeded catalogue (100,000 listings), over HTTP, answer what plain SQL
/// finds: one to three words (an `OR`, an excluded word), a top-level or child category, a
/// condition, a price range, a seller, in every sort, three pages by cursor, and their facets.
/// The words' own index finds the words and each row's values are compared, whichever read the
/// server chose for the shape (the newest ids, a walk of the price or likes index, the era
/// index, the words index's filter terms). Relevance pages hold the newest candidates, none
/// twice.
#[actix_web::test]
async fn random_searches_answer_what_plain_sql_finds_in_a_seeded_catalogue() {
    use bazaar::http::search::FACET_COUNT_CAP;
    use bazaar_actors::domain::search::{CategoryFilter, SearchFilters};
    use bazaar_actors::store::{search::RELEVANCE_CANDIDATES, DbConnection};
    use diesel::RunQueryDsl;
    use rand::{rngs::StdRng, Rng, SeedableRng};
    const WORDS: &[&str] = &[
        "black", "brown", "red", "leather", "wooden", "handmade", "compact", "jacket", "coat",
        "boots", "lamp", "sofa", "camera", "guitar", "tent", "size", "wear", "home", "small",
        "large", "original", "quokka",
    ];
    const CATEGORIES: &[&str] = &[
        "fashion",
        "home",
        "electronics",
        "vehicles",
        "fashion-shoes",
        "home-decor",
        "electronics-audio",
        "other",
    ];
    const CONDITIONS: &[&str] = &["new", "like_new", "good", "fair", "poor"];
    const PRICES: &[i64] = &[100, 1_000, 2_500, 5_000, 10_000, 50_000, 200_000];
    const SORTS: &[&str] = &["newest", "price_asc", "price_desc", "popular", "relevance"];
    // PostgreSQL's catalogue is a copy of the test process's own, analysed; SQLite's is loaded.
    let app = match TestDb::catalogue() {
        Some(db) => spawn_app_on(db, |_| {}).await,
        None => spawn_app().await,
    };
    let mut conn = app.db.connect();
    let conn: &mut DbConnection = &mut conn;
    if !app.db.is_postgres() {
        bazaar::seed::catalogue(conn, CATALOGUE_LISTINGS).unwrap();
    }
    let mut rng = StdRng::seed_from_u64(12);
    // Shapes that found a page or more, and that found some rows but fewer.
    let (mut full, mut some) = (0, 0);
    let pick = |rng: &mut StdRng, from: &[&'static str]| from[rng.gen_range(0..from.len())];
    for _ in 0..200 {
        // One word in half the shapes, three in a tenth (three seldom meet).
        let count = [1, 1, 1, 1, 1, 2, 2, 2, 2, 3][rng.gen_range(0..10)];
        let mut words: Vec<String> = (0..count)
            .map(|_| pick(&mut rng, WORDS).to_owned())
            .collect();
        if words.len() >= 2 && rng.gen_bool(0.2) {
            words.insert(1, "OR".to_owned());
        }
        if rng.gen_bool(0.15) {
            words.push(format!("-{}", pick(&mut rng, WORDS)));
        }
        // A space after the last word: a word, not a prefix (prefixes have tests of their own).
        let q = words.join(" ") + " ";
        let mut filters = SearchFilters::default();
        let mut params = vec![format!("q={}", urlencoding(&q))];
        if rng.gen_bool(0.4) {
            let category = pick(&mut rng, CATEGORIES);
            filters.category = Some(CategoryFilter::parse(category).unwrap());
            params.push(format!("category={category}"));
        }
        if rng.gen_bool(0.3) {
            let condition = pick(&mut rng, CONDITIONS);
            filters.condition = Some(condition.to_owned());
            params.push(format!("condition={condition}"));
        }
        if rng.gen_bool(0.2) {
            let min = PRICES[rng.gen_range(0..PRICES.len())];
            filters.min_price = Some(min);
            params.push(format!("min_price={min}"));
        }
        if rng.gen_bool(0.2) {
            let max = PRICES[rng.gen_range(0..PRICES.len())].max(filters.min_price.unwrap_or(0));
            filters.max_price = Some(max);
            params.push(format!("max_price={max}"));
        }
        if rng.gen_bool(0.1) {
            let listing = rng.gen_range(1..=100_000);
            let seller = diesel::sql_query(format!(
                "SELECT seller_id AS n FROM listings WHERE id = {listing}"
            ))
            .get_result::<Count>(conn)
            .unwrap()
            .n;
            filters.seller_id = Some(seller);
            params.push(format!("seller_id={seller}"));
        }
        let filtered = params.join("&");
        let sort = pick(&mut rng, SORTS);
        let query = format!("{filtered}&sort={sort}&limit=20");
        let mut got = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..3 {
            let page = match &cursor {
                Some(c) => get(&app, &format!("{query}&cursor={c}")).await,
                None => get(&app, &query).await,
            };
            got.extend(listing_ids(&page));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        match got.len() {
            0 => {}
            1..20 => some += 1,
            _ => full += 1,
        }
        let filter = active_search(&q, filters);
        if sort == "relevance" {
            let candidates: HashSet<i64> = newest_matches(conn, &filter, RELEVANCE_CANDIDATES)
                .iter()
                .map(|m| m.id)
                .collect();
            assert_eq!(got.len(), candidates.len().min(60), "{query}");
            assert!(got.iter().all(|id| candidates.contains(id)), "{query}");
            let distinct: HashSet<&i64> = got.iter().collect();
            assert_eq!(distinct.len(), got.len(), "{query}: a row repeated");
        } else {
            let order = match sort {
                "price_asc" => "price_cents ASC, id ASC",
                "price_desc" => "price_cents DESC, id DESC",
                "popular" => "like_count DESC, id DESC",
                _ => "id DESC",
            };
            let want: Vec<i64> = matches_in_order(conn, &filter, order, 60)
                .iter()
                .map(|m| m.id)
                .collect();
            assert_eq!(got, want, "{query}");
        }
        let facets = json_of(
            app.get(&format!("/api/v1/listings/facets?{filtered}"), None)
                .await,
            200,
        )
        .await;
        let newest = newest_matches(conn, &filter, FACET_COUNT_CAP + 1);
        FacetsWanted::of(&newest, FACET_COUNT_CAP).check(&facets, &filtered);
    }
    // The shapes found something, often more than a page: not a comparison of empty answers.
    eprintln!("{full} shapes found a page or more, {some} fewer rows");
    assert!(full >= 70 && some >= 12, "{full} full, {some} partial");
}
