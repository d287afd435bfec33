//! The engine against the real local TLS server: TLS modes, laziness, classified errors, the pool, the
//! Diesel DSL on pooled connections, migrations.
mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use aep_diesel::diesel::prelude::*;
use aep_diesel::diesel::sql_types::{Integer, Text};
use aep_diesel::{ConnectOptions, Engine, Error, RootCert, SslMode, create_engine};
use aep_diesel_testkit::sample;
use common::{sandbox, server};
use diesel::connection::SimpleConnection;

diesel::table! {
    customers (id) {
        id -> BigInt,
        email -> Text,
        name -> Varchar,
        country -> Nullable<Bpchar>,
        created_at -> Timestamptz,
    }
}
diesel::table! {
    orders (id) {
        id -> BigInt,
        customer_id -> BigInt,
        total -> Numeric,
        note -> Nullable<Text>,
    }
}
diesel::joinable!(orders -> customers (customer_id));
diesel::allow_tables_to_appear_in_same_query!(customers, orders);

fn backend_pid(conn: &mut aep_diesel::AepConnection) -> i32 {
    diesel::select(diesel::dsl::sql::<Integer>("pg_backend_pid()"))
        .get_result(conn)
        .unwrap()
}

#[test]
fn verify_full_with_the_local_ca_connects_over_tls() {
    assert!(matches!(
        server().options().get_ssl_mode(),
        SslMode::VerifyFull(RootCert::File(_))
    ));
    let engine = server().engine().unwrap();
    let mut conn = engine.get().unwrap();
    let (user, db, ssl): (String, String, bool) = diesel::select((
        diesel::dsl::sql::<Text>("current_user::text"),
        diesel::dsl::sql::<Text>("current_database()::text"),
        diesel::dsl::sql::<diesel::sql_types::Bool>(
            "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
        ),
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(
        (user.as_str(), db.as_str(), ssl),
        ("ACME@AdobeOrg", "prod:all", true)
    );
    // the default protocol (Auto) keeps PostgreSQL's binary, prepared-statement speed
    assert_eq!(conn.protocol(), aep_diesel::Protocol::Binary);
    assert!(!conn.is_query_service());
}

#[test]
fn require_and_verify_ca_connect_too() {
    let creds = server().options();
    for mode in [
        SslMode::Require,
        SslMode::VerifyCa(RootCert::File(server().ca_cert_path())),
    ] {
        let engine = Engine::builder(creds.clone().ssl_mode(mode.clone()))
            .build()
            .unwrap();
        let mut conn = engine.get().unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(backend_pid(&mut conn) > 0);
    }
}

#[test]
fn wrong_ca_or_wrong_host_name_fails_with_tls_error() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign-ca.crt");
    server().write_foreign_ca(&foreign).unwrap();
    let creds = server().options();
    let wrong_ca = Engine::builder(
        creds
            .clone()
            .ssl_mode(SslMode::VerifyFull(RootCert::File(foreign.clone()))),
    )
    .build()
    .unwrap();
    let e = wrong_ca.get().expect_err("expected an error");
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");
    let wrong_ca_only = Engine::builder(
        creds
            .clone()
            .ssl_mode(SslMode::VerifyCa(RootCert::File(foreign))),
    )
    .build()
    .unwrap();
    assert!(matches!(
        wrong_ca_only.get().expect_err("expected an error"),
        Error::Tls { .. }
    ));

    // 127.0.0.2 reaches the same server, but the certificate names only localhost, 127.0.0.1 and ::1.
    let other_name = creds.clone().host("127.0.0.2");
    let ca = RootCert::File(server().ca_cert_path());
    let e = Engine::builder(other_name.clone().ssl_mode(SslMode::VerifyFull(ca.clone())))
        .build()
        .unwrap()
        .get()
        .expect_err("expected an error");
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    assert!(e.to_string().contains("127.0.0.2"), "{e}");
    // verify-ca ignores the host name, so the same connection succeeds
    let ok = Engine::builder(other_name.ssl_mode(SslMode::VerifyCa(ca)))
        .build()
        .unwrap();
    assert!(ok.get().is_ok());
}

#[test]
fn build_does_no_io_and_first_get_reports_unreachable() {
    // A listener that counts connections: building must not connect.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let creds = ConnectOptions::new("127.0.0.1", port, "prod:all", "ACME@AdobeOrg", "pw").unwrap();
    let start = Instant::now();
    let engine = Engine::builder(creds).build().unwrap();
    let built_in = start.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        listener.accept().is_err(),
        "building the engine opened a connection"
    );
    assert!(
        built_in < Duration::from_millis(100),
        "build took {built_in:?}"
    );
    assert_eq!(engine.state().connections, 0);
    drop(engine);

    // A closed port: build still succeeds at once; get() fails with Unreachable, well before the
    // 30-second checkout timeout.
    drop(listener);
    let creds = ConnectOptions::new("127.0.0.1", port, "prod:all", "ACME@AdobeOrg", "pw").unwrap();
    let engine = Engine::builder(creds).build().unwrap();
    let start = Instant::now();
    let e = engine.get().expect_err("expected an error");
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert!(e.to_string().contains("hint: check host and port"), "{e}");
}

