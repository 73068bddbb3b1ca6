//! Reads by eras (PostgreSQL): a window of the newest ids at least an era wide takes its
//! matches from an era index, which yields only the matches in the window's eras, not every
//! match of the words: the era index (migrations `search_eras`, `search_eras_positions`,
//! `search_eras_filters`, …), or without a category, a condition or a narrow price range, for
//! words that fill its eras, the fine era index (migration `search_fine_eras`):
//! [`descent_eras`].

use super::reach::{order_key, Reach};
use super::*;
use crate::domain::search::{
    era_windows, read_by_eras, ERA_BITS, ERA_READ_MAX, ERA_READ_MAX_FILTERED, FINE_ERA_BITS,
    FINE_ERA_READ_MAX,
};

/// The eras a descent reads: how many at most, of which index, in which windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Eras {
    /// Up to this many eras of the fine era index (words only), in windows that double
    /// ([`era_windows`]).
    Fine(i64),
    /// Up to this many eras of the era index, which also holds the category, the condition
    /// and the price, one era a window.
    Whole(i64),
}

impl Eras {
    /// How many eras at most.
    fn max(self) -> i64 {
        match self {
            Eras::Fine(n) | Eras::Whole(n) => n,
        }
    }

    /// The bits of an id below its era's number.
    fn bits(self) -> u32 {
        match self {
            Eras::Fine(_) => FINE_ERA_BITS,
            Eras::Whole(_) => ERA_BITS,
        }
    }

    /// How many windows, and window `k`'s nearest and farthest era below the top one (SQL).
    fn windows(self) -> (i64, &'static str, &'static str) {
        match self {
            Eras::Fine(n) => (
                era_windows(n),
                "CASE WHEN k = 0 THEN 0 ELSE 1 << (k - 1) END",
                "(1 << k) - 1",
            ),
            Eras::Whole(n) => (n, "k", "k"),
        }
    }
}

