//! `AlertMatcher`: matches listings against the saved searches off the request path, after
//! their commit.
//!
//! The queue is durable: the write that makes a listing visible or drops its price adds a
//! `saved_search_pending` row in its own transaction, so nothing is lost to a restart or a full
//! mailbox. After the commit the writer rings the [`AlertBell`] (`try_send` into a mailbox of
//! one: it never blocks and never grows; a full mailbox means a run is already due). The
//! matcher also looks every `interval`, which picks up rows another process wrote or left.
//!
//! Each pending listing is matched on a pooled connection (candidates by the listing's words
//! and keys, one indexed query each; each candidate confirmed with the pure rules and its words
//! against the listing's index row), then one transaction takes the pending row (a delete: of
//! two processes only one gets it), records each alert unless it was sent already (the unique
//! (saved search, listing) row) and writes the notifications and their events. The events go
//! to the broker after the commit, and on PostgreSQL to every process through the relay.
//!
//! On PostgreSQL a listing that alerts many searches ([`PARALLEL_MIN_ALERTS`]) has its alerts
//! written by [`PARALLEL_WRITERS`] transactions side by side, one per share of the owners, each
//! published as soon as it commits, while the transaction that took the pending row stays open
//! and commits last. Every alert is still sent at most once, because the ledger row decides,
//! not the pending row: if a share fails, or the process dies before the last commit, the
//! pending row comes back and the next run writes only what no share recorded. The open
//! transaction holds nothing but the pending row, whose only other taker is a matcher's first
//! statement, so the shares never wait on a lock their own coordinator holds. The owners'
//! shares are disjoint, so the shares lock different topics.

use crate::broker::{Broker, Publish};
use crate::domain::listing::ListingStatus;
use crate::domain::saved_search::{alert_due, listing_keys, listing_words, saved_filters, Trigger};
use crate::domain::search::ListingFacts;
use crate::domain::UserId;
use crate::events::Outbox;
use crate::store::models::{Event, Listing};
use crate::store::saved_searches::{self, Candidate, Pending};
use crate::store::{self, listings, DbConnection, Pool, PooledConn, StoreError};
use actix::prelude::*;
use std::collections::HashSet;
use std::time::Duration;

/// Pending listings read per query.
const MATCH_BATCH: i64 = 64;
/// Batches one run takes before it yields to the next run (so a backlog never holds a
/// blocking thread for long).
const MAX_BATCHES_PER_RUN: usize = 16;
/// From this many alerts for one listing, PostgreSQL writes them in [`PARALLEL_WRITERS`]
/// transactions side by side (fewer go in one: a second connection and thread cost more).
const PARALLEL_MIN_ALERTS: usize = 256;
/// How many transactions write a large listing's alerts on PostgreSQL.
const PARALLEL_WRITERS: usize = 2;

/// The job a listing's matching is logged as when it fails (`Pool::job_failed`): while the
/// database refuses the alerts' writes, every run fails on its first listing.
const MATCH_ONE: &str = "matching a listing against saved searches";

/// Wakes the matcher after a commit that left listings to match.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ListingsChanged;

/// How a writer wakes the matcher; the default rings nothing (the matcher's own interval
/// still finds the work).
#[derive(Clone, Default)]
pub struct AlertBell(Option<Recipient<ListingsChanged>>);

impl AlertBell {
    pub fn new(matcher: Recipient<ListingsChanged>) -> Self {
        AlertBell(Some(matcher))
    }

    /// Never blocks: when the matcher's mailbox is full, a run is due anyway.
    pub fn ring(&self) {
        if let Some(matcher) = &self.0 {
            let _ = matcher.try_send(ListingsChanged);
        }
    }
}

impl std::fmt::Debug for AlertBell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "AlertBell"
        } else {
            "AlertBell(silent)"
        })
    }
}

pub struct AlertMatcher {
    pool: Pool,
    broker: Broker,
    interval: Duration,
    busy: bool,
    /// Rung while a run was in flight: run again when it ends.
    again: bool,
}

