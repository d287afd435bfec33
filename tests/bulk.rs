//! Bulk writes (INSERT batches and binary COPY), all-or-nothing with the failing row named; streaming
//! and keyset pages through the generated models.
mod common;

use std::str::FromStr;

use aep_diesel::{Error, bulk};
use bigdecimal::BigDecimal;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use sample_sandbox as sandbox;

use aep_diesel::model::prelude::*;

diesel::table! {
    loads (id) {
        id -> Int8,
        label -> Text,
        amount -> Numeric,
        qty -> Int4,
        at -> Timestamptz,
    }
}

#[derive(Insertable, Clone)]
#[diesel(table_name = loads, treat_none_as_default_value = false)]
struct Load {
    id: i64,
    label: String,
    amount: BigDecimal,
    qty: i32,
    at: chrono::DateTime<chrono::Utc>,
}

fn data(n: usize, bad_at: Option<usize>) -> Vec<Load> {
    (0..n)
        .map(|i| Load {
            id: i as i64,
            label: format!("row {i}"),
            amount: BigDecimal::from_str("12.34").unwrap(),
            qty: if Some(i) == bad_at {
                -1
            } else {
                (i % 50) as i32
            },
            at: chrono::Utc::now(),
        })
        .collect()
}

fn engine(db: &str) -> aep_diesel::Engine {
    let s = common::server();
    let engine = s.engine_for(s.create_database(db).unwrap()).unwrap();
    engine
        .get()
        .unwrap()
        .batch_execute(
            "CREATE TABLE loads (id bigint, label text NOT NULL, amount numeric(12,2), \
             qty integer CHECK (qty >= 0), at timestamptz)",
        )
        .unwrap();
    engine
}

fn count(conn: &mut aep_diesel::AepConnection) -> i64 {
    loads::table.count().get_result(conn).unwrap()
}

