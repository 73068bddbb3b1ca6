//! The actor itself: its state, how a command's transaction runs on the blocking pool and is
//! published after its commit, idle passivation, and the listing edits.

use super::tx::{execute, Failure, Tx};
use super::{CloseListing, DropPriceOnSchedule, ListingError, Passivated, Purchase};
use crate::broker::{Broker, Publish};
use crate::domain::auto_price_drop::decide_scheduled_drop;
use crate::domain::listing::decide_close;
use crate::domain::rules::CommerceRules;
use crate::domain::ListingId;
use crate::events::LISTING_UPDATED;
use crate::group_commit::Queue;
use crate::listing_cache::ListingCache;
use crate::saved_searches::AlertBell;
use crate::store::models::{Event, Listing, Order};
use crate::store::Pool;
use actix::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many commands may wait in a listing actor's mailbox (senders beyond it wait their
/// turn): the most purchases one group commit takes.
const MAX_QUEUED_COMMANDS: usize = 1024;

pub struct ListingActor {
    pub(super) id: ListingId,
    pub(super) pool: Pool,
    pub(super) broker: Broker,
    pub(super) rules: Arc<CommerceRules>,
    pub(super) cache: Arc<ListingCache>,
    /// Told when the actor stops for being idle (the directory that started it), so it is
    /// not handed commands it can no longer take.
    passivated: Recipient<Passivated>,
    pub(super) last_used: Instant,
    idle_after: Duration,
    /// Purchases waiting for the next group commit.
    pub(super) purchases: Queue<Purchase, Result<Order, ListingError>>,
    /// Woken after an edit's commit: it may have left the listing for the saved-search
    /// matcher (activated, or its price dropped).
    alerts: AlertBell,
}

impl ListingActor {
    pub fn new(
        id: ListingId,
        pool: Pool,
        broker: Broker,
        rules: Arc<CommerceRules>,
        cache: Arc<ListingCache>,
        passivated: Recipient<Passivated>,
        idle_after: Duration,
    ) -> Self {
        ListingActor {
            id,
            pool,
            broker,
            rules,
            cache,
            passivated,
            last_used: Instant::now(),
            idle_after,
            purchases: Queue::default(),
            alerts: AlertBell::default(),
        }
    }

    /// Wakes `alerts` after each edit's commit.
    pub fn with_alerts(mut self, alerts: AlertBell) -> Self {
        self.alerts = alerts;
        self
    }

    /// Runs one command's transaction on the blocking pool; the actor takes no other command
    /// until it is done. Its events go to the broker only after the commit, and the cached
    /// row is forgotten before the answer, so the caller reads its own write.
    pub(super) fn run<T, F>(&mut self, command: F) -> AtomicResponse<Self, Result<T, ListingError>>
    where
        T: Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<T, Failure> + Send + 'static,
    {
        self.run_blocking(move |pool, id, rules| execute(pool, id, rules, command))
    }

    /// Runs `work` on the blocking pool as [`run`](Self::run) runs a transaction, for a command
    /// that decides itself whether and how it needs the listing's transaction (a like that can
    /// be one plain write).
    pub(super) fn run_blocking<T, W>(
        &mut self,
        work: W,
    ) -> AtomicResponse<Self, Result<T, ListingError>>
    where
        T: Send + 'static,
        W: FnOnce(&Pool, ListingId, &CommerceRules) -> Result<(T, Vec<Event>), ListingError>
            + Send
            + 'static,
    {
        self.last_used = Instant::now();
        let (pool, id, rules) = (self.pool.clone(), self.id, self.rules.clone());
        let work = tokio::task::spawn_blocking(move || work(&pool, id, &rules));
        AtomicResponse::new(Box::pin(fut::wrap_future::<_, Self>(work).map(
            |joined, act, _ctx| {
                act.cache.forget(act.id.0);
                match joined {
                    Ok(Ok((value, events))) => {
                        let edited = events.iter().any(|e| e.event_type == LISTING_UPDATED);
                        if !events.is_empty() {
                            act.broker.do_send(Publish { events });
                        }
                        if edited {
                            act.alerts.ring();
                        }
                        Ok(value)
                    }
                    Ok(Err(e)) => Err(e),
                    Err(panic) => {
                        tracing::error!(listing.id = %act.id, error = %panic, "listing command panicked");
                        Err(ListingError::Unavailable)
                    }
                }
            },
        )))
    }
}

impl Actor for ListingActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Commands that arrive while a commit is in flight wait here; purchases among them
        // make the next batch.
        ctx.set_mailbox_capacity(MAX_QUEUED_COMMANDS);
        let check_every = (self.idle_after / 2).max(Duration::from_millis(10));
        ctx.run_interval(check_every, |act, ctx| {
            if act.last_used.elapsed() >= act.idle_after {
                act.passivated.do_send(Passivated {
                    id: act.id,
                    addr: ctx.address(),
                });
                ctx.stop();
            }
        });
    }
}

/// A command that is one transaction: `handle!(Msg, Answer, |tx, msg| body)` runs `body` in
/// [`ListingActor::run`]. Used by every command family's file.
macro_rules! handle {
    ($msg:ty, $out:ty, |$tx:ident, $m:ident| $body:expr) => {
        impl ::actix::Handler<$msg> for $crate::listing::ListingActor {
            type Result = ::actix::AtomicResponse<
                Self,
                ::std::result::Result<$out, $crate::listing::ListingError>,
            >;

            fn handle(&mut self, $m: $msg, _ctx: &mut Self::Context) -> Self::Result {
                self.run(move |$tx: &mut $crate::listing::tx::Tx<'_>| $body)
            }
        }
    };
}

handle!(DropPriceOnSchedule, Listing, |tx, _msg| {
    match decide_scheduled_drop(&tx.listing.state(), tx.now) {
        Some(change) => tx.change_price(&change),
        None => Ok(tx.listing.clone()),
    }
});

handle!(CloseListing, Listing, |tx, msg| {
    let change = decide_close(&tx.listing.state(), msg.by)?;
    tx.change_listing(&change)
});
