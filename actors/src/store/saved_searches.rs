//! Saved searches, the listings waiting to be matched against them, and the alerts sent.
//!
//! Candidates: a new listing's words find the searches anchored on a word it holds with one
//! full-text query (PostgreSQL: `saved_searches.anchor_vector`, GIN; SQLite: the FTS5 table
//! `saved_searches_fts`), both tokenized and stemmed by the same configuration as the
//! listings' own index; its keys find the rest through `saved_searches_anchor_key`. A
//! candidate's words are confirmed against the listing's row in the listings' own index, with
//! the query text the listing search renders.

use super::bulk::{json_rows, BULK_MIN_ROWS};
use super::schema::{saved_search_pending, saved_searches, users};
use super::DbConnection;
use crate::domain::saved_search::{Anchor, SavedSearchSpec, Trigger};
use crate::domain::search::TextQuery;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

#[derive(Clone, Debug, PartialEq, Eq, Queryable, QueryableByName)]
#[diesel(table_name = saved_searches)]
pub struct SavedSearch {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    /// The search's words as the user saved them (`q` in the API).
    pub query_text: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    pub anchor_key: Option<String>,
    pub anchor_words: Option<String>,
    /// `query_text` parsed and rendered for this backend's full-text engine.
    pub match_text: Option<String>,
    pub created_at: chrono::NaiveDateTime,
}

/// A listing waiting to be matched.
#[derive(Clone, Debug, Queryable)]
pub struct Pending {
    pub id: i64,
    pub listing_id: i64,
    pub old_price_cents: Option<i64>,
    pub created_at: chrono::NaiveDateTime,
}

impl Pending {
    pub fn trigger(&self) -> Trigger {
        Trigger::from_old_price(self.old_price_cents)
    }
}

/// A saved search as the matcher reads it for a listing: whose it is, its name (for the
/// notification), its filters and its words as the listings' index matches them; not its
/// text as typed, its anchor or its creation time. A listing's common words make thousands of
/// candidates ("jacket" anchors every search for a jacket of any brand, "pioneer" every search
/// for anything of that brand), of which a few hundred are due: reading the rest whole, their
/// creation time parsed, was most of matching a listing.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = saved_searches)]
pub struct Candidate {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    /// See [`SavedSearch::match_text`].
    pub match_text: Option<String>,
}

/// [`Candidate`]'s columns for the PostgreSQL queries written in SQL.
const CANDIDATE_COLUMNS: &str = "s.id, s.user_id, s.name, s.category, s.condition, \
    s.min_price_cents, s.max_price_cents, s.match_text";

/// Takes `user`'s row lock on PostgreSQL, so two concurrent creations by one user count one
/// after the other (SQLite has one writer at a time).
pub fn lock_user(conn: &mut DbConnection, user: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        users::table
            .find(user)
            .select(users::id)
            .for_update()
            .load::<i64>(pg)?;
    }
    Ok(())
}

pub fn count_of(conn: &mut DbConnection, user: i64) -> QueryResult<i64> {
    saved_searches::table
        .filter(saved_searches::user_id.eq(user))
        .count()
        .get_result(conn)
}

pub fn insert(
    conn: &mut DbConnection,
    user: i64,
    spec: &SavedSearchSpec,
    now: chrono::NaiveDateTime,
) -> QueryResult<SavedSearch> {
    let (key, words) = match &spec.anchor {
        Anchor::Key(k) => (Some(k.as_str()), None),
        Anchor::Words(w) => (None, Some(w.as_str())),
    };
    let pg = matches!(conn, DbConnection::Postgresql(_));
    let match_text = spec
        .text
        .as_ref()
        .map(|t| if pg { t.to_tsquery() } else { t.to_fts5() });
    diesel::insert_into(saved_searches::table)
        .values((
            saved_searches::user_id.eq(user),
            saved_searches::name.eq(spec.name.as_deref()),
            saved_searches::query_text.eq(spec.q.as_deref()),
            saved_searches::category.eq(spec.category.as_deref()),
            saved_searches::condition.eq(spec.condition.as_deref()),
            saved_searches::min_price_cents.eq(spec.min_price),
            saved_searches::max_price_cents.eq(spec.max_price),
            saved_searches::anchor_key.eq(key),
            saved_searches::anchor_words.eq(words),
            saved_searches::match_text.eq(match_text),
            saved_searches::created_at.eq(now),
        ))
        .returning(saved_searches::all_columns)
        .get_result(conn)
}

