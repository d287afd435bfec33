//! PGSSLMODE is honoured, and a weak value is refused. Its own test binary: it changes the environment.
use aep_diesel::{Credentials, Engine, Error, RootCert, SslMode};

#[test]
fn pgsslmode_is_a_floor_not_a_downgrade() {
    let creds = Credentials::new("localhost", 5432, "prod:all", "ACME@AdobeOrg", "pw").unwrap();
    let with = |mode: &str| {
        // SAFETY: this binary has a single test and no other threads reading the environment.
        unsafe { std::env::set_var("PGSSLMODE", mode) };
        Engine::builder(creds.clone()).build()
    };
    for weak in ["disable", "allow", "prefer"] {
        match with(weak) {
            Err(Error::InsecureSslMode { origin, mode }) => {
                assert_eq!((origin, mode.as_str()), ("PGSSLMODE", weak))
            }
            other => panic!("{weak}: {other:?}"),
        }
    }
    assert_eq!(
        with("verify-full").unwrap().ssl_mode(),
        &SslMode::VerifyFull(RootCert::System)
    );
    assert_eq!(with("require").unwrap().ssl_mode(), &SslMode::Require);
    // an explicit mode wins over the environment
    unsafe { std::env::set_var("PGSSLMODE", "disable") };
    let explicit = Engine::builder(creds.clone())
        .ssl_mode(SslMode::Require)
        .build()
        .unwrap();
    assert_eq!(explicit.ssl_mode(), &SslMode::Require);
    unsafe { std::env::remove_var("PGSSLMODE") };
    assert_eq!(
        Engine::builder(creds).build().unwrap().ssl_mode(),
        &SslMode::Require
    );
}
