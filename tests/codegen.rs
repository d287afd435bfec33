//! Code generation against the real server: the committed models are current, the output matches
//! diesel print-schema where both apply, and generation is deterministic and pure.
mod common;

use std::path::Path;

use aep_diesel::SchemaModel;
use aep_diesel_codegen::{Generated, Options, generate};

fn manifest(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Fresh generation for `config`, compared with (or, with AEP_DIESEL_BLESS=1, written to) its output dir.
fn assert_current(engine: &aep_diesel::Engine, config: &str) -> (SchemaModel, Generated) {
    let opts = Options::from_file(&manifest(config)).unwrap();
    let model = engine
        .inspect()
        .unwrap()
        .reflect(&opts.filter().unwrap())
        .unwrap();
    let generated = generate(&model, &opts).unwrap();
    if std::env::var_os("AEP_DIESEL_BLESS").is_some() {
        generated.write_to(&opts.output_dir).unwrap();
    }
    let stale = generated.check(&opts.output_dir).unwrap();
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: regenerate with `AEP_DIESEL_BLESS=1 cargo test --test codegen`"
    );
    (model, generated)
}

#[test]
fn committed_sample_sandbox_models_are_current() {
    let (model, generated) = assert_current(&common::sandbox(), "diesel.toml");
    let f = |name: &str| &generated.files[&format!("src/{name}")];
    assert!(model.table("luma_web_data", None).is_some());
    // the view got its configured key, the materialized view none
    let keyed = "impl aep_diesel::model::Keyed for";
    assert!(f("customer_order_totals.rs").contains(keyed));
    assert!(!f("daily_event_counts.rs").contains(keyed));
    // a view never writes
    assert!(!f("customer_order_totals.rs").contains("impl aep_diesel::model::Write"));
    // `_id` alone proves nothing (the profile dataset gets no keyed reads); the event dataset is
    // keyed on it only because diesel.toml says so
    assert!(f("luma_profile.rs").contains("_id"));
    assert!(!f("luma_profile.rs").contains(keyed));
    assert!(f("luma_web_data.rs").contains(keyed));
    assert!(f("luma_web_data.rs").contains("Keyed by _id (the key set in [aep_diesel.keys])"));
    assert!(f("customers.rs").contains("pub struct Customer {"));
    assert!(f("customers.rs").contains("pub struct NewCustomer {"));
    assert!(f("customers.rs").contains("pub struct CustomerChanges {"));
    assert!(
        generated
            .warnings
            .iter()
            .any(|w| w.starts_with("daily_event_counts: no single-column primary key"))
    );
    // a crate: one feature per relation, none on by default, joins when both sides are on
    let manifest = &generated.files["Cargo.toml"];
    assert!(manifest.contains("name = \"sample-sandbox\""));
    assert!(manifest.contains("\ncustomers = []\n") && manifest.contains("\nluma_web_data = []\n"));
    assert!(!manifest.contains("default ="));
    assert!(f("lib.rs").contains("#[cfg(feature = \"orders\")]\npub mod orders;"));
    assert!(f("schema.rs").contains(
        "#[cfg(all(feature = \"orders\", feature = \"customers\"))]\ndiesel::joinable!(orders -> customers (customer_id));"
    ));
    // a composite type nested in another is compiled for the dataset that holds the outer one
    assert!(f("schema.rs").contains(
        "    #[cfg(feature = \"luma_web_data\")]\n    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]\n    #[diesel(postgres_type(name = \"commerce_order\"))]"
    ));
}

#[test]
fn committed_hostile_models_are_current_and_generation_never_aborts() {
    let (model, generated) = assert_current(&common::hostile(), "tests/hostile/diesel.toml");
    // every relation got a module, odd ones included
    assert_eq!(
        generated.files.len(),
        model.tables.len() + 3,
        "{:?}",
        generated.files.keys()
    );
    assert!(generated.diesel_features.contains("64-column-tables"));
}

