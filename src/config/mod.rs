//! Command line and environment: every setting is a flag with an environment variable beside it.

mod cli;
mod derived;
mod media;

use clap::Args;
use cli::parse_network;
pub use cli::*;
pub use media::MediaSettings;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// This process's name among several on one database (default: generated at start-up).
    #[arg(long, env = "BAZAAR_NODE_ID", global = true)]
    pub node_id: Option<String>,

    /// Address to listen on.
    #[arg(
        long,
        env = "BAZAAR_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// Serve /metrics on this separate (internal) address instead of on --bind, e.g.
    /// 127.0.0.1:9090. Default: /metrics is on --bind.
    #[arg(long, env = "BAZAAR_METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,

    /// Database: postgres://user@host/db, or sqlite://path (a plain path is SQLite too).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://bazaar.db",
        global = true
    )]
    pub database_url: String,

    /// PostgreSQL URL for the cross-process event listener (LISTEN needs a session connection:
    /// set this when the main URL goes through a transaction-mode pooler). Default: --database-url.
    #[arg(long, env = "BAZAAR_LISTENER_DATABASE_URL", global = true)]
    pub listener_database_url: Option<String>,

    /// SQLite: the write-ahead log is checkpointed and truncated before a write once it is
    /// larger than this many bytes (also its journal_size_limit).
    #[arg(long, env = "BAZAAR_SQLITE_WAL_MAX_BYTES", default_value_t = bazaar_actors::store::DEFAULT_SQLITE_WAL_MAX_BYTES, value_parser = clap::value_parser!(u64).range(4096..), global = true)]
    pub sqlite_wal_max_bytes: u64,

    /// Most database connections open at once (bounds concurrent database work); on SQLite
    /// as many again, read-only, for reads.
    #[arg(long, env = "BAZAAR_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub pool_size: u32,

    /// Most searches and facets (`GET /listings`, `/listings/facets`) running in the database
    /// at once; more wait their turn, in order (default: one per core of this machine, right
    /// when the database shares them; else the database's cores over the server processes
    /// sharing it).
    #[arg(long, env = "BAZAAR_SEARCH_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub search_concurrency: Option<u32>,

    /// Log format. Filter with RUST_LOG (default: info).
    #[arg(long, env = "BAZAAR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "BAZAAR_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Shards of the event broker, each on a thread of its own, topics spread over them by
    /// hash (default: one per worker).
    #[arg(long, env = "BAZAAR_BROKER_SHARDS", value_parser = clap::value_parser!(u32).range(1..=256), global = true)]
    pub broker_shards: Option<u32>,

    /// Seconds a listing actor stays in memory with no command before it passivates.
    #[arg(
        long,
        env = "BAZAAR_LISTING_IDLE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub listing_idle_secs: u64,

    /// Seconds to let in-flight requests finish on SIGINT/SIGTERM.
    #[arg(
        long,
        env = "BAZAAR_SHUTDOWN_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_timeout_secs: u64,

    /// ISO 4217 currency of every price on this server.
    #[arg(long, env = "BAZAAR_CURRENCY", default_value = "EUR", global = true)]
    pub currency: String,

    /// Seconds an offer or counter stays open.
    #[arg(long, env = "BAZAAR_OFFER_TTL_SECS", default_value_t = 24 * 3600, global = true)]
    pub offer_ttl_secs: i64,

    /// Seconds the seller has to ship before the buyer may cancel.
    #[arg(long, env = "BAZAAR_SHIP_DEADLINE_SECS", default_value_t = 3 * 24 * 3600, global = true)]
    pub ship_deadline_secs: i64,

    /// Seconds after shipping an unconfirmed order completes by itself.
    #[arg(long, env = "BAZAAR_AUTO_COMPLETE_SECS", default_value_t = 72 * 3600, global = true)]
    pub auto_complete_secs: i64,

    /// Seconds after completion ratings stay hidden unless both sides rated.
    #[arg(long, env = "BAZAAR_RATING_WINDOW_SECS", default_value_t = 7 * 24 * 3600, global = true)]
    pub rating_window_secs: i64,

    /// The shortest interval a seller may set between scheduled price drops, in seconds.
    #[arg(long, env = "BAZAAR_AUTO_PRICE_DROP_MIN_INTERVAL_SECS", default_value_t = 24 * 3600, value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub auto_price_drop_min_interval_secs: i64,

    /// Seconds a dispute may stay unresolved before it is escalated to the moderators' queue
    /// (it is never paid out by itself).
    #[arg(long, env = "BAZAAR_DISPUTE_TIMEOUT_SECS", default_value_t = 14 * 24 * 3600, value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub dispute_timeout_secs: i64,

    /// The platform's fee on completed orders, in percent.
    #[arg(long, env = "BAZAAR_FEE_PERCENT", default_value_t = 10, value_parser = clap::value_parser!(i64).range(0..=100), global = true)]
    pub fee_percent: i64,

    /// Chat writers side by side on PostgreSQL, each committing batches of messages for its
    /// share of the conversations (default: one per core; SQLite has one writer at a time, so
    /// one).
    #[arg(long, env = "BAZAAR_CHAT_WRITERS", value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub chat_writers: Option<u32>,

    /// Store each chat message in its own transaction, as before batching (to measure
    /// batching against; slower on PostgreSQL).
    #[arg(long, env = "BAZAAR_CHAT_UNBATCHED", global = true)]
    pub chat_unbatched: bool,

    /// Contact details (emails, phone numbers, links) and payment-app handles in chat:
    /// `mask` shows them as `[hidden]` (the original is kept for moderators), `reject`
    /// refuses the message, `off` does not check.
    #[arg(long, env = "BAZAAR_CHAT_FILTER", value_enum, default_value_t = ChatFilterMode::Mask, global = true)]
    pub chat_filter: ChatFilterMode,

    /// Milliseconds between checks for passed deadlines (offer expiry, auto-completion).
    #[arg(long, env = "BAZAAR_TIMER_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..), global = true)]
    pub timer_interval_ms: u64,

    /// How long a bearer token found live is trusted without asking the database again, in
    /// milliseconds (0: ask every time). A logout anywhere ends the trust at once.
    #[arg(
        long,
        env = "BAZAAR_AUTH_CACHE_MS",
        default_value_t = 5000,
        global = true
    )]
    pub auth_cache_ms: u64,

    /// How long a listing row read for `GET /listings/{id}` is served from memory, in
    /// milliseconds (0: never). Writes in this process are seen at once; writes by another
    /// process sharing the database, after at most this long.
    #[arg(
        long,
        env = "BAZAAR_LISTING_CACHE_MS",
        default_value_t = 1000,
        global = true
    )]
    pub listing_cache_ms: u64,

    /// How long a search query's spelling (its typos corrected, its long last word spelled out
    /// as the words it begins) is reused, in milliseconds (0: never). The listings are always
    /// read as they are; a word new to the catalogue under a prefix already spelled out as
    /// others, and the vocabulary sweep's latest corrections, are seen after at most this long.
    #[arg(
        long,
        env = "BAZAAR_SPELLED_TTL_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub spelled_ttl_ms: u64,

    /// How long a request's claim on an Idempotency-Key lasts, in milliseconds. A repeat within
    /// it answers 409 (in progress); after it, a key whose request died without an answer runs
    /// afresh. A request gives up waiting for its work (503) before its claim ends.
    #[arg(long, env = "BAZAAR_IDEMPOTENCY_LEASE_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..), global = true)]
    pub idempotency_lease_ms: u64,

    /// Allow `POST /api/v1/wallet/deposits` (sandbox money). Turn off in production.
    #[arg(long, env = "BAZAAR_SANDBOX_PAYMENTS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub sandbox_payments: bool,

    /// Shared secret of the payment provider's webhook signatures (webhooks are refused without it).
    #[arg(
        long,
        env = "BAZAAR_PAYMENTS_WEBHOOK_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub payments_webhook_secret: Option<String>,

    /// Origins allowed to open a WebSocket (comma-separated, e.g. https://app.example.com).
    /// A request with no Origin header (a native app) is always allowed.
    #[arg(
        long,
        env = "BAZAAR_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_origins: Vec<String>,

    /// Seconds between server pings on a WebSocket.
    #[arg(long, env = "BAZAAR_WS_PING_SECS", default_value_t = 10, global = true)]
    pub ws_ping_secs: u64,

    /// Seconds of silence from a client after which its socket is closed.
    #[arg(
        long,
        env = "BAZAAR_WS_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub ws_timeout_secs: u64,

    /// Seconds a socket closed for its backlog (1008) has to take its close frame before its
    /// connection is dropped.
    #[arg(
        long,
        env = "BAZAAR_WS_CLOSE_GRACE_SECS",
        default_value_t = 5,
        global = true
    )]
    pub ws_close_grace_secs: u64,

    /// Largest client message, continuation frames assembled (bytes); larger closes with 1009.
    #[arg(long, env = "BAZAAR_WS_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024, global = true)]
    pub ws_max_message_bytes: usize,

    /// Client frames per second allowed over time; more closes with 1008.
    #[arg(
        long,
        env = "BAZAAR_WS_RATE_PER_SEC",
        default_value_t = 20,
        global = true
    )]
    pub ws_rate_per_sec: u32,

    /// Client frames allowed in a burst.
    #[arg(
        long,
        env = "BAZAAR_WS_RATE_BURST",
        default_value_t = 40,
        global = true
    )]
    pub ws_rate_burst: u32,

    /// Bytes written to a socket but not yet taken by the client before it is closed.
    #[arg(long, env = "BAZAAR_WS_MAX_BACKLOG_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub ws_max_backlog_bytes: u64,

    /// Topics one connection may subscribe to.
    #[arg(
        long,
        env = "BAZAAR_WS_MAX_SUBSCRIPTIONS",
        default_value_t = 100,
        global = true
    )]
    pub ws_max_subscriptions: usize,

    /// Live sockets one user may hold (devices).
    #[arg(
        long,
        env = "BAZAAR_WS_MAX_SESSIONS_PER_USER",
        default_value_t = 10,
        global = true
    )]
    pub ws_max_sessions_per_user: usize,

    /// Seconds a WebSocket ticket stays valid.
    #[arg(
        long,
        env = "BAZAAR_WS_TICKET_TTL_SECS",
        default_value_t = 30,
        global = true
    )]
    pub ws_ticket_ttl_secs: i64,

    /// Seconds a webhook's signed timestamp may differ from the server's clock.
    #[arg(
        long,
        env = "BAZAAR_WEBHOOK_TOLERANCE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub webhook_tolerance_secs: i64,

    /// Threads that hash and check passwords (Argon2, 19 MiB each while it runs). Default: one
    /// per core.
    #[arg(long, env = "BAZAAR_HASH_THREADS", value_parser = clap::value_parser!(u32).range(1..=256), global = true)]
    pub hash_threads: Option<u32>,

    /// Password hashes waiting for a thread; when full, register and log in answer 503.
    #[arg(long, env = "BAZAAR_HASH_QUEUE", default_value_t = 32, global = true)]
    pub hash_queue: usize,

    /// `off` turns every rate limit and the login lock-out off (benchmarks, load tests).
    #[arg(long, env = "BAZAAR_RATE_LIMITS", value_enum, default_value_t = Switch::On, global = true)]
    pub rate_limits: Switch,

    /// Reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs). The
    /// client address is the peer, or, if the peer is one of these, the rightmost
    /// X-Forwarded-For entry that is not.
    #[arg(long, env = "BAZAAR_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network, global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Logins per username (`N/sec`, `N/min` or `N/hour`: a burst of N, refilled over the period).
    #[arg(
        long,
        env = "BAZAAR_LIMIT_LOGINS_PER_USERNAME",
        default_value = "10/min",
        global = true
    )]
    pub limit_logins_per_username: RateQuota,

    /// Logins per client address.
    #[arg(
        long,
        env = "BAZAAR_LIMIT_LOGINS_PER_ADDRESS",
        default_value = "60/min",
        global = true
    )]
    pub limit_logins_per_address: RateQuota,

    /// Registrations per client address.
    #[arg(
        long,
        env = "BAZAAR_LIMIT_REGISTRATIONS_PER_ADDRESS",
        default_value = "20/hour",
        global = true
    )]
    pub limit_registrations_per_address: RateQuota,

    /// WebSocket tickets per client address.
    #[arg(
        long,
        env = "BAZAAR_LIMIT_TICKETS_PER_ADDRESS",
        default_value = "60/min",
        global = true
    )]
    pub limit_tickets_per_address: RateQuota,

    /// Searches, browses and profile views per client address (`GET /listings`,
    /// `GET /listings/facets`, `GET /users/{id}`).
    #[arg(
        long,
        env = "BAZAAR_LIMIT_BROWSING_PER_ADDRESS",
        default_value = "20/sec",
        global = true
    )]
    pub limit_browsing_per_address: RateQuota,

    /// Listings created per user.
    #[arg(
        long,
        env = "BAZAAR_LIMIT_LISTINGS_PER_USER",
        default_value = "30/min",
        global = true
    )]
    pub limit_listings_per_user: RateQuota,

    /// Offers, counters and liker offers per user.
    #[arg(
        long,
        env = "BAZAAR_LIMIT_OFFERS_PER_USER",
        default_value = "30/min",
        global = true
    )]
    pub limit_offers_per_user: RateQuota,

    /// Purchases per user.
    #[arg(
        long,
        env = "BAZAAR_LIMIT_PURCHASES_PER_USER",
        default_value = "30/min",
        global = true
    )]
    pub limit_purchases_per_user: RateQuota,

    /// Chat messages per user (REST and socket together).
    #[arg(
        long,
        env = "BAZAAR_LIMIT_CHAT_PER_USER",
        default_value = "60/min",
        global = true
    )]
    pub limit_chat_per_user: RateQuota,

    /// Reports per user.
    #[arg(
        long,
        env = "BAZAAR_LIMIT_REPORTS_PER_USER",
        default_value = "10/hour",
        global = true
    )]
    pub limit_reports_per_user: RateQuota,

    /// Saved searches created per user (each is matched against every new listing).
    #[arg(
        long,
        env = "BAZAAR_LIMIT_SAVED_SEARCHES_PER_USER",
        default_value = "30/hour",
        global = true
    )]
    pub limit_saved_searches_per_user: RateQuota,

    /// Photo uploads per user (each is decoded and re-encoded: the costliest request there is).
    #[arg(
        long,
        env = "BAZAAR_LIMIT_PHOTOS_PER_USER",
        default_value = "300/hour",
        global = true
    )]
    pub limit_photos_per_user: RateQuota,

    /// Consecutive failed logins for one username before it is locked.
    #[arg(long, env = "BAZAAR_LOGIN_LOCKOUT_AFTER", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub login_lockout_after: u32,

    /// Seconds of the first lock; each further failure doubles it.
    #[arg(long, env = "BAZAAR_LOGIN_LOCKOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub login_lockout_secs: u64,

    /// The longest lock, in seconds.
    #[arg(long, env = "BAZAAR_LOGIN_LOCKOUT_MAX_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub login_lockout_max_secs: u64,

    /// Most keys (addresses, users, usernames) one limit remembers; past it the limit forgets
    /// everyone's count at once (logged), so memory stays bounded under hostile use.
    #[arg(long, env = "BAZAAR_RATE_LIMIT_MAX_KEYS", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub rate_limit_max_keys: u64,

    /// Photos: storage, upload and decoding limits, the sweep.
    #[command(flatten)]
    pub media: MediaSettings,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_is_the_default_and_flags_work_after_the_subcommand() {
        let cli = Cli::parse_from(["bazaar"]);
        assert_eq!(cli.command, None);
        assert_eq!(cli.settings.bind, "127.0.0.1:8080");
        let cli = Cli::parse_from(["bazaar", "serve", "--bind", "0.0.0.0:9000"]);
        assert_eq!(cli.command, Some(Command::Serve));
        assert_eq!(cli.settings.bind, "0.0.0.0:9000");
    }

    #[test]
    fn rates_parse_as_a_count_per_period() {
        let q: RateQuota = "10/min".parse().unwrap();
        assert_eq!((q.count.get(), q.period), (10, Duration::from_secs(60)));
        let q: RateQuota = " 3 / hour".parse().unwrap();
        assert_eq!((q.count.get(), q.period), (3, Duration::from_secs(3600)));
        for bad in ["10", "0/min", "x/min", "10/day", "-1/sec"] {
            assert!(bad.parse::<RateQuota>().is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxies_take_addresses_and_blocks() {
        let cli = Cli::parse_from(["bazaar", "--trusted-proxies", "10.0.0.1,192.168.0.0/16,::1"]);
        let nets: Vec<String> = cli
            .settings
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["10.0.0.1/32", "192.168.0.0/16", "::1/128"]);
        assert!(Cli::try_parse_from(["bazaar", "--trusted-proxies", "proxy.local"]).is_err());
        assert_eq!(Cli::parse_from(["bazaar"]).settings.rate_limits, Switch::On);
        let off = Cli::parse_from(["bazaar", "--rate-limits", "off"]);
        assert_eq!(off.settings.rate_limits, Switch::Off);
    }
}
