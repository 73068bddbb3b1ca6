//! The media sweep: deletes stored files that no photo row or avatar names any more (a removed photo, a replaced avatar, an
//! upload whose commit failed), once they are older than the grace period, so a file stored
//! for an upload whose row is about to commit is left alone. Each run looks at no more than
//! `batch` files, the smallest keys after where the last run stopped, and goes round again
//! from the start once it reaches the end.
//!
//! The store is only read and deleted from here; rows are only read (a `ReadConn`).
//! A file that was old and unnamed, but is stored again by an upload between the sweep's
//! last look (it heads the file just before deleting) and its delete, can be lost; the window
//! is a few milliseconds once per grace period, for a picture re-uploaded after it was
//! abandoned.

use bazaar_actors::domain::photo::media_type_of_key;
use bazaar_actors::store::{photos, Pool};
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepRun {
    /// Files looked at.
    pub examined: usize,
    /// Files deleted.
    pub deleted: usize,
    /// Where the next run goes on from (empty: from the start).
    pub next_offset: String,
}

/// The sweeper's settings.
#[derive(Clone, Debug)]
pub struct Sweeper {
    pub store: Arc<dyn ObjectStore>,
    pub pool: Pool,
    pub grace: Duration,
    pub batch: usize,
}

impl Sweeper {
    /// Runs every `interval` until the process ends (spawned at start-up).
    pub async fn run_every(self, interval: Duration) {
        let mut offset = String::new();
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.run_once(&offset).await {
                Ok(run) => {
                    if run.deleted > 0 {
                        tracing::info!(
                            media.examined = run.examined,
                            media.deleted = run.deleted,
                            "media sweep"
                        );
                    }
                    offset = run.next_offset;
                }
                Err(e) => tracing::warn!(error = %e, "media sweep failed; retrying next time"),
            }
        }
    }

    /// One run: the `batch` smallest keys after `offset`, and of those the old unnamed ones
    /// deleted.
    pub async fn run_once(&self, offset: &str) -> anyhow::Result<SweepRun> {
        let candidates = self.next_batch(offset).await?;
        let examined = candidates.len();
        let next_offset = if examined < self.batch {
            String::new()
        } else {
            candidates
                .last()
                .map(|(k, _)| k.clone())
                .unwrap_or_default()
        };
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(self.grace).unwrap_or(chrono::Duration::MAX);
        let old: Vec<String> = candidates
            .into_iter()
            .filter(|(key, modified)| *modified < cutoff && media_type_of_key(key).is_some())
            .map(|(key, _)| key)
            .collect();
        let pool = self.pool.clone();
        let asked = old.clone();
        let named = actix_web::web::block(move || -> anyhow::Result<_> {
            let mut conn = pool.read()?;
            Ok(photos::referenced(&mut conn, &asked)?)
        })
        .await??;
        let mut deleted = 0;
        for key in old.iter().filter(|k| !named.contains(*k)) {
            let path = Path::from(key.as_str());
            // Looked at again just before: a file stored anew since the listing is kept.
            match self.store.head(&path).await {
                Ok(meta) if meta.last_modified < cutoff => {}
                Ok(_) | Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(SweepRun {
            examined,
            deleted,
            next_offset,
        })
    }

    /// The `batch` smallest keys after `offset` with their modification times, in order. A
    /// store that lists in key order (S3) is read only that far; one that does not (a local
    /// folder) is read whole, keeping only the smallest `batch` in memory.
    async fn next_batch(
        &self,
        offset: &str,
    ) -> anyhow::Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
        let mut listing = if offset.is_empty() {
            self.store.list(None)
        } else {
            self.store.list_with_offset(None, &Path::from(offset))
        };
        let mut smallest = BinaryHeap::new();
        let mut previous: Option<String> = None;
        let mut in_order = true;
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            let key = meta.location.to_string();
            if key.as_str() <= offset {
                continue;
            }
            if let Some(previous) = &previous {
                in_order &= *previous < key;
            }
            previous = Some(key.clone());
            smallest.push((key, meta.last_modified));
            if smallest.len() > self.batch {
                smallest.pop();
            }
            if in_order && smallest.len() == self.batch {
                break;
            }
        }
        Ok(smallest.into_sorted_vec())
    }
}
