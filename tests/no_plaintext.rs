//! No plaintext, ever: against a server without TLS, and against a listener that refuses TLS, nothing but
//! the 8-byte SSLRequest leaves the client.
mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aep_diesel::{ConnectOptions, Engine, Error, SslMode};
use aep_diesel_testkit::LocalServer;

/// The SSLRequest packet: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

#[test]
fn a_server_without_tls_is_refused_with_a_tls_error() {
    let plain = LocalServer::builder().ssl(false).start().unwrap();
    // The server's own superuser credentials are valid there; aep-diesel still refuses to log in.
    for mode in [SslMode::Require, "verify-full".parse().unwrap()] {
        let engine = Engine::builder(plain.admin_options().ssl_mode(mode))
            .build()
            .unwrap();
        let e = engine.get().expect_err("must not connect without TLS");
        assert!(matches!(e, Error::Tls { .. }), "{e}");
        assert!(e.to_string().contains("does not support SSL"), "{e}");
    }
}

#[test]
fn only_the_ssl_request_is_sent_to_a_server_that_refuses_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(3) {
            let Ok(mut s) = stream else { break };
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut got = vec![0u8; 8];
            if s.read_exact(&mut got).is_err() {
                continue;
            }
            s.write_all(b"N").unwrap(); // "no TLS here"
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest); // until the client hangs up (or the timeout)
            got.extend(rest);
            record.lock().unwrap().push(got);
        }
    });
    let creds = ConnectOptions::new(
        "127.0.0.1",
        port,
        "prod:all",
        "ACME@AdobeOrg",
        common::SENTINEL,
    )
    .unwrap();
    let engine = Engine::builder(creds).build().unwrap();
    let e = engine.get().expect_err("must fail");
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    drop(engine);
    std::thread::sleep(Duration::from_millis(300));
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "the client never connected");
    for bytes in seen.iter() {
        assert_eq!(
            bytes.as_slice(),
            SSL_REQUEST,
            "bytes after the refusal: {bytes:?}"
        );
    }
}

#[test]
fn the_local_tls_server_itself_rejects_plaintext_clients() {
    // psql is the independent client here: with sslmode=disable the server's pg_hba must refuse it.
    let server = common::server();
    let out = server
        .psql("prod:all")
        .env("PGSSLMODE", "disable")
        .args(["-c", "select 1"])
        .output()
        .expect("psql runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no encryption") || err.contains("rejects connection"),
        "{err}"
    );
    // and the same psql with TLS gets in, so the refusal is about encryption only
    let ok = server
        .psql("prod:all")
        .args([
            "-tAc",
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "t");
}
