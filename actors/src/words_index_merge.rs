//! `WordsIndexMerger` (SQLite only): keeps the words index (FTS5) in one b-tree, so a search
//! looks each word up once and reads its postings without merging several b-trees' as it
//! goes (`domain::search::words_index` says why and when). At each tick it looks at the
//! index's b-trees and, when `merge_due`, merges a few pages at a time, each few pages a
//! write of its own taken at the writers' gate, for at most [`STEP_BUDGET`] a tick: first
//! whatever merge FTS5 has under way, then, while a merge is still due, every b-tree into one,
//! until a write finds nothing left to merge. At 1M listings the whole index (~42,000 pages) is
//! rewritten in 3 s of work, and a server merged the seeded catalogue's eight b-trees in 4.5
//! minutes. A merge cut short (a failed step, a restart) is gone on with at the next tick
//! where FTS5 left it (its structure record keeps a merge under way); nothing is lost, each
//! write being FTS5's own transaction.

use crate::domain::search::merge_due;
use crate::store::{self, search, Pool};
use actix::prelude::*;
use std::time::{Duration, Instant};

/// The time a tick spends merging, at least one write.
const STEP_BUDGET: Duration = Duration::from_millis(5);
/// Pages merged by one write: at most ~35 µs a page at 1M listings (FTS5's `optimize` rewrote
/// 42,000 pages in 3 s), so a write holds the other writers up for 2 ms at most.
const PAGES_PER_WRITE: i64 = 64;

/// Where a merge round is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Round {
    /// None: each tick looks at the b-trees' sizes.
    Idle,
    /// Going on with whatever merge FTS5 has under way: a writer's own (`automerge` merges a
    /// large b-tree with a small one that has climbed to its level, rewriting it) or one begun
    /// before. Starting anew instead would merge its half-written output once more.
    Going,
    /// Every b-tree put on one level and merged (FTS5's `merge` with a negative count issued).
    Whole,
}

pub struct WordsIndexMerger {
    pool: Pool,
    interval: Duration,
    busy: bool,
    round: Round,
}

impl WordsIndexMerger {
    pub fn new(pool: Pool, interval: Duration) -> Self {
        WordsIndexMerger {
            pool,
            interval,
            busy: false,
            round: Round::Idle,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let round = self.round;
        let work = self
            .pool
            .background("merging the search words index", move |pool| {
                step(pool, round)
            });
        ctx.spawn(fut::wrap_future::<_, Self>(work).map(move |next, act, _| {
            // A failed step starts over: the sizes are looked at again at the next tick.
            act.round = next.unwrap_or(Round::Idle);
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

/// One tick: when idle, whether a merge is due; then merging writes for at most
/// [`STEP_BUDGET`]: going on with the merge under way, and when there is none and a merge is
/// still due, every b-tree put on one level and merged. Answers where the round is.
fn step(pool: &Pool, mut round: Round) -> Result<Round, store::StoreError> {
    let mut conn = pool.get()?;
    if round == Round::Idle {
        let pages = search::words_index_pages(&mut conn)?;
        if !merge_due(&pages) {
            return Ok(Round::Idle);
        }
        tracing::info!(
            b_trees = pages.len(),
            pages = pages.iter().sum::<i64>(),
            "merging the search words index into one b-tree"
        );
        round = Round::Going;
    }
    let deadline = Instant::now() + STEP_BUDGET;
    loop {
        let mut worked =
            conn.write(|conn| search::merge_words_index(conn, PAGES_PER_WRITE, false))?;
        if !worked && round == Round::Going && merge_due(&search::words_index_pages(&mut conn)?) {
            round = Round::Whole;
            worked = conn.write(|conn| search::merge_words_index(conn, PAGES_PER_WRITE, true))?;
        }
        if !worked {
            let pages = search::words_index_pages(&mut conn)?;
            tracing::info!(b_trees = pages.len(), "the search words index is merged");
            return Ok(Round::Idle);
        }
        if Instant::now() >= deadline {
            return Ok(round);
        }
    }
}
