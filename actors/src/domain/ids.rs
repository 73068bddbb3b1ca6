//! Id newtypes, so a buyer id cannot be passed where a listing id goes.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        id_type!($(#[$doc])* $name(i64));
    };
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A registered user (buyer or seller).
    UserId
);
id_type!(
    /// A listing.
    ListingId
);
id_type!(
    /// An offer on a listing (with its counters).
    OfferId
);
id_type!(
    /// An order: a purchase, or an accepted offer.
    OrderId
);
id_type!(
    /// A buyer–seller conversation about one listing.
    ConversationId
);
id_type!(
    /// A chat message.
    MessageId
);
id_type!(
    /// A login: one bearer token's session row. Logging out ends it and closes its sockets.
    LoginId
);
id_type!(
    /// One subscriber of this process's broker (not stored): a WebSocket connection, or a user
    /// actor (those take ids with the top bit set, so the two never collide).
    ConnectionId(u64)
);
