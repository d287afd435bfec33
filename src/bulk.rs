//! Bulk writes and paged reads.
//!
//! - [`insert_in_batches`]: multi-row `INSERT`s, each under PostgreSQL's 65,535 bind parameters, all in
//!   one transaction.
//! - [`copy_in`]: one binary `COPY … FROM STDIN` in a transaction, built from the same `Insertable`
//!   structs: the fastest way in.
//! - Both write all rows or none, and a refused row is reported by its position
//!   ([`Error::BulkRow`]).
//! - [`pages`]: keyset pagination as an iterator of pages, the natural way through Query Service's
//!   50,000-rows-per-query default; for one pass with flat memory on PostgreSQL, stream with Diesel's
//!   `load_iter::<_, diesel::pg::PgRowByRowLoadingMode>` (the generated models' `stream`).
//!
//! On Query Service, row-by-row loads are refused with [`Error::Unsupported`] before anything is
//! sent: it has no COPY protocol and documents no `INSERT … VALUES`. Write there with a query the
//! server runs (`aep_diesel::platform`).
//!
//! ```no_run
//! # use diesel::prelude::*;
//! # diesel::table! { events (id) { id -> BigInt, label -> Text } }
//! #[derive(Insertable)]
//! #[diesel(table_name = events, treat_none_as_default_value = false)]
//! struct NewEvent { id: i64, label: String }
//!
//! # fn f(conn: &mut aep_diesel::AepConnection, rows: Vec<NewEvent>) -> aep_diesel::Result<()> {
//! // COPY, all or nothing:
//! aep_diesel::bulk::copy_in(conn, events::table, &rows)?;
//! // or INSERT batches, each under the bind-parameter limit (2 columns per row):
//! aep_diesel::bulk::insert_in_batches(conn, &rows, 2, |conn, chunk| {
//!     diesel::insert_into(events::table).values(chunk).execute(conn)
//! })?;
//! # Ok(()) }
//! ```

use diesel::connection::Connection;
use diesel::insertable::Insertable;
use diesel::pg::Pg;
use diesel::query_builder::bind_collector::RawBytesBindCollector;
use diesel::query_builder::{QueryBuilder, QueryFragment};
use diesel::result::{Error as DieselError, QueryResult};

use crate::connection::AepConnection;
use crate::error::{Error, Result};
/// PostgreSQL's limit on bind parameters in one statement.
pub const MAX_BIND_PARAMS: usize = 65_535;

/// Query Service's default cap on rows returned by one query for third-party clients.
pub const PLATFORM_ROW_LIMIT: usize = 50_000;

/// Rows per multi-row `INSERT` when each row binds `columns` values.
pub fn rows_per_insert(columns: usize) -> usize {
    (MAX_BIND_PARAMS / columns.max(1)).max(1)
}

/// Insert `rows` with multi-row `INSERT`s of at most [`rows_per_insert`]`(columns)` rows, in one
/// transaction. `insert` runs one statement for the chunk it is given and returns the rows it wrote.
///
/// All rows are written or none. When the server refuses the data, [`Error::BulkRow`] gives the
/// zero-based position of the first row that cannot be written (found by retrying inside savepoints).
pub fn insert_in_batches<R>(
    conn: &mut AepConnection,
    rows: &[R],
    columns: usize,
    insert: impl FnMut(&mut AepConnection, &[R]) -> QueryResult<usize>,
) -> Result<usize> {
    refuse_on_query_service(conn, "INSERT … VALUES")?;
    let mut written = 0;
    in_batches(conn, rows, columns, insert, |n| written += n)?;
    Ok(written)
}

