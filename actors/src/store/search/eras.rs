//! Reads by eras (PostgreSQL): a window of the newest ids at least an era wide takes its
//! matches from the era index (migrations `search_eras`, `search_eras_positions`), which
//! yields only the matches in the window's eras, not every match of the words.

use super::reach::{order_key, Reach};
use super::*;
use crate::domain::search::{read_by_eras, ERA_BITS, ERA_READ_MAX, ERA_READ_MAX_FILTERED};

impl Reach {
    /// The read of `reach` over ids up to `ceiling`: a window at least an era wide is read in a
    /// descent through its eras (the newest matches first, until enough, at most `eras` of
    /// them), any other as it is.
    pub(super) fn windowed(self, ceiling: i64, eras: i64) -> Reach {
        match self {
            Reach::Above { floor, .. } if read_by_eras(floor, ceiling) => Reach::Descent {
                ceiling,
                lowest: floor + 1,
                eras,
            },
            other => other,
        }
    }

    /// `column` (the id) where a bound on it is compared: for a read by eras one no index
    /// gives, so the planner does not intersect the era index's matches with a range of the
    /// id index (which costs more than the matches it would spare: 4 ms for 100,000 ids).
    pub(super) fn id_bound(self, column: &str) -> String {
        match self {
            Reach::Descent { .. } | Reach::Era { .. } | Reach::Older { .. } => {
                order_key(column, self)
            }
            Reach::Planner
            | Reach::Above { .. }
            | Reach::All
            | Reach::Walk { .. }
            | Reach::PriceRange { .. } => column.to_owned(),
        }
    }
}

/// ` AND …` matching `text`, and the category, condition and narrow price range of `filters`,
/// through the era index in the one era `e` of a descent's series ([`push_descent`]): the query
/// of that era is made once per era, as the index scan starts. The filters are entries of the
/// index ([`SearchFilters::era_entries`]), so an era yields only the listings that pass them
/// (for a price range, those in its buckets: the exact range is compared on them).
pub(super) fn push_era_match_of_e(sql: &mut Sql, text: &TextQuery, filters: &SearchFilters) {
    sql.push(" AND search_eras(l.id, l.search_vector, l.category, l.condition, l.price_cents) @@ ")
        .push("search_era_query((SELECT to_tsquery('bazaar_search', ")
        .text_param(&text.to_tsquery())
        .push(")");
    if let Some(entries) = filters.era_entries() {
        sql.push(" && CAST(")
            .text_param(&entries)
            .push(" AS tsquery)");
    }
    let _ = write!(sql.text, "), e << {ERA_BITS}, e << {ERA_BITS})");
}

/// The newest `wanted` matches of the ids `lowest` to `ceiling` (`i64::MAX`: up to the newest),
/// newest first, read era by era ([`Reach::Descent`]): `select` writes one read's `SELECT …
/// FROM … WHERE …` for the reach it is given (an era, then the older ids), and this adds the
/// order, the limits and the series of eras: from the era of the newest id up to `ceiling`
/// ([`push_top_era`]: the statement finds it, so a read needs no round trip for it) down at
/// most [`ERA_READ_MAX`] eras, never below the era of `lowest`; then, if older ids are left,
/// their matches from the words' index. PostgreSQL runs the lateral read once per era of the
/// series, in the series' order (a nested loop over it: the era is the lateral's parameter),
/// and stops as soon as the outer `LIMIT` has its rows; the older ids' branch of the
/// `UNION ALL` runs only if the eras fell short (and not at all when no ids are left below
/// them: a one-time filter). Each era's read is a top-N sort of that era's matches. So the rows
/// come newest first: the tests compare them with the words' own index's newest matches. The
/// limits are written out, not bound: with a bound limit a generic plan expects a tenth of the
/// rows of every era (as many as the series' default thousand), a cost that set off JIT
/// compiling.
///
/// `ordered` reads in another order instead (a price or likes sort, whose matches the filter
/// in the era index makes few): each read keeps its top `wanted` rows in that order, every
/// era of the series is read, and the statement keeps the top `wanted` of them all.
pub(super) fn push_descent(
    sql: &mut Sql,
    (ceiling, lowest, eras): (i64, i64, i64),
    wanted: i64,
    ordered: Option<Ordered>,
    select: impl Fn(&mut Sql, Reach),
) {
    let (each, all) = match &ordered {
        Some(o) => (o.each.as_str(), format!(" ORDER BY {}", o.all)),
        None => ("l.id + 0 DESC", String::new()),
    };
    sql.push("SELECT m.* FROM ((SELECT m.* FROM generate_series(");
    push_top_era(sql, ceiling);
    sql.push(", GREATEST(");
    push_stop_era(sql, ceiling, eras);
    sql.push(", ").int(lowest);
    let _ = write!(sql.text, " >> {ERA_BITS}), -1) e, LATERAL (");
    select(sql, Reach::Era { ceiling, lowest });
    let _ = write!(
        sql.text,
        " ORDER BY {each} LIMIT {wanted}) m{all} LIMIT {wanted}) UNION ALL ("
    );
    select(
        sql,
        Reach::Older {
            ceiling,
            lowest,
            eras,
        },
    );
    let _ = write!(
        sql.text,
        " ORDER BY {each} LIMIT {wanted})) m{all} LIMIT {wanted}"
    );
}

