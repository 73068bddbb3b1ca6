//! What a search asks for, decided without a database: the user's words parsed into a
//! [`TextQuery`] (all words required, `OR` between two words, `-word` to exclude, the last word
//! a prefix), rendered safely for each backend's full-text syntax (PostgreSQL `to_tsquery`,
//! SQLite FTS5 `MATCH`), and the structured filters ([`SearchFilters`]) with the pure rule that
//! decides whether a listing passes them (shared by the listing search and, later, saved
//! searches).
//!
//! Safety of the rendered queries rests on one invariant: a [`Word`] holds only alphanumeric
//! characters (Unicode letters and digits), so no quote, backslash, colon, parenthesis or
//! operator of either syntax can come from the user. Everything else in `q` is an operator we
//! recognise (`OR`, a leading `-`) or a separator.

use super::category::{self, CategoryLevel};
use super::listing::{ListingStatus, CONDITIONS};
use super::stop_words::STOP_WORDS;
use std::ops::RangeInclusive;

mod facet_terms;
mod reach;
mod relevance;
mod stems;
mod typos;
mod words_index;

pub use facet_terms::{price_term, CLOSE_PROBE_IDS, CLOSE_PROBE_MATCHES, FACET_TERM_MARK};
pub use reach::{
    era_windows, few_expected, few_matches_seen, fills_an_era, first_reach, known_word,
    price_range_read_max, read_by_eras, second_reach, value_walk_min_matches, walked, ERA_BITS,
    ERA_IDS, ERA_READ_MAX, ERA_READ_MAX_FILTERED, FINE_ERA_BITS, FINE_ERA_READ_MAX, FIRST_REACH,
    INDEX_READ_MAX_MATCHES, KNOWN_WORD_MIN_PERCENT, RELEVANCE_CANDIDATES, VALUE_WALK_MIN_MATCHES,
    VALUE_WALK_ROWS_PER_RESULT, WALK_MIN_PERCENT, WALK_MIN_PERCENT_FILTERED,
};
pub use relevance::{
    candidates_to_take, expected_in_span, page_after, takes_next, window_reads, CandidateWindow,
    Ranked, WindowRead, RELEVANCE_SPAN,
};
pub use typos::{
    is_popular_neighbour, may_have_popular_neighbours, within_one_edit, POPULAR_FACTOR,
    POPULAR_MIN_LISTINGS, TYPO_MAX_CORRECTIONS, TYPO_MAX_WORDS, TYPO_MIN_CHARS, WORD_COUNT_CAP,
};
pub use words_index::{merge_due, MERGE_SHARE_PERCENT};

/// The longest `q` accepted, in characters.
pub const QUERY_MAX_CHARS: usize = 200;
/// Words shorter than this are matched exactly even when last (a one-letter prefix would match
/// most of the catalogue).
pub const PREFIX_MIN_CHARS: usize = 2;
/// A last word this long or longer is spelled out as the words it begins, when the catalogue's
/// vocabulary holds few of them: matching whole words is far cheaper for the search indexes
/// than matching a prefix (PostgreSQL's GIN reads every posting of every word it begins:
/// `leather & jacket:*` took 6.1 ms at 1M listings, `leather & jacket` 1.0 ms). The vocabulary
/// keeps words of 4 letters or more, so a shorter prefix could begin words it does not know.
pub const PREFIX_EXPAND_MIN_CHARS: usize = 4;
/// At most this many words spell a prefix out; a prefix that begins more stays a prefix.
pub const PREFIX_EXPANSION_MAX: usize = 8;

/// Checks `q` as a client sent it: at most [`QUERY_MAX_CHARS`] characters, no NUL.
pub fn validate_query_text(q: &str) -> Result<(), String> {
    if q.contains('\0') {
        return Err("must not contain NUL".to_owned());
    }
    if q.chars().count() > QUERY_MAX_CHARS {
        return Err(format!("must be at most {QUERY_MAX_CHARS} characters"));
    }
    Ok(())
}

/// One search term: lowercase alphanumeric characters only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Word {
    text: String,
    /// Matches any word it begins (search-as-you-type).
    pub prefix: bool,
}

