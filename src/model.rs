//! What generated models do, written once: reading, keyed reading, and writing, as traits whose
//! methods are generic over the model.
//!
//! Generated code only declares: a row struct (`Queryable`, `Selectable`), an insert struct and a
//! changes struct with small [`Insert`] and [`Changes`] impls, and a [`Model`] (plus [`Keyed`]) impl
//! naming the table and the key. The CRUD below is compiled only for the models a program calls it
//! on, so a crate holding thousands of generated models costs little more to compile than its
//! `table!` blocks.
//!
//! ```no_run
//! use aep_diesel::model::prelude::*;
//! # mod schema { diesel::table! { customers (id) { id -> BigInt, email -> Text } } }
//! # #[derive(diesel::Queryable, diesel::Selectable, Debug)]
//! # #[diesel(table_name = schema::customers, check_for_backend(diesel::pg::Pg))]
//! # pub struct Customer { pub id: i64, pub email: String }
//! # impl aep_diesel::model::Model for Customer {
//! #     type Table = schema::customers::table;
//! #     const KEY: Option<&'static str> = Some("id");
//! # }
//! # impl aep_diesel::model::Keyed for Customer {
//! #     type KeyType = diesel::sql_types::BigInt;
//! #     type Key = i64;
//! #     type OwnedKey = i64;
//! #     fn key(&self) -> Option<i64> { Some(self.id) }
//! # }
//! # fn f(engine: &aep_diesel::Engine) -> aep_diesel::Result<()> {
//! let mut conn = engine.get()?;
//! let first_page = Customer::list(&mut conn, 100, 0)?;
//! let one = Customer::find(&mut conn, &42)?;
//! for page in Customer::pages(&mut conn, 10_000) {
//!     for customer in page? { /* … */ }
//! }
//! # Ok(()) }
//! ```

use std::borrow::Borrow;
use std::marker::PhantomData;

use diesel::expression::Expression;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, SingleValue};
use diesel::{RunQueryDsl, Selectable};

use crate::connection::AepConnection;
use crate::error::{Error, Result};

/// The traits to bring into scope to call model methods.
pub mod prelude {
    pub use super::{Create as _, Keyed as _, KeyedRead as _, Model as _, Read as _, Write as _};
}

/// A generated model: a row struct of one table or view.
pub trait Model: Selectable<Pg> + Sized + 'static {
    /// The Diesel table (or view) it reads.
    type Table: diesel::Table + QueryFragment<Pg> + Default + Send + 'static;

    /// The SQL name of the key column, when the relation has a single-column key: [`Read::list`]
    /// returns rows in its order. `None` (the default): no order is promised.
    const KEY: Option<&'static str> = None;

    /// Whether writes may go to Query Service (the generator's `query_service_writable`). Query
    /// Service takes no `UPDATE` or `DELETE` and documents no `INSERT … VALUES`, so by default a
    /// model's writes are refused there with [`Error::Unsupported`] before anything is sent.
    const WRITABLE_ON_QUERY_SERVICE: bool = false;
}

/// A model whose relation has a single-column key that identifies one row: a declared primary key, a
/// unique index on a NOT NULL column, a Data Distiller key, or one set in the configuration.
pub trait Keyed: Model {
    /// The key column's SQL type.
    type KeyType: diesel::sql_types::SqlType + SingleValue;
    /// The key as passed to [`KeyedRead::find`] (`str` for text keys).
    type Key: ToSql<Self::KeyType, Pg> + ?Sized + std::fmt::Debug;
    /// The key as a row holds it.
    type OwnedKey: Borrow<Self::Key> + Clone;

    /// This row's key; `None` when the column is NULL (only a nullable key column can be).
    fn key(&self) -> Option<Self::OwnedKey>;
}