/// Run `insert` on chunks of `rows` sized for `columns` bind parameters per row, in one transaction,
/// handing each chunk's output to `sink`; a refused row is located by bisection
/// ([`Error::BulkRow`]). Shared by [`insert_in_batches`] and the models' `create_many`.
pub(crate) fn in_batches<R, O>(
    conn: &mut AepConnection,
    rows: &[R],
    columns: usize,
    mut insert: impl FnMut(&mut AepConnection, &[R]) -> QueryResult<O>,
    mut sink: impl FnMut(O),
) -> Result<()> {
    let per = rows_per_insert(columns);
    let mut outputs = Vec::new();
    conn.transaction::<(), Error, _>(|conn| {
        for (n, chunk) in rows.chunks(per).enumerate() {
            match conn.transaction(|c| insert(c, chunk)) {
                Ok(out) => outputs.push(out),
                Err(e) => {
                    let mut probe = |c: &mut AepConnection, part: &[R]| insert(c, part).map(drop);
                    return Err(locate(conn, chunk, n * per, e, &mut probe));
                }
            }
        }
        Ok(())
    })?;
    outputs.into_iter().for_each(&mut sink);
    Ok(())
}

/// Load `rows` into `table` with one binary `COPY … FROM STDIN` in a transaction. The rows are the
/// same `Insertable` structs `insert_into(table).values(…)` takes; every column must have a value
/// (`#[diesel(treat_none_as_default_value = false)]` on structs with `Option` fields), since COPY has
/// no `DEFAULT`.
///
/// All rows are loaded or none; a refused row is reported as [`Error::BulkRow`] with its position.
/// On Query Service (or with [`Protocol::Compatible`](crate::Protocol)) this is
/// [`Error::Unsupported`]: there is no COPY protocol there.
pub fn copy_in<T, R>(conn: &mut AepConnection, table: T, rows: &[R]) -> Result<usize>
where
    T: diesel::Table + QueryFragment<Pg>,
    R: CopyRow<T>,
{
    refuse_on_query_service(conn, "COPY")?;
    if conn.protocol() != crate::Protocol::Binary {
        return Err(Error::Unsupported {
            what: "COPY",
            hint: "this engine uses the compatible protocol; binary COPY needs Protocol::Binary on PostgreSQL",
        });
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let sql = copy_sql::<T, R>(table, &rows[0])?;
    let mut copy = |conn: &mut AepConnection, rows: &[R]| copy_rows::<T, R>(conn, &sql, rows);
    conn.transaction::<usize, Error, _>(|conn| match conn.transaction(|c| copy(c, rows)) {
        Ok(k) => Ok(k),
        Err(e) => Err(locate(conn, rows, 0, e, &mut copy)),
    })
}

/// `COPY "table"("a", "b") FROM STDIN (FORMAT binary)`, the columns taken from how Diesel writes the
/// first row's `VALUES` clause.
fn copy_sql<T, R>(table: T, first: &R) -> Result<String>
where
    T: QueryFragment<Pg>,
    R: CopyRow<T>,
{
    let mut target = diesel::pg::PgQueryBuilder::default();
    table.to_sql(&mut target, &Pg)?;
    let mut values = diesel::pg::PgQueryBuilder::default();
    first.copy_values().to_sql(&mut values, &Pg)?;
    let values = values.finish();
    let columns = values
        .strip_prefix('(')
        .and_then(|v| v.find(") VALUES").map(|end| &v[..end]))
        .ok_or(Error::Unsupported {
            what: "COPY of this row type",
            hint: "the rows must name their columns (a struct deriving Insertable)",
        })?;
    Ok(format!(
        "COPY {}({columns}) FROM STDIN (FORMAT binary)",
        target.finish()
    ))
}

/// Stream `rows` through one COPY: the binary COPY header, a tuple per row of Diesel's own binary
/// encoding of each value, the trailer.
fn copy_rows<T, R>(conn: &mut AepConnection, sql: &str, rows: &[R]) -> QueryResult<usize>
where
    R: CopyRow<T>,
{
    let mut next = 0;
    let mut columns = None;
    let mut write = |buf: &mut Vec<u8>| -> QueryResult<bool> {
        if next == 0 {
            buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
            buf.extend_from_slice(&0i32.to_be_bytes());
            buf.extend_from_slice(&0i32.to_be_bytes());
        }
        // Rows go out in chunks of about 1 MB.
        while next < rows.len() && buf.len() < 1 << 20 {
            let mut collector = RawBytesBindCollector::<Pg>::new();
            rows[next]
                .copy_values()
                .collect_binds(&mut collector, &mut NoLookup, &Pg)?;
            let n = collector.binds.len();
            let expected = *columns.get_or_insert(n);
            if n != expected || n > i16::MAX as usize {
                return Err(DieselError::SerializationError(
                    "a row leaves a column to its DEFAULT, which COPY cannot do; derive Insertable with \
                     #[diesel(treat_none_as_default_value = false)]"
                        .into(),
                ));
            }
            buf.extend_from_slice(&(n as i16).to_be_bytes());
            for value in &collector.binds {
                match value {
                    Some(v) => {
                        buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        buf.extend_from_slice(v);
                    }
                    None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
            next += 1;
        }
        if next == rows.len() {
            buf.extend_from_slice(&(-1i16).to_be_bytes());
            return Ok(false);
        }
        Ok(true)
    };
    conn.copy_in(sql, &mut write)
}

/// A row [`copy_in`] can load into table `T`: anything whose reference is `Insertable<T>` (a struct
/// deriving `Insertable`). Implemented for every such type; it exists so the row type is inferred
/// from the slice before Diesel's `Insertable` impls are searched.
pub trait CopyRow<T> {
    /// The row's `VALUES` clause, as `insert_into(table).values(&row)` would write it.
    fn copy_values<'a>(&'a self) -> impl QueryFragment<Pg> + 'a
    where
        T: 'a;
}

impl<T, R> CopyRow<T> for R
where
    for<'a> &'a R: Insertable<T>,
    for<'a> <&'a R as Insertable<T>>::Values: QueryFragment<Pg>,
{
    fn copy_values<'a>(&'a self) -> impl QueryFragment<Pg> + 'a
    where
        T: 'a,
    {
        self.values()
    }
}

/// COPY values never name custom types by OID in the stream, but Diesel's encoders of arrays and
/// records of custom types do: those fail with a clear error instead of a wrong OID.
struct NoLookup;

impl diesel::pg::PgMetadataLookup for NoLookup {
    fn lookup_type(&mut self, name: &str, schema: Option<&str>) -> diesel::pg::PgTypeMetadata {
        diesel::pg::PgTypeMetadata::from_result(Err(diesel::pg::FailedToLookupTypeError::new(
            diesel::pg::PgMetadataCacheKey::new(
                schema.map(|s| std::borrow::Cow::Owned(s.to_owned())),
                std::borrow::Cow::Owned(name.to_owned()),
            ),
        )))
    }
}

fn refuse_on_query_service(conn: &AepConnection, what: &'static str) -> Result<()> {
    if conn.is_query_service() {
        return Err(Error::Unsupported {
            what,
            hint: "Query Service has no COPY protocol and documents no INSERT … VALUES; write with a \
                   query the server runs: aep_diesel::platform::create_table_as or insert_into_select",
        });
    }
    Ok(())
}

/// Find the first row of `rows` that cannot be written: the smallest failing prefix, by bisection,
/// each try inside a savepoint that is rolled back. `first_error` is reported when the prefix search
/// cannot reproduce the failure (e.g. a conflict with rows written concurrently).
fn locate<R, O>(
    conn: &mut AepConnection,
    rows: &[R],
    offset: usize,
    first_error: DieselError,
    write: &mut impl FnMut(&mut AepConnection, &[R]) -> QueryResult<O>,
) -> Error {
    let mut attempt = |conn: &mut AepConnection, n: usize| -> Option<DieselError> {
        let r: QueryResult<()> = conn.transaction(|c| {
            write(c, &rows[..n])?;
            Err(DieselError::RollbackTransaction)
        });
        match r {
            Err(DieselError::RollbackTransaction) | Ok(()) => None,
            Err(e) => Some(e),
        }
    };
    // invariant: rows[..lo] succeed, rows[..hi] fail
    let (mut lo, mut hi) = (0, rows.len());
    let mut err = first_error;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match attempt(conn, mid) {
            Some(e) => {
                hi = mid;
                err = e;
            }
            None => lo = mid,
        }
    }
    Error::BulkRow {
        row: offset + lo,
        source: Box::new(Error::from(err)),
    }
}

