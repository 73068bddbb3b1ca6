use super::*;
use crate::domain::ListingId;
use chrono::{Duration, NaiveDate};
use proptest::prelude::*;

const SELLER: UserId = UserId(1);
const BUYER: UserId = UserId(2);
const STRANGER: UserId = UserId(3);
const PRICE: i64 = 10_000;

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 3, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn at(hours: i64) -> NaiveDateTime {
    t0() + Duration::hours(hours)
}

fn cents(c: i64) -> Money {
    Money::from_cents(c)
}

fn rules() -> CommerceRules {
    CommerceRules::default()
}

/// An active listing by `SELLER`: 10 000 cents, 2 in stock, no auto thresholds.
fn listing() -> ListingState {
    ListingState {
        id: ListingId(7),
        seller_id: SELLER,
        title: "Bike".into(),
        description: String::new(),
        category: None,
        condition: None,
        price: cents(PRICE),
        quantity: 2,
        status: ListingStatus::Active,
        auto_accept: None,
        auto_decline: None,
        auto_price_drop: None,
        next_price_drop_at: None,
        version: 1,
    }
}

fn listing_with(status: ListingStatus, quantity: i64) -> ListingState {
    ListingState {
        status,
        quantity,
        ..listing()
    }
}

/// `BUYER`'s first offer of `amount` cents for one unit of `listing`, made at `t0`.
fn new_offer(listing: &ListingState, amount: i64) -> Result<(OfferState, Disposition), OfferError> {
    decide_new_offer(&rules(), listing, BUYER, cents(amount), 1, false, 0, t0())
}

/// An open offer of 8 000 cents on `listing()`, made at `t0`: the seller's move, round 1.
fn opened() -> OfferState {
    let (offer, disposition) = new_offer(&listing(), 8_000).unwrap();
    assert_eq!(disposition, Disposition::Open);
    offer
}

fn act(
    offer: &OfferState,
    actor: Party,
    action: &OfferAction,
    now: NaiveDateTime,
) -> Result<(OfferState, OfferEvent), OfferError> {
    decide_offer_action(&rules(), offer, &listing(), actor, action, now)
}

fn counter(amount: i64) -> OfferAction {
    OfferAction::Counter {
        amount: cents(amount),
    }
}

fn buyer() -> Party {
    Party::User(BUYER)
}

fn seller() -> Party {
    Party::User(SELLER)
}

fn stranger() -> Party {
    Party::User(STRANGER)
}

/// Every action, with a valid counter amount.
fn all_actions() -> Vec<OfferAction> {
    vec![
        counter(9_000),
        OfferAction::Accept,
        OfferAction::Decline,
        OfferAction::Withdraw,
        OfferAction::Expire,
        OfferAction::SoldOut,
    ]
}