/// The values of one new row, written by generated code: one [`Values`] call per column, in the
/// table's order. The same walk gives the column list, the values, and their count.
pub trait Insert {
    /// The model the row belongs to.
    type Model: Model;
    /// Pass each column's value to `w` (`w.value::<sql::col, _>(&self.col)?`).
    fn walk<'b>(&'b self, w: &mut Values<'_, 'b>) -> QueryResult<()>;
}

/// Changes to one row, written by generated code: one [`Set`] call per column that may change.
pub trait Changes {
    /// The model the changes belong to.
    type Model: Model;
    /// Pass each changeable column's field to `w` (`w.column::<sql::col, _>(&self.col)?`).
    fn walk<'b>(&'b self, w: &mut Set<'_, 'b>) -> QueryResult<()>;

    /// Whether no field is set.
    fn is_empty(&self) -> bool {
        let mut w = Set::counting();
        // Counting writes nothing, so it cannot fail.
        self.walk(&mut w).is_ok() && w.n == 0
    }
}

/// What a [`Values`] or [`Set`] walk produces.
enum Walk<'o, 'b> {
    /// Only count.
    Count,
    /// The column identifiers, comma-separated.
    Columns(AstPass<'o, 'b, Pg>),
    /// The values (or assignments) as bind parameters, comma-separated.
    Binds(AstPass<'o, 'b, Pg>),
}

/// Receives the values of one new row from a generated [`Insert`] impl. Each call names the column
/// by its Diesel column type, which gives both its SQL name and its SQL type.
pub struct Values<'o, 'b> {
    walk: Walk<'o, 'b>,
    n: usize,
}

impl<'o, 'b> Values<'o, 'b> {
    fn counting() -> Self {
        Values {
            walk: Walk::Count,
            n: 0,
        }
    }

    fn next(&mut self) -> Option<&mut AstPass<'o, 'b, Pg>> {
        let n = self.n;
        self.n += 1;
        match &mut self.walk {
            Walk::Count => None,
            Walk::Columns(out) | Walk::Binds(out) => {
                if n > 0 {
                    out.push_sql(", ");
                }
                Some(out)
            }
        }
    }

