//! The product's tunable rules, each a setting with these defaults (the server's flags and
//! environment in `src/config.rs` override them).

use super::photo::PhotoUrls;
use chrono::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommerceRules {
    /// An offer below this percentage of the list price is refused.
    pub offer_min_percent: i64,
    /// Offers one buyer may make on one listing, in all.
    pub offers_per_buyer_per_listing: i64,
    /// How long an offer or counter stays open.
    pub offer_ttl: Duration,
    /// How long the seller has to ship before the buyer may cancel.
    pub ship_deadline: Duration,
    /// How long after shipping an unconfirmed order completes by itself.
    pub auto_complete_after: Duration,
    /// How long after completion ratings stay hidden unless both sides rated.
    pub rating_window: Duration,
    /// The platform's fee on a completed order, in percent of the order total.
    pub fee_percent: i64,
    /// A liker offer must be at least this percentage below the list price.
    pub liker_offer_min_discount_percent: i64,
    /// How often a seller may send an offer to likers, and how long it stays open.
    pub liker_offer_period: Duration,
    /// A price drop of at least this percentage notifies likers.
    pub price_drop_notify_percent: i64,
    /// The shortest interval a seller may set between scheduled price drops.
    pub auto_price_drop_min_interval: Duration,
    /// How long a dispute may stay unresolved before it is escalated to the moderators.
    pub dispute_timeout: Duration,
    /// Photos one listing may hold.
    pub max_photos_per_listing: i64,
    /// Where stored photo files are served from (their URLs in listings and events).
    pub photo_urls: PhotoUrls,
}

impl Default for CommerceRules {
    fn default() -> Self {
        CommerceRules {
            offer_min_percent: 50,
            offers_per_buyer_per_listing: 3,
            offer_ttl: Duration::hours(24),
            ship_deadline: Duration::days(3),
            auto_complete_after: Duration::hours(72),
            rating_window: Duration::days(7),
            fee_percent: 10,
            liker_offer_min_discount_percent: 10,
            liker_offer_period: Duration::hours(24),
            price_drop_notify_percent: 10,
            auto_price_drop_min_interval: Duration::days(1),
            dispute_timeout: Duration::days(14),
            max_photos_per_listing: 12,
            photo_urls: PhotoUrls::default(),
        }
    }
}
