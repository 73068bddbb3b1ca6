//! Rows as Diesel reads and writes them: `Listing` is read, `NewListing` inserted,
//! `ListingChanges` applied.

use super::schema::{events, likes, listings, offers, orders, ratings, sessions, users};
use crate::domain::auto_price_drop::AutoPriceDrop;
use crate::domain::listing::{ListingState, ListingStatus};
use crate::domain::moderation::Role;
use crate::domain::offer::{OfferReason, OfferState, OfferStatus, Side};
use crate::domain::order::{OrderState, OrderStatus};
use crate::domain::{ListingId, LoginId, Money, OfferId, OrderId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub role: Role,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Identifiable)]
/// A login: what a bearer token opened (a row of the `sessions` table).
#[diesel(table_name = sessions)]
pub struct Login {
    pub id: i64,
    pub user_id: i64,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

impl Login {
    pub fn login_id(&self) -> LoginId {
        LoginId(self.id)
    }
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewLogin<'a> {
    pub user_id: i64,
    pub token_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, QueryableByName, Identifiable)]
#[diesel(table_name = listings)]
pub struct Listing {
    pub id: i64,
    pub seller_id: i64,
    pub title: String,
    pub description: String,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub price_cents: i64,
    pub currency: String,
    pub quantity: i64,
    pub status: ListingStatus,
    pub like_count: i64,
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub auto_drop_percent: Option<i64>,
    pub auto_drop_interval_secs: Option<i64>,
    pub auto_drop_floor_cents: Option<i64>,
    pub next_price_drop_at: Option<NaiveDateTime>,
}

impl Listing {
    /// The seller's schedule of price drops, if any.
    pub fn auto_price_drop(&self) -> Option<AutoPriceDrop> {
        Some(AutoPriceDrop {
            percent: self.auto_drop_percent?,
            interval_secs: self.auto_drop_interval_secs?,
            floor: Money::from_cents(self.auto_drop_floor_cents?),
        })
    }

    pub fn listing_id(&self) -> ListingId {
        ListingId(self.id)
    }

    pub fn seller(&self) -> UserId {
        UserId(self.seller_id)
    }

    pub fn status(&self) -> ListingStatus {
        self.status
    }

    /// What the listing rules decide on.
    pub fn state(&self) -> ListingState {
        ListingState {
            id: self.listing_id(),
            seller_id: self.seller(),
            title: self.title.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            condition: self.condition.clone(),
            price: Money::from_cents(self.price_cents),
            quantity: self.quantity,
            status: self.status(),
            auto_accept: self.auto_accept_cents.map(Money::from_cents),
            auto_decline: self.auto_decline_cents.map(Money::from_cents),
            auto_price_drop: self.auto_price_drop(),
            next_price_drop_at: self.next_price_drop_at,
            version: self.version,
        }
    }
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = listings)]
pub struct NewListing<'a> {
    pub seller_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub category: Option<&'a str>,
    pub condition: Option<&'a str>,
    pub price_cents: i64,
    pub currency: &'a str,
    pub quantity: i64,
    pub status: ListingStatus,
    pub like_count: i64,
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub auto_drop_percent: Option<i64>,
    pub auto_drop_interval_secs: Option<i64>,
    pub auto_drop_floor_cents: Option<i64>,
    pub next_price_drop_at: Option<NaiveDateTime>,
}

/// Every field a command may change, written as a whole (a `None` clears the column).
#[derive(Clone, Debug, AsChangeset)]
#[diesel(table_name = listings, treat_none_as_null = true)]
pub struct ListingChanges<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub category: Option<&'a str>,
    pub condition: Option<&'a str>,
    pub price_cents: i64,
    pub quantity: i64,
    pub status: ListingStatus,
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
    pub auto_drop_percent: Option<i64>,
    pub auto_drop_interval_secs: Option<i64>,
    pub auto_drop_floor_cents: Option<i64>,
    pub next_price_drop_at: Option<NaiveDateTime>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

impl<'a> ListingChanges<'a> {
    pub fn from_state(state: &'a ListingState, updated_at: NaiveDateTime) -> Self {
        ListingChanges {
            title: &state.title,
            description: &state.description,
            category: state.category.as_deref(),
            condition: state.condition.as_deref(),
            price_cents: state.price.cents(),
            quantity: state.quantity,
            status: state.status,
            auto_accept_cents: state.auto_accept.map(Money::cents),
            auto_decline_cents: state.auto_decline.map(Money::cents),
            auto_drop_percent: state.auto_price_drop.map(|d| d.percent),
            auto_drop_interval_secs: state.auto_price_drop.map(|d| d.interval_secs),
            auto_drop_floor_cents: state.auto_price_drop.map(|d| d.floor.cents()),
            next_price_drop_at: state.next_price_drop_at,
            version: state.version,
            updated_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Identifiable)]
#[diesel(table_name = likes)]
pub struct Like {
    pub id: i64,
    pub user_id: i64,
    pub listing_id: i64,
    pub target_price_cents: Option<i64>,
    pub created_at: NaiveDateTime,
    /// The price the liker last saw: when they liked, or at their last price-drop alert.
    pub seen_price_cents: Option<i64>,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = likes)]