impl Word {
    /// A word from `text`, lowercased, keeping only its alphanumeric characters (lowercasing
    /// may add a combining mark, as for 'İ'); `None` if nothing is left.
    pub fn new(text: &str, prefix: bool) -> Option<Word> {
        let text: String = text
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        (!text.is_empty()).then_some(Word { text, prefix })
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// A parsed query: every clause must match (a clause is one word or several alternatives), and
/// no excluded group may (a group is excluded when all its words are present).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TextQuery {
    pub clauses: Vec<Vec<Word>>,
    pub excluded: Vec<Vec<Word>>,
    /// Set when words that some listings hold were given popular neighbours: the query without
    /// those neighbours, whose matches rank above the ones only a neighbour brings.
    pub typed: Option<Box<TextQuery>>,
    /// Set by a search on SQLite when the words of several clauses match at least
    /// [`CLOSE_PROBE_MATCHES`] of the newest [`CLOSE_PROBE_IDS`] listings (see
    /// [`Self::matches_close_together`]).
    pub close_together: bool,
    /// Set by a search on SQLite, as it spells the words: how many active listings at most
    /// hold them, as the vocabulary sweep last counted its words ([`Self::held_at_most`]).
    pub held_by: Option<i64>,
}

enum Chunk {
    Or,
    Words { negated: bool, words: Vec<String> },
}

impl TextQuery {
    /// Parses what a user typed. `None` when nothing searchable is left (only punctuation,
    /// stop words or exclusions): such a query matches nothing.
    pub fn parse(q: &str) -> Option<TextQuery> {
        let chunks: Vec<Chunk> = q
            .split_whitespace()
            .filter_map(|raw| {
                if raw == "OR" {
                    return Some(Chunk::Or);
                }
                let (negated, rest) = match raw.strip_prefix('-') {
                    Some(rest) if rest.starts_with(char::is_alphanumeric) => (true, rest),
                    _ => (false, raw),
                };
                let words: Vec<String> = rest
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase)
                    .filter(|w| !STOP_WORDS.contains(&w.as_str()))
                    .collect();
                (!words.is_empty()).then_some(Chunk::Words { negated, words })
            })
            .collect();
        // The last word is a prefix while it is being typed: nothing follows it (no space or
        // punctuation), it is not excluded, and it is searched for. A stop word typed last is
        // dropped, and the word before it was finished: "car for" is "car", not "car*" (which
        // found carpets and cards).
        let typing_last = q.chars().last().is_some_and(char::is_alphanumeric)
            && q.rsplit(|c: char| !c.is_alphanumeric())
                .next()
                .is_some_and(|w| !STOP_WORDS.contains(&w.to_lowercase().as_str()));
        let last_chunk = chunks.len().checked_sub(1);

        let mut clauses: Vec<Vec<Word>> = Vec::new();
        let mut excluded = Vec::new();
        let mut or_pending = false;
        for (i, chunk) in chunks.into_iter().enumerate() {
            match chunk {
                Chunk::Or => or_pending = !clauses.is_empty(),
                Chunk::Words {
                    negated: true,
                    words,
                } => {
                    or_pending = false;
                    excluded.push(
                        words
                            .iter()
                            .filter_map(|w| Word::new(w, false))
                            .collect::<Vec<_>>(),
                    );
                }
                Chunk::Words {
                    negated: false,
                    words,
                } => {
                    let count = words.len();
                    for (j, w) in words.iter().enumerate() {
                        let prefix = typing_last
                            && Some(i) == last_chunk
                            && j + 1 == count
                            && w.chars().count() >= PREFIX_MIN_CHARS;
                        let Some(word) = Word::new(w, prefix) else {
                            continue;
                        };
                        match clauses.last_mut() {
                            // `a OR b-c` joins a and b; c stays required.
                            Some(last) if or_pending && j == 0 => last.push(word),
                            _ => clauses.push(vec![word]),
                        }
                    }
                    or_pending = false;
                }
            }
        }
        excluded.retain(|g| !g.is_empty());
        (!clauses.is_empty()).then_some(TextQuery {
            clauses,
            excluded,
            typed: None,
            close_together: false,
            held_by: None,
        })
    }

    /// The query as PostgreSQL `to_tsquery` text (to be bound as a parameter, parsed with the
    /// search configuration, which stems and unaccents each quoted word).
    pub fn to_tsquery(&self) -> String {
        let clause = |alts: &[Word]| {
            let parts: Vec<String> = alts
                .iter()
                .map(|w| {
                    let mut s = format!("'{}'", w.text);
                    if w.prefix {
                        s.push_str(":*");
                    }
                    s
                })
                .collect();
            if parts.len() == 1 {
                parts[0].clone()
            } else {
                format!("( {} )", parts.join(" | "))
            }
        };
        let mut out: Vec<String> = self.clauses.iter().map(|c| clause(c)).collect();
        for group in &self.excluded {
            let words: Vec<String> = group.iter().map(|w| format!("'{}'", w.text)).collect();
            out.push(format!("!( {} )", words.join(" & ")));
        }
        out.join(" & ")
    }

