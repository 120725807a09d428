//! SQL with its values, built once and run on whichever connection a group-commit writer has:
//! a sqlx transaction (Postgres) or a direct SQLite connection ([`super::DirectConnection`]).
//!
//! [`Statement`] offers the part of sqlx's `QueryBuilder` the writers use (`push`,
//! `push_bind`, `push_values`, `separated`), so their statement builders read the same, and
//! [`Run`] executes it: `$n` placeholders for Postgres, `?n` for SQLite.

use std::fmt::Write;

use sqlx::{Database, Encode, Row, Type};

use super::Backend;
use crate::Error;

/// A value bound to a placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(text: &'a str) -> Self {
        Value::Text(Some(text))
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(text: Option<&'a str>) -> Self {
        Value::Text(text)
    }
}

impl From<i64> for Value<'_> {
    fn from(number: i64) -> Self {
        Value::Int(Some(number))
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(number: Option<i64>) -> Self {
        Value::Int(number)
    }
}

/// SQL text and the values of its placeholders, in order.
#[derive(Debug)]
pub struct Statement<'a> {
    backend: Backend,
    sql: String,
    values: Vec<Value<'a>>,
    /// Where [`Self::push_values`] put its rows, when they all have the same shape (SQLite).
    rows: Option<Rows>,
}

/// The rows of a multi-row `VALUES` list on SQLite, for running it as one single-row statement
/// per row ([`Statement::one_row`]).
#[derive(Debug)]
struct Rows {
    /// Where `VALUES ` starts.
    values_at: usize,
    /// The first row's `(…)`: its placeholders are `?1…?n`, as nothing before it is bound.
    first: std::ops::Range<usize>,
    /// Where the list ends (what follows, such as `ON CONFLICT …`, applies to every row).
    end: usize,
    count: usize,
    values_per_row: usize,
}

impl<'a> Statement<'a> {
    pub fn new(backend: Backend, sql: impl Into<String>) -> Self {
        Self { backend, sql: sql.into(), values: Vec::new(), rows: None }
    }

    /// On SQLite, a multi-row `INSERT … VALUES` as the statement for one row and the number of
    /// values each row binds: SQLite runs the rows one at a time anyway, and one cached
    /// single-row statement saves parsing a new text for every batch size (and the statement
    /// journal SQLite keeps for a multi-row write). `None` when the rows differ in shape, or
    /// something is bound before or after them.
    fn one_row(&self) -> Option<(String, usize)> {
        let rows = self.rows.as_ref()?;
        if self.values.len() != rows.count * rows.values_per_row {
            return None;
        }
        let sql =
            format!("{}VALUES {}{}", &self.sql[..rows.values_at], &self.sql[rows.first.clone()], &self.sql[rows.end..]);
        Some((sql, rows.values_per_row))
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        write!(self.sql, "{sql}").expect("writing to a String");
        self
    }

    /// Appends a placeholder for `value`.
    pub fn push_bind(&mut self, value: impl Into<Value<'a>>) -> &mut Self {
        self.values.push(value.into());
        let n = self.values.len();
        match self.backend {
            Backend::Postgres => write!(self.sql, "${n}"),
            Backend::Sqlite => write!(self.sql, "?{n}"),
        }
        .expect("writing to a String");
        self
    }

    /// A value for a placeholder already in the SQL text (`$1`, `$2`… in order of first
    /// appearance, which both backends number the same way).
    pub fn bind(mut self, value: impl Into<Value<'a>>) -> Self {
        self.values.push(value.into());
        self
    }

    /// The statement as a sqlx query, for a sqlx connection of either backend.
    pub fn query<DB>(&self) -> sqlx::query::Query<'static, DB, <DB as Database>::Arguments>
    where
        DB: Database,
        for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
        for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    {
        // The text is ours (fixed SQL and placeholders); every value is bound.
        let mut query = sqlx::query::<DB>(sqlx::AssertSqlSafe(self.sql.as_str()));
        for value in &self.values {
            query = match *value {
                Value::Text(text) => query.bind(text),
                Value::Int(number) => query.bind(number),
            };
        }
        query
    }

