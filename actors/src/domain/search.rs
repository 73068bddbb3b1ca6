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

/// `sort=relevance` ranks at most this many matches: the newest ones (filters applied). A word
/// in tens of thousands of listings would otherwise be scored on every one of them, and a
/// common word's page costs in proportion to it (at 1M listings on PostgreSQL "black" took
/// 8.8 ms at 1,000 and 1.5 ms at 200). PostgreSQL reads them in two bounded steps
/// (`store::search::Reach`), so a rare word no longer needs a large set to keep the planner
/// off a walk of the whole table (BENCHMARKS.md, "Saved-search alerts and search, round 2").
pub const RELEVANCE_CANDIDATES: i64 = 200;

/// A words query in newest order first reads only the newest this many ids (PostgreSQL; see
/// `store::search::Reach`).
pub const FIRST_REACH: i64 = 10_000;

/// Up to about this many matches in all, the second read of a words query takes every match
/// from the words' index; with more, it walks a window of the newest ids sized to hold enough.
/// At 1M listings on PostgreSQL a match fetched from the index costs ~5 µs and a row walked
/// ~0.5 µs, so the two cost about the same here (~25 ms) and each is cheaper on its side.
pub const INDEX_READ_MAX_MATCHES: i64 = 5_000;

/// Whether the matches PostgreSQL's statistics expect a query's words to have (the planner's
/// estimate) are few enough to read every one of them from the words' index straight away,
/// without first looking at the newest ids. A word the statistics do not know is estimated at
/// a fixed share of the table (0.5%: 5,000 at 1M listings), which does not count as few: it
/// may be rare or merely unsampled, and the bounded first read tells which.
pub fn few_expected(expected: i64) -> bool {
    expected < INDEX_READ_MAX_MATCHES
}

/// The most matches the newest `first` ids (of `span` a query may return) can hold for the
/// words to count as few: about [`INDEX_READ_MAX_MATCHES`] or fewer expected in all, at the
/// density seen there. Few matches are read whole from the words' index; more are found by
/// walking an index in the page's order.
pub fn few_matches_seen(first: i64, span: i64) -> i64 {
    if first <= 0 {
        return 0;
    }
    INDEX_READ_MAX_MATCHES.saturating_mul(first) / span.max(first)
}

/// How many of the newest ids the first read of a words query in newest order covers, when
/// PostgreSQL's statistics expect `expected` matches among the `span` ids it may return and
/// `wanted` are needed: [`FIRST_REACH`], or wider when at the expected density that would hold
/// fewer than half as many again as wanted (the facets' 1,001 matches of a word in 1.6% of the
/// listings: ~94,000 ids, which a first read of 10,000 would only have found out, at the cost of
/// a read). Filters only thin the matches out, so the estimate never makes it wider than needed.
/// Only an estimate of at least [`KNOWN_WORD_MIN_PERCENT`] of the ids widens it: PostgreSQL
/// puts a word outside its statistics at 0.5% of the table, and such a word may be rare, when
/// a wide first read would cost more than the narrow one it spares (the id range alone: ~4 ms
/// for 60,000 ids at 1M). At most `span`.
pub fn first_reach(expected: i64, wanted: i64, span: i64) -> i64 {
    let sized = if known_word(expected, span) {
        wanted.saturating_mul(span).saturating_mul(3) / expected.saturating_mul(2)
    } else {
        FIRST_REACH
    };
    sized.max(FIRST_REACH).min(span.max(1))
}

/// The smallest estimate, as a share of the ids, that [`first_reach`] takes for the statistics'
/// own (twice the share PostgreSQL gives a word it has no statistics for).
pub const KNOWN_WORD_MIN_PERCENT: i64 = 1;

/// Whether PostgreSQL's estimate of `expected` matches among `span` ids is the statistics' own
/// knowledge of the words (at least [`KNOWN_WORD_MIN_PERCENT`]), not the fixed share it gives
/// words it has no statistics for: [`first_reach`] then sizes the first read to hold enough.
/// `i64::MAX` (no estimate: the listings were never analysed) is no knowledge.
pub fn known_word(expected: i64, span: i64) -> bool {
    expected > 0
        && expected < i64::MAX
        && expected.saturating_mul(100) >= span.saturating_mul(KNOWN_WORD_MIN_PERCENT)
}

/// What the second read of a words query in newest order covers, after the first read of the
/// newest `first` ids (of `span` the query may return) found `found` matches and `wanted` are
/// needed: `Some(width)`, the newest `width` ids, wide enough to hold half as many again as
/// wanted at the density the first read saw; `None`, every match (none seen, few expected in
/// all, or the window would cover everything anyway).
pub fn second_reach(first: i64, found: i64, wanted: i64, span: i64) -> Option<i64> {
    if first <= 0 || found <= few_matches_seen(first, span) {
        return None;
    }
    let width = wanted.saturating_mul(first).saturating_mul(3) / found.saturating_mul(2);
    (width < span).then_some(width)
}

