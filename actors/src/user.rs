//! Per-user actors. A `UserActor` lives while its user has live sessions (devices): it caps
//! the sessions per user and closes the sessions of a revoked token (each session subscribes
//! to its user's topic itself, through its worker's hub). `Users` starts and
//! stops them; every message to a user goes through it, so it knows when one is idle. At
//! shutdown it closes every session and refuses new ones.

use crate::domain::{ConnectionId, LoginId, UserId};
use actix::prelude::*;
use std::collections::HashMap;

/// Tells a session to close.
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct CloseSession {
    pub cause: CloseCause,
}

/// Why the core closes a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseCause {
    /// The login (token) it was opened with was logged out.
    LoggedOut,
    /// The server is shutting down.
    ShuttingDown,
}

/// How a user actor reaches one session.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    /// The login (bearer token) the socket was opened with.
    pub login: LoginId,
    pub close: Recipient<CloseSession>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("too many live sessions for this user (at most {0})")]
    TooManySessions(usize),
    #[error("the user's actor is unavailable")]
    Unavailable,
    #[error("the server is shutting down")]
    ShuttingDown,
}

#[derive(Debug, Message)]
#[rtype(result = "Result<(), ConnectError>")]
pub struct Connect {
    pub user: UserId,
    pub connection: ConnectionId,
    pub session: SessionHandle,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub user: UserId,
    pub connection: ConnectionId,
}

/// Closes every session opened with this login (logout).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RevokeLogin {
    pub user: UserId,
    pub login: LoginId,
}

/// Closes every live session and refuses new ones (the server is shutting down).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct CloseAll;

pub struct Users {
    closing: bool,
    max_sessions_per_user: usize,
    users: HashMap<UserId, (Addr<UserActor>, usize)>,
}

impl Users {
    pub fn new(max_sessions_per_user: usize) -> Self {
        Users {
            closing: false,
            max_sessions_per_user,
            users: HashMap::new(),
        }
    }
}

impl Actor for Users {
    type Context = Context<Self>;
}

impl Handler<Connect> for Users {
    type Result = ResponseFuture<Result<(), ConnectError>>;

    fn handle(&mut self, msg: Connect, _ctx: &mut Self::Context) -> Self::Result {
        if self.closing {
            return Box::pin(async { Err(ConnectError::ShuttingDown) });
        }
        let max = self.max_sessions_per_user;
        let entry = self.users.entry(msg.user).or_insert_with(|| {
            let actor = UserActor {
                max_sessions: max,
                sessions: HashMap::new(),
                closing: false,
            };
            (actor.start(), 0)
        });
        entry.1 += 1;
        let addr = entry.0.clone();
        Box::pin(async move {
            addr.send(msg)
                .await
                .unwrap_or(Err(ConnectError::Unavailable))
        })
    }
}

impl Handler<Disconnect> for Users {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _ctx: &mut Self::Context) {
        let user = msg.user;
        let last = match self.users.get_mut(&user) {
            Some((addr, count)) => {
                *count = count.saturating_sub(1);
                addr.do_send(msg);
                *count == 0
            }
            None => return,
        };
        if last {
            if let Some((addr, _)) = self.users.remove(&user) {
                addr.do_send(StopUser);
            }
        }
    }
}

impl Handler<RevokeLogin> for Users {
    type Result = ();

    fn handle(&mut self, msg: RevokeLogin, _ctx: &mut Self::Context) {
        if let Some((addr, _)) = self.users.get(&msg.user) {
            addr.do_send(msg);
        }
    }
}

impl Handler<CloseAll> for Users {
    type Result = ();

    fn handle(&mut self, _msg: CloseAll, _ctx: &mut Self::Context) {
        self.closing = true;
        for (addr, _) in self.users.values() {
            addr.do_send(CloseAll);
        }
    }
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
struct StopUser;

pub struct UserActor {
    max_sessions: usize,
    sessions: HashMap<ConnectionId, SessionHandle>,
    /// `CloseAll` arrived: a `Connect` forwarded just before it is refused too.
    closing: bool,
}

impl Actor for UserActor {
    type Context = Context<Self>;
}

impl Handler<Connect> for UserActor {
    type Result = Result<(), ConnectError>;

    fn handle(&mut self, msg: Connect, _ctx: &mut Self::Context) -> Self::Result {
        if self.closing {
            return Err(ConnectError::ShuttingDown);
        }
        if self.sessions.len() >= self.max_sessions {
            return Err(ConnectError::TooManySessions(self.max_sessions));
        }
        self.sessions.insert(msg.connection, msg.session);
        Ok(())
    }
}

impl Handler<Disconnect> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _ctx: &mut Self::Context) {
        self.sessions.remove(&msg.connection);
    }
}

impl Handler<RevokeLogin> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: RevokeLogin, _ctx: &mut Self::Context) {
        for session in self.sessions.values() {
            if session.login == msg.login {
                session.close.do_send(CloseSession {
                    cause: CloseCause::LoggedOut,
                });
            }
        }
    }
}

impl Handler<CloseAll> for UserActor {
    type Result = ();

    fn handle(&mut self, _msg: CloseAll, _ctx: &mut Self::Context) {
        self.closing = true;
        for session in self.sessions.values() {
            session.close.do_send(CloseSession {
                cause: CloseCause::ShuttingDown,
            });
        }
    }
}

impl Handler<StopUser> for UserActor {
    type Result = ();

    fn handle(&mut self, _msg: StopUser, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
