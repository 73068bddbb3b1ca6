//! Photo and media flags: where files are stored, the limits of an upload and of decoding,
//! the picture threads, and the sweep of files no photo names any more.

use crate::media::s3::{parse_public_base, S3Url};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct MediaSettings {
    /// Folder of the local photo store (created if missing).
    #[arg(
        long,
        env = "BAZAAR_MEDIA_DIR",
        default_value = "./media",
        global = true
    )]
    pub media_dir: PathBuf,

    /// Largest photo upload, in bytes; a larger one is refused (413) without being read.
    #[arg(long, env = "BAZAAR_PHOTO_MAX_BYTES", default_value_t = 10 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..), global = true)]
    pub photo_max_bytes: u64,

    /// Photos one listing may hold (409 beyond).
    #[arg(long, env = "BAZAAR_PHOTO_MAX_PER_LISTING", default_value_t = 12, value_parser = clap::value_parser!(i64).range(1..=1000), global = true)]
    pub photo_max_per_listing: i64,

    /// Most pixels (width × height) a photo may have (422 "too large in pixels" beyond).
    #[arg(long, env = "BAZAAR_PHOTO_MAX_PIXELS", default_value_t = 40_000_000, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub photo_max_pixels: u64,

    /// Most bytes the image decoder may allocate for one photo.
    #[arg(long, env = "BAZAAR_PHOTO_MAX_ALLOC_BYTES", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024 * 1024..), global = true)]
    pub photo_max_alloc_bytes: u64,

    /// Threads that decode and re-encode photos (default: one per core).
    #[arg(long, env = "BAZAAR_PHOTO_THREADS", value_parser = clap::value_parser!(u32).range(1..=256), global = true)]
    pub photo_threads: Option<u32>,

    /// Photos waiting for a thread; when full, uploads answer 503 with Retry-After.
    #[arg(long, env = "BAZAAR_PHOTO_QUEUE", default_value_t = 8, global = true)]
    pub photo_queue: usize,

    /// A stored file no photo names is deleted once it is older than this, in seconds (so a
    /// file stored for an upload whose commit has not happened yet is left alone).
    #[arg(
        long,
        env = "BAZAAR_MEDIA_SWEEP_GRACE_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub media_sweep_grace_secs: u64,

    /// Seconds between two sweeps of the store (0: never sweep).
    #[arg(
        long,
        env = "BAZAAR_MEDIA_SWEEP_INTERVAL_SECS",
        default_value_t = 600,
        global = true
    )]
    pub media_sweep_interval_secs: u64,

    /// Most stored files one sweep looks at (the next sweep goes on from there).
    #[arg(long, env = "BAZAAR_MEDIA_SWEEP_BATCH", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000), global = true)]
    pub media_sweep_batch: u64,

    /// Store photos in an S3-compatible bucket, e.g. s3://bucket or s3://bucket/prefix, so
    /// several server processes share them. Endpoint and credentials come from AWS_ENDPOINT_URL,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION (AWS_ALLOW_HTTP=true for a plain
    /// http endpoint that is not on this machine). Start-up fails if the bucket is not usable.
    #[arg(long, env = "BAZAAR_MEDIA_URL", value_parser = parse_media_url, global = true)]
    pub media_url: Option<S3Url>,

    /// Photo URLs point here (a CDN or the bucket's public address, including the prefix)
    /// instead of at this server's /media/{key}, e.g. https://cdn.example.com/photos.
    #[arg(long, env = "BAZAAR_MEDIA_PUBLIC_URL", value_parser = parse_public_base, global = true)]
    pub media_public_url: Option<String>,
}

impl MediaSettings {
    /// Picture threads: the flag, or one per core.
    pub fn photo_threads(&self) -> usize {
        self.photo_threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            |n| n as usize,
        )
    }
}

fn parse_media_url(value: &str) -> Result<S3Url, String> {
    value.parse().map_err(|e: crate::media::s3::S3Error| {
        // clap prints the flag's name itself.
        e.to_string()
            .trim_start_matches(&format!("--media-url {value:?}: "))
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Cli;
    use clap::Parser;

    #[test]
    fn media_flags_parse_and_default_to_none() {
        let cli = Cli::parse_from(["bazaar"]);
        assert_eq!(cli.settings.media.media_url, None);
        assert_eq!(cli.settings.media.media_public_url, None);
        let cli = Cli::parse_from([
            "bazaar",
            "--media-url",
            "s3://photos/prod",
            "--media-public-url",
            "https://cdn.example.com/prod/",
        ]);
        let url = cli.settings.media.media_url.expect("parsed");
        assert_eq!(
            (url.bucket.as_str(), url.prefix.as_str()),
            ("photos", "prod")
        );
        assert_eq!(
            cli.settings.media.media_public_url.as_deref(),
            Some("https://cdn.example.com/prod")
        );
    }

    #[test]
    fn a_bad_media_url_is_a_usage_error_naming_the_flag() {
        let err =
            Cli::try_parse_from(["bazaar", "--media-url", "s3://Bad_Bucket"]).expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("--media-url"), "{text}");
        assert!(text.contains("is not a bucket name"), "{text}");
        let err = Cli::try_parse_from(["bazaar", "--media-public-url", "cdn.example.com"])
            .expect_err("refused");
        assert!(err.to_string().contains("--media-public-url"), "{err}");
    }
}