#[test]
fn wrong_password_is_an_authentication_error_with_the_expiry_hint() {
    let creds = server().options().with_password("expired-token");
    let e = server()
        .engine_for(creds)
        .unwrap()
        .get()
        .expect_err("expected an error");
    assert!(matches!(e, Error::Authentication { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(
        text.contains("expire (after 24 hours by default)"),
        "{text}"
    );
    assert!(e.is_permanent());
}

#[test]
fn missing_database_is_classified() {
    let creds = server().options_for("nope:all");
    let e = server()
        .engine_for(creds)
        .unwrap()
        .get()
        .expect_err("expected an error");
    assert!(matches!(e, Error::DatabaseNotFound { .. }), "{e}");
    assert!(
        e.to_string().contains("prod:all"),
        "the hint names the platform form: {e}"
    );
}

#[test]
fn pool_timeout_after_the_configured_time_never_hangs() {
    let engine = Engine::builder(server().options())
        .max_size(1)
        .checkout_timeout(Duration::from_millis(700))
        .build()
        .unwrap();
    let held = engine.get().unwrap();
    let start = Instant::now();
    let e = engine.get().expect_err("expected an error");
    let waited = start.elapsed();
    assert!(matches!(e, Error::PoolTimeout { max_size: 1, .. }), "{e}");
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    drop(held);
    assert!(
        engine.get().is_ok(),
        "the pool serves again once the connection is back"
    );
    assert!(engine.state().connections <= 1);
}

#[test]
fn pooled_connections_speak_the_whole_diesel_dsl() {
    let engine = sandbox();
    let mut conn = engine.get().unwrap();
    let rows: Vec<(String, Option<String>)> = customers::table
        .inner_join(orders::table)
        .select((customers::email, orders::note))
        .order(orders::id)
        .load(&mut conn)
        .unwrap();
    assert!(
        rows.iter()
            .any(|(e, n)| e == "ada@example.com" && n.as_deref() == Some("first order")),
        "{rows:?}"
    );
    // a rolled-back transaction leaves no trace
    let before: i64 = customers::table.count().get_result(&mut conn).unwrap();
    let r: Result<(), diesel::result::Error> = conn.transaction(|c| {
        diesel::insert_into(customers::table)
            .values((
                customers::email.eq("tx@example.com"),
                customers::name.eq("Tx"),
            ))
            .execute(c)?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(r.is_err());
    let after: i64 = customers::table.count().get_result(&mut conn).unwrap();
    assert_eq!(before, after);
}

#[test]
fn a_connection_left_in_a_failed_transaction_is_never_handed_out_again() {
    let engine = Engine::builder(server().options())
        .max_size(1)
        .build()
        .unwrap();
    let pid = {
        let mut conn = engine.get().unwrap();
        let pid = backend_pid(&mut conn);
        assert!(conn.batch_execute("BEGIN; SELECT 1/0;").is_err());
        pid
    };
    let mut conn = engine.get().unwrap();
    assert_ne!(
        backend_pid(&mut conn),
        pid,
        "the aborted-transaction connection came back"
    );
    drop(conn);

    // Same for an open Diesel transaction abandoned by a panic.
    let pid = backend_pid(&mut engine.get().unwrap());
    let e2 = engine.clone();
    let r = std::thread::spawn(move || {
        let mut conn = e2.get().unwrap();
        conn.transaction::<(), diesel::result::Error, _>(|_| panic!("boom"))
            .ok();
    })
    .join();
    assert!(r.is_err());
    let mut conn = engine.get().unwrap();
    assert_ne!(backend_pid(&mut conn), pid);
}

#[test]
fn builder_validates_settings() {
    let creds = server().options();
    let setting = |r: Result<Engine, Error>| match r {
        Err(Error::InvalidConfig { setting, .. }) => setting,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        setting(Engine::builder(creds.clone()).max_size(0).build()),
        "max_size"
    );
    assert_eq!(
        setting(Engine::builder(creds.clone()).min_idle(3).build()),
        "min_idle"
    );
    assert_eq!(
        setting(
            Engine::builder(creds.clone())
                .max_lifetime(Some(Duration::from_secs(25 * 3600)))
                .build()
        ),
        "max_lifetime"
    );
    assert_eq!(
        setting(Engine::builder(creds.clone()).max_lifetime(None).build()),
        "max_lifetime"
    );
    // connection settings set with the typed setters are validated by build()
    assert!(matches!(
        Engine::builder(creds.clone().connect_timeout(Duration::ZERO)).build(),
        Err(Error::InvalidField {
            field: "connect_timeout",
            ..
        })
    ));
    assert!(matches!(
        Engine::builder(creds.clone().host("")).build(),
        Err(Error::InvalidField { field: "host", .. })
    ));
    assert!(matches!(
        creds.clone().param("bogus", "1"),
        Err(Error::UnsupportedParameter { name: None })
    ));
    assert!(matches!(
        creds.clone().param("sslmode", "disable"),
        Err(Error::InsecureSslMode {
            mode: "disable",
            origin: "a parameter"
        })
    ));
    // a pass-through parameter reaches the server
    let engine = server()
        .engine_for(creds.param("options", "-c search_path=pg_catalog").unwrap())
        .unwrap();
    let path: String = diesel::select(diesel::dsl::sql::<Text>("current_setting('search_path')"))
        .get_result(&mut engine.get().unwrap())
        .unwrap();
    assert_eq!(path, "pg_catalog");
}

#[test]
fn create_engine_takes_a_url_as_users_have_it() {
    let c = server().options();
    // unencoded user with '@' and database with ':' (the seed recipe's shape), password encoded
    let pw = percent_encoding::utf8_percent_encode(
        c.get_password().expose(),
        percent_encoding::NON_ALPHANUMERIC,
    );
    let ca = server().ca_cert_path();
    let url = format!(
        "postgresql://ACME@AdobeOrg:{pw}@localhost:{}/prod:all?sslmode=verify-full&sslrootcert={}&application_name=seed",
        c.get_port(),
        ca.display()
    );
    let parsed: ConnectOptions = url.parse().unwrap();
    assert_eq!(
        parsed.get_ssl_mode(),
        &SslMode::VerifyFull(RootCert::File(ca.clone()))
    );
    let engine = create_engine(&url).unwrap();
    let name: String = diesel::select(diesel::dsl::sql::<Text>(
        "current_setting('application_name')",
    ))
    .get_result(&mut engine.get().unwrap())
    .unwrap();
    assert_eq!(name, "seed");
    for weak in ["disable", "allow", "prefer"] {
        let e = create_engine(&format!(
            "postgresql://u:pw@localhost:{}/db?sslmode={weak}",
            c.get_port()
        ))
        .unwrap_err();
        assert!(matches!(e, Error::InsecureSslMode { .. }), "{e}");
        assert!(e.to_string().contains("unencrypted"), "{e}");
    }
}

#[test]
fn engine_runs_sample_and_user_migrations() {
    let creds = server().create_database("migrations_test").unwrap();
    let engine = server().engine_for(creds).unwrap();
    let applied = engine.run_migrations(sample::MIGRATIONS).unwrap();
    assert_eq!(applied.len(), 1);
    assert!(
        engine
            .run_migrations(sample::MIGRATIONS)
            .unwrap()
            .is_empty(),
        "idempotent"
    );
    const MINE: diesel_migrations::EmbeddedMigrations =
        diesel_migrations::embed_migrations!("tests/custom_migrations");
    assert_eq!(
        engine.run_migrations(MINE).unwrap(),
        vec!["20260101000000".to_string()]
    );
    let labels: Vec<String> = diesel::sql_query("SELECT label FROM widgets ORDER BY id")
        .load::<Label>(&mut engine.get().unwrap())
        .unwrap()
        .into_iter()
        .map(|l| l.label)
        .collect();
    assert_eq!(labels, ["sprocket", "gear"]);
    let events: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "count(*) FROM luma_web_data",
    ))
    .get_result(&mut engine.get().unwrap())
    .unwrap();
    assert_eq!(events, 2);
}

#[test]
fn a_failed_migration_keeps_the_server_error_as_its_source() {
    let engine = server()
        .engine_for(server().create_database("broken_migrations").unwrap())
        .unwrap();
    const BROKEN: diesel_migrations::EmbeddedMigrations =
        diesel_migrations::embed_migrations!("tests/broken_migrations");
    let e = engine.run_migrations(BROKEN).unwrap_err();
    assert!(matches!(e, Error::Migration { .. }), "{e:?}");
    let source = std::error::Error::source(&e).expect("the cause is kept");
    let text = common::chain(&e);
    assert!(
        text.contains("no_such_table_for_migrations"),
        "{text} / {source}"
    );
}

/// Host, database and user names that contain words like "ssl", "tls", "password" or "timeout" do not
/// change how a failure is classified.
#[test]
fn names_that_look_like_failure_words_are_not_misclassified() {
    let opts = server().options();
    for db in [
        "ssl certificate tls",
        "password timeout",
        "too many clients",
    ] {
        let e = Engine::builder(opts.clone().dbname(db))
            .build()
            .unwrap()
            .get()
            .expect_err("no such database");
        assert!(matches!(e, Error::DatabaseNotFound { .. }), "{db}: {e:?}");
        assert!(e.is_permanent());
    }
    // a user called like a TLS failure: still an authentication failure
    let e = Engine::builder(opts.clone().user("ssl_certificate_user"))
        .build()
        .unwrap()
        .get()
        .expect_err("no such role");
    assert!(matches!(e, Error::Authentication { .. }), "{e:?}");
    // a host name full of TLS words that does not resolve: unreachable, retryable
    let e = Engine::builder(
        opts.clone()
            .host("ssl-tls-certificate-password.invalid")
            .ssl_mode(SslMode::Require),
    )
    .build()
    .unwrap()
    .get()
    .expect_err("no such host");
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    assert!(!e.is_permanent());
}

#[derive(QueryableByName)]
struct Label {
    #[diesel(sql_type = Text)]
    label: String,
}

#[test]
fn lost_connections_are_never_reused() {
    let engine = Engine::builder(server().options())
        .max_size(1)
        .health_check_idle(Duration::from_millis(300))
        .build()
        .unwrap();
    let kill = |pid: i32| {
        server()
            .admin_execute("postgres", &format!("SELECT pg_terminate_backend({pid})"))
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
    };
    // killed while idle for longer than the window: the checkout's health check replaces it
    let pid = backend_pid(&mut engine.get().unwrap());
    kill(pid);
    std::thread::sleep(Duration::from_millis(400));
    let mut conn = engine.get().unwrap();
    let fresh = backend_pid(&mut conn);
    assert_ne!(fresh, pid);
    drop(conn);
    // killed right after use: the next query fails, and the lost connection is not handed out again
    kill(fresh);
    let mut conn = engine.get().unwrap();
    let r = diesel::select(diesel::dsl::sql::<Integer>("1")).get_result::<i32>(&mut conn);
    assert!(r.is_err(), "the backend was terminated");
    drop(conn);
    let mut conn = engine.get().unwrap();
    let third = backend_pid(&mut conn);
    assert!(third != fresh && third != pid);
}
