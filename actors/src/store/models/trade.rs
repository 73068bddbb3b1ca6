//! Trade rows: offers, orders, ratings and offers to likers.

use crate::domain::offer::{OfferReason, OfferState, OfferStatus, Side};
use crate::domain::order::{OrderState, OrderStatus};
use crate::domain::{Money, OfferId, OrderId, UserId};
use crate::store::schema::{offers, orders, ratings};
use chrono::NaiveDateTime;
use diesel::prelude::*;

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
    /// The buyer's address when the order was made (`domain::address::Address` as JSON).
    pub ship_to: Option<String>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
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
    /// The buyer's address as it is now, copied (`domain::address::Address` as JSON).
    pub ship_to: Option<String>,
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
    /// When everyone may see it (`domain::order::revealed_at`).
    pub revealed_at: Option<NaiveDateTime>,
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
    pub revealed_at: NaiveDateTime,
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
