//! `idle`: authenticated sockets opened and held with no traffic; the figure and the target
//! are the server's resident memory per socket.

use super::sockets::{open_many, open_socket, WS_PATH};
use super::{bazaar, raise_fd_limit, Common};
use crate::harness::{seed_users, Check, Report};
use std::time::{Duration, Instant};

/// The load the target is stated for (the CLI default).
pub const IDLE_SOCKETS: usize = 20_000;

/// Target: the server's resident memory per held socket.
pub const IDLE_RSS_PER_SOCKET_TARGET_KIB: u32 = 20;

/// Descriptors the server and the load generator need besides the sockets (database files,
/// listeners, epoll and event descriptors).
const FD_RESERVE: u64 = 500;

/// How long the warm-up socket is left before the memory is first read.
const WARM_UP_MS: u64 = 500;

/// How long the held sockets are left before the memory is read again.
const SETTLE_MS: u64 = 2_000;

pub async fn run(c: &Common, sockets: usize) -> anyhow::Result<Report> {
    let mut report = Report::new("idle", &c.database);
    let limit = raise_fd_limit(&mut report);
    // Both ends hold one descriptor per socket, and the limit is per process: past it the
    // run would only measure "too many open files".
    let most = limit.saturating_sub(FD_RESERVE) as usize;
    let sockets = if sockets > most {
        report.notes.push(format!(
            "{sockets} sockets asked for; {most} held: the open-file hard limit is {limit} per process"
        ));
        most
    } else {
        sockets
    };
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let users = seed_users(&mut conn, "u", 1, 0)?;
    let server = bazaar(c, &db)?;
    // Warm the server up with one socket so per-socket figures exclude start-up allocations.
    let warm = open_socket(&server.address, WS_PATH, Some(&users[0].1)).await?;
    tokio::time::sleep(Duration::from_millis(WARM_UP_MS)).await;
    let (before, _) = server.rss_kib();
    let started = Instant::now();
    let held = open_many(&server.address, WS_PATH, Some(&users[0].1), sockets).await?;
    let opened = started.elapsed();
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    let (after, peak) = server.rss_kib();
    report.server_peak_rss_kib = peak;
    let per = (after.saturating_sub(before)) as f64 / held.len().max(1) as f64;
    report.notes.push(format!("{} sockets opened in {:.1} s; server RSS {before} KiB -> {after} KiB: {per:.1} KiB per socket", held.len(), opened.as_secs_f64()));
    report.checks.push(Check::new(
        "all sockets held",
        held.len() == sockets,
        format!("{}", held.len()),
    ));
    report.checks.push(Check::new(
        format!("target: <= {IDLE_RSS_PER_SOCKET_TARGET_KIB} KiB of server RSS per socket"),
        per <= f64::from(IDLE_RSS_PER_SOCKET_TARGET_KIB),
        format!("{per:.1} KiB"),
    ));
    drop(warm);
    drop(held);
    Ok(report)
}
