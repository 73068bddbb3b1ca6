//! Reports: users file them; moderators read the open queue (oldest first) and resolve them.

use super::admin::{Moderator, ModeratorErrors};
use super::docs::{AuthErrors, JsonBodyErrors, QueryErrors, RateLimited, Unavailable};
use super::moderation::{remove_reported, SuspendUntil};
use super::{
    db, decode_cursor, encode_cursor, paginate, utc, Caller, JsonBody, Page, Params, QueryParams,
};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use crate::limits::Limit;
use actix_web::{get, post, web, HttpResponse};
use bazaar_actors::domain::moderation::{validate_note, MAX_NOTE_CHARS};
use bazaar_actors::domain::report::{
    ReportReason, ReportRefusal, ReportStatus, ReportTarget, Resolution, MAX_REPORT_NOTE_CHARS,
};
use bazaar_actors::moderation::{self, ModerationError, ReportDraft, ResolveReport, Sessions};
use bazaar_actors::store::reports::{self, Report};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a report is about.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportTargetName {
    Listing,
    User,
    Message,
}

impl From<ReportTargetName> for ReportTarget {
    fn from(t: ReportTargetName) -> Self {
        match t {
            ReportTargetName::Listing => Self::Listing,
            ReportTargetName::User => Self::User,
            ReportTargetName::Message => Self::Message,
        }
    }
}

/// Why something is reported.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportReasonName {
    ProhibitedItem,
    Counterfeit,
    Scam,
    Harassment,
    Spam,
    Other,
}

impl From<ReportReasonName> for ReportReason {
    fn from(r: ReportReasonName) -> Self {
        match r {
            ReportReasonName::ProhibitedItem => Self::ProhibitedItem,
            ReportReasonName::Counterfeit => Self::Counterfeit,
            ReportReasonName::Scam => Self::Scam,
            ReportReasonName::Harassment => Self::Harassment,
            ReportReasonName::Spam => Self::Spam,
            ReportReasonName::Other => Self::Other,
        }
    }
}

/// How a moderator resolves a report.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionName {
    Dismiss,
    RemoveListing,
    RemoveMessage,
    SuspendUser,
}

