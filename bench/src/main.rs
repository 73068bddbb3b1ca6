//! `bazaar-bench`: the load generator. `cargo run --release -p bazaar-bench -- <scenario>`.
//! It starts each server it measures as a child process with a fresh database (or measures a
//! Bazaar already running at `--url`), sends bounded traffic to 127.0.0.1 only, and prints one
//! table per run (`--json FILE` writes the figures).

mod harness;
mod report;
mod scenarios;
mod servers;

use clap::{Parser, Subcommand};
use scenarios::{
    chat, fanout, flash_sale, idle, login_storm, mixed, photos, read, relay, saved_alerts, search,
    Common,
};

#[derive(Parser)]
#[command(
    name = "bazaar-bench",
    about = "Bazaar's load generator",
    after_help = "Every scenario also takes --database sqlite|postgres (default sqlite), --pg-url URL \
                  (default postgres://postgres@127.0.0.1:5432/postgres, or BAZAAR_BENCH_PG_URL), --json FILE, \
                  and --url http://127.0.0.1:PORT with --server-database-url URL to measure a Bazaar \
                  already running there (on the database it uses) instead of starting one."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options every scenario takes, given before or after the scenario's name:
/// `--database sqlite|postgres`, `--pg-url URL` (or BAZAAR_BENCH_PG_URL: where a fresh database
/// is created per run), `--json FILE` (also write the figures as JSON), and `--url URL` with
/// `--server-database-url URL`: a Bazaar already running on 127.0.0.1, and its database.
#[derive(Clone)]
struct Options {
    database: String,
    pg_url: String,
    json: Option<std::path::PathBuf>,
    url: Option<String>,
    server_database_url: Option<String>,
}