#[test]
fn insert_batches_stay_under_the_bind_limit_and_are_all_or_nothing() {
    let engine = engine("bulk_insert");
    let mut conn = engine.get().unwrap();
    // 40,000 rows x 5 columns = 200,000 parameters: one statement would be refused by the server
    let rows = data(40_000, None);
    let mut statements = 0;
    let written = bulk::insert_in_batches(&mut conn, &rows, 5, |c, chunk| {
        statements += 1;
        assert!(chunk.len() * 5 <= bulk::MAX_BIND_PARAMS);
        diesel::insert_into(loads::table).values(chunk).execute(c)
    })
    .unwrap();
    assert_eq!((written, statements), (40_000, 4));
    assert_eq!(count(&mut conn), 40_000);
    // a bad row in the third batch: nothing of this load is kept, and the row is named
    let e = bulk::insert_in_batches(&mut conn, &data(40_000, Some(31_234)), 5, |c, chunk| {
        diesel::insert_into(loads::table).values(chunk).execute(c)
    })
    .unwrap_err();
    match &e {
        Error::BulkRow { row, source } => {
            assert_eq!(*row, 31_234);
            let text = common::chain(&**source);
            assert!(text.contains("loads_qty_check"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("row 31234"));
    assert_eq!(
        count(&mut conn),
        40_000,
        "the failed load left nothing behind"
    );
}

#[test]
fn copy_loads_everything_or_names_the_bad_row() {
    let engine = engine("bulk_copy");
    let mut conn = engine.get().unwrap();
    let rows = data(100_000, None);
    let n = bulk::copy_in(&mut conn, loads::table, &rows).unwrap();
    assert_eq!(n, 100_000);
    assert_eq!(count(&mut conn), 100_000);
    let sum: Option<BigDecimal> = loads::table
        .select(diesel::dsl::sum(loads::amount))
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(sum.unwrap(), BigDecimal::from_str("1234000.00").unwrap());
    for bad in [0, 77_777, 99_999] {
        let e = bulk::copy_in(&mut conn, loads::table, &data(100_000, Some(bad))).unwrap_err();
        assert!(
            matches!(e, Error::BulkRow { row, .. } if row == bad),
            "{e:?}"
        );
        assert_eq!(count(&mut conn), 100_000);
    }
    // the connection is usable afterwards (no transaction left open)
    assert_eq!(
        bulk::copy_in(&mut conn, loads::table, &data(3, None)).unwrap(),
        3
    );
}

#[test]
fn copy_is_refused_before_sending_on_the_compatible_protocol() {
    let engine = engine("bulk_compat");
    let compat = aep_diesel::Engine::builder(common::server().options_for("bulk_compat"))
        .protocol(aep_diesel::Protocol::Compatible)
        .build()
        .unwrap();
    let mut conn = compat.get().unwrap();
    let e = bulk::copy_in(&mut conn, loads::table, &data(10, None)).unwrap_err();
    assert!(matches!(e, Error::Unsupported { what: "COPY", .. }), "{e}");
    assert_eq!(count(&mut engine.get().unwrap()), 0);
    // INSERT batches work on PostgreSQL through the compatible protocol (text parameters)
    let n = bulk::insert_in_batches(&mut conn, &data(1_000, None), 5, |c, chunk| {
        diesel::insert_into(loads::table).values(chunk).execute(c)
    })
    .unwrap();
    assert_eq!(n, 1_000);
    assert_eq!(count(&mut conn), 1_000);
}

#[test]
fn generated_create_many_is_chunked_and_atomic() {
    use sandbox::customers::{Customer, NewCustomer};
    let s = common::server();
    let engine = s
        .engine_for(s.create_database("bulk_models").unwrap())
        .unwrap();
    engine
        .run_migrations(aep_diesel_testkit::sample::MIGRATIONS)
        .unwrap();
    let mut conn = engine.get().unwrap();
    let new = |i: usize| NewCustomer {
        id: None,
        email: format!("c{i}@example.com"),
        name: format!("Customer {i}"),
        country: None,
        created_at: None,
    };
    let rows: Vec<NewCustomer> = (0..30_000).map(new).collect();
    // NewCustomer writes 5 columns: more than two statements' worth of rows
    assert!(rows.len() > bulk::rows_per_insert(5) * 2);
    let created = Customer::create_many(&mut conn, &rows).unwrap();
    assert_eq!(created.len(), 30_000);
    let before = Customer::count(&mut conn).unwrap();
    // a duplicate e-mail in the last chunk rolls back the whole call
    let mut again: Vec<NewCustomer> = (30_000..60_000).map(new).collect();
    again[29_999].email = "c5@example.com".into();
    let e = Customer::create_many(&mut conn, &again).expect_err("duplicate e-mail");
    assert!(
        matches!(&e, Error::BulkRow { row: 29_999, source }
            if matches!(&**source, Error::Query(d) if aep_diesel::sqlstate(d).as_deref() == Some("23505"))),
        "the failing row's position, as insert_in_batches reports it: {e:?}"
    );
    assert_eq!(Customer::count(&mut conn).unwrap(), before);

    // keyset pages in key order, through aep_diesel::bulk::pages and the generated page_after
    let mut seen = Vec::new();
    for page in bulk::pages(
        7_000,
        |after: Option<&i64>, limit| Customer::page_after(&mut conn, after, limit),
        |c| c.id,
    ) {
        let page = page.unwrap();
        assert!(page.len() <= 7_000);
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(seen.len() as i64, before);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    // streaming row by row yields every row
    let mut streamed = 0;
    for c in Customer::stream(&mut conn).unwrap() {
        assert!(c.unwrap().email.contains('@'));
        streamed += 1;
    }
    assert_eq!(streamed, before);
}

/// A configured key may hold NULLs (`luma_web_data._id` here; every Data Distiller key on Query
/// Service): keyset pages must return each row once, NULL-key rows included, and stop with an error
/// rather than skip or restart when NULL keys fill a whole page. On PostgreSQL and through the
/// strict Query Service stand-in, which sort NULLs differently by default.
#[test]
fn pages_on_a_nullable_key_return_every_row_once() {
    use sandbox::luma_web_data::{LumaWebData, NewLumaWebData};
    let direct = common::sandbox();
    {
        let mut conn = direct.get().unwrap();
        let rows: Vec<NewLumaWebData> = (0..23)
            .map(|i| NewLumaWebData {
                // four NULL keys among the new rows
                _id: (i % 6 != 0).then(|| format!("nullable-key-{i:02}")),
                eventtype: Some("paging.test".into()),
                ..Default::default()
            })
            .collect();
        LumaWebData::create_many(&mut conn, &rows).unwrap();
    }
    let qs = aep_diesel_testkit::QsStandIn::builder(common::server())
        .start()
        .unwrap();
    let through_qs = aep_diesel::Engine::builder(qs.options_for("prod:all"))
        .build()
        .unwrap();
    for (label, engine) in [("PostgreSQL", &direct), ("stand-in", &through_qs)] {
        let mut conn = engine.get().unwrap();
        let total = LumaWebData::count(&mut conn).unwrap();
        let nulls = LumaWebData::stream(&mut conn)
            .unwrap()
            .filter(|r| r.as_ref().unwrap()._id.is_none())
            .count();
        assert!(nulls >= 4, "{label}: the NULL-key rows are there");
        let page_size = nulls + 3;
        let mut seen = Vec::new();
        for (i, page) in LumaWebData::pages(&mut conn, page_size).enumerate() {
            let page = page.unwrap_or_else(|e| panic!("{label}: page {i}: {e}"));
            if i > 0 {
                assert!(
                    page.iter().all(|r| r._id.is_some()),
                    "{label}: NULLs come first"
                );
            }
            seen.extend(page.into_iter().map(|r| r._id));
        }
        assert_eq!(seen.len() as i64, total, "{label}: every row once");
        let keys: Vec<&String> = seen.iter().flatten().collect();
        assert_eq!(
            keys.len(),
            seen.len() - nulls,
            "{label}: every NULL key once"
        );
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "{label}: no key twice"
        );

        // NULL keys fill the first page: an error, never a restart or a silent skip
        let pages: Vec<_> = LumaWebData::pages(&mut conn, nulls - 1).collect();
        assert_eq!(pages.len(), 2, "{label}: a page of NULLs, then the error");
        assert!(pages[0].as_ref().unwrap().iter().all(|r| r._id.is_none()));
        let e = pages[1].as_ref().expect_err("NULL keys fill a page");
        let e = common::chain(e);
        assert!(e.contains("NULL key"), "{label}: {e}");

        // a key-less relation has no order to page in: an offset is refused, not guessed
        use sandbox::luma_profile::LumaProfile;
        assert!(LumaProfile::list(&mut conn, 10, 0).is_ok());
        let e = LumaProfile::list(&mut conn, 10, 10).expect_err("offset without a key");
        assert!(
            matches!(e, Error::Unsupported { hint, .. } if hint.contains("stream()")),
            "{label}"
        );
    }
}
