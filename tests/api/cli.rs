use crate::helpers::*;
use crate::ws_helpers::{try_connect_to, Connected};
use std::time::Duration;

#[test]
fn help_documents_every_option_and_its_environment_variable() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "serve",
        "migrate",
        "--bind",
        "BAZAAR_BIND",
        "--database-url",
        "DATABASE_URL",
        "--pool-size",
        "BAZAAR_POOL_SIZE",
        "--log-format",
        "BAZAAR_LOG_FORMAT",
        "--listing-idle-secs",
        "--shutdown-timeout-secs",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
}

#[test]
fn migrate_creates_and_migrates_the_database() {
    let db = TestDb::create();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(["migrate", "--database-url", db.url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut conn = db.connect();
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SELECT id, version FROM listings")
        .expect("migrated");
}

#[test]
fn a_wrong_database_url_fails_start_up_with_the_real_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args([
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("onnection refused"), "{stderr}");
}

#[actix_web::test]
async fn with_no_configuration_it_serves_sqlite_in_the_working_directory_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&[], &[], Some(dir.path()));
    assert!(dir.path().join("bazaar.db").exists());
    let client = http_client();
    let res = client
        .get(format!("{}/readyz", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigint_lets_an_in_flight_request_finish() {
    use std::io::{Read, Write};
    let db = TestDb::create();
    let mut server = ServerProcess::start(&["serve"], &[("DATABASE_URL", db.url())], None);
    let host = server.address.trim_start_matches("http://").to_owned();
    let body = r#"{"username": "late", "password": "password123"}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    write!(
        stream,
        "POST /api/v1/users HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    // The request is in flight (its body half sent) when the signal lands.
    std::thread::sleep(Duration::from_millis(300));
    std::process::Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The server no longer accepts new connections...
    let refused = std::net::TcpStream::connect(&host).map_or(true, |mut s| {
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buf = [0u8; 1];
        !matches!(s.read(&mut buf), Ok(n) if n > 0)
    });
    assert!(refused, "a new connection was served after SIGINT");
    // ...but the one in flight completes.
    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let status = server
        .signal_and_wait("INT", Duration::from_secs(20))
        .expect("exits after SIGINT");
    assert!(status.success(), "{status:?}");
}

#[actix_web::test]
async fn sigterm_closes_sockets_with_1001_and_exits_without_waiting_for_the_timeout() {
    let db = TestDb::create();
    let mut server = ServerProcess::start(
        &["serve", "--shutdown-timeout-secs", "60"],
        &[("DATABASE_URL", db.url())],
        None,
    );
    // After the start: the server migrates the database.
    let user = db.users_fast("sock", 1).remove(0);
    let mut socket = match try_connect_to(&server.address, Some(&user.token), "", None).await {
        Connected::Open(socket) => socket,
        Connected::Refused(status) => panic!("refused with {status}"),
    };
    server.signal("TERM");
    // Going away, at once: the client reconnects (to another process) and resumes.
    assert_eq!(socket.closed().await, Some(1001));
    // Well before the 60 s timeout: nothing is left in flight once the socket closed.
    let status = server
        .wait_for_exit(Duration::from_secs(20))
        .expect("exits once the socket closed, not after the shutdown timeout");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_port_in_use_is_one_line_and_exit_1_with_no_panic() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(["--bind", &address])
        .env_remove("DATABASE_URL")
        .env("RUST_BACKTRACE", "1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        format!("error: cannot listen on {address}: address already in use\n"),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("panicked"), "{stdout}");
}
