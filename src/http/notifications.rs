//! The notification inbox: price drops on liked listings, offers to likers.

use super::docs::{AuthErrors, JsonBodyErrors, QueryErrors, Unavailable};
use super::{db, utc, Caller, JsonBody, Params, QueryParams};
use crate::app::AppState;
use crate::error::ApiError;
use actix_web::{get, post, web, HttpResponse};
use bazaar_actors::inbox;
use bazaar_actors::store::notifications;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// notification.price_drop, notification.offer, order.disputed or order.dispute_resolved.
    pub kind: String,
    pub data: serde_json::Value,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    /// Oldest first, after `after`.
    pub items: Vec<NotificationView>,
    pub unread_count: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadUpTo {
    /// Every notification with this id or lower becomes read.
    pub up_to: i64,
}

/// The caller's notifications after `after` (oldest first) and the unread count.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(
        ("after" = Option<i64>, Query, minimum = 0, description = "Only notifications with a greater id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
    ),
    responses(
        (status = 200, description = "The inbox", body = Inbox),
        QueryErrors,
        AuthErrors,
        Unavailable,
    )
)]
#[get("/api/v1/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let after = p.int("after", 0, i64::MAX).unwrap_or(0);
    let limit = p.limit();
    p.finish()?;
    let user = caller.user.id;
    let (rows, unread_count) = db(&state, move |conn| {
        Ok((
            notifications::after(conn, user, after, limit)?,
            notifications::unread_count(conn, user)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Inbox {
        items: rows
            .iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind.clone(),
                data: serde_json::from_str(&n.data).unwrap_or_default(),
                read: n.read_at.is_some(),
                created_at: utc(n.created_at),
            })
            .collect(),
        unread_count,
    }))
}

/// Mark notifications read, up to an id.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    request_body = ReadUpTo,
    responses(
        (status = 204, description = "Marked"),
        JsonBodyErrors,
        AuthErrors,
        Unavailable,
    )
)]
#[post("/api/v1/notifications/read")]
pub async fn read_notifications(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<ReadUpTo>,
) -> Result<HttpResponse, ApiError> {
    inbox::mark_read(&state.pool, caller.id(), body.0.up_to).await?;
    Ok(HttpResponse::NoContent().finish())
}
