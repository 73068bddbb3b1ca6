//! How a words query in newest order reads its matches (PostgreSQL, `store::search::Reach`):
//! how many of the newest ids the first read covers, and whether the second takes every match
//! from the words' index or a window of the newest ids, from the planner's estimate and what
//! the first read saw.

/// `sort=relevance` ranks at most this many matches: the newest ones (filters applied). A word
/// in tens of thousands of listings would otherwise be scored on every one of them, and a
/// common word's page costs in proportion to it (at 1M listings on PostgreSQL "black" took
/// 8.8 ms at 1,000 and 1.5 ms at 200). PostgreSQL reads them in two bounded steps
/// (`store::search::Reach`), so a rare word no longer needs a large set to keep the planner
/// off a walk of the whole table (BENCHMARKS.md, "Saved-search alerts and search, round 2").
pub const RELEVANCE_CANDIDATES: i64 = 200;

/// SQLite, words sorted by price or likes: words found at least this many times among the
/// newest [`super::CLOSE_PROBE_IDS`] listings (1%) are read by walking the price or likes index
/// in the page's order, each listing checked against the words in FTS5 (~3 µs), the walk
/// stopping at the page; fewer are read whole from FTS5 and sorted (~1 µs a match). At 1M
/// listings, `price_asc`: "black" (6.7%) 43 → 2.3 ms, "jacket" (1.6%) 16 → 6.3, "home" by
/// likes 119 → 0.7, "size" (every listing) 316 → 0.3. With filters, the share is of the
/// listings that pass them ([`value_walk_min_matches`]).
pub const VALUE_WALK_MIN_MATCHES: i64 = 100;

/// SQLite, words sorted by price or likes, with filters the words index holds: how many of the
/// newest [`super::CLOSE_PROBE_IDS`] listings must hold the words and pass the filters, when
/// `passing` of them pass the filters, for the walk to be taken: the same share of those
/// ([`VALUE_WALK_MIN_MATCHES`] in [`super::CLOSE_PROBE_IDS`]), at least one; `None` when none
/// passes. The walk reads the rows of the filters' index in the page's order, so what decides
/// it is how often the words hold among them, not among all listings: "size" (every listing)
/// in vehicles and poor condition (0.6% of the listings) walks 0.9 ms where every match sorted
/// took 16; "camera" (3%) in the same never meets them, walked 2,000 rows for nothing, then
/// every match: 38 ms, 4 read whole.
pub fn value_walk_min_matches(passing: i64) -> Option<i64> {
    let ids = super::CLOSE_PROBE_IDS;
    (passing > 0).then(|| ((passing * VALUE_WALK_MIN_MATCHES + ids - 1) / ids).max(1))
}

/// A walk of the price or likes index ([`VALUE_WALK_MIN_MATCHES`]) reads at most this many rows
/// per listing of the page (2,000 for 20, ~6 ms): words that seldom meet the values walked first
/// (found often among the newest listings, but not among the cheapest) are then read whole from
/// FTS5 and sorted, as if they were few.
pub const VALUE_WALK_ROWS_PER_RESULT: i64 = 100;

/// SQLite, no words, a price range, newest or likes order (`store::search::Reach::PriceRange`):
/// up to how many listings in the range they are read from the price index and sorted, rather
/// than found by walking the order's index comparing prices. Reading the range costs ~1.5 µs a
/// listing it holds, `held` (an index entry, the row, the sort); the walk ~0.3 µs a row, about
/// `wanted` / (`held` / `ids`) rows (at 1M listings, 10 to 50 EUR, 27,000: the facets' 1,001
/// newest 40 ms read from the range, 11 walked). Even where `held` is the square root of
/// `wanted` × `ids` / 5: 2,000 for a page of 20 at 1M listings, 14,150 for the facets.
pub fn price_range_read_max(wanted: i64, ids: i64) -> i64 {
    let product = (wanted.max(1) as f64) * (ids.max(1) as f64) / 5.0;
    product.sqrt().ceil() as i64
}

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

/// PostgreSQL's era index (migration `search_eras`) groups the listings by id into eras of
/// 2^`ERA_BITS` ids and indexes each listing's words, category, condition and price under its
/// era, so a read of a window of the newest ids takes from the index only the matches in the
/// window's eras, not a word's every match. The migrations' SQL uses the same 14; the
/// descents' SQL writes era numbers with it, so the two must agree (the API tests on
/// PostgreSQL compare descents with the words' own index). A descent with a category, a
/// condition or a narrow price range reads it, one era a probe.
pub const ERA_BITS: u32 = 14;

/// The ids in one era.
pub const ERA_IDS: i64 = 1 << ERA_BITS;

/// PostgreSQL's fine era index (migration `search_fine_eras`): each listing's words (only)
/// under its fine era of 2^`FINE_ERA_BITS` ids, read by a descent without filters for words
/// that fill an era of the era index with more matches than it needs ([`fills_an_era`]). An
/// era's read fetches and sorts every match the era holds: from eras of 16,384 ids the prefix
/// "cam" (4.6% of the listings) fetched ~750 rows for relevance's 200 candidates, from 4,096
/// ~210. The migration's SQL uses the same 12.
pub const FINE_ERA_BITS: u32 = 12;

