//! Saved searches and their alerts, decided without a database: what a saved search may hold,
//! when a listing's change is worth matching ([`trigger_of`]), which part of a search indexes it
//! ([`choose_anchor`]: the words or keys a new listing must share with it to be a candidate),
//! and whether a candidate alerts its owner ([`alert_due`], built on the listing search's own
//! [`SearchFilters::admits`]). Words are matched by the database's full-text engine, as the
//! listing search matches them, so a saved search alerts for exactly what it would find.

use super::category;
use super::listing::{ListingStatus, PRICE_CENTS};
use super::search::{
    validate_condition_filter, validate_query_text, CategoryFilter, ListingFacts, SearchFilters,
    TextQuery, Word,
};
use super::validation::{non_blank, FieldErrors};
use super::UserId;

/// A user keeps at most this many saved searches.
pub const MAX_SAVED_SEARCHES_PER_USER: i64 = 20;
/// The longest name a saved search may have, in characters.
pub const NAME_MAX_CHARS: usize = 100;

/// A saved search as a client sends it (prices in cents, as the search's `min_price` and
/// `max_price`).
#[derive(Clone, Debug, Default)]
pub struct SavedSearchInput {
    pub name: Option<String>,
    pub q: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
}

/// A checked saved search, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedSearchSpec {
    pub name: Option<String>,
    /// As the user typed it (trimmed); `None` when it had no words.
    pub q: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// `q` parsed, for the database's full-text engine to match.
    pub text: Option<TextQuery>,
    pub anchor: Anchor,
}

/// Parses a saved search's `q` as the listing search parses it, with its words complete: a
/// saved search is not being typed, so its last word is not a prefix.
pub fn saved_query(q: &str) -> Option<TextQuery> {
    TextQuery::parse(&format!("{q} "))
}

/// The filters of a stored saved search (checked when it was saved; a value that no longer
/// parses, such as a category since removed, matches nothing rather than everything).
pub fn saved_filters(
    category: Option<&str>,
    condition: Option<&str>,
    min_price: Option<i64>,
    max_price: Option<i64>,
) -> Option<SearchFilters> {
    let category = match category {
        Some(c) => Some(CategoryFilter::parse(c).ok()?),
        None => None,
    };
    Some(SearchFilters {
        category,
        condition: condition.map(str::to_owned),
        seller_id: None,
        min_price,
        max_price,
    })
}

impl SavedSearchInput {
    /// Checks every field as the listing search checks its query parameters, naming each
    /// field at fault.
    pub fn validate(self) -> Result<SavedSearchSpec, FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Some(name) = &self.name {
            errors.check("name", non_blank(name, NAME_MAX_CHARS));
        }
        let mut text = None;
        if let Some(q) = &self.q {
            match validate_query_text(q) {
                Err(message) => errors.add("q", message),
                Ok(()) if q.trim().is_empty() => {}
                Ok(()) => match saved_query(q) {
                    Some(parsed) => text = Some(parsed),
                    None => errors.add("q", "has no word to search for"),
                },
            }
        }
        let category = match self.category.as_deref().map(CategoryFilter::parse) {
            Some(Err(message)) => {
                errors.add("category", message);
                None
            }
            Some(Ok(c)) => Some(c),
            None => None,
        };
        if let Some(c) = &self.condition {
            errors.check("condition", validate_condition_filter(c));
        }
        for (field, price) in [("min_price", self.min_price), ("max_price", self.max_price)] {
            if price.is_some_and(|p| !(0..=PRICE_CENTS.1).contains(&p)) {
                errors.add(field, format!("must be between 0 and {}", PRICE_CENTS.1));
            }
        }
        if let (Some(min), Some(max)) = (self.min_price, self.max_price) {
            if min > max {
                errors.add("min_price", "must not be above max_price");
            }
        }
        let filters = SearchFilters {
            category,
            condition: self.condition.clone(),
            seller_id: None,
            min_price: self.min_price,
            max_price: self.max_price,
        };
        let anchor = choose_anchor(text.as_ref(), &filters);
        errors.into_result(SavedSearchSpec {
            name: self.name.map(|n| n.trim().to_owned()),
            q: text.as_ref().and(self.q.map(|q| q.trim().to_owned())),
            category: self.category,
            condition: self.condition,
            min_price: self.min_price,
            max_price: self.max_price,
            text,
            anchor,
        })
    }
}

/// What indexes a saved search: every listing it can match shares this with it, so the
/// listings' side finds its candidates with one indexed query instead of running every search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The alternatives of one required clause, space-separated: a matching listing holds
    /// one of them (after stemming, which the database's full-text index applies to both
    /// sides).
    Words(String),
    /// A key the listing carries: [`category_key`], [`condition_key`] or [`ANY_KEY`].
    Key(String),
}

