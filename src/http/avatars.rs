//! One's avatar: set (the same upload as a listing photo's: `multipart/form-data` or a raw
//! image body, read up to the size limit and processed on the picture threads), shown as
//! `avatar` on profiles, on `/me` and beside the other party of a conversation, and removed.

use super::docs::{AuthErrors, Unavailable};
use super::photos::read_picture;
use super::users::UserBody;
use super::Caller;
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use crate::limits::Limit;
use actix_web::{delete, put, web, HttpRequest, HttpResponse};
use bazaar_actors::accounts;
use bazaar_actors::domain::photo::PhotoUrls;
use bazaar_actors::store::models::User;
use serde::Serialize;
use utoipa::ToSchema;

/// A user's avatar: the centred square of the picture they sent.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AvatarBody {
    pub urls: AvatarUrls,
}

/// Where the avatar's two squares are served.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AvatarUrls {
    /// 240 × 240 px (smaller if the picture was).
    pub small: String,
    /// 640 × 640 px (smaller if the picture was).
    pub large: String,
}

impl AvatarBody {
    /// The avatar of stored keys `small` and `large`, if both are set.
    pub fn of(small: Option<&str>, large: Option<&str>, urls: &PhotoUrls) -> Option<Self> {
        Some(AvatarBody {
            urls: AvatarUrls {
                small: urls.url(small?),
                large: urls.url(large?),
            },
        })
    }

    /// `user`'s avatar, if they set one.
    pub fn of_user(user: &User, urls: &PhotoUrls) -> Option<Self> {
        AvatarBody::of(
            user.avatar_small_key.as_deref(),
            user.avatar_large_key.as_deref(),
            urls,
        )
    }
}

/// Set one's avatar (replacing any). Send the picture as the file of a `multipart/form-data`
/// body or as the whole body with an `image/*` content type, as for a listing photo. Its
/// centred square is stored at 640 and 240 px (never upscaled), without any metadata.
#[utoipa::path(
    tag = "profiles",
    security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "The picture: a file part (or image/jpeg, image/png, image/webp as the whole body)"),
    responses(
        (status = 200, description = "The caller, with the new avatar", body = UserBody),
        (status = 400, description = "The multipart body cannot be read", body = Problem),
        AuthErrors,
        (status = 413, description = "The picture is larger than the server's limit (10 MiB by default)", body = Problem),
        (status = 415, description = "The body is neither multipart/form-data nor an image", body = Problem),
        (status = 422, description = "`avatar`: not an image (JPEG, PNG or WebP), or too large in pixels", body = Problem),
        (status = 429, description = "Too many uploads (`--limit-photos-per-user`, photos and avatars together)", body = Problem),
        Unavailable,
    )
)]
#[put("/api/v1/me/avatar")]
pub async fn put_my_avatar(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state.limits.check(Limit::PhotosPerUser, caller.id())?;
    let bytes = read_picture(&req, payload, state.media.max_upload_bytes).await?;
    let processed = state.media.pictures.process_avatar(bytes).await?;
    let keys = state.media.store_avatar(&processed).await?;
    let user = accounts::set_avatar(
        &state.pool,
        &state.logins,
        caller.id(),
        caller.login,
        Some(keys),
    )
    .await?;
    tracing::info!(user.id = user.id, "avatar set");
    Ok(HttpResponse::Ok().json(UserBody::of(&user, &state.rules.photo_urls)))
}

/// Remove one's avatar. Its files are deleted later by the media sweep once nothing names
/// them.
#[utoipa::path(
    tag = "profiles",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed (or there was none)"),
        AuthErrors,
        Unavailable,
    )
)]
#[delete("/api/v1/me/avatar")]
pub async fn delete_my_avatar(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    accounts::set_avatar(&state.pool, &state.logins, caller.id(), caller.login, None).await?;
    Ok(HttpResponse::NoContent().finish())
}