    /// Appends `sep`-separated items through the returned builder.
    pub fn separated<'s>(&'s mut self, separator: &'static str) -> Separated<'s, 'a> {
        Separated { statement: self, separator, first: true }
    }

    /// Appends `VALUES (…), (…)`, one tuple per row, each built by `row`.
    pub fn push_values<T>(&mut self, rows: impl IntoIterator<Item = T>, mut row: impl FnMut(Separated<'_, 'a>, T)) {
        let values_at = self.sql.len();
        let mut uniform = self.backend == Backend::Sqlite && self.values.is_empty();
        let (mut first, mut count, mut values_per_row) = (0..0, 0, 0);
        self.push("VALUES ");
        for (i, item) in rows.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            let (start, values_before) = (self.sql.len(), self.values.len());
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
            let bound = self.values.len() - values_before;
            if i == 0 {
                (first, values_per_row) = (start..self.sql.len(), bound);
            } else if uniform {
                uniform = bound == values_per_row && same_shape(&self.sql[first.clone()], &self.sql[start..]);
            }
            count += 1;
        }
        if uniform && count > 0 && values_per_row > 0 {
            self.rows = Some(Rows { values_at, first, end: self.sql.len(), count, values_per_row });
        }
    }
}

/// Whether two SQLite rows are the same text but for the numbers of their `?n` placeholders.
fn same_shape(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.split_first(), b.split_first()) {
            (None, None) => return true,
            (Some((b'?', rest_a)), Some((b'?', rest_b))) => {
                (a, b) = (skip_digits(rest_a), skip_digits(rest_b));
            }
            (Some((x, rest_a)), Some((y, rest_b))) if x == y => (a, b) = (rest_a, rest_b),
            _ => return false,
        }
    }
}

fn skip_digits(text: &[u8]) -> &[u8] {
    let digits = text.iter().take_while(|c| c.is_ascii_digit()).count();
    &text[digits..]
}

/// Items of a list, with a separator before each but the first.
pub struct Separated<'s, 'a> {
    statement: &'s mut Statement<'a>,
    separator: &'static str,
    first: bool,
}

impl<'a> Separated<'_, 'a> {
    fn separate(&mut self) {
        if !self.first {
            self.statement.push(self.separator);
        }
        self.first = false;
    }

    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        self.separate();
        self.statement.push(sql);
        self
    }

    pub fn push_bind(&mut self, value: impl Into<Value<'a>>) -> &mut Self {
        self.separate();
        self.statement.push_bind(value);
        self
    }

    /// Appends to the current item, without a separator.
    pub fn push_unseparated(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        self.statement.push(sql);
        self
    }

    pub fn push_bind_unseparated(&mut self, value: impl Into<Value<'a>>) -> &mut Self {
        self.statement.push_bind(value);
        self
    }
}

/// A column the writers read back.
pub trait Column: Sized {
    fn from_postgres(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error>;
    fn from_direct(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
}

macro_rules! impl_column {
    ($($ty:ty),*) => {$(
        impl Column for $ty {
            fn from_postgres(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
                row.try_get(index)
            }
            fn from_direct(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                row.get(index)
            }
        }
    )*};
}
impl_column!(String, Option<String>, i64);

/// A row the writers read back: one column, or a pair.
pub trait FromColumns: Sized {
    fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error>;
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

impl<A: Column> FromColumns for (A,) {
    fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        Ok((A::from_postgres(row, 0)?,))
    }
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((A::from_direct(row, 0)?,))
    }
}

impl<A: Column, B: Column> FromColumns for (A, B) {
    fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        Ok((A::from_postgres(row, 0)?, B::from_postgres(row, 1)?))
    }
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((A::from_direct(row, 0)?, B::from_direct(row, 1)?))
    }
}

/// A transaction a group-commit writer runs its statements in.
pub trait Run {
    /// The dialect its statements are built for.
    const BACKEND: Backend;

