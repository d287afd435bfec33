//! A sentinel password through every error the crate produces: neither it nor any 4-character
//! fragment of it may appear in `Debug`, `Display`, an error (or its sources) or a log line.
mod common;

use std::sync::Mutex;
use std::time::Duration;

use aep_diesel::{
    ConnectOptions, Engine, Error, Password, RootCert, RotatingCredentials, SslMode, create_engine,
};
use common::{SENTINEL, leaked_fragment, leaks, server, shown};

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;
impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        LOG.lock().unwrap().push(format!(
            "{} {}: {}",
            record.level(),
            record.target(),
            record.args()
        ));
    }
    fn flush(&self) {}
}

/// Every way an error can be shown, its sources included.
fn assert_clean(e: &Error, context: &str) {
    if let Some(frag) = leaked_fragment(&shown(e)) {
        panic!("{context}: {frag:?} leaks in {e:?}");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(frag) = leaked_fragment(&format!("{s} {s:?}")) {
            panic!("{context}: {frag:?} leaks in a source of {e:?}");
        }
        source = s.source();
    }
}

/// Connection failures against the real server and a closed port, with the sentinel as password.
fn connection_errors(opts: &ConnectOptions) -> Vec<Error> {
    let mut errors = Vec::new();
    // authentication failure against the real server
    let engine = Engine::builder(opts.clone()).build().unwrap();
    errors.push(engine.get().expect_err("wrong password fails"));
    // TLS failure: a CA that did not sign the server certificate
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("ca.crt");
    server().write_foreign_ca(&foreign).unwrap();
    let e = Engine::builder(
        opts.clone()
            .ssl_mode(SslMode::VerifyFull(RootCert::File(foreign))),
    )
    .build()
    .unwrap();
    errors.push(e.get().expect_err("tls fails"));
    // unreachable: a closed port
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    errors.push(
        Engine::builder(opts.clone().host("127.0.0.1").port(closed))
            .build()
            .unwrap()
            .get()
            .expect_err("closed port fails"),
    );
    // pool timeout with the real password, max_size 1 and the one connection held
    let engine = Engine::builder(server().options())
        .max_size(1)
        .checkout_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let _held = engine.get().unwrap();
    errors.push(engine.get().expect_err("timeout"));
    errors
}

/// Connection strings that every parser path refuses, each with the secret in it.
fn bad_connection_strings(secret: &str) -> Vec<String> {
    let enc = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    // libpq key=value quoting: backslash-escape quotes and backslashes inside '...'
    let kv = secret.replace('\\', "\\\\").replace('\'', "\\'");
    vec![
        // URL: refused settings, each next to the password
        format!("postgresql://u:{enc}@h/db?sslmode=disable"),
        format!("postgresql://u:{enc}@h/db?sslmode=prefer"),
        format!("postgresql://u:{enc}@h/db?sslmode=bogus"),
        format!("postgresql://u:{enc}@h/db?sslmode={enc}"),
        format!("postgresql://u:{enc}@h/db?bogus={enc}"),
        format!("postgresql://u:{enc}@h/db?{enc}={enc}"),
        format!("postgresql://u:{enc}@h/db?connect_timeout={enc}"),
        format!("postgresql://u:{enc}@h/db?flatten={enc}"),
        format!("postgresql://u:{enc}@h/db?gssencmode={enc}"),
        format!("postgresql://u:{enc}@h/db?hostaddr={enc}"),
        format!("postgresql://u:{enc}%ff@h/db"),
        format!("postgresql://u:{enc}@h1,h2/db"),
        format!("postgresql://u:{enc}@[::1/db"),
        format!("postgresql://u:{enc}@h:{enc}/db"),
        format!("postgresql://u:{enc}@h:99999/db"),
        format!("postgresql://u:{enc}@/db"),
        format!("postgresql://u:{enc}@h/"),
        format!("postgresql://:{enc}@h/db"),
        format!("mysql://u:{enc}@h/db"),
        format!("postgresql://u:{enc}@h/db?{enc}"),
        // the same, written raw as users paste them (the parser must still not echo a fragment)
        format!("postgresql://u:{secret}@h/db?sslmode=disable"),
        format!("postgresql://u:{secret}@h:notaport/db"),
        format!("postgresql://u:{secret}@h/db?bogus=1"),
        format!("postgresql://u:{secret}"),
        // key=value: unquoted (a space splits the password into words), unclosed, refused settings
        format!("host=h dbname=db user=u password={secret}"),
        format!("host=h dbname=db user=u password='{kv}"),
        format!("host=h dbname=db user=u password='{kv}' sslmode=allow"),
        format!("host=h dbname=db user=u password='{kv}' port='{kv}'"),
        format!("host=h dbname=db user=u password='{kv}' {kv}"),
        format!("host=h dbname=db user=u password='{kv}' sslmode='{kv}'"),
        format!("host=h dbname=db user=u password='{kv}' connect_timeout='{kv}'"),
        format!("host=h dbname=db user=u password='{kv}' application_name='a\0'"),
        format!("host=h dbname=db password='{kv}'"),
        format!("{secret}"),
    ]
}