/// The platform shapes case (tests/codegen/platform_shapes, kept current by tests/codegen_cases.rs)
/// generates what its models need.
#[test]
fn platform_shapes_generate_what_their_models_need() {
    let case = manifest("tests/codegen/platform_shapes");
    let model = SchemaModel::from_json(&std::fs::read_to_string(case.join("schema.json")).unwrap())
        .unwrap();
    let generated = generate(
        &model,
        &Options::from_file(&case.join("diesel.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(model.tables.len(), 2);
    assert!(generated.diesel_features.contains("128-column-tables"));
    // the map's domain reads as JSON; the four levels of XDM objects are four Rust types
    assert!(
        generated.files["deep_events.rs"].contains("pub identitymap: Option<serde_json::Value>,")
    );
    for level in ["XdmLevel1", "XdmLevel2", "XdmLevel3", "XdmLevel4"] {
        assert!(generated.files["types.rs"].contains(&format!("pub struct {level}(")));
    }
}

/// The `table!` blocks of ordinary keyed tables match diesel print-schema's (tests/fixtures), modulo
/// whitespace; so do the joinable! lines.
#[test]
fn ordinary_tables_match_diesel_print_schema() {
    let opts = Options::from_file(&manifest("diesel.toml")).unwrap();
    let model = common::sandbox()
        .inspect()
        .unwrap()
        .reflect(&opts.filter().unwrap())
        .unwrap();
    let mut plain = opts.clone();
    plain.with_docs = aep_diesel_codegen::DocComments::None; // print-schema was run without docs
    plain.package = None; // modules: no feature gates
    let ours = generate(&model, &plain).unwrap().files["schema.rs"].clone();
    let theirs =
        std::fs::read_to_string(manifest("tests/fixtures/print_schema_sample.rs.txt")).unwrap();
    let block = |text: &str, table: &str| -> String {
        let start = text
            .find(&format!("    {table} ("))
            .or_else(|| text.find(&format!("\n\n    {table} (")))
            .unwrap_or_else(|| panic!("no table! for {table}"));
        let open = text[..start].rfind("diesel::table! {").unwrap();
        let end = open + text[open..].find("\n}\n").unwrap();
        text[open..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    for table in ["customers", "orders", "order_items"] {
        assert_eq!(
            block(&ours, table),
            block(&theirs, table),
            "table! {table} differs from print-schema"
        );
    }
    for line in theirs
        .lines()
        .filter(|l| l.starts_with("diesel::joinable!"))
    {
        assert!(ours.contains(line), "missing {line}");
    }
}

#[test]
fn generation_is_deterministic_and_works_from_saved_json() {
    let opts = Options::from_file(&manifest("diesel.toml")).unwrap();
    let engine = common::sandbox();
    let model = engine
        .inspect()
        .unwrap()
        .reflect(&opts.filter().unwrap())
        .unwrap();
    let again = engine
        .inspect()
        .unwrap()
        .reflect(&opts.filter().unwrap())
        .unwrap();
    assert_eq!(model, again);
    let json = model.to_json();
    let back = SchemaModel::from_json(&json).unwrap();
    assert_eq!(back, model);
    assert_eq!(
        generate(&back, &opts).unwrap(),
        generate(&model, &opts).unwrap()
    );
}

/// The generated crate compiles with no feature, with each feature alone, and with all: every
/// item a relation needs is compiled with it, and nothing else is. (A separate target directory,
/// so the nested cargo does not wait for this one's lock.)
#[test]
fn the_generated_crate_compiles_with_any_one_feature() {
    let text = std::fs::read_to_string(manifest("examples/sandbox/Cargo.toml")).unwrap();
    let features: Vec<&str> = text
        .split("\n[features]\n")
        .nth(1)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_suffix(" = []"))
        .collect();
    assert!(features.len() >= 10, "{features:?}");
    let target = manifest("target/feature-check");
    let check = |features: &str| {
        let out = std::process::Command::new(env!("CARGO"))
            .args([
                "check",
                "--quiet",
                "--offline",
                "-p",
                "sample-sandbox",
                "--manifest-path",
            ])
            .arg(manifest("Cargo.toml"))
            .args(["--features", features])
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "features [{features}]: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    check("");
    for f in &features {
        check(f);
    }
    check("orders,customers,order_items");
    check("all-tables");
}

#[allow(dead_code)]
#[path = "../benches/codegen/compile.rs"]
mod compile;

/// The generator lays code out as rustfmt would, so it never runs rustfmt: a schema with long table,
/// column and derive names comes out exactly as `rustfmt --edition 2024` leaves it. (The committed
/// sample and hostile output are held to the same by `cargo fmt --check`.)
#[test]
fn output_is_already_rustfmt_layout() {
    let mut model = compile::synthetic(2);
    for (i, t) in model.tables.iter_mut().enumerate() {
        t.name = format!("adobe_analytics_experience_event_dataset_for_the_luma_store_{i}");
        for c in t.columns.iter_mut().skip(1) {
            c.name = format!("_experience_analytics_customdimensions_evars_{}", c.name);
        }
    }
    let mut opts = Options::default();
    opts.derives = vec![
        "serde::Serialize".into(),
        "serde::Deserialize".into(),
        "schemars::JsonSchema".into(),
    ];
    let generated = generate(&model, &opts).unwrap();
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    for (name, text) in &generated.files {
        use std::io::Write;
        let mut child = std::process::Command::new(&rustfmt)
            .args(["--edition", "2024", "--emit", "stdout"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("rustfmt (rustup component add rustfmt)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{name}");
        let formatted = String::from_utf8(out.stdout).unwrap();
        if formatted != *text {
            let line = formatted
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{name} differs from rustfmt's layout at line {}:\n{}",
                line + 1,
                text.lines()
                    .skip(line)
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// The documented build-script way: a crate whose `build.rs` generates the models from a saved
/// `schema.json` (no database, no credentials) into `OUT_DIR`, and `include!`s them, compiles; and
/// its code uses them.
#[test]
fn a_build_script_generates_from_saved_json() {
    let opts = Options::from_file(&manifest("diesel.toml")).unwrap();
    let model = common::sandbox()
        .inspect()
        .unwrap()
        .reflect(&opts.filter().unwrap())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path();
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(krate.join("schema.json"), model.to_json()).unwrap();
    std::fs::write(
        krate.join("diesel.toml"),
        "[aep_diesel]\nderives = [\"serde::Serialize\"]\n[aep_diesel.keys]\nluma_web_data = [\"_id\"]\n",
    )
    .unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"uses-build-rs\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
             [dependencies]\naep-diesel = {{ path = {root:?} }}\n\
             diesel = {{ version = \"2.3.14\", features = [\"postgres\", \"chrono\", \"numeric\", \"serde_json\", \"uuid\", \"128-column-tables\"] }}\n\
             chrono = {{ version = \"0.4\", features = [\"serde\"] }}\nbigdecimal = {{ version = \"0.4\", features = [\"serde\"] }}\n\
             serde_json = \"1\"\nuuid = {{ version = \"1\", features = [\"serde\"] }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n\n\
             [build-dependencies]\naep-diesel-codegen = {{ path = \"{root}/crates/aep-diesel-codegen\" }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    // What the single_file() docs show.
    std::fs::write(
        krate.join("build.rs"),
        r#"fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=schema.json");
    println!("cargo::rerun-if-changed=diesel.toml");
    let model = aep_diesel_codegen::SchemaModel::from_json(&std::fs::read_to_string("schema.json")?)?;
    let options = aep_diesel_codegen::Options::from_file("diesel.toml".as_ref())?;
    let code = aep_diesel_codegen::generate(&model, &options)?.single_file().expect("modules");
    std::fs::write(std::path::Path::new(&std::env::var("OUT_DIR")?).join("db.rs"), code)?;
    Ok(())
}
"#,
    )
    .unwrap();
    std::fs::write(
        krate.join("src/lib.rs"),
        "pub mod db {\n    include!(concat!(env!(\"OUT_DIR\"), \"/db.rs\"));\n}\n\n\
         use aep_diesel::model::prelude::*;\n\n\
         pub fn first_orders(conn: &mut aep_diesel::AepConnection) -> aep_diesel::Result<Vec<db::orders::Order>> {\n\
         \x20   db::orders::Order::list(conn, 10, 0)\n}\n",
    )
    .unwrap();
    // The same dependencies as tests/codegen_cases.rs's generated crate: one build of them serves both.
    let out = std::process::Command::new(env!("CARGO"))
        .args(["check", "--quiet", "--offline"])
        .current_dir(krate)
        .env("CARGO_TARGET_DIR", manifest("target/feature-check"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
