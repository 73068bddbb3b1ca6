//! Buy-now: purchases are group-committed, and a batch is written set-wise.

use super::tx::{execute, Failure, Tx};
use super::{ListingActor, ListingError, Purchase};
use crate::broker::Publish;
use crate::domain::ledger as postings;
use crate::domain::listing::ListingStatus;
use crate::domain::purchase::{decide_purchases, PurchaseRequest};
use crate::domain::{Money, UserId};
use crate::events::ORDER_CREATED;
use crate::idempotency::{self, ClaimLost, Held};
use crate::store::models::{NewOrder, Order};
use crate::store::{addresses, blocks, ledger, orders, StoreError};
use actix::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Instant;

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
                    Ok(Err(e)) => (0..replies.len()).map(|_| Err(e.for_each_in_batch())).collect(),
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

impl Tx<'_> {
    /// A batch of buy-nows written set-wise: the stock taken in one listing write, the orders,
    /// their escrow postings and their events each in one multi-row statement, so a batch costs
    /// the same few statements however many buyers it holds. The buyers' wallets are locked and
    /// read first, so a buyer the funds do not cover is refused without disturbing the others.
    pub(super) fn buy_all(
        &mut self,
        commands: &[Purchase],
    ) -> Result<Vec<Result<Order, ListingError>>, Failure> {
        // A purchase whose Idempotency-Key claim a later request took over is left out.
        let held = self.hold_keys(commands)?;
        // Buyers kept apart from the seller by a block are refused: the whole batch's buyers
        // are looked up in one query, in this transaction (a block committed before it is
        // seen; none is missed between a check and the write).
        let apart = if self.listing.status() == ListingStatus::Active {
            let buyers: Vec<i64> = commands.iter().map(|msg| msg.buyer.0).collect();
            blocks::among(self.conn, self.listing.seller_id, &buyers)?
        } else {
            HashSet::new()
        };
        // A suspended seller's listing is hidden from buyers until the suspension ends.
        let hidden = self.listing.status() == ListingStatus::Active && self.seller_suspended()?;
        let goes = |msg: &Purchase, held: bool| held && !hidden && !apart.contains(&msg.buyer.0);
        let requests: Vec<PurchaseRequest> = commands
            .iter()
            .zip(&held)
            .filter(|(msg, held)| goes(msg, **held))
            .map(|(msg, _)| PurchaseRequest {
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
        // Each order keeps its buyer's address as it is now: the batch's buyers' addresses
        // are read in one query, in this transaction.
        let buying: Vec<i64> = requests
            .iter()
            .zip(&batch.outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(r, _)| r.buyer.0)
            .collect();
        let ship_to = addresses::snapshots_of(self.conn, &buying)?;
        let new: Vec<NewOrder> = requests
            .iter()
            .zip(&batch.outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(r, _)| {
                let address = ship_to.get(&r.buyer.0).cloned();
                self.new_order(r.buyer, r.quantity, unit_price, None, address)
            })
            .collect();
        let made = orders::insert_all(self.conn, &new)?;
        if made.len() != new.len() {
            return Err(ListingError::short_insert("orders", new.len(), made.len()).into());
        }
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
        let (inserted, mut made) = (new.len(), made.into_iter());
        let mut outcomes = batch.outcomes.into_iter();
        let mut results = Vec::with_capacity(commands.len());
        let mut answers = Vec::new();
        for (msg, held) in commands.iter().zip(held) {
            if !held {
                results.push(Err(ListingError::ClaimLost(ClaimLost)));
                continue;
            }
            if !goes(msg, held) {
                results.push(Err(if hidden {
                    ListingError::NotFound
                } else {
                    ListingError::Blocked
                }));
                continue;
            }
            let outcome = outcomes.next().ok_or_else(|| {
                StoreError::Config("the batch decided fewer purchases than it held".into())
            })?;
            results.push(match outcome {
                Ok(_) => {
                    let order = made
                        .next()
                        .ok_or_else(|| ListingError::short_insert("orders", inserted, 0))?;
                    self.outbox.order(&order, ORDER_CREATED);
                    if let Some(key) = &msg.key {
                        answers.push((key.held, key.render(&order).map_err(ListingError::from)?));
                    }
                    Ok(order)
                }
                Err(e) => Err(e.into()),
            });
        }
        // Each purchase's response commits with its order, in the batch's transaction.
        idempotency::answer_all(self.conn, &answers).map_err(ListingError::from)?;
        Ok(results)
    }

    /// Holds each keyed purchase's claim (one statement on PostgreSQL): whether each purchase
    /// may go ahead. Unkeyed purchases always may.
    fn hold_keys(&mut self, commands: &[Purchase]) -> Result<Vec<bool>, Failure> {
        let keyed: Vec<(usize, Held)> = commands
            .iter()
            .enumerate()
            .filter_map(|(i, msg)| msg.key.as_ref().map(|key| (i, key.held)))
            .collect();
        let claims: Vec<Held> = keyed.iter().map(|(_, held)| *held).collect();
        let mut held = vec![true; commands.len()];
        for ((i, _), holds) in keyed.iter().zip(idempotency::hold_all(self.conn, &claims)?) {
            held[*i] = holds;
        }
        Ok(held)
    }
}
