//! The wire frame of an event, serialised once per event.

use crate::store::models::Event;
use bytestring::ByteString;
use serde::Serialize;
use serde_json::value::RawValue;

#[derive(Serialize)]
struct EventFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    topic: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<i64>,
    event: &'a str,
    at: chrono::DateTime<chrono::Utc>,
    data: &'a RawValue,
}

/// The wire frame of a stored event:
/// `{"type":"event","topic":…,"seq":…,"event":…,"at":…,"data":{…}}`.
pub fn event_frame(event: &Event) -> ByteString {
    frame(
        &event.topic,
        Some(event.seq),
        &event.event_type,
        event.created_at.and_utc(),
        &event.data,
    )
}

pub(super) fn frame(
    topic: &str,
    seq: Option<i64>,
    event_type: &str,
    at: chrono::DateTime<chrono::Utc>,
    data: &str,
) -> ByteString {
    let parsed = serde_json::from_str::<Box<RawValue>>(data).ok();
    let data = parsed.as_deref().unwrap_or(RawValue::NULL);
    let text = serde_json::to_string(&EventFrame {
        kind: "event",
        topic,
        seq,
        event: event_type,
        at,
        data,
    })
    .unwrap_or_default();
    ByteString::from(text)
}
