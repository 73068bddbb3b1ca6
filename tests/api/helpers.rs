//! `spawn_app()`: the real server on a random port with a database of its own, and typed
//! request helpers. SQLite by default; PostgreSQL when BAZAAR_TEST_DATABASE_URL is set (each
//! test then gets its own database, dropped afterwards).

use bazaar::app::Application;
use bazaar::config::Settings;
use bazaar_actors::store::{self, DbConnection};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use rand::Rng;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub const PG_ENV: &str = "BAZAAR_TEST_DATABASE_URL";
/// An S3-compatible bucket for the tests, `s3://bucket` (set by `.ci/s3.sh` with the
/// `AWS_*` endpoint and credentials).
pub const S3_ENV: &str = "BAZAAR_TEST_S3_URL";
/// `s3`: every spawned app stores photos in the bucket of `BAZAAR_TEST_S3_URL`, each under a
/// prefix of its own, so the photo tests run against S3 as well as the filesystem.
pub const MEDIA_STORE_ENV: &str = "BAZAAR_TEST_MEDIA_STORE";

/// The test bucket with a prefix no other test uses, or None with a note that the test is
/// skipped when `BAZAAR_TEST_S3_URL` is unset (CI always sets it).
pub fn test_s3_url(test: &str) -> Option<String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let Ok(base) = std::env::var(S3_ENV) else {
        eprintln!("note: {test} skipped: {S3_ENV} is not set (.ci/s3.sh sets it)");
        return None;
    };
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tag: u32 = rand::thread_rng().gen();
    Some(format!(
        "{}/t{}-{n}-{tag:08x}",
        base.trim_end_matches('/'),
        std::process::id()
    ))
}

