//! What the flags mean to the rest of the server: durations, counts chosen from the
//! machine, and the settings each part takes.

use super::{ChatFilterMode, Cli, Settings};
use bazaar_actors::chat::ChatSettings;
use bazaar_actors::domain::contact::ChatFilter;
use bazaar_actors::domain::rules::CommerceRules;
use clap::Parser;
use std::time::Duration;

impl Settings {
    /// The defaults, on `database_url`, listening on a free local port: for tests and tools.
    pub fn for_database(database_url: &str) -> Self {
        let mut cli = Cli::parse_from(["bazaar"]);
        cli.settings.database_url = database_url.to_owned();
        cli.settings.bind = "127.0.0.1:0".to_owned();
        cli.settings
    }

    pub fn listing_idle(&self) -> Duration {
        Duration::from_secs(self.listing_idle_secs)
    }

    pub fn listing_cache(&self) -> Duration {
        Duration::from_millis(self.listing_cache_ms)
    }

    /// How long a search query's spelling is reused (`SpelledQueries`).
    pub fn spelled_ttl(&self) -> Duration {
        Duration::from_millis(self.spelled_ttl_ms)
    }

    /// An Idempotency-Key claim's lease.
    pub fn idempotency_lease(&self) -> Duration {
        Duration::from_millis(self.idempotency_lease_ms)
    }

    /// How long a keyed request waits for its work: well within its lease, so the client has
    /// its answer (or a 503) before a retry may take the key over.
    pub fn idempotency_deadline(&self) -> Duration {
        self.idempotency_lease() * 3 / 4
    }

    pub fn auth_cache(&self) -> Duration {
        Duration::from_millis(self.auth_cache_ms)
    }

    /// Broker shards: the flag, or one per worker.
    pub fn broker_shards(&self) -> usize {
        match (self.broker_shards, self.workers) {
            (Some(n), _) => n as usize,
            (None, Some(workers)) => workers.max(1),
            (None, None) => std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// Searches running in the database at once: the flag, or one per core.
    pub fn search_concurrency(&self) -> u32 {
        self.search_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, |n| n.get().try_into().unwrap_or(2))
        })
    }

    /// Password-hashing threads: the flag, or one per core.
    pub fn hash_threads(&self) -> usize {
        self.hash_threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            |n| n as usize,
        )
    }

    pub fn timer_interval(&self) -> Duration {
        Duration::from_millis(self.timer_interval_ms)
    }

    pub fn chat(&self) -> ChatSettings {
        let cores = || std::thread::available_parallelism().map_or(2, |n| n.get());
        ChatSettings {
            writers: self.chat_writers.map_or_else(cores, |n| n as usize),
            unbatched: self.chat_unbatched,
            filter: match self.chat_filter {
                ChatFilterMode::Mask => ChatFilter::Mask,
                ChatFilterMode::Reject => ChatFilter::Reject,
                ChatFilterMode::Off => ChatFilter::Off,
            },
        }
    }

    /// The product rules these settings choose (the rest keep their defaults).
    pub fn rules(&self) -> CommerceRules {
        CommerceRules {
            offer_ttl: chrono::Duration::seconds(self.offer_ttl_secs),
            ship_deadline: chrono::Duration::seconds(self.ship_deadline_secs),
            auto_complete_after: chrono::Duration::seconds(self.auto_complete_secs),
            rating_window: chrono::Duration::seconds(self.rating_window_secs),
            fee_percent: self.fee_percent,
            auto_price_drop_min_interval: chrono::Duration::seconds(
                self.auto_price_drop_min_interval_secs,
            ),
            dispute_timeout: chrono::Duration::seconds(self.dispute_timeout_secs),
            max_photos_per_listing: self.media.photo_max_per_listing,
            photo_urls: crate::media::photo_urls(self),
            ..CommerceRules::default()
        }
    }
}
