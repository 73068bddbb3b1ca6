//! Idempotency-Key claims (Stripe's "atomic phases"): what a request that carries a key may do,
//! given the key's row and the time. A claim is held under a lease; the response is written in
//! the same transaction as the effect, and only while the claim's token still holds the key, so
//! a request whose lease lapsed (it died, or is stuck) can no longer commit once another has
//! taken the key over. A key therefore never stays "in progress" longer than one lease.

use chrono::{Duration, NaiveDateTime};

/// The key's row as the claim rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExistingKey<'a> {
    /// The fingerprint (method, path, body) of the request that first used the key.
    pub fingerprint: &'a str,
    /// A response is stored: the request finished.
    pub answered: bool,
    /// Until when the claim's request may still be running.
    pub locked_until: NaiveDateTime,
}

/// What a request carrying a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimDecision {
    /// The key is new: claim it and run the request.
    Fresh,
    /// The first request finished: replay its response.
    Replay,
    /// The key was used with a different request.
    Mismatch,
    /// The first request may still be running for `lease_left`: try again later.
    InProgress { lease_left: Duration },
    /// The first request's lease lapsed without an answer: it did not commit and no longer
    /// can once the key has a new token, so run the request afresh under a new claim.
    TakeOver,
}

/// Decides what a request with `fingerprint` does with its key's row (`None`: no row) at `now`.
pub fn decide_claim(
    existing: Option<ExistingKey<'_>>,
    fingerprint: &str,
    now: NaiveDateTime,
) -> ClaimDecision {
    let Some(key) = existing else {
        return ClaimDecision::Fresh;
    };
    if key.fingerprint != fingerprint {
        ClaimDecision::Mismatch
    } else if key.answered {
        ClaimDecision::Replay
    } else if key.locked_until > now {
        ClaimDecision::InProgress {
            lease_left: key.locked_until - now,
        }
    } else {
        ClaimDecision::TakeOver
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn at(secs: i64) -> NaiveDateTime {
        DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .expect("a valid time")
            .naive_utc()
    }

    fn key(fingerprint: &str, answered: bool, locked_until: NaiveDateTime) -> ExistingKey<'_> {
        ExistingKey {
            fingerprint,
            answered,
            locked_until,
        }
    }

    #[test]
    fn a_new_key_is_fresh() {
        assert_eq!(decide_claim(None, "f", at(0)), ClaimDecision::Fresh);
    }

    #[test]
    fn an_answered_key_replays_whatever_its_lease() {
        for lease_end in [at(-100), at(0), at(100)] {
            assert_eq!(
                decide_claim(Some(key("f", true, lease_end)), "f", at(0)),
                ClaimDecision::Replay
            );
        }
    }

    #[test]
    fn another_request_with_the_key_is_a_mismatch_in_every_state() {
        for (answered, lease_end) in [(true, at(10)), (false, at(10)), (false, at(-10))] {
            assert_eq!(
                decide_claim(Some(key("f", answered, lease_end)), "g", at(0)),
                ClaimDecision::Mismatch
            );
        }
    }

    #[test]
    fn a_running_request_within_its_lease_is_in_progress() {
        assert_eq!(
            decide_claim(Some(key("f", false, at(30))), "f", at(0)),
            ClaimDecision::InProgress {
                lease_left: Duration::seconds(30)
            }
        );
    }

    #[test]
    fn a_lapsed_lease_is_taken_over_never_in_progress_for_good() {
        // At the very end of the lease and any time after it.
        for now in [at(30), at(31), at(3_600)] {
            assert_eq!(
                decide_claim(Some(key("f", false, at(30))), "f", now),
                ClaimDecision::TakeOver
            );
        }
    }
}
