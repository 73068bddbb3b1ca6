//! The WebSocket client the socket scenarios (`fanout`, `chat`, `idle`) share: opening one
//! socket, many, or one that is live on its user's topic, and closing them.

use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Bazaar's socket endpoint.
pub const WS_PATH: &str = "/api/v1/ws";

/// How many sockets are opened or closed at a time.
const PARALLEL_SOCKETS: usize = 64;

/// How long a socket may take to go live.
const LIVE_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn open_socket(address: &str, path: &str, token: Option<&str>) -> anyhow::Result<Socket> {
    let mut request =
        format!("{}{path}", address.replace("http://", "ws://")).into_client_request()?;
    if let Some(t) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {t}").parse()?);
    }
    // Like a browser, the client sends small frames at once (TCP_NODELAY).
    Ok(
        tokio_tungstenite::connect_async_with_config(request, None, true)
            .await?
            .0,
    )
}

/// Opens an authenticated socket and waits until it is live: the server has subscribed it to
/// the user's own topic, so nothing sent to the user from then on can miss it.
pub async fn open_live(address: &str, token: &str) -> anyhow::Result<Socket> {
    let mut socket = open_socket(address, WS_PATH, Some(token)).await?;
    let deadline = tokio::time::Instant::now() + LIVE_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap_or_default();
                if v["type"] == "subscribed"
                    && v["topic"].as_str().is_some_and(|t| t.starts_with("user:"))
                {
                    return Ok(socket);
                }
            }
            Ok(Some(Ok(_))) => {}
            other => anyhow::bail!("the socket never went live: {other:?}"),
        }
    }
}

/// Opens `count` sockets, `PARALLEL_SOCKETS` at a time.
pub async fn open_many(
    address: &str,
    path: &str,
    token: Option<&str>,
    count: usize,
) -> anyhow::Result<Vec<Socket>> {
    let mut sockets = Vec::with_capacity(count);
    let mut pending = futures::stream::iter((0..count).map(|_| open_socket(address, path, token)))
        .buffer_unordered(PARALLEL_SOCKETS);
    while let Some(s) = pending.next().await {
        sockets.push(s?);
    }
    Ok(sockets)
}

pub async fn close_all(sockets: Vec<Socket>) {
    futures::stream::iter(sockets)
        .for_each_concurrent(PARALLEL_SOCKETS, |mut s| async move {
            let _ = s.close(None).await;
        })
        .await;
}
