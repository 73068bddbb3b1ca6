//! Command line and environment: every setting is a flag with an environment variable beside it.

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
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
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
