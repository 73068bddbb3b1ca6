//! WebSocket clients for the tests: a real client (tokio-tungstenite) and a raw one for frames
//! a well-behaved client never sends.

use crate::helpers::*;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct WsClient {
    pub socket: Socket,
    /// Every frame received, for checking against the AsyncAPI document.
    pub seen: Vec<Value>,
    /// The close code, if the server closed before the socket went live.
    closed_early: Option<Option<u16>>,
}

/// How a connection attempt ended: open, or refused with an HTTP status.
pub enum Connected {
    Open(Box<WsClient>),
    Refused(u16),
}

pub async fn try_connect(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    origin: Option<&str>,
) -> Connected {
    try_connect_to(&app.address, token, query, origin).await
}

/// Opens a socket on the server at `address` (`http://host:port`).
pub async fn try_connect_to(
    address: &str,
    token: Option<&str>,
    query: &str,
    origin: Option<&str>,
) -> Connected {
    let url = format!("{}/api/v1/ws{query}", address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => {
            let mut client = WsClient {
                socket,
                seen: Vec::new(),
                closed_early: None,
            };
            // The socket is live once the server says where the user's own topic stands.
            match client.next_within(Duration::from_secs(10)).await {
                Next::Json(first) => {
                    assert_eq!(first["type"], "subscribed", "first frame: {first}");
                    assert!(first["topic"].as_str().unwrap().starts_with("user:"));
                }
                Next::Closed(frame) => client.closed_early = Some(frame.map(|f| f.0)),
                Next::Nothing => panic!("the socket never went live"),
            }
            Connected::Open(Box::new(client))
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Connected::Refused(response.status().as_u16())
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

pub async fn connect(app: &TestApp, user: &TestUser) -> WsClient {
    connect_with(app, user, "").await
}

pub async fn connect_with(app: &TestApp, user: &TestUser, query: &str) -> WsClient {
    match try_connect(app, Some(&user.token), query, None).await {
        Connected::Open(client) => *client,
        Connected::Refused(status) => panic!("refused with {status}"),
    }
}

/// What the next frame was.
#[derive(Debug)]
pub enum Next {
    Json(Value),
    Closed(Option<(u16, String)>),
    Nothing,
}

impl WsClient {
    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::Text(frame.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_owned()))
            .await
            .unwrap();
    }

    /// The next text frame or close, skipping pings; `Nothing` after `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Next {
        // One deadline for the whole wait: pings must not extend it.
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next()).await;
            match next {
                Err(_) => return Next::Nothing,
                Ok(None) | Ok(Some(Err(_))) => return Next::Closed(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    let value: Value = serde_json::from_str(&text).expect("server frames are JSON");
                    self.seen.push(value.clone());
                    return Next::Json(value);
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Next::Closed(frame.map(|f| (u16::from(f.code), f.reason.to_string())))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next JSON frame (fails the test on close or silence).
    pub async fn next(&mut self) -> Value {
        match self.next_within(Duration::from_secs(10)).await {
            Next::Json(v) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// Frames until one satisfies `pick`, returning it (others are kept in `seen`).
    pub async fn until(&mut self, mut pick: impl FnMut(&Value) -> bool) -> Value {
        loop {
            let frame = self.next().await;
            if pick(&frame) {
                return frame;
            }
        }
    }

    /// The next event of `topic`, skipping other frames.
    pub async fn event(&mut self, topic: &str) -> Value {
        self.until(|f| f["type"] == "event" && f["topic"] == topic)
            .await
    }

    /// Asserts nothing else arrives for a while.
    pub async fn quiet(&mut self, wait: Duration) {
        match self.next_within(wait).await {
            Next::Nothing => {}
            other => panic!("expected silence, got {other:?}"),
        }
    }

    /// Waits for the server to close the connection and returns its close code.
    pub async fn closed(&mut self) -> Option<u16> {
        if let Some(code) = self.closed_early.take() {
            return code;
        }
        loop {
            match self.next_within(Duration::from_secs(10)).await {
                Next::Json(_) => continue,
                Next::Closed(frame) => return frame.map(|f| f.0),
                Next::Nothing => panic!("the server did not close the connection"),
            }
        }
    }

    pub async fn subscribe(&mut self, topic: &str, since: Option<i64>) -> Value {
        let mut frame = serde_json::json!({"op": "subscribe", "topic": topic, "ref": topic});
        if let Some(since) = since {
            frame["since"] = since.into();
        }
        self.send(frame).await;
        self.until(|f| f["type"] == "subscribed" && f["topic"] == topic)
            .await
    }
}

/// A raw WebSocket connection: handshake done, frames written by hand (masked, as a client's).
pub struct RawWs {
    pub stream: std::net::TcpStream,
}

impl RawWs {
    pub fn connect(address: &str, token: &str, recv_buffer: Option<usize>) -> RawWs {
        use std::io::{Read, Write};
        let addr: std::net::SocketAddr = address.trim_start_matches("http://").parse().unwrap();
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        socket.connect(&addr.into()).unwrap();
        let mut stream: std::net::TcpStream = socket.into();
        write!(
            stream,
            "GET /api/v1/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Authorization: Bearer {token}\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        RawWs { stream }
    }

    /// Writes one masked frame.
    pub fn frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n @ 126..=65_535 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [1u8, 2, 3, 4];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&out)
    }

    /// Everything until the end of the stream (or the read timeout).
    pub fn read_all(&mut self) -> (usize, Vec<u8>) {
        use std::io::Read;
        let mut all = Vec::new();
        let mut buf = [0u8; 65_536];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
        (all.len(), all)
    }

    /// Reads until the end of the stream; returns the server's close code, if it sent one, and
    /// how many bytes arrived.
    pub fn read_to_close(&mut self) -> (Option<u16>, usize) {
        let (_, all) = self.read_all();
        // Walk the frames to find a close (opcode 8).
        let mut i = 0;
        let mut code = None;
        while i + 2 <= all.len() {
            let opcode = all[i] & 0x0f;
            let mut len = (all[i + 1] & 0x7f) as usize;
            let mut at = i + 2;
            if len == 126 && at + 2 <= all.len() {
                len = u16::from_be_bytes([all[at], all[at + 1]]) as usize;
                at += 2;
            } else if len == 127 && at + 8 <= all.len() {
                len = u64::from_be_bytes(all[at..at + 8].try_into().unwrap()) as usize;
                at += 8;
            }
            if opcode == 8 && at + 2 <= all.len() {
                code = Some(u16::from_be_bytes([all[at], all[at + 1]]));
            }
            i = at + len;
        }
        (code, all.len())
    }
}
