//! Seeding: users with live logins and money, made straight in the database. Used by the
//! load generator and the tests, which need hundreds of users without paying for Argon2 each
//! time (login is exercised on its own elsewhere).

use crate::auth;
use bazaar_actors::domain::ledger::deposit;
use bazaar_actors::domain::{Money, UserId};
use bazaar_actors::store::models::{NewLogin, NewUser};
use bazaar_actors::store::{self, ledger, users, DbConnection, PooledConn, StoreError};

/// A seeded user and a bearer token for them.
#[derive(Clone, Debug)]
pub struct SeededUser {
    pub id: i64,
    pub token: String,
}

/// Creates `username` with a login valid for a day and `balance_cents` in their wallet.
pub fn user(
    conn: &mut PooledConn,
    username: &str,
    balance_cents: i64,
) -> Result<SeededUser, StoreError> {
    let now = store::now();
    let user = users::insert_user(
        conn,
        &NewUser {
            username,
            display_name: username,
            password_hash: "seeded: no password",
            created_at: now,
        },
    )?;
    let token = auth::new_token();
    users::insert_login(
        conn,
        &NewLogin {
            user_id: user.id,
            token_hash: &auth::token_hash(&token),
            created_at: now,
            expires_at: now + chrono::Duration::days(1),
        },
    )?;
    if balance_cents > 0 {
        let posting = deposit(UserId(user.id), Money::from_cents(balance_cents));
        conn.write_transaction(|conn| {
            ledger::post(conn, &posting, None, None).map_err(|e| match e {
                ledger::LedgerError::Db(e) => StoreError::Query(e),
                other => StoreError::Config(other.to_string()),
            })
        })?;
    }
    Ok(SeededUser { id: user.id, token })
}

/// A synthetic catalogue's vocabulary: items (each in its category), brands, colours,
/// adjectives, sizes, and rare words (a handful of listings each, for "rare word" searches).
const ITEMS: &[(&str, &str)] = &[
    ("jacket", "fashion-men"),
    ("coat", "fashion-women"),
    ("dress", "fashion-women"),
    ("jeans", "fashion-men"),
    ("sneakers", "fashion-shoes"),
    ("boots", "fashion-shoes"),
    ("handbag", "fashion-bags"),
    ("backpack", "fashion-bags"),
    ("watch", "fashion-jewellery"),
    ("necklace", "fashion-jewellery"),
    ("smartphone", "electronics-phones"),
    ("tablet", "electronics-phones"),
    ("laptop", "electronics-computers"),
    ("monitor", "electronics-computers"),
    ("keyboard", "electronics-computers"),
    ("camera", "electronics-cameras"),
    ("lens", "electronics-cameras"),
    ("headphones", "electronics-audio"),
    ("speaker", "electronics-audio"),
    ("turntable", "electronics-audio"),
    ("console", "electronics-gaming"),
    ("controller", "electronics-gaming"),
    ("television", "electronics-tv"),
    ("sofa", "home-furniture"),
    ("armchair", "home-furniture"),
    ("table", "home-furniture"),
    ("bookshelf", "home-furniture"),
    ("kettle", "home-kitchen"),
    ("blender", "home-kitchen"),
    ("lamp", "home-decor"),
    ("mirror", "home-decor"),
    ("rug", "home-decor"),
    ("lawnmower", "home-garden"),
    ("drill", "home-tools"),
    ("vacuum", "home-appliances"),
    ("bicycle", "sports-bikes"),
    ("helmet", "sports-bikes"),
    ("dumbbells", "sports-fitness"),
    ("tent", "sports-camping"),
    ("skis", "sports-winter"),
    ("snowboard", "sports-winter"),
    ("surfboard", "sports-water"),
    ("stroller", "kids-strollers"),
    ("lego", "kids-toys"),
    ("doll", "kids-toys"),
    ("onesie", "kids-clothing"),
    ("crib", "kids-furniture"),
    ("novel", "media-books"),
    ("vinyl", "media-music"),
    ("bluray", "media-film"),
    ("boardgame", "media-boardgames"),
    ("painting", "collectibles-art"),
    ("clock", "collectibles-antiques"),
    ("coin", "collectibles-coins"),
    ("cards", "collectibles-cards"),
    ("tyres", "vehicles-parts"),
    ("scooter", "vehicles-motorcycles"),
    ("perfume", "beauty-fragrance"),
    ("guitar", "instruments-guitars"),
    ("piano", "instruments-keyboards"),
    ("drumkit", "instruments-drums"),
    ("aquarium", "pets-aquariums"),
    ("kennel", "pets-supplies"),
];
const BRANDS: &[&str] = &[
    "Acme",
    "Nordic",
    "Vintage",
    "Urban",
    "Alpine",
    "Coastal",
    "Retro",
    "Studio",
    "Heritage",
    "Summit",
    "Metro",
    "Oak",
    "Pixel",
    "Aurora",
    "Atlas",
    "Nova",
    "Crown",
    "Harbor",
    "Zenith",
    "Maple",
    "Café",
    "Bellevue",
    "Kobenhavn",
    "Fjord",
    "Sierra",
];
const COLOURS: &[&str] = &[
    "black", "white", "red", "blue", "green", "brown", "grey", "beige", "navy", "pink", "yellow",
    "orange", "silver", "golden", "crème",
];
const ADJECTIVES: &[&str] = &[
    "classic",
    "compact",
    "lightweight",
    "sturdy",
    "elegant",
    "handmade",
    "rare",
    "modern",
    "antique",
    "portable",
    "wireless",
    "leather",
    "wooden",
    "cotton",
    "waterproof",
    "foldable",
];
const SIZES: &[&str] = &[
    "XS", "S", "M", "L", "XL", "small", "medium", "large", "one size",
];
const NOTES: &[&str] = &[
    "Barely used, like new.",
    "Some signs of wear, fully working.",
    "Pick up only, city centre.",
    "Can ship at buyer's cost.",
    "Original box included.",
    "Smoke-free home.",
    "Price negotiable for quick sale.",
    "Moving out, must go.",
];
/// Each appears in about one listing in 200,000 per word.
const RARE: &[&str] = &[
    "zeppelin",
    "quokka",
    "obsidian",
    "theremin",
    "zanzibar",
    "marimba",
    "sextant",
    "abacus",
    "gramophone",
    "periscope",
    "astrolabe",
    "harpsichord",
    "kaleidoscope",
    "metronome",
    "samovar",
    "telescope",
    "typewriter",
    "zither",
    "bagpipes",
    "didgeridoo",
];
/// Listings per INSERT statement (one transaction each).
const SEED_BATCH: i64 = 50_000;