impl Options {
    /// The `--url` target, checked: a Bazaar on 127.0.0.1 (load goes nowhere else), with the
    /// database it uses.
    fn target(&self) -> anyhow::Result<Option<scenarios::Target>> {
        let Some(url) = &self.url else {
            anyhow::ensure!(
                self.server_database_url.is_none(),
                "--server-database-url goes with --url"
            );
            return Ok(None);
        };
        let port = url
            .trim_end_matches('/')
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--url must be http://127.0.0.1:PORT: load goes to this machine only"
                )
            })?;
        let database_url = self.server_database_url.clone().ok_or_else(|| {
            anyhow::anyhow!("--url needs --server-database-url: the database that server uses")
        })?;
        Ok(Some(scenarios::Target {
            address: format!("http://127.0.0.1:{port}"),
            port,
            database_url,
        }))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Purchase attempts from concurrent clients on one listing; compared with a conventional server.
    FlashSale {
        #[arg(long, default_value_t = flash_sale::FLASH_SALE_ATTEMPTS)]
        attempts: usize,
        #[arg(long, default_value_t = flash_sale::FLASH_SALE_CLIENTS)]
        clients: usize,
        #[arg(long, default_value_t = flash_sale::FLASH_SALE_QUANTITY_UNITS)]
        quantity: i64,
    },
    /// GET a listing and a filtered list; compared with an actix-web JSON hello endpoint.
    Read {
        #[arg(long, default_value_t = read::READ_CONNECTIONS)]
        connections: usize,
        #[arg(long, default_value_t = read::READ_SECONDS)]
        seconds: u64,
    },
    /// Sockets subscribed to one listing, price drops fanned out; compared with a broadcast server.
    Fanout {
        #[arg(long, default_value_t = fanout::FANOUT_SOCKETS)]
        sockets: usize,
        #[arg(long, default_value_t = fanout::FANOUT_DROPS)]
        drops: usize,
        /// Start the drops after a fixed sleep instead of waiting for every socket's
        /// `subscribed` (the old way; a late subscription starts after the drops it missed).
        #[arg(long)]
        blind_settle: bool,
    },
    /// Conversation pairs chatting at a total message rate.
    Chat {
        #[arg(long, default_value_t = chat::CHAT_PAIRS)]
        pairs: usize,
        #[arg(long, default_value_t = chat::CHAT_RATE_MSG_PER_S)]
        rate: u64,
        #[arg(long, default_value_t = chat::CHAT_SECONDS)]
        seconds: u64,
        /// Skip the baseline run (a server storing each message in its own transaction).
        #[arg(long)]
        no_baseline: bool,
    },
    /// Two processes on one PostgreSQL: chat made on one, delivered on both, at rising rates.
    Relay {
        #[arg(long, default_value_t = relay::RELAY_PAIRS)]
        pairs: usize,
        /// The offered msg/s of each step, in order.
        #[arg(long, value_delimiter = ',', default_value = relay::RELAY_RATES_MSG_PER_S)]
        rates: Vec<u64>,
        #[arg(long, default_value_t = relay::RELAY_STEP_SECONDS)]
        seconds: u64,
    },
    /// Idle sockets held open: server memory per socket.
    Idle {
        #[arg(long, default_value_t = idle::IDLE_SOCKETS)]
        sockets: usize,
    },
    /// Browse 80%, like 10%, offer 5%, buy 3%, chat 2%, with checks at the end.
    Mixed {
        #[arg(long, default_value_t = mixed::MIXED_USERS)]
        users: usize,
        #[arg(long, default_value_t = mixed::MIXED_SECONDS)]
        seconds: u64,
    },
    /// Wrong logins from many clients while another reads: server memory and read latency.
    LoginStorm {
        #[arg(long, default_value_t = login_storm::LOGIN_STORM_ATTEMPTS)]
        attempts: usize,
        #[arg(long, default_value_t = login_storm::LOGIN_STORM_CLIENTS)]
        clients: usize,
        #[arg(long, default_value_t = login_storm::LOGIN_STORM_BASELINE_SECS)]
        baseline_seconds: u64,
    },
    /// A synthetic catalogue, then each kind of search and browse request measured on its own.
    Search {
        #[arg(long, default_value_t = search::SEARCH_LISTINGS)]
        listings: i64,
        #[arg(long, default_value_t = search::SEARCH_CONNECTIONS)]
        connections: usize,
        #[arg(long, default_value_t = search::SEARCH_SECONDS)]
        seconds: u64,
        /// Run on this database (sqlite://FILE or postgres://…, which must exist) and keep it:
        /// seeded only while it has no listings, so later runs skip the seeding.
        #[arg(long)]
        keep_database: Option<String>,
        /// Also measure each kind, right after, on a catalogue of this many listings (issue 12:
        /// 10000), and check that each kind's p50 is at most 2x its p50 there.
        #[arg(long)]
        compare_listings: Option<i64>,
        /// The comparison catalogue's database, kept as --keep-database keeps the main one.
        #[arg(long, requires = "compare_listings")]
        compare_database: Option<String>,
    },
    /// 100,000 saved searches stored, then new listings' alerts timed to a subscribed socket.
    SavedAlerts {
        #[arg(long, default_value_t = saved_alerts::SAVED_SEARCHES)]
        searches: usize,
        #[arg(long, default_value_t = saved_alerts::ALERT_LISTINGS)]
        listings: usize,
    },
    /// Concurrent uploads of phone-sized photos: photos/s, latency and the server's peak memory.
    Photos {
        #[arg(long, default_value_t = photos::PHOTOS_UPLOADS)]
        uploads: usize,
        #[arg(long, default_value_t = photos::PHOTOS_CLIENTS)]
        clients: usize,
    },
    /// Migrate a database, then load a synthetic catalogue of listings and their sellers into it
    /// (what `search` measures with; the same as `bazaar seed`).
    Seed {
        #[arg(long, default_value_t = search::SEARCH_LISTINGS)]
        listings: i64,
        /// sqlite://FILE (created if missing) or postgres://… (the database must exist).
        #[arg(long)]
        database_url: String,
    },
    #[command(hide = true)]
    ServeBazaar {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    #[command(hide = true)]
    ServeHello,
    #[command(hide = true)]
    ServeBroadcast,
    #[command(hide = true)]
    ServeFloor,
    #[command(hide = true)]
    ServeConventional { database_url: String },
}

