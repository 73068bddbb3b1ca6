//! Chat rules: what a message is, and who may take part in a conversation.

use super::validation::{char_length, non_blank, FieldErrors};
use super::{ConversationId, UserId};
use std::collections::HashMap;

pub const BODY_CHARS: (usize, usize) = (1, 2000);
pub const CLIENT_MSG_ID_CHARS: (usize, usize) = (1, 64);

/// A message a user sends; validated before anything is stored.
pub fn validate_message(body: &str, client_msg_id: &str) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    errors.check("body", non_blank(body, BODY_CHARS.1));
    errors.check(
        "client_msg_id",
        char_length(client_msg_id, CLIENT_MSG_ID_CHARS.0, CLIENT_MSG_ID_CHARS.1),
    );
    errors.into_result(())
}

/// What identifies a message for idempotent sending: its sender's own id for it, in its
/// conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageKey<'a> {
    pub conversation: ConversationId,
    pub sender: UserId,
    pub client_msg_id: &'a str,
}

/// Where a message of a batch stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// New: stored with this seq.
    New { seq: i64 },
    /// Stored before this batch: answered with the stored message, nothing written.
    StoredBefore,
    /// The same key as the batch's message at this index (which is `New` or `StoredBefore`):
    /// answered as that one is, nothing written.
    SameAs(usize),
}

/// A conversation after a batch: its last seq and the batch index of its last message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversationAfter {
    pub conversation: ConversationId,
    pub last_seq: i64,
    pub last_message: usize,
}

/// The plan for a batch of messages (already validated, their senders parties): each one's
/// placement, in the batch's order, and the conversations that got new messages, in the
/// order of their first new message.
#[derive(Debug, PartialEq, Eq)]
pub struct BatchPlan {
    pub placements: Vec<Placement>,
    pub conversations: Vec<ConversationAfter>,
}

/// Places a batch: a message whose key was stored before (`stored_before`) or came earlier
/// in the batch writes nothing; every other message takes its conversation's next seq, in
/// the batch's order, from `last_seq` (the conversation's last seq before the batch) on, so
/// seqs stay strictly increasing without a gap.
pub fn plan_batch(
    keys: &[MessageKey<'_>],
    last_seq: impl Fn(ConversationId) -> i64,
    stored_before: impl Fn(&MessageKey<'_>) -> bool,
) -> BatchPlan {
    let mut first_of: HashMap<MessageKey<'_>, usize> = HashMap::new();
    let mut after: HashMap<ConversationId, usize> = HashMap::new();
    let mut conversations: Vec<ConversationAfter> = Vec::new();
    let placements = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            if let Some(&first) = first_of.get(key) {
                return Placement::SameAs(first);
            }
            first_of.insert(*key, i);
            if stored_before(key) {
                return Placement::StoredBefore;
            }
            let at = *after.entry(key.conversation).or_insert_with(|| {
                conversations.push(ConversationAfter {
                    conversation: key.conversation,
                    last_seq: last_seq(key.conversation),
                    last_message: i,
                });
                conversations.len() - 1
            });
            let conversation = &mut conversations[at];
            conversation.last_seq += 1;
            conversation.last_message = i;
            Placement::New {
                seq: conversation.last_seq,
            }
        })
        .collect();
    BatchPlan {
        placements,
        conversations,
    }
}

/// The two parties of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parties {
    pub buyer: UserId,
    pub seller: UserId,
}

impl Parties {
    pub fn includes(&self, user: UserId) -> bool {
        user == self.buyer || user == self.seller
    }

    /// The other party, if `user` is one.
    pub fn other(&self, user: UserId) -> Option<UserId> {
        if user == self.buyer {
            Some(self.seller)
        } else if user == self.seller {
            Some(self.buyer)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_a_body_and_a_client_id() {
        assert!(validate_message("Is it available?", "a1").is_ok());
        let e = validate_message("   ", "").unwrap_err();
        assert_eq!(e.fields().len(), 2);
        assert!(validate_message(&"x".repeat(2001), "a1").is_err());
    }

    #[test]
    fn a_nul_character_is_refused() {
        let e = validate_message("a\0b", "c\0").unwrap_err();
        assert_eq!(e.fields().len(), 2);
    }

    fn key(conversation: i64, sender: i64, id: &str) -> MessageKey<'_> {
        MessageKey {
            conversation: ConversationId(conversation),
            sender: UserId(sender),
            client_msg_id: id,
        }
    }

    #[test]
    fn a_batch_takes_each_conversations_next_seqs_in_order() {
        let keys = [
            key(1, 10, "a"),
            key(2, 20, "a"),
            key(1, 11, "b"),
            key(1, 10, "c"),
        ];
        let plan = plan_batch(&keys, |c| if c.0 == 1 { 5 } else { 0 }, |_| false);
        assert_eq!(
            plan.placements,
            [
                Placement::New { seq: 6 },
                Placement::New { seq: 1 },
                Placement::New { seq: 7 },
                Placement::New { seq: 8 },
            ]
        );
        assert_eq!(
            plan.conversations,
            [
                ConversationAfter {
                    conversation: ConversationId(1),
                    last_seq: 8,
                    last_message: 3
                },
                ConversationAfter {
                    conversation: ConversationId(2),
                    last_seq: 1,
                    last_message: 1
                },
            ]
        );
    }

    #[test]
    fn a_key_sent_twice_in_a_batch_is_stored_once_and_leaves_no_gap() {
        let keys = [key(1, 10, "a"), key(1, 10, "a"), key(1, 10, "b")];
        let plan = plan_batch(&keys, |_| 0, |_| false);
        assert_eq!(
            plan.placements,
            [
                Placement::New { seq: 1 },
                Placement::SameAs(0),
                Placement::New { seq: 2 },
            ]
        );
        assert_eq!(plan.conversations[0].last_seq, 2);
        assert_eq!(plan.conversations[0].last_message, 2);
    }

    #[test]
    fn the_same_client_id_from_the_other_party_or_elsewhere_is_another_message() {
        let keys = [key(1, 10, "a"), key(1, 11, "a"), key(2, 10, "a")];
        let plan = plan_batch(&keys, |_| 0, |_| false);
        assert_eq!(
            plan.placements,
            [
                Placement::New { seq: 1 },
                Placement::New { seq: 2 },
                Placement::New { seq: 1 },
            ]
        );
    }

    #[test]
    fn a_key_stored_before_writes_nothing_even_when_repeated() {
        let keys = [key(1, 10, "old"), key(1, 10, "new"), key(1, 10, "old")];
        let plan = plan_batch(&keys, |_| 3, |k| k.client_msg_id == "old");
        assert_eq!(
            plan.placements,
            [
                Placement::StoredBefore,
                Placement::New { seq: 4 },
                Placement::SameAs(0),
            ]
        );
        assert_eq!(plan.conversations.len(), 1);
        assert_eq!(plan.conversations[0].last_message, 1);
    }

    #[test]
    fn a_batch_of_repeats_changes_no_conversation() {
        let keys = [key(1, 10, "old"), key(1, 10, "old")];
        let plan = plan_batch(&keys, |_| 3, |_| true);
        assert_eq!(
            plan.placements,
            [Placement::StoredBefore, Placement::SameAs(0)]
        );
        assert!(plan.conversations.is_empty());
    }

    #[test]
    fn only_the_parties_take_part() {
        let p = Parties {
            buyer: UserId(1),
            seller: UserId(2),
        };
        assert_eq!(p.other(UserId(1)), Some(UserId(2)));
        assert_eq!(p.other(UserId(3)), None);
        assert!(!p.includes(UserId(3)));
    }
}
