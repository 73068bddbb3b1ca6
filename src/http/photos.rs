//! A listing's photos: upload (the seller; `multipart/form-data` or a raw image body) and
//! removal. The picture is read up to the size limit and no further, decoded and re-encoded on
//! the picture threads, its files stored, and only then added to the listing by its actor
//! (which bumps the version and tells subscribers).

use super::docs::{AuthErrors, Unavailable};
use super::listings::find_visible;
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use crate::limits::Limit;
use actix_web::http::header;
use actix_web::{delete, post, web, HttpRequest, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::ListingId;
use bazaar_actors::events::PhotoView;
use bazaar_actors::listing::{AddPhoto, RemovePhoto};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// Room for the multipart framing (boundaries, part headers) around the file itself.
const MULTIPART_OVERHEAD_BYTES: u64 = 16 * 1024;

/// Add a photo to a listing (the seller only). Send the picture as the file of a
/// `multipart/form-data` body (the first file part, or the part named `photo`), or as the
/// whole body with an `image/*` content type. The type is read from the bytes (JPEG, PNG or
/// WebP), the picture turned upright by its EXIF orientation and stored in three sizes
/// without any metadata.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "The picture: a file part (or image/jpeg, image/png, image/webp as the whole body)"),
    responses(
        (status = 201, description = "The photo, last in the listing's order", body = PhotoView),
        (status = 400, description = "The multipart body cannot be read", body = Problem),
        AuthErrors,
        (status = 403, description = "Not the seller", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "The listing holds the most photos allowed, or is closed", body = Problem),
        (status = 413, description = "The picture is larger than the server's limit (10 MiB by default)", body = Problem),
        (status = 415, description = "The body is neither multipart/form-data nor an image", body = Problem),
        (status = 422, description = "`photo`: not an image (JPEG, PNG or WebP), or too large in pixels", body = Problem),
        (status = 429, description = "Too many uploads (`--limit-photos-per-user`)", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/listings/{id}/photos")]
pub async fn upload_photo(
    state: web::Data<AppState>,
    caller: super::Caller,
    id: web::Path<i64>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    // Checked before a byte of the picture is read; the actor checks again.
    let listing = find_visible(&state, id, Some(caller.id())).await?;
    if listing.seller() != caller.id() {
        return Err(ApiError::Forbidden(
            "only the seller may change this listing's photos".into(),
        ));
    }
    state.limits.check(Limit::PhotosPerUser, caller.id())?;
    let bytes = read_picture(&req, payload, state.media.max_upload_bytes).await?;
    let processed = state.media.pictures.process(bytes).await?;
    let photo = state.media.store(&processed).await?;
    let command = AddPhoto {
        by: caller.id(),
        photo,
    };
    let added = send_to_listing(&state.directory, ListingId(id), command).await??;
    tracing::info!(listing.id = id, photo.id = added.photo.id, "photo added");
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, format!("\"{}\"", added.listing.version)))
        .json(PhotoView::of(&added.photo, &state.rules.photo_urls)))
}

/// Remove a photo of a listing (the seller only). Its files are deleted later by the media
/// sweep once no photo names them.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        AuthErrors,
        (status = 403, description = "Not the seller", body = Problem),
        (status = 404, description = "No such listing, or no such photo of it", body = Problem),
        (status = 409, description = "The listing is closed", body = Problem),
        Unavailable,
    )
)]
#[delete("/api/v1/listings/{id}/photos/{photo_id}")]
pub async fn delete_photo(
    state: web::Data<AppState>,
    caller: super::Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, photo) = path.into_inner();
    let command = RemovePhoto {
        by: caller.id(),
        photo,
    };
    send_to_listing(&state.directory, ListingId(id), command).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// The picture's bytes: the file part of a multipart body, or a raw image body. Reading stops
/// at `max` bytes (413): a larger upload is never held in memory.
pub(super) async fn read_picture(
    req: &HttpRequest,
    payload: web::Payload,
    max: u64,
) -> Result<Bytes, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || ApiError::PayloadTooLarge(usize::try_from(max).unwrap_or(usize::MAX));
    if content_type.starts_with("multipart/form-data") {
        if declared.is_some_and(|n| n > max + MULTIPART_OVERHEAD_BYTES) {
            return Err(too_large());
        }
        let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
        while let Some(field) = multipart.next().await {
            let field = field.map_err(malformed)?;
            let is_file = field
                .content_disposition()
                .is_some_and(|d| d.get_filename().is_some());
            if is_file || field.name() == Some("photo") {
                return read_limited(field, max).await;
            }
            // Another form field: read past it (bounded too).
            read_limited(field, max).await?;
        }
        Err(ApiError::invalid("photo", "the form has no file part"))
    } else if content_type.starts_with("image/") || content_type == "application/octet-stream" {
        if declared.is_some_and(|n| n > max) {
            return Err(too_large());
        }
        read_limited(payload, max).await
    } else {
        Err(ApiError::UnsupportedMediaType(
            "send multipart/form-data with a file part, or the image itself as the body".into(),
        ))
    }
}

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("the upload could not be read: {e}"))
}

/// Collects `stream` up to `max` bytes; one byte more is 413 and the rest is never read.
async fn read_limited<S, E>(mut stream: S, max: u64) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(malformed)?;
        if (buf.len() + chunk.len()) as u64 > max {
            return Err(ApiError::PayloadTooLarge(
                usize::try_from(max).unwrap_or(usize::MAX),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.is_empty() {
        return Err(ApiError::invalid(
            "photo",
            "not an image: the upload is empty",
        ));
    }
    Ok(buf.freeze())
}
