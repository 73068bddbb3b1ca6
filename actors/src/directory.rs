//! The directory of live per-listing actors: it starts a `ListingActor` on first use (the
//! actor loads its state from the database with its first command) and forgets it when the
//! actor passivates after an idle period.

use crate::broker::Broker;
use crate::domain::rules::CommerceRules;
use crate::domain::ListingId;
use crate::listing::{ListingActor, Passivated};
use crate::listing_cache::ListingCache;
use crate::saved_searches::AlertBell;
use crate::store::Pool;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct DirectorySettings {
    /// A listing actor with no command for this long stops; the next command restarts it.
    pub listing_idle: Duration,
    pub rules: Arc<CommerceRules>,
    /// Rows recently read; each listing actor forgets its own after every command.
    pub cache: Arc<ListingCache>,
    /// Rung after a listing edit's commit (the saved-search matcher).
    pub alerts: AlertBell,
}

pub struct Directory {
    pool: Pool,
    broker: Broker,
    settings: DirectorySettings,
    listings: HashMap<ListingId, Addr<ListingActor>>,
}

impl Directory {
    pub fn new(pool: Pool, broker: Broker, settings: DirectorySettings) -> Self {
        Directory {
            pool,
            broker,
            settings,
            listings: HashMap::new(),
        }
    }
}

impl Actor for Directory {
    type Context = Context<Self>;
}

/// The address of a listing's actor, started if need be.
#[derive(Debug, Message)]
#[rtype(result = "Addr<ListingActor>")]
pub struct GetListingActor {
    pub id: ListingId,
}

/// How many listing actors are running.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct CountActive;

impl Handler<GetListingActor> for Directory {
    type Result = MessageResult<GetListingActor>;

    fn handle(&mut self, msg: GetListingActor, ctx: &mut Self::Context) -> Self::Result {
        if let Some(addr) = self.listings.get(&msg.id).filter(|a| a.connected()) {
            return MessageResult(addr.clone());
        }
        let actor = ListingActor::new(
            msg.id,
            self.pool.clone(),
            self.broker.clone(),
            self.settings.rules.clone(),
            self.settings.cache.clone(),
            ctx.address().recipient(),
            self.settings.listing_idle,
        )
        .with_alerts(self.settings.alerts.clone());
        let addr = actor.start();
        self.listings.insert(msg.id, addr.clone());
        MessageResult(addr)
    }
}

impl Handler<Passivated> for Directory {
    type Result = ();

    fn handle(&mut self, msg: Passivated, _ctx: &mut Self::Context) {
        // The entry may already point at a newer actor for the same listing.
        if self.listings.get(&msg.id) == Some(&msg.addr) {
            self.listings.remove(&msg.id);
        }
    }
}

impl Handler<CountActive> for Directory {
    type Result = usize;

    fn handle(&mut self, _msg: CountActive, _ctx: &mut Self::Context) -> usize {
        self.listings.values().filter(|a| a.connected()).count()
    }
}

/// How many times a command is re-sent when it reached an actor that had just passivated.
const MAX_DELIVERY_ATTEMPTS: usize = 3;

/// Sends `msg` to the actor of listing `id`, starting it if need be. An actor that stopped
/// (passivated) between lookup and delivery closes its mailbox; the command is then sent to
/// a fresh actor.
pub async fn send_to_listing<M>(
    directory: &Addr<Directory>,
    id: ListingId,
    msg: M,
) -> Result<M::Result, MailboxError>
where
    M: Message + Clone + Send + 'static,
    M::Result: Send,
    ListingActor: Handler<M>,
{
    let mut last = MailboxError::Closed;
    for _ in 0..MAX_DELIVERY_ATTEMPTS {
        let addr = directory.send(GetListingActor { id }).await?;
        match addr.send(msg.clone()).await {
            Ok(result) => return Ok(result),
            Err(e) => last = e,
        }
    }
    Err(last)
}
