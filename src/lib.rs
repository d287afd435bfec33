//! # aep-diesel
//!
//! Adobe Experience Platform Query Service — and any PostgreSQL-wire database — from Rust with Diesel:
//!
//! 1. **Credentials → Engine.** [`Credentials`] takes what the platform UI shows (user `…@AdobeOrg`,
//!    database `prod:all`, a token pasted across lines), validates and encodes it; [`Engine`] is a lazy
//!    r2d2 pool of Diesel `PgConnection`s that always uses TLS (`sslmode=require` at least).
//! 2. **Introspection.** [`Engine::inspect`] reads the catalog in a few queries into a plain-data
//!    [`SchemaModel`].
//! 3. **Generated typed models.** [`codegen`] turns a [`SchemaModel`] into Diesel `table!` modules and
//!    model structs with CRUD.
//! 4. **Fast CRUD.** [`bulk`] loads rows with COPY and streams typed reads.
//!
//! ```no_run
//! use aep_diesel::{Credentials, Engine, SslMode, RootCert};
//!
//! // What Experience Platform > Queries > Credentials shows; the token may span lines.
//! let creds = Credentials::new(
//!     "acme.platform-query.adobe.io", 80, "prod:all", "ACME@AdobeOrg",
//!     std::env::var("PGPASSWORD").unwrap_or_default(),
//! )?;
//! let engine = Engine::builder(creds)
//!     .ssl_mode(SslMode::VerifyFull(RootCert::System)) // default: SslMode::Require
//!     .build()?;                                        // no network I/O yet
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
//! Nothing here prints secrets: [`Password`], [`Credentials`], [`Engine`] and every [`Error`] redact the
//! password and never show a full connection URL.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod bulk;
pub mod codegen;
mod credentials;
mod engine;
mod error;
pub mod inspect;
pub mod libpq;
#[cfg(feature = "local-server")]
pub mod local;
mod pool;
pub mod sample;
mod ssl;
mod url;

pub use credentials::{CredentialSource, Credentials, Password, PortValue, RotatingCredentials};
pub use engine::{
    ConnectionManager, Engine, EngineBuilder, PoolState, PooledConnection, create_engine,
};
pub use error::{Error, Result};
pub use inspect::{Inspector, SchemaModel};
pub use ssl::{RootCert, SslMode};

/// Re-exported so generated code and users name the same Diesel version.
pub use diesel;
