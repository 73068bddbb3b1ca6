//! Photos' files: the object store they are kept in (opened in one place, [`open_store`]),
//! the URL a stored key is served at ([`photo_urls`]), the picture pipeline ([`image`]) on its
//! bounded threads ([`workers`]), and the sweep of files no photo names any more ([`sweep`]).
//! Everything above the store is written against `Arc<dyn ObjectStore>`, so the local folder
//! and an S3-compatible bucket behave the same.

pub mod image;
pub mod s3;
pub mod sweep;
pub mod workers;

use self::image::{DecodeLimits, Processed};
use crate::config::Settings;
use crate::error::ApiError;
use bazaar_actors::accounts::AvatarKeys;
use bazaar_actors::domain::photo::{PhotoUrls, Variant};
use bazaar_actors::listing::StoredPhoto;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;
use workers::PictureWorkers;

/// Opens the store photos are kept in: the S3-compatible bucket `--media-url` (checked
/// reachable with one request, so a wrong endpoint, bad credentials or a missing bucket stop
/// start-up with a clear message), else the local folder `--media-dir` (created if missing).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn ObjectStore>> {
    if let Some(url) = &settings.media.media_url {
        let store = s3::open_s3_checked(url).await?;
        tracing::info!(media.url = %url, "media store reachable");
        return Ok(store);
    }
    let dir = &settings.media.media_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("creating the media folder {}: {e}", dir.display()))?;
    let store = LocalFileSystem::new_with_prefix(dir)
        .map_err(|e| anyhow::anyhow!("opening the media folder {}: {e}", dir.display()))?;
    Ok(Arc::new(store))
}

/// Where clients fetch stored files: `--media-public-url` (a CDN or the bucket's public
/// address) when set, else this server's `/media/{key}`, which streams from the store.
pub fn photo_urls(settings: &Settings) -> PhotoUrls {
    PhotoUrls::new(
        settings
            .media
            .media_public_url
            .as_deref()
            .unwrap_or("/media/"),
    )
}

/// The store and the picture threads, shared by every worker.
#[derive(Clone)]
pub struct Media {
    pub store: Arc<dyn ObjectStore>,
    pub pictures: PictureWorkers,
    /// The largest upload read, in bytes.
    pub max_upload_bytes: u64,
}

impl Media {
    pub async fn start(settings: &Settings) -> anyhow::Result<Media> {
        let m = &settings.media;
        let limits = DecodeLimits {
            max_pixels: m.photo_max_pixels,
            max_alloc_bytes: m.photo_max_alloc_bytes,
        };
        Ok(Media {
            store: open_store(settings).await?,
            pictures: PictureWorkers::start(m.photo_threads(), m.photo_queue, limits)?,
            max_upload_bytes: m.photo_max_bytes,
        })
    }

    /// Stores every variant of a processed picture under its content-hash key (a file that
    /// is already there is simply written again, byte for byte the same). Called before the
    /// photo's row commits: a failed commit leaves only files the sweep removes.
    pub async fn store(&self, processed: &Processed) -> Result<StoredPhoto, ApiError> {
        self.put_all(processed).await?;
        let key = |v: Variant| variant_key(processed, v);
        let full = processed
            .variant(Variant::Full)
            .ok_or_else(|| ApiError::internal(std::io::Error::other("no full variant")))?;
        let side = |px: u32| i32::try_from(px).map_err(ApiError::internal);
        Ok(StoredPhoto {
            width: side(full.width)?,
            height: side(full.height)?,
            full_key: key(Variant::Full)?,
            medium_key: key(Variant::Medium)?,
            thumb_key: key(Variant::Thumb)?,
        })
    }

    /// Stores an avatar's variants (of [`PictureWorkers::process_avatar`]) as [`Media::store`]
    /// does a photo's.
    pub async fn store_avatar(&self, processed: &Processed) -> Result<AvatarKeys, ApiError> {
        self.put_all(processed).await?;
        Ok(AvatarKeys {
            small: variant_key(processed, Variant::Thumb)?,
            large: variant_key(processed, Variant::Medium)?,
        })
    }

    /// Writes every variant under its content-hash key.
    async fn put_all(&self, processed: &Processed) -> Result<(), ApiError> {
        for encoded in &processed.variants {
            let payload = PutPayload::from(encoded.bytes.clone());
            self.store
                .put(&Path::from(encoded.key.as_str()), payload)
                .await
                .map_err(ApiError::internal)?;
        }
        Ok(())
    }
}

fn variant_key(processed: &Processed, v: Variant) -> Result<String, ApiError> {
    processed
        .variant(v)
        .map(|e| e.key.clone())
        .ok_or_else(|| ApiError::internal(std::io::Error::other("a variant is missing")))
}
