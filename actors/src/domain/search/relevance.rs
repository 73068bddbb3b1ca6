//! A relevance page out of its candidates: the newest [`super::RELEVANCE_CANDIDATES`] matches,
//! each with its rank (higher is better), ranked here once the database has found and scored
//! them (SQLite; `store::search::relevance`).

use std::cmp::Ordering;

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
}
