//! `bazaar-socket URL TOKEN [FRAME…]`: opens a Bazaar WebSocket as the holder of `TOKEN`, sends
//! each FRAME (a JSON client frame) in turn and prints every frame the server sends. A frame
//! with a `ref` waits for the server's reply to that `ref` before the next is sent. Exits 0
//! once every `ref` got a reply that is not an error, 1 otherwise (an `error` reply, the socket
//! closing, or no reply within 10 seconds).
//!
//! ```sh
//! cargo run -q --release --bin bazaar-socket -- ws://127.0.0.1:8080/api/v1/ws "$TOKEN" \
//!     '{"op":"subscribe","topic":"listing:1","since":0,"ref":1}'
//! ```

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, token, frames @ ..] = args.as_slice() else {
        eprintln!("usage: bazaar-socket URL TOKEN [FRAME…]");
        return ExitCode::from(2);
    };
    match run(url, token, frames).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bazaar-socket: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str, token: &str, frames: &[String]) -> Result<(), String> {
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("bad URL {url}: {e}"))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the token has characters a header cannot carry".to_owned())?;
    request.headers_mut().insert("authorization", bearer);
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    for frame in frames {
        let parsed: Value =
            serde_json::from_str(frame).map_err(|e| format!("not JSON: {frame}: {e}"))?;
        socket
            .send(Message::Text(frame.clone()))
            .await
            .map_err(|e| format!("sending failed: {e}"))?;
        let Some(wanted) = parsed.get("ref").cloned() else {
            continue;
        };
        let reply = tokio::time::timeout(REPLY_TIMEOUT, async {
            while let Some(message) = socket.next().await {
                match message {
                    Ok(Message::Text(text)) => {
                        println!("{text}");
                        let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        if frame.get("ref") == Some(&wanted) {
                            return Ok(frame);
                        }
                    }
                    Ok(Message::Close(close)) => {
                        return Err(format!("the server closed: {close:?}"))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("the connection failed: {e}")),
                }
            }
            Err("the connection ended".to_owned())
        })
        .await
        .map_err(|_| format!("no reply to ref {wanted} within {REPLY_TIMEOUT:?}"))??;
        if reply.get("type").and_then(Value::as_str) == Some("error") {
            return Err(format!("the server refused ref {wanted}"));
        }
    }
    let _ = socket.close(None).await;
    Ok(())
}
