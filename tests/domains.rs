//! Domains written as their own SQL type (print-schema's `pg_domains_as_custom_types`, the generator
//! case tests/codegen/diesel_domain_types): the generated models insert and read them through
//! `aep_diesel::domain_type!` on PostgreSQL with both protocols, the server's CHECK still applies,
//! and the rows read back through the strict Query Service stand-in.
mod common;

#[allow(dead_code)]
#[path = "codegen/diesel_domain_types/expected/mod.rs"]
mod models;

use aep_diesel::model::prelude::*;
use aep_diesel::{Engine, Protocol};
use aep_diesel_testkit::QsStandIn;
use diesel::connection::SimpleConnection;
use models::mytable::{Mytable, NewMytable};

const DB: &str = "domain_types";

fn row(id: i32, a: i32, b: i32) -> NewMytable {
    NewMytable {
        id,
        a,
        b,
        c: format!("short{id}"),
        d: format!("long enough text {id}"),
    }
}

#[test]
fn domains_as_their_own_types_write_and_read_on_both_protocols_and_through_the_stand_in() {
    let server = common::server();
    let options = server.create_database(DB).unwrap();
    let binary = server.engine_for(options.clone()).unwrap();
    let sql = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/codegen/diesel_domain_types/schema.sql"
    ))
    .unwrap();
    binary.get().unwrap().batch_execute(&sql).unwrap();
    let compatible = Engine::builder(options)
        .protocol(Protocol::Compatible)
        .build()
        .unwrap();

    // the domain columns are their own markers in table!, i32 in the models
    let made = Mytable::create(&mut binary.get().unwrap(), &row(1, 5, -5)).unwrap();
    assert_eq!((made.a, made.b), (5, -5));
    let made = Mytable::create(&mut compatible.get().unwrap(), &row(2, 7, -7)).unwrap();
    assert_eq!((made.a, made.b), (7, -7));

    // the domain's CHECK is the server's: a value it refuses is an error, not a stored row
    let e = Mytable::create(&mut binary.get().unwrap(), &row(3, -1, -1)).unwrap_err();
    assert!(common::chain(&e).contains("posinteger"), "{e}");

    let read = |engine: &Engine| {
        let mut rows = Mytable::list(&mut engine.get().unwrap(), 10, 0).unwrap();
        rows.sort_by_key(|r| r.id);
        rows.iter()
            .map(|r| (r.id, r.a, r.b, r.d.clone()))
            .collect::<Vec<_>>()
    };
    let expected = vec![
        (1, 5, -5, "long enough text 1".to_string()),
        (2, 7, -7, "long enough text 2".to_string()),
    ];
    assert_eq!(read(&binary), expected);
    assert_eq!(read(&compatible), expected);
    assert_eq!(
        Mytable::find(&mut compatible.get().unwrap(), &2)
            .unwrap()
            .map(|r| r.a),
        Some(7)
    );

    let qs = QsStandIn::builder(server).start().unwrap();
    let through = Engine::builder(qs.options_for(DB)).build().unwrap();
    assert_eq!(read(&through), expected);
}
