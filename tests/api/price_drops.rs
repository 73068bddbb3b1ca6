//! Scheduled price drops over the network: a seller's schedule drops the price step by step
//! to the floor, each step an ordinary price drop; set, restarted and stopped by PATCH; fired
//! once across several processes.

use crate::helpers::*;
use bazaar_actors::store::{self, DbConnection};
use serde_json::{json, Value};
use std::time::Duration;

fn fast_schedules(s: &mut bazaar::config::Settings) {
    s.auto_price_drop_min_interval_secs = 1;
    s.timer_interval_ms = 50;
}

/// A server process whose schedules may drop every second and whose timers look every 20 ms.
const SERVE_FAST_SCHEDULES: [&str; 5] = [
    "serve",
    "--auto-price-drop-min-interval-secs",
    "1",
    "--timer-interval-ms",
    "20",
];

fn schedule(percent: i64, interval_secs: i64, floor_cents: i64) -> Value {
    json!({"percent": percent, "interval_secs": interval_secs, "floor_cents": floor_cents})
}

async fn listing_as(app: &TestApp, listing: &Value, viewer: Option<&TestUser>) -> Value {
    let path = format!("/api/v1/listings/{}", listing["id"]);
    json_of(app.get(&path, viewer.map(|v| v.token.as_str())).await, 200).await
}

