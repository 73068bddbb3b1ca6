//! A relevance page out of its candidates: the newest [`super::RELEVANCE_CANDIDATES`] matches
//! of a window of ids ([`window_reads`]), each with its rank (higher is better), ranked here
//! once the database has found and scored them (SQLite; `store::search::relevance`).

use super::RELEVANCE_CANDIDATES;
use std::cmp::Ordering;

/// A window of relevance candidates opens on at most this many of the newest ids below its
/// top, when there are more, so that what a page costs stays bounded however large the
/// catalogue: the indexes step the words' matches over those ids, not over as many as it takes
/// to find [`RELEVANCE_CANDIDATES`] matches. Words that meet as chance has them ("leather" in
/// 6% of the listings and "jacket" in 1.6%, together in 0.1%) have their newest 200 matches
/// across 200,000 ids at 1M listings, while at 10,000 listings every match lies in the newest
/// 10,000: stepping them cost 4× the page at 10,000 on SQLite, 2× on PostgreSQL (BENCHMARKS.md,
/// "Relevance windows bounded by ids"). Words found together more often fill the window's
/// candidates within these ids, as before; fewer than a page in them, and the window takes the
/// newest page of matches, however old.
pub const RELEVANCE_SPAN: i64 = 50_000;

/// How many matches the newest [`RELEVANCE_SPAN`] ids are expected to hold, from an estimate of
/// `expected` matches among `ids` ids (PostgreSQL's statistics, or on SQLite how many listings
/// the vocabulary counted holding the words, at that density over every id); `None` without
/// one (`i64::MAX`: never analysed).
pub fn expected_in_span(expected: i64, ids: i64) -> Option<i64> {
    if expected == i64::MAX || ids <= 0 {
        return None;
    }
    let share = expected.max(0) as f64 / ids as f64;
    Some((share * RELEVANCE_SPAN as f64).ceil() as i64)
}

/// One read of a window's candidates: the newest `take` matches among the ids `lo` to `hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowRead {
    pub lo: i64,
    pub hi: i64,
    pub take: i64,
}

impl WindowRead {
    /// The window this read opened, from what it found: the candidates' range, reaching down
    /// to the read's lowest id when it found fewer than it could take (no match lies below
    /// them in the read's ids). So a window goes on below ([`CandidateWindow::goes_on_below`])
    /// exactly when older matches may remain.
    pub fn opened(&self, found: CandidateWindow) -> CandidateWindow {
        if found.count < self.take {
            CandidateWindow {
                lo: self.lo,
                ..found
            }
        } else {
            found
        }
    }
}

/// The reads that may open a window of candidates whose newest id is at most `top`, for a
/// page of `page` listings, in order, each taken only when the one before found fewer than a
/// page ([`takes_next`]). With no more ids than [`RELEVANCE_SPAN`]: every id, up to
/// [`RELEVANCE_CANDIDATES`] matches. With more, first the newest [`RELEVANCE_SPAN`] ids, up to
/// [`RELEVANCE_CANDIDATES`] matches, then every id, a page of matches; where an estimate says
/// how many matches those ids hold (`in_span`, [`expected_in_span`]), only the read that
/// would answer: every id when they hold more than the candidates (the span then bounds
/// nothing: its newest candidates are every id's), the page when they hold fewer than a page
/// (the span's read would find too few). So a window is the same whichever backend opens it,
/// as far as the estimate is right; where it is wrong, the window is still one of these reads'.
pub fn window_reads(top: i64, page: i64, in_span: Option<i64>) -> Vec<WindowRead> {
    let every = WindowRead {
        lo: 1,
        hi: top,
        take: RELEVANCE_CANDIDATES,
    };
    if top <= RELEVANCE_SPAN {
        return vec![every];
    }
    let span = WindowRead {
        lo: top - RELEVANCE_SPAN + 1,
        ..every
    };
    let newest_page = WindowRead {
        take: page.clamp(1, RELEVANCE_CANDIDATES),
        ..every
    };
    match in_span {
        Some(n) if n >= RELEVANCE_CANDIDATES => vec![every],
        Some(n) if n < page => vec![newest_page],
        _ => vec![span, newest_page],
    }
}

/// Whether a window's opening goes on to its next read after one that found `found`
/// candidates: when they are fewer than a page.
pub fn takes_next(found: CandidateWindow, page: i64) -> bool {
    found.count < page
}

/// How many candidates a later page of a window ranks: as many as the window held (all the
/// matches of its range then), or for a cursor from before windows held counts (0), as many
/// as a window took then.
pub fn candidates_to_take(window_count: i64) -> i64 {
    if window_count > 0 {
        window_count.min(RELEVANCE_CANDIDATES)
    } else {
        RELEVANCE_CANDIDATES
    }
}

