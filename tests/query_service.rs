//! The user flows through the Query Service stand-in: the quickstart's table list, reflection,
//! reading every sample dataset through the generated models (composites and arrays included), a
//! CREATE TABLE AS and an INSERT … SELECT, a 120,000-row read past the 50,000-row cap, and the
//! platform's errors — against the strict stand-in and its "binary honoured" and "text instead of
//! binary" switches.
mod common;

use sample_sandbox as sandbox;

use aep_diesel::model::prelude::*;

use std::time::Duration;

use aep_diesel::inspect::Filter;
use aep_diesel::{Engine, Error, Protocol, bulk, platform};
use aep_diesel_testkit::{BinaryResults, QsStandIn, RefusalKind};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// The three behaviours Query Service could plausibly have for binary results.
fn standins() -> Vec<(&'static str, QsStandIn)> {
    let _ = common::sandbox();
    let server = common::server();
    let declared = |b: aep_diesel_testkit::QsStandInBuilder| {
        b.primary_key("luma_web_data", &["_id"], Some("ECID"))
            // a Data Distiller foreign key the catalog does not know
            .foreign_key("luma_web_data", &["_id"], "luma_profile", &["_id"])
    };
    vec![
        (
            "strict",
            declared(QsStandIn::builder(server)).start().unwrap(),
        ),
        (
            "binary honoured",
            declared(QsStandIn::builder(server))
                .binary_results(BinaryResults::Honour)
                .named_statements(true)
                .start()
                .unwrap(),
        ),
        (
            "text instead of binary",
            declared(QsStandIn::builder(server))
                .binary_results(BinaryResults::AnswerText)
                .named_statements(true)
                .start()
                .unwrap(),
        ),
    ]
}

fn engines(label: &str, qs: &QsStandIn, db: &str) -> Vec<Engine> {
    let auto = Engine::builder(qs.options_for(db)).build().unwrap();
    let mut out = vec![auto];
    // Where the server accepts more, the binary protocol must also read correctly.
    if label != "strict" {
        out.push(
            Engine::builder(qs.options_for(db))
                .protocol(Protocol::Binary)
                .build()
                .unwrap(),
        );
    }
    out
}

#[test]
fn table_names_and_reflection_match_postgres() {
    let direct = common::sandbox();
    let names = direct.inspect().unwrap().table_names(None).unwrap();
    let model = direct.inspect().unwrap().reflect(&Filter::new()).unwrap();
    // view columns' nullability from the view's definition (print-schema's
    // experimental_infer_nullable_for_views): customer_id and email come straight from NOT NULL
    // columns of customers; a count and a coalesce prove nothing
    let infer = Filter::new().infer_view_nullability(true);
    let view = |m: &aep_diesel::SchemaModel| -> Vec<Option<bool>> {
        m.table("customer_order_totals", None)
            .unwrap()
            .columns
            .iter()
            .map(|c| c.view_nullable)
            .collect()
    };
    let inferred = direct.inspect().unwrap().reflect(&infer).unwrap();
    assert_eq!(view(&inferred), [Some(false), Some(false), None, None]);
    for (label, qs) in standins() {
        for (i, engine) in engines(label, &qs, "prod:all").into_iter().enumerate() {
            let conn = engine.get().unwrap();
            // Auto picks the compatible protocol on Query Service; the second engine forces Binary
            let protocol = conn.protocol();
            let want = [Protocol::Compatible, Protocol::Binary][i];
            assert_eq!(protocol, want, "{label}");
            assert!(conn.is_query_service(), "{label}");
            drop(conn);
            let label = format!("{label}, {protocol:?}");
            let inspector = engine.inspect().unwrap();
            assert_eq!(inspector.table_names(None).unwrap(), names, "{label}");
            let through = inspector.reflect(&Filter::new()).unwrap();
            assert_eq!(through.tables.len(), model.tables.len(), "{label}");
            for (a, b) in through.tables.iter().zip(&model.tables) {
                assert_eq!(a.columns, b.columns, "{label}: {}", a.name);
                if a.name == "luma_web_data" {
                    // declared with Data Distiller, answered by SHOW PRIMARY KEYS
                    let pk = a.primary_key.as_ref().expect("the declared key");
                    assert_eq!(
                        (pk.columns.as_slice(), pk.enforced),
                        (&["_id".to_string()][..], false)
                    );
                } else {
                    assert_eq!(a.primary_key, b.primary_key, "{label}: {}", a.name);
                }
                if a.name == "luma_web_data" {
                    // declared with Data Distiller, answered by SHOW FOREIGN KEYS
                    assert!(b.foreign_keys.is_empty(), "the catalog has none");
                    let fk = a.foreign_keys.first().expect("the declared foreign key");
                    assert_eq!(
                        (
                            fk.columns.join(","),
                            fk.referred_table.as_str(),
                            fk.referred_columns.join(","),
                            fk.enforced
                        ),
                        ("_id".to_string(), "luma_profile", "_id".to_string(), false),
                        "{label}"
                    );
                } else {
                    assert_eq!(a.foreign_keys, b.foreign_keys, "{label}: {}", a.name);
                }
            }
            assert_eq!(through.types, model.types, "{label}");
            assert_eq!(
                view(&inspector.reflect(&infer).unwrap()),
                view(&inferred),
                "{label}: view nullability through the stand-in"
            );

            // `aep-diesel generate` keys the dataset by its Data Distiller key alone (no
            // diesel.toml key)
            let files =
                aep_diesel_codegen::generate(&through, &aep_diesel_codegen::Options::default())
                    .unwrap();
            let events = files
                .files
                .iter()
                .find(|(path, _)| path.ends_with("luma_web_data.rs"))
                .map(|(_, text)| text)
                .unwrap_or_else(|| panic!("{label}: no luma_web_data.rs"));
            assert!(
                events.contains("impl aep_diesel::model::Keyed for LumaWebData"),
                "{label}"
            );
            assert!(
                events.contains("Data Distiller"),
                "{label}: the docs say where the key came from"
            );
        }
        assert!(
            qs.refusals().is_empty(),
            "{label}: nothing refused: {:?}",
            qs.refusals()
        );
    }
}

