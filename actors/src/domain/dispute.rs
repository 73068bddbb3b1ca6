//! Disputes: the buyer opens one on a shipped order before it completes (or on a paid order
//! past its ship deadline); the order stops completing by itself until the seller refunds or a
//! moderator resolves it. An unresolved dispute is escalated after the dispute timeout, never
//! paid out. The money rule (`settle`) says how a resolution divides the escrow.

use super::ledger::{self, Account, Posting, PostingKind};
use super::offer::Side;
use super::order::{OrderState, OrderStatus};
use super::validation::{non_blank, FieldErrors};
use super::{Money, UserId};
use chrono::NaiveDateTime;

/// The longest note on a dispute or a resolution, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Why the buyer disputes an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisputeReason {
    NotReceived,
    NotAsDescribed,
    Damaged,
}

impl DisputeReason {
    pub const ALL: [DisputeReason; 3] = [Self::NotReceived, Self::NotAsDescribed, Self::Damaged];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotReceived => "not_received",
            Self::NotAsDescribed => "not_as_described",
            Self::Damaged => "damaged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// How a dispute ended, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisputeOutcome {
    /// Escrow back to the buyer (a moderator's decision or the seller's own refund).
    RefundBuyer,
    /// Escrow to the seller, less the fee.
    ReleaseSeller,
    /// Part to the buyer, the rest to the seller less the fee on that part.
    Split,
}

impl DisputeOutcome {
    pub const ALL: [DisputeOutcome; 3] = [Self::RefundBuyer, Self::ReleaseSeller, Self::Split];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefundBuyer => "refund_buyer",
            Self::ReleaseSeller => "release_seller",
            Self::Split => "split",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A moderator's decision, with the buyer's part for a split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    RefundBuyer,
    ReleaseSeller,
    Split { buyer: Money },
}

impl Resolution {
    /// The resolution a request names: `buyer_cents` is required for a split and refused
    /// otherwise (422 naming `buyer_cents`).
    pub fn from_request(
        outcome: DisputeOutcome,
        buyer_cents: Option<i64>,
    ) -> Result<Resolution, DisputeError> {
        match (outcome, buyer_cents) {
            (DisputeOutcome::Split, Some(cents)) => Ok(Resolution::Split {
                buyer: Money::from_cents(cents),
            }),
            (DisputeOutcome::Split, None) => Err(DisputeError::BuyerCents(
                "is required for a split".to_owned(),
            )),
            (DisputeOutcome::RefundBuyer, None) => Ok(Resolution::RefundBuyer),
            (DisputeOutcome::ReleaseSeller, None) => Ok(Resolution::ReleaseSeller),
            (_, Some(_)) => Err(DisputeError::BuyerCents("is only for a split".to_owned())),
        }
    }

    pub fn outcome(self) -> DisputeOutcome {
        match self {
            Resolution::RefundBuyer => DisputeOutcome::RefundBuyer,
            Resolution::ReleaseSeller => DisputeOutcome::ReleaseSeller,
            Resolution::Split { .. } => DisputeOutcome::Split,
        }
    }
}

/// Where a dispute's escrow goes: the buyer's part, the seller's part after the fee, and the
/// fee. The three always add up to the escrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub to_buyer: Money,
    pub to_seller: Money,
    pub fee: Money,
}

