//! Delivery through the sharded broker and the workers' hubs: each topic's order on every
//! socket whichever shard and worker carry it, replays racing commits on several topics, and
//! a worker's sockets that leave a topic one by one.

use crate::helpers::*;
use crate::ws_helpers::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// Edits `listing` `count` times, each answered before the next.
async fn edit(app: &TestApp, seller: &TestUser, listing: &Value, count: usize, tag: &str) {
    let path = format!("/api/v1/listings/{}", listing["id"]);
    for i in 0..count {
        json_of(
            app.patch(
                &path,
                Some(&seller.token),
                &json!({"title": format!("{tag} {i}")}),
            )
            .await,
            200,
        )
        .await;
    }
}

#[actix_web::test]
async fn every_socket_gets_each_topics_events_once_in_order_across_shards_and_workers() {
    let app = spawn_app_with(|s| s.broker_shards = Some(3)).await;
    let seller = app.user("seller").await;
    let watcher = app.user("watcher").await;
    let mut listings = Vec::new();
    for i in 0..4 {
        listings.push(
            app.listing(&seller, json!({"title": format!("item {i}")}))
                .await,
        );
    }
    let topics: Vec<String> = listings
        .iter()
        .map(|l| format!("listing:{}", l["id"]))
        .collect();
    // 10 edits on each before anyone subscribes, 20 on each while six sockets subscribe from
    // 0 (so the replays race the commits), from four publishers at once.
    for listing in &listings {
        edit(&app, &seller, listing, 10, "before").await;
    }
    let writers = futures_util::future::join_all(
        listings
            .iter()
            .map(|listing| edit(&app, &seller, listing, 20, "during")),
    );
    let readers = async {
        let mut clients = Vec::new();
        for _ in 0..6 {
            let mut ws = connect(&app, &watcher).await;
            // All four at once: the events of one arrive while the next is subscribed.
            for topic in &topics {
                ws.send(json!({"op": "subscribe", "topic": topic, "since": 0, "ref": topic}))
                    .await;
            }
            clients.push(ws);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        clients
    };
    let (_, mut clients) = futures_util::future::join(writers, readers).await;
    // listing.created at seq 1, then 30 edits.
    let expected: Vec<i64> = (1..=31).collect();
    for ws in &mut clients {
        let mut seqs: HashMap<String, Vec<i64>> = HashMap::new();
        while seqs.values().map(Vec::len).sum::<usize>() < topics.len() * expected.len() {
            let frame = ws.until(|f| f["type"] == "event").await;
            let topic = frame["topic"].as_str().unwrap().to_owned();
            seqs.entry(topic)
                .or_default()
                .push(frame["seq"].as_i64().unwrap());
        }
        for topic in &topics {
            assert_eq!(seqs[topic], expected, "{topic}");
        }
        ws.quiet(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn sockets_that_leave_a_topic_stop_getting_it_and_the_others_keep_it() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let watcher = app.user("watcher").await;
    let listing = app.listing(&seller, json!({})).await;
    let topic = format!("listing:{}", listing["id"]);
    // Six sockets over the two workers: some share a worker's hub.
    let mut clients = Vec::new();
    for _ in 0..6 {
        let mut ws = connect(&app, &watcher).await;
        ws.subscribe(&topic, None).await;
        clients.push(ws);
    }
    let (leaving, staying) = clients.split_at_mut(3);
    for ws in leaving.iter_mut() {
        ws.send(json!({"op": "unsubscribe", "topic": topic, "ref": "bye"}))
            .await;
        ws.until(|f| f["type"] == "unsubscribed").await;
    }
    edit(&app, &seller, &listing, 2, "after").await;
    for ws in staying.iter_mut() {
        assert_eq!(ws.event(&topic).await["seq"], 2);
        assert_eq!(ws.event(&topic).await["seq"], 3);
    }
    for ws in leaving.iter_mut() {
        ws.quiet(Duration::from_millis(300)).await;
    }
    // The last ones leave; a socket that subscribes again gets the topic from where it asks.
    for ws in staying.iter_mut() {
        ws.send(json!({"op": "unsubscribe", "topic": topic, "ref": "bye"}))
            .await;
        ws.until(|f| f["type"] == "unsubscribed").await;
    }
    edit(&app, &seller, &listing, 1, "unheard").await;
    let ws = &mut leaving[0];
    ws.subscribe(&topic, Some(1)).await;
    for seq in 2..=4 {
        assert_eq!(ws.event(&topic).await["seq"], seq);
    }
    edit(&app, &seller, &listing, 1, "live again").await;
    assert_eq!(ws.event(&topic).await["seq"], 5);
    ws.quiet(Duration::from_millis(200)).await;
}
