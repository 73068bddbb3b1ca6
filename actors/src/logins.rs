//! `Logins`: bearer tokens recently found live, so that a client's every request does not cost
//! a database round trip to authenticate. An entry is trusted for at most the cache's `ttl`,
//! and never past its login's expiry. A logout in this process forgets its login at once;
//! one in another process does too, through the relay's `bazaar_logouts` doorbell. A doorbell
//! missed while the relay was disconnected is bounded by `ttl`, and the relay forgets every
//! entry when it reconnects.

use crate::domain::LoginId;
use crate::store::models::{Login, User};
use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The most entries kept; past it, stale entries go, and if that is not enough, all of them.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct Logins {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    login: Login,
    user: User,
    found_at: Instant,
}

impl Logins {
    /// A cache that trusts an entry for `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        Logins {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live login of `token_hash` and its user, if it was found live within `ttl` and
    /// has not expired by `now`.
    pub fn get(&self, token_hash: &str, now: NaiveDateTime) -> Option<(Login, User)> {
        let entries = self.entries();
        let entry = entries.get(token_hash)?;
        (entry.found_at.elapsed() < self.ttl && entry.login.expires_at > now)
            .then(|| (entry.login.clone(), entry.user.clone()))
    }

    /// Remembers a login just found live in the database.
    pub fn put(&self, token_hash: String, login: Login, user: User) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, e| e.found_at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let found_at = Instant::now();
        entries.insert(
            token_hash,
            Entry {
                login,
                user,
                found_at,
            },
        );
    }

    /// A login ended: its token is not trusted from here on.
    pub fn forget_login(&self, login: LoginId) {
        self.entries().retain(|_, e| e.login.login_id() != login);
    }

    /// Trusts nothing cached so far (logouts may have been missed).
    pub fn forget_all(&self) {
        self.entries().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(id: i64, expires_at: NaiveDateTime) -> (Login, User) {
        let now = crate::store::now();
        (
            Login {
                id,
                user_id: 7,
                token_hash: format!("h{id}"),
                created_at: now,
                expires_at,
                revoked_at: None,
            },
            User {
                id: 7,
                username: "ann".into(),
                display_name: "Ann".into(),
                password_hash: String::new(),
                created_at: now,
                role: crate::domain::moderation::Role::User,
                suspended_at: None,
                suspended_until: None,
                suspension_reason: None,
                bio: String::new(),
                avatar_small_key: None,
                avatar_large_key: None,
            },
        )
    }

    #[test]
    fn a_login_is_trusted_until_forgotten() {
        let cache = Logins::new(Duration::from_secs(60));
        let now = crate::store::now();
        let (found, user) = login(1, now + chrono::Duration::hours(1));
        cache.put("h1".into(), found, user);
        assert_eq!(cache.get("h1", now).map(|(s, _)| s.id), Some(1));
        assert!(cache.get("h2", now).is_none());
        cache.forget_login(LoginId(1));
        assert!(cache.get("h1", now).is_none());
    }

    #[test]
    fn a_login_is_not_trusted_past_its_expiry_or_the_ttl() {
        let cache = Logins::new(Duration::from_secs(60));
        let now = crate::store::now();
        let (found, user) = login(1, now + chrono::Duration::seconds(1));
        cache.put("h1".into(), found, user);
        assert!(cache
            .get("h1", now + chrono::Duration::seconds(2))
            .is_none());

        let brief = Logins::new(Duration::from_millis(1));
        let (found, user) = login(2, now + chrono::Duration::hours(1));
        brief.put("h2".into(), found, user);
        std::thread::sleep(Duration::from_millis(5));
        assert!(brief.get("h2", now).is_none());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = Logins::new(Duration::ZERO);
        let now = crate::store::now();
        let (found, user) = login(1, now + chrono::Duration::hours(1));
        cache.put("h1".into(), found, user);
        assert!(cache.get("h1", now).is_none());
    }

    #[test]
    fn forgetting_all_trusts_nothing() {
        let cache = Logins::new(Duration::from_secs(60));
        let now = crate::store::now();
        let (found, user) = login(1, now + chrono::Duration::hours(1));
        cache.put("h1".into(), found, user);
        cache.forget_all();
        assert!(cache.get("h1", now).is_none());
    }
}
