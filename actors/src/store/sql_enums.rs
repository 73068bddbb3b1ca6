//! The domain's named values (statuses, sides) as Diesel maps them to and from `Text` columns.
//! The domain stays free of Diesel: these impls live here. Reading a name the enum does not know
//! is an error, never a silent fallback: a row that breaks the CHECK constraints (or a newer
//! server's value) must stop the command, not be read as `closed` or `expired`.

use crate::domain::dispute::{DisputeOutcome, DisputeReason};
use crate::domain::listing::ListingStatus;
use crate::domain::moderation::{AuditTarget, Role};
use crate::domain::offer::{OfferReason, OfferStatus, Side};
use crate::domain::order::OrderStatus;
use crate::domain::report::{ReportReason, ReportStatus, ReportTarget, Resolution};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow, Queryable};
use diesel::expression::AsExpression;
use diesel::internal::derives::as_expression::Bound;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Nullable, Text};

/// A value stored as one of a fixed set of names.
pub trait StoredName: Sized + Copy + 'static {
    /// What the value is, for error messages ("listing status").
    const WHAT: &'static str;
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

/// The error for a stored name the enum does not know.
fn unknown<T: StoredName>(found: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("unknown {} {found:?} in a row", T::WHAT).into()
}

/// Parses a stored name, refusing an unknown one.
pub fn parse_name<T: StoredName>(found: &str) -> deserialize::Result<T> {
    T::from_name(found).ok_or_else(|| unknown::<T>(found))
}

macro_rules! stored_names {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl StoredName for $ty {
            const WHAT: &'static str = $what;
            fn name(self) -> &'static str {
                self.as_str()
            }
            fn from_name(name: &str) -> Option<Self> {
                <$ty>::parse(name)
            }
        }

        impl<DB> FromSql<Text, DB> for $ty
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                parse_name(&String::from_sql(bytes)?)
            }
        }

        // What `#[derive(FromSqlRow)]` would write: a column of this type is a row field.
        impl<DB> Queryable<Text, DB> for $ty
        where
            DB: Backend,
            Self: FromSql<Text, DB>,
        {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl<DB> ToSql<Text, DB> for $ty
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.name(), out)
            }
        }

        // What `#[derive(AsExpression)]` would write; written here so the domain stays
        // free of Diesel. The value binds through its `ToSql` above.
        impl AsExpression<Text> for $ty {
            type Expression = Bound<Text, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl AsExpression<Nullable<Text>> for $ty {
            type Expression = Bound<Nullable<Text>, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Text> for &'a $ty {
            type Expression = Bound<Text, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Nullable<Text>> for &'a $ty {
            type Expression = Bound<Nullable<Text>, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }
    )*};
}

stored_names! {
    ListingStatus => "listing status",
    OfferStatus => "offer status",
    Side => "offer turn",
    OrderStatus => "order status",
    OfferReason => "offer reason",
    DisputeReason => "dispute reason",
    DisputeOutcome => "dispute outcome",
    Role => "user role",
    AuditTarget => "audit target",
    ReportTarget => "report target",
    ReportReason => "report reason",
    ReportStatus => "report status",
    Resolution => "report resolution",
}

// Queryable fields need `FromSqlRow`; the blanket impl covers every `FromSql` single value, so
// this only checks at compile time that the four types have it.
const _: fn() = || {
    fn is_row<T: FromSqlRow<Text, diesel::pg::Pg> + FromSqlRow<Text, diesel::sqlite::Sqlite>>() {}
    is_row::<ListingStatus>();
    is_row::<OfferStatus>();
    is_row::<Side>();
    is_row::<OrderStatus>();
    is_row::<OfferReason>();
    is_row::<DisputeReason>();
    is_row::<DisputeOutcome>();
    is_row::<Role>();
    is_row::<AuditTarget>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for s in ListingStatus::ALL {
            assert_eq!(parse_name::<ListingStatus>(s.name()).ok(), Some(s));
        }
        for s in OfferStatus::ALL {
            assert_eq!(parse_name::<OfferStatus>(s.name()).ok(), Some(s));
        }
        for s in OrderStatus::ALL {
            assert_eq!(parse_name::<OrderStatus>(s.name()).ok(), Some(s));
        }
        for s in OfferReason::ALL {
            assert_eq!(parse_name::<OfferReason>(s.name()).ok(), Some(s));
        }
        for s in DisputeReason::ALL {
            assert_eq!(parse_name::<DisputeReason>(s.name()).ok(), Some(s));
        }
        for s in DisputeOutcome::ALL {
            assert_eq!(parse_name::<DisputeOutcome>(s.name()).ok(), Some(s));
        }
        for r in Role::ALL {
            assert_eq!(parse_name::<Role>(r.name()).ok(), Some(r));
        }
        for t in AuditTarget::ALL {
            assert_eq!(parse_name::<AuditTarget>(t.name()).ok(), Some(t));
        }
        for &r in Resolution::ALL {
            assert_eq!(parse_name::<Resolution>(r.name()).ok(), Some(r));
        }
        for s in [Side::Buyer, Side::Seller] {
            assert_eq!(parse_name::<Side>(s.name()).ok(), Some(s));
        }
    }

    #[test]
    fn an_unknown_name_is_an_error_that_says_what() {
        let err = parse_name::<OrderStatus>("lost").unwrap_err();
        assert_eq!(err.to_string(), "unknown order status \"lost\" in a row");
        assert!(parse_name::<ListingStatus>("").is_err());
        assert!(parse_name::<Side>("Seller").is_err());
    }
}
