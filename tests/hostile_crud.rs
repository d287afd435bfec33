//! The code generated for the hostile schema (tests/hostile/schema.sql, committed in tests/hostile_models/)
//! compiles, and its CRUD runs against the server. tests/codegen.rs checks that it is current.
mod common;

use std::path::Path;

use common::hostile as engine;

#[allow(dead_code)]
#[path = "hostile_models/mod.rs"]
mod models;

use aep_diesel::model::prelude::*;
use models::types::{InnerThing, OuterThing, WeirdEnum};

fn generated(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile_models")).join(file),
    )
    .unwrap()
}

#[test]
fn every_naming_hazard_compiles_and_round_trips() {
    use models::select::{NewSelect, Select, SelectChanges};
    let engine = engine();
    let mut conn = engine.get().unwrap();
    let row = Select::create(
        &mut conn,
        &NewSelect {
            type_: Some("t".into()),
            gen_: Some("g".into()),
            self_: Some("lower".into()),
            self_2: Some("upper".into()),
            table: Some("tbl".into()),
            select: Some("same name as the table".into()),
            a_b: Some("space".into()),
            a_b_2: Some("dot".into()),
            quote_d: Some("quote".into()),
            _9lives: Some("digit".into()),
            x: Some("x".into()),
            x_2: Some("X".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(row.id > 0);
    // the values landed in the right SQL columns
    let out = common::server()
        .psql("hostile")
        .args([
            "-tAc",
            r#"SELECT "Self" || '|' || "a.b" || '|' || "X" || '|' || "Select" FROM "Select""#,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "upper|dot|X|same name as the table"
    );
    let changed = Select::update(
        &mut conn,
        &row.id,
        &SelectChanges {
            type_: Some(None),
            gen_: Some(Some("G".into())),
            ..Default::default()
        },
    )
    .unwrap()
    .expect("the row exists");
    assert_eq!((changed.type_, changed.gen_.as_deref()), (None, Some("G")));
    assert_eq!(
        Select::find(&mut conn, &row.id)
            .unwrap()
            .unwrap()
            .x_2
            .as_deref(),
        Some("X")
    );
    let view = models::select_view::SelectView::list(&mut conn, 10, 0).unwrap();
    assert_eq!(view.len(), 1);
    assert_eq!(Select::delete(&mut conn, &row.id).unwrap(), 1);
    assert!(Select::find(&mut conn, &row.id).unwrap().is_none());

    // tables named like generated modules and Rust types
    models::table::Table::create(
        &mut conn,
        &models::table::NewTable {
            id: 1,
            table: Some("t".into()),
        },
    )
    .unwrap();
    models::schema_2::Schema::create(&mut conn, &models::schema_2::NewSchema { id: 1, v: None })
        .unwrap();
    models::option_2::Option3::create(
        &mut conn,
        &models::option_2::NewOption3 {
            id: 1,
            option: Some("o".into()),
            string: None,
        },
    )
    .unwrap();
    let k = models::conn_keyed::ConnKeyed::create(
        &mut conn,
        &models::conn_keyed::NewConnKeyed {
            conn: "c".into(),
            changes: Some(1),
            limit: Some(2),
            offset: Some(3),
        },
    )
    .unwrap();
    assert_eq!(
        models::conn_keyed::ConnKeyed::find(&mut conn, "c").unwrap(),
        Some(k)
    );
}

#[test]
fn keys_are_chosen_for_key_less_tables_and_odd_ones_stay_read_only() {
    let engine = engine();
    let mut conn = engine.get().unwrap();
    // unique NOT NULL index
    let u = models::uniq::Uniq::create(
        &mut conn,
        &models::uniq::NewUniq {
            code: "A1".into(),
            name: None,
        },
    )
    .unwrap();
    assert_eq!(models::uniq::Uniq::find(&mut conn, "A1").unwrap(), Some(u));
    // [aep_diesel.keys] override
    let o = models::override_me::OverrideMe::create(
        &mut conn,
        &models::override_me::NewOverrideMe {
            ref_: Some("r1".into()),
            v: Some(7),
        },
    )
    .unwrap();
    assert_eq!(
        models::override_me::OverrideMe::find(&mut conn, "r1").unwrap(),
        Some(o)
    );
    // no key at all: inserts and reads, nothing keyed
    use models::no_key_at_all::{NewNoKeyAtAll, NoKeyAtAll};
    NoKeyAtAll::create_many(
        &mut conn,
        &[
            NewNoKeyAtAll {
                a: Some("a".into()),
                b: Some(1),
            },
            NewNoKeyAtAll::default(),
        ],
    )
    .unwrap();
    assert_eq!(NoKeyAtAll::count(&mut conn).unwrap(), 2);
    let text = generated("no_key_at_all.rs");
    assert!(
        !text.contains("model::Keyed for") && !text.contains("model::Write for"),
        "{text}"
    );
    assert!(generated("mod.rs").contains("no_key_at_all: no single-column primary key"));
    // read_only_tables: keyed, but nothing that writes
    let ro = generated("new_option.rs");
    assert!(
        ro.contains("model::Keyed for NewOption")
            && !ro.contains("model::Create for")
            && !ro.contains("model::Insert for"),
        "{ro}"
    );
    // 64 columns
    use models::wide::{NewWide, Wide};
    let w = Wide::create(
        &mut conn,
        &NewWide {
            c01: 1,
            c02: Some(2),
            c03: Some(3),
            c04: Some(4),
            c05: Some(5),
            c06: Some(6),
            c07: Some(7),
            c08: Some(8),
            c09: Some(9),
            c10: Some(10),
            c11: Some(11),
            c12: Some(12),
            c13: Some(13),
            c14: Some(14),
            c15: Some(15),
            c16: Some(16),
            c17: Some(17),
            c18: Some(18),
            c19: Some(19),
            c20: Some(20),
            c21: Some(21),
            c22: Some(22),
            c23: Some(23),
            c24: Some(24),
            c25: Some(25),
            c26: Some(26),
            c27: Some(27),
            c28: Some(28),
            c29: Some(29),
            c30: Some(30),
            c31: Some(31),
            c32: Some(32),
            c33: Some(33),
            c34: Some(34),
            c35: Some(35),
            c36: Some(36),
            c37: Some(37),
            c38: Some(38),
            c39: Some(39),
            c40: Some(40),
            c41: Some(41),
            c42: Some(42),
            c43: Some(43),
            c44: Some(44),
            c45: Some(45),
            c46: Some(46),
            c47: Some(47),
            c48: Some(48),
            c49: Some(49),
            c50: Some(50),
            c51: Some(51),
            c52: Some(52),
            c53: Some(53),
            c54: Some(54),
            c55: Some(55),
            c56: Some(56),
            c57: Some(57),
            c58: Some(58),
            c59: Some(59),
            c60: Some(60),
            c61: Some(61),
            c62: Some(62),
            c63: Some(63),
            c64: Some(64),
        },
    )
    .unwrap();
    assert_eq!(w.c64, Some(64));
    assert_eq!(Wide::find(&mut conn, &1).unwrap(), Some(w));
    assert!(
        generated("mod.rs").contains("wide: 64 columns; needs diesel feature 64-column-tables")
    );
    // foreign keys: no joinable for a pair joined twice (first_owner, second_owner: which one a
    // join means is ambiguous, as print-schema decides), for composite or self references
    let schema = generated("schema.rs");
    assert!(
        schema.contains("diesel::allow_tables_to_appear_in_same_query!(child, parent, table_,);")
    );
    assert!(!schema.contains("diesel::joinable!(child -> table_"));
    assert!(!schema.contains("child -> child") && !schema.contains("child -> parent"));
}

#[test]
fn composites_enums_domains_and_unknown_types() {
    use models::odd_types::{NewOddType, OddType};
    let engine = engine();
    let mut conn = engine.get().unwrap();
    let nested = OuterThing {
        inner: Some(InnerThing {
            type_: Some("t".into()),
            value: Some(1),
            tags: Some(vec![Some("x".into()), None]),
        }),
        items: Some(vec![
            Some(InnerThing {
                type_: None,
                value: Some(2),
                tags: None,
            }),
            None,
        ]),
        kind: Some(WeirdEnum::Self_),
        note: None,
    };
    for (i, kind) in [
        WeirdEnum::AB,
        WeirdEnum::AB2,
        WeirdEnum::T1st,
        WeirdEnum::Self_,
        WeirdEnum::NaVe,
        WeirdEnum::Ok,
    ]
    .into_iter()
    .enumerate()
    {
        let row = OddType::create(
            &mut conn,
            &NewOddType {
                id: i as i32 + 1,
                amount: None,
                labels: Some(vec![Some("l".into())]),
                interval_col: Some(diesel::pg::data_types::PgInterval::new(1_000_000, 2, 3)),
                money_col: Some(diesel::pg::data_types::PgMoney(1234)),
                raw_: Some(vec![0, 159, 255]),
                flag: Some(b'q'),
                counts: Some(vec![Some(1), None, Some(3)]),
                at_time: chrono::NaiveTime::from_hms_opt(12, 30, 0),
                local_ts: chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
                    .and_then(|d| d.and_hms_opt(3, 4, 5)),
                nested: Some(nested.clone()),
                kind: Some(kind),
            },
        )
        .unwrap();
        assert_eq!(row.amount, 1, "the domain's column default filled it");
        assert_eq!(row.kind, Some(kind));
        assert_eq!(row.nested.as_ref(), Some(&nested));
        assert_eq!(row.doc, None);
    }
    // the labels are the database's, exactly
    let out = common::server()
        .psql("hostile")
        .args([
            "-tAc",
            "SELECT string_agg(kind::text, '|' ORDER BY id) FROM odd_types",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "a b|A-B|1st|Self|naïve|ok"
    );
    // xml is read through its [aep_diesel.types] mapping; tsvector and point are left out, not faked
    common::server()
        .admin_execute(
            "hostile",
            "UPDATE odd_types SET doc = '<a>x</a>', search = 'a b', spot = '(1,2)' WHERE id = 1",
        )
        .unwrap();
    assert_eq!(
        OddType::find(&mut conn, &1)
            .unwrap()
            .unwrap()
            .doc
            .as_deref(),
        Some("<a>x</a>")
    );
    let text = generated("odd_types.rs");
    assert!(
        text.contains("// `search` (tsvector) is left out"),
        "{text}"
    );
    assert!(!generated("types.rs").contains("for String {\n    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {\n        <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(value)\n    }\n}\n\n/// Reads `tsvector`"));

    // a composite with a field of unknown type stays opaque, and its columns are left out
    use models::event_like::{EventLike, NewEventLike};
    let e = EventLike::create(
        &mut conn,
        &NewEventLike {
            _id: Some("e1".into()),
            timestamp: None,
            payload: Some(nested.clone()),
        },
    )
    .unwrap();
    // `_id` names the XDM record id, but nothing here says it is unique: no keyed operations
    assert_eq!(EventLike::list(&mut conn, 10, 0).unwrap(), vec![e]);
    assert!(!generated("event_like.rs").contains("model::Keyed for"));
    assert!(generated("event_like.rs").contains("// `spot` (point_holder) is left out"));
}