#[test]
fn every_sample_dataset_reads_through_the_generated_models() {
    let direct = common::sandbox();
    let mut dconn = direct.get().unwrap();
    use sandbox::*;
    let expected = (
        customers::Customer::list(&mut dconn, 100, 0).unwrap(),
        orders::Order::list(&mut dconn, 100, 0).unwrap(),
        luma_web_data::LumaWebData::list(&mut dconn, 100, 0).unwrap(),
        luma_profile::LumaProfile::list(&mut dconn, 100, 0).unwrap(),
        web_sessions::WebSession::list(&mut dconn, 100, 0).unwrap(),
    );
    assert!(
        expected.2.iter().any(|e| e.commerce.is_some()),
        "the sample has composite values to read"
    );
    for (label, qs) in standins() {
        for engine in engines(label, &qs, "prod:all") {
            let mut conn = engine.get().unwrap();
            let what = format!("{label}, {:?}", conn.protocol());
            assert_eq!(
                customers::Customer::list(&mut conn, 100, 0).unwrap(),
                expected.0,
                "{what}"
            );
            assert_eq!(
                orders::Order::list(&mut conn, 100, 0).unwrap(),
                expected.1,
                "{what}"
            );
            let mut events = luma_web_data::LumaWebData::list(&mut conn, 100, 0).unwrap();
            let mut want = expected.2.clone();
            events.sort_by(|a, b| a._id.cmp(&b._id));
            want.sort_by(|a, b| a._id.cmp(&b._id));
            assert_eq!(events, want, "{what}: composites and arrays of composites");
            let mut profiles = luma_profile::LumaProfile::list(&mut conn, 100, 0).unwrap();
            let mut want = expected.3.clone();
            profiles.sort_by(|a, b| a._id.cmp(&b._id));
            want.sort_by(|a, b| a._id.cmp(&b._id));
            assert_eq!(profiles, want, "{what}");
            assert_eq!(
                web_sessions::WebSession::list(&mut conn, 100, 0)
                    .unwrap()
                    .len(),
                expected.4.len(),
                "{what}"
            );
            // every other dataset and view reads too
            order_items::OrderItem::list(&mut conn, 100, 0).unwrap();
            segment_members::SegmentMember::list(&mut conn, 100, 0).unwrap();
            _2024_campaigns::T2024Campaign::list(&mut conn, 100, 0).unwrap();
            match_::Match::list(&mut conn, 100, 0).unwrap();
            customer_order_totals::CustomerOrderTotal::list(&mut conn, 100, 0).unwrap();
            daily_event_counts::DailyEventCount::list(&mut conn, 100, 0).unwrap();
        }
        assert!(qs.refusals().is_empty(), "{label}: {:?}", qs.refusals());
    }
}

