//! A listing's photos: adding one, removing one and reordering them (with an edit) are
//! listing commands like any other: in the listing's transaction, the version moves on and
//! `listing.updated` carries the photos as they now are. The files are already stored
//! (content-addressed) before the command runs, so a command that fails leaves only files
//! no row names, which the media sweep deletes.

use super::tx::{Failure, Tx};
use super::{AddPhoto, EditListing, ListingError, PhotoAdded, RemovePhoto};
use crate::domain::listing::{decide_edit, ListingChange, ListingEvent};
use crate::domain::photo::{decide_add, decide_order, decide_remove, PhotoError};
use crate::store::models::Listing;
use crate::store::photos::{self, NewPhoto};

handle!(EditListing, Listing, |tx, msg| {
    let change = decide_edit(
        &tx.listing.state(),
        msg.by,
        &msg.patch,
        msg.if_match,
        tx.rules,
        tx.now,
    )?;
    let mut reordered = false;
    if let Some(requested) = &msg.photo_ids {
        let current: Vec<i64> = photos::of_listing(tx.conn, tx.listing.id)?
            .iter()
            .map(|p| p.id)
            .collect();
        reordered = decide_order(&tx.listing.state(), msg.by, &current, requested)?;
        if reordered {
            photos::set_order(tx.conn, tx.listing.id, requested)?;
        }
    }
    if reordered && !change.changed() {
        tx.touch()
    } else {
        tx.change_price(&change)
    }
});

handle!(AddPhoto, PhotoAdded, |tx, msg| {
    let count = photos::of_listing(tx.conn, tx.listing.id)?;
    let max = tx.rules.max_photos_per_listing;
    decide_add(&tx.listing.state(), msg.by, count.len() as i64, max)?;
    let position = count.last().map_or(0, |p| p.position.saturating_add(1));
    let photo = photos::insert(
        tx.conn,
        &NewPhoto {
            listing_id: tx.listing.id,
            position,
            width: msg.photo.width,
            height: msg.photo.height,
            full_key: &msg.photo.full_key,
            medium_key: &msg.photo.medium_key,
            thumb_key: &msg.photo.thumb_key,
            created_at: tx.now,
        },
    )?;
    let listing = tx.touch()?;
    Ok(PhotoAdded { listing, photo })
});

handle!(RemovePhoto, Listing, |tx, msg| {
    let current: Vec<i64> = photos::of_listing(tx.conn, tx.listing.id)?
        .iter()
        .map(|p| p.id)
        .collect();
    decide_remove(&tx.listing.state(), msg.by, &current, msg.photo)?;
    if photos::delete(tx.conn, tx.listing.id, msg.photo)? == 0 {
        return Err(ListingError::from(PhotoError::NotFound).into());
    }
    tx.touch()
});

impl Tx<'_> {
    /// A change of the listing's photos: the version moves on and `listing.updated` tells
    /// subscribers (with the photos as they are now).
    fn touch(&mut self) -> Result<Listing, Failure> {
        let mut next = self.listing.state();
        next.version += 1;
        self.change_listing(&ListingChange {
            next,
            events: vec![ListingEvent::Updated],
        })
    }
}