/// A database that exists for one test.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    /// An empty database: nothing migrated.
    pub fn create() -> TestDb {
        Self::copy_of(None)
    }

    /// A database with every migration applied, as [`spawn_app`] starts on. On PostgreSQL a copy
    /// of this process's [`Template::Migrated`], which saves the ~0.3 s of PostgreSQL's CPU
    /// the migrations take, test after test.
    pub fn migrated() -> TestDb {
        let db = Self::copy_of(Some(Template::Migrated));
        if !db.is_postgres() {
            store::migrate(&mut db.connect()).expect("migrate the test database");
        }
        db
    }

    /// PostgreSQL: a migrated database holding a catalogue of [`CATALOGUE_LISTINGS`] listings,
    /// analysed (a copy of [`Template::Catalogue`]); `None` on SQLite. The copy has the
    /// template's statistics, but no time of an ANALYZE on record (those are the server's
    /// activity statistics, which a copy starts without).
    pub fn catalogue() -> Option<TestDb> {
        let db = Self::copy_of(Some(Template::Catalogue));
        db.is_postgres().then_some(db)
    }

    /// A database of its own: on PostgreSQL a copy of `template` (`template0` for none), on
    /// SQLite a new file (whatever `template`: its callers fill it).
    fn copy_of(template: Option<Template>) -> TestDb {
        match std::env::var(PG_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => {
                static COUNTER: AtomicU64 = AtomicU64::new(0);
                let name = format!(
                    "{TEST_DB_PREFIX}{}_{}_{:08x}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    rand::thread_rng().gen::<u32>()
                );
                let source = template.map_or("template0", |t| t.name(&admin_url));
                create_database(&admin_url, &name, source);
                let url = with_database(&admin_url, &name);
                TestDb::Postgres {
                    admin_url,
                    name,
                    url,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("bazaar.db").display());
                TestDb::Sqlite { _dir: dir, url }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }

    /// A direct connection, for checking rows the API does not show.
    pub fn connect(&self) -> store::PooledConn {
        store::connect(self.url(), 1)
            .expect("connect to test database")
            .get()
            .expect("pooled connection")
    }

    /// `count` users with sessions (and empty wallets), inserted directly.
    pub fn users_fast(&self, prefix: &str, count: usize) -> Vec<TestUser> {
        let mut conn = self.connect();
        (0..count)
            .map(|i| {
                let u =
                    bazaar::seed::user(&mut conn, &format!("{prefix}{i}"), 0).expect("seed user");
                TestUser {
                    id: u.id,
                    token: u.token,
                }
            })
            .collect()
    }

    /// Drops the database now (PostgreSQL), closing every connection to it.
    pub fn drop_now(&self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.drop_now();
    }
}

/// Every test database's name begins with this, then the test process's id.
const TEST_DB_PREFIX: &str = "bazaar_test_";

/// The listings of [`TestDb::catalogue`].
pub const CATALOGUE_LISTINGS: i64 = 100_000;

/// PostgreSQL databases built once per test process, the first time a test asks, and copied for
/// each test that wants one (`CREATE DATABASE … TEMPLATE`, which copies files instead of
/// running statements). Each is named after the process (`bazaar_test_<pid>_template_…`), so
/// a test run never copies another's, and what runs that are gone left behind is dropped
/// ([`drop_leftovers`]).
#[derive(Clone, Copy)]
enum Template {
    /// Every migration applied.
    Migrated,
    /// [`Template::Migrated`] with [`CATALOGUE_LISTINGS`] catalogue listings, analysed (the
    /// seed's last step; ~10 s of PostgreSQL's CPU in all, against 0.4 s to copy: 129 MB).
    Catalogue,
}

impl Template {
    /// The template's name, built first if this process has not built it yet.
    fn name(self, admin_url: &str) -> &'static str {
        static MIGRATED: OnceLock<String> = OnceLock::new();
        static CATALOGUE: OnceLock<String> = OnceLock::new();
        let (cell, kind) = match self {
            Template::Migrated => (&MIGRATED, "migrated"),
            Template::Catalogue => (&CATALOGUE, "catalogue"),
        };
        cell.get_or_init(|| {
            // The catalogue is built from the migrated template, so this runs first, once.
            let source = match self {
                Template::Migrated => {
                    drop_leftovers(admin_url);
                    "template0"
                }
                Template::Catalogue => Template::Migrated.name(admin_url),
            };
            let name = format!("{TEST_DB_PREFIX}{}_template_{kind}", std::process::id());
            create_database(admin_url, &name, source);
            // The connection is closed before any copy: PostgreSQL copies no database that
            // has one.
            let mut conn = DbConnection::Postgresql(
                diesel::PgConnection::establish(&with_database(admin_url, &name))
                    .expect("connect to the template"),
            );
            match self {
                Template::Migrated => store::migrate(&mut conn).expect("migrate the template"),
                Template::Catalogue => {
                    bazaar::seed::catalogue(&mut conn, CATALOGUE_LISTINGS).expect("seed");
                }
            }
            name
        })
    }
}

/// A connection to the server's administrative database (`BAZAAR_TEST_DATABASE_URL`).
fn admin(admin_url: &str) -> diesel::PgConnection {
    diesel::PgConnection::establish(admin_url)
        .unwrap_or_else(|e| panic!("{PG_ENV}={admin_url}: {e}"))
}

/// Creates database `name` as a copy of `source`. A copy waits out connections to `source`
/// that are still closing (PostgreSQL refuses to copy a database with connections).
fn create_database(admin_url: &str, name: &str, source: &str) {
    let mut admin = admin(admin_url);
    let create = format!("CREATE DATABASE {name} TEMPLATE {source}");
    for attempt in 1.. {
        match admin.batch_execute(&create) {
            Ok(()) => return,
            Err(e) if attempt < 50 && e.to_string().contains("being accessed by other users") => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("{create}: {e}"),
        }
    }
}

/// Drops the test databases (templates included) of test processes of this machine that are
/// gone: a run stopped half-way leaves its own, and every run leaves its templates. Linux
/// only (a process is alive while `/proc/<pid>` is there); the test PostgreSQL is this
/// machine's.
fn drop_leftovers(admin_url: &str) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let mut admin = admin(admin_url);
    use diesel::RunQueryDsl;
    let names: Vec<Name> = diesel::sql_query(format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{TEST_DB_PREFIX}%'"
    ))
    .load(&mut admin)
    .expect("list the test databases");
    for Name { datname } in names {
        let pid = datname[TEST_DB_PREFIX.len()..]
            .split('_')
            .next()
            .unwrap_or("");
        let gone = pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if gone {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"));
        }
    }
}

