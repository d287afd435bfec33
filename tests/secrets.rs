//! A sentinel password through every error the crate produces: it must never appear in `Debug`,
//! `Display`, an error or a log line.
mod common;

use std::sync::Mutex;
use std::time::Duration;

use aep_diesel::{
    Credentials, Engine, Error, Password, RootCert, RotatingCredentials, SslMode, create_engine,
};
use common::{SENTINEL, leaks, server, shown};

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

fn errors_for(creds: Credentials) -> Vec<Error> {
    let mut errors = Vec::new();
    let port = creds.port();
    // authentication failure against the real server
    let engine = server()
        .builder_for(creds.clone())
        .unwrap()
        .build()
        .unwrap();
    errors.push(engine.get().err().expect("wrong password fails"));
    // TLS failure: a CA that did not sign the server certificate
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("ca.crt");
    server().write_foreign_ca(&foreign).unwrap();
    let e = Engine::builder(creds.clone())
        .ssl_mode(SslMode::VerifyFull(RootCert::File(foreign)))
        .build()
        .unwrap();
    errors.push(e.get().err().expect("tls fails"));
    // unreachable: a closed port
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Credentials::new(
        "127.0.0.1",
        closed,
        "prod:all",
        creds.user(),
        creds.password().clone(),
    )
    .unwrap();
    errors.push(
        Engine::builder(c)
            .build()
            .unwrap()
            .get()
            .err()
            .expect("closed port fails"),
    );
    // pool timeout with the real password, max_size 1 and the one connection held
    let good = server()
        .builder_for(server().credentials())
        .unwrap()
        .max_size(1);
    let engine = good
        .checkout_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let _held = engine.get().unwrap();
    errors.push(engine.get().err().expect("timeout"));
    // bad input alongside the password
    errors.push(Credentials::new("h\0", port, "db", "u", creds.password().clone()).unwrap_err());
    errors.push(Credentials::new("h", 0, "db", "u", creds.password().clone()).unwrap_err());
    errors.push(
        Credentials::new(
            "h",
            port,
            "db",
            "u",
            Password::verbatim(format!("{SENTINEL}\0")),
        )
        .unwrap_err(),
    );
    let enc = percent_encoding::utf8_percent_encode(SENTINEL, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    for url in [
        format!("postgresql://u:{enc}@h/db?sslmode=disable"),
        format!("postgresql://u:{enc}@h/db?sslmode=prefer"),
        format!("postgresql://u:{enc}@h/db?sslmode=bogus"),
        format!("postgresql://u:{enc}@h/db?bogus={enc}"),
        format!("postgresql://u:{enc}@h/db?connect_timeout={enc}"),
        format!("postgresql://u:{enc}%ff@h/db"),
        format!("postgresql://u:{enc}@h1,h2/db"),
        format!("postgresql://u:{enc}@[::1/db"),
        format!("mysql://u:{enc}@h/db"),
        format!("host=h user=u password='{SENTINEL}"),
        format!("host=h user=u password={SENTINEL} {SENTINEL}"),
        format!("postgresql://u:{enc}@h/db?{enc}"),
        format!("postgresql://u:{SENTINEL}@h:notaport/db"),
    ] {
        errors.push(
            create_engine(&url)
                .err()
                .unwrap_or_else(|| panic!("accepted a bad URL")),
        );
    }
    errors
}

#[test]
fn the_sentinel_password_never_leaks() {
    static CAPTURE: Capture = Capture;
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let c = server().credentials();
    let creds = Credentials::new(
        c.host(),
        c.port(),
        c.dbname(),
        c.user(),
        Password::verbatim(SENTINEL),
    )
    .unwrap();
    assert_eq!(creds.password().expose(), SENTINEL);

    let errors = errors_for(creds.clone());
    assert!(errors.len() >= 15);
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
    assert_eq!(&kinds[..4], ["auth", "tls", "unreachable", "timeout"]);
    for e in &errors {
        assert!(!leaks(&shown(e)), "leak in {e:?}");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            assert!(!leaks(&format!("{s} {s:?}")), "leak in source of {e:?}");
            source = s.source();
        }
    }

    let rotating = RotatingCredentials::new(creds.clone());
    let engine = Engine::builder(rotating.clone()).build().unwrap();
    for text in [
        format!("{:?}", creds),
        format!("{:?} {}", creds.password(), creds.password()),
        format!("{:?}", rotating),
        format!("{:?}", engine),
        format!("{:?}", Engine::builder(creds.clone())),
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
}
