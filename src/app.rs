//! Builds the application: pool, migrations, actors, routes, middleware. Used by `main` and by
//! the integration tests, so both run exactly the same server.

use crate::config::Settings;
use crate::error::ApiError;
use crate::hashing::PasswordHasher;
use crate::http;
use crate::http::allowed::AllowedMethods;
use crate::http::docs::ProblemResponses;
use crate::http::fallback::{no_route, problem_for_bare_errors, NodeRootSpan};
use crate::limits::Limits;
use crate::media::sweep::Sweeper;
use crate::media::Media;
use crate::metrics::Metrics;
use crate::server::{listen, metrics_server, serve, shutdown_signal, Connections};
use crate::ws::Hub;
use actix::{Actor, Addr};
use actix_web::dev::{Server, Service};
use actix_web::middleware::ErrorHandlers;
use actix_web::{web, App};
use anyhow::Context;
use bazaar_actors::broker::Broker;
use bazaar_actors::chat::ChatWriter;
use bazaar_actors::domain::rules::CommerceRules;
use bazaar_actors::domain::ConnectionId;
use bazaar_actors::listing_cache::ListingCache;
use bazaar_actors::logins::Logins;
use bazaar_actors::relay::{Relay, RelayStatus};
use bazaar_actors::saved_searches::{AlertBell, AlertMatcher};
use bazaar_actors::store::search::{SpelledQueries, SPELLED_CAPACITY};
use bazaar_actors::store::{self, Pool};
use bazaar_actors::timers::Timekeeper;
use bazaar_actors::user::{CloseAll, Users};
use bazaar_actors::vocabulary_sweep::VocabularySweeper;
use bazaar_actors::words_index_merge::WordsIndexMerger;
use bazaar_actors::{Directory, DirectorySettings};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing_actix_web::TracingLogger;

/// How often the saved-search matcher looks for listings left to match besides being woken
/// (those another process wrote or left behind).
const SAVED_SEARCH_MATCH_INTERVAL: Duration = Duration::from_millis(500);

/// What every handler can reach. Built once per process and shared by all workers.
pub struct AppState {
    /// This process's name among several sharing one database.
    pub node_id: String,
    /// The cross-process event listener (PostgreSQL only).
    pub relay: Option<RelayStatus>,
    pub pool: Pool,
    pub rules: Arc<CommerceRules>,
    pub directory: Addr<Directory>,
    /// Routes committed events to the workers' hubs, sharded by topic.
    pub broker: Broker,
    pub users: Addr<Users>,
    /// Listing rows recently read.
    pub listing_cache: Arc<ListingCache>,
    /// The words of queries searched lately as the vocabulary spelled them (typos corrected,
    /// long prefixes spelled out), reused a while.
    pub spelled: Arc<SpelledQueries>,
    /// Wakes the saved-search matcher after a listing is created.
    pub alerts: AlertBell,
    /// Bearer tokens recently found live.
    pub logins: Arc<Logins>,
    /// Writes chat (messages group-committed, read markers, conversations) and publishes it.
    pub chat: Addr<ChatWriter>,
    /// Numbers this process's WebSocket connections.
    pub connections: AtomicU64,
    pub metrics: Metrics,
    pub settings: Arc<Settings>,
    /// Verified against when a login names an unknown user, so it costs the same as a real one.
    pub dummy_password_hash: String,
    /// Hashes and checks passwords on a few threads, refusing (503) when too many wait.
    pub hasher: PasswordHasher,
    /// Rate limits and the login lock-out (all off with `--rate-limits off`).
    pub limits: Arc<Limits>,
    /// Photos: their object store and the threads that decode and re-encode them.
    pub media: Media,
}

/// Declares the API once: the routes registered with actix and the paths of the OpenAPI
/// document come from this one list, so neither can miss a handler the other has.
macro_rules! api {
    ($($($segment:ident)::+),* $(,)?) => {
        fn register_routes(cfg: &mut web::ServiceConfig) {
            $(cfg.service($($segment)::+);)*
        }

        #[derive(utoipa::OpenApi)]
        #[openapi(
            info(title = "Bazaar", version = "1", description = "The Bazaar marketplace API"),
            paths($($($segment)::+),*),
            modifiers(&BearerAuth, &ProblemResponses),
        )]
        pub struct ApiDoc;
    };
}

