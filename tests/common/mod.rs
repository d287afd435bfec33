//! Shared test support: one local TLS server per test binary, the sample sandbox loaded once.
#![allow(dead_code)]

use std::sync::OnceLock;

use aep_diesel::Engine;
use aep_diesel_testkit::{LocalServer, sample};

/// The password used wherever a test wants to prove a secret never leaks: spaces, quotes, `=`, `&`,
/// backslashes, URL delimiters and non-ASCII, so every parser has something to trip over.
pub const SENTINEL: &str = "SENTINEL-9f3a:p@ss/w?rd#%+= 'q\"u\\o&té-tok\u{1F511}";

pub fn server() -> &'static LocalServer {
    LocalServer::shared().expect("the local TLS server starts (needs PostgreSQL server binaries)")
}

/// An engine on `prod:all` with the sample sandbox loaded (once per test binary).
pub fn sandbox() -> Engine {
    sample::shared_engine().expect("the sample sandbox loads")
}

/// Every text form of a value, for leak checks.
pub fn shown<T: std::fmt::Debug + std::fmt::Display>(v: &T) -> String {
    format!("{v} {v:?} {v:#?}")
}

/// The first 4-character fragment of the sentinel (in its plain or percent-encoded form) that `text`
/// holds, if any: a fragment of a password is as bad as the whole.
pub fn leaked_fragment(text: &str) -> Option<String> {
    let encoded =
        percent_encoding::utf8_percent_encode(SENTINEL, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    for secret in [SENTINEL, encoded.as_str()] {
        let chars: Vec<char> = secret.chars().collect();
        for w in chars.windows(4) {
            let frag: String = w.iter().collect();
            if text.contains(&frag) {
                return Some(frag);
            }
        }
    }
    None
}

/// True when `text` holds the sentinel or any 4-character part of it.
pub fn leaks(text: &str) -> bool {
    leaked_fragment(text).is_some()
}

/// An engine on database `hostile`, holding tests/hostile/schema.sql (created once per test binary).
pub fn hostile() -> Engine {
    static CREATED: OnceLock<()> = OnceLock::new();
    let server = server();
    CREATED.get_or_init(|| {
        let opts = server
            .create_database("hostile")
            .expect("create database hostile");
        let engine = server.engine_for(opts).unwrap();
        use diesel::connection::SimpleConnection;
        engine
            .get()
            .unwrap()
            .batch_execute(include_str!("../hostile/schema.sql"))
            .expect("hostile schema");
    });
    server.engine_for(server.options_for("hostile")).unwrap()
}

/// An engine on database `platform`, holding tests/codegen/platform_shapes/schema.sql (created once per
/// test binary).
pub fn platform() -> Engine {
    static CREATED: OnceLock<()> = OnceLock::new();
    let server = server();
    CREATED.get_or_init(|| {
        let opts = server
            .create_database("platform")
            .expect("create database platform");
        let engine = server.engine_for(opts).unwrap();
        use diesel::connection::SimpleConnection;
        engine
            .get()
            .unwrap()
            .batch_execute(include_str!("../codegen/platform_shapes/schema.sql"))
            .expect("platform schema");
    });
    server.engine_for(server.options_for("platform")).unwrap()
}

/// An error with all its causes, for assertions on what a user would read.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    aep_diesel_testkit::report(e)
}