#[test]
fn platform_writes_run_on_the_server_and_row_by_row_writes_are_refused() {
    let server = common::server();
    let db = server.create_database("qs_writes").unwrap();
    let direct = server.engine_for(db).unwrap();
    direct
        .run_migrations(aep_diesel_testkit::sample::MIGRATIONS)
        .unwrap();
    use sandbox::schema::customers;
    for (i, (label, qs)) in standins().into_iter().enumerate() {
        for (j, engine) in engines(label, &qs, "qs_writes").into_iter().enumerate() {
            let mut conn = engine.get().unwrap();
            let label = format!("{label}, {:?}", conn.protocol());
            let copy = format!("fr_customers_{i}_{j}");
            let n = platform::create_table_as(
                &mut conn,
                &copy,
                customers::table
                    .select((customers::id, customers::email))
                    .filter(customers::country.eq("FR")),
            )
            .unwrap_or_else(|e| panic!("{label}: {}", common::chain(&e)));
            let fr: i64 = customers::table
                .filter(customers::country.eq("FR"))
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(n as i64, fr, "{label}");
            // append a query's rows to an existing table, typed by Diesel
            diesel::table! { archive (id) { id -> BigInt, email -> Text, name -> Varchar, country -> Nullable<Bpchar>, created_at -> Timestamptz } }
            direct
                .get()
                .unwrap()
                .batch_execute(&format!(
                    "DROP TABLE IF EXISTS archive; CREATE TABLE archive (LIKE customers); \
                 ALTER TABLE archive OWNER TO \"ACME@AdobeOrg\"; DROP TABLE IF EXISTS x_{copy}"
                ))
                .unwrap();
            let appended =
                platform::insert_into_select(&mut conn, archive::table, customers::table).unwrap();
            let all: i64 = customers::table.count().get_result(&mut conn).unwrap();
            assert_eq!(appended as i64, all, "{label}");
            // row-by-row writes are refused before anything is sent
            let e = bulk::insert_in_batches(&mut conn, &[1], 1, |_, _| Ok(1)).unwrap_err();
            assert!(matches!(e, Error::Unsupported { .. }), "{label}: {e}");
            // generated models refuse row-by-row writes there before anything is sent...
            use sandbox::customers::{Customer, CustomerChanges, NewCustomer};
            let before = (
                customers::table
                    .count()
                    .get_result::<i64>(&mut conn)
                    .unwrap(),
                qs.refusals().len(),
            );
            let new = NewCustomer {
                id: None,
                email: format!("qs{i}_{j}@example.com"),
                name: "QS".into(),
                country: None,
                created_at: None,
            };
            for e in [
                Customer::create(&mut conn, &new).map(|_| ()).unwrap_err(),
                Customer::create_many(&mut conn, std::slice::from_ref(&new))
                    .map(|_| ())
                    .unwrap_err(),
                Customer::update(
                    &mut conn,
                    &1,
                    &CustomerChanges {
                        name: Some("x".into()),
                        ..Default::default()
                    },
                )
                .map(|_| ())
                .unwrap_err(),
                Customer::delete(&mut conn, &1).map(|_| ()).unwrap_err(),
            ] {
                assert!(matches!(e, Error::Unsupported { .. }), "{label}: {e}");
                assert!(e.to_string().contains("query_service_writable"), "{e}");
            }
            assert_eq!(
                (
                    customers::table
                        .count()
                        .get_result::<i64>(&mut conn)
                        .unwrap(),
                    qs.refusals().len()
                ),
                before,
                "{label}: nothing was sent"
            );
            // ...unless the model is declared writable there: then the server has the last word
            let new = NewWritable {
                email: new.email,
                name: new.name,
            };
            let w = WritableCustomer::create(&mut conn, &new).unwrap();
            assert_eq!(w.email, new.email, "{label}: INSERT … VALUES went through");
            let e = WritableCustomer::delete(&mut conn, &w.id).unwrap_err();
            assert!(matches!(e, Error::StatementNotSupported(_)), "{label}: {e}");
            // and the server refuses what Query Service does not support, classified
            let e = diesel::delete(customers::table)
                .execute(&mut conn)
                .unwrap_err();
            assert_eq!(
                aep_diesel::sqlstate(&e).as_deref(),
                Some("0A000"),
                "{label}"
            );
            let e = Error::from(e);
            assert!(matches!(e, Error::StatementNotSupported(_)), "{label}: {e}");
            assert!(e.to_string().contains("CREATE TABLE AS SELECT"), "{e}");
            let e = diesel::sql_query("SELECT id FROM customers LIMIT 200000")
                .execute(&mut conn)
                .map_err(Error::from)
                .unwrap_err();
            assert!(matches!(e, Error::RowLimit(_)), "{label}: {e}");
            assert!(e.to_string().contains("page"), "{e}");
        }
    }
}

