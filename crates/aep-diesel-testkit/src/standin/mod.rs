//! [`QsStandIn`]: a strict local stand-in for Adobe Experience Platform Query Service; the public
//! type's documentation says what it does and what it assumes.

mod composite;
mod metadata;
mod rules;
mod scram;
mod session;
mod upstream;
mod wire;

use std::collections::HashMap;
use std::fmt;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aep_diesel::ConnectOptions;
use openssl::ssl::{SslAcceptor, SslConnector, SslFiletype, SslMethod, SslVerifyMode, SslVersion};

use crate::error::{Error, Result};
use crate::local::LocalServer;
use metadata::{ForeignKey, Keys, PrimaryKey};

/// What the stand-in does with a Bind that asks for binary result columns. Binary results are
/// "unknown" on Query Service (platform-facts.md, "Protocol": Npgsql asks for binary but accepts text
/// back; no client is known to rely on it), so each plausible answer is available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BinaryResults {
    /// Refuse the Bind with `0A000` "Not supported" (and binary *parameters* likewise). Assumption:
    /// `0A000` rather than `08P01` (unknown in platform-facts.md, which lists both codes), because the
    /// message is well-formed and only its option is unsupported.
    #[default]
    Refuse,
    /// Pass binary formats through, as PostgreSQL does.
    Honour,
    /// Rewrite every Bind's result formats to text: the client gets format code 0 where it asked for
    /// binary, the nastiest plausible behaviour, which a client that never checks `PQfformat` misreads.
    AnswerText,
}

/// What the stand-in does with an `options` startup parameter (`-c name=value`, from `PGOPTIONS`).
/// Assumption: Query Service's startup handling is documented only for user, database,
/// `client_encoding` and `application_name` (unknown in platform-facts.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StartupOptions {
    /// Drop it silently: the plausible behaviour of a server that does not know it, and the dangerous
    /// one, since a client relying on `-c statement_timeout=…` silently loses the setting.
    #[default]
    Ignore,
    /// Forward it to PostgreSQL, which applies the settings.
    Forward,
    /// Refuse the connection with FATAL `0A000` "Not supported".
    Refuse,
}

/// What the stand-in refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalKind {
    /// A StartupMessage without TLS (`28000`).
    PlaintextStartup,
    /// A startup packet of another protocol version, or a replication request (`0A000`).
    UnsupportedProtocol,
    /// An `options` startup parameter under [`StartupOptions::Refuse`] (`0A000`).
    StartupOptions,
    /// The upstream refused the password (`28P01`).
    Authentication,
    /// More concurrent sessions than the limit (`XX000` "Session Limit Reached").
    SessionLimit,
    /// A message from a session older than its life (`57P01`).
    SessionExpired,
    /// `UPDATE`, `DELETE`, `MERGE`, or `INSERT … ON CONFLICT DO UPDATE` (`0A000`).
    UpdateDelete,
    /// `COPY … FROM STDIN` / `TO STDOUT` (`0A000`).
    Copy,
    /// A `LIMIT`/`FETCH` count over the maximum (`53400`).
    LimitTooLarge,
    /// A Bind asking for binary result columns (`0A000`).
    BinaryResults,
    /// A Bind with binary parameters (`0A000`).
    BinaryParameters,
    /// A named prepared statement or portal at the protocol level (`08P01`).
    NamedStatement,
    /// A frontend message the stand-in does not serve (FunctionCall, stray CopyData, …) (`08P01`).
    UnsupportedMessage,
    /// A `LIMIT $n` whose count comes as a bind parameter, unless allowed (`0A000`).
    BoundLimit,
    /// A statement naming a relation made unavailable with
    /// [`QsStandInBuilder::unavailable_relations`] (`0A000`).
    UnavailableRelation,
}

/// One refusal, as recorded for tests. Holds no SQL text and no credentials, only what was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// What was refused.
    pub kind: RefusalKind,
    /// The SQLSTATE the client was sent.
    pub sqlstate: &'static str,
    /// A short description (the keyword, the message type), for assertion messages.
    pub detail: String,
}

