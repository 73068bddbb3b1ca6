//! Which read a search takes ([`Reach`]) and what each adds to its SQL. A words query in
//! newest order on PostgreSQL is read in steps (`steps.rs`); any other search takes one read,
//! chosen here where the planner cannot (SQLite: words sorted by price or likes, a price range
//! without words; PostgreSQL: words sorted by price or likes that may be few).

use super::closeness::{newest_matches_in_filters, newest_matches_seen};
use super::plan_mode::{in_plan_modes, Run};
use super::steps::{stepped, stepped_span, FirstLook, Span};
use super::*;
use crate::domain::search::{
    few_expected, few_matches_seen, price_range_read_max, value_walk_min_matches, CLOSE_PROBE_IDS,
    VALUE_WALK_ROWS_PER_RESULT,
};

/// Which ids a words query in newest order (`sort=newest`, and the candidates of
/// `sort=relevance`) reads, so that its cost never hangs on PostgreSQL's estimate of how
/// common the words are. PostgreSQL estimates a word it has no statistics for at a fixed share
/// of the table; when that share is large enough it walks the id index backwards with the
/// match as a filter and stops after the page, which for a really rare word reads the whole
/// table. So the query first reads only the newest [`FIRST_REACH`] ids below its ceiling, or
/// the wider window the statistics' estimate of the words calls for (an index condition:
/// whatever the plan, the walk stops there). When that finds too few, the
/// density it saw sizes the second read (`domain::search::second_reach`): a window of newest
/// ids that should hold enough, or, when few matches are expected in all, every match in an
/// order no index gives (`l.id + 0`), so the words' GIN index finds them and a top-N sort
/// takes the newest. A common word is served by the first read; a rare one costs the first
/// read's bounded walk and then its few matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reach {
    /// Whatever the planner chooses: SQLite (FTS5 gives the matches newest first), no words,
    /// or a sort by price or likes whose words match many listings.
    Planner,
    /// Only ids above `floor`. `enough`: the window is sized to hold enough matches, at the
    /// density the statistics expect of a word they know or the density the first read saw, so
    /// a walk of it stops after the page; otherwise it is the first look at the newest ids for
    /// a word that may be rare, which a walk would read to the end.
    Above { floor: i64, enough: bool },
    /// Every id: the words' index finds the matches and a top-N sort orders them.
    All,
    /// The newest matches of the ids `lowest` to `ceiling`, era by era (`eras::push_descent`):
    /// each window's matches from the era index or the fine one, newest first, until enough
    /// are found, at most `eras` (`eras::descent_eras`), then the older ids' matches from the
    /// words' index. One read whatever the words, where the planner's estimate of how many they
    /// match would otherwise pick the steps: "leather jacket" (986 matches at 1M) read every match,
    /// 3.4 ms, and takes the 200 newest from 15 eras in 1.3.
    Descent {
        ceiling: i64,
        lowest: i64,
        eras: Eras,
    },
    /// SQLite, words sorted by price or likes ([`sorted_by_value`]): at most `rows` rows of the
    /// index in the page's order, each checked against the words in FTS5, the page the first
    /// that hold them. A price range is a range of the walk itself when sorted by price; by
    /// likes it is compared on the rows walked (`price_walked: false`), so a range few listings
    /// hold cannot stretch the walk past its `rows`.
    Walk { rows: i64, price_walked: bool },
    /// SQLite, no words, a price range, in newest or likes order ([`in_price_range`]): a range
    /// few listings hold read `from_index` (the price index) and sorted; one many hold compared
    /// on the rows of the order's walk, which soon fills the page.
    PriceRange { from_index: bool },
    /// Within a [`Reach::Descent`]: one window of its `eras`, the SQL's `e` (ids `lowest` to
    /// `ceiling` only).
    Era {
        ceiling: i64,
        lowest: i64,
        eras: Eras,
    },
    /// Within a [`Reach::Descent`] of the same `ceiling`, `lowest` and `eras`: the ids from
    /// `lowest` up to the eras it names (`eras::push_older_ids`), the matches from the words'
    /// index.
    Older {
        ceiling: i64,
        lowest: i64,
        eras: Eras,
    },
}

