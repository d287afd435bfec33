//! `EngineBuilder` and `Engine`: a lazy, TLS-only pool of Diesel `PgConnection`s.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::connection::{AepConnection, Protocol, Shared};
use crate::credentials::{CredentialSource, Described};
use crate::error::{Error, Result};
use crate::options::ConnectOptions;
use crate::pool::{FailureLog, LogErrors, Manager};

/// The pool's connection manager. Opaque: it exists so that [`PooledConnection`] can be named.
pub type ConnectionManager = Manager;

/// A connection checked out of an [`Engine`]. It dereferences to [`AepConnection`] and implements
/// `diesel::Connection` itself, so it works with the whole Diesel DSL; dropping it returns it to the pool.
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// Longest connection life allowed: Query Service ends sessions after 24 hours by default.
const PLATFORM_SESSION_LIFE: Duration = Duration::from_secs(24 * 3600);

/// Configures an [`Engine`]: where connections come from, and the pool. Created by [`Engine::builder`]
/// or [`Engine::builder_with_source`]; every setting has a platform-friendly default, and
/// [`EngineBuilder::build`] validates them all.
#[must_use = "call .build() to get an Engine"]
pub struct EngineBuilder {
    source: Arc<dyn CredentialSource>,
    /// The options of a fixed source, checked by `build`.
    fixed: Option<ConnectOptions>,
    max_size: u32,
    min_idle: u32,
    max_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
    checkout_timeout: Duration,
    test_on_checkout: bool,
    check_idle: Duration,
    protocol: Protocol,
}

impl EngineBuilder {
    fn new(source: Arc<dyn CredentialSource>, fixed: Option<ConnectOptions>) -> Self {
        EngineBuilder {
            source,
            fixed,
            protocol: Protocol::Auto,
            max_size: 2,
            min_idle: 0,
            max_lifetime: Some(Duration::from_secs(3600)),
            idle_timeout: Some(Duration::from_secs(600)),
            checkout_timeout: Duration::from_secs(30),
            test_on_checkout: true,
            check_idle: Duration::from_millis(500),
        }
    }

    /// Most connections open at once; each holds one of the org's few Query Service sessions. Default: 2.
    pub fn max_size(mut self, n: u32) -> Self {
        self.max_size = n;
        self
    }

    /// Idle connections kept open. Default: 0, which keeps the engine lazy: nothing connects until the
    /// first [`Engine::get`]. Anything above 0 connects in the background as soon as the engine is built.
    pub fn min_idle(mut self, n: u32) -> Self {
        self.min_idle = n;
        self
    }

    /// Connections older than this are closed. Default: 1 hour; must stay under the platform's 24-hour
    /// session life. `None` is refused for the same reason.
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Idle connections are closed after this, freeing the session slot. Default: 10 minutes.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long [`Engine::get`] waits for a free connection before [`Error::PoolTimeout`]. Default: 30 s.
    pub fn checkout_timeout(mut self, timeout: Duration) -> Self {
        self.checkout_timeout = timeout;
        self
    }

    /// Check connections on checkout. Default: on. A connection that answered a query within
    /// [`EngineBuilder::health_check_idle`] is handed out directly; an idler one first answers a
    /// `SELECT 1`. Lost connections and connections left in a transaction are never handed out either way.
    pub fn test_on_checkout(mut self, on: bool) -> Self {
        self.test_on_checkout = on;
        self
    }

    /// How long a connection may sit unused before a checkout checks it with a round trip.
    /// Default: 500 ms. `Duration::ZERO` checks on every checkout.
    pub fn health_check_idle(mut self, idle: Duration) -> Self {
        self.check_idle = idle;
        self
    }

