//! [`AepConnection`]: a Diesel connection for the `Pg` backend, on libpq, that speaks two dialects.
//!
//! - **Binary** (PostgreSQL): what Diesel's own `PgConnection` does — named prepared statements
//!   cached per connection, binary parameters and results, row-by-row loading, binary COPY.
//! - **Compatible** (Query Service): only what Query Service's documented clients use — the simple
//!   query protocol, or unnamed Parse/Bind/Describe/Execute with text parameters and text results;
//!   session settings through the simple protocol; no `::regtype` look-ups.
//!
//! Either way every result column is read by its actual format code: a server that answers text
//! where binary was asked is read correctly, never misread (see [`crate::codec`]). The password is
//! handed to libpq as a keyword/value parameter, so no connection string holding it exists, and
//! Diesel's instrumentation sees only a redacted description.

mod error;
mod raw;
mod row;
mod types;

use std::any::TypeId;
use std::borrow::Cow;
use std::ffi::CString;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use diesel::connection::statement_cache::{
    MaybeCached, PrepareForCache, QueryFragmentForCachedStatement, StatementCache,
};
use diesel::connection::{
    AnsiTransactionManager, CacheSize, Connection, ConnectionSealed, DefaultLoadingMode,
    Instrumentation, InstrumentationEvent, LoadConnection, SimpleConnection, TransactionManager,
    TransactionManagerStatus,
};
use diesel::connection::{DebugQuery, DynInstrumentation, StrQueryHelper};
use diesel::expression::QueryMetadata;
use diesel::pg::{
    FailedToLookupTypeError, Pg, PgMetadataCacheKey, PgMetadataLookup, PgRowByRowLoadingMode,
    PgTypeMetadata, TransactionBuilder,
};
use diesel::query_builder::bind_collector::RawBytesBindCollector;
use diesel::query_builder::{Query, QueryFragment, QueryId};
use diesel::result::{ConnectionError, ConnectionResult, Error, QueryResult};

use crate::codec::{self, TextOptions};
use crate::options::ConnectOptions;

pub use error::sqlstate;
pub use row::{AepField, AepRow};

use raw::{Params, RawConnection, RawResult, ResultKind, TxStatus};
use row::{ResultSet, Unconvertible};
pub(crate) use types::TypeCache;

/// Which wire protocol a connection uses. Set per engine with
/// [`EngineBuilder::protocol`](crate::EngineBuilder::protocol); the choice is made once per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// Compatible on Query Service (a `*.platform-query.adobe.io` host, or a server reporting
    /// `server_version` 0.1.0); elsewhere Binary when a one-time probe shows the server honours
    /// binary results and named prepared statements, Compatible otherwise. The default.
    #[default]
    Auto,
    /// Only what Query Service is known to accept: the simple query protocol, or unnamed statements
    /// with text parameters and text results. No COPY.
    Compatible,
    /// What Diesel's `PgConnection` does: named prepared statements, binary parameters and results,
    /// binary COPY. Results are still read by their actual format code.
    Binary,
}

/// What a connection found out about its server, decided once per engine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved {
    binary: bool,
    query_service: bool,
}

/// State shared by the connections of one engine: the protocol decision and the type knowledge.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    resolved: OnceLock<Resolved>,
    pub(crate) types: TypeCache,
}

/// Host names of Query Service: the compatible protocol is used without probing.
fn is_query_service_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h.ends_with(".platform-query.adobe.io") || h.ends_with(".platform-query-stage.adobe.io")
}

/// A Diesel connection for PostgreSQL and Query Service. Pooled by [`Engine`](crate::Engine); the
/// whole Diesel DSL works on it (and on the pool's `PooledConnection`, which derefs to it).
pub struct AepConnection {
    raw: RawConnection,
    tm: AnsiTransactionManager,
    instrumentation: DynInstrumentation,
    cache: StatementCache<Pg, Statement>,
    shared: Arc<Shared>,
    resolved: Resolved,
    /// The first result of a row-by-row query, read while starting it.
    pending: Option<RawResult>,
}

impl std::fmt::Debug for AepConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AepConnection")
            .field("protocol", &self.protocol())
            .field("query_service", &self.resolved.query_service)
            .finish_non_exhaustive()
    }
}

