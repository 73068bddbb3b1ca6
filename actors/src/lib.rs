//! Bazaar's marketplace core.
//!
//! - [`domain`]: the pure rules (listings, accounts, money), no I/O.
//! - [`store`]: Diesel over SQLite and PostgreSQL: schema, rows, queries, pool, migrations.
//! - [`events`]: topics and the event payloads written to the `events` outbox.
//! - [`listing`]: `ListingActor`, the single writer of one listing.
//! - [`directory`]: activates per-listing actors on first use; they passivate when idle.
//! - [`timers`]: `Timekeeper`, which fires stored deadlines (offer expiry, auto-completion).

pub mod directory;
pub mod domain;
pub mod events;
pub mod listing;
pub mod store;
pub mod timers;

pub use directory::{Directory, DirectorySettings};
pub use listing::{ListingActor, ListingError};
