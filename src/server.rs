//! The listening side: binding, the API server over cuttable connections, the internal
//! `/metrics` server, and the shutdown signals.

use crate::app::AppState;
use crate::config::Settings;
use crate::http;
use crate::http::fallback::no_route;
use crate::ws::cutoff::Cuttable;
use actix_http::{error::DispatchError, HttpService, KeepAlive, Protocol, Request};
use actix_service::{
    fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt as _,
};
use actix_web::dev::{AppConfig, Server, Service};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::time::Duration;

/// A listener on `addr`, or an error that says in one line why there is none.
pub(crate) fn listen(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("cannot listen on {addr}: address already in use")
        }
        _ => anyhow::anyhow!("cannot listen on {addr}: {e}"),
    })
}

/// How the API server treats each connection.
pub(crate) struct Connections {
    /// TCP_USER_TIMEOUT (`unacked_data_times_out`).
    pub(crate) user_timeout: Duration,
    /// How long a socket closed for its backlog has to take the close frame (`Cutoff`).
    pub(crate) close_grace: Duration,
    /// Counts the connections dropped for not taking it.
    pub(crate) dropped: prometheus::IntCounter,
}

/// Serves `app` on `listener` as actix-web's `HttpServer` does (same defaults: keep-alive,
/// 5 s to send a request head, 1 s to disconnect, graceful shutdown), but over `Cuttable`
/// connections, so that a socket whose client stopped reading can be dropped (`ws::cutoff`):
/// `HttpServer` offers no way to wrap the connection.
pub(crate) fn serve<F, I, S, B>(
    listener: TcpListener,
    app: F,
    settings: &Settings,
    connections: Connections,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<actix_http::Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: actix_web::body::MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    // actix stops *forcibly* on SIGINT; we handle both signals ourselves, gracefully.
    let mut builder = actix_server::Server::build()
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout_secs);
    if let Some(workers) = settings.workers {
        builder = builder.workers(workers);
    }
    let shutdown = builder.graceful_shutdown_signal();
    let Connections {
        user_timeout,
        close_grace,
        dropped,
    } = connections;
    builder = builder.listen("bazaar", listener, move || {
        let shutdown = shutdown.clone();
        let dropped = dropped.clone();
        let app = app().into_factory().map_err(|e| e.into().error_response());
        let http = HttpService::build()
            .graceful_shutdown_signal(move || {
                let shutdown = shutdown.clone();
                async move { shutdown.notified().await }
            })
            .keep_alive(KeepAlive::default())
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            .h1_allow_half_closed(true)
            .local_addr(addr)
            .on_connect_ext(move |io: &Cuttable, extensions| {
                unacked_data_times_out(io.tcp(), user_timeout);
                extensions.insert(io.cutoff());
            })
            .finish(map_config(app, |_| AppConfig::default()));
        fn_service(move |io: actix_web::rt::net::TcpStream| {
            // A live event or a chat ack is one small write that should leave at once: with
            // Nagle on, it waits for the peer's delayed ACK (40 ms here) behind the previous
            // frame.
            if let Err(e) = io.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
            let peer = io.peer_addr().ok();
            let io = Cuttable::new(io, close_grace, dropped.clone());
            std::future::ready(Ok::<_, DispatchError>((io, Protocol::Http1, peer)))
        })
        .and_then(http)
    })?;
    Ok(builder.run())
}

/// The internal server of `/metrics` alone (`--metrics-bind`), on one worker: scrapes are rare.
pub(crate) fn metrics_server(
    listener: TcpListener,
    state: &web::Data<AppState>,
    settings: &Settings,
) -> anyhow::Result<(u16, Server)> {
    let port = listener.local_addr()?.port();
    let state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .service(http::ops::metrics)
            .default_service(web::to(no_route))
    })
    .workers(1)
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout_secs)
    .run();
    tracing::info!(port, "serving /metrics");
    Ok((port, server))
}

/// Waits for SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    })
}

/// A peer that takes none of what we send for this long (a socket whose client stopped
/// reading) is dropped by the kernel (TCP_USER_TIMEOUT): the server's heartbeat cannot run for
/// a WebSocket whose connection is blocked on writing.
pub(crate) fn unacked_data_times_out(tcp: &actix_web::rt::net::TcpStream, timeout: Duration) {
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(timeout)) {
        tracing::debug!(error = %e, "TCP_USER_TIMEOUT not set");
    }
}
