//! Moderator actions on users, listings and messages (moderators and admins), each through
//! the core and each with an audit entry.

use super::admin::{Moderator, ModeratorErrors};
use super::docs::JsonBodyErrors;
use super::listings::ListingBody;
use super::users::UserBody;
use super::JsonBody;
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::{post, web, HttpResponse};
use bazaar_actors::chat::{Message, Removal, RemoveMessage};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::moderation::{validate_note, validate_suspension_end, MAX_NOTE_CHARS};
use bazaar_actors::domain::report::Resolution;
use bazaar_actors::domain::{ListingId, MessageId, UserId};
use bazaar_actors::events::MessageView;
use bazaar_actors::listing::RemoveListing;
use bazaar_actors::moderation::{self, ResolveReport, Sessions, Suspension};
use bazaar_actors::store;
use bazaar_actors::store::models::Listing;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A suspension's end as a client sends it.
pub struct SuspendUntil;

impl SuspendUntil {
    /// The end, checked to be in the future (422 naming `until` otherwise).
    pub fn check(until: Option<DateTime<Utc>>) -> Result<Option<NaiveDateTime>, ApiError> {
        let until = until.map(|u| u.naive_utc());
        validate_suspension_end(until, store::now()).map_err(|m| ApiError::invalid("until", m))?;
        Ok(until)
    }
}

/// Applies a report's removal through the listing's or the chat's writer, after checking the
/// report is open and the removal fits it. `true` when a removal was applied; dismissals and
/// suspensions are applied with the report's resolution itself.
pub async fn remove_reported(
    state: &AppState,
    moderator: &Moderator,
    resolve: &ResolveReport,
) -> Result<bool, ApiError> {
    match resolve.resolution {
        Resolution::Dismiss | Resolution::SuspendUser => Ok(false),
        Resolution::RemoveListing => {
            let report =
                moderation::open_report(&state.pool, resolve.report, resolve.resolution).await?;
            let listing = ListingId(report.target_id);
            remove_listing_now(state, moderator, listing, resolve.note.clone()).await?;
            Ok(true)
        }
        Resolution::RemoveMessage => {
            let report =
                moderation::open_report(&state.pool, resolve.report, resolve.resolution).await?;
            let message = MessageId(report.target_id);
            remove_message_now(state, moderator, message, resolve.note.clone()).await?;
            Ok(true)
        }
    }
}

/// Removes a message through the chat writer: the message as both parties now see it, and
/// its original body.
async fn remove_message_now(
    state: &AppState,
    moderator: &Moderator,
    message: MessageId,
    note: String,
) -> Result<(Message, String), ApiError> {
    let command = RemoveMessage {
        message,
        by: moderator.id(),
        note,
    };
    let removal = state.chat.send(command).await.map_err(|_| {
        ApiError::Unavailable("the chat writer could not take the command".into())
    })??;
    match removal {
        Removal::Removed { message, original } => Ok((message, original)),
        Removal::AlreadyRemoved => Err(ApiError::Conflict("the message is already removed".into())),
        Removal::NoSuchMessage => Err(ApiError::NotFound("no such message".into())),
    }
}

/// Removes a listing through its actor.
async fn remove_listing_now(
    state: &AppState,
    moderator: &Moderator,
    listing: ListingId,
    note: String,
) -> Result<Listing, ApiError> {
    let command = RemoveListing {
        by: moderator.id(),
        note,
    };
    Ok(send_to_listing(&state.directory, listing, command).await??)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendBody {
    /// Why (shown to the user when a login is refused, and kept in the audit log): at most
    /// 2000 characters, no NUL; stored trimmed.
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub note: String,
    /// When the suspension ends (RFC 3339, in the future); none: until lifted.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// Why (kept in the audit log): at most 2000 characters, no NUL.
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub note: Option<String>,
}

/// Suspend a user (moderators and admins): their logins are revoked and their sockets closed
/// (1008), they cannot log in until `until` (or until lifted: 403 with the reason and end).
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    request_body = SuspendBody,
    responses(
        (status = 200, description = "The suspended user", body = UserBody),
        JsonBodyErrors,
        ModeratorErrors,
        (status = 404, description = "No such user", body = Problem),
    )
)]
#[post("/api/v1/admin/users/{id}/suspend")]
pub async fn suspend_user(
    state: web::Data<AppState>,
    moderator: Moderator,
    id: web::Path<i64>,
    body: JsonBody<SuspendBody>,
) -> Result<HttpResponse, ApiError> {
    let SuspendBody { note, until } = body.0;
    let reason = validate_note(&note, MAX_NOTE_CHARS).map_err(|m| ApiError::invalid("note", m))?;
    let until = SuspendUntil::check(until)?;
    let user = UserId(id.into_inner());
    if user == moderator.id() {
        return Err(ApiError::Forbidden("you cannot suspend yourself".into()));
    }
    let sessions = Sessions {
        logins: &state.logins,
        users: &state.users,
    };
    let suspension = Suspension {
        user,
        until,
        reason,
    };
    let user = moderation::suspend_user(&state.pool, sessions, moderator.id(), suspension).await?;
    Ok(HttpResponse::Ok().json(UserBody::of(&user, &state.rules.photo_urls)))
}

