//! How a words query reads the listings on PostgreSQL without hanging on the planner's
//! estimate of how common its words are ([`Reach`]): in newest order, the newest ids first and
//! then only what is needed; sorted by price or likes, few matches read from the words' index.
//! SQLite and searches without words take one read, as the planner chooses.

use super::closeness::{newest_matches_in_filters, newest_matches_seen};
use super::plan_mode::{in_plan_modes, Run};
use super::*;
use crate::domain::search::{
    few_expected, few_matches_seen, first_reach, known_word, price_range_read_max, second_reach,
    value_walk_min_matches, walked, CLOSE_PROBE_IDS, VALUE_WALK_ROWS_PER_RESULT,
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
    /// each era's matches from the era index, newest era first, until enough are found, at
    /// most `eras` eras (`eras::descent_eras`), then the older ids' matches from the words'
    /// index. One read whatever the words, where the planner's estimate of how many they match
    /// would otherwise pick the steps: "leather jacket" (986 matches at 1M) read every match,
    /// 3.4 ms, and takes the 200 newest from 15 eras in 1.3.
    Descent {
        ceiling: i64,
        lowest: i64,
        eras: i64,
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
    /// Within a [`Reach::Descent`]: one era, the SQL's `e` (ids `lowest` to `ceiling` only).
    Era { ceiling: i64, lowest: i64 },
    /// Within a [`Reach::Descent`] of the same `ceiling`, `lowest` and `eras`: the ids from
    /// `lowest` up to the eras it names (`eras::push_older_ids`), the matches from the words'
    /// index.
    Older {
        ceiling: i64,
        lowest: i64,
        eras: i64,
    },
}

/// ` AND …` restricting the ids to `reach`.
pub(super) fn reach_clause(sql: &mut Sql, reach: Reach) {
    match reach {
        Reach::Above { floor, .. } => {
            sql.push(" AND l.id > ").int(floor);
        }
        Reach::Era { ceiling, lowest } => {
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

/// Runs a search: one read, or on PostgreSQL with words in newest order the reads of
/// [`Reach`] (a first look's count included), each one's SQL announced to `each` before it
/// runs (the plan check explains it).
pub(super) fn read(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    limit: i64,
    each: impl FnMut(&mut DbConnection, &Sql) -> QueryResult<()>,
) -> QueryResult<Vec<Found>> {
    in_plan_modes(conn, each, |conn, run| {
        read_in(conn, filter, sort, after, limit, run)
    })
}

/// [`read`], each read run by `run`.
fn read_in(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    limit: i64,
    run: Run,
) -> QueryResult<Vec<Found>> {
    let load = |conn: &mut DbConnection, reach: Reach| -> QueryResult<Vec<Found>> {
        let sql = build(conn, filter, sort, after, limit, reach);
        run(conn, &sql)?;
        sql.load(conn)
    };
    let count = |conn: &mut DbConnection, look: FirstLook| look.count(conn, filter, run);
    let Some(span) = stepped_span(conn, filter, sort, after)? else {
        let by_price = matches!(sort, ListingSort::PriceAsc | ListingSort::PriceDesc);
        let reach = if filter.text.is_none() && !by_price {
            in_price_range(conn, filter, limit)?
        } else {
            sorted_by_value(conn, filter, sort, limit)?
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
            RELEVANCE_CANDIDATES,
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

/// The ids a stepped read may return (`ceiling` down to `lowest`), and how many listings
/// PostgreSQL's statistics expect its words to match (with the filters the era index holds,
/// when it serves them).
#[derive(Clone, Copy, Debug)]
pub(super) struct Span {
    ceiling: i64,
    lowest: i64,
    /// The planner's estimate (an `EXPLAIN`, not run; a word outside the statistics at a fixed
    /// share of the table), or `i64::MAX` while the table has not been analysed (after a
    /// restore, say: every word is then taken at that share, and a pair of common words would
    /// pass for a rare one). With a category or a condition, words and filter together.
    expected: i64,
    /// The estimate of the words alone (`expected` without a filter).
    words_expected: i64,
}

impl Span {
    /// Every id up to the newest, for `text`: one round trip, `search_span` (migrations
    /// `search_span`, `search_span_filters`), for the newest id (an end of the primary key),
    /// the statistics' state (the server's activity statistics, microseconds) and the
    /// planner's estimate of the words, with the category and condition of `filters` if given.
    /// After a crash the activity statistics are reset and the search takes the bounded first
    /// read until the next analyse.
    pub(super) fn whole(
        conn: &mut DbConnection,
        text: &TextQuery,
        filters: Option<&SearchFilters>,
    ) -> QueryResult<Span> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            ceiling: i64,
            #[diesel(sql_type = Nullable<BigInt>)]
            expected: Option<i64>,
            #[diesel(sql_type = Nullable<BigInt>)]
            words_expected: Option<i64>,
        }
        let mut sql = Sql::new(conn);
        sql.kept()
            .push("SELECT ceiling, expected, words_expected FROM search_span(")
            .text_param(&text.to_tsquery());
        // The top-level category, the category and the condition, each `NULL` without it.
        let none = SearchFilters::default();
        let f = filters.unwrap_or(&none);
        let category = |level| {
            f.category
                .as_ref()
                .filter(|c| c.level == level)
                .map(|c| c.slug.as_str())
        };
        for value in [
            category(CategoryLevel::Top),
            category(CategoryLevel::Child),
            f.condition.as_deref(),
        ] {
            match value {
                Some(v) => sql.push(", ").text_param(v),
                None => sql.push(", NULL"),
            };
        }
        sql.push(")");
        let row = sql.load::<Row>(conn)?.pop();
        let estimate = |e: Option<i64>| e.unwrap_or(i64::MAX);
        Ok(Span {
            ceiling: row.as_ref().map_or(0, |r| r.ceiling),
            lowest: 1,
            expected: estimate(row.as_ref().and_then(|r| r.expected)),
            words_expected: estimate(row.and_then(|r| r.words_expected)),
        })
    }

    /// Whether the statistics expect few matches of the words alone (`few_expected`): every
    /// match is then best read from the words' index, whatever the filter.
    pub(super) fn few_words(&self) -> bool {
        few_expected(self.words_expected)
    }

    /// The ids from `highest` down to `lowest`: a bound above the newest id (a cursor made by
    /// hand) counts from the newest, or the first read would look where nothing is and send a
    /// common word to the second.
    fn between(
        conn: &mut DbConnection,
        text: &TextQuery,
        filters: Option<&SearchFilters>,
        highest: i64,
        lowest: i64,
    ) -> QueryResult<Span> {
        let whole = Span::whole(conn, text, filters)?;
        Ok(Span {
            ceiling: highest.min(whole.ceiling),
            lowest,
            ..whole
        })
    }
}

/// Reads the newest matches of a query's words between the ids of `span` (highest, lowest) in the
/// steps of [`Reach`] until a read finds `wanted` (as `found` counts them) or has read
/// everything: every match at once when PostgreSQL's statistics expect few, otherwise the
/// newest [`FIRST_REACH`] ids or the wider window the expected matches call for
/// (`domain::search::first_reach`), then a window sized by what that found, then every match.
/// `load` runs one read. A first look at the newest ids for words the statistics do not know
/// only counts its matches (`count`, see [`FirstLook`]), and the read that follows is the one
/// the count calls for: the same window, known now to hold enough, or the second step. With
/// `eras`, the filters when the era index serves them (`eras::eras_serve`), words the
/// statistics do not put in 5% of the ids or more (`domain::search::walked`; with a category
/// or a condition, words and filter together) are read in one descent through the eras
/// ([`Reach::Descent`]), and a window at least an era wide is read in a descent through its
/// own. With a category or a condition there, every match is read by a descent too: the
/// words' index would yield every match of the words for the filter to turn most away.
pub(super) fn stepped<T>(
    conn: &mut DbConnection,
    Span {
        ceiling,
        lowest,
        expected,
        words_expected,
    }: Span,
    wanted: i64,
    eras: Option<&SearchFilters>,
    mut load: impl FnMut(&mut DbConnection, Reach) -> QueryResult<Vec<T>>,
    mut count: impl FnMut(&mut DbConnection, FirstLook) -> QueryResult<i64>,
    found: impl Fn(&[T]) -> i64,
) -> QueryResult<Vec<T>> {
    let span = ceiling - lowest + 1;
    let descent = eras.map(|filters| Reach::Descent {
        ceiling,
        lowest,
        eras: super::eras::descent_eras(filters),
    });
    let in_era_index = eras.is_some_and(SearchFilters::in_era_index);
    // With a category or a condition in the era index, words the statistics expect few of are
    // read whole from the words' index, the filter compared on their rows: a descent would
    // probe every era for the few that pass ("leather jacket" in good fashion at 1M: ~200 of
    // its 986 matches, all 61 eras read in 15 ms).
    if in_era_index && few_expected(words_expected) {
        return load(conn, Reach::All);
    }
    // Words the statistics expect in a twentieth of the listings or more are found by
    // walking the newest ids (a narrow window holds enough; an era of "black" holds 1,080,
    // every one read and sorted); any other, when the filter lets eras serve, by one descent
    // through the eras.
    if let Some(descent) = descent.filter(|_| !walked(expected, span)) {
        return load(conn, descent);
    }
    // Every match: from the words' index, or with a filter in the era index by a descent.
    let every = match descent {
        Some(descent) if in_era_index => descent,
        _ => Reach::All,
    };
    let (mut reach, mut width) = if few_expected(expected) {
        (every, span)
    } else {
        let w = first_reach(expected, wanted, span);
        let floor = ceiling - w;
        let enough = known_word(expected, span);
        (Reach::Above { floor, enough }, w)
    };
    let mut first = true;
    if let Reach::Above {
        floor,
        enough: false,
    } = reach
    {
        let look = FirstLook {
            floor,
            ceiling,
            wanted,
        };
        let seen = count(conn, look)?;
        if seen < wanted && width < span {
            (reach, width) = next_reach(ceiling, width, seen, wanted, span, every);
        } else {
            reach = Reach::Above {
                floor,
                enough: true,
            };
        }
        first = false;
    }
    loop {
        let read = match eras {
            Some(filters) => reach.windowed(ceiling, super::eras::descent_eras(filters)),
            None => reach,
        };
        let rows = load(conn, read)?;
        if reach == every || width >= span || found(&rows) >= wanted {
            return Ok(rows);
        }
        // One window sized by what the first read saw, then (if even that falls short) all.
        (reach, width) = if first {
            next_reach(ceiling, width, found(&rows), wanted, span, every)
        } else {
            (every, span)
        };
        first = false;
    }
}

/// The read after a first one over the newest `width` ids found `found` of the `wanted`
/// matches: a window sized by that density, or every match, read as `every`
/// (`domain::search::second_reach`).
fn next_reach(
    ceiling: i64,
    width: i64,
    found: i64,
    wanted: i64,
    span: i64,
    every: Reach,
) -> (Reach, i64) {
    match second_reach(width, found, wanted, span) {
        Some(w) => (
            Reach::Above {
                floor: ceiling - w,
                enough: true,
            },
            w,
        ),
        None => (every, span),
    }
}

/// The first look at the newest ids (`floor` up to `ceiling`) for words PostgreSQL's
/// statistics do not know, which may be rare or merely unsampled: how many of those ids match,
/// counted to `wanted`, by a read of ids alone planned with its values (the words' index finds
/// a rare word's few matches there; a common word's walk of the window stops at `wanted`).
/// The search's own read planned with its values cost more to parse and plan than to run: at
/// 1M listings 1.2 ms of a rare word's 1.4 ms in PostgreSQL. What follows the count is a
/// read planned once ([`plans_generically`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct FirstLook {
    pub(super) floor: i64,
    pub(super) ceiling: i64,
    pub(super) wanted: i64,
}

impl FirstLook {
    /// `SELECT COUNT(*)` of the matches among the look's ids, at most `wanted`.
    pub(super) fn sql(self, conn: &DbConnection, filter: &ListingFilter) -> Sql {
        let mut sql = Sql::new(conn);
        sql.push("SELECT COUNT(*) AS n FROM (SELECT 1");
        from_clause(&mut sql, filter.text.as_ref(), Reach::Planner);
        where_clause(&mut sql, filter, Reach::Planner);
        sql.push(" AND l.id > ")
            .int(self.floor)
            .push(" AND l.id <= ")
            .int(self.ceiling);
        sql.limit(self.wanted).push(") s");
        sql
    }

    /// The count, its SQL handed to `run` first (see [`Run`]).
    pub(super) fn count(
        self,
        conn: &mut DbConnection,
        filter: &ListingFilter,
        run: Run,
    ) -> QueryResult<i64> {
        let sql = self.sql(conn, filter);
        run(conn, &sql)?;
        Ok(sql.load::<Number>(conn)?.first().map_or(0, |r| r.n))
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
/// ([`Reach::Walk`]; the caller reads every match when the walk finds too few).
fn sorted_by_value(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    limit: i64,
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
    if look.count(conn, filter, &|_, _| Ok(()))? > few {
        return Ok(Reach::Planner);
    }
    let f = &filter.filters;
    Ok(if super::eras::eras_serve(filter) && f.in_era_index() {
        Reach::Descent {
            ceiling: i64::MAX,
            lowest: 1,
            eras: super::eras::descent_eras(f),
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
    let mut sql = Sql::new(conn);
    sql.push("SELECT COALESCE(MAX(id), 0) AS n FROM listings");
    let ids = sql.load::<Number>(conn)?.first().map_or(0, |r| r.n);
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

/// The ids a words query in newest order on PostgreSQL may return; `None` for any other
/// search (one read, as the planner chooses).
fn stepped_span(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
) -> QueryResult<Option<Span>> {
    let pg = matches!(conn, DbConnection::Postgresql(_));
    let (true, Some(text)) = (pg, &filter.text) else {
        return Ok(None);
    };
    // The era index holds the category and condition (`eras::eras_serve`): estimated with
    // them, the words and filter together decide between a walk and a descent.
    let filters = super::eras::eras_serve(filter).then_some(&filter.filters);
    Ok(match (sort, after) {
        (ListingSort::Relevance, Some(p)) if p.window_hi > 0 => Some(Span::between(
            conn,
            text,
            filters,
            p.window_hi,
            p.window_lo,
        )?),
        (ListingSort::Newest, Some(p)) => Some(Span::between(conn, text, filters, p.id - 1, 1)?),
        (ListingSort::Relevance | ListingSort::Newest, _) => {
            Some(Span::whole(conn, text, filters)?)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::ERA_READ_MAX;

    /// Words outside the statistics (estimated at 0.5% of 1M ids), filtered so that eras do
    /// not serve: the first look at the newest 10,000 ids only counts, and what it counts
    /// decides the one read that follows.
    #[test]
    fn a_first_look_counts_and_the_read_it_calls_for_follows() {
        let mut conn = DbConnection::Sqlite(
            diesel::SqliteConnection::establish(":memory:").expect("a connection"),
        );
        let span = Span {
            ceiling: 1_000_000,
            lowest: 1,
            expected: 5_000,
            words_expected: 5_000,
        };
        let window = |floor| Reach::Above {
            floor,
            enough: true,
        };
        for (seen, read) in [
            // None: every match, from the words' index.
            (0, Reach::All),
            // A few: a window sized by the density seen (100 in 10,000 ids, 200 wanted,
            // half as many again).
            (100, window(970_000)),
            // Enough: the same window, walked until the page is full (narrower than an era).
            (200, window(990_000)),
        ] {
            let mut reads = Vec::new();
            let rows = stepped(
                &mut conn,
                span,
                200,
                None,
                |_, reach| {
                    reads.push(reach);
                    Ok(vec![(); 200])
                },
                |_, look| {
                    assert_eq!(
                        (look.floor, look.ceiling, look.wanted),
                        (990_000, 1_000_000, 200)
                    );
                    Ok(seen)
                },
                |rows| rows.len() as i64,
            )
            .expect("read");
            assert_eq!(rows.len(), 200);
            assert_eq!(reads, vec![read], "{seen} seen");
        }
    }

    /// Where eras serve, words the statistics do not expect in 5% of the ids or more (outside
    /// them, few expected, or merely common) are read in one descent through the eras, with no
    /// first look; a word that common is walked in a window of the newest ids.
    #[test]
    fn words_under_five_percent_descend_through_the_eras_in_one_read() {
        let mut conn = DbConnection::Sqlite(
            diesel::SqliteConnection::establish(":memory:").expect("a connection"),
        );
        for (expected, read) in [
            (
                5_000,
                Reach::Descent {
                    ceiling: 1_000_000,
                    lowest: 1,
                    eras: ERA_READ_MAX,
                },
            ),
            (
                1_083,
                Reach::Descent {
                    ceiling: 1_000_000,
                    lowest: 1,
                    eras: ERA_READ_MAX,
                },
            ),
            (
                36_116,
                Reach::Descent {
                    ceiling: 1_000_000,
                    lowest: 1,
                    eras: ERA_READ_MAX,
                },
            ),
            (
                60_000,
                Reach::Above {
                    floor: 990_000,
                    enough: true,
                },
            ),
        ] {
            let span = Span {
                ceiling: 1_000_000,
                lowest: 1,
                expected,
                words_expected: expected,
            };
            let mut reads = Vec::new();
            stepped(
                &mut conn,
                span,
                200,
                Some(&SearchFilters::default()),
                |_, reach| {
                    reads.push(reach);
                    Ok(vec![(); 200])
                },
                |_, _| panic!("no first look"),
                |rows| rows.len() as i64,
            )
            .expect("read");
            assert_eq!(reads, vec![read], "{expected} expected");
        }
    }

    /// With a category or a condition, which the era index holds, words the statistics expect
    /// few of are read whole from the words' index; otherwise words and filter the statistics
    /// put under 5% of the ids descend through up to 64 eras; commoner ones are walked, and
    /// when the walk falls short every match is read by that descent too, not from the words'
    /// index (which yields the words' every match for the filter to turn away).
    #[test]
    fn a_filter_in_the_era_index_reads_every_match_by_a_descent() {
        use crate::domain::search::{CategoryFilter, ERA_READ_MAX_FILTERED};
        let mut conn = DbConnection::Sqlite(
            diesel::SqliteConnection::establish(":memory:").expect("a connection"),
        );
        let filters = SearchFilters {
            category: Some(CategoryFilter::parse("fashion").expect("a category")),
            ..SearchFilters::default()
        };
        let descent = Reach::Descent {
            ceiling: 1_000_000,
            lowest: 1,
            eras: ERA_READ_MAX_FILTERED,
        };
        let walk = Reach::Above {
            floor: 990_000,
            enough: true,
        };
        // (the words' estimate, with the filter, rows each walk finds, the reads)
        for (words_expected, expected, walked, reads_made) in [
            (4_707, 140, 200, vec![Reach::All]),
            (200_000, 30_000, 200, vec![descent]),
            (30_000, 1_000, 200, vec![descent]),
            (400_000, 60_000, 200, vec![walk]),
            (400_000, 60_000, 0, vec![walk, descent]),
        ] {
            let span = Span {
                ceiling: 1_000_000,
                lowest: 1,
                expected,
                words_expected,
            };
            let mut reads = Vec::new();
            stepped(
                &mut conn,
                span,
                200,
                Some(&filters),
                |_, reach| {
                    reads.push(reach);
                    let rows = if reach == descent { 200 } else { walked };
                    Ok(vec![(); rows])
                },
                |_, _| panic!("no first look"),
                |rows| rows.len() as i64,
            )
            .expect("read");
            assert_eq!(reads, reads_made, "{expected} expected, {walked} walked");
        }
    }
}