/// A hand-written model of `customers` that says its writes may go to Query Service, as a
/// `query_service_writable` entry makes the generator say.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sandbox::schema::customers, check_for_backend(diesel::pg::Pg))]
struct WritableCustomer {
    id: i64,
    email: String,
}

impl aep_diesel::model::Model for WritableCustomer {
    type Table = sandbox::schema::customers::table;
    const KEY: Option<&'static str> = Some("id");
    const WRITABLE_ON_QUERY_SERVICE: bool = true;
}

impl aep_diesel::model::Keyed for WritableCustomer {
    type KeyType = diesel::sql_types::BigInt;
    type Key = i64;
    type OwnedKey = i64;
    fn key(&self) -> Option<i64> {
        Some(self.id)
    }
}

impl aep_diesel::model::Create for WritableCustomer {}
impl aep_diesel::model::Write for WritableCustomer {}

struct NewWritable {
    email: String,
    name: String,
}

impl aep_diesel::model::Insert for NewWritable {
    type Model = WritableCustomer;
    fn walk<'b>(&'b self, w: &mut aep_diesel::model::Values<'_, 'b>) -> QueryResult<()> {
        use sandbox::schema::customers;
        w.value::<customers::email, _>(&self.email)?;
        w.value::<customers::name, _>(&self.name)
    }
}

#[test]
fn a_120000_row_read_pages_past_the_cap() {
    let server = common::server();
    let db = server.create_database("qs_big").unwrap();
    let direct = server.engine_for(db).unwrap();
    direct
        .run_migrations(aep_diesel_testkit::sample::MIGRATIONS)
        .unwrap();
    direct
        .get()
        .unwrap()
        .batch_execute(
            "INSERT INTO customers (email, name) \
             SELECT 'user' || g || '@example.com', 'user ' || g FROM generate_series(1, 120000) g; \
             INSERT INTO luma_profile (_id, loyalty_points) \
             SELECT 'p' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE g END FROM generate_series(1, 60001) g; \
             INSERT INTO luma_profile (_id) VALUES ('p17'), (NULL), (NULL)",
        )
        .unwrap();
    let total: i64 = {
        use sandbox::schema::customers;
        customers::table
            .count()
            .get_result(&mut direct.get().unwrap())
            .unwrap()
    };
    assert!(total >= 120_000);
    use sandbox::customers::Customer;
    use sandbox::luma_profile::LumaProfile;
    use sandbox::schema::luma_profile;
    for (label, qs) in standins() {
        for engine in engines(label, &qs, "qs_big") {
            let mut conn = engine.get().unwrap();
            let label = format!("{label}, {:?}", conn.protocol());
            // a query without a LIMIT is cut at the platform's cap...
            let capped: Vec<i64> = {
                use sandbox::schema::customers;
                customers::table
                    .select(customers::id)
                    .load(&mut conn)
                    .unwrap()
            };
            assert_eq!(
                capped.len(),
                bulk::PLATFORM_ROW_LIMIT,
                "{label}: the cap applies"
            );
            // ...while keyset pages read everything, in order, once
            let mut seen = 0i64;
            let mut last = 0i64;
            for page in bulk::pages(
                bulk::PLATFORM_ROW_LIMIT,
                |after: Option<&i64>, limit| Customer::page_after(&mut conn, after, limit),
                |c: &Customer| c.id,
            ) {
                for c in page.unwrap() {
                    assert!(c.id > last, "{label}: key order");
                    last = c.id;
                    seen += 1;
                }
            }
            assert_eq!(seen, total, "{label}: bulk::pages");
            // and the generated stream reads past the cap by itself on Query Service (a cursor)
            let streamed = Customer::stream(&mut conn).unwrap().count();
            assert_eq!(streamed as i64, total, "{label}: stream");
            // also for a relation without a key, duplicates and NULLs included: each row once
            let mut want: Vec<Option<String>> = luma_profile::table
                .select(luma_profile::_id)
                .load(&mut direct.get().unwrap())
                .unwrap();
            assert!(want.len() > 60_000 && want.len() > bulk::PLATFORM_ROW_LIMIT);
            let mut got: Vec<Option<String>> = LumaProfile::stream(&mut conn)
                .unwrap()
                .map(|r| r.unwrap()._id)
                .collect();
            want.sort();
            got.sort();
            assert!(
                got == want,
                "{label}: key-less stream read {} rows",
                got.len()
            );
            // a stream dropped early leaves no transaction or cursor behind
            let first: Vec<LumaProfile> = LumaProfile::stream(&mut conn)
                .unwrap()
                .take(3)
                .map(Result::unwrap)
                .collect();
            assert_eq!(first.len(), 3);
            assert_eq!(
                LumaProfile::stream(&mut conn).unwrap().count(),
                want.len(),
                "{label}: the cursor name is free again"
            );
            assert_eq!(
                Customer::list(&mut conn, 5, 0).unwrap().len(),
                5,
                "{label}: the connection is usable"
            );
            assert_eq!(
                qs.refusals().len(),
                0,
                "{label}: pages stay under the limits: {:?}",
                qs.refusals()
            );
        }
    }
}

