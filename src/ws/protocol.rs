//! The socket's wire protocol: JSON text frames. A client frame has an `op` and may carry a
//! `ref`, echoed in the reply. Wire types are separate from the actors' mailbox messages.
//! Error codes and close reasons are enums whose text is the wire's (and the metric label's).

use actix_web_actors::ws::CloseCode;
use bazaar_actors::domain::{ConversationId, MessageId};
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
        conversation_id: ConversationId,
        client_msg_id: String,
        body: String,
    },
    #[serde(rename = "chat.typing")]
    ChatTyping { conversation_id: ConversationId },
    #[serde(rename = "chat.read")]
    ChatRead {
        conversation_id: ConversationId,
        message_id: MessageId,
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

/// The `code` of an error frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    BadFrame,
    UnknownOp,
    Invalid,
    Forbidden,
    NotFound,
    UnknownTopic,
    NotSubscribed,
    TooManySubscriptions,
    RateLimited,
    Unsupported,
    /// A server fault (logged); the client may try again.
    Unavailable,
}

/// Why a session ended: the close frame's description when one is sent, and the `reason`
/// label of `bazaar_ws_closed_total` either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed, or went away after its own close frame.
    Client,
    /// The client stopped reading and its backlog passed the limit.
    Backlog,
    /// The connection broke; nobody is left to read a close frame.
    ConnectionLost,
    HeartbeatTimeout,
    TooManySessions,
    Unavailable,
    MessageTooBig,
    NotUtf8,
    ProtocolError,
    TooManyFrames,
    BadFragments,
    /// The core closed the session (its login was logged out), saying why.
    Closed(&'static str),
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Client => "client",
            CloseReason::Backlog => "backlog",
            CloseReason::ConnectionLost => "connection lost",
            CloseReason::HeartbeatTimeout => "heartbeat timeout",
            CloseReason::TooManySessions => "too many sessions",
            CloseReason::Unavailable => "unavailable",
            CloseReason::MessageTooBig => "message too big",
            CloseReason::NotUtf8 => "text is not UTF-8",
            CloseReason::ProtocolError => "protocol error",
            CloseReason::TooManyFrames => "too many frames",
            CloseReason::BadFragments => "bad fragments",
            CloseReason::Closed(why) => why,
        }
    }

    /// The close frame's code, for the reasons the server closes with a frame.
    pub fn close_code(self) -> Option<CloseCode> {
        match self {
            CloseReason::Client | CloseReason::Backlog | CloseReason::ConnectionLost => None,
            CloseReason::HeartbeatTimeout => Some(CloseCode::Away),
            CloseReason::TooManySessions | CloseReason::TooManyFrames | CloseReason::Closed(_) => {
                Some(CloseCode::Policy)
            }
            CloseReason::Unavailable => Some(CloseCode::Error),
            CloseReason::MessageTooBig => Some(CloseCode::Size),
            CloseReason::NotUtf8 => Some(CloseCode::Invalid),
            CloseReason::ProtocolError | CloseReason::BadFragments => Some(CloseCode::Protocol),
        }
    }
}

/// Why a client frame was refused; the connection stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reference: Option<Value>,
    pub code: ErrorCode,
    pub message: String,
}

/// Parses a text frame into its `ref` and op.
pub fn parse(text: &str) -> Result<(Option<Value>, ClientOp), Refusal> {
    let value: Value = serde_json::from_str(text).map_err(|e| Refusal {
        reference: None,
        code: ErrorCode::BadJson,
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
            ErrorCode::BadFrame,
            "a frame is a JSON object with an \"op\"".into(),
        ));
    };
    if !OPS.contains(&op) {
        return Err(refuse(ErrorCode::UnknownOp, format!("unknown op {op:?}")));
    }
    let op = serde_json::from_value(value.clone())
        .map_err(|e| refuse(ErrorCode::Invalid, format!("bad {op}: {e}")))?;
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
        code: ErrorCode,
        message: String,
        /// With `rate_limited` from a rate limit: seconds to wait before sending again.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
}

impl ServerFrame {
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The answer to an op refused by a rate limit.
    pub fn rate_limited(reference: Option<Value>, limited: &crate::limits::Limited) -> Self {
        ServerFrame::Error {
            reference,
            code: ErrorCode::RateLimited,
            message: limited.detail(),
            retry_after: Some(limited.retry_after_secs),
        }
    }
}

impl From<Refusal> for ServerFrame {
    fn from(r: Refusal) -> Self {
        ServerFrame::Error {
            reference: r.reference,
            code: r.code,
            message: r.message,
            retry_after: None,
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
                conversation_id: ConversationId(7),
                ..
            }
        ));
    }

    #[test]
    fn bad_frames_are_refused_with_a_code_and_the_ref() {
        assert_eq!(parse("{nope").unwrap_err().code, ErrorCode::BadJson);
        let e = parse(r#"{"op":"dance","ref":5}"#).unwrap_err();
        assert_eq!(
            (e.code, e.reference),
            (ErrorCode::UnknownOp, Some(json!(5)))
        );
        assert_eq!(
            parse(r#"{"op":"resume","since":"x","ref":1}"#)
                .unwrap_err()
                .code,
            ErrorCode::Invalid
        );
        assert_eq!(parse(r#"[1]"#).unwrap_err().code, ErrorCode::BadFrame);
    }

    #[test]
    fn error_codes_are_written_as_the_wire_names_them() {
        let codes = [
            (ErrorCode::BadJson, "bad_json"),
            (ErrorCode::BadFrame, "bad_frame"),
            (ErrorCode::UnknownOp, "unknown_op"),
            (ErrorCode::Invalid, "invalid"),
            (ErrorCode::Forbidden, "forbidden"),
            (ErrorCode::NotFound, "not_found"),
            (ErrorCode::UnknownTopic, "unknown_topic"),
            (ErrorCode::NotSubscribed, "not_subscribed"),
            (ErrorCode::TooManySubscriptions, "too_many_subscriptions"),
            (ErrorCode::RateLimited, "rate_limited"),
            (ErrorCode::Unsupported, "unsupported"),
            (ErrorCode::Unavailable, "unavailable"),
        ];
        for (code, text) in codes {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(text));
        }
        let frame = ServerFrame::Error {
            reference: Some(json!(1)),
            code: ErrorCode::NotFound,
            message: "no".into(),
            retry_after: None,
        };
        assert_eq!(
            frame.text(),
            r#"{"type":"error","ref":1,"code":"not_found","message":"no"}"#
        );
    }
}