fn main() -> anyhow::Result<()> {
    let (args, options) = split_global(std::env::args());
    let cli = Cli::parse_from(args);
    let command = cli.command;
    match command {
        Command::ServeBazaar { args } => return servers::bazaar(args),
        Command::ServeHello => return servers::hello(),
        Command::ServeBroadcast => return servers::broadcast(),
        Command::ServeFloor => return servers::floor(),
        Command::ServeConventional { database_url } => return servers::conventional(database_url),
        Command::Seed {
            listings,
            database_url,
        } => {
            let started = std::time::Instant::now();
            let made = bazaar::seed::catalogue_at(&database_url, listings)?;
            println!(
                "seeded {} listings and {} sellers in {:.1} s",
                made.listings,
                made.sellers,
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        _ => {}
    }
    let target = options.target()?;
    // Against a running server, the database is whatever that server uses.
    let database = match &target {
        Some(t) if t.database_url.starts_with("postgres") => "postgres".to_owned(),
        Some(_) => "sqlite".to_owned(),
        None => options.database.clone(),
    };
    let common = Common {
        database,
        pg_url: options.pg_url.clone(),
        target,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        match command {
            Command::FlashSale {
                attempts,
                clients,
                quantity,
            } => flash_sale::run(&common, attempts, clients, quantity).await,
            Command::Read {
                connections,
                seconds,
            } => read::run(&common, connections, seconds).await,
            Command::Fanout {
                sockets,
                drops,
                blind_settle,
            } => fanout::run(&common, sockets, drops, blind_settle).await,
            Command::Chat {
                pairs,
                rate,
                seconds,
                no_baseline,
            } => chat::run(&common, pairs, rate, seconds, !no_baseline).await,
            Command::Relay {
                pairs,
                rates,
                seconds,
            } => relay::run(&common, pairs, &rates, seconds).await,
            Command::Idle { sockets } => idle::run(&common, sockets).await,
            Command::Mixed { users, seconds } => mixed::run(&common, users, seconds).await,
            Command::LoginStorm {
                attempts,
                clients,
                baseline_seconds,
            } => login_storm::run(&common, attempts, clients, baseline_seconds).await,
            Command::Search {
                listings,
                connections,
                seconds,
                keep_database,
                compare_listings,
                compare_database,
            } => {
                let compare = compare_listings.map(|listings| search::Compare {
                    listings,
                    keep_database: compare_database,
                });
                search::run(
                    &common,
                    listings,
                    connections,
                    seconds,
                    keep_database.as_deref(),
                    compare.as_ref(),
                )
                .await
            }
            Command::Photos { uploads, clients } => photos::run(&common, uploads, clients).await,
            Command::SavedAlerts { searches, listings } => {
                saved_alerts::run(&common, searches, listings).await
            }
            _ => unreachable!("server modes returned above"),
        }
    })?;
    report.print();
    if let Some(path) = options.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    }
    anyhow::ensure!(report.passed(), "a correctness check failed");
    Ok(())
}

/// Pulls the options every scenario takes out of the arguments, wherever they are; returns the
/// rest (the scenario and its own arguments) and the options.
fn split_global(args: impl Iterator<Item = String>) -> (Vec<String>, Options) {
    let mut rest = Vec::new();
    let mut options = Options {
        database: "sqlite".into(),
        pg_url: std::env::var("BAZAAR_BENCH_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        json: None,
        url: None,
        server_database_url: None,
    };
    let mut args = args.peekable();
    let mut serving = false;
    while let Some(a) = args.next() {
        if serving {
            rest.push(a);
            continue;
        }
        if a.starts_with("serve-") {
            serving = true;
            rest.push(a);
            continue;
        }
        match a.as_str() {
            "--database" => options.database = args.next().unwrap_or_default(),
            "--pg-url" => options.pg_url = args.next().unwrap_or_default(),
            "--json" => options.json = args.next().map(Into::into),
            "--url" => options.url = args.next(),
            "--server-database-url" => options.server_database_url = args.next(),
            _ => rest.push(a),
        }
    }
    (rest, options)
}