    /// The query as an SQLite FTS5 `MATCH` expression (bound as a parameter). Words are FTS5
    /// strings, so the tokenizer stems and folds them as it did the documents.
    pub fn to_fts5(&self) -> String {
        let word = |w: &Word| {
            if w.prefix {
                format!("\"{}\"*", w.text)
            } else {
                format!("\"{}\"", w.text)
            }
        };
        let clauses: Vec<String> = self
            .clauses
            .iter()
            .map(|alts| {
                let parts: Vec<String> = alts.iter().map(word).collect();
                if parts.len() == 1 {
                    parts[0].clone()
                } else {
                    format!("({})", parts.join(" OR "))
                }
            })
            .collect();
        let mut out = format!("({})", clauses.join(" AND "));
        for group in &self.excluded {
            let words: Vec<String> = group.iter().map(word).collect();
            out.push_str(&format!(" NOT ({})", words.join(" AND ")));
        }
        out
    }
}

impl TextQuery {
    /// Whether the words' matches lie close together among the ids, so a filter many listings
    /// pass is stepped in SQLite's words index rather than compared on each match's row
    /// ([`SearchFilters::facet_terms`]): one clause's always (a word is its own matches, and
    /// those of one word too rare to be close together are few to step through), several
    /// clauses' when the search found them [`Self::close_together`].
    pub fn matches_close_together(&self) -> bool {
        self.clauses.len() <= 1 || self.close_together
    }

    /// How many active listings at most hold the query's words, from how many hold each word
    /// (`counted`: as the vocabulary sweep last counted them, up to [`WORD_COUNT_CAP`]; `None`
    /// for a word it has not counted or does not know): the fewest of a clause whose every
    /// alternative is a whole word counted below the cap, summed. `None` when no clause is
    /// (a prefix begins words uncounted, a word at the cap may be held by any number more).
    /// An estimate as the counts are: a listing written since holds words they miss.
    pub fn held_at_most(&self, counted: impl Fn(&str) -> Option<i64>) -> Option<i64> {
        self.clauses
            .iter()
            .filter_map(|alts| {
                alts.iter().try_fold(0i64, |sum, w| {
                    let held = counted(&w.text).filter(|&n| n < WORD_COUNT_CAP && !w.prefix)?;
                    Some(sum + held.max(0))
                })
            })
            .min()
    }

    /// The prefix words of the query's clauses that are long enough to be spelled out as the
    /// words they begin ([`PREFIX_EXPAND_MIN_CHARS`]): (clause, prefix).
    pub fn expandable_prefixes(&self) -> Vec<(usize, String)> {
        self.clauses
            .iter()
            .enumerate()
            .flat_map(|(i, alts)| {
                alts.iter()
                    .filter(|w| w.prefix && w.text.chars().count() >= PREFIX_EXPAND_MIN_CHARS)
                    .map(move |w| (i, w.text.clone()))
            })
            .collect()
    }

    /// Replaces the prefix word `prefix` of clause `clause` by those of `words` it begins (the
    /// vocabulary's), each then matched whole (and stemmed), when there are one to
    /// [`PREFIX_EXPANSION_MAX`] of them; otherwise it stays a prefix. A word typed in full is
    /// among the words it begins.
    pub fn expand_prefix(&mut self, clause: usize, prefix: &str, words: &[String]) {
        let Some(alts) = self.clauses.get_mut(clause) else {
            return;
        };
        let begun: Vec<&String> = words.iter().filter(|w| w.starts_with(prefix)).collect();
        if begun.is_empty() || begun.len() > PREFIX_EXPANSION_MAX {
            return;
        }
        let Some(at) = alts.iter().position(|w| w.prefix && w.text == prefix) else {
            return;
        };
        alts.remove(at);
        for w in begun {
            if let Some(w) = Word::new(w, false) {
                if !alts.contains(&w) {
                    alts.push(w);
                }
            }
        }
    }

    /// The words that could carry a typo: a clause of one word of at least
    /// [`TYPO_MIN_CHARS`] letters, with its clause index; at most [`TYPO_MAX_WORDS`].
    pub fn typo_candidates(&self) -> Vec<(usize, String)> {
        self.clauses
            .iter()
            .enumerate()
            .filter(|(_, c)| c.len() == 1 && c[0].text.chars().count() >= TYPO_MIN_CHARS)
            .map(|(i, c)| (i, c[0].text.clone()))
            .take(TYPO_MAX_WORDS)
            .collect()
    }

