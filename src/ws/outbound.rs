//! Limits on a connection: the outbound backlog (bytes written but not yet taken by the
//! client) and the assembly of fragmented client messages.
//!
//! actix-web-actors' `WebsocketContext` buffers outgoing frames without limit and does not show
//! the backlog, so the response stream is wrapped to count what the connection actually takes;
//! the session compares that with what it wrote.

use actix_web::web::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Shared between a session (which writes) and its response stream (which the connection reads).
#[derive(Debug, Default)]
pub struct Outbound {
    taken: AtomicU64,
    abort: AtomicBool,
}

impl Outbound {
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Ends the response stream at its next poll, dropping whatever is still buffered.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Relaxed);
    }
}

/// The size of a server frame on the wire: payload plus header (servers do not mask).
pub fn frame_bytes(payload: usize) -> u64 {
    let header = match payload {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    };
    (payload + header) as u64
}

/// The response body: the WebSocket context's byte stream, counted.
pub struct Counted<S> {
    inner: Pin<Box<S>>,
    outbound: Arc<Outbound>,
}

impl<S> Counted<S> {
    pub fn new(inner: S, outbound: Arc<Outbound>) -> Self {
        Counted {
            inner: Box::pin(inner),
            outbound,
        }
    }
}

impl<S, E> Stream for Counted<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.outbound.abort.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(bytes))) = &polled {
            self.outbound
                .taken
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
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

    #[test]
    fn frame_sizes_include_the_header() {
        assert_eq!(frame_bytes(10), 12);
        assert_eq!(frame_bytes(1_000), 1_004);
        assert_eq!(frame_bytes(100_000), 100_010);
    }
}
