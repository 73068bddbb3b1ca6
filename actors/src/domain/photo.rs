//! Listing photos as rules: who may add or remove them and when, how many a listing holds, what
//! a reorder must name, the variants every photo is stored as, the shape of a stored file's key
//! and the URL it is served at. No I/O.

use super::listing::{EditError, ListingState, ListingStatus};
use super::validation::FieldErrors;
use super::UserId;
use std::collections::HashSet;

/// The sizes every photo is stored in, largest first: the long edge in pixels (never
/// upscaled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Full,
    Medium,
    Thumb,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Full, Variant::Medium, Variant::Thumb];

    pub fn long_edge_px(self) -> u32 {
        match self {
            Variant::Full => 1600,
            Variant::Medium => 640,
            Variant::Thumb => 240,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Variant::Full => "full",
            Variant::Medium => "medium",
            Variant::Thumb => "thumb",
        }
    }
}

/// The size of a `width` × `height` picture scaled so its long edge is at most `long_edge`
/// (never upscaled; neither side below one pixel).
pub fn fit_within(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_edge || long == 0 {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled =
            (u64::from(side) * u64::from(long_edge) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
    };
    (scale(width), scale(height))
}

/// The sizes an avatar is stored in, largest first: 640 px and 240 px squares (never
/// upscaled), the same long edges as a photo's medium and thumb variants.
pub const AVATAR_VARIANTS: [Variant; 2] = [Variant::Medium, Variant::Thumb];

/// The largest centred square of a `width` × `height` picture: its left and top offsets and
/// its side.
pub fn center_square(width: u32, height: u32) -> (u32, u32, u32) {
    let side = width.min(height);
    ((width - side) / 2, (height - side) / 2, side)
}

/// Why a photo command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("only the seller may change this listing's photos")]
    NotSeller,
    #[error("a closed listing's photos cannot be changed")]
    Closed,
    #[error("a listing holds at most {max} photos")]
    TooMany { max: i64 },
    #[error("photo not found")]
    NotFound,
}

fn may_change(current: &ListingState, by: UserId) -> Result<(), PhotoError> {
    if by != current.seller_id {
        return Err(PhotoError::NotSeller);
    }
    if matches!(
        current.status,
        ListingStatus::Closed | ListingStatus::Removed
    ) {
        return Err(PhotoError::Closed);
    }
    Ok(())
}

/// Decides adding a photo to a listing that holds `count`, of at most `max`.
pub fn decide_add(
    current: &ListingState,
    by: UserId,
    count: i64,
    max: i64,
) -> Result<(), PhotoError> {
    may_change(current, by)?;
    if count >= max {
        return Err(PhotoError::TooMany { max });
    }
    Ok(())
}

/// Decides removing photo `photo` of a listing whose photos are `current_ids`.
pub fn decide_remove(
    current: &ListingState,
    by: UserId,
    current_ids: &[i64],
    photo: i64,
) -> Result<(), PhotoError> {
    may_change(current, by)?;
    if !current_ids.contains(&photo) {
        return Err(PhotoError::NotFound);
    }
    Ok(())
}

/// Checks a new order of a listing's photos: exactly every current id, once each. The message
/// is for the `photo_ids` field.
pub fn check_order(current_ids: &[i64], requested: &[i64]) -> Result<(), String> {
    let mut seen = HashSet::with_capacity(requested.len());
    if let Some(dup) = requested.iter().find(|id| !seen.insert(**id)) {
        return Err(format!("photo {dup} is named twice"));
    }
    if let Some(unknown) = requested.iter().find(|id| !current_ids.contains(id)) {
        return Err(format!("photo {unknown} is not a photo of this listing"));
    }
    if let Some(missing) = current_ids.iter().find(|id| !seen.contains(id)) {
        return Err(format!(
            "must name every photo of the listing: {missing} is missing"
        ));
    }
    Ok(())
}

/// Decides a new order of a listing's photos (`photo_ids` of an edit), by `by`, whose photos
/// are now `current_ids` in order: whether anything moves.
pub fn decide_order(
    current: &ListingState,
    by: UserId,
    current_ids: &[i64],
    requested: &[i64],
) -> Result<bool, EditError> {
    if by != current.seller_id {
        return Err(EditError::NotSeller);
    }
    check_order(current_ids, requested)
        .map_err(|message| EditError::Invalid(FieldErrors::single("photo_ids", message)))?;
    let moves = current_ids != requested;
    if moves
        && matches!(
            current.status,
            ListingStatus::Closed | ListingStatus::Removed
        )
    {
        return Err(EditError::Closed);
    }
    Ok(moves)
}

/// The extensions a stored file's key may end in, with the content type each is served as.
pub const MEDIA_TYPES: [(&str, &str); 3] = [
    ("jpg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
];

/// The content type of a stored file's key, if the key is one: 64 lowercase hex digits (the
/// SHA-256 of the file), a dot and a known extension. Nothing else, so a key can never name
/// a path outside the store.
pub fn media_type_of_key(key: &str) -> Option<&'static str> {
    let (hash, ext) = key.split_once('.')?;
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if hash.len() != 64 || !hash.chars().all(hex) {
        return None;
    }
    MEDIA_TYPES
        .iter()
        .find(|(known, _)| *known == ext)
        .map(|(_, content_type)| *content_type)
}

/// Turns a stored file's key into the URL clients fetch it from: `base` followed by the key
/// (`/media/` when the server serves the files itself, or a public bucket's or CDN's URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoUrls {
    base: String,
}

