//! The crate's one error type.
//!
//! Every message is built so that it can be logged as is: no variant ever holds a password, a token or a
//! full connection URL (messages coming from libpq or the server pass through [`crate::redact`] first).

use std::time::Duration;

/// Everything that can go wrong in aep-diesel.
///
/// Connection failures are classified ([`Error::Authentication`], [`Error::Tls`], [`Error::Unreachable`],
/// [`Error::DatabaseNotFound`], [`Error::SessionLimit`], [`Error::Connection`]) so that callers can react to
/// the kind rather than parse text. Each message ends with a hint where one helps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A credential or connection field is missing or malformed. `field` names it (`host`, `port`,
    /// `dbname`, `user`, `password`, or a URL parameter); `fix` says what to do.
    #[error("invalid {field}: {reason}; {fix}")]
    InvalidField {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it (never contains a secret).
        reason: String,
        /// How to fix it.
        fix: &'static str,
    },

    /// A connection string (URL or `key=value` form) could not be understood. The string itself is never
    /// repeated, because it may contain a password.
    #[error("invalid connection string: {reason}")]
    InvalidConnectionString {
        /// What is wrong, without echoing the string.
        reason: String,
    },

    /// An SSL mode weaker than `require` was asked for. Query Service refuses unencrypted sessions, and
    /// aep-diesel never lets a connection silently fall back to plaintext.
    #[error(
        "sslmode={mode} (from {origin}) is refused: it would allow the password and data to travel unencrypted; \
         use require (the default), verify-ca or verify-full"
    )]
    InsecureSslMode {
        /// The mode that was asked for, as written.
        mode: String,
        /// Where it came from: `the URL`, `PGSSLMODE`, `a parameter`.
        origin: &'static str,
    },

    /// A builder or configuration value is out of range or inconsistent.
    #[error("invalid setting {setting}: {reason}")]
    InvalidConfig {
        /// The setting's name, as the builder method or config key spells it.
        setting: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A required environment variable is missing, or holds something unusable.
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

    /// A query failed.
    #[error("query failed: {0}")]
    Query(#[source] diesel::result::Error),

    /// Running migrations failed.
    #[error("migration failed: {message}")]
    Migration {
        /// What the migration harness reported.
        message: String,
    },

    /// The table or view does not exist (or is not visible to this user).
    #[error("no table or view {schema}.{name}")]
    NoSuchTable {
        /// Schema searched.
        schema: String,
        /// Name searched.
        name: String,
    },

    /// Reading the catalog gave something aep-diesel could not interpret.
    #[error("introspection failed: {message}")]
    Introspection {
        /// What was unexpected.
        message: String,
    },

    /// Code generation or its configuration failed.
    #[error("code generation failed: {message}")]
    Codegen {
        /// What went wrong, naming the table, column or config key.
        message: String,
    },

    /// A row in a bulk operation could not be written; `row` is its zero-based position in the input.
    #[error("bulk write failed at row {row}: {source}")]
    BulkRow {
        /// Zero-based index of the failing row in the caller's input.
        row: usize,
        /// The underlying failure.
        #[source]
        source: Box<Error>,
    },

    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `reading diesel.toml`.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The local test server could not be set up (feature `local-server`).
    #[error("local server: {message}")]
    LocalServer {
        /// What failed and how to fix it.
        message: String,
    },
}

impl Error {
    pub(crate) fn field(field: &'static str, reason: impl Into<String>, fix: &'static str) -> Self {
        Error::InvalidField {
            field,
            reason: reason.into(),
            fix,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// True for connection failures that retrying with the same credentials cannot fix
    /// (authentication, TLS, missing database, bad input).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Error::Authentication { .. }
                | Error::Tls { .. }
                | Error::DatabaseNotFound { .. }
                | Error::InvalidField { .. }
                | Error::InvalidConnectionString { .. }
                | Error::InsecureSslMode { .. }
                | Error::InvalidConfig { .. }
        )
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Query(e)
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
