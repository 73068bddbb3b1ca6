//! The command line's shape: subcommands, and the value types flags parse into.

use super::Settings;
use clap::{Parser, Subcommand, ValueEnum};
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

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
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
    /// Manage moderators and admins (each change is written to the audit log).
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
}

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum AdminCommand {
    /// Make USERNAME a moderator or an admin.
    Grant {
        username: String,
        #[arg(value_enum)]
        role: GrantedRole,
    },
    /// Make USERNAME a plain user again.
    Revoke { username: String },
}

/// A role the operator may grant.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GrantedRole {
    Moderator,
    Admin,
}

impl From<GrantedRole> for bazaar_actors::domain::moderation::Role {
    fn from(role: GrantedRole) -> Self {
        match role {
            GrantedRole::Moderator => Self::Moderator,
            GrantedRole::Admin => Self::Admin,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// What chat does with contact details and outside payment handles in messages.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ChatFilterMode {
    /// Both parties see `[hidden]` in their place; the original is kept for moderators.
    Mask,
    /// The message is refused.
    Reject,
    /// No check.
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

/// A rate: a burst of `count`, refilled evenly over `period` (`10/min`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    pub count: std::num::NonZeroU32,
    pub period: Duration,
}

impl std::str::FromStr for RateQuota {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (count, unit) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not N/sec, N/min or N/hour"))?;
        let count = count
            .trim()
            .parse::<std::num::NonZeroU32>()
            .map_err(|_| format!("{count:?} is not a count above 0"))?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => return Err(format!("{other:?} is not sec, min or hour")),
        };
        Ok(RateQuota { count, period })
    }
}

/// An IP address or a CIDR block (a bare address is a block of one).
pub(super) fn parse_network(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))
}