/// The price drops recorded on a listing's topic: (old, new) prices and when.
fn drops(conn: &mut DbConnection, listing: &Value) -> Vec<(i64, i64, chrono::NaiveDateTime)> {
    let topic = format!("listing:{}", listing["id"]);
    store::events::after(conn, &topic, 0, 1_000)
        .expect("read events")
        .into_iter()
        .filter(|e| e.event_type == "listing.price_dropped")
        .map(|e| {
            let data: Value = serde_json::from_str(&e.data).unwrap();
            let cents = |k: &str| data[k].as_i64().unwrap();
            (
                cents("old_price_cents"),
                cents("new_price_cents"),
                e.created_at,
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_schedule_drops_the_price_step_by_step_to_the_floor_as_ordinary_drops() {
    let app = spawn_app_with(fast_schedules).await;
    let seller = app.user("seller").await;
    let fan = app.user("fan").await;
    let stranger = app.user("stranger").await;
    let listing = json_of(
        app.post(
            "/api/v1/listings",
            Some(&seller.token),
            &json!({"title": "Lamp", "price_cents": 10_000,
                    "auto_price_drop": schedule(10, 1, 8_000)}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(listing["auto_price_drop"], schedule(10, 1, 8_000));
    assert!(listing["next_price_drop_at"].is_string(), "{listing}");
    // Others see when the next drop is due, but not the seller's floor.
    let seen = listing_as(&app, &listing, Some(&stranger)).await;
    assert!(seen["next_price_drop_at"].is_string());
    assert!(seen.get("auto_price_drop").is_none(), "{seen}");
    app.like(&fan, &listing, None).await;

    let finished = wait_until(Duration::from_secs(60), || async {
        let now = listing_as(&app, &listing, Some(&seller)).await;
        now["price_cents"] == 8_000 && now["next_price_drop_at"].is_null()
    })
    .await;
    assert!(finished, "the schedule did not finish");
    let done = listing_as(&app, &listing, Some(&seller)).await;
    assert_eq!(done["auto_price_drop"], schedule(10, 1, 8_000));
    let steps: Vec<(i64, i64)> = drops(&mut app.db.connect(), &listing)
        .into_iter()
        .map(|(old, new, _)| (old, new))
        .collect();
    assert_eq!(steps, [(10_000, 9_000), (9_000, 8_100), (8_100, 8_000)]);
    // Each drop is an ordinary one: the fan hears of the 10% steps, not of the last 1.2%.
    let inbox = json_of(
        app.get("/api/v1/notifications", Some(&fan.token)).await,
        200,
    )
    .await;
    let alerts: Vec<i64> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "notification.price_drop")
        .map(|n| n["data"]["new_price_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(alerts, [9_000, 8_100]);
}

#[actix_web::test]
async fn a_schedule_is_validated_restarted_by_a_manual_price_change_and_stopped_by_null() {
    let app = spawn_app_with(|s| s.auto_price_drop_min_interval_secs = 3_600).await;
    let seller = app.user("seller").await;
    let create = |drop: Value| {
        let (app, token) = (&app, seller.token.clone());
        async move {
            app.post(
                "/api/v1/listings",
                Some(&token),
                &json!({"title": "Desk", "price_cents": 10_000, "auto_price_drop": drop}),
            )
            .await
        }
    };
    let cases = [
        (schedule(0, 3_600, 8_000), "auto_price_drop.percent"),
        (schedule(51, 3_600, 8_000), "auto_price_drop.percent"),
        (schedule(10, 3_599, 8_000), "auto_price_drop.interval_secs"),
        (schedule(10, 3_600, 10_000), "auto_price_drop.floor_cents"),
        (schedule(10, 3_600, 4_999), "auto_price_drop.floor_cents"),
    ];
    for (drop, field) in cases {
        invalid_fields(create(drop).await, &[field]).await;
    }
    let unknown = create(
        json!({"percent": 10, "interval_secs": 3_600, "floor_cents": 8_000,
                                "extra": 1}),
    )
    .await;
    problem(unknown, 422).await;

    let listing = json_of(create(schedule(10, 3_600, 8_000)).await, 201).await;
    let first = listing["next_price_drop_at"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/listings/{}", listing["id"]);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // A manual price change starts the schedule again from the new price and from now.
    let repriced = json_of(
        app.patch(&path, Some(&seller.token), &json!({"price_cents": 9_500}))
            .await,
        200,
    )
    .await;
    let restarted = repriced["next_price_drop_at"].as_str().unwrap();
    assert!(restarted > first.as_str(), "{restarted} after {first}");
    // The floor is checked against the price after the edit.
    invalid_fields(
        app.patch(
            &path,
            Some(&seller.token),
            &json!({"price_cents": 20_000, "auto_price_drop": schedule(10, 3_600, 8_000)}),
        )
        .await,
        &["auto_price_drop.floor_cents"],
    )
    .await;
    // null stops it.
    let stopped = json_of(
        app.patch(
            &path,
            Some(&seller.token),
            &json!({"auto_price_drop": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (&stopped["auto_price_drop"], &stopped["next_price_drop_at"]),
        (&Value::Null, &Value::Null)
    );
}

#[actix_web::test]
async fn two_processes_fire_each_scheduled_drop_once() {
    let db = TestDb::create();
    if !db.is_postgres() {
        eprintln!("needs PostgreSQL (set {PG_ENV}): SQLite is one process");
        return;
    }
    let args = SERVE_FAST_SCHEDULES;
    let env = [("DATABASE_URL", db.url())];
    let nodes = [
        ServerProcess::start(&args, &env, None),
        ServerProcess::start(&args, &env, None),
    ];
    let seller = &db.users_fast("s", 1)[0];
    let listing = post_json_as(
        &format!("{}/api/v1/listings", nodes[0].address),
        &seller.token,
        &json!({"title": "Chair", "price_cents": 10_000,
                "auto_price_drop": schedule(10, 1, 6_000)}),
    )
    .await;
    let url = format!("{}/api/v1/listings/{}", nodes[1].address, listing["id"]);
    let finished = wait_until(Duration::from_secs(60), || async {
        get_json(&url).await["next_price_drop_at"].is_null()
    })
    .await;
    assert!(finished, "the schedule did not finish");
    let steps = drops(&mut db.connect(), &listing);
    let prices: Vec<(i64, i64)> = steps.iter().map(|&(old, new, _)| (old, new)).collect();
    assert_eq!(
        prices,
        [
            (10_000, 9_000),
            (9_000, 8_100),
            (8_100, 7_290),
            (7_290, 6_561),
            (6_561, 6_000)
        ]
    );
    // Both processes' timekeepers saw every deadline. Each drop stores the next deadline as
    // its decision time plus the interval (the listing's `next_price_drop_at` in its
    // `listing.updated`); a deadline fired twice would show as a drop decided before the
    // deadline the previous one set.
    let topic = format!("listing:{}", listing["id"]);
    let updates: Vec<(Option<chrono::DateTime<chrono::Utc>>, chrono::NaiveDateTime)> =
        store::events::after(&mut db.connect(), &topic, 0, 1_000)
            .expect("read events")
            .into_iter()
            .filter(|e| e.event_type == "listing.created" || e.event_type == "listing.updated")
            .map(|e| {
                let data: Value = serde_json::from_str(&e.data).unwrap();
                let next = data["listing"]["next_price_drop_at"]
                    .as_str()
                    .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc());
                (next, e.created_at)
            })
            .collect();
    assert_eq!(updates.len(), 1 + prices.len(), "{updates:?}");
    for pair in updates.windows(2) {
        let set = pair[0].0.expect("a deadline before every drop");
        match pair[1].0 {
            Some(next) => assert!(next - set >= chrono::Duration::seconds(1), "{pair:?}"),
            None => assert!(pair[1].1.and_utc() >= set, "{pair:?}"),
        }
    }
}

/// The next drop is a stored deadline: a process killed before it and a new one started after
/// it makes the drop, once (both backends).
#[actix_web::test]
async fn a_schedule_survives_a_kill_and_its_missed_drop_fires_after_the_restart() {
    let db = TestDb::create();
    let args = SERVE_FAST_SCHEDULES;
    let env = [("DATABASE_URL", db.url())];
    // Started first: it migrates the database.
    let first = ServerProcess::start(&args, &env, None);
    let seller = &db.users_fast("s", 1)[0];
    let listing = post_json_as(
        &format!("{}/api/v1/listings", first.address),
        &seller.token,
        &json!({"title": "Lamp", "price_cents": 10_000,
                "auto_price_drop": schedule(10, 3, 6_000)}),
    )
    .await;
    assert!(listing["next_price_drop_at"].is_string(), "{listing}");
    // kill -9 before the deadline; nothing runs when it passes.
    drop(first);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert!(drops(&mut db.connect(), &listing).is_empty());

    let second = ServerProcess::start(&args, &env, None);
    let url = format!("{}/api/v1/listings/{}", second.address, listing["id"]);
    let dropped = wait_until(Duration::from_secs(30), || async {
        get_json(&url).await["price_cents"] != json!(10_000)
    })
    .await;
    assert!(dropped, "the missed drop did not fire after the restart");
    let steps = drops(&mut db.connect(), &listing);
    assert_eq!((steps[0].0, steps[0].1), (10_000, 9_000), "{steps:?}");
    // Once: a later drop comes an interval after the first, not beside it.
    for pair in steps.windows(2) {
        assert!(
            pair[1].2 - pair[0].2 >= chrono::Duration::milliseconds(2_500),
            "{steps:?}"
        );
    }
}
