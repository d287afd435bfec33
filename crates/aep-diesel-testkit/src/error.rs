//! The testkit's one error type.

/// What can go wrong while starting or driving a local server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The machine lacks something the server needs (server binaries, the `postgres` user as root);
    /// the message says how to get it.
    #[error("local server: {message}")]
    Setup {
        /// What is missing and how to fix it.
        message: String,
    },

    /// The server process failed to start or become ready; `log` holds the end of its log.
    #[error("local server: {message}")]
    Server {
        /// What happened.
        message: String,
        /// The last lines of the server's log.
        log: String,
    },

    /// A file or process operation failed.
    #[error("local server: {context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },

    /// Making the CA or server certificates failed.
    #[error("local server: making certificates")]
    Certificates(#[source] openssl::error::ErrorStack),

    /// Talking to the server through aep-diesel failed.
    #[error("local server: {context}")]
    Client {
        /// What was being done.
        context: &'static str,
        /// The failure.
        #[source]
        source: aep_diesel::Error,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
