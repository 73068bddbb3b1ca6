//! Scheduled price drops: a seller sets `{percent, interval_secs, floor}` and the listing's
//! price drops by `percent` every `interval_secs` until it reaches the floor. Each drop is an
//! ordinary price drop; the next one is a stored deadline (`next_price_drop_at`).

use super::listing::{change_from, ListingChange, ListingState, ListingStatus};
use super::rules::CommerceRules;
use super::validation::{in_range, FieldErrors};
use super::Money;
use chrono::{Duration, NaiveDateTime};

/// The percentages a drop may take.
pub const PERCENT: (i64, i64) = (1, 50);
/// The floor is at least this percentage of the price.
pub const FLOOR_MIN_PERCENT_OF_PRICE: i64 = 50;
/// The longest interval: a year.
pub const MAX_INTERVAL_SECS: i64 = 365 * 24 * 3600;

/// A seller's schedule of price drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoPriceDrop {
    pub percent: i64,
    pub interval_secs: i64,
    pub floor: Money,
}

impl AutoPriceDrop {
    fn interval(&self) -> Duration {
        Duration::seconds(self.interval_secs)
    }
}

/// Checks a schedule for a listing priced `price`: the percentage within [`PERCENT`], the
/// interval at least the server's minimum, the floor below the price and at least
/// [`FLOOR_MIN_PERCENT_OF_PRICE`] of it. Fields are named `auto_price_drop.<field>`.
pub fn validate(drop: &AutoPriceDrop, price: Money, rules: &CommerceRules) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.check(
        "auto_price_drop.percent",
        in_range(drop.percent, PERCENT.0, PERCENT.1),
    );
    let min_interval = rules.auto_price_drop_min_interval.num_seconds();
    errors.check(
        "auto_price_drop.interval_secs",
        in_range(
            drop.interval_secs,
            min_interval,
            MAX_INTERVAL_SECS.max(min_interval),
        ),
    );
    let floor = drop.floor.cents();
    let lowest = (i128::from(price.cents()) * i128::from(FLOOR_MIN_PERCENT_OF_PRICE) + 99) / 100;
    if floor >= price.cents() {
        errors.add(
            "auto_price_drop.floor_cents",
            format!("must be below the price ({} cents)", price.cents()),
        );
    } else if i128::from(floor) < lowest {
        errors.add(
            "auto_price_drop.floor_cents",
            format!("must be at least {FLOOR_MIN_PERCENT_OF_PRICE}% of the price ({lowest} cents)"),
        );
    }
    errors
}

/// The price after one drop from `price`: `percent` lower, rounded down to the cent, never
/// below the floor; `None` once the price is at (or below) the floor.
pub fn dropped_price(price: Money, drop: &AutoPriceDrop) -> Option<Money> {
    if price <= drop.floor {
        return None;
    }
    let lowered = i128::from(price.cents()) * i128::from(100 - drop.percent) / 100;
    let lowered = i64::try_from(lowered).unwrap_or(0);
    Some(Money::from_cents(lowered.max(drop.floor.cents())))
}

/// When the next drop of a listing in `state` is due, counted from `now`: only an active
/// listing with a schedule and a price above its floor has one.
pub fn next_drop_at(state: &ListingState, now: NaiveDateTime) -> Option<NaiveDateTime> {
    schedule(state.status, state.price, state.auto_price_drop, now)
}

/// When the first drop of a listing with this status, price and schedule is due, from `now`.
pub fn schedule(
    status: ListingStatus,
    price: Money,
    drop: Option<AutoPriceDrop>,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let drop = drop?;
    let due = status == ListingStatus::Active && dropped_price(price, &drop).is_some();
    due.then(|| now + drop.interval())
}

