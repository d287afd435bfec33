//! The runtime crate's one error type.
//!
//! Every message is built so that it can be logged as is: no variant ever holds a password, a token, a
//! fragment of one, or a full connection URL. Parser errors carry only `&'static str` texts, so no part
//! of a connection string can reach them; messages from libpq or the server are redacted first.

use std::time::Duration;

/// Everything that can go wrong in aep-diesel's runtime.
///
/// Connection failures are classified ([`Error::Authentication`], [`Error::Tls`], [`Error::Unreachable`],
/// [`Error::DatabaseNotFound`], [`Error::SessionLimit`], [`Error::Connection`]) so that callers can react to
/// the kind rather than parse text. Each message ends with a hint where one helps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A connection setting is missing or malformed. `field` names it (`host`, `port`, `dbname`, `user`,
    /// `password`, `sslmode`, …); `fix` says what to do. Neither ever repeats the value.
    #[error("invalid {field}: {reason}; {fix}")]
    InvalidField {
        /// The offending field, as libpq names it.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
        /// How to fix it.
        fix: &'static str,
    },

    /// A connection string (URL or `key=value` form) could not be split into parameters. The string
    /// itself is never repeated, because any part of it may be a password.
    #[error("invalid connection string: {reason}")]
    InvalidConnectionString {
        /// What is wrong, without echoing the string.
        reason: &'static str,
    },

    /// A parameter aep-diesel does not pass to libpq. Its name is shown only when it is a libpq keyword:
    /// anything else may be a fragment of a password that contained an unencoded `&` or space.
    #[error(
        "unsupported parameter {}; supported: host, port, dbname, user, password, sslmode, sslrootcert, \
         application_name, connect_timeout, gssencmode, flatten, {}",
        match name { Some(n) => format!("{n:?}"), None => "(name not shown: it is no libpq keyword and may be part of a password)".to_string() },
        crate::options::PASSTHROUGH.join(", ")
    )]
    UnsupportedParameter {
        /// The parameter, when it is a libpq keyword.
        name: Option<&'static str>,
    },

    /// An SSL mode weaker than `require` was asked for. Query Service refuses unencrypted sessions, and
    /// aep-diesel never lets a connection silently fall back to plaintext.
    #[error(
        "sslmode={mode} (from {origin}) is refused: it would allow the password and data to travel unencrypted; \
         use require (the default), verify-ca or verify-full"
    )]
    InsecureSslMode {
        /// The mode asked for: `disable`, `allow` or `prefer`.
        mode: &'static str,
        /// Where it came from: `the URL`, `PGSSLMODE`, `a parameter`.
        origin: &'static str,
    },

    /// An engine or introspection setting is out of range or inconsistent.
    #[error("invalid setting {setting}: {reason}")]
    InvalidConfig {
        /// The setting's name, as the builder method spells it.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A table-name pattern of an introspection filter is not a valid regular expression.
    #[error("invalid table filter")]
    InvalidPattern(#[from] aep_diesel_schema::PatternError),

    /// Required environment variables are missing.
    #[error("{message}")]
    Environment {
        /// What is missing and how to provide it.
        message: String,
    },

    /// The server rejected the credentials (SQLSTATE 28P01 / 28000).
    #[error(
        "authentication failed: {message}; hint: Query Service passwords are tokens that expire (after 24 hours \
         by default); copy fresh credentials from Experience Platform > Queries > Credentials, or use \
         non-expiring credentials"
    )]
    Authentication {
        /// The server's message (redacted).
        message: String,
    },

    /// The TLS handshake failed, the server does not offer TLS, or its certificate did not verify.
    #[error(
        "TLS failure: {message}; hint: aep-diesel always requires TLS; for verify-ca/verify-full check the \
         root certificate and that the host name matches the server certificate"
    )]
    Tls {
        /// libpq's message (redacted).
        message: String,
    },

    /// The server could not be reached (name resolution, refused connection, timeout).
    #[error(
        "server unreachable: {message}; hint: check host and port (Query Service uses port 80 or 5432)"
    )]
    Unreachable {
        /// libpq's message (redacted).
        message: String,
    },

    /// The database (on Query Service: the sandbox) does not exist or holds no tables
    /// (SQLSTATE 3D000 / 42P12).
    #[error(
        "database not found: {message}; hint: on Query Service the database is `<sandbox>:all`, e.g. `prod:all`"
    )]
    DatabaseNotFound {
        /// The server's message (redacted).
        message: String,
    },

    /// The server refused a new session because too many are open (Query Service allows few per org).
    #[error(
        "session limit reached: {message}; hint: lower the pool's max_size or close other clients' sessions"
    )]
    SessionLimit {
        /// The server's message (redacted).
        message: String,
    },

    /// Any other failure while establishing a connection.
    #[error("connection failed: {message}")]
    Connection {
        /// libpq's message (redacted).
        message: String,
    },

    /// No pooled connection became free within the checkout timeout.
    #[error(
        "timed out after {waited:?} waiting for a pooled connection (max_size {max_size}, all in use); hint: \
         return connections promptly, or raise max_size within the platform's session limit"
    )]
    PoolTimeout {
        /// How long the caller waited.
        waited: Duration,
        /// The pool's size.
        max_size: u32,
    },

    /// A query failed; the source is Diesel's error (with the server's message and SQLSTATE kind).
    #[error("query failed")]
    Query(#[source] diesel::result::Error),

    /// The server refused the statement as not supported (SQLSTATE 0A000, or 08P01 for a protocol
    /// message). On Query Service: `UPDATE`, `DELETE`, COPY, and anything beyond what its documented
    /// clients use.
    #[error(
        "the server does not support this statement; hint: on Query Service datasets take no UPDATE or \
         DELETE and writes go through CREATE TABLE AS SELECT or INSERT INTO … SELECT \
         (aep_diesel::platform); a protocol refusal means Protocol::Compatible is needed"
    )]
    StatementNotSupported(#[source] diesel::result::Error),

    /// A row or time limit was exceeded (SQLSTATE 53400): Query Service refuses a LIMIT above 100,000
    /// and interactive queries over 10 minutes.
    #[error(
        "row or time limit exceeded; hint: page through big reads (aep_diesel::bulk::pages or a model's \
         page_after) with pages of at most 50,000 rows, or let the server write the result \
         (aep_diesel::platform::create_table_as)"
    )]
    RowLimit(#[source] diesel::result::Error),

    /// The server ended the session (terminated, expired, or the connection broke). The pool never
    /// hands this connection out again.
    #[error(
        "the session ended; hint: Query Service ends sessions at their maximum life (24 hours by default) \
         and the pool replaces them: take a new connection and retry"
    )]
    ConnectionLost(#[source] diesel::result::Error),

    /// Running migrations failed.
    #[error("migration failed")]
    Migration {
        /// What the migration harness reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The table or view does not exist (or is not visible to this user).
    #[error("no table or view {schema}.{name}")]
    NoSuchTable {
        /// Schema searched.
        schema: String,
        /// Name searched.
        name: String,
    },

    /// A catalog query failed.
    #[error("introspection failed reading {what}")]
    Introspection {
        /// What was being read, e.g. `columns`.
        what: &'static str,
        /// The query's failure.
        #[source]
        source: diesel::result::Error,
    },

    /// The server does not support what was asked (Query Service: COPY, `INSERT … VALUES`, `UPDATE`,
    /// `DELETE`); `hint` says what to do instead. Nothing was sent.
    #[error("{what} is not supported here; hint: {hint}")]
    Unsupported {
        /// What was refused.
        what: &'static str,
        /// What to do instead.
        hint: &'static str,
    },

    /// A row in a bulk operation could not be written; `row` is its zero-based position in the input.
    #[error("bulk write failed at row {row}")]
    BulkRow {
        /// Zero-based index of the failing row in the caller's input.
        row: usize,
        /// The underlying failure.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    pub(crate) fn field(field: &'static str, reason: &'static str, fix: &'static str) -> Self {
        Error::InvalidField { field, reason, fix }
    }

    /// The same error, saying that a refused SSL mode came from `origin`.
    pub(crate) fn with_origin(self, origin: &'static str) -> Self {
        match self {
            Error::InsecureSslMode { mode, .. } => Error::InsecureSslMode { mode, origin },
            other => other,
        }
    }

    /// True for connection failures that retrying with the same settings cannot fix (authentication,
    /// TLS, missing database, bad input).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Error::Authentication { .. }
                | Error::Tls { .. }
                | Error::DatabaseNotFound { .. }
                | Error::InvalidField { .. }
                | Error::InvalidConnectionString { .. }
                | Error::UnsupportedParameter { .. }
                | Error::InsecureSslMode { .. }
                | Error::InvalidConfig { .. }
                | Error::InvalidPattern { .. }
        )
    }
}

impl From<diesel::result::Error> for Error {
    /// Classifies by the server's SQLSTATE (kept by aep-diesel's connection) and Diesel's kind, never
    /// by message text.
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match crate::sqlstate(&e).as_deref() {
            Some("0A000" | "08P01") => return Error::StatementNotSupported(e),
            Some("53400") => return Error::RowLimit(e),
            _ => {}
        }
        match e {
            D::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => Error::ConnectionLost(e),
            other => Error::Query(other),
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