#[test]
fn no_parser_error_repeats_a_fragment_of_a_secret() {
    // Passwords with spaces, quotes, `=`, `&`, backslashes, URL delimiters and non-ASCII.
    let secrets = [
        SENTINEL.to_string(),
        "SEN TINEL qX7 zV9 = 'x' \"y\" \\z".to_string(),
        "a=b&c=d?e#f/g@h:i SENTINEL".to_string(),
        "pässwörd-ünïcödé-秘密-SENTINEL".to_string(),
    ];
    let mut checked = 0;
    for secret in &secrets {
        for s in bad_connection_strings(secret) {
            let Err(e) = s.parse::<ConnectOptions>() else {
                // a raw form may happen to be a valid string; it must then at least be refused by the
                // engine or parse to the password given
                continue;
            };
            // the sentinel window check covers SENTINEL; for the others check their own fragments
            assert_clean(&e, "parse");
            let text = format!("{} {:?}", e, e);
            let chars: Vec<char> = secret
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            for w in chars.windows(4) {
                let frag: String = w.iter().collect();
                // fragments made only of characters every message uses are not evidence
                if frag.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
                    assert!(
                        !text.contains(&frag),
                        "{frag:?} of a password leaks in {text}"
                    );
                }
            }
            checked += 1;
            assert!(
                create_engine(&s).is_err(),
                "create_engine accepted a bad URL"
            );
        }
    }
    assert!(
        checked >= 100,
        "only {checked} refused strings were checked"
    );

    // The one setter, fed directly, and the environment, with the secret as every value.
    for key in [
        "port",
        "sslmode",
        "sslrootcert",
        "connect_timeout",
        "flatten",
        "gssencmode",
        "hostaddr",
        SENTINEL,
    ] {
        if let Err(e) = ConnectOptions::default().param(key, SENTINEL) {
            assert_clean(&e, key);
        }
    }
    for var in ["PGPORT", "PGSSLMODE", "PGCONNECT_TIMEOUT", "DATABASE_URL"] {
        let e = ConnectOptions::from_env_lookup(|k| match k {
            "PGHOST" if var != "DATABASE_URL" => Some("h".into()),
            "PGDATABASE" | "PGUSER" => Some("x".into()),
            "PGPASSWORD" => Some(SENTINEL.into()),
            k if k == var => Some(SENTINEL.into()),
            _ => None,
        })
        .expect_err(var);
        assert_clean(&e, var);
    }
    // Bad parts next to the password.
    let pw = || Password::verbatim(SENTINEL);
    for e in [
        ConnectOptions::new("h\0", 5432, "db", "u", pw()).unwrap_err(),
        ConnectOptions::new("h", 0, "db", "u", pw()).unwrap_err(),
        ConnectOptions::new(
            "h",
            5432,
            "db",
            "u",
            Password::verbatim(format!("{SENTINEL}\0")),
        )
        .unwrap_err(),
        ConnectOptions::new(SENTINEL, 5432, "db", "u", pw()).unwrap_err(),
    ] {
        assert_clean(&e, "new");
    }
}

