//! Rate limits: one keyed GCRA limiter (`governor`) per [`Limit`], each keyed by a client
//! address, a user or a username, plus the login lock-out. A refusal is 429 problem+json with
//! `Retry-After` (over the socket, an error frame `rate_limited`), counted in
//! `bazaar_rate_limited_total{limit}`.
//!
//! Limits are per process: several processes behind a balancer each allow the full rate.
//!
//! Memory stays bounded under hostile use: a sweeper thread drops every key whose state is
//! back to "fresh" (`retain_recent`) and forgotten lock-out records every
//! [`SWEEP_INTERVAL`]; and a limit that reaches `--rate-limit-max-keys` keys between sweeps
//! forgets all of them at once (logged, counted in `bazaar_rate_limit_resets_total`), failing
//! open for a moment rather than growing.
//!
//! Adding a limit: a variant of [`Limit`] with its name and flag, then one line where it
//! applies: `state.limits.check(Limit::ReportsPerUser, caller.id())?;`.

mod address;
mod lockout;

pub use address::{address_key, client_address, ClientAddr};
pub use lockout::{Failures, LockoutRule, Lockouts};

use crate::config::{RateQuota, Settings, Switch};
use crate::error::ApiError;
use crate::metrics::Metrics;
use bazaar_actors::domain::UserId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

/// How often stale keys are dropped.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Every rate limit. Its `name` is the metric label and appears in DEPLOYMENT.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    LoginsPerUsername,
    LoginsPerAddress,
    RegistrationsPerAddress,
    TicketsPerAddress,
    BrowsingPerAddress,
    ListingsPerUser,
    OffersPerUser,
    PurchasesPerUser,
    ChatPerUser,
    ReportsPerUser,
    SavedSearchesPerUser,
    PhotosPerUser,
}

impl Limit {
    pub const ALL: [Limit; 12] = [
        Limit::LoginsPerUsername,
        Limit::LoginsPerAddress,
        Limit::RegistrationsPerAddress,
        Limit::TicketsPerAddress,
        Limit::BrowsingPerAddress,
        Limit::ListingsPerUser,
        Limit::OffersPerUser,
        Limit::PurchasesPerUser,
        Limit::ChatPerUser,
        Limit::ReportsPerUser,
        Limit::SavedSearchesPerUser,
        Limit::PhotosPerUser,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Limit::LoginsPerUsername => "logins_per_username",
            Limit::LoginsPerAddress => "logins_per_address",
            Limit::RegistrationsPerAddress => "registrations_per_address",
            Limit::TicketsPerAddress => "tickets_per_address",
            Limit::BrowsingPerAddress => "browsing_per_address",
            Limit::ListingsPerUser => "listings_per_user",
            Limit::OffersPerUser => "offers_per_user",
            Limit::PurchasesPerUser => "purchases_per_user",
            Limit::ChatPerUser => "chat_per_user",
            Limit::ReportsPerUser => "reports_per_user",
            Limit::SavedSearchesPerUser => "saved_searches_per_user",
            Limit::PhotosPerUser => "photos_per_user",
        }
    }

    /// What the client is told it did too often.
    fn what(self) -> &'static str {
        match self {
            Limit::LoginsPerUsername => "login attempts for this username",
            Limit::LoginsPerAddress => "login attempts from this address",
            Limit::RegistrationsPerAddress => "registrations from this address",
            Limit::TicketsPerAddress => "socket tickets from this address",
            Limit::BrowsingPerAddress => "searches and profile views from this address",
            Limit::ListingsPerUser => "listings created",
            Limit::OffersPerUser => "offers made",
            Limit::PurchasesPerUser => "purchases",
            Limit::ChatPerUser => "chat messages sent",
            Limit::ReportsPerUser => "reports made",
            Limit::SavedSearchesPerUser => "saved searches created",
            Limit::PhotosPerUser => "photos uploaded",
        }
    }

    fn quota(self, s: &Settings) -> RateQuota {
        match self {
            Limit::LoginsPerUsername => s.limit_logins_per_username,
            Limit::LoginsPerAddress => s.limit_logins_per_address,
            Limit::RegistrationsPerAddress => s.limit_registrations_per_address,
            Limit::TicketsPerAddress => s.limit_tickets_per_address,
            Limit::BrowsingPerAddress => s.limit_browsing_per_address,
            Limit::ListingsPerUser => s.limit_listings_per_user,
            Limit::OffersPerUser => s.limit_offers_per_user,
            Limit::PurchasesPerUser => s.limit_purchases_per_user,
            Limit::ChatPerUser => s.limit_chat_per_user,
            Limit::ReportsPerUser => s.limit_reports_per_user,
            Limit::SavedSearchesPerUser => s.limit_saved_searches_per_user,
            Limit::PhotosPerUser => s.limit_photos_per_user,
        }
    }
}

