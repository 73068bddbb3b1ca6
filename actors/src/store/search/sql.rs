//! The SQL a search runs: text with its parameters in the backend's style ([`Sql`]), run
//! unnamed or kept prepared on the connection ([`Kept`]), or explained.

use super::DbConnection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::SqlQuery;
use diesel::sql_types::{BigInt, Double, Text};
use std::fmt::Write;

#[derive(Clone, Debug)]
pub(super) enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
}

/// SQL text with its parameters, placeholders in the backend's style.
#[derive(Clone)]
pub(super) struct Sql {
    pub(super) pg: bool,
    /// PostgreSQL: written to be planned once without its values and kept prepared on the
    /// connection (see `reach::plans_generically`); run it in that mode (`plan_mode::PlanMode`).
    pub(super) generic: bool,
    /// PostgreSQL: kept prepared on the connection and planned as PostgreSQL's plan cache
    /// chooses ([`Sql::kept`]).
    pub(super) kept: bool,
    pub(super) text: String,
    pub(super) binds: Vec<Bind>,
    /// Where in `text` each parameter's placeholder begins.
    pub(super) marks: Vec<usize>,
}

impl Sql {
    pub(super) fn new(conn: &DbConnection) -> Sql {
        Sql {
            pg: matches!(conn, DbConnection::Postgresql(_)),
            generic: false,
            kept: false,
            text: String::new(),
            binds: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Keeps the statement prepared on a PostgreSQL connection, as SQLite keeps every one: for
    /// a statement whose best plan hangs on no value bound to it, and whose text takes a few
    /// shapes at most (so a client cannot fill the connections' statement caches). Each run
    /// then skips the parse, and the planning too once PostgreSQL's plan cache settles on the
    /// generic plan (after five runs, when that plan costs no more than the custom ones):
    /// the vocabulary's lookups before a words search cost 0.28 ms of parse and plan against
    /// 0.03 ms of execution at 1M listings.
    pub(super) fn kept(&mut self) -> &mut Self {
        self.kept = true;
        self
    }

    pub(super) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    pub(super) fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        self.marks.push(self.text.len());
        if self.pg {
            let _ = write!(self.text, "${}", self.binds.len());
        } else {
            self.text.push('?');
        }
        self
    }

    pub(super) fn text_param(&mut self, s: &str) -> &mut Self {
        self.bind(Bind::Text(s.to_owned()))
    }

    pub(super) fn int(&mut self, v: i64) -> &mut Self {
        self.bind(Bind::Int(v))
    }

    /// ` LIMIT n`, `n` bound. On SQLite written `LIMIT +?`: SQLite (3.50) reads the value bound
    /// to a plain `LIMIT ?` while it compiles the statement, to size the plan, and so marks the
    /// statement to be compiled again whenever that parameter is bound anew: on every run (a
    /// quarter of the newest page's instructions at 1M listings went to compiling it again).
    /// `+?` is an expression it does not read ahead; the plans do not depend on the page size.
    /// (Read-only connections now plan without bound values anyway, `bazaar_stable_plans`;
    /// this keeps the search's statements from that cost on any connection.)
    pub(super) fn limit(&mut self, n: i64) -> &mut Self {
        self.push(if self.pg { " LIMIT " } else { " LIMIT +" })
            .int(n)
    }

    /// Runs the statement; its rows. Each run is logged with its values at trace level under
    /// the target `bazaar::search_sql`, so what a search runs can be seen and explained.
    pub(super) fn load<T>(self, conn: &mut DbConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
    {
        self.trace();
        match conn {
            DbConnection::Postgresql(c) if self.generic || self.kept => Kept(&self).load(c),
            DbConnection::Postgresql(c) => self.unnamed().load::<T>(c),
            DbConnection::Sqlite(c) => Kept(&self).load(c),
        }
    }

    /// Runs a statement that answers no rows (a write); the number of rows it changed.
    pub(super) fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        self.trace();
        match conn {
            DbConnection::Postgresql(c) if self.generic || self.kept => Kept(&self).execute(c),
            DbConnection::Postgresql(c) => self.unnamed().execute(c),
            DbConnection::Sqlite(c) => Kept(&self).execute(c),
        }
    }

    fn trace(&self) {
        tracing::trace!(target: "bazaar::search_sql", sql = %self.text, binds = ?self.binds);
    }

    /// The statement as PostgreSQL runs it unnamed: parsed and planned with its values.
    pub(super) fn unnamed(
        self,
    ) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, SqlQuery> {
        let mut q = diesel::sql_query(self.text).into_boxed::<diesel::pg::Pg>();
        for b in self.binds {
            q = match b {
                Bind::Text(s) => q.bind::<Text, _>(s),
                Bind::Int(v) => q.bind::<BigInt, _>(v),
                Bind::Float(v) => q.bind::<Double, _>(v),
            };
        }
        q
    }
}

/// A search's SQL as a statement Diesel prepares once per connection and keeps, keyed by its
/// text (which names the filters used, never their values). SQLite plans a statement without
/// looking at the values bound to it, so preparing it again for each request only repeated the
/// parse and the planning: every SQLite search runs kept. PostgreSQL's plans do depend on the
/// values (how common the words are), so its statements stay unnamed and are planned at each
/// run, except those written to be planned once without their values (`Sql::generic`) and the
/// lookups whose plans hang on no value (`Sql::kept`).
pub(super) struct Kept<'a>(&'a Sql);

