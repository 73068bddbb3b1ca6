//! Orders: `paid → shipped → completed`, or `cancelled` before shipping; `disputed` and
//! `refunded` are decided in `dispute.rs`. Who may move an order where, and when.

use super::offer::{Party, Side};
use super::rules::CommerceRules;
use super::validation::{char_length, in_range, FieldErrors};
use super::UserId;
use chrono::NaiveDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Paid,
    Shipped,
    Completed,
    Cancelled,
    /// The buyer opened a dispute: nothing completes by itself until it is resolved.
    Disputed,
    /// The seller refunded in full, or a moderator refunded the buyer.
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        Self::Paid,
        Self::Shipped,
        Self::Completed,
        Self::Cancelled,
        Self::Disputed,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Disputed => "disputed",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether money is still in escrow: the order is neither completed nor refunded.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Paid | Self::Shipped | Self::Disputed)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderState {
    pub buyer: UserId,
    pub seller: UserId,
    pub status: OrderStatus,
    pub ship_by: NaiveDateTime,
    pub auto_complete_at: Option<NaiveDateTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderAction {
    Ship,
    Confirm,
    Cancel,
    /// No confirmation within the auto-complete period after shipping (system only).
    AutoComplete,
}

/// What the move does to money and stock, besides the status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEffect {
    /// Shipped: the auto-complete clock starts.
    Shipped,
    /// Completed: escrow is released to the seller, less the fee.
    Released,
    /// Cancelled: escrow is refunded and the units restocked.
    Refunded,
}

