use super::*;

/// (message, what both parties see under `--chat-filter mask`). Where the two are equal the
/// message must pass untouched.
const CASES: &[(&str, &str)] = &[
    // Emails.
    ("mail me at jane.doe@gmail.com", "mail me at [hidden]"),
    ("JOHN_99@Yahoo.fr please", "[hidden] please"),
    ("email: a.b+shop@proton.me.", "email: [hidden]."),
    // Links, with and without a scheme.
    (
        "see https://example.com/item/42 for pics",
        "see [hidden] for pics",
    ),
    ("http://bit.ly/3xYz", "[hidden]"),
    ("www.facebook.com/marketplace", "[hidden]"),
    ("text me on wa.me/33612345678", "text me on [hidden]"),
    ("pay at paypal.me/janedoe thanks", "pay at [hidden] thanks"),
    ("t.me/seller_jo", "[hidden]"),
    ("my shop is janeshop.com", "my shop is [hidden]"),
    // Phone numbers, international.
    ("call +33 6 12 34 56 78", "call [hidden]"),
    ("+1 (555) 123-4567 anytime", "[hidden] anytime"),
    ("+447700900123", "[hidden]"),
    ("0044 20 7946 0958", "[hidden]"),
    ("whatsapp +49 151 23456789!", "whatsapp [hidden]!"),
    // Phone numbers, local.
    ("06 12 34 56 78", "[hidden]"),
    ("my number is 0612345678", "my number is [hidden]"),
    ("06.12.34.56.78", "[hidden]"),
    ("ring 07700 900123 after 6", "ring [hidden] after 6"),
    ("(555) 123-4567", "[hidden]"),
    ("555-123-4567", "[hidden]"),
    ("555.123.4567 evenings", "[hidden] evenings"),
    ("5551234567", "[hidden]"),
    ("030 1234567", "[hidden]"),
    // Payment-app handles.
    ("venmo @jane-doe", "[hidden]"),
    ("Venmo me: @JaneD.", "[hidden]."),
    ("cashapp $janed", "[hidden]"),
    ("send it to $JaneDoe", "send it to [hidden]"),
    ("cash app $jd99 works", "[hidden] works"),
    ("revolut @jane", "[hidden]"),
    ("insta @vintage.finds", "[hidden]"),
    // Mixed.
    ("jane@x.com or 0612345678", "[hidden] or [hidden]"),
    // False positives: prices.
    ("€1,200", "€1,200"),
    ("1200 EUR", "1200 EUR"),
    ("$45.99 is my last price", "$45.99 is my last price"),
    ("would you take 1 200 000?", "would you take 1 200 000?"),
    ("£350 or 320€ cash on pickup", "£350 or 320€ cash on pickup"),
    ("45.50 + 4.99 shipping", "45.50 + 4.99 shipping"),
    // Sizes.
    ("EU 42", "EU 42"),
    ("jeans 32x34", "jeans 32x34"),
    ("I'm 180 cm, 75 kg", "I'm 180 cm, 75 kg"),
    (
        "sizes 38 40 42 44 46 in stock",
        "sizes 38 40 42 44 46 in stock",
    ),
    ("the box is 40 x 30 x 20 cm", "the box is 40 x 30 x 20 cm"),
    // Order numbers, references, dates, times, years.
    ("order #100234", "order #100234"),
    ("order 1002345678 arrived", "order 1002345678 arrived"),
    ("tracking: 123456789012", "tracking: 123456789012"),
    ("ref 2026-12-02", "ref 2026-12-02"),
    ("shipped 02/12/2026 10:30", "shipped 02/12/2026 10:30"),
    (
        "on 2026-12-02 14:30 at the station",
        "on 2026-12-02 14:30 at the station",
    ),
    (
        "bought it in 2019, used twice",
        "bought it in 2019, used twice",
    ),
    // Model numbers and ordinary prose.
    ("iPhone 13 Pro 256GB", "iPhone 13 Pro 256GB"),
    ("Canon EOS 5D Mark IV", "Canon EOS 5D Mark IV"),
    (
        "v1.2 firmware, e.g. the newest",
        "v1.2 firmware, e.g. the newest",
    ),
    ("fine.Thanks for asking", "fine.Thanks for asking"),
    ("can you do 40? thanks @ you", "can you do 40? thanks @ you"),
    ("Is it still available?", "Is it still available?"),
    (
        "I can pay with paypal through the app",
        "I can pay with paypal through the app",
    ),
];

#[test]
fn masks_contact_details_and_leaves_everything_else_untouched() {
    let mut wrong = Vec::new();
    for (message, shown) in CASES {
        let got = mask(message, &find_contact_details(message));
        if got != *shown {
            wrong.push(format!("{message:?}: got {got:?}, expected {shown:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_filter_masks_rejects_or_lets_through() {
    let with = "call 0612345678";
    let without = "EU 42, €1,200";
    assert_eq!(
        screen(with, ChatFilter::Mask),
        Screened::Masked {
            shown: "call [hidden]".into()
        }
    );
    assert_eq!(screen(with, ChatFilter::Reject), Screened::Rejected);
    assert_eq!(screen(with, ChatFilter::Off), Screened::Clean);
    for filter in [ChatFilter::Mask, ChatFilter::Reject, ChatFilter::Off] {
        assert_eq!(screen(without, filter), Screened::Clean);
    }
}

#[test]
fn masking_keeps_multibyte_text_around_matches() {
    let text = "Grüße — schreib an juergen@example.de 🙂";
    assert_eq!(
        mask(text, &find_contact_details(text)),
        "Grüße — schreib an [hidden] 🙂"
    );
}

#[test]
fn overlapping_matches_are_merged() {
    assert_eq!(merge(vec![0..5, 3..8, 10..12]), vec![0..8, 10..12]);
    assert_eq!(merge(vec![4..6, 0..2]), vec![0..2, 4..6]);
}
