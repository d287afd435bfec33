//! The generator's data-driven cases (`tests/codegen/<case>/`, see the README there).
//!
//! Offline: each case's saved model (`schema.json`) and `diesel.toml` generate exactly the files in its
//! `expected/` directory (`expected/error.txt` when the configuration or the generation is refused).
//! Live: each case's `schema.sql`, loaded into a fresh database, reflects to its `schema.json`.
//! `AEP_DIESEL_BLESS=1` rewrites `schema.json` and `expected/` instead of comparing.
//!
//! Cases ported from diesel_cli also hold diesel's own output (`diesel.rs`); the offline test keeps
//! `tests/codegen/DIESEL.md`, the table of how aep-diesel's `schema.rs` compares with it, current.
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aep_diesel::SchemaModel;
use aep_diesel::inspect::Filter;
use aep_diesel_codegen::{Profiles, generate_profiles};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/codegen")
}

fn bless() -> bool {
    std::env::var_os("AEP_DIESEL_BLESS").is_some()
}

/// Every case directory, sorted.
fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("schema.sql").is_file())
        .collect();
    out.sort();
    out
}

fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

/// A directory's files, by path relative to it.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The error and its causes, one per line.
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        write!(out, "\ncaused by: {s}").unwrap();
        source = s.source();
    }
    out.push('\n');
    // Paths as the repository has them, wherever it is checked out.
    out.replace(&format!("{}/", cases_dir().display()), "tests/codegen/")
}

/// What the generator makes of a case: its files (under `<profile>/` when diesel.toml has several
/// print-schema profiles), or `error.txt`.
fn run(case: &Path) -> BTreeMap<String, String> {
    let profiles = match Profiles::from_file(&case.join("diesel.toml")) {
        Ok(o) => o,
        Err(e) => return BTreeMap::from([("error.txt".to_string(), error_text(&e))]),
    };
    let json = std::fs::read_to_string(case.join("schema.json"))
        .unwrap_or_else(|e| panic!("{}: no schema.json ({e}); bless the live test", name(case)));
    let model = SchemaModel::from_json(&json).unwrap();
    match generate_profiles(&model, &profiles) {
        Ok(g) if g.len() == 1 => g.into_values().next().unwrap().files,
        Ok(g) => g
            .into_iter()
            .flat_map(|(profile, g)| {
                g.files
                    .into_iter()
                    .map(move |(f, text)| (format!("{profile}/{f}"), text))
            })
            .collect(),
        Err(e) => BTreeMap::from([("error.txt".to_string(), error_text(&e))]),
    }
}

/// The schema modules of a case's output, in profile order, and diesel's for them: `{stem}.rs`, or
/// with profiles `{stem}_1.rs`, `{stem}_2.rs`, … (diesel's files `src/schema1.rs`, … in profile
/// order); `None` when the case has no such file (`release.rs`: not in diesel_cli 2.3.12).
fn schema_modules(
    case: &Path,
    got: &BTreeMap<String, String>,
    stem: &str,
) -> Option<(String, String)> {
    let profiles = Profiles::from_file(&case.join("diesel.toml")).unwrap();
    let several = profiles.len() > 1;
    let mut ours = String::new();
    let mut theirs = String::new();
    for (i, (profile, o)) in profiles.iter().enumerate() {
        let file = if several {
            format!("{profile}/{}", o.schema_file)
        } else {
            o.schema_file.clone()
        };
        ours.push_str(got.get(&file).map(String::as_str).unwrap_or_default());
        let diesel = if several {
            format!("{stem}_{}.rs", i + 1)
        } else {
            format!("{stem}.rs")
        };
        theirs.push_str(&std::fs::read_to_string(case.join(diesel)).ok()?);
    }
    Some((ours, theirs))
}

/// Rust tokens of the parts diesel's print-schema writes, without comments, attributes' spacing or
/// blank lines: what "the same schema.rs modulo whitespace and doc comments" compares.
fn tokens(rust: &str) -> String {
    tokens_and(rust, false)
}

