//! Blocks between users: a block is made by one user but keeps both apart. Between two users
//! where either blocked the other there is no new conversation, chat message, offer, counter,
//! acceptance, offer to likers or purchase; orders already made still run their course.

use super::UserId;
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("you cannot block yourself")]
    Yourself,
}

/// Whether `blocker` may block (or unblock) `blocked`.
pub fn decide_block(blocker: UserId, blocked: UserId) -> Result<(), BlockError> {
    if blocker == blocked {
        return Err(BlockError::Yourself);
    }
    Ok(())
}

/// Whether `a` and `b` are kept apart by `blocks` ((blocker, blocked) pairs): either way counts.
pub fn kept_apart(blocks: &HashSet<(i64, i64)>, a: UserId, b: UserId) -> bool {
    blocks.contains(&(a.0, b.0)) || blocks.contains(&(b.0, a.0))
}

/// The likers an offer to likers reaches: everyone but those kept apart from the seller.
pub fn reachable_likers(likers: Vec<i64>, kept_apart_from_seller: &HashSet<i64>) -> Vec<i64> {
    likers
        .into_iter()
        .filter(|l| !kept_apart_from_seller.contains(l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_blocks_themselves() {
        assert_eq!(
            decide_block(UserId(1), UserId(1)),
            Err(BlockError::Yourself)
        );
        assert_eq!(decide_block(UserId(1), UserId(2)), Ok(()));
    }

    #[test]
    fn a_block_keeps_both_apart_and_no_one_else() {
        let blocks: HashSet<(i64, i64)> = [(1, 2)].into_iter().collect();
        assert!(kept_apart(&blocks, UserId(1), UserId(2)));
        assert!(kept_apart(&blocks, UserId(2), UserId(1)));
        assert!(!kept_apart(&blocks, UserId(1), UserId(3)));
        assert!(!kept_apart(&blocks, UserId(3), UserId(2)));
    }

    #[test]
    fn an_offer_to_likers_skips_those_kept_apart() {
        let apart: HashSet<i64> = [5].into_iter().collect();
        assert_eq!(reachable_likers(vec![4, 5, 6], &apart), vec![4, 6]);
        assert_eq!(reachable_likers(vec![5], &apart), Vec::<i64>::new());
    }
}
