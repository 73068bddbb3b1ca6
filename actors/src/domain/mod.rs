//! Pure marketplace rules: no I/O, no actix, no Diesel. Everything that decides something lives
//! here and is tested without a database.

pub mod account;
pub mod address;
pub mod auto_price_drop;
pub mod block;
pub mod category;
pub mod chat;
pub mod contact;
pub mod dispute;
pub mod idempotency;
pub mod ids;
pub mod ledger;
pub mod liker_offer;
pub mod listing;
pub mod moderation;
pub mod money;
pub mod offer;
pub mod order;
pub mod photo;
pub mod profile;
pub mod purchase;
pub mod ratelimit;
pub mod report;
pub mod rules;
pub mod saved_search;
pub mod search;
pub mod stop_words;
pub mod validation;

pub use ids::{
    ConnectionId, ConversationId, ListingId, LoginId, MessageId, OfferId, OrderId, UserId,
};
pub use money::Money;
pub use validation::FieldErrors;
