//! The saved-search rules, without a database.

use super::*;

fn input() -> SavedSearchInput {
    SavedSearchInput::default()
}

fn facts(price_cents: i64) -> ListingFacts<'static> {
    ListingFacts {
        category: Some("electronics-cameras"),
        condition: Some("good"),
        seller_id: 7,
        price_cents,
        status: ListingStatus::Active,
    }
}

#[test]
fn validation_names_each_field_at_fault() {
    let e = SavedSearchInput {
        name: Some(" ".into()),
        q: Some("x".repeat(201)),
        category: Some("nope".into()),
        condition: Some("mint".into()),
        min_price: Some(-1),
        max_price: Some(1_000_000_001),
    }
    .validate()
    .unwrap_err();
    let fields: Vec<&str> = e.fields().keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        [
            "category",
            "condition",
            "max_price",
            "min_price",
            "name",
            "q"
        ]
    );
    let e = SavedSearchInput {
        min_price: Some(500),
        max_price: Some(100),
        ..input()
    }
    .validate()
    .unwrap_err();
    assert!(e.fields().contains_key("min_price"));
    let e = SavedSearchInput {
        q: Some("a\0b".into()),
        ..input()
    }
    .validate()
    .unwrap_err();
    assert!(e.fields().contains_key("q"));
    let e = SavedSearchInput {
        q: Some("the of".into()),
        ..input()
    }
    .validate()
    .unwrap_err();
    assert!(e.fields().contains_key("q"));
}

#[test]
fn a_valid_search_keeps_what_was_sent() {
    let s = SavedSearchInput {
        name: Some(" Cameras ".into()),
        q: Some(" leica camera ".into()),
        category: Some("electronics".into()),
        condition: Some("good".into()),
        min_price: Some(0),
        max_price: Some(1000),
    }
    .validate()
    .unwrap();
    assert_eq!(s.name.as_deref(), Some("Cameras"));
    assert_eq!(s.q.as_deref(), Some("leica camera"));
    assert_eq!(s.anchor, Anchor::Words("camera".into()));
    // Blank q is no q.
    let s = SavedSearchInput {
        q: Some("  ".into()),
        ..input()
    }
    .validate()
    .unwrap();
    assert_eq!(s.q, None);
    assert_eq!(s.anchor, Anchor::Key(ANY_KEY.into()));
}

#[test]
fn a_saved_query_has_no_prefix() {
    let q = saved_query("leica cam").unwrap();
    assert!(q.clauses.iter().flatten().all(|w| !w.prefix));
}

#[test]
fn the_anchor_is_the_most_selective_part() {
    let cat = SearchFilters {
        category: Some(CategoryFilter::parse("electronics").unwrap()),
        condition: Some("good".into()),
        ..SearchFilters::default()
    };
    let q = saved_query("red lamp OR lantern tripod").unwrap();
    assert_eq!(
        choose_anchor(Some(&q), &cat),
        Anchor::Words("tripod".into())
    );
    let q = saved_query("red lamp OR lanterns").unwrap();
    assert_eq!(
        choose_anchor(Some(&q), &cat),
        Anchor::Words("lamp lanterns".into())
    );
    assert_eq!(
        choose_anchor(None, &cat),
        Anchor::Key("c:electronics".into())
    );
    let cond = SearchFilters {
        condition: Some("good".into()),
        ..SearchFilters::default()
    };
    assert_eq!(choose_anchor(None, &cond), Anchor::Key("n:good".into()));
}

#[test]
fn a_listing_offers_every_key_a_matching_search_can_hold() {
    assert_eq!(
        listing_keys(Some("electronics-cameras"), Some("good")),
        ["*", "c:electronics-cameras", "c:electronics", "n:good"]
    );
    assert_eq!(listing_keys(Some("books"), None), ["*", "c:books"]);
    assert_eq!(listing_keys(None, None), ["*"]);
}

