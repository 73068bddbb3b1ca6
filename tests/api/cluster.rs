//! Several server processes on one PostgreSQL database: live events cross between them,
//! correctness does not depend on which process a request lands on.

use crate::helpers::*;
use crate::ws_helpers::*;
use reqwest::Client;
use serde_json::{json, Value};
use std::time::Duration;

/// Server processes on one fresh PostgreSQL database (None on SQLite: one process only).
struct Cluster {
    db: TestDb,
    nodes: Vec<ServerProcess>,
    client: Client,
}

impl Cluster {
    fn start(count: usize, args: &[&str]) -> Option<Cluster> {
        let db = TestDb::create();
        if !db.is_postgres() {
            eprintln!("cluster tests need PostgreSQL (set {PG_ENV}); SQLite is one process");
            return None;
        }
        let env = [("DATABASE_URL", db.url())];
        let mut nodes = Vec::new();
        for i in 0..count {
            let node = format!("n{i}");
            let mut all = vec!["serve", "--node-id", node.as_str()];
            all.extend_from_slice(args);
            nodes.push(ServerProcess::start(&all, &env, None));
        }
        Some(Cluster {
            db,
            nodes,
            client: http_client(),
        })
    }

    fn at(&self, node: usize, path: &str) -> String {
        format!("{}{path}", self.nodes[node % self.nodes.len()].address)
    }