/// A word this long or longer may have one typo corrected.
pub const TYPO_MIN_CHARS: usize = 5;
/// At most this many words of a query are looked up for typos, and this many corrections
/// added per word.
pub const TYPO_MAX_WORDS: usize = 4;
pub const TYPO_MAX_CORRECTIONS: usize = 3;

/// How far the vocabulary sweep counts the active listings that hold a word: enough to tell a
/// word a few listings hold from one many do.
pub const WORD_COUNT_CAP: i64 = 100;
/// A word some active listings hold is still corrected to a neighbour (one edit away) that at
/// least this many times as many hold, and at least [`POPULAR_MIN_LISTINGS`]: "camra", in one
/// listing's title, is a typo of "camera", in thousands; "block" is not one of "black".
pub const POPULAR_FACTOR: i64 = 10;
pub const POPULAR_MIN_LISTINGS: i64 = 10;

/// Whether `word`, which `held` active listings hold (as the sweep last counted them, capped
/// at [`WORD_COUNT_CAP`]), may have a neighbour it is corrected to ([`is_popular_neighbour`]).
pub fn may_have_popular_neighbours(word: &str, held: i64) -> bool {
    held <= 0 || (!has_digit(word) && held.saturating_mul(POPULAR_FACTOR) <= WORD_COUNT_CAP)
}

fn has_digit(word: &str) -> bool {
    word.chars().any(char::is_numeric)
}

