use super::*;
use chrono::Duration;
use proptest::prelude::*;

const BUYER: UserId = UserId(1);
const SELLER: UserId = UserId(2);
const OTHER: UserId = UserId(9);
const MODERATOR: UserId = UserId(5);

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

fn open_dispute() -> DisputeState {
    DisputeState {
        escalate_at: at(200),
        escalated_at: None,
        resolved_at: None,
    }
}

fn cents(c: i64) -> Money {
    Money::from_cents(c)
}

#[test]
fn the_buyer_disputes_a_shipped_order_before_it_completes() {
    let timeout = Duration::days(14);
    let (next, escalate_at) =
        decide_open(&order(OrderStatus::Shipped), BUYER, timeout, at(99)).unwrap();
    assert_eq!(next.status, OrderStatus::Disputed);
    assert_eq!(next.auto_complete_at, None, "auto-completion stops");
    assert_eq!(escalate_at, at(99) + timeout);
    assert_eq!(
        decide_open(&order(OrderStatus::Shipped), BUYER, timeout, at(100)),
        Err(DisputeError::AutoCompleted(at(100)))
    );
}

#[test]
fn a_paid_order_is_disputable_only_past_its_ship_deadline() {
    let paid = order(OrderStatus::Paid);
    let timeout = Duration::days(14);
    assert_eq!(
        decide_open(&paid, BUYER, timeout, at(71)),
        Err(DisputeError::ShipDeadlineNotPassed(at(72)))
    );
    let (next, _) = decide_open(&paid, BUYER, timeout, at(72)).unwrap();
    assert_eq!(next.status, OrderStatus::Disputed);
}

#[test]
fn only_the_buyer_disputes_and_only_an_open_order() {
    let shipped = order(OrderStatus::Shipped);
    let timeout = Duration::days(1);
    assert_eq!(
        decide_open(&shipped, SELLER, timeout, at(1)),
        Err(DisputeError::WrongParty("buyer"))
    );
    assert_eq!(
        decide_open(&shipped, OTHER, timeout, at(1)),
        Err(DisputeError::NotParty)
    );
    for status in [
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Disputed,
        OrderStatus::Refunded,
    ] {
        assert_eq!(
            decide_open(&order(status), BUYER, timeout, at(300)),
            Err(DisputeError::NotDisputable(status.as_str()))
        );
    }
}

#[test]
fn the_seller_refunds_while_money_is_in_escrow_and_restocks_only_what_never_shipped() {
    let refund = |status, shipped| decide_refund(&order(status), SELLER, shipped);
    let (next, restock) = refund(OrderStatus::Paid, false).unwrap();
    assert_eq!((next.status, restock), (OrderStatus::Refunded, true));
    assert!(!refund(OrderStatus::Shipped, true).unwrap().1);
    assert!(!refund(OrderStatus::Disputed, true).unwrap().1);
    assert!(refund(OrderStatus::Disputed, false).unwrap().1);
    for status in [
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ] {
        assert_eq!(
            refund(status, true),
            Err(DisputeError::NotRefundable(status.as_str()))
        );
    }
    let shipped = order(OrderStatus::Shipped);
    assert_eq!(
        decide_refund(&shipped, BUYER, true),
        Err(DisputeError::WrongParty("seller"))
    );
    assert_eq!(
        decide_refund(&shipped, OTHER, true),
        Err(DisputeError::NotParty)
    );
}

#[test]
fn a_split_pays_the_fee_on_the_sellers_part_only() {
    let s = settle(
        cents(10_000),
        Resolution::Split {
            buyer: cents(4_000),
        },
        10,
    )
    .unwrap();
    assert_eq!(
        s,
        Settlement {
            to_buyer: cents(4_000),
            to_seller: cents(5_400),
            fee: cents(600),
        }
    );
    let posting = settlement_posting(
        BUYER,
        SELLER,
        cents(10_000),
        Resolution::Split {
            buyer: cents(4_000),
        },
        &s,
        10,
    );
    assert_eq!(posting.kind, PostingKind::Split);
    assert_eq!(
        posting.entries,
        vec![
            (Account::Escrow(BUYER), cents(-10_000)),
            (Account::Wallet(BUYER), cents(4_000)),
            (Account::Wallet(SELLER), cents(5_400)),
            (Account::PlatformFees, cents(600)),
        ]
    );
}

