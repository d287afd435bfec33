//! The r2d2 connection manager: every new connection asks the credential source for current credentials.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{Connection, Instrumentation, InstrumentationEvent};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;

use crate::conninfo::build_url;
use crate::credentials::CredentialSource;
use crate::error::Error;
use crate::options::Password;

/// The r2d2 manager behind an [`Engine`](crate::Engine)'s pool. Opaque; it exists so that
/// [`PooledConnection`](crate::PooledConnection) can be named.
pub struct Manager {
    source: Arc<dyn CredentialSource>,
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

fn health(conn: &mut PgConnection) -> Option<&mut Health> {
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

/// A classified connect failure; cheap to copy out of the manager.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    kind: FailureKind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    Authentication,
    Tls,
    Unreachable,
    DatabaseNotFound,
    SessionLimit,
    Other,
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        let message = f.message;
        match f.kind {
            FailureKind::Authentication => Error::Authentication { message },
            FailureKind::Tls => Error::Tls { message },
            FailureKind::Unreachable => Error::Unreachable { message },
            FailureKind::DatabaseNotFound => Error::DatabaseNotFound { message },
            FailureKind::SessionLimit => Error::SessionLimit { message },
            FailureKind::Other => Error::Connection { message },
        }
    }
}

/// Remove every form in which `password` could appear in a message from libpq or the server.
pub(crate) fn redact(text: &str, password: &Password) -> String {
    let pw = password.expose();
    if pw.is_empty() {
        return text.to_string();
    }
    let encoded =
        percent_encoding::utf8_percent_encode(pw, percent_encoding::NON_ALPHANUMERIC).to_string();
    let mut out = text.replace(pw, "***");
    for form in [encoded.as_str(), &encoded.to_lowercase()] {
        if form != pw {
            out = out.replace(form, "***");
        }
    }
    out
}

/// Map a failed connection's message to a kind.
///
/// A SQLSTATE decides where the message carries one (`FATAL:  28P01: …`, libpq's verbose form).
/// Otherwise the server's and libpq's fixed phrases decide, read only outside the parts a user chose:
/// libpq and the server quote host, database and user names, and a database called `ssl_events` or a
/// host called `tls-gw` must not turn "does not exist" into a TLS failure. `names` are those values,
/// removed first even when they contain quotes themselves.
pub(crate) fn classify(message: &str, names: &[&str]) -> FailureKind {
    if let Some(kind) = sqlstate(message).and_then(kind_of_sqlstate) {
        return kind;
    }
    let mut text = message.to_string();
    for name in names.iter().filter(|n| !n.is_empty()) {
        text = text.replace(&format!("\"{name}\""), "\"\"");
    }
    let mut fixed = String::with_capacity(text.len());
    let mut quoted = false;
    for ch in text.chars() {
        if ch == '"' {
            quoted = !quoted;
            fixed.push('"');
        } else if !quoted {
            fixed.push(ch);
        }
    }
    let m = fixed.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if has(&[
        "password authentication failed",
        "authentication failed",
        "invalid password",
        "authentication token",
        "invalid authorization",
        "no password supplied",
        "pg_hba.conf",
    ]) || (m.contains("role \"\"") && m.contains("does not exist"))
    {
        return FailureKind::Authentication;
    }
    if has(&[
        "ssl",
        "tls",
        "certificate",
        "sslmode",
        "handshake",
        "does not support ssl",
    ]) {
        return FailureKind::Tls;
    }
    if (m.contains("database \"\"") && m.contains("does not exist")) || has(&["no tables found"]) {
        return FailureKind::DatabaseNotFound;
    }
    if has(&[
        "too many connections",
        "too many clients",
        "session limit",
        "remaining connection slots",
    ]) {
        return FailureKind::SessionLimit;
    }
    if has(&[
        "connection refused",
        "could not translate host name",
        "name or service not known",
        "temporary failure in name resolution",
        "timeout expired",
        "no route to host",
        "network is unreachable",
        "could not connect",
        "connection timed out",
        "is the server running",
        "the database system is starting up",
        "the database system is shutting down",
    ]) {
        return FailureKind::Unreachable;
    }
    FailureKind::Other
}

/// The SQLSTATE of a server message in libpq's verbose form (`FATAL:  28P01: password …`).
fn sqlstate(message: &str) -> Option<&str> {
    for severity in ["FATAL:", "ERROR:"] {
        let mut rest = message;
        while let Some(i) = rest.find(severity) {
            let after = rest[i + severity.len()..].trim_start();
            let code = after.get(..5);
            if let Some(code) = code.filter(|c| {
                c.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
                    && after[5..].starts_with(':')
            }) {
                return Some(code);
            }
            rest = &rest[i + severity.len()..];
        }
    }
    None
}

fn kind_of_sqlstate(code: &str) -> Option<FailureKind> {
    Some(match code {
        "28P01" | "28000" => FailureKind::Authentication,
        "3D000" | "42P12" => FailureKind::DatabaseNotFound,
        "53300" => FailureKind::SessionLimit,
        "57P03" => FailureKind::Unreachable,
        _ => return None,
    })
}

impl Manager {
    pub(crate) fn new(
        source: Arc<dyn CredentialSource>,
        log: FailureLog,
        check_idle: Duration,
    ) -> Self {
        Manager {
            source,
            last_failure: log,
            check_idle,
        }
    }