/// What a limit is kept per.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Address(IpAddr),
    User(UserId),
    Username(String),
}

/// Usernames longer than this are cut for the key (no real one is this long), so a key's
/// memory is bounded.
const MAX_USERNAME_KEY_CHARS: usize = 64;

impl From<ClientAddr> for Key {
    fn from(a: ClientAddr) -> Self {
        Key::Address(address_key(a.0))
    }
}

impl From<UserId> for Key {
    fn from(u: UserId) -> Self {
        Key::User(u)
    }
}

impl From<&str> for Key {
    fn from(name: &str) -> Self {
        Key::Username(username_key(name))
    }
}

fn username_key(name: &str) -> String {
    name.chars().take(MAX_USERNAME_KEY_CHARS).collect()
}

/// A refusal: which limit, and when to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    pub limit: Limit,
    pub retry_after_secs: u64,
}

impl Limited {
    pub fn detail(&self) -> String {
        format!(
            "too many {}; try again in {} s",
            self.limit.what(),
            self.retry_after_secs
        )
    }
}

impl From<Limited> for ApiError {
    fn from(l: Limited) -> Self {
        ApiError::TooManyRequests {
            detail: l.detail(),
            retry_after_secs: l.retry_after_secs,
        }
    }
}

/// The login lock-out's refusal carries the time left on the lock.
#[derive(Clone, Copy, Debug)]
pub struct LockedOut {
    pub retry_after_secs: u64,
}

impl From<LockedOut> for ApiError {
    fn from(l: LockedOut) -> Self {
        ApiError::TooManyRequests {
            detail: format!(
                "too many failed logins for this username; try again in {} s",
                l.retry_after_secs
            ),
            retry_after_secs: l.retry_after_secs,
        }
    }
}

/// The metric label of the lock-out.
const LOCKOUT: &str = "login_lockout";

type Limiter = DefaultKeyedRateLimiter<Key>;

/// One limit's limiter; replaced by a fresh one when it holds too many keys.
struct Keyed {
    limit: Limit,
    quota: Quota,
    limiter: RwLock<Arc<Limiter>>,
}

impl Keyed {
    fn current(&self) -> Arc<Limiter> {
        self.limiter
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn reset(&self) {
        *self
            .limiter
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Arc::new(Limiter::dashmap(self.quota));
    }
}

/// Every limit of this process. Built once in `app` and shared through `AppState`.
pub struct Limits {
    enabled: bool,
    max_keys: usize,
    keyed: Vec<Keyed>,
    lockouts: Lockouts,
    clock: DefaultClock,
    metrics: Metrics,
}

impl Limits {
    /// The limits `settings` choose, and a sweeper thread that ends when they are dropped.
    pub fn start(settings: &Settings, metrics: Metrics) -> std::io::Result<Arc<Limits>> {
        let limits = Arc::new(Limits::new(settings, metrics));
        if limits.enabled {
            let weak = Arc::downgrade(&limits);
            std::thread::Builder::new()
                .name("rate-limit-sweeper".into())
                .spawn(move || sweep_while_alive(&weak))?;
        }
        Ok(limits)
    }

    fn new(settings: &Settings, metrics: Metrics) -> Limits {
        let keyed = Limit::ALL
            .iter()
            .map(|&limit| {
                let q = limit.quota(settings);
                let quota = Quota::with_period(q.period / q.count.get())
                    .unwrap_or_else(|| Quota::per_second(q.count))
                    .allow_burst(q.count);
                Keyed {
                    limit,
                    quota,
                    limiter: RwLock::new(Arc::new(Limiter::dashmap(quota))),
                }
            })
            .collect();
        let rule = LockoutRule {
            after: settings.login_lockout_after,
            first: Duration::from_secs(settings.login_lockout_secs),
            max: Duration::from_secs(settings.login_lockout_max_secs),
        };
        let max_keys = usize::try_from(settings.rate_limit_max_keys).unwrap_or(usize::MAX);
        Limits {
            enabled: settings.rate_limits == Switch::On,
            max_keys,
            keyed,
            lockouts: Lockouts::new(rule, max_keys),
            clock: DefaultClock::default(),
            metrics,
        }
    }

