//! Test infrastructure for aep-diesel: throwaway TLS PostgreSQL servers and the sample sandbox.
//!
//! Used by the workspace's tests, examples and benchmarks as a dev-dependency; never by the runtime
//! crate. Besides plain servers it offers [`QsStandIn`], a strict stand-in for Query Service in front
//! of a local server, so that code meant for the platform can be tested against the platform's rules
//! (cleartext auth in TLS, refused updates and COPY, row caps, no binary results or named statements)
//! without platform access. Everything it starts is stopped and removed when dropped, and by a watchdog process if the
//! test process dies without dropping it.
//!
//! ```no_run
//! use aep_diesel_testkit::{LocalServer, sample};
//! let server = LocalServer::start()?;              // initdb + postgres with TLS and scram
//! let engine = server.engine()?;                   // verify-full against the server's own CA
//! engine.run_migrations(sample::MIGRATIONS)?;      // the sample sandbox
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![deny(unsafe_code)]

mod error;
mod local;
pub mod sample;
mod standin;

pub use error::{Error, Result};
pub use local::{
    LocalServer, LocalServerBuilder, PLATFORM_DB, PLATFORM_USER, find_bindir, quote_ident,
    quote_literal,
};
pub use standin::{
    BinaryResults, QsStandIn, QsStandInBuilder, Refusal, RefusalKind, StartupOptions,
};

/// An error and its chain of causes on one line (`error: cause: cause`), each text once; what the
/// examples print.
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
