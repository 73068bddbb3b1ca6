//! Money is integer minor units (cents). Never floating point.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    /// True when `self` is at least `percent` % below `reference` (exact integer arithmetic).
    pub fn is_at_least_percent_below(self, reference: Money, percent: i64) -> bool {
        let drop = i128::from(reference.0) - i128::from(self.0);
        drop * 100 >= i128::from(reference.0) * i128::from(percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_below_is_exact_at_the_boundary() {
        let list = Money::from_cents(1000);
        assert!(Money::from_cents(900).is_at_least_percent_below(list, 10));
        assert!(!Money::from_cents(901).is_at_least_percent_below(list, 10));
        assert!(Money::from_cents(0).is_at_least_percent_below(list, 100));
    }

    #[test]
    fn percent_below_does_not_overflow() {
        let big = Money::from_cents(i64::MAX);
        assert!(Money::from_cents(0).is_at_least_percent_below(big, 50));
    }
}