fn sql_array(pg: bool, words: &[&str]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "''")))
        .collect();
    if pg {
        format!("(ARRAY[{}]::text[])", quoted.join(","))
    } else {
        // SQLite has no arrays: a JSON array, read with json_extract.
        let json: Vec<String> = words
            .iter()
            .map(|w| serde_json::Value::String((*w).to_owned()).to_string())
            .collect();
        format!("'[{}]'", json.join(",").replace('\'', "''"))
    }
}

/// The SQL expression picking element `index` (0-based) of an array made by `sql_array`.
fn pick(pg: bool, array: &str, index: &str) -> String {
    if pg {
        format!("{array}[1 + ({index})]")
    } else {
        format!("json_extract({array}, '$[' || ({index}) || ']')")
    }
}

/// What [`catalogue`] made.
#[derive(Clone, Copy, Debug)]
pub struct Catalogue {
    pub sellers: i64,
    pub listings: i64,
    pub first_listing_id: i64,
}

/// Migrates the database at `url` (a new one is created: an SQLite file, or the schema of an
/// empty PostgreSQL database), then loads [`catalogue`] into it: `bazaar seed` and
/// `bazaar-bench seed`.
pub fn catalogue_at(url: &str, listings: i64) -> anyhow::Result<Catalogue> {
    let pool = store::connect(url, 1)?;
    let mut conn = pool.get()?;
    store::migrate(&mut conn)?;
    Ok(catalogue(&mut conn, listings)?)
}

