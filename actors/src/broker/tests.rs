use super::*;
use crate::domain::ConnectionId;
use std::collections::HashMap;
use std::sync::Mutex;

type Seen = Arc<Mutex<Vec<(String, Option<i64>)>>>;

/// Records what it is delivered, in order.
struct Collector(Seen);

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<Deliver> for Collector {
    type Result = ();

    fn handle(&mut self, msg: Deliver, _ctx: &mut Self::Context) {
        self.0
            .lock()
            .unwrap()
            .push((msg.topic.to_string(), msg.seq));
    }
}

fn event(topic: &str, seq: i64) -> Event {
    Event {
        id: seq,
        topic: topic.to_owned(),
        seq,
        event_type: "listing.updated".to_owned(),
        data: format!("{{\"seq\":{seq}}}"),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc(),
    }
}

fn collector() -> (Subscriber, Seen) {
    let seen = Seen::default();
    let subscriber = Subscriber {
        recipient: Collector(seen.clone()).start().recipient(),
        backlog: Backlog::unbounded(),
    };
    (subscriber, seen)
}

async fn subscribe(broker: &Broker, topics: &[String], id: u64, subscriber: &Subscriber) {
    for topic in topics {
        broker
            .send(Subscribe {
                topic: topic.clone(),
                id: ConnectionId(id),
                subscriber: subscriber.clone(),
            })
            .await
            .unwrap();
    }
}

/// Waits (generously) until `seen` holds `count` deliveries.
async fn delivered(seen: &Seen, count: usize) -> Vec<(String, Option<i64>)> {
    for _ in 0..1_000 {
        if seen.lock().unwrap().len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    seen.lock().unwrap().clone()
}

#[actix_rt::test]
async fn topics_spread_over_the_shards_and_each_keeps_its_order() {
    let broker = Broker::start(4);
    let topics: Vec<String> = (0..32).map(|i| format!("listing:{i}")).collect();
    let used: std::collections::HashSet<usize> =
        topics.iter().map(|t| broker.shard_of(t)).collect();
    assert!(used.len() > 1, "32 topics all fell to one shard of 4");
    let (subscriber, seen) = collector();
    subscribe(&broker, &topics, 1, &subscriber).await;
    // Batches that mix every topic, from two publishers at once.
    let rounds = 20;
    let publish = |broker: Broker, topics: Vec<String>, from: i64| {
        std::thread::spawn(move || {
            for round in 0..rounds {
                let seq = from + round;
                broker.do_send(Publish {
                    events: topics.iter().map(|t| event(t, seq)).collect(),
                });
            }
        })
    };
    let even: Vec<String> = topics.iter().step_by(2).cloned().collect();
    let odd: Vec<String> = topics.iter().skip(1).step_by(2).cloned().collect();
    let (a, b) = (
        publish(broker.clone(), even, 1),
        publish(broker.clone(), odd, 1),
    );
    a.join().unwrap();
    b.join().unwrap();
    let all = delivered(&seen, topics.len() * rounds as usize).await;
    assert_eq!(all.len(), topics.len() * rounds as usize);
    let mut per_topic: HashMap<String, Vec<i64>> = HashMap::new();
    for (topic, seq) in all {
        per_topic.entry(topic).or_default().push(seq.unwrap());
    }
    for topic in &topics {
        assert_eq!(
            per_topic[topic],
            (1..=rounds).collect::<Vec<_>>(),
            "{topic}"
        );
    }
}

#[actix_rt::test]
async fn heads_gather_every_shard_and_unsubscribe_all_leaves_every_shard() {
    let broker = Broker::start(3);
    let topics: Vec<String> = (0..12).map(|i| format!("user:{i}")).collect();
    let (subscriber, seen) = collector();
    subscribe(&broker, &topics, 7, &subscriber).await;
    broker.do_send(Baseline {
        topic: topics[0].clone(),
        seq: 5,
    });
    broker.do_send(Publish {
        events: vec![event(&topics[1], 9)],
    });
    delivered(&seen, 1).await;
    let mut heads = broker.send(Heads).await.unwrap();
    heads.sort();
    let mut expected: Vec<(String, Option<i64>)> = topics
        .iter()
        .map(|t| {
            let seq = match t {
                t if t == &topics[0] => Some(5),
                t if t == &topics[1] => Some(9),
                _ => None,
            };
            (t.clone(), seq)
        })
        .collect();
    expected.sort();
    assert_eq!(heads, expected);

    broker.do_send(UnsubscribeAll {
        subscriber: ConnectionId(7),
    });
    assert_eq!(broker.send(Heads).await.unwrap(), vec![]);
}

#[actix_rt::test]
async fn a_subscriber_past_its_backlog_gets_nothing_more() {
    let broker = Broker::start_here(2);
    let seen = Seen::default();
    let subscriber = Subscriber {
        recipient: Collector(seen.clone()).start().recipient(),
        // Room for two of the frames below, not three.
        backlog: Backlog::new(2 * wire_bytes(event_frame(&event("listing:1", 1)).len()) + 2),
    };
    let topic = "listing:1".to_owned();
    subscribe(&broker, std::slice::from_ref(&topic), 1, &subscriber).await;
    broker.do_send(Publish {
        events: (1..=4).map(|seq| event(&topic, seq)).collect(),
    });
    let got = delivered(&seen, 2).await;
    // Nothing more arrives after the two that fit.
    broker.send(Heads).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(subscriber.backlog.overflowed());
}
