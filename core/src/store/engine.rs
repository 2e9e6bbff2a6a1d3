//! What the aggregates (reports, chats, ai, scheduler, commands, audit) need from a
//! database engine, and nothing more: run one statement on the read pool, on the writer,
//! or inside a write transaction.
//!
//! Every method's SQL is written once, in its aggregate's file, as plain code:
//!
//! ```ignore
//! let n = sql("UPDATE chats SET locale = $1 WHERE id = $2")
//!     .bind(locale)
//!     .bind(id)
//!     .write(self)
//!     .await?;
//! ```
//!
//! SQLite and PostgreSQL both accept `$N` parameters, `RETURNING` and `ON CONFLICT … DO
//! NOTHING`, so the same text runs on both. Bound values are carried as [`Arg`] (the few
//! types the schema uses) and encoded by the engine, which keeps sqlx's per-database
//! generic bounds out of the aggregates: each engine implements [`Engine`] once, with
//! its concrete types (`sqlite.rs`, `postgres.rs`).
//!
//! The terminal method says where a statement runs, so a write cannot reach the read
//! pool by accident: `read_*` use the read pool; `write` / `write_one` /
//! `write_optional` use the writer (SQLite: its single connection); `execute` /
//! `fetch_*` run inside a transaction from [`Engine::begin_write`].

use chrono::{DateTime, Utc};
use sqlx::error::BoxDynError;
use sqlx::{Database, Encode, Type};
use std::future::Future;

/// One bound value, as the schema stores it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    I32(i32),
    I64(i64),
    OptI64(Option<i64>),
    Bool(bool),
    F64(f64),
    Time(DateTime<Utc>),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v)
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::OptText(v.as_deref())
    }
}
impl From<i32> for Arg<'_> {
    fn from(v: i32) -> Self {
        Arg::I32(v)
    }
}
impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<f64> for Arg<'_> {
    fn from(v: f64) -> Self {
        Arg::F64(v)
    }
}
impl From<DateTime<Utc>> for Arg<'_> {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(v)
    }
}

/// A statement and its bound values, in `$N` order.
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is run with read_*, write* or execute/fetch_*"]
pub struct Stmt<'a> {
    pub sql: &'static str,
    pub args: Vec<Arg<'a>>,
}

/// Start a statement.
pub fn sql<'a>(sql: &'static str) -> Stmt<'a> {
    Stmt {
        sql,
        args: Vec::new(),
    }
}

/// A row type both engines can decode (every `FromRow` struct and tuple of the store).
pub trait Record:
    Send
    + Unpin
    + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
}

impl<T> Record for T where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
}

/// A database engine: a read pool, a writer, write transactions.
pub trait Engine: Send + Sync {
    type Tx: WriteTx;
    /// One row, from the read pool.
    fn read_one<T: Record>(&self, s: Stmt<'_>) -> impl Future<Output = Result<T, sqlx::Error>> + Send;
    /// At most one row, from the read pool.
    fn read_optional<T: Record>(
        &self,
        s: Stmt<'_>,
    ) -> impl Future<Output = Result<Option<T>, sqlx::Error>> + Send;
    /// Every row, from the read pool.
    fn read_all<T: Record>(&self, s: Stmt<'_>) -> impl Future<Output = Result<Vec<T>, sqlx::Error>> + Send;
    /// Run on the writer; the number of rows affected.
    fn write(&self, s: Stmt<'_>) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// Run on the writer, one row back (`RETURNING`, or a read that must see our writes).
    fn write_one<T: Record>(&self, s: Stmt<'_>) -> impl Future<Output = Result<T, sqlx::Error>> + Send;
    /// Run on the writer, at most one row back.
    fn write_optional<T: Record>(
        &self,
        s: Stmt<'_>,
    ) -> impl Future<Output = Result<Option<T>, sqlx::Error>> + Send;
    /// A write transaction on the writer (SQLite: `BEGIN IMMEDIATE`, it holds the write
    /// lock from its start).
    fn begin_write(&self) -> impl Future<Output = Result<Self::Tx, sqlx::Error>> + Send;
}

/// A write transaction (dropped without `commit`: rolled back).
pub trait WriteTx: Send {
    fn execute(&mut self, s: Stmt<'_>) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    fn fetch_one<T: Record>(&mut self, s: Stmt<'_>) -> impl Future<Output = Result<T, sqlx::Error>> + Send;
    fn fetch_optional<T: Record>(
        &mut self,
        s: Stmt<'_>,
    ) -> impl Future<Output = Result<Option<T>, sqlx::Error>> + Send;
    fn commit(self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn rollback(self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

impl<'a> Stmt<'a> {
    pub fn bind(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    pub fn read_one<T: Record, E: Engine>(
        self,
        e: &E,
    ) -> impl Future<Output = Result<T, sqlx::Error>> + Send {
        e.read_one(self)
    }

    pub fn read_optional<T: Record, E: Engine>(
        self,
        e: &E,
    ) -> impl Future<Output = Result<Option<T>, sqlx::Error>> + Send {
        e.read_optional(self)
    }

    pub fn read_all<T: Record, E: Engine>(
        self,
        e: &E,
    ) -> impl Future<Output = Result<Vec<T>, sqlx::Error>> + Send {
        e.read_all(self)
    }

    pub fn write<E: Engine>(self, e: &E) -> impl Future<Output = Result<u64, sqlx::Error>> + Send {
        e.write(self)
    }

    pub fn write_one<T: Record, E: Engine>(
        self,
        e: &E,
    ) -> impl Future<Output = Result<T, sqlx::Error>> + Send {
        e.write_one(self)
    }

    pub fn write_optional<T: Record, E: Engine>(
        self,
        e: &E,
    ) -> impl Future<Output = Result<Option<T>, sqlx::Error>> + Send {
        e.write_optional(self)
    }

    pub fn execute<X: WriteTx>(self, tx: &mut X) -> impl Future<Output = Result<u64, sqlx::Error>> + Send {
        tx.execute(self)
    }

    pub fn fetch_one<T: Record, X: WriteTx>(
        self,
        tx: &mut X,
    ) -> impl Future<Output = Result<T, sqlx::Error>> + Send {
        tx.fetch_one(self)
    }

    pub fn fetch_optional<T: Record, X: WriteTx>(
        self,
        tx: &mut X,
    ) -> impl Future<Output = Result<Option<T>, sqlx::Error>> + Send {
        tx.fetch_optional(self)
    }
}

/// Encode `args` for one engine (the only place that names sqlx's per-type bounds).
pub(super) fn arguments<DB>(args: &[Arg<'_>]) -> Result<DB::Arguments, sqlx::Error>
where
    DB: Database,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
    for<'t> i32: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> bool: Encode<'t, DB> + Type<DB>,
    for<'t> f64: Encode<'t, DB> + Type<DB>,
    for<'t> DateTime<Utc>: Encode<'t, DB> + Type<DB>,
{
    use sqlx::Arguments;
    let mut out = DB::Arguments::default();
    for arg in args {
        let added: Result<(), BoxDynError> = match *arg {
            Arg::Text(v) => out.add(v),
            Arg::OptText(v) => out.add(v),
            Arg::I32(v) => out.add(v),
            Arg::I64(v) => out.add(v),
            Arg::OptI64(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
            Arg::F64(v) => out.add(v),
            Arg::Time(v) => out.add(v),
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}