/// A prepared statement as the cache keeps it: named (binary dialect, cached) or just the SQL.
pub(crate) struct Statement {
    name: Option<CString>,
    sql: CString,
}

fn prepare_statement(
    raw: &mut RawConnection,
    sql: &str,
    cache: PrepareForCache,
    metadata: &[PgTypeMetadata],
) -> QueryResult<Statement> {
    let types = metadata
        .iter()
        .map(|m| m.oid().map_err(|e| Error::SerializationError(Box::new(e))))
        .collect::<QueryResult<Vec<u32>>>()?;
    let sql = CString::new(sql)?;
    let name = match cache {
        PrepareForCache::Yes { counter } => {
            let name = CString::new(format!("__aep_stmt_{counter}"))?;
            let res = raw
                .prepare(&name, &sql, &types)
                .ok_or_else(|| error::send_failed(raw, raw.error_message()))?;
            if res.kind() != ResultKind::Command {
                return Err(error::from_result(res, raw));
            }
            Some(name)
        }
        PrepareForCache::No => None,
    };
    Ok(Statement { name, sql })
}

/// A query Diesel handed over, as a trait object (one copy of the connection code for all queries).
trait Source: QueryFragmentForCachedStatement<Pg> {
    fn query_id(&self) -> Option<TypeId>;
    fn with_debug(&self, f: &mut dyn FnMut(&dyn DebugQuery));
    fn collect(
        &self,
        out: &mut RawBytesBindCollector<Pg>,
        lookup: &mut (dyn PgMetadataLookup + 'static),
    ) -> QueryResult<()>;
}

impl<T: QueryFragment<Pg> + QueryId> Source for T {
    fn query_id(&self) -> Option<TypeId> {
        <T as QueryId>::query_id()
    }
    fn with_debug(&self, f: &mut dyn FnMut(&dyn DebugQuery)) {
        f(&diesel::debug_query::<Pg, _>(self))
    }
    fn collect(
        &self,
        out: &mut RawBytesBindCollector<Pg>,
        lookup: &mut (dyn PgMetadataLookup + 'static),
    ) -> QueryResult<()> {
        self.collect_binds(out, lookup, &Pg)
    }
}

/// Custom type look-ups during bind collection, on the raw connection (plain catalog joins, never
/// Diesel's `quote_ident($1)::regtype`).
impl PgMetadataLookup for AepConnection {
    fn lookup_type(&mut self, type_name: &str, schema: Option<&str>) -> PgTypeMetadata {
        match self.shared.types.oid_of(&mut self.raw, type_name, schema) {
            Ok((oid, array)) => PgTypeMetadata::new(oid, array),
            Err(_) => PgTypeMetadata::from_result(Err(FailedToLookupTypeError::new(
                PgMetadataCacheKey::new(
                    schema.map(|s| Cow::Owned(s.to_owned())),
                    Cow::Owned(type_name.to_owned()),
                ),
            ))),
        }
    }
}

/// A statement ready to send: the (maybe cached) statement, its binds, and the connection to send
/// it on (borrowed beside the cache).
type Prepared<'a> = (MaybeCached<'a, Statement>, Binds, &'a mut RawConnection);

/// The parameters of one execution, in the dialect's format.
struct Binds {
    values: Vec<Option<Vec<u8>>>,
    /// Type OIDs sent with unnamed statements (0 lets the server infer).
    types: Vec<u32>,
    binary: bool,
}

impl AepConnection {
    /// Connect with `options` (validated first) using `protocol`, sharing `shared` with the other
    /// connections of an engine.
    pub(crate) fn open(
        options: &ConnectOptions,
        protocol: Protocol,
        shared: Arc<Shared>,
    ) -> Result<Self, crate::Error> {
        options.validate()?;
        let mut instrumentation = DynInstrumentation::default_instrumentation();
        let described = crate::conninfo::describe(options);
        instrumentation
            .on_connection_event(InstrumentationEvent::start_establish_connection(&described));
        let result = Self::open_inner(options, protocol, shared);
        let diesel_error = result
            .as_ref()
            .err()
            .map(|e| ConnectionError::BadConnection(e.to_string()));
        instrumentation.on_connection_event(InstrumentationEvent::finish_establish_connection(
            &described,
            diesel_error.as_ref(),
        ));
        let mut conn = result?;
        conn.instrumentation = instrumentation;
        Ok(conn)
    }

