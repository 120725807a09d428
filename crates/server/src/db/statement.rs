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
}

impl<'a> Statement<'a> {
    pub fn new(backend: Backend, sql: impl Into<String>) -> Self {
        Self { backend, sql: sql.into(), values: Vec::new() }
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
        self.push("VALUES ");
        for (i, item) in rows.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
        }
    }
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
impl_column!(String, i64);

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
        let mut prepared = direct_statement(self, statement)?;
        prepared.raw_execute()?;
        Ok(())
    }

    async fn fetch_all<R: FromColumns>(&mut self, statement: &Statement<'_>) -> Result<Vec<R>, Error> {
        let mut prepared = direct_statement(self, statement)?;
        let mut rows = prepared.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(R::from_direct(row)?);
        }
        Ok(out)
    }
}

fn direct_statement<'c>(
    connection: &'c rusqlite::Connection,
    statement: &Statement<'_>,
) -> rusqlite::Result<rusqlite::Statement<'c>> {
    debug_assert!(matches!(statement.backend, Backend::Sqlite));
    let mut prepared = connection.prepare(&statement.sql)?;
    for (i, value) in statement.values.iter().enumerate() {
        match *value {
            Value::Text(text) => prepared.raw_bind_parameter(i + 1, text)?,
            Value::Int(number) => prepared.raw_bind_parameter(i + 1, number)?,
        }
    }
    Ok(prepared)
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
        let rows: Vec<(String, i64)> = futures_util::FutureExt::now_or_never(async {
            tx.execute(&insert).await?;
            tx.fetch_all(&select).await
        })
        .expect("a direct statement does not wait")
        .unwrap();
        assert_eq!(rows, vec![("b".to_owned(), 2)]);
    }
}