/// `postgres://user@host:port/db?x` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    /// The internal `/metrics` server's address, with `--metrics-bind`.
    pub metrics_address: Option<String>,
    /// The local photo store's folder (`--media-dir`), removed with the app.
    pub media_dir: tempfile::TempDir,
    /// The S3 bucket and prefix photos are kept in instead (`--media-url`), if any.
    pub media_url: Option<String>,
}

/// A registered, logged-in user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: i64,
    pub token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TestDb::migrated(), configure).await
}

/// The server on `db`, which it migrates if it needs to.
pub async fn spawn_app_on(db: TestDb, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::for_database(db.url());
    let media_dir = tempfile::tempdir().expect("media dir");
    settings.media.media_dir = media_dir.path().to_owned();
    settings.workers = Some(2);
    settings.pool_size = 8;
    // Tests make bursts no client would; the tests of the limits turn them back on.
    settings.rate_limits = bazaar::config::Switch::Off;
    if std::env::var(MEDIA_STORE_ENV).as_deref() == Ok("s3") {
        let url = test_s3_url("s3 media store")
            .unwrap_or_else(|| panic!("{MEDIA_STORE_ENV}=s3 needs {S3_ENV}"));
        settings.media.media_url = Some(url.parse().expect("the test bucket's URL"));
    }
    configure(&mut settings);
    let media_url = settings.media.media_url.as_ref().map(ToString::to_string);
    let app = Application::build(settings).await.expect("build the app");
    let port = app.port();
    let metrics_port = app.metrics_port();
    actix_web::rt::spawn(app.run_until_stopped());
    bazaar::app::wait_until_listening(port).await;
    if let Some(port) = metrics_port {
        bazaar::app::wait_until_listening(port).await;
    }
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: http_client(),
        db,
        metrics_address: metrics_port.map(|port| format!("http://127.0.0.1:{port}")),
        media_dir,
        media_url,
    }
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.address, path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("request")
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(Method::POST, path, token, body).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(Method::PATCH, path, token, body).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .expect("request")
    }

    pub async fn register(&self, username: &str, password: &str) -> Response {
        self.post(
            "/api/v1/users",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post(
            "/api/v1/sessions",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Registers and logs in `username`.
    pub async fn user(&self, username: &str) -> TestUser {
        let registered = json_of(self.register(username, "password123").await, 201).await;
        let session = json_of(self.login(username, "password123").await, 201).await;
        TestUser {
            id: registered["id"].as_i64().expect("user id"),
            token: session["token"].as_str().expect("token").to_owned(),
        }
    }

    /// Creates a listing for `seller` from `fields` (title and price default).
    pub async fn listing(&self, seller: &TestUser, fields: Value) -> Value {
        let mut body = json!({ "title": "A bicycle", "price_cents": 10_000 });
        if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
            for (k, v) in f {
                b.insert(k.clone(), v.clone());
            }
        }
        json_of(
            self.post("/api/v1/listings", Some(&seller.token), &body)
                .await,
            201,
        )
        .await
    }

    /// The events of a topic, in seq order, straight from the table.
    pub fn events(&self, topic: &str) -> Vec<(i64, String, Value)> {
        let mut conn = self.db.connect();
        let conn: &mut DbConnection = &mut conn;
        store::events::after(conn, topic, 0, 10_000)
            .expect("read events")
            .into_iter()
            .map(|e| {
                (
                    e.seq,
                    e.event_type,
                    serde_json::from_str(&e.data).expect("event data is JSON"),
                )
            })
            .collect()
    }
}

/// Asserts the status and returns the JSON body.
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(actual.as_u16(), status, "unexpected status; body: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// Asserts an RFC 9457 problem with this status, and returns it.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "status {} is not problem+json",
        response.status()
    );
    let body = json_of(response, status).await;
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}

/// Asserts a 422 naming exactly these fields.
pub async fn invalid_fields(response: Response, fields: &[&str]) {
    let body = problem(response, 422).await;
    let mut named: Vec<&str> = body["errors"]
        .as_object()
        .expect("errors object")
        .keys()
        .map(String::as_str)
        .collect();
    named.sort_unstable();
    let mut expected = fields.to_vec();
    expected.sort_unstable();
    assert_eq!(named, expected, "{body}");
}

