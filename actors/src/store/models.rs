//! Rows as Diesel reads and writes them: `Listing` is read, `NewListing` inserted,
//! `ListingChanges` applied.

use super::schema::{events, likes, listings, sessions, users};
use crate::domain::listing::{ListingState, ListingStatus};
use crate::domain::{ListingId, Money, UserId};
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
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub user_id: i64,
    pub token_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Identifiable)]
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
    pub status: String,
    pub like_count: i64,
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Listing {
    pub fn listing_id(&self) -> ListingId {
        ListingId(self.id)
    }

    pub fn seller(&self) -> UserId {
        UserId(self.seller_id)
    }

    pub fn status(&self) -> ListingStatus {
        // The CHECK constraint admits only the four statuses.
        ListingStatus::parse(&self.status).unwrap_or(ListingStatus::Closed)
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
    pub status: &'a str,
    pub like_count: i64,
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
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
    pub status: &'a str,
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
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
            status: state.status.as_str(),
            auto_accept_cents: state.auto_accept.map(Money::cents),
            auto_decline_cents: state.auto_decline.map(Money::cents),
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
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = likes)]
pub struct NewLike {
    pub user_id: i64,
    pub listing_id: i64,
    pub target_price_cents: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Identifiable)]
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
