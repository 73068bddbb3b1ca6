//! Chat rules: what a message is, and who may take part in a conversation.

use super::validation::{char_length, non_blank, FieldErrors};
use super::UserId;

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
