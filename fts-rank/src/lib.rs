//! `bazaar_bm25`: SQLite FTS5's `bm25`, with each query's IDF kept for a while.
//!
//! FTS5's own `bm25()` weighs rare words above common ones by their IDF, and to get it counts,
//! on every query, every row that matches each phrase. At a million listings "black" matches
//! tens of thousands of rows, and that count costs 15 times the search it ranks (which reads
//! only the newest 200 matches). The IDF moves slowly with the collection, so this function
//! computes it exactly as bm25 does, keeps it on the connection for [`IDF_TTL`] under the
//! query's text, and scores each row exactly as bm25 does, negated: higher is better.
//!
//! In SQL: `bazaar_bm25(fts_table, query, sizes, weight_col0, weight_col1, …)`, where `query` is
//! the MATCH text (it names the cache entry: pass the same text the MATCH gets), `sizes` the
//! row's `sz` from the table's `%_docsize` shadow table (joined by rowid, or a copy of it kept
//! elsewhere: Bazaar keeps one on each listing's row) or NULL, and a column without a weight
//! weighs 1.
//!
//! `sizes` is the row's length in tokens per column, as FTS5 stores it: one SQLite varint per
//! column ([`document_length`] sums them). FTS5 reads the same blob itself when asked (NULL
//! here), through an incremental blob handle that runs a statement of its own per row: at 1M
//! listings that was 18% of a common word's search, which ranks 200 rows. Joined, it is one
//! more b-tree lookup of the query. The equality with FTS5's `bm25` is tested both ways.
//!
//! The same hook adds the aggregate `bazaar_tally` (see [`Tally`]), which facets count with,
//! `bazaar_stable_plans()`, which turns on a connection's query planner
//! stability guarantee (see `ffi::stable_plans`): Diesel has no other way to reach the
//! setting, and [`FTS5_TOKENS`], the tokens an FTS5 tokenizer indexes a text as.
//!
//! Diesel does not expose a connection's raw handle, so [`install`] asks SQLite to add the
//! function to every connection the process opens from then on (SQLite's auto-extension hook,
//! run after FTS5 is set up on the connection). Each connection has its own cache, freed with
//! it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

mod ffi;
mod tally;

pub use ffi::install;
pub use tally::{Tally, MAX_VALUES, TALLY};

/// The function's SQL name.
pub const FUNCTION: &str = "bazaar_bm25";

/// `bazaar_fts5_tokens(tokenizer, text)`: `text`'s tokens as an FTS5 table whose `tokenize`
/// option is `tokenizer` indexes them, joined by single spaces: two words with the same
/// tokens are one term of its index.
pub const FTS5_TOKENS: &str = "bazaar_fts5_tokens";

/// The first character of a filter term (U+E000, a private-use character): a phrase of the
/// query that begins with it only filters the matches, so its matching rows are not counted and
/// it scores nothing, whatever its column weighs (Bazaar's words index holds a listing's filter
/// values as such terms: `domain::search::FACET_TERM_MARK`).
pub const FILTER_MARK: char = '\u{E000}';

/// How long a query's IDF is reused before it is counted again.
pub const IDF_TTL: Duration = Duration::from_secs(60);

/// Most queries a connection keeps the IDF of.
pub const CACHE_CAPACITY: usize = 512;

/// bm25's k1 and b, as FTS5 sets them.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// What bm25 knows of the collection for one query: each phrase's IDF, and the average
/// document length in tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryStats {
    pub idf: Vec<f64>,
    pub avgdl: f64,
}

impl QueryStats {
    /// From the collection's row and token counts and each phrase's matching rows.
    pub fn new(rows: i64, tokens: i64, hits: &[i64]) -> QueryStats {
        QueryStats {
            idf: hits.iter().map(|&h| idf(rows, h)).collect(),
            avgdl: if rows > 0 {
                tokens as f64 / rows as f64
            } else {
                1.0
            },
        }
    }

    /// One row's score: `freq[i]` is phrase i's weighted count of hits in the row, `doc_len`
    /// the row's length in tokens. FTS5's bm25 is this, negated.
    pub fn score(&self, freq: &[f64], doc_len: f64) -> f64 {
        let norm = K1 * (1.0 - B + B * doc_len / self.avgdl);
        self.idf
            .iter()
            .zip(freq)
            .map(|(idf, &f)| idf * (f * (K1 + 1.0)) / (f + norm))
            .sum()
    }
}

/// A row's length in tokens, all columns, from its `%_docsize` blob (a SQLite varint per
/// column); `None` if the blob is cut short.
pub fn document_length(sizes: &[u8]) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = sizes;
    while !rest.is_empty() {
        let (value, used) = varint(rest)?;
        total += value as i64;
        rest = &rest[used..];
    }
    Some(total)
}

