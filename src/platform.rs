//! Writes that the server runs: Data Distiller's `CREATE TABLE … AS SELECT` and
//! `INSERT INTO … SELECT`, built from typed Diesel selects. No row passes through the client, which
//! is how Query Service takes writes (it has no COPY and documents no `INSERT … VALUES`); on
//! PostgreSQL they are just as valid and just as fast.
//!
//! ```no_run
//! use aep_diesel::platform;
//! use diesel::prelude::*;
//! # diesel::table! { luma_web_data (_id) { _id -> Text, page -> Nullable<Text> } }
//! # diesel::table! { landing_pages (_id) { _id -> Text, page -> Nullable<Text> } }
//! # fn f(conn: &mut aep_diesel::AepConnection) -> aep_diesel::Result<()> {
//! // A new dataset from a query (CTAS):
//! let n = platform::create_table_as(
//!     conn,
//!     "landing_pages",
//!     luma_web_data::table.filter(luma_web_data::page.like("/landing%")),
//! )?;
//! // Append a query's rows to an existing dataset; the column types are checked by the compiler:
//! platform::insert_into_select(
//!     conn,
//!     landing_pages::table,
//!     luma_web_data::table.filter(luma_web_data::page.eq("/home")),
//! )?;
//! # Ok(()) }
//! ```

use diesel::insertable::Insertable;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, InsertStatement, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::result::QueryResult;
use diesel::{RunQueryDsl, Table};

use crate::connection::AepConnection;
use crate::error::{Error, Result};

/// `CREATE TABLE "name" AS <query>`: a new table (on Query Service, a dataset) holding the query's
/// rows, written by the server. `name` is one identifier, quoted as needed. Returns the rows written
/// as the server reports them.
pub fn create_table_as<Q>(conn: &mut AepConnection, name: &str, query: Q) -> Result<usize>
where
    Q: Query + QueryFragment<Pg> + QueryId,
{
    if name.is_empty() || name.contains('\0') {
        return Err(Error::InvalidConfig {
            setting: "create_table_as name",
            reason: "must be a non-empty identifier without NUL",
        });
    }
    Ok(CreateTableAs { name, query }.execute(conn)?)
}

/// `INSERT INTO table <query>`: append the rows of a select whose columns match the table's (checked
/// at compile time by Diesel's `Insertable` for selects), written by the server. Returns the rows
/// inserted.
pub fn insert_into_select<T, Q>(conn: &mut AepConnection, table: T, query: Q) -> Result<usize>
where
    T: Table,
    Q: Insertable<T>,
    InsertStatement<T, Q::Values>: ExecuteDsl<AepConnection>,
{
    Ok(diesel::insert_into(table).values(query).execute(conn)?)
}

/// The statement behind [`create_table_as`].
#[derive(Debug, Clone, Copy)]
struct CreateTableAs<'a, Q> {
    name: &'a str,
    query: Q,
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for CreateTableAs<'_, Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("CREATE TABLE ");
        out.push_identifier(self.name)?;
        out.push_sql(" AS ");
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for CreateTableAs<'_, Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> RunQueryDsl<AepConnection> for CreateTableAs<'_, Q> {}
