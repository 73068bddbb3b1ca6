//! Offer negotiation: who may do what to an offer, and what it becomes.
//!
//! A buyer makes an offer; then the sides take turns. Whoever's turn it is may accept, decline
//! or counter; the buyer may also withdraw at any time. An open offer expires when its deadline
//! passes, and is declined (`sold_out`) when the listing runs out.

use super::listing::{visible_to, ListingState, ListingStatus};
use super::rules::CommerceRules;
use super::{Money, UserId};
use chrono::NaiveDateTime;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OfferStatus {
    Open,
    Accepted,
    Declined,
    Withdrawn,
    Expired,
}

impl OfferStatus {
    pub const ALL: [OfferStatus; 5] = [
        Self::Open,
        Self::Accepted,
        Self::Declined,
        Self::Withdrawn,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for OfferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A side of the negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Seller,
    Buyer,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Seller => "seller",
            Side::Buyer => "buyer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "seller" => Some(Side::Seller),
            "buyer" => Some(Side::Buyer),
            _ => None,
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Seller => Side::Buyer,
            Side::Buyer => Side::Seller,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an offer ended without a party's own accept or decline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OfferReason {
    /// The listing ran out of units.
    SoldOut,
    /// The seller closed the listing.
    ListingClosed,
    /// Below the seller's `auto_decline_cents`.
    AutoDeclined,
    /// At or above the seller's `auto_accept_cents`.
    AutoAccepted,
    /// One of the buyer and the seller blocked the other.
    Blocked,
}

impl OfferReason {
    pub const ALL: [OfferReason; 5] = [
        Self::SoldOut,
        Self::ListingClosed,
        Self::AutoDeclined,
        Self::AutoAccepted,
        Self::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SoldOut => "sold_out",
            Self::ListingClosed => "listing_closed",
            Self::AutoDeclined => "auto_declined",
            Self::AutoAccepted => "auto_accepted",
            Self::Blocked => "blocked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferState {
    pub buyer: UserId,
    pub seller: UserId,
    pub amount: Money,
    pub quantity: i64,
    pub status: OfferStatus,
    pub turn: Side,
    pub round: i64,
    pub expires_at: NaiveDateTime,
}

impl OfferState {
    pub fn side_of(&self, user: UserId) -> Option<Side> {
        super::order::side_of(self.buyer, self.seller, user)
    }
}

/// Who acts: a party, or the server itself (expiry, sell-out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    User(UserId),
    System,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferAction {
    Counter {
        amount: Money,
    },
    Accept,
    Decline,
    Withdraw,
    /// The deadline passed (system only).
    Expire,
    /// The listing ran out (system only).
    SoldOut,
}

/// What an offer event is called on the wire (`offer.<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfferEvent {
    Created,
    Countered,
    Accepted,
    Declined,
    Withdrawn,
    Expired,
}

impl OfferEvent {
    pub fn event_type(self) -> &'static str {
        match self {
            OfferEvent::Created => "offer.created",
            OfferEvent::Countered => "offer.countered",
            OfferEvent::Accepted => "offer.accepted",
            OfferEvent::Declined => "offer.declined",
            OfferEvent::Withdrawn => "offer.withdrawn",
            OfferEvent::Expired => "offer.expired",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// Someone else's draft: it does not exist for the buyer, so it is not "not active" either.
    #[error("listing not found")]
    ListingNotFound,
    #[error("you cannot make an offer on your own listing")]
    OwnListing,
    #[error("only the buyer and the seller may act on this offer")]
    NotParty,
    #[error("the listing is {0}, not active")]
    ListingNotActive(ListingStatus),
    #[error("you already have an open offer on this listing")]
    OpenOfferExists,
    #[error("you have made the most offers allowed on this listing ({0})")]
    TooManyOffers(i64),
    #[error("the offer is {0}, not open")]
    NotOpen(OfferStatus),
    #[error("the offer's deadline has passed")]
    Expired,
    #[error("it is the {0}'s turn")]
    NotYourTurn(Side),
    #[error("only the buyer may withdraw an offer")]
    OnlyBuyerWithdraws,
    #[error("only {available} left, fewer than the {wanted} asked for")]
    NotEnoughQuantity { wanted: i64, available: i64 },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("this is done by the server, not by a user")]
    SystemOnly,
}

/// What happens to a new offer straight away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Open,
    /// At or above the listing's `auto_accept_cents`: bought at once.
    AutoAccept,
    /// Below the listing's `auto_decline_cents`: declined at once.
    AutoDecline,
}

/// The minimum acceptable amount for a listing price.
pub fn minimum_offer(price: Money, rules: &CommerceRules) -> Money {
    let min = (i128::from(price.cents()) * i128::from(rules.offer_min_percent) + 99) / 100;
    Money::from_cents(i64::try_from(min).unwrap_or(i64::MAX))
}

