//! # aep-diesel
//!
//! Adobe Experience Platform Query Service — and any PostgreSQL-wire database — from Rust with Diesel:
//!
//! 1. **Options → Engine.** [`ConnectOptions`] takes what the platform UI shows (user `…@AdobeOrg`,
//!    database `prod:all`, a token pasted across lines), a URL, or the `PG*` environment, validates and
//!    normalises it; [`Engine`] is a lazy r2d2 pool of Diesel connections that always uses TLS
//!    (`sslmode=require` at least).
//! 2. **Introspection.** [`Engine::inspect`] reads the catalog in a few queries into a plain-data
//!    [`SchemaModel`] (SQLAlchemy's Inspector vocabulary).
//! 3. **Bulk and paged CRUD.** [`bulk`] loads rows with COPY or batched INSERTs and pages through reads.
//!
//! Typed Diesel models are generated from a [`SchemaModel`] by the `aep-diesel-codegen` crate (the
//! `aep-diesel` command of `aep-diesel-cli`).
//!
//! ```no_run
//! use aep_diesel::{ConnectOptions, Engine, RootCert, SslMode};
//!
//! // What Experience Platform > Queries > Credentials shows; the token may span lines.
//! let opts = ConnectOptions::new(
//!     "acme.platform-query.adobe.io", 80, "prod:all", "ACME@AdobeOrg",
//!     std::env::var("PGPASSWORD").unwrap_or_default(),
//! )?
//! .ssl_mode(SslMode::VerifyFull(RootCert::System)); // default: SslMode::Require
//! let engine = Engine::builder(opts).max_size(2).build()?; // no network I/O yet
//! for name in engine.inspect()?.table_names(None)? {
//!     println!("{name}");
//! }
//! // Any Diesel query works on a pooled connection:
//! use diesel::prelude::*;
//! let mut conn = engine.get()?;
//! let one: i32 = diesel::select(1.into_sql::<diesel::sql_types::Integer>()).get_result(&mut conn)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Nothing here prints secrets: [`Password`], [`ConnectOptions`], [`Engine`] and every [`Error`] redact
//! the password and never show a full connection URL.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod bulk;
mod codec;
mod connection;
mod conninfo;
mod credentials;
mod engine;
mod error;
mod failure;
pub mod inspect;
mod libpq;
mod macros;
pub mod model;
mod options;
pub mod platform;
mod pool;
mod ssl;

pub use connection::{
    AepConnection, AepCursor, AepField, AepRow, AepRowByRowCursor, Protocol, sqlstate,
};
pub use credentials::{CredentialSource, RotatingCredentials};
pub use engine::{
    ConnectionManager, Engine, EngineBuilder, PoolState, PooledConnection, create_engine,
};
pub use error::{Error, Result};
pub use inspect::{Inspector, SchemaModel};
pub use options::{ConnectOptions, Password};
pub use ssl::{RootCert, SslMode};

/// The classified error for libpq's message about a failed connection to `options`.
pub(crate) fn connection_failure(message: &str, options: &ConnectOptions) -> Error {
    Error::from(failure::from_libpq(message, options))
}

/// Re-exported so generated code and users name the same Diesel version.
pub use diesel;

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
