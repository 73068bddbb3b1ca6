//! The socket's wire protocol: JSON text frames. A client frame has an `op` and may carry a
//! `ref`, echoed in the reply. Wire types are separate from the actors' mailbox messages.

use bazaar_actors::events::MessageView;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a client asks for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op")]
pub enum ClientOp {
    #[serde(rename = "subscribe")]
    Subscribe { topic: String, since: Option<i64> },
    #[serde(rename = "unsubscribe")]
    Unsubscribe { topic: String },
    #[serde(rename = "resume")]
    Resume { since: i64 },
    #[serde(rename = "chat.send")]
    ChatSend {
        conversation_id: i64,
        client_msg_id: String,
        body: String,
    },
    #[serde(rename = "chat.typing")]
    ChatTyping { conversation_id: i64 },
    #[serde(rename = "chat.read")]
    ChatRead {
        conversation_id: i64,
        message_id: i64,
    },
}

pub const OPS: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "resume",
    "chat.send",
    "chat.typing",
    "chat.read",
];

/// Why a client frame was refused; the connection stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reference: Option<Value>,
    pub code: &'static str,
    pub message: String,
}

/// Parses a text frame into its `ref` and op.
pub fn parse(text: &str) -> Result<(Option<Value>, ClientOp), Refusal> {
    let value: Value = serde_json::from_str(text).map_err(|e| Refusal {
        reference: None,
        code: "bad_json",
        message: format!("the frame is not JSON: {e}"),
    })?;
    let reference = value.get("ref").cloned();
    let refuse = |code, message: String| Refusal {
        reference: reference.clone(),
        code,
        message,
    };
    let Some(op) = value.get("op").and_then(Value::as_str) else {
        return Err(refuse(
            "bad_frame",
            "a frame is a JSON object with an \"op\"".into(),
        ));
    };
    if !OPS.contains(&op) {
        return Err(refuse("unknown_op", format!("unknown op {op:?}")));
    }
    let op = serde_json::from_value(value.clone())
        .map_err(|e| refuse("invalid", format!("bad {op}: {e}")))?;
    Ok((reference, op))
}

/// What the server sends besides events (which the broker serialises).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Subscribed {
        topic: String,
        /// The topic's last seq when the subscription started.
        seq: i64,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
    Unsubscribed {
        topic: String,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
    Ack {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<MessageView>,
    },
    Error {
        #[serde(rename = "ref")]
        reference: Option<Value>,
        code: &'static str,
        message: String,
    },
}

impl ServerFrame {
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl From<Refusal> for ServerFrame {
    fn from(r: Refusal) -> Self {
        ServerFrame::Error {
            reference: r.reference,
            code: r.code,
            message: r.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ops_parse_with_their_ref() {
        let (r, op) =
            parse(r#"{"op":"subscribe","topic":"listing:42","since":17,"ref":"a"}"#).unwrap();
        assert_eq!(r, Some(json!("a")));
        assert_eq!(
            op,
            ClientOp::Subscribe {
                topic: "listing:42".into(),
                since: Some(17)
            }
        );
        let (_, op) =
            parse(r#"{"op":"chat.send","conversation_id":7,"client_msg_id":"a1","body":"hi"}"#)
                .unwrap();
        assert!(matches!(
            op,
            ClientOp::ChatSend {
                conversation_id: 7,
                ..
            }
        ));
    }

    #[test]
    fn bad_frames_are_refused_with_a_code_and_the_ref() {
        assert_eq!(parse("{nope").unwrap_err().code, "bad_json");
        let e = parse(r#"{"op":"dance","ref":5}"#).unwrap_err();
        assert_eq!((e.code, e.reference), ("unknown_op", Some(json!(5))));
        assert_eq!(
            parse(r#"{"op":"resume","since":"x","ref":1}"#)
                .unwrap_err()
                .code,
            "invalid"
        );
        assert_eq!(parse(r#"[1]"#).unwrap_err().code, "bad_frame");
    }
}