impl AlertMatcher {
    pub fn new(pool: Pool, broker: Broker, interval: Duration) -> Self {
        AlertMatcher {
            pool,
            broker,
            interval,
            busy: false,
            again: false,
        }
    }

    fn run(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            self.again = true;
            return;
        }
        self.busy = true;
        self.again = false;
        let broker = self.broker.clone();
        let work = self
            .pool
            .background("matching saved searches", move |pool| drain(pool, &broker));
        ctx.spawn(fut::wrap_future::<_, Self>(work).map(|more, act, ctx| {
            act.busy = false;
            let more = more.unwrap_or(false);
            if more || act.again {
                act.run(ctx);
            }
        }));
    }
}

impl Actor for AlertMatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1);
        // Listings left pending while the server was down are matched at start-up.
        self.run(ctx);
        ctx.run_interval(self.interval, Self::run);
    }
}

impl Handler<ListingsChanged> for AlertMatcher {
    type Result = ();

    fn handle(&mut self, _msg: ListingsChanged, ctx: &mut Self::Context) {
        self.run(ctx);
    }
}

/// Matches pending listings until none is left or the run's share is done; true when more
/// may be waiting. A listing whose matching fails stays pending for the next run.
fn drain(pool: &Pool, broker: &Broker) -> Result<bool, StoreError> {
    let mut conn = pool.get()?;
    for _ in 0..MAX_BATCHES_PER_RUN {
        let batch = saved_searches::pending(&mut conn, MATCH_BATCH)?;
        if batch.is_empty() {
            return Ok(false);
        }
        let mut failed = false;
        for pending in &batch {
            match match_one(pool, broker, &mut conn, pending) {
                Ok(events) => {
                    pool.job_worked(MATCH_ONE);
                    if !events.is_empty() {
                        broker.do_send(Publish { events });
                    }
                }
                Err(e) => {
                    failed = true;
                    let listing = pending.listing_id;
                    pool.job_failed(MATCH_ONE, &format_args!("listing {listing}: {e}"));
                }
            }
        }
        if failed {
            // Retried at the next interval, not at once.
            return Ok(false);
        }
    }
    Ok(true)
}

/// Matches one pending listing and, in one transaction, takes the pending row and writes the
/// alerts not sent before (on PostgreSQL, many of them in [`PARALLEL_WRITERS`] transactions,
/// see the module's notes). Returns the events left to publish (none if another process took
/// it, or if the shares published their own).
fn match_one(
    pool: &Pool,
    broker: &Broker,
    conn: &mut PooledConn,
    pending: &Pending,
) -> Result<Vec<Event>, StoreError> {
    let listing = listings::find(conn, pending.listing_id)?;
    let due = match &listing {
        Some(l) if l.status() == ListingStatus::Active => due_searches(conn, l, pending.trigger())?,
        _ => Vec::new(),
    };
    // The shares take connections of their own besides this one.
    let parallel = !pool.one_writer_at_a_time()
        && pool.max_size() as usize > PARALLEL_WRITERS
        && due.len() >= PARALLEL_MIN_ALERTS;
    conn.write_transaction(|conn| -> Result<Vec<Event>, StoreError> {
        if !saved_searches::claim(conn, pending.id)? {
            return Ok(Vec::new());
        }
        match &listing {
            Some(l) if parallel => {
                write_shares(pool, broker, l, &due)?;
                Ok(Vec::new())
            }
            Some(l) => write_alerts(conn, l, &due),
            None => Ok(Vec::new()),
        }
    })
}

/// Records the alerts of `due` for `l` that were not sent before and writes their
/// notifications and events, in the caller's transaction; returns the events.
fn write_alerts(
    conn: &mut DbConnection,
    l: &Listing,
    due: &[Candidate],
) -> Result<Vec<Event>, StoreError> {
    let ids: Vec<i64> = due.iter().map(|s| s.id).collect();
    let recorded: HashSet<i64> = saved_searches::record_alerts(conn, &ids, l.id, store::now())?
        .into_iter()
        .collect();
    let mut outbox = Outbox::default();
    for search in due.iter().filter(|s| recorded.contains(&s.id)) {
        outbox.saved_search_notification(UserId(search.user_id), search, l);
    }
    Ok(outbox.flush(conn)?)
}