/// Every event Diesel's instrumentation sees, as text.
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Recorder;
impl diesel::connection::Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        EVENTS.lock().unwrap().push(format!("{event:?}"));
    }
}

#[test]
fn the_sentinel_password_never_leaks() {
    static CAPTURE: Capture = Capture;
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    // A role whose real password is the sentinel (made before any instrumentation is installed: the
    // statement holds the password), so a connection with it succeeds too.
    let admin = server().admin_engine().unwrap();
    use diesel::connection::SimpleConnection;
    admin
        .get()
        .unwrap()
        .batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sentinel') THEN \
               CREATE ROLE sentinel LOGIN PASSWORD {}; END IF; END $$",
            aep_diesel_testkit::quote_literal(SENTINEL)
        ))
        .unwrap();
    // A user's global Diesel instrumentation sees every connection being established.
    diesel::connection::set_default_instrumentation(|| Some(Box::new(Recorder))).unwrap();

    let opts = server().options().password(Password::verbatim(SENTINEL));
    assert_eq!(opts.get_password().expose(), SENTINEL);

    let errors = connection_errors(&opts);
    let kinds: Vec<&str> = errors
        .iter()
        .map(|e| match e {
            Error::Authentication { .. } => "auth",
            Error::Tls { .. } => "tls",
            Error::Unreachable { .. } => "unreachable",
            Error::PoolTimeout { .. } => "timeout",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["auth", "tls", "unreachable", "timeout"]);
    for e in &errors {
        assert_clean(e, "connect");
    }

    let rotating = RotatingCredentials::new(opts.clone());
    let engine = Engine::builder_with_source(rotating.clone())
        .build()
        .unwrap();
    let fixed = Engine::builder(opts.clone()).build().unwrap();
    for text in [
        format!("{opts:?}"),
        format!("{:?} {}", opts.get_password(), opts.get_password()),
        format!("{rotating:?}"),
        format!("{engine:?}"),
        format!("{fixed:?}"),
        format!("{:?}", Engine::builder(opts.clone())),
        format!("{:?}", engine.inspect().unwrap()),
    ] {
        assert!(!leaks(&text), "leak: {text}");
    }

    let logged = LOG.lock().unwrap().clone();
    assert!(
        logged
            .iter()
            .any(|l| l.contains("password authentication failed")),
        "failures are logged: {logged:?}"
    );
    for line in &logged {
        assert!(!leaks(line), "leak in log line: {line}");
    }

    let ok = Engine::builder(
        server()
            .options()
            .user("sentinel")
            .password(Password::verbatim(SENTINEL)),
    )
    .build()
    .unwrap();
    drop(ok.get().expect("the sentinel role logs in"));
    let events = EVENTS.lock().unwrap().clone();
    let establishing: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("EstablishConnection"))
        .collect();
    assert!(
        establishing.len() >= 4,
        "Diesel's instrumentation saw the connections: {establishing:?}"
    );
    assert!(
        establishing
            .iter()
            .any(|e| e.contains("sentinel@localhost")),
        "{establishing:?}"
    );
    for event in &events {
        assert!(!leaks(event), "leak in an instrumentation event: {event}");
    }
}

/// Formatting an engine never asks its credential source and never replaces the pool.
#[test]
fn debug_does_no_io() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let opts = server().options();
    let engine = Engine::builder_with_source(move || {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Ok(opts.clone())
    })
    .build()
    .unwrap();
    let text = format!("{engine:?} {engine:#?}");
    assert_eq!(CALLS.load(Ordering::SeqCst), 0, "Debug called the source");
    assert!(text.contains("dynamic credential source"), "{text}");
    drop(engine.get().unwrap());
    let calls = CALLS.load(Ordering::SeqCst);
    assert_eq!(calls, 1);
    let before = engine.state();
    let _ = format!("{engine:?}");
    assert_eq!(CALLS.load(Ordering::SeqCst), calls);
    assert_eq!(engine.state(), before, "Debug replaced the pool");
    assert_eq!(before.idle, 1);
}
