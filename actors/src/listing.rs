//! `ListingActor`: the one writer of a listing in this process. It owns the listing's stock,
//! its offers and its orders' transitions, and runs one command at a time, its database work
//! included (`AtomicResponse`), so commands on a listing never interleave.
//!
//! A command runs in one transaction: it reads the listing, decides with the pure rules in
//! `domain`, writes with version-checked UPDATEs and appends its events (the outbox). When a
//! version no longer matches (another process wrote first) the transaction is rolled back and
//! the command is decided again on what is now in the database.

use crate::broker::{Broker, Publish};
use crate::directory::{Directory, Passivated};
use crate::domain::ledger as postings;
use crate::domain::listing::{
    decide_close, decide_edit, decide_purchases, decide_restock, decide_take, liker_hears_of_drop,
    EditError, ListingChange, ListingEvent, ListingPatch, ListingStatus, PurchaseError,
    PurchaseRequest,
};
use crate::domain::offer::{
    decide_liker_offer, decide_new_offer, decide_offer_action, Actor as Party, Disposition,
    LikerOfferError, OfferAction, OfferError, OfferEvent, OfferReason, OfferState, OfferStatus,
    Side,
};
use crate::domain::order::{
    decide_order_action, OrderAction, OrderEffect, OrderError, OrderStatus,
};
use crate::domain::rules::CommerceRules;
use crate::domain::{ListingId, Money, UserId};
use crate::events::{HistoryEntry, Outbox, ORDER_CREATED};
use crate::group_commit::Queue;
use crate::listing_cache::ListingCache;
use crate::store::ledger::LedgerError;
use crate::store::models::{
    Event, LikerOffer, Listing, ListingChanges, NewOffer, NewOrder, Offer, OfferChanges, Order,
    OrderChanges,
};
use crate::store::{
    self, is_unique_violation, ledger, liker_offers, likes, listings, offers, orders, DbConnection,
    Pool, StoreError,
};
use actix::prelude::*;
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many commands may wait in a listing actor's mailbox (senders beyond it wait their
/// turn): the most purchases one group commit takes.
const MAX_QUEUED_COMMANDS: usize = 1024;

/// How many times a command is decided again after losing a version race before giving up.
const MAX_VERSION_RETRIES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("listing not found")]
    NotFound,
    #[error("offer not found")]
    OfferNotFound,
    #[error("order not found")]
    OrderNotFound,
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error(transparent)]
    Purchase(#[from] PurchaseError),
    #[error(transparent)]
    Offer(#[from] OfferError),
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    LikerOffer(#[from] LikerOfferError),
    #[error("the listing has {0} open order(s): ship, complete or cancel them first")]
    HasOpenOrders(i64),
    #[error(
        "the listing is too busy: {MAX_VERSION_RETRIES} writes in a row lost their version race"
    )]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the listing actor is unavailable")]
    Unavailable,
}

impl From<diesel::result::Error> for ListingError {
    fn from(e: diesel::result::Error) -> Self {
        ListingError::Store(e.into())
    }
}

/// How one attempt at a command's transaction failed.
#[derive(Debug)]
enum Failure {
    /// A version-checked write matched nothing: decide again on fresh rows.
    Stale,
    Error(ListingError),
}

impl<E: Into<ListingError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Error(e.into())
    }
}

impl From<LedgerError> for ListingError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::InsufficientFunds(_) => PurchaseError::InsufficientFunds.into(),
            LedgerError::Db(e) => e.into(),
            LedgerError::Unbalanced => StoreError::Config("unbalanced posting".into()).into(),
        }
    }
}

/// An offer after a command, and the order it made if it was accepted.
#[derive(Clone, Debug)]
pub struct OfferOutcome {
    pub offer: Offer,
    pub order: Option<Order>,
}

/// A sent liker offer and the offers it made.
#[derive(Clone, Debug)]
pub struct LikerOfferOutcome {
    pub liker_offer: LikerOffer,
    pub offers: Vec<Offer>,
}

/// Edit a listing's fields or status, optionally only if it is still at `if_match`.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Listing, ListingError>")]
pub struct EditListing {
    pub by: UserId,
    pub patch: ListingPatch,
    pub if_match: Option<i64>,
}

/// Close (delete) a listing: its row and history stay, its status becomes `closed`.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Listing, ListingError>")]
pub struct CloseListing {
    pub by: UserId,
}

