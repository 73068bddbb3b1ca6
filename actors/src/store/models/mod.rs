//! Rows as Diesel reads and writes them: `Listing` is read, `NewListing` inserted,
//! `ListingChanges` applied.

use crate::domain::auto_price_drop::AutoPriceDrop;
use crate::domain::listing::{ListingState, ListingStatus};
use crate::domain::moderation::Role;
use crate::domain::{ListingId, LoginId, Money, UserId};
use crate::store::in_order::InOrder;
use crate::store::schema::{events, likes, listings, sessions, users};
use crate::store::stored_time::StoredTime;
use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, QueryableByName};
use diesel::prelude::*;
use diesel::row::NamedRow;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

mod trade;
pub use trade::*;

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub role: Role,
    pub suspended_at: Option<NaiveDateTime>,
    pub suspended_until: Option<NaiveDateTime>,
    pub suspension_reason: Option<String>,
    /// A few lines about themselves, shown on their public profile.
    pub bio: String,
    /// The stored keys of their avatar's 240 px and 640 px squares, if they set one.
    pub avatar_small_key: Option<String>,
    pub avatar_large_key: Option<String>,
}

impl User {
    /// Whether the user is suspended at `now`.
    pub fn suspended(&self, now: NaiveDateTime) -> bool {
        crate::domain::moderation::suspension_in_force(self.suspended_at, self.suspended_until, now)
    }
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

/// A listing's row. Read by name ([`QueryableByName`], below) as well as by position.
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
    pub status: ListingStatus,
    pub like_count: i64,
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
    pub version: i64,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
    pub auto_drop_percent: Option<i64>,
    pub auto_drop_interval_secs: Option<i64>,
    pub auto_drop_floor_cents: Option<i64>,
    pub next_price_drop_at: Option<NaiveDateTime>,
}

/// What `#[derive(QueryableByName)]` would read, but each column first where the row names it
/// in this order ([`InOrder`]), as `SELECT` statements list a listing's columns: a search page
/// decodes 20 rows.
impl<DB> QueryableByName<DB> for Listing
where
    DB: Backend,
    i64: FromSql<BigInt, DB>,
    String: FromSql<Text, DB>,
    ListingStatus: FromSql<Text, DB>,
    StoredTime: FromSql<Timestamp, DB>,
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        let mut c = InOrder::new(row);
        Ok(Listing {
            id: c.get::<DB, BigInt, _>("id")?,
            seller_id: c.get::<DB, BigInt, _>("seller_id")?,
            title: c.get::<DB, Text, _>("title")?,
            description: c.get::<DB, Text, _>("description")?,
            category: c.get::<DB, Nullable<Text>, _>("category")?,
            condition: c.get::<DB, Nullable<Text>, _>("condition")?,
            price_cents: c.get::<DB, BigInt, _>("price_cents")?,
            currency: c.get::<DB, Text, _>("currency")?,
            quantity: c.get::<DB, BigInt, _>("quantity")?,
            status: c.get::<DB, Text, _>("status")?,
            like_count: c.get::<DB, BigInt, _>("like_count")?,
            auto_accept_cents: c.get::<DB, Nullable<BigInt>, _>("auto_accept_cents")?,
            auto_decline_cents: c.get::<DB, Nullable<BigInt>, _>("auto_decline_cents")?,
            version: c.get::<DB, BigInt, _>("version")?,
            created_at: c.get::<DB, Timestamp, StoredTime>("created_at")?.into(),
            updated_at: c.get::<DB, Timestamp, StoredTime>("updated_at")?.into(),
            auto_drop_percent: c.get::<DB, Nullable<BigInt>, _>("auto_drop_percent")?,
            auto_drop_interval_secs: c.get::<DB, Nullable<BigInt>, _>("auto_drop_interval_secs")?,
            auto_drop_floor_cents: c.get::<DB, Nullable<BigInt>, _>("auto_drop_floor_cents")?,
            next_price_drop_at: c.get::<DB, Nullable<Timestamp>, _>("next_price_drop_at")?,
        })
    }
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
