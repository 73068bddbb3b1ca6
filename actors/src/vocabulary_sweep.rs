//! `VocabularySweeper`: counts the active listings that hold each word of the search
//! vocabulary (for typo corrections) and forgets the words no listing holds any more
//! (`store::search::forget` says why and how), a step at a time in word order: each step
//! checks words for at most [`STEP_BUDGET`], the words not counted yet first (a new
//! listing's typo is corrected at the next step, not when the pass comes round); after a
//! whole pass it rests [`PASS_REST_STEPS`] steps. Every process sweeps on its own, from the
//! first word; on PostgreSQL a word goes at its second sighting, [`GRACE_STEPS`] intervals
//! after the first.

use crate::store::{self, search, Pool};
use actix::prelude::*;
use std::time::Duration;

/// The time a step spends checking words, at least one (at 1M listings on PostgreSQL a word
/// few listings hold takes ~0.05 ms, one in 6% of them ~6 ms).
const STEP_BUDGET: Duration = Duration::from_millis(5);
/// Steps skipped after a pass over the whole vocabulary, so a small vocabulary is not checked
/// over and over.
const PASS_REST_STEPS: u32 = 12;
/// On PostgreSQL a word is forgotten when found unheld twice, at least this many steps'
/// intervals apart (`store::search::forget` says why): the longest a listing's write may take
/// between adding its words and committing (40 s at the default interval of 5 s).
const GRACE_STEPS: u32 = 8;

pub struct VocabularySweeper {
    pool: Pool,
    /// Between steps: on the 1M catalogue, whose ~170 words are all common, a step every
    /// second cost PostgreSQL 1.1% of a core; every 5 seconds ~0.2%.
    interval: Duration,
    busy: bool,
    /// Where the sweep goes on (after this word; empty: from the first).
    after: String,
    /// Steps left to skip before the next pass.
    rest: u32,
}

impl VocabularySweeper {
    pub fn new(pool: Pool, interval: Duration) -> Self {
        VocabularySweeper {
            pool,
            interval,
            busy: false,
            after: String::new(),
            rest: 0,
        }
    }

    fn step(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        // A resting pass still lets the step count the new words.
        let resting = self.rest > 0;
        self.rest = self.rest.saturating_sub(1);
        self.busy = true;
        let after = (!resting).then(|| self.after.clone());
        let grace = self.interval * GRACE_STEPS;
        let work = self
            .pool
            .background("sweeping the search vocabulary", move |pool| {
                sweep(pool, after.as_deref(), grace)
            });
        ctx.spawn(fut::wrap_future::<_, Self>(work).map(move |next, act, _| {
            if let (Some(next), false) = (next, resting) {
                if next.is_empty() {
                    act.rest = PASS_REST_STEPS;
                }
                act.after = next;
            }
            act.busy = false;
        }));
    }
}

impl Actor for VocabularySweeper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.interval, Self::step);
    }
}

/// One step: the new words, then the pass after `after` (`None`: resting); the words checked
/// that no listing holds are forgotten (on PostgreSQL: marked, or forgotten if marked at least
/// `grace` ago). Answers where the pass goes on.
fn sweep(pool: &Pool, after: Option<&str>, grace: Duration) -> Result<String, store::StoreError> {
    let mut conn = pool.get()?;
    let checked = search::unheld_words(&mut conn, after, STEP_BUDGET)?;
    if !checked.recounted.is_empty() || !checked.unheld.is_empty() {
        let forgotten = conn.write(|conn| {
            search::record_counts(conn, &checked.recounted)?;
            search::forget_words(conn, &checked.unheld, grace)
        })?;
        if forgotten > 0 {
            tracing::info!(
                forgotten,
                "search words no listing holds any more were forgotten"
            );
        }
    }
    Ok(checked.next)
}
