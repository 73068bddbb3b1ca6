//! `ListingActor`: the one writer of a listing in this process. It owns the listing's stock,
//! its offers and its orders' transitions, and runs one command at a time, its database work
//! included (`AtomicResponse`), so commands on a listing never interleave.
//!
//! A command runs in one transaction (`tx`): it reads the listing, decides with the pure rules
//! in `domain`, writes with version-checked UPDATEs and appends its events (the outbox). When a
//! version no longer matches (another process wrote first) the transaction is rolled back and
//! the command is decided again on what is now in the database. Each command family has its
//! own file: its handlers and the `Tx` steps they take.

#[macro_use]
mod actor;
mod liker_offers;
mod messages;
mod offers;
mod orders;
mod purchases;
mod tx;

pub use actor::ListingActor;
pub use messages::*;

use crate::domain::listing::{EditError, PurchaseError};
use crate::domain::offer::{LikerOfferError, OfferError};
use crate::domain::order::OrderError;
use crate::store::ledger::LedgerError;
use crate::store::StoreError;
use tx::MAX_VERSION_RETRIES;

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

impl From<LedgerError> for ListingError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::InsufficientFunds(_) => PurchaseError::InsufficientFunds.into(),
            LedgerError::Db(e) => e.into(),
            LedgerError::Unbalanced => StoreError::Config("unbalanced posting".into()).into(),
        }
    }
}
