//! Prometheus metrics, kept in a registry owned by the application (no global registry).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub pool_in_use: IntGauge,
    pub pool_size: IntGauge,
    pub active_listing_actors: IntGauge,
    pub ws_sessions: IntGauge,
    pub ws_closed: IntCounterVec,
    pub listener_connected: IntGauge,
    /// Requests refused by a rate limit or the login lock-out, by limit name.
    pub rate_limited: IntCounterVec,
    /// Keys each rate limit remembers (after the last sweep).
    pub rate_limit_keys: IntGaugeVec,
    /// Times a limit forgot every key because it held too many.
    pub rate_limit_resets: IntCounterVec,
    /// Password checks refused because the hashing queue was full.
    pub password_hash_refused: IntCounter,
    /// Connections dropped because their client did not take a backlog close frame in time.
    pub ws_dropped: IntCounter,
}

impl Metrics {
    pub fn new(node_id: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("bazaar".into()), None)?;
        let node = IntGaugeVec::new(
            Opts::new("node_info", "This process's node id"),
            &["node_id"],
        )?;
        node.with_label_values(&[node_id]).set(1);
        registry.register(Box::new(node))?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )?;
        let pool_in_use = IntGauge::new(
            "db_pool_connections_in_use",
            "Pooled database connections in use",
        )?;
        let pool_size = IntGauge::new("db_pool_connections", "Open pooled database connections")?;
        let active_listing_actors =
            IntGauge::new("active_listing_actors", "Listing actors in memory")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_in_use.clone()))?;
        registry.register(Box::new(pool_size.clone()))?;
        registry.register(Box::new(active_listing_actors.clone()))?;
        let ws_sessions = IntGauge::new("ws_sessions", "Live WebSocket sessions")?;
        let ws_closed = IntCounterVec::new(
            Opts::new("ws_closed_total", "WebSocket sessions ended, by reason"),
            &["reason"],
        )?;
        registry.register(Box::new(ws_sessions.clone()))?;
        registry.register(Box::new(ws_closed.clone()))?;
        let listener_connected = IntGauge::new(
            "event_listener_connected",
            "1 while the cross-process event listener is connected (PostgreSQL)",
        )?;
        registry.register(Box::new(listener_connected.clone()))?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests refused by a rate limit (429), by limit",
            ),
            &["limit"],
        )?;
        let rate_limit_keys = IntGaugeVec::new(
            Opts::new("rate_limit_keys", "Keys a rate limit remembers, by limit"),
            &["limit"],
        )?;
        let rate_limit_resets = IntCounterVec::new(
            Opts::new(
                "rate_limit_resets_total",
                "Times a rate limit forgot every key because it held too many",
            ),
            &["limit"],
        )?;
        let password_hash_refused = IntCounter::new(
            "password_hash_refused_total",
            "Password checks refused (503) because the hashing queue was full",
        )?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(rate_limit_keys.clone()))?;
        registry.register(Box::new(rate_limit_resets.clone()))?;
        registry.register(Box::new(password_hash_refused.clone()))?;
        let ws_dropped = IntCounter::new(
            "ws_dropped_total",
            "WebSocket connections dropped because the client did not take its close frame",
        )?;
        registry.register(Box::new(ws_dropped.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            pool_in_use,
            pool_size,
            active_listing_actors,
            ws_sessions,
            ws_closed,
            listener_connected,
            rate_limited,
            rate_limit_keys,
            rate_limit_resets,
            password_hash_refused,
            ws_dropped,
        })
    }

    /// Records one finished request. `route` is the matched pattern (`/api/v1/listings/{id}`),
    /// never the raw path, so the label set stays small.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, status.to_string().as_str()])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