/// The field of an `Invalid` error, if it is one.
fn invalid_field<T>(result: &Result<T, OfferError>) -> Option<&'static str> {
    match result {
        Err(OfferError::Invalid { field, .. }) => Some(field),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// decide_new_offer
// ---------------------------------------------------------------------------------------------

#[test]
fn a_new_offer_is_open_with_the_seller_to_move_in_round_one() {
    let (offer, disposition) =
        decide_new_offer(&rules(), &listing(), BUYER, cents(7_500), 2, false, 0, t0()).unwrap();
    assert_eq!(disposition, Disposition::Open);
    assert_eq!(
        offer,
        OfferState {
            buyer: BUYER,
            seller: SELLER,
            amount: cents(7_500),
            quantity: 2,
            status: OfferStatus::Open,
            turn: Side::Seller,
            round: 1,
            expires_at: at(24),
        }
    );
}

#[test]
fn an_offer_on_your_own_listing_is_refused() {
    assert_eq!(
        decide_new_offer(
            &rules(),
            &listing(),
            SELLER,
            cents(8_000),
            1,
            false,
            0,
            t0()
        ),
        Err(OfferError::OwnListing)
    );
}

#[test]
fn an_offer_on_someone_elses_draft_finds_no_listing() {
    assert_eq!(
        new_offer(&listing_with(ListingStatus::Draft, 2), 8_000),
        Err(OfferError::ListingNotFound)
    );
}

#[test]
fn an_offer_on_a_listing_that_is_not_active_is_refused() {
    for status in [ListingStatus::SoldOut, ListingStatus::Closed] {
        assert_eq!(
            new_offer(&listing_with(status, 2), 8_000),
            Err(OfferError::ListingNotActive(status)),
            "{status}"
        );
    }
}

#[test]
fn an_offer_below_half_the_price_is_refused_on_amount_cents() {
    let l = listing();
    assert_eq!(invalid_field(&new_offer(&l, 4_999)), Some("amount_cents"));
    assert_eq!(invalid_field(&new_offer(&l, 1)), Some("amount_cents"));
    assert_eq!(invalid_field(&new_offer(&l, 0)), Some("amount_cents"));
    assert_eq!(invalid_field(&new_offer(&l, -5)), Some("amount_cents"));
    // Exactly half is allowed.
    assert!(new_offer(&l, 5_000).is_ok());
}

#[test]
fn half_of_an_odd_price_rounds_up() {
    let l = ListingState {
        price: cents(101),
        ..listing()
    };
    // 50 is below 50.5 (half of 101); 51 is not.
    assert_eq!(invalid_field(&new_offer(&l, 50)), Some("amount_cents"));
    assert!(new_offer(&l, 51).is_ok());
    assert_eq!(minimum_offer(cents(101), &rules()), cents(51));
    assert_eq!(minimum_offer(cents(100), &rules()), cents(50));
    assert_eq!(minimum_offer(cents(1), &rules()), cents(1));
}

#[test]
fn an_offer_above_the_price_is_refused_on_amount_cents() {
    let l = listing();
    assert_eq!(
        invalid_field(&new_offer(&l, PRICE + 1)),
        Some("amount_cents")
    );
    assert_eq!(
        invalid_field(&new_offer(&l, i64::MAX)),
        Some("amount_cents")
    );
    // Exactly the price is allowed.
    assert!(new_offer(&l, PRICE).is_ok());
}

#[test]
fn a_buyer_may_have_only_one_open_offer_per_listing() {
    assert_eq!(
        decide_new_offer(&rules(), &listing(), BUYER, cents(8_000), 1, true, 1, t0()),
        Err(OfferError::OpenOfferExists)
    );
}

#[test]
fn a_buyer_may_make_at_most_three_offers_per_listing() {
    for made in 0..3 {
        assert!(
            decide_new_offer(
                &rules(),
                &listing(),
                BUYER,
                cents(8_000),
                1,
                false,
                made,
                t0()
            )
            .is_ok(),
            "offer number {}",
            made + 1
        );
    }
    for made in [3, 4, 10] {
        assert_eq!(
            decide_new_offer(
                &rules(),
                &listing(),
                BUYER,
                cents(8_000),
                1,
                false,
                made,
                t0()
            ),
            Err(OfferError::TooManyOffers(3))
        );
    }
}

#[test]
fn an_offer_asks_for_at_least_one_unit_and_no_more_than_are_left() {
    for quantity in [0, -1] {
        let r = decide_new_offer(
            &rules(),
            &listing(),
            BUYER,
            cents(8_000),
            quantity,
            false,
            0,
            t0(),
        );
        assert_eq!(invalid_field(&r), Some("quantity"));
    }
    assert_eq!(
        decide_new_offer(&rules(), &listing(), BUYER, cents(8_000), 3, false, 0, t0()),
        Err(OfferError::NotEnoughQuantity {
            wanted: 3,
            available: 2
        })
    );
}

#[test]
fn an_offer_at_or_above_auto_accept_is_accepted_at_once() {
    let l = ListingState {
        auto_accept: Some(cents(9_000)),
        ..listing()
    };
    assert_eq!(new_offer(&l, 9_000).unwrap().1, Disposition::AutoAccept);
    assert_eq!(new_offer(&l, PRICE).unwrap().1, Disposition::AutoAccept);
    assert_eq!(new_offer(&l, 8_999).unwrap().1, Disposition::Open);
}

#[test]
fn an_offer_below_auto_decline_is_declined_at_once() {
    let l = ListingState {
        auto_decline: Some(cents(7_000)),
        ..listing()
    };
    assert_eq!(new_offer(&l, 6_999).unwrap().1, Disposition::AutoDecline);
    assert_eq!(new_offer(&l, 5_000).unwrap().1, Disposition::AutoDecline);
    assert_eq!(new_offer(&l, 7_000).unwrap().1, Disposition::Open);
}

#[test]
fn with_both_thresholds_each_offer_gets_one_disposition() {
    let l = ListingState {
        auto_accept: Some(cents(9_000)),
        auto_decline: Some(cents(7_000)),
        ..listing()
    };
    assert_eq!(new_offer(&l, 6_000).unwrap().1, Disposition::AutoDecline);
    assert_eq!(new_offer(&l, 8_000).unwrap().1, Disposition::Open);
    assert_eq!(new_offer(&l, 9_500).unwrap().1, Disposition::AutoAccept);
    // Auto-accept wins when (against validation) the thresholds overlap.
    let overlapping = ListingState {
        auto_accept: Some(cents(8_000)),
        auto_decline: Some(cents(9_000)),
        ..listing()
    };
    assert_eq!(
        new_offer(&overlapping, 8_500).unwrap().1,
        Disposition::AutoAccept
    );
}

#[test]
fn a_refused_offer_is_not_auto_accepted() {
    let l = ListingState {
        auto_accept: Some(cents(9_000)),
        ..listing()
    };
    assert_eq!(
        invalid_field(&new_offer(&l, PRICE + 1)),
        Some("amount_cents")
    );
}

#[test]
fn new_offers_follow_the_configured_rules() {
    let custom = CommerceRules {
        offer_min_percent: 70,
        offers_per_buyer_per_listing: 1,
        offer_ttl: Duration::hours(2),
        ..CommerceRules::default()
    };
    let l = listing();
    let make = |amount: i64, made: i64| {
        decide_new_offer(&custom, &l, BUYER, cents(amount), 1, false, made, t0())
    };
    assert_eq!(invalid_field(&make(6_999, 0)), Some("amount_cents"));
    let (offer, _) = make(7_000, 0).unwrap();
    assert_eq!(offer.expires_at, at(2));
    assert_eq!(make(7_000, 1), Err(OfferError::TooManyOffers(1)));
}

// ---------------------------------------------------------------------------------------------
// decide_offer_action
// ---------------------------------------------------------------------------------------------

#[test]
fn the_seller_may_accept_an_offer_on_their_turn() {
    let offer = opened();
    let (next, event) = act(&offer, seller(), &OfferAction::Accept, at(1)).unwrap();
    assert_eq!(event, OfferEvent::Accepted);
    assert_eq!(
        next,
        OfferState {
            status: OfferStatus::Accepted,
            ..offer
        }
    );
}

#[test]
fn the_seller_may_decline_an_offer_on_their_turn() {
    let offer = opened();
    let (next, event) = act(&offer, seller(), &OfferAction::Decline, at(1)).unwrap();
    assert_eq!(event, OfferEvent::Declined);
    assert_eq!(
        next,
        OfferState {
            status: OfferStatus::Declined,
            ..offer
        }
    );
}

#[test]
fn a_counter_flips_the_turn_bumps_the_round_and_restarts_the_clock() {
    let offer = opened();
    let (next, event) = act(&offer, seller(), &counter(9_500), at(5)).unwrap();
    assert_eq!(event, OfferEvent::Countered);
    assert_eq!(
        next,
        OfferState {
            amount: cents(9_500),
            turn: Side::Buyer,
            round: 2,
            expires_at: at(5 + 24),
            ..offer.clone()
        }
    );
    // And back: the buyer counters the counter.
    let (back, event) = act(&next, buyer(), &counter(8_800), at(10)).unwrap();
    assert_eq!(event, OfferEvent::Countered);
    assert_eq!(
        back,
        OfferState {
            amount: cents(8_800),
            turn: Side::Seller,
            round: 3,
            expires_at: at(10 + 24),
            ..offer
        }
    );
}

#[test]
fn after_a_counter_the_buyer_may_accept_or_decline() {
    let (countered, _) = act(&opened(), seller(), &counter(9_500), at(1)).unwrap();
    let (accepted, event) = act(&countered, buyer(), &OfferAction::Accept, at(2)).unwrap();
    assert_eq!(event, OfferEvent::Accepted);
    assert_eq!(accepted.status, OfferStatus::Accepted);
    assert_eq!(accepted.amount, cents(9_500));
    let (declined, event) = act(&countered, buyer(), &OfferAction::Decline, at(2)).unwrap();
    assert_eq!(event, OfferEvent::Declined);
    assert_eq!(declined.status, OfferStatus::Declined);
}

#[test]
fn acting_out_of_turn_is_refused() {
    let offer = opened();
    for action in [OfferAction::Accept, OfferAction::Decline, counter(9_000)] {
        assert_eq!(
            act(&offer, buyer(), &action, at(1)),
            Err(OfferError::NotYourTurn(Side::Seller)),
            "{action:?}"
        );
    }
    let (countered, _) = act(&offer, seller(), &counter(9_500), at(1)).unwrap();
    for action in [OfferAction::Accept, OfferAction::Decline, counter(9_000)] {
        assert_eq!(
            act(&countered, seller(), &action, at(2)),
            Err(OfferError::NotYourTurn(Side::Buyer)),
            "{action:?}"
        );
    }
}

#[test]
fn a_counter_must_be_at_least_half_and_at_most_the_price() {
    let offer = opened();
    for amount in [PRICE + 1, 4_999, 0, -1] {
        assert_eq!(
            invalid_field(&act(&offer, seller(), &counter(amount), at(1))),
            Some("amount_cents"),
            "{amount}"
        );
    }
    assert!(act(&offer, seller(), &counter(PRICE), at(1)).is_ok());
    assert!(act(&offer, seller(), &counter(5_000), at(1)).is_ok());
    let (countered, _) = act(&offer, seller(), &counter(9_500), at(1)).unwrap();
    assert_eq!(
        invalid_field(&act(&countered, buyer(), &counter(PRICE + 1), at(2))),
        Some("amount_cents")
    );
}

#[test]
fn the_buyer_may_withdraw_whoever_s_turn_it_is() {
    let offer = opened();
    let (next, event) = act(&offer, buyer(), &OfferAction::Withdraw, at(1)).unwrap();
    assert_eq!(event, OfferEvent::Withdrawn);
    assert_eq!(
        next,
        OfferState {
            status: OfferStatus::Withdrawn,
            ..offer.clone()
        }
    );
    let (countered, _) = act(&offer, seller(), &counter(9_500), at(1)).unwrap();
    let (next, event) = act(&countered, buyer(), &OfferAction::Withdraw, at(2)).unwrap();
    assert_eq!(event, OfferEvent::Withdrawn);
    assert_eq!(next.status, OfferStatus::Withdrawn);
}

#[test]
fn the_seller_may_not_withdraw() {
    let offer = opened();
    assert_eq!(
        act(&offer, seller(), &OfferAction::Withdraw, at(1)),
        Err(OfferError::OnlyBuyerWithdraws)
    );
    let (countered, _) = act(&offer, seller(), &counter(9_500), at(1)).unwrap();
    assert_eq!(
        act(&countered, seller(), &OfferAction::Withdraw, at(2)),
        Err(OfferError::OnlyBuyerWithdraws)
    );
}

#[test]
fn someone_else_may_not_act_on_an_offer() {
    let offer = opened();
    for action in all_actions() {
        assert_eq!(
            act(&offer, stranger(), &action, at(1)),
            Err(OfferError::NotParty),
            "{action:?}"
        );
    }
    // The party check comes before the open check.
    let closed = OfferState {
        status: OfferStatus::Accepted,
        ..offer
    };
    for action in all_actions() {
        assert_eq!(
            act(&closed, stranger(), &action, at(1)),
            Err(OfferError::NotParty),
            "{action:?}"
        );
    }
}

#[test]
fn no_action_is_allowed_on_an_offer_that_is_not_open() {
    for status in OfferStatus::ALL {
        if status == OfferStatus::Open {
            continue;
        }
        for turn in [Side::Seller, Side::Buyer] {
            let offer = OfferState {
                status,
                turn,
                ..opened()
            };
            for actor in [buyer(), seller(), Party::System] {
                for action in all_actions() {
                    // Before and after the deadline alike.
                    for now in [at(1), at(24), at(100)] {
                        assert_eq!(
                            act(&offer, actor, &action, now),
                            Err(OfferError::NotOpen(status)),
                            "{status} {turn} {actor:?} {action:?} {now}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn offers_closed_by_each_action_stay_closed() {
    let offer = opened();
    let closed = [
        act(&offer, seller(), &OfferAction::Accept, at(1)),
        act(&offer, seller(), &OfferAction::Decline, at(1)),
        act(&offer, buyer(), &OfferAction::Withdraw, at(1)),
        act(&offer, Party::System, &OfferAction::Expire, at(24)),
        act(&offer, Party::System, &OfferAction::SoldOut, at(1)),
    ];
    for result in closed {
        let (next, _) = result.unwrap();
        assert_ne!(next.status, OfferStatus::Open);
        for actor in [buyer(), seller(), Party::System] {
            for action in all_actions() {
                assert_eq!(
                    act(&next, actor, &action, at(2)),
                    Err(OfferError::NotOpen(next.status))
                );
            }
        }
    }
}

#[test]
fn user_actions_fail_at_and_after_the_deadline() {
    let offer = opened();
    let deadline = offer.expires_at;
    assert_eq!(deadline, at(24));
    let cases = [
        (seller(), OfferAction::Accept),
        (seller(), OfferAction::Decline),
        (seller(), counter(9_000)),
        (buyer(), OfferAction::Withdraw),
    ];
    for (actor, action) in &cases {
        let just_before = deadline - Duration::seconds(1);
        assert!(
            act(&offer, *actor, action, just_before).is_ok(),
            "{actor:?} {action:?} just before the deadline"
        );
        for now in [deadline, deadline + Duration::seconds(1), at(1000)] {
            assert_eq!(
                act(&offer, *actor, action, now),
                Err(OfferError::Expired),
                "{actor:?} {action:?} at {now}"
            );
        }
    }
}

#[test]
fn a_counter_restarts_the_deadline() {
    let (countered, _) = act(&opened(), seller(), &counter(9_500), at(20)).unwrap();
    assert_eq!(countered.expires_at, at(44));
    // Past the first deadline, before the new one.
    assert!(act(&countered, buyer(), &OfferAction::Accept, at(30)).is_ok());
    assert!(act(&countered, buyer(), &OfferAction::Accept, at(43)).is_ok());
    assert_eq!(
        act(&countered, buyer(), &OfferAction::Accept, at(44)),
        Err(OfferError::Expired)
    );
    assert!(act(&countered, Party::System, &OfferAction::Expire, at(30)).is_err());
}

#[test]
fn the_system_expires_an_offer_only_once_its_deadline_has_come() {
    let offer = opened();
    assert!(act(&offer, Party::System, &OfferAction::Expire, at(23)).is_err());
    assert!(act(
        &offer,
        Party::System,
        &OfferAction::Expire,
        at(24) - Duration::seconds(1)
    )
    .is_err());
    for now in [at(24), at(25), at(1000)] {
        let (next, event) = act(&offer, Party::System, &OfferAction::Expire, now).unwrap();
        assert_eq!(event, OfferEvent::Expired);
        assert_eq!(
            next,
            OfferState {
                status: OfferStatus::Expired,
                ..offer.clone()
            }
        );
    }
}

#[test]
fn selling_out_declines_an_open_offer_whoever_s_turn_and_whenever() {
    let offer = opened();
    let (countered, _) = act(&offer, seller(), &counter(9_500), at(1)).unwrap();
    for o in [&offer, &countered] {
        for now in [at(2), at(100)] {
            let (next, event) = act(o, Party::System, &OfferAction::SoldOut, now).unwrap();
            assert_eq!(event, OfferEvent::Declined);
            assert_eq!(
                next,
                OfferState {
                    status: OfferStatus::Declined,
                    ..o.clone()
                }
            );
        }
    }
}

#[test]
fn the_system_may_only_expire_or_sell_out() {
    let offer = opened();
    for action in [
        OfferAction::Accept,
        OfferAction::Decline,
        OfferAction::Withdraw,
        counter(9_000),
    ] {
        for now in [at(1), at(30)] {
            assert!(
                act(&offer, Party::System, &action, now).is_err(),
                "{action:?} at {now}"
            );
        }
    }
}

#[test]
fn users_may_not_expire_or_sell_out() {
    let offer = opened();
    for actor in [buyer(), seller()] {
        for action in [OfferAction::Expire, OfferAction::SoldOut] {
            assert_eq!(
                act(&offer, actor, &action, at(1)),
                Err(OfferError::SystemOnly),
                "{actor:?} {action:?}"
            );
        }
    }
}

#[test]
fn accepting_needs_an_active_listing() {
    let offer = opened();
    for status in [
        ListingStatus::Draft,
        ListingStatus::SoldOut,
        ListingStatus::Closed,
    ] {
        assert_eq!(
            decide_offer_action(
                &rules(),
                &offer,
                &listing_with(status, 2),
                seller(),
                &OfferAction::Accept,
                at(1)
            ),
            Err(OfferError::ListingNotActive(status))
        );
    }
}

#[test]
fn accepting_needs_enough_units_left() {
    let (offer, _) =
        decide_new_offer(&rules(), &listing(), BUYER, cents(8_000), 2, false, 0, t0()).unwrap();
    let accept = |quantity: i64| {
        decide_offer_action(
            &rules(),
            &offer,
            &listing_with(ListingStatus::Active, quantity),
            seller(),
            &OfferAction::Accept,
            at(1),
        )
    };
    assert_eq!(
        accept(1),
        Err(OfferError::NotEnoughQuantity {
            wanted: 2,
            available: 1
        })
    );
    assert_eq!(
        accept(0),
        Err(OfferError::NotEnoughQuantity {
            wanted: 2,
            available: 0
        })
    );
    assert_eq!(accept(2).unwrap().0.status, OfferStatus::Accepted);
    assert_eq!(accept(5).unwrap().0.status, OfferStatus::Accepted);
}

#[test]
fn declining_and_withdrawing_need_no_active_listing() {
    let offer = opened();
    let gone = listing_with(ListingStatus::Closed, 0);
    let decide = |actor, action: &OfferAction| {
        decide_offer_action(&rules(), &offer, &gone, actor, action, at(1))
    };
    assert_eq!(
        decide(seller(), &OfferAction::Decline).unwrap().0.status,
        OfferStatus::Declined
    );
    assert_eq!(
        decide(buyer(), &OfferAction::Withdraw).unwrap().0.status,
        OfferStatus::Withdrawn
    );
}

#[test]
fn offer_actions_follow_the_configured_ttl() {
    let custom = CommerceRules {
        offer_ttl: Duration::hours(2),
        ..CommerceRules::default()
    };
    let offer = opened();
    let (next, _) = decide_offer_action(
        &custom,
        &offer,
        &listing(),
        seller(),
        &counter(9_000),
        at(1),
    )
    .unwrap();
    assert_eq!(next.expires_at, at(3));
}

// ---------------------------------------------------------------------------------------------
// Property: decide_offer_action against an independent reference model
// ---------------------------------------------------------------------------------------------

/// The product rules' numbers, written down again rather than read from `CommerceRules`.
const MODEL_MIN_PERCENT: i64 = 50;
const MODEL_TTL_HOURS: i64 = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Buyer,
    Seller,
    Stranger,
    System,
}

/// A counter amount, resolved against the listing price.
#[derive(Clone, Copy, Debug)]
enum AmountPick {
    /// This percent of the price, rounded down.
    Percent(i64),
    /// One cent below half the price.
    BelowHalf,
    /// The least amount that is at least half the price.
    Half,
    Price,
    AbovePrice,
}

impl AmountPick {
    fn resolve(self, price: i64) -> i64 {
        let half_up = (price + 1) / 2;
        match self {
            AmountPick::Percent(p) => price * p / 100,
            AmountPick::BelowHalf => half_up - 1,
            AmountPick::Half => half_up,
            AmountPick::Price => price,
            AmountPick::AbovePrice => price + 1,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Act {
    Counter(AmountPick),
    Accept,
    Decline,
    Withdraw,
    Expire,
    SoldOut,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    who: Who,
    act: Act,
    advance_hours: i64,
    /// The listing as it stands when the step is taken.
    listing_status: ListingStatus,
    listing_quantity: i64,
}

/// An error as the model predicts it (the message of `Invalid` is not part of the contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrKind {
    OwnListing,
    OpenOfferExists,
    TooManyOffers(i64),
    NotParty,
    NotOpen(OfferStatus),
    Expired,
    NotYourTurn(Side),
    OnlyBuyerWithdraws,
    SystemOnly,
    ListingNotFound,
    ListingNotActive(ListingStatus),
    NotEnoughQuantity { wanted: i64, available: i64 },
    Invalid(&'static str),
}

fn kind(e: &OfferError) -> ErrKind {
    match e {
        OfferError::OwnListing => ErrKind::OwnListing,
        OfferError::OpenOfferExists => ErrKind::OpenOfferExists,
        OfferError::TooManyOffers(n) => ErrKind::TooManyOffers(*n),
        OfferError::NotParty => ErrKind::NotParty,
        OfferError::NotOpen(s) => ErrKind::NotOpen(*s),
        OfferError::Expired => ErrKind::Expired,
        OfferError::NotYourTurn(s) => ErrKind::NotYourTurn(*s),
        OfferError::OnlyBuyerWithdraws => ErrKind::OnlyBuyerWithdraws,
        OfferError::SystemOnly => ErrKind::SystemOnly,
        OfferError::ListingNotFound => ErrKind::ListingNotFound,
        OfferError::ListingNotActive(s) => ErrKind::ListingNotActive(*s),
        OfferError::NotEnoughQuantity { wanted, available } => ErrKind::NotEnoughQuantity {
            wanted: *wanted,
            available: *available,
        },
        OfferError::Invalid { field, .. } => ErrKind::Invalid(field),
    }
}

/// The reference model of one offer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Model {
    status: OfferStatus,
    turn: Side,
    round: i64,
    amount: i64,
    expires_at: NaiveDateTime,
}

/// What the model says a step does.
#[derive(Debug)]
enum Expect {
    Ok(Model, OfferEvent),
    /// Refused with one of these errors (several where the rules do not rank the reasons).
    Err(Vec<ErrKind>),
    /// Refused; the rules do not say with which error.
    AnyErr,
}

fn refuse(kind: ErrKind) -> Expect {
    Expect::Err(vec![kind])
}

impl Model {
    fn with_status(&self, status: OfferStatus) -> Model {
        Model {
            status,
            ..self.clone()
        }
    }

    /// One step, straight from the product rules. `price` and `offer_quantity` are fixed for
    /// the offer's life; the listing's status and stock are as they stand at `now`.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        price: i64,
        offer_quantity: i64,
        who: Who,
        act: Act,
        listing_status: ListingStatus,
        listing_quantity: i64,
        now: NaiveDateTime,
    ) -> Expect {
        let side = match who {
            Who::Stranger => return refuse(ErrKind::NotParty),
            Who::Buyer => Some(Side::Buyer),
            Who::Seller => Some(Side::Seller),
            Who::System => None,
        };
        if self.status != OfferStatus::Open {
            return refuse(ErrKind::NotOpen(self.status));
        }
        let past_deadline = now >= self.expires_at;
        let Some(side) = side else {
            // The server itself.
            return match act {
                Act::Expire if past_deadline => {
                    Expect::Ok(self.with_status(OfferStatus::Expired), OfferEvent::Expired)
                }
                Act::SoldOut => Expect::Ok(
                    self.with_status(OfferStatus::Declined),
                    OfferEvent::Declined,
                ),
                _ => Expect::AnyErr,
            };
        };
        // A party. Two absolute bans; the rules do not say which wins when both apply.
        let mut bans = Vec::new();
        if matches!(act, Act::Expire | Act::SoldOut) {
            bans.push(ErrKind::SystemOnly);
        }
        if past_deadline {
            bans.push(ErrKind::Expired);
        }
        if !bans.is_empty() {
            return Expect::Err(bans);
        }
        if let Act::Withdraw = act {
            return if side == Side::Buyer {
                Expect::Ok(
                    self.with_status(OfferStatus::Withdrawn),
                    OfferEvent::Withdrawn,
                )
            } else {
                refuse(ErrKind::OnlyBuyerWithdraws)
            };
        }
        if side != self.turn {
            return refuse(ErrKind::NotYourTurn(self.turn));
        }
        let listing_inactive = listing_status != ListingStatus::Active;
        match act {
            Act::Accept => {
                let mut why = Vec::new();
                if listing_inactive {
                    why.push(ErrKind::ListingNotActive(listing_status));
                }
                if listing_quantity < offer_quantity {
                    why.push(ErrKind::NotEnoughQuantity {
                        wanted: offer_quantity,
                        available: listing_quantity,
                    });
                }
                if why.is_empty() {
                    Expect::Ok(
                        self.with_status(OfferStatus::Accepted),
                        OfferEvent::Accepted,
                    )
                } else {
                    Expect::Err(why)
                }
            }
            Act::Decline => Expect::Ok(
                self.with_status(OfferStatus::Declined),
                OfferEvent::Declined,
            ),
            Act::Counter(pick) => {
                let amount = pick.resolve(price);
                let mut why = Vec::new();
                if listing_inactive {
                    why.push(ErrKind::ListingNotActive(listing_status));
                }
                if amount * 100 < price * MODEL_MIN_PERCENT || amount > price {
                    why.push(ErrKind::Invalid("amount_cents"));
                }
                if !why.is_empty() {
                    return Expect::Err(why);
                }
                let turn = match self.turn {
                    Side::Seller => Side::Buyer,
                    Side::Buyer => Side::Seller,
                };
                Expect::Ok(
                    Model {
                        status: OfferStatus::Open,
                        turn,
                        round: self.round + 1,
                        amount,
                        expires_at: now + Duration::hours(MODEL_TTL_HOURS),
                    },
                    OfferEvent::Countered,
                )
            }
            Act::Withdraw | Act::Expire | Act::SoldOut => unreachable!("handled above"),
        }
    }
}

fn who_strategy() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => Just(Who::Buyer),
        4 => Just(Who::Seller),
        1 => Just(Who::Stranger),
        1 => Just(Who::System),
    ]
}

fn amount_strategy() -> impl Strategy<Value = AmountPick> {
    prop_oneof![
        6 => (45i64..=105).prop_map(AmountPick::Percent),
        1 => Just(AmountPick::BelowHalf),
        1 => Just(AmountPick::Half),
        1 => Just(AmountPick::Price),
        1 => Just(AmountPick::AbovePrice),
    ]
}

fn act_strategy() -> impl Strategy<Value = Act> {
    prop_oneof![
        8 => amount_strategy().prop_map(Act::Counter),
        2 => Just(Act::Accept),
        1 => Just(Act::Decline),
        1 => Just(Act::Withdraw),
        1 => Just(Act::Expire),
        1 => Just(Act::SoldOut),
    ]
}

fn listing_status_strategy() -> impl Strategy<Value = ListingStatus> {
    prop_oneof![
        12 => Just(ListingStatus::Active),
        1 => Just(ListingStatus::SoldOut),
        1 => Just(ListingStatus::Closed),
        1 => Just(ListingStatus::Draft),
    ]
}

fn step_strategy() -> impl Strategy<Value = Step> {
    (
        who_strategy(),
        act_strategy(),
        // Hours since the previous step: mostly a few (so negotiations run for a while),
        // sometimes up to 29, past the 24-hour deadline.
        prop_oneof![4 => 0i64..4, 1 => 0i64..30],
        listing_status_strategy(),
        0i64..=3,
    )
        .prop_map(
            |(who, act, advance_hours, listing_status, listing_quantity)| Step {
                who,
                act,
                advance_hours,
                listing_status,
                listing_quantity,
            },
        )
}

/// A listing, the first offer on it and the steps taken after.
#[derive(Clone, Debug)]
struct Scenario {
    price: i64,
    stock: i64,
    offer_quantity: i64,
    /// Where the first amount lies between half the price (0) and the price (1000).
    first_amount_permille: i64,
    steps: Vec<Step>,
}

fn scenario_strategy() -> impl Strategy<Value = Scenario> {
    // No `prop_flat_map`, so that a failure shrinks quickly: the offer's quantity is clamped to
    // the stock instead.
    (
        2i64..=100_000,
        1i64..=3,
        1i64..=3,
        0i64..=1000,
        prop::collection::vec(step_strategy(), 1..12),
    )
        .prop_map(
            |(price, stock, quantity, first_amount_permille, steps)| Scenario {
                price,
                stock,
                offer_quantity: quantity.min(stock),
                first_amount_permille,
                steps,
            },
        )
}

fn party_of(who: Who) -> Party {
    match who {
        Who::Buyer => Party::User(BUYER),
        Who::Seller => Party::User(SELLER),
        Who::Stranger => Party::User(STRANGER),
        Who::System => Party::System,
    }
}

fn action_of(act: Act, price: i64) -> OfferAction {
    match act {
        Act::Counter(pick) => OfferAction::Counter {
            amount: cents(pick.resolve(price)),
        },
        Act::Accept => OfferAction::Accept,
        Act::Decline => OfferAction::Decline,
        Act::Withdraw => OfferAction::Withdraw,
        Act::Expire => OfferAction::Expire,
        Act::SoldOut => OfferAction::SoldOut,
    }
}

fn run_scenario(s: &Scenario) -> Result<(), TestCaseError> {
    let rules = rules();
    let base = ListingState {
        price: cents(s.price),
        quantity: s.stock,
        ..listing()
    };
    let half_up = (s.price + 1) / 2;
    let first_amount = half_up + (s.price - half_up) * s.first_amount_permille / 1000;
    let (mut offer, _) = decide_new_offer(
        &rules,
        &base,
        BUYER,
        cents(first_amount),
        s.offer_quantity,
        false,
        0,
        t0(),
    )
    .map_err(|e| TestCaseError::fail(format!("the first offer was refused: {e:?}")))?;
    let mut model = Model {
        status: OfferStatus::Open,
        turn: Side::Seller,
        round: 1,
        amount: first_amount,
        expires_at: t0() + Duration::hours(MODEL_TTL_HOURS),
    };
    let mut now = t0();
    for (i, step) in s.steps.iter().enumerate() {
        now += Duration::hours(step.advance_hours);
        let listing = ListingState {
            status: step.listing_status,
            quantity: step.listing_quantity,
            ..base.clone()
        };
        let was_open = offer.status == OfferStatus::Open;
        let expected = model.step(
            s.price,
            s.offer_quantity,
            step.who,
            step.act,
            step.listing_status,
            step.listing_quantity,
            now,
        );
        let got = decide_offer_action(
            &rules,
            &offer,
            &listing,
            party_of(step.who),
            &action_of(step.act, s.price),
            now,
        );
        let ctx = format!("step {i}: {step:?} at {now} on {offer:?}");
        match (expected, got) {
            (Expect::Ok(next_model, want_event), Ok((next, event))) => {
                prop_assert_eq!(event, want_event, "{}", ctx);
                prop_assert_eq!(next.status, next_model.status, "{}", ctx);
                prop_assert_eq!(next.turn, next_model.turn, "{}", ctx);
                prop_assert_eq!(next.round, next_model.round, "{}", ctx);
                prop_assert_eq!(next.amount, cents(next_model.amount), "{}", ctx);
                prop_assert_eq!(next.expires_at, next_model.expires_at, "{}", ctx);
                // The parties and the quantity never change.
                prop_assert_eq!(next.buyer, BUYER, "{}", ctx);
                prop_assert_eq!(next.seller, SELLER, "{}", ctx);
                prop_assert_eq!(next.quantity, s.offer_quantity, "{}", ctx);
                // Invariants: only an open offer changes, and the round only grows.
                prop_assert!(was_open, "a closed offer changed: {}", ctx);
                prop_assert!(next.round >= offer.round, "the round went down: {}", ctx);
                offer = next;
                model = next_model;
            }
            (Expect::Err(allowed), Err(e)) => {
                prop_assert!(
                    allowed.contains(&kind(&e)),
                    "expected one of {:?}, got {:?}: {}",
                    allowed,
                    e,
                    ctx
                );
            }
            (Expect::AnyErr, Err(_)) => {}
            (expected, got) => {
                return Err(TestCaseError::fail(format!(
                    "expected {expected:?}, got {got:?}: {ctx}"
                )));
            }
        }
        // Once not open, every further action is rejected (checked on the very next steps
        // through `was_open`, and here for every actor and action at once).
        if offer.status != OfferStatus::Open {
            for who in [Who::Buyer, Who::Seller, Who::Stranger, Who::System] {
                for act in [
                    Act::Counter(AmountPick::Half),
                    Act::Accept,
                    Act::Decline,
                    Act::Withdraw,
                    Act::Expire,
                    Act::SoldOut,
                ] {
                    let r = decide_offer_action(
                        &rules,
                        &offer,
                        &listing,
                        party_of(who),
                        &action_of(act, s.price),
                        now,
                    );
                    prop_assert!(
                        r.is_err(),
                        "{:?} {:?} changed a {} offer: {}",
                        who,
                        act,
                        offer.status,
                        ctx
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // A failure is reported with its shrunk input; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::with_cases(10_000)
    })]

    #[test]
    fn offer_actions_match_the_reference_model(s in scenario_strategy()) {
        run_scenario(&s)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Property: decide_new_offer against the rules
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct NewOfferCase {
    own: bool,
    status: ListingStatus,
    price: i64,
    stock: i64,
    amount: i64,
    quantity: i64,
    open_offer: bool,
    offers_made: i64,
    auto_accept: Option<i64>,
    auto_decline: Option<i64>,
}

fn new_offer_case_strategy() -> impl Strategy<Value = NewOfferCase> {
    (1i64..=100_000)
        .prop_flat_map(|price| {
            (
                (
                    prop::bool::weighted(0.1),
                    listing_status_strategy(),
                    Just(price),
                    1i64..=3,
                ),
                (
                    prop_oneof![
                        4 => (40i64..=110).prop_map(move |p| price * p / 100),
                        1 => (price / 2 - 1)..=(price / 2 + 1),
                        1 => price..=price + 1,
                    ],
                    0i64..=4,
                    prop::bool::weighted(0.1),
                    0i64..=4,
                    prop::option::of(price / 2..=price + 1),
                    prop::option::of(price / 2..=price + 1),
                ),
            )
        })
        .prop_map(
            |(
                (own, status, price, stock),
                (amount, quantity, open_offer, offers_made, auto_accept, auto_decline),
            )| NewOfferCase {
                own,
                status,
                price,
                stock,
                amount,
                quantity,
                open_offer,
                offers_made,
                auto_accept,
                auto_decline,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(2_000)
    })]

    #[test]
    fn new_offers_match_the_rules(c in new_offer_case_strategy()) {
        let l = ListingState {
            status: c.status,
            price: cents(c.price),
            quantity: c.stock,
            auto_accept: c.auto_accept.map(cents),
            auto_decline: c.auto_decline.map(cents),
            ..listing()
        };
        let buyer = if c.own { SELLER } else { BUYER };
        let got = decide_new_offer(
            &rules(), &l, buyer, cents(c.amount), c.quantity, c.open_offer, c.offers_made, t0(),
        );
        // Every rule the offer breaks; the rules do not rank them, so any may be reported.
        let mut why = Vec::new();
        if c.own {
            why.push(ErrKind::OwnListing);
        }
        if c.status == ListingStatus::Draft && !c.own {
            // Someone else's draft does not exist for the buyer.
            why.push(ErrKind::ListingNotFound);
        } else if c.status != ListingStatus::Active {
            why.push(ErrKind::ListingNotActive(c.status));
        }
        if c.quantity < 1 {
            why.push(ErrKind::Invalid("quantity"));
        } else if c.quantity > c.stock {
            why.push(ErrKind::NotEnoughQuantity { wanted: c.quantity, available: c.stock });
        }
        if c.amount * 100 < c.price * MODEL_MIN_PERCENT || c.amount > c.price {
            why.push(ErrKind::Invalid("amount_cents"));
        }
        if c.open_offer {
            why.push(ErrKind::OpenOfferExists);
        }
        if c.offers_made >= 3 {
            why.push(ErrKind::TooManyOffers(3));
        }
        match got {
            Ok((offer, disposition)) => {
                prop_assert!(why.is_empty(), "accepted although {:?}", why);
                let want = if c.auto_accept.is_some_and(|a| c.amount >= a) {
                    Disposition::AutoAccept
                } else if c.auto_decline.is_some_and(|d| c.amount < d) {
                    Disposition::AutoDecline
                } else {
                    Disposition::Open
                };
                prop_assert_eq!(disposition, want);
                prop_assert_eq!(offer, OfferState {
                    buyer: BUYER,
                    seller: SELLER,
                    amount: cents(c.amount),
                    quantity: c.quantity,
                    status: OfferStatus::Open,
                    turn: Side::Seller,
                    round: 1,
                    expires_at: t0() + Duration::hours(MODEL_TTL_HOURS),
                });
            }
            Err(e) => {
                prop_assert!(why.contains(&kind(&e)), "expected one of {:?}, got {:?}", why, e);
            }
        }
    }
}

#[test]
fn the_thresholds_apply_to_a_buyers_counter_but_not_to_the_sellers() {
    let l = ListingState {
        auto_accept: Some(cents(9_000)),
        auto_decline: Some(cents(7_000)),
        ..listing()
    };
    let buyer = |amount| counter_disposition(Side::Buyer, &l, cents(amount));
    assert_eq!(buyer(9_000), Disposition::AutoAccept);
    assert_eq!(buyer(8_999), Disposition::Open);
    assert_eq!(buyer(6_999), Disposition::AutoDecline);
    let seller = |amount| counter_disposition(Side::Seller, &l, cents(amount));
    assert_eq!(seller(9_500), Disposition::Open);
    assert_eq!(seller(6_000), Disposition::Open);
}