    /// The value of column `C`.
    pub fn value<C, T>(&mut self, v: &'b T) -> QueryResult<()>
    where
        C: diesel::Column,
        Pg: HasSqlType<C::SqlType>,
        T: ToSql<C::SqlType, Pg> + ?Sized,
    {
        let columns = matches!(self.walk, Walk::Columns(_));
        match self.next() {
            None => Ok(()),
            Some(out) if columns => out.push_identifier(C::NAME),
            Some(out) => out.push_bind_param::<C::SqlType, T>(v),
        }
    }

    /// The value of column `C`, or `DEFAULT` (the server fills it) when absent.
    pub fn or_default<C, T>(&mut self, v: &'b Option<T>) -> QueryResult<()>
    where
        C: diesel::Column,
        Pg: HasSqlType<C::SqlType>,
        T: ToSql<C::SqlType, Pg>,
    {
        let columns = matches!(self.walk, Walk::Columns(_));
        match (self.next(), v) {
            (None, _) => Ok(()),
            (Some(out), _) if columns => out.push_identifier(C::NAME),
            (Some(out), Some(v)) => out.push_bind_param::<C::SqlType, T>(v),
            (Some(out), None) => {
                out.push_sql("DEFAULT");
                Ok(())
            }
        }
    }
}

/// Receives the fields of a generated [`Changes`] impl: `"col" = $n` for each one that is set.
pub struct Set<'o, 'b> {
    walk: Walk<'o, 'b>,
    n: usize,
}

impl<'o, 'b> Set<'o, 'b> {
    fn counting() -> Self {
        Set {
            walk: Walk::Count,
            n: 0,
        }
    }

    fn assign<C: diesel::Column>(&mut self) -> QueryResult<Option<&mut AstPass<'o, 'b, Pg>>> {
        let n = self.n;
        self.n += 1;
        match &mut self.walk {
            Walk::Count => Ok(None),
            Walk::Columns(out) | Walk::Binds(out) => {
                if n > 0 {
                    out.push_sql(", ");
                }
                out.push_identifier(C::NAME)?;
                out.push_sql(" = ");
                Ok(Some(out))
            }
        }
    }

    /// Set the NOT NULL column `C` when `v` is `Some`.
    pub fn column<C, T>(&mut self, v: &'b Option<T>) -> QueryResult<()>
    where
        C: diesel::Column,
        Pg: HasSqlType<C::SqlType>,
        T: ToSql<C::SqlType, Pg>,
    {
        match v {
            Some(v) => match self.assign::<C>()? {
                Some(out) => out.push_bind_param::<C::SqlType, T>(v),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Set the nullable column `C` when `v` is `Some`: `Some(None)` sets it to NULL.
    pub fn nullable<C, T>(&mut self, v: &'b Option<Option<T>>) -> QueryResult<()>
    where
        C: diesel::Column,
        Pg: HasSqlType<C::SqlType>,
        Option<T>: ToSql<C::SqlType, Pg>,
    {
        match v {
            Some(v) => match self.assign::<C>()? {
                Some(out) => out.push_bind_param::<C::SqlType, Option<T>>(v),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }
}

/// The number of columns an [`Insert`] row writes.
fn column_count<N: Insert>(row: &N) -> usize {
    let mut w = Values::counting();
    // Counting writes nothing, so it cannot fail.
    let _ = row.walk(&mut w);
    w.n
}

/// The SQL type a model loads as: its columns' types, in field order.
pub type RowType<M> = <<M as Selectable<Pg>>::SelectExpression as Expression>::SqlType;

/// The bridge to Diesel's loading machinery for one model: implemented for every [`Model`] whose row
/// struct Diesel can load (`Queryable` and `Selectable` derived), so the generic operations below
/// need no Diesel bounds of their own. Not meant to be implemented by hand.
pub trait Loadable: Model {
    #[doc(hidden)]
    fn walk_columns<'b>(
        columns: &'b Self::SelectExpression,
        out: &mut AstPass<'_, 'b, Pg>,
    ) -> QueryResult<()>;

    #[doc(hidden)]
    fn load_rows<Q>(query: Q, conn: &mut AepConnection) -> QueryResult<Vec<Self>>
    where
        Q: Query<SqlType = RowType<Self>>
            + QueryFragment<Pg>
            + QueryId
            + RunQueryDsl<AepConnection>;

    #[doc(hidden)]
    fn stream_rows<'c, Q>(
        query: Q,
        conn: &'c mut AepConnection,
    ) -> QueryResult<Box<dyn Iterator<Item = QueryResult<Self>> + 'c>>
    where
        Q: Query<SqlType = RowType<Self>>
            + QueryFragment<Pg>
            + QueryId
            + RunQueryDsl<AepConnection>
            + 'c;
}

impl<M> Loadable for M
where
    M: Model + diesel::deserialize::FromSqlRow<RowType<M>, Pg>,
    M::SelectExpression: QueryFragment<Pg>,
    RowType<M>: diesel::query_dsl::CompatibleType<M, Pg, SqlType = RowType<M>>,
    Pg: diesel::expression::QueryMetadata<RowType<M>>,
{
    fn walk_columns<'b>(
        columns: &'b Self::SelectExpression,
        out: &mut AstPass<'_, 'b, Pg>,
    ) -> QueryResult<()> {
        columns.walk_ast(out.reborrow())
    }

    fn load_rows<Q>(query: Q, conn: &mut AepConnection) -> QueryResult<Vec<Self>>
    where
        Q: Query<SqlType = RowType<Self>>
            + QueryFragment<Pg>
            + QueryId
            + RunQueryDsl<AepConnection>,
    {
        query.load(conn)
    }

    fn stream_rows<'c, Q>(
        query: Q,
        conn: &'c mut AepConnection,
    ) -> QueryResult<Box<dyn Iterator<Item = QueryResult<Self>> + 'c>>
    where
        Q: Query<SqlType = RowType<Self>>
            + QueryFragment<Pg>
            + QueryId
            + RunQueryDsl<AepConnection>
            + 'c,
    {
        Ok(Box::new(
            query.load_iter::<Self, diesel::pg::PgRowByRowLoadingMode>(conn)?,
        ))
    }
}

/// `SELECT <model columns> FROM <table> [WHERE key = $ | key > $] [ORDER BY key] [LIMIT $] [OFFSET $]`.
struct SelectRows<'a, M: Model, K: ?Sized> {
    table: M::Table,
    columns: M::SelectExpression,
    key_eq: Option<&'a K>,
    key_gt: Option<&'a K>,
    limit: Option<i64>,
    offset: Option<i64>,
    _key: PhantomData<fn() -> M>,
}

impl<'a, M: Model, K: ?Sized> SelectRows<'a, M, K> {
    fn new() -> Self {
        SelectRows {
            table: M::Table::default(),
            columns: M::construct_selection(),
            key_eq: None,
            key_gt: None,
            limit: None,
            offset: None,
            _key: PhantomData,
        }
    }
}

/// Push `"key" <op> $n` with the key bound with the model's key type.
fn push_key<'b, M: Keyed>(
    out: &mut AstPass<'_, 'b, Pg>,
    op: &str,
    key: &'b M::Key,
) -> QueryResult<()>
where
    Pg: HasSqlType<M::KeyType>,
{
    out.push_identifier(M::KEY.unwrap_or("id"))?;
    out.push_sql(op);
    out.push_bind_param::<M::KeyType, M::Key>(key)
}

/// The key's SQL type when no key exists: never bound.
type NoKey = ();

impl<M: Loadable> QueryFragment<Pg> for SelectRows<'_, M, NoKey> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk_head(&mut out)?;
        self.walk_tail(&mut out)
    }
}

impl<'a, M: Loadable, K: ?Sized> SelectRows<'a, M, K> {
    fn walk_head<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        M::walk_columns(&self.columns, out)?;
        out.push_sql(" FROM ");
        self.table.walk_ast(out.reborrow())
    }