impl<DB> diesel::query_builder::QueryFragment<DB> for Kept<'_>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Double>,
    String: diesel::serialize::ToSql<Text, DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    f64: diesel::serialize::ToSql<Double, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        let Sql {
            text, binds, marks, ..
        } = self.0;
        let mut from = 0;
        for (at, bind) in marks.iter().zip(binds) {
            out.push_sql(&text[from..*at]);
            match bind {
                Bind::Text(s) => out.push_bind_param::<Text, _>(s)?,
                Bind::Int(v) => out.push_bind_param::<BigInt, _>(v)?,
                Bind::Float(v) => out.push_bind_param::<Double, _>(v)?,
            }
            // Diesel writes the placeholder (`?`, `$n`) that `Sql::bind` wrote at `at`.
            from = at + placeholder_len(&text[*at..]);
        }
        out.push_sql(&text[from..]);
        Ok(())
    }
}

/// The length of the placeholder `text` begins with: `?`, or `$` and its number.
fn placeholder_len(text: &str) -> usize {
    match text.strip_prefix('$') {
        Some(rest) => 1 + rest.bytes().take_while(u8::is_ascii_digit).count(),
        None => 1,
    }
}

impl diesel::query_builder::QueryId for Kept<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Kept<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<diesel::SqliteConnection> for Kept<'_> {}
impl RunQueryDsl<diesel::PgConnection> for Kept<'_> {}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

impl Sql {
    /// PostgreSQL's plan for this statement as it would run (EXPLAIN, not run), one line per
    /// node. A generic statement's plan is the one made without its values: it is prepared by
    /// name and explained with `EXPLAIN EXECUTE` (the connection in generic mode, as `read`
    /// leaves it for such a read); explained directly, PostgreSQL would plan it with its values.
    pub(super) fn explain(mut self, conn: &mut DbConnection) -> QueryResult<String> {
        const NAME: &str = "bazaar_plan_check";
        let lines = if self.generic {
            let types: Vec<&str> = self.binds.iter().map(Bind::pg_type).collect();
            let values: Vec<String> = self.binds.iter().map(Bind::literal).collect();
            conn.batch_execute(&format!(
                "PREPARE {NAME}({}) AS {}",
                types.join(", "),
                self.text
            ))?;
            let lines = diesel::sql_query(format!("EXPLAIN EXECUTE {NAME}({})", values.join(", ")))
                .load::<PlanLine>(conn);
            conn.batch_execute(&format!("DEALLOCATE {NAME}"))?;
            lines?
        } else {
            self.text.insert_str(0, "EXPLAIN ");
            self.load::<PlanLine>(conn)?
        };
        Ok(lines
            .into_iter()
            .map(|l| l.line)
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

impl Bind {
    /// The PostgreSQL type it is bound as.
    pub(super) fn pg_type(&self) -> &'static str {
        match self {
            Bind::Text(_) => "text",
            Bind::Int(_) => "bigint",
            Bind::Float(_) => "double precision",
        }
    }

    /// The value as a PostgreSQL literal (for `EXPLAIN EXECUTE` only).
    pub(super) fn literal(&self) -> String {
        match self {
            Bind::Text(s) => format!("'{}'", s.replace('\'', "''")),
            Bind::Int(v) => v.to_string(),
            Bind::Float(v) => format!("'{v:?}'::double precision"),
        }
    }
}

/// A count, or any one number, a statement answers as `n`.
#[derive(QueryableByName)]
pub(super) struct Number {
    #[diesel(sql_type = BigInt)]
    pub(super) n: i64,
}
