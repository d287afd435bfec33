//! The environment is read only by `ConnectOptions::from_env`, where a weak PGSSLMODE is refused; a
//! weak PGSSLMODE never weakens options built any other way. Its own test binary: it changes the
//! environment.
use aep_diesel::{ConnectOptions, Engine, Error, RootCert, SslMode};

fn set(vars: &[(&str, &str)]) {
    for (k, v) in vars {
        // SAFETY: this binary has a single test and no other threads reading the environment.
        unsafe { std::env::set_var(k, v) };
    }
}

#[test]
fn pgsslmode_is_a_floor_not_a_downgrade() {
    set(&[
        ("PGHOST", "localhost"),
        ("PGDATABASE", "prod:all"),
        ("PGUSER", "ACME@AdobeOrg"),
        ("PGPASSWORD", "pw"),
    ]);
    for weak in ["disable", "allow", "prefer"] {
        set(&[("PGSSLMODE", weak)]);
        match ConnectOptions::from_env() {
            Err(Error::InsecureSslMode { origin, mode }) => {
                assert_eq!((origin, mode), ("PGSSLMODE", weak))
            }
            other => panic!("{weak}: {other:?}"),
        }
    }
    set(&[("PGSSLMODE", "verify-full")]);
    assert_eq!(
        ConnectOptions::from_env().unwrap().get_ssl_mode(),
        &SslMode::VerifyFull(RootCert::System)
    );
    set(&[("PGSSLMODE", "require")]);
    assert_eq!(
        ConnectOptions::from_env().unwrap().get_ssl_mode(),
        &SslMode::Require
    );
    // Options built from parts never read the environment: a weak PGSSLMODE cannot lower them, and
    // libpq gets the explicit mode, so its own reading of PGSSLMODE never applies either.
    set(&[("PGSSLMODE", "disable")]);
    let opts = ConnectOptions::new("localhost", 5432, "prod:all", "ACME@AdobeOrg", "pw").unwrap();
    assert_eq!(opts.get_ssl_mode(), &SslMode::Require);
    assert!(Engine::builder(opts).build().is_ok());
    unsafe { std::env::remove_var("PGSSLMODE") };
}
