//! The bodies of the listing routes: what a client sends to create or edit a listing, and
//! the listing as it is answered.

use super::{double_option, search, utc};
use bazaar_actors::domain::auto_price_drop::AutoPriceDrop;
use bazaar_actors::domain::{Money, UserId};
use bazaar_actors::events::{ListingSnapshot, PhotoView};
use bazaar_actors::store::models::Listing;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateListingBody {
    /// 1–120 characters, not blank; stored trimmed.
    #[schema(
        max_length = 120,
        pattern = "^[^\\x00]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00]*$"
    )]
    pub title: String,
    /// At most 5000 characters.
    #[serde(default)]
    #[schema(max_length = 5000, pattern = "^[^\\x00]*$")]
    pub description: String,
    #[schema(minimum = 1, maximum = 1000000000)]
    pub price_cents: i64,
    /// Default 1.
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: Option<i64>,
    /// A category slug of the tree (GET /api/v1/categories).
    #[schema(value_type = Option<search::CategorySlug>, inline)]
    pub category: Option<String>,
    #[schema(value_type = Option<Condition>)]
    pub condition: Option<String>,
    /// Default active.
    #[schema(value_type = Option<NewListingStatus>)]
    pub status: Option<String>,
    /// Offers at or above this are accepted at once.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub auto_accept_cents: Option<i64>,
    /// Offers below this are declined at once; not above `auto_accept_cents`.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub auto_decline_cents: Option<i64>,
    /// Drop the price on a schedule until a floor.
    pub auto_price_drop: Option<AutoPriceDropBody>,
}

/// A schedule of price drops: `percent` (1–50) off every `interval_secs` (at least the
/// server's minimum, a day by default) until `floor_cents` (below the price, at least half of
/// it). A manual price change restarts it from the new price.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoPriceDropBody {
    #[schema(minimum = 1, maximum = 50)]
    pub percent: i64,
    /// At least the server's `--auto-price-drop-min-interval-secs`; at most a year.
    #[schema(minimum = 1, maximum = 31536000)]
    pub interval_secs: i64,
    /// Below the price, at least half of it.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub floor_cents: i64,
}

impl From<AutoPriceDropBody> for AutoPriceDrop {
    fn from(b: AutoPriceDropBody) -> Self {
        AutoPriceDrop {
            percent: b.percent,
            interval_secs: b.interval_secs,
            floor: Money::from_cents(b.floor_cents),
        }
    }
}

impl From<AutoPriceDrop> for AutoPriceDropBody {
    fn from(d: AutoPriceDrop) -> Self {
        AutoPriceDropBody {
            percent: d.percent,
            interval_secs: d.interval_secs,
            floor_cents: d.floor.cents(),
        }
    }
}

/// The condition of the goods (documents the words `condition` accepts).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum Condition {
    New,
    LikeNew,
    Good,
    Fair,
    Poor,
}

/// The status a new listing may start in.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum NewListingStatus {
    Draft,
    Active,
}

/// A listing's status; an edit may move it only along the legal transitions (else 409).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum StatusName {
    Draft,
    Active,
    SoldOut,
    Closed,
}

/// Every field is optional; `null` clears category, condition, the auto thresholds and the
/// price-drop schedule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateListingBody {
    #[schema(
        max_length = 120,
        pattern = "^[^\\x00]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00]*$"
    )]
    pub title: Option<String>,
    #[schema(max_length = 5000, pattern = "^[^\\x00]*$")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<search::CategorySlug>, inline)]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Condition>)]
    pub condition: Option<Option<String>>,
    #[schema(minimum = 1, maximum = 1000000000)]
    pub price_cents: Option<i64>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: Option<i64>,
    #[schema(value_type = Option<StatusName>)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000000)]
    pub auto_accept_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000000)]
    pub auto_decline_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<AutoPriceDropBody>)]
    pub auto_price_drop: Option<Option<AutoPriceDropBody>>,
    /// The listing's photos in their new order: the id of every photo, once each, and no
    /// other.
    pub photo_ids: Option<Vec<i64>>,
}

/// A listing: its public face as events show it, its times, and `auto_accept_cents` and
/// `auto_decline_cents` for the seller only.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingBody<'a> {
    #[serde(flatten)]
    pub listing: ListingSnapshot<'a>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub seller_terms: Option<SellerTerms>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SellerTerms {
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
    pub auto_price_drop: Option<AutoPriceDropBody>,
}

impl<'a> ListingBody<'a> {
    /// The listing with its photos (in order) as `viewer` may see it.
    pub fn new(l: &'a Listing, photos: Vec<PhotoView>, viewer: Option<UserId>) -> Self {
        let seller_terms = (viewer == Some(l.seller())).then_some(SellerTerms {
            auto_accept_cents: l.auto_accept_cents,
            auto_decline_cents: l.auto_decline_cents,
            auto_price_drop: l.auto_price_drop().map(AutoPriceDropBody::from),
        });
        ListingBody {
            listing: ListingSnapshot::of(l, photos),
            created_at: utc(l.created_at),
            updated_at: utc(l.updated_at),
            seller_terms,
        }
    }
}