/// ` AND …` restricting the ids to `reach`.
pub(super) fn reach_clause(sql: &mut Sql, reach: Reach) {
    match reach {
        Reach::Above { floor, .. } => {
            sql.push(" AND l.id > ").int(floor);
        }
        Reach::Era {
            ceiling, lowest, ..
        } => {
            sql.push(" AND l.id + 0 <= ")
                .int(ceiling)
                .push(" AND l.id + 0 >= ")
                .int(lowest);
        }
        Reach::Older {
            ceiling,
            lowest,
            eras,
        } => super::eras::push_older_ids(sql, ceiling, lowest, eras),
        // A descent's own clauses are its eras' and its older ids' (`eras::push_descent`).
        Reach::Planner
        | Reach::All
        | Reach::Descent { .. }
        | Reach::Walk { .. }
        | Reach::PriceRange { .. } => {}
    }
}

/// The ordering key `column` as `reach` reads it: with [`Reach::All`] and the eras' reads one
/// no index gives, so the words' index (or the era index) finds the matches and a top-N sort
/// orders them.
pub(super) fn order_key(column: &str, reach: Reach) -> String {
    match reach {
        Reach::All | Reach::Descent { .. } | Reach::Era { .. } | Reach::Older { .. } => {
            format!("{column} + 0")
        }
        Reach::Planner | Reach::Above { .. } | Reach::Walk { .. } | Reach::PriceRange { .. } => {
            column.to_owned()
        }
    }
}

/// Whether PostgreSQL runs a read of `reach` with a generic plan (made once without the values
/// and kept prepared on the connection): words read in the steps of [`Reach`] whose best plan
/// is the same for any words (a window of the newest ids that holds enough matches, walked
/// until the page is full; or every match from the words' index and a top-N sort), with no
/// filter but a status other than draft (a descent or every match: with no filter but a
/// category or a condition either, which those reads never compare where an index could serve
/// them). Planning such a read with its values at every run
/// only cost time: at 1M listings a rare word's page spent 1.8 ms of its 3.3 ms in PostgreSQL
/// parsing and planning its two reads. The first look at the newest ids for a word that may be
/// rare stays planned with its values: a rare word is best found there through the words'
/// index (0.4 ms), where the generic walk read all 10,000 ids (4.8 ms). The filters'
/// combinations stay planned with their values (how common a category or a price range is
/// changes the plan), and unnamed, so a client cannot fill the connections' statement caches
/// with them. (A filtered descent planned with its values spent 2–6 ms planning at 1M, more
/// than its read.)
pub(super) fn plans_generically(sql: &Sql, filter: &ListingFilter, reach: Reach) -> bool {
    let by_index = matches!(
        reach,
        Reach::All | Reach::Descent { .. } | Reach::Era { .. } | Reach::Older { .. }
    );
    sql.pg
        && filter.text.is_some()
        && (by_index || matches!(reach, Reach::Above { enough: true, .. }))
        && (unfiltered(filter) || (by_index && in_era_index_only(filter)))
}

/// Whether a read's only filters but its status are a category, a condition or a narrow price
/// range, which the era index holds (and a drafts' read is no such read).
fn in_era_index_only(filter: &ListingFilter) -> bool {
    let f = &filter.filters;
    let priced = f.min_price.is_some() || f.max_price.is_some();
    filter.status != ListingStatus::Draft
        && f.seller_id.is_none()
        && (!priced || f.price_buckets().is_some())
}

/// Whether a words read on PostgreSQL has no filter but a status other than draft: only such
/// reads are planned generically ([`plans_generically`]).
fn unfiltered(filter: &ListingFilter) -> bool {
    filter.status != ListingStatus::Draft && filter.filters == SearchFilters::default()
}

/// Where a read starts: after the previous page's last row (`None`: the first page), and, when
/// the search looked it up already, the words' span over every id (PostgreSQL,
/// [`super::steps::words_span`]), which the read then takes as it is.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Start {
    pub(super) after: Option<ListingPosition>,
    pub(super) span: Option<Span>,
}