/// Buy now at the list price.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Order, ListingError>")]
pub struct Purchase {
    pub buyer: UserId,
    pub quantity: i64,
    pub expected_price: Option<Money>,
}

/// A buyer's new offer.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<OfferOutcome, ListingError>")]
pub struct PlaceOffer {
    pub buyer: UserId,
    pub amount: Money,
    pub quantity: i64,
}

/// Counter, accept, decline, withdraw or expire an offer of this listing.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<OfferOutcome, ListingError>")]
pub struct ActOnOffer {
    pub offer_id: i64,
    pub actor: Party,
    pub action: OfferAction,
}

/// Ship, confirm, cancel or auto-complete an order of this listing.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Order, ListingError>")]
pub struct ActOnOrder {
    pub order_id: i64,
    pub actor: Party,
    pub action: OrderAction,
}

/// The seller's offer to everyone who likes the listing.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<LikerOfferOutcome, ListingError>")]
pub struct SendLikerOffer {
    pub seller: UserId,
    pub amount: Money,
}

/// Someone just liked the listing: extend an open liker offer to them.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Option<Offer>, ListingError>")]
pub struct OfferToNewLiker {
    pub user: UserId,
}

pub struct ListingActor {
    id: ListingId,
    pool: Pool,
    broker: Addr<Broker>,
    rules: Arc<CommerceRules>,
    cache: Arc<ListingCache>,
    directory: Addr<Directory>,
    last_used: Instant,
    idle_after: Duration,
    /// Purchases waiting for the next group commit.
    purchases: Queue<Purchase, Result<Order, ListingError>>,
}

impl ListingActor {
    pub fn new(
        id: ListingId,
        pool: Pool,
        broker: Addr<Broker>,
        rules: Arc<CommerceRules>,
        cache: Arc<ListingCache>,
        directory: Addr<Directory>,
        idle_after: Duration,
    ) -> Self {
        ListingActor {
            id,
            pool,
            broker,
            rules,
            cache,
            directory,
            last_used: Instant::now(),
            idle_after,
            purchases: Queue::default(),
        }
    }

    /// Runs one command's transaction on the blocking pool; the actor takes no other command
    /// until it is done. Its events go to the broker only after the commit, and the cached
    /// row is forgotten before the answer, so the caller reads its own write.
    fn run<T, F>(&mut self, command: F) -> AtomicResponse<Self, Result<T, ListingError>>
    where
        T: Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<T, Failure> + Send + 'static,
    {
        self.run_unless(|_, _| Ok(None), command)
    }

    /// [`run`](Self::run), unless `answered_before` (on the blocking pool, before any
    /// transaction) already has the answer: then no transaction is begun.
    fn run_unless<T, A, F>(
        &mut self,
        answered_before: A,
        command: F,
    ) -> AtomicResponse<Self, Result<T, ListingError>>
    where
        T: Send + 'static,
        A: FnOnce(&Pool, ListingId) -> Result<Option<T>, ListingError> + Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<T, Failure> + Send + 'static,
    {
        self.last_used = Instant::now();
        let (pool, id, rules) = (self.pool.clone(), self.id, self.rules.clone());
        let work = tokio::task::spawn_blocking(move || match answered_before(&pool, id)? {
            Some(answer) => Ok((answer, Vec::new())),
            None => execute(&pool, id, &rules, command),
        });
        AtomicResponse::new(Box::pin(fut::wrap_future::<_, Self>(work).map(
            |joined, act, _ctx| {
                act.cache.forget(act.id.0);
                match joined {
                Ok(Ok((value, events))) => {
                    if !events.is_empty() {
                        act.broker.do_send(Publish { events });
                    }
                    Ok(value)
                }
                Ok(Err(e)) => Err(e),
                Err(panic) => {
                    tracing::error!(listing.id = %act.id, error = %panic, "listing command panicked");
                    Err(ListingError::Unavailable)
                }
            }},
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
                act.directory.do_send(Passivated {
                    id: act.id,
                    addr: ctx.address(),
                });
                ctx.stop();
            }
        });
    }
}

