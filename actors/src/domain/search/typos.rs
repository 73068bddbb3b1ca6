//! Which words a typo search corrects, and to what: a word one edit away from another
//! ([`within_one_edit`]), and, for a word some active listings hold, a neighbour far more of
//! them hold ([`is_popular_neighbour`], from the vocabulary sweep's counts).

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::TextQuery;
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
    }
}
