//! Shipping: the seller ships a paid order to the address it keeps (with an optional carrier
//! and tracking number), and an order made before its buyer had an address gets the address
//! the buyer adds later. An order without an address is not shipped: the buyer is told, live
//! and in their inbox, in the transaction that refuses it.

use super::tx::{Failure, Tx};
use super::{FillShipTo, ShipOrder};
use crate::domain::offer::Party;
use crate::domain::order::{decide_ship, OrderError};
use crate::events::ORDER_ADDRESS_ADDED;
use crate::store::addresses;
use crate::store::models::Order;
use crate::store::orders;

/// What a shipping attempt came to. `NeedsAddress` commits (the buyer's notification) and is
/// answered as a refusal by the edge.
#[derive(Clone, Debug)]
pub enum ShipOutcome {
    Shipped(Box<Order>),
    NeedsAddress,
}

handle!(ShipOrder, ShipOutcome, |tx, msg| tx.ship(&msg));

handle!(FillShipTo, Option<Order>, |tx, msg| tx.fill_ship_to(&msg));

impl Tx<'_> {
    fn ship(&mut self, msg: &ShipOrder) -> Result<ShipOutcome, Failure> {
        let order = self.order(msg.order)?;
        let has_address = order.ship_to.is_some();
        let actor = Party::User(msg.seller);
        match decide_ship(self.rules, &order.state(), actor, has_address, self.now) {
            Ok((next, effect)) => {
                let after = self.apply_order_action(&order, &next, effect, Some(&msg.shipment))?;
                Ok(ShipOutcome::Shipped(Box::new(after)))
            }
            Err(OrderError::NoShippingAddress) => {
                self.outbox.address_needed(&order);
                Ok(ShipOutcome::NeedsAddress)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Copies the buyer's current address into a paid order that has none: the order (and its
    /// `order.address_added` event to both parties) if it was filled.
    fn fill_ship_to(&mut self, msg: &FillShipTo) -> Result<Option<Order>, Failure> {
        let order = self.order(msg.order)?;
        if order.buyer_id != msg.buyer.0 {
            return Ok(None);
        }
        let Some(address) = addresses::find(self.conn, msg.buyer.0)? else {
            return Ok(None);
        };
        let filled = orders::fill_ship_to(self.conn, order.id, &address.snapshot(), self.now)?;
        if let Some(after) = &filled {
            self.outbox.order(after, ORDER_ADDRESS_ADDED);
        }
        Ok(filled)
    }
}