/// The change of a listing whose scheduled drop may be due at `now`: the dropped price (an
/// ordinary price drop) and the deadline after it, or `None` when nothing is due (not active,
/// no schedule, not yet, or already done by another process).
pub fn decide_scheduled_drop(state: &ListingState, now: NaiveDateTime) -> Option<ListingChange> {
    let due_at = state.next_price_drop_at?;
    if now < due_at || state.status != ListingStatus::Active {
        return None;
    }
    let mut next = state.clone();
    match state
        .auto_price_drop
        .and_then(|d| dropped_price(state.price, &d))
    {
        Some(price) => {
            next.price = price;
            next.next_price_drop_at = next_drop_at(&next, now);
        }
        // At the floor (or the schedule is gone): the schedule stops.
        None => next.next_price_drop_at = None,
    }
    Some(change_from(state, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::listing::{sample_listing, ListingEvent};

    fn m(cents: i64) -> Money {
        Money::from_cents(cents)
    }

    fn rules() -> CommerceRules {
        CommerceRules {
            auto_price_drop_min_interval: Duration::hours(24),
            ..CommerceRules::default()
        }
    }

    fn daily(percent: i64, floor: i64) -> AutoPriceDrop {
        AutoPriceDrop {
            percent,
            interval_secs: 86_400,
            floor: m(floor),
        }
    }

    fn t0() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    fn fields(errors: FieldErrors) -> Vec<String> {
        errors.fields().keys().cloned().collect()
    }

    #[test]
    fn a_schedule_is_one_to_fifty_percent_at_least_the_minimum_interval_and_a_floor_in_range() {
        let price = m(10_000);
        assert!(validate(&daily(10, 5_000), price, &rules()).is_empty());
        assert!(validate(&daily(50, 9_999), price, &rules()).is_empty());
        assert_eq!(
            fields(validate(&daily(0, 8_000), price, &rules())),
            ["auto_price_drop.percent"]
        );
        assert_eq!(
            fields(validate(&daily(51, 8_000), price, &rules())),
            ["auto_price_drop.percent"]
        );
        let hourly = AutoPriceDrop {
            interval_secs: 3_600,
            ..daily(10, 8_000)
        };
        assert_eq!(
            fields(validate(&hourly, price, &rules())),
            ["auto_price_drop.interval_secs"]
        );
        for floor in [10_000, 12_000, 4_999, 0, -1] {
            assert_eq!(
                fields(validate(&daily(10, floor), price, &rules())),
                ["auto_price_drop.floor_cents"],
                "{floor}"
            );
        }
    }

    #[test]
    fn drops_take_the_percentage_and_stop_at_the_floor() {
        let drop = daily(10, 8_000);
        assert_eq!(dropped_price(m(10_000), &drop), Some(m(9_000)));
        assert_eq!(dropped_price(m(9_000), &drop), Some(m(8_100)));
        assert_eq!(dropped_price(m(8_100), &drop), Some(m(8_000)));
        assert_eq!(dropped_price(m(8_000), &drop), None);
        // Rounded down to the cent.
        assert_eq!(dropped_price(m(999), &daily(10, 500)), Some(m(899)));
    }

    #[test]
    fn only_an_active_listing_above_its_floor_has_a_next_drop() {
        let mut l = sample_listing(ListingStatus::Active);
        assert_eq!(next_drop_at(&l, t0()), None);
        l.auto_price_drop = Some(daily(10, 8_000));
        assert_eq!(next_drop_at(&l, t0()), Some(t0() + Duration::days(1)));
        l.price = m(8_000);
        assert_eq!(next_drop_at(&l, t0()), None);
        l.price = m(10_000);
        for status in [
            ListingStatus::Draft,
            ListingStatus::SoldOut,
            ListingStatus::Closed,
        ] {
            l.status = status;
            assert_eq!(next_drop_at(&l, t0()), None, "{status}");
        }
    }

    #[test]
    fn a_due_drop_lowers_the_price_and_sets_the_next_deadline_until_the_floor() {
        let mut l = sample_listing(ListingStatus::Active);
        l.auto_price_drop = Some(daily(10, 8_000));
        l.next_price_drop_at = Some(t0());
        assert_eq!(decide_scheduled_drop(&l, t0() - Duration::seconds(1)), None);
        let change = decide_scheduled_drop(&l, t0()).unwrap();
        assert!(change.events.contains(&ListingEvent::PriceDropped {
            old_price: m(10_000),
            new_price: m(9_000)
        }));
        let next = change.next;
        assert_eq!(next.price, m(9_000));
        assert_eq!(next.next_price_drop_at, Some(t0() + Duration::days(1)));
        // The last step reaches the floor: no deadline after it.
        let mut near = next.clone();
        near.price = m(8_100);
        near.next_price_drop_at = Some(t0());
        let last = decide_scheduled_drop(&near, t0()).unwrap().next;
        assert_eq!((last.price, last.next_price_drop_at), (m(8_000), None));
        // Already done elsewhere (no deadline), or the listing is no longer active: nothing.
        assert_eq!(decide_scheduled_drop(&last, t0()), None);
        let mut closed = l.clone();
        closed.status = ListingStatus::Closed;
        assert_eq!(decide_scheduled_drop(&closed, t0()), None);
    }
}
