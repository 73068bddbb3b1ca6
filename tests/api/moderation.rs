//! Trust and safety over the network: roles and the moderator gate, the append-only audit log,
//! `bazaar admin grant|revoke`.

use crate::helpers::*;
use bazaar_actors::domain::moderation::{AuditTarget, Role};
use bazaar_actors::store::audit::{self, NewAuditEntry};
use bazaar_actors::store::schema::users;
use bazaar_actors::store::DbConnection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};

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

/// A report by `reporter`; the response.
async fn report(app: &TestApp, reporter: &TestUser, body: Value) -> reqwest::Response {
    app.post("/api/v1/reports", Some(&reporter.token), &body)
        .await
}

/// A conversation on a new listing of `seller`, with one message from the seller: (conversation
/// id, message id).
async fn conversation_with_message(
    app: &TestApp,
    buyer: &TestUser,
    seller: &TestUser,
) -> (i64, i64) {
    let listing = app.listing(seller, json!({})).await;
    let conv = json_of(
        app.post(
            &format!("/api/v1/listings/{}/conversations", listing["id"]),
            Some(&buyer.token),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    let cid = conv["id"].as_i64().unwrap();
    let message = json_of(
        app.post(
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(&seller.token),
            &json!({"body": "pay me outside the app", "client_msg_id": "m1"}),
        )
        .await,
        201,
    )
    .await;
    (cid, message["id"].as_i64().unwrap())
}

#[actix_web::test]
async fn reports_are_filed_once_per_target_and_never_about_oneself() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let listing = app.listing(&bob, json!({})).await;
    let about_listing = json!({"target_type": "listing", "target_id": listing["id"], "reason": "counterfeit", "note": " fake logo "});

    problem(app.post("/api/v1/reports", None, &about_listing).await, 401).await;
    let made = json_of(report(&app, &alice, about_listing.clone()).await, 201).await;
    assert_eq!(made["status"], "open");
    assert_eq!(made["reporter_id"], alice.id);
    assert_eq!(made["target_type"], "listing");
    assert_eq!(made["reason"], "counterfeit");
    assert_eq!(made["note"], "fake logo");
    assert_eq!(made["resolution"], Value::Null);
    problem(report(&app, &alice, about_listing.clone()).await, 409).await;

    // Bob cannot report his own listing, nor anyone themselves.
    invalid_fields(report(&app, &bob, about_listing).await, &["target_id"]).await;
    invalid_fields(
        report(
            &app,
            &alice,
            json!({"target_type": "user", "target_id": alice.id, "reason": "spam"}),
        )
        .await,
        &["target_id"],
    )
    .await;
    json_of(
        report(
            &app,
            &alice,
            json!({"target_type": "user", "target_id": bob.id, "reason": "scam"}),
        )
        .await,
        201,
    )
    .await;
    problem(
        report(
            &app,
            &alice,
            json!({"target_type": "listing", "target_id": 999_999, "reason": "spam"}),
        )
        .await,
        404,
    )
    .await;
    // A draft is not visible to others: as if it did not exist.
    let draft = app.listing(&bob, json!({"status": "draft"})).await;
    problem(
        report(
            &app,
            &alice,
            json!({"target_type": "listing", "target_id": draft["id"], "reason": "spam"}),
        )
        .await,
        404,
    )
    .await;
    invalid_fields(
        report(
            &app,
            &alice,
            json!({"target_type": "listing", "target_id": listing["id"], "reason": "ugly"}),
        )
        .await,
        &["reason"],
    )
    .await;
    invalid_fields(
        report(
            &app,
            &alice,
            json!({"target_type": "planet", "target_id": 1, "reason": "spam"}),
        )
        .await,
        &["target_type"],
    )
    .await;
    invalid_fields(
        report(&app, &alice, json!({"target_type": "user", "target_id": bob.id, "reason": "spam", "note": "x".repeat(1001)})).await,
        &["note"],
    )
    .await;
}

#[actix_web::test]
async fn a_message_can_be_reported_only_by_a_party_of_its_conversation() {
    let app = spawn_app().await;
    let buyer = app.user("buyer").await;
    let seller = app.user("seller").await;
    let stranger = app.user("stranger").await;
    let (_, message) = conversation_with_message(&app, &buyer, &seller).await;
    let about = json!({"target_type": "message", "target_id": message, "reason": "scam"});
    // Someone else's conversation: 404, as if the message did not exist.
    problem(report(&app, &stranger, about.clone()).await, 404).await;
    invalid_fields(report(&app, &seller, about.clone()).await, &["target_id"]).await;
    let made = json_of(report(&app, &buyer, about).await, 201).await;
    assert_eq!(made["target_id"], message);
}

#[actix_web::test]
async fn reports_are_rate_limited_per_user() {
    let app = spawn_app_with(|s| {
        s.rate_limits = bazaar::config::Switch::On;
        s.limit_reports_per_user = "2/hour".parse().unwrap();
    })
    .await;
    let alice = app.user("alice").await;
    let others = app.db.users_fast("other", 3);
    for other in &others[..2] {
        json_of(
            report(
                &app,
                &alice,
                json!({"target_type": "user", "target_id": other.id, "reason": "spam"}),
            )
            .await,
            201,
        )
        .await;
    }
    let refused = report(
        &app,
        &alice,
        json!({"target_type": "user", "target_id": others[2].id, "reason": "spam"}),
    )
    .await;
    assert!(refused.headers().contains_key("retry-after"));
    problem(refused, 429).await;
}

#[actix_web::test]
async fn every_moderator_route_refuses_anonymous_owners_and_other_users() {
    let app = spawn_app().await;
    let owner = app.user("owner").await;
    let other = app.user("other").await;
    let moderator = moderator(&app, "mod").await;
    let made = json_of(
        report(
            &app,
            &owner,
            json!({"target_type": "user", "target_id": other.id, "reason": "spam"}),
        )
        .await,
        201,
    )
    .await;
    let rid = made["id"].as_i64().unwrap();
    let resolve = format!("/api/v1/admin/reports/{rid}/resolve");
    let suspend = format!("/api/v1/admin/users/{}/suspend", owner.id);
    let unsuspend = format!("/api/v1/admin/users/{}/unsuspend", owner.id);
    let dismiss = json!({"action": "dismiss", "note": "fine"});
    let note = json!({"note": "x"});
    // Anonymous: 401; the report's owner, the suspended user himself and anyone else: 403.
    for token in [None, Some(&owner.token), Some(&other.token)] {
        let status = if token.is_some() { 403 } else { 401 };
        let token = token.map(String::as_str);
        problem(app.get("/api/v1/admin/reports", token).await, status).await;
        problem(app.get("/api/v1/admin/audit", token).await, status).await;
        problem(app.post(&resolve, token, &dismiss).await, status).await;
        problem(app.post(&suspend, token, &note).await, status).await;
        problem(app.post(&unsuspend, token, &note).await, status).await;
    }
    // Nothing was changed by the refused calls.
    let queue = json_of(
        app.get("/api/v1/admin/reports", Some(&moderator.token))
            .await,
        200,
    )
    .await;
    assert_eq!(queue["items"][0]["id"], rid);
    assert_eq!(queue["items"][0]["status"], "open");
    json_of(app.get("/api/v1/me", Some(&owner.token)).await, 200).await;
    // The moderator may.
    let done = json_of(
        app.post(&resolve, Some(&moderator.token), &dismiss).await,
        200,
    )
    .await;
    assert_eq!(done["status"], "resolved");
    json_of(app.post(&suspend, Some(&moderator.token), &note).await, 200).await;
    json_of(
        app.post(&unsuspend, Some(&moderator.token), &note).await,
        200,
    )
    .await;
}

#[actix_web::test]
async fn the_queue_pages_oldest_first_and_a_dismissal_is_audited() {
    let app = spawn_app().await;
    let moderator = moderator(&app, "mod").await;
    let reporters = app.db.users_fast("reporter", 3);
    let target = app.user("target").await;
    let mut ids = Vec::new();
    for reporter in &reporters {
        let made = json_of(
            report(
                &app,
                reporter,
                json!({"target_type": "user", "target_id": target.id, "reason": "harassment"}),
            )
            .await,
            201,
        )
        .await;
        ids.push(made["id"].as_i64().unwrap());
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/reports?status=open&limit=2".to_owned();
    loop {
        let page = json_of(app.get(&path, Some(&moderator.token)).await, 200).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/admin/reports?status=open&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let resolve = format!("/api/v1/admin/reports/{}/resolve", ids[0]);
    invalid_fields(
        app.post(
            &resolve,
            Some(&moderator.token),
            &json!({"action": "remove_listing", "note": "no"}),
        )
        .await,
        &["action"],
    )
    .await;
    invalid_fields(
        app.post(
            &resolve,
            Some(&moderator.token),
            &json!({"action": "dismiss", "note": "no", "until": "2999-01-01T00:00:00Z"}),
        )
        .await,
        &["until"],
    )
    .await;
    invalid_fields(
        app.post(
            &resolve,
            Some(&moderator.token),
            &json!({"action": "suspend_user", "note": "no", "until": "2001-01-01T00:00:00Z"}),
        )
        .await,
        &["until"],
    )
    .await;
    let done = json_of(
        app.post(
            &resolve,
            Some(&moderator.token),
            &json!({"action": "dismiss", "note": "banter"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["resolution"], "dismiss");
    assert_eq!(done["resolved_by"], moderator.id);
    assert_eq!(done["resolution_note"], "banter");
    problem(
        app.post(
            &resolve,
            Some(&moderator.token),
            &json!({"action": "dismiss", "note": "again"}),
        )
        .await,
        409,
    )
    .await;
    problem(
        app.post(
            "/api/v1/admin/reports/999999/resolve",
            Some(&moderator.token),
            &json!({"action": "dismiss", "note": ""}),
        )
        .await,
        404,
    )
    .await;

    let open = json_of(
        app.get("/api/v1/admin/reports", Some(&moderator.token))
            .await,
        200,
    )
    .await;
    let open: Vec<i64> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(open, ids[1..]);
    let resolved = json_of(
        app.get(
            "/api/v1/admin/reports?status=resolved",
            Some(&moderator.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(resolved["items"][0]["id"], ids[0]);
    invalid_fields(
        app.get(
            "/api/v1/admin/reports?status=closed",
            Some(&moderator.token),
        )
        .await,
        &["status"],
    )
    .await;

    let audit = json_of(
        app.get("/api/v1/admin/audit", Some(&moderator.token)).await,
        200,
    )
    .await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "report_resolved");
    assert_eq!(entry["actor_id"], moderator.id);
    assert_eq!(entry["target_type"], "report");
    assert_eq!(entry["target_id"], ids[0]);
    assert_eq!(entry["note"], "dismiss: banter");
}

#[actix_web::test]
async fn a_suspension_ends_sessions_refuses_logins_and_is_lifted() {
    let app = spawn_app().await;
    let moderator = moderator(&app, "mod").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let listing = app.listing(&bob, json!({})).await;
    let made = json_of(
        report(
            &app,
            &alice,
            json!({"target_type": "listing", "target_id": listing["id"], "reason": "scam"}),
        )
        .await,
        201,
    )
    .await;
    let mut socket = crate::ws_helpers::connect(&app, &bob).await;
    let bobs_listings = format!("/api/v1/listings?seller_id={}", bob.id);
    let browse = json_of(app.get(&bobs_listings, None).await, 200).await;
    assert_eq!(browse["items"].as_array().unwrap().len(), 1);

    // Suspending over a listing report suspends its seller.
    let done = json_of(
        app.post(
            &format!("/api/v1/admin/reports/{}/resolve", made["id"]),
            Some(&moderator.token),
            &json!({"action": "suspend_user", "note": "selling fakes", "until": "2999-01-01T00:00:00Z"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["resolution"], "suspend_user");
    assert_eq!(socket.closed().await, Some(1008));
    problem(app.get("/api/v1/me", Some(&bob.token)).await, 401).await;
    let refused = problem(app.login("bob", "password123").await, 403).await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("2999-01-01T00:00:00Z"), "{detail}");
    assert!(detail.contains("selling fakes"), "{detail}");
    // A wrong password is still 401: the suspension is told only to the password's owner.
    problem(app.login("bob", "wrong-password").await, 401).await;
    // His listings are hidden from search and browse while it holds.
    let browse = json_of(app.get(&bobs_listings, Some(&alice.token)).await, 200).await;
    assert_eq!(browse["items"], json!([]));
    let found = json_of(app.get("/api/v1/listings?q=bicycle", None).await, 200).await;
    assert_eq!(found["items"], json!([]));
    // And by id, for everyone but him (once the listing cache's entry lapses, at most
    // --listing-cache-ms): it cannot be bought or offered on either.
    let path = format!("/api/v1/listings/{}", listing["id"]);
    let status_for = |who: Option<&TestUser>| {
        let (app, path, token) = (&app, &path, who.map(|u| u.token.clone()));
        async move { app.get(path, token.as_deref()).await.status().as_u16() }
    };
    assert!(
        wait_until(std::time::Duration::from_secs(10), || async {
            status_for(Some(&alice)).await == 404 && status_for(None).await == 404
        })
        .await,
        "a suspended seller's listing is still shown by id"
    );
    problem(
        app.post(&format!("{path}/purchase"), Some(&alice.token), &json!({}))
            .await,
        404,
    )
    .await;
    problem(
        app.post(
            &format!("{path}/offers"),
            Some(&alice.token),
            &json!({"amount_cents": 500}),
        )
        .await,
        404,
    )
    .await;

    let audit = json_of(
        app.get("/api/v1/admin/audit", Some(&moderator.token)).await,
        200,
    )
    .await;
    let actions: Vec<(&str, i64)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["target_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("report_resolved", made["id"].as_i64().unwrap()),
            ("user_suspended", bob.id)
        ]
    );

    let lifted = json_of(
        app.post(
            &format!("/api/v1/admin/users/{}/unsuspend", bob.id),
            Some(&moderator.token),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(lifted["id"], bob.id);
    json_of(app.login("bob", "password123").await, 201).await;
    let browse = json_of(app.get(&bobs_listings, None).await, 200).await;
    assert_eq!(browse["items"][0]["id"], listing["id"]);
    assert!(
        wait_until(std::time::Duration::from_secs(10), || async {
            status_for(Some(&alice)).await == 200
        })
        .await,
        "the listing is still hidden by id after the suspension was lifted"
    );

    // Suspended directly, until lifted; a moderator cannot suspend themselves.
    json_of(
        app.post(
            &format!("/api/v1/admin/users/{}/suspend", alice.id),
            Some(&moderator.token),
            &json!({"note": "spam"}),
        )
        .await,
        200,
    )
    .await;
    let refused = problem(app.login("alice", "password123").await, 403).await;
    assert!(refused["detail"].as_str().unwrap().contains("until lifted"));
    problem(
        app.post(
            &format!("/api/v1/admin/users/{}/suspend", moderator.id),
            Some(&moderator.token),
            &json!({"note": "x"}),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.post(
            "/api/v1/admin/users/999999/suspend",
            Some(&moderator.token),
            &json!({"note": "x"}),
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn removing_a_listing_refunds_paid_orders_declines_offers_and_tells_the_seller() {
    let app = spawn_app().await;
    let moderator = moderator(&app, "mod").await;
    let seller = app.user("seller").await;
    let [paid_buyer, shipped_buyer, bidder, stranger] =
        ["paid", "shipped", "bidder", "stranger"].map(|p| app.db.users_fast(p, 1).remove(0));
    let listing = app
        .listing(&seller, json!({"price_cents": 10_000, "quantity": 3}))
        .await;
    let lid = listing["id"].as_i64().unwrap();
    for buyer in [&paid_buyer, &shipped_buyer] {
        app.deposit(buyer, 10_000).await;
        app.give_address(buyer).await;
    }
    let paid = app.buy_one(&paid_buyer, &listing).await;
    let shipped = app.buy_one(&shipped_buyer, &listing).await;
    app.order_action(&seller, &shipped, "ship").await;
    let offer = json_of(
        app.post(
            &format!("/api/v1/listings/{lid}/offers"),
            Some(&bidder.token),
            &json!({"amount_cents": 8_000}),
        )
        .await,
        201,
    )
    .await;
    let made = json_of(
        report(
            &app,
            &stranger,
            json!({"target_type": "listing", "target_id": lid, "reason": "prohibited_item"}),
        )
        .await,
        201,
    )
    .await;
    let mut seller_socket = crate::ws_helpers::connect(&app, &seller).await;

    let done = json_of(
        app.post(
            &format!("/api/v1/admin/reports/{}/resolve", made["id"]),
            Some(&moderator.token),
            &json!({"action": "remove_listing", "note": "weapons are not allowed"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["resolution"], "remove_listing");

    // Hidden from everyone but its seller, who sees it removed.
    for viewer in [
        None,
        Some(stranger.token.as_str()),
        Some(moderator.token.as_str()),
    ] {
        problem(
            app.get(&format!("/api/v1/listings/{lid}"), viewer).await,
            404,
        )
        .await;
    }
    let own = json_of(
        app.get(&format!("/api/v1/listings/{lid}"), Some(&seller.token))
            .await,
        200,
    )
    .await;
    assert_eq!(own["status"], "removed");
    let browse = json_of(
        app.get(&format!("/api/v1/listings?seller_id={}", seller.id), None)
            .await,
        200,
    )
    .await;
    assert_eq!(browse["items"], json!([]));
    invalid_fields(
        app.get("/api/v1/listings?status=removed", None).await,
        &["status"],
    )
    .await;
    // The seller cannot bring it back.
    problem(
        app.patch(
            &format!("/api/v1/listings/{lid}"),
            Some(&seller.token),
            &json!({"status": "active"}),
        )
        .await,
        409,
    )
    .await;

    // The paid order is refunded, the shipped one goes on, the open offer is declined.
    let order = json_of(
        app.get(
            &format!("/api/v1/orders/{}", paid["id"]),
            Some(&paid_buyer.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(app.wallet(&paid_buyer).await["available_cents"], 10_000);
    let order = json_of(
        app.get(
            &format!("/api/v1/orders/{}", shipped["id"]),
            Some(&shipped_buyer.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(order["status"], "shipped");
    let offer = json_of(
        app.get(
            &format!("/api/v1/offers/{}", offer["id"]),
            Some(&bidder.token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(offer["status"], "declined");
    app.assert_ledger_balanced();

    // The seller hears of it live and in the inbox.
    let event = seller_socket
        .until(|f| f["event"] == "notification.listing_removed")
        .await;
    assert_eq!(event["data"]["listing_id"], lid);
    assert_eq!(event["data"]["note"], "weapons are not allowed");
    assert_eq!(event["data"]["refunded_order_ids"], json!([paid["id"]]));
    let inbox = json_of(
        app.get("/api/v1/notifications", Some(&seller.token)).await,
        200,
    )
    .await;
    assert!(inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["kind"] == "notification.listing_removed" && n["data"]["listing_id"] == lid));

    let audit = json_of(
        app.get("/api/v1/admin/audit", Some(&moderator.token)).await,
        200,
    )
    .await;
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["target_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("report_resolved", "report"),
            ("listing_removed", "listing")
        ]
    );

    // Removing it again is a conflict; another listing is removed directly.
    let remove = format!("/api/v1/admin/listings/{lid}/remove");
    problem(
        app.post(&remove, Some(&moderator.token), &json!({"note": "again"}))
            .await,
        409,
    )
    .await;
    let other = app.listing(&seller, json!({})).await;
    let other_path = format!("/api/v1/admin/listings/{}/remove", other["id"]);
    problem(app.post(&other_path, None, &json!({})).await, 401).await;
    problem(
        app.post(&other_path, Some(&seller.token), &json!({})).await,
        403,
    )
    .await;
    problem(
        app.post(&other_path, Some(&stranger.token), &json!({}))
            .await,
        403,
    )
    .await;
    let removed = json_of(
        app.post(
            &other_path,
            Some(&moderator.token),
            &json!({"note": "spam"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(removed["status"], "removed");
    problem(
        app.post(
            "/api/v1/admin/listings/999999/remove",
            Some(&moderator.token),
            &json!({}),
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn removing_a_message_replaces_it_for_both_parties_and_keeps_the_original() {
    let app = spawn_app().await;
    let moderator = moderator(&app, "mod").await;
    let buyer = app.user("buyer").await;
    let seller = app.user("seller").await;
    let (cid, message) = conversation_with_message(&app, &buyer, &seller).await;
    let made = json_of(
        report(
            &app,
            &buyer,
            json!({"target_type": "message", "target_id": message, "reason": "scam"}),
        )
        .await,
        201,
    )
    .await;
    let mut buyer_socket = crate::ws_helpers::connect(&app, &buyer).await;
    let mut seller_socket = crate::ws_helpers::connect(&app, &seller).await;

    let done = json_of(
        app.post(
            &format!("/api/v1/admin/reports/{}/resolve", made["id"]),
            Some(&moderator.token),
            &json!({"action": "remove_message", "note": "off-platform payment"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["resolution"], "remove_message");
    for socket in [&mut buyer_socket, &mut seller_socket] {
        let event = socket.until(|f| f["event"] == "chat.message_removed").await;
        assert_eq!(event["data"]["message_id"], message);
        assert_eq!(event["data"]["conversation_id"], cid);
        assert_eq!(event["data"]["body"], "[removed by a moderator]");
    }
    for party in [&buyer, &seller] {
        let page = json_of(
            app.get(
                &format!("/api/v1/conversations/{cid}/messages"),
                Some(&party.token),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(page["items"][0]["id"], message);
        assert_eq!(page["items"][0]["body"], "[removed by a moderator]");
    }
    // The original is kept for moderators; a second removal is a conflict.
    let remove = format!("/api/v1/admin/messages/{message}/remove");
    problem(
        app.post(&remove, Some(&moderator.token), &json!({})).await,
        409,
    )
    .await;
    let mut conn = app.db.connect();
    let original = bazaar_actors::store::removed_messages::original_body(&mut conn, message)
        .expect("read")
        .expect("kept");
    assert_eq!(original, "pay me outside the app");
    drop(conn);
    let audit = json_of(
        app.get("/api/v1/admin/audit", Some(&moderator.token)).await,
        200,
    )
    .await;
    assert_eq!(audit["items"][1]["action"], "message_removed");
    assert_eq!(audit["items"][1]["target_id"], message);

    // Directly: anonymous 401, the parties and anyone else 403, a moderator 200.
    let (_, other) = conversation_with_message(&app, &buyer, &seller).await;
    let remove = format!("/api/v1/admin/messages/{other}/remove");
    problem(app.post(&remove, None, &json!({})).await, 401).await;
    for party in [&buyer, &seller] {
        problem(app.post(&remove, Some(&party.token), &json!({})).await, 403).await;
    }
    let removed = json_of(
        app.post(&remove, Some(&moderator.token), &json!({"note": "spam"}))
            .await,
        200,
    )
    .await;
    assert_eq!(removed["message"]["body"], "[removed by a moderator]");
    assert_eq!(removed["original_body"], "pay me outside the app");
    problem(
        app.post(
            "/api/v1/admin/messages/999999/remove",
            Some(&moderator.token),
            &json!({}),
        )
        .await,
        404,
    )
    .await;
}
