//! `Outbox`: a connection's outbound text frames and its topics' order, shared on the worker's
//! thread by the session, the worker's `Hub` and the response stream (`Counted`).
//!
//! The hub writes a live event into it directly, without a message to the session: it admits
//! the frame against the backlog, asks the topic's `TopicOrder` what to write, encodes what is
//! written into the buffer and wakes the connection's response stream, which takes the buffer
//! at its next poll. The session writes its replies and replays into the same buffer, so one
//! connection's text frames leave in the order they were written, whoever wrote them.

use super::ordering::{Position, Step, TopicOrder};
use super::session::WsSession;
use actix::Addr;
use actix_http::ws::{OpCode, Parser};
use actix_web::web::{Bytes, BytesMut};
use bazaar_actors::broker::{wire_bytes, Backlog};
use bytestring::ByteString;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

/// The least the outbound buffer grows by: a connection that gets frames keeps this much, and
/// writing a frame then takes no allocation.
const BUFFER_CHUNK_BYTES: usize = 1024;

/// An event's frame on its way to the socket. A live one was admitted against the backlog
/// when it arrived, and gives its room back if it is dropped unwritten (a repeat, or a held
/// event the table supplied); a replayed one is admitted when it is written.
#[derive(Debug)]
pub struct Frame {
    bytes: ByteString,
    admitted: Option<Arc<Backlog>>,
}

impl Frame {
    pub fn replayed(bytes: ByteString) -> Frame {
        Frame {
            bytes,
            admitted: None,
        }
    }

    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The bytes, and whether they were admitted already.
    fn take(mut self) -> (ByteString, bool) {
        let admitted = self.admitted.take().is_some();
        (
            std::mem::replace(&mut self.bytes, ByteString::new()),
            admitted,
        )
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if let Some(backlog) = self.admitted.take() {
            backlog.forget(self.bytes.len());
        }
    }
}

/// The backlog limit was passed: the connection is being cut off.
#[derive(Debug, PartialEq, Eq)]
pub struct CutOff;

/// A connection's outbox; `Rc` shared on its worker's thread.
pub type SharedOutbox = Rc<RefCell<Outbox>>;

pub struct Outbox {
    /// The topics the session holds and the order their events are written in.
    pub topics: HashMap<String, TopicOrder<Frame>>,
    /// Bytes written for the connection so far (frames on the wire, this buffer's and the
    /// WebSocket context's); with what it took (`Backlog::taken`) it says how much waits.
    pub written: u64,
    pub backlog: Arc<Backlog>,
    /// Encoded frames not yet taken by the response stream.
    buffer: BytesMut,
    /// The response stream's, to wake when frames are written while it waits.
    waker: Option<Waker>,
    /// The session is closing: nothing more is written.
    closed: bool,
    /// The session, told when a live event needs a read of the table (a gap).
    session: Option<Addr<WsSession>>,
}

impl Outbox {
    pub fn new(backlog: Arc<Backlog>) -> SharedOutbox {
        Rc::new(RefCell::new(Outbox {
            topics: HashMap::new(),
            written: 0,
            backlog,
            buffer: BytesMut::new(),
            waker: None,
            closed: false,
            session: None,
        }))
    }

    pub fn set_session(&mut self, session: Addr<WsSession>) {
        self.session = Some(session);
    }

    pub fn session(&self) -> Option<&Addr<WsSession>> {
        self.session.as_ref()
    }

    /// Nothing more is written (the session closes; its close frame is the last one).
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Counts a frame the WebSocket context writes itself (ping, pong).
    pub fn count(&mut self, payload: usize) {
        self.written += wire_bytes(payload);
    }

    fn emit(&mut self, text: &[u8]) {
        if self.closed {
            return;
        }
        self.written += wire_bytes(text.len());
        let needed = wire_bytes(text.len()) as usize;
        if self.buffer.capacity() - self.buffer.len() < needed {
            // Room for more than this frame: the response stream takes what is written and
            // the copy goes once it is on the wire, so the same allocation is reused.
            self.buffer.reserve(needed.max(BUFFER_CHUNK_BYTES));
        }
        // A server's frames are not masked.
        Parser::write_message(&mut self.buffer, text, OpCode::Text, true, false);
        self.wake();
    }

    /// Wakes the response stream: there is something to write, or the backlog overflowed.
    pub fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Writes a frame of the session's own (a reply, a replayed event), counting it against
    /// the backlog limit.
    pub fn write(&mut self, text: &[u8]) -> Result<(), CutOff> {
        if !self.backlog.admit(text.len()) {
            self.wake();
            return Err(CutOff);
        }
        self.emit(text);
        Ok(())
    }

    /// Writes a frame that was admitted when it arrived.
    pub fn write_admitted(&mut self, text: &[u8]) -> Result<(), CutOff> {
        if self.backlog.overflowed() {
            self.wake();
            return Err(CutOff);
        }
        self.emit(text);
        Ok(())
    }

    /// Writes what a topic's order said to write; returns the read it asks for, if any.
    pub fn write_step(&mut self, step: Step<Frame>) -> Result<Option<Position>, CutOff> {
        for frame in step.write {
            match frame.take() {
                (bytes, true) => self.write_admitted(bytes.as_bytes())?,
                (bytes, false) => self.write(bytes.as_bytes())?,
            }
        }
        Ok(step.read)
    }

    /// A live event (from the worker's hub): admitted, then written, dropped or held as the
    /// topic's order says. An ephemeral one (no seq) is written as is. Returns the read of the
    /// table the topic now needs, if any (the caller asks the session for it).
    pub fn live(&mut self, topic: &str, seq: Option<i64>, bytes: &ByteString) -> Option<Position> {
        if self.closed {
            return None;
        }
        if !self.backlog.admit(bytes.len()) {
            // Past the limit: the overflow hook armed the cut-off, which wakes the connection.
            return None;
        }
        let Some(seq) = seq else {
            let _ = self.write_admitted(bytes.as_bytes());
            return None;
        };
        let Some(order) = self.topics.get_mut(topic) else {
            self.backlog.forget(bytes.len());
            return None;
        };
        // The usual case, the next event with no read in flight: written at once, with no
        // frame to keep and no step to build.
        if order.next_in_line(seq) {
            let _ = self.write_admitted(bytes.as_bytes());
            return None;
        }
        let frame = Frame {
            bytes: bytes.clone(),
            admitted: Some(self.backlog.clone()),
        };
        let step = order.live(seq, frame);
        self.write_step(step).ok().flatten()
    }

    /// What waits to be written, if anything; otherwise `waker` is woken when there is.
    pub fn take(&mut self, waker: &Waker) -> Option<Bytes> {
        if self.buffer.is_empty() {
            match &self.waker {
                Some(w) if w.will_wake(waker) => {}
                _ => self.waker = Some(waker.clone()),
            }
            return None;
        }
        Some(self.buffer.split().freeze())
    }
}
