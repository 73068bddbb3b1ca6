//! Double-entry postings: every movement of money is a set of entries that sums to zero.
//! Wallets never go below zero; that is checked where the entries are applied.

use super::{Money, UserId};
use std::fmt;

/// Where money can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// A user's spendable balance.
    Wallet(UserId),
    /// Money a buyer paid that is held until the order completes or is cancelled.
    Escrow(UserId),
    /// The platform's fees.
    PlatformFees,
    /// The outside world (card deposits, bank withdrawals).
    External,
}

impl Account {
    /// The account's stable name in the ledger.
    pub fn key(&self) -> String {
        match self {
            Account::Wallet(u) => format!("wallet:{u}"),
            Account::Escrow(u) => format!("escrow:{u}"),
            Account::PlatformFees => "platform:fees".to_owned(),
            Account::External => "external:world".to_owned(),
        }
    }

    /// The user whose balance this account is, if any (those balances may not go negative).
    pub fn owner(&self) -> Option<UserId> {
        match self {
            Account::Wallet(u) | Account::Escrow(u) => Some(*u),
            Account::PlatformFees | Account::External => None,
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostingKind {
    Deposit,
    Withdrawal,
    Purchase,
    Release,
    Refund,
    /// A moderator's split of a disputed order's escrow (`dispute::settle`).
    Split,
}

impl PostingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostingKind::Deposit => "deposit",
            PostingKind::Withdrawal => "withdrawal",
            PostingKind::Purchase => "purchase",
            PostingKind::Release => "release",
            PostingKind::Refund => "refund",
            PostingKind::Split => "split",
        }
    }
}

/// One balanced transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    pub kind: PostingKind,
    pub entries: Vec<(Account, Money)>,
}

impl Posting {
    fn transfer(kind: PostingKind, from: Account, to: Account, amount: Money) -> Posting {
        Posting {
            kind,
            entries: vec![(from, Money::from_cents(-amount.cents())), (to, amount)],
        }
    }

    pub fn sum(&self) -> i128 {
        self.entries
            .iter()
            .map(|(_, m)| i128::from(m.cents()))
            .sum()
    }
}

/// Money coming in from outside (a card payment, a sandbox deposit).
pub fn deposit(user: UserId, amount: Money) -> Posting {
    Posting::transfer(
        PostingKind::Deposit,
        Account::External,
        Account::Wallet(user),
        amount,
    )
}

/// A seller taking money out to their bank.
pub fn withdrawal(user: UserId, amount: Money) -> Posting {
    Posting::transfer(
        PostingKind::Withdrawal,
        Account::Wallet(user),
        Account::External,
        amount,
    )
}

/// A purchase: the buyer's money moves into escrow.
pub fn purchase(buyer: UserId, amount: Money) -> Posting {
    Posting::transfer(
        PostingKind::Purchase,
        Account::Wallet(buyer),
        Account::Escrow(buyer),
        amount,
    )
}

/// Cancellation: escrow goes back to the buyer.
pub fn refund(buyer: UserId, amount: Money) -> Posting {
    Posting::transfer(
        PostingKind::Refund,
        Account::Escrow(buyer),
        Account::Wallet(buyer),
        amount,
    )
}

/// The platform's fee on `amount`, rounded down to the cent.
pub fn fee(amount: Money, fee_percent: i64) -> Money {
    let fee = i128::from(amount.cents()) * i128::from(fee_percent) / 100;
    Money::from_cents(i64::try_from(fee).unwrap_or(i64::MAX))
}

/// Completion: escrow goes to the seller, less the platform's fee. A share of nothing (the
/// seller's at a 100% fee, the fee at 0%) is left out: an entry never moves nothing.
pub fn release(buyer: UserId, seller: UserId, amount: Money, fee_percent: i64) -> Posting {
    let fee = fee(amount, fee_percent);
    let mut entries = vec![(Account::Escrow(buyer), Money::from_cents(-amount.cents()))];
    let to_seller = amount.cents() - fee.cents();
    if to_seller > 0 {
        entries.push((Account::Wallet(seller), Money::from_cents(to_seller)));
    }
    if fee.cents() > 0 {
        entries.push((Account::PlatformFees, fee));
    }
    Posting {
        kind: PostingKind::Release,
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_fee_is_ten_percent_rounded_down() {
        assert_eq!(fee(Money::from_cents(1_000), 10), Money::from_cents(100));
        assert_eq!(fee(Money::from_cents(999), 10), Money::from_cents(99));
        let r = release(UserId(1), UserId(2), Money::from_cents(999), 10);
        assert_eq!(
            r.entries,
            vec![
                (Account::Escrow(UserId(1)), Money::from_cents(-999)),
                (Account::Wallet(UserId(2)), Money::from_cents(900)),
                (Account::PlatformFees, Money::from_cents(99)),
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn every_posting_sums_to_zero(
            amount in 1i64..=1_000_000_000_000,
            percent in 0i64..=100,
            a in 1i64..1000,
            b in 1i64..1000,
        ) {
            let (a, b, m) = (UserId(a), UserId(b), Money::from_cents(amount));
            for posting in [deposit(a, m), withdrawal(a, m), purchase(a, m), refund(a, m), release(a, b, m, percent)] {
                prop_assert_eq!(posting.sum(), 0, "{:?}", posting);
            }
            let f = fee(m, percent);
            prop_assert!(f.cents() >= 0 && f.cents() <= amount);
        }
    }
}
