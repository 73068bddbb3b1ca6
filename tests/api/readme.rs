//! The README's walk-through, run as written (bash and curl) against a real server, twice on
//! the same database: it must work on a database that already has data, and stop at the first
//! failure.

use crate::helpers::spawn_app;

const SOCKET_COMMAND: &str = "cargo run -q --release --bin bazaar-socket --";

/// The shell of the README between the walk-through markers, every `sh` block in order.
fn walkthrough() -> String {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("README has a walkthrough:start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("README has a walkthrough:end marker");
    let mut script = String::new();
    let mut in_block = false;
    for line in readme[start..end].lines() {
        match line.trim_end() {
            "```sh" => in_block = true,
            "```" => in_block = false,
            _ if in_block => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(
        script.contains(SOCKET_COMMAND),
        "the walk-through tries the socket with {SOCKET_COMMAND}"
    );
    // `cargo run` would build a release binary inside the test run; the test runs the same
    // program, already built by `cargo test`.
    script.replace(SOCKET_COMMAND, env!("CARGO_BIN_EXE_bazaar-socket"))
}

fn run(script: &str, base_url: &str) -> std::process::Output {
    std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("BAZAAR_URL", base_url)
        .output()
        .expect("bash runs")
}

#[actix_web::test]
async fn the_readme_walkthrough_works_as_written_twice_on_one_database() {
    let app = spawn_app().await;
    let script = walkthrough();
    for attempt in 1..=2 {
        let (script, url) = (script.clone(), app.address.clone());
        let out = actix_web::rt::task::spawn_blocking(move || run(&script, &url))
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "run {attempt} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(stdout.contains(r#""type":"ack","ref":2"#), "{stdout}");
        assert!(
            stdout.trim_end().ends_with("walk-through complete"),
            "{stdout}"
        );
    }
}

#[actix_web::test]
async fn the_walkthrough_stops_at_the_first_failure() {
    let app = spawn_app().await;
    // Break the listing step (a negative quantity is refused): nothing after it may run.
    let script = walkthrough().replace(r#""quantity":2"#, r#""quantity":-2"#);
    let url = app.address.clone();
    let out = actix_web::rt::task::spawn_blocking(move || run(&script, &url))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("FAILED: curl"), "{stderr}");
    assert!(
        stderr.contains("quantity"),
        "the failed call's problem is shown: {stderr}"
    );
    assert!(!stdout.contains("walk-through complete"), "{stdout}");
}