/// A candidate of a relevance page: a listing and its rank.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranked {
    pub id: i64,
    pub rank: f64,
}

impl Ranked {
    /// The order pages follow, best first: rank, then the newer listing. Ranks compare as
    /// numbers (the database compares them so: `-0.0` is `0.0`).
    fn best_first(&self, other: &Ranked) -> Ordering {
        other
            .rank
            .partial_cmp(&self.rank)
            .unwrap_or(Ordering::Equal)
            .then(other.id.cmp(&self.id))
    }
}

/// The candidates' id range and how many they are: later pages rank the matches inside the
/// range, so a listing inserted between pages neither enters the set nor pushes one out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CandidateWindow {
    pub lo: i64,
    pub hi: i64,
    pub count: i64,
}

impl CandidateWindow {
    /// The window of `candidates` (all zero: none).
    pub fn of(candidates: &[Ranked]) -> CandidateWindow {
        let ids = candidates.iter().map(|c| c.id);
        CandidateWindow {
            lo: ids.clone().min().unwrap_or(0),
            hi: ids.max().unwrap_or(0),
            count: candidates.len() as i64,
        }
    }

    /// Whether older matches may lie below the window, so its last page goes on with the
    /// window below it: it reaches not down to the first id (see [`WindowRead::opened`]), and
    /// its count is known (a cursor from before windows went on has none, and ends with it).
    pub fn goes_on_below(&self) -> bool {
        self.count > 0 && self.lo > 1
    }
}

