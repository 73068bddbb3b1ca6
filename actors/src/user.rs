//! Per-user actors. A `UserActor` lives while its user has live sessions (devices): it
//! subscribes to the user's private topic once and delivers each event to every session, caps
//! the sessions per user, and closes the sessions of a revoked token. `Users` starts and
//! stops them; every message to a user goes through it, so it knows when one is idle. At
//! shutdown it closes every session and refuses new ones.

use crate::broker::{Backlog, Broker, Deliver, Subscribe, Subscriber, UnsubscribeAll};
use crate::domain::{ConnectionId, LoginId, UserId};
use crate::events::user_topic;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
    pub deliver: Subscriber,
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
    broker: Addr<Broker>,
    closing: bool,
    max_sessions_per_user: usize,
    users: HashMap<UserId, (Addr<UserActor>, usize)>,
    ids: Arc<AtomicU64>,
}

impl Users {
    pub fn new(broker: Addr<Broker>, max_sessions_per_user: usize) -> Self {
        Users {
            broker,
            closing: false,
            max_sessions_per_user,
            users: HashMap::new(),
            ids: Arc::new(AtomicU64::new(1)),
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
        let (broker, max, ids) = (
            self.broker.clone(),
            self.max_sessions_per_user,
            self.ids.clone(),
        );
        let entry = self.users.entry(msg.user).or_insert_with(|| {
            let actor = UserActor {
                user: msg.user,
                subscriber: ConnectionId(ids.fetch_add(1, Ordering::Relaxed) | (1 << 63)),
                broker,
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
    user: UserId,
    subscriber: ConnectionId,
    broker: Addr<Broker>,
    max_sessions: usize,
    sessions: HashMap<ConnectionId, SessionHandle>,
    /// `CloseAll` arrived: a `Connect` forwarded just before it is refused too.
    closing: bool,
}

impl Actor for UserActor {
    type Context = Context<Self>;

    /// Subscribes before handling anything else: once a session's `Connect` is answered, every
    /// event published afterwards reaches it.
    fn started(&mut self, ctx: &mut Self::Context) {
        let subscribe = self.broker.send(Subscribe {
            topic: user_topic(self.user),
            id: self.subscriber,
            subscriber: Subscriber {
                recipient: ctx.address().recipient(),
                // It only forwards; each session's own backlog is checked then.
                backlog: Backlog::unbounded(),
            },
        });
        ctx.wait(
            fut::wrap_future::<_, Self>(subscribe).map(|result, act, _| {
                if result.is_err() {
                    tracing::error!(user.id = %act.user, "the broker is gone");
                }
            }),
        );
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.broker.do_send(UnsubscribeAll {
            subscriber: self.subscriber,
        });
    }
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

impl Handler<Deliver> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: Deliver, _ctx: &mut Self::Context) {
        for session in self.sessions.values() {
            session.deliver.deliver(msg.clone());
        }
    }
}

impl Handler<StopUser> for UserActor {
    type Result = ();

    fn handle(&mut self, _msg: StopUser, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