    /// The wire protocol. Default: [`Protocol::Auto`] — the compatible protocol on Query Service
    /// (decided by host name or by the server's `server_version` 0.1.0), elsewhere binary results and
    /// cached prepared statements when a one-time probe per engine shows the server honours them.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Validate everything and create the engine. Performs no network I/O; with a fixed
    /// [`ConnectOptions`] it validates them too (and that a root certificate file exists).
    pub fn build(self) -> Result<Engine> {
        let cfg =
            |setting: &'static str, reason: &'static str| Error::InvalidConfig { setting, reason };
        if self.max_size == 0 {
            return Err(cfg("max_size", "must be at least 1"));
        }
        if self.min_idle > self.max_size {
            return Err(cfg("min_idle", "must not exceed max_size"));
        }
        match self.max_lifetime {
            None => {
                return Err(cfg(
                    "max_lifetime",
                    "must be set: Query Service ends sessions after 24 hours",
                ));
            }
            Some(d) if d >= PLATFORM_SESSION_LIFE => {
                return Err(cfg(
                    "max_lifetime",
                    "must be under 24 hours, the platform's session life",
                ));
            }
            Some(d) if d.is_zero() => return Err(cfg("max_lifetime", "must be positive")),
            _ => {}
        }
        if self.checkout_timeout.is_zero() {
            return Err(cfg("checkout_timeout", "must be positive"));
        }
        if let Some(opts) = &self.fixed {
            opts.validate()?;
            crate::conninfo::settings(opts)?;
        }
        let config = PoolConfig {
            protocol: self.protocol,
            shared: Arc::new(Shared::default()),
            check_idle: self.check_idle,
            max_size: self.max_size,
            min_idle: self.min_idle,
            max_lifetime: self.max_lifetime,
            idle_timeout: self.idle_timeout,
            checkout_timeout: self.checkout_timeout,
            test_on_checkout: self.test_on_checkout,
        };
        let generation = self.source.generation();
        let failures = FailureLog::default();
        let pool = config.pool(config.manager(&self.source, failures.clone()));
        Ok(Engine {
            inner: Arc::new(Inner {
                source: self.source,
                config,
                slot: RwLock::new(Slot {
                    generation,
                    pool,
                    failures,
                }),
            }),
        })
    }
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("source", &Described(&*self.source))
            .field("max_size", &self.max_size)
            .field("min_idle", &self.min_idle)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct PoolConfig {
    protocol: Protocol,
    /// Outlives pool replacements: the protocol is decided and types are looked up once per engine.
    shared: Arc<Shared>,
    check_idle: Duration,
    max_size: u32,
    min_idle: u32,
    max_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
    checkout_timeout: Duration,
    test_on_checkout: bool,
}

impl PoolConfig {
    /// The connection manager for these settings (the one place a `Manager` is made).
    fn manager(&self, source: &Arc<dyn CredentialSource>, failures: FailureLog) -> Manager {
        Manager::new(
            source.clone(),
            self.protocol,
            self.shared.clone(),
            failures,
            self.check_idle,
        )
    }

    fn pool(&self, manager: Manager) -> r2d2::Pool<Manager> {
        r2d2::Pool::builder()
            .max_size(self.max_size)
            .min_idle(Some(self.min_idle))
            .max_lifetime(self.max_lifetime)
            .idle_timeout(self.idle_timeout)
            .connection_timeout(self.checkout_timeout)
            .test_on_check_out(self.test_on_checkout)
            .error_handler(Box::new(LogErrors))
            // build_unchecked: never wait for (or attempt) connections here.
            .build_unchecked(manager)
    }
}

struct Slot {
    generation: u64,
    pool: r2d2::Pool<Manager>,
    failures: FailureLog,
}

struct Inner {
    source: Arc<dyn CredentialSource>,
    config: PoolConfig,
    slot: RwLock<Slot>,
}

/// A lazy pool of TLS connections, the Rust counterpart of SQLAlchemy's `create_engine`.
///
/// Cloning is cheap and shares the pool. Building performs no network I/O; the first [`Engine::get`]
/// connects. When the credential source reports new credentials (see [`CredentialSource::generation`]),
/// connections made with the old ones are retired: idle ones at once, checked-out ones when returned.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// A snapshot of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolState {
    /// Open connections, idle or checked out.
    pub connections: u32,
    /// Idle connections.
    pub idle: u32,
    /// The pool's size limit.
    pub max_size: u32,
}

impl Engine {
    /// Start configuring an engine that connects with `options` (checked by
    /// [`EngineBuilder::build`]).
    pub fn builder(options: ConnectOptions) -> EngineBuilder {
        EngineBuilder::new(Arc::new(options.clone()), Some(options))
    }

    /// Start configuring an engine that asks `source` for options on every new connection: a
    /// [`RotatingCredentials`](crate::RotatingCredentials) or any `Fn() -> Result<ConnectOptions>`, so
    /// that expiring tokens can be renewed without a restart.
    pub fn builder_with_source(source: impl CredentialSource) -> EngineBuilder {
        EngineBuilder::new(Arc::new(source), None)
    }

    fn manager(&self, failures: FailureLog) -> Manager {
        self.inner.config.manager(&self.inner.source, failures)
    }

    fn replace_pool(&self, slot: &mut Slot) {
        slot.failures = FailureLog::default();
        slot.pool = self.inner.config.pool(self.manager(slot.failures.clone()));
    }