/// The best `limit` candidates that come after `boundary` (the previous page's last row: its
/// rank now and its id) in the pages' order, best first.
pub fn page_after(candidates: &[Ranked], boundary: Option<Ranked>, limit: usize) -> Vec<Ranked> {
    let mut page: Vec<Ranked> = candidates
        .iter()
        .filter(|c| boundary.is_none_or(|b| b.best_first(c) == Ordering::Less))
        .copied()
        .collect();
    page.sort_unstable_by(Ranked::best_first);
    page.truncate(limit);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(pairs: &[(i64, f64)]) -> Vec<Ranked> {
        pairs
            .iter()
            .map(|&(id, rank)| Ranked { id, rank })
            .collect()
    }

    fn ids(page: &[Ranked]) -> Vec<i64> {
        page.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_first_page_is_the_best_ranked_and_ties_go_to_the_newer_listing() {
        let candidates = ranked(&[(9, 1.0), (8, 3.0), (7, 1.0), (6, 2.0), (5, 3.0)]);
        assert_eq!(ids(&page_after(&candidates, None, 3)), vec![8, 5, 6]);
        assert_eq!(ids(&page_after(&candidates, None, 10)), vec![8, 5, 6, 9, 7]);
    }

    #[test]
    fn a_later_page_starts_after_the_boundary_whatever_its_rank_was() {
        let candidates = ranked(&[(9, 1.0), (8, 3.0), (7, 1.0), (6, 2.0), (5, 3.0)]);
        let after = |id, rank| page_after(&candidates, Some(Ranked { id, rank }), 10);
        // After (5, 3.0): the ties below it by id, then the lower ranks.
        assert_eq!(ids(&after(5, 3.0)), vec![6, 9, 7]);
        assert_eq!(ids(&after(9, 1.0)), vec![7]);
        assert_eq!(ids(&after(7, 1.0)), Vec::<i64>::new());
        // A boundary no longer among the candidates (sold, say) bounds alike.
        assert_eq!(ids(&after(100, 2.5)), vec![6, 9, 7]);
        assert_eq!(ids(&after(0, 3.0)), vec![6, 9, 7]);
    }

    #[test]
    fn pages_walk_every_candidate_once() {
        let candidates: Vec<Ranked> = (1..=47)
            .map(|id| Ranked {
                id,
                rank: f64::from((id * 7 % 5) as i32),
            })
            .collect();
        let mut seen = Vec::new();
        let mut boundary = None;
        loop {
            let page = page_after(&candidates, boundary, 10);
            let Some(last) = page.last() else { break };
            boundary = Some(*last);
            seen.extend(ids(&page));
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=47).collect::<Vec<_>>());
        assert_eq!(seen.len(), 47);
    }

    #[test]
    fn minus_zero_ranks_as_zero() {
        let candidates = ranked(&[(2, -0.0), (1, 0.0)]);
        assert_eq!(ids(&page_after(&candidates, None, 2)), vec![2, 1]);
        let boundary = Some(Ranked { id: 2, rank: 0.0 });
        assert_eq!(ids(&page_after(&candidates, boundary, 2)), vec![1]);
    }

    #[test]
    fn the_window_spans_the_candidates_ids() {
        let candidates = ranked(&[(9, 1.0), (4, 3.0), (7, 1.0)]);
        assert_eq!(
            CandidateWindow::of(&candidates),
            CandidateWindow {
                lo: 4,
                hi: 9,
                count: 3
            }
        );
        assert_eq!(CandidateWindow::of(&[]), CandidateWindow::default());
    }

    #[test]
    fn a_window_opens_on_the_newest_ids_then_takes_a_page_however_old() {
        let every = |top| WindowRead {
            lo: 1,
            hi: top,
            take: RELEVANCE_CANDIDATES,
        };
        let top = 1_000_000;
        assert_eq!(
            window_reads(RELEVANCE_SPAN, 21, None),
            vec![every(RELEVANCE_SPAN)],
            "no more ids than the span: every id"
        );
        let span = WindowRead {
            lo: top - RELEVANCE_SPAN + 1,
            ..every(top)
        };
        let page = WindowRead {
            take: 21,
            ..every(top)
        };
        assert_eq!(window_reads(top, 21, None), vec![span, page]);
        assert_eq!(window_reads(top, 1_000, None)[1].take, RELEVANCE_CANDIDATES);
        assert_eq!(window_reads(top, 0, None)[1].take, 1);
        assert!(window_reads(0, 21, None).iter().all(|r| r.hi < r.lo));
        // A page in the newest ids: they are the window. Fewer: the newest page is.
        let found = |count| CandidateWindow {
            lo: top - 10,
            hi: top,
            count,
        };
        assert!(!takes_next(found(21), 21));
        assert!(takes_next(found(20), 21));
    }

    #[test]
    fn an_estimate_of_the_span_leaves_out_the_read_it_answers() {
        let top = 1_000_000;
        let reads = |in_span| window_reads(top, 21, Some(in_span));
        let both = window_reads(top, 21, None);
        // More than the candidates there: every id finds the same newest candidates.
        assert_eq!(
            reads(RELEVANCE_CANDIDATES),
            vec![WindowRead { lo: 1, ..both[0] }]
        );
        // Fewer than a page there: the page straight away.
        assert_eq!(reads(20), vec![both[1]]);
        assert_eq!(reads(0), vec![both[1]]);
        // Between: the span, and the page should it find too few after all.
        assert_eq!(reads(21), both);
        assert_eq!(reads(RELEVANCE_CANDIDATES - 1), both);
        // No more ids than the span: every id, whatever the estimate.
        assert_eq!(window_reads(RELEVANCE_SPAN, 21, Some(0)).len(), 1);
    }

    #[test]
    fn the_span_holds_its_share_of_the_expected_matches() {
        // "leather jacket": ~1,049 expected at 1M listings, ~53 in the newest 50,000 ids.
        assert_eq!(expected_in_span(1_049, 1_000_000), Some(53));
        assert_eq!(expected_in_span(67_000, 1_000_000), Some(3_350));
        assert_eq!(expected_in_span(0, 1_000_000), Some(0));
        assert_eq!(expected_in_span(5, 10_000), Some(25));
        assert_eq!(expected_in_span(i64::MAX, 1_000_000), None);
        assert_eq!(expected_in_span(10, 0), None);
    }

    #[test]
    fn a_window_reaches_down_to_its_read_unless_it_took_all_it_could() {
        let read = WindowRead {
            lo: 500,
            hi: 900,
            take: 3,
        };
        let found = |lo, count| CandidateWindow { lo, hi: 880, count };
        // Fewer than it could take: no match lies between the read's lowest id and theirs.
        assert_eq!(read.opened(found(700, 2)), found(500, 2));
        assert!(read.opened(found(700, 2)).goes_on_below());
        // As many as it could: older matches may lie below the oldest candidate.
        assert_eq!(read.opened(found(700, 3)), found(700, 3));
        // A read down to the first id that found fewer: nothing is below.
        let every = WindowRead { lo: 1, ..read };
        assert!(!every.opened(found(700, 2)).goes_on_below());
        assert!(every.opened(found(700, 3)).goes_on_below());
        // A cursor from before windows went on: no count, it ends with its window.
        assert!(!found(700, 0).goes_on_below());
    }

    #[test]
    fn a_later_page_takes_as_many_candidates_as_its_window_held() {
        assert_eq!(candidates_to_take(37), 37);
        assert_eq!(candidates_to_take(0), RELEVANCE_CANDIDATES);
        assert_eq!(
            candidates_to_take(RELEVANCE_CANDIDATES * 5),
            RELEVANCE_CANDIDATES
        );
    }
}
