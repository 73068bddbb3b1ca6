//! PostgreSQL: a words query in newest order (`sort=newest`, and the candidates of
//! `sort=relevance`) read in the steps of [`Reach`], so its cost never hangs on the planner's
//! estimate of how common its words are: the span of ids it may return and the statistics'
//! estimate ([`Span`]), a first look that only counts ([`FirstLook`]), then the reads the
//! counts call for ([`stepped`]). Facets read their matches the same way.

use super::plan_mode::Run;
use super::reach::Reach;
use super::*;
use crate::domain::search::{
    few_expected, fills_an_era, first_reach, known_word, second_reach, walked,
};

/// The ids a words query in newest order on PostgreSQL may return; `None` for any other
/// search (one read, as the planner chooses). `known`: the words' span over every id, when the
/// search looked it up already ([`words_span`]).
pub(super) fn stepped_span(
    conn: &mut DbConnection,
    filter: &ListingFilter,
    sort: ListingSort,
    after: Option<ListingPosition>,
    known: Option<Span>,
) -> QueryResult<Option<Span>> {
    if !matches!(sort, ListingSort::Relevance | ListingSort::Newest) {
        return Ok(None);
    }
    let whole = match known {
        Some(span) => Some(span),
        None => words_span(conn, filter)?,
    };
    let Some(whole) = whole else {
        return Ok(None);
    };
    Ok(Some(match (sort, after) {
        (ListingSort::Relevance, Some(p)) if p.window_hi > 0 => {
            whole.within(p.window_hi, p.window_lo)
        }
        (ListingSort::Newest, Some(p)) => whole.within(p.id - 1, 1),
        _ => whole,
    }))
}

/// PostgreSQL, a words query: the span of every id for its words ([`Span::whole`]), estimated
/// with the category, condition and narrow price range when the era index holds them
/// (`eras::eras_serve`: words and filter together then decide between a walk and a descent,
/// and which reads open a relevance window); `None` on SQLite or without words.
pub(super) fn words_span(
    conn: &mut DbConnection,
    filter: &ListingFilter,
) -> QueryResult<Option<Span>> {
    let pg = matches!(conn, DbConnection::Postgresql(_));
    let (true, Some(text)) = (pg, &filter.text) else {
        return Ok(None);
    };
    let filters = super::eras::eras_serve(filter).then_some(&filter.filters);
    Span::whole(conn, text, filters).map(Some)
}

/// The ids a stepped read may return (`ceiling` down to `lowest`), and how many listings
/// PostgreSQL's statistics expect its words to match (with the filters the era index holds,
/// when it serves them).
#[derive(Clone, Copy, Debug)]
pub(super) struct Span {
    pub(super) ceiling: i64,
    lowest: i64,
    /// The planner's estimate (an `EXPLAIN`, not run; a word outside the statistics at a fixed
    /// share of the table), or `i64::MAX` while the table has no statistics (never analysed,
    /// or restored from a dump: every word would be taken at that share, and a pair of common
    /// words would pass for a rare one). With a category or a condition, words and filter
    /// together.
    pub(super) expected: i64,
    /// The estimate of the words alone (`expected` without a filter).
    words_expected: i64,
    /// The newest id: the estimates are of the ids up to it. How common the words are (a walk
    /// or a descent, `domain::search::walked`) is judged over them, not over the span's own
    /// ids: a window of the newest 50,000 ids took a word estimated in 0.5% of a million
    /// listings (5,000, PostgreSQL's share for a word outside its statistics) for one in 10%
    /// of its ids, and walked 10,000 of them.
    ids: i64,
}