/// Writes `due`'s alerts in [`PARALLEL_WRITERS`] transactions side by side, one per share of
/// the owners (`owner_shares`), each on a connection of its own and published when it commits.
/// The first error is returned once every share has ended.
fn write_shares(
    pool: &Pool,
    broker: &Broker,
    l: &Listing,
    due: &[Candidate],
) -> Result<(), StoreError> {
    let shares = owner_shares(due, PARALLEL_WRITERS);
    std::thread::scope(|scope| {
        let writers: Vec<_> = shares
            .iter()
            .map(|share| {
                scope.spawn(move || -> Result<(), StoreError> {
                    let mut conn = pool.get()?;
                    let events = conn.write_transaction(|c| write_alerts(c, l, share))?;
                    if !events.is_empty() {
                        broker.do_send(Publish { events });
                    }
                    Ok(())
                })
            })
            .collect();
        // Every writer joined here (one that panicked is an error, not the scope's panic).
        let ended: Vec<Result<(), StoreError>> = writers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(StoreError::Task("an alert writer panicked".into())))
            })
            .collect();
        ended.into_iter().collect()
    })
}

/// `due` in `n` shares by owner: all of one owner's searches in one share, so two shares never
/// write to the same user's topic.
fn owner_shares(due: &[Candidate], n: usize) -> Vec<Vec<Candidate>> {
    let n = n.max(1);
    let mut shares = vec![Vec::new(); n];
    for search in due {
        shares[search.user_id.rem_euclid(n as i64) as usize].push(search.clone());
    }
    shares.retain(|s| !s.is_empty());
    shares
}

/// The saved searches `listing` alerts: those found through their anchors whose words match
/// the listing's index row (the store's query), confirmed with the pure rules.
fn due_searches(
    conn: &mut DbConnection,
    l: &Listing,
    trigger: Trigger,
) -> Result<Vec<Candidate>, StoreError> {
    let facts = ListingFacts {
        category: l.category.as_deref(),
        condition: l.condition.as_deref(),
        seller_id: l.seller_id,
        price_cents: l.price_cents,
        status: l.status(),
    };
    let words = listing_words(&l.title, &l.description, l.category.as_deref());
    let keys = listing_keys(l.category.as_deref(), l.condition.as_deref());
    let mut due = saved_searches::candidates(conn, l.id, words.as_ref(), &keys)?;
    due.retain(|search| {
        saved_filters(
            search.category.as_deref(),
            search.condition.as_deref(),
            search.min_price_cents,
            search.max_price_cents,
        )
        .is_some_and(|f| alert_due(trigger, UserId(search.user_id), &f, &facts))
    });
    Ok(due)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(id: i64, user_id: i64) -> Candidate {
        Candidate {
            id,
            user_id,
            name: None,
            category: None,
            condition: None,
            min_price_cents: None,
            max_price_cents: None,
            match_text: None,
        }
    }

    #[test]
    fn each_owner_is_in_one_share_and_every_search_in_one() {
        let due: Vec<Candidate> = (0..40).map(|i| search(i, 1 + i % 7)).collect();
        let shares = owner_shares(&due, 2);
        assert_eq!(shares.len(), 2);
        let mut ids: Vec<i64> = shares.iter().flatten().map(|s| s.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..40).collect::<Vec<_>>());
        for user in 1..=7 {
            let holding = shares
                .iter()
                .filter(|share| share.iter().any(|s| s.user_id == user))
                .count();
            assert_eq!(holding, 1, "user {user} is in {holding} shares");
        }
    }

    #[test]
    fn empty_shares_are_left_out() {
        let due = vec![search(1, 4), search(2, 4)];
        assert_eq!(owner_shares(&due, 2).len(), 1);
        assert!(owner_shares(&[], 2).is_empty());
    }
}