/// Configures a [`QsStandIn`]; every default is Query Service's documented (or, where unknown, its
/// strictest plausible) behaviour.
#[must_use = "call .start()"]
pub struct QsStandInBuilder {
    upstream_port: u16,
    dir: PathBuf,
    ca: PathBuf,
    options: ConnectOptions,
    binary_results: BinaryResults,
    named_statements: bool,
    bound_limit: bool,
    allow_update_delete: bool,
    startup_options: StartupOptions,
    session_limit: Option<usize>,
    session_life: Option<Duration>,
    row_cap: u64,
    limit_max: u64,
    keys: Keys,
    unavailable_relations: Vec<String>,
}

impl fmt::Debug for QsStandInBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QsStandInBuilder")
            .field("upstream_port", &self.upstream_port)
            .field("binary_results", &self.binary_results)
            .field("named_statements", &self.named_statements)
            .field("session_limit", &self.session_limit)
            .field("session_life", &self.session_life)
            .field("row_cap", &self.row_cap)
            .field("limit_max", &self.limit_max)
            .finish_non_exhaustive()
    }
}

impl QsStandInBuilder {
    /// Binary result formats. Default: [`BinaryResults::Refuse`], because no Query Service client is
    /// known to rely on them.
    pub fn binary_results(mut self, mode: BinaryResults) -> Self {
        self.binary_results = mode;
        self
    }

    /// Allow named prepared statements and portals at the protocol level. Default: refused with
    /// `08P01` "Unsupported message type", since no Query Service client is known to use them.
    /// Assumption: named portals are treated like named statements (unknown in platform-facts.md).
    pub fn named_statements(mut self, allow: bool) -> Self {
        self.named_statements = allow;
        self
    }

    /// Take a `LIMIT $n` whose count is a bind parameter (held to the same maximum as a literal one).
    /// Default: refused with `0A000`, since no Query Service client is known to send one
    /// (platform-facts.md lists it as unknown).
    pub fn bound_limit(mut self, allow: bool) -> Self {
        self.bound_limit = allow;
        self
    }

    /// Let `UPDATE`/`DELETE`/`MERGE` through. Default: refused with `0A000`; platform-facts.md says
    /// updating rows is not supported and DELETE is undocumented.
    pub fn allow_update_delete(mut self, allow: bool) -> Self {
        self.allow_update_delete = allow;
        self
    }

    /// The `options` startup parameter. Default: [`StartupOptions::Ignore`].
    pub fn startup_options(mut self, mode: StartupOptions) -> Self {
        self.startup_options = mode;
        self
    }

    /// Most concurrent client sessions (`None`: unlimited). Default: 5, the top of platform-facts.md's
    /// "often 1–5" per org. A session counts once it has authenticated (assumption: whether Query
    /// Service checks the limit before or after authentication is unknown in platform-facts.md; after
    /// means a wrong password never takes a slot and an over-limit client needs valid credentials to
    /// learn of the limit).
    pub fn session_limit(mut self, limit: Option<usize>) -> Self {
        self.session_limit = limit;
        self
    }

    /// How long a session may live, counted from its authentication (`None`: forever). Default: 24 h,
    /// the default expiry of platform credentials. The first message after that is answered with
    /// FATAL `57P01` "session expired …" and the connection is closed (assumption: code and message
    /// unknown in platform-facts.md).
    pub fn session_life(mut self, life: Option<Duration>) -> Self {
        self.session_life = life;
        self
    }

    /// Rows returned by a statement without its own LIMIT. Default: 50,000 (platform-facts.md,
    /// "Limits"). Assumption: the rest are dropped without an error and the CommandComplete tag counts
    /// the rows sent (unknown in platform-facts.md).
    pub fn row_cap(mut self, rows: u64) -> Self {
        self.row_cap = rows;
        self
    }

    /// Largest `LIMIT` accepted; a larger one fails with `53400`. Default: 100,000 (platform-facts.md,
    /// "Limits").
    pub fn limit_max(mut self, rows: u64) -> Self {
        self.limit_max = rows;
        self
    }

    /// Refuse (`0A000`) every client statement that names one of these relations (each identifier
    /// compared without case, schema-qualified or not), while the stand-in's own `SHOW` answers keep
    /// working: for testing fallbacks where Query Service's catalog emulation may not answer a
    /// query (platform-facts.md, "Catalog and metadata": beyond what psql and SQLAlchemy send, which
    /// catalog queries work is unknown). Default: none.
    pub fn unavailable_relations(mut self, names: &[&str]) -> Self {
        self.unavailable_relations = names.iter().map(|n| n.to_string()).collect();
        self
    }