api!(
    http::users::create_user,
    http::users::create_session,
    http::users::delete_current_session,
    http::users::get_me,
    http::profiles::update_me,
    http::profiles::get_my_address,
    http::profiles::put_my_address,
    http::profiles::get_user_profile,
    http::profiles::list_user_ratings,
    http::avatars::put_my_avatar,
    http::avatars::delete_my_avatar,
    http::listings::create_listing,
    http::listings::list_listings,
    http::search::listing_facets,
    http::search::list_categories,
    http::listings::get_listing,
    http::listings::update_listing,
    http::listings::delete_listing,
    http::photos::upload_photo,
    http::photos::delete_photo,
    http::media::get_media,
    http::likes::like_listing,
    http::likes::unlike_listing,
    http::likes::list_my_likes,
    http::blocks::block_user,
    http::blocks::unblock_user,
    http::blocks::list_blocks,
    http::orders::purchase_listing,
    http::orders::list_orders,
    http::orders::get_order,
    http::orders::ship_order,
    http::orders::confirm_order,
    http::orders::cancel_order,
    http::orders::rate_order,
    http::disputes::open_dispute,
    http::disputes::refund_order,
    http::admin_disputes::list_disputes,
    http::admin_disputes::resolve_dispute,
    http::offers::create_offer,
    http::offers::list_listing_offers,
    http::offers::get_offer,
    http::offers::counter_offer,
    http::offers::accept_offer,
    http::offers::decline_offer,
    http::offers::withdraw_offer,
    http::offers::create_liker_offer,
    http::wallet::get_wallet,
    http::wallet::create_deposit,
    http::wallet::create_withdrawal,
    http::wallet::payments_webhook,
    http::sockets::create_ws_ticket,
    http::sockets::open_socket,
    http::chat::open_conversation,
    http::chat::list_conversations,
    http::chat::list_messages,
    http::chat::send_message,
    http::chat::read_conversation,
    http::notifications::list_notifications,
    http::notifications::read_notifications,
    http::saved_searches::create_saved_search,
    http::saved_searches::list_saved_searches,
    http::saved_searches::delete_saved_search,
    http::reports::create_report,
    http::reports::list_reports,
    http::reports::resolve_report,
    http::moderation::suspend_user,
    http::moderation::unsuspend_user,
    http::moderation::remove_listing,
    http::moderation::remove_message,
    http::admin::list_audit,
    http::ops::healthz,
    http::ops::readyz,
    http::ops::metrics,
    http::ops::openapi,
);

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    /// Closes every socket at shutdown.
    users: Addr<Users>,
    /// The internal server of `/metrics` and its port, with `--metrics-bind`.
    metrics: Option<(u16, Server)>,
}

impl Application {
    /// Connects to the database, migrates it, starts the directory of actors and binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let settings = Arc::new(settings);
        // Bound first: a port in use fails start-up before anything else has started.
        let listener = listen(&settings.bind)?;
        let metrics_listener = settings.metrics_bind.as_deref().map(listen).transpose()?;
        let url = settings.database_url.clone();
        let options = store::PoolOptions {
            size: settings.pool_size,
            sqlite_wal_max_bytes: settings.sqlite_wal_max_bytes,
            search_concurrency: settings.search_concurrency(),
        };
        let pool = web::block(move || -> anyhow::Result<Pool> {
            let pool = store::connect_with(&url, options)?;
            store::migrate(&mut *pool.get()?)?;
            Ok(pool)
        })
        .await
        .context("starting the database")??;
        let rules = Arc::new(settings.rules());
        let broker = Broker::start(settings.broker_shards());
        let users = Users::new(settings.ws_max_sessions_per_user).start();
        let listing_cache = Arc::new(ListingCache::new(settings.listing_cache()));
        let matcher =
            AlertMatcher::new(pool.clone(), broker.clone(), SAVED_SEARCH_MATCH_INTERVAL).start();
        let alerts = AlertBell::new(matcher.recipient());
        let directory = Directory::new(
            pool.clone(),
            broker.clone(),
            DirectorySettings {
                listing_idle: settings.listing_idle(),
                rules: rules.clone(),
                cache: listing_cache.clone(),
                alerts: alerts.clone(),
            },
        )
        .start();
        Timekeeper::new(pool.clone(), directory.clone(), settings.timer_interval()).start();
        // A vocabulary sweep step every 5 ticks of the timekeeper.
        VocabularySweeper::new(pool.clone(), settings.timer_interval() * 5).start();
        // SQLite's words index kept in one b-tree, looked at every tick of the timekeeper.
        if pool.one_writer_at_a_time() {
            WordsIndexMerger::new(pool.clone(), settings.timer_interval()).start();
        }
        let chat = ChatWriter::new(pool.clone(), broker.clone(), settings.chat()).start();
        let node_id = settings
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{:08x}", rand::random::<u32>()));
        let logins = Arc::new(Logins::new(settings.auth_cache()));
        let relay = match pool_backend(&settings.database_url) {
            store::Backend::Postgres => Some(Relay::start(
                settings
                    .listener_database_url
                    .as_deref()
                    .unwrap_or(&settings.database_url),
                &format!("bazaar-listener-{node_id}"),
                broker.clone(),
                users.clone(),
                logins.clone(),
            )?),
            store::Backend::Sqlite => None,
        };
        let metrics = Metrics::new(&node_id)?;
        let sessions = users.clone();
        let hasher = PasswordHasher::start(
            settings.hash_threads(),
            settings.hash_queue,
            metrics.password_hash_refused.clone(),
        )?;
        let dummy_password_hash = hasher
            .hash(crate::auth::new_token())
            .await
            .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
        let limits = Limits::start(&settings, metrics.clone())?;
        let media = Media::start(&settings).await?;
        if settings.media.media_sweep_interval_secs > 0 {
            let sweeper = Sweeper {
                store: media.store.clone(),
                pool: pool.clone(),
                grace: Duration::from_secs(settings.media.media_sweep_grace_secs),
                batch: settings.media.media_sweep_batch as usize,
            };
            let every = Duration::from_secs(settings.media.media_sweep_interval_secs);
            actix_web::rt::spawn(sweeper.run_every(every));
        }
        let state = web::Data::new(AppState {
            node_id: node_id.clone(),
            relay,
            pool,
            rules,
            directory,
            broker,
            users,
            listing_cache,
            spelled: Arc::new(SpelledQueries::new(
                settings.spelled_ttl(),
                SPELLED_CAPACITY,
            )),
            alerts,
            logins,
            chat,
            connections: AtomicU64::new(1),
            metrics,
            settings: settings.clone(),
            dummy_password_hash,
            hasher,
            limits,
            media,
        });