/// Decides a buyer's new offer on `listing`. `open_offer` says whether the buyer already has an
/// open offer on it, `offers_made` how many offers they made on it in all.
#[allow(clippy::too_many_arguments)]
pub fn decide_new_offer(
    rules: &CommerceRules,
    listing: &ListingState,
    buyer: UserId,
    amount: Money,
    quantity: i64,
    open_offer: bool,
    offers_made: i64,
    now: NaiveDateTime,
) -> Result<(OfferState, Disposition), OfferError> {
    if buyer == listing.seller_id {
        return Err(OfferError::OwnListing);
    }
    if !visible_to(listing.status, listing.seller_id, Some(buyer)) {
        return Err(OfferError::ListingNotFound);
    }
    if listing.status != ListingStatus::Active {
        return Err(OfferError::ListingNotActive(listing.status));
    }
    if quantity < 1 {
        return Err(OfferError::Invalid {
            field: "quantity",
            message: "must be at least 1".into(),
        });
    }
    if quantity > listing.quantity {
        return Err(OfferError::NotEnoughQuantity {
            wanted: quantity,
            available: listing.quantity,
        });
    }
    check_amount(rules, listing, amount)?;
    if open_offer {
        return Err(OfferError::OpenOfferExists);
    }
    if offers_made >= rules.offers_per_buyer_per_listing {
        return Err(OfferError::TooManyOffers(
            rules.offers_per_buyer_per_listing,
        ));
    }
    let disposition = auto_disposition(listing, amount);
    let offer = OfferState {
        buyer,
        seller: listing.seller_id,
        amount,
        quantity,
        status: OfferStatus::Open,
        turn: Side::Seller,
        round: 1,
        expires_at: now + rules.offer_ttl,
    };
    Ok((offer, disposition))
}

/// What the seller's thresholds do with a buyer's amount: at or above `auto_accept_cents` it is
/// accepted, below `auto_decline_cents` declined, otherwise it stays open for the seller.
fn auto_disposition(listing: &ListingState, amount: Money) -> Disposition {
    if listing.auto_accept.is_some_and(|a| amount >= a) {
        Disposition::AutoAccept
    } else if listing.auto_decline.is_some_and(|d| amount < d) {
        Disposition::AutoDecline
    } else {
        Disposition::Open
    }
}

/// What happens straight away to a counter by `side`: the seller's thresholds apply to a
/// buyer's counter as to an opening offer; a seller's counter waits for the buyer.
pub fn counter_disposition(side: Side, listing: &ListingState, amount: Money) -> Disposition {
    match side {
        Side::Buyer => auto_disposition(listing, amount),
        Side::Seller => Disposition::Open,
    }
}

/// An amount is positive, at least the minimum and at most the list price.
fn check_amount(
    rules: &CommerceRules,
    listing: &ListingState,
    amount: Money,
) -> Result<(), OfferError> {
    let min = minimum_offer(listing.price, rules);
    if amount < min {
        return Err(OfferError::Invalid {
            field: "amount_cents",
            message: format!(
                "must be at least {}% of the price ({} cents)",
                rules.offer_min_percent,
                min.cents()
            ),
        });
    }
    if amount > listing.price {
        return Err(OfferError::Invalid {
            field: "amount_cents",
            message: format!(
                "must not exceed the price ({} cents)",
                listing.price.cents()
            ),
        });
    }
    Ok(())
}

/// Decides `action` by `actor` on `offer` (of `listing`) at `now`; returns the offer after it
/// and the event it raises. Accepting only decides the offer: buying the units is the caller's.
pub fn decide_offer_action(
    rules: &CommerceRules,
    offer: &OfferState,
    listing: &ListingState,
    actor: Party,
    action: &OfferAction,
    now: NaiveDateTime,
) -> Result<(OfferState, OfferEvent), OfferError> {
    let side = match actor {
        Party::User(user) => Some(offer.side_of(user).ok_or(OfferError::NotParty)?),
        Party::System => None,
    };
    if offer.status != OfferStatus::Open {
        return Err(OfferError::NotOpen(offer.status));
    }
    let mut next = offer.clone();
    let event = match (side, action) {
        (None, OfferAction::Expire) => {
            if now < offer.expires_at {
                return Err(OfferError::Invalid {
                    field: "expires_at",
                    message: "has not passed yet".into(),
                });
            }
            next.status = OfferStatus::Expired;
            OfferEvent::Expired
        }
        (None, OfferAction::SoldOut) => {
            next.status = OfferStatus::Declined;
            OfferEvent::Declined
        }
        (None, _) => return Err(OfferError::NotParty),
        (Some(_), OfferAction::Expire | OfferAction::SoldOut) => {
            return Err(OfferError::SystemOnly)
        }
        (Some(_), _) if now >= offer.expires_at => return Err(OfferError::Expired),
        (Some(side), OfferAction::Withdraw) => {
            if side != Side::Buyer {
                return Err(OfferError::OnlyBuyerWithdraws);
            }
            next.status = OfferStatus::Withdrawn;
            OfferEvent::Withdrawn
        }
        (Some(side), _) if side != offer.turn => return Err(OfferError::NotYourTurn(offer.turn)),
        (Some(_), OfferAction::Accept) => {
            if listing.status != ListingStatus::Active {
                return Err(OfferError::ListingNotActive(listing.status));
            }
            if listing.quantity < offer.quantity {
                return Err(OfferError::NotEnoughQuantity {
                    wanted: offer.quantity,
                    available: listing.quantity,
                });
            }
            next.status = OfferStatus::Accepted;
            OfferEvent::Accepted
        }
        (Some(_), OfferAction::Decline) => {
            next.status = OfferStatus::Declined;
            OfferEvent::Declined
        }
        (Some(side), OfferAction::Counter { amount }) => {
            if listing.status != ListingStatus::Active {
                return Err(OfferError::ListingNotActive(listing.status));
            }
            check_amount(rules, listing, *amount)?;
            next.amount = *amount;
            next.turn = side.other();
            next.round += 1;
            next.expires_at = now + rules.offer_ttl;
            OfferEvent::Countered
        }
    };
    Ok((next, event))
}

#[cfg(test)]
mod tests;
