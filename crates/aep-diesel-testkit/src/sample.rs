//! The sample sandbox: a small schema shaped like an Experience Platform sandbox, used by the examples
//! and tests (and handy for trying aep-diesel without platform access).
//!
//! It holds ExperienceEvent-style datasets without primary keys (`_id`, `timestamp`), XDM objects as
//! composite types (nested, and in arrays), `text[]` arrays, `jsonb` identity maps, an enum and a domain,
//! a view and a materialized view, ordinary relational tables with keys, defaults, identity and generated
//! columns, comments, and awkward names (spaces, upper case, a leading digit, Rust keywords).

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::LocalServer;

/// The sample sandbox's migrations (the workspace's `migrations/`); run them with
/// [`Engine::run_migrations`](aep_diesel::Engine::run_migrations).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// An engine on `prod:all` of the process-wide shared server ([`LocalServer::shared`]), with the
/// sample sandbox loaded once per process.
pub fn shared_engine() -> crate::Result<aep_diesel::Engine> {
    static LOADED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let engine = LocalServer::shared()?.engine()?;
    LOADED
        .get_or_init(|| {
            engine
                .run_migrations(MIGRATIONS)
                .map(drop)
                .map_err(|e| crate::report(&e))
        })
        .clone()
        .map_err(|message| crate::Error::Setup { message })?;
    Ok(engine)
}
