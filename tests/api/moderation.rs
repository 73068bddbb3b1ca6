//! Trust and safety over the network: roles and the moderator gate, the append-only audit log,
//! `bazaar admin grant|revoke`.

use crate::helpers::*;
use bazaar_actors::domain::moderation::{AuditTarget, Role};
use bazaar_actors::store::audit::{self, NewAuditEntry};
use bazaar_actors::store::schema::users;
use bazaar_actors::store::DbConnection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;

/// Gives `user` a role directly in the database (as `bazaar admin grant` does, without the
/// process).
pub fn grant(app: &TestApp, user: &TestUser, role: Role) {
    let mut conn = app.db.connect();
    let conn: &mut DbConnection = &mut conn;
    diesel::update(users::table.find(user.id))
        .set(users::role.eq(role))
        .execute(conn)
        .expect("set role");
}

/// A registered user made moderator.
pub async fn moderator(app: &TestApp, username: &str) -> TestUser {
    let user = app.user(username).await;
    grant(app, &user, Role::Moderator);
    user
}

/// Runs `bazaar admin ARGS` against the test database.
fn admin_cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .arg("admin")
        .args(args)
        .args(["--database-url", db.url()])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run bazaar admin")
}

#[actix_web::test]
async fn the_audit_log_is_for_moderators_and_admins_only() {
    let app = spawn_app().await;
    let user = app.user("plain").await;
    let moderator = moderator(&app, "mod").await;
    let admin = app.user("boss").await;
    grant(&app, &admin, Role::Admin);

    problem(app.get("/api/v1/admin/audit", None).await, 401).await;
    let refused = problem(app.get("/api/v1/admin/audit", Some(&user.token)).await, 403).await;
    assert_eq!(refused["type"], "/problems/forbidden");
    for caller in [&moderator, &admin] {
        let page = json_of(
            app.get("/api/v1/admin/audit", Some(&caller.token)).await,
            200,
        )
        .await;
        assert_eq!(page["items"], serde_json::json!([]));
        assert_eq!(page["next_cursor"], Value::Null);
    }
    let me = json_of(app.get("/api/v1/me", Some(&moderator.token)).await, 200).await;
    assert_eq!(me["role"], "moderator");
    let me = json_of(app.get("/api/v1/me", Some(&user.token)).await, 200).await;
    assert_eq!(me["role"], "user");
}

#[actix_web::test]
async fn the_cli_grants_and_revokes_roles_at_once_with_audit_entries() {
    let app = spawn_app().await;
    let carol = app.user("carol").await;
    problem(
        app.get("/api/v1/admin/audit", Some(&carol.token)).await,
        403,
    )
    .await;

    let out = admin_cli(&app.db, &["grant", "carol", "moderator"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The role holds at once for a token already logged in (it is read afresh).
    let page = json_of(
        app.get("/api/v1/admin/audit", Some(&carol.token)).await,
        200,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["action"], "role_granted");
    assert_eq!(items[0]["target_type"], "user");
    assert_eq!(items[0]["target_id"], carol.id);
    assert_eq!(items[0]["actor_id"], Value::Null);
    assert_eq!(items[0]["note"], "moderator");

    let out = admin_cli(&app.db, &["grant", "nobody_here", "admin"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nobody_here"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = admin_cli(&app.db, &["grant", "carol", "emperor"]);
    assert!(!out.status.success());

    let out = admin_cli(&app.db, &["revoke", "carol"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    problem(
        app.get("/api/v1/admin/audit", Some(&carol.token)).await,
        403,
    )
    .await;

    // The revocation is in the log too, newest first.
    let admin = app.user("root").await;
    grant(&app, &admin, Role::Admin);
    let page = json_of(
        app.get("/api/v1/admin/audit", Some(&admin.token)).await,
        200,
    )
    .await;
    let actions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["role_revoked", "role_granted"]);
}

#[actix_web::test]
async fn the_audit_log_pages_newest_first_and_filters_by_target() {
    let app = spawn_app().await;
    let moderator = moderator(&app, "mod").await;
    {
        let mut conn = app.db.connect();
        let conn: &mut DbConnection = &mut conn;
        for i in 1..=5 {
            let target = if i % 2 == 0 {
                AuditTarget::Listing
            } else {
                AuditTarget::User
            };
            let note = format!("entry {i}");
            let entry = NewAuditEntry::new(None, "test_entry", target, 7, &note);
            audit::append(conn, &entry).expect("append");
        }
    }
    let mut notes = Vec::new();
    let mut path = "/api/v1/admin/audit?limit=2".to_owned();
    loop {
        let page = json_of(app.get(&path, Some(&moderator.token)).await, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        notes.extend(items.iter().map(|e| e["note"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/admin/audit?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        notes,
        ["entry 5", "entry 4", "entry 3", "entry 2", "entry 1"]
    );

    let page = json_of(
        app.get(
            "/api/v1/admin/audit?target_type=listing&target_id=7",
            Some(&moderator.token),
        )
        .await,
        200,
    )
    .await;
    let notes: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["entry 4", "entry 2"]);

    invalid_fields(
        app.get(
            "/api/v1/admin/audit?target_type=planet&target_id=7",
            Some(&moderator.token),
        )
        .await,
        &["target_type"],
    )
    .await;
    invalid_fields(
        app.get(
            "/api/v1/admin/audit?target_type=user",
            Some(&moderator.token),
        )
        .await,
        &["target_id"],
    )
    .await;
    invalid_fields(
        app.get(
            "/api/v1/admin/audit?cursor=nonsense",
            Some(&moderator.token),
        )
        .await,
        &["cursor"],
    )
    .await;
}

#[actix_web::test]
async fn nothing_can_update_or_delete_the_audit_log() {
    let app = spawn_app().await;
    let mut conn = app.db.connect();
    let conn: &mut DbConnection = &mut conn;
    let entry = NewAuditEntry::new(None, "test_entry", AuditTarget::User, 1, "kept");
    let kept = audit::append(conn, &entry).expect("append");
    for statement in [
        "UPDATE audit_log SET note = 'changed'",
        "DELETE FROM audit_log",
    ] {
        let refused = conn.batch_execute(statement).expect_err(statement);
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
    if app.db.is_postgres() {
        assert!(conn.batch_execute("TRUNCATE audit_log").is_err());
    }
    let rows = audit::page(conn, None, None, 10).expect("read");
    assert_eq!(rows, vec![kept]);
}