    fn open_inner(
        options: &ConnectOptions,
        protocol: Protocol,
        shared: Arc<Shared>,
    ) -> Result<Self, crate::Error> {
        let params = crate::conninfo::libpq_params(options)?;
        let raw = RawConnection::connect(&params, options.get_connect_timeout())
            .map_err(|f| crate::connection_failure(&f.message, options))?;
        let query_service = raw.parameter_status("server_version").as_deref() == Some("0.1.0")
            || is_query_service_host(options.get_host());
        let mut conn = AepConnection {
            raw,
            tm: AnsiTransactionManager::default(),
            instrumentation: DynInstrumentation::none(),
            cache: StatementCache::new(),
            shared,
            resolved: Resolved {
                binary: false,
                query_service,
            },
            pending: None,
        };
        let binary = match protocol {
            Protocol::Binary => true,
            Protocol::Compatible => false,
            Protocol::Auto if query_service => false,
            Protocol::Auto => match conn.shared.resolved.get() {
                Some(r) => r.binary,
                None => conn.probe_binary(),
            },
        };
        conn.resolved.binary = binary;
        if protocol == Protocol::Auto {
            let _ = conn.shared.resolved.set(conn.resolved);
        }
        if !binary {
            conn.cache.set_cache_size(CacheSize::Disabled);
        }
        conn.configure_session()?;
        Ok(conn)
    }

    /// Whether the server honours binary results and named prepared statements (asked once per
    /// engine, on servers that are not Query Service).
    fn probe_binary(&mut self) -> bool {
        let Ok(sql) = CString::new("SELECT 1::int4") else {
            return false;
        };
        let binary_ok = self
            .raw
            .send_query_params(&sql, &Params::new(Vec::new(), &[], true), 1)
            .ok()
            .and_then(|()| self.raw.next_result())
            .is_some_and(|r| {
                r.kind() == ResultKind::Tuples
                    && r.column_format(0) == 1
                    && r.value(0, 0) == Some(&[0, 0, 0, 1][..])
            });
        while self.raw.next_result().is_some() {}
        if !binary_ok {
            return false;
        }
        let (Ok(name), Ok(one)) = (CString::new("__aep_probe"), CString::new("SELECT 1")) else {
            return false;
        };
        let named_ok = self
            .raw
            .prepare(&name, &one, &[])
            .is_some_and(|r| r.kind() == ResultKind::Command);
        if named_ok {
            let _ = self.batch_execute("DEALLOCATE __aep_probe");
        }
        named_ok
    }

    /// Session settings through the simple protocol (client_encoding went in the startup packet).
    fn configure_session(&mut self) -> Result<(), crate::Error> {
        let settings: &[&str] = if self.resolved.binary {
            &["SET TIME ZONE 'UTC'"]
        } else {
            // What Query Service's documented clients (RPostgres) send.
            &["SET TIMEZONE = 'UTC'", "SET DATESTYLE = 'ISO, MDY'"]
        };
        for sql in settings {
            if let Err(e) = self.batch_execute(sql) {
                if self.resolved.binary {
                    return Err(crate::Error::from(e));
                }
                log::warn!(
                    "aep-diesel: `{sql}` was refused ({e}); continuing with the server's setting"
                );
            }
        }
        Ok(())
    }

    /// The protocol in use: [`Protocol::Binary`] or [`Protocol::Compatible`].
    pub fn protocol(&self) -> Protocol {
        if self.resolved.binary {
            Protocol::Binary
        } else {
            Protocol::Compatible
        }
    }

    /// Whether the server is Query Service (it reports `server_version` 0.1.0, or the host is a
    /// Query Service host).
    pub fn is_query_service(&self) -> bool {
        self.resolved.query_service
    }

    /// The server's `server_version` parameter.
    pub fn server_version(&self) -> Option<String> {
        self.raw.parameter_status("server_version")
    }

