//! Platform shapes (the generator case tests/codegen/platform_shapes: XDM objects nested four deep,
//! arrays of objects, a map, a dataset of 112 columns, no keys): the generated models (its
//! `expected/`, kept current by tests/codegen_cases.rs) compile and read the same rows from
//! PostgreSQL and through the strict Query Service stand-in.
mod common;

#[allow(dead_code)]
#[path = "codegen/platform_shapes/expected/mod.rs"]
mod models;

use std::str::FromStr;

use aep_diesel::Engine;
use aep_diesel::model::prelude::*;
use aep_diesel_testkit::QsStandIn;
use bigdecimal::BigDecimal;
use models::deep_events::DeepEvent;
use models::types::{DeepEventsItemsE, XdmLevel1, XdmLevel2, XdmLevel3, XdmLevel4};
use models::wide_dataset::WideDataset;

fn dec(s: &str) -> Option<BigDecimal> {
    Some(BigDecimal::from_str(s).unwrap())
}

/// PostgreSQL directly, and the strict stand-in in front of it.
fn engines() -> (Engine, QsStandIn, Engine) {
    let direct = common::platform();
    let qs = QsStandIn::builder(common::server()).start().unwrap();
    let through = Engine::builder(qs.options_for("platform")).build().unwrap();
    (direct, qs, through)
}

fn sorted(mut rows: Vec<DeepEvent>) -> Vec<DeepEvent> {
    rows.sort_by(|a, b| a._id.cmp(&b._id));
    rows
}

#[test]
fn xdm_objects_four_deep_arrays_of_objects_and_maps_read_back() {
    let (direct, qs, through) = engines();
    let rows = sorted(DeepEvent::list(&mut direct.get().unwrap(), 100, 0).unwrap());
    assert_eq!(rows.len(), 4);
    let e1 = rows
        .iter()
        .find(|r| r._id.as_deref() == Some("e1"))
        .unwrap();
    let level4 = |code: Option<&str>, amount: Option<&str>| XdmLevel4 {
        code: code.map(String::from),
        amount: amount.and_then(dec),
    };
    assert_eq!(
        e1.root,
        Some(XdmLevel1 {
            level2: Some(XdmLevel2 {
                level3: Some(XdmLevel3 {
                    level4: Some(level4(Some("deep"), Some("12.50"))),
                    tags: Some(vec![Some("a".into()), None, Some("c".into())]),
                }),
                entries: Some(vec![
                    Some(level4(Some("x"), Some("1.00"))),
                    None,
                    Some(level4(None, None)),
                ]),
            }),
            name: Some("Level one".into()),
        })
    );
    assert_eq!(
        e1.items,
        Some(vec![
            Some(DeepEventsItemsE {
                sku: Some("LUMA-1".into()),
                quantity: Some(2),
                price: dec("19.99"),
            }),
            Some(DeepEventsItemsE {
                sku: Some("LUMA-2".into()),
                quantity: None,
                price: None,
            }),
        ])
    );
    assert_eq!(
        e1.identitymap.as_ref().unwrap()["ECID"][0]["id"],
        serde_json::json!("123")
    );
    let e2 = rows
        .iter()
        .find(|r| r._id.as_deref() == Some("e2"))
        .unwrap();
    assert_eq!(
        e2.root.as_ref().unwrap().level2.as_ref().unwrap().entries,
        Some(vec![])
    );
    let e3 = rows
        .iter()
        .find(|r| r._id.as_deref() == Some("e3"))
        .unwrap();
    assert_eq!(
        (&e3.root, &e3.items, &e3.identitymap),
        (&None, &None, &None)
    );
    // a JSON null in the map is not a SQL NULL
    let no_id = rows.iter().find(|r| r._id.is_none()).unwrap();
    assert_eq!(no_id.identitymap, Some(serde_json::Value::Null));
    assert_eq!(no_id.items, Some(vec![None]));

    // the same rows through the stand-in, read with Query Service's protocol
    let mut conn = through.get().unwrap();
    assert_eq!(conn.protocol(), aep_diesel::Protocol::Compatible);
    assert_eq!(sorted(DeepEvent::list(&mut conn, 100, 0).unwrap()), rows);
    assert_eq!(
        sorted(
            DeepEvent::stream(&mut conn)
                .unwrap()
                .map(Result::unwrap)
                .collect()
        ),
        rows
    );
    assert!(qs.refusals().is_empty(), "{:?}", qs.refusals());
}

#[test]
fn a_dataset_of_112_columns_reads_and_streams() {
    let (direct, qs, through) = engines();
    let mut conn = direct.get().unwrap();
    assert_eq!(WideDataset::count(&mut conn).unwrap(), 500);
    let mut rows: Vec<WideDataset> = WideDataset::stream(&mut conn)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort_by_key(|r| r.c001);
    assert_eq!(rows.len(), 500);
    let w7 = rows
        .iter()
        .find(|r| r._id.as_deref() == Some("w7"))
        .unwrap();
    // every seventh row has its odd columns NULL
    assert_eq!((w7.c001, w7.c011, w7.c109.is_none()), (None, None, true));
    assert_eq!(w7.c002, Some(7.0 / 4.0 + 2.0));
    assert_eq!(w7.c110, Some(7 + 110));
    let w8 = rows
        .iter()
        .find(|r| r._id.as_deref() == Some("w8"))
        .unwrap();
    assert_eq!(w8.c001, Some(8_000_000_001));
    assert_eq!(
        w8.c108.as_deref(),
        Some(&[Some("a8".to_string()), None][..])
    );
    assert_eq!(w8.c109, Some(serde_json::json!({"g": 8, "c": 109})));

    let mut qconn = through.get().unwrap();
    let mut again: Vec<WideDataset> = WideDataset::list(&mut qconn, 1000, 0).unwrap();
    again.sort_by_key(|r| r.c001);
    assert!(again == rows, "the stand-in read the 112 columns the same");
    assert!(qs.refusals().is_empty(), "{:?}", qs.refusals());
}