    /// Adds to clause `clause` the known words one edit away from `typed` (a corrected word
    /// is matched exactly, never as a prefix), at most [`TYPO_MAX_CORRECTIONS`].
    pub fn add_corrections(&mut self, clause: usize, typed: &str, known: &[String]) {
        let Some(alts) = self.clauses.get_mut(clause) else {
            return;
        };
        let mut added = 0;
        for k in known {
            if added == TYPO_MAX_CORRECTIONS {
                break;
            }
            if k != typed && within_one_edit(typed, k) {
                if let Some(w) = Word::new(k, false) {
                    if !alts.contains(&w) {
                        alts.push(w);
                        added += 1;
                    }
                }
            }
        }
    }
}

/// A category filter: a top-level slug takes its children too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryFilter {
    pub slug: String,
    pub level: CategoryLevel,
}

impl CategoryFilter {
    pub fn parse(slug: &str) -> Result<CategoryFilter, String> {
        category::validate(slug)?;
        let (_, level) = category::find(slug).ok_or("is not a known category")?;
        Ok(CategoryFilter {
            slug: slug.to_owned(),
            level,
        })
    }

    /// Whether a listing in `category` is in this category (or under it).
    pub fn admits(&self, listing_category: Option<&str>) -> bool {
        let Some(c) = listing_category else {
            return false;
        };
        match self.level {
            CategoryLevel::Top => category::top_of(c) == self.slug,
            CategoryLevel::Child => c == self.slug,
        }
    }
}

pub fn validate_condition_filter(condition: &str) -> Result<(), String> {
    if CONDITIONS.contains(&condition) {
        Ok(())
    } else {
        Err(format!("must be one of {}", CONDITIONS.join(", ")))
    }
}

/// The structured filters of a search (its words aside, which the database matches).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFilters {
    pub category: Option<CategoryFilter>,
    pub condition: Option<String>,
    pub seller_id: Option<i64>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
}

/// What [`SearchFilters::admits`] looks at in a listing.
#[derive(Clone, Copy, Debug)]
pub struct ListingFacts<'a> {
    pub category: Option<&'a str>,
    pub condition: Option<&'a str>,
    pub seller_id: i64,
    pub price_cents: i64,
    pub status: ListingStatus,
}

impl SearchFilters {
    /// Whether a listing passes every filter. The SQL the store builds is the same predicate;
    /// this form is for matching one listing against many searches without a query.
    pub fn admits(&self, l: &ListingFacts<'_>) -> bool {
        self.category.as_ref().is_none_or(|c| c.admits(l.category))
            && self
                .condition
                .as_deref()
                .is_none_or(|c| l.condition == Some(c))
            && self.seller_id.is_none_or(|s| s == l.seller_id)
            && self.min_price.is_none_or(|m| l.price_cents >= m)
            && self.max_price.is_none_or(|m| l.price_cents <= m)
    }

    /// Whether a category, a condition or a narrow price range filters the search: entries of
    /// PostgreSQL's era index ([`SearchFilters::era_entries`]).
    pub fn in_era_index(&self) -> bool {
        self.category.is_some() || self.condition.is_some() || self.price_buckets().is_some()
    }

    /// The price buckets ([`price_bucket`]) a listing in the price range may be in, when there
    /// is a range and it spans at most [`PRICE_BUCKETS_READ_MAX`] of them; `None` otherwise (a
    /// wide range is compared on the rows the words find, as a seller is).
    pub fn price_buckets(&self) -> Option<RangeInclusive<usize>> {
        if self.min_price.is_none() && self.max_price.is_none() {
            return None;
        }
        let lo = self.min_price.map_or(0, price_bucket);
        let hi = self
            .max_price
            .map_or(PRICE_BUCKET_BOUNDS.len(), price_bucket);
        (lo <= hi && hi - lo < PRICE_BUCKETS_READ_MAX).then_some(lo..=hi)
    }

