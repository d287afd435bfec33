//! Compile time of generated code: `cargo check` time and peak RSS for N keyed tables of 20 columns,
//! Diesel's `table!` blocks alone (print-schema's output without docs and joins, the reference)
//! beside read-only and full models, in one run, dependencies built beforehand. `AEP_BENCH_TABLES`
//! picks the sizes (default `20,100`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aep_diesel::inspect::{Column, PrimaryKey, SchemaModel, SqlType, Table, TableKind, TypeKind};
use aep_diesel_codegen::config::Package;
use aep_diesel_codegen::{AllowTables, Generated, Options, generate};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// One keyed table of the synthetic schema: a bigint key and 19 columns of common types.
/// The options every figure is measured with: the defaults, with the foreign-key grouping of
/// `allow_tables_to_appear_in_same_query!` (none for these unrelated tables) that the earlier
/// figures had, so they stay comparable as the default follows print-schema's for small keyed
/// schemas.
fn bench_options() -> Options {
    let mut o = Options::default();
    o.allow_tables = AllowTables::FkRelatedTables;
    o
}

fn synthetic_table(i: usize) -> Table {
    let types: [(&str, &str, bool, bool); 20] = [
        ("id", "int8", false, false),
        ("ts", "timestamptz", true, false),
        ("n1", "int4", true, false),
        ("n2", "int8", true, false),
        ("amount", "numeric", true, false),
        ("flag", "bool", true, false),
        ("label", "text", false, false),
        ("code", "varchar", true, false),
        ("tags", "text", true, true),
        ("payload", "jsonb", true, false),
        ("d", "date", true, false),
        ("f", "float8", true, false),
        ("n3", "int4", true, false),
        ("note", "text", true, false),
        ("n4", "int8", true, false),
        ("ok", "bool", false, false),
        ("extra", "text", true, false),
        ("score", "float4", true, false),
        ("born", "date", true, false),
        ("last", "timestamptz", true, false),
    ];
    let columns = types
        .iter()
        .enumerate()
        .map(|(n, (name, ty, nullable, array))| Column {
            name: name.to_string(),
            ordinal: n as i16 + 1,
            sql_type: SqlType {
                schema: "pg_catalog".into(),
                name: ty.to_string(),
                kind: TypeKind::Base,
                array: *array,
                display: ty.to_string(),
                max_length: None,
            },
            nullable: *nullable,
            default: None,
            identity: None,
            generated: None,
            comment: None,
            view_nullable: None,
        })
        .collect();
    Table {
        schema: "public".into(),
        name: format!("t{i:04}"),
        kind: TableKind::Table,
        comment: None,
        columns,
        primary_key: Some(PrimaryKey {
            name: format!("t{i:04}_pkey"),
            columns: vec!["id".into()],
            enforced: true,
        }),
        foreign_keys: vec![],
        indexes: vec![],
        unique_constraints: vec![],
        check_constraints: vec![],
    }
}

/// `n` synthetic keyed tables.
pub fn synthetic(n: usize) -> SchemaModel {
    SchemaModel {
        database: "bench".into(),
        default_schema: "public".into(),
        schemas: vec!["public".into()],
        tables: (0..n).map(synthetic_table).collect(),
        types: vec![],
    }
}

/// Runs per figure; the median is printed.
const REPEAT: usize = 3;

/// The run with the median time, and its peak RSS.
fn median_run(mut runs: Vec<(Duration, u64)>) -> (Duration, u64) {
    runs.sort();
    runs[runs.len() / 2]
}

