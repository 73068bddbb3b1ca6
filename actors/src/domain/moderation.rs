//! Trust and safety rules: who may moderate, and what the audit log records. Pure: the store
//! and the edges call these.

use super::listing::{change_from, ListingChange, ListingState, ListingStatus};
use super::order::OrderStatus;
use chrono::NaiveDateTime;
use std::fmt;

/// What a user may do beyond using the marketplace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    User,
    Moderator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::User, Self::Moderator, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == s)
    }

    /// Whether this role may use the moderator routes (`/api/v1/admin/…`). An admin is a
    /// moderator too.
    pub fn may_moderate(self) -> bool {
        matches!(self, Self::Moderator | Self::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an audit entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditTarget {
    User,
    Listing,
    Message,
    Report,
    Order,
}

impl AuditTarget {
    pub const ALL: [AuditTarget; 5] = [
        Self::User,
        Self::Listing,
        Self::Message,
        Self::Report,
        Self::Order,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Listing => "listing",
            Self::Message => "message",
            Self::Report => "report",
            Self::Order => "order",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The actions the audit log names (`action` column). Other features add theirs; a name is
/// `noun_verb-ed`, past tense, as it records what happened.
pub mod action {
    pub const ROLE_GRANTED: &str = "role_granted";
    pub const ROLE_REVOKED: &str = "role_revoked";
    pub const REPORT_RESOLVED: &str = "report_resolved";
    pub const USER_SUSPENDED: &str = "user_suspended";
    pub const USER_UNSUSPENDED: &str = "user_unsuspended";
    pub const LISTING_REMOVED: &str = "listing_removed";
    pub const MESSAGE_REMOVED: &str = "message_removed";
}

/// Whether a suspension (since `since`, until `until` or until lifted) is in force at `now`.
pub fn suspension_in_force(
    since: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> bool {
    since.is_some() && until.is_none_or(|until| now < until)
}

/// A suspension's end must be in the future (`None`: until lifted).
pub fn validate_suspension_end(
    until: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), String> {
    match until {
        Some(until) if until <= now => Err("must be in the future".into()),
        _ => Ok(()),
    }
}

/// What both parties see in place of a message a moderator removed.
pub const REMOVED_MESSAGE_BODY: &str = "[removed by a moderator]";

/// Why a listing cannot be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemovalError {
    #[error("the listing is already removed")]
    AlreadyRemoved,
}

/// A moderator removes a listing, whatever its status: it becomes `removed`, for good.
pub fn decide_removal(current: &ListingState) -> Result<ListingChange, RemovalError> {
    if current.status == ListingStatus::Removed {
        return Err(RemovalError::AlreadyRemoved);
    }
    let mut next = current.clone();
    next.status = ListingStatus::Removed;
    next.auto_price_drop = None;
    Ok(change_from(current, next))
}

/// Whether removing its listing refunds an order: a paid order not yet shipped is cancelled
/// and refunded; a shipped one completes as usual (the goods are on their way).
pub fn refunded_on_removal(status: OrderStatus) -> bool {
    status == OrderStatus::Paid
}

/// The longest note a moderator may attach to an action, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A note (a moderator's, or a reporter's with its own bound): at most `max_chars`, no NUL;
/// stored trimmed.
pub fn validate_note(note: &str, max_chars: usize) -> Result<String, String> {
    let note = note.trim();
    if note.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if note.contains('\0') {
        return Err("must not contain NUL".into());
    }
    Ok(note.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_moderators_and_admins_moderate() {
        assert!(!Role::User.may_moderate());
        assert!(Role::Moderator.may_moderate());
        assert!(Role::Admin.may_moderate());
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for target in AuditTarget::ALL {
            assert_eq!(AuditTarget::parse(target.as_str()), Some(target));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(AuditTarget::parse(""), None);
    }

    #[test]
    fn a_suspension_holds_from_its_start_until_its_end_or_until_lifted() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let hour = chrono::Duration::hours(1);
        assert!(!suspension_in_force(None, None, now));
        assert!(suspension_in_force(Some(now - hour), None, now));
        assert!(suspension_in_force(Some(now - hour), Some(now + hour), now));
        assert!(!suspension_in_force(Some(now - hour), Some(now), now));
        assert!(validate_suspension_end(None, now).is_ok());
        assert!(validate_suspension_end(Some(now + hour), now).is_ok());
        assert!(validate_suspension_end(Some(now), now).is_err());
    }

    #[test]
    fn any_listing_but_a_removed_one_can_be_removed() {
        use super::super::listing::sample_listing;
        for status in ListingStatus::ALL {
            let current = sample_listing(status);
            let decided = decide_removal(&current);
            if status == ListingStatus::Removed {
                assert_eq!(decided, Err(RemovalError::AlreadyRemoved));
            } else {
                let change = decided.unwrap();
                assert_eq!(change.next.status, ListingStatus::Removed);
                assert_eq!(change.next.version, current.version + 1);
                assert!(change.next.auto_price_drop.is_none());
            }
        }
    }

    #[test]
    fn only_paid_orders_are_refunded_on_removal() {
        for status in OrderStatus::ALL {
            assert_eq!(refunded_on_removal(status), status == OrderStatus::Paid);
        }
    }

    #[test]
    fn notes_are_trimmed_and_bounded() {
        let max = MAX_NOTE_CHARS;
        assert_eq!(validate_note("  spam  ", max).as_deref(), Ok("spam"));
        assert_eq!(validate_note("", max).as_deref(), Ok(""));
        assert!(validate_note(&"x".repeat(max), max).is_ok());
        assert!(validate_note(&"x".repeat(max + 1), max).is_err());
        assert!(validate_note(&"é".repeat(10), 10).is_ok());
        assert!(validate_note("a\0b", max).is_err());
    }
}