/// Loads `listings` realistic synthetic listings (and one seller per 50 listings) in plain SQL
/// batches, the same on both backends: titles and descriptions from word lists, items in their
/// categories, conditions, long-tailed prices and like counts, mostly active. Deterministic for
/// a given `listings`. The search index is kept by the database, so everything is searchable
/// at once. For benchmarks and for trying search: `bazaar seed --listings N`.
pub fn catalogue(conn: &mut DbConnection, listings: i64) -> Result<Catalogue, StoreError> {
    use diesel::connection::SimpleConnection;
    let pg = matches!(conn, DbConnection::Postgresql(_));
    let sellers = (listings / 50).max(1);
    let first_user: i64 = max_id(conn, "users")? + 1;
    let first_listing: i64 = max_id(conn, "listings")? + 1;
    // Users: seed<id>, no password (they never log in).
    let mut done = 0;
    while done < sellers {
        let n = (sellers - done).min(SEED_BATCH);
        let (from, to) = (first_user + done, first_user + done + n - 1);
        conn.batch_execute(&format!(
            "INSERT INTO users (id, username, display_name, password_hash, created_at) \
             SELECT i, 'seed' || i, 'Seller ' || i, 'seeded: no password', CURRENT_TIMESTAMP \
             FROM {}",
            series(pg, from, to)
        ))?;
        done += n;
    }
    if pg {
        conn.batch_execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))",
        )?;
    }
    let items: Vec<&str> = ITEMS.iter().map(|(i, _)| *i).collect();
    let categories: Vec<&str> = ITEMS.iter().map(|(_, c)| *c).collect();
    let (items, categories) = (sql_array(pg, &items), sql_array(pg, &categories));
    let (brands, colours) = (sql_array(pg, BRANDS), sql_array(pg, COLOURS));
    let (adjectives, sizes) = (sql_array(pg, ADJECTIVES), sql_array(pg, SIZES));
    let (notes, rare) = (sql_array(pg, NOTES), sql_array(pg, RARE));
    let conditions = sql_array(pg, bazaar_actors::domain::listing::CONDITIONS);
    // h1..h4: cheap deterministic hashes of i (Knuth multiplicative), one per choice.
    let h = |k: u64| format!("((i * {k}) % 1000003)");
    let (h1, h2, h3, h4) = (h(2654435761), h(40503), h(2246822519), h(3266489917));
    let item = format!("({h1} % {})", ITEMS.len());
    let title = format!(
        "{} || ' ' || {} || ' ' || {} || CASE WHEN i % 10007 = 0 THEN ' ' || {} ELSE '' END",
        pick(pg, &brands, &format!("{h2} % {}", BRANDS.len())),
        pick(pg, &colours, &format!("{h3} % {}", COLOURS.len())),
        pick(pg, &items, &item),
        pick(pg, &rare, &format!("(i / 10007) % {}", RARE.len())),
    );
    let description = format!(
        "'A ' || {} || ' ' || {} || ', size ' || {} || '. ' || {}",
        pick(pg, &adjectives, &format!("(i / 7) % {}", ADJECTIVES.len())),
        pick(pg, &items, &item),
        pick(pg, &sizes, &format!("{h2} % {}", SIZES.len())),
        pick(pg, &notes, &format!("{h3} % {}", NOTES.len())),
    );
    // Long tails: most prices modest, a few high; most listings unliked, a few popular.
    let price = format!("(100 + ({h2} % 5000) * (1 + ({h4} % 100) * ({h4} % 100) / 400)) * 10");
    let likes = format!(
        "CASE WHEN {h3} % 100 < 60 THEN 0 WHEN {h3} % 100 < 90 THEN {h1} % 5 \
         WHEN {h3} % 100 < 99 THEN {h1} % 50 ELSE {h1} % 2000 END"
    );
    let status = format!(
        "CASE WHEN {h4} % 100 < 94 THEN 'active' WHEN {h4} % 100 < 97 THEN 'sold_out' \
         ELSE 'closed' END"
    );
    let condition = format!(
        "CASE WHEN {h1} % 10 = 0 THEN NULL ELSE {} END",
        pick(pg, &conditions, &format!("{h2} % 5"))
    );
    let created = if pg {
        format!("TIMESTAMP '2026-01-01 00:00:00' + (i - {first_listing}) * INTERVAL '1 second'")
    } else {
        format!("datetime('2026-01-01 00:00:00', '+' || (i - {first_listing}) || ' seconds')")
    };
    // Into an empty table the rows go in one transaction with the indexes dropped and built
    // again after it (a failure leaves the table as it was). Otherwise the words' index
    // gathers its new entries and merges them in large runs; searches want them merged at once
    // (see the migration `gin_without_pending_list`), so the setting is put back and what is
    // pending merged after the load. SQLite's words index (FTS5) merges nothing while the rows
    // go in, and is merged into one b-tree after the commit (`optimize_words_index`); into an
    // empty table it is not kept row by row either but filled once after the load, newest
    // first (`index_every_listing`), its insert trigger left out meanwhile.
    let empty = first_listing == 1;
    store::write_transaction(conn, |conn| -> Result<(), StoreError> {
        let dropped = if empty {
            drop_listing_indexes(conn, pg)?
        } else {
            if pg {
                conn.batch_execute("ALTER INDEX listings_search SET (fastupdate = on)")?;
            }
            Vec::new()
        };
        let words_trigger = if empty && !pg {
            Some(store::search::leave_out_words_trigger(conn)?)
        } else {
            None
        };
        let mut done = 0;
        while done < listings {
            let n = (listings - done).min(SEED_BATCH);
            let (from, to) = (first_listing + done, first_listing + done + n - 1);
            conn.batch_execute(&format!(
                "INSERT INTO listings (id, seller_id, title, description, category, condition, \
                 price_cents, currency, quantity, status, like_count, version, created_at, \
                 updated_at) \
                 SELECT i, {first_user} + ({h3} % {sellers}), {title}, {description}, {cat}, \
                 {condition}, {price}, 'EUR', 1 + {h1} % 3, {status}, {likes}, 1, {created}, \
                 {created} FROM {series}",
                cat = pick(pg, &categories, &item),
                series = series(pg, from, to),
            ))?;
            done += n;
        }
        build_indexes(conn, pg, &dropped)?;
        if let Some(trigger) = words_trigger {
            store::search::index_every_listing(conn, &trigger)?;
        }
        if pg && !empty {
            conn.batch_execute(
                "ALTER INDEX listings_search SET (fastupdate = off); \
                 SELECT gin_clean_pending_list('listings_search'::regclass)",
            )?;
        }
        Ok(())
    })?;
    if pg {
        conn.batch_execute(
            "SELECT setval(pg_get_serial_sequence('listings', 'id'), \
             (SELECT max(id) FROM listings)); \
             ANALYZE listings; ANALYZE users",
        )?;
    } else {
        // A load in large transactions leaves the words index in b-trees of many sizes, which
        // the server's `WordsIndexMerger` would merge in small steps over minutes: merged here
        // at once (3 s at 1M listings), searches read one b-tree from the start.
        store::search::optimize_words_index(conn)?;
        conn.batch_execute("ANALYZE")?;
    }
    Ok(Catalogue {
        sellers,
        listings,
        first_listing_id: first_listing,
    })
}

