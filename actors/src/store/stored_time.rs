//! A timestamp column read without chrono's format parser on SQLite, where it is stored as text:
//! Diesel tries its formats one by one through `parse_from_str`, which was a third of what
//! decoding a listing row cost (a search page decodes 20). The text every writer here stores
//! (`YYYY-MM-DD HH:MM:SS`, then an optional fraction) is read by [`parse_stored`]; anything else
//! goes to Diesel's own parser, so no value reads differently. PostgreSQL's binary timestamps
//! are Diesel's as they are.

use super::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::{Sqlite, SqliteValue};

/// A `Timestamp` column's value; a model's field reads it with
/// `#[diesel(deserialize_as = StoredTime)]` and keeps a `NaiveDateTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromSqlRow)]
pub struct StoredTime(pub NaiveDateTime);

impl From<StoredTime> for NaiveDateTime {
    fn from(t: StoredTime) -> Self {
        t.0
    }
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_stored(value.read_text()) {
            return Ok(StoredTime(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(StoredTime)
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(StoredTime)
    }
}

/// The pool's connection type, either backend.
type Multi = <DbConnection as diesel::Connection>::Backend;

impl FromSql<Timestamp, Multi> for StoredTime {
    fn from_sql(value: <Multi as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits (what Diesel writes, and
/// SQLite's `strftime('%Y-%m-%d %H:%M:%f')`); `None` for any other text or an impossible date.
pub fn parse_stored(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if b.len() < 19 || separators.iter().any(|&(at, c)| b[at] != c) {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = number(20, b.len())?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?.and_hms_nano_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
        nanos,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono(text: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()
    }

    #[test]
    fn the_stored_forms_read_as_chrono_reads_them() {
        for text in [
            "2026-01-12 13:41:21",
            "2026-01-12 13:41:21.5",
            "2026-12-07 16:00:00.123",
            "2026-12-07 16:00:00.123456",
            "1999-02-28 23:59:59.999999999",
            "2024-02-29 00:00:00",
        ] {
            assert_eq!(parse_stored(text), chrono(text), "{text}");
            assert!(parse_stored(text).is_some(), "{text}");
        }
    }

    #[test]
    fn other_text_is_left_to_diesel() {
        for text in [
            "",
            "2026-01-12",
            "2026-01-12T13:41:21",
            "2026-01-12 13:41:21Z",
            "2026-01-12 13:41:21.",
            "2026-01-12 13:41:21.1234567890",
            "2026-13-12 13:41:21",
            "2025-02-29 13:41:21",
            "2026-01-12 24:00:00",
            "2026-01-12 13:4x:21",
            "+2026-01-12 13:41:21",
            "2460658.5",
        ] {
            assert_eq!(parse_stored(text), None, "{text}");
        }
    }
}
