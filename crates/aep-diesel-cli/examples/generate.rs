//! Generate typed Diesel models for the sample sandbox (or your own database) from `diesel.toml`.
//!
//! ```text
//! cargo run -p aep-diesel-cli --example generate            # write examples/sandbox/
//! cargo run -p aep-diesel-cli --example generate -- --check # exit 1 when examples/sandbox/ is stale
//! ```
//! With PG* variables or DATABASE_URL set it reads that database instead of a local server with the
//! sample sandbox. It lives in the CLI's package because the workspace root depends on the crate it
//! writes: it must build even when that crate is stale.
use std::path::Path;
use std::process::ExitCode;

use aep_diesel::{ConnectOptions, Engine};
use aep_diesel_codegen::{Options, generate};
use aep_diesel_testkit::{LocalServer, report, sample};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("generate failed: {}", report(&*e));
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let check = std::env::args().any(|a| a == "--check");
    let config =
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../diesel.toml")).canonicalize()?;
    let options = Options::from_file(&config)?;
    let configured = ["PGHOST", "DATABASE_URL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    let (engine, _server) = if configured {
        (Engine::builder(ConnectOptions::from_env()?).build()?, None)
    } else {
        let server = LocalServer::start()?;
        let engine = server.engine()?;
        engine.run_migrations(sample::MIGRATIONS)?;
        (engine, Some(server))
    };
    let model = engine.inspect()?.reflect(&options.filter()?)?;
    let generated = generate(&model, &options)?;
    for w in &generated.warnings {
        eprintln!("note: {w}");
    }
    let dir = &options.output_dir;
    if check {
        let stale = generated.check(dir)?;
        if stale.is_empty() {
            println!(
                "{} is up to date ({} files, {} relations)",
                dir.display(),
                generated.files.len(),
                model.tables.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
        for p in stale {
            eprintln!("stale: {}", p.display());
        }
        return Ok(ExitCode::FAILURE);
    }
    let changed = generated.write_to(dir)?;
    println!(
        "generated {} relations into {} ({} files changed)",
        model.tables.len(),
        dir.display(),
        changed.len()
    );
    Ok(ExitCode::SUCCESS)
}