/// The integers `from..=to` as a row source with one column `i`.
fn series(pg: bool, from: i64, to: i64) -> String {
    if pg {
        format!("generate_series({from}::bigint, {to}::bigint) AS s(i)")
    } else {
        format!(
            "(WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s WHERE i < {to}) \
             SELECT i FROM s)"
        )
    }
}

#[derive(diesel::QueryableByName)]
struct MaxId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

#[derive(diesel::QueryableByName)]
struct IndexDef {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    def: String,
}

/// Drops the indexes of `listings` that no constraint owns (the primary key stays) and returns
/// how to build them again: building an index once after a bulk load costs a fraction of
/// keeping it up to date through every insert.
fn drop_listing_indexes(conn: &mut DbConnection, pg: bool) -> Result<Vec<IndexDef>, StoreError> {
    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;
    let query = if pg {
        "SELECT c.relname::text AS name, pg_get_indexdef(c.oid) AS def FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'listings'::regclass \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    } else {
        "SELECT name, sql AS def FROM sqlite_master \
         WHERE type = 'index' AND tbl_name = 'listings' AND sql IS NOT NULL"
    };
    let defs: Vec<IndexDef> = diesel::sql_query(query).load(conn)?;
    for d in &defs {
        conn.batch_execute(&format!("DROP INDEX \"{}\"", d.name))?;
    }
    Ok(defs)
}

/// Builds the indexes [`drop_listing_indexes`] dropped (PostgreSQL: with room to sort in
/// memory, for this transaction only).
fn build_indexes(conn: &mut DbConnection, pg: bool, defs: &[IndexDef]) -> Result<(), StoreError> {
    use diesel::connection::SimpleConnection;
    if defs.is_empty() {
        return Ok(());
    }
    if pg {
        conn.batch_execute("SET LOCAL maintenance_work_mem = '1GB'")?;
    }
    for d in defs {
        conn.batch_execute(&d.def)?;
    }
    Ok(())
}

fn max_id(conn: &mut DbConnection, table: &str) -> Result<i64, StoreError> {
    use diesel::RunQueryDsl;
    let rows: Vec<MaxId> = diesel::sql_query(format!(
        "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS id FROM {table}"
    ))
    .load(conn)?;
    Ok(rows.first().map_or(0, |r| r.id))
}