    fn execute(&mut self, statement: &Statement<'_>) -> impl Future<Output = Result<(), Error>>;
    fn fetch_all<R: FromColumns>(&mut self, statement: &Statement<'_>) -> impl Future<Output = Result<Vec<R>, Error>>;
}

impl Run for sqlx::Transaction<'_, sqlx::Postgres> {
    const BACKEND: Backend = Backend::Postgres;

    async fn execute(&mut self, statement: &Statement<'_>) -> Result<(), Error> {
        statement.query::<sqlx::Postgres>().execute(&mut **self).await?;
        Ok(())
    }

    async fn fetch_all<R: FromColumns>(&mut self, statement: &Statement<'_>) -> Result<Vec<R>, Error> {
        let rows = statement.query::<sqlx::Postgres>().fetch_all(&mut **self).await?;
        Ok(rows.iter().map(R::from_postgres).collect::<Result<_, _>>()?)
    }
}

/// Synchronous underneath: the direct connection is only used on its writer's own thread.
impl Run for rusqlite::Transaction<'_> {
    const BACKEND: Backend = Backend::Sqlite;

    async fn execute(&mut self, statement: &Statement<'_>) -> Result<(), Error> {
        run_direct(self, statement, |prepared| prepared.raw_execute().map(drop))?;
        Ok(())
    }