impl From<ResolutionName> for Resolution {
    fn from(r: ResolutionName) -> Self {
        match r {
            ResolutionName::Dismiss => Self::Dismiss,
            ResolutionName::RemoveListing => Self::RemoveListing,
            ResolutionName::RemoveMessage => Self::RemoveMessage,
            ResolutionName::SuspendUser => Self::SuspendUser,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub target_type: ReportTargetName,
    #[schema(minimum = 1)]
    pub target_id: i64,
    pub reason: ReportReasonName,
    /// At most 1000 characters, no NUL; stored trimmed.
    #[schema(max_length = 1000, pattern = "^[^\\x00]*$")]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveReportBody {
    pub action: ResolutionName,
    /// Why (kept in the audit log): at most 2000 characters, no NUL; stored trimmed.
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub note: String,
    /// For suspend_user: when the suspension ends (RFC 3339, in the future); none: until
    /// lifted.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: i64,
    pub reporter_id: i64,
    /// listing, user or message.
    pub target_type: String,
    pub target_id: i64,
    /// prohibited_item, counterfeit, scam, harassment, spam or other.
    pub reason: String,
    pub note: String,
    /// open or resolved.
    pub status: String,
    /// How it was resolved: dismiss, remove_listing, remove_message or suspend_user.
    pub resolution: Option<String>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Report> for ReportView {
    fn from(r: &Report) -> Self {
        ReportView {
            id: r.id,
            reporter_id: r.reporter_id,
            target_type: r.target_type.as_str().to_owned(),
            target_id: r.target_id,
            reason: r.reason.as_str().to_owned(),
            note: r.note.clone(),
            status: r.status.as_str().to_owned(),
            resolution: r.resolution.map(|x| x.as_str().to_owned()),
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_at.map(utc),
            resolution_note: r.resolution_note.clone(),
            created_at: utc(r.created_at),
        }
    }
}

impl From<ModerationError> for ApiError {
    fn from(e: ModerationError) -> Self {
        let detail = e.to_string();
        match e {
            ModerationError::Refused(ReportRefusal::NotFound(_))
            | ModerationError::ReportNotFound
            | ModerationError::UserNotFound => ApiError::NotFound(detail),
            ModerationError::Refused(ReportRefusal::OwnTarget) => {
                ApiError::invalid("target_id", detail)
            }
            ModerationError::AlreadyReported(_) | ModerationError::AlreadyResolved => {
                ApiError::Conflict(detail)
            }
            ModerationError::ResolutionDoesNotFit { .. } => ApiError::invalid("action", detail),
            ModerationError::AppliedElsewhere(_) => {
                ApiError::internal(std::io::Error::other(detail))
            }
            ModerationError::Store(e) => e.into(),
        }
    }
}

/// Report a listing, a user or a message to the moderators.
///
/// A message can be reported only by a party of its conversation: to anyone else it is 404,
/// as if it did not exist. Nobody can report themselves, their own listing or their own
/// message (422).
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    request_body = ReportBody,
    responses(
        (status = 201, description = "Reported", body = ReportView),
        JsonBodyErrors,
        AuthErrors,
        (status = 404, description = "No such target, or a message of someone else's conversation", body = Problem),
        (status = 409, description = "The caller already has an open report about this target", body = Problem),
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/reports")]
pub async fn create_report(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<ReportBody>,
) -> Result<HttpResponse, ApiError> {
    let ReportBody {
        target_type,
        target_id,
        reason,
        note,
    } = body.0;
    let note = validate_note(note.as_deref().unwrap_or(""), MAX_REPORT_NOTE_CHARS)
        .map_err(|m| ApiError::invalid("note", m))?;
    if target_id < 1 {
        return Err(ApiError::invalid("target_id", "must be at least 1"));
    }
    state.limits.check(Limit::ReportsPerUser, caller.id())?;
    let draft = ReportDraft {
        target: target_type.into(),
        target_id,
        reason: reason.into(),
        note,
    };
    let report = moderation::file_report(&state.pool, caller.id(), draft).await?;
    Ok(HttpResponse::Created().json(ReportView::from(&report)))
}

/// The status of reports a queue lists.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ReportStatusName {
    Open,
    Resolved,
}

#[derive(Debug, Serialize, Deserialize)]
struct AfterCursor {
    after: i64,
}

/// The report queue, oldest first (moderators and admins).
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(
        ("status" = inline(Option<ReportStatusName>), Query, description = "Default open"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of reports, oldest first", body = Page<ReportView>),
        QueryErrors,
        ModeratorErrors,
    )
)]
#[get("/api/v1/admin/reports")]
pub async fn list_reports(
    state: web::Data<AppState>,
    _moderator: Moderator,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let status = p
        .parsed("status", |s| {
            ReportStatus::parse(s).ok_or_else(|| "must be open or resolved".to_owned())
        })
        .unwrap_or(ReportStatus::Open);
    let limit = p.limit();
    let after = p
        .parsed("cursor", |c| {
            decode_cursor::<AfterCursor>(c).map(|c| c.after)
        })
        .unwrap_or(0);
    p.finish()?;
    let rows = db(&state, move |conn| {
        Ok(reports::queue(conn, status, after, limit + 1)?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |last| {
        encode_cursor(&AfterCursor { after: last.id })
    });
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(ReportView::from).collect(),
        next_cursor,
    }))
}

/// Resolve a report (moderators and admins): dismiss it, remove the reported listing or
/// message, or suspend the user it is about (the user, the listing's seller, the message's
/// sender). The action and the resolution each get an audit entry.
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    request_body = ResolveReportBody,
    responses(
        (status = 200, description = "The resolved report", body = ReportView),
        JsonBodyErrors,
        ModeratorErrors,
        (status = 404, description = "No such report, or its target is gone", body = Problem),
        (status = 409, description = "The report is already resolved", body = Problem),
    )
)]
#[post("/api/v1/admin/reports/{id}/resolve")]
pub async fn resolve_report(
    state: web::Data<AppState>,
    moderator: Moderator,
    id: web::Path<i64>,
    body: JsonBody<ResolveReportBody>,
) -> Result<HttpResponse, ApiError> {
    let ResolveReportBody {
        action,
        note,
        until,
    } = body.0;
    let resolution = Resolution::from(action);
    let note = validate_note(&note, MAX_NOTE_CHARS).map_err(|m| ApiError::invalid("note", m))?;
    let until = match (resolution, until) {
        (Resolution::SuspendUser, until) => SuspendUntil::check(until)?,
        (_, Some(_)) => return Err(ApiError::invalid("until", "applies only to suspend_user")),
        (_, None) => None,
    };
    let resolve = ResolveReport {
        report: id.into_inner(),
        resolution,
        note,
        until,
    };
    let applied = remove_reported(&state, &moderator, &resolve).await?;
    let sessions = Sessions {
        logins: &state.logins,
        users: &state.users,
    };
    let report =
        moderation::resolve_report(&state.pool, sessions, moderator.id(), resolve, applied).await?;
    Ok(HttpResponse::Ok().json(ReportView::from(&report)))
}
