//! Reflect + generate for a platform-sized sandbox: 2,000 tables × 20 columns (half without a primary
//! key, like Query Service datasets), on the local TLS server. Prints the figures; asserts nothing.
//! Also times the compilation of the code generated for 200 of those tables.
//!
//! ```text
//! cargo bench --bench codegen                          # everything (the compile part takes many minutes)
//! AEP_BENCH_NO_COMPILE=1 cargo bench --bench codegen   # reflect + generate only
//! ```
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aep_diesel::inspect::Filter;
use aep_diesel_codegen::{Options, generate};
use aep_diesel_testkit::LocalServer;
use diesel::connection::SimpleConnection;

const TABLES: usize = 2000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = LocalServer::start()?;
    let creds = server.create_database("bench_codegen")?;
    let engine = server.engine_for(creds)?;
    let start = Instant::now();
    engine.get()?.batch_execute(&format!(
        "DO $$ BEGIN FOR i IN 0..{} LOOP
           IF i % 2 = 0 THEN
             EXECUTE format('CREATE TABLE t%s (id bigint PRIMARY KEY, %s)', lpad(i::text, 4, '0'), {cols});
           ELSE
             EXECUTE format('CREATE TABLE t%s (_id text, %s)', lpad(i::text, 4, '0'), {cols});
           END IF;
         END LOOP; END $$;",
        TABLES - 1,
        cols = "'ts timestamptz, n1 integer, n2 bigint, amount numeric(12,2), flag boolean, label text, \
                 code varchar(32), tags text[], payload jsonb, d date, f double precision, n3 integer, \
                 note text, n4 bigint, ok boolean, extra text, score real, born date, last timestamptz'"
    ))?;
    println!(
        "schema: {TABLES} tables x 20 columns created in {:.1?}",
        start.elapsed()
    );

    let options = Options::default();
    let mut reflect_times = Vec::new();
    let mut queries = 0;
    let mut model = None;
    for _ in 0..5 {
        let inspector = engine.inspect()?;
        let t = Instant::now();
        let m = inspector.reflect(&Filter::new())?;
        reflect_times.push(t.elapsed());
        queries = inspector.queries_sent();
        model = Some(m);
    }
    let model = model.expect("reflected");
    let mut gen_times = Vec::new();
    let mut generated = None;
    for _ in 0..5 {
        let t = Instant::now();
        let g = generate(&model, &options)?;
        gen_times.push(t.elapsed());
        generated = Some(g);
    }
    let generated = generated.expect("generated");
    let bytes: usize = generated.files.values().map(String::len).sum();
    let (r, g) = (median(reflect_times), median(gen_times));
    println!(
        "reflect:  {:>8.1?}  ({} relations, {} catalog queries, median of 5)",
        r,
        model.tables.len(),
        queries
    );
    println!(
        "generate: {:>8.1?}  ({} files, {} KiB, median of 5)",
        g,
        generated.files.len(),
        bytes / 1024
    );
    println!("reflect + generate: {:.1?} (target < 500 ms)", r + g);
    let t = Instant::now();
    let _ = generate(&model, &options)?.rustfmt()?;
    println!("rustfmt of the output (optional step): {:.1?}", t.elapsed());

    if std::env::var_os("AEP_BENCH_NO_COMPILE").is_some() {
        return Ok(());
    }
    // Compile time of the code generated for 200 of the tables, in scratch crates sharing one target dir.
    let mut small = options.clone();
    small.only_tables = vec!["t0[01][0-9][0-9]".into()];
    let full = generate(&model, &small)?;
    let mut ro = small.clone();
    ro.read_only_tables = vec![".*".into()];
    let read_only = generate(&model, &ro)?;
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/gen200");
    for (label, part) in [
        ("read-only models (read_only_tables = [\".*\"])", &read_only),
        ("full models", &full),
    ] {
        match compile(&target, part) {
            Ok((check, build)) => println!(
                "compile, 200 tables, {label}: cargo check {:.1?}, cargo build (debug) {:.1?}",
                check, build
            ),
            Err(e) => println!("compile, 200 tables, {label}: {e}"),
        }
    }
    println!(
        "reference (../shared/peers.md): diesel print-schema needs ~8.5 s to read 1,000 tables; its output for \
         200 tables type-checks in ~7 s (diesel 2.2-era figure)"
    );
    Ok(())
}

/// `cargo check` and `cargo build` times of a scratch crate holding `part`.
fn compile(
    target: &Path,
    part: &aep_diesel_codegen::Generated,
) -> Result<(Duration, Duration), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let manifest = "[package]\nname = \"gen200\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n\
         diesel = { version = \"2.3\", default-features = false, features = [\"postgres\", \"chrono\", \"numeric\", \"serde_json\", \"32-column-tables\"] }\n\
         chrono = \"0.4\"\nbigdecimal = \"0.4\"\nserde_json = \"1\"\n\n[workspace]\n";
    std::fs::write(dir.path().join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.path().join("src")).map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join("src/lib.rs"), "").map_err(|e| e.to_string())?;
    let cargo = |args: &[&str]| {
        Command::new(env!("CARGO"))
            .args(args)
            .current_dir(dir.path())
            .env("CARGO_TARGET_DIR", target)
            .output()
            .map_err(|e| e.to_string())
    };
    let warm = cargo(&["build", "--offline", "-q"])?;
    if !warm.status.success() {
        return Err(format!(
            "skipped, dependencies unavailable offline: {}",
            String::from_utf8_lossy(&warm.stderr)
        ));
    }
    part.write_to(&dir.path().join("src/generated"))
        .map_err(|e| e.to_string())?;
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "#![allow(dead_code)]\npub mod generated;\n",
    )
    .map_err(|e| e.to_string())?;
    let t = Instant::now();
    let check = cargo(&["check", "--offline", "-q"])?;
    let check_time = t.elapsed();
    if !check.status.success() {
        return Err(format!(
            "FAILED: {}",
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    let t = Instant::now();
    let build = cargo(&["build", "--offline", "-q"])?;
    if !build.status.success() {
        return Err(format!(
            "FAILED: {}",
            String::from_utf8_lossy(&build.stderr)
        ));
    }
    Ok((check_time, t.elapsed()))
}