#[test]
fn a_listing_offers_every_word_of_its_text() {
    let q = listing_words(
        "Leica M6 -camera",
        "Mint, with a case OR strap",
        Some("electronics-cameras"),
    )
    .unwrap();
    let words: Vec<&str> = q.clauses[0].iter().map(Word::text).collect();
    assert_eq!(
        words,
        [
            "camera",
            "cameras",
            "case",
            "electronics",
            "leica",
            "m6",
            "mint",
            "strap"
        ]
    );
    assert!(q.excluded.is_empty());
    assert!(q.clauses[0].iter().all(|w| !w.prefix));
    assert_eq!(listing_words("--", "", None), None);
}

/// Every search the anchor rule indexes under words is found by the listing's words when
/// the listing holds the words it asks for (stemming aside, which the database applies to
/// both sides alike).
#[test]
fn a_listing_with_the_words_holds_the_anchor() {
    let title = "Vintage brown leather jacket";
    let offered = listing_words(title, "", None).unwrap();
    for q in ["leather jacket", "brown OR black jacket", "vintage -suede"] {
        let Anchor::Words(words) =
            choose_anchor(saved_query(q).as_ref(), &SearchFilters::default())
        else {
            panic!("{q} has words");
        };
        assert!(
            words
                .split(' ')
                .any(|w| offered.clauses[0].iter().any(|o| o.text() == w)),
            "{q}"
        );
    }
}

#[test]
fn what_triggers_matching() {
    use ListingStatus::*;
    assert_eq!(trigger_of(None, (Active, 100)), Some(Trigger::Visible));
    assert_eq!(trigger_of(None, (Draft, 100)), None);
    assert_eq!(
        trigger_of(Some((Draft, 100)), (Active, 100)),
        Some(Trigger::Visible)
    );
    assert_eq!(
        trigger_of(Some((Active, 100)), (Active, 90)),
        Some(Trigger::PriceDrop { old_price: 100 })
    );
    assert_eq!(trigger_of(Some((Active, 100)), (Active, 110)), None);
    assert_eq!(trigger_of(Some((Active, 100)), (Active, 100)), None);
    assert_eq!(trigger_of(Some((Active, 100)), (Closed, 90)), None);
    assert_eq!(
        trigger_of(Some((SoldOut, 100)), (Active, 100)),
        Some(Trigger::Visible)
    );
    for t in [Trigger::Visible, Trigger::PriceDrop { old_price: 5 }] {
        assert_eq!(Trigger::from_old_price(t.old_price()), t);
    }
}

#[test]
fn who_is_alerted() {
    let under_600 = SearchFilters {
        max_price: Some(600),
        ..SearchFilters::default()
    };
    let owner = UserId(1);
    assert!(alert_due(Trigger::Visible, owner, &under_600, &facts(500)));
    assert!(!alert_due(Trigger::Visible, owner, &under_600, &facts(700)));
    // Never the seller.
    assert!(!alert_due(
        Trigger::Visible,
        UserId(7),
        &under_600,
        &facts(500)
    ));
    // Only an active listing.
    let closed = ListingFacts {
        status: ListingStatus::Closed,
        ..facts(500)
    };
    assert!(!alert_due(Trigger::Visible, owner, &under_600, &closed));
    // A drop into the range alerts; a drop within it, or one that stays above, does not.
    let drop = |old_price| Trigger::PriceDrop { old_price };
    assert!(alert_due(drop(700), owner, &under_600, &facts(600)));
    assert!(!alert_due(drop(550), owner, &under_600, &facts(500)));
    assert!(!alert_due(drop(900), owner, &under_600, &facts(700)));
    // With no upper bound a drop never enters the range.
    assert!(!alert_due(
        drop(900),
        owner,
        &SearchFilters::default(),
        &facts(700)
    ));
    // The filters are the search's own rule.
    let phones = SearchFilters {
        category: Some(CategoryFilter::parse("electronics-phones").unwrap()),
        ..SearchFilters::default()
    };
    assert!(!alert_due(Trigger::Visible, owner, &phones, &facts(500)));
}

#[test]
fn stored_filters_read_back() {
    let f = saved_filters(Some("electronics"), Some("good"), Some(1), Some(2)).unwrap();
    assert!(f.admits(&facts(2)));
    assert_eq!(saved_filters(Some("gone"), None, None, None), None);
}