/// `user`'s saved searches, oldest first.
pub fn list(conn: &mut DbConnection, user: i64) -> QueryResult<Vec<SavedSearch>> {
    saved_searches::table
        .filter(saved_searches::user_id.eq(user))
        .order(saved_searches::id.asc())
        .load(conn)
}

/// Deletes `user`'s saved search `id`; false if they have none. Its alert records stay: the
/// ledger is keyed by listing (migration `alert_ledger_by_listing`), and a search's id is never
/// used again, so they can silence no other search.
pub fn delete(conn: &mut DbConnection, user: i64, id: i64) -> QueryResult<bool> {
    let n = diesel::delete(
        saved_searches::table
            .filter(saved_searches::id.eq(id))
            .filter(saved_searches::user_id.eq(user)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Records that `listing` must be matched, in the transaction of the write that caused it.
pub fn mark_pending(
    conn: &mut DbConnection,
    listing: i64,
    trigger: Trigger,
    now: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(saved_search_pending::table)
        .values((
            saved_search_pending::listing_id.eq(listing),
            saved_search_pending::old_price_cents.eq(trigger.old_price()),
            saved_search_pending::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// The oldest `limit` listings waiting to be matched.
pub fn pending(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Pending>> {
    saved_search_pending::table
        .order(saved_search_pending::id.asc())
        .limit(limit)
        .load(conn)
}

/// Takes a pending match for this transaction: false when another transaction (of this or
/// another process) took it first. On PostgreSQL the deleted row stays locked until commit,
/// so a second taker waits and then finds nothing.
pub fn claim(conn: &mut DbConnection, pending: i64) -> QueryResult<bool> {
    let n = diesel::delete(saved_search_pending::table.find(pending)).execute(conn)?;
    Ok(n == 1)
}

/// The saved searches whose anchor `listing` holds (anchored on one of `words`, the listing's
/// words as one clause of alternatives, or on one of `keys`) and whose own words, if any,
/// match the listing's row in the listings' full-text index as the listing search would
/// match them. The filters are left to the caller's pure rule.
///
/// PostgreSQL: two indexed queries, each candidate's stored `tsquery` checked against the
/// listing's vector in place (in memory, microseconds). SQLite: the candidates by two indexed
/// queries, then each distinct word query among them matched once against the listing's FTS5
/// row, in one statement: many searches share their words ("iphone"), and an FTS5 `MATCH`
/// costs a parse and a cursor each.
pub fn candidates(
    conn: &mut DbConnection,
    listing: i64,
    words: Option<&TextQuery>,
    keys: &[String],
) -> QueryResult<Vec<Candidate>> {
    match conn {
        DbConnection::Postgresql(c) => {
            let mut found: Vec<Candidate> = diesel::sql_query(format!(
                "SELECT {CANDIDATE_COLUMNS} FROM saved_searches s, listings l \
                 WHERE l.id = $1 AND s.anchor_key = ANY($2) \
                 AND (s.match_query IS NULL OR l.search_vector @@ s.match_query)"
            ))
            .bind::<BigInt, _>(listing)
            .bind::<diesel::sql_types::Array<Text>, _>(keys)
            .load(c)?;
            if let Some(words) = words {
                found.extend(
                    diesel::sql_query(format!(
                        "SELECT {CANDIDATE_COLUMNS} FROM saved_searches s, listings l \
                         WHERE l.id = $1 AND s.anchor_vector @@ to_tsquery('bazaar_search', $2) \
                         AND (s.match_query IS NULL OR l.search_vector @@ s.match_query)"
                    ))
                    .bind::<BigInt, _>(listing)
                    .bind::<Text, _>(words.to_tsquery())
                    .load::<Candidate>(c)?,
                );
            }
            Ok(found)
        }
        DbConnection::Sqlite(c) => {
            // Read through the query builder: its rows are read by position, where a SQL
            // query's are looked up by column name, field by field.
            use super::schema::saved_searches as s;
            let mut found: Vec<Candidate> = s::table
                .filter(s::anchor_key.eq_any(keys))
                .select(Candidate::as_select())
                .load(c)?;
            if let Some(words) = words {
                let anchored = diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "saved_searches.id IN (SELECT rowid FROM saved_searches_fts \
                     WHERE saved_searches_fts MATCH ",
                )
                .bind::<Text, _>(words.to_fts5())
                .sql(")");
                found.extend(
                    s::table
                        .filter(anchored)
                        .select(Candidate::as_select())
                        .load::<Candidate>(c)?,
                );
            }
            let mut texts: Vec<&str> = found
                .iter()
                .filter_map(|s| s.match_text.as_deref())
                .collect();
            texts.sort_unstable();
            texts.dedup();
            let matching = sqlite_matching(c, listing, &texts)?;
            Ok(found
                .into_iter()
                .filter(|s| {
                    s.match_text
                        .as_deref()
                        .is_none_or(|t| matching.binary_search_by(|m| m.as_str().cmp(t)).is_ok())
                })
                .collect())
        }
    }
}

/// Which of `texts` (FTS5 queries) match `listing`'s row in `listings_fts`, sorted.
fn sqlite_matching(
    c: &mut diesel::SqliteConnection,
    listing: i64,
    texts: &[&str],
) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Matching {
        #[diesel(sql_type = Text)]
        text: String,
    }
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let list = serde_json::to_string(texts).unwrap_or_else(|_| "[]".to_owned());
    let mut matching: Vec<String> = diesel::sql_query(
        "SELECT j.value AS text FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM listings_fts \
         WHERE listings_fts MATCH j.value AND rowid = ?)",
    )
    .bind::<Text, _>(list)
    // FTS5's rowid is the listing id negated (migration `search_facet_terms`).
    .bind::<BigInt, _>(-listing)
    .load::<Matching>(c)?
    .into_iter()
    .map(|m| m.text)
    .collect();
    matching.sort_unstable();
    Ok(matching)
}

/// Records the alerts of `searches` for `listing`; returns those not sent before (the unique
/// (saved search, listing) row decides, whichever process gets there first). PostgreSQL: one
/// statement however many; SQLite: a kept statement per search, in-process, or from
/// `bulk::BULK_MIN_ROWS` searches one statement (the ids as a JSON array).
pub fn record_alerts(
    conn: &mut DbConnection,
    searches: &[i64],
    listing: i64,
    now: chrono::NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    use super::schema::saved_search_alerts as a;
    #[derive(QueryableByName)]
    struct Recorded {
        #[diesel(sql_type = BigInt)]
        saved_search_id: i64,
    }
    if searches.is_empty() {
        return Ok(Vec::new());
    }
    let ids = |rows: Vec<Recorded>| rows.into_iter().map(|r| r.saved_search_id).collect();
    match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(
            "INSERT INTO saved_search_alerts (saved_search_id, listing_id, created_at) \
             SELECT s, $2, $3 FROM unnest($1::int8[]) AS s ON CONFLICT DO NOTHING \
             RETURNING saved_search_id",
        )
        .bind::<diesel::sql_types::Array<BigInt>, _>(searches)
        .bind::<BigInt, _>(listing)
        .bind::<Timestamp, _>(now)
        .load::<Recorded>(pg)
        .map(ids),
        DbConnection::Sqlite(lite) if searches.len() >= BULK_MIN_ROWS => diesel::sql_query(
            "INSERT INTO saved_search_alerts (saved_search_id, listing_id, created_at) \
             SELECT j.value, ?, ? FROM json_each(?) j WHERE true ON CONFLICT DO NOTHING \
             RETURNING saved_search_id",
        )
        .bind::<BigInt, _>(listing)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(json_rows(&searches)?)
        .load::<Recorded>(lite)
        .map(ids),
        DbConnection::Sqlite(lite) => {
            let mut recorded = Vec::with_capacity(searches.len());
            for &search in searches {
                let n = diesel::insert_into(a::table)
                    .values((
                        a::saved_search_id.eq(search),
                        a::listing_id.eq(listing),
                        a::created_at.eq(now),
                    ))
                    .on_conflict_do_nothing()
                    .execute(lite)?;
                if n == 1 {
                    recorded.push(search);
                }
            }
            Ok(recorded)
        }
    }
}
