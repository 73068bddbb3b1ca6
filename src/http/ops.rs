//! Operations: liveness, readiness, metrics and the OpenAPI document.

use super::db;
use crate::app::{ApiDoc, AppState};
use crate::error::{ApiError, Problem};
use actix_web::{get, web, HttpResponse};
use bazaar_actors::directory::CountActive;
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub node_id: String,
    /// connected, or not_used (SQLite: one process, no listener).
    pub event_listener: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The body of `/readyz` when the database does not answer.
pub const DATABASE_DOES_NOT_ANSWER: &str = "the database does not answer";

/// Readiness: the database answers and, on PostgreSQL, the event listener is connected.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Readiness),
        (status = 503, description = "The database does not answer, or the event listener is disconnected", body = Problem),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // Whatever the failure, the body says only that the database does not answer: the
    // driver's words (host names, users, paths) go to the log.
    db(&state, |conn| conn.batch_execute("SELECT 1").map_err(ApiError::internal))
        .await
        .map_err(|e| {
            tracing::warn!(error = %crate::error::error_chain(&e), "not ready: the database does not answer");
            ApiError::Unavailable(DATABASE_DOES_NOT_ANSWER.into())
        })?;
    let event_listener = match &state.relay {
        None => "not_used",
        Some(relay) if relay.connected() => "connected",
        Some(_) => {
            return Err(ApiError::Unavailable(format!(
                "node {}: the event listener is disconnected",
                state.node_id
            )))
        }
    };
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        node_id: state.node_id.clone(),
        event_listener,
    }))
}

/// Prometheus metrics (text exposition format). With `--metrics-bind` they are served on that
/// internal address only, and this address answers 404.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (open, idle) = state.pool.open_and_idle();
    state.metrics.pool_size.set(i64::from(open));
    state.metrics.pool_in_use.set(i64::from(open - idle));
    if let Some(relay) = &state.relay {
        state
            .metrics
            .listener_connected
            .set(i64::from(relay.connected()));
    }
    if let Ok(active) = state.directory.send(CountActive).await {
        state
            .metrics
            .active_listing_actors
            .set(i64::try_from(active).unwrap_or(i64::MAX));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// This document.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document", body = Object))
)]
#[get("/api/v1/openapi.json")]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