    /// Build a transaction with an isolation level, read mode or deferrability.
    pub fn build_transaction(&mut self) -> TransactionBuilder<'_, Self> {
        TransactionBuilder::new(self)
    }

    fn text_options(&self) -> TextOptions {
        TextOptions {
            literal_null_in_records: self.resolved.query_service,
        }
    }

    /// Update Diesel's transaction manager from libpq's view of the session, as `PgConnection` does.
    fn update_transaction_status(&mut self, is_err: bool) {
        let status = self.raw.transaction_status();
        let tm = AnsiTransactionManager::transaction_manager_status_mut(self);
        match status {
            TxStatus::InError => tm.set_requires_rollback_maybe_up_to_top_level(true),
            TxStatus::Unknown => tm.set_in_error(),
            // also repairs the manager after a failed COMMIT, which still ends the transaction
            TxStatus::Idle => *tm = TransactionManagerStatus::Valid(Default::default()),
            TxStatus::InTransaction => {
                if is_err {
                    let open = matches!(tm, TransactionManagerStatus::Valid(v) if v.transaction_depth().is_some());
                    if !open {
                        tm.set_in_error();
                    }
                } else {
                    tm.set_requires_rollback_maybe_up_to_top_level(false);
                }
            }
            TxStatus::Active => {}
        }
    }

    fn finish<T>(&mut self, source: &dyn Source, result: QueryResult<T>) -> QueryResult<T> {
        self.update_transaction_status(result.is_err());
        let instrumentation = &mut self.instrumentation;
        source.with_debug(&mut |q| {
            instrumentation
                .on_connection_event(InstrumentationEvent::finish_query(q, result.as_ref().err()))
        });
        result
    }

    /// Collect the binds (looking up custom types on this connection), then find or prepare the
    /// statement.
    fn prepare(&mut self, source: &dyn Source) -> QueryResult<Prepared<'_>> {
        let instrumentation = &mut self.instrumentation;
        source.with_debug(&mut |q| {
            instrumentation.on_connection_event(InstrumentationEvent::start_query(q))
        });
        let mut collector = RawBytesBindCollector::<Pg>::new();
        source.collect(&mut collector, self)?;
        let metadata = collector.metadata.clone();
        let binary = self.resolved.binary;
        let binds = binds(&mut self.raw, &self.shared, binary, collector)?;
        let AepConnection {
            cache,
            raw,
            instrumentation,
            ..
        } = self;
        let stmt = cache.cached_statement_non_generic(
            source.query_id(),
            source,
            &Pg,
            &metadata,
            &mut *raw,
            prepare_statement,
            &mut **instrumentation,
        )?;
        Ok((stmt, binds, raw))
    }

    /// Send `stmt` and return the first result (not yet checked).
    fn send(
        raw: &mut RawConnection,
        stmt: &Statement,
        binds: &Binds,
        binary: bool,
        row_by_row: bool,
    ) -> QueryResult<RawResult> {
        let format = i32::from(binary);
        let sent = if !binary && binds.values.is_empty() {
            // No parameters: the simple query protocol, what psql and SQLAlchemy use.
            raw.send_query(&stmt.sql)
        } else {
            let params = Params::new(binds.types.clone(), &binds.values, binds.binary);
            match &stmt.name {
                Some(name) => raw.send_query_prepared(name, &params, format),
                None => raw.send_query_params(&stmt.sql, &params, format),
            }
        };
        sent.map_err(|m| error::send_failed(raw, m))?;
        if row_by_row && !raw.set_single_row_mode() {
            return Err(error::send_failed(
                raw,
                "single-row mode was refused".into(),
            ));
        }
        raw.next_result()
            .ok_or_else(|| error::send_failed(raw, raw.error_message()))
    }

