//! The `aep-diesel` binary: inspect (names and JSON), generate (live, from JSON without network,
//! --check), and the password never on the command line.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aep_diesel::{Engine, SchemaModel};
use aep_diesel_testkit::{LocalServer, sample};

const BIN: &str = env!("CARGO_BIN_EXE_aep-diesel");

fn server() -> &'static LocalServer {
    LocalServer::shared().expect("the local TLS server starts")
}

fn sandbox() -> Engine {
    sample::shared_engine().expect("the sample sandbox loads")
}

/// A path from the workspace root.
fn root(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The binary with the sample sandbox's connection in PG* variables.
fn cli() -> Command {
    let _ = sandbox();
    let s = server();
    let c = s.options();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGHOST", c.get_host())
        .env("PGPORT", c.get_port().to_string())
        .env("PGDATABASE", c.get_dbname())
        .env("PGUSER", c.get_user())
        .env("PGPASSWORD", c.get_password().expose())
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", s.ca_cert_path());
    cmd
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn inspect_lists_tables_and_dumps_the_model() {
    let names = ok(cli().arg("inspect").output().unwrap());
    let expected = sandbox().inspect().unwrap().table_names(None).unwrap();
    assert_eq!(names.lines().collect::<Vec<_>>(), expected);
    let json = ok(cli().args(["inspect", "--json"]).output().unwrap());
    let model = SchemaModel::from_json(&json).unwrap();
    assert!(
        model
            .table("luma_web_data", None)
            .unwrap()
            .primary_key
            .is_none()
    );
    assert!(model.table("customer_order_totals", None).is_some());
    // --check: the saved model matches; a stale one is named, with exit code 1
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("schema.json");
    std::fs::write(&saved, &json).unwrap();
    let out = cli()
        .arg("inspect")
        .arg("--check")
        .arg(&saved)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut stale = model.clone();
    stale.tables.retain(|t| t.name != "orders");
    std::fs::write(&saved, stale.to_json()).unwrap();
    let out = cli()
        .arg("inspect")
        .arg("--check")
        .arg(&saved)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("table public.orders: only there"), "{text}");
}

#[test]
fn generate_checks_writes_and_works_offline_from_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = root("diesel.toml");
    let model_path = dir.path().join("schema.json");
    let out_dir = dir.path().join("models");
    // live: write into a fresh directory, saving the model
    let out = cli()
        .args(["generate", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out_dir)
        .arg("--save-model")
        .arg(&model_path)
        .output()
        .unwrap();
    ok(out);
    // the same files as the committed crate
    let mut compared = 0;
    for sub in ["", "src"] {
        for entry in std::fs::read_dir(out_dir.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_dir() {
                continue;
            }
            let committed = root("examples/sandbox").join(sub).join(entry.file_name());
            assert_eq!(
                std::fs::read(entry.path()).unwrap(),
                std::fs::read(&committed).unwrap(),
                "{}",
                committed.display()
            );
            compared += 1;
        }
    }
    assert!(
        compared > 10,
        "Cargo.toml, lib.rs, schema.rs, types.rs and the models"
    );
    // offline: no server reachable at all, from the saved JSON, --check passes
    let offline = |args: &[&str]| {
        Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", "1")
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--from")
            .arg(&model_path)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .unwrap()
    };
    let out = offline(&["generate", "--check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a hand edit makes --check fail with exit code 1 and name the file; generate repairs it
    let orders = out_dir.join("src/orders.rs");
    std::fs::write(&orders, "// edited\n").unwrap();
    let out = offline(&["generate", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("orders.rs"));
    assert!(offline(&["generate"]).status.success());
    assert!(offline(&["generate", "--check"]).status.success());
    // --crate renames the package; the rest is the same
    let out = offline(&["generate", "--crate", "my-models", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cargo.toml"));
    assert!(
        offline(&["generate", "--crate", "my-models"])
            .status
            .success()
    );
    let manifest = std::fs::read_to_string(out_dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"my-models\""), "{manifest}");
    let out = offline(&["generate", "--crate", "9 lives"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[aep_diesel.crate] name must"));
}

#[test]
fn password_is_never_a_plain_argument_and_errors_are_clear() {
    let out = cli()
        .args(["--password", "secret", "inspect"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--password'"));
    // --password-file works, with the line break of a pasted token removed
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(
        &pw,
        format!("{}\n", server().options().get_password().expose()),
    )
    .unwrap();
    let out = cli()
        .env_remove("PGPASSWORD")
        .arg("--password-file")
        .arg(&pw)
        .arg("inspect")
        .output()
        .unwrap();
    assert!(ok(out).contains("luma_web_data"));
    // a wrong password: classified, with the hint, exit code 2, no secret echoed
    let out = cli()
        .env("PGPASSWORD", "SENTINEL-wrong")
        .arg("inspect")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("authentication failed") && err.contains("expire"),
        "{err}"
    );
    assert!(!err.contains("SENTINEL"));
    // a password that is not UTF-8 is named, not read as unset, and not echoed
    let out = cli()
        .env(
            "PGPASSWORD",
            <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(
                b"SENTINEL\xff".to_vec(),
            ),
        )
        .arg("inspect")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PGPASSWORD") && err.contains("UTF-8"), "{err}");
    assert!(!err.contains("SENTINEL"));
    // a bad config names the key: an unknown one, and a patch file that is not there
    let bad = dir.path().join("diesel.toml");
    for (toml, key) in [
        ("[print_schema]\nbogus_key = 1\n", "bogus_key"),
        ("[print_schema]\npatch_file = \"x.patch\"\n", "patch_file"),
    ] {
        std::fs::write(&bad, toml).unwrap();
        let out = cli()
            .args(["generate", "--config"])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{err}");
    }
    // weak sslmode refused
    let out = cli()
        .args(["--sslmode", "disable", "inspect"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sslmode=disable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `inspect` and `inspect --json` through the Query Service stand-in: the same names and model as
/// from PostgreSQL (the key Data Distiller declared shows up, marked not enforced).
#[test]
fn inspect_through_the_query_service_stand_in() {
    let _ = sandbox();
    let qs = aep_diesel_testkit::QsStandIn::builder(server())
        .primary_key("luma_web_data", &["_id"], None)
        .start()
        .unwrap();
    let o = qs.options_for("prod:all");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGHOST", o.get_host())
            .env("PGPORT", o.get_port().to_string())
            .env("PGDATABASE", o.get_dbname())
            .env("PGUSER", o.get_user())
            .env("PGPASSWORD", o.get_password().expose())
            .env("PGSSLMODE", "verify-full")
            .env("PGSSLROOTCERT", qs.ca_cert_path())
            .args(args);
        ok(cmd.output().unwrap())
    };
    let direct = sandbox().inspect().unwrap().table_names(None).unwrap();
    assert_eq!(run(&["inspect"]).lines().collect::<Vec<_>>(), direct);
    let model = SchemaModel::from_json(&run(&["inspect", "--json"])).unwrap();
    let pk = model
        .table("luma_web_data", None)
        .unwrap()
        .primary_key
        .clone()
        .expect("the declared key");
    assert_eq!((pk.columns, pk.enforced), (vec!["_id".to_string()], false));
    assert!(qs.refusals().is_empty(), "{:?}", qs.refusals());
}

/// A diesel.toml with print-schema profiles: `generate` writes each profile into its own directory
/// (the files the generator case holds), `--schema-key` picks some, and the ways to get it wrong are
/// clear errors.
#[test]
fn generate_writes_every_profile_and_schema_key_picks() {
    let case = root("tests/codegen/diesel_with_multiple_schema_cross_schema_foreign_key");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("diesel.toml");
    std::fs::copy(case.join("diesel.toml"), &config).unwrap();
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(["generate", "--config"])
            .arg(&config)
            .arg("--from")
            .arg(case.join("schema.json"))
            .args(extra)
            .output()
            .unwrap()
    };
    let tree = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    ok(run(&[]));
    // user1 writes src/schema1/, user2 src/schema2/: what the case expects of each profile
    for (profile, module) in [("user1", "schema1"), ("user2", "schema2")] {
        assert_eq!(
            tree(&dir.path().join("src").join(module)),
            tree(&case.join("expected").join(profile)),
            "{profile}"
        );
    }
    // the foreign key into user2's table joins through a use of the sibling path
    let schema1 = std::fs::read_to_string(dir.path().join("src/schema1/schema1.rs")).unwrap();
    for line in [
        "use super::super::super::schema2::schema::people::api_token;",
        "diesel::joinable!(game_session -> api_token (api_token_id));",
        "diesel::allow_tables_to_appear_in_same_query!(api_token, game_session,);",
    ] {
        assert!(schema1.contains(line), "{line}\n{schema1}");
    }
    assert!(run(&["--check"]).status.success());
    // one profile only
    std::fs::remove_dir_all(dir.path().join("src")).unwrap();
    ok(run(&["--schema-key", "user2"]));
    assert!(dir.path().join("src/schema2/schema2.rs").is_file());
    assert!(!dir.path().join("src/schema1").exists());
    // a profile picked alone is written as in a full run: user2 still owns what user1 joins
    ok(run(&["--schema-key", "user1"]));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/schema1/schema1.rs")).unwrap(),
        schema1
    );
    // an unknown profile names the ones there are; --out cannot serve two profiles
    let out = run(&["--schema-key", "user3"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("user3") && err.contains("user1, user2"),
        "{err}"
    );
    let out = run(&["--out", "elsewhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--schema-key"));
}