    /// Establish one connection with the current credentials.
    pub(crate) fn establish(&self) -> Result<PgConnection, Error> {
        let opts = self.source.connect_options()?;
        opts.validate()?;
        let url = build_url(&opts)?;
        let mut result = PgConnection::establish(url.expose());
        if let Ok(conn) = result.as_mut() {
            self.last_failure.clear();
            conn.set_instrumentation(Health {
                last_ok: Some(Instant::now()),
                broken: false,
                inner: diesel::connection::get_default_instrumentation(),
            });
        }
        result.map_err(|e| {
            let message = redact(e.to_string().trim(), opts.get_password());
            let dbname = opts.effective_dbname();
            let names = [
                opts.get_host(),
                opts.get_dbname(),
                dbname.as_str(),
                opts.get_user(),
                opts.get_application_name(),
            ];
            let failure = Failure {
                kind: classify(&message, &names),
                message,
            };
            self.last_failure.record(&failure);
            log::warn!(
                "aep-diesel: new connection to {}:{} failed: {}",
                opts.get_host(),
                opts.get_port(),
                failure.message
            );
            Error::from(failure)
        })
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("check_idle", &self.check_idle)
            .finish_non_exhaustive()
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = Error;

    fn connect(&self) -> Result<PgConnection, Error> {
        self.establish()
    }

    /// The health check on checkout. A connection that answered a query within `check_idle` is handed
    /// out at once (as HikariCP does); an idler one gets a `SELECT 1` round trip, which fails on dead
    /// sockets and inside failed transactions, and r2d2 then discards it.
    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Error> {
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
        conn.ping().map_err(Error::Query)
    }

    /// Checked on return, without I/O: a panicking thread, an open Diesel transaction or a lost
    /// connection means its state is unknown or useless, so it is closed instead of reused.
    fn has_broken(&self, conn: &mut PgConnection) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_libpq_messages() {
        use FailureKind::*;
        let cases = [
            (
                "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  password authentication failed for user \"ACME@AdobeOrg\"",
                Authentication,
            ),
            (
                "FATAL:  28000: Invalid authorization type. Must be AuthenticationCleartextPassword",
                Authentication,
            ),
            (
                "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
                Unreachable,
            ),
            (
                "could not translate host name \"nope.invalid\" to address: Name or service not known",
                Unreachable,
            ),
            (
                "connection to server at \"127.0.0.1\", port 5 failed: server does not support SSL, but SSL was required",
                Tls,
            ),
            (
                "connection to server at \"127.0.0.2\", port 5 failed: server certificate for \"localhost\" does not match host name \"127.0.0.2\"",
                Tls,
            ),
            ("SSL error: certificate verify failed", Tls),
            ("FATAL:  database \"nope\" does not exist", DatabaseNotFound),
            ("FATAL:  42P12: No tables found", DatabaseNotFound),
            ("FATAL:  sorry, too many clients already", SessionLimit),
            ("FATAL: Session Limit Reached", SessionLimit),
            (
                "FATAL:  remaining connection slots are reserved",
                SessionLimit,
            ),
        ];
        for (msg, kind) in cases {
            assert_eq!(classify(msg, &[]), kind, "{msg}");
        }
    }

    /// Names chosen by users never decide the kind: only libpq's and the server's own words do.
    #[test]
    fn names_in_messages_do_not_change_the_kind() {
        use FailureKind::*;
        let cases: [(&str, &[&str], FailureKind); 7] = [
            (
                "connection to server at \"tls-gw.example\" (10.0.0.1), port 5432 failed: FATAL:  database \"ssl_events\" does not exist",
                &["tls-gw.example", "ssl_events"],
                DatabaseNotFound,
            ),
            (
                "could not translate host name \"ssl.certificate.invalid\" to address: Name or service not known",
                &["ssl.certificate.invalid"],
                Unreachable,
            ),
            (
                "connection to server at \"localhost\" (127.0.0.1), port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
                &["localhost", "password timeout"],
                Unreachable,
            ),
            (
                "connection to server at \"h\" (127.0.0.1), port 5 failed: FATAL:  database \"a \"ssl\" b\" does not exist",
                &["h", "a \"ssl\" b"],
                DatabaseNotFound,
            ),
            (
                "connection to server at \"h\" (127.0.0.1), port 5 failed: FATAL:  role \"too many clients\" does not exist",
                &["too many clients"],
                Authentication,
            ),
            (
                "connection to server at \"h\" (127.0.0.1), port 5 failed: FATAL:  3D000: database \"x\" does not exist",
                &[],
                DatabaseNotFound,
            ),
            (
                "connection to server at \"h\" (127.0.0.1), port 5 failed: FATAL:  28P01: password authentication failed for user \"u\"",
                &[],
                Authentication,
            ),
        ];
        for (msg, names, kind) in cases {
            assert_eq!(classify(msg, names), kind, "{msg}");
        }
    }

    #[test]
    fn redact_removes_plain_and_encoded_forms() {
        let pw = Password::verbatim("s3cr:t/pw");
        let text = "a s3cr:t/pw b s3cr%3At%2Fpw c s3cr%3at%2fpw";
        assert_eq!(redact(text, &pw), "a *** b *** c ***");
    }
}