#[test]
fn a_refund_and_a_release_are_the_cancel_and_complete_postings() {
    let escrow = cents(999);
    let refund = settle(escrow, Resolution::RefundBuyer, 10).unwrap();
    assert_eq!(
        (refund.to_buyer, refund.to_seller, refund.fee),
        (escrow, cents(0), cents(0))
    );
    assert_eq!(
        settlement_posting(BUYER, SELLER, escrow, Resolution::RefundBuyer, &refund, 10),
        ledger::refund(BUYER, escrow)
    );
    let release = settle(escrow, Resolution::ReleaseSeller, 10).unwrap();
    assert_eq!(
        (release.to_buyer, release.to_seller, release.fee),
        (cents(0), cents(900), cents(99))
    );
    assert_eq!(
        settlement_posting(
            BUYER,
            SELLER,
            escrow,
            Resolution::ReleaseSeller,
            &release,
            10
        ),
        ledger::release(BUYER, SELLER, escrow, 10)
    );
}

#[test]
fn a_split_beyond_the_escrow_or_below_zero_is_refused() {
    for buyer in [-1, 10_001] {
        assert!(matches!(
            settle(
                cents(10_000),
                Resolution::Split {
                    buyer: cents(buyer)
                },
                10
            ),
            Err(DisputeError::BuyerCents(_))
        ));
    }
}

#[test]
fn buyer_cents_goes_with_a_split_only() {
    assert_eq!(
        Resolution::from_request(DisputeOutcome::Split, Some(5)),
        Ok(Resolution::Split { buyer: cents(5) })
    );
    assert!(Resolution::from_request(DisputeOutcome::Split, None).is_err());
    assert!(Resolution::from_request(DisputeOutcome::RefundBuyer, Some(5)).is_err());
    assert_eq!(
        Resolution::from_request(DisputeOutcome::ReleaseSeller, None),
        Ok(Resolution::ReleaseSeller)
    );
}

#[test]
fn only_an_open_dispute_of_a_disputed_order_is_resolved() {
    let disputed = order(OrderStatus::Disputed);
    let (next, _, restock) = decide_resolution(
        &disputed,
        MODERATOR,
        &open_dispute(),
        Resolution::RefundBuyer,
        cents(100),
        10,
        false,
    )
    .unwrap();
    assert_eq!((next.status, restock), (OrderStatus::Refunded, true));
    let (next, _, restock) = decide_resolution(
        &disputed,
        MODERATOR,
        &open_dispute(),
        Resolution::Split { buyer: cents(50) },
        cents(100),
        10,
        false,
    )
    .unwrap();
    assert_eq!((next.status, restock), (OrderStatus::Completed, false));
    let resolved = DisputeState {
        resolved_at: Some(at(1)),
        ..open_dispute()
    };
    assert_eq!(
        decide_resolution(
            &disputed,
            MODERATOR,
            &resolved,
            Resolution::ReleaseSeller,
            cents(100),
            10,
            true
        ),
        Err(DisputeError::Resolved)
    );
    assert_eq!(
        decide_resolution(
            &order(OrderStatus::Refunded),
            MODERATOR,
            &open_dispute(),
            Resolution::ReleaseSeller,
            cents(100),
            10,
            true
        ),
        Err(DisputeError::NotDisputed("refunded"))
    );
}

#[test]
fn nobody_resolves_their_own_dispute() {
    for party in [BUYER, SELLER] {
        assert_eq!(
            decide_resolution(
                &order(OrderStatus::Disputed),
                party,
                &open_dispute(),
                Resolution::ReleaseSeller,
                cents(100),
                10,
                true
            ),
            Err(DisputeError::OwnDispute)
        );
    }
}

