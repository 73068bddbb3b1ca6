//! Listing rules: what a valid listing is, which status changes are legal, and what an edit
//! decides (the next state and the events it causes).

use super::auto_price_drop::{self, AutoPriceDrop};
use super::rules::CommerceRules;
use super::validation::{char_length, in_range, non_blank, FieldErrors};
use super::{ListingId, Money, UserId};
use chrono::NaiveDateTime;
use std::fmt;

pub const TITLE_CHARS: (usize, usize) = (1, 120);
pub const DESCRIPTION_MAX_CHARS: usize = 5000;
pub const PRICE_CENTS: (i64, i64) = (1, 1_000_000_000);
pub const QUANTITY: (i64, i64) = (1, 1_000_000);
/// The item conditions a seller may choose from.
pub const CONDITIONS: &[&str] = &["new", "like_new", "good", "fair", "poor"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListingStatus {
    Draft,
    Active,
    SoldOut,
    Closed,
    /// Taken down by a moderator: final, and seen by its seller alone.
    Removed,
}

impl ListingStatus {
    pub const ALL: [ListingStatus; 5] = [
        Self::Draft,
        Self::Active,
        Self::SoldOut,
        Self::Closed,
        Self::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::SoldOut => "sold_out",
            Self::Closed => "closed",
            Self::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Whether a seller may move a listing from `self` to `to` by editing it. `sold_out` is
    /// reached only by selling the last unit (or by restocking out of it), and `closed` is final.
    pub fn seller_may_move_to(self, to: ListingStatus) -> bool {
        use ListingStatus::*;
        self == to
            || matches!(
                (self, to),
                (Draft, Active) | (Draft, Closed) | (Active, Closed) | (SoldOut, Closed)
            )
    }
}

impl fmt::Display for ListingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the rules know about a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingState {
    pub id: ListingId,
    pub seller_id: UserId,
    pub title: String,
    pub description: String,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub price: Money,
    pub quantity: i64,
    pub status: ListingStatus,
    pub auto_accept: Option<Money>,
    pub auto_decline: Option<Money>,
    /// The seller's schedule of price drops, and when the next is due.
    pub auto_price_drop: Option<AutoPriceDrop>,
    pub next_price_drop_at: Option<NaiveDateTime>,
    pub version: i64,
}

pub fn validate_title(title: &str) -> Result<(), String> {
    non_blank(title, TITLE_CHARS.1)
}

pub fn validate_description(description: &str) -> Result<(), String> {
    char_length(description, 0, DESCRIPTION_MAX_CHARS)
}

/// A listing's category is a slug of the fixed tree (`domain::category`).
pub fn validate_category(category: &str) -> Result<(), String> {
    super::category::validate(category)
}

pub fn validate_condition(condition: &str) -> Result<(), String> {
    if CONDITIONS.contains(&condition) {
        Ok(())
    } else {
        Err(format!("must be one of {}", CONDITIONS.join(", ")))
    }
}

pub fn validate_price(cents: i64) -> Result<(), String> {
    in_range(cents, PRICE_CENTS.0, PRICE_CENTS.1)
}

pub fn validate_quantity(quantity: i64) -> Result<(), String> {
    in_range(quantity, QUANTITY.0, QUANTITY.1)
}

/// Checks the auto-accept / auto-decline thresholds together: each is a valid price, and
/// an offer cannot be both accepted and declined at once.
fn check_thresholds(errors: &mut FieldErrors, accept: Option<i64>, decline: Option<i64>) {
    if let Some(a) = accept {
        errors.check("auto_accept_cents", validate_price(a));
    }
    if let Some(d) = decline {
        errors.check("auto_decline_cents", validate_price(d));
    }
    if let (Some(a), Some(d)) = (accept, decline) {
        if d > a {
            errors.add("auto_decline_cents", "must not be above auto_accept_cents");
        }
    }
}

/// A listing as a seller submits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingDraft {
    pub title: String,
    pub description: String,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub price_cents: i64,
    pub quantity: i64,
    pub status: ListingStatus,
    pub auto_accept_cents: Option<i64>,
    pub auto_decline_cents: Option<i64>,
    pub auto_price_drop: Option<AutoPriceDrop>,
}

impl ListingDraft {
    /// Every rule a new listing must meet, each failure against its field. A new listing is a
    /// draft or active; the title is stored trimmed.
    pub fn validate(mut self, rules: &CommerceRules) -> Result<ListingDraft, FieldErrors> {
        let mut errors = FieldErrors::new();
        errors.check("title", validate_title(&self.title));
        errors.check("description", validate_description(&self.description));
        if let Some(c) = &self.category {
            errors.check("category", validate_category(c));
        }
        if let Some(c) = &self.condition {
            errors.check("condition", validate_condition(c));
        }
        errors.check("price_cents", validate_price(self.price_cents));
        errors.check("quantity", validate_quantity(self.quantity));
        if !matches!(self.status, ListingStatus::Draft | ListingStatus::Active) {
            errors.add("status", "a new listing is draft or active");
        }
        check_thresholds(&mut errors, self.auto_accept_cents, self.auto_decline_cents);
        if let Some(drop) = &self.auto_price_drop {
            if !errors.fields().contains_key("price_cents") {
                let price = Money::from_cents(self.price_cents);
                errors.extend(auto_price_drop::validate(drop, price, rules));
            }
        }
        self.title = self.title.trim().to_owned();
        errors.into_result(self)
    }

    /// When the new listing's first scheduled price drop is due, if it has one, from `now`.
    pub fn next_price_drop_at(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        let price = Money::from_cents(self.price_cents);
        auto_price_drop::schedule(self.status, price, self.auto_price_drop, now)
    }
}

/// The fields an edit may set; `None` leaves a field as it is, and `Some(None)` clears an
/// optional one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListingPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<Option<String>>,
    pub condition: Option<Option<String>>,
    pub price_cents: Option<i64>,
    pub quantity: Option<i64>,
    pub status: Option<ListingStatus>,
    pub auto_accept_cents: Option<Option<i64>>,
    pub auto_decline_cents: Option<Option<i64>>,
    pub auto_price_drop: Option<Option<AutoPriceDrop>>,
}