    async fn call(
        &self,
        node: usize,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.at(node, path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, node: usize, path: &str, token: &str, body: Value) -> Value {
        let (status, body) = self
            .call(node, reqwest::Method::POST, path, Some(token), body)
            .await;
        assert!(status < 300, "POST {path} on node {node}: {status} {body}");
        body
    }

    async fn socket(&self, node: usize, user: &TestUser) -> WsClient {
        match try_connect_to(&self.nodes[node].address, Some(&user.token), "", None).await {
            Connected::Open(c) => *c,
            Connected::Refused(s) => panic!("refused: {s}"),
        }
    }
}

#[actix_web::test]
async fn a_socket_on_one_process_sees_what_another_process_commits_in_order_once() {
    let Some(cluster) = Cluster::start(2, &[]) else {
        return;
    };
    let users = cluster.db.users_fast("u", 2);
    let (seller, buyer) = (&users[0], &users[1]);
    let listing = cluster
        .post(
            1,
            "/api/v1/listings",
            &seller.token,
            json!({"title": "Lamp", "price_cents": 10_000}),
        )
        .await;
    let topic = format!("listing:{}", listing["id"]);
    // The buyer watches on process 0; everything happens through process 1.
    let mut watcher = cluster.socket(0, buyer).await;
    watcher.subscribe(&topic, None).await;
    let mut seller_socket = cluster.socket(0, seller).await;
    let (status, _) = cluster
        .call(
            1,
            reqwest::Method::PATCH,
            &format!("/api/v1/listings/{}", listing["id"]),
            Some(&seller.token),
            json!({"price_cents": 8_000}),
        )
        .await;
    assert_eq!(status, 200);
    let updated = watcher.event(&topic).await;
    let dropped = watcher.event(&topic).await;
    assert_eq!(
        (updated["seq"].as_i64(), updated["event"].as_str()),
        (Some(2), Some("listing.updated"))
    );
    assert_eq!(
        (dropped["seq"].as_i64(), dropped["event"].as_str()),
        (Some(3), Some("listing.price_dropped"))
    );

    let conv = cluster
        .post(
            1,
            &format!("/api/v1/listings/{}/conversations", listing["id"]),
            &buyer.token,
            json!({}),
        )
        .await;
    let sent = cluster
        .post(
            1,
            &format!("/api/v1/conversations/{}/messages", conv["id"]),
            &buyer.token,
            json!({"body": "Still there?", "client_msg_id": "c1"}),
        )
        .await;
    let message = seller_socket.event(&format!("user:{}", seller.id)).await;
    assert_eq!(message["event"], "chat.message");
    assert_eq!(message["data"]["message"]["id"], sent["id"]);
    // The buyer's own socket on process 0 sees the message it sent through process 1 too.
    let own = watcher.event(&format!("user:{}", buyer.id)).await;
    assert_eq!(own["data"]["message"]["id"], sent["id"]);
    // Once each: nothing more arrives.
    watcher.quiet(Duration::from_millis(800)).await;
    seller_socket.quiet(Duration::from_millis(300)).await;

    // Logging out on process 1 closes the login's socket on process 0.
    let (status, _) = cluster
        .call(
            1,
            reqwest::Method::DELETE,
            "/api/v1/sessions/current",
            Some(&seller.token),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(seller_socket.closed().await, Some(1008));
}

#[actix_web::test]
async fn a_thousand_purchase_attempts_over_three_processes_sell_exactly_seven() {
    let Some(cluster) = Cluster::start(3, &["--pool-size", "8"]) else {
        return;
    };
    let mut users = cluster.db.users_fast("u", 101);
    let seller = users.remove(0);
    let listing = cluster
        .post(
            0,
            "/api/v1/listings",
            &seller.token,
            json!({"title": "Bike", "price_cents": 1_000, "quantity": 7}),
        )
        .await;
    for (i, buyer) in users.iter().enumerate() {
        cluster
            .post(
                i,
                "/api/v1/wallet/deposits",
                &buyer.token,
                json!({"amount_cents": 3_000}),
            )
            .await;
    }
    let path = format!("/api/v1/listings/{}/purchase", listing["id"]);
    let attempts = users.iter().enumerate().map(|(i, buyer)| {
        let (cluster, path) = (&cluster, path.clone());
        async move {
            let mut codes = Vec::new();
            for round in 0..10 {
                let (status, _) = cluster
                    .call(
                        i + round,
                        reqwest::Method::POST,
                        &path,
                        Some(&buyer.token),
                        json!({}),
                    )
                    .await;
                codes.push(status);
            }
            codes
        }
    });
    let codes: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(codes.len(), 1_000);
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 7, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 993);
    let (_, l) = cluster
        .call(
            2,
            reqwest::Method::GET,
            &format!("/api/v1/listings/{}", listing["id"]),
            None,
            Value::Null,
        )
        .await;
    assert_eq!(
        (l["quantity"].as_i64(), l["status"].as_str()),
        (Some(0), Some("sold_out"))
    );
    let mut conn = cluster.db.connect();
    assert_eq!(
        bazaar_actors::store::ledger::unbalanced_transactions(&mut conn).unwrap(),
        vec![]
    );
    let (_, sold) = cluster
        .call(
            1,
            reqwest::Method::GET,
            "/api/v1/orders?role=seller&limit=100",
            Some(&seller.token),
            Value::Null,
        )
        .await;
    assert_eq!(sold["items"].as_array().unwrap().len(), 7);
    let escrow: i64 = (1..=100)
        .map(|i| {
            bazaar_actors::store::ledger::balance(
                &mut conn,
                &bazaar_actors::domain::ledger::Account::Escrow(bazaar_actors::domain::UserId(
                    users[i - 1].id,
                )),
            )
            .unwrap()
        })
        .sum();
    assert_eq!(escrow, 7_000);
}

#[actix_web::test]
async fn an_offer_expiring_with_two_processes_running_expires_once() {
    let Some(cluster) = Cluster::start(2, &["--offer-ttl-secs", "1", "--timer-interval-ms", "20"])
    else {
        return;
    };
    let users = cluster.db.users_fast("u", 2);
    let (seller, buyer) = (&users[0], &users[1]);
    let listing = cluster
        .post(
            0,
            "/api/v1/listings",
            &seller.token,
            json!({"title": "Chair", "price_cents": 1_000}),
        )
        .await;
    let offer = cluster
        .post(
            1,
            &format!("/api/v1/listings/{}/offers", listing["id"]),
            &buyer.token,
            json!({"amount_cents": 600}),
        )
        .await;
    let mut expired = false;
    for _ in 0..100 {
        let (_, o) = cluster
            .call(
                0,
                reqwest::Method::GET,
                &format!("/api/v1/offers/{}", offer["id"]),
                Some(&buyer.token),
                Value::Null,
            )
            .await;
        if o["status"] == "expired" {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(expired);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut conn = cluster.db.connect();
    let events =
        bazaar_actors::store::events::after(&mut conn, &format!("user:{}", buyer.id), 0, 100)
            .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["offer.created", "offer.expired"]);
}

#[actix_web::test]
async fn killing_the_listener_connection_loses_no_event() {
    let Some(cluster) = Cluster::start(2, &[]) else {
        return;
    };
    let users = cluster.db.users_fast("u", 2);
    let (seller, watcher_user) = (&users[0], &users[1]);
    let listing = cluster
        .post(
            1,
            "/api/v1/listings",
            &seller.token,
            json!({"title": "Desk", "price_cents": 50_000}),
        )
        .await;
    let topic = format!("listing:{}", listing["id"]);
    let mut watcher = cluster.socket(0, watcher_user).await;
    watcher.subscribe(&topic, None).await;
    let path = format!("/api/v1/listings/{}", listing["id"]);
    let mut conn = cluster.db.connect();
    use diesel::prelude::*;
    for round in 0..3 {
        // Cut node 0's listener off (it reconnects on its own), and write through node 1 meanwhile.
        let killed: Vec<bool> = diesel::sql_query("SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'bazaar-listener-n0' AND datname = current_database()")
            .load::<Killed>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|k| k.killed)
            .collect();
        assert!(
            round > 0 || killed == [true],
            "no listener to kill: {killed:?}"
        );
        for i in 0..5 {
            let (status, _) = cluster
                .call(
                    1,
                    reqwest::Method::PATCH,
                    &path,
                    Some(&seller.token),
                    json!({"title": format!("r{round} e{i}")}),
                )
                .await;
            assert_eq!(status, 200);
        }
    }
    let mut seqs = Vec::new();
    while seqs.len() < 15 {
        seqs.push(watcher.event(&topic).await["seq"].as_i64().unwrap());
    }
    // Seq 1 is the listing.created from before the subscription.
    assert_eq!(seqs, (2..=16).collect::<Vec<_>>());
    watcher.quiet(Duration::from_millis(500)).await;
    // And the node reports itself ready again, with its listener.
    let (status, ready) = cluster
        .call(0, reqwest::Method::GET, "/readyz", None, Value::Null)
        .await;
    assert_eq!(
        (
            status,
            ready["event_listener"].as_str(),
            ready["node_id"].as_str()
        ),
        (200, Some("connected"), Some("n0"))
    );
}

#[derive(diesel::QueryableByName)]
struct Killed {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    killed: bool,
}

#[actix_web::test]
async fn a_node_whose_listener_cannot_connect_is_not_ready() {
    let db = TestDb::create();
    if !db.is_postgres() {
        return eprintln!("needs PostgreSQL (set {PG_ENV})");
    }
    let node = ServerProcess::start(
        &[
            "serve",
            "--node-id",
            "lonely",
            "--listener-database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        &[("DATABASE_URL", db.url())],
        None,
    );
    let client = http_client();
    let res = client
        .get(format!("{}/readyz", node.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("event listener"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("lonely"),
        "{body}"
    );
    let metrics = client
        .get(format!("{}/metrics", node.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("bazaar_event_listener_connected 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bazaar_node_info{node_id=\"lonely\"} 1"),
        "{metrics}"
    );
    // Liveness is not readiness.
    assert_eq!(
        client
            .get(format!("{}/healthz", node.address))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[actix_web::test]
async fn events_on_many_topics_at_once_cross_processes_each_topic_in_order_once() {
    let Some(cluster) = Cluster::start(2, &[]) else {
        return;
    };
    let users = cluster.db.users_fast("u", 2);
    let (seller, watcher_user) = (&users[0], &users[1]);
    const LISTINGS: usize = 12;
    const ROUNDS: usize = 4;
    let mut ids = Vec::new();
    for i in 0..LISTINGS {
        let listing = cluster
            .post(
                1,
                "/api/v1/listings",
                &seller.token,
                json!({"title": format!("Item {i}"), "price_cents": 10_000}),
            )
            .await;
        ids.push(listing["id"].as_i64().unwrap());
    }
    // One socket on process 0 watches every listing; process 1 changes them all at once, so
    // doorbells name several topics and one catch-up read covers several.
    let mut watcher = cluster.socket(0, watcher_user).await;
    for id in &ids {
        watcher.subscribe(&format!("listing:{id}"), None).await;
    }
    let changes = ids.iter().map(|&id| {
        let cluster = &cluster;
        async move {
            let path = format!("/api/v1/listings/{id}");
            for round in 0..ROUNDS {
                let (status, body) = cluster
                    .call(
                        1,
                        reqwest::Method::PATCH,
                        &path,
                        Some(&seller.token),
                        json!({"title": format!("Item {id} r{round}")}),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
            }
        }
    });
    futures::future::join_all(changes).await;
    let mut seen: std::collections::HashMap<String, Vec<i64>> = Default::default();
    for _ in 0..LISTINGS * ROUNDS {
        let frame = watcher
            .until(|f| f["type"] == "event" && f["event"] == "listing.updated")
            .await;
        seen.entry(frame["topic"].as_str().unwrap().to_owned())
            .or_default()
            .push(frame["seq"].as_i64().unwrap());
    }
    // Seq 1 of each is its listing.created, from before the subscription.
    let expected: Vec<i64> = (2..=ROUNDS as i64 + 1).collect();
    for id in &ids {
        assert_eq!(
            seen.get(&format!("listing:{id}")),
            Some(&expected),
            "listing {id}"
        );
    }
    watcher.quiet(Duration::from_millis(800)).await;
}

/// The doorbell is rung by the statement that writes the events: a transaction writing to a
/// thousand topics rings them all, in payloads PostgreSQL accepts, each topic with its last
/// seq, and the events take their topics' seqs in the order given.
#[actix_web::test]
async fn a_transaction_writing_to_many_topics_rings_every_one_with_its_last_seq() {
    use bazaar_actors::store::events::{self, PendingEvent, EVENTS_CHANNEL};
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        eprintln!("doorbells are PostgreSQL's (set {PG_ENV})");
        return;
    }
    let mut listener = diesel::PgConnection::establish(app.db.url()).expect("listener");
    listener
        .batch_execute(&format!("LISTEN {EVENTS_CHANNEL}"))
        .expect("listen");
    const TOPICS: usize = 1_000;
    // Every topic once, then every tenth again: those end at seq 2.
    let mut pending: Vec<PendingEvent> = (0..TOPICS)
        .chain((0..TOPICS).step_by(10))
        .map(|i| PendingEvent {
            topic: format!("user:{}", 1_000_000 + i),
            event_type: "test.rung",
            data: format!("{{\"i\":{i}}}"),
        })
        .collect();
    pending.rotate_left(3);
    let mut conn = app.db.connect();
    let written = conn
        .write_transaction(|c| events::publish(c, &pending))
        .expect("publish");
    assert_eq!(written.len(), pending.len());
    let mut expected: std::collections::BTreeMap<String, i64> = Default::default();
    for (event, sent) in written.iter().zip(&pending) {
        assert_eq!((&event.topic, &event.data), (&sent.topic, &sent.data));
        let last = expected.entry(event.topic.clone()).or_default();
        *last += 1;
        assert_eq!(event.seq, *last, "{} in the order given", event.topic);
    }
    let mut rung: std::collections::BTreeMap<String, i64> = Default::default();
    let mut payloads = 0;
    for _ in 0..500 {
        for n in listener.notifications_iter() {
            let n = n.expect("notification");
            assert!(n.payload.len() < 8_000, "{} bytes", n.payload.len());
            payloads += 1;
            for (topic, seq) in events::rung(&n.payload) {
                assert!(
                    rung.insert(topic.to_owned(), seq).is_none(),
                    "{topic} twice"
                );
            }
        }
        if rung.len() >= expected.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rung, expected);
    assert!(payloads > 1, "{payloads} payloads for {TOPICS} topics");
}
