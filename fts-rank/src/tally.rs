//! `bazaar_tally`: an aggregate that counts the distinct values of text columns, for facets.
//!
//! A search's facets count the newest thousand matches per category and per condition. Read
//! row by row through Diesel, a third of a facets call at 1M listings went to handing each
//! match's columns over (a name lookup, a value object and a UTF-8 check per column and row);
//! SQLite's own `GROUP BY` sorts the rows and compares text through its collation, slower
//! still. This aggregate counts them in place and answers one row.

use serde::{Deserialize, Serialize};

/// The aggregate's SQL name.
pub const TALLY: &str = "bazaar_tally";

/// Most distinct values counted per column: a value first seen after that many goes uncounted
/// (facets' columns hold a few dozen known values), so a call's memory stays bounded.
pub const MAX_VALUES: usize = 256;

/// `bazaar_tally(cap, number, text, …)` over some rows: how many rows it was given, and among
/// the first `cap` of them (in the order SQLite hands them over: a subquery's `ORDER BY`) the
/// smallest and largest `number` and each `text` argument's distinct values with their counts.
/// SQL NULLs are left out. SQLite answers it as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub rows: i64,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// Per text argument, in order: each value (in the order first seen) and its count.
    pub values: Vec<Vec<(String, i64)>>,
}

impl Tally {
    /// Counts one row.
    pub fn add<'a>(
        &mut self,
        cap: i64,
        number: Option<i64>,
        texts: impl ExactSizeIterator<Item = Option<&'a [u8]>>,
    ) {
        self.rows += 1;
        if self.rows > cap {
            return;
        }
        if let Some(n) = number {
            self.min = Some(self.min.map_or(n, |m| m.min(n)));
            self.max = Some(self.max.map_or(n, |m| m.max(n)));
        }
        if self.values.len() < texts.len() {
            self.values.resize(texts.len(), Vec::new());
        }
        for (column, text) in self.values.iter_mut().zip(texts) {
            let Some(text) = text else { continue };
            match column.iter().position(|(v, _)| v.as_bytes() == text) {
                Some(i) => column[i].1 += 1,
                None if column.len() < MAX_VALUES => {
                    column.push((String::from_utf8_lossy(text).into_owned(), 1))
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(v: &'a [Option<&'a str>]) -> impl ExactSizeIterator<Item = Option<&'a [u8]>> {
        v.iter().map(|t| t.map(str::as_bytes))
    }

    #[test]
    fn it_counts_each_value_and_the_range_of_the_first_cap_rows_and_every_row() {
        let mut t = Tally::default();
        t.add(3, Some(500), texts(&[Some("home"), Some("good")]));
        t.add(3, Some(100), texts(&[Some("fashion"), None]));
        t.add(3, None, texts(&[Some("home"), Some("good")]));
        // Past the cap: counted as a row, nothing else.
        t.add(3, Some(1), texts(&[Some("pets"), Some("poor")]));
        assert_eq!(
            t,
            Tally {
                rows: 4,
                min: Some(100),
                max: Some(500),
                values: vec![
                    vec![("home".into(), 2), ("fashion".into(), 1)],
                    vec![("good".into(), 2)],
                ],
            }
        );
    }

    #[test]
    fn distinct_values_past_the_bound_go_uncounted() {
        let mut t = Tally::default();
        for i in 0..MAX_VALUES + 10 {
            let v = format!("v{i}");
            t.add(i64::MAX, None, texts(&[Some(v.as_str())]));
        }
        t.add(i64::MAX, None, texts(&[Some("v0")]));
        assert_eq!(t.values[0].len(), MAX_VALUES);
        assert_eq!(t.values[0][0], ("v0".to_owned(), 2));
        assert_eq!(t.rows, MAX_VALUES as i64 + 11);
    }
}