macro_rules! handle {
    ($msg:ty, $out:ty, |$tx:ident, $m:ident| $body:expr) => {
        impl Handler<$msg> for ListingActor {
            type Result = AtomicResponse<Self, Result<$out, ListingError>>;

            fn handle(&mut self, $m: $msg, _ctx: &mut Self::Context) -> Self::Result {
                self.run(move |$tx: &mut Tx<'_>| $body)
            }
        }
    };
}

handle!(EditListing, Listing, |tx, msg| {
    let change = decide_edit(&tx.listing.state(), msg.by, &msg.patch, msg.if_match)?;
    let after = tx.change_listing(&change)?;
    for event in &change.events {
        if let ListingEvent::PriceDropped { old_price, .. } = event {
            tx.notify_likers_of_drop(*old_price)?;
        }
    }
    Ok(after)
});

handle!(CloseListing, Listing, |tx, msg| {
    let change = decide_close(&tx.listing.state(), msg.by)?;
    tx.change_listing(&change)
});

/// Purchases are group-committed: they queue while a commit is in flight, and the next
/// transaction takes all of them (one commit per batch, not per buyer), written set-wise
/// (`Tx::buy_all`). Funds are checked per buyer before anything is written, so one buyer's
/// failure (no funds) leaves the others' purchases standing.
impl Handler<Purchase> for ListingActor {
    type Result = ResponseFuture<Result<Order, ListingError>>;

    fn handle(&mut self, msg: Purchase, ctx: &mut Self::Context) -> Self::Result {
        let (outcome, schedule) = self.purchases.push(msg);
        if schedule {
            ctx.notify(RunPurchases);
        }
        Box::pin(async move { outcome.await.unwrap_or(Err(ListingError::Unavailable)) })
    }
}

/// Runs the queued purchases as one transaction.
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct RunPurchases;

impl Handler<RunPurchases> for ListingActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _msg: RunPurchases, _ctx: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        let (commands, replies) = self.purchases.take();
        let (pool, id, rules) = (self.pool.clone(), self.id, self.rules.clone());
        let work = tokio::task::spawn_blocking(move || {
            execute(&pool, id, &rules, |tx| tx.buy_all(&commands))
        });
        AtomicResponse::new(Box::pin(fut::wrap_future::<_, Self>(work).map(
            move |joined, act, _ctx| {
                act.cache.forget(act.id.0);
                let results: Vec<Result<Order, ListingError>> = match joined {
                    Ok(Ok((results, events))) => {
                        if !events.is_empty() {
                            act.broker.do_send(Publish { events });
                        }
                        results
                    }
                    Ok(Err(e)) => {
                        let why = e.to_string();
                        (0..replies.len())
                            .map(|_| match &e {
                                ListingError::NotFound => Err(ListingError::NotFound),
                                _ => Err(StoreError::Config(format!(
                                    "the purchase batch failed: {why}"
                                ))
                                .into()),
                            })
                            .collect()
                    }
                    Err(panic) => {
                        tracing::error!(listing.id = %act.id, error = %panic, "purchase batch panicked");
                        Vec::new()
                    }
                };
                replies.answer(results, || Err(ListingError::Unavailable));
            },
        )))
    }
}

handle!(PlaceOffer, OfferOutcome, |tx, msg| tx.place_offer(&msg));

handle!(ActOnOffer, OfferOutcome, |tx, msg| tx.act_on_offer(&msg));

handle!(ActOnOrder, Order, |tx, msg| tx.act_on_order(&msg));

handle!(SendLikerOffer, LikerOfferOutcome, |tx, msg| tx
    .send_liker_offer(&msg));

/// A new liker gets the seller's open offer to likers, if there is one. Most listings have
/// none. On SQLite (one process, where every liker offer is made by this actor, one command at
/// a time) a read outside a transaction tells, and the like costs no second write transaction
/// at the one writer. Across PostgreSQL processes the check takes the listing's row lock, so it
/// cannot miss an offer being made by another process at the same moment.
impl Handler<OfferToNewLiker> for ListingActor {
    type Result = AtomicResponse<Self, Result<Option<Offer>, ListingError>>;

