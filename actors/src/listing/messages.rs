//! The listing actor's mailbox: its commands, what they answer, and the notice it sends as it
//! passivates.

use super::{ListingActor, ListingError};
use crate::domain::dispute::{DisputeReason, Resolution};
use crate::domain::listing::ListingPatch;
use crate::domain::offer::{OfferAction, Party};
use crate::domain::order::OrderAction;
use crate::domain::{ListingId, Money, OfferId, OrderId, UserId};
use crate::idempotency::KeyCompletion;
use crate::store::disputes::Dispute;
use crate::store::models::{LikerOffer, Listing, Offer, Order, Rating};
use crate::store::photos::Photo;
use actix::prelude::*;

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
    /// A new order of the listing's photos: every one of their ids, once each.
    pub photo_ids: Option<Vec<i64>>,
}

/// The three stored files of a new photo (content-hash keys, already in the object store)
/// and its size.
#[derive(Clone, Debug)]
pub struct StoredPhoto {
    pub width: i32,
    pub height: i32,
    pub full_key: String,
    pub medium_key: String,
    pub thumb_key: String,
}

/// Add a photo at the end of the listing's photos (the seller, up to the listing's limit).
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<PhotoAdded, ListingError>")]
pub struct AddPhoto {
    pub by: UserId,
    pub photo: StoredPhoto,
}

/// The listing after a photo was added, and the photo's row.
#[derive(Clone, Debug)]
pub struct PhotoAdded {
    pub listing: Listing,
    pub photo: Photo,
}

/// Remove a photo of the listing (the seller). Its files stay until the media sweep finds
/// no row naming them.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Listing, ListingError>")]
pub struct RemovePhoto {
    pub by: UserId,
    pub photo: i64,
}

/// Drop the price if the listing's scheduled drop is due (a system command from the
/// timekeeper; re-checked against the row, so it fires once however many processes send it).
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Listing, ListingError>")]
pub struct DropPriceOnSchedule;

/// Close (delete) a listing: its row and history stay, its status becomes `closed`.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Listing, ListingError>")]
pub struct CloseListing {
    pub by: UserId,
}

/// A moderator removes the listing (see `removal`).
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Listing, ListingError>")]
pub struct RemoveListing {
    /// The moderator.
    pub by: UserId,
    pub note: String,
}

/// Buy now at the list price.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Order, ListingError>")]
pub struct Purchase {
    pub buyer: UserId,
    pub quantity: i64,
    pub expected_price: Option<Money>,
    /// The request's Idempotency-Key claim: its response commits with the order.
    pub key: Option<KeyCompletion<Order>>,
}

/// A buyer's new offer.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<OfferOutcome, ListingError>")]
pub struct PlaceOffer {
    pub buyer: UserId,
    pub amount: Money,
    pub quantity: i64,
    /// The request's Idempotency-Key claim: its response commits with the offer.
    pub key: Option<KeyCompletion<OfferOutcome>>,
}

/// Counter, accept, decline, withdraw or expire an offer of this listing.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<OfferOutcome, ListingError>")]
pub struct ActOnOffer {
    pub offer: OfferId,
    pub actor: Party,
    pub action: OfferAction,
    /// The request's Idempotency-Key claim (an accept's): its response commits with the step.
    pub key: Option<KeyCompletion<OfferOutcome>>,
}

/// Ship, confirm, cancel or auto-complete an order of this listing.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Order, ListingError>")]
pub struct ActOnOrder {
    pub order: OrderId,
    pub actor: Party,
    pub action: OrderAction,
}

/// The seller ships an order of this listing, with an optional carrier and tracking number.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<super::ShipOutcome, ListingError>")]
pub struct ShipOrder {
    pub order: OrderId,
    pub seller: UserId,
    pub shipment: crate::domain::address::Shipment,
}

/// An order of this listing that has no address gets its buyer's current one (the buyer just
/// added it): the order if it was filled.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Option<Order>, ListingError>")]
pub struct FillShipTo {
    pub order: OrderId,
    pub buyer: UserId,
}

/// The buyer disputes an order of this listing: it stops completing by itself.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<(Order, Dispute), ListingError>")]
pub struct OpenDispute {
    pub order: OrderId,
    pub buyer: UserId,
    pub reason: DisputeReason,
    pub note: String,
}

/// The seller refunds an order of this listing in full.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Order, ListingError>")]
pub struct RefundOrder {
    pub order: OrderId,
    pub seller: UserId,
}

/// A moderator resolves the dispute of an order of this listing. The edge has checked that
/// `moderator` is one.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<(Order, Dispute), ListingError>")]
pub struct ResolveDispute {
    pub order: OrderId,
    pub moderator: UserId,
    pub resolution: Resolution,
    pub note: String,
}

/// The dispute timer of an order of this listing passed: escalate it (system only; moves no
/// money).
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<(), ListingError>")]
pub struct EscalateDispute {
    pub order: OrderId,
}

/// Rate the other side of a completed order of this listing, once.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Rating, ListingError>")]
pub struct RateOrder {
    pub order: OrderId,
    pub rater: UserId,
    pub stars: i64,
    pub comment: Option<String>,
}

/// The seller's offer to everyone who likes the listing.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<LikerOfferOutcome, ListingError>")]
pub struct SendLikerOffer {
    pub seller: UserId,
    pub amount: Money,
}

/// Decline, as the system (reason `blocked`), the open offers of this listing between two
/// users, one of whom just blocked the other. Answers how many were declined.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<usize, ListingError>")]
pub struct DeclineOffersBetween {
    pub users: [UserId; 2],
}

/// Like the listing, or change the target price of a like (idempotent). A new liker gets the
/// seller's open offer to likers, if there is one.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<(), ListingError>")]
pub struct LikeListing {
    pub user: UserId,
    /// Be told of any drop below this price, whatever its size.
    pub target_price: Option<Money>,
}

/// Stop liking the listing (idempotent).
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<(), ListingError>")]
pub struct UnlikeListing {
    pub user: UserId,
}

/// Sent by a listing actor as it stops for being idle, to whoever started it (the directory).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Passivated {
    pub id: ListingId,
    pub addr: Addr<ListingActor>,
}
