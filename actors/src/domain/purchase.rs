//! Buying: a buy-now decided alone or in a batch (group commit), taking units out of stock
//! (a purchase or an accepted offer) and putting them back (a cancelled order).

use super::listing::{visible_to, ListingChange, ListingEvent, ListingState, ListingStatus};
use super::{Money, UserId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PurchaseError {
    /// Someone else's draft: it does not exist for the buyer, so it is not "not active" either.
    #[error("listing not found")]
    NotFound,
    #[error("you cannot buy your own listing")]
    OwnListing,
    #[error("the listing is sold out")]
    SoldOut,
    #[error("the listing is {0}, not active")]
    NotActive(ListingStatus),
    #[error("only {available} left, fewer than the {wanted} asked for")]
    NotEnough { wanted: i64, available: i64 },
    #[error("the price is now {actual} cents, not the {expected} cents expected")]
    PriceChanged { expected: i64, actual: i64 },
    #[error("insufficient funds in the wallet")]
    InsufficientFunds,
}

/// Decides a buy-now of `quantity` units at the list price; `expected_price` guards against
/// buying at a price the buyer has not seen.
pub fn decide_purchase(
    current: &ListingState,
    buyer: UserId,
    quantity: i64,
    expected_price: Option<Money>,
) -> Result<ListingChange, PurchaseError> {
    if buyer == current.seller_id {
        return Err(PurchaseError::OwnListing);
    }
    if !visible_to(current.status, current.seller_id, Some(buyer)) {
        return Err(PurchaseError::NotFound);
    }
    if let Some(expected) = expected_price {
        if expected != current.price && current.status == ListingStatus::Active {
            return Err(PurchaseError::PriceChanged {
                expected: expected.cents(),
                actual: current.price.cents(),
            });
        }
    }
    decide_take(current, quantity)
}

/// One buy-now in a batch of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurchaseRequest {
    pub buyer: UserId,
    pub quantity: i64,
    pub expected_price: Option<Money>,
}

/// A batch of buy-nows, decided together so that it can be written as one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurchaseBatch {
    /// Each request's outcome, in order: the total it costs the buyer, or why it was refused.
    pub outcomes: Vec<Result<Money, PurchaseError>>,
    /// The one change that writes every accepted purchase (a single version step).
    pub change: ListingChange,
}

/// Decides `requests` in arrival order, each as `decide_purchase` would after the ones before
/// it: on the stock they left, and against its buyer's `funds` less what their earlier
/// purchases in the batch took (a purchase the funds do not cover is refused and takes
/// nothing). `funds` is the buyers' available money; a buyer missing from it has none.
pub fn decide_purchases(
    current: &ListingState,
    requests: &[PurchaseRequest],
    funds: &mut std::collections::BTreeMap<UserId, Money>,
) -> PurchaseBatch {
    let mut state = current.clone();
    let mut outcomes = Vec::with_capacity(requests.len());
    for request in requests {
        let outcome = decide_purchase(
            &state,
            request.buyer,
            request.quantity,
            request.expected_price,
        )
        .and_then(|change| {
            let total = state.price.cents().checked_mul(request.quantity);
            let available = funds.entry(request.buyer).or_insert(Money::from_cents(0));
            match total {
                Some(total) if total <= available.cents() => {
                    *available = Money::from_cents(available.cents() - total);
                    Ok((change.next, Money::from_cents(total)))
                }
                _ => Err(PurchaseError::InsufficientFunds),
            }
        });
        outcomes.push(outcome.map(|(next, total)| {
            state = next;
            total
        }));
    }
    let mut events = Vec::new();
    if state.quantity != current.quantity {
        events.push(ListingEvent::InventoryChanged);
        if state.status == ListingStatus::SoldOut {
            events.push(ListingEvent::SoldOut);
        }
        state.version = current.version + 1;
    }
    PurchaseBatch {
        outcomes,
        change: ListingChange {
            next: state,
            events,
        },
    }
}

/// Takes `quantity` units out of stock (a purchase or an accepted offer). The last unit makes
/// the listing sold out.
pub fn decide_take(current: &ListingState, quantity: i64) -> Result<ListingChange, PurchaseError> {
    match current.status {
        ListingStatus::Active => {}
        ListingStatus::SoldOut => return Err(PurchaseError::SoldOut),
        other => return Err(PurchaseError::NotActive(other)),
    }
    if quantity > current.quantity {
        return Err(PurchaseError::NotEnough {
            wanted: quantity,
            available: current.quantity,
        });
    }
    let mut next = current.clone();
    next.quantity -= quantity;
    next.version += 1;
    let mut events = vec![ListingEvent::InventoryChanged];
    if next.quantity == 0 {
        next.status = ListingStatus::SoldOut;
        events.push(ListingEvent::SoldOut);
    }
    Ok(ListingChange { next, events })
}

/// Puts `quantity` units back (a cancelled order). A sold-out listing becomes active again; a
/// closed one stays closed.
pub fn decide_restock(current: &ListingState, quantity: i64) -> ListingChange {
    let mut next = current.clone();
    next.quantity += quantity;
    next.version += 1;
    if next.status == ListingStatus::SoldOut {
        next.status = ListingStatus::Active;
    }
    ListingChange {
        next,
        events: vec![ListingEvent::InventoryChanged],
    }
}
