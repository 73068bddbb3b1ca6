//! The harness: a fresh database, servers run as child processes (so their memory is theirs
//! alone); latency recording and the report are in `report.rs`.

use anyhow::{bail, Context};
use bazaar_actors::store;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use crate::report::{Check, Figures, Recorder, Report};

/// A database of the run's own, or the one a server given by `--url` already uses.
pub enum BenchDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
    /// Someone else's: fixtures are added to it and nothing is dropped.
    Existing { url: String },
}

impl BenchDb {
    pub fn create(backend: &str, pg_admin: &str) -> anyhow::Result<BenchDb> {
        Ok(match backend {
            "sqlite" => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                BenchDb::Sqlite { _dir: dir, url }
            }
            "postgres" => {
                let name = format!(
                    "bazaar_bench_{}_{:08x}",
                    std::process::id(),
                    rand::random::<u32>()
                );
                let mut admin =
                    diesel::PgConnection::establish(pg_admin).context("PostgreSQL admin")?;
                admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))?;
                let base = pg_admin.rsplit_once('/').map_or(pg_admin, |(b, _)| b);
                BenchDb::Postgres {
                    admin: pg_admin.to_owned(),
                    url: format!("{base}/{name}"),
                    name,
                }
            }
            other => bail!("unknown database {other:?}: sqlite or postgres"),
        })
    }

    pub fn url(&self) -> &str {
        match self {
            BenchDb::Sqlite { url, .. }
            | BenchDb::Postgres { url, .. }
            | BenchDb::Existing { url } => url,
        }
    }

    pub fn connect(&self) -> anyhow::Result<store::PooledConn> {
        let pool = store::connect(self.url(), 1)?;
        let mut conn = pool.get()?;
        store::migrate(&mut conn)?;
        Ok(conn)
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let BenchDb::Postgres { admin, name, .. } = self {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// A server this run measures: this binary in one of its server modes, started as a child
/// process, or a server already running at `--url`.
pub struct ServerProc {
    child: Option<Child>,
    /// For memory and CPU figures (unknown when no process on this machine listens there).
    pid: Option<u32>,
    pub address: String,
}

impl ServerProc {
    /// Starts `bazaar-bench <mode> <args>` and waits for its `LISTENING <port>` line.
    ///
    /// With `BAZAAR_BENCH_CALLGRIND=DIR` it runs under `valgrind --tool=callgrind`, its
    /// profiles written to `DIR/<mode>.<pid>[.<n>]` (see `Callgrind`).
    pub fn start(mode: &str, args: &[&str]) -> anyhow::Result<ServerProc> {
        let exe = std::env::current_exe()?;
        let mut command = match Callgrind::dir() {
            Some(dir) => {
                let mut c = Command::new("valgrind");
                c.arg("--tool=callgrind")
                    .arg(format!("--callgrind-out-file={dir}/{mode}.%p"))
                    .arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let mut child = command
            .arg(mode)
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("BAZAAR_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines
                .next()
                .context("the server exited before listening")??;
            if let Some(port) = line.strip_prefix("LISTENING ") {
                break port.trim().parse::<u16>()?;
            }
        };
        // The server's log is drained; with BAZAAR_BENCH_SERVER_LOG set it is shown (on
        // stderr, apart from the report), e.g. the chat writer's `chat.batches` lines.
        let show = std::env::var_os("BAZAAR_BENCH_SERVER_LOG").is_some();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if show {
                    eprintln!("server: {line}");
                }
            }
        });
        Ok(ServerProc {
            pid: Some(child.id()),
            child: Some(child),
            address: format!("http://127.0.0.1:{port}"),
        })
    }

    /// A server someone else started, at `address` (`http://127.0.0.1:<port>`); it is left
    /// running. Its process is found by the port it listens on.
    pub fn existing(address: &str, port: u16) -> ServerProc {
        ServerProc {
            child: None,
            pid: listening_pid(port),
            address: address.trim_end_matches('/').to_owned(),
        }
    }

    /// (current, peak) resident memory of the server, in KiB ((0, 0) when unknown).
    pub fn rss_kib(&self) -> (u64, u64) {
        self.pid.map_or((0, 0), rss_kib)
    }

    /// The CPU time (user + system) the server has used so far (zero when unknown).
    pub fn cpu_time(&self) -> Duration {
        self.pid.map_or(Duration::ZERO, cpu_time)
    }
}

/// Counting a server's instructions over one part of a run: with `BAZAAR_BENCH_CALLGRIND=DIR`
/// servers run under callgrind (`ServerProc::start`), `zero` forgets what they counted so far
/// and `dump` writes what they counted since to a numbered profile in `DIR`. Callgrind counts
/// instructions, the same in every run however loaded the machine is.
pub struct Callgrind;

impl Callgrind {
    fn dir() -> Option<String> {
        std::env::var("BAZAAR_BENCH_CALLGRIND")
            .ok()
            .filter(|d| !d.is_empty())
    }

    pub fn zero(server: &ServerProc) {
        Callgrind::control(server, "--zero");
    }

    pub fn dump(server: &ServerProc) {
        Callgrind::control(server, "--dump");
    }

    fn control(server: &ServerProc, what: &str) {
        let (Some(_), Some(pid)) = (Callgrind::dir(), server.pid) else {
            return;
        };
        let done = Command::new("callgrind_control")
            .arg(what)
            .arg(pid.to_string())
            .stdout(Stdio::null())
            .status();
        if !done.as_ref().is_ok_and(|s| s.success()) {
            eprintln!("callgrind_control {what} {pid} failed: {done:?}");
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The process that listens on 127.0.0.1:`port` (or on any address at that port), from
/// /proc/net/tcp and the processes' descriptors.
fn listening_pid(port: u16) -> Option<u32> {
    const LISTEN: &str = "0A";
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let inode = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (_, local_port) = fields.get(1)?.split_once(':')?;
        let listening = fields.get(3) == Some(&LISTEN);
        (listening && u16::from_str_radix(local_port, 16).ok()? == port)
            .then(|| fields.get(9).map(|i| format!("socket:[{i}]")))
            .flatten()
    })?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
            fds.flatten()
                .any(|fd| {
                    std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == inode.as_str())
                })
                .then_some(pid)
        })
}

pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The CPU time (user + system, all threads) process `pid` has used, from /proc/<pid>/stat.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / per_second)
}

/// This process's CPU time (user + system, all threads).
pub fn own_cpu_time() -> Duration {
    cpu_time(std::process::id())
}

/// Raises this process's open-file limit to its hard limit (children inherit it).
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            return limit.rlim_cur;
        }
    }
    0
}

/// Seeds `count` users with `balance` cents each: (id, token).
pub fn seed_users(
    conn: &mut store::PooledConn,
    prefix: &str,
    count: usize,
    balance: i64,
) -> anyhow::Result<Vec<(i64, String)>> {
    // Names of this run's own, so runs against a database with earlier runs' users do not
    // collide.
    let run = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    (0..count)
        .map(|i| {
            let u = bazaar::seed::user(conn, &format!("{prefix}{run}_{i}"), balance)?;
            Ok((u.id, u.token))
        })
        .collect()
}
