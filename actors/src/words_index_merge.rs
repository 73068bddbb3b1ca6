//! `WordsIndexMerger` (SQLite only): keeps the words index (FTS5) in one b-tree, so a search
//! looks each word up once and reads its postings without merging several b-trees' as it
//! goes (`domain::search::words_index` says why and when). At each tick it looks at the
//! index's b-trees and, when `merge_due`, merges them a few pages at a time, each few pages a
//! write of its own taken at the writers' gate, for at most [`STEP_BUDGET`] a tick, until a
//! write finds nothing left to merge. At 1M listings the whole index (~42,000 pages) is
//! rewritten in 3 s of work, and a server merged the seeded catalogue's eight b-trees in 4.5
//! minutes. A merge cut short (a failed step, a restart) starts over at the next tick, with what
//! it had merged so far as one more b-tree: some work done twice, nothing lost (each write is
//! FTS5's own transaction).

use crate::store::{self, search, Pool};
use actix::prelude::*;
use std::time::{Duration, Instant};

/// The time a tick spends merging, at least one write.
const STEP_BUDGET: Duration = Duration::from_millis(5);
/// Pages merged by one write: at most ~35 µs a page at 1M listings (FTS5's `optimize` rewrote
/// 42,000 pages in 3 s), so a write holds the other writers up for 2 ms at most.
const PAGES_PER_WRITE: i64 = 64;

pub struct WordsIndexMerger {
    pool: Pool,
    interval: Duration,
    busy: bool,
    /// A merge of every b-tree into one has begun and is not finished.
    merging: bool,
}

impl WordsIndexMerger {
    pub fn new(pool: Pool, interval: Duration) -> Self {
        WordsIndexMerger {
            pool,
            interval,
            busy: false,
            merging: false,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let merging = self.merging;
        let work = self
            .pool
            .background("merging the search words index", move |pool| {
                step(pool, merging)
            });
        ctx.spawn(fut::wrap_future::<_, Self>(work).map(move |still, act, _| {
            // A failed step starts over: the sizes are looked at again at the next tick.
            act.merging = still.unwrap_or(false);
            act.busy = false;
        }));
    }
}

impl Actor for WordsIndexMerger {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.interval, Self::tick);
    }
}

/// One tick: unless a merge is under way, whether one is due; then merging writes for at most
/// [`STEP_BUDGET`]. Answers whether the merge goes on at the next tick.
fn step(pool: &Pool, merging: bool) -> Result<bool, store::StoreError> {
    let mut conn = pool.get()?;
    if !merging && !search::words_index_merge_due(&mut conn)? {
        return Ok(false);
    }
    let deadline = Instant::now() + STEP_BUDGET;
    let mut start = !merging;
    loop {
        let worked = conn.write(|conn| search::merge_words_index(conn, PAGES_PER_WRITE, start))?;
        if !worked {
            tracing::info!("the search words index is merged into one b-tree");
            return Ok(false);
        }
        start = false;
        if Instant::now() >= deadline {
            return Ok(true);
        }
    }
}
