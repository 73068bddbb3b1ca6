//! `bazaar-bench`: the load generator. `cargo run --release -p bazaar-bench -- <scenario>`.
//! It starts each server it measures as a child process with a fresh database, sends bounded
//! traffic to 127.0.0.1 only, and prints one table per run (`--json FILE` writes the figures).

mod harness;
mod scenarios;
mod servers;

use clap::{Parser, Subcommand};
use scenarios::Common;

#[derive(Parser)]
#[command(
    name = "bazaar-bench",
    about = "Bazaar's load generator",
    after_help = "Every scenario also takes --database sqlite|postgres (default sqlite), --pg-url URL \
                  (default postgres://postgres@127.0.0.1:5432/postgres, or BAZAAR_BENCH_PG_URL) and --json FILE."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options every scenario takes, given before or after the scenario's name:
/// `--database sqlite|postgres`, `--pg-url URL` (or BAZAAR_BENCH_PG_URL: where a fresh database
/// is created per run), `--json FILE` (also write the figures as JSON).
#[derive(Clone)]
struct Options {
    database: String,
    pg_url: String,
    json: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Purchase attempts from concurrent clients on one listing; compared with a conventional server.
    FlashSale {
        #[arg(long, default_value_t = 10_000)]
        attempts: usize,
        #[arg(long, default_value_t = 256)]
        clients: usize,
        #[arg(long, default_value_t = 5_000)]
        quantity: i64,
    },
    /// GET a listing and a filtered list; compared with an actix-web JSON hello endpoint.
    Read {
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Sockets subscribed to one listing, price drops fanned out; compared with a broadcast server.
    Fanout {
        #[arg(long, default_value_t = 10_000)]
        sockets: usize,
        #[arg(long, default_value_t = 10)]
        drops: usize,
    },
    /// Conversation pairs chatting at a total message rate.
    Chat {
        #[arg(long, default_value_t = 1_000)]
        pairs: usize,
        #[arg(long, default_value_t = 2_000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Idle sockets held open: server memory per socket.
    Idle {
        #[arg(long, default_value_t = 20_000)]
        sockets: usize,
    },
    /// Browse 80%, like 10%, offer 5%, buy 3%, chat 2%, with checks at the end.
    Mixed {
        #[arg(long, default_value_t = 64)]
        users: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
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
    let cli = Cli::parse_from(split_global(std::env::args()));
    let options = OPTIONS.with(|o| o.borrow().clone());
    let command = cli.command;
    match command {
        Command::ServeBazaar { args } => return servers::bazaar(args),
        Command::ServeHello => return servers::hello(),
        Command::ServeBroadcast => return servers::broadcast(),
        Command::ServeFloor => return servers::floor(),
        Command::ServeConventional { database_url } => return servers::conventional(database_url),
        _ => {}
    }
    let options = options.ok_or_else(|| anyhow::anyhow!("options were not parsed"))?;
    let common = Common {
        database: options.database.clone(),
        pg_url: options.pg_url.clone(),
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
            } => scenarios::flash_sale(&common, attempts, clients, quantity).await,
            Command::Read {
                connections,
                seconds,
            } => scenarios::read(&common, connections, seconds).await,
            Command::Fanout { sockets, drops } => scenarios::fanout(&common, sockets, drops).await,
            Command::Chat {
                pairs,
                rate,
                seconds,
            } => scenarios::chat_scenario(&common, pairs, rate, seconds).await,
            Command::Idle { sockets } => scenarios::idle(&common, sockets).await,
            Command::Mixed { users, seconds } => scenarios::mixed(&common, users, seconds).await,
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

thread_local! {
    static OPTIONS: std::cell::RefCell<Option<Options>> = const { std::cell::RefCell::new(None) };
}

/// Pulls --database/--pg-url/--json out before the scenario's own arguments.
fn split_global(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut rest = Vec::new();
    let mut options = Options {
        database: "sqlite".into(),
        pg_url: std::env::var("BAZAAR_BENCH_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        json: None,
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
            _ => rest.push(a),
        }
    }
    OPTIONS.with(|o| *o.borrow_mut() = Some(options));
    rest
}