/// A dispute as the rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisputeState {
    pub escalate_at: NaiveDateTime,
    pub escalated_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisputeError {
    #[error("only the buyer and the seller may act on this order")]
    NotParty,
    #[error("only the {0} may do that")]
    WrongParty(&'static str),
    #[error("a {0} order cannot be disputed: only a shipped order before it completes, or a paid order past its ship deadline")]
    NotDisputable(&'static str),
    #[error("a paid order can be disputed only once its ship deadline ({0}) has passed")]
    ShipDeadlineNotPassed(NaiveDateTime),
    #[error("the order completed by itself at {0}; it can no longer be disputed")]
    AutoCompleted(NaiveDateTime),
    #[error("a {0} order cannot be refunded: only a paid, shipped or disputed one")]
    NotRefundable(&'static str),
    #[error("a moderator may not resolve a dispute they are a party to")]
    OwnDispute,
    #[error("the order is {0}, not disputed")]
    NotDisputed(&'static str),
    #[error("the dispute is already resolved")]
    Resolved,
    #[error("the dispute is already escalated")]
    AlreadyEscalated,
    #[error("the dispute is escalated only after {0}")]
    NotDue(NaiveDateTime),
    /// A bad `buyer_cents` (422 naming the field).
    #[error("buyer_cents {0}")]
    BuyerCents(String),
}

/// Checks a dispute's or a resolution's note: 1 to [`MAX_NOTE_CHARS`] characters, not blank.
pub fn validate_note(note: &str) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    errors.check("note", non_blank(note, MAX_NOTE_CHARS));
    errors.into_result(())
}

fn buyer_only(order: &OrderState, user: UserId) -> Result<(), DisputeError> {
    match order.side_of(user) {
        Some(Side::Buyer) => Ok(()),
        Some(Side::Seller) => Err(DisputeError::WrongParty("buyer")),
        None => Err(DisputeError::NotParty),
    }
}

/// Decides the buyer `by` opening a dispute at `now`: a shipped order not yet due to complete
/// by itself, or a paid order past its ship deadline. The order after it has no
/// auto-completion; the dispute is escalated at `now + timeout`, which it returns.
pub fn decide_open(
    order: &OrderState,
    by: UserId,
    timeout: chrono::Duration,
    now: NaiveDateTime,
) -> Result<(OrderState, NaiveDateTime), DisputeError> {
    buyer_only(order, by)?;
    match order.status {
        OrderStatus::Shipped => {
            if let Some(at) = order.auto_complete_at.filter(|at| now >= *at) {
                return Err(DisputeError::AutoCompleted(at));
            }
        }
        OrderStatus::Paid if now < order.ship_by => {
            return Err(DisputeError::ShipDeadlineNotPassed(order.ship_by))
        }
        OrderStatus::Paid => {}
        other => return Err(DisputeError::NotDisputable(other.as_str())),
    }
    let next = OrderState {
        status: OrderStatus::Disputed,
        auto_complete_at: None,
        ..order.clone()
    };
    Ok((next, now + timeout))
}

/// Decides the seller `by` refunding an order in full: allowed while money is in escrow (paid,
/// shipped or disputed). Returns the order after it and whether the units go back in stock:
/// only if the item was never shipped (as cancelling an unshipped order restocks).
pub fn decide_refund(
    order: &OrderState,
    by: UserId,
    was_shipped: bool,
) -> Result<(OrderState, bool), DisputeError> {
    match order.side_of(by) {
        Some(Side::Seller) => {}
        Some(Side::Buyer) => return Err(DisputeError::WrongParty("seller")),
        None => return Err(DisputeError::NotParty),
    }
    if !order.status.is_open() {
        return Err(DisputeError::NotRefundable(order.status.as_str()));
    }
    let next = OrderState {
        status: OrderStatus::Refunded,
        auto_complete_at: None,
        ..order.clone()
    };
    Ok((next, !was_shipped))
}

/// Decides `moderator`'s resolution of a disputed order holding `escrow`: the order after it
/// (refunded, or completed when the seller gets anything), the settlement, and whether the
/// units go back in stock (a full refund of an item never shipped). Nobody judges their own
/// dispute.
pub fn decide_resolution(
    order: &OrderState,
    moderator: UserId,
    dispute: &DisputeState,
    resolution: Resolution,
    escrow: Money,
    fee_percent: i64,
    was_shipped: bool,
) -> Result<(OrderState, Settlement, bool), DisputeError> {
    if order.side_of(moderator).is_some() {
        return Err(DisputeError::OwnDispute);
    }
    if dispute.resolved_at.is_some() {
        return Err(DisputeError::Resolved);
    }
    if order.status != OrderStatus::Disputed {
        return Err(DisputeError::NotDisputed(order.status.as_str()));
    }
    let settlement = settle(escrow, resolution, fee_percent)?;
    let status = match resolution {
        Resolution::RefundBuyer => OrderStatus::Refunded,
        Resolution::ReleaseSeller | Resolution::Split { .. } => OrderStatus::Completed,
    };
    let restock = resolution == Resolution::RefundBuyer && !was_shipped;
    let next = OrderState {
        status,
        auto_complete_at: None,
        ..order.clone()
    };
    Ok((next, settlement, restock))
}

/// Decides whether the dispute timer fires at `now`: only for an open, not yet escalated
/// dispute whose deadline passed. Escalating moves no money.
pub fn decide_escalation(dispute: &DisputeState, now: NaiveDateTime) -> Result<(), DisputeError> {
    if dispute.resolved_at.is_some() {
        return Err(DisputeError::Resolved);
    }
    if dispute.escalated_at.is_some() {
        return Err(DisputeError::AlreadyEscalated);
    }
    if now < dispute.escalate_at {
        return Err(DisputeError::NotDue(dispute.escalate_at));
    }
    Ok(())
}

/// The money rule: how `resolution` divides `escrow`. A refund gives the buyer everything; a
/// release gives the seller everything less the fee; a split gives the buyer `buyer` (0 to the
/// escrow) and the seller the rest, less the fee on the seller's part only.
pub fn settle(
    escrow: Money,
    resolution: Resolution,
    fee_percent: i64,
) -> Result<Settlement, DisputeError> {
    let to_buyer = match resolution {
        Resolution::RefundBuyer => escrow,
        Resolution::ReleaseSeller => Money::from_cents(0),
        Resolution::Split { buyer } => {
            if buyer.cents() < 0 || buyer.cents() > escrow.cents() {
                return Err(DisputeError::BuyerCents(format!(
                    "must be between 0 and the order's escrow, {}",
                    escrow.cents()
                )));
            }
            buyer
        }
    };
    let seller_part = escrow.cents() - to_buyer.cents();
    let fee = ledger::fee(Money::from_cents(seller_part), fee_percent);
    Ok(Settlement {
        to_buyer,
        to_seller: Money::from_cents(seller_part - fee.cents()),
        fee,
    })
}

/// The ledger posting of a settlement of `buyer`'s escrow `escrow`: a refund and a release are
/// the postings cancelling and completing use; a split takes the escrow out once and pays each
/// share (zero shares are left out: an entry never moves nothing).
pub fn settlement_posting(
    buyer: UserId,
    seller: UserId,
    escrow: Money,
    resolution: Resolution,
    settlement: &Settlement,
    fee_percent: i64,
) -> Posting {
    match resolution {
        Resolution::RefundBuyer => ledger::refund(buyer, escrow),
        Resolution::ReleaseSeller => ledger::release(buyer, seller, escrow, fee_percent),
        Resolution::Split { .. } => {
            let mut entries = vec![(Account::Escrow(buyer), Money::from_cents(-escrow.cents()))];
            let shares = [
                (Account::Wallet(buyer), settlement.to_buyer),
                (Account::Wallet(seller), settlement.to_seller),
                (Account::PlatformFees, settlement.fee),
            ];
            entries.extend(shares.into_iter().filter(|(_, m)| m.cents() != 0));
            Posting {
                kind: PostingKind::Split,
                entries,
            }
        }
    }
}

#[cfg(test)]
mod tests;