    /// Turn a first result into `Ok` or the error it stands for.
    fn check(raw: &mut RawConnection, res: RawResult) -> QueryResult<RawResult> {
        match res.kind() {
            ResultKind::Error | ResultKind::Other => Err(error::from_result(res, raw)),
            ResultKind::Empty => {
                while raw.next_result().is_some() {}
                Err(Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::Unknown,
                    Box::new("Received an empty query".to_string()),
                ))
            }
            _ => Ok(res),
        }
    }

    fn execute_dyn(&mut self, source: &dyn Source) -> QueryResult<usize> {
        let run = |this: &mut Self| -> QueryResult<usize> {
            let binary = this.resolved.binary;
            let (stmt, binds, raw) = this.prepare(source)?;
            let first = Self::send(raw, &stmt, &binds, binary, false)?;
            let first = Self::check(raw, first)?;
            let count = first.rows_affected();
            while raw.next_result().is_some() {}
            Ok(count)
        };
        let result = run(self);
        self.finish(source, result)
    }

    fn load_dyn(&mut self, source: &dyn Source) -> QueryResult<Rc<ResultSet>> {
        let run = |this: &mut Self| -> QueryResult<Rc<ResultSet>> {
            let binary = this.resolved.binary;
            let first = {
                let (stmt, binds, raw) = this.prepare(source)?;
                let first = Self::send(raw, &stmt, &binds, binary, false)?;
                let first = Self::check(raw, first)?;
                let mut extra = false;
                while let Some(r) = raw.next_result() {
                    extra |= r.kind() == ResultKind::Tuples;
                }
                if extra {
                    return Err(Error::DeserializationError(
                        "the query returned more than one result set; run one statement at a time"
                            .into(),
                    ));
                }
                first
            };
            this.read(first).map(Rc::new)
        };
        let result = run(self);
        self.finish(source, result)
    }

    /// Convert a complete result, looking up unknown types in between (the connection is idle).
    fn read(&mut self, raw: RawResult) -> QueryResult<ResultSet> {
        let opts = self.text_options();
        let mut set = ResultSet::wrap(raw);
        loop {
            match set.prepare(&self.shared.types, opts) {
                Ok(()) => return Ok(set),
                Err(Unconvertible::Bad(e)) => return Err(e),
                Err(Unconvertible::UnknownType(oid)) => {
                    let mut wanted: Vec<u32> = set.text_oids().collect();
                    wanted.push(oid);
                    self.shared
                        .types
                        .resolve(&mut self.raw, &wanted)
                        .map_err(|e| Error::DeserializationError(e.0.into()))?;
                }
            }
        }
    }

    /// Row-by-row: in the compatible dialect the statement is parsed and described first (unnamed),
    /// so the result's types are known before rows stream in and no lookup is needed mid-stream.
    fn start_row_by_row(&mut self, source: &dyn Source) -> QueryResult<()> {
        let binary = self.resolved.binary;
        let shared = self.shared.clone();
        let (stmt, binds, raw) = self.prepare(source)?;
        if binary {
            let first = Self::send(raw, &stmt, &binds, true, true)?;
            let first = Self::check(raw, first)?;
            self.pending = Some(first);
            return Ok(());
        }
        let unnamed = CString::default();
        let parsed = raw
            .prepare(&unnamed, &stmt.sql, &binds.types)
            .ok_or_else(|| error::send_failed(raw, raw.error_message()))?;
        if parsed.kind() != ResultKind::Command {
            return Err(error::from_result(parsed, raw));
        }
        let described = raw
            .describe_prepared(&unnamed)
            .ok_or_else(|| error::send_failed(raw, raw.error_message()))?;
        if described.kind() != ResultKind::Command {
            return Err(error::from_result(described, raw));
        }
        let oids: Vec<u32> = (0..described.columns())
            .map(|c| described.column_type(c))
            .filter(|o| *o >= types::FIRST_USER_OID)
            .collect();
        drop(described);
        if !oids.is_empty() {
            shared
                .types
                .resolve(raw, &oids)
                .map_err(|e| Error::DeserializationError(e.0.into()))?;
        }
        let params = Params::new(binds.types.clone(), &binds.values, false);
        raw.send_query_prepared(&unnamed, &params, 0)
            .map_err(|m| error::send_failed(raw, m))?;
        if !raw.set_single_row_mode() {
            return Err(error::send_failed(
                raw,
                "single-row mode was refused".into(),
            ));
        }
        let first = raw
            .next_result()
            .ok_or_else(|| error::send_failed(raw, raw.error_message()))?;
        let first = Self::check(raw, first)?;
        self.pending = Some(first);
        Ok(())
    }
}