pub struct NewLike {
    pub user_id: i64,
    pub listing_id: i64,
    pub target_price_cents: Option<i64>,
    pub created_at: NaiveDateTime,
    pub seen_price_cents: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, QueryableByName, Identifiable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub topic: String,
    pub seq: i64,
    pub event_type: String,
    pub data: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub topic: &'a str,
    pub seq: i64,
    pub event_type: &'a str,
    pub data: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Wallet {
    pub user_id: i64,
    pub available_cents: i64,
    pub escrow_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct LedgerEntry {
    pub id: i64,
    pub transaction_id: i64,
    pub account: String,
    pub amount_cents: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct LedgerTransaction {
    pub id: i64,
    pub kind: String,
    pub order_id: Option<i64>,
    pub reference: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Identifiable)]
#[diesel(table_name = offers)]
pub struct Offer {
    pub id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub amount_cents: i64,
    pub quantity: i64,
    pub status: OfferStatus,
    pub turn: Side,
    pub round: i64,
    pub reason: Option<OfferReason>,
    pub history: String,
    pub expires_at: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Offer {
    pub fn offer_id(&self) -> OfferId {
        OfferId(self.id)
    }

    /// What the offer rules decide on.
    pub fn state(&self) -> OfferState {
        OfferState {
            buyer: UserId(self.buyer_id),
            seller: UserId(self.seller_id),
            amount: Money::from_cents(self.amount_cents),
            quantity: self.quantity,
            status: self.status,
            turn: self.turn,
            round: self.round,
            expires_at: self.expires_at,
        }
    }
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = offers)]
pub struct NewOffer<'a> {
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub amount_cents: i64,
    pub quantity: i64,
    pub status: OfferStatus,
    pub turn: Side,
    pub round: i64,
    /// `OfferReason::as_str`: Diesel cannot infer the backend for an `Option` of a custom
    /// text type in an insert, so the name is bound as text.
    pub reason: Option<&'static str>,
    pub history: &'a str,
    pub expires_at: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, AsChangeset)]
#[diesel(table_name = offers, treat_none_as_null = true)]
pub struct OfferChanges<'a> {
    pub amount_cents: i64,
    pub status: OfferStatus,
    pub turn: Side,
    pub round: i64,
    /// `OfferReason::as_str`: Diesel cannot infer the backend for an `Option` of a custom
    /// text type in an insert, so the name is bound as text.
    pub reason: Option<&'static str>,
    pub history: &'a str,
    pub expires_at: NaiveDateTime,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, QueryableByName, Identifiable)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub offer_id: Option<i64>,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub total_cents: i64,
    pub status: OrderStatus,
    pub ship_by: NaiveDateTime,
    pub auto_complete_at: Option<NaiveDateTime>,
    pub shipped_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Order {
    pub fn order_id(&self) -> OrderId {
        OrderId(self.id)
    }

    pub fn state(&self) -> OrderState {
        OrderState {
            buyer: UserId(self.buyer_id),
            seller: UserId(self.seller_id),
            status: self.status,
            ship_by: self.ship_by,
            auto_complete_at: self.auto_complete_at,
        }
    }
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrder {
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub offer_id: Option<i64>,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub total_cents: i64,
    pub status: OrderStatus,
    pub ship_by: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, AsChangeset)]
#[diesel(table_name = orders, treat_none_as_null = true)]
pub struct OrderChanges {
    pub status: OrderStatus,
    pub auto_complete_at: Option<NaiveDateTime>,
    pub shipped_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Rating {
    pub id: i64,
    pub order_id: i64,
    pub rater_id: i64,
    pub ratee_id: i64,
    pub stars: i64,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = ratings)]
pub struct NewRating<'a> {
    pub order_id: i64,
    pub rater_id: i64,
    pub ratee_id: i64,
    pub stars: i64,
    pub comment: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct LikerOffer {
    pub id: i64,
    pub listing_id: i64,
    pub seller_id: i64,
    pub amount_cents: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl LikerOffer {
    /// Whether new likers still get it at `now`.
    pub fn open_at(&self, now: NaiveDateTime) -> bool {
        now < self.expires_at
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct IdempotencyKey {
    pub id: i64,
    pub user_id: i64,
    pub key: String,
    pub fingerprint: String,
    pub status: Option<i64>,
    pub body: Option<String>,
    pub created_at: NaiveDateTime,
    /// Which claim holds the key (a new one on each take-over).
    pub token: i64,
    /// Until when the claim's request may still be running.
    pub locked_until: NaiveDateTime,
}