    /// Declare a Data Distiller primary key (`ALTER TABLE … ADD CONSTRAINT PRIMARY KEY … NAMESPACE
    /// ns`), answered by `SHOW PRIMARY KEYS`. Declared here because such keys are unenforced and the
    /// catalog may not show them (platform-facts.md, "Writes").
    pub fn primary_key(mut self, table: &str, columns: &[&str], namespace: Option<&str>) -> Self {
        self.keys.primary.push(PrimaryKey {
            table: table.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            namespace: namespace.map(str::to_string),
        });
        self
    }

    /// Declare a Data Distiller foreign key, answered by `SHOW FOREIGN KEYS`.
    pub fn foreign_key(
        mut self,
        table: &str,
        columns: &[&str],
        ref_table: &str,
        ref_columns: &[&str],
    ) -> Self {
        self.keys.foreign.push(ForeignKey {
            table: table.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            ref_table: ref_table.to_string(),
            ref_columns: ref_columns.iter().map(|c| c.to_string()).collect(),
        });
        self
    }

    /// Listen on `127.0.0.1:<free port>` and serve in background threads.
    pub fn start(self) -> Result<QsStandIn> {
        let cert = self.dir.join("server.crt");
        let key = self.dir.join("server.key");
        if !cert.is_file() || !key.is_file() {
            return Err(Error::Setup {
                message: "the Query Service stand-in needs a LocalServer with TLS (server.crt/server.key)"
                    .into(),
            });
        }
        let acceptor = {
            // Mozilla "intermediate": TLS 1.2 and 1.3 only, as the platform (TLS 1.2) requires.
            let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
                .map_err(Error::Certificates)?;
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .and_then(|_| b.set_certificate_chain_file(&cert))
                .and_then(|_| b.set_private_key_file(&key, SslFiletype::PEM))
                .and_then(|_| b.check_private_key())
                .map_err(Error::Certificates)?;
            b.build()
        };
        let connector = {
            let mut b =
                SslConnector::builder(SslMethod::tls_client()).map_err(Error::Certificates)?;
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .and_then(|_| b.set_ca_file(&self.ca))
                .map_err(Error::Certificates)?;
            b.set_verify(SslVerifyMode::PEER);
            b.build()
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::io("listening for the Query Service stand-in", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("listening for the Query Service stand-in", e))?
            .port();
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("listening for the Query Service stand-in", e))?;
        let shared = Arc::new(Shared {
            config: Config {
                binary_results: self.binary_results,
                named_statements: self.named_statements,
                bound_limit: self.bound_limit,
                allow_update_delete: self.allow_update_delete,
                startup_options: self.startup_options,
                session_limit: self.session_limit,
                session_life: self.session_life,
                row_cap: self.row_cap,
                limit_max: self.limit_max,
                keys: self.keys,
                unavailable_relations: self.unavailable_relations,
                upstream_port: self.upstream_port,
                acceptor,
                connector,
            },
            stop: AtomicBool::new(false),
            started: AtomicUsize::new(0),
            admitted: Mutex::new(0),
            refusals: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
            sockets: Mutex::new(HashMap::new()),
            threads: Mutex::new(0),
            threads_done: Condvar::new(),
            cancel_keys: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        });
        let acceptor_shared = Arc::clone(&shared);
        let accept_thread = std::thread::Builder::new()
            .name("qs-standin-accept".into())
            .spawn(move || accept_loop(listener, acceptor_shared))
            .map_err(|e| Error::io("starting the stand-in's accept thread", e))?;
        Ok(QsStandIn {
            shared,
            port,
            ca: self.ca,
            options: self.options,
            accept_thread: Some(accept_thread),
        })
    }
}

