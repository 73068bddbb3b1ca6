//! The reads a socket session needs, as core functions: a topic's history after a seq, whether
//! a user may see a listing, a conversation's parties, whether a block keeps two users apart.
//! Each runs on the blocking pool (Diesel blocks) and writes nothing; the edges call these
//! instead of reaching into `store`.

use crate::chat::{conversation_of, ChatError};
use crate::domain::chat::Parties;
use crate::domain::listing::visible_to;
use crate::domain::{ConversationId, ListingId, UserId};
use crate::store::models::Event;
use crate::store::{blocks, events, listings, Pool, StoreError};
use std::future::Future;

/// A topic's head (its last seq, 0 if none) and, when `since` is given and behind it, the
/// events after `since` in seq order, at most `limit`.
#[derive(Debug)]
pub struct History {
    pub head: i64,
    pub events: Vec<Event>,
}

pub fn history(
    pool: &Pool,
    topic: String,
    since: Option<i64>,
    limit: i64,
) -> impl Future<Output = Result<History, StoreError>> + 'static {
    pool.run_read(move |conn| {
        let head = events::last_seq(conn, &topic)?;
        let events = match since {
            Some(since) if since < head => events::after(conn, &topic, since, limit)?,
            _ => Vec::new(),
        };
        Ok(History { head, events })
    })
}

/// Whether the listing exists for `viewer` (a draft exists only for its seller).
pub fn listing_visible_to(
    pool: &Pool,
    listing: ListingId,
    viewer: UserId,
) -> impl Future<Output = Result<bool, StoreError>> + 'static {
    pool.run_read(move |conn| {
        Ok(listings::find(conn, listing.0)?
            .is_some_and(|l| visible_to(l.status(), l.seller(), Some(viewer))))
    })
}

/// The parties of a conversation `user` takes part in.
pub fn conversation_parties(
    pool: &Pool,
    user: UserId,
    conversation: ConversationId,
) -> impl Future<Output = Result<Parties, ChatError>> + 'static {
    pool.run_read(move |conn| conversation_of(conn, user, conversation).map(|c| c.parties()))
}

/// Whether one of `a` and `b` blocked the other. Asked for each typing indicator (rate-limited
/// per conversation): a block made while the conversation is open stops them at once, as it
/// stops messages.
pub fn kept_apart(
    pool: &Pool,
    a: UserId,
    b: UserId,
) -> impl Future<Output = Result<bool, ChatError>> + 'static {
    pool.run_read(move |conn| Ok(blocks::between(conn, a.0, b.0)?))
}
