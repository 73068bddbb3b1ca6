//! Reports: what users may report and why, who may report what, and which moderator
//! resolutions fit which report.

use super::UserId;

macro_rules! named {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The names, for error messages: "a, b or c".
            pub fn names() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                match names.split_last() {
                    Some((last, [])) => (*last).to_owned(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => String::new(),
                }
            }
        }
    };
}

named!(
    /// What a report is about.
    ReportTarget {
        Listing => "listing",
        User => "user",
        Message => "message",
    }
);

named!(
    /// Why something is reported.
    ReportReason {
        ProhibitedItem => "prohibited_item",
        Counterfeit => "counterfeit",
        Scam => "scam",
        Harassment => "harassment",
        Spam => "spam",
        Other => "other",
    }
);

named!(
    /// Open until a moderator resolves it.
    ReportStatus {
        Open => "open",
        Resolved => "resolved",
    }
);

named!(
    /// How a moderator resolves a report.
    Resolution {
        Dismiss => "dismiss",
        RemoveListing => "remove_listing",
        RemoveMessage => "remove_message",
        SuspendUser => "suspend_user",
    }
);

/// What the store found about a report's target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetFacts {
    /// Who the target belongs to: the user, the listing's seller, the message's sender.
    pub owner: UserId,
    /// Whether the reporter may see the target at all: a listing that is not a draft (or is
    /// their own), any user, a message of a conversation they are a party of.
    pub visible_to_reporter: bool,
}

/// Why a report is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportRefusal {
    /// No such target, or one the reporter cannot see (a message of someone else's
    /// conversation): 404, so a report cannot probe what exists.
    #[error("no such {0} (or not one you can see)")]
    NotFound(&'static str),
    /// Reporting oneself, one's own listing or one's own message.
    #[error("you cannot report yourself or what is yours")]
    OwnTarget,
}

/// Whether `reporter` may report a target with these facts (`None`: there is none).
pub fn decide_report(
    reporter: UserId,
    target: ReportTarget,
    facts: Option<TargetFacts>,
) -> Result<(), ReportRefusal> {
    let facts = facts
        .filter(|f| f.visible_to_reporter)
        .ok_or(ReportRefusal::NotFound(target.as_str()))?;
    if facts.owner == reporter {
        return Err(ReportRefusal::OwnTarget);
    }
    Ok(())
}

/// Whether `resolution` can be applied to a report about `target`: removals only to their
/// own kind; dismissing and suspending (the target's owner) to any.
pub fn resolution_fits(target: ReportTarget, resolution: Resolution) -> bool {
    match resolution {
        Resolution::Dismiss | Resolution::SuspendUser => true,
        Resolution::RemoveListing => target == ReportTarget::Listing,
        Resolution::RemoveMessage => target == ReportTarget::Message,
    }
}

/// The longest note a reporter may add, in characters.
pub const MAX_REPORT_NOTE_CHARS: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(owner: i64, visible: bool) -> Option<TargetFacts> {
        Some(TargetFacts {
            owner: UserId(owner),
            visible_to_reporter: visible,
        })
    }

    #[test]
    fn others_may_report_what_they_can_see() {
        let me = UserId(1);
        for target in ReportTarget::ALL.iter().copied() {
            assert_eq!(decide_report(me, target, facts(2, true)), Ok(()));
            assert_eq!(
                decide_report(me, target, facts(1, true)),
                Err(ReportRefusal::OwnTarget)
            );
            assert_eq!(
                decide_report(me, target, None),
                Err(ReportRefusal::NotFound(target.as_str()))
            );
            // What the reporter cannot see reads as missing, even their own.
            assert_eq!(
                decide_report(me, target, facts(2, false)),
                Err(ReportRefusal::NotFound(target.as_str()))
            );
        }
    }

    #[test]
    fn removals_fit_only_their_own_kind() {
        use Resolution::*;
        for target in ReportTarget::ALL.iter().copied() {
            assert!(resolution_fits(target, Dismiss));
            assert!(resolution_fits(target, SuspendUser));
            assert_eq!(
                resolution_fits(target, RemoveListing),
                target == ReportTarget::Listing
            );
            assert_eq!(
                resolution_fits(target, RemoveMessage),
                target == ReportTarget::Message
            );
        }
    }

    #[test]
    fn names_round_trip_and_list() {
        for r in ReportReason::ALL.iter().copied() {
            assert_eq!(ReportReason::parse(r.as_str()), Some(r));
        }
        for r in Resolution::ALL.iter().copied() {
            assert_eq!(Resolution::parse(r.as_str()), Some(r));
        }
        assert_eq!(ReportTarget::names(), "listing, user or message");
        assert_eq!(ReportStatus::parse("closed"), None);
    }
}
