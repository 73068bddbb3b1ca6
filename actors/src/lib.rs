//! Bazaar's marketplace core.
//!
//! - [`domain`]: the pure rules (listings, accounts, money), no I/O.
//! - [`store`]: Diesel over SQLite and PostgreSQL: schema, rows, queries, pool, migrations.
//! - [`events`]: topics and the event payloads written to the `events` outbox.
//! - [`listing`]: `ListingActor`, the single writer of one listing.
//! - [`broker`]: routes committed events to live subscribers, one serialisation per event.
//! - [`chat`]: `ChatWriter`, the single writer of chat: messages, read markers, conversations;
//!   it publishes their events after the commit.
//! - [`reads`]: the reads a socket session needs (a topic's history, listing visibility).
//! - [`user`]: `UserActor`, a user's live sessions; `Users` starts and stops them.
//! - [`directory`]: activates per-listing actors on first use; they passivate when idle.
//! - [`relay`]: carries events between processes through PostgreSQL (LISTEN/NOTIFY + table).
//! - [`timers`]: `Timekeeper`, which fires stored deadlines (offer expiry, auto-completion).
//! - [`vocabulary_sweep`]: `VocabularySweeper`, which forgets search words no listing holds.
//! - [`words_index_merge`]: `WordsIndexMerger`, which keeps SQLite's words index in one b-tree.
//! - [`group_commit`]: the queue of commands waiting for the next batch, and their replies.
//! - [`listing_cache`]: listing rows recently read, forgotten by every write.
//! - [`logins`]: bearer tokens recently found live, forgotten on logout.
//! - [`accounts`]: sign-up, log in and out, socket tickets (the writes to users and logins).
//! - [`moderation`]: reports, their resolution, suspensions (each with an audit entry).
//! - [`wallet`]: deposits, withdrawals and provider payments, as ledger postings.
//! - [`inbox`]: marking notifications read.
//! - [`idempotency`]: claiming, completing and releasing Idempotency-Keys.
//! - [`saved_searches`]: saving searches, and `AlertMatcher`, which matches listings against
//!   them after their commit and alerts the searches' owners.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod blocks;
pub mod broker;
pub mod chat;
pub mod directory;
pub mod domain;
pub mod events;
pub mod group_commit;
pub mod idempotency;
pub mod inbox;
pub mod listing;
pub mod listing_cache;
pub mod logins;
pub mod moderation;
pub mod reads;
pub mod relay;
pub mod saved_searches;
pub mod store;
pub mod timers;
pub mod user;
pub mod vocabulary_sweep;
pub mod wallet;
pub mod words_index_merge;

pub use directory::{Directory, DirectorySettings};
pub use listing::{ListingActor, ListingError};