impl From<Option<ListingPosition>> for Start {
    fn from(after: Option<ListingPosition>) -> Start {
        Start { after, span: None }
    }
}

/// Runs a search: one read, or on PostgreSQL with words in newest order the reads of
/// [`Reach`] (a first look's count included), each one's SQL announced to `each` before it
/// runs (the plan check explains it).
pub(super) fn read(
    conn: &mut DbConnection,
    mode: &mut PlanMode,
    filter: &ListingFilter,
    sort: ListingSort,
    start: Start,
    limit: i64,
    each: impl FnMut(&mut DbConnection, &Sql) -> QueryResult<()>,
) -> QueryResult<Vec<Found>> {
    in_plan_modes(conn, mode, each, |conn, run| {
        read_in(conn, filter, sort, start, limit, run)
    })
}

/// [`read`], each read run by `run`.
fn read_in(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    Start { after, span }: Start,
    limit: i64,
    run: Run,
) -> QueryResult<Vec<Found>> {
    let load = |conn: &mut DbConnection, reach: Reach| -> QueryResult<Vec<Found>> {
        load_page(conn, filter, sort, after, limit, reach, run)
    };
    let count = |conn: &mut DbConnection, look: FirstLook| look.count(conn, filter, run);
    let Some(span) = stepped_span(conn, filter, sort, after, span)? else {
        let by_price = matches!(sort, ListingSort::PriceAsc | ListingSort::PriceDesc);
        let reach = if filter.text.is_none() && !by_price {
            in_price_range(conn, filter, limit)?
        } else {
            sorted_by_value(conn, filter, sort, limit, run)?
        };
        let rows = load(conn, reach)?;
        if matches!(reach, Reach::Walk { .. }) && (rows.len() as i64) < limit {
            // The walk's rows held too few (or the index ends there): every match, sorted.
            return load(conn, Reach::Planner);
        }
        return Ok(rows);
    };
    let eras = super::eras::eras_serve(filter).then_some(&filter.filters);
    match sort {
        ListingSort::Relevance => stepped(
            conn,
            span,
            after.map_or(RELEVANCE_CANDIDATES, |p| p.candidates()),
            eras,
            load,
            count,
            |rows| rows.first().map_or(0, |r| r.candidates),
        ),
        _ => stepped(conn, span, limit, eras, load, count, |rows| {
            rows.len() as i64
        }),
    }
}