/// A `bazaar` server running as its own process (the binary this package builds).
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: String,
    /// The server's log entries since it listened (JSON), the newest [`KEPT_LOG_ENTRIES`].
    log: Arc<Mutex<VecDeque<Value>>>,
}

/// How many of a [`ServerProcess`]'s log entries are kept for [`ServerProcess::log`].
const KEPT_LOG_ENTRIES: usize = 50_000;

impl ServerProcess {
    /// Starts `bazaar <args>` with `env`, and waits until it logs the port it listens on.
    pub fn start(args: &[&str], env: &[(&str, &str)], dir: Option<&std::path::Path>) -> Self {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bazaar"));
        cmd.args(args)
            .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "info")
            .env("BAZAAR_RATE_LIMITS", "off")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("start bazaar");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("bazaar exited before listening")
                .expect("read log line");
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if entry["message"] == "listening" {
                break entry["port"].as_u64().expect("port in the log");
            }
        };
        // Keep draining the log so the server never blocks on a full pipe, keeping its newest
        // entries.
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                if kept.len() == KEPT_LOG_ENTRIES {
                    kept.pop_front();
                }
                kept.push_back(entry);
            }
        });
        ServerProcess {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// The server's log entries since it listened, as JSON objects (the newest
    /// [`KEPT_LOG_ENTRIES`]).
    pub fn log(&self) -> Vec<Value> {
        let kept = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter().cloned().collect()
    }

    /// Sends a signal (e.g. "TERM") and waits up to `timeout` for the process to exit.
    pub fn signal_and_wait(
        &mut self,
        signal: &str,
        timeout: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        self.signal(signal);
        self.wait_for_exit(timeout)
    }

    /// Sends a signal (e.g. "TERM").
    pub fn signal(&self, signal: &str) {
        std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_for_exit(
        &mut self,
        timeout: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestApp {
    /// The seller sets `listing`'s price (a lower one is a price drop); the listing after it.
    pub async fn set_price(&self, seller: &TestUser, listing: &Value, cents: i64) -> Value {
        json_of(
            self.patch(
                &format!("/api/v1/listings/{}", listing["id"]),
                Some(&seller.token),
                &json!({"price_cents": cents}),
            )
            .await,
            200,
        )
        .await
    }

    /// `user` likes `listing`, optionally with a target price.
    pub async fn like(&self, user: &TestUser, listing: &Value, target: Option<i64>) {
        let mut req = self.request(
            Method::PUT,
            &format!("/api/v1/listings/{}/like", listing["id"]),
            Some(&user.token),
        );
        if let Some(t) = target {
            req = req.json(&json!({"target_price_cents": t}));
        }
        assert_eq!(req.send().await.unwrap().status(), 204);
    }

    /// Adds sandbox money to `user`'s wallet.
    pub async fn deposit(&self, user: &TestUser, cents: i64) {
        json_of(
            self.post(
                "/api/v1/wallet/deposits",
                Some(&user.token),
                &json!({ "amount_cents": cents }),
            )
            .await,
            201,
        )
        .await;
    }

    /// Gives `user` a shipping address (a seller can ship only to an address: orders keep
    /// their buyer's address as it was when they were made).
    pub async fn give_address(&self, user: &TestUser) -> Value {
        let address = json!({
            "name": "Ada Lovelace",
            "line1": "12 St James's Square",
            "city": "London",
            "postal_code": "SW1Y 4JH",
            "country": "GB",
        });
        json_of(
            self.send_json(
                Method::PUT,
                "/api/v1/me/address",
                Some(&user.token),
                &address,
            )
            .await,
            200,
        )
        .await
    }

    /// `buyer` buys one unit of `listing` at its price: the order (201).
    pub async fn buy_one(&self, buyer: &TestUser, listing: &Value) -> Value {
        let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
        json_of(self.post(&path, Some(&buyer.token), &json!({})).await, 201).await
    }

    /// `who` moves `order` on with `action` (ship, confirm, cancel): the order after it (200).
    pub async fn order_action(&self, who: &TestUser, order: &Value, action: &str) -> Value {
        let path = format!("/api/v1/orders/{}/{action}", order["id"]);
        json_of(self.post(&path, Some(&who.token), &json!({})).await, 200).await
    }

    pub async fn wallet(&self, user: &TestUser) -> Value {
        json_of(self.get("/api/v1/wallet", Some(&user.token)).await, 200).await
    }

    /// `count` users with sessions, made straight in the database (password hashing is tested
    /// elsewhere and would dominate a test that needs hundreds of buyers).
    pub fn users_fast(&self, prefix: &str, count: usize) -> Vec<TestUser> {
        self.db.users_fast(prefix, count)
    }

    /// Event types of a topic, in seq order.
    pub fn event_types(&self, topic: &str) -> Vec<String> {
        self.events(topic).into_iter().map(|e| e.1).collect()
    }

    /// Asserts the ledger balances: every transaction sums to zero and each user's wallet
    /// row equals the sum of their account's entries.
    pub fn assert_ledger_balanced(&self) {
        use bazaar_actors::domain::ledger::Account;
        use bazaar_actors::domain::UserId;
        let mut conn = self.db.connect();
        let conn: &mut DbConnection = &mut conn;
        assert_eq!(
            store::ledger::unbalanced_transactions(conn).unwrap(),
            vec![],
            "unbalanced ledger transactions"
        );
        use bazaar_actors::store::schema::wallets;
        use diesel::prelude::*;
        let rows: Vec<(i64, i64, i64)> = wallets::table.load(conn).unwrap();
        for (user, available, escrow) in rows {
            let u = UserId(user);
            assert_eq!(
                store::ledger::balance(conn, &Account::Wallet(u)).unwrap(),
                available,
                "wallet of {user}"
            );
            assert_eq!(
                store::ledger::balance(conn, &Account::Escrow(u)).unwrap(),
                escrow,
                "escrow of {user}"
            );
        }
    }
}

/// Polls `check` every 100 ms until it holds (true) or `limit` has passed (false).
pub async fn wait_until<F, Fut>(limit: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The ids of a page of listings, in order.
pub fn listing_ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect()
}

/// Walks every page of `query`, returning the ids in order.
pub async fn walk_listings(app: &TestApp, query: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/listings?{query}&cursor={c}"),
            None => format!("/api/v1/listings?{query}"),
        };
        let page = json_of(app.get(&url, None).await, 200).await;
        seen.extend(listing_ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
}

/// How long a test's client keeps an idle connection for another request: well under the
/// server's keep-alive (actix-web's default, 5 s). A connection idle for about as long as the
/// server's keep-alive was reused just as the server closed it, and the request failed with
/// "IncompleteMessage" (once in CI, after a test spent seconds writing its catalogue).
const CLIENT_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// An HTTP client for a test's servers ([`CLIENT_IDLE`]).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(CLIENT_IDLE)
        .build()
        .expect("an HTTP client")
}

/// POSTs `body` as `token` to `url` (a server process's), the answer's JSON.
pub async fn post_json_as(url: &str, token: &str, body: &Value) -> Value {
    http_client()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// GETs `url` (a server process's) with no token, the answer's JSON.
pub async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// A migrated SQLite test database and a pool of one connection on it (its reader and its
/// writer are the same connection), or `None` when the tests run on PostgreSQL.
pub fn migrated_sqlite_pool() -> Option<(TestDb, store::Pool)> {
    let db = TestDb::create();
    if db.is_postgres() {
        return None;
    }
    let pool = store::connect(db.url(), 1).expect("pool");
    store::migrate(&mut pool.get().expect("connection")).expect("migrate");
    Some((db, pool))
}

/// A step of SQLite's `EXPLAIN QUERY PLAN`.
#[derive(diesel::QueryableByName)]
pub struct PlanStep {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// SQLite's plan of a statement, from `explained` (an `EXPLAIN QUERY PLAN …` with its values
/// bound): its steps' details joined by "; ".
pub fn sqlite_plan<Q>(conn: &mut DbConnection, explained: Q) -> String
where
    Q: for<'a> diesel::query_dsl::LoadQuery<'a, DbConnection, PlanStep>,
{
    explained
        .load::<PlanStep>(conn)
        .expect("plan")
        .into_iter()
        .map(|s| s.detail)
        .collect::<Vec<_>>()
        .join("; ")
}