impl ListingPatch {
    /// The rules each field meets on its own, whatever the listing's state.
    pub fn validate(mut self) -> Result<ListingPatch, FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Some(t) = &self.title {
            errors.check("title", validate_title(t));
        }
        if let Some(d) = &self.description {
            errors.check("description", validate_description(d));
        }
        if let Some(Some(c)) = &self.category {
            errors.check("category", validate_category(c));
        }
        if let Some(Some(c)) = &self.condition {
            errors.check("condition", validate_condition(c));
        }
        if let Some(p) = self.price_cents {
            errors.check("price_cents", validate_price(p));
        }
        if let Some(q) = self.quantity {
            errors.check("quantity", validate_quantity(q));
        }
        check_thresholds(
            &mut errors,
            self.auto_accept_cents.flatten(),
            self.auto_decline_cents.flatten(),
        );
        self.title = self.title.map(|t| t.trim().to_owned());
        errors.into_result(self)
    }
}

/// What happened to a listing, as its topic tells subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListingEvent {
    Updated,
    PriceDropped { old_price: Money, new_price: Money },
    InventoryChanged,
    SoldOut,
}

/// The outcome of a decided command: the state to write (with the next version) and the events
/// to write with it. `changed` is false when the command changes nothing: nothing is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingChange {
    pub next: ListingState,
    pub events: Vec<ListingEvent>,
}

impl ListingChange {
    pub fn changed(&self) -> bool {
        !self.events.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("only the seller may change this listing")]
    NotSeller,
    #[error("the listing has changed since version {expected} (now {actual})")]
    StaleVersion { expected: i64, actual: i64 },
    #[error("a {from} listing cannot become {to}")]
    IllegalStatus {
        from: ListingStatus,
        to: ListingStatus,
    },
    #[error("a closed listing cannot be edited")]
    Closed,
    #[error("invalid listing")]
    Invalid(FieldErrors),
}

