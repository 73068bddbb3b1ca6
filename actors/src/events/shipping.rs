//! Shipping as orders show it: the address an order keeps (seen by its two parties only:
//! orders appear on their private topics alone), and the events around it.

use super::{OrderView, Outbox};
use crate::domain::address::Address;
use crate::domain::UserId;
use crate::store::models::Order;
use serde::Serialize;
use serde_json::json;

/// The buyer's address, copied into an order of theirs (later edits do not change it).
pub const ORDER_ADDRESS_ADDED: &str = "order.address_added";
/// The seller tried to ship an order whose buyer has no address: the buyer is asked to add one.
pub const NOTIFICATION_ADDRESS_NEEDED: &str = "notification.address_needed";

/// A shipping address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressView {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, in capitals.
    pub country: String,
}

impl From<Address> for AddressView {
    fn from(a: Address) -> Self {
        AddressView {
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

/// The address an order keeps, from its stored JSON (none if it has none).
pub fn ship_to_of(order: &Order) -> Option<AddressView> {
    let stored = order.ship_to.as_deref()?;
    match serde_json::from_str::<Address>(stored) {
        Ok(address) => Some(address.into()),
        Err(e) => {
            tracing::error!(order.id = order.id, error = %e, "an order's ship_to does not parse");
            None
        }
    }
}

impl Outbox {
    /// The buyer of `order` is asked to add a shipping address: stored in their inbox and sent
    /// live on their topic.
    pub fn address_needed(&mut self, order: &Order) {
        let data = json!({
            "order_id": order.id,
            "listing_id": order.listing_id,
            "order": OrderView::from(order),
        });
        self.notify(UserId(order.buyer_id), NOTIFICATION_ADDRESS_NEEDED, data);
    }
}
