//! The sample sandbox: a small schema shaped like an Experience Platform sandbox, used by the examples
//! and tests (and handy for trying aep-diesel without platform access).
//!
//! It holds ExperienceEvent-style datasets without primary keys (`_id`, `timestamp`), XDM objects as
//! composite types (nested, and in arrays), `text[]` arrays, `jsonb` identity maps, an enum and a domain,
//! a view and a materialized view, ordinary relational tables with keys, defaults, identity and generated
//! columns, comments, and awkward names (spaces, upper case, a leading digit, Rust keywords).

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The sample sandbox's migrations; run them with [`Engine::run_migrations`](crate::Engine::run_migrations).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
