//! The servers the load generator starts as child processes: Bazaar itself, and the baselines
//! it is compared with. The baselines exist only for benchmarking.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bazaar_actors::domain::ledger::purchase;
use bazaar_actors::domain::order::OrderStatus;
use bazaar_actors::domain::{Money, UserId};
use bazaar_actors::store::models::NewOrder;
use bazaar_actors::store::schema::listings;
use bazaar_actors::store::{self, ledger, orders, users, write_transaction, Pool};
use diesel::prelude::*;
use futures::{SinkExt, StreamExt};
use std::net::TcpListener;
use std::sync::Arc;

fn listener() -> std::io::Result<TcpListener> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    println!("LISTENING {}", l.local_addr()?.port());
    Ok(l)
}

/// Bazaar, configured by the usual flags.
pub fn bazaar(args: Vec<String>) -> anyhow::Result<()> {
    let mut argv = vec!["bazaar".to_owned()];
    argv.extend(args);
    let cli = <bazaar::config::Cli as clap::Parser>::parse_from(argv);
    let mut settings = cli.settings;
    settings.bind = "127.0.0.1:0".into();
    // Logs as the server's own binary writes them, filtered by RUST_LOG (the harness sets it
    // from BAZAAR_BENCH_SERVER_LOG, "warn" by default).
    bazaar::telemetry::init(settings.log_format);
    actix_web::rt::System::new().block_on(async move {
        let app = bazaar::app::Application::build(settings).await?;
        println!("LISTENING {}", app.port());
        app.run_until_stopped().await?;
        Ok(())
    })
}

/// Baseline for `read`: an actix-web JSON hello endpoint.
pub fn hello() -> anyhow::Result<()> {
    let l = listener()?;
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new().route(
                "/hello",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({"hello": "world"}))
                }),
            )
        })
        .listen(l)?
        .run()
        .await?;
        Ok(())
    })
}

/// Baseline for `fanout`: a minimal tokio-tungstenite server that sends every text frame it
/// receives to every other connected socket.
pub fn broadcast() -> anyhow::Result<()> {
    let l = listener()?;
    l.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(l)?;
        let (tx, _) = tokio::sync::broadcast::channel::<(u64, Arc<str>)>(4096);
        let mut next_id = 0u64;
        loop {
            let (stream, _) = listener.accept().await?;
            // As Bazaar does: each frame leaves at once.
            stream.set_nodelay(true)?;
            next_id += 1;
            let (id, tx) = (next_id, tx.clone());
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let (mut sink, mut source) = ws.split();
                let mut rx = tx.subscribe();
                let writer = tokio::spawn(async move {
                    while let Ok((from, text)) = rx.recv().await {
                        if from != id
                            && sink
                                .send(tokio_tungstenite::tungstenite::Message::Text(
                                    text.to_string(),
                                ))
                                .await
                                .is_err()
                        {
                            break;
                        }
                    }
                });
                while let Some(Ok(msg)) = source.next().await {
                    if let tokio_tungstenite::tungstenite::Message::Text(text) = msg {
                        let _ = tx.send((id, Arc::from(text.as_str())));
                    }
                }
                writer.abort();
            });
        }
    })
}

/// The floor for `fanout`: no framework, no task per socket. Threads do the WebSocket
/// handshake by hand and keep the raw sockets; each frame the publisher (the socket that
/// opened `/publish`) sends is encoded once and written to every other socket in one loop,
/// one `write` per socket. What this costs is what the kernel and the load generator cost.
pub fn floor() -> anyhow::Result<()> {
    let l = listener()?;
    let subscribers: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>> = Arc::default();
    for stream in l.incoming() {
        let Ok(mut stream) = stream else { continue };
        let subscribers = subscribers.clone();
        let Ok(path) = handshake(&mut stream) else {
            continue;
        };
        stream.set_nodelay(true)?;
        if path == "/publish" {
            std::thread::spawn(move || publish_raw(stream, &subscribers));
        } else if let Ok(mut all) = subscribers.lock() {
            all.push(stream);
        }
    }
    Ok(())
}