    async fn fetch_all<R: FromColumns>(&mut self, statement: &Statement<'_>) -> Result<Vec<R>, Error> {
        let mut out = Vec::new();
        run_direct(self, statement, |prepared| {
            let mut rows = prepared.raw_query();
            while let Some(row) = rows.next()? {
                out.push(R::from_direct(row)?);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// Runs `statement` through the connection's statement cache: a multi-row `VALUES` list as
/// its single-row statement once per row ([`Statement::one_row`]), anything else as it is.
fn run_direct(
    connection: &rusqlite::Connection,
    statement: &Statement<'_>,
    mut step: impl FnMut(&mut rusqlite::Statement<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    debug_assert!(matches!(statement.backend, Backend::Sqlite));
    let (sql, per_run) = match statement.one_row() {
        Some((sql, values_per_row)) => (std::borrow::Cow::Owned(sql), values_per_row),
        None => (std::borrow::Cow::Borrowed(statement.sql.as_str()), statement.values.len().max(1)),
    };
    let mut prepared = connection.prepare_cached(&sql)?;
    if statement.values.is_empty() {
        return step(&mut prepared);
    }
    for values in statement.values.chunks(per_run) {
        for (i, value) in values.iter().enumerate() {
            match *value {
                Value::Text(text) => prepared.raw_bind_parameter(i + 1, text)?,
                Value::Int(number) => prepared.raw_bind_parameter(i + 1, number)?,
            }
        }
        step(&mut prepared)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_each_backends_style() {
        for (backend, expected) in [
            (Backend::Postgres, "INSERT INTO t (a, b) VALUES ($1, 'x', $2), ($3, 'x', $4) ON CONFLICT DO NOTHING"),
            (Backend::Sqlite, "INSERT INTO t (a, b) VALUES (?1, 'x', ?2), (?3, 'x', ?4) ON CONFLICT DO NOTHING"),
        ] {
            let mut statement = Statement::new(backend, "INSERT INTO t (a, b) ");
            statement.push_values([("a", 1), ("b", 2)], |mut row, (text, number)| {
                row.push_bind(text).push("'x'").push_bind(i64::from(number));
            });
            statement.push(" ON CONFLICT DO NOTHING");
            assert_eq!(statement.sql(), expected);
            assert_eq!(statement.values.len(), 4);
        }
    }

    fn two_rows(backend: Backend, suffix: &str) -> Statement<'static> {
        let mut statement = Statement::new(backend, "INSERT INTO t (k, n, note) ");
        statement.push_values([("a", 1_i64), ("b", 2)], |mut row, (k, n)| {
            row.push_bind(k).push_bind(n).push("'x'");
        });
        statement.push(suffix);
        statement
    }

    #[test]
    fn on_sqlite_rows_of_one_shape_run_as_one_single_row_statement() {
        let statement = two_rows(Backend::Sqlite, " ON CONFLICT DO NOTHING");
        assert_eq!(
            statement.one_row(),
            Some(("INSERT INTO t (k, n, note) VALUES (?1, ?2, 'x') ON CONFLICT DO NOTHING".to_owned(), 2))
        );
        assert_eq!(two_rows(Backend::Postgres, "").one_row(), None, "Postgres takes the whole list at once");
    }

    #[test]
    fn rows_of_different_shapes_or_values_bound_around_them_keep_the_whole_statement() {
        let mut different = Statement::new(Backend::Sqlite, "INSERT INTO t (k, n) ");
        different.push_values([Some(1_i64), None], |mut row, n| {
            row.push_bind("k");
            match n {
                Some(n) => row.push_bind(n),
                None => row.push("NULL"),
            };
        });
        assert_eq!(different.one_row(), None);

        let mut bound_after = two_rows(Backend::Sqlite, " ON CONFLICT (k) DO UPDATE SET note = ");
        bound_after.push_bind("later");
        assert_eq!(bound_after.one_row(), None);

        let mut bound_before = Statement::new(Backend::Sqlite, "WITH w AS (SELECT ");
        bound_before.push_bind("w").push(" AS name) INSERT INTO t (k, n) ");
        bound_before.push_values([1_i64, 2], |mut row, n| {
            row.push_bind("k").push_bind(n);
        });
        assert_eq!(bound_before.one_row(), None);
    }

    #[test]
    fn placeholder_numbers_do_not_change_a_rows_shape() {
        assert!(same_shape("(?1, 'x', ?2)", "(?13, 'x', ?14)"));
        assert!(!same_shape("(?1, 'x', ?2)", "(?3, 'y', ?4)"));
        assert!(!same_shape("(?1, ?2)", "(?3, ?4, ?5)"));
    }

    #[test]
    fn separated_lists_put_the_separator_between_items_only() {
        let mut statement = Statement::new(Backend::Sqlite, "SELECT 1 WHERE k IN (");
        let mut list = statement.separated(", ");
        for key in ["a", "b", "c"] {
            list.push_bind(key);
        }
        statement.push(")");
        assert_eq!(statement.sql(), "SELECT 1 WHERE k IN (?1, ?2, ?3)");
    }

    #[test]
    fn a_statement_runs_on_a_direct_sqlite_connection() {
        let mut connection = rusqlite::Connection::open_in_memory().unwrap();
        connection.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, note TEXT)").unwrap();
        let mut tx = connection.transaction().unwrap();
        let mut insert = Statement::new(Backend::Sqlite, "INSERT INTO t (k, n, note) ");
        insert.push_values([("a", 1_i64), ("b", 2)], |mut row, (k, n)| {
            row.push_bind(k).push_bind(n).push_bind(None::<&str>);
        });
        let mut select = Statement::new(Backend::Sqlite, "SELECT k, n FROM t WHERE n > ");
        select.push_bind(1_i64);
        let mut returning = Statement::new(Backend::Sqlite, "INSERT INTO t (k, n, note) ");
        returning.push_values([("c", 3_i64), ("d", 4)], |mut row, (k, n)| {
            row.push_bind(k).push_bind(n).push_bind(Some("third or fourth"));
        });
        returning.push(" RETURNING k, n");
        type Pairs = Vec<(String, i64)>;
        let (selected, returned): (Pairs, Pairs) = futures_util::FutureExt::now_or_never(async {
            tx.execute(&insert).await?;
            let selected = tx.fetch_all(&select).await?;
            Ok::<_, Error>((selected, tx.fetch_all(&returning).await?))
        })
        .expect("a direct statement does not wait")
        .unwrap();
        assert_eq!(selected, vec![("b".to_owned(), 2)]);
        assert_eq!(returned, vec![("c".to_owned(), 3), ("d".to_owned(), 4)], "each row's RETURNING, in order");
        let notes: Vec<Option<String>> = tx
            .prepare("SELECT note FROM t ORDER BY k")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(notes, [None, None, Some("third or fourth".to_owned()), Some("third or fourth".to_owned())]);
    }
}
