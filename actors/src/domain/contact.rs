//! Contact details and off-platform payment in chat: email addresses, links (bare domains
//! such as `wa.me/123` included), phone numbers and payment-app handles. `find_contact_details`
//! says where they are; `screen` decides what the chat filter does with a message. URLs and
//! emails are found by `linkify`; phone numbers and handles by the small scanners below, which
//! leave prices, sizes, dates, order numbers and model numbers alone (see the table in tests).

use linkify::{LinkFinder, LinkKind};
use std::ops::Range;

/// What is shown instead of each match when the filter masks.
pub const HIDDEN: &str = "[hidden]";

/// The flag a masked message carries.
pub const CONTACT_DETAILS_FLAG: &str = "contact_details";

/// What the chat does with contact details (`--chat-filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChatFilter {
    /// Stored as written (for moderators); both parties see the matches as `[hidden]`.
    #[default]
    Mask,
    /// The message is refused.
    Reject,
    /// No check.
    Off,
}

/// What the filter made of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screened {
    /// Nothing found (or the filter is off): stored and shown as written.
    Clean,
    /// Shown as `shown`; the original is kept for moderators, flagged `contact_details`.
    Masked { shown: String },
    /// Refused.
    Rejected,
}

/// Applies `filter` to a message body.
pub fn screen(body: &str, filter: ChatFilter) -> Screened {
    if filter == ChatFilter::Off {
        return Screened::Clean;
    }
    let found = find_contact_details(body);
    match (found.is_empty(), filter) {
        (true, _) | (_, ChatFilter::Off) => Screened::Clean,
        (false, ChatFilter::Reject) => Screened::Rejected,
        (false, ChatFilter::Mask) => Screened::Masked {
            shown: mask(body, &found),
        },
    }
}

/// `text` with each of `ranges` (sorted, disjoint, on char boundaries) replaced by `[hidden]`.
pub fn mask(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        out.push_str(&text[at..r.start]);
        out.push_str(HIDDEN);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Where `text` holds contact details or payment handles: byte ranges, sorted and merged.
pub fn find_contact_details(text: &str) -> Vec<Range<usize>> {
    let mut found = links(text);
    found.extend(phone_numbers(text));
    found.extend(payment_handles(text));
    merge(found)
}

fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Top-level domains a bare domain (no scheme, no `www.`, no path) must end in to count:
/// without a path, "fine.Thanks" typed without a space is not a link.
const BARE_DOMAIN_TLDS: &[&str] = &[
    "com", "net", "org", "me", "io", "co", "app", "link", "ly", "gl", "gg", "to", "info", "biz",
    "shop", "store", "online", "site", "xyz", "de", "fr", "uk", "es", "it", "nl", "be", "pl", "ru",
    "us", "eu", "ch", "at", "se",
];

/// Emails and URLs, with or without a scheme.
fn links(text: &str) -> Vec<Range<usize>> {
    let mut finder = LinkFinder::new();
    finder.url_must_have_scheme(false);
    finder
        .links(text)
        .filter(|link| match link.kind() {
            LinkKind::Email => true,
            LinkKind::Url => plausible_url(link.as_str()),
            _ => false,
        })
        .map(|link| link.start()..link.end())
        .collect()
}

fn plausible_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.contains("://") || lower.starts_with("www.") || lower.contains('/') {
        return true;
    }
    let host = lower.split([':', '?', '#']).next().unwrap_or("");
    host.rsplit('.')
        .next()
        .is_some_and(|tld| BARE_DOMAIN_TLDS.contains(&tld))
}

/// Words after which a number is a reference, not a phone number.
const REFERENCE_WORDS: &[&str] = &[
    "order",
    "ref",
    "reference",
    "invoice",
    "tracking",
    "sku",
    "serial",
    "imei",
    "item",
    "no",
    "nr",
    "number",
    "id",
    "code",
    "iban",
    "account",
];