    fn pool(&self) -> (r2d2::Pool<Manager>, FailureLog) {
        let generation = self.inner.source.generation();
        {
            let slot = self.inner.slot.read().unwrap_or_else(|e| e.into_inner());
            if slot.generation == generation {
                return (slot.pool.clone(), slot.failures.clone());
            }
        }
        let mut slot = self.inner.slot.write().unwrap_or_else(|e| e.into_inner());
        if slot.generation != generation {
            log::info!(
                "aep-diesel: credentials changed; retiring connections opened with the old ones"
            );
            self.replace_pool(&mut slot);
            slot.generation = generation;
        }
        (slot.pool.clone(), slot.failures.clone())
    }

    /// Check out a connection, connecting if none is idle.
    ///
    /// A failed connection attempt is reported at once, classified ([`Error::Authentication`],
    /// [`Error::Tls`], [`Error::Unreachable`], …), rather than after the checkout timeout;
    /// [`Error::PoolTimeout`] means every connection stayed busy for the whole timeout.
    pub fn get(&self) -> Result<PooledConnection> {
        let start = Instant::now();
        let (pool, failures) = self.pool();
        let deadline = start + self.inner.config.checkout_timeout;
        // r2d2 keeps retrying a failed connect in the background and only wakes waiters on success, so
        // wait in slices and look at the manager's failure log in between (a standing failure is
        // reported at once). Each get_timeout may start a
        // connect when the pool has room, so the first slice is long enough for a normal TLS handshake:
        // one checkout should open one session, not max_size of them.
        let mut slice = Duration::from_millis(500);
        loop {
            let wait = slice.min(deadline.saturating_duration_since(Instant::now()));
            if let Ok(conn) = pool.get_timeout(wait.max(Duration::from_millis(1))) {
                return Ok(conn);
            }
            if let Some(failure) = failures.current() {
                return Err(failure.into());
            }
            if Instant::now() >= deadline {
                return Err(Error::PoolTimeout {
                    waited: start.elapsed(),
                    max_size: self.inner.config.max_size,
                });
            }
            slice = (slice * 2).min(Duration::from_secs(2));
        }
    }

    /// Open one connection outside the pool (for work that must not hold a pool slot, such as a long
    /// COPY from a second thread). It is closed when dropped.
    pub fn connect_unpooled(&self) -> Result<AepConnection> {
        self.manager(FailureLog::default()).establish()
    }

    /// Close every idle connection and retire checked-out ones when they are returned.
    pub fn refresh(&self) {
        let mut slot = self.inner.slot.write().unwrap_or_else(|e| e.into_inner());
        self.replace_pool(&mut slot);
    }

    /// The pool's current state.
    pub fn state(&self) -> PoolState {
        let s = self.pool().0.state();
        PoolState {
            connections: s.connections,
            idle: s.idle_connections,
            max_size: self.inner.config.max_size,
        }
    }

    /// Run the pending migrations of `migrations` (a user's own `embed_migrations!` set) on one pooled
    /// connection (feature `migrations`).
    /// Returns the versions applied.
    #[cfg(feature = "migrations")]
    pub fn run_migrations<S>(&self, migrations: S) -> Result<Vec<String>>
    where
        S: diesel::migration::MigrationSource<diesel::pg::Pg>,
    {
        use diesel_migrations::MigrationHarness;
        let mut conn = self.get()?;
        let applied = conn
            .run_pending_migrations(migrations)
            .map_err(|source| Error::Migration { source })?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    }
}

impl fmt::Debug for Engine {
    /// Shows the source and the pool as they stand; never asks the source for options and never
    /// replaces the pool.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.inner.slot.read().unwrap_or_else(|e| e.into_inner());
        let s = slot.pool.state();
        f.debug_struct("Engine")
            .field("source", &Described(&*self.inner.source))
            .field("connections", &s.connections)
            .field("idle", &s.idle_connections)
            .field("max_size", &self.inner.config.max_size)
            .finish()
    }
}

/// Create an engine from a URL the way SQLAlchemy's `create_engine(url)` does, with aep-diesel's
/// defaults: components are re-encoded, `sslmode` must be `require` or stronger, and nothing connects
/// until the first query.
///
/// ```no_run
/// let engine = aep_diesel::create_engine("postgresql://ACME@AdobeOrg:token@acme.platform-query.adobe.io:80/prod:all")?;
/// let names = engine.inspect()?.table_names(None)?;
/// # Ok::<(), aep_diesel::Error>(())
/// ```
pub fn create_engine(url: &str) -> Result<Engine> {
    Engine::builder(url.parse()?).build()
}
