//! Chat commands: store a message or a read marker with its events in one transaction. The
//! caller hands the returned events to the broker after the commit. A conversation's row lock
//! orders its messages; no actor is needed.

use crate::domain::chat::validate_message;
use crate::domain::{FieldErrors, UserId};
use crate::events::Outbox;
use crate::store::chat::{self as rows, Conversation, Message};
use crate::store::models::Event;
use crate::store::{self, write_transaction, DbConnection};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("conversation not found")]
    NotFound,
    #[error("only the buyer and the seller take part in this conversation")]
    NotParty,
    #[error("the message is not in this conversation")]
    UnknownMessage,
    #[error("invalid message")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error("database connection unavailable: {0}")]
    Unavailable(#[from] r2d2::Error),
}

/// The conversation, if `user` is one of its parties.
pub fn conversation_of(
    conn: &mut DbConnection,
    user: UserId,
    conversation_id: i64,
) -> Result<Conversation, ChatError> {
    let conversation = rows::find(conn, conversation_id)?.ok_or(ChatError::NotFound)?;
    if !conversation.parties().includes(user) {
        return Err(ChatError::NotParty);
    }
    Ok(conversation)
}

/// Stores `body` from `sender` unless the same `client_msg_id` was stored before, in which
/// case the first message is returned and nothing is written.
pub fn send(
    conn: &mut DbConnection,
    sender: UserId,
    conversation_id: i64,
    client_msg_id: &str,
    body: &str,
) -> Result<(Message, Vec<Event>), ChatError> {
    validate_message(body, client_msg_id).map_err(ChatError::Invalid)?;
    write_transaction(conn, |conn| {
        let conversation = conversation_of(conn, sender, conversation_id)?;
        let (message, new) = rows::send(
            conn,
            conversation.id,
            sender.0,
            client_msg_id,
            body,
            store::now(),
        )?;
        if !new {
            return Ok((message, Vec::new()));
        }
        let mut outbox = Outbox::default();
        let parties = conversation.parties();
        outbox.chat_message(&message, [parties.buyer, parties.seller]);
        let events = outbox.flush(conn)?;
        Ok((message, events))
    })
}

/// Marks the conversation read by `reader` up to `message_id`; the read receipt goes to both
/// parties. Moving the marker back changes nothing and sends nothing.
pub fn mark_read(
    conn: &mut DbConnection,
    reader: UserId,
    conversation_id: i64,
    message_id: i64,
) -> Result<Vec<Event>, ChatError> {
    write_transaction(conn, |conn| {
        let conversation = conversation_of(conn, reader, conversation_id)?;
        let message = rows::message(conn, message_id)?
            .filter(|m| m.conversation_id == conversation.id)
            .ok_or(ChatError::UnknownMessage)?;
        if !rows::mark_read(conn, &conversation, reader, message.id)? {
            return Ok(Vec::new());
        }
        let mut outbox = Outbox::default();
        let parties = conversation.parties();
        outbox.chat_read(
            conversation.id,
            reader,
            message.id,
            [parties.buyer, parties.seller],
        );
        Ok(outbox.flush(conn)?)
    })
}