/// Phone numbers, international (`+` or `00` and 8–15 digits) or local (9–12 digits with a
/// trunk `0`, an area code in parentheses, North American 3-3-4 groups or one run of 10).
/// Digits may be grouped by single spaces, dashes, dots or slashes. Dates and amounts have
/// too few digits; numbers right after a reference word (`order`, `#`, `tracking`…) are kept.
fn phone_numbers(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = matches!(bytes[i], b'+' | b'(' | b'0'..=b'9')
            && (i == 0 || !is_word_byte(bytes[i - 1]))
            && !after_reference(&text[..i]);
        if !starts {
            i += 1;
            continue;
        }
        let end = candidate_end(bytes, i);
        if end > i && is_phone(&text[i..end]) && (end == bytes.len() || !is_word_byte(bytes[end])) {
            found.push(i..end);
            i = end;
        } else {
            // Skip the rest of this run of digits: a number inside a longer one is not a phone.
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    found
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'#' || b == b'$' || b == b'@' || b >= 0x80
}

/// Whether the text before a number ends in a reference word or `#`.
fn after_reference(before: &str) -> bool {
    let trimmed = before.trim_end_matches([' ', ':', '.']);
    if trimmed.ends_with('#') || trimmed.ends_with("n°") {
        return true;
    }
    let word: String = trimmed
        .chars()
        .rev()
        .take_while(|c| c.is_alphabetic())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    REFERENCE_WORDS.contains(&word.to_lowercase().as_str())
}

/// The end of a phone-shaped run from `start`: digits and single separators, ending on a digit.
fn candidate_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    let mut last_digit = None;
    let mut separators = 0;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            separators = 0;
            last_digit = Some(i + 1);
        } else if matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')') || (b == b'+' && i == start)
        {
            separators += 1;
            if separators > 2 {
                break;
            }
        } else {
            break;
        }
        i += 1;
    }
    if let Some(last) = last_digit {
        end = last;
    }
    end
}

fn is_phone(candidate: &str) -> bool {
    let digits: String = candidate.chars().filter(char::is_ascii_digit).collect();
    let d = digits.len();
    if candidate.starts_with('+') {
        return (8..=15).contains(&d);
    }
    if digits.starts_with("00") && candidate.starts_with("00") {
        return (10..=15).contains(&d);
    }
    if !(9..=12).contains(&d) {
        return false;
    }
    let groups: Vec<&str> = candidate
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    if looks_like_date(candidate, &groups) {
        return false;
    }
    let trunk = candidate.starts_with('0');
    let area_code = candidate.starts_with('(');
    let north_american = d == 10
        && groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [3, 3, 4]
        && !candidate.contains(' ');
    let one_run = d == 10 && groups.len() == 1;
    trunk || area_code || north_american || one_run
}

/// `02/12/2026 10:30` or `2026-12-02 14`: a date (and a time) is not a phone number.
fn looks_like_date(candidate: &str, groups: &[&str]) -> bool {
    let dated = |a: usize, b: usize, c: usize| {
        let lens: Vec<usize> = groups.iter().take(3).map(|g| g.len()).collect();
        lens.len() == 3 && lens[0] <= a && lens[1] <= b && lens[2] == c
    };
    let separated = candidate.contains(['/', '-', '.']);
    separated && (dated(2, 2, 4) || (groups[0].len() == 4 && dated(4, 2, 2)))
}

/// Payment and messaging apps whose handles take people off the platform.
const APPS: &[&str] = &[
    "venmo",
    "cashapp",
    "cash app",
    "paypal",
    "zelle",
    "revolut",
    "wise",
    "skrill",
    "lydia",
    "bizum",
    "swish",
    "twint",
    "mobilepay",
    "vipps",
    "whatsapp",
    "telegram",
    "signal",
    "instagram",
    "insta",
    "snapchat",
];

/// Payment handles: a `$cashtag` anywhere, and an app's name followed within a few words by
/// an `@handle` or `$handle` (the name and the handle are matched together).
fn payment_handles(text: &str) -> Vec<Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (i, _) in text.match_indices('$') {
        if i > 0 && is_word_byte(bytes[i - 1]) {
            continue;
        }
        let end = handle_end(bytes, i + 1);
        if end > i + 1 && bytes[i + 1].is_ascii_alphabetic() {
            found.push(i..end);
        }
    }
    for app in APPS {
        for (at, _) in lower.match_indices(app) {
            let before_ok = at == 0 || !is_word_byte(bytes[at - 1]);
            let after = at + app.len();
            if !before_ok || (after < bytes.len() && bytes[after].is_ascii_alphanumeric()) {
                continue;
            }
            if let Some(handle) = handle_after(bytes, after) {
                found.push(at..handle.end);
            }
        }
    }
    found
}

/// An `@handle` or `$handle` within the next three words after `from`.
fn handle_after(bytes: &[u8], from: usize) -> Option<Range<usize>> {
    let mut i = from;
    let mut words = 0;
    while i < bytes.len() && words <= 3 {
        match bytes[i] {
            b'@' | b'$' => {
                let end = handle_end(bytes, i + 1);
                return (end > i + 1).then_some(i..end);
            }
            b' ' | b':' | b',' | b'-' => {
                if i + 1 < bytes.len() && !matches!(bytes[i + 1], b' ' | b':' | b',' | b'-') {
                    words += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn handle_end(bytes: &[u8], from: usize) -> usize {
    let mut end = from;
    while end < bytes.len()
        && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'_' | b'-' | b'.'))
    {
        end += 1;
    }
    // A handle does not end in punctuation ("venmo @jo." ends the sentence).
    while end > from && matches!(bytes[end - 1], b'.' | b'-') {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests;
