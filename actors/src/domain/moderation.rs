//! Trust and safety rules: who may moderate, and what the audit log records. Pure: the store
//! and the edges call these.

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
}

/// The longest note a moderator may attach to an action, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A moderator's note: at most [`MAX_NOTE_CHARS`], no NUL; stored trimmed.
pub fn validate_note(note: &str) -> Result<String, String> {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(format!("must be at most {MAX_NOTE_CHARS} characters"));
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
    fn notes_are_trimmed_and_bounded() {
        assert_eq!(validate_note("  spam  ").as_deref(), Ok("spam"));
        assert_eq!(validate_note("").as_deref(), Ok(""));
        assert!(validate_note(&"x".repeat(MAX_NOTE_CHARS)).is_ok());
        assert!(validate_note(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
        assert!(validate_note("a\0b").is_err());
    }
}
