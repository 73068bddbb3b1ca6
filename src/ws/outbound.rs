//! Limits on a connection: the outbound backlog and the assembly of fragmented client messages.
//!
//! actix-web-actors' `WebsocketContext` buffers outgoing frames without limit and does not show
//! the backlog, so the response stream is wrapped to count what the connection actually takes
//! (`Backlog::took`); producers admit what they enqueue (`Backlog::admit`). A connection that
//! stops reading also stops running its session, so the limit is enforced where frames are
//! enqueued, not in the session.

use actix_web::web::Bytes;
use bazaar_actors::broker::Backlog;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The response body: the WebSocket context's byte stream, counted.
/// Once the backlog overflowed it ends at its next poll, dropping what is still buffered.
pub struct Counted<S> {
    inner: Pin<Box<S>>,
    backlog: Arc<Backlog>,
}

impl<S> Counted<S> {
    pub fn new(inner: S, backlog: Arc<Backlog>) -> Self {
        Counted {
            inner: Box::pin(inner),
            backlog,
        }
    }
}

impl<S, E> Stream for Counted<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.backlog.overflowed() {
            return Poll::Ready(None);
        }
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(bytes))) = &polled {
            self.backlog.took(bytes.len());
        }
        polled
    }
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