/// Keyset pagination as an iterator of pages: `fetch(after, limit)` returns up to `limit` rows
/// ordered by key, starting after the key `after` (from the start when `None`); `key` gives a row's
/// key, which must be unique and never NULL (`key > after` never returns a row whose key is
/// NULL: page on a NOT NULL key, or see [`stream_pages`]). Iteration stops after the first short
/// page. `fetch` may fail with any error type (Diesel's, or this crate's from a model's
/// [`KeyedRead::page_after`](crate::model::KeyedRead::page_after)). Each page is one query, so a page size of at most [`PLATFORM_ROW_LIMIT`] reads any number of
/// rows from Query Service. There, write the page size into the SQL text: Diesel's `.limit(n)` (as
/// below, fine on PostgreSQL) sends it as a bind parameter, which no Query Service client is known
/// to do.
///
/// ```no_run
/// # use aep_diesel::diesel::prelude::*;
/// # diesel::table! { events (id) { id -> BigInt } }
/// # fn f(conn: &mut aep_diesel::AepConnection) -> diesel::QueryResult<()> {
/// let pages = aep_diesel::bulk::pages(10_000, |after: Option<&i64>, limit| {
///     let q = events::table.select(events::id).order(events::id).limit(limit);
///     match after {
///         Some(k) => q.filter(events::id.gt(*k)).load::<i64>(conn),
///         None => q.load::<i64>(conn),
///     }
/// }, |id| *id);
/// for page in pages {
///     for id in page? { /* ... */ }
/// }
/// # Ok(()) }
/// ```
pub fn pages<T, K, E, F, G>(page_size: usize, fetch: F, key: G) -> Pages<T, K, F, G>
where
    F: FnMut(Option<&K>, i64) -> std::result::Result<Vec<T>, E>,
    G: Fn(&T) -> K,
{
    Pages {
        page_size: page_size.max(1),
        fetch,
        key,
        after: None,
        done: false,
        _rows: std::marker::PhantomData,
    }
}