    fn walk_tail<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if let Some(key) = M::KEY {
            out.push_sql(" ORDER BY ");
            out.push_identifier(key)?;
            // NULL keys first (PostgreSQL puts them last, Spark SQL first): `key > last` never
            // returns them, so they must all be on the first page or `pages` stops with an error.
            out.push_sql(" NULLS FIRST");
        }
        // Literal numbers, not bind parameters: whether Query Service takes a bound `LIMIT $1` is
        // unknown (platform-facts.md), and an integer cannot inject anything.
        if let Some(limit) = self.limit {
            out.push_sql(&format!(" LIMIT {limit}"));
        }
        if let Some(offset) = self.offset {
            // Every offset is another statement text: not worth a prepared statement each.
            out.unsafe_to_cache_prepared();
            out.push_sql(&format!(" OFFSET {offset}"));
        }
        Ok(())
    }
}

/// The keyed form: `WHERE key = $` or `WHERE key > $`.
struct KeyedRows<'a, M: Keyed>(SelectRows<'a, M, M::Key>);

impl<M: Keyed + Loadable> QueryFragment<Pg> for KeyedRows<'_, M>
where
    Pg: HasSqlType<M::KeyType>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_head(&mut out)?;
        if let Some(k) = self.0.key_eq {
            out.push_sql(" WHERE ");
            push_key::<M>(&mut out, " = ", k)?;
        }
        if let Some(k) = self.0.key_gt {
            out.push_sql(" WHERE ");
            push_key::<M>(&mut out, " > ", k)?;
        }
        self.0.walk_tail(&mut out)
    }
}

