//! The order a socket writes a topic's events in, kept apart from actix, Diesel and I/O: the
//! session feeds it live events and the results of its reads from the events table, and does
//! what it says (write these frames, read from there). It writes each seq once, in order:
//! repeats are dropped, an event past a gap is held while the gap is read, and live events are
//! held while any read of the topic is in flight, then released in seq order.

use std::collections::BTreeMap;

/// Where a read of the events table starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Live from the subscription on: only the topic's head is read, and the socket starts
    /// just before the first event held since registering (or at the head if none was).
    Live,
    /// After this seq, as the client asked: a resume may go back and repeat what was written.
    After(i64),
    /// After the last seq written: a gap to fill, or the next page of a replay.
    Continue(i64),
}

impl Position {
    /// The seq the table is read after; `None` reads the head only.
    pub fn since(self) -> Option<i64> {
        match self {
            Position::Live => None,
            Position::After(since) | Position::Continue(since) => Some(since),
        }
    }
}

/// What the session does next for a topic: write these frames, in this order, then start a
/// read from `read` if there is one (the topic counts it as in flight already).
#[derive(Debug, PartialEq, Eq)]
pub struct Step<F> {
    pub write: Vec<F>,
    pub read: Option<Position>,
}

impl<F> Default for Step<F> {
    fn default() -> Self {
        Step {
            write: Vec::new(),
            read: None,
        }
    }
}

/// One topic's delivery state on one connection.
#[derive(Debug)]
pub struct TopicOrder<F> {
    /// The last seq written to the socket.
    last: i64,
    /// Reads of the table in flight; while any is, live events wait in `held`.
    reading: usize,
    held: BTreeMap<i64, F>,
}

impl<F> Default for TopicOrder<F> {
    fn default() -> Self {
        TopicOrder {
            last: 0,
            reading: 0,
            held: BTreeMap::new(),
        }
    }
}

impl<F> TopicOrder<F> {
    /// The session is about to read the table for this topic (subscribe, resume): live events
    /// are held from now until the read is done.
    pub fn start_read(&mut self) {
        self.reading += 1;
    }

    /// A hold (`start_read`) ends without a read (a chat command was answered): the held
    /// events that follow are written once no read or other hold is in flight.
    pub fn end_hold(&mut self) -> Step<F> {
        let mut step = Step::default();
        self.reading = self.reading.saturating_sub(1);
        if self.reading == 0 {
            step.read = self.release(&mut step.write);
        }
        step
    }

    /// The common case of `live`, without a step to build: no read in flight and `seq` is
    /// the next one, so it is to be written now (and counts as written). When this says no,
    /// `live` decides.
    pub fn next_in_line(&mut self, seq: i64) -> bool {
        if self.reading == 0 && seq == self.last + 1 {
            self.last = seq;
            return true;
        }
        false
    }

    /// A live event from the broker.
    pub fn live(&mut self, seq: i64, frame: F) -> Step<F> {
        if self.reading > 0 {
            self.held.insert(seq, frame);
            return Step::default();
        }
        if seq <= self.last {
            return Step::default();
        }
        if seq == self.last + 1 {
            self.last = seq;
            return Step {
                write: vec![frame],
                read: None,
            };
        }
        self.held.insert(seq, frame);
        self.reading = 1;
        Step {
            write: Vec::new(),
            read: Some(Position::Continue(self.last)),
        }
    }

    /// The result of a read from `position`: the topic's `head` when read, the events after
    /// the position in seq order, and whether that page was full (more may follow).
    pub fn read_done(
        &mut self,
        position: Position,
        head: i64,
        events: Vec<(i64, F)>,
        page_full: bool,
    ) -> Step<F> {
        let mut step = Step::default();
        match position {
            Position::Live => {
                let first_held = self.held.keys().next().copied();
                // Live from the moment of registering: what was delivered since is written,
                // even if it committed before the head was read.
                let start = first_held.map_or(head, |first| first - 1).clamp(0, head);
                self.last = start;
                if start < head {
                    // Not everything between the first held event and the head was
                    // necessarily held (publishers race): read it from the table.
                    step.read = Some(Position::Continue(start));
                    return step;
                }
            }
            Position::After(since) => self.last = since.clamp(0, head),
            Position::Continue(_) => {}
        }
        for (seq, frame) in events {
            if seq <= self.last {
                continue;
            }
            if seq != self.last + 1 {
                // The table skipped a seq (it cannot, but then read on rather than write
                // out of order).
                step.read = Some(Position::Continue(self.last));
                return step;
            }
            self.last = seq;
            step.write.push(frame);
        }
        if page_full {
            step.read = Some(Position::Continue(self.last));
            return step;
        }
        self.reading = self.reading.saturating_sub(1);
        if self.reading == 0 {
            step.read = self.release(&mut step.write);
        }
        step
    }

    /// Writes the held events that follow `last`, in seq order. A gap left before the next
    /// held one is read from the table.
    fn release(&mut self, write: &mut Vec<F>) -> Option<Position> {
        while let Some(entry) = self.held.first_entry() {
            let seq = *entry.key();
            if seq <= self.last {
                entry.remove();
            } else if seq == self.last + 1 {
                write.push(entry.remove());
                self.last = seq;
            } else {
                self.reading = 1;
                return Some(Position::Continue(self.last));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
