//! Shared test support: one local TLS server per test binary, the sample sandbox loaded once.
#![allow(dead_code)]

use std::sync::OnceLock;

use aep_diesel::Engine;
use aep_diesel::local::LocalServer;

/// The password used wherever a test wants to prove a secret never leaks.
pub const SENTINEL: &str = "SENTINEL-9f3a:p@ss/w?rd#%+=é-tok\u{1F511}";

pub fn server() -> &'static LocalServer {
    LocalServer::shared().expect("the local TLS server starts (needs PostgreSQL server binaries)")
}

/// An engine on `prod:all` with the sample sandbox loaded (once per test binary).
pub fn sandbox() -> Engine {
    static LOADED: OnceLock<()> = OnceLock::new();
    let engine = server().engine().expect("engine");
    LOADED.get_or_init(|| {
        engine
            .run_migrations(aep_diesel::sample::MIGRATIONS)
            .expect("sample sandbox migrations");
    });
    engine
}

/// Every text form of a value, for leak checks.
pub fn shown<T: std::fmt::Debug + std::fmt::Display>(v: &T) -> String {
    format!("{v} {v:?} {v:#?}")
}

/// True when `text` holds the sentinel or any recognisable part of it.
pub fn leaks(text: &str) -> bool {
    let encoded =
        percent_encoding::utf8_percent_encode(SENTINEL, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    text.contains(SENTINEL)
        || text.contains(&encoded)
        || text.contains("SENTINEL")
        || text.contains("p@ss/w")
}

/// An engine on database `hostile`, holding tests/hostile/schema.sql (created once per test binary).
pub fn hostile() -> Engine {
    static CREATED: OnceLock<()> = OnceLock::new();
    let server = server();
    CREATED.get_or_init(|| {
        let creds = server
            .create_database("hostile")
            .expect("create database hostile");
        let engine = server.builder_for(creds).unwrap().build().unwrap();
        use diesel::connection::SimpleConnection;
        engine
            .get()
            .unwrap()
            .batch_execute(include_str!("../hostile/schema.sql"))
            .expect("hostile schema");
    });
    server
        .builder_for(server.credentials_for("hostile"))
        .unwrap()
        .build()
        .unwrap()
}
