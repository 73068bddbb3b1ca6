//! The queue behind group commit: commands that arrive while a batch is committing wait
//! here, and the next batch takes all of them. The actor that owns the queue runs each batch
//! as one transaction (`ListingActor`'s purchases, `ChatWriter`'s messages) and answers every
//! command after the commit.

use actix::{Message, Recipient};
use tokio::sync::oneshot;

/// Where a command's outcome goes.
pub enum Reply<R: Send + 'static> {
    /// To a caller awaiting it.
    Caller(oneshot::Sender<R>),
    /// Into an actor's mailbox, tagged with the caller's `ticket`. A mailbox keeps the order
    /// messages were sent in, so the answer is ahead of anything the answering actor causes
    /// to be sent to that actor afterwards (a socket session writes its ack before its own
    /// copy of the event the command published).
    Mailbox {
        to: Recipient<Answered<R>>,
        ticket: u64,
    },
}

impl<R: Send + 'static> Reply<R> {
    /// A reply to a caller, and where the caller awaits it.
    pub fn caller() -> (Reply<R>, oneshot::Receiver<R>) {
        let (reply, outcome) = oneshot::channel();
        (Reply::Caller(reply), outcome)
    }

    pub fn send(self, outcome: R) {
        match self {
            // A caller that gave up waiting is no reason to stop answering the others.
            Reply::Caller(reply) => {
                let _ = reply.send(outcome);
            }
            Reply::Mailbox { to, ticket } => to.do_send(Answered { ticket, outcome }),
        }
    }
}

/// A command's outcome, delivered into the mailbox of the actor that sent it.
#[derive(Debug)]
pub struct Answered<R> {
    pub ticket: u64,
    pub outcome: R,
}

impl<R: 'static> Message for Answered<R> {
    type Result = ();
}

/// Commands `C` waiting for the next batch, each with where its outcome `R` goes.
pub struct Queue<C, R: Send + 'static> {
    waiting: Vec<(C, Reply<R>)>,
    scheduled: bool,
}

impl<C, R: Send + 'static> Default for Queue<C, R> {
    fn default() -> Self {
        Queue {
            waiting: Vec::new(),
            scheduled: false,
        }
    }
}

impl<C, R: Send + 'static> Queue<C, R> {
    /// Queues `command`. Returns where its outcome will arrive, and true when no batch is
    /// scheduled yet: the caller schedules one.
    pub fn push(&mut self, command: C) -> (oneshot::Receiver<R>, bool) {
        let (reply, outcome) = Reply::caller();
        (outcome, self.push_reply(command, reply))
    }

    /// Queues `command`, its outcome to go to `reply`. True when the caller schedules a batch.
    pub fn push_reply(&mut self, command: C, reply: Reply<R>) -> bool {
        self.waiting.push((command, reply));
        let schedule = !self.scheduled;
        self.scheduled = true;
        schedule
    }

    /// Everything queued, for the batch about to run; the next push schedules another.
    pub fn take(&mut self) -> (Vec<C>, Replies<R>) {
        self.take_up_to(usize::MAX)
    }

    /// The first `most` commands queued, for the batch about to run. The rest wait for the
    /// next one, which the caller runs when this one ends (see `is_empty`); once nothing is
    /// left, the next push schedules another.
    pub fn take_up_to(&mut self, most: usize) -> (Vec<C>, Replies<R>) {
        let rest = if self.waiting.len() > most {
            self.waiting.split_off(most)
        } else {
            Vec::new()
        };
        let taken = std::mem::replace(&mut self.waiting, rest);
        self.scheduled = !self.waiting.is_empty();
        let (commands, replies) = taken.into_iter().unzip();
        (commands, Replies(replies))
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Commands waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }
}

/// Where the outcomes of a batch's commands go, in the commands' order.
pub struct Replies<R: Send + 'static>(Vec<Reply<R>>);

impl<R: Send + 'static> From<Reply<R>> for Replies<R> {
    fn from(reply: Reply<R>) -> Self {
        Replies(vec![reply])
    }
}

impl<R: Send + 'static> Replies<R> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Answers each command with its outcome, in order; a command left without one (the
    /// batch failed or panicked) gets `missing()`.
    pub fn answer(self, outcomes: impl IntoIterator<Item = R>, missing: impl Fn() -> R) {
        let mut outcomes = outcomes.into_iter();
        for reply in self.0 {
            reply.send(outcomes.next().unwrap_or_else(&missing));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_command_of_a_batch_schedules_it_and_take_starts_the_next() {
        let mut queue: Queue<u32, u32> = Queue::default();
        let (_a, first) = queue.push(1);
        let (_b, second) = queue.push(2);
        assert!(first && !second);
        let (commands, replies) = queue.take();
        assert_eq!(commands, [1, 2]);
        assert_eq!(replies.len(), 2);
        let (_c, after_take) = queue.push(3);
        assert!(after_take);
    }

    #[test]
    fn a_capped_batch_leaves_the_rest_queued_in_order() {
        let mut queue: Queue<u32, u32> = Queue::default();
        for i in 0..5 {
            queue.push(i);
        }
        let (first, _) = queue.take_up_to(3);
        assert_eq!(first, [0, 1, 2]);
        assert!(!queue.is_empty());
        // The rest are already scheduled: a push does not schedule them again.
        assert!(!queue.push(5).1);
        let (rest, _) = queue.take_up_to(3);
        assert_eq!(rest, [3, 4, 5]);
        assert!(queue.is_empty());
        assert!(queue.push(6).1);
    }

    #[test]
    fn every_command_is_answered_in_order_and_the_rest_get_missing() {
        let mut queue: Queue<u32, u32> = Queue::default();
        let mut answers: Vec<_> = (0..3).map(|i| queue.push(i).0).collect();
        let (_, replies) = queue.take();
        replies.answer([10, 11], || 0);
        let got: Vec<u32> = answers
            .iter_mut()
            .map(|a| a.try_recv().expect("answered"))
            .collect();
        assert_eq!(got, [10, 11, 0]);
    }
}