/// [`tokens`], with `docs` the doc comments (`///`) too.
fn tokens_and(rust: &str, docs: bool) -> String {
    rust.lines()
        .map(str::trim)
        // aep-diesel's lint allowance for print-schema's own non-snake-case names is no difference
        .filter(|l| {
            let comment = l.starts_with("//") && !(docs && l.starts_with("///"));
            !l.is_empty() && !comment && *l != "#![allow(non_snake_case)]"
        })
        .flat_map(|l| l.split_whitespace())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn cases_generate_their_expected_output() {
    let mut failed = Vec::new();
    let mut report = String::from(
        "# aep-diesel against diesel print-schema's postgres cases\n\n\
         Kept current by `cargo test --test codegen_cases` (`AEP_DIESEL_BLESS=1` to rewrite). \
         \"identical\": aep-diesel's `schema.rs` has the same tokens as diesel's, comments, \
         whitespace and the `#![allow(non_snake_case)]` aep-diesel adds for names like `User` aside. \
         Two references: diesel_cli 2.3.12 (tag v2.3.12, the newest release, whose output compiles \
         against diesel 2.3.14; `release.rs`) and diesel's master branch at 04cc1b0b (`diesel.rs`), \
         whose test cases these are and whose output uses features no diesel release has yet \
         (`view!`, `#[diesel(enum_type)]`, `diesel::types::Enum`, paths in \
         `allow_tables_to_appear_in_same_query!`). \"–\" under 2.3.12: the release has no such case, \
         or (fk_related_tables) had it with other SQL.\n\n\
         | case | generated | compiles | identical to diesel_cli 2.3.12 | identical to diesel master | why not (the refusal, or the case's DIFFERENCE file) |\n|---|---|---|---|---|---|\n",
    );
    let (mut total, mut generated, mut identical) = (0, 0, 0);
    let (mut identical_release, mut with_release, mut identical_with_docs) = (0, 0, 0);
    let mut unexplained = Vec::new();
    let mut compiling = 0;
    for case in cases() {
        let got = run(&case);
        let expected_dir = case.join("expected");
        if bless() {
            let _ = std::fs::remove_dir_all(&expected_dir);
            for (file, text) in &got {
                let path = expected_dir.join(file);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
        } else if read_tree(&expected_dir) != got {
            failed.push(name(&case));
        }
        if case.join("diesel.rs").is_file() {
            total += 1;
            // Every difference from diesel's output is written down, with its reason.
            let difference = std::fs::read_to_string(case.join("DIFFERENCE")).ok();
            let (ok, same, same_release, why) = match got.get("error.txt") {
                // the innermost cause says what was refused
                Some(e) => (
                    false,
                    false,
                    None,
                    e.lines().last().unwrap_or("").replace("caused by: ", ""),
                ),
                None => {
                    generated += 1;
                    // the schema modules are the files diesel.toml names
                    let same_as = |stem: &str| {
                        schema_modules(&case, &got, stem)
                            .map(|(ours, theirs)| tokens(&ours) == tokens(&theirs))
                    };
                    let same = same_as("diesel").expect("diesel.rs");
                    let same_release = same_as("release");
                    // and with the doc comments too
                    if same_release == Some(true) {
                        let (ours, theirs) = schema_modules(&case, &got, "release").unwrap();
                        identical_with_docs +=
                            usize::from(tokens_and(&ours, true) == tokens_and(&theirs, true));
                    }
                    let differs = !same || same_release == Some(false);
                    if differs != difference.is_some() {
                        unexplained.push(name(&case));
                    }
                    (
                        true,
                        same,
                        same_release,
                        difference.unwrap_or_default().trim().to_string(),
                    )
                }
            };
            identical_release += usize::from(same_release == Some(true));
            with_release += usize::from(same_release.is_some());
            identical += usize::from(same);
            // generated_cases_compile holds every generated case without NO_COMPILE to compiling
            let compiles = match (ok, case.join("NO_COMPILE").is_file()) {
                (false, _) => "–",
                (true, true) => "no, by design (NO_COMPILE)",
                (true, false) => {
                    compiling += 1;
                    "yes"
                }
            };
            writeln!(
                report,
                "| {} | {} | {compiles} | {} | {} | {} |",
                name(&case).trim_start_matches("diesel_"),
                if ok { "yes" } else { "no" },
                match same_release {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "–",
                },
                if same { "yes" } else { "no" },
                why.replace('|', "\\|")
            )
            .unwrap();
        }
    }
    writeln!(
        report,
        "\n{total} cases: {generated} generate, {compiling} of them compile; {identical_release} of the \
         {with_release} that diesel_cli 2.3.12 also has are identical to its output \
         ({identical_with_docs} of them doc comments included; the others differ by the docs \
         aep-diesel writes on its `sql_types` markers where print-schema writes none), {identical} \
         identical to diesel master's."
    )
    .unwrap();
    let report_path = cases_dir().join("DIESEL.md");
    if bless() {
        std::fs::write(&report_path, &report).unwrap();
    }
    assert!(
        unexplained.is_empty(),
        "generated cases that differ from diesel's output without a DIFFERENCE file saying why, or \
         with one though they no longer differ: {unexplained:?}"
    );
    assert!(
        failed.is_empty(),
        "cases whose output differs from expected/: {failed:?}; look at the difference, then \
         `AEP_DIESEL_BLESS=1 cargo test --test codegen_cases -- --test-threads=1` if it is right"
    );
    assert_eq!(
        std::fs::read_to_string(&report_path).unwrap_or_default(),
        report,
        "tests/codegen/DIESEL.md is stale: bless"
    );
}

/// Each case's SQL reflects to its saved model (the offline test's input).
#[test]
fn case_sql_reflects_to_its_schema_json() {
    let server = common::server();
    let mut stale = Vec::new();
    for case in cases() {
        let case_name = name(&case);
        let db = format!("cg_{}", case_name.trim_start_matches("diesel_"));
        let options = server.create_database(&db).unwrap();
        let engine = server.engine_for(options).unwrap();
        let sql = std::fs::read_to_string(case.join("schema.sql")).unwrap();
        diesel::connection::SimpleConnection::batch_execute(&mut *engine.get().unwrap(), &sql)
            .unwrap_or_else(|e| panic!("{case_name}: schema.sql: {e}"));
        // The case's own schema and table filter where aep-diesel reads its diesel.toml; the default
        // schema where it does not (yet).
        let filter = Profiles::from_file(&case.join("diesel.toml"))
            .and_then(|p| p.filter())
            .unwrap_or_else(|_| Filter::new());
        let mut model = engine.inspect().unwrap().reflect(&filter).unwrap();
        // The database is made per run; the case is what stays.
        model.database = case_name.clone();
        let json = model.to_json() + "\n";
        let path = case.join("schema.json");
        if bless() {
            std::fs::write(&path, &json).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(json.as_str()) {
            stale.push(case_name);
        }
    }
    assert!(
        stale.is_empty(),
        "schema.json no longer what schema.sql reflects to: {stale:?}; bless with \
         `AEP_DIESEL_BLESS=1 cargo test --test codegen_cases -- --test-threads=1`"
    );
}

/// Every case's generated code compiles (but for a case whose `NO_COMPILE` file says why it cannot):
/// all of them as modules of one fresh crate, checked once.
#[test]
fn generated_cases_compile() {
    let mut lib = String::from("#![allow(warnings)]\n");
    let mut compiled = Vec::new();
    for case in cases() {
        if case.join("NO_COMPILE").is_file() || case.join("expected/error.txt").is_file() {
            // NO_COMPILE: a case that is not meant to, and says why; refused: nothing to compile
            continue;
        }
        let module = format!("case_{}", name(&case));
        let profiles = Profiles::from_file(&case.join("diesel.toml")).unwrap();
        // the profiles of a case side by side, as their generated paths to each other expect
        writeln!(lib, "pub mod {module} {{").unwrap();
        for (profile, o) in profiles.iter() {
            let dir = if profiles.len() > 1 {
                case.join("expected").join(profile)
            } else {
                case.join("expected")
            };
            // models: mod.rs; a patched generation is its schema module alone
            let root = [dir.join("mod.rs"), dir.join(&o.schema_file)]
                .into_iter()
                .find(|f| f.is_file())
                .unwrap_or_else(|| panic!("{module}: nothing to compile in {}", dir.display()));
            let name = if profiles.len() > 1 {
                o.output_dir.file_name().unwrap().to_str().unwrap()
            } else {
                "generated"
            };
            writeln!(
                lib,
                "    #[path = {:?}]\n    pub mod {name};",
                root.display().to_string()
            )
            .unwrap();
        }
        lib.push_str("}\n");
        compiled.push(name(&case));
    }
    assert!(compiled.len() >= 40, "{compiled:?}");
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path();
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(krate.join("src/lib.rs"), lib).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"generated-cases\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
             [dependencies]\naep-diesel = {{ path = {root:?} }}\n\
             diesel = {{ version = \"2.3.14\", features = [\"postgres\", \"chrono\", \"numeric\", \"serde_json\", \"uuid\", \"128-column-tables\"] }}\n\
             chrono = {{ version = \"0.4\", features = [\"serde\"] }}\nbigdecimal = {{ version = \"0.4\", features = [\"serde\"] }}\n\
             serde_json = \"1\"\nuuid = {{ version = \"1\", features = [\"serde\"] }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO"))
        .args(["check", "--quiet", "--offline", "--message-format=short"])
        .current_dir(krate)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(root).join("target/feature-check"),
        )
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&out.stderr);
    let failing: Vec<&String> = compiled
        .iter()
        .filter(|c| errors.contains(&format!("tests/codegen/{c}/")))
        .collect();
    assert!(
        out.status.success(),
        "generated code that does not compile, in cases {failing:?}:\n{errors}"
    );
}