impl Span {
    /// Every id up to the newest, for `text`: one round trip, `search_span` (migrations
    /// `search_span`, `search_span_filters`, `search_span_statistics`), for the newest id (an
    /// end of the primary key), whether listings has statistics (the time of its last analyse,
    /// microseconds, or when none is on record, as after a crash, which discards those times
    /// but not the statistics, the words' column in `pg_stats`) and the planner's estimate of
    /// the words, with the category, condition and narrow price range of `filters` if given.
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
        // The price range where the era index holds it (a narrow range, in buckets), so the
        // reads that take only the matches in it are sized by their count (migration
        // `search_span_prices`); a wide range is compared on the rows the words find, whose
        // count is the words'.
        let held = f.price_buckets().is_some();
        for value in [f.min_price, f.max_price] {
            match value.filter(|_| held) {
                Some(v) => sql.push(", ").int(v),
                None => sql.push(", NULL"),
            };
        }
        sql.push(")");
        let row = sql.load::<Row>(conn)?.pop();
        let ceiling = row.as_ref().map_or(0, |r| r.ceiling);
        let estimate = |e: Option<i64>| e.unwrap_or(i64::MAX);
        Ok(Span {
            ceiling,
            lowest: 1,
            expected: estimate(row.as_ref().and_then(|r| r.expected)),
            words_expected: estimate(row.and_then(|r| r.words_expected)),
            ids: ceiling,
        })
    }

    /// Whether the statistics expect few matches of the words alone (`few_expected`): every
    /// match is then best read from the words' index, whatever the filter.
    pub(super) fn few_words(&self) -> bool {
        few_expected(self.words_expected)
    }

    /// The ids from `highest` down to `lowest` of this span of every id: a bound above the
    /// newest id (a cursor made by hand) counts from the newest, or the first read would look
    /// where nothing is and send a common word to the second.
    pub(super) fn within(self, highest: i64, lowest: i64) -> Span {
        Span {
            ceiling: highest.min(self.ceiling),
            lowest,
            ..self
        }
    }

    /// How many matches the newest [`RELEVANCE_SPAN`] ids are expected to hold
    /// (`domain::search::expected_in_span`).
    pub(super) fn expected_in_span(&self) -> Option<i64> {
        crate::domain::search::expected_in_span(self.expected, self.ids)
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
/// statistics do not put in 10% of the ids or more (`domain::search::walked`; with a category
/// or a condition, words and filter together in 5%) are read in one descent through the eras
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
        ids,
    }: Span,
    wanted: i64,
    eras: Option<&SearchFilters>,
    mut load: impl FnMut(&mut DbConnection, Reach) -> QueryResult<Vec<T>>,
    mut count: impl FnMut(&mut DbConnection, FirstLook) -> QueryResult<i64>,
    found: impl Fn(&[T]) -> i64,
) -> QueryResult<Vec<T>> {
    let span = ceiling - lowest + 1;
    let fills = fills_an_era(expected, wanted, ids);
    let descent = eras.map(|filters| Reach::Descent {
        ceiling,
        lowest,
        eras: super::eras::descent_eras(filters, fills),
    });
    let in_era_index = eras.is_some_and(SearchFilters::in_era_index);
    // With a category or a condition in the era index, words the statistics expect few of are
    // read whole from the words' index, the filter compared on their rows: a descent would
    // probe every era for the few that pass ("leather jacket" in good fashion at 1M: ~200 of
    // its 986 matches, all 61 eras read in 15 ms).
    if in_era_index && few_expected(words_expected) {
        return load(conn, Reach::All);
    }
    // Words the statistics expect in a tenth of the listings or more are found by walking the
    // newest ids (a narrow window holds enough; an era of "used" holds 512, every one read and
    // sorted); any other, when the filter lets eras serve, by one descent through the eras.
    if let Some(descent) = descent.filter(|_| !walked(expected, ids, in_era_index)) {
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
        let enough = known_word(expected, ids);
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
            Some(filters) => reach.windowed(ceiling, super::eras::descent_eras(filters, fills)),
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
/// read planned once (`reach::plans_generically`).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::{ERA_READ_MAX, FINE_ERA_READ_MAX};

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
            ids: 1_000_000,
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

    /// Where eras serve, words the statistics do not expect in 10% of the ids or more (outside
    /// them, few expected, or merely common) are read in one descent through the eras, with no
    /// first look (through fine eras when they fill an era of the era index twice over with
    /// the 200 wanted); a word that common is walked in a window of the newest ids.
    #[test]
    fn words_under_ten_percent_descend_through_the_eras_in_one_read() {
        let mut conn = DbConnection::Sqlite(
            diesel::SqliteConnection::establish(":memory:").expect("a connection"),
        );
        for (expected, read) in [
            (
                5_000,
                Reach::Descent {
                    ceiling: 1_000_000,
                    lowest: 1,
                    eras: Eras::Whole(ERA_READ_MAX),
                },
            ),
            (
                1_083,
                Reach::Descent {
                    ceiling: 1_000_000,
                    lowest: 1,
                    eras: Eras::Whole(ERA_READ_MAX),
                },
            ),
            (
                36_116,
                Reach::Descent {
                    ceiling: 1_000_000,
                    lowest: 1,
                    eras: Eras::Fine(FINE_ERA_READ_MAX),
                },
            ),
            (
                65_010,
                Reach::Descent {
                    ceiling: 1_000_000,
                    lowest: 1,
                    eras: Eras::Fine(FINE_ERA_READ_MAX),
                },
            ),
            (
                125_000,
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
                ids: 1_000_000,
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
    /// put under 5% of the ids descend through up to 64 eras of the era index; commoner ones
    /// are walked, and when the walk falls short every match is read by that descent too, not
    /// from the words' index (which yields the words' every match for the filter to turn away).
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
            eras: Eras::Whole(ERA_READ_MAX_FILTERED),
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
                ids: 1_000_000,
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