/// Diesel's query traits for the statements below: never cached by type (the SQL varies with the
/// model), loaded as the model's row type.
macro_rules! statement {
    ([$($gen:tt)*] $ty:ty, $sql:ty) => {
        impl<$($gen)*> QueryId for $ty {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }
        impl<$($gen)*> Query for $ty {
            type SqlType = $sql;
        }
        impl<$($gen)*> RunQueryDsl<AepConnection> for $ty {}
    };
}

statement!(['a, M: Model] SelectRows<'a, M, NoKey>, RowType<M>);
statement!(['a, M: Keyed] KeyedRows<'a, M>, RowType<M>);

/// `SELECT COUNT(*) FROM <table>`.
struct CountRows<M: Model>(M::Table);

impl<M: Model> QueryFragment<Pg> for CountRows<M> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM ");
        self.0.walk_ast(out.reborrow())
    }
}

statement!([M: Model] CountRows<M>, BigInt);

/// The cursor [`Read::stream`] reads Query Service through.
const CURSOR: &str = "aep_diesel_stream";
/// Rows per `FETCH`: well under the platform's caps, and the most a stream holds in memory.
const FETCH_ROWS: usize = 10_000;

/// `DECLARE aep_diesel_stream NO SCROLL CURSOR FOR SELECT <model columns> FROM <table>`.
struct DeclareCursor<M: Model>(SelectRows<'static, M, NoKey>);

impl<M: Loadable> QueryFragment<Pg> for DeclareCursor<M> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("DECLARE ");
        out.push_identifier(CURSOR)?;
        out.push_sql(" NO SCROLL CURSOR FOR ");
        self.0.walk_head(&mut out)
    }
}

/// `FETCH 10000 FROM aep_diesel_stream`: the count is a literal, as a `FETCH` takes no parameters.
struct FetchCursor<M>(PhantomData<fn() -> M>);

impl<M: Model> QueryFragment<Pg> for FetchCursor<M> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql(&format!("FETCH {FETCH_ROWS} FROM "));
        out.push_identifier(CURSOR)
    }
}

statement!([M: Model] DeclareCursor<M>, ());
statement!([M: Model] FetchCursor<M>, RowType<M>);

/// A cursor read in its own transaction (a savepoint inside the caller's): committed when the rows
/// run out, rolled back when the iterator is dropped early or a fetch fails.
struct CursorStream<'c, M: Loadable> {
    conn: &'c mut AepConnection,
    rows: std::vec::IntoIter<M>,
    open: bool,
}

impl<'c, M: Loadable> CursorStream<'c, M> {
    fn open(conn: &'c mut AepConnection) -> Result<Self> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        AnsiTransactionManager::begin_transaction(conn)?;
        let declared = DeclareCursor::<M>(SelectRows::new()).execute(conn);
        if let Err(e) = declared {
            let _ = AnsiTransactionManager::rollback_transaction(conn);
            return Err(e.into());
        }
        Ok(CursorStream {
            conn,
            rows: Vec::new().into_iter(),
            open: true,
        })
    }

    fn close(&mut self, commit: bool) -> Result<()> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        self.open = false;
        if commit {
            Ok(AnsiTransactionManager::commit_transaction(self.conn)?)
        } else {
            Ok(AnsiTransactionManager::rollback_transaction(self.conn)?)
        }
    }
}

impl<M: Loadable> Iterator for CursorStream<'_, M> {
    type Item = Result<M>;

    fn next(&mut self) -> Option<Result<M>> {
        if let Some(row) = self.rows.next() {
            return Some(Ok(row));
        }
        if !self.open {
            return None;
        }
        match M::load_rows(FetchCursor::<M>(PhantomData), self.conn) {
            Ok(page) => {
                if page.len() < FETCH_ROWS {
                    if let Err(e) = self.close(true) {
                        return Some(Err(e));
                    }
                }
                self.rows = page.into_iter();
                self.rows.next().map(Ok)
            }
            Err(e) => {
                let _ = self.close(false);
                Some(Err(e.into()))
            }
        }
    }
}