/// Whether words PostgreSQL's statistics expect `expected` times among `ids` ids fill an era
/// of the era index with at least twice the `wanted` matches a read needs, so that a descent
/// reads the fine era index instead (in windows that double, [`era_windows`]): a descent
/// fetches and sorts the whole of each era it reads. Words that fill an era less read the era
/// index, whose fewer, larger eras cost fewer probes and overshoot less (facets of "jacket",
/// 1.6%, 201 matches: 1,280–1,460/s through two eras of 16,384, 850–960/s through four
/// windows of fine eras, 441 rows fetched for 201), and so do words the statistics do not know
/// (estimated at 0.5%). No estimate (`i64::MAX`) does not fill.
pub fn fills_an_era(expected: i64, wanted: i64, ids: i64) -> bool {
    expected < i64::MAX
        && expected.saturating_mul(ERA_IDS) >= wanted.saturating_mul(2).saturating_mul(ids)
}

/// The most eras of the era index a descent without filters reads, one a probe, before the
/// words' own index yields the older ids' matches: 262,144 ids, one probe each (~25 µs at 1M
/// listings when nothing matches), so a rare word costs at most 16 probes and then its few
/// older matches ("quokka" at 1M: 0.8 ms), however many eras the catalogue holds.
pub const ERA_READ_MAX: i64 = 16;

/// The most fine eras a descent through the fine era index covers ([`fills_an_era`]): 262,144
/// ids, as [`ERA_READ_MAX`], in [`era_windows`] windows (7).
pub const FINE_ERA_READ_MAX: i64 = 64;

/// The most eras a descent reads when a category, a condition or a narrow price range filters
/// it (matched in the era index with the words), one era a probe: every era of a million
/// listings (61), so such a search or facets call reads no older ids from the words' index,
/// which yields every match of the words, filtered or not. An era nothing matches costs one
/// probe (~30 µs at 1M). Not the fine era index in windows: a window's query names every
/// entry of its eras, and GIN checks the whole query on each candidate (facets of "black" in
/// home from 1.00 to 20.00 at 1M: 236/s one era of 16,384 a probe, 128/s in windows of up to
/// four fine eras, 20/s in windows that double).
pub const ERA_READ_MAX_FILTERED: i64 = 64;

/// How many windows a descent through the fine era index reads `eras` fine eras in: the newest
/// era, then windows that double (one era, two, four, …), the last one cut at `eras`. A
/// descent stops at the window that completes its matches, so a common word reads one or two
/// small eras (never an era of many more matches than it needs), and a rare one covers many
/// eras in few probes (each probe costs about as much as the matches of a small era: at 1M
/// listings "leather jacket" through 13 fine eras one by one answered 1,060/s, in 5 windows
/// 1,280/s). Window `k` covers the eras `top - 2^k + 1` to `top - 2^(k-1)` (`k` = 0: `top`).
pub fn era_windows(eras: i64) -> i64 {
    let eras = eras.max(1);
    // The smallest k with 2^(k-1) >= eras, i.e. 1 + ceil(log2(eras)).
    1 + i64::from(64 - (eras - 1).leading_zeros())
}

/// Whether a read of the ids above `floor` up to `ceiling` takes its matches from the era index
/// (a descent through the window's eras) rather than walking the id index newest first with
/// the words as a filter: when the window is at least an era of the era index wide (a walk
/// passes every listing of it until the page is full: "jacket", in 1.6% of the listings,
/// walked 12,500 ids for relevance's 200 candidates in 2.9 ms, and read them by eras in 1.1 ms;
/// a narrower window's walk, such as a first read of the newest 10,000 ids of a word too
/// common to descend ([`walked`]), reads fewer listings than a descent would fetch and sort).
pub fn read_by_eras(floor: i64, ceiling: i64) -> bool {
    ceiling - floor >= ERA_IDS
}

/// The smallest estimate, as a share of the ids, for which PostgreSQL's reads of the newest
/// matches walk the id index with the words as a filter rather than descend ([`walked`]):
/// words this common fill an era ([`fills_an_era`]), so their descent reads fine eras.
pub const WALK_MIN_PERCENT: i64 = 10;

/// [`WALK_MIN_PERCENT`] for words with a category, a condition or a narrow price range, whose
/// descent reads the era index's larger eras (the estimate is of words and filter together).
pub const WALK_MIN_PERCENT_FILTERED: i64 = 5;

