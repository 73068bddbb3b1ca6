//! The WebSocket layer, kept in one module so a later move from actix-web-actors to actix-ws
//! stays local: the session actor, its topics and chat ops, the order events are written in,
//! the wire protocol and the connection limits.

mod chat;
pub mod cutoff;
pub mod hub;
pub mod ordering;
pub mod outbound;
pub mod outbox;
pub mod protocol;
pub mod session;
mod subscriptions;

pub use hub::Hub;
pub use session::{start, SessionParams};