impl<M: Loadable> Drop for CursorStream<'_, M> {
    fn drop(&mut self) {
        if self.open {
            // Ending the transaction closes the cursor; a failure here leaves the connection in a
            // state the pool's health check catches.
            let _ = self.close(false);
        }
    }
}

/// Reading, for every model.
pub trait Read: Loadable {
    /// Up to `limit` rows after skipping `offset`, in key order (rows with a NULL key first) when
    /// the relation has a key. A key-less relation has no order to page in, so an `offset` other
    /// than 0 is refused there ([`Error::Unsupported`]): two calls could skip or repeat rows. Read
    /// such a relation whole with [`Read::stream`].
    fn list(conn: &mut AepConnection, limit: i64, offset: i64) -> Result<Vec<Self>> {
        if Self::KEY.is_none() && offset != 0 {
            return Err(Error::Unsupported {
                what: "an offset into a relation without a key",
                hint: "without a key the rows have no stable order, so pages could skip or repeat \
                       rows; read it with stream(), or declare a key in [aep_diesel.keys]",
            });
        }
        let mut q = SelectRows::<Self, NoKey>::new();
        q.limit = Some(limit);
        q.offset = Some(offset);
        Ok(Self::load_rows(q, conn)?)
    }

    /// The number of rows.
    fn count(conn: &mut AepConnection) -> Result<i64> {
        Ok(CountRows::<Self>(Self::Table::default()).get_result(conn)?)
    }

    /// Every row, one at a time, in no promised order; the connection is busy until the iterator is
    /// dropped. On PostgreSQL: one query read row by row (memory stays flat). On Query Service, which
    /// cuts a plain query at 50,000 rows: a cursor (`DECLARE … NO SCROLL CURSOR`, then `FETCH 10000`
    /// until it runs dry) in a transaction, so a relation with or without a key is read once,
    /// neither skipping nor repeating rows, with 10,000 rows in memory at most.
    fn stream<'c>(
        conn: &'c mut AepConnection,
    ) -> Result<Box<dyn Iterator<Item = Result<Self>> + 'c>> {
        if !conn.is_query_service() {
            let rows = Self::stream_rows(SelectRows::<Self, NoKey>::new(), conn)?;
            return Ok(Box::new(rows.map(|r| r.map_err(Error::from))));
        }
        Ok(Box::new(CursorStream::<Self>::open(conn)?))
    }
}

impl<M: Loadable> Read for M {}

/// Reading by key, for models with a key.
pub trait KeyedRead: Keyed + Loadable
where
    Pg: HasSqlType<Self::KeyType>,
{
    /// The row with this key, if any.
    fn find(conn: &mut AepConnection, key: &Self::Key) -> Result<Option<Self>> {
        let mut q = SelectRows::<Self, Self::Key>::new();
        q.key_eq = Some(key);
        q.limit = Some(1);
        Ok(Self::load_rows(KeyedRows(q), conn)?.pop())
    }

    /// Keyset pagination: up to `limit` rows in key order after `after` (from the first when
    /// `None`). Rows with a NULL key come first, so only the first page (`after` = `None`) holds
    /// them.
    fn page_after(
        conn: &mut AepConnection,
        after: Option<&Self::Key>,
        limit: i64,
    ) -> Result<Vec<Self>> {
        let mut q = SelectRows::<Self, Self::Key>::new();
        q.key_gt = after;
        q.limit = Some(limit);
        Ok(Self::load_rows(KeyedRows(q), conn)?)
    }

    /// Every row in pages of `page_size` (one query each, key order): the way through Query
    /// Service's 50,000-rows-per-query cap. Each row comes once: rows with a NULL key (possible on
    /// a configured or Data Distiller key) come first; when they fill the whole first page the
    /// next page could not start after them, so the iteration ends with an error instead of
    /// skipping or repeating rows (use a larger page, or [`Read::stream`]).
    fn pages<'c>(
        conn: &'c mut AepConnection,
        page_size: usize,
    ) -> Box<dyn Iterator<Item = Result<Vec<Self>>> + 'c> {
        let page_size = page_size.max(1);
        let mut after: Option<Self::OwnedKey> = None;
        let mut done = false;
        // A full page ending on a NULL key is handed out; the error comes on the next call.
        let mut stuck = false;
        Box::new(std::iter::from_fn(move || {
            if stuck {
                stuck = false;
                done = true;
                return Some(Err(Error::Query(crate::bulk::null_key_page())));
            }
            if done {
                return None;
            }
            let limit = i64::try_from(page_size).unwrap_or(i64::MAX);
            let page = match Self::page_after(conn, after.as_ref().map(|k| k.borrow()), limit) {
                Ok(p) => p,
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            };
            done = page.len() < page_size;
            match page.last().map(Keyed::key) {
                None => return None,
                Some(Some(k)) => after = Some(k),
                Some(None) => stuck = !done,
            }
            Some(Ok(page))
        }))
    }
}

