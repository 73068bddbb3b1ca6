//! A moderator removes a message, through the chat writer like every chat write: its body is
//! replaced for both parties, the original kept for moderators, `chat.message_removed` sent to
//! both, and an audit entry written, all in one transaction.

use super::stored::Stored;
use super::{ChatError, ChatWriter, Message, Reply};
use crate::domain::moderation::{action, AuditTarget, REMOVED_MESSAGE_BODY};
use crate::domain::{MessageId, UserId};
use crate::events::Outbox;
use crate::store::audit::{self, NewAuditEntry};
use crate::store::chat as rows;
use crate::store::{self, removed_messages, PooledConn};
use actix::prelude::*;

/// What removing a message did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Removed now: the message as both parties now see it, and its original body.
    Removed {
        message: Message,
        original: String,
    },
    AlreadyRemoved,
    NoSuchMessage,
}

/// A moderator removes a message.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Removal, ChatError>")]
pub struct RemoveMessage {
    pub message: MessageId,
    /// The moderator.
    pub by: UserId,
    pub note: String,
}

impl Handler<RemoveMessage> for ChatWriter {
    type Result = ResponseFuture<Result<Removal, ChatError>>;

    fn handle(&mut self, msg: RemoveMessage, _ctx: &mut Self::Context) -> Self::Result {
        let (reply, outcome) = Reply::caller();
        self.run_alone(msg, reply, remove_message);
        Box::pin(super::answer(outcome))
    }
}

fn remove_message(conn: &mut PooledConn, msg: &RemoveMessage) -> Stored<Removal> {
    conn.write_transaction(|conn| {
        let Some(original) = rows::message(conn, msg.message.0)? else {
            return Ok((Removal::NoSuchMessage, Vec::new()));
        };
        let now = store::now();
        let removed = removed_messages::remove(
            conn,
            original.id,
            &original.body,
            REMOVED_MESSAGE_BODY,
            msg.by,
            &msg.note,
            now,
        )?;
        if !removed {
            return Ok((Removal::AlreadyRemoved, Vec::new()));
        }
        let conversation =
            rows::find(conn, original.conversation_id)?.ok_or(ChatError::NotFound)?;
        let mut message = original.clone();
        message.body = REMOVED_MESSAGE_BODY.to_owned();
        let parties = conversation.parties();
        let mut outbox = Outbox::default();
        outbox.chat_message_removed(&message, [parties.buyer, parties.seller]);
        let entry = NewAuditEntry::new(
            Some(msg.by),
            action::MESSAGE_REMOVED,
            AuditTarget::Message,
            message.id,
            &msg.note,
        );
        audit::append(conn, &entry)?;
        let removal = Removal::Removed {
            message,
            original: original.body,
        };
        Ok((removal, outbox.flush(conn)?))
    })
}
