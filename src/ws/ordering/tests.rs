//! The ordering state machine, by example and against a simulated topic: events commit one
//! after another, arrive live in any order (some twice, some that committed before the
//! subscription too), and reads see the table as it stood at some moment after they were
//! asked; whatever the interleaving, each seq after the start is written once, in order.

use super::*;
use proptest::prelude::*;

fn seqs(step: &Step<i64>) -> Vec<i64> {
    step.write.clone()
}

fn page(from: i64, to: i64) -> Vec<(i64, i64)> {
    (from..=to).map(|s| (s, s)).collect()
}

#[test]
fn live_events_in_order_are_written_and_repeats_dropped() {
    let mut t = TopicOrder::default();
    t.start_read();
    assert_eq!(
        t.read_done(Position::Live, 4, vec![], false),
        Step::default()
    );
    assert_eq!(seqs(&t.live(5, 5)), [5]);
    assert_eq!(t.live(5, 5), Step::default());
    assert_eq!(t.live(3, 3), Step::default());
    assert_eq!(seqs(&t.live(6, 6)), [6]);
}

#[test]
fn an_event_past_a_gap_is_held_while_the_gap_is_read() {
    let mut t = TopicOrder::default();
    t.start_read();
    t.read_done(Position::Live, 2, vec![], false);
    let step = t.live(5, 5);
    assert_eq!(step.write, Vec::<i64>::new());
    assert_eq!(step.read, Some(Position::Continue(2)));
    // Another live one waits too, even the next in line.
    assert_eq!(t.live(3, 3), Step::default());
    let done = t.read_done(Position::Continue(2), 5, page(3, 5), false);
    assert_eq!(
        done,
        Step {
            write: vec![3, 4, 5],
            read: None
        }
    );
    assert_eq!(seqs(&t.live(6, 6)), [6]);
}

#[test]
fn a_resume_replays_after_since_then_releases_what_was_held() {
    let mut t = TopicOrder::default();
    t.start_read();
    assert_eq!(t.live(8, 8), Step::default());
    assert_eq!(t.live(7, 7), Step::default());
    // Pages of two: the first is full, so the topic reads on from where it stopped.
    let first = t.read_done(Position::After(3), 6, page(4, 5), true);
    assert_eq!(
        first,
        Step {
            write: vec![4, 5],
            read: Some(Position::Continue(5))
        }
    );
    let second = t.read_done(Position::Continue(5), 6, page(6, 6), false);
    assert_eq!(
        second,
        Step {
            write: vec![6, 7, 8],
            read: None
        }
    );
}

#[test]
fn subscribing_live_starts_before_the_first_event_held() {
    let mut t = TopicOrder::default();
    t.start_read();
    t.live(10, 10);
    // The head was read after event 10 and 11 committed: 11 was not (yet) delivered live.
    let step = t.read_done(Position::Live, 11, vec![], false);
    assert_eq!(
        step,
        Step {
            write: vec![],
            read: Some(Position::Continue(9))
        }
    );
    let step = t.read_done(Position::Continue(9), 11, page(10, 11), false);
    assert_eq!(step.write, [10, 11]);
}

#[test]
fn a_since_past_the_head_starts_at_the_head() {
    let mut t = TopicOrder::default();
    t.start_read();
    assert_eq!(
        t.read_done(Position::After(50), 7, vec![], false),
        Step::default()
    );
    assert_eq!(seqs(&t.live(8, 8)), [8]);
}

#[test]
fn a_gap_left_among_held_events_is_read() {
    let mut t = TopicOrder::default();
    t.start_read();
    t.live(3, 3);
    t.live(6, 6);
    let step = t.read_done(Position::After(2), 3, page(3, 3), false);
    assert_eq!(
        step,
        Step {
            write: vec![3],
            read: Some(Position::Continue(3))
        }
    );
    let step = t.read_done(Position::Continue(3), 6, page(4, 6), false);
    assert_eq!(step.write, [4, 5, 6]);
}

#[test]
fn next_in_line_is_the_in_order_case_of_live_only() {
    let mut t = TopicOrder::default();
    t.start_read();
    // Held while the first read is in flight.
    assert!(!t.next_in_line(1));
    assert_eq!(seqs(&t.live(1, 1)), Vec::<i64>::new());
    assert_eq!(
        seqs(&t.read_done(Position::Live, 0, Vec::new(), false)),
        [1]
    );
    assert!(t.next_in_line(2));
    // A repeat and a gap are for `live` to decide.
    assert!(!t.next_in_line(2));
    assert!(!t.next_in_line(4));
    assert_eq!(t.live(4, 4).read, Some(Position::Continue(2)));
}

