//! The r2d2 connection manager: every new connection asks the credential source for current credentials.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{Connection, Instrumentation, InstrumentationEvent};
use diesel::r2d2::R2D2Connection;

use crate::connection::{AepConnection, Protocol, Shared};
use crate::credentials::CredentialSource;
use crate::error::Error;
use crate::failure::Failure;

/// The r2d2 manager behind an [`Engine`](crate::Engine)'s pool. Opaque; it exists so that
/// [`PooledConnection`](crate::PooledConnection) can be named.
pub struct Manager {
    source: Arc<dyn CredentialSource>,
    protocol: Protocol,
    /// The protocol decision and type knowledge, shared by all the engine's connections.
    shared: Arc<Shared>,
    /// The most recent connect failure, so a waiting `Engine::get` can report it at once instead of
    /// waiting out the checkout timeout.
    last_failure: FailureLog,
    /// Connections that answered within this long are handed out without a health-check round trip.
    check_idle: Duration,
}

/// Per-connection health, kept in the connection's Diesel instrumentation slot (which Diesel lets us
/// downcast), so r2d2's `is_valid`/`has_broken` can read it without I/O. Events are forwarded to the
/// instrumentation Diesel would have installed, so a user's global instrumentation keeps working.
struct Health {
    /// When the last query succeeded; `None` after a failed one, so the next checkout checks.
    last_ok: Option<Instant>,
    broken: bool,
    inner: Option<Box<dyn Instrumentation>>,
}

impl Instrumentation for Health {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error, .. } = &event {
            match error {
                None => self.last_ok = Some(Instant::now()),
                Some(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ClosedConnection
                    | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                    _,
                )) => self.broken = true,
                Some(_) => self.last_ok = None,
            }
        }
        if let Some(inner) = self.inner.as_mut() {
            inner.on_connection_event(event);
        }
    }
}

fn health(conn: &mut AepConnection) -> Option<&mut Health> {
    conn.instrumentation().downcast_mut::<Health>()
}

/// Shared between a pool's manager and the engine, which cannot reach the manager through r2d2.
#[derive(Debug, Clone, Default)]
pub(crate) struct FailureLog(Arc<Mutex<Option<(Instant, Failure)>>>);

impl FailureLog {
    /// The failure of the newest connect attempt, unless one has succeeded since. r2d2 keeps retrying
    /// in the background, so a standing failure means connecting is failing now.
    pub(crate) fn current(&self) -> Option<Failure> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(|(_, f)| f.clone())
    }

    fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn record(&self, failure: &Failure) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), failure.clone()));
    }
}

impl Manager {
    pub(crate) fn new(
        source: Arc<dyn CredentialSource>,
        protocol: Protocol,
        shared: Arc<Shared>,
        log: FailureLog,
        check_idle: Duration,
    ) -> Self {
        Manager {
            source,
            protocol,
            shared,
            last_failure: log,
            check_idle,
        }
    }

    /// Establish one connection with the current credentials.
    pub(crate) fn establish(&self) -> Result<AepConnection, Error> {
        let opts = self.source.connect_options()?;
        match AepConnection::open(&opts, self.protocol, self.shared.clone()) {
            Ok(mut conn) => {
                self.last_failure.clear();
                conn.set_instrumentation(Health {
                    last_ok: Some(Instant::now()),
                    broken: false,
                    inner: diesel::connection::get_default_instrumentation(),
                });
                Ok(conn)
            }
            Err(e) => {
                if let Some(failure) = Failure::of(&e) {
                    self.last_failure.record(&failure);
                    log::warn!(
                        "aep-diesel: new connection to {}:{} failed: {}",
                        opts.get_host(),
                        opts.get_port(),
                        failure.message
                    );
                }
                Err(e)
            }
        }
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("protocol", &self.protocol)
            .field("check_idle", &self.check_idle)
            .finish_non_exhaustive()
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = AepConnection;
    type Error = Error;

    fn connect(&self) -> Result<AepConnection, Error> {
        self.establish()
    }

    /// The health check on checkout. A connection that answered a query within `check_idle` is handed
    /// out at once (as HikariCP does); an idler one gets a `SELECT 1` round trip, which fails on dead
    /// sockets and inside failed transactions, and r2d2 then discards it.
    fn is_valid(&self, conn: &mut AepConnection) -> Result<(), Error> {
        if let Some(h) = health(conn) {
            if h.broken {
                return Err(Error::Connection {
                    message: "the connection was lost".into(),
                });
            }
            if h.last_ok.is_some_and(|t| t.elapsed() < self.check_idle) {
                return Ok(());
            }
        }
        conn.ping().map_err(Error::from)
    }

    /// Checked on return, without I/O: a panicking thread, an open Diesel transaction or a lost
    /// connection means its state is unknown or useless, so it is closed instead of reused.
    fn has_broken(&self, conn: &mut AepConnection) -> bool {
        std::thread::panicking() || conn.is_broken() || health(conn).is_some_and(|h| h.broken)
    }
}

/// Logs pool errors (already redacted) at `warn` instead of r2d2's default `error`.
#[derive(Debug)]
pub(crate) struct LogErrors;

impl r2d2::HandleError<Error> for LogErrors {
    fn handle_error(&self, error: Error) {
        log::warn!("aep-diesel pool: {error}");
    }
}