/// Whether `neighbour` (one edit away), which `theirs` active listings hold, is a correction of
/// `word`, which `held` hold: any neighbour some listing shows if no active listing holds the
/// word (only drafts or listings sold, closed or removed do), else a popular one (see
/// [`POPULAR_FACTOR`]) unless either has a digit: "iphone11" is not a typo of "iphone12", however
/// many more listings hold that.
pub fn is_popular_neighbour(word: &str, held: i64, neighbour: &str, theirs: i64) -> bool {
    if held <= 0 {
        return theirs > 0;
    }
    !has_digit(word)
        && !has_digit(neighbour)
        && theirs >= POPULAR_MIN_LISTINGS.max(held.saturating_mul(POPULAR_FACTOR))
}

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextQuery {
    pub clauses: Vec<Vec<Word>>,
    pub excluded: Vec<Vec<Word>>,
    /// Set when words that some listings hold were given popular neighbours: the query without
    /// those neighbours, whose matches rank above the ones only a neighbour brings.
    pub typed: Option<Box<TextQuery>>,
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
        // The last word is a prefix unless the user has moved on (trailing space or
        // punctuation after it).
        let typing_last = q.chars().last().is_some_and(char::is_alphanumeric);
        let last_positive = chunks
            .iter()
            .rposition(|c| matches!(c, Chunk::Words { negated: false, .. }));

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
                            && Some(i) == last_positive
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

/// Whether `a` becomes `b` by at most one edit: an insertion, a deletion, a substitution or a
/// swap of two adjacent characters (optimal string alignment distance ≤ 1).
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if prefix == la && prefix == lb {
        return true;
    }
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match la.cmp(&lb) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_second_read_takes_every_match_of_a_rare_word_and_a_window_for_a_common_one() {
        // Nothing in the newest ids, or few in all: every match, from the index.
        assert_eq!(second_reach(10_000, 0, 200, 1_000_000), None);
        assert_eq!(second_reach(10_000, 6, 200, 1_000_000), None);
        assert_eq!(second_reach(10_000, 50, 200, 1_000_000), None);
        // 150 of 200 in the newest 10,000 (1.5%, ~15,000 in all): 20,000 ids hold ~300.
        assert_eq!(second_reach(10_000, 150, 200, 1_000_000), Some(20_000));
        // Enough expected in all, but the window would be the whole span.
        assert_eq!(second_reach(10_000, 60, 200, 40_000), None);
        assert_eq!(second_reach(0, 5, 200, 1_000_000), None);
    }

    #[test]
    fn a_word_is_known_from_one_percent_of_the_ids_and_an_estimate() {
        assert!(known_word(60_000, 1_000_000));
        assert!(known_word(10_000, 1_000_000));
        // PostgreSQL's share for a word outside its statistics (0.5%), and less.
        assert!(!known_word(5_000, 1_000_000));
        assert!(!known_word(9_999, 1_000_000));
        assert!(!known_word(0, 1_000_000));
        // No estimate at all.
        assert!(!known_word(i64::MAX, 1_000_000));
    }

    #[test]
    fn the_first_read_is_wide_enough_for_the_matches_the_statistics_expect() {
        // Relevance's 200 candidates of a word in 6% of a million: the newest 10,000 suffice.
        assert_eq!(first_reach(60_000, 200, 1_000_000), FIRST_REACH);
        // The facets' 1,001 matches of a word in 1.6%: 1,001 / 0.016 × 1.5 ids.
        assert_eq!(first_reach(16_000, 1_001, 1_000_000), 93_843);
        // Not analysed (no estimate) or nothing expected: the fixed first read.
        assert_eq!(first_reach(i64::MAX, 1_001, 1_000_000), FIRST_REACH);
        assert_eq!(first_reach(0, 1_001, 1_000_000), FIRST_REACH);
        // A word outside the statistics (0.5%) or under 1%: the fixed first read.
        assert_eq!(first_reach(5_001, 200, 1_000_000), FIRST_REACH);
        assert_eq!(first_reach(9_999, 1_001, 1_000_000), FIRST_REACH);
        assert_eq!(first_reach(100, 1_001, 100_000), FIRST_REACH);
        // Never past the ids there are.
        assert_eq!(first_reach(6_000, 1_001, 100_000), 25_025);
        assert_eq!(first_reach(100, 1_001, 5_000), 5_000);
        assert_eq!(first_reach(10, 1_001, 5_000), 5_000);
    }

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

    #[test]
    fn few_matches_are_those_that_would_make_about_five_thousand_in_all() {
        // At 1M ids, 50 in the newest 10,000 are ~5,000 in all.
        assert_eq!(few_matches_seen(10_000, 1_000_000), 50);
        // When the newest ids are all there is, what was seen is all there is.
        assert_eq!(few_matches_seen(10_000, 4_000), INDEX_READ_MAX_MATCHES);
        assert_eq!(few_matches_seen(0, 1_000_000), 0);
    }

    #[test]
    fn few_expected_matches_are_read_whole_but_an_unknown_word_is_looked_at_first() {
        // "leather & jacket" at 1M listings: the planner expects 1,083.
        assert!(few_expected(1_083));
        // A word outside the statistics: 0.5% of 1M listings (and a row for rounding).
        assert!(!few_expected(5_001));
        assert!(!few_expected(INDEX_READ_MAX_MATCHES));
        assert!(!few_expected(67_184));
    }

    use super::*;
    use proptest::prelude::*;

    /// Optimal string alignment distance, the slow way.
    fn osa_distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
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
        let q = TextQuery::parse("t-shirt café's").unwrap();
        assert_eq!(q.to_tsquery(), "'shirt' & 'café':*");
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

    #[test]
    fn a_held_word_is_corrected_only_to_a_far_more_popular_neighbour() {
        let popular = |held, theirs| is_popular_neighbour("camra", held, "camera", theirs);
        // No active listing holds it: any neighbour one does, digits or not.
        assert!(popular(0, 1));
        assert!(!popular(0, 0));
        assert!(is_popular_neighbour("iphone7", 0, "iphone8", 1));
        // One listing's typo against a word many hold.
        assert!(popular(1, WORD_COUNT_CAP));
        assert!(popular(1, POPULAR_MIN_LISTINGS));
        assert!(!popular(1, POPULAR_MIN_LISTINGS - 1));
        assert!(popular(3, 30));
        assert!(!popular(3, 29));
        // Two words held alike are both words; so are two model numbers.
        assert!(!popular(40, WORD_COUNT_CAP));
        assert!(!is_popular_neighbour(
            "iphone11",
            1,
            "iphone12",
            WORD_COUNT_CAP
        ));
        assert!(!is_popular_neighbour(
            "3dprint",
            1,
            "3dpriny",
            WORD_COUNT_CAP
        ));
        assert!(may_have_popular_neighbours("camra", 0));
        assert!(may_have_popular_neighbours(
            "camra",
            WORD_COUNT_CAP / POPULAR_FACTOR
        ));
        assert!(!may_have_popular_neighbours(
            "camra",
            WORD_COUNT_CAP / POPULAR_FACTOR + 1
        ));
        assert!(!may_have_popular_neighbours("iphone11", 1));
        assert!(may_have_popular_neighbours("iphone7", 0));
        // A word that may have one has one at the cap.
        for held in 0..=WORD_COUNT_CAP {
            assert_eq!(
                may_have_popular_neighbours("camra", held),
                popular(held, WORD_COUNT_CAP),
                "{held}"
            );
        }
    }

    #[test]
    fn one_edit_means_one_edit() {
        for (a, b) in [
            ("camra", "camera"),
            ("camera", "camra"),
            ("cmaera", "camera"),
            ("camerq", "camera"),
            ("xcamera", "camera"),
            ("camera", "camera"),
        ] {
            assert!(within_one_edit(a, b), "{a} {b}");
        }
        for (a, b) in [
            ("cmra", "camera"),
            ("acmrea", "camera"),
            ("lamp", "camp2"),
            ("ab", "ba2"),
        ] {
            assert!(!within_one_edit(a, b), "{a} {b}");
        }
        let mut q = TextQuery::parse("camra lens").unwrap();
        assert_eq!(q.typo_candidates(), vec![(0, "camra".to_owned())]);
        q.add_corrections(
            0,
            "camra",
            &["camera".into(), "cameo".into(), "cobra".into()],
        );
        assert_eq!(q.to_tsquery(), "( 'camra' | 'camera' ) & 'lens':*");
    }

    proptest! {
        /// `within_one_edit` agrees with the textbook distance.
        #[test]
        fn one_edit_agrees_with_the_distance(a in "[abc]{0,6}", b in "[abc]{0,6}") {
            prop_assert_eq!(within_one_edit(&a, &b), osa_distance(&a, &b) <= 1);
        }

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