/// The iterator returned by [`pages`].
pub struct Pages<T, K, F, G> {
    page_size: usize,
    fetch: F,
    key: G,
    after: Option<K>,
    done: bool,
    _rows: std::marker::PhantomData<fn() -> T>,
}

impl<T, K, F, G> std::fmt::Debug for Pages<T, K, F, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("page_size", &self.page_size)
            .field("done", &self.done)
            .finish()
    }
}

impl<T, K, E, F, G> Iterator for Pages<T, K, F, G>
where
    F: FnMut(Option<&K>, i64) -> std::result::Result<Vec<T>, E>,
    G: Fn(&T) -> K,
{
    type Item = std::result::Result<Vec<T>, E>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let limit = i64::try_from(self.page_size).unwrap_or(i64::MAX);
        match (self.fetch)(self.after.as_ref(), limit) {
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(page) => {
                if page.len() < self.page_size {
                    self.done = true;
                }
                match page.last() {
                    Some(last) => self.after = Some((self.key)(last)),
                    None => return None,
                }
                Some(Ok(page))
            }
        }
    }
}

/// Why keyset paging stops when a whole page has NULL keys: the next page cannot start after them.
pub(crate) fn null_key_page() -> DieselError {
    DieselError::QueryBuilderError(
        "a whole page of rows has a NULL key, so the next page cannot start after it; use a \
         larger page size or stream(), or declare a NOT NULL key to page through this relation"
            .into(),
    )
}