/// How a words query sorted by price or likes reads on PostgreSQL: with few matches, counted
/// in the newest [`FIRST_REACH`] ids (a bounded walk), every match, sorted; with many, as the
/// planner chooses (a walk of the price or likes index then stops after a page). The planner
/// would otherwise walk that index with the words as a filter when it takes a rare word for
/// a common one, and read all of it (at 1M listings `q=quokka&sort=price_asc` took 6.9 s).
/// Every match comes from the words' index, or, when a filter in the era index is what makes
/// common words few, from a descent through every era, each era yielding only the matches
/// that pass it, the page the top of each era's top rows ([`super::eras::Ordered`]): from the
/// words' index every match of the words was fetched for the filter to turn most away (at
/// 1M `q=jacket&category=home&sort=price_asc`, none of 15,873 in home: 25–41 ms; 4–8 by eras).
///
/// SQLite (FTS5 yields every match, which a sort then orders) walks the price or likes index
/// when the words, in the filters, are found often among the newest listings
/// ([`VALUE_WALK_MIN_MATCHES`]), at most [`VALUE_WALK_ROWS_PER_RESULT`] rows per listing wanted
/// ([`Reach::Walk`]; the caller reads every match when the walk finds too few). PostgreSQL's
/// first look is run by `run`, as the reads are.
fn sorted_by_value(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    limit: i64,
    run: Run,
) -> QueryResult<Reach> {
    let by_value = matches!(
        sort,
        ListingSort::PriceAsc | ListingSort::PriceDesc | ListingSort::Popular
    );
    let Some(text) = &filter.text else {
        return Ok(Reach::Planner);
    };
    if !by_value {
        return Ok(Reach::Planner);
    }
    if !matches!(conn, DbConnection::Postgresql(_)) {
        // How often the words hold among the newest listings the walk would read: those
        // that pass its filters (counted by their terms in the words index, a dense one too).
        // By price the price range is the walk's own, counted where its buckets are terms and
        // otherwise left out of both counts; by likes it is compared on the rows walked, so
        // only the words' count holds it.
        let f = &filter.filters;
        let no_range = SearchFilters {
            min_price: None,
            max_price: None,
            ..f.clone()
        };
        let range_walked = sort != ListingSort::Popular && f.price_buckets().is_some();
        let walked = if range_walked { f } else { &no_range };
        let passing = match walked.facet_terms(true) {
            Some(terms) => newest_matches_seen(conn, &terms, CLOSE_PROBE_IDS)?,
            None => CLOSE_PROBE_IDS,
        };
        let held = ListingFilter {
            filters: if sort == ListingSort::Popular {
                f
            } else {
                walked
            }
            .clone(),
            ..filter.clone()
        };
        let walk = match value_walk_min_matches(passing) {
            Some(needed) => newest_matches_in_filters(conn, text, &held, needed)? >= needed,
            None => false,
        };
        return Ok(if walk {
            Reach::Walk {
                rows: limit.saturating_mul(VALUE_WALK_ROWS_PER_RESULT),
                price_walked: sort != ListingSort::Popular,
            }
        } else {
            Reach::Planner
        });
    }
    let span = Span::whole(conn, text, None)?;
    if few_expected(span.expected) {
        return Ok(Reach::All);
    }
    let ceiling = span.ceiling;
    let few = few_matches_seen(FIRST_REACH, ceiling);
    let look = FirstLook {
        floor: ceiling - FIRST_REACH,
        ceiling,
        wanted: few + 1,
    };
    if look.count(conn, filter, run)? > few {
        return Ok(Reach::Planner);
    }
    let f = &filter.filters;
    Ok(if super::eras::eras_serve(filter) && f.in_era_index() {
        Reach::Descent {
            ceiling: i64::MAX,
            lowest: 1,
            eras: super::eras::descent_eras(f, false),
        }
    } else {
        Reach::All
    })
}

/// How SQLite reads listings without words in newest or likes order when a price range is
/// set. Its planner, which knows nothing of how many listings a range holds, either walked the
/// id or likes index comparing each price, to the end of the index when the range holds few
/// (at 1M listings, under 1.50 EUR, none: 235 ms newest, 421 by likes, the facets 250), or
/// read the whole range from the price index and sorted it when it holds many (10 to 50 EUR,
/// 27,000: 29 ms, the facets 31). So the listings of the range are counted in the price index
/// first, up to where reading them costs as much as the walk that finds `wanted` among them
/// (`domain::search::price_range_read_max`): fewer are read from it and sorted, more compared
/// on the walk's rows ([`Reach::PriceRange`]). PostgreSQL's planner weighs the range by its
/// statistics.
pub(super) fn in_price_range(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    wanted: i64,
) -> QueryResult<Reach> {
    let s = &filter.filters;
    let ranged = s.min_price.is_some() || s.max_price.is_some();
    if matches!(conn, DbConnection::Postgresql(_)) || filter.text.is_some() || !ranged {
        return Ok(Reach::Planner);
    }
    let ids = super::newest_id(conn)?;
    let most = price_range_read_max(wanted, ids);
    let mut sql = Sql::new(conn);
    sql.push(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM listings l \
         INDEXED BY listings_status_price WHERE l.status = ",
    )
    .text_param(filter.status.as_str());
    push_price_range(&mut sql, s, "l.price_cents");
    sql.limit(most).push(")");
    let held = sql.load::<Number>(conn)?.first().map_or(0, |r| r.n);
    Ok(Reach::PriceRange {
        from_index: held < most,
    })
}