impl PhotoUrls {
    /// `base` with a slash added if it has none at its end.
    pub fn new(base: &str) -> Self {
        let mut base = base.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        PhotoUrls { base }
    }

    pub fn url(&self, key: &str) -> String {
        format!("{}{key}", self.base)
    }
}

impl Default for PhotoUrls {
    fn default() -> Self {
        PhotoUrls::new("/media/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::listing::sample_listing as listing;

    #[test]
    fn variants_fit_their_long_edge_and_are_never_upscaled() {
        assert_eq!(fit_within(4000, 3000, 1600), (1600, 1200));
        assert_eq!(fit_within(3000, 4000, 640), (480, 640));
        assert_eq!(fit_within(300, 200, 1600), (300, 200));
        assert_eq!(fit_within(10_000, 1, 240), (240, 1));
        assert_eq!(fit_within(1600, 1600, 1600), (1600, 1600));
        for v in Variant::ALL {
            let (w, h) = fit_within(5000, 1234, v.long_edge_px());
            assert_eq!(w.max(h), v.long_edge_px());
        }
    }

    #[test]
    fn an_avatar_is_the_centred_square() {
        assert_eq!(center_square(800, 600), (100, 0, 600));
        assert_eq!(center_square(301, 900), (0, 299, 301));
        assert_eq!(center_square(50, 50), (0, 0, 50));
        assert_eq!(center_square(1, 7), (0, 3, 1));
        assert_eq!(
            AVATAR_VARIANTS.map(Variant::long_edge_px),
            [640, 240],
            "large then small"
        );
    }

    #[test]
    fn only_the_seller_adds_and_only_up_to_the_limit() {
        let active = listing(ListingStatus::Active);
        assert_eq!(decide_add(&active, UserId(1), 11, 12), Ok(()));
        assert_eq!(
            decide_add(&active, UserId(1), 12, 12),
            Err(PhotoError::TooMany { max: 12 })
        );
        assert_eq!(
            decide_add(&active, UserId(2), 0, 12),
            Err(PhotoError::NotSeller)
        );
        assert_eq!(
            decide_add(&listing(ListingStatus::Closed), UserId(1), 0, 12),
            Err(PhotoError::Closed)
        );
        assert_eq!(
            decide_add(&listing(ListingStatus::Draft), UserId(1), 0, 12),
            Ok(())
        );
    }

    #[test]
    fn removing_needs_the_seller_and_a_photo_of_the_listing() {
        let active = listing(ListingStatus::Active);
        assert_eq!(decide_remove(&active, UserId(1), &[3, 4], 4), Ok(()));
        assert_eq!(
            decide_remove(&active, UserId(1), &[3, 4], 5),
            Err(PhotoError::NotFound)
        );
        assert_eq!(
            decide_remove(&active, UserId(9), &[3, 4], 4),
            Err(PhotoError::NotSeller)
        );
    }

    #[test]
    fn a_reorder_names_every_photo_once_and_no_other() {
        assert_eq!(check_order(&[1, 2, 3], &[3, 1, 2]), Ok(()));
        assert_eq!(check_order(&[], &[]), Ok(()));
        assert!(check_order(&[1, 2, 3], &[3, 1]).is_err());
        assert!(check_order(&[1, 2, 3], &[3, 1, 2, 9]).is_err());
        assert!(check_order(&[1, 2, 3], &[3, 3, 1, 2]).is_err());
        assert!(check_order(&[1, 2], &[1, 1]).is_err());
    }

    #[test]
    fn a_reorder_is_the_sellers_and_names_photo_ids_when_wrong() {
        let active = listing(ListingStatus::Active);
        assert_eq!(decide_order(&active, UserId(1), &[1, 2], &[2, 1]), Ok(true));
        assert_eq!(
            decide_order(&active, UserId(1), &[1, 2], &[1, 2]),
            Ok(false)
        );
        assert_eq!(
            decide_order(&active, UserId(2), &[1, 2], &[2, 1]),
            Err(EditError::NotSeller)
        );
        match decide_order(&active, UserId(1), &[1, 2], &[2]) {
            Err(EditError::Invalid(errors)) => {
                assert!(errors.fields().contains_key("photo_ids"))
            }
            other => panic!("expected photo_ids to be named, got {other:?}"),
        }
        let closed = listing(ListingStatus::Closed);
        assert_eq!(
            decide_order(&closed, UserId(1), &[1, 2], &[2, 1]),
            Err(EditError::Closed)
        );
    }

    #[test]
    fn only_content_hash_keys_are_media_keys() {
        let hash = "a".repeat(64);
        assert_eq!(
            media_type_of_key(&format!("{hash}.jpg")),
            Some("image/jpeg")
        );
        assert_eq!(media_type_of_key(&format!("{hash}.png")), Some("image/png"));
        for bad in [
            format!("{hash}.gif"),
            hash.clone(),
            format!("../{hash}.jpg"),
            format!("{}.jpg", "A".repeat(64)),
            format!("{}.jpg", "a".repeat(63)),
            format!("{hash}.jpg.png"),
            "..%2fetc%2fpasswd".to_owned(),
            String::new(),
        ] {
            assert_eq!(media_type_of_key(&bad), None, "{bad}");
        }
    }

    #[test]
    fn urls_are_the_base_and_the_key() {
        assert_eq!(PhotoUrls::default().url("k.jpg"), "/media/k.jpg");
        assert_eq!(
            PhotoUrls::new("https://cdn.example/p").url("k.jpg"),
            "https://cdn.example/p/k.jpg"
        );
    }
}
