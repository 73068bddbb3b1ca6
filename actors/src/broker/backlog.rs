//! `Backlog`: what a connection has been handed but not yet taken off the wire.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// The size of a server frame on the wire: payload plus header (servers do not mask).
pub fn wire_bytes(payload: usize) -> u64 {
    let header = match payload {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    };
    (payload + header) as u64
}

/// What a connection has been handed but not yet taken off the wire. Producers admit bytes
/// before they enqueue a frame, so a client that does not read stops costing memory at
/// `limit`: past it the subscriber is marked overflowed and gets nothing more.
///
/// It is counted at the producers because a WebSocket session that its connection does not
/// poll does not run either: its mailbox would grow without bound.
pub struct Backlog {
    queued: AtomicU64,
    taken: AtomicU64,
    limit: u64,
    overflowed: AtomicBool,
    /// The least `taken` a waiter in `taken_reaches` waits for (`u64::MAX`: none waits).
    wake_at: AtomicU64,
    progress: Notify,
    /// Called once, on the admit that passes the limit.
    on_overflow: Option<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Backlog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backlog")
            .field("queued", &self.queued)
            .field("taken", &self.taken)
            .field("limit", &self.limit)
            .field("overflowed", &self.overflowed)
            .finish_non_exhaustive()
    }
}

impl Backlog {
    pub fn new(limit: u64) -> Arc<Backlog> {
        Arc::new(Backlog::build(limit, None))
    }

    /// A backlog that calls `on_overflow` once, from whichever thread passes the limit (so it
    /// must be quick: it may run on the broker's).
    pub fn watched(limit: u64, on_overflow: impl Fn() + Send + Sync + 'static) -> Arc<Backlog> {
        Arc::new(Backlog::build(limit, Some(Box::new(on_overflow))))
    }

    fn build(limit: u64, on_overflow: Option<Box<dyn Fn() + Send + Sync>>) -> Backlog {
        Backlog {
            queued: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            limit,
            overflowed: AtomicBool::new(false),
            wake_at: AtomicU64::new(u64::MAX),
            progress: Notify::new(),
            on_overflow,
        }
    }

    /// No limit (for actors that only forward).
    pub fn unbounded() -> Arc<Backlog> {
        Backlog::new(u64::MAX)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Admits a frame of `payload` bytes, or marks the subscriber overflowed.
    pub fn admit(&self, payload: usize) -> bool {
        if self.overflowed() {
            return false;
        }
        let queued = self
            .queued
            .fetch_add(wire_bytes(payload), Ordering::Relaxed)
            + wire_bytes(payload);
        if queued.saturating_sub(self.taken.load(Ordering::Relaxed)) > self.limit {
            if !self.overflowed.swap(true, Ordering::Relaxed) {
                if let Some(hook) = &self.on_overflow {
                    hook();
                }
                // A waiter gives up: nothing more will be taken from this subscriber.
                self.progress.notify_waiters();
            }
            return false;
        }
        true
    }

    /// An admitted frame of `payload` bytes was dropped before it was written (a repeat, or a
    /// held event the table supplied): it no longer counts.
    pub fn forget(&self, payload: usize) {
        self.queued
            .fetch_sub(wire_bytes(payload), Ordering::Relaxed);
    }

    /// The connection took `bytes` off the session's buffer.
    pub fn took(&self, bytes: usize) {
        let taken = self.taken.fetch_add(bytes as u64, Ordering::SeqCst) + bytes as u64;
        if taken >= self.wake_at.load(Ordering::SeqCst) {
            self.wake_at.store(u64::MAX, Ordering::SeqCst);
            self.progress.notify_waiters();
        }
    }

    /// Bytes the connection has taken so far.
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::SeqCst)
    }

    /// Waits until the connection has taken `target` bytes in all (or the backlog overflowed).
    /// Several waiters may wait at once, each for its own target.
    pub async fn taken_reaches(&self, target: u64) {
        loop {
            // Created before the target is published, so a `took` in between still wakes it.
            let woken = self.progress.notified();
            self.wake_at.fetch_min(target, Ordering::SeqCst);
            if self.taken() >= target || self.overflowed() {
                return;
            }
            woken.await;
        }
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn the_backlog_overflows_once_and_forgotten_frames_free_their_room() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let backlog = Backlog::watched(300, move || {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        // 100-byte payloads take 102 bytes on the wire.
        assert!(backlog.admit(100) && backlog.admit(100));
        backlog.forget(100);
        assert!(backlog.admit(100));
        backlog.took(102);
        assert!(backlog.admit(100));
        assert!(!backlog.admit(100));
        assert!(backlog.overflowed() && !backlog.admit(0));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn waiters_wake_when_the_connection_takes_enough() {
        let backlog = Backlog::new(1_000);
        backlog.took(10);
        backlog.taken_reaches(10).await;
        let (near, far) = (backlog.clone(), backlog.clone());
        let near = tokio::spawn(async move { near.taken_reaches(50).await });
        let far = tokio::spawn(async move { far.taken_reaches(90).await });
        tokio::task::yield_now().await;
        backlog.took(50);
        near.await.unwrap();
        assert!(!far.is_finished());
        backlog.took(30);
        far.await.unwrap();
        assert_eq!(backlog.taken(), 90);
    }
}