    fn handle(&mut self, msg: OfferToNewLiker, _ctx: &mut Self::Context) -> Self::Result {
        let in_one_process = self.pool.one_writer_at_a_time();
        let none_open = move |pool: &Pool, id: ListingId| {
            if !in_one_process {
                return Ok(None);
            }
            let mut conn = pool.get().map_err(StoreError::from)?;
            let latest = liker_offers::latest(&mut conn, id.0).map_err(StoreError::from)?;
            let open = latest.is_some_and(|sent| sent.open_at(store::now()));
            Ok((!open).then_some(None))
        };
        self.run_unless(none_open, move |tx| {
            let Some(sent) = liker_offers::latest(tx.conn, tx.listing.id)? else {
                return Ok(None);
            };
            if !sent.open_at(tx.now) || tx.listing.status() != ListingStatus::Active {
                return Ok(None);
            }
            tx.offer_to_liker(&sent, msg.user)
        })
    }
}

/// Runs `command` in a transaction with the listing freshly read, retrying on version races.
/// Returns its result and the events it wrote.
fn execute<T, F>(
    pool: &Pool,
    id: ListingId,
    rules: &CommerceRules,
    command: F,
) -> Result<(T, Vec<Event>), ListingError>
where
    F: Fn(&mut Tx<'_>) -> Result<T, Failure>,
{
    let mut conn = pool.get().map_err(StoreError::from)?;
    for _ in 0..MAX_VERSION_RETRIES {
        let attempt = conn.write_transaction(|conn| -> Result<(T, Vec<Event>), Failure> {
            // Across processes (PostgreSQL), the row lock makes commands on one listing take
            // turns as the actor does in one process; the version checks stay as a backstop.
            listings::lock(conn, id.0)?;
            let listing = listings::find(conn, id.0)?.ok_or(ListingError::NotFound)?;
            let mut tx = Tx {
                conn,
                listing,
                rules,
                now: store::now(),
                outbox: Outbox::default(),
            };
            let value = command(&mut tx)?;
            let written = tx.outbox.flush(tx.conn)?;
            Ok((value, written))
        });
        match attempt {
            Ok(value) => return Ok(value),
            Err(Failure::Stale) => continue,
            Err(Failure::Error(e)) => return Err(e),
        }
    }
    Err(ListingError::Contended)
}

/// One attempt at a command: the open transaction, the listing as it is now, and the events
/// the command causes.
struct Tx<'c> {
    conn: &'c mut DbConnection,
    listing: Listing,
    rules: &'c CommerceRules,
    now: NaiveDateTime,
    outbox: Outbox,
}