/// Lift a user's suspension (moderators and admins).
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    request_body(content = Option<NoteBody>, description = "Optional"),
    responses(
        (status = 200, description = "The user, no longer suspended", body = UserBody),
        JsonBodyErrors,
        ModeratorErrors,
        (status = 404, description = "No such user", body = Problem),
    )
)]
#[post("/api/v1/admin/users/{id}/unsuspend")]
pub async fn unsuspend_user(
    state: web::Data<AppState>,
    moderator: Moderator,
    id: web::Path<i64>,
    body: super::OptionalJsonBody<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let note = body.0.unwrap_or_default().note.unwrap_or_default();
    let note = validate_note(&note, MAX_NOTE_CHARS).map_err(|m| ApiError::invalid("note", m))?;
    let user =
        moderation::unsuspend_user(&state.pool, moderator.id(), UserId(id.into_inner()), note)
            .await?;
    Ok(HttpResponse::Ok().json(UserBody::of(&user, &state.rules.photo_urls)))
}

/// Remove a listing (moderators and admins): status `removed`, hidden from everyone but its
/// seller, open offers declined, paid orders not yet shipped refunded, the seller notified
/// (`notification.listing_removed`, live and in the inbox).
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    request_body = NoteBody,
    responses(
        (status = 200, description = "The removed listing", body = ListingBody),
        JsonBodyErrors,
        ModeratorErrors,
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "Already removed, or the listing is too busy", body = Problem),
    )
)]
#[post("/api/v1/admin/listings/{id}/remove")]
pub async fn remove_listing(
    state: web::Data<AppState>,
    moderator: Moderator,
    id: web::Path<i64>,
    body: JsonBody<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let note = body.0.note.unwrap_or_default();
    let note = validate_note(&note, MAX_NOTE_CHARS).map_err(|m| ApiError::invalid("note", m))?;
    let listing = ListingId(id.into_inner());
    let removed = remove_listing_now(&state, &moderator, listing, note).await?;
    let photos = super::listings::photos_now(&state, removed.id).await?;
    Ok(HttpResponse::Ok().json(ListingBody::new(&removed, photos, Some(moderator.id()))))
}

/// A removed message: as both parties now see it, and its original body (for moderators).
#[derive(Debug, Serialize, ToSchema)]
pub struct RemovedMessage {
    pub message: MessageView,
    pub original_body: String,
}

/// Remove a chat message (moderators and admins): its body is replaced for both parties,
/// who get `chat.message_removed` live; the original is kept for moderators.
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    request_body = NoteBody,
    responses(
        (status = 200, description = "The removed message", body = RemovedMessage),
        JsonBodyErrors,
        ModeratorErrors,
        (status = 404, description = "No such message", body = Problem),
        (status = 409, description = "Already removed", body = Problem),
    )
)]
#[post("/api/v1/admin/messages/{id}/remove")]
pub async fn remove_message(
    state: web::Data<AppState>,
    moderator: Moderator,
    id: web::Path<i64>,
    body: JsonBody<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let note = body.0.note.unwrap_or_default();
    let note = validate_note(&note, MAX_NOTE_CHARS).map_err(|m| ApiError::invalid("note", m))?;
    let (message, original_body) =
        remove_message_now(&state, &moderator, MessageId(id.into_inner()), note).await?;
    Ok(HttpResponse::Ok().json(RemovedMessage {
        message: MessageView::from(&message),
        original_body,
    }))
}
