//! `Timekeeper`: runs the stored deadlines. Every tick it reads the deadlines that have passed
//! (open offers past `expires_at`, shipped orders past `auto_complete_at`, active listings past
//! `next_price_drop_at`, open disputes past `escalate_at`) and sends each to its listing's actor as a system command. The command re-checks the deadline against the
//! database, so a deadline fires once however many ticks or processes see it; deadlines that
//! passed while the server was down fire at the first tick after start-up.

use crate::directory::{send_to_listing, Directory};
use crate::domain::offer::{OfferAction, Party};
use crate::domain::order::OrderAction;
use crate::domain::{ListingId, OfferId, OrderId};
use crate::listing::{ActOnOffer, ActOnOrder, DropPriceOnSchedule, EscalateDispute, ListingError};
use crate::store::{self, disputes, idempotency, listings, offers, orders, Pool};
use actix::prelude::*;
use std::time::{Duration, Instant};

/// Deadlines handled per kind and tick; the rest wait for the next tick.
const BATCH: i64 = 500;
/// Idempotency keys are kept at least this long.
pub const IDEMPOTENCY_KEY_TTL_HOURS: i64 = 48;
const PURGE_EVERY: Duration = Duration::from_secs(3600);

pub struct Timekeeper {
    pool: Pool,
    directory: Addr<Directory>,
    interval: Duration,
    busy: bool,
    last_purge: Option<Instant>,
}

impl Timekeeper {
    pub fn new(pool: Pool, directory: Addr<Directory>, interval: Duration) -> Self {
        Timekeeper {
            pool,
            directory,
            interval,
            busy: false,
            last_purge: None,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let purge = self.last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY);
        if purge {
            self.last_purge = Some(Instant::now());
        }
        let directory = self.directory.clone();
        let pool = self.pool.clone();
        let due = self.pool.background("reading due deadlines", move |pool| {
            due_deadlines(pool, purge)
        });
        let work = async move {
            if let Some(due) = due.await {
                fire(&pool, &directory, due).await;
            }
        };
        ctx.spawn(fut::wrap_future::<_, Self>(work).map(|(), act, _| act.busy = false));
    }
}

impl Actor for Timekeeper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.tick(ctx);
        ctx.run_interval(self.interval, Self::tick);
    }
}

/// Offers or orders whose deadline has passed, each with its listing.
type Due<Id> = Vec<(Id, ListingId)>;

/// Every kind of deadline that has passed.
struct Deadlines {
    expiring: Due<OfferId>,
    completing: Due<OrderId>,
    price_drops: Vec<ListingId>,
    /// Disputes unresolved past their timer, by order.
    escalating: Due<OrderId>,
}

fn due_deadlines(pool: &Pool, purge: bool) -> Result<Deadlines, store::StoreError> {
    let mut conn = pool.get()?;
    let now = store::now();
    if purge {
        let cutoff = now - chrono::Duration::hours(IDEMPOTENCY_KEY_TTL_HOURS);
        conn.write(|conn| idempotency::purge_before(conn, cutoff))?;
    }
    let expiring = offers::due_to_expire(&mut conn, now, BATCH)?;
    let completing = orders::due_to_complete(&mut conn, now, BATCH)?;
    let price_drops = listings::due_price_drops(&mut conn, now, BATCH)?;
    let escalating = disputes::due_to_escalate(&mut conn, now, BATCH)?;
    Ok(Deadlines {
        expiring: expiring
            .into_iter()
            .map(|(offer, listing)| (OfferId(offer), ListingId(listing)))
            .collect(),
        completing: completing
            .into_iter()
            .map(|(order, listing)| (OrderId(order), ListingId(listing)))
            .collect(),
        price_drops: price_drops.into_iter().map(ListingId).collect(),
        escalating: escalating
            .into_iter()
            .map(|(order, listing)| (OrderId(order), ListingId(listing)))
            .collect(),
    })
}

async fn fire(pool: &Pool, directory: &Addr<Directory>, due: Deadlines) {
    for (offer, listing) in due.expiring {
        let command = ActOnOffer {
            offer,
            actor: Party::System,
            action: OfferAction::Expire,
            key: None,
        };
        report(
            pool,
            send_to_listing(directory, listing, command)
                .await
                .map(|r| r.map(drop)),
        );
    }
    for (order, listing) in due.completing {
        let command = ActOnOrder {
            order,
            actor: Party::System,
            action: OrderAction::AutoComplete,
        };
        report(
            pool,
            send_to_listing(directory, listing, command)
                .await
                .map(|r| r.map(drop)),
        );
    }
    for listing in due.price_drops {
        report(
            pool,
            send_to_listing(directory, listing, DropPriceOnSchedule)
                .await
                .map(|r| r.map(drop)),
        );
    }
    for (order, listing) in due.escalating {
        report(
            pool,
            send_to_listing(directory, listing, EscalateDispute { order }).await,
        );
    }
}

/// The job a deadline is logged as when it cannot be applied (`Pool::job_failed`; it is tried
/// again at the next tick): while the database refuses writes, every tick fails on each one.
const APPLY_DEADLINE: &str = "applying deadlines";

/// A deadline another tick or process already handled is not an error.
fn report(pool: &Pool, result: Result<Result<(), ListingError>, MailboxError>) {
    match result {
        Ok(Ok(()))
        | Ok(Err(ListingError::Offer(_) | ListingError::Order(_) | ListingError::Dispute(_))) => {
            pool.job_worked(APPLY_DEADLINE)
        }
        Ok(Err(e)) => pool.job_failed(APPLY_DEADLINE, &e),
        Err(e) => pool.job_failed(APPLY_DEADLINE, &e),
    }
}
