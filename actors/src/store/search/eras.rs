//! Reads by eras (PostgreSQL): a window of the newest ids at least an era wide takes its
//! matches from the era index (migrations `search_eras`, `search_eras_positions`), which
//! yields only the matches in the window's eras, not every match of the words.

use super::reach::{order_key, Reach};
use super::*;
use crate::domain::search::{era_floor, read_by_eras};

impl Reach {
    /// The read of `reach` over ids up to `ceiling` (of a span down to `lowest`): a window at
    /// least an era wide is read by eras, ending on an era's edge
    /// (`domain::search::era_floor`), any other as it is.
    pub(super) fn windowed(self, ceiling: i64, lowest: i64) -> Reach {
        match self {
            Reach::Above { floor, .. } if read_by_eras(floor, ceiling) => Reach::Eras {
                floor: era_floor(floor, ceiling, lowest),
                ceiling,
            },
            other => other,
        }
    }

    /// `column` (the id) where a bound on it is compared: for a read by eras one no index
    /// gives, so the planner does not intersect the era index's matches with a range of the
    /// id index (which costs more than the matches it would spare: 4 ms for 100,000 ids).
    pub(super) fn id_bound(self, column: &str) -> String {
        match self {
            Reach::Eras { .. } => order_key(column, self),
            _ => column.to_owned(),
        }
    }
}

/// ` AND …` matching `text` through the era index over the eras of the ids above `floor` up to
/// `ceiling` (see [`Reach::Eras`]).
pub(super) fn push_era_match(sql: &mut Sql, text: &TextQuery, floor: i64, ceiling: i64) {
    sql.push(" AND search_eras(l.id, l.search_vector) @@ (SELECT search_era_query(")
        .push("to_tsquery('bazaar_search', ")
        .text_param(&text.to_tsquery())
        .push("), ")
        .int(floor + 1)
        .push(", ")
        .int(ceiling)
        .push("))");
}

/// Whether the windows of a words read on PostgreSQL may be read by eras ([`Reach::Eras`]): not
/// when a filter has an index of its own bounded by the id (a category's, a condition's, a
/// seller's, a seller's drafts), which serves a window better. Read by eras, the window's ids
/// are no index condition, and the planner intersected the era index's matches with a whole
/// category (facets of "black" in fashion at 1M: 149,000 entries, 22.7 ms, where the words'
/// index and the category's ids above the floor took 10.3; 57 → 98 facets/s, and a search of
/// "jacket" in fashion 141 → 605/s). A price range has no such index: by eras, facets of
/// "jacket" from 50.00 answered 702/s, 266 otherwise.
pub(super) fn eras_serve(filter: &ListingFilter) -> bool {
    let f = &filter.filters;
    filter.status != ListingStatus::Draft
        && f.category.is_none()
        && f.condition.is_none()
        && f.seller_id.is_none()
}
