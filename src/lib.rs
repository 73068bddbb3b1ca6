//! Bazaar's edges: the HTTP server around the marketplace core (`bazaar-actors`).
//!
//! - [`config`]: flags and environment.
//! - [`app`]: builds the actix application; used by `main` and the tests.
//! - [`http`]: REST handlers, one file per resource, and shared extractors.
//! - [`error`]: one error type, rendered as `application/problem+json`.
//! - [`auth`]: password hashing and bearer tokens.
//! - [`hashing`]: the bounded pool of threads that hash passwords.
//! - [`media`]: photos: the object store, the picture pipeline and its threads, the sweep.
//! - [`limits`]: rate limits, the login lock-out and the client address they key on.
//! - [`media`]: listing photos' object store (`media::s3`: any S3-compatible store).
//! - [`seed`]: users with sessions and money, straight in the database (load tests, tests).
//! - [`ws`]: the WebSocket session, its wire protocol and limits.
//! - [`metrics`], [`telemetry`]: Prometheus metrics and `tracing` logs.

#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod hashing;
pub mod http;
pub mod limits;
pub mod media;
pub mod metrics;
pub mod seed;
mod server;
pub mod telemetry;
pub mod ws;
