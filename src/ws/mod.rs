//! The WebSocket layer, kept in one module so a later move from actix-web-actors to actix-ws
//! stays local: the session actor, the wire protocol and the connection limits.

pub mod outbound;
pub mod protocol;
pub mod session;

pub use session::{start, SessionParams};