/// A running strict local stand-in for Adobe Experience Platform Query Service.
///
/// A PostgreSQL-protocol (v3) front end in front of a [`LocalServer`] that behaves as Query Service is
/// documented to (platform-facts.md, the team's digest of Adobe's documentation and of the clients Adobe
/// documents) and refuses what is not known to work there, so that aep-diesel's code paths meet the
/// platform's rules in a test instead of in production:
///
/// - TLS is required (plaintext startup refused), the client authenticates with a cleartext password
///   inside TLS, `server_version` is `0.1.0`;
/// - `UPDATE`/`DELETE` and the COPY protocol are refused with `0A000`, a `LIMIT` over 100,000 with
///   `53400`, results without a LIMIT are cut at 50,000 rows;
/// - the Adobe-only `SHOW` commands and Spark-style `SET key = value` are answered;
/// - binary results and named prepared statements (unknown on the platform) are refused by default, or
///   answered in text where binary was asked ([`BinaryResults::AnswerText`]) to show what a client that
///   ignores format codes would suffer;
/// - composite (XDM object) values are written with `NULL` for NULL fields, as the platform does;
/// - the number of concurrent sessions and their life are limited.
///
/// Behaviour not covered by platform-facts.md is marked "assumption: … (unknown in
/// platform-facts.md)" where it is decided, and is a switch where a test may want the other choice.
/// Every refusal is recorded ([`QsStandIn::refusals`]) so tests can assert on what was refused.
///
/// One thread accepts connections and one thread serves each client session (plain std threads, no
/// async runtime); dropping it stops both and cuts every session.
///
/// ```no_run
/// use aep_diesel_testkit::{BinaryResults, LocalServer, QsStandIn};
/// let server = LocalServer::shared()?;
/// let qs = QsStandIn::builder(server).session_limit(Some(2)).start()?;
/// // aep-diesel picks the compatible protocol here (the server reports version 0.1.0)...
/// let engine = aep_diesel::Engine::builder(qs.options_for("prod:all")).build()?;
/// assert_eq!(engine.get()?.protocol(), aep_diesel::Protocol::Compatible);
/// // ...and nothing it sends is refused (Diesel's own PgConnection asks for binary results, which
/// // the strict default refuses with RefusalKind::BinaryResults)
/// assert!(qs.refusals().is_empty());
/// // a server that answers text where binary was asked: read by format code, correctly
/// let lenient = QsStandIn::builder(server)
///     .binary_results(BinaryResults::AnswerText)
///     .named_statements(true)
///     .start()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Assumptions
///
/// Where platform-facts.md is silent, the stand-in picks the plausible behaviour that is hardest on a
/// client, and says so here (and where it is decided), so a test failure can be traced to a guess
/// rather than a fact:
///
/// - assumption: a StartupMessage without TLS gets FATAL `28000` "SSL required" (unknown in
///   platform-facts.md, which only says `sslmode=disable` is not supported). Direct TLS (libpq 17's
///   `sslnegotiation=direct`) is not served; only protocol 3.0 is offered (NegotiateProtocolVersion).
/// - assumption: a CancelRequest is accepted in plaintext, as PostgreSQL and libpq's `PQcancel` do, or
///   inside TLS, and forwarded to the upstream session (unknown in platform-facts.md).
/// - assumption: the `options` startup parameter is ignored ([`StartupOptions`]); a `replication`
///   request is refused with `0A000`; every other startup parameter is forwarded (unknown in
///   platform-facts.md).
/// - assumption: startup failures other than a wrong password (an unknown database, …) reach the client
///   in PostgreSQL's words (Query Service's unknown in platform-facts.md).
/// - assumption: sessions count towards the limit, and age, from their authentication
///   ([`QsStandInBuilder::session_limit`], [`QsStandInBuilder::session_life`]).
/// - assumption: refusals are ERRORs that leave the session usable, and fail an open transaction
///   as a server error does; in an already failed transaction a refused statement gets the refusal
///   (not `25P02`). Unsupported frontend messages (FunctionCall, stray CopyData) get ERROR `08P01` and
///   ReadyForQuery rather than a FATAL (unknown in platform-facts.md).
/// - assumption: `MERGE` and `INSERT … ON CONFLICT DO UPDATE` count as updates, and so do
///   data-modifying CTEs and `PREPARE … AS UPDATE`; `EXPLAIN ANALYZE UPDATE` is not recognised (the
///   rules read leading keywords, not a parse tree).
/// - assumption: savepoints (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`) are forwarded like
///   `BEGIN/COMMIT/ROLLBACK` (platform-facts.md lists only the latter).
/// - assumption: a statement over the row cap is cut without an error, its tag counting the rows sent;
///   a cursor `FETCH n` counts as a LIMIT, `FETCH ALL` does not; a bound `LIMIT $n`, refused by
///   default ([`QsStandInBuilder::bound_limit`]), is held to the same maximum when its value arrives
///   in Bind (unknown in platform-facts.md).
/// - assumption: a Bind with any binary result format code is refused, even for a statement without
///   result columns (whether Query Service checks the request or the columns is unknown).
/// - assumption: a Spark-style `SET` that cannot be answered by the stand-in alone (inside a
///   multi-statement Query, or through Parse/Bind/Execute) is sent upstream as the placeholder
///   `SET aep_qs."key" = 'value'`, which PostgreSQL answers with the same `SET` tag.
/// - assumption: anonymous records (`ROW(1, NULL)`) are spelled like XDM objects at the top level;
///   composite types created inside a session are learned once the session is idle (status `I`)
///   after the statement that created them.
/// - The refusals raised inside PostgreSQL leave one prepared statement per SQLSTATE,
///   `aep_standin_raise_<code>`, in the upstream session (visible in `pg_prepared_statements`).
/// - Flattening (`?FLATTEN`) and `SET auto_to_json` are accepted but not emulated.
pub struct QsStandIn {
    shared: Arc<Shared>,
    port: u16,
    ca: PathBuf,
    options: ConnectOptions,
    accept_thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for QsStandIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QsStandIn")
            .field("port", &self.port)
            .field("upstream_port", &self.shared.config.upstream_port)
            .finish_non_exhaustive()
    }
}