#[test]
fn session_limit_expired_tokens_and_ended_sessions_are_classified() {
    let _ = common::sandbox();
    let server = common::server();
    let qs = QsStandIn::builder(server)
        .session_limit(Some(2))
        .session_life(Some(Duration::from_secs(2)))
        .start()
        .unwrap();
    // an expired (or wrong) token
    let e = Engine::builder(qs.options_for("prod:all").with_password("expired-token"))
        .build()
        .unwrap()
        .get()
        .expect_err("refused");
    assert!(matches!(e, Error::Authentication { .. }), "{e}");
    assert!(e.to_string().contains("expire"), "{e}");
    // the org's session limit
    let engine = Engine::builder(qs.options_for("prod:all"))
        .max_size(3)
        .checkout_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let a = engine.get().unwrap();
    let b = engine.get().unwrap();
    let e = engine.get().expect_err("a third session is over the limit");
    assert!(matches!(e, Error::SessionLimit { .. }), "{e}");
    assert!(e.to_string().contains("max_size"), "hint: {e}");
    assert!(
        qs.refusals()
            .iter()
            .any(|r| r.kind == RefusalKind::SessionLimit),
        "{:?}",
        qs.refusals()
    );
    drop(b);
    // a session past its life is ended by the server; the error says so and the pool moves on
    let mut a = a;
    std::thread::sleep(Duration::from_millis(2200));
    let e = diesel::select(1.into_sql::<diesel::sql_types::Integer>())
        .get_result::<i32>(&mut a)
        .map_err(Error::from)
        .unwrap_err();
    assert!(matches!(e, Error::ConnectionLost(_)), "{e}");
    assert!(e.to_string().contains("take a new connection"), "hint: {e}");
    drop(a);
    qs.wait_sessions_active_at_most(0, Duration::from_secs(5));
    let mut fresh = engine.get().unwrap();
    let one: i32 = diesel::select(1.into_sql::<diesel::sql_types::Integer>())
        .get_result(&mut fresh)
        .unwrap();
    assert_eq!(one, 1);
}

/// Where the catalog does not answer aep-diesel's relation query (which catalog queries Query
/// Service's emulation takes beyond psql's and SQLAlchemy's is unknown), table names come from
/// `SHOW TABLES`: every table, though views may come with them.
#[test]
fn table_names_come_from_show_tables_where_the_catalog_does_not_answer() {
    let direct = common::sandbox();
    let names = direct.inspect().unwrap().table_names(None).unwrap();
    let qs = QsStandIn::builder(common::server())
        .unavailable_relations(&["pg_class"])
        .start()
        .unwrap();
    let engine = Engine::builder(qs.options_for("prod:all")).build().unwrap();
    let (got, source) = engine
        .inspect()
        .unwrap()
        .table_names_with_source(None)
        .unwrap();
    assert_eq!(source, aep_diesel::inspect::NamesSource::ShowTables);
    // SHOW TABLES does not say which names are views (and whether Query Service lists views there
    // is unknown; the stand-in does): every table, plus at most the views
    let inspector = direct.inspect().unwrap();
    let mut views = inspector.view_names(None).unwrap();
    views.extend(inspector.materialized_view_names(None).unwrap());
    assert!(!views.is_empty());
    let (tables, extra): (Vec<String>, Vec<String>) =
        got.into_iter().partition(|n| names.contains(n));
    assert_eq!(tables, names);
    assert!(extra.iter().all(|n| views.contains(n)), "{extra:?}");
    assert!(
        qs.refusals()
            .iter()
            .any(|r| r.kind == RefusalKind::UnavailableRelation),
        "the catalog query was refused: {:?}",
        qs.refusals()
    );
}
