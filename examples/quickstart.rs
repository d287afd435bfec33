//! The seed's flow in Rust: credentials → engine → the table names.
//!
//! With `PGHOST`/`PGPORT`/`PGDATABASE`/`PGUSER`/`PGPASSWORD` (or `DATABASE_URL`) set, it connects to that
//! server, e.g. your Query Service sandbox. Otherwise it starts a throwaway local PostgreSQL with TLS,
//! loads the sample sandbox into it, and lists that; with `AEP_DIESEL_STANDIN=1` it goes through the
//! local Query Service stand-in instead (cleartext password inside TLS, text results only, what Query
//! Service does not support refused), as it would on the platform.
//!
//! ```text
//! cargo run --example quickstart
//! AEP_DIESEL_STANDIN=1 cargo run --example quickstart
//! ```
use std::process::ExitCode;

use aep_diesel::{ConnectOptions, Engine};
use aep_diesel_testkit::{LocalServer, QsStandIn, report, sample};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nquickstart failed: {}", report(&*e));
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let configured = ["PGHOST", "DATABASE_URL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    // Keep the local server (and stand-in) alive until the end of `run`.
    let standin = std::env::var_os("AEP_DIESEL_STANDIN").is_some_and(|v| v != "0");
    let (engine, _server, _standin) = if configured {
        let opts = ConnectOptions::from_env()?;
        println!(
            "Connecting to {}:{} database {} as {} (sslmode={}) ...",
            opts.get_host(),
            opts.get_port(),
            opts.get_dbname(),
            opts.get_user(),
            opts.get_ssl_mode().keyword()
        );
        (Engine::builder(opts).build()?, None, None)
    } else {
        println!(
            "No PGHOST or DATABASE_URL set: starting a local PostgreSQL with TLS and the sample sandbox{} ...",
            if standin {
                " behind the Query Service stand-in"
            } else {
                ""
            }
        );
        let server = LocalServer::start()?;
        server.engine()?.run_migrations(sample::MIGRATIONS)?;
        if standin {
            let qs = QsStandIn::builder(&server).start()?;
            let c = qs.options_for("prod:all");
            println!(
                "Query Service stand-in ready: {}:{} database {} as {} (sslmode={}, cleartext password in TLS)",
                c.get_host(),
                c.get_port(),
                c.get_dbname(),
                c.get_user(),
                c.get_ssl_mode().keyword()
            );
            (Engine::builder(c).build()?, Some(server), Some(qs))
        } else {
            let c = server.options();
            println!(
                "Local server ready: {}:{} database {} as {} (sslmode={}, scram password)",
                c.get_host(),
                c.get_port(),
                c.get_dbname(),
                c.get_user(),
                c.get_ssl_mode().keyword()
            );
            (Engine::builder(c).build()?, Some(server), None)
        }
    };
    let conn = engine.get()?;
    println!(
        "Protocol: {:?}{}",
        conn.protocol(),
        if conn.is_query_service() {
            " (the server is Query Service)"
        } else {
            ""
        }
    );
    drop(conn);

    let inspector = engine.inspect()?;
    let schema = inspector.default_schema_name()?;
    let tables = inspector.table_names(None)?;
    println!("\n{} tables in schema {schema}:", tables.len());
    for name in &tables {
        println!("  {name}");
    }
    let views = inspector.view_names(None)?;
    let matviews = inspector.materialized_view_names(None)?;
    if !views.is_empty() || !matviews.is_empty() {
        println!("\nviews: {}", views.join(", "));
        println!("materialized views: {}", matviews.join(", "));
    }
    Ok(())
}
