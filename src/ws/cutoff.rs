//! Dropping a connection whose client stopped reading.
//!
//! When a socket's backlog overflows, its response stream ends with a close frame (`Counted`),
//! but a client that does not read never takes it, and actix-http's dispatcher, its write
//! buffer full, no longer polls the response stream: nothing in the session can end the
//! connection. So every connection is served over a `Cuttable`, a `TcpStream` that the session
//! can arm through its `Cutoff` (found in the connection's extensions): once armed, the stream
//! starts a timer of `grace` at the dispatcher's next poll and, when it fires, fails every read
//! and write. The dispatcher then drops the connection and its buffers; the socket is closed
//! with a reset (SO_LINGER 0), so the kernel frees what it still holds for the client too.

use actix_web::rt::net::TcpStream;
use futures_util::task::AtomicWaker;
use prometheus::IntCounter;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Arms the cut-off of one connection. Cheap to call from any thread.
#[derive(Debug, Default)]
pub struct Cutoff {
    armed: AtomicBool,
    /// The connection's dispatcher, as it last polled the stream.
    dispatcher: AtomicWaker,
}

impl Cutoff {
    /// The connection is dropped `grace` from now unless it ends first.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
        // The dispatcher may be parked on a write that will never complete: wake it so the
        // stream starts its timer.
        self.dispatcher.wake();
    }

    fn armed(&self) -> bool {
        self.armed.load(Ordering::SeqCst)
    }
}

/// A TCP connection that its `Cutoff` can drop.
pub struct Cuttable {
    io: TcpStream,
    cutoff: Arc<Cutoff>,
    grace: Duration,
    /// Started at the first poll after the cut-off was armed.
    timer: Option<Pin<Box<Sleep>>>,
    /// Counts the connections dropped this way.
    cut: IntCounter,
    /// Dropped: every read and write fails.
    dropped: bool,
}

impl Cuttable {
    pub fn new(io: TcpStream, grace: Duration, cut: IntCounter) -> Cuttable {
        Cuttable {
            io,
            cutoff: Arc::default(),
            grace,
            timer: None,
            cut,
            dropped: false,
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.io
    }

    pub fn cutoff(&self) -> Arc<Cutoff> {
        self.cutoff.clone()
    }

    /// Fails once the cut-off, armed, has waited its grace; registers the dispatcher to be
    /// woken by `Cutoff::arm` and by the timer.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.dropped {
            return Err(cut_off_error());
        }
        self.cutoff.dispatcher.register(cx.waker());
        if !self.cutoff.armed() {
            return Ok(());
        }
        let grace = self.grace;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(grace)));
        if timer.as_mut().poll(cx).is_pending() {
            return Ok(());
        }
        self.dropped = true;
        self.cut.inc();
        // Closed with a reset: the kernel drops what the client never took at once, rather
        // than keep retrying to send it.
        if let Err(e) = socket2::SockRef::from(&self.io).set_linger(Some(Duration::ZERO)) {
            tracing::debug!(error = %e, "SO_LINGER not set");
        }
        tracing::info!(
            grace_secs = grace.as_secs_f64(),
            "socket dropped: its close frame was not taken"
        );
        Err(cut_off_error())
    }
}

fn cut_off_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "cut off: the client did not take its close frame",
    )
}

impl AsyncRead for Cuttable {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Cuttable {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}