pub fn figures() -> Res<()> {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-compile");
    let scratch = Scratch::new(&target)?;
    let sizes: Vec<usize> = std::env::var("AEP_BENCH_TABLES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![20, 100]);
    println!(
        "\ncompile time of generated code (cargo check, dependencies already built; median of {REPEAT}, interleaved):"
    );
    for n in sizes {
        let model = synthetic(n);
        let mut plain = bench_options();
        plain.with_docs = aep_diesel_codegen::DocComments::None;
        let schema_only = generate(&model, &plain)?.files[&plain.schema_file].clone();
        let mut ro = bench_options();
        ro.read_only_tables = vec![".*".into()];
        let read_only = generate(&model, &ro)?;
        let full = generate(&model, &bench_options())?;
        // Interleaved and repeated: one-shot timings on a 2-core machine vary by several percent.
        let mut runs: [Vec<(Duration, u64)>; 3] = Default::default();
        for _ in 0..REPEAT {
            runs[0].push(scratch.check_source(&schema_only)?);
            runs[1].push(scratch.check_generated(&read_only)?);
            runs[2].push(scratch.check_generated(&full)?);
        }
        let [(t0, m0), (t1, m1), (t2, m2)] = runs.map(median_run);
        let row = |label: &str, t: Duration, m: u64| {
            println!(
                "  N = {n:>4}  {label:<40} {:>7.1} s  {:>5.2} GB  {:>5.2}x",
                t.as_secs_f64(),
                m as f64 / 1e9,
                t.as_secs_f64() / t0.as_secs_f64()
            )
        };
        row("table! alone (print-schema, reference)", t0, m0);
        row("read-only models (target <= 1.1x)", t1, m1);
        row("full models, the default (target <= 1.5x)", t2, m2);
    }
    crate_figures(&scratch)
}

/// A service that uses 10 datasets of a generated 2,000-table crate (10 Cargo features on), against
/// the same 10 tables' `table!` blocks alone.
fn crate_figures(scratch: &Scratch) -> Res<()> {
    const N: usize = 2000;
    let picked: Vec<usize> = (0..10).map(|i| i * N / 10).collect();
    let model = synthetic(N);
    let mut opts = bench_options();
    opts.package = Some(
        Package::new("bench-models")
            .aep_diesel(format!("{{ path = {:?} }}", env!("CARGO_MANIFEST_DIR"))),
    );
    let start = Instant::now();
    let g = generate(&model, &opts)?;
    let gen_time = start.elapsed();
    let dir = tempfile::tempdir()?;
    let models = dir.path().join("models");
    g.write_to(&models)?;
    let service = dir.path().join("service");
    std::fs::create_dir_all(service.join("src"))?;
    let features: Vec<String> = picked.iter().map(|i| format!("\"t{i:04}\"")).collect();
    std::fs::write(
        service.join("Cargo.toml"),
        format!(
            "[package]\nname = \"service\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n\
             bench-models = {{ path = \"../models\", features = [{}] }}\n\n[workspace]\n",
            features.join(", ")
        ),
    )?;
    std::fs::write(
        service.join("src/lib.rs"),
        "#![allow(dead_code)]\npub use bench_models::*;\n",
    )?;
    let service = Scratch::at(&service, &scratch.target);
    service.cargo_check()?; // dependencies built once
    let mut subset = synthetic(0);
    subset.tables = picked.iter().map(|i| model.tables[*i].clone()).collect();
    let mut plain = bench_options();
    plain.with_docs = aep_diesel_codegen::DocComments::None;
    let schema_only = generate(&subset, &plain)?.files[&plain.schema_file].clone();
    let lib = models.join("src/lib.rs");
    let service_lib = service.dir().join("src/lib.rs");
    let mut runs: [Vec<(Duration, u64)>; 3] = Default::default();
    for i in 0..REPEAT {
        runs[0].push(scratch.check_source(&schema_only)?);
        // The generated crate changed (regenerated): it and the service are checked again.
        std::fs::write(&lib, std::fs::read(&lib)?)?;
        runs[1].push(service.cargo_check()?);
        // Only the service changed: the generated crate is reused as built.
        std::fs::write(
            &service_lib,
            format!("#![allow(dead_code)]\npub use bench_models::*;\n// edit {i}\n"),
        )?;
        runs[2].push(service.cargo_check()?);
    }
    let [(t_ref, m_ref), (t_crate, m_crate), (t_edit, m_edit)] = runs.map(median_run);
    let bytes: usize = g.files.values().map(String::len).sum();
    println!(
        "\ngenerated crate of {N} tables ({} files, {} MiB, generated in {:.0?}), a service enabling 10 features:",
        g.files.len(),
        bytes / (1024 * 1024),
        gen_time
    );
    let row = |label: &str, t: Duration, m: u64| {
        println!(
            "  {label:<58} {:>7.1} s  {:>5.2} GB  {:>5.2}x",
            t.as_secs_f64(),
            m as f64 / 1e9,
            t.as_secs_f64() / t_ref.as_secs_f64()
        )
    };
    row("the same 10 tables' table! alone (reference)", t_ref, m_ref);
    row(
        "service + the generated crate, 10 of 2,000 features",
        t_crate,
        m_crate,
    );
    row("service edited, generated crate reused", t_edit, m_edit);
    Ok(())
}

/// A scratch crate depending on aep-diesel and the generated code's crates, in a shared target dir.
pub struct Scratch {
    dir: tempfile::TempDir,
    target: std::path::PathBuf,
}

/// A crate directory to `cargo check`, in a shared target dir.
pub struct Checked {
    dir: std::path::PathBuf,
    target: std::path::PathBuf,
}

impl Scratch {
    /// An existing crate at `dir`, checked with this scratch's target directory.
    fn at(dir: &Path, target: &Path) -> Checked {
        Checked {
            dir: dir.to_path_buf(),
            target: target.to_path_buf(),
        }
    }

    pub fn new(target: &Path) -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let manifest = format!(
            "[package]\nname = \"gencheck\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n\
             aep-diesel = {{ path = {:?} }}\n\
             diesel = {{ version = \"=2.3.14\", default-features = false, features = [\"postgres\", \"chrono\", \"numeric\", \"serde_json\", \"32-column-tables\"] }}\n\
             chrono = \"0.4\"\nbigdecimal = \"0.4\"\nserde_json = \"1\"\n\n[workspace]\n",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::write(dir.path().join("Cargo.toml"), manifest)?;
        std::fs::create_dir_all(dir.path().join("src"))?;
        std::fs::write(dir.path().join("src/lib.rs"), "")?;
        let s = Scratch {
            dir,
            target: target.to_path_buf(),
        };
        s.cargo_check()?;
        Ok(s)
    }

    fn cargo_check(&self) -> Res<(Duration, u64)> {
        check_in(self.dir.path(), &self.target)
    }

    pub fn check_source(&self, schema: &str) -> Res<(Duration, u64)> {
        let _ = std::fs::remove_dir_all(self.dir.path().join("src/generated"));
        std::fs::write(
            self.dir.path().join("src/lib.rs"),
            format!("#![allow(dead_code)]\npub mod schema {{\n{schema}\n}}\n"),
        )?;
        self.cargo_check()
    }

    pub fn check_generated(&self, g: &Generated) -> Res<(Duration, u64)> {
        let gen_dir = self.dir.path().join("src/generated");
        let _ = std::fs::remove_dir_all(&gen_dir);
        g.write_to(&gen_dir)?;
        std::fs::write(
            self.dir.path().join("src/lib.rs"),
            "#![allow(dead_code)]\npub mod generated;\n",
        )?;
        self.cargo_check()
    }
}

impl Checked {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn cargo_check(&self) -> Res<(Duration, u64)> {
        check_in(&self.dir, &self.target)
    }
}

/// `cargo check` in `dir` with `target` as target dir: the wall time and the peak RSS.
fn check_in(dir: &Path, target: &Path) -> Res<(Duration, u64)> {
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO"))
        .args(["check", "--offline", "-q"])
        .env("CARGO_INCREMENTAL", "0")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()?;
    let elapsed = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("cargo check failed: {stderr}").into());
    }
    let kb: u64 = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Ok((elapsed, kb * 1000))
}