    /// The category, condition and narrow price range filters as entries of PostgreSQL's era
    /// index (migrations `search_eras_filters`, `search_eras_prices`: `' top <slug>'`,
    /// `' cat <slug>'`, `' cond <condition>'`, `' price <bucket>'`, and `' prices <decade>'`
    /// (migration `search_eras_price_decades`), each under its era there), as a `tsquery` a
    /// listing must hold (the price as any of the range's [`price_range_parts`]); `None`
    /// without any of them. The leading space keeps them apart from every word.
    pub fn era_entries(&self) -> Option<String> {
        let category = self.category.as_ref().map(|c| match c.level {
            CategoryLevel::Top => format!(" top {}", c.slug),
            CategoryLevel::Child => format!(" cat {}", c.slug),
        });
        let condition = self.condition.as_ref().map(|c| format!(" cond {c}"));
        // tsquery's quoting: a quote doubled, a backslash escaped (none in a known slug or
        // condition; the filters are validated before they get here).
        let quoted = |e: String| format!("'{}'", e.replace('\\', "\\\\").replace('\'', "''"));
        let mut entries: Vec<String> = [category, condition]
            .into_iter()
            .flatten()
            .map(quoted)
            .collect();
        if let Some(buckets) = self.price_buckets() {
            let any: Vec<String> = price_range_parts(buckets)
                .into_iter()
                .map(|part| match part {
                    PricePart::Decade(d) => quoted(format!(" prices {d}")),
                    PricePart::Bucket(b) => quoted(format!(" price {b}")),
                })
                .collect();
            entries.push(if any.len() == 1 {
                any.concat()
            } else {
                format!("( {} )", any.join(" | "))
            });
        }
        (!entries.is_empty()).then(|| entries.join(" & "))
    }
}

/// The bounds of the price buckets of PostgreSQL's era index (migration `search_eras_prices`,
/// whose `search_price_bucket` holds the same list): ten a decade (the R10 series: 1.00, 1.25,
/// 1.60, 2.00, 2.50, 3.15, 4.00, 5.00, 6.30, 8.00), from 1.00 to 8,000,000.00, so the round
/// prices a buyer types (10, 20, 50, 100) are bounds and a range's edge buckets hold few
/// listings outside it. A listing's bucket is [`price_bucket`].
pub const PRICE_BUCKET_BOUNDS: [i64; 70] = price_bucket_bounds();

const fn price_bucket_bounds() -> [i64; 70] {
    const STEPS: [i64; 10] = [100, 125, 160, 200, 250, 315, 400, 500, 630, 800];
    let mut bounds = [0; 70];
    let (mut i, mut scale) = (0, 1);
    while i < bounds.len() {
        bounds[i] = STEPS[i % 10] * scale;
        if i % 10 == 9 {
            scale *= 10;
        }
        i += 1;
    }
    bounds
}

/// The bucket of a price in cents: how many bounds of [`PRICE_BUCKET_BOUNDS`] it reaches
/// (PostgreSQL's `width_bucket` with the same bounds), 0 below the first, 70 from the last.
pub fn price_bucket(cents: i64) -> usize {
    PRICE_BUCKET_BOUNDS.partition_point(|&b| b <= cents)
}

/// The most price buckets a range may span for the era index to serve it: two decades and a
/// few more (10.00 to 50.00 spans 8 buckets, 1.00 to 20.00 spans 14, anything up to 160.00
/// spans 24). A wider range is compared on the rows the words find, as it turns few of them
/// away, and each bucket is one more entry an era's read looks up. At 1M listings "black" in
/// home from 1.00 to 20.00 took 29.7 ms with 12 buckets at most (so unserved), 9.2 with 24;
/// "jacket" from 10.00 to 50.00 7.0 and 5.4 ms (both served).
pub const PRICE_BUCKETS_READ_MAX: usize = 24;

/// A part of a range of price buckets as both words indexes read it: a decade the range holds
/// whole, as one entry (`Decade(d)`: buckets `10d + 1` to `10d + 10`, 1.00–9.99 is decade 0),
/// or a bucket on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PricePart {
    Decade(usize),
    Bucket(usize),
}