impl OrderEffect {
    pub fn event_type(self) -> &'static str {
        match self {
            OrderEffect::Shipped => "order.shipped",
            OrderEffect::Released => "order.completed",
            OrderEffect::Refunded => "order.cancelled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("only the buyer and the seller may act on this order")]
    NotParty,
    #[error("only the {0} may do that")]
    WrongParty(&'static str),
    #[error("a {from} order cannot be {action}")]
    IllegalTransition {
        from: &'static str,
        action: &'static str,
    },
    #[error("the buyer may cancel only once the ship deadline has passed")]
    ShipDeadlineNotPassed,
    #[error("the order completes by itself only after the auto-complete deadline")]
    NotDue,
    #[error("only a completed order can be rated; this one is {0}")]
    NotCompleted(&'static str),
    #[error("you have already rated this order")]
    AlreadyRated,
    #[error("the rating window of this order closed at {0}")]
    RatingWindowClosed(NaiveDateTime),
    #[error("the buyer has not given a shipping address yet: they have been asked to add one")]
    NoShippingAddress,
}

fn action_name(action: OrderAction) -> &'static str {
    match action {
        OrderAction::Ship => "shipped",
        OrderAction::Confirm => "confirmed",
        OrderAction::Cancel => "cancelled",
        OrderAction::AutoComplete => "auto-completed",
    }
}

/// The one party check for offers and orders: which side of a deal between `buyer` and
/// `seller` `user` is on, if any.
pub fn side_of(buyer: UserId, seller: UserId, user: UserId) -> Option<Side> {
    if user == buyer {
        Some(Side::Buyer)
    } else if user == seller {
        Some(Side::Seller)
    } else {
        None
    }
}

impl OrderState {
    pub fn side_of(&self, user: UserId) -> Option<Side> {
        side_of(self.buyer, self.seller, user)
    }
}

/// Decides `action` by `actor` at `now`: the order after it and the effect to apply.
pub fn decide_order_action(
    rules: &CommerceRules,
    order: &OrderState,
    actor: Party,
    action: OrderAction,
    now: NaiveDateTime,
) -> Result<(OrderState, OrderEffect), OrderError> {
    let side = match actor {
        Party::User(user) => Some(order.side_of(user).ok_or(OrderError::NotParty)?),
        Party::System => None,
    };
    let is_buyer = side == Some(Side::Buyer);
    let is_seller = side == Some(Side::Seller);
    let illegal = || OrderError::IllegalTransition {
        from: order.status.as_str(),
        action: action_name(action),
    };
    let mut next = order.clone();
    let effect = match action {
        OrderAction::Ship => {
            if !is_seller {
                return Err(OrderError::WrongParty("seller"));
            }
            if order.status != OrderStatus::Paid {
                return Err(illegal());
            }
            next.status = OrderStatus::Shipped;
            next.auto_complete_at = Some(now + rules.auto_complete_after);
            OrderEffect::Shipped
        }
        OrderAction::Confirm => {
            if !is_buyer {
                return Err(OrderError::WrongParty("buyer"));
            }
            if order.status != OrderStatus::Shipped {
                return Err(illegal());
            }
            next.status = OrderStatus::Completed;
            OrderEffect::Released
        }
        OrderAction::Cancel => {
            if order.status != OrderStatus::Paid {
                return Err(illegal());
            }
            if is_buyer && now < order.ship_by {
                return Err(OrderError::ShipDeadlineNotPassed);
            }
            if actor == Party::System {
                return Err(OrderError::WrongParty("buyer or the seller"));
            }
            next.status = OrderStatus::Cancelled;
            OrderEffect::Refunded
        }
        OrderAction::AutoComplete => {
            if actor != Party::System {
                return Err(OrderError::WrongParty("server"));
            }
            if order.status != OrderStatus::Shipped {
                return Err(illegal());
            }
            if order.auto_complete_at.is_none_or(|at| now < at) {
                return Err(OrderError::NotDue);
            }
            next.status = OrderStatus::Completed;
            OrderEffect::Released
        }
    };
    Ok((next, effect))
}

/// Decides a shipment: the seller ships a paid order (`decide_order_action`), and only to an
/// address, so an order whose buyer gave none is refused after the party and status checks
/// (a stranger learns nothing about the order's address).
pub fn decide_ship(
    rules: &CommerceRules,
    order: &OrderState,
    actor: Party,
    has_address: bool,
    now: NaiveDateTime,
) -> Result<(OrderState, OrderEffect), OrderError> {
    let decided = decide_order_action(rules, order, actor, OrderAction::Ship, now)?;
    if !has_address {
        return Err(OrderError::NoShippingAddress);
    }
    Ok(decided)
}

/// The stars a rating may give, lowest and highest.
pub const RATING_STARS: (i64, i64) = (1, 5);

/// The longest rating comment, in characters.
pub const MAX_RATING_COMMENT_CHARS: usize = 1000;

/// Checks a rating's fields: its stars within [`RATING_STARS`], its comment no longer than
/// [`MAX_RATING_COMMENT_CHARS`].
pub fn validate_rating(stars: i64, comment: Option<&str>) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    errors.check("stars", in_range(stars, RATING_STARS.0, RATING_STARS.1));
    if let Some(c) = comment {
        errors.check("comment", char_length(c, 0, MAX_RATING_COMMENT_CHARS));
    }
    errors.into_result(())
}

/// Decides a rating of `order` (completed at `completed_at`) by `rater` at `now`: only a party
/// rates, only a completed order, only within the rating window (once it closes, ratings are
/// revealed, so nobody may rate having seen the other's), and always the other side, whom it
/// returns. Once per side is the store's unique key on (order, rater); its violation is
/// [`OrderError::AlreadyRated`].
pub fn decide_rating(
    order: &OrderState,
    rater: UserId,
    completed_at: Option<NaiveDateTime>,
    rules: &CommerceRules,
    now: NaiveDateTime,
) -> Result<UserId, OrderError> {
    let ratee = match order.side_of(rater).ok_or(OrderError::NotParty)? {
        Side::Buyer => order.seller,
        Side::Seller => order.buyer,
    };
    if order.status != OrderStatus::Completed {
        return Err(OrderError::NotCompleted(order.status.as_str()));
    }
    if let Some(closes) = completed_at.map(|done| done + rules.rating_window) {
        if now >= closes {
            return Err(OrderError::RatingWindowClosed(closes));
        }
    }
    Ok(ratee)
}

/// Which of an order's ratings, given by `raters` in order, `viewer` may see: see
/// [`rating_visible`]; both sides have rated once there are two.
pub fn visible_ratings(
    raters: &[UserId],
    viewer: UserId,
    completed_at: Option<NaiveDateTime>,
    rules: &CommerceRules,
    now: NaiveDateTime,
) -> Vec<bool> {
    let both_rated = raters.len() >= 2;
    raters
        .iter()
        .map(|&rater| rating_visible(rater, viewer, both_rated, completed_at, rules, now))
        .collect()
}

/// When a rating becomes visible to everyone but its author ([`rating_visible`] for a third
/// party): when the order's other side rates (`other_rated_at`), or when the rating window
/// after completion closes, whichever comes first. Stored with each rating (and moved earlier
/// when the second rating arrives), so a profile counts revealed ratings from an index.
pub fn revealed_at(
    completed_at: NaiveDateTime,
    other_rated_at: Option<NaiveDateTime>,
    rules: &CommerceRules,
) -> NaiveDateTime {
    let closes = completed_at + rules.rating_window;
    other_rated_at.map_or(closes, |at| at.min(closes))
}

/// Whether a rating `rater` gave is visible to `viewer`: always to its author; to anyone else
/// once both sides rated or the rating window after completion closed.
pub fn rating_visible(
    rater: UserId,
    viewer: UserId,
    both_rated: bool,
    completed_at: Option<NaiveDateTime>,
    rules: &CommerceRules,
    now: NaiveDateTime,
) -> bool {
    rater == viewer
        || both_rated
        || completed_at.is_some_and(|done| now >= done + rules.rating_window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const BUYER: UserId = UserId(1);
    const SELLER: UserId = UserId(2);

    fn at(hours: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
            + Duration::hours(hours)
    }

    fn order(status: OrderStatus) -> OrderState {
        OrderState {
            buyer: BUYER,
            seller: SELLER,
            status,
            ship_by: at(72),
            auto_complete_at: (status == OrderStatus::Shipped).then(|| at(100)),
        }
    }

    fn act(
        o: &OrderState,
        who: Party,
        a: OrderAction,
        hours: i64,
    ) -> Result<OrderStatus, OrderError> {
        decide_order_action(&CommerceRules::default(), o, who, a, at(hours)).map(|(n, _)| n.status)
    }

    #[test]
    fn the_happy_path() {
        let rules = CommerceRules::default();
        let (shipped, effect) = decide_order_action(
            &rules,
            &order(OrderStatus::Paid),
            Party::User(SELLER),
            OrderAction::Ship,
            at(1),
        )
        .unwrap();
        assert_eq!(effect, OrderEffect::Shipped);
        assert_eq!(shipped.auto_complete_at, Some(at(1) + Duration::hours(72)));
        let (done, effect) = decide_order_action(
            &rules,
            &shipped,
            Party::User(BUYER),
            OrderAction::Confirm,
            at(2),
        )
        .unwrap();
        assert_eq!(
            (done.status, effect),
            (OrderStatus::Completed, OrderEffect::Released)
        );
    }

    #[test]
    fn only_the_right_party_moves_an_order() {
        let paid = order(OrderStatus::Paid);
        assert_eq!(
            act(&paid, Party::User(BUYER), OrderAction::Ship, 1),
            Err(OrderError::WrongParty("seller"))
        );
        assert_eq!(
            act(&paid, Party::User(UserId(9)), OrderAction::Ship, 1),
            Err(OrderError::NotParty)
        );
        let shipped = order(OrderStatus::Shipped);
        assert_eq!(
            act(&shipped, Party::User(SELLER), OrderAction::Confirm, 1),
            Err(OrderError::WrongParty("buyer"))
        );
        assert_eq!(
            act(&shipped, Party::User(BUYER), OrderAction::AutoComplete, 200),
            Err(OrderError::WrongParty("server"))
        );
    }

    #[test]
    fn cancelling_is_for_unshipped_orders_and_the_buyer_waits_for_the_deadline() {
        let paid = order(OrderStatus::Paid);
        assert_eq!(
            act(&paid, Party::User(SELLER), OrderAction::Cancel, 1),
            Ok(OrderStatus::Cancelled)
        );
        assert_eq!(
            act(&paid, Party::User(BUYER), OrderAction::Cancel, 71),
            Err(OrderError::ShipDeadlineNotPassed)
        );
        assert_eq!(
            act(&paid, Party::User(BUYER), OrderAction::Cancel, 72),
            Ok(OrderStatus::Cancelled)
        );
        for status in [
            OrderStatus::Shipped,
            OrderStatus::Completed,
            OrderStatus::Cancelled,
        ] {
            assert!(matches!(
                act(
                    &order(status),
                    Party::User(SELLER),
                    OrderAction::Cancel,
                    200
                ),
                Err(OrderError::IllegalTransition { .. })
            ));
        }
    }

    #[test]
    fn auto_completion_waits_for_its_deadline() {
        let shipped = order(OrderStatus::Shipped);
        assert_eq!(
            act(&shipped, Party::System, OrderAction::AutoComplete, 99),
            Err(OrderError::NotDue)
        );
        assert_eq!(
            act(&shipped, Party::System, OrderAction::AutoComplete, 100),
            Ok(OrderStatus::Completed)
        );
        assert!(matches!(
            act(
                &order(OrderStatus::Completed),
                Party::System,
                OrderAction::AutoComplete,
                200
            ),
            Err(OrderError::IllegalTransition { .. })
        ));
    }

    #[test]
    fn ratings_stay_hidden_until_both_rate_or_the_window_closes() {
        let rules = CommerceRules::default();
        let done = Some(at(0));
        assert!(rating_visible(BUYER, BUYER, false, done, &rules, at(1)));
        assert!(!rating_visible(BUYER, SELLER, false, done, &rules, at(1)));
        assert!(rating_visible(BUYER, SELLER, true, done, &rules, at(1)));
        assert!(rating_visible(
            BUYER,
            SELLER,
            false,
            done,
            &rules,
            at(24 * 7)
        ));
    }

    #[test]
    fn revealed_at_is_when_a_third_party_may_see_the_rating() {
        let rules = CommerceRules::default();
        let done = at(0);
        let third = UserId(9);
        for other in [None, Some(at(5)), Some(at(24 * 7 - 1)), Some(at(24 * 8))] {
            let reveal = revealed_at(done, other, &rules);
            for hours in [0, 4, 5, 6, 24 * 7 - 1, 24 * 7, 24 * 8, 24 * 9] {
                let now = at(hours);
                let both = other.is_some_and(|t| t <= now);
                assert_eq!(
                    rating_visible(BUYER, third, both, Some(done), &rules, now),
                    now >= reveal,
                    "other rated at {other:?}, now {hours} h"
                );
            }
        }
    }

    #[test]
    fn shipping_needs_an_address_but_strangers_learn_nothing() {
        let rules = CommerceRules::default();
        let paid = order(OrderStatus::Paid);
        let ship = |who, has| decide_ship(&rules, &paid, Party::User(who), has, at(1));
        assert_eq!(ship(SELLER, false), Err(OrderError::NoShippingAddress));
        assert_eq!(ship(SELLER, true).unwrap().1, OrderEffect::Shipped);
        assert_eq!(ship(UserId(9), false), Err(OrderError::NotParty));
        assert_eq!(ship(BUYER, false), Err(OrderError::WrongParty("seller")));
    }

    #[test]
    fn the_party_check_names_the_side_or_none() {
        assert_eq!(side_of(BUYER, SELLER, BUYER), Some(Side::Buyer));
        assert_eq!(side_of(BUYER, SELLER, SELLER), Some(Side::Seller));
        assert_eq!(side_of(BUYER, SELLER, UserId(9)), None);
        assert_eq!(order(OrderStatus::Paid).side_of(SELLER), Some(Side::Seller));
    }

    #[test]
    fn a_rating_has_one_to_five_stars_and_a_bounded_comment() {
        assert!(validate_rating(1, None).is_ok());
        assert!(validate_rating(5, Some(&"é".repeat(1000))).is_ok());
        for stars in [0, 6, -1] {
            let errors = validate_rating(stars, None).unwrap_err();
            assert!(errors.fields().contains_key("stars"), "{stars}");
        }
        let errors = validate_rating(3, Some(&"x".repeat(1001))).unwrap_err();
        assert_eq!(errors.fields().keys().collect::<Vec<_>>(), ["comment"]);
        let both = validate_rating(9, Some(&"x".repeat(1001))).unwrap_err();
        assert_eq!(both.fields().len(), 2);
    }

    #[test]
    fn each_party_rates_the_other_side_of_a_completed_order_only() {
        let done = order(OrderStatus::Completed);
        let rules = CommerceRules::default();
        let rate =
            |order: &OrderState, rater| decide_rating(order, rater, Some(at(0)), &rules, at(1));
        assert_eq!(rate(&done, BUYER), Ok(SELLER));
        assert_eq!(rate(&done, SELLER), Ok(BUYER));
        assert_eq!(rate(&done, UserId(9)), Err(OrderError::NotParty));
        for status in [
            OrderStatus::Paid,
            OrderStatus::Shipped,
            OrderStatus::Cancelled,
        ] {
            assert_eq!(
                rate(&order(status), BUYER),
                Err(OrderError::NotCompleted(status.as_str()))
            );
        }
        assert_eq!(
            OrderError::NotCompleted("shipped").to_string(),
            "only a completed order can be rated; this one is shipped"
        );
    }

    #[test]
    fn nobody_rates_once_the_window_closed() {
        let rules = CommerceRules::default();
        let done = order(OrderStatus::Completed);
        let closes = at(0) + rules.rating_window;
        let rate_at = |now| decide_rating(&done, SELLER, Some(at(0)), &rules, now);
        assert_eq!(rate_at(closes - Duration::seconds(1)), Ok(BUYER));
        assert_eq!(rate_at(closes), Err(OrderError::RatingWindowClosed(closes)));
        // The window closing is also when ratings are revealed: nobody rates having seen one.
        assert!(rating_visible(
            BUYER,
            SELLER,
            false,
            Some(at(0)),
            &rules,
            closes
        ));
    }

    #[test]
    fn the_other_sides_rating_shows_once_both_rated() {
        let rules = CommerceRules::default();
        let done = Some(at(0));
        assert_eq!(
            visible_ratings(&[BUYER], SELLER, done, &rules, at(1)),
            [false]
        );
        assert_eq!(
            visible_ratings(&[BUYER], BUYER, done, &rules, at(1)),
            [true]
        );
        assert_eq!(
            visible_ratings(&[BUYER, SELLER], SELLER, done, &rules, at(1)),
            [true, true]
        );
        assert_eq!(
            visible_ratings(&[SELLER], BUYER, done, &rules, at(24 * 7)),
            [true]
        );
    }
}
