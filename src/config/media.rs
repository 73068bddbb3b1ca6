//! Photo and media flags: where files are stored, the limits of an upload and of decoding,
//! the picture threads, and the sweep of files no photo names any more.

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
