//! When SQLite's words index (FTS5) should be merged into one b-tree.
//!
//! FTS5 keeps its index as b-trees ("segments"): each write adds one, and the server's merger
//! merges those of similar size level by level as FTS5's own merging would (`usermerge`), so a
//! catalogue grown by inserts, or loaded in large transactions, holds several large ones of
//! different sizes. Every search looks a word up in each of them and merges their postings as
//! it reads: at 1M listings the newest 200 matches of "black" took 0.070 ms in the seeded
//! catalogue's eight b-trees and 0.039 in one, of "leather jacket" 0.389 and 0.326, and a
//! two-words search cost the server 15–20% less (BENCHMARKS, twelfth session). Small b-trees
//! beside a large one cost little (four of a few pages each: 0.046 ms for "black"). So a merge
//! of everything is worth its cost (it rewrites the whole index) only once the b-trees beside
//! the largest hold a share of it: with [`MERGE_SHARE_PERCENT`] at 10, each listing's postings
//! are rewritten about ten times over the index's life, the way a levelled log-structured store
//! bounds its rewriting.

/// The b-trees besides the largest must hold at least this share of its pages (in percent)
/// before a merge of every b-tree into one starts.
pub const MERGE_SHARE_PERCENT: i64 = 10;

/// Whether to merge every b-tree of the words index into one, given each one's size in pages:
/// more than one, and those besides the largest hold at least [`MERGE_SHARE_PERCENT`] of the
/// largest's pages.
pub fn merge_due(pages: &[i64]) -> bool {
    let largest = pages.iter().copied().max().unwrap_or(0);
    let rest: i64 = pages.iter().sum::<i64>() - largest;
    pages.len() > 1 && rest * 100 >= largest * MERGE_SHARE_PERCENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_b_tree_or_none_needs_no_merge() {
        assert!(!merge_due(&[]));
        assert!(!merge_due(&[42_000]));
    }

    #[test]
    fn small_b_trees_beside_a_large_one_wait_until_they_hold_a_tenth_of_it() {
        assert!(!merge_due(&[42_000, 6, 6, 6, 118]));
        assert!(!merge_due(&[1_000, 99]));
        assert!(merge_due(&[1_000, 100]));
        assert!(merge_due(&[100, 1_000]), "whichever comes first");
        // The seeded 1M catalogue: eight b-trees of 40 to 15,000 pages.
        assert!(merge_due(&[
            15_113, 15_112, 3_741, 157, 12_050, 7_633, 354, 507
        ]));
    }

    #[test]
    fn tiny_b_trees_of_a_small_catalogue_merge_at_once() {
        assert!(merge_due(&[1, 1]));
        assert!(merge_due(&[3, 1, 1]));
    }
}
