//! Limits on a connection: the outbound backlog and the assembly of fragmented client messages.
//!
//! actix-web-actors' `WebsocketContext` buffers outgoing frames without limit and does not show
//! the backlog, so the response stream is wrapped to count what the connection actually takes
//! (`Backlog::took`); producers admit what they enqueue (`Backlog::admit`). A connection that
//! stops reading also stops running its session, so the limit is enforced where frames are
//! enqueued, not in the session. Once the limit is passed the stream drops what the session
//! still buffers and ends with a close frame (1008 "backlog"), the next thing the client reads.
//!
//! Text frames are written into the connection's `Outbox` (by the session, and by the worker's
//! hub for live events); the context's own frames (ping, pong, close) come from its stream.
//! The response body takes from both: the outbox first, so a close frame comes after the text
//! written before it.

use super::outbox::SharedOutbox;
use super::protocol::CloseReason;
use actix_http::ws;
use actix_web::web::{Bytes, BytesMut};
use bazaar_actors::broker::{wire_bytes, Backlog};
use futures_util::task::AtomicWaker;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// The response body: the connection's outbox and the WebSocket context's byte stream,
/// counted. Once the backlog overflowed it yields a close frame at its next poll, dropping
/// what is still buffered, and ends.
///
/// The context (the session actor: its mailbox, timers and the client's frames) is polled
/// only when something woke it, not each time the hub wrote into the outbox: a live event
/// costs a poll of this stream and a copy of its frame, not a run of the session actor.
pub struct Counted<S, E> {
    inner: Pin<Box<S>>,
    /// Wakes this stream for the context, and says whether it did.
    inner_wake: Arc<InnerWake>,
    inner_waker: Waker,
    outbox: SharedOutbox,
    backlog: Arc<Backlog>,
    /// What the context's stream yielded while the outbox had text to write first.
    next: Option<Option<Result<Bytes, E>>>,
    closed: bool,
}

/// The waker the context is polled with: it marks the context as woken, then wakes the
/// connection's task.
#[derive(Debug)]
struct InnerWake {
    /// Set by a wake; the context is polled at the next poll of the stream. Starts set, so
    /// the first poll runs the session.
    woken: AtomicBool,
    /// The connection's task, as it last polled the stream.
    task: AtomicWaker,
}

impl Wake for InnerWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<S, E> Counted<S, E> {
    pub fn new(inner: S, outbox: SharedOutbox) -> Self {
        let backlog = outbox.borrow().backlog.clone();
        let inner_wake = Arc::new(InnerWake {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Counted {
            inner: Box::pin(inner),
            inner_waker: Waker::from(inner_wake.clone()),
            inner_wake,
            outbox,
            backlog,
            next: None,
            closed: false,
        }
    }

    /// Polls the context if something woke it since it was last polled.
    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, E>>>
    where
        S: Stream<Item = Result<Bytes, E>>,
    {
        // Registered before the flag is read: a wake in between polls this stream again.
        self.inner_wake.task.register(cx.waker());
        if !self.inner_wake.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let mut inner_cx = Context::from_waker(&self.inner_waker);
        let polled = self.inner.as_mut().poll_next(&mut inner_cx);
        if let Poll::Ready(Some(_)) = polled {
            // The context yields what it buffered; it may have more, or have ended (a close
            // frame, then the end): it is asked again, as a stream is after an item.
            self.inner_wake.woken.store(true, Ordering::Release);
        }
        polled
    }
}

/// The close frame of a connection cut off for its backlog, as the server writes it.
fn backlog_close_frame() -> Bytes {
    let reason = CloseReason::Backlog;
    let mut frame = BytesMut::new();
    let close = reason.close_code().map(|code| ws::CloseReason {
        code,
        description: Some(reason.as_str().to_owned()),
    });
    // A server's frames are not masked.
    ws::Parser::write_close(&mut frame, close, false);
    frame.freeze()
}

impl<S, E> Unpin for Counted<S, E> {}

impl<S, E> Stream for Counted<S, E>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.backlog.overflowed() {
            if std::mem::replace(&mut self.closed, true) {
                return Poll::Ready(None);
            }
            return Poll::Ready(Some(Ok(backlog_close_frame())));
        }
        let polled = match self.next.take() {
            Some(item) => Poll::Ready(item),
            // The session runs in this poll: what it writes is in the outbox after it.
            None => self.poll_inner(cx),
        };
        let text = self.outbox.borrow_mut().take(cx.waker());
        let polled = match (text, polled) {
            (Some(text), Poll::Ready(item)) => {
                // Written before the context's frame (a close comes after the text).
                self.next = Some(item);
                Poll::Ready(Some(Ok(text)))
            }
            (Some(text), Poll::Pending) => Poll::Ready(Some(Ok(text))),
            (None, polled) => polled,
        };
        if let Poll::Ready(Some(Ok(bytes))) = &polled {
            self.backlog.took(bytes.len());
        }
        polled
    }
}

/// How many of the leading frames (payload sizes, in order) make a page of at most `budget`
/// bytes on the wire; at least one, so a frame larger than the page still goes out.
pub fn page_len(payloads: impl IntoIterator<Item = usize>, budget: u64) -> usize {
    let mut total = 0u64;
    let mut count = 0;
    for payload in payloads {
        total += wire_bytes(payload);
        if total > budget && count > 0 {
            break;
        }
        count += 1;
    }
    count
}

/// Assembles a fragmented text message, refusing one larger than `max` bytes.
#[derive(Debug, Default)]
pub struct Assembler {
    buffer: Option<Vec<u8>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Assembly {
    /// More fragments to come.
    Partial,
    /// The whole message.
    Complete(Vec<u8>),
    /// Over the limit: close with 1009.
    TooBig,
    /// A fragment with no message started, or a new one before the last ended: close with 1002.
    OutOfOrder,
}

impl Assembler {
    pub fn first(&mut self, bytes: &[u8], max: usize) -> Assembly {
        if self.buffer.is_some() {
            return Assembly::OutOfOrder;
        }
        self.buffer = Some(Vec::new());
        self.push(bytes, max, false)
    }

    pub fn push(&mut self, bytes: &[u8], max: usize, last: bool) -> Assembly {
        let Some(buffer) = self.buffer.as_mut() else {
            return Assembly::OutOfOrder;
        };
        if buffer.len() + bytes.len() > max {
            self.buffer = None;
            return Assembly::TooBig;
        }
        buffer.extend_from_slice(bytes);
        if last {
            Assembly::Complete(self.buffer.take().unwrap_or_default())
        } else {
            Assembly::Partial
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_the_frames_that_fit_and_at_least_one() {
        // 100-byte payloads are 102 bytes on the wire.
        assert_eq!(page_len([100, 100, 100], 204), 2);
        assert_eq!(page_len([100, 100, 100], 203), 1);
        assert_eq!(page_len([100, 100, 100], 10_000), 3);
        assert_eq!(page_len([5_000, 10], 100), 1);
        assert_eq!(page_len([], 100), 0);
    }

    #[test]
    fn fragments_assemble_up_to_the_limit() {
        let mut a = Assembler::default();
        assert_eq!(a.first(b"ab", 5), Assembly::Partial);
        assert_eq!(a.push(b"cd", 5, false), Assembly::Partial);
        assert_eq!(a.push(b"e", 5, true), Assembly::Complete(b"abcde".to_vec()));
        assert_eq!(a.first(b"abc", 5), Assembly::Partial);
        assert_eq!(a.push(b"def", 5, true), Assembly::TooBig);
        assert_eq!(a.push(b"x", 5, true), Assembly::OutOfOrder);
    }
}
