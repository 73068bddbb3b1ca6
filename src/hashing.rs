//! Password hashing on a small fixed set of threads behind a bounded queue. Argon2 takes
//! 19 MiB per hash while it runs, and the allocator keeps what a thread used: hashed on tokio's
//! blocking pool (up to 512 threads), a storm of wrong logins grew the process by gigabytes for
//! good. Here at most `threads` hashes run at once, each thread reusing one Argon2 workspace
//! (so the memory is `threads` × 19 MiB, allocated once), at most `queue` wait, and the rest
//! are refused at once (503 with Retry-After) rather than piling up.

use crate::auth;
use crate::error::ApiError;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// What a full queue answers.
const BUSY: &str = "too many password checks are waiting; retry shortly";

enum Job {
    Hash {
        password: String,
        answer: oneshot::Sender<Result<String, String>>,
    },
    Verify {
        password: String,
        phc: String,
        answer: oneshot::Sender<bool>,
    },
}

/// A handle on the hashing threads; clones share them. The threads end when the last handle
/// is dropped (the queue closes).
#[derive(Clone)]
pub struct PasswordHasher {
    queue: SyncSender<Job>,
    /// Counts refusals for `/metrics`.
    refused: prometheus::IntCounter,
}

impl PasswordHasher {
    /// Starts `threads` hashing threads (at least one) with room for `queue` waiting jobs.
    pub fn start(
        threads: usize,
        queue: usize,
        refused: prometheus::IntCounter,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || work(&receiver))?;
        }
        Ok(PasswordHasher {
            queue: sender,
            refused,
        })
    }

    /// Hashes a password to a PHC string; 503 if the queue is full.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let (answer, answered) = oneshot::channel();
        self.submit(Job::Hash { password, answer })?;
        answered
            .await
            .map_err(|_| stopped())?
            .map_err(|e| ApiError::internal(std::io::Error::other(e)))
    }

    /// Checks a password against a PHC string; 503 if the queue is full.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, ApiError> {
        let (answer, answered) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            phc,
            answer,
        })?;
        answered.await.map_err(|_| stopped())
    }

    fn submit(&self, job: Job) -> Result<(), ApiError> {
        match self.queue.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.refused.inc();
                Err(ApiError::Unavailable(BUSY.into()))
            }
            Err(TrySendError::Disconnected(_)) => Err(stopped()),
        }
    }
}

fn stopped() -> ApiError {
    ApiError::internal(std::io::Error::other(
        "the password-hashing threads stopped",
    ))
}

/// One hashing thread: takes jobs until the queue closes. A client that gave up is not
/// answered (its receiver is gone), which is fine.
fn work(receiver: &Mutex<Receiver<Job>>) {
    // Allocated at the first job, so a thread that never hashes costs nothing.
    let mut workspace: Option<auth::Workspace> = None;
    loop {
        // Hold the lock only to take a job, not while hashing.
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(Job::Hash { password, answer }) => {
                let workspace = workspace.get_or_insert_with(auth::Workspace::new);
                let _ = answer
                    .send(auth::hash_password(workspace, &password).map_err(|e| e.to_string()));
            }
            Ok(Job::Verify {
                password,
                phc,
                answer,
            }) => {
                let workspace = workspace.get_or_insert_with(auth::Workspace::new);
                let _ = answer.send(auth::verify_password(workspace, &password, &phc));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> prometheus::IntCounter {
        prometheus::IntCounter::new("refused", "refused").unwrap()
    }

    #[actix_web::test]
    async fn hashes_and_verifies_on_its_threads() {
        let hasher = PasswordHasher::start(1, 4, counter()).unwrap();
        let phc = hasher.hash("correct horse".into()).await.unwrap();
        assert!(hasher
            .verify("correct horse".into(), phc.clone())
            .await
            .unwrap());
        assert!(!hasher.verify("wrong horse".into(), phc).await.unwrap());
    }

    #[actix_web::test]
    async fn a_full_queue_is_refused_with_503_not_queued() {
        let refused = counter();
        let hasher = PasswordHasher::start(1, 1, refused.clone()).unwrap();
        // One running and one waiting at most: of 8 sent at once (well within one hash's
        // time), the rest are refused at once rather than queued.
        let jobs = (0..8).map(|_| hasher.hash("password123".into()));
        let results = futures_util::future::join_all(jobs).await;
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(ApiError::Unavailable(_))))
            .count();
        let done = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(busy + done, 8);
        assert!(busy >= 1, "none of 8 refused");
        assert_eq!(refused.get(), busy as u64);
    }
}