impl Reach {
    /// The read of `reach` over ids up to `ceiling`: a window at least an era wide is read in a
    /// descent through its eras (the newest matches first, until enough, at most `eras` of
    /// them), any other as it is.
    pub(super) fn windowed(self, ceiling: i64, eras: Eras) -> Reach {
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
/// through the era index of `eras` in the eras `e.lo` to `e.hi` of one window of a descent
/// ([`push_descent`]): the query of those eras is made once per window, as the index scan
/// starts. The filters are entries of the era index ([`SearchFilters::era_entries`]), so a
/// window yields only the listings that pass them (for a price range, those in its buckets: the
/// exact range is compared on them); the fine era index holds no filter ([`descent_eras`]).
pub(super) fn push_era_match_of_e(
    sql: &mut Sql,
    text: &TextQuery,
    filters: &SearchFilters,
    eras: Eras,
) {
    let (vector, query) = match eras {
        Eras::Fine(_) => (
            "search_fine_eras(l.id, l.search_vector)",
            "search_fine_era_query",
        ),
        Eras::Whole(_) => (
            "search_eras(l.id, l.search_vector, l.category, l.condition, l.price_cents)",
            "search_era_query",
        ),
    };
    let _ = write!(
        sql.text,
        " AND {vector} @@ {query}((SELECT to_tsquery('bazaar_search', "
    );
    sql.text_param(&text.to_tsquery()).push(")");
    // Only the era index holds them: `descent_eras` reads it for every filter that has them.
    if let Some(entries) = filters.era_entries() {
        sql.push(" && CAST(")
            .text_param(&entries)
            .push(" AS tsquery)");
    }
    let bits = eras.bits();
    let _ = write!(sql.text, "), e.lo << {bits}, e.hi << {bits})");
}

/// The newest `wanted` matches of the ids `lowest` to `ceiling` (`i64::MAX`: up to the newest),
/// newest first, read era by era ([`Reach::Descent`]): `select` writes one read's `SELECT …
/// FROM … WHERE …` for the reach it is given (a window of eras, then the older ids), and this
/// adds the order, the limits and the series of windows ([`push_windows`]): from the era of the
/// newest id up to `ceiling` ([`push_top_era`]: the statement finds it, so a read needs no
/// round trip for it) down through at most `eras`' eras in its windows (fine eras in windows
/// that double, [`era_windows`]; the era index's one a window), never below the era of
/// `lowest`; then, if older ids are left, their
/// matches from the words' index. PostgreSQL runs the lateral read once per window of the
/// series, in the series' order (a nested loop over it: the window is the lateral's
/// parameter), and stops as soon as the outer `LIMIT` has its rows; the older ids' branch of
/// the `UNION ALL` runs only if the eras fell short (and not at all when no ids are left below
/// them: a one-time filter). Each window's read is a top-N sort of that window's matches. So
/// the rows come newest first: the tests compare them with the words' own index's newest
/// matches. The limits are written out, not bound: with a bound limit a generic plan expects a
/// tenth of the rows of every era (as many as the series' default thousand), a cost that set
/// off JIT compiling.
///
/// `ordered` reads in another order instead (a price or likes sort, whose matches the filter
/// in the era index makes few): each read keeps its top `wanted` rows in that order, every
/// window of the series is read, and the statement keeps the top `wanted` of them all.
pub(super) fn push_descent(
    sql: &mut Sql,
    (ceiling, lowest, eras): (i64, i64, Eras),
    wanted: i64,
    ordered: Option<Ordered>,
    select: impl Fn(&mut Sql, Reach),
) {
    let (each, all) = match &ordered {
        Some(o) => (o.each.as_str(), format!(" ORDER BY {}", o.all)),
        None => ("l.id + 0 DESC", String::new()),
    };
    sql.push("SELECT m.* FROM ((SELECT m.* FROM ");
    push_windows(sql, (ceiling, lowest, eras));
    sql.push(", LATERAL (");
    select(
        sql,
        Reach::Era {
            ceiling,
            lowest,
            eras,
        },
    );
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

/// A descent's windows as the relation `e` of eras `e.hi` down to `e.lo`, newest first, from
/// `top`, the newest era up to `ceiling`: of fine eras, window `k` of [`era_windows`] covers
/// the eras `top - 2^k + 1` to `top - 2^(k-1)` (`k` = 0: `top`); of the era index, window `k`
/// is the era `top - k`. Each is cut at the descent's last era and at `lowest`'s, and a window
/// wholly below `lowest`'s era is left out.
fn push_windows(sql: &mut Sql, (ceiling, lowest, eras): (i64, i64, Eras)) {
    let (windows, near, far) = eras.windows();
    let bits = eras.bits();
    sql.push("(SELECT w.top - w.near AS hi, GREATEST(w.top - w.far, ");
    push_stop_era(sql, ceiling, eras);
    sql.push(", ").int(lowest);
    let _ = write!(
        sql.text,
        " >> {bits}) AS lo FROM (SELECT t.top, {near} AS near, {far} AS far FROM (SELECT "
    );
    push_top_era(sql, ceiling, bits);
    let _ = write!(
        sql.text,
        " AS top) t, generate_series(0, {}) k) w WHERE w.top - w.near >= (",
        windows - 1
    );
    sql.int(lowest);
    let _ = write!(sql.text, " >> {bits})) e");
}

/// A descent's order when it is not the newest first ([`push_descent`]): `each` read's
/// `ORDER BY` (its columns on no index), and `all`, the same over the reads' rows (`m.`).
pub(super) struct Ordered {
    pub(super) each: String,
    pub(super) all: String,
}

/// The era (of `bits`) of the newest listing up to `ceiling`, as the statement finds it (the
/// end of the primary key: one probe).
fn push_top_era(sql: &mut Sql, ceiling: i64, bits: u32) {
    sql.push("((SELECT COALESCE(MAX(id), 0) FROM listings WHERE id <= ")
        .int(ceiling);
    let _ = write!(sql.text, ") >> {bits})");
}

/// The last era a descent through `eras` may name.
fn push_stop_era(sql: &mut Sql, ceiling: i64, eras: Eras) {
    sql.push("(");
    push_top_era(sql, ceiling, eras.bits());
    let _ = write!(sql.text, " - {})", eras.max() - 1);
}

/// ` AND …` keeping a descent's older ids ([`Reach::Older`]): those under the last era it may
/// name, from `lowest`, and none at all (a one-time filter) when that era is `lowest`'s or
/// below it.
pub(super) fn push_older_ids(sql: &mut Sql, ceiling: i64, lowest: i64, eras: Eras) {
    let bits = eras.bits();
    sql.push(" AND l.id + 0 < (");
    push_stop_era(sql, ceiling, eras);
    let _ = write!(sql.text, " << {bits}) AND l.id + 0 >= ");
    sql.int(lowest).push(" AND ");
    push_stop_era(sql, ceiling, eras);
    sql.push(" > (").int(lowest);
    let _ = write!(sql.text, " >> {bits})");
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

/// The eras a descent for `filters` reads before the older ids' read, its words filling an era
/// of the era index twice over with the matches wanted or not (`fills`,
/// `domain::search::fills_an_era`): with a category, a condition or a narrow price range
/// (entries of the era index) up to [`ERA_READ_MAX_FILTERED`] eras of the era index, one a
/// window; without them, words that fill an era up to [`FINE_ERA_READ_MAX`] fine eras in
/// windows that double, any other words up to [`ERA_READ_MAX`] eras of the era index. The
/// older ids' read takes every older match of the words from the words' index and leaves those
/// the filter turns away, so with a filter it may fetch many listings for few matches ("jacket"
/// in good condition at 1M: 16 eras held 664 of the facets' 1,001, and the older read fetched
/// ~11,000 listings for the rest, 54 ms); an era yields only the listings that pass the filter.
pub(super) fn descent_eras(filters: &SearchFilters, fills: bool) -> Eras {
    if filters.in_era_index() {
        Eras::Whole(ERA_READ_MAX_FILTERED)
    } else if fills {
        Eras::Fine(FINE_ERA_READ_MAX)
    } else {
        Eras::Whole(ERA_READ_MAX)
    }
}
