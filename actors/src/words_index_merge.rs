//! `WordsIndexMerger` (SQLite only): the one that merges the words index (FTS5), in the
//! background, a bounded step a write. Writers of listings merge nothing: FTS5's own merging
//! (`automerge`) is off (migration `search_words_merged_in_background` says why: a write
//! could carry thousands of pages of it). At each tick, for at most [`STEP_BUDGET`], at least
//! one write, and while levels are left to merge again [`CATCH_UP_PAUSE`] later: first what
//! FTS5 would have merged as writes went by (a level of two b-trees or more, `usermerge`) and
//! whatever merge is under way; then, when nothing is left there and `merge_due`
//! (`domain::search::words_index` says why and when), every b-tree into one, so a search looks
//! each word up once. At 1M listings the whole index (~42,000 pages then, 61,078 now) is
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
/// While a tick leaves levels to merge, the next comes this soon rather than at the timer's:
/// the merger then takes at most a tenth of the writers' time (5 ms in 50), and merges a
/// burst's small b-trees in seconds (at the timer's pace alone, 5 ms a second, 20,000
/// listings created at 1M in 50 s left 13 to 47 of them for minutes; with this, 3 or 4 were
/// left 20 s after, and the creations went as fast within the runs' spread: BENCHMARKS). A
/// merge of every b-tree into one keeps the timer's pace: it rewrites the whole index (3 s of
/// work at 1M) for a gain that is small beside the levels'.
const CATCH_UP_PAUSE: Duration = Duration::from_millis(45);
/// Pages merged by one write: at most ~35 µs a page at 1M listings (FTS5's `optimize` rewrote
/// 42,000 pages in 3 s), so a write holds the other writers up for 2 ms at most.
const PAGES_PER_WRITE: i64 = 64;

/// Where a merge round is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Round {
    /// Merging levels, as FTS5's own merging did, when there is anything to merge.
    Levels,
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
            round: Round::Levels,
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
        ctx.spawn(
            fut::wrap_future::<_, Self>(work).map(move |done, act, ctx| {
                act.busy = false;
                // A failed step is taken again at the next tick, from where FTS5 left it.
                let Some(Tick { round, more }) = done else {
                    return;
                };
                act.round = round;
                if more {
                    ctx.run_later(CATCH_UP_PAUSE, Self::tick);
                }
            }),
        );
    }
}

impl Actor for WordsIndexMerger {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.interval, Self::tick);
    }
}

/// Where a tick left the merging.
struct Tick {
    round: Round,
    /// Stopped at the budget with levels left to merge: the next tick comes soon.
    more: bool,
}

/// One tick: merging writes for at most [`STEP_BUDGET`], at least one: a level's or the one
/// under way, and when there is none and a merge is due, every b-tree put on one level and
/// merged.
fn step(pool: &Pool, mut round: Round) -> Result<Tick, store::StoreError> {
    let mut conn = pool.get()?;
    let deadline = Instant::now() + STEP_BUDGET;
    loop {
        if conn.write(|conn| search::merge_words_index(conn, PAGES_PER_WRITE, false))? {
            if Instant::now() >= deadline {
                let more = round == Round::Levels;
                return Ok(Tick { round, more });
            }
            continue;
        }
        // Nothing left to merge level by level, nor a merge under way.
        let pages = search::words_index_pages(&mut conn)?;
        if round == Round::Whole {
            tracing::info!(b_trees = pages.len(), "the search words index is merged");
            round = Round::Levels;
        }
        if !merge_due(&pages) || Instant::now() >= deadline {
            return Ok(Tick { round, more: false });
        }
        tracing::info!(
            b_trees = pages.len(),
            pages = pages.iter().sum::<i64>(),
            "merging the search words index into one b-tree"
        );
        if !conn.write(|conn| search::merge_words_index(conn, PAGES_PER_WRITE, true))? {
            return Ok(Tick { round, more: false });
        }
        round = Round::Whole;
    }
}