/// A descent's order when it is not the newest first ([`push_descent`]): `each` read's
/// `ORDER BY` (its columns on no index), and `all`, the same over the reads' rows (`m.`).
pub(super) struct Ordered {
    pub(super) each: String,
    pub(super) all: String,
}

/// The era of the newest listing up to `ceiling`, as the statement finds it (the end of the
/// primary key: one probe).
fn push_top_era(sql: &mut Sql, ceiling: i64) {
    sql.push("((SELECT COALESCE(MAX(id), 0) FROM listings WHERE id <= ")
        .int(ceiling);
    let _ = write!(sql.text, ") >> {ERA_BITS})");
}

/// The last era a descent of `eras` eras may name.
fn push_stop_era(sql: &mut Sql, ceiling: i64, eras: i64) {
    sql.push("(");
    push_top_era(sql, ceiling);
    let _ = write!(sql.text, " - {})", eras - 1);
}

/// ` AND …` keeping a descent's older ids ([`Reach::Older`]): those under the last era it may
/// name, from `lowest`, and none at all (a one-time filter) when that era is `lowest`'s or
/// below it.
pub(super) fn push_older_ids(sql: &mut Sql, ceiling: i64, lowest: i64, eras: i64) {
    sql.push(" AND l.id + 0 < (");
    push_stop_era(sql, ceiling, eras);
    let _ = write!(sql.text, " << {ERA_BITS}) AND l.id + 0 >= ");
    sql.int(lowest).push(" AND ");
    push_stop_era(sql, ceiling, eras);
    sql.push(" > (").int(lowest);
    let _ = write!(sql.text, " >> {ERA_BITS})");
}

/// Whether the windows of a words read on PostgreSQL may be read by eras ([`Reach::Descent`]): not
/// for a seller's listings or drafts, whose own index bounded by the id serves a window better.
/// A category and a condition are entries of the era index (migration `search_eras_filters`,
/// [`push_era_match_of_e`]), so an era's read finds the listings that pass them with the
/// words, in the index; the category's or condition's column is then compared nowhere in an
/// era's read, since the planner intersected the era index's matches with a whole category
/// when it could (facets of "black" in fashion at 1M: 149,000 entries, 22.7 ms). A price range
/// is compared on the rows an era yields, after its buckets when it is narrow (migration
/// `search_eras_prices`); a wide one only there: by eras, facets of "jacket" from 50.00
/// answered 702/s, 266 otherwise.
pub(super) fn eras_serve(filter: &ListingFilter) -> bool {
    filter.status != ListingStatus::Draft && filter.filters.seller_id.is_none()
}

/// How many eras a descent for `filters` reads before the older ids' read:
/// [`ERA_READ_MAX`], or with a category, a condition or a narrow price range (entries of the
/// era index) [`ERA_READ_MAX_FILTERED`]. The older ids' read takes every older match of the
/// words from the words' index and leaves those the filter turns away, so with a filter it may
/// fetch many listings for few matches ("jacket" in good condition at 1M: 16 eras held 664 of
/// the facets' 1,001, and the older read fetched ~11,000 listings for the rest, 54 ms); an
/// era yields only the listings that pass the filter.
pub(super) fn descent_eras(filters: &SearchFilters) -> i64 {
    if filters.in_era_index() {
        ERA_READ_MAX_FILTERED
    } else {
        ERA_READ_MAX
    }
}
