//! An offer to likers: the seller sends one offer to everyone who likes a listing, at least a
//! set percentage below the price and at most once per period.

use super::listing::{ListingState, ListingStatus};
use super::rules::CommerceRules;
use super::{Money, UserId};
use chrono::NaiveDateTime;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LikerOfferError {
    #[error("only the seller may send an offer to likers")]
    NotSeller,
    #[error("the listing is {0}, not active")]
    ListingNotActive(ListingStatus),
    #[error(
        "an offer to likers must be at least {percent}% below the price: at most {max_cents} cents"
    )]
    NotEnoughOff { percent: i64, max_cents: i64 },
    #[error(
        "an offer to likers was already sent in the last period; the next may be sent at {next_at}"
    )]
    TooSoon { next_at: NaiveDateTime },
    #[error("nobody likes this listing yet, so an offer to likers would reach no one")]
    NoLikers,
}

/// Decides whether `seller` may send an offer of `amount` to the `likers` users who like
/// `listing`, given when the last one was sent. With nobody to reach it is refused, and so
/// uses up nothing of the allowance.
pub fn decide_liker_offer(
    rules: &CommerceRules,
    listing: &ListingState,
    seller: UserId,
    amount: Money,
    likers: usize,
    last_sent_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<NaiveDateTime, LikerOfferError> {
    if seller != listing.seller_id {
        return Err(LikerOfferError::NotSeller);
    }
    if listing.status != ListingStatus::Active {
        return Err(LikerOfferError::ListingNotActive(listing.status));
    }
    let discount = rules.liker_offer_min_discount_percent;
    if amount.cents() < 1 || !amount.is_at_least_percent_below(listing.price, discount) {
        let max = i128::from(listing.price.cents()) * i128::from(100 - discount) / 100;
        return Err(LikerOfferError::NotEnoughOff {
            percent: discount,
            max_cents: i64::try_from(max).unwrap_or(0),
        });
    }
    if let Some(last) = last_sent_at {
        let next_at = last + rules.liker_offer_period;
        if now < next_at {
            return Err(LikerOfferError::TooSoon { next_at });
        }
    }
    if likers == 0 {
        return Err(LikerOfferError::NoLikers);
    }
    Ok(now + rules.liker_offer_period)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::listing::sample_listing;
    use chrono::Duration;

    const SELLER: UserId = UserId(1);

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap_or_default()
            .naive_utc()
    }

    fn decide(
        who: UserId,
        status: ListingStatus,
        cents: i64,
        last: Option<NaiveDateTime>,
    ) -> Result<NaiveDateTime, LikerOfferError> {
        let rules = CommerceRules::default();
        decide_liker_offer(
            &rules,
            &sample_listing(status),
            who,
            Money::from_cents(cents),
            3,
            last,
            now(),
        )
    }

    #[test]
    fn the_seller_may_send_one_at_least_ten_percent_off_and_it_lasts_a_period() {
        assert_eq!(
            decide(SELLER, ListingStatus::Active, 9_000, None),
            Ok(now() + Duration::hours(24))
        );
    }

    #[test]
    fn anyone_else_or_a_listing_not_active_is_refused() {
        assert_eq!(
            decide(UserId(2), ListingStatus::Active, 9_000, None),
            Err(LikerOfferError::NotSeller)
        );
        assert_eq!(
            decide(SELLER, ListingStatus::Draft, 9_000, None),
            Err(LikerOfferError::ListingNotActive(ListingStatus::Draft))
        );
    }

    #[test]
    fn less_than_the_discount_says_the_most_it_may_be() {
        let expected = Err(LikerOfferError::NotEnoughOff {
            percent: 10,
            max_cents: 9_000,
        });
        assert_eq!(decide(SELLER, ListingStatus::Active, 9_001, None), expected);
        assert_eq!(decide(SELLER, ListingStatus::Active, 0, None), expected);
    }

    #[test]
    fn a_second_within_the_period_is_too_soon_and_says_when_the_next_may_go() {
        let last = now() - Duration::hours(23);
        assert_eq!(
            decide(SELLER, ListingStatus::Active, 9_000, Some(last)),
            Err(LikerOfferError::TooSoon {
                next_at: last + Duration::hours(24)
            })
        );
        let long_ago = now() - Duration::hours(24);
        assert!(decide(SELLER, ListingStatus::Active, 9_000, Some(long_ago)).is_ok());
    }

    #[test]
    fn with_nobody_liking_the_listing_it_is_refused() {
        let rules = CommerceRules::default();
        let listing = sample_listing(ListingStatus::Active);
        let nine = Money::from_cents(9_000);
        assert_eq!(
            decide_liker_offer(&rules, &listing, SELLER, nine, 0, None, now()),
            Err(LikerOfferError::NoLikers)
        );
        assert!(decide_liker_offer(&rules, &listing, SELLER, nine, 1, None, now()).is_ok());
    }
}
