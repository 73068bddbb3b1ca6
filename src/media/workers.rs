//! Decoding and encoding pictures on a fixed number of threads behind a bounded queue, as
//! password hashing does: a decode holds up to `--photo-max-alloc-bytes` while it runs and
//! takes whole CPU seconds, so at most `threads` run at once, at most `queue` wait, and the
//! rest are refused at once (503 with Retry-After) rather than piling up on tokio's blocking
//! pool (hundreds of threads) or on the async threads.

use super::image::{process, process_avatar, DecodeLimits, PictureError, Processed};
use crate::error::ApiError;
use bytes::Bytes;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// What a full queue answers.
const BUSY: &str = "too many photos are being processed; retry shortly";

/// What a picture becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A listing photo: three sizes, as taken.
    Photo,
    /// An avatar: the centred square, in two sizes.
    Avatar,
}

struct Job {
    bytes: Bytes,
    shape: Shape,
    answer: oneshot::Sender<Result<Processed, PictureError>>,
}

/// A handle on the picture threads; clones share them. The threads end when the last handle
/// is dropped (the queue closes).
#[derive(Clone)]
pub struct PictureWorkers {
    queue: SyncSender<Job>,
}

impl PictureWorkers {
    /// Starts `threads` threads (at least one) with room for `queue` waiting pictures.
    pub fn start(threads: usize, queue: usize, limits: DecodeLimits) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("picture-{i}"))
                .spawn(move || work(&receiver, limits))?;
        }
        Ok(PictureWorkers { queue: sender })
    }

    /// Decodes and re-encodes `bytes`: 422 if they are no acceptable picture, 503 if the
    /// queue is full.
    pub async fn process(&self, bytes: Bytes) -> Result<Processed, ApiError> {
        self.submit(bytes, Shape::Photo, "photo").await
    }

    /// Decodes `bytes` and encodes them as an avatar (their centred square, 640 and 240 px):
    /// 422 naming `avatar` if they are no acceptable picture, 503 if the queue is full.
    pub async fn process_avatar(&self, bytes: Bytes) -> Result<Processed, ApiError> {
        self.submit(bytes, Shape::Avatar, "avatar").await
    }

    async fn submit(&self, bytes: Bytes, shape: Shape, field: &str) -> Result<Processed, ApiError> {
        let (answer, answered) = oneshot::channel();
        match self.queue.try_send(Job {
            bytes,
            shape,
            answer,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(ApiError::Unavailable(BUSY.into())),
            Err(TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        answered
            .await
            .map_err(|_| stopped())?
            .map_err(|e| ApiError::invalid(field, e.to_string()))
    }
}

fn stopped() -> ApiError {
    ApiError::internal(std::io::Error::other("the picture threads stopped"))
}

/// One picture thread: takes jobs until the queue closes. A client that gave up is not
/// answered (its receiver is gone).
fn work(receiver: &Mutex<Receiver<Job>>, limits: DecodeLimits) {
    loop {
        // Hold the lock only to take a job, not while working.
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if job.answer.is_closed() {
            continue;
        }
        // A decoder that panics on hostile bytes refuses that picture, not the thread.
        let outcome = std::panic::catch_unwind(|| match job.shape {
            Shape::Photo => process(&job.bytes, limits),
            Shape::Avatar => process_avatar(&job.bytes, limits),
        })
        .unwrap_or(Err(PictureError::NotAnImage));
        let _ = job.answer.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_full_queue_is_refused_with_503_not_queued() {
        let limits = DecodeLimits {
            max_pixels: 1_000_000,
            max_alloc_bytes: 64 * 1024 * 1024,
        };
        let workers = PictureWorkers::start(1, 1, limits).unwrap();
        let picture = image::RgbImage::from_fn(1000, 1000, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 7])
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .encode_image(&picture)
            .unwrap();
        let jpeg = Bytes::from(jpeg);
        // One running and one waiting at most: of 32 sent at once (well within one
        // picture's time), the rest are refused at once rather than queued.
        let jobs = (0..32).map(|_| workers.process(jpeg.clone()));
        let results = futures_util::future::join_all(jobs).await;
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(ApiError::Unavailable(_))))
            .count();
        let done = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(busy + done, 32);
        assert!(busy >= 1, "none of 32 refused");
        assert!(done >= 1, "none of 32 processed");
    }
}