    /// Takes one from `limit`'s allowance for `key`, or says when to try again.
    pub fn check(&self, limit: Limit, key: impl Into<Key>) -> Result<(), Limited> {
        if !self.enabled {
            return Ok(());
        }
        let keyed = &self.keyed[limit as usize];
        let limiter = keyed.current();
        let outcome = limiter.check_key(&key.into());
        if limiter.len() > self.max_keys {
            tracing::warn!(
                limit = limit.name(),
                max_keys = self.max_keys,
                "rate limit forgot every key: too many at once"
            );
            self.metrics
                .rate_limit_resets
                .with_label_values(&[limit.name()])
                .inc();
            keyed.reset();
        }
        outcome.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            self.refused(limit.name());
            Limited {
                limit,
                retry_after_secs: whole_secs(wait),
            }
        })
    }

    /// Refuses a login for a locked username (known or not).
    pub fn check_lockout(&self, username: &str) -> Result<(), LockedOut> {
        if !self.enabled {
            return Ok(());
        }
        match self
            .lockouts
            .locked(&username_key(username), Instant::now())
        {
            None => Ok(()),
            Some(left) => {
                self.refused(LOCKOUT);
                Err(LockedOut {
                    retry_after_secs: whole_secs(left),
                })
            }
        }
    }

    pub fn login_failed(&self, username: &str) {
        if self.enabled
            && self
                .lockouts
                .failed(&username_key(username), Instant::now())
        {
            tracing::warn!("login lock-out forgot every username: too many at once");
            self.metrics
                .rate_limit_resets
                .with_label_values(&[LOCKOUT])
                .inc();
        }
    }

    pub fn login_succeeded(&self, username: &str) {
        if self.enabled {
            self.lockouts.succeeded(&username_key(username));
        }
    }

    fn refused(&self, name: &str) {
        self.metrics.rate_limited.with_label_values(&[name]).inc();
    }

    /// Drops what no longer limits anyone, and reports how many keys each limit holds.
    fn sweep(&self) {
        for keyed in &self.keyed {
            let limiter = keyed.current();
            limiter.retain_recent();
            limiter.shrink_to_fit();
            self.metrics
                .rate_limit_keys
                .with_label_values(&[keyed.limit.name()])
                .set(i64::try_from(limiter.len()).unwrap_or(i64::MAX));
        }
        let names = self.lockouts.sweep(Instant::now());
        self.metrics
            .rate_limit_keys
            .with_label_values(&[LOCKOUT])
            .set(i64::try_from(names).unwrap_or(i64::MAX));
    }
}

fn sweep_while_alive(limits: &Weak<Limits>) {
    loop {
        std::thread::sleep(SWEEP_INTERVAL);
        match limits.upgrade() {
            Some(limits) => limits.sweep(),
            None => return,
        }
    }
}

/// Whole seconds to wait, rounded up, at least 1 (a `Retry-After` of 0 invites a hot loop).
fn whole_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn limits(args: &[&str]) -> Limits {
        let mut argv = vec!["bazaar"];
        argv.extend_from_slice(args);
        let settings = crate::config::Cli::parse_from(argv).settings;
        Limits::new(&settings, Metrics::new("test").unwrap())
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait_and_counted() {
        let limits = limits(&["--limit-purchases-per-user", "3/min"]);
        for _ in 0..3 {
            assert_eq!(limits.check(Limit::PurchasesPerUser, UserId(1)), Ok(()));
        }
        let refused = limits
            .check(Limit::PurchasesPerUser, UserId(1))
            .unwrap_err();
        // One of three comes back every 20 s.
        assert!((1..=20).contains(&refused.retry_after_secs), "{refused:?}");
        // Another user, and another limit, are not affected.
        assert_eq!(limits.check(Limit::PurchasesPerUser, UserId(2)), Ok(()));
        assert_eq!(limits.check(Limit::OffersPerUser, UserId(1)), Ok(()));
        assert!(limits
            .metrics
            .render()
            .contains("bazaar_rate_limited_total{limit=\"purchases_per_user\"} 1"));
    }

    #[test]
    fn off_lets_everything_through() {
        let limits = limits(&[
            "--rate-limits",
            "off",
            "--limit-purchases-per-user",
            "1/hour",
        ]);
        for _ in 0..100 {
            assert_eq!(limits.check(Limit::PurchasesPerUser, UserId(1)), Ok(()));
            limits.login_failed("alice");
        }
        assert!(limits.check_lockout("alice").is_ok());
    }

    #[test]
    fn too_many_keys_are_forgotten_not_kept() {
        let limits = limits(&["--rate-limit-max-keys", "10"]);
        for user in 0..1_000 {
            let _ = limits.check(Limit::ChatPerUser, UserId(user));
            assert!(limits.keyed[Limit::ChatPerUser as usize].current().len() <= 10);
        }
    }

    #[test]
    fn limits_are_listed_in_order_of_their_index() {
        for (i, limit) in Limit::ALL.iter().enumerate() {
            assert_eq!(*limit as usize, i);
        }
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(whole_secs(Duration::ZERO), 1);
        assert_eq!(whole_secs(Duration::from_millis(1_001)), 2);
        assert_eq!(whole_secs(Duration::from_secs(30)), 30);
    }
}