/// Decides an edit by `actor` of `current` at `now`, optionally guarded by `if_match` (the
/// version the client last saw). Setting a price-drop schedule, changing the price by hand or
/// activating a draft starts the schedule afresh from `now`; clearing it or leaving `active`
/// stops it.
pub fn decide_edit(
    current: &ListingState,
    actor: UserId,
    patch: &ListingPatch,
    if_match: Option<i64>,
    rules: &CommerceRules,
    now: NaiveDateTime,
) -> Result<ListingChange, EditError> {
    if actor != current.seller_id {
        return Err(EditError::NotSeller);
    }
    if let Some(expected) = if_match {
        if expected != current.version {
            return Err(EditError::StaleVersion {
                expected,
                actual: current.version,
            });
        }
    }
    let mut next = current.clone();
    if let Some(t) = &patch.title {
        next.title.clone_from(t);
    }
    if let Some(d) = &patch.description {
        next.description.clone_from(d);
    }
    if let Some(c) = &patch.category {
        next.category.clone_from(c);
    }
    if let Some(c) = &patch.condition {
        next.condition.clone_from(c);
    }
    if let Some(p) = patch.price_cents {
        next.price = Money::from_cents(p);
    }
    if let Some(q) = patch.quantity {
        next.quantity = q;
    }
    if let Some(a) = patch.auto_accept_cents {
        next.auto_accept = a.map(Money::from_cents);
    }
    if let Some(d) = patch.auto_decline_cents {
        next.auto_decline = d.map(Money::from_cents);
    }
    if let Some(schedule) = patch.auto_price_drop {
        next.auto_price_drop = schedule;
    }
    next.status = next_status(current, patch)?;

    let mut errors = FieldErrors::new();
    check_thresholds(
        &mut errors,
        next.auto_accept.map(Money::cents),
        next.auto_decline.map(Money::cents),
    );
    if let Some(Some(drop)) = &patch.auto_price_drop {
        errors.extend(auto_price_drop::validate(drop, next.price, rules));
    }
    let restart = patch.auto_price_drop.is_some()
        || next.price != current.price
        || next.status != current.status;
    if restart {
        next.next_price_drop_at = auto_price_drop::next_drop_at(&next, now);
    }
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    let change = change_from(current, next);
    if matches!(
        current.status,
        ListingStatus::Closed | ListingStatus::Removed
    ) && change.changed()
    {
        return Err(EditError::Closed);
    }
    Ok(change)
}

/// The status after an edit: the one asked for, if legal; restocking a sold-out listing makes
/// it active again.
fn next_status(current: &ListingState, patch: &ListingPatch) -> Result<ListingStatus, EditError> {
    let from = current.status;
    let restocked = from == ListingStatus::SoldOut && patch.quantity.is_some_and(|q| q > 0);
    let to = match patch.status {
        Some(to) => to,
        None if restocked => ListingStatus::Active,
        None => from,
    };
    if from.seller_may_move_to(to) || (restocked && to == ListingStatus::Active) {
        Ok(to)
    } else {
        Err(EditError::IllegalStatus { from, to })
    }
}

/// Decides closing (deleting) a listing: it stays in the database with status `closed`.
/// Closing a closed listing changes nothing.
pub fn decide_close(current: &ListingState, actor: UserId) -> Result<ListingChange, EditError> {
    if actor != current.seller_id {
        return Err(EditError::NotSeller);
    }
    let mut next = current.clone();
    next.status = ListingStatus::Closed;
    Ok(change_from(current, next))
}

/// Builds the change from `current` to `next`: the version moves on and events are raised
/// only when something changed.
pub(crate) fn change_from(current: &ListingState, mut next: ListingState) -> ListingChange {
    next.version = current.version;
    if next == *current {
        return ListingChange {
            next,
            events: Vec::new(),
        };
    }
    next.version = current.version + 1;
    let mut events = vec![ListingEvent::Updated];
    if is_price_drop(current, &next) {
        events.push(ListingEvent::PriceDropped {
            old_price: current.price,
            new_price: next.price,
        });
    }
    ListingChange { next, events }
}