impl<M: Keyed + Loadable> KeyedRead for M where Pg: HasSqlType<M::KeyType> {}

/// `INSERT INTO <table> (<cols>) VALUES (…), (…) RETURNING <model columns>`.
struct InsertRows<'a, N: Insert> {
    table: <N::Model as Model>::Table,
    rows: &'a [N],
    returning: <N::Model as Selectable<Pg>>::SelectExpression,
}

impl<N: Insert> QueryFragment<Pg> for InsertRows<'_, N>
where
    N::Model: Loadable,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("INSERT INTO ");
        self.table.walk_ast(out.reborrow())?;
        if self.rows.first().map(column_count) == Some(0) {
            // Every column is filled by the server (create_many sends such rows one at a time).
            out.push_sql(" DEFAULT VALUES RETURNING ");
            return <N::Model as Loadable>::walk_columns(&self.returning, &mut out);
        }
        out.push_sql(" (");
        if let Some(first) = self.rows.first() {
            first.walk(&mut Values {
                walk: Walk::Columns(out.reborrow()),
                n: 0,
            })?;
        }
        out.push_sql(") VALUES ");
        for (i, row) in self.rows.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            row.walk(&mut Values {
                walk: Walk::Binds(out.reborrow()),
                n: 0,
            })?;
            out.push_sql(")");
        }
        out.push_sql(" RETURNING ");
        <N::Model as Loadable>::walk_columns(&self.returning, &mut out)
    }
}

statement!(['a, N: Insert] InsertRows<'a, N>, RowType<N::Model>);

/// `UPDATE <table> SET … WHERE key = $ RETURNING …` or `DELETE FROM <table> WHERE key = $`.
struct KeyedWrite<'a, M: Keyed, C> {
    table: M::Table,
    key: &'a M::Key,
    changes: Option<&'a C>,
    returning: M::SelectExpression,
}

impl<M: Keyed + Loadable, C: Changes> QueryFragment<Pg> for KeyedWrite<'_, M, C>
where
    Pg: HasSqlType<M::KeyType>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        match self.changes {
            Some(changes) => {
                out.push_sql("UPDATE ");
                self.table.walk_ast(out.reborrow())?;
                out.push_sql(" SET ");
                changes.walk(&mut Set {
                    walk: Walk::Binds(out.reborrow()),
                    n: 0,
                })?;
            }
            None => {
                out.push_sql("DELETE FROM ");
                self.table.walk_ast(out.reborrow())?;
            }
        }
        out.push_sql(" WHERE ");
        push_key::<M>(&mut out, " = ", self.key)?;
        if self.changes.is_some() {
            out.push_sql(" RETURNING ");
            M::walk_columns(&self.returning, &mut out)?;
        }
        Ok(())
    }
}

