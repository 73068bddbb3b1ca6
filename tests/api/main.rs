//! Integration tests: the real server, over HTTP, on SQLite or PostgreSQL.

mod accounts;
mod cli;
mod helpers;
mod likes;
mod listings;
mod migrations;
mod ops;
mod processes;