impl QsStandIn {
    /// A builder in front of `server` (which must serve TLS): the stand-in uses its certificate and
    /// key for its own TLS, its CA to verify it upstream, and its platform role's credentials for
    /// [`QsStandIn::options_for`].
    pub fn builder(server: &LocalServer) -> QsStandInBuilder {
        QsStandInBuilder {
            upstream_port: server.port(),
            dir: server.dir().to_path_buf(),
            ca: server.ca_cert_path(),
            options: server.options(),
            binary_results: BinaryResults::Refuse,
            named_statements: false,
            bound_limit: false,
            allow_update_delete: false,
            startup_options: StartupOptions::Ignore,
            session_limit: Some(5),
            session_life: Some(Duration::from_secs(24 * 3600)),
            row_cap: 50_000,
            limit_max: 100_000,
            keys: Keys::default(),
            unavailable_relations: Vec::new(),
        }
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host name clients use; the LocalServer's certificate names it, so `verify-full` works.
    pub fn host(&self) -> &'static str {
        "localhost"
    }

    /// The CA certificate that verifies the stand-in (the LocalServer's).
    pub fn ca_cert_path(&self) -> PathBuf {
        self.ca.clone()
    }

    /// Options of the platform role (`ACME@AdobeOrg`) on `dbname` through the stand-in, verify-full.
    pub fn options_for(&self, dbname: &str) -> ConnectOptions {
        self.options.clone().dbname(dbname).port(self.port)
    }

    /// Sessions admitted so far (authenticated and within the session limit).
    pub fn sessions_started(&self) -> usize {
        self.shared.started.load(Ordering::SeqCst)
    }

    /// Sessions holding a slot right now. A client's disconnect frees its slot a moment later, when
    /// its session thread notices; tests that reconnect at the limit wait for this to drop.
    pub fn sessions_active(&self) -> usize {
        *lock(&self.shared.admitted)
    }

    /// Everything refused so far, in order.
    pub fn refusals(&self) -> Vec<Refusal> {
        lock(&self.shared.refusals).clone()
    }

    /// Why sessions ended abnormally (network or protocol failures, not refusals), for diagnosing a
    /// failing test. Never holds credentials.
    pub fn session_failures(&self) -> Vec<String> {
        lock(&self.shared.failures).clone()
    }