impl Tx<'_> {
    /// Writes a decided listing change (version-checked) and its events. Closing declines the
    /// open offers and is refused while orders are open.
    fn change_listing(&mut self, change: &ListingChange) -> Result<Listing, Failure> {
        if !change.changed() {
            return Ok(self.listing.clone());
        }
        let closing = change.next.status == ListingStatus::Closed
            && self.listing.status() != ListingStatus::Closed;
        if closing {
            let open = orders::open_count(self.conn, self.listing.id)?;
            if open > 0 {
                return Err(ListingError::HasOpenOrders(open).into());
            }
        }
        let changes = ListingChanges::from_state(&change.next, self.now);
        let after =
            listings::update_versioned(self.conn, self.listing.id, self.listing.version, &changes)?
                .ok_or(Failure::Stale)?;
        self.outbox.listing(&after, &change.events);
        self.listing = after.clone();
        if closing || after.status() == ListingStatus::SoldOut {
            let reason = if closing {
                OfferReason::ListingClosed
            } else {
                OfferReason::SoldOut
            };
            self.decline_open_offers(reason)?;
        }
        Ok(after)
    }

    /// Takes the units, creates the paid order and moves the money into escrow: all or nothing.
    fn buy(
        &mut self,
        change: &ListingChange,
        buyer: UserId,
        quantity: i64,
        unit_price: Money,
        offer_id: Option<i64>,
    ) -> Result<Order, Failure> {
        self.change_listing(change)?;
        let new = self.new_order(buyer, quantity, unit_price, offer_id);
        let total = new.total_cents;
        let order = orders::insert(self.conn, &new)?;
        ledger::post(
            self.conn,
            &postings::purchase(buyer, Money::from_cents(total)),
            Some(order.id),
            None,
        )
        .map_err(ListingError::from)?;
        self.outbox.order(&order, ORDER_CREATED);
        Ok(order)
    }

    /// A paid order of this listing, as a purchase or an accepted offer creates it.
    fn new_order(
        &self,
        buyer: UserId,
        quantity: i64,
        unit_price: Money,
        offer_id: Option<i64>,
    ) -> NewOrder {
        NewOrder {
            listing_id: self.listing.id,
            buyer_id: buyer.0,
            seller_id: self.listing.seller_id,
            offer_id,
            quantity,
            unit_price_cents: unit_price.cents(),
            total_cents: unit_price.cents().saturating_mul(quantity),
            status: OrderStatus::Paid,
            ship_by: self.now + self.rules.ship_deadline,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        }
    }

    /// A batch of buy-nows written set-wise: the stock taken in one listing write, the orders,
    /// their escrow postings and their events each in one multi-row statement, so a batch costs
    /// the same few statements however many buyers it holds. The buyers' wallets are locked and
    /// read first, so a buyer the funds do not cover is refused without disturbing the others.
    fn buy_all(
        &mut self,
        commands: &[Purchase],
    ) -> Result<Vec<Result<Order, ListingError>>, Failure> {
        let requests: Vec<PurchaseRequest> = commands
            .iter()
            .map(|msg| PurchaseRequest {
                buyer: msg.buyer,
                quantity: msg.quantity,
                expected_price: msg.expected_price,
            })
            .collect();
        // Refusals that need no wallet (sold out, not active) cost no wallet read.
        let mut funds = if self.listing.status() == ListingStatus::Active {
            let buyers: BTreeSet<UserId> = requests.iter().map(|r| r.buyer).collect();
            ledger::lock_available(self.conn, &buyers)?
        } else {
            BTreeMap::new()
        };
        let batch = decide_purchases(&self.listing.state(), &requests, &mut funds);
        let unit_price = Money::from_cents(self.listing.price_cents);
        self.change_listing(&batch.change)?;
        let new: Vec<NewOrder> = requests
            .iter()
            .zip(&batch.outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(r, _)| self.new_order(r.buyer, r.quantity, unit_price, None))
            .collect();
        let made = orders::insert_all(self.conn, &new)?;
        let escrow: Vec<_> = made
            .iter()
            .map(|o| postings::purchase(UserId(o.buyer_id), Money::from_cents(o.total_cents)))
            .collect();
        let rows: Vec<ledger::PostingRow<'_>> = escrow
            .iter()
            .zip(&made)
            .map(|(posting, order)| ledger::PostingRow {
                posting,
                order_id: Some(order.id),
                reference: None,
            })
            .collect();
        ledger::post_all(self.conn, &rows).map_err(ListingError::from)?;
        let mut made = made.into_iter();
        Ok(batch
            .outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(_) => {
                    let order = made.next().ok_or(ListingError::OrderNotFound)?;
                    self.outbox.order(&order, ORDER_CREATED);
                    Ok(order)
                }
                Err(e) => Err(e.into()),
            })
            .collect())
    }

    /// Every liker whose rule the drop meets gets a `notification.price_drop`.
    fn notify_likers_of_drop(&mut self, old_price: Money) -> Result<(), Failure> {
        let new_price = Money::from_cents(self.listing.price_cents);
        for (liker, target) in likes::likers_of(self.conn, self.listing.id)? {
            let target = target.map(Money::from_cents);
            let hears = liker_hears_of_drop(
                old_price,
                new_price,
                target,
                self.rules.price_drop_notify_percent,
            );
            if hears && liker != self.listing.seller_id {
                self.outbox.price_drop_notification(
                    UserId(liker),
                    &self.listing,
                    old_price.cents(),
                    target.map(Money::cents),
                );
            }
        }
        Ok(())
    }

    fn decline_open_offers(&mut self, reason: OfferReason) -> Result<(), Failure> {
        for offer in offers::open_for_listing(self.conn, self.listing.id)? {
            let mut next = offer.state();
            next.status = OfferStatus::Declined;
            self.write_offer(&offer, &next, OfferEvent::Declined, "system", Some(reason))?;
        }
        Ok(())
    }

    /// Writes an offer's next state (version-checked), its history and its event.
    fn write_offer(
        &mut self,
        before: &Offer,
        next: &OfferState,
        event: OfferEvent,
        by: &str,
        reason: Option<OfferReason>,
    ) -> Result<Offer, Failure> {
        let mut history: Vec<HistoryEntry> =
            serde_json::from_str(&before.history).unwrap_or_default();
        history.push(self.history_entry(event, by, next.amount));
        let history = serde_json::to_string(&history).unwrap_or_else(|_| "[]".into());
        let after = offers::update_versioned(
            self.conn,
            before.id,
            before.version,
            &OfferChanges {
                amount_cents: next.amount.cents(),
                status: next.status,
                turn: next.turn,
                round: next.round,
                reason: reason.or(before.reason).map(OfferReason::as_str),
                history: &history,
                expires_at: next.expires_at,
                version: before.version + 1,
                updated_at: self.now,
            },
        )?
        .ok_or(Failure::Stale)?;
        self.outbox.offer(&after, event);
        Ok(after)
    }

    fn history_entry(&self, event: OfferEvent, by: &str, amount: Money) -> HistoryEntry {
        let action = event
            .event_type()
            .trim_start_matches("offer.")
            .replace("created", "offered");
        HistoryEntry {
            action,
            by: by.to_owned(),
            amount_cents: amount.cents(),
            at: self.now.and_utc(),
        }
    }

    /// Inserts a new open offer and its `offer.created` event.
    fn insert_offer(&mut self, state: &OfferState, by: Side) -> Result<Offer, Failure> {
        let history = vec![self.history_entry(OfferEvent::Created, by.as_str(), state.amount)];
        let history = serde_json::to_string(&history).unwrap_or_else(|_| "[]".into());
        let offer = offers::insert(
            self.conn,
            &NewOffer {
                listing_id: self.listing.id,
                buyer_id: state.buyer.0,
                seller_id: state.seller.0,
                amount_cents: state.amount.cents(),
                quantity: state.quantity,
                status: state.status,
                turn: state.turn,
                round: state.round,
                reason: None,
                history: &history,
                expires_at: state.expires_at,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            },
        )
        .map_err(|e| {
            // Another process placed this buyer's open offer first.
            if is_unique_violation(&e) {
                ListingError::Offer(OfferError::OpenOfferExists)
            } else {
                e.into()
            }
        })?;
        self.outbox.offer(&offer, OfferEvent::Created);
        Ok(offer)
    }

    fn place_offer(&mut self, msg: &PlaceOffer) -> Result<OfferOutcome, Failure> {
        let (open, made) = offers::buyer_standing(self.conn, self.listing.id, msg.buyer.0)?;
        let (state, disposition) = decide_new_offer(
            self.rules,
            &self.listing.state(),
            msg.buyer,
            msg.amount,
            msg.quantity,
            open,
            made,
            self.now,
        )?;
        let offer = self.insert_offer(&state, Side::Buyer)?;
        match disposition {
            Disposition::Open => Ok(OfferOutcome { offer, order: None }),
            Disposition::AutoDecline => {
                let mut next = state;
                next.status = OfferStatus::Declined;
                let offer = self.write_offer(
                    &offer,
                    &next,
                    OfferEvent::Declined,
                    "system",
                    Some(OfferReason::AutoDeclined),
                )?;
                Ok(OfferOutcome { offer, order: None })
            }
            Disposition::AutoAccept => {
                let mut next = state;
                next.status = OfferStatus::Accepted;
                self.accept(&offer, &next, "system", Some(OfferReason::AutoAccepted))
            }
        }
    }

    /// Accepting buys the offer's units at its amount, exactly as buy-now does.
    fn accept(
        &mut self,
        offer: &Offer,
        next: &OfferState,
        by: &str,
        reason: Option<OfferReason>,
    ) -> Result<OfferOutcome, Failure> {
        let change = decide_take(&self.listing.state(), offer.quantity)?;
        let offer = self.write_offer(offer, next, OfferEvent::Accepted, by, reason)?;
        let order = self.buy(
            &change,
            UserId(offer.buyer_id),
            offer.quantity,
            Money::from_cents(offer.amount_cents),
            Some(offer.id),
        )?;
        Ok(OfferOutcome {
            offer,
            order: Some(order),
        })
    }

    fn act_on_offer(&mut self, msg: &ActOnOffer) -> Result<OfferOutcome, Failure> {
        let offer = offers::find(self.conn, msg.offer_id)?
            .filter(|o| o.listing_id == self.listing.id)
            .ok_or(ListingError::OfferNotFound)?;
        let (next, event) = decide_offer_action(
            self.rules,
            &offer.state(),
            &self.listing.state(),
            msg.actor,
            &msg.action,
            self.now,
        )?;
        let by = match msg.actor {
            Party::User(user) => offer.state().side_of(user).map_or("system", Side::as_str),
            Party::System => "system",
        };
        if event == OfferEvent::Accepted {
            return self.accept(&offer, &next, by, None);
        }
        let reason = (msg.action == OfferAction::SoldOut).then_some(OfferReason::SoldOut);
        let offer = self.write_offer(&offer, &next, event, by, reason)?;
        Ok(OfferOutcome { offer, order: None })
    }

    fn act_on_order(&mut self, msg: &ActOnOrder) -> Result<Order, Failure> {
        let order = orders::find(self.conn, msg.order_id)?
            .filter(|o| o.listing_id == self.listing.id)
            .ok_or(ListingError::OrderNotFound)?;
        let (next, effect) =
            decide_order_action(self.rules, &order.state(), msg.actor, msg.action, self.now)?;
        let now = Some(self.now);
        let after = orders::update_versioned(
            self.conn,
            order.id,
            order.version,
            &OrderChanges {
                status: next.status,
                auto_complete_at: next.auto_complete_at,
                shipped_at: if effect == OrderEffect::Shipped {
                    now
                } else {
                    order.shipped_at
                },
                completed_at: if effect == OrderEffect::Released {
                    now
                } else {
                    order.completed_at
                },
                cancelled_at: if effect == OrderEffect::Refunded {
                    now
                } else {
                    order.cancelled_at
                },
                version: order.version + 1,
                updated_at: self.now,
            },
        )?
        .ok_or(Failure::Stale)?;
        let (buyer, seller) = (UserId(order.buyer_id), UserId(order.seller_id));
        let total = Money::from_cents(order.total_cents);
        match effect {
            OrderEffect::Shipped => {}
            OrderEffect::Released => {
                let posting = postings::release(buyer, seller, total, self.rules.fee_percent);
                ledger::post(self.conn, &posting, Some(order.id), None)
                    .map_err(ListingError::from)?;
            }
            OrderEffect::Refunded => {
                ledger::post(
                    self.conn,
                    &postings::refund(buyer, total),
                    Some(order.id),
                    None,
                )
                .map_err(ListingError::from)?;
                let restock = decide_restock(&self.listing.state(), order.quantity);
                self.change_listing(&restock)?;
            }
        }
        self.outbox.order(&after, effect.event_type());
        Ok(after)
    }

    fn send_liker_offer(&mut self, msg: &SendLikerOffer) -> Result<LikerOfferOutcome, Failure> {
        let last = liker_offers::latest(self.conn, self.listing.id)?;
        let expires_at = decide_liker_offer(
            self.rules,
            &self.listing.state(),
            msg.seller,
            msg.amount,
            last.map(|l| l.created_at),
            self.now,
        )?;
        let sent = liker_offers::insert(
            self.conn,
            self.listing.id,
            msg.seller.0,
            msg.amount.cents(),
            self.now,
            expires_at,
        )?;
        let mut made = Vec::new();
        for liker in liker_offers::likers(self.conn, self.listing.id)? {
            if let Some(offer) = self.offer_to_liker(&sent, UserId(liker))? {
                made.push(offer);
            }
        }
        Ok(LikerOfferOutcome {
            liker_offer: sent,
            offers: made,
        })
    }

    /// Makes the liker offer `sent` to `liker`, unless they already negotiate on this listing.
    fn offer_to_liker(
        &mut self,
        sent: &LikerOffer,
        liker: UserId,
    ) -> Result<Option<Offer>, Failure> {
        let (open, _) = offers::buyer_standing(self.conn, self.listing.id, liker.0)?;
        if open || liker.0 == self.listing.seller_id || self.listing.quantity < 1 {
            return Ok(None);
        }
        let state = OfferState {
            buyer: liker,
            seller: UserId(self.listing.seller_id),
            amount: Money::from_cents(sent.amount_cents),
            quantity: 1,
            status: OfferStatus::Open,
            turn: Side::Buyer,
            round: 1,
            expires_at: sent.expires_at,
        };
        let offer = self.insert_offer(&state, Side::Seller)?;
        self.outbox.liker_offer_notification(&offer);
        Ok(Some(offer))
    }
}
