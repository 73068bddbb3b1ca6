//! Saved searches: creating and deleting them (the writes to `saved_searches`), and
//! [`AlertMatcher`], the background worker that matches listings against them after their
//! commit and writes the alerts (`saved_search_alerts`, their notifications and events).

mod matcher;

pub use matcher::{AlertBell, AlertMatcher, ListingsChanged};

use crate::domain::saved_search::{SavedSearchSpec, MAX_SAVED_SEARCHES_PER_USER};
use crate::domain::UserId;
use crate::store::saved_searches::{self, SavedSearch};
use crate::store::{self, Pool, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SavedSearchError {
    #[error("at most {MAX_SAVED_SEARCHES_PER_USER} saved searches per user")]
    TooMany,
    #[error("no such saved search")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for SavedSearchError {
    fn from(e: diesel::result::Error) -> Self {
        SavedSearchError::Store(e.into())
    }
}

/// Saves `spec` for `user`, unless they have [`MAX_SAVED_SEARCHES_PER_USER`] already (counted
/// under their row lock, so concurrent saves cannot pass the limit together).
pub async fn create(
    pool: &Pool,
    user: UserId,
    spec: SavedSearchSpec,
) -> Result<SavedSearch, SavedSearchError> {
    pool.run(move |conn| {
        conn.write_transaction(|conn| {
            saved_searches::lock_user(conn, user.0)?;
            if saved_searches::count_of(conn, user.0)? >= MAX_SAVED_SEARCHES_PER_USER {
                return Err(SavedSearchError::TooMany);
            }
            Ok(saved_searches::insert(conn, user.0, &spec, store::now())?)
        })
    })
    .await
}

/// Deletes `user`'s saved search `id`; another user's is [`SavedSearchError::NotFound`].
pub async fn delete(pool: &Pool, user: UserId, id: i64) -> Result<(), SavedSearchError> {
    pool.run(move |conn| {
        conn.write_transaction(|conn| {
            if saved_searches::delete(conn, user.0, id)? {
                Ok(())
            } else {
                Err(SavedSearchError::NotFound)
            }
        })
    })
    .await
}