#[test]
fn the_timer_escalates_once_and_only_when_due() {
    let d = open_dispute();
    assert_eq!(
        decide_escalation(&d, at(199)),
        Err(DisputeError::NotDue(at(200)))
    );
    assert_eq!(decide_escalation(&d, at(200)), Ok(()));
    let escalated = DisputeState {
        escalated_at: Some(at(200)),
        ..d
    };
    assert_eq!(
        decide_escalation(&escalated, at(300)),
        Err(DisputeError::AlreadyEscalated)
    );
    let resolved = DisputeState {
        resolved_at: Some(at(150)),
        ..d
    };
    assert_eq!(
        decide_escalation(&resolved, at(300)),
        Err(DisputeError::Resolved)
    );
}

#[test]
fn a_note_says_something_within_bounds() {
    assert!(validate_note("it never came").is_ok());
    for bad in ["", "   ", "a\0b"] {
        assert!(validate_note(bad)
            .unwrap_err()
            .fields()
            .contains_key("note"));
    }
    assert!(validate_note(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
    assert!(validate_note(&"é".repeat(MAX_NOTE_CHARS)).is_ok());
}

#[test]
fn stored_names_round_trip() {
    for r in DisputeReason::ALL {
        assert_eq!(DisputeReason::parse(r.as_str()), Some(r));
    }
    for o in DisputeOutcome::ALL {
        assert_eq!(DisputeOutcome::parse(o.as_str()), Some(o));
    }
    assert_eq!(DisputeReason::parse("bored"), None);
}

fn resolution(escrow: i64) -> impl Strategy<Value = Resolution> {
    prop_oneof![
        Just(Resolution::RefundBuyer),
        Just(Resolution::ReleaseSeller),
        (0..=escrow).prop_map(|b| Resolution::Split { buyer: cents(b) }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// Over random escrows, fees and outcomes (splits anywhere from nothing to everything):
    /// every posting sums to zero, takes exactly the escrow out of escrow, pays nobody a
    /// negative amount or more than the escrow, charges the fee on the seller's part only,
    /// and pays each party exactly what the settlement says.
    #[test]
    fn every_settlement_balances_and_pays_out_exactly_the_escrow(
        (escrow, resolution) in (1i64..=1_000_000_000_000).prop_flat_map(|e| (Just(e), resolution(e))),
        percent in 0i64..=100,
    ) {
        let s = settle(cents(escrow), resolution, percent).unwrap();
        let posting = settlement_posting(BUYER, SELLER, cents(escrow), resolution, &s, percent);
        prop_assert_eq!(posting.sum(), 0, "{:?}", posting);
        let credited = |account: Account| -> i64 {
            posting.entries.iter().filter(|(a, _)| *a == account).map(|(_, m)| m.cents()).sum()
        };
        prop_assert_eq!(credited(Account::Escrow(BUYER)), -escrow);
        prop_assert_eq!(credited(Account::Wallet(BUYER)), s.to_buyer.cents());
        prop_assert_eq!(credited(Account::Wallet(SELLER)), s.to_seller.cents());
        prop_assert_eq!(credited(Account::PlatformFees), s.fee.cents());
        for (account, amount) in &posting.entries {
            if *account != Account::Escrow(BUYER) {
                prop_assert!(amount.cents() > 0 && amount.cents() <= escrow, "{:?}", posting);
            }
        }
        prop_assert_eq!(s.to_buyer.cents() + s.to_seller.cents() + s.fee.cents(), escrow);
        let seller_part = escrow - s.to_buyer.cents();
        prop_assert_eq!(s.fee, ledger::fee(cents(seller_part), percent));
        if let Resolution::Split { buyer } = resolution {
            prop_assert_eq!(s.to_buyer, buyer);
        }
    }

    /// A split out of range is refused, never paid.
    #[test]
    fn a_split_out_of_range_is_refused(escrow in 1i64..=1_000_000, over in 1i64..=1_000_000) {
        for buyer in [-over, escrow + over] {
            let refused = matches!(
                settle(cents(escrow), Resolution::Split { buyer: cents(buyer) }, 10),
                Err(DisputeError::BuyerCents(_))
            );
            prop_assert!(refused);
        }
    }
}