        let port = listener.local_addr()?.port();
        let metrics = match metrics_listener {
            Some(listener) => Some(metrics_server(listener, &state, &settings)?),
            None => None,
        };
        let metrics_elsewhere = metrics.is_some();
        let user_timeout = Duration::from_secs(settings.ws_timeout_secs.max(1));
        let allowed_methods =
            web::Data::new(AllowedMethods::of(&<ApiDoc as utoipa::OpenApi>::openapi()));
        let dropped = state.metrics.ws_dropped.clone();
        let app = move || {
            let metrics = state.metrics.clone();
            // Called on each worker's thread: its sockets' hub.
            let hub_id = ConnectionId(state.connections.fetch_add(1, Ordering::Relaxed));
            let hub = Hub::start(state.broker.clone(), hub_id);
            App::new()
                .app_data(state.clone())
                .app_data(hub)
                .app_data(allowed_methods.clone())
                .app_data(web::PayloadConfig::new(http::MAX_BODY_BYTES))
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    ApiError::BadRequest(format!("malformed query string: {e}")).into()
                }))
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| ApiError::NotFound("no such resource".into()).into()),
                )
                .configure(|cfg| {
                    // With --metrics-bind, /metrics is served only on that internal address:
                    // registered first, this answers it here with 404.
                    if metrics_elsewhere {
                        cfg.service(web::resource("/metrics").to(no_route));
                    }
                    // `/api/v1/listings/facets` is also the shape of `/api/v1/listings/{id}`:
                    // another method on it is 405 (Allow: GET), not that route's 401 or 404.
                    cfg.service(
                        web::resource("/api/v1/listings/facets")
                            .guard(actix_web::guard::Not(actix_web::guard::Get()))
                            .to(no_route),
                    );
                })
                .configure(register_routes)
                .default_service(web::to(no_route))
                .wrap(ErrorHandlers::new().default_handler(problem_for_bare_errors))
                .wrap_fn(move |req, srv| {
                    let started = Instant::now();
                    let method = req.method().to_string();
                    let metrics = metrics.clone();
                    let response = srv.call(req);
                    async move {
                        let response = response.await?;
                        let route = response
                            .request()
                            .match_pattern()
                            .unwrap_or_else(|| "unmatched".to_owned());
                        metrics.observe(
                            &route,
                            &method,
                            response.status().as_u16(),
                            started.elapsed().as_secs_f64(),
                        );
                        Ok(response)
                    }
                })
                .wrap(TracingLogger::<NodeRootSpan>::new())
        };
        let connections = Connections {
            user_timeout,
            close_grace: Duration::from_secs(settings.ws_close_grace_secs),
            dropped,
        };
        let server = serve(listener, app, &settings, connections)?;
        tracing::info!(
            port,
            database = backend_name(&settings.database_url),
            "listening"
        );
        Ok(Application {
            port,
            server,
            users: sessions,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the internal `/metrics` server, with `--metrics-bind`.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until SIGINT/SIGTERM, then stops accepting, closes every socket (1001, going
    /// away), lets in-flight requests finish (up to the shutdown timeout) and returns as soon
    /// as they have; the pool closes as the state is dropped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(_, server)| {
            let handle = server.handle();
            actix_web::rt::spawn(server);
            handle
        });
        let (handle, users) = (self.server.handle(), self.users);
        actix_web::rt::spawn(async move {
            match shutdown_signal().await {
                Ok(signal) => {
                    tracing::info!(signal, "shutting down: finishing in-flight requests");
                    // Sent now: no connection is accepted from here on.
                    let stopped = handle.stop(true);
                    // A socket never finishes by itself: without this it would hold the
                    // process for the whole timeout, then be dropped without a close frame.
                    users.do_send(CloseAll);
                    stopped.await;
                }
                Err(e) => tracing::error!(error = %e, "cannot listen for shutdown signals"),
            }
        });
        let served = self.server.await;
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        served
    }
}

fn pool_backend(url: &str) -> store::Backend {
    store::DbManager::new(url).map_or(store::Backend::Sqlite, |m| m.backend())
}

fn backend_name(url: &str) -> &'static str {
    match pool_backend(url) {
        store::Backend::Postgres => "postgres",
        store::Backend::Sqlite => "sqlite",
    }
}

/// Waits for the listener to accept connections (used by tests and tools).
pub async fn wait_until_listening(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
