//! Trust and safety writes: filing reports, resolving them, suspending and unsuspending
//! users. Each moderator action and its audit entry commit in one transaction; sockets are
//! closed and cached logins forgotten only after the commit (as a logout does).

use crate::domain::moderation::{action, AuditTarget};
use crate::domain::report::{
    decide_report, resolution_fits, ReportReason, ReportRefusal, ReportStatus, ReportTarget,
    Resolution,
};
use crate::domain::{LoginId, UserId};
use crate::logins::Logins;
use crate::relay::announce_logout;
use crate::store::audit::{self, NewAuditEntry};
use crate::store::models::User;
use crate::store::reports::{self, NewReport, Report};
use crate::store::{self, is_unique_violation, users, DbConnection, Pool, StoreError};
use crate::user::{RevokeLogin, Users};
use actix::Addr;
use chrono::NaiveDateTime;

#[derive(Debug, thiserror::Error)]
pub enum ModerationError {
    #[error(transparent)]
    Refused(#[from] ReportRefusal),
    #[error("you already have an open report about this {0}")]
    AlreadyReported(&'static str),
    #[error("no such report")]
    ReportNotFound,
    #[error("the report is already resolved")]
    AlreadyResolved,
    #[error("no such user")]
    UserNotFound,
    #[error("{resolution} does not apply to a report about a {target}")]
    ResolutionDoesNotFit {
        resolution: &'static str,
        target: &'static str,
    },
    /// The resolution is applied by the caller (a listing's actor, the chat writer) before
    /// the report is closed.
    #[error("{0} is applied through its own writer")]
    AppliedElsewhere(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ModerationError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// A report as a user files it, validated.
#[derive(Clone, Debug)]
pub struct ReportDraft {
    pub target: ReportTarget,
    pub target_id: i64,
    pub reason: ReportReason,
    pub note: String,
}

/// Files a report: the target must exist and be visible to the reporter, and not be theirs;
/// one open report per reporter and target.
pub async fn file_report(
    pool: &Pool,
    reporter: UserId,
    draft: ReportDraft,
) -> Result<Report, ModerationError> {
    pool.run(move |conn| {
        conn.write_transaction(|conn| {
            let facts = reports::target_facts(conn, reporter, draft.target, draft.target_id)?;
            decide_report(reporter, draft.target, facts)?;
            let new = NewReport {
                reporter_id: reporter.0,
                target_type: draft.target,
                target_id: draft.target_id,
                reason: draft.reason,
                note: &draft.note,
                status: ReportStatus::Open,
                created_at: store::now(),
            };
            reports::insert(conn, &new).map_err(|e| {
                if is_unique_violation(&e) {
                    ModerationError::AlreadyReported(draft.target.as_str())
                } else {
                    e.into()
                }
            })
        })
    })
    .await
}

/// Where sockets are closed and cached logins forgotten after a suspension commits.
#[derive(Clone)]
pub struct Sessions<'a> {
    pub logins: &'a Logins,
    pub users: &'a Addr<Users>,
}

impl Sessions<'_> {
    /// Ends `revoked` logins of `user` in this process (other processes hear of each through
    /// the relay's doorbell, announced in the transaction).
    fn end(&self, user: UserId, revoked: &[LoginId]) {
        for &login in revoked {
            self.logins.forget_login(login);
            self.users.do_send(RevokeLogin { user, login });
        }
    }
}

/// A suspension to apply.
#[derive(Clone, Debug)]
pub struct Suspension {
    pub user: UserId,
    /// `None`: until lifted.
    pub until: Option<NaiveDateTime>,
    pub reason: String,
}

/// Suspends, revokes every login and announces each, with an audit entry; in `conn`'s open
/// transaction. The logins revoked, for [`Sessions::end`] after the commit.
fn suspend_in(
    conn: &mut DbConnection,
    moderator: UserId,
    suspension: &Suspension,
) -> Result<(User, Vec<LoginId>), ModerationError> {
    let now = store::now();
    let user = users::suspend(
        conn,
        suspension.user,
        suspension.until,
        &suspension.reason,
        now,
    )?
    .ok_or(ModerationError::UserNotFound)?;
    let revoked = users::revoke_all_logins(conn, suspension.user, now)?;
    for &login in &revoked {
        announce_logout(conn, suspension.user, login)?;
    }
    let entry = NewAuditEntry::new(
        Some(moderator),
        action::USER_SUSPENDED,
        AuditTarget::User,
        user.id,
        &suspension.reason,
    );
    audit::append(conn, &entry)?;
    Ok((user, revoked))
}

/// Suspends a user: they cannot log in until `until` (or until lifted), their logins are
/// revoked and their sockets closed.
pub async fn suspend_user(
    pool: &Pool,
    sessions: Sessions<'_>,
    moderator: UserId,
    suspension: Suspension,
) -> Result<User, ModerationError> {
    let target = suspension.user;
    // A login cached here is not trusted from the moment the suspension is asked for.
    let (user, revoked) = pool
        .run(move |conn| conn.write_transaction(|conn| suspend_in(conn, moderator, &suspension)))
        .await?;
    sessions.end(target, &revoked);
    Ok(user)
}

/// Lifts a suspension, with an audit entry.
pub async fn unsuspend_user(
    pool: &Pool,
    moderator: UserId,
    user: UserId,
    note: String,
) -> Result<User, ModerationError> {
    pool.run(move |conn| {
        conn.write_transaction(|conn| {
            let user = users::unsuspend(conn, user)?.ok_or(ModerationError::UserNotFound)?;
            let entry = NewAuditEntry::new(
                Some(moderator),
                action::USER_UNSUSPENDED,
                AuditTarget::User,
                user.id,
                &note,
            );
            audit::append(conn, &entry)?;
            Ok(user)
        })
    })
    .await
}

/// A moderator's resolution of a report.
#[derive(Clone, Debug)]
pub struct ResolveReport {
    pub report: i64,
    pub resolution: Resolution,
    pub note: String,
    /// For `suspend_user`: the suspension's end (`None`: until lifted).
    pub until: Option<NaiveDateTime>,
}

/// The report, if it is open and `resolution` fits it: checked before a removal is applied
/// through its own writer.
pub async fn open_report(
    pool: &Pool,
    report: i64,
    resolution: Resolution,
) -> Result<Report, ModerationError> {
    pool.run_read(move |conn| {
        let found = reports::find(conn, report)?.ok_or(ModerationError::ReportNotFound)?;
        check_open(&found, resolution)?;
        Ok(found)
    })
    .await
}

fn check_open(report: &Report, resolution: Resolution) -> Result<(), ModerationError> {
    if report.status != ReportStatus::Open {
        return Err(ModerationError::AlreadyResolved);
    }
    if !resolution_fits(report.target_type, resolution) {
        return Err(ModerationError::ResolutionDoesNotFit {
            resolution: resolution.as_str(),
            target: report.target_type.as_str(),
        });
    }
    Ok(())
}

/// Resolves a report by dismissing it or suspending its target's owner (the user, the
/// seller, the sender), with an audit entry for the report and one for the suspension, all in
/// one transaction. A removal is applied first by its writer ([`open_report`] checks the
/// report), then the report is closed here with `applied` set.
pub async fn resolve_report(
    pool: &Pool,
    sessions: Sessions<'_>,
    moderator: UserId,
    resolve: ResolveReport,
    applied: bool,
) -> Result<Report, ModerationError> {
    let outcome = pool
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let found =
                    reports::find(conn, resolve.report)?.ok_or(ModerationError::ReportNotFound)?;
                check_open(&found, resolve.resolution)?;
                let mut ended = None;
                match resolve.resolution {
                    Resolution::Dismiss => {}
                    Resolution::SuspendUser => {
                        let owner =
                            reports::target_owner(conn, found.target_type, found.target_id)?
                                .ok_or(ModerationError::UserNotFound)?;
                        let suspension = Suspension {
                            user: owner,
                            until: resolve.until,
                            reason: resolve.note.clone(),
                        };
                        let (_, revoked) = suspend_in(conn, moderator, &suspension)?;
                        ended = Some((owner, revoked));
                    }
                    other if !applied => {
                        return Err(ModerationError::AppliedElsewhere(other.as_str()));
                    }
                    _ => {}
                }
                let report = reports::resolve(
                    conn,
                    found.id,
                    resolve.resolution,
                    moderator,
                    &resolve.note,
                    store::now(),
                )?
                .ok_or(ModerationError::AlreadyResolved)?;
                let note = format!("{}: {}", resolve.resolution.as_str(), resolve.note);
                let entry = NewAuditEntry::new(
                    Some(moderator),
                    action::REPORT_RESOLVED,
                    AuditTarget::Report,
                    report.id,
                    note.trim_end_matches([' ', ':']),
                );
                audit::append(conn, &entry)?;
                Ok((report, ended))
            })
        })
        .await?;
    let (report, ended) = outcome;
    if let Some((user, revoked)) = ended {
        sessions.end(user, &revoked);
    }
    Ok(report)
}
