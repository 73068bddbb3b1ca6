//! Command line and environment: every setting is a flag with an environment variable beside it.

use bazaar_actors::domain::rules::CommerceRules;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "bazaar",
    version,
    about = "Bazaar: a real-time second-hand marketplace server",
    long_about = "Bazaar: a real-time second-hand marketplace server.\n\nWith no subcommand it \
                  serves. SQLite is the default database (./bazaar.db, created on first run); \
                  set DATABASE_URL=postgres://… for PostgreSQL."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Migrate, then load a synthetic catalogue (sellers and listings) in plain SQL batches,
    /// for benchmarks and for trying search.
    Seed {
        /// How many listings to add.
        #[arg(long, default_value_t = 10_000)]
        listings: i64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

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

    /// Most database connections open at once (bounds concurrent database work).
    #[arg(long, env = "BAZAAR_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub pool_size: u32,

    /// Log format. Filter with RUST_LOG (default: info).
    #[arg(long, env = "BAZAAR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "BAZAAR_WORKERS", global = true)]
    pub workers: Option<usize>,

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

    /// The platform's fee on completed orders, in percent.
    #[arg(long, env = "BAZAAR_FEE_PERCENT", default_value_t = 10, value_parser = clap::value_parser!(i64).range(0..=100), global = true)]
    pub fee_percent: i64,

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
}

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

    pub fn auth_cache(&self) -> Duration {
        Duration::from_millis(self.auth_cache_ms)
    }

    pub fn timer_interval(&self) -> Duration {
        Duration::from_millis(self.timer_interval_ms)
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
            ..CommerceRules::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