/// The collected binds in the dialect's format: binary as Diesel wrote them, or text.
fn binds(
    raw: &mut RawConnection,
    shared: &Shared,
    binary: bool,
    collector: RawBytesBindCollector<Pg>,
) -> QueryResult<Binds> {
    let oids = collector
        .metadata
        .iter()
        .map(|m| m.oid().map_err(|e| Error::SerializationError(Box::new(e))))
        .collect::<QueryResult<Vec<u32>>>()?;
    if binary {
        return Ok(Binds {
            values: collector.binds,
            types: oids,
            binary: true,
        });
    }
    let custom: Vec<u32> = oids
        .iter()
        .copied()
        .filter(|o| *o >= types::FIRST_USER_OID)
        .collect();
    if !custom.is_empty() {
        shared
            .types
            .resolve(raw, &custom)
            .map_err(|e| Error::SerializationError(e.0.into()))?;
    }
    let mut values = Vec::with_capacity(collector.binds.len());
    shared.types.with_shapes(|shapes| {
        for (bytes, oid) in collector.binds.into_iter().zip(&oids) {
            values.push(match bytes {
                None => None,
                Some(b) => {
                    let mut text = Vec::with_capacity(b.len() + 8);
                    codec::binary_to_text(*oid, &b, shapes, &mut text)
                        .map_err(|e| Error::SerializationError(Box::new(e)))?;
                    if text.contains(&0) {
                        return Err(Error::SerializationError(
                            "a text parameter contains a NUL byte".into(),
                        ));
                    }
                    text.push(0);
                    Some(text)
                }
            });
        }
        Ok(())
    })?;
    // Built-in types are named so the server types each parameter as Diesel meant; custom types are
    // left for the server to infer (their OIDs are not needed to write text).
    let types = oids
        .iter()
        .map(|o| if *o >= types::FIRST_USER_OID { 0 } else { *o })
        .collect();
    Ok(Binds {
        values,
        types,
        binary: false,
    })
}

impl SimpleConnection for AepConnection {
    fn batch_execute(&mut self, query: &str) -> QueryResult<()> {
        self.instrumentation
            .on_connection_event(InstrumentationEvent::start_query(&StrQueryHelper::new(
                query,
            )));
        let result = CString::new(query).map_err(Error::from).and_then(|sql| {
            let res = self
                .raw
                .exec(&sql)
                .ok_or_else(|| error::send_failed(&self.raw, self.raw.error_message()))?;
            Self::check(&mut self.raw, res).map(drop)
        });
        self.update_transaction_status(result.is_err());
        self.instrumentation
            .on_connection_event(InstrumentationEvent::finish_query(
                &StrQueryHelper::new(query),
                result.as_ref().err(),
            ));
        result
    }
}

impl ConnectionSealed for AepConnection {}

impl Connection for AepConnection {
    type Backend = Pg;
    type TransactionManager = AnsiTransactionManager;

    /// Connect with a URL or `key=value` string (parsed by [`ConnectOptions`], so the TLS floor and
    /// every check apply) and [`Protocol::Auto`]. Prefer an [`Engine`](crate::Engine).
    fn establish(database_url: &str) -> ConnectionResult<Self> {
        let options: ConnectOptions = database_url
            .parse()
            .map_err(|e: crate::Error| ConnectionError::InvalidConnectionUrl(e.to_string()))?;
        AepConnection::open(&options, Protocol::Auto, Arc::default())
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))
    }

    fn execute_returning_count<T>(&mut self, source: &T) -> QueryResult<usize>
    where
        T: QueryFragment<Pg> + QueryId,
    {
        self.execute_dyn(source)
    }

    fn transaction_state(&mut self) -> &mut AnsiTransactionManager {
        &mut self.tm
    }

    fn instrumentation(&mut self) -> &mut dyn Instrumentation {
        &mut *self.instrumentation
    }

    fn set_instrumentation(&mut self, instrumentation: impl Instrumentation) {
        self.instrumentation = instrumentation.into();
    }

    fn set_prepared_statement_cache_size(&mut self, size: CacheSize) {
        // The compatible dialect never names statements, whatever the caller asks.
        if self.resolved.binary {
            self.cache.set_cache_size(size);
        }
    }
}