/// Answers a WebSocket upgrade on a blocking socket; returns the request's path.
fn handshake(stream: &mut std::net::TcpStream) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    // The client sends nothing after its request until it has the answer.
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    while !request.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        anyhow::ensure!(n > 0, "the client left during the handshake");
        request.extend_from_slice(&chunk[..n]);
        anyhow::ensure!(request.len() < 8192, "handshake too long");
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let key = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .ok_or_else(|| anyhow::anyhow!("no Sec-WebSocket-Key"))?;
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    write!(
        stream,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    Ok(path)
}

/// Reads the publisher's frames and writes each, encoded once, to every subscriber.
fn publish_raw(
    stream: std::net::TcpStream,
    subscribers: &std::sync::Mutex<Vec<std::net::TcpStream>>,
) {
    use std::io::Write;
    use tokio_tungstenite::tungstenite::{protocol::Role, Message, WebSocket};
    let mut ws = WebSocket::from_raw_socket(stream, Role::Server, None);
    while let Ok(message) = ws.read() {
        let Message::Text(text) = message else {
            continue;
        };
        let frame = server_text_frame(text.as_bytes());
        let Ok(mut all) = subscribers.lock() else {
            return;
        };
        all.retain_mut(|s| s.write_all(&frame).is_ok());
    }
}

/// A whole unmasked text frame, as a server sends it.
fn server_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    frame.push(0x81);
    match payload.len() {
        n @ 0..=125 => frame.push(n as u8),
        n @ 126..=65_535 => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

/// Baseline for `flash-sale`: each purchase is one conditional `UPDATE … WHERE quantity >= n`
/// plus the order and the ledger posting, in one transaction per request, without actors.
pub fn conventional(database_url: String) -> anyhow::Result<()> {
    let pool = store::connect(&database_url, 16)?;
    let l = listener()?;
    actix_web::rt::System::new().block_on(async move {
        let pool = web::Data::new(pool);
        HttpServer::new(move || {
            App::new().app_data(pool.clone()).route(
                "/api/v1/listings/{id}/purchase",
                web::post().to(conventional_purchase),
            )
        })
        .listen(l)?
        .run()
        .await?;
        Ok(())
    })
}

async fn conventional_purchase(
    pool: web::Data<Pool>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> HttpResponse {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let (pool, id) = (pool.get_ref().clone(), id.into_inner());
    let outcome = web::block(move || -> anyhow::Result<u16> {
        let mut conn = pool.get()?;
        let hash = bazaar::auth::token_hash(&token);
        let Some((_, user)) = users::find_live_login(&mut conn, &hash, store::now())? else {
            return Ok(401);
        };
        let result: Result<u16, diesel::result::Error> = write_transaction(&mut conn, |conn| {
            let taken: Option<(i64, i64)> = diesel::update(
                listings::table
                    .filter(listings::id.eq(id))
                    .filter(listings::quantity.ge(1))
                    .filter(listings::status.eq("active")),
            )
            .set((
                listings::quantity.eq(listings::quantity - 1),
                listings::version.eq(listings::version + 1),
            ))
            .returning((listings::seller_id, listings::price_cents))
            .get_result(conn)
            .optional()?;
            let Some((seller_id, price)) = taken else {
                return Ok(409);
            };
            let now = store::now();
            let order = orders::insert(
                conn,
                &NewOrder {
                    listing_id: id,
                    buyer_id: user.id,
                    seller_id,
                    offer_id: None,
                    quantity: 1,
                    unit_price_cents: price,
                    total_cents: price,
                    status: OrderStatus::Paid,
                    ship_by: now,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    // The baseline copies no address (one primary-key read in the real path).
                    ship_to: None,
                },
            )?;
            match ledger::post(
                conn,
                &purchase(UserId(user.id), Money::from_cents(price)),
                Some(order.id),
                None,
            ) {
                Ok(_) => Ok(201),
                Err(ledger::LedgerError::Db(e)) => Err(e),
                Err(_) => Err(diesel::result::Error::RollbackTransaction),
            }
        });
        Ok(match result {
            Ok(code) => code,
            Err(diesel::result::Error::RollbackTransaction) => 402,
            Err(e) => return Err(e.into()),
        })
    })
    .await;
    match outcome {
        Ok(Ok(code)) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap_or_default())
                .finish()
        }
        _ => HttpResponse::InternalServerError().finish(),
    }
}