/// The parts of a range of price buckets: each decade it holds whole as one, each other bucket
/// on its own. "Under 20.00" is 6 parts instead of 15 ("under 1.00", the decade 1.00–9.99, four
/// buckets from 10.00).
pub fn price_range_parts(buckets: RangeInclusive<usize>) -> Vec<PricePart> {
    let mut parts = Vec::new();
    let (mut b, last) = (*buckets.start(), *buckets.end());
    while b <= last {
        let decade_end = b + 9;
        if b >= 1 && (b - 1) % 10 == 0 && decade_end <= last {
            parts.push(PricePart::Decade((b - 1) / 10));
            b = decade_end + 1;
        } else {
            parts.push(PricePart::Bucket(b));
            b += 1;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_enough_prefix_is_spelled_out_as_the_few_words_it_begins() {
        let words = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let mut q = TextQuery::parse("leather jack").unwrap();
        assert_eq!(q.expandable_prefixes(), vec![(1, "jack".to_owned())]);
        q.expand_prefix(1, "jack", &words(&["jackal", "jacket", "jackets", "ajack"]));
        assert_eq!(
            q.to_tsquery(),
            "'leather' & ( 'jackal' | 'jacket' | 'jackets' )"
        );
        assert_eq!(
            q.to_fts5(),
            r#"("leather" AND ("jackal" OR "jacket" OR "jackets"))"#
        );
        assert!(q.expandable_prefixes().is_empty());

        // Too many words begun, or none: it stays a prefix.
        let mut many = TextQuery::parse("lamp").unwrap();
        let begun: Vec<String> = (0..=PREFIX_EXPANSION_MAX)
            .map(|i| format!("lamp{i}"))
            .collect();
        many.expand_prefix(0, "lamp", &begun);
        many.expand_prefix(0, "lamp", &[]);
        assert_eq!(many.to_tsquery(), "'lamp':*");
        // Too short to be spelled out, and a whole word (typed before a space) is not a prefix.
        assert!(TextQuery::parse("cam")
            .unwrap()
            .expandable_prefixes()
            .is_empty());
        assert!(TextQuery::parse("camera ")
            .unwrap()
            .expandable_prefixes()
            .is_empty());
    }

    /// A query's words are held by at most the fewest listings of a clause whose every word
    /// is counted below the cap, its alternatives summed; a prefix, a word uncounted or at the
    /// cap says nothing of its clause.
    #[test]
    fn the_words_are_held_by_at_most_the_fewest_of_a_counted_clause() {
        let counts = |w: &str| match w {
            "quokka" => Some(5),
            "quokkas" => Some(2),
            "jacket" => Some(WORD_COUNT_CAP),
            "amber" => Some(40),
            "gone" => Some(0),
            _ => None,
        };
        let held = |q: &str| TextQuery::parse(q).unwrap().held_at_most(counts);
        assert_eq!(held("quokka "), Some(5));
        assert_eq!(held("jacket quokka "), Some(5), "the fewest clause");
        assert_eq!(held("amber quokka "), Some(5));
        assert_eq!(held("quokka OR quokkas "), Some(7), "alternatives summed");
        assert_eq!(held("quokka OR lamp "), None, "an alternative uncounted");
        assert_eq!(held("gone jacket "), Some(0));
        assert_eq!(held("jacket "), None, "at the cap: any number more");
        assert_eq!(held("lamp "), None, "not counted");
        assert_eq!(held("quokka"), None, "a prefix begins words uncounted");
        assert_eq!(held("amber quokka"), Some(40), "the whole words' clause");
        let mut spelled = TextQuery::parse("quokka").unwrap();
        spelled.expand_prefix(0, "quokka", &["quokka".to_owned(), "quokkas".to_owned()]);
        assert_eq!(
            spelled.held_at_most(counts),
            Some(7),
            "a prefix spelled out"
        );
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_category_and_a_condition_are_the_era_index_entries_a_match_must_hold() {
        let filters = |category: Option<&str>, condition: Option<&str>| SearchFilters {
            category: category.map(|c| CategoryFilter::parse(c).unwrap()),
            condition: condition.map(str::to_owned),
            ..SearchFilters::default()
        };
        assert_eq!(filters(None, None).era_entries(), None);
        assert_eq!(
            filters(Some("fashion"), None).era_entries().as_deref(),
            Some("' top fashion'")
        );
        assert_eq!(
            filters(Some("fashion-men"), Some("like_new"))
                .era_entries()
                .as_deref(),
            Some("' cat fashion-men' & ' cond like_new'")
        );
        // A seller or a wide price range is no entry of the index.
        let priced = SearchFilters {
            min_price: Some(100),
            seller_id: Some(7),
            ..SearchFilters::default()
        };
        assert_eq!(priced.era_entries(), None);
    }

    #[test]
    fn a_range_of_buckets_is_its_whole_decades_and_the_buckets_left() {
        use PricePart::{Bucket, Decade};
        assert_eq!(price_range_parts(0..=0), vec![Bucket(0)]);
        assert_eq!(price_range_parts(1..=10), vec![Decade(0)]);
        assert_eq!(
            price_range_parts(0..=11),
            vec![Bucket(0), Decade(0), Bucket(11)]
        );
        // Ten buckets that straddle two decades hold neither whole.
        assert_eq!(
            price_range_parts(2..=11),
            (2..=11).map(Bucket).collect::<Vec<_>>()
        );
        assert_eq!(
            price_range_parts(49..=70),
            vec![Bucket(49), Bucket(50), Decade(5), Decade(6)]
        );
        // Every bucket of the range is in exactly one part, in order.
        for (lo, hi) in [(0, 23), (3, 26), (11, 18), (60, 70)] {
            let covered: Vec<usize> = price_range_parts(lo..=hi)
                .into_iter()
                .flat_map(|p| match p {
                    Decade(d) => 10 * d + 1..=10 * d + 10,
                    Bucket(b) => b..=b,
                })
                .collect();
            assert_eq!(covered, (lo..=hi).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_narrow_price_range_is_any_of_its_buckets_in_the_era_index() {
        let range = |min: Option<i64>, max: Option<i64>| SearchFilters {
            min_price: min,
            max_price: max,
            ..SearchFilters::default()
        };
        // Bounds in cents: 1.00 is the first (index 0), 10.00 index 10, 50.00 index 17.
        assert_eq!(PRICE_BUCKET_BOUNDS[0], 100);
        assert_eq!(PRICE_BUCKET_BOUNDS[10], 1_000);
        assert_eq!(PRICE_BUCKET_BOUNDS[17], 5_000);
        assert_eq!(PRICE_BUCKET_BOUNDS[69], 800_000_000);
        assert_eq!(price_bucket(0), 0);
        assert_eq!(price_bucket(99), 0);
        assert_eq!(price_bucket(100), 1);
        assert_eq!(price_bucket(999), 10);
        assert_eq!(price_bucket(1_000), 11);
        assert_eq!(price_bucket(1_249), 11);
        assert_eq!(price_bucket(1_250), 12);
        assert_eq!(price_bucket(5_000), 18);
        assert_eq!(price_bucket(800_000_000), 70);
        assert_eq!(price_bucket(i64::MAX), 70);
        // Every price is in exactly the bucket whose bounds hold it.
        for (i, w) in PRICE_BUCKET_BOUNDS.windows(2).enumerate() {
            assert!(w[0] < w[1]);
            assert_eq!(price_bucket(w[0]), i + 1);
            assert_eq!(price_bucket(w[1] - 1), i + 1);
        }
        assert_eq!(
            range(Some(1_000), Some(5_000)).price_buckets(),
            Some(11..=18)
        );
        assert_eq!(range(Some(100), Some(1_000)).price_buckets(), Some(1..=11));
        assert_eq!(
            range(Some(1_000), Some(1_100)).era_entries().as_deref(),
            Some("' price 11'")
        );
        assert_eq!(
            range(Some(1_000), Some(1_600)).era_entries().as_deref(),
            Some("( ' price 11' | ' price 12' | ' price 13' )")
        );
        let filtered = SearchFilters {
            condition: Some("good".into()),
            ..range(Some(20_000), Some(25_000))
        };
        assert_eq!(
            filtered.era_entries().as_deref(),
            Some("' cond good' & ( ' price 24' | ' price 25' )")
        );
        // A decade held whole is one entry: 1.00 to 20.00 is the decade 1.00–9.99 and the
        // four buckets from 10.00; 10.00 to 99.99 the decade alone.
        assert_eq!(
            range(Some(100), Some(2_000)).era_entries().as_deref(),
            Some("( ' prices 0' | ' price 11' | ' price 12' | ' price 13' | ' price 14' )")
        );
        assert_eq!(
            range(Some(1_000), Some(9_999)).era_entries().as_deref(),
            Some("' prices 1'")
        );
        // One bound only: every bucket from the first, or to the last, if few enough.
        assert_eq!(range(None, Some(1_000)).price_buckets(), Some(0..=11));
        assert_eq!(range(None, Some(16_000)).price_buckets(), Some(0..=23));
        assert_eq!(range(None, Some(20_000)).price_buckets(), None);
        assert_eq!(range(Some(6_300_000), None).price_buckets(), Some(49..=70));
        assert_eq!(range(Some(1_000_000), None).price_buckets(), None);
        // A range no price is in has no buckets (its rows are compared and none pass).
        assert_eq!(range(Some(5_000), Some(1_000)).price_buckets(), None);
    }

    fn texts(q: &TextQuery) -> Vec<Vec<(String, bool)>> {
        q.clauses
            .iter()
            .map(|c| c.iter().map(|w| (w.text.clone(), w.prefix)).collect())
            .collect()
    }

    #[test]
    fn words_are_all_required_and_the_last_is_a_prefix() {
        let q = TextQuery::parse("Brown leather jack").unwrap();
        assert_eq!(
            texts(&q),
            vec![
                vec![("brown".into(), false)],
                vec![("leather".into(), false)],
                vec![("jack".into(), true)]
            ]
        );
        assert_eq!(q.to_tsquery(), "'brown' & 'leather' & 'jack':*");
        assert_eq!(q.to_fts5(), "(\"brown\" AND \"leather\" AND \"jack\"*)");
        // A trailing space: the user finished the word.
        assert!(!TextQuery::parse("camera ").unwrap().clauses[0][0].prefix);
        assert!(!TextQuery::parse("a b").unwrap().clauses[0][0].prefix);
    }

    /// Only the word being typed is a prefix: a word followed by a stop word, an exclusion or
    /// an `OR` was finished, however the query ends.
    #[test]
    fn a_finished_word_stays_whole_whatever_is_typed_after_it() {
        for typed in [
            "car for", "car-for", "car -red", "car OR", "car the", "car ",
        ] {
            let q = TextQuery::parse(typed).unwrap();
            assert_eq!(
                q.clauses[0],
                vec![Word::new("car", false).unwrap()],
                "{typed}"
            );
        }
        let q = TextQuery::parse("for car").unwrap();
        assert_eq!(q.to_tsquery(), "'car':*");
        let q = TextQuery::parse("car for red").unwrap();
        assert_eq!(q.to_tsquery(), "'car' & 'red':*");
    }

    #[test]
    fn or_exclusion_stop_words_and_punctuation() {
        let q = TextQuery::parse("the lamp OR light -broken \"desk\"").unwrap();
        assert_eq!(
            q.to_tsquery(),
            "( 'lamp' | 'light' ) & 'desk' & !( 'broken' )"
        );
        assert_eq!(
            q.to_fts5(),
            "((\"lamp\" OR \"light\") AND \"desk\") NOT (\"broken\")"
        );
        assert_eq!(TextQuery::parse("OR OR - -- ' \" ()"), None);
        assert_eq!(TextQuery::parse("-broken"), None);
        assert_eq!(TextQuery::parse("the of and"), None);
        // "s" is a stop word: "café" was finished.
        let q = TextQuery::parse("t-shirt café's").unwrap();
        assert_eq!(q.to_tsquery(), "'shirt' & 'café'");
    }

    #[test]
    fn query_text_limits() {
        assert!(validate_query_text(&"x".repeat(200)).is_ok());
        assert!(validate_query_text(&"é".repeat(200)).is_ok());
        assert!(validate_query_text(&"x".repeat(201)).is_err());
        assert!(validate_query_text("a\0b").is_err());
    }

    #[test]
    fn filters_admit_exactly_what_they_say() {
        let facts = ListingFacts {
            category: Some("electronics-cameras"),
            condition: Some("good"),
            seller_id: 7,
            price_cents: 500,
            status: ListingStatus::Active,
        };
        let mut f = SearchFilters {
            category: Some(CategoryFilter::parse("electronics").unwrap()),
            condition: Some("good".into()),
            seller_id: Some(7),
            min_price: Some(500),
            max_price: Some(500),
        };
        assert!(f.admits(&facts));
        f.category = Some(CategoryFilter::parse("electronics-phones").unwrap());
        assert!(!f.admits(&facts));
        f.category = Some(CategoryFilter::parse("electronics-cameras").unwrap());
        f.max_price = Some(499);
        assert!(!f.admits(&facts));
        assert!(CategoryFilter::parse("nope").is_err());
    }

    proptest! {
        /// Whatever the input, the rendered queries contain only our own syntax around
        /// alphanumeric words: balanced parentheses and quotes, no backslash, no NUL.
        #[test]
        fn rendered_queries_are_always_well_formed(q in any::<String>()) {
            if let Some(parsed) = TextQuery::parse(&q) {
                for w in parsed.clauses.iter().chain(&parsed.excluded).flatten() {
                    prop_assert!(!w.text.is_empty());
                    prop_assert!(w.text.chars().all(char::is_alphanumeric));
                }
                let ts = parsed.to_tsquery();
                prop_assert_eq!(ts.matches('\'').count() % 2, 0);
                prop_assert_eq!(ts.matches('(').count(), ts.matches(')').count());
                prop_assert!(!ts.contains('\\') && !ts.contains('\0'));
                let fts = parsed.to_fts5();
                prop_assert_eq!(fts.matches('"').count() % 2, 0);
                prop_assert_eq!(fts.matches('(').count(), fts.matches(')').count());
            }
        }
    }
}