statement!(['a, M: Keyed, C] KeyedWrite<'a, M, C>, RowType<M>);

/// No changes (for `DELETE`, which writes none).
struct NoChanges<M>(PhantomData<M>);

impl<M: Model> Changes for NoChanges<M> {
    type Model = M;
    fn walk<'b>(&'b self, _: &mut Set<'_, 'b>) -> QueryResult<()> {
        Ok(())
    }
}

fn refuse_on_query_service<M: Model>(conn: &AepConnection) -> Result<()> {
    if conn.is_query_service() && !M::WRITABLE_ON_QUERY_SERVICE {
        return Err(Error::Unsupported {
            what: "a row-by-row write to a Query Service dataset",
            hint: "Query Service takes no UPDATE or DELETE and documents no INSERT … VALUES; write \
                   with aep_diesel::platform (CREATE TABLE AS, INSERT INTO … SELECT), or list the table \
                   in [aep_diesel] query_service_writable if your org allows such writes",
        });
    }
    Ok(())
}

/// Inserting, for models whose table takes writes (not views, not `read_only_tables`).
pub trait Create: Loadable {
    /// Insert one row and return it as stored (server-filled columns included).
    fn create<N>(conn: &mut AepConnection, new: &N) -> Result<Self>
    where
        N: Insert<Model = Self>,
    {
        refuse_on_query_service::<Self>(conn)?;
        let q = InsertRows {
            table: Self::Table::default(),
            rows: std::slice::from_ref(new),
            returning: Self::construct_selection(),
        };
        let mut rows = Self::load_rows(q, conn)?;
        rows.pop()
            .ok_or_else(|| Error::Query(diesel::result::Error::NotFound))
    }

    /// Insert many rows in one transaction (all or none), in statements under PostgreSQL's 65,535
    /// bind parameters, and return them as stored. A refused row is reported as
    /// [`Error::BulkRow`] with its position, as [`crate::bulk::insert_in_batches`] does.
    fn create_many<N>(conn: &mut AepConnection, rows: &[N]) -> Result<Vec<Self>>
    where
        N: Insert<Model = Self>,
    {
        refuse_on_query_service::<Self>(conn)?;
        let mut out = Vec::with_capacity(rows.len());
        crate::bulk::in_batches(
            conn,
            rows,
            // A row without columns is sent alone (DEFAULT VALUES takes one row).
            match rows.first().map_or(1, column_count) {
                0 => usize::from(u16::MAX),
                n => n,
            },
            |conn, chunk| {
                let q = InsertRows {
                    table: Self::Table::default(),
                    rows: chunk,
                    returning: Self::construct_selection(),
                };
                Self::load_rows(q, conn)
            },
            |batch| out.extend(batch),
        )?;
        Ok(out)
    }
}

/// Changing and deleting by key, for keyed models whose table takes writes.
pub trait Write: KeyedRead + Create
where
    Pg: HasSqlType<Self::KeyType>,
{
    /// Apply `changes` to the row with this key and return it as stored; `None` when no row has
    /// the key. Empty changes return the row unchanged.
    fn update<C>(conn: &mut AepConnection, key: &Self::Key, changes: &C) -> Result<Option<Self>>
    where
        C: Changes<Model = Self>,
    {
        refuse_on_query_service::<Self>(conn)?;
        if changes.is_empty() {
            return Self::find(conn, key);
        }
        let q = KeyedWrite::<Self, C> {
            table: Self::Table::default(),
            key,
            changes: Some(changes),
            returning: Self::construct_selection(),
        };
        Ok(Self::load_rows(q, conn)?.pop())
    }

    /// Delete the row with this key; returns how many rows went (0 or 1).
    fn delete(conn: &mut AepConnection, key: &Self::Key) -> Result<usize> {
        refuse_on_query_service::<Self>(conn)?;
        let q = KeyedWrite::<Self, NoChanges<Self>> {
            table: Self::Table::default(),
            key,
            changes: None,
            returning: Self::construct_selection(),
        };
        Ok(q.execute(conn)?)
    }
}