/// Rows of a complete result, for [`DefaultLoadingMode`].
pub struct AepCursor {
    set: Rc<ResultSet>,
    next: usize,
    len: usize,
}

impl Iterator for AepCursor {
    type Item = QueryResult<AepRow>;

    fn next(&mut self) -> Option<Self::Item> {
        (self.next < self.len).then(|| {
            let row = AepRow::new(self.set.clone(), self.next);
            self.next += 1;
            Ok(row)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for AepCursor {}

impl LoadConnection<DefaultLoadingMode> for AepConnection {
    type Cursor<'conn, 'query> = AepCursor;
    type Row<'conn, 'query> = AepRow;

    fn load<'conn, 'query, T>(&'conn mut self, source: T) -> QueryResult<AepCursor>
    where
        T: Query + QueryFragment<Pg> + QueryId + 'query,
        Pg: QueryMetadata<T::SqlType>,
    {
        let set = self.load_dyn(&source)?;
        let len = set.rows();
        Ok(AepCursor { set, next: 0, len })
    }
}

/// Rows streamed one at a time (libpq single-row mode), for [`PgRowByRowLoadingMode`]. The connection
/// is busy until the cursor is dropped.
pub struct AepRowByRowCursor<'conn, 'query> {
    conn: &'conn mut AepConnection,
    source: Box<dyn Source + 'query>,
    done: bool,
    reported: bool,
}

impl Iterator for AepRowByRowCursor<'_, '_> {
    type Item = QueryResult<AepRow>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let res = match self.conn.pending.take() {
            Some(r) => r,
            None => match self.conn.raw.next_result() {
                Some(r) => r,
                None => {
                    self.done = true;
                    return None;
                }
            },
        };
        let res = match AepConnection::check(&mut self.conn.raw, res) {
            Ok(r) => r,
            Err(e) => {
                self.done = true;
                self.reported = true;
                let e = self.conn.finish(&*self.source, Err(e));
                return Some(e);
            }
        };
        if res.kind() != ResultKind::SingleTuple {
            // the closing zero-row result
            self.done = true;
            return None;
        }
        match self.conn.read(res) {
            Ok(set) => Some(Ok(AepRow::new(Rc::new(set), 0))),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Drop for AepRowByRowCursor<'_, '_> {
    fn drop(&mut self) {
        self.conn.pending = None;
        while self.conn.raw.next_result().is_some() {}
        if !self.reported {
            let _ = self.conn.finish(&*self.source, Ok(()));
        }
    }
}

impl LoadConnection<PgRowByRowLoadingMode> for AepConnection {
    type Cursor<'conn, 'query> = AepRowByRowCursor<'conn, 'query>;
    type Row<'conn, 'query> = AepRow;

    fn load<'conn, 'query, T>(
        &'conn mut self,
        source: T,
    ) -> QueryResult<AepRowByRowCursor<'conn, 'query>>
    where
        T: Query + QueryFragment<Pg> + QueryId + 'query,
        Pg: QueryMetadata<T::SqlType>,
    {
        let source: Box<dyn Source + 'query> = Box::new(source);
        if let Err(e) = self.start_row_by_row(&*source) {
            while self.raw.next_result().is_some() {}
            return Err(self.finish::<()>(&*source, Err(e)).unwrap_err());
        }
        Ok(AepRowByRowCursor {
            conn: self,
            source,
            done: false,
            reported: false,
        })
    }
}

impl diesel::migration::MigrationConnection for AepConnection {
    fn setup(&mut self) -> QueryResult<usize> {
        self.batch_execute(diesel::migration::CREATE_MIGRATIONS_TABLE)
            .map(|()| 0)
    }
}

impl diesel::r2d2::R2D2Connection for AepConnection {
    fn ping(&mut self) -> QueryResult<()> {
        self.batch_execute("SELECT 1")
    }

    fn is_broken(&mut self) -> bool {
        self.raw.is_bad() || AnsiTransactionManager::is_broken_transaction_manager(self)
    }
}

impl<'b, Changes, Output> diesel::query_dsl::UpdateAndFetchResults<Changes, Output> for AepConnection
where
    Changes: Copy
        + diesel::query_builder::AsChangeset<Target = <Changes as diesel::associations::HasTable>::Table>
        + diesel::query_builder::IntoUpdateTarget,
    diesel::dsl::Update<Changes, Changes>: diesel::query_dsl::LoadQuery<'b, AepConnection, Output>,
    <Changes::Table as diesel::Table>::AllColumns: diesel::expression::ValidGrouping<()>,
    <<Changes::Table as diesel::Table>::AllColumns as diesel::expression::ValidGrouping<()>>::IsAggregate:
        diesel::expression::MixedAggregates<
            diesel::expression::is_aggregate::No,
            Output = diesel::expression::is_aggregate::No,
        >,
{
    fn update_and_fetch(&mut self, changeset: Changes) -> QueryResult<Output> {
        use diesel::RunQueryDsl;
        diesel::update(changeset).set(changeset).get_result(self)
    }
}

impl AepConnection {
    /// Run `COPY … FROM STDIN` (`sql`) and stream what `write` produces into it. Binary dialect only:
    /// Query Service has no COPY protocol.
    pub(crate) fn copy_in(
        &mut self,
        sql: &str,
        write: &mut dyn FnMut(&mut Vec<u8>) -> QueryResult<bool>,
    ) -> QueryResult<usize> {
        let query = StrQueryHelper::new(sql);
        self.instrumentation
            .on_connection_event(InstrumentationEvent::start_query(&query));
        let result = self.copy_in_inner(sql, write);
        self.update_transaction_status(result.is_err());
        self.instrumentation
            .on_connection_event(InstrumentationEvent::finish_query(
                &query,
                result.as_ref().err(),
            ));
        result
    }

    fn copy_in_inner(
        &mut self,
        sql: &str,
        write: &mut dyn FnMut(&mut Vec<u8>) -> QueryResult<bool>,
    ) -> QueryResult<usize> {
        let raw = &mut self.raw;
        let sql = CString::new(sql)?;
        raw.send_query(&sql)
            .map_err(|m| error::send_failed(raw, m))?;
        let first = raw
            .next_result()
            .ok_or_else(|| error::send_failed(raw, raw.error_message()))?;
        if first.kind() != ResultKind::CopyIn {
            return Err(match Self::check(raw, first) {
                Err(e) => e,
                Ok(_) => Error::DeserializationError("the server did not start COPY IN".into()),
            });
        }
        drop(first);
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut failure = None;
        loop {
            buf.clear();
            match write(&mut buf) {
                Ok(more) => {
                    if let Err(m) = raw.put_copy_data(&buf) {
                        failure = Some(error::send_failed(raw, m));
                        break;
                    }
                    if !more {
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let abort = failure.as_ref().map(|_| "aep-diesel aborted the COPY");
        raw.put_copy_end(abort)
            .map_err(|m| error::send_failed(raw, m))?;
        let done = raw
            .next_result()
            .ok_or_else(|| error::send_failed(raw, raw.error_message()))?;
        let outcome = Self::check(raw, done).map(|r| r.rows_affected());
        while raw.next_result().is_some() {}
        match failure {
            Some(e) => Err(e),
            None => outcome,
        }
    }
}

#[cfg(test)]
mod host_tests {
    use super::is_query_service_host;

    #[test]
    fn query_service_hosts_are_recognised_and_look_alikes_are_not() {
        for host in [
            "acme.platform-query.adobe.io",
            "ACME.Platform-Query.Adobe.IO",
            "acme.platform-query.adobe.io.",
            "acme.platform-query-stage.adobe.io",
        ] {
            assert!(is_query_service_host(host), "{host}");
        }
        for host in [
            "localhost",
            "platform-query.adobe.io",
            "acme.platform-query.adobe.io.evil.example",
            "acme-platform-query.adobe.io",
            "acme.platform-query.adobe.com",
        ] {
            assert!(!is_query_service_host(host), "{host}");
        }
    }
}
