//! Reflect + generate for a platform-sized sandbox: 2,000 tables × 20 columns (half without a primary
//! key, like Query Service datasets), on the local TLS server. Prints the figures; asserts nothing.
//! Then the compile time of generated code (see `codegen/compile.rs`).
//!
//! ```text
//! cargo bench --bench codegen                          # everything (the compile part takes many minutes)
//! AEP_BENCH_NO_COMPILE=1 cargo bench --bench codegen   # reflect + generate only
//! AEP_BENCH_ONLY_COMPILE=1 AEP_BENCH_TABLES=20 cargo bench --bench codegen  # compile figures only
//! ```
use std::time::{Duration, Instant};

use aep_diesel::inspect::Filter;
use aep_diesel_codegen::{Options, generate};
use aep_diesel_testkit::LocalServer;
use diesel::connection::SimpleConnection;

#[path = "codegen/compile.rs"]
mod compile;

const TABLES: usize = 2000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("AEP_BENCH_ONLY_COMPILE").is_some() {
        return compile::figures();
    }
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
    // What a user waits for: the files written (into a fresh directory each time), and `--check`
    // against them (nothing differs).
    let mut write_times = Vec::new();
    let mut check_times = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        let written = generated.write_to(dir.path())?;
        write_times.push(t.elapsed());
        assert_eq!(written.len(), generated.files.len());
        let t = Instant::now();
        let stale = generated.check(dir.path())?;
        check_times.push(t.elapsed());
        assert!(
            stale.is_empty(),
            "--check right after writing finds nothing"
        );
    }
    let (w, c) = (median(write_times), median(check_times));
    println!("write:    {w:>8.1?}  (into a fresh directory, median of 5)");
    println!("--check:  {c:>8.1?}  (against the written files, median of 5)");
    println!(
        "reflect + generate + write, formatted: {:.1?} (target <= 500 ms; the output is already rustfmt's layout); \
         reflect + generate + --check: {:.1?}",
        r + g + w,
        r + g + c
    );

    if std::env::var_os("AEP_BENCH_NO_COMPILE").is_some() {
        return Ok(());
    }
    compile::figures()
}
