//! The moderators' gate and the audit log. [`Moderator`] is the extractor of every route under
//! `/api/v1/admin/`: 401 without a live token, 403 for a caller who is not a moderator or an
//! admin. The role is read afresh on each request (not from the login cache), so a grant or a
//! revocation at the command line holds at once, in every process.

use super::docs::{AuthErrors, QueryErrors, Unavailable};
use super::{before_cursor, db, paginate, utc, Caller, Page, Params, QueryParams};
use crate::app::AppState;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use bazaar_actors::domain::moderation::{AuditTarget, Role};
use bazaar_actors::domain::UserId;
use bazaar_actors::store::audit::{self, AuditEntry};
use bazaar_actors::store::users;
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::openapi::{RefOr, Response};
use utoipa::{IntoResponses, ToSchema};

/// A caller who is a moderator or an admin.
#[derive(Clone, Debug)]
pub struct Moderator {
    pub caller: Caller,
    pub role: Role,
}

impl Moderator {
    pub fn id(&self) -> UserId {
        self.caller.id()
    }
}

impl FromRequest for Moderator {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let caller = caller.await?;
            let state = state.ok_or_else(|| {
                ApiError::internal(std::io::Error::other("application state is not configured"))
            })?;
            let id = caller.user.id;
            let role = db(&state, move |conn| {
                Ok(users::find(conn, id)?.map(|u| u.role))
            })
            .await?;
            match role {
                Some(role) if role.may_moderate() => Ok(Moderator { caller, role }),
                _ => Err(not_a_moderator()),
            }
        })
    }
}

/// The 403 every moderator route gives anyone else.
pub fn not_a_moderator() -> ApiError {
    ApiError::Forbidden("only moderators and admins may do this".into())
}

/// The failures of the [`Moderator`] extractor: 401 without a live token, 403 for a caller
/// who is not a moderator, 503 when the database is unavailable.
pub struct ModeratorErrors;

impl IntoResponses for ModeratorErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = AuthErrors::responses();
        responses.extend(Unavailable::responses());
        let forbidden = utoipa::openapi::ResponseBuilder::new()
            .description("The caller is not a moderator or an admin")
            .content(
                crate::error::PROBLEM_JSON,
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "Problem",
                    ))))
                    .build(),
            )
            .build();
        responses.insert("403".into(), RefOr::T(forbidden));
        responses
    }
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    /// The moderator or admin who acted; `null` for the operator at the command line.
    pub actor_id: Option<i64>,
    /// What was done, e.g. role_granted, listing_removed, user_suspended.
    pub action: String,
    /// user, listing, message, report or order.
    pub target_type: String,
    pub target_id: i64,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        AuditEntryView {
            id: e.id,
            actor_id: e.actor_id,
            action: e.action.clone(),
            target_type: e.target_type.as_str().to_owned(),
            target_id: e.target_id,
            note: e.note.clone(),
            created_at: utc(e.created_at),
        }
    }
}

/// Which kind of object audit entries are about.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum AuditTargetName {
    User,
    Listing,
    Message,
    Report,
    Order,
}

/// The audit log, newest first (moderators and admins).
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(
        ("target_type" = inline(Option<AuditTargetName>), Query, description = "Only entries about this kind of object (with target_id)"),
        ("target_id" = Option<i64>, Query, minimum = 1, description = "Only entries about this object (with target_type)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of audit entries, newest first", body = Page<AuditEntryView>),
        QueryErrors,
        ModeratorErrors,
    )
)]
#[get("/api/v1/admin/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    _moderator: Moderator,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let target_type = p.parsed("target_type", |t| {
        AuditTarget::parse(t)
            .ok_or_else(|| "must be user, listing, message, report or order".into())
    });
    let target_id = p.int("target_id", 1, i64::MAX);
    let target = match (target_type, target_id) {
        (Some(t), Some(id)) => Some((t, id)),
        (None, None) => None,
        (Some(_), None) => {
            p.fail("target_id", "is required with target_type");
            None
        }
        (None, Some(_)) => {
            p.fail("target_type", "is required with target_id");
            None
        }
    };
    let limit = p.limit();
    let before = p.before("cursor");
    p.finish()?;
    let rows = db(&state, move |conn| {
        Ok(audit::page(conn, before, target, limit + 1)?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |last| before_cursor(last.id));
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(AuditEntryView::from).collect(),
        next_cursor,
    }))
}
