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
    /// One of the two users blocked the other.
    Blocked,
    /// The chat filter (`--chat-filter reject`) refused the message.
    Rejected,
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
    /// The client stopped reading and its backlog passed the limit: what waited for it is
    /// dropped and the close frame is the next thing it reads.
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
    /// Its login was logged out.
    LoggedOut,
    /// The server is shutting down: reconnect (to another process) and resume.
    GoingAway,
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
            CloseReason::LoggedOut => "logged out",
            CloseReason::GoingAway => "server shutting down",
        }
    }

    /// The close frame's code, for the reasons the server closes with a frame.
    pub fn close_code(self) -> Option<CloseCode> {
        match self {
            CloseReason::Client | CloseReason::ConnectionLost => None,
            CloseReason::HeartbeatTimeout | CloseReason::GoingAway => Some(CloseCode::Away),
            CloseReason::Backlog
            | CloseReason::TooManySessions
            | CloseReason::TooManyFrames
            | CloseReason::LoggedOut => Some(CloseCode::Policy),
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

/// What a client's message comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// An op to carry out, with the `ref` to echo.
    Op(Option<Value>, ClientOp),
    /// An error frame; the connection stays open.
    Refuse(Refusal),
    /// The connection closes, with this reason's code.
    Close(CloseReason),
}

/// Reads a whole client message (a text frame, or fragments assembled): the one entry point
/// from bytes to an op, pure, so a property test can throw anything at it.
pub fn read_message(bytes: &[u8]) -> Reading {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Reading::Close(CloseReason::NotUtf8);
    };
    match parse(text) {
        Ok((reference, op)) => Reading::Op(reference, op),
        Err(refusal) => Reading::Refuse(refusal),
    }
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
    fn every_close_code_is_documented_in_the_asyncapi_document() {
        let doc = include_str!("../../docs/asyncapi.yaml");
        let reasons = [
            CloseReason::Client,
            CloseReason::Backlog,
            CloseReason::ConnectionLost,
            CloseReason::HeartbeatTimeout,
            CloseReason::TooManySessions,
            CloseReason::Unavailable,
            CloseReason::MessageTooBig,
            CloseReason::NotUtf8,
            CloseReason::ProtocolError,
            CloseReason::TooManyFrames,
            CloseReason::BadFragments,
            CloseReason::LoggedOut,
            CloseReason::GoingAway,
        ];
        for reason in reasons {
            if let Some(code) = reason.close_code() {
                let row = format!("| {} | `{}` |", u16::from(code), reason.as_str());
                assert!(doc.contains(&row), "docs/asyncapi.yaml lacks {row}");
            }
        }
    }

    #[test]
    fn deep_nesting_is_bad_json_not_a_stack_overflow() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(parse(&deep).unwrap_err().code, ErrorCode::BadJson);
        let deep_ref = format!(r#"{{"op":"resume","ref":{}}}"#, "[".repeat(100_000));
        assert_eq!(parse(&deep_ref).unwrap_err().code, ErrorCode::BadJson);
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;
        use serde_json::{json, Map};

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                // Quarters print and read back exactly (serde_json's default float parsing
                // may change an arbitrary float's last digit, which would only blur the test).
                any::<i32>().prop_map(|i| Value::from(f64::from(i) / 4.0)),
                ".{0,12}".prop_map(Value::from),
                prop::sample::select(OPS).prop_map(Value::from),
            ];
            leaf.prop_recursive(4, 64, 8, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                    prop::collection::btree_map(field(), inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Field names a frame may carry, and some it may not.
        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(
                    &[
                        "op",
                        "ref",
                        "topic",
                        "since",
                        "conversation_id",
                        "client_msg_id",
                        "body",
                        "message_id",
                    ][..]
                )
                .prop_map(str::to_owned),
                "[a-z_]{0,8}",
            ]
        }

        /// An object that looks like a frame: a known op (or not) and arbitrary fields.
        fn frame_like() -> impl Strategy<Value = Value> {
            (
                prop_oneof![prop::sample::select(OPS).prop_map(Value::from), any_json()],
                prop::collection::btree_map(field(), any_json(), 0..6),
            )
                .prop_map(|(op, fields)| {
                    let mut object: Map<String, Value> = fields.into_iter().collect();
                    object.insert("op".into(), op);
                    Value::Object(object)
                })
        }

        /// The one refusal a frame that is JSON deserves, whatever else it holds.
        fn expected_refusal(value: &Value) -> Option<ErrorCode> {
            match value.get("op").and_then(Value::as_str) {
                None => Some(ErrorCode::BadFrame),
                Some(op) if !OPS.contains(&op) => Some(ErrorCode::UnknownOp),
                Some(_) => None,
            }
        }

        /// A refusal becomes an error frame with its code and `ref` as the wire has them.
        fn assert_error_frame(refusal: &Refusal) {
            let frame: Value = serde_json::from_str(&ServerFrame::from(refusal.clone()).text())
                .expect("an error frame is JSON");
            assert_eq!(frame["type"], "error");
            assert_eq!(frame["code"], serde_json::to_value(refusal.code).unwrap());
            assert_eq!(
                frame["ref"],
                refusal.reference.clone().unwrap_or(Value::Null)
            );
            assert!(frame["message"].is_string());
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn arbitrary_bytes_give_an_op_an_error_frame_or_a_1007_close(
                bytes in prop::collection::vec(any::<u8>(), 0..256)
            ) {
                match read_message(&bytes) {
                    Reading::Close(reason) => {
                        prop_assert!(std::str::from_utf8(&bytes).is_err());
                        prop_assert_eq!(reason, CloseReason::NotUtf8);
                        prop_assert_eq!(reason.close_code(), Some(CloseCode::Invalid));
                    }
                    Reading::Refuse(refusal) => {
                        prop_assert!(std::str::from_utf8(&bytes).is_ok());
                        assert_error_frame(&refusal);
                    }
                    Reading::Op(..) => prop_assert!(std::str::from_utf8(&bytes).is_ok()),
                }
            }

            #[test]
            fn arbitrary_text_gives_an_op_or_an_error_frame(text in ".{0,128}") {
                match read_message(text.as_bytes()) {
                    Reading::Refuse(refusal) => assert_error_frame(&refusal),
                    Reading::Op(..) => {}
                    Reading::Close(reason) => prop_assert!(false, "closed with {:?}", reason),
                }
            }

            #[test]
            fn arbitrary_json_is_refused_with_the_right_code_and_its_ref(
                value in prop_oneof![any_json(), frame_like()]
            ) {
                let text = value.to_string();
                // As the server reads it (a float's last digit may differ from the original).
                let value: Value = serde_json::from_str(&text).unwrap();
                match (read_message(text.as_bytes()), expected_refusal(&value)) {
                    (Reading::Refuse(refusal), Some(code)) => {
                        prop_assert_eq!(refusal.code, code);
                        prop_assert_eq!(&refusal.reference, &value.get("ref").cloned());
                        assert_error_frame(&refusal);
                    }
                    // A known op: carried out, or refused as invalid, echoing its ref.
                    (Reading::Op(reference, _), None) => {
                        prop_assert_eq!(reference, value.get("ref").cloned());
                    }
                    (Reading::Refuse(refusal), None) => {
                        prop_assert_eq!(refusal.code, ErrorCode::Invalid);
                        prop_assert_eq!(&refusal.reference, &value.get("ref").cloned());
                        assert_error_frame(&refusal);
                    }
                    (other, expected) => {
                        prop_assert!(false, "{} gave {:?}, expected {:?}", text, other, expected)
                    }
                }
            }
        }

        #[test]
        fn a_well_formed_frame_of_every_op_parses() {
            for frame in [
                json!({"op": "subscribe", "topic": "listing:1"}),
                json!({"op": "unsubscribe", "topic": "listing:1"}),
                json!({"op": "resume", "since": 3}),
                json!({"op": "chat.send", "conversation_id": 1, "client_msg_id": "a", "body": "b"}),
                json!({"op": "chat.typing", "conversation_id": 1}),
                json!({"op": "chat.read", "conversation_id": 1, "message_id": 2}),
            ] {
                assert!(
                    matches!(read_message(frame.to_string().as_bytes()), Reading::Op(..)),
                    "{frame}"
                );
            }
        }
    }

    #[test]
    fn error_codes_are_written_as_the_wire_names_them() {
        let codes = [
            (ErrorCode::BadJson, "bad_json"),
            (ErrorCode::BadFrame, "bad_frame"),
            (ErrorCode::UnknownOp, "unknown_op"),
            (ErrorCode::Invalid, "invalid"),
            (ErrorCode::Forbidden, "forbidden"),
            (ErrorCode::Blocked, "blocked"),
            (ErrorCode::Rejected, "rejected"),
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