/// What happens next in the simulation, picked by proptest; each picks among what can happen
/// (an index is taken modulo the choices), and a pick that cannot happen does nothing.
#[derive(Clone, Debug)]
enum Move {
    Commit,
    /// Deliver one of the events published but not yet delivered; `again` keeps it for a
    /// second delivery (another process's relay catching up).
    Deliver {
        pick: usize,
        again: bool,
    },
    /// Answer the read in flight, seeing the table as it stood somewhere between the request
    /// and now.
    Answer {
        seen: usize,
    },
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    prop::collection::vec(
        prop_oneof![
            2 => Just(Move::Commit),
            3 => (any::<usize>(), prop::bool::weighted(0.1))
                .prop_map(|(pick, again)| Move::Deliver { pick, again }),
            2 => any::<usize>().prop_map(|seen| Move::Answer { seen }),
        ],
        0..80,
    )
}

/// The topic's events table and the broker, around one socket's `TopicOrder`.
struct Sim {
    order: TopicOrder<i64>,
    page: usize,
    committed: i64,
    total: i64,
    /// Published, not yet delivered to the socket.
    in_transit: Vec<i64>,
    /// The read in flight: where from, and the head when it was asked.
    read: Option<(Position, i64)>,
    /// The head the first (live) read saw: where the subscription says it starts.
    live_head: Option<i64>,
    written: Vec<i64>,
}

impl Sim {
    fn take(&mut self, step: Step<i64>) {
        self.written.extend(step.write);
        if let Some(position) = step.read {
            assert!(self.read.is_none(), "two reads in flight");
            self.read = Some((position, self.committed));
        }
    }

    fn commit(&mut self) {
        if self.committed < self.total {
            self.committed += 1;
            self.in_transit.push(self.committed);
        }
    }

    fn deliver(&mut self, pick: usize, again: bool) {
        if self.in_transit.is_empty() {
            return;
        }
        let i = pick % self.in_transit.len();
        let seq = if again {
            self.in_transit[i]
        } else {
            self.in_transit.swap_remove(i)
        };
        // As the outbox does: the common case first, then the full rule.
        if self.order.next_in_line(seq) {
            self.written.push(seq);
            return;
        }
        let step = self.order.live(seq, seq);
        self.take(step);
    }

    fn answer(&mut self, seen: usize) {
        let Some((position, asked_at)) = self.read.take() else {
            return;
        };
        let choices = (self.committed - asked_at + 1) as usize;
        let head = asked_at + (seen % choices) as i64;
        let events = match position.since() {
            Some(since) if since < head => (since.max(0) + 1..=head)
                .take(self.page)
                .map(|s| (s, s))
                .collect(),
            _ => Vec::new(),
        };
        if position == Position::Live {
            self.live_head = Some(head);
        }
        let full = events.len() == self.page;
        let step = self.order.read_done(position, head, events, full);
        self.take(step);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_event_is_written_once_in_seq_order(
        before in 0i64..8,
        after in 0i64..12,
        since in prop::option::of(0i64..8),
        // Of the events committed before subscribing, how many were published after it.
        late in 0usize..4,
        page in 1usize..4,
        moves in moves(),
    ) {
        let since = since.map(|s| s.min(before));
        let mut sim = Sim {
            order: TopicOrder::default(),
            page,
            committed: before,
            total: before + after,
            in_transit: (before - (late as i64).min(before) + 1..=before).collect(),
            read: None,
            live_head: None,
            written: Vec::new(),
        };
        // Subscribing: held from registration, then the first read.
        sim.order.start_read();
        let first = since.map_or(Position::Live, Position::After);
        sim.read = Some((first, sim.committed));
        for m in moves {
            match m {
                Move::Commit => sim.commit(),
                Move::Deliver { pick, again } => sim.deliver(pick, again),
                Move::Answer { seen } => sim.answer(seen),
            }
        }
        // Then everything settles: every event commits and arrives, every read is answered.
        while sim.committed < sim.total {
            sim.commit();
        }
        while !sim.in_transit.is_empty() || sim.read.is_some() {
            sim.deliver(0, false);
            sim.answer(usize::MAX);
        }
        let start = match since {
            Some(s) => s,
            None => sim.written.first().map_or(sim.total, |s| s - 1),
        };
        let expected: Vec<i64> = (start + 1..=sim.total).collect();
        prop_assert_eq!(&sim.written, &expected);
        // Live from subscribing: nothing after the head the subscription announced is lost.
        if since.is_none() {
            prop_assert!(start <= sim.live_head.unwrap_or(sim.total));
        }
    }
}