/// SQLite's varint: big-endian groups of 7 bits, the high bit set on every byte but the last;
/// a ninth byte gives all 8 bits. The value and the bytes it took.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        if i == 8 {
            return Some(((value << 8) | u64::from(b), 9));
        }
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// bm25's inverse document frequency, floored as FTS5 floors it (a word in more than half the
/// rows still counts a little).
pub fn idf(rows: i64, hits: i64) -> f64 {
    let v = (((rows - hits) as f64 + 0.5) / (hits as f64 + 0.5)).ln();
    if v <= 0.0 {
        1e-6
    } else {
        v
    }
}

/// A connection's queries' [`QueryStats`], each reused for [`IDF_TTL`]. Bounded: when full,
/// the stale entries go, and if none is stale, all of them.
#[derive(Debug)]
pub struct IdfCache {
    entries: HashMap<Vec<u8>, (Instant, QueryStats)>,
    ttl: Duration,
    capacity: usize,
}

impl IdfCache {
    pub fn new(ttl: Duration, capacity: usize) -> IdfCache {
        IdfCache {
            entries: HashMap::new(),
            ttl,
            capacity,
        }
    }

    /// The stats kept for `query` if they are fresh and have `phrases` phrases.
    pub fn get(&self, query: &[u8], phrases: usize, now: Instant) -> Option<QueryStats> {
        self.entries
            .get(query)
            .filter(|(at, s)| now.duration_since(*at) < self.ttl && s.idf.len() == phrases)
            .map(|(_, s)| s.clone())
    }

    pub fn put(&mut self, query: &[u8], stats: QueryStats, now: Instant) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(query) {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (at, _)| now.duration_since(*at) < ttl);
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(query.to_vec(), (now, stats));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idf_is_bm25s_and_floored_for_words_in_most_rows() {
        assert!((idf(1000, 10) - (990.5f64 / 10.5).ln()).abs() < 1e-12);
        assert_eq!(idf(10, 9), 1e-6);
        assert!(idf(1_000_000, 1) > idf(1_000_000, 1000));
    }

    #[test]
    fn a_row_scores_higher_with_more_hits_and_lower_when_longer() {
        let s = QueryStats::new(100, 1000, &[5]);
        assert_eq!(s.avgdl, 10.0);
        assert!(s.score(&[2.0], 10.0) > s.score(&[1.0], 10.0));
        assert!(s.score(&[1.0], 5.0) > s.score(&[1.0], 20.0));
        assert_eq!(s.score(&[0.0], 10.0), 0.0);
        // One hit in a row of average length: idf × (k1 + 1) / (1 + k1).
        assert!((s.score(&[1.0], 10.0) - idf(100, 5)).abs() < 1e-12);
    }

    #[test]
    fn a_document_length_sums_the_columns_varints() {
        assert_eq!(document_length(&[]), Some(0));
        assert_eq!(document_length(&[3, 40, 1]), Some(44));
        // 200 = 0b1_1001000: two bytes, 0x81 0x48.
        assert_eq!(document_length(&[0x81, 0x48, 2]), Some(202));
        assert_eq!(document_length(&[0x81]), None, "cut short");
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
    }

    #[test]
    fn the_cache_reuses_an_entry_until_it_is_stale_and_stays_bounded() {
        let t0 = Instant::now();
        let mut c = IdfCache::new(Duration::from_secs(60), 2);
        let s = QueryStats::new(10, 100, &[1, 2]);
        c.put(b"black", s.clone(), t0);
        assert_eq!(
            c.get(b"black", 2, t0 + Duration::from_secs(59)),
            Some(s.clone())
        );
        assert_eq!(c.get(b"black", 2, t0 + Duration::from_secs(60)), None);
        assert_eq!(
            c.get(b"black", 1, t0),
            None,
            "another phrase count is another query"
        );
        assert_eq!(c.get(b"white", 2, t0), None);

        c.put(b"white", s.clone(), t0 + Duration::from_secs(30));
        // Full: the stale "black" goes, the fresh "white" stays.
        c.put(b"red", s.clone(), t0 + Duration::from_secs(61));
        assert_eq!(c.len(), 2);
        assert!(c.get(b"white", 2, t0 + Duration::from_secs(61)).is_some());
        // Full and nothing stale: everything goes.
        c.put(b"blue", s.clone(), t0 + Duration::from_secs(62));
        assert_eq!(c.len(), 1);
        assert!(c.get(b"blue", 2, t0 + Duration::from_secs(62)).is_some());
        // Replacing an entry never evicts.
        c.put(b"blue", s, t0 + Duration::from_secs(63));
        assert_eq!(c.len(), 1);
    }
}