    /// Wait until at most `n` sessions hold a slot, or `timeout` passes; whether it happened.
    pub fn wait_sessions_active_at_most(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.sessions_active() > n {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Drop for QsStandIn {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        for sockets in lock(&self.shared.sockets).values() {
            for s in sockets {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        // Session threads end once their sockets are cut; wait for them, bounded.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut threads = lock(&self.shared.threads);
        while *threads > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            threads = self
                .shared
                .threads_done
                .wait_timeout(threads, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The settings every session reads.
pub(crate) struct Config {
    pub binary_results: BinaryResults,
    pub named_statements: bool,
    pub bound_limit: bool,
    pub allow_update_delete: bool,
    pub startup_options: StartupOptions,
    pub session_limit: Option<usize>,
    pub session_life: Option<Duration>,
    pub row_cap: u64,
    pub limit_max: u64,
    pub keys: Keys,
    pub unavailable_relations: Vec<String>,
    pub upstream_port: u16,
    pub acceptor: SslAcceptor,
    pub connector: SslConnector,
}

/// State shared by the handle, the accept thread and the session threads.
pub(crate) struct Shared {
    pub config: Config,
    stop: AtomicBool,
    started: AtomicUsize,
    admitted: Mutex<usize>,
    refusals: Mutex<Vec<Refusal>>,
    failures: Mutex<Vec<String>>,
    /// Each live session's sockets (client, upstream), to cut them on drop.
    sockets: Mutex<HashMap<u64, Vec<TcpStream>>>,
    threads: Mutex<usize>,
    threads_done: Condvar,
    /// The BackendKeyData handed to clients → the upstream's.
    cancel_keys: Mutex<HashMap<(i32, i32), (i32, i32)>>,
    next_id: AtomicU64,
}

impl Shared {
    pub(crate) fn refuse(
        &self,
        kind: RefusalKind,
        sqlstate: &'static str,
        detail: impl Into<String>,
    ) {
        lock(&self.refusals).push(Refusal {
            kind,
            sqlstate,
            detail: detail.into(),
        });
    }

    pub(crate) fn failure(&self, what: String) {
        if !self.stop.load(Ordering::SeqCst) {
            lock(&self.failures).push(what);
        }
    }

    /// Take a session slot, if one is free.
    pub(crate) fn admit(&self) -> bool {
        let mut n = lock(&self.admitted);
        if self.config.session_limit.is_some_and(|max| *n >= max) {
            return false;
        }
        *n += 1;
        self.started.fetch_add(1, Ordering::SeqCst);
        true
    }

    pub(crate) fn release(&self) {
        let mut n = lock(&self.admitted);
        *n = n.saturating_sub(1);
    }

    /// Remember a session's socket so that drop can cut it; false when the stand-in is stopping (the
    /// caller then ends at once, since drop may already have cut the others).
    pub(crate) fn register_socket(&self, id: u64, socket: &TcpStream) -> bool {
        let mut sockets = lock(&self.sockets);
        if self.stop.load(Ordering::SeqCst) {
            return false;
        }
        if let Ok(s) = socket.try_clone() {
            sockets.entry(id).or_default().push(s);
        }
        true
    }

    pub(crate) fn register_cancel_key(&self, ours: (i32, i32), upstream: (i32, i32)) {
        lock(&self.cancel_keys).insert(ours, upstream);
    }

    /// Forward a client's CancelRequest to the upstream session it names; unknown keys are ignored,
    /// as PostgreSQL does.
    pub(crate) fn cancel(&self, ours: (i32, i32)) {
        let upstream = lock(&self.cancel_keys).get(&ours).copied();
        if let Some(key) = upstream {
            if let Err(e) = upstream::cancel(self.config.upstream_port, key) {
                self.failure(format!("forwarding a cancel request: {e}"));
            }
        }
    }

    fn end_session(&self, id: u64, cancel_key: Option<(i32, i32)>) {
        lock(&self.sockets).remove(&id);
        if let Some(k) = cancel_key {
            lock(&self.cancel_keys).remove(&k);
        }
    }
}

/// Ends a session thread's bookkeeping when the thread ends, however it ends.
struct Finish {
    shared: Arc<Shared>,
    id: u64,
    cancel_key: Option<(i32, i32)>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        self.shared.end_session(self.id, self.cancel_key);
        *lock(&self.shared.threads) -= 1;
        self.shared.threads_done.notify_all();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
                if stream.set_nonblocking(false).is_err() || !shared.register_socket(id, &stream) {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                *lock(&shared.threads) += 1;
                let session_shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name(format!("qs-standin-session-{id}"))
                    .spawn(move || {
                        // A guard, so that even a panicking session frees its bookkeeping and lets
                        // drop finish.
                        let mut finish = Finish {
                            shared: session_shared,
                            id,
                            cancel_key: None,
                        };
                        let shared = Arc::clone(&finish.shared);
                        session::serve(stream, id, &shared, &mut finish.cancel_key);
                    });
                if spawned.is_err() {
                    *lock(&shared.threads) -= 1;
                    shared.end_session(id, None);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