/// Every row, one page of `page_size` at a time in key order, as one iterator of rows: a way past
/// Query Service's cap of [`PLATFORM_ROW_LIMIT`] rows per query for your own keyed queries (the
/// models' `stream` uses a cursor instead). `fetch(conn, after, limit)` reads the page after a key,
/// ordering NULL keys first (`ORDER BY key NULLS FIRST`) so that they all come on the first page;
/// `key` gives a row's key, and a full page ending on a NULL key ends the iteration with an error
/// rather than restarting from the first row or skipping rows.
pub fn stream_pages<'c, T, K, F, G>(
    conn: &'c mut AepConnection,
    page_size: usize,
    fetch: F,
    key: G,
) -> StreamPages<'c, T, K, F, G>
where
    F: FnMut(&mut AepConnection, Option<&K>, i64) -> QueryResult<Vec<T>>,
    G: Fn(&T) -> Option<K>,
{
    StreamPages {
        conn,
        page_size: page_size.max(1),
        fetch,
        key,
        after: None,
        page: Vec::new().into_iter(),
        done: false,
        stuck: false,
    }
}

/// The iterator returned by [`stream_pages`].
pub struct StreamPages<'c, T, K, F, G> {
    conn: &'c mut AepConnection,
    page_size: usize,
    fetch: F,
    key: G,
    after: Option<K>,
    page: std::vec::IntoIter<T>,
    done: bool,
    stuck: bool,
}

impl<T, K, F, G> std::fmt::Debug for StreamPages<'_, T, K, F, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamPages")
            .field("page_size", &self.page_size)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T, K, F, G> Iterator for StreamPages<'_, T, K, F, G>
where
    F: FnMut(&mut AepConnection, Option<&K>, i64) -> QueryResult<Vec<T>>,
    G: Fn(&T) -> Option<K>,
{
    type Item = QueryResult<T>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(row) = self.page.next() {
            return Some(Ok(row));
        }
        if self.stuck {
            // The rows of a full page ending on a NULL key went out first; now the reason to stop.
            self.stuck = false;
            self.done = true;
            return Some(Err(null_key_page()));
        }
        if self.done {
            return None;
        }
        let limit = i64::try_from(self.page_size).unwrap_or(i64::MAX);
        let page = match (self.fetch)(self.conn, self.after.as_ref(), limit) {
            Ok(p) => p,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if page.len() < self.page_size {
            self.done = true;
        }
        if let Some(last) = page.last() {
            match (self.key)(last) {
                Some(k) => self.after = Some(k),
                None => self.stuck = !self.done,
            }
        }
        self.page = page.into_iter();
        self.page.next().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunk_sizes_respect_the_bind_limit() {
        assert_eq!(super::rows_per_insert(5), 13_107);
        assert_eq!(super::rows_per_insert(0), 65_535);
        assert_eq!(super::rows_per_insert(70_000), 1);
        assert!(super::rows_per_insert(7) * 7 <= super::MAX_BIND_PARAMS);
    }

    #[test]
    fn pages_stop_after_a_short_page() {
        let data: Vec<i64> = (1..=25).collect();
        let mut calls = 0;
        let pages: Vec<Vec<i64>> = super::pages(
            10,
            |after: Option<&i64>, limit| {
                calls += 1;
                let start = after.map_or(0, |a| *a as usize);
                Ok::<_, std::convert::Infallible>(
                    data.iter()
                        .copied()
                        .skip(start)
                        .take(limit as usize)
                        .collect(),
                )
            },
            |x| *x,
        )
        .collect::<Result<_, _>>()
        .unwrap();
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert_eq!(calls, 3);
        assert_eq!(pages.concat(), data);
    }
}
