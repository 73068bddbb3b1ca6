//! A listing's photo as listings and events show it.

use crate::domain::photo::PhotoUrls;
use crate::store::photos::Photo;
use serde::Serialize;

/// A photo of a listing as clients see it: its size (the largest variant's) and where each
/// variant is served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoView {
    pub id: i64,
    /// Of the `full` variant, after the photo's EXIF orientation was applied.
    pub width: i32,
    pub height: i32,
    pub urls: PhotoVariantUrls,
}

/// Where each size of a photo is served (long edge at most 240, 640 and 1600 px).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoVariantUrls {
    pub thumb: String,
    pub medium: String,
    pub full: String,
}

impl PhotoView {
    pub fn of(p: &Photo, urls: &PhotoUrls) -> Self {
        PhotoView {
            id: p.id,
            width: p.width,
            height: p.height,
            urls: PhotoVariantUrls {
                thumb: urls.url(&p.thumb_key),
                medium: urls.url(&p.medium_key),
                full: urls.url(&p.full_key),
            },
        }
    }

    pub fn all(photos: &[Photo], urls: &PhotoUrls) -> Vec<PhotoView> {
        photos.iter().map(|p| PhotoView::of(p, urls)).collect()
    }
}