/// The key of a search with no words, category or condition: every listing is a candidate.
pub const ANY_KEY: &str = "*";

pub fn category_key(slug: &str) -> String {
    format!("c:{slug}")
}

pub fn condition_key(condition: &str) -> String {
    format!("n:{condition}")
}

/// The most selective part of a search: the required clause whose shortest word is longest
/// (a longer word is rarer), else the category, else the condition, else [`ANY_KEY`].
pub fn choose_anchor(text: Option<&TextQuery>, filters: &SearchFilters) -> Anchor {
    let clause = text.and_then(|t| {
        t.clauses
            .iter()
            .max_by_key(|alts| alts.iter().map(|w| w.text().chars().count()).min())
    });
    if let Some(alts) = clause {
        let words: Vec<&str> = alts.iter().map(Word::text).collect();
        return Anchor::Words(words.join(" "));
    }
    if let Some(c) = &filters.category {
        return Anchor::Key(category_key(&c.slug));
    }
    if let Some(c) = &filters.condition {
        return Anchor::Key(condition_key(c));
    }
    Anchor::Key(ANY_KEY.to_owned())
}

/// The keys a listing offers: a search anchored on any of them is a candidate.
pub fn listing_keys(category: Option<&str>, condition: Option<&str>) -> Vec<String> {
    let mut keys = vec![ANY_KEY.to_owned()];
    if let Some(c) = category {
        keys.push(category_key(c));
        keys.push(category_key(category::top_of(c)));
    }
    if let Some(c) = condition {
        keys.push(condition_key(c));
    }
    keys.dedup();
    keys
}

/// Every word of a listing's text (title, description, category words), as one clause of
/// alternatives: the query that finds the searches anchored on any of them. The words are
/// split as a search's words are, so a word a search asks for is always offered; `None` when
/// the text has no word.
pub fn listing_words(title: &str, description: &str, category: Option<&str>) -> Option<TextQuery> {
    let text = format!(
        "{title} {description} {} ",
        category.unwrap_or_default().replace('-', " ")
    );
    // Each whitespace-separated part on its own, so the text's own `OR` or `-word` is a word.
    let mut words: Vec<Word> = text
        .split_whitespace()
        .filter_map(|part| TextQuery::parse(&format!("{} ", part.trim_start_matches('-'))))
        .flat_map(|q| q.clauses.into_iter().flatten())
        .collect();
    words.sort_by(|a, b| a.text().cmp(b.text()));
    words.dedup();
    (!words.is_empty()).then(|| TextQuery {
        clauses: vec![words],
        excluded: Vec::new(),
        typed: None,
        close_together: false,
        held_by: None,
    })
}

/// Why a listing is matched against the saved searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// It became visible: created active, or a draft activated.
    Visible,
    /// Its price dropped from `old_price` cents while active.
    PriceDrop { old_price: i64 },
}

impl Trigger {
    /// The stored form: the old price of a drop, none for becoming visible.
    pub fn old_price(self) -> Option<i64> {
        match self {
            Trigger::Visible => None,
            Trigger::PriceDrop { old_price } => Some(old_price),
        }
    }

    pub fn from_old_price(old_price: Option<i64>) -> Trigger {
        old_price.map_or(Trigger::Visible, |old_price| Trigger::PriceDrop {
            old_price,
        })
    }
}

/// Whether a listing write (`before` as (status, price), `None` for a new listing) is worth
/// matching against the saved searches.
pub fn trigger_of(
    before: Option<(ListingStatus, i64)>,
    after: (ListingStatus, i64),
) -> Option<Trigger> {
    if after.0 != ListingStatus::Active {
        return None;
    }
    match before {
        None => Some(Trigger::Visible),
        Some((status, _)) if status != ListingStatus::Active => Some(Trigger::Visible),
        Some((_, price)) if price > after.1 => Some(Trigger::PriceDrop { old_price: price }),
        Some(_) => None,
    }
}

/// Whether a saved search of `owner` with `filters` alerts for the listing (its words already
/// matched): never the seller's own listing, only an active one the filters admit, and for a
/// price drop only one that brought the price into the search's range.
pub fn alert_due(
    trigger: Trigger,
    owner: UserId,
    filters: &SearchFilters,
    listing: &ListingFacts<'_>,
) -> bool {
    if owner.0 == listing.seller_id
        || listing.status != ListingStatus::Active
        || !filters.admits(listing)
    {
        return false;
    }
    match trigger {
        Trigger::Visible => true,
        Trigger::PriceDrop { old_price } => !filters.admits(&ListingFacts {
            price_cents: old_price,
            ..*listing
        }),
    }
}

#[cfg(test)]
mod tests;
