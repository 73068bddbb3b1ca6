//! A query's words as the vocabulary last spelled them, kept a while by the process.
//!
//! Before a words search reads a single listing it asks the vocabulary about its words: whether
//! each word of 5+ letters is known and what the sweep found it should be corrected to
//! (`typos.rs`), the known words one edit away from one it does not know, and the words a long
//! last word begins (`prefixes.rs`). That is two to four reads on SQLite and a round trip on
//! PostgreSQL, the same answer each time a popular query comes again. So the spelled query is
//! kept under the query as parsed for the server's `--spelled-ttl-ms` ([`SPELLED_TTL`] by
//! default): a search typed again within it reads no vocabulary (at 1M listings on SQLite a
//! two-word search's server CPU 751 → 657 µs, a facets call's 696 → 669).
//!
//! What a kept spelling can miss, for at most its lifetime: a word new to the catalogue
//! among the words a prefix already spelled out as others ("jacke" kept as "jacket" does not
//! find a first "jacketed"; a prefix that began no word stays a prefix, which finds it), and
//! the sweep's latest corrections. The listings themselves are always read as they are now.
//!
//! Bounded: at most [`SPELLED_CAPACITY`] queries; when full the stale ones go, and if none is
//! stale all of them (a client sending endless new queries only ever spells its own again).

use crate::domain::search::TextQuery;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a query's spelling is reused before the vocabulary is read again.
pub const SPELLED_TTL: Duration = Duration::from_secs(10);

/// Most queries kept.
pub const SPELLED_CAPACITY: usize = 4_096;

/// The spellings of the queries searched lately (see the module). One per process, shared by
/// its searches.
#[derive(Debug)]
pub struct SpelledQueries {
    kept: Mutex<Kept>,
}

impl Default for SpelledQueries {
    fn default() -> Self {
        SpelledQueries::new(SPELLED_TTL, SPELLED_CAPACITY)
    }
}

impl SpelledQueries {
    pub fn new(ttl: Duration, capacity: usize) -> SpelledQueries {
        SpelledQueries {
            kept: Mutex::new(Kept {
                entries: HashMap::new(),
                ttl,
                capacity,
            }),
        }
    }

    /// `typed` as spelled: kept if fresh, else spelled now by `spell` (outside the lock: it
    /// reads the database) and kept. An error is not kept; with a zero lifetime nothing is.
    pub fn spelled<E>(
        &self,
        typed: &TextQuery,
        spell: impl FnOnce() -> Result<TextQuery, E>,
    ) -> Result<TextQuery, E> {
        // None: a zero lifetime, nothing kept; Some(None): not kept, or stale.
        let kept = {
            let kept = self.lock();
            (!kept.ttl.is_zero()).then(|| kept.get(typed, Instant::now()))
        };
        match kept {
            None => return spell(),
            Some(Some(kept)) => return Ok(kept),
            Some(None) => {}
        }
        let spelled = spell()?;
        self.lock().put(typed, spelled.clone(), Instant::now());
        Ok(spelled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic elsewhere while holding it leaves nothing half-written: a map of whole entries.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
struct Kept {
    entries: HashMap<TextQuery, (Instant, TextQuery)>,
    ttl: Duration,
    capacity: usize,
}

impl Kept {
    fn get(&self, typed: &TextQuery, now: Instant) -> Option<TextQuery> {
        self.entries
            .get(typed)
            .filter(|(at, _)| now.duration_since(*at) < self.ttl)
            .map(|(_, spelled)| spelled.clone())
    }

    fn put(&mut self, typed: &TextQuery, spelled: TextQuery, now: Instant) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(typed) {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (at, _)| now.duration_since(*at) < ttl);
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(typed.clone(), (now, spelled));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> TextQuery {
        TextQuery::parse(q).expect("a query")
    }

    #[test]
    fn a_spelling_is_reused_until_it_is_stale() {
        let t0 = Instant::now();
        let mut kept = Kept {
            entries: HashMap::new(),
            ttl: Duration::from_secs(10),
            capacity: 8,
        };
        kept.put(&query("camra"), query("camra OR camera"), t0);
        assert_eq!(
            kept.get(&query("camra"), t0 + Duration::from_secs(9)),
            Some(query("camra OR camera"))
        );
        assert_eq!(
            kept.get(&query("camra"), t0 + Duration::from_secs(10)),
            None
        );
        // Another query, even one that differs only in what is being typed, is its own.
        assert_eq!(kept.get(&query("camra "), t0), None);
    }

    #[test]
    fn a_full_cache_drops_the_stale_then_everything() {
        let t0 = Instant::now();
        let mut kept = Kept {
            entries: HashMap::new(),
            ttl: Duration::from_secs(10),
            capacity: 2,
        };
        kept.put(&query("old"), query("old"), t0);
        kept.put(&query("newer"), query("newer"), t0 + Duration::from_secs(5));
        // Full: the stale one goes, the fresh one stays.
        kept.put(
            &query("third"),
            query("third"),
            t0 + Duration::from_secs(11),
        );
        assert_eq!(kept.entries.len(), 2);
        assert!(kept
            .get(&query("newer"), t0 + Duration::from_secs(11))
            .is_some());
        // Full of fresh ones: all go.
        kept.put(
            &query("fourth"),
            query("fourth"),
            t0 + Duration::from_secs(12),
        );
        assert_eq!(kept.entries.len(), 1);
        assert!(kept
            .get(&query("fourth"), t0 + Duration::from_secs(12))
            .is_some());
    }

    #[test]
    fn the_spelling_is_read_once_while_fresh_and_an_error_is_not_kept() {
        let spelled = SpelledQueries::default();
        let mut reads = 0;
        for _ in 0..3 {
            let got: Result<TextQuery, ()> = spelled.spelled(&query("leather jacke"), || {
                reads += 1;
                Ok(query("leather jacket"))
            });
            assert_eq!(got, Ok(query("leather jacket")));
        }
        assert_eq!(reads, 1);
        assert_eq!(spelled.spelled(&query("lamp"), || Err("lost")), Err("lost"));
        assert_eq!(
            spelled.spelled(&query("lamp"), || Ok::<_, ()>(query("lamps"))),
            Ok(query("lamps"))
        );
    }

    #[test]
    fn a_zero_lifetime_keeps_nothing() {
        let spelled = SpelledQueries::new(Duration::ZERO, SPELLED_CAPACITY);
        let mut reads = 0;
        for _ in 0..2 {
            let got = spelled.spelled(&query("lamp"), || {
                reads += 1;
                Ok::<_, ()>(query("lamp"))
            });
            assert_eq!(got, Ok(query("lamp")));
        }
        assert_eq!(reads, 2);
        assert!(spelled.lock().entries.is_empty());
    }
}
