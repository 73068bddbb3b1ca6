//! Integration tests: the real server, over HTTP, on SQLite or PostgreSQL.

mod accounts;
mod asyncapi;
mod chat;
mod cli;
mod cluster;
mod commerce;
mod concurrency;
mod helpers;
mod idempotency;
mod likes;
mod limits;
mod listings;
mod migrations;
mod offers;
mod ops;
mod outages;
mod price_drops;
mod processes;
mod read_only;
mod readme;
mod realtime;
mod rules;
mod search;
mod text;
mod timers;
mod ws_helpers;