/// Whether a liker hears of a price drop from `old_price` to `new_price`: a price at least
/// `notify_percent` below the price they last saw (`seen`: when they liked, or at their last
/// alert), so several small drops alert once their total is enough; or any drop to or below
/// the target price they saved.
pub fn liker_hears_of_drop(
    seen: Money,
    old_price: Money,
    new_price: Money,
    target: Option<Money>,
    notify_percent: i64,
) -> bool {
    new_price < old_price
        && (new_price.is_at_least_percent_below(seen, notify_percent)
            || target.is_some_and(|t| new_price <= t))
}

/// Whether `viewer` may see a listing at all: a draft, or a listing a moderator removed, is
/// its seller's alone (to anyone else it does not exist); every other status is public.
pub fn visible_to(status: ListingStatus, seller: UserId, viewer: Option<UserId>) -> bool {
    !matches!(status, ListingStatus::Draft | ListingStatus::Removed) || viewer == Some(seller)
}

/// A price drop is a lower price on a listing that was and stays active.
pub fn is_price_drop(before: &ListingState, after: &ListingState) -> bool {
    before.status == ListingStatus::Active
        && after.status == ListingStatus::Active
        && after.price < before.price
}

/// A listing for the rules' unit tests: listing 7 of user 1, 100.00, one unit, version 3.
#[cfg(test)]
pub(crate) fn sample_listing(status: ListingStatus) -> ListingState {
    ListingState {
        id: ListingId(7),
        seller_id: UserId(1),
        title: "Bike".into(),
        description: String::new(),
        category: None,
        condition: None,
        price: Money::from_cents(10_000),
        quantity: 1,
        status,
        auto_accept: None,
        auto_decline: None,
        auto_price_drop: None,
        next_price_drop_at: None,
        version: 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::purchase::*;
    use proptest::prelude::*;

    const SELLER: UserId = UserId(1);

    /// An edit under the default rules at a fixed time.
    fn edit(
        current: &ListingState,
        actor: UserId,
        patch: &ListingPatch,
        if_match: Option<i64>,
    ) -> Result<ListingChange, EditError> {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        decide_edit(
            current,
            actor,
            patch,
            if_match,
            &CommerceRules::default(),
            now,
        )
    }

    fn listing(status: ListingStatus) -> ListingState {
        sample_listing(status)
    }

    #[test]
    fn a_draft_is_visible_to_its_seller_alone_other_statuses_to_all() {
        let stranger = Some(UserId(2));
        for hidden in [ListingStatus::Draft, ListingStatus::Removed] {
            assert!(visible_to(hidden, SELLER, Some(SELLER)));
            assert!(!visible_to(hidden, SELLER, stranger));
            assert!(!visible_to(hidden, SELLER, None));
        }
        for status in [
            ListingStatus::Active,
            ListingStatus::SoldOut,
            ListingStatus::Closed,
        ] {
            assert!(visible_to(status, SELLER, stranger));
            assert!(visible_to(status, SELLER, None));
        }
    }

    fn request(buyer: i64, quantity: i64) -> PurchaseRequest {
        PurchaseRequest {
            buyer: UserId(buyer),
            quantity,
            expected_price: None,
        }
    }

    fn funds(pairs: &[(i64, i64)]) -> std::collections::BTreeMap<UserId, Money> {
        pairs
            .iter()
            .map(|(u, c)| (UserId(*u), Money::from_cents(*c)))
            .collect()
    }

    #[test]
    fn a_batch_sells_until_stock_runs_out_in_arrival_order() {
        let mut current = listing(ListingStatus::Active);
        current.quantity = 3;
        let mut wallets = funds(&[(2, 100_000), (3, 100_000), (4, 100_000)]);
        let batch = decide_purchases(
            &current,
            &[request(2, 2), request(3, 2), request(4, 1), request(2, 1)],
            &mut wallets,
        );
        assert_eq!(
            batch.outcomes,
            [
                Ok(Money::from_cents(20_000)),
                Err(PurchaseError::NotEnough {
                    wanted: 2,
                    available: 1
                }),
                Ok(Money::from_cents(10_000)),
                Err(PurchaseError::SoldOut),
            ]
        );
        assert_eq!(batch.change.next.quantity, 0);
        assert_eq!(batch.change.next.status, ListingStatus::SoldOut);
        assert_eq!(batch.change.next.version, current.version + 1);
        assert_eq!(
            batch.change.events,
            [ListingEvent::InventoryChanged, ListingEvent::SoldOut]
        );
        assert_eq!(wallets[&UserId(2)], Money::from_cents(80_000));
        assert_eq!(wallets[&UserId(3)], Money::from_cents(100_000));
    }

    #[test]
    fn a_batch_charges_each_buyer_only_what_their_funds_cover() {
        let mut current = listing(ListingStatus::Active);
        current.quantity = 10;
        let mut wallets = funds(&[(2, 15_000)]);
        let batch = decide_purchases(
            &current,
            &[
                request(2, 1),
                request(2, 1),
                request(3, 1),
                request(SELLER.0, 1),
            ],
            &mut wallets,
        );
        assert_eq!(
            batch.outcomes,
            [
                Ok(Money::from_cents(10_000)),
                Err(PurchaseError::InsufficientFunds),
                Err(PurchaseError::InsufficientFunds),
                Err(PurchaseError::OwnListing),
            ]
        );
        assert_eq!(batch.change.next.quantity, 9);
        assert_eq!(batch.change.events, [ListingEvent::InventoryChanged]);
        assert_eq!(wallets[&UserId(2)], Money::from_cents(5_000));
    }

    #[test]
    fn a_batch_that_sells_nothing_changes_nothing() {
        let current = listing(ListingStatus::SoldOut);
        let batch = decide_purchases(&current, &[request(2, 1)], &mut funds(&[(2, 1 << 40)]));
        assert_eq!(batch.outcomes, [Err(PurchaseError::SoldOut)]);
        assert!(!batch.change.changed());
        assert_eq!(batch.change.next, current);
    }

    proptest! {
        /// A batch decides exactly as the same purchases one after another would.
        #[test]
        fn a_batch_decides_as_purchases_one_by_one(
            stock in 1i64..20,
            buys in proptest::collection::vec((2i64..6, 1i64..4, 0i64..60_000), 1..30),
        ) {
            let mut current = listing(ListingStatus::Active);
            current.quantity = stock;
            let requests: Vec<_> = buys.iter().map(|(b, q, _)| request(*b, *q)).collect();
            let mut wallets: std::collections::BTreeMap<UserId, Money> =
                buys.iter().map(|(b, _, c)| (UserId(*b), Money::from_cents(*c))).collect();
            let mut one_by_one = wallets.clone();
            let batch = decide_purchases(&current, &requests, &mut wallets);
            let mut state = current.clone();
            for (request, outcome) in requests.iter().zip(&batch.outcomes) {
                let alone = decide_purchase(&state, request.buyer, request.quantity, None);
                let funds = one_by_one[&request.buyer];
                match (alone, outcome) {
                    (Ok(change), Ok(total)) => {
                        prop_assert!(total.cents() <= funds.cents());
                        one_by_one.insert(request.buyer, Money::from_cents(funds.cents() - total.cents()));
                        state = change.next;
                    }
                    (Ok(_), Err(e)) => {
                        prop_assert_eq!(e, &PurchaseError::InsufficientFunds);
                        prop_assert!(state.price.cents() * request.quantity > funds.cents());
                    }
                    (Err(a), Err(b)) => prop_assert_eq!(&a, b),
                    (Err(a), Ok(_)) => prop_assert!(false, "batch sold what alone was refused: {a}"),
                }
            }
            prop_assert_eq!(batch.change.next.quantity, state.quantity);
            prop_assert_eq!(batch.change.next.status, state.status);
            prop_assert!(batch.change.next.quantity >= 0);
            prop_assert_eq!(wallets, one_by_one);
        }
    }

    fn price(cents: i64) -> ListingPatch {
        ListingPatch {
            price_cents: Some(cents),
            ..Default::default()
        }
    }

    #[test]
    fn only_the_seller_edits() {
        let l = listing(ListingStatus::Active);
        assert_eq!(
            edit(&l, UserId(2), &price(5), None),
            Err(EditError::NotSeller)
        );
        assert_eq!(decide_close(&l, UserId(2)), Err(EditError::NotSeller));
    }

    #[test]
    fn a_stale_if_match_is_refused() {
        let l = listing(ListingStatus::Active);
        assert_eq!(
            edit(&l, SELLER, &price(5), Some(2)),
            Err(EditError::StaleVersion {
                expected: 2,
                actual: 3
            })
        );
        assert!(edit(&l, SELLER, &price(5), Some(3)).is_ok());
    }

    #[test]
    fn lowering_the_price_of_an_active_listing_is_a_price_drop() {
        let l = listing(ListingStatus::Active);
        let change = edit(&l, SELLER, &price(9_000), None).unwrap();
        assert_eq!(change.next.version, 4);
        assert_eq!(
            change.events,
            vec![
                ListingEvent::Updated,
                ListingEvent::PriceDropped {
                    old_price: Money::from_cents(10_000),
                    new_price: Money::from_cents(9_000)
                }
            ]
        );
    }

    #[test]
    fn a_draft_or_a_raise_is_no_price_drop() {
        let draft = listing(ListingStatus::Draft);
        let change = edit(&draft, SELLER, &price(9_000), None).unwrap();
        assert_eq!(change.events, vec![ListingEvent::Updated]);
        let active = listing(ListingStatus::Active);
        let change = edit(&active, SELLER, &price(11_000), None).unwrap();
        assert_eq!(change.events, vec![ListingEvent::Updated]);
    }

    #[test]
    fn an_edit_that_changes_nothing_writes_nothing() {
        let l = listing(ListingStatus::Active);
        let change = edit(&l, SELLER, &price(10_000), None).unwrap();
        assert!(!change.changed());
        assert_eq!(change.next.version, 3);
    }

    #[test]
    fn status_moves_only_along_legal_edges() {
        use ListingStatus::*;
        let to = |s| ListingPatch {
            status: Some(s),
            ..Default::default()
        };
        assert_eq!(
            edit(&listing(Draft), SELLER, &to(Active), None)
                .unwrap()
                .next
                .status,
            Active
        );
        assert!(matches!(
            edit(&listing(Active), SELLER, &to(Draft), None),
            Err(EditError::IllegalStatus { .. })
        ));
        assert!(matches!(
            edit(&listing(Active), SELLER, &to(SoldOut), None),
            Err(EditError::IllegalStatus { .. })
        ));
        assert!(matches!(
            edit(&listing(Closed), SELLER, &to(Active), None),
            Err(EditError::IllegalStatus { .. })
        ));
        assert_eq!(
            edit(&listing(Closed), SELLER, &price(1), None),
            Err(EditError::Closed)
        );
        assert!(!edit(&listing(Closed), SELLER, &to(Closed), None)
            .unwrap()
            .changed());
    }

    #[test]
    fn restocking_a_sold_out_listing_reactivates_it() {
        let mut l = listing(ListingStatus::SoldOut);
        l.quantity = 0;
        let patch = ListingPatch {
            quantity: Some(4),
            ..Default::default()
        };
        let change = edit(&l, SELLER, &patch, None).unwrap();
        assert_eq!(change.next.status, ListingStatus::Active);
        assert_eq!(change.next.quantity, 4);
    }

    #[test]
    fn thresholds_are_checked_against_each_other_after_the_edit() {
        let mut l = listing(ListingStatus::Active);
        l.auto_accept = Some(Money::from_cents(8_000));
        let patch = ListingPatch {
            auto_decline_cents: Some(Some(9_000)),
            ..Default::default()
        };
        let Err(EditError::Invalid(errors)) = edit(&l, SELLER, &patch, None) else {
            panic!("expected a validation error");
        };
        assert!(errors.fields().contains_key("auto_decline_cents"));
    }

    #[test]
    fn closing_is_final_and_idempotent() {
        let change = decide_close(&listing(ListingStatus::Active), SELLER).unwrap();
        assert_eq!(change.next.status, ListingStatus::Closed);
        assert_eq!(change.events, vec![ListingEvent::Updated]);
        assert!(!decide_close(&change.next, SELLER).unwrap().changed());
    }

    #[test]
    fn a_new_listing_reports_each_bad_field() {
        let draft = ListingDraft {
            title: "  ".into(),
            description: "x".repeat(5001),
            category: Some("Bad Cat".into()),
            condition: Some("mint".into()),
            price_cents: 0,
            quantity: 0,
            status: ListingStatus::SoldOut,
            auto_accept_cents: Some(100),
            auto_decline_cents: Some(200),
            auto_price_drop: None,
        };
        let errors = draft.validate(&CommerceRules::default()).unwrap_err();
        let fields: Vec<_> = errors.fields().keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "auto_decline_cents",
                "category",
                "condition",
                "description",
                "price_cents",
                "quantity",
                "status",
                "title"
            ]
        );
    }

    #[test]
    fn buying_the_last_unit_sells_out() {
        let mut l = listing(ListingStatus::Active);
        l.quantity = 2;
        let change = decide_purchase(&l, UserId(2), 2, Some(Money::from_cents(10_000))).unwrap();
        assert_eq!(change.next.quantity, 0);
        assert_eq!(change.next.status, ListingStatus::SoldOut);
        assert_eq!(
            change.events,
            vec![ListingEvent::InventoryChanged, ListingEvent::SoldOut]
        );
        assert_eq!(
            decide_purchase(&change.next, UserId(2), 1, None),
            Err(PurchaseError::SoldOut)
        );
        let restocked = decide_restock(&change.next, 1);
        assert_eq!(
            (restocked.next.status, restocked.next.quantity),
            (ListingStatus::Active, 1)
        );
    }

    #[test]
    fn purchases_are_refused_for_the_seller_a_changed_price_or_too_many_units() {
        let l = listing(ListingStatus::Active);
        assert_eq!(
            decide_purchase(&l, SELLER, 1, None),
            Err(PurchaseError::OwnListing)
        );
        assert_eq!(
            decide_purchase(&l, UserId(2), 1, Some(Money::from_cents(9_999))),
            Err(PurchaseError::PriceChanged {
                expected: 9_999,
                actual: 10_000
            })
        );
        assert_eq!(
            decide_purchase(&l, UserId(2), 2, None),
            Err(PurchaseError::NotEnough {
                wanted: 2,
                available: 1
            })
        );
        assert_eq!(
            decide_purchase(&listing(ListingStatus::Draft), UserId(2), 1, None),
            Err(PurchaseError::NotFound),
            "someone else's draft does not exist for the buyer"
        );
        assert_eq!(
            decide_purchase(&listing(ListingStatus::Closed), UserId(2), 1, None),
            Err(PurchaseError::NotActive(ListingStatus::Closed))
        );
    }

    #[test]
    fn likers_hear_of_big_drops_or_drops_to_their_target() {
        let m = Money::from_cents;
        let hears = |old, new, target| liker_hears_of_drop(m(old), m(old), m(new), target, 10);
        assert!(hears(10_000, 9_000, None));
        assert!(!hears(10_000, 9_001, None));
        assert!(hears(10_000, 9_500, Some(m(9_500))));
        assert!(!hears(10_000, 9_600, Some(m(9_500))));
        assert!(!hears(10_000, 10_000, Some(m(20_000))));
    }

    #[test]
    fn small_drops_alert_once_their_total_from_the_seen_price_is_enough() {
        let m = Money::from_cents;
        // Seen at 100.00; three 5% drops: 95.00 and 90.25 (-9.75% in all) say nothing,
        // 85.74 (-14.26%) alerts.
        assert!(!liker_hears_of_drop(
            m(10_000),
            m(10_000),
            m(9_500),
            None,
            10
        ));
        assert!(!liker_hears_of_drop(
            m(10_000),
            m(9_500),
            m(9_025),
            None,
            10
        ));
        assert!(liker_hears_of_drop(m(10_000), m(9_025), m(8_574), None, 10));
        // Alerted at 85.74: the next 5% drop is not enough from there.
        assert!(!liker_hears_of_drop(m(8_574), m(8_574), m(8_145), None, 10));
        // A price going up is never a drop, whatever was seen.
        assert!(!liker_hears_of_drop(
            m(10_000),
            m(8_000),
            m(8_500),
            None,
            10
        ));
    }

    fn any_status() -> impl Strategy<Value = ListingStatus> {
        prop::sample::select(ListingStatus::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn every_decided_edit_keeps_the_invariants(
            status in any_status(),
            new_price in proptest::option::of(1i64..=1_000_000_000),
            new_quantity in proptest::option::of(1i64..=1_000_000),
            new_status in proptest::option::of(any_status()),
        ) {
            let current = listing(status);
            let patch = ListingPatch { price_cents: new_price, quantity: new_quantity, status: new_status, ..Default::default() };
            if let Ok(change) = edit(&current, SELLER, &patch, None) {
                // The version moves by one exactly when something changed.
                prop_assert_eq!(change.next.version, current.version + i64::from(change.changed()));
                // Status only moves along legal edges (or out of sold_out by restocking).
                prop_assert!(current.status.seller_may_move_to(change.next.status)
                    || (current.status == ListingStatus::SoldOut && change.next.status == ListingStatus::Active));
                // A price drop is announced exactly when an active listing gets cheaper.
                let dropped = change.events.iter().any(|e| matches!(e, ListingEvent::PriceDropped { .. }));
                prop_assert_eq!(dropped, is_price_drop(&current, &change.next));
                prop_assert!(change.next.quantity >= 0);
            }
        }
    }

    #[test]
    fn a_schedule_starts_when_set_restarts_on_a_manual_price_change_and_stops_when_cleared() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let day = chrono::Duration::days(1);
        let schedule = AutoPriceDrop {
            percent: 10,
            interval_secs: 86_400,
            floor: Money::from_cents(8_000),
        };
        let set = ListingPatch {
            auto_price_drop: Some(Some(schedule)),
            ..Default::default()
        };
        let l = listing(ListingStatus::Active);
        let scheduled = edit(&l, SELLER, &set, None).unwrap().next;
        assert_eq!(scheduled.next_price_drop_at, Some(now + day));
        // An unrelated edit leaves the deadline alone.
        let mut later = scheduled.clone();
        later.next_price_drop_at = Some(now + chrono::Duration::hours(3));
        let titled = ListingPatch {
            title: Some("Red bike".into()),
            ..Default::default()
        };
        let next = edit(&later, SELLER, &titled, None).unwrap().next;
        assert_eq!(next.next_price_drop_at, later.next_price_drop_at);
        // A manual price change starts again from now; down to the floor, it stops.
        let next = edit(&later, SELLER, &price(9_500), None).unwrap().next;
        assert_eq!(next.next_price_drop_at, Some(now + day));
        let next = edit(&later, SELLER, &price(8_000), None).unwrap().next;
        assert_eq!(next.next_price_drop_at, None);
        // Cleared: no schedule, no deadline.
        let clear = ListingPatch {
            auto_price_drop: Some(None),
            ..Default::default()
        };
        let next = edit(&later, SELLER, &clear, None).unwrap().next;
        assert_eq!(
            (next.auto_price_drop, next.next_price_drop_at),
            (None, None)
        );
        // A draft waits until it is active.
        let draft = edit(&listing(ListingStatus::Draft), SELLER, &set, None)
            .unwrap()
            .next;
        assert_eq!(draft.next_price_drop_at, None);
        let activate = ListingPatch {
            status: Some(ListingStatus::Active),
            ..Default::default()
        };
        let active = edit(&draft, SELLER, &activate, None).unwrap().next;
        assert_eq!(active.next_price_drop_at, Some(now + day));
    }

    #[test]
    fn a_schedule_is_checked_against_the_price_after_the_edit() {
        let schedule = AutoPriceDrop {
            percent: 10,
            interval_secs: 86_400,
            floor: Money::from_cents(8_000),
        };
        let both = ListingPatch {
            price_cents: Some(20_000),
            auto_price_drop: Some(Some(schedule)),
            ..Default::default()
        };
        match edit(&listing(ListingStatus::Active), SELLER, &both, None) {
            Err(EditError::Invalid(errors)) => assert_eq!(
                errors.fields().keys().collect::<Vec<_>>(),
                ["auto_price_drop.floor_cents"]
            ),
            other => panic!("expected a floor error, got {other:?}"),
        }
    }
}
