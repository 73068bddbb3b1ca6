//! Integration tests: the real server, over HTTP, on SQLite or PostgreSQL.

mod accounts;
mod asyncapi;
mod cli;
mod cluster;
mod commerce;
mod concurrency;
mod helpers;
mod likes;
mod listings;
mod migrations;
mod offers;
mod ops;
mod outages;
mod processes;
mod read_only;
mod realtime;
mod text;
mod timers;
mod ws_helpers;
