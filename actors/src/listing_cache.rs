//! `ListingCache`: listing rows recently read, so a hot listing's page does not cost a
//! database read per view. Every write to a listing in this process goes through its
//! `ListingActor`, which forgets the row after its commit and before it answers, so a client
//! reads its own writes; a like forgets it too. A write made by another process (PostgreSQL)
//! is seen once the entry is older than the cache's `ttl`.
//!
//! A read that raced a write must not put the old row back after the writer forgot it: each
//! listing has a generation that every `forget` moves on, and a row is kept only if its
//! generation did not move while it was being read.
//!
//! An entry also says whether the listing's seller was suspended when it was read (a
//! suspended seller's listings are hidden from everyone else); a suspension, or its end, is
//! therefore seen once the entry is older than `ttl`, as another process's write is.

use crate::store::models::Listing;
use crate::store::photos::Photo;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The most listings kept; past it, every entry goes (generations are kept with them, so
/// reads that began before are dropped too, which is safe).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct ListingCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    slots: HashMap<i64, Slot>,
    /// Moves on when every slot is dropped, so no read from before can be put back.
    epoch: u64,
}

#[derive(Debug, Default)]
struct Slot {
    generation: u64,
    row: Option<(Seen, Instant)>,
}

/// A listing row as read, with whether its seller was suspended then.
#[derive(Clone, Debug)]
pub struct Seen {
    pub listing: Listing,
    pub seller_suspended: bool,
    /// Its photos in order (every photo change is a listing command, which forgets the entry).
    pub photos: Vec<Photo>,
}

/// What a read saw before it went to the database; hand it back to [`ListingCache::put`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
    generation: u64,
}

impl ListingCache {
    /// A cache that trusts an entry for `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        ListingCache {
            ttl,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached row, or the ticket to put the row read from the database.
    pub fn get(&self, id: i64) -> Result<Seen, Ticket> {
        let state = self.state();
        let slot = state.slots.get(&id);
        if let Some((row, at)) = slot.and_then(|s| s.row.as_ref()) {
            if at.elapsed() < self.ttl {
                return Ok(row.clone());
            }
        }
        Err(Ticket {
            epoch: state.epoch,
            generation: slot.map_or(0, |s| s.generation),
        })
    }

    /// Keeps `row`, read from the database after `get` gave `ticket`, unless the listing was
    /// written (forgotten) since.
    pub fn put(&self, row: Seen, ticket: Ticket) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.state();
        if state.epoch != ticket.epoch {
            return;
        }
        if state.slots.len() >= MAX_ENTRIES && !state.slots.contains_key(&row.listing.id) {
            state.slots.clear();
            state.epoch += 1;
            return;
        }
        let slot = state.slots.entry(row.listing.id).or_default();
        if slot.generation == ticket.generation {
            slot.row = Some((row, Instant::now()));
        }
    }

    /// The listing was written: its cached row, and any read in flight, are stale.
    pub fn forget(&self, id: i64) {
        let mut state = self.state();
        let slot = state.slots.entry(id).or_default();
        slot.generation += 1;
        slot.row = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::listing::ListingStatus;

    fn row(id: i64, version: i64) -> Seen {
        let now = crate::store::now();
        let listing = Listing {
            id,
            seller_id: 1,
            title: "Bike".into(),
            description: String::new(),
            category: None,
            condition: None,
            price_cents: 100,
            currency: "EUR".into(),
            quantity: 1,
            status: ListingStatus::Active,
            like_count: 0,
            auto_accept_cents: None,
            auto_decline_cents: None,
            version,
            created_at: now,
            updated_at: now,
            auto_drop_percent: None,
            auto_drop_interval_secs: None,
            auto_drop_floor_cents: None,
            next_price_drop_at: None,
        };
        Seen {
            listing,
            seller_suspended: false,
            photos: Vec::new(),
        }
    }

    #[test]
    fn a_row_read_is_served_until_the_listing_is_written() {
        let cache = ListingCache::new(Duration::from_secs(60));
        let ticket = cache.get(7).unwrap_err();
        cache.put(row(7, 1), ticket);
        assert_eq!(cache.get(7).map(|l| l.listing.version), Ok(1));
        cache.forget(7);
        assert!(cache.get(7).is_err());
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = ListingCache::new(Duration::from_secs(60));
        let ticket = cache.get(7).unwrap_err();
        // The write commits and forgets while the read is in flight with the old row.
        cache.forget(7);
        cache.put(row(7, 1), ticket);
        assert!(cache.get(7).is_err());
        // A read that starts after the write is kept.
        let ticket = cache.get(7).unwrap_err();
        cache.put(row(7, 2), ticket);
        assert_eq!(cache.get(7).map(|l| l.listing.version), Ok(2));
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let brief = ListingCache::new(Duration::from_millis(1));
        let ticket = brief.get(7).unwrap_err();
        brief.put(row(7, 1), ticket);
        std::thread::sleep(Duration::from_millis(5));
        assert!(brief.get(7).is_err());

        let off = ListingCache::new(Duration::ZERO);
        let ticket = off.get(7).unwrap_err();
        off.put(row(7, 1), ticket);
        assert!(off.get(7).is_err());
    }
}
