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
mod create;
mod disputes;
mod liker_offers;
mod likes;
mod messages;
mod offers;
mod orders;
mod photos;
mod purchases;
mod removal;
mod shipping;
mod tx;

pub use actor::ListingActor;
pub use create::create_listing;
pub use disputes::AUDIT_DISPUTE_RESOLVED;
pub use messages::*;
pub use removal::NOTIFICATION_LISTING_REMOVED;
pub use shipping::ShipOutcome;

use crate::domain::dispute::DisputeError;
use crate::domain::liker_offer::LikerOfferError;
use crate::domain::listing::EditError;
use crate::domain::moderation::RemovalError;
use crate::domain::offer::OfferError;
use crate::domain::order::OrderError;
use crate::domain::photo::PhotoError;
use crate::domain::purchase::PurchaseError;
use crate::idempotency::ClaimLost;
use crate::store::ledger::LedgerError;
use crate::store::{Outage, StoreError};
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
    /// The buyer and the seller are kept apart: one of them blocked the other.
    #[error("one of you blocked the other")]
    Blocked,
    #[error(transparent)]
    Removal(#[from] RemovalError),
    #[error(transparent)]
    Dispute(#[from] DisputeError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
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
    /// The database was busy or unreachable (a purchase batch's shared failure).
    #[error(transparent)]
    DatabaseUnavailable(Outage),
    /// The command's Idempotency-Key claim was taken over: it committed nothing.
    #[error(transparent)]
    ClaimLost(#[from] ClaimLost),
}

impl ListingError {
    /// The failure of a batch that failed as a whole (a group-committed purchase), for each of
    /// its commands. Its kind, and so what the client is told, is kept: a busy or lost
    /// database stays unavailable, contention stays a conflict. A store fault, which cannot be
    /// copied, stays a server fault that names its cause.
    pub(crate) fn for_each_in_batch(&self) -> ListingError {
        use ListingError::*;
        match self {
            NotFound => NotFound,
            OfferNotFound => OfferNotFound,
            OrderNotFound => OrderNotFound,
            Edit(e) => Edit(e.clone()),
            Purchase(e) => Purchase(e.clone()),
            Offer(e) => Offer(e.clone()),
            Order(e) => Order(e.clone()),
            LikerOffer(e) => LikerOffer(e.clone()),
            Removal(e) => Removal(*e),
            Dispute(e) => Dispute(e.clone()),
            Photo(e) => Photo(e.clone()),
            HasOpenOrders(n) => HasOpenOrders(*n),
            Blocked => Blocked,
            Contended => Contended,
            Unavailable => Unavailable,
            ClaimLost(e) => ClaimLost(*e),
            DatabaseUnavailable(outage) => DatabaseUnavailable(*outage),
            Store(e) => match e.outage() {
                Some(outage) => DatabaseUnavailable(outage),
                None => Store(StoreError::Config(format!(
                    "the purchase batch failed: {e}"
                ))),
            },
        }
    }

    /// A multi-row insert that returned fewer rows than it was given: a fault of the store,
    /// never "not found".
    pub(crate) fn short_insert(what: &str, inserted: usize, returned: usize) -> ListingError {
        StoreError::Config(format!(
            "inserted {inserted} {what} but the database returned {returned}"
        ))
        .into()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection manager that never connects, to get a real pool timeout.
    struct NoDatabase;

    impl r2d2::ManageConnection for NoDatabase {
        type Connection = ();
        type Error = std::io::Error;

        fn connect(&self) -> Result<(), std::io::Error> {
            Err(std::io::Error::other("no database"))
        }

        fn is_valid(&self, _conn: &mut ()) -> Result<(), std::io::Error> {
            Ok(())
        }

        fn has_broken(&self, _conn: &mut ()) -> bool {
            false
        }
    }

    fn pool_timeout() -> r2d2::Error {
        let pool = r2d2::Pool::builder()
            .connection_timeout(std::time::Duration::from_millis(10))
            .build_unchecked(NoDatabase);
        match pool.get() {
            Err(e) => e,
            Ok(_) => panic!("a pool that cannot connect gave a connection"),
        }
    }

    #[test]
    fn a_failed_batch_keeps_each_error_kind() {
        let kept = |e: ListingError| e.for_each_in_batch();
        assert!(matches!(
            kept(ListingError::Contended),
            ListingError::Contended
        ));
        assert!(matches!(
            kept(ListingError::NotFound),
            ListingError::NotFound
        ));
        assert!(matches!(
            kept(ListingError::Unavailable),
            ListingError::Unavailable
        ));
        assert!(matches!(
            kept(PurchaseError::SoldOut.into()),
            ListingError::Purchase(PurchaseError::SoldOut)
        ));
        assert!(matches!(
            kept(ListingError::HasOpenOrders(2)),
            ListingError::HasOpenOrders(2)
        ));
    }

    #[test]
    fn a_busy_pool_stays_busy_for_every_purchase_of_the_batch() {
        let failed = ListingError::Store(StoreError::Pool(pool_timeout()));
        assert!(matches!(
            failed.for_each_in_batch(),
            ListingError::DatabaseUnavailable(_)
        ));
        let busy = ListingError::DatabaseUnavailable(Outage::Busy);
        assert!(matches!(
            busy.for_each_in_batch(),
            ListingError::DatabaseUnavailable(Outage::Busy)
        ));
    }

    #[test]
    fn a_lost_connection_stays_unavailable_for_every_purchase_of_the_batch() {
        let failed = ListingError::from(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection unexpectedly".to_owned()),
        ));
        assert!(matches!(
            failed.for_each_in_batch(),
            ListingError::DatabaseUnavailable(Outage::Unreachable)
        ));
    }

    #[test]
    fn a_failed_query_stays_a_server_fault_that_names_its_cause() {
        let failed = ListingError::from(diesel::result::Error::NotFound);
        match failed.for_each_in_batch() {
            ListingError::Store(StoreError::Config(why)) => {
                assert!(why.contains("the purchase batch failed"), "{why}")
            }
            other => panic!("expected a store fault, got {other:?}"),
        }
    }

    #[test]
    fn a_short_insert_is_a_store_fault_not_a_missing_order() {
        let e = ListingError::short_insert("orders", 3, 2);
        assert!(
            matches!(e, ListingError::Store(StoreError::Config(_))),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "inserted 3 orders but the database returned 2"
        );
    }
}
