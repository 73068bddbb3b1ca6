//! `ListingActor`: the one writer of a listing in this process. It runs one command at a time,
//! its database work included (`AtomicResponse`), so commands on a listing never interleave.
//!
//! Each command is decided by a pure rule in `domain::listing` against the actor's cached row,
//! then written with a version-checked UPDATE and its events in one transaction. When the
//! version no longer matches (another process wrote first) the actor reloads and decides again.
//! Memory is updated only after the commit.

use crate::directory::{Directory, Passivated};
use crate::domain::listing::{
    decide_close, decide_edit, EditError, ListingChange, ListingPatch, ListingState,
};
use crate::domain::{ListingId, UserId};
use crate::events::{listing_event_payload, listing_topic};
use crate::store::models::{Listing, ListingChanges};
use crate::store::{self, events, listings, write_transaction, Pool, StoreError};
use actix::prelude::*;
use std::time::{Duration, Instant};

/// How many times a command is decided again after losing a version race before giving up.
const MAX_VERSION_RETRIES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("listing not found")]
    NotFound,
    #[error(transparent)]
    Rejected(#[from] EditError),
    #[error(
        "the listing is too busy: {MAX_VERSION_RETRIES} writes in a row lost their version race"
    )]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the listing actor is unavailable")]
    Unavailable,
}

impl From<diesel::result::Error> for ListingError {
    fn from(e: diesel::result::Error) -> Self {
        ListingError::Store(e.into())
    }
}

/// Edit a listing's fields or status, optionally only if it is still at `if_match`.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Listing, ListingError>")]
pub struct EditListing {
    pub by: UserId,
    pub patch: ListingPatch,
    pub if_match: Option<i64>,
}

/// Close (delete) a listing: its row and history stay, its status becomes `closed`.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Listing, ListingError>")]
pub struct CloseListing {
    pub by: UserId,
}

pub struct ListingActor {
    id: ListingId,
    pool: Pool,
    directory: Addr<Directory>,
    /// The row as last read or written; `None` until the first command loads it.
    cached: Option<Listing>,
    last_used: Instant,
    idle_after: Duration,
}

impl ListingActor {
    pub fn new(
        id: ListingId,
        pool: Pool,
        directory: Addr<Directory>,
        idle_after: Duration,
    ) -> Self {
        ListingActor {
            id,
            pool,
            directory,
            cached: None,
            last_used: Instant::now(),
            idle_after,
        }
    }

    /// Runs one command: decide and write on the blocking pool, then take the new row.
    fn run<D>(&mut self, decide: D) -> AtomicResponse<Self, Result<Listing, ListingError>>
    where
        D: Fn(&ListingState) -> Result<ListingChange, EditError> + Send + 'static,
    {
        self.last_used = Instant::now();
        let (pool, id, cached) = (self.pool.clone(), self.id, self.cached.take());
        let work = tokio::task::spawn_blocking(move || execute(&pool, id, cached, decide));
        AtomicResponse::new(Box::pin(fut::wrap_future::<_, Self>(work).map(
            |joined, act, _ctx| match joined {
                Ok((cached, result)) => {
                    act.cached = cached;
                    result
                }
                Err(panic) => {
                    tracing::error!(listing.id = %act.id, error = %panic, "listing command panicked");
                    Err(ListingError::Unavailable)
                }
            },
        )))
    }
}

impl Actor for ListingActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let check_every = (self.idle_after / 2).max(Duration::from_millis(10));
        ctx.run_interval(check_every, |act, ctx| {
            if act.last_used.elapsed() >= act.idle_after {
                act.directory.do_send(Passivated {
                    id: act.id,
                    addr: ctx.address(),
                });
                ctx.stop();
            }
        });
    }
}

impl Handler<EditListing> for ListingActor {
    type Result = AtomicResponse<Self, Result<Listing, ListingError>>;

    fn handle(&mut self, msg: EditListing, _ctx: &mut Self::Context) -> Self::Result {
        self.run(move |state| decide_edit(state, msg.by, &msg.patch, msg.if_match))
    }
}

impl Handler<CloseListing> for ListingActor {
    type Result = AtomicResponse<Self, Result<Listing, ListingError>>;

    fn handle(&mut self, msg: CloseListing, _ctx: &mut Self::Context) -> Self::Result {
        self.run(move |state| decide_close(state, msg.by))
    }
}

/// Decides and writes one command. Returns the row to cache (none after a storage error, so
/// the next command reloads) and the command's result.
///
/// Only a write proves the cached row was current (the UPDATE checks the version), so any
/// answer that writes nothing — a refusal or a no-op — is given only on a freshly loaded row.
fn execute<D>(
    pool: &Pool,
    id: ListingId,
    cached: Option<Listing>,
    decide: D,
) -> (Option<Listing>, Result<Listing, ListingError>)
where
    D: Fn(&ListingState) -> Result<ListingChange, EditError>,
{
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => return (cached, Err(StoreError::from(e).into())),
    };
    let load = |conn: &mut store::DbConnection| -> Result<Listing, ListingError> {
        listings::find(conn, id.0)?.ok_or(ListingError::NotFound)
    };
    let (mut row, mut fresh) = match cached {
        Some(row) => (row, false),
        None => match load(&mut conn) {
            Ok(row) => (row, true),
            Err(e) => return (None, Err(e)),
        },
    };
    for _ in 0..MAX_VERSION_RETRIES {
        let outcome = decide(&row.state());
        let change = match outcome {
            Ok(change) if change.changed() => change,
            _ if !fresh => {
                match load(&mut conn) {
                    Ok(reloaded) => (row, fresh) = (reloaded, true),
                    Err(e) => return (None, Err(e)),
                }
                continue;
            }
            Ok(_) => return (Some(row.clone()), Ok(row)),
            Err(e) => return (Some(row), Err(e.into())),
        };
        match write_change(&mut conn, &row, &change) {
            Ok(Some(written)) => return (Some(written.clone()), Ok(written)),
            Ok(None) => match load(&mut conn) {
                Ok(reloaded) => (row, fresh) = (reloaded, true),
                Err(e) => return (None, Err(e)),
            },
            Err(e) => return (None, Err(e.into())),
        }
    }
    (None, Err(ListingError::Contended))
}

/// Writes the change and its events in one transaction; `None` if the row's version moved on.
fn write_change(
    conn: &mut store::DbConnection,
    before: &Listing,
    change: &ListingChange,
) -> Result<Option<Listing>, diesel::result::Error> {
    let changes = ListingChanges::from_state(&change.next, store::now());
    write_transaction(conn, |conn| {
        let Some(after) = listings::update_versioned(conn, before.id, before.version, &changes)?
        else {
            return Ok(None);
        };
        let topic = listing_topic(after.listing_id());
        for event in &change.events {
            let (event_type, data) = listing_event_payload(&after, event);
            events::append(conn, &topic, event_type, &data)?;
        }
        Ok(Some(after))
    })
}