/// Whether the newest matches of words PostgreSQL's statistics expect `expected` times among
/// `span` ids are found by walking the newest ids (a walk passes 1 ÷ density listings per
/// match; an era read fetches and sorts every match in the era), the words `filtered` by
/// entries of the era index or not. Relevance's read of 200 candidates at 1M listings, alone
/// under `pgbench` (16 clients), walked and by fine eras: "black" (6.5%) 815/s and 1,532/s,
/// "used" (12.5%) 1,387/s and 1,012/s, "size" (every listing) 3,002/s and 1,287/s; by the era
/// index's eras of 16,384 ids the walk won from 5% ("black" walked 1,270/s, by eras 1,070/s).
/// No estimate (`i64::MAX`: never analysed) is no walk.
pub fn walked(expected: i64, span: i64, filtered: bool) -> bool {
    let percent = if filtered {
        WALK_MIN_PERCENT_FILTERED
    } else {
        WALK_MIN_PERCENT
    };
    expected < i64::MAX && expected.saturating_mul(100) >= span.saturating_mul(percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One in a hundred of the listings that pass the filters, as of all listings without any.
    #[test]
    fn a_walk_wants_the_words_in_one_in_a_hundred_of_the_listings_the_filters_pass() {
        assert_eq!(
            value_walk_min_matches(super::super::CLOSE_PROBE_IDS),
            Some(100)
        );
        assert_eq!(value_walk_min_matches(570), Some(6));
        assert_eq!(value_walk_min_matches(3), Some(1));
        assert_eq!(value_walk_min_matches(0), None);
    }

    #[test]
    fn a_price_range_is_read_whole_up_to_where_a_walk_costs_as_much() {
        assert_eq!(price_range_read_max(20, 1_000_000), 2_000);
        assert_eq!(price_range_read_max(1_001, 1_000_000), 14_150);
        // A small catalogue: a range is read whole unless it holds most of it.
        assert_eq!(price_range_read_max(20, 100), 20);
        assert_eq!(price_range_read_max(0, 0), 1);
    }

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

    #[test]
    fn a_window_an_era_wide_or_more_is_read_by_eras() {
        assert_eq!(ERA_IDS, 16_384);
        // A page's window of the newest ids: walked.
        assert!(!read_by_eras(990_000, 1_000_000));
        // Relevance's 200 candidates of a word in 1.6% (18,750 ids), the facets' 1,001 (93,843).
        assert!(read_by_eras(981_250, 1_000_000));
        assert!(read_by_eras(906_157, 1_000_000));
        // Seventeen eras and more: a filtered descent names 64, the words' index reads the rest.
        assert!(read_by_eras(753_662, 1_000_000));
    }

    #[test]
    fn a_descent_reads_its_fine_eras_in_windows_that_double() {
        // 1, 1, 2, 4, 8, 16, 32: 64 eras of 4,096 ids, 262,144 ids.
        assert_eq!(1_i64 << FINE_ERA_BITS, 4_096);
        assert_eq!(era_windows(FINE_ERA_READ_MAX), 7);
        assert_eq!(era_windows(1), 1);
        assert_eq!(era_windows(2), 2);
        // The last window cut short: 1, 1, 2 (of which one era).
        assert_eq!(era_windows(3), 3);
        assert_eq!(era_windows(4), 3);
        assert_eq!(era_windows(5), 4);
        assert_eq!(era_windows(0), 1);
    }

    #[test]
    fn words_that_fill_an_era_twice_over_read_fine_eras() {
        // Relevance's 200 at 1M listings: "cam" (4.6%), "camra" with "camera" (3.6%), "black".
        assert!(fills_an_era(46_000, 200, 1_000_000));
        assert!(fills_an_era(36_116, 200, 1_000_000));
        assert!(fills_an_era(65_010, 200, 1_000_000));
        // "jacket" (1.6%), "leather jacket" as estimated, a word the statistics do not know.
        assert!(!fills_an_era(16_869, 200, 1_000_000));
        assert!(!fills_an_era(4_707, 200, 1_000_000));
        assert!(!fills_an_era(5_000, 200, 1_000_000));
        // The edge: 400 matches in an era of 16,384 ids.
        assert!(fills_an_era(24_415, 200, 1_000_000));
        assert!(!fills_an_era(24_414, 200, 1_000_000));
        // A page of 21: a word in 0.26% of the ids and more.
        assert!(fills_an_era(2_600, 21, 1_000_000));
        assert!(!fills_an_era(i64::MAX, 200, 1_000_000));
    }

    #[test]
    fn words_in_ten_percent_of_the_ids_or_more_are_walked_with_a_filter_five() {
        // "used" and "size" at 1M listings walk; "black", "leather", "camra" corrected to
        // "camera", "cam", "jacket" descend.
        assert!(walked(125_000, 1_000_000, false));
        assert!(walked(1_000_000, 1_000_000, false));
        assert!(walked(100_000, 1_000_000, false));
        assert!(!walked(99_999, 1_000_000, false));
        assert!(!walked(65_010, 1_000_000, false));
        assert!(!walked(62_576, 1_000_000, false));
        assert!(!walked(36_116, 1_000_000, false));
        assert!(!walked(16_869, 1_000_000, false));
        assert!(!walked(i64::MAX, 1_000_000, false));
        // Words and filter together.
        assert!(walked(50_000, 1_000_000, true));
        assert!(!walked(49_999, 1_000_000, true));
        assert!(!walked(i64::MAX, 1_000_000, true));
    }
}
