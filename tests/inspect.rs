//! The Inspector against the sample sandbox: SQLAlchemy's meanings, cross-checked with the server's own
//! information_schema; SELECT-only users; the SHOW TABLES / information_schema fallback; a fixed number
//! of catalog queries whatever the table count.
mod common;

use aep_diesel::diesel::prelude::*;
use aep_diesel::diesel::sql_types::{Integer, Text};
use aep_diesel::inspect::{Filter, Identity, NamesSource, TableKind, TypeDef, TypeKind};
use aep_diesel::{Error, SchemaModel};
use common::{sandbox, server};
use diesel::connection::SimpleConnection;

#[derive(QueryableByName, Debug, PartialEq)]
struct InfoCol {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Integer)]
    ordinal_position: i32,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[test]
fn names_follow_sqlalchemy() {
    let i = sandbox().inspect().unwrap();
    assert_eq!(i.default_schema_name().unwrap(), "public");
    assert!(i.schema_names().unwrap().contains(&"public".to_string()));
    let tables = i.table_names(None).unwrap();
    let expected = [
        "2024_campaigns",
        "Web Sessions",
        "__diesel_schema_migrations",
        "customers",
        "luma_profile",
        "luma_web_data",
        "match",
        "order_items",
        "orders",
        "segment_members",
    ];
    assert_eq!(tables, expected, "base tables only, sorted");
    assert_eq!(
        i.table_names_with_source(None).unwrap().1,
        NamesSource::Catalog
    );
    assert_eq!(i.view_names(None).unwrap(), ["customer_order_totals"]);
    assert_eq!(
        i.materialized_view_names(None).unwrap(),
        ["daily_event_counts"]
    );
    assert!(i.foreign_table_names(None).unwrap().is_empty());
    assert!(i.has_table("orders", None).unwrap());
    assert!(
        i.has_table("customer_order_totals", Some("public"))
            .unwrap()
    );
    assert!(!i.has_table("nope", None).unwrap());
    assert!(matches!(
        i.columns("nope", None),
        Err(Error::NoSuchTable { .. })
    ));
}

#[test]
fn columns_keys_indexes_constraints_and_comments() {
    let i = sandbox().inspect().unwrap();
    let cols = i.columns("orders", None).unwrap();
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "customer_id",
            "status",
            "total",
            "total_with_tax",
            "note",
            "placed_at"
        ]
    );
    assert_eq!(cols[0].identity, Some(Identity::Always));
    assert!(cols[0].autoincrement() && !cols[0].nullable);
    assert_eq!(cols[2].sql_type.kind, TypeKind::Enum);
    assert_eq!(cols[2].default.as_deref(), Some("'new'::order_status"));
    assert_eq!(cols[3].sql_type.display, "numeric(12,2)");
    assert_eq!(cols[4].generated.as_deref(), Some("(total * 1.2)"));
    assert!(
        cols[4].default.is_none(),
        "a generation expression is not a default"
    );
    assert_eq!(cols[6].default.as_deref(), Some("now()"));
    let customers = i.columns("customers", None).unwrap();
    assert!(customers[0].autoincrement(), "bigserial");
    assert_eq!(customers[2].sql_type.max_length, Some(100));
    assert_eq!(
        customers[1].comment.as_deref(),
        Some("Login e-mail, unique")
    );
    assert_eq!(
        i.table_comment("customers", None).unwrap().as_deref(),
        Some("Customers of the Luma store")
    );

    assert_eq!(
        i.primary_key("order_items", None).unwrap().unwrap().columns,
        ["order_id", "line_no"]
    );
    assert!(i.primary_key("luma_web_data", None).unwrap().is_none());
    let fks = i.foreign_keys("orders", None).unwrap();
    assert_eq!(fks.len(), 1);
    assert_eq!(
        (
            fks[0].columns.as_slice(),
            fks[0].referred_table.as_str(),
            fks[0].referred_columns.as_slice()
        ),
        (
            &["customer_id".to_string()][..],
            "customers",
            &["id".to_string()][..]
        )
    );
    assert_eq!(fks[0].on_delete, "CASCADE");
    let uniques = i.unique_constraints("order_items", None).unwrap();
    assert_eq!(uniques[0].name, "order_items_sku_per_order");
    assert_eq!(uniques[0].columns, ["order_id", "sku"]);
    let checks = i.check_constraints("orders", None).unwrap();
    assert_eq!(checks[0].expression, "total >= 0::numeric");
    let idx = i.indexes("orders", None).unwrap();
    let partial = idx.iter().find(|x| x.name == "orders_placed_idx").unwrap();
    assert_eq!(
        partial.predicate.as_deref(),
        Some("(status <> 'cancelled'::order_status)")
    );
    assert_eq!(partial.columns, [Some("placed_at".to_string())]);
    assert!(idx.iter().any(|x| x.primary && x.constraint));
    assert!(
        i.indexes("segment_members", None)
            .unwrap()
            .iter()
            .any(|x| x.unique && x.columns == [Some("member_key".into())])
    );
}

/// Our columns agree with information_schema (as the owner, who sees everything there; it has no
/// materialized views).
#[test]
fn columns_agree_with_information_schema() {
    let engine = sandbox();
    let model = engine.inspect().unwrap().reflect(&Filter::new()).unwrap();
    let rows: Vec<InfoCol> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, ordinal_position::int, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .load(&mut engine.get().unwrap())
    .unwrap();
    let mut ours: Vec<InfoCol> = model
        .tables
        .iter()
        .filter(|t| t.kind != TableKind::MaterializedView)
        .flat_map(|t| {
            t.columns.iter().enumerate().map(|(n, c)| InfoCol {
                table_name: t.name.clone(),
                column_name: c.name.clone(),
                ordinal_position: n as i32 + 1,
                is_nullable: if c.nullable { "YES" } else { "NO" }.into(),
            })
        })
        .collect();
    ours.sort_by(|a, b| {
        (&a.table_name, a.ordinal_position).cmp(&(&b.table_name, b.ordinal_position))
    });
    assert_eq!(ours, rows);
}

#[test]
fn composite_enum_and_domain_types() {
    let model = sandbox()
        .inspect()
        .unwrap()
        .reflect(&Filter::new())
        .unwrap();
    let web = model.custom_type("public", "luma_web_data_web").unwrap();
    let TypeDef::Composite { fields } = &web.def else {
        panic!("{web:?}")
    };
    assert_eq!(
        fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["webpagedetails", "webreferrer"]
    );
    assert_eq!(fields[1].sql_type.kind, TypeKind::Composite);
    let TypeDef::Enum { labels } = &model.custom_type("public", "device_kind").unwrap().def else {
        panic!()
    };
    assert_eq!(labels, &["mobile", "desktop", "tablet", "other"]);
    let TypeDef::Domain { base, .. } = &model.custom_type("public", "email_address").unwrap().def
    else {
        panic!()
    };
    assert_eq!(base.name, "text");
    let items = model
        .table("luma_web_data", None)
        .unwrap()
        .column("productlistitems")
        .unwrap();
    assert!(items.sql_type.array && items.sql_type.kind == TypeKind::Composite);
    // only types the tables use, transitively: commerce_order is reached through luma_web_data_commerce
    assert!(model.custom_type("public", "commerce_order").is_some());
}

#[test]
fn reflect_filters_and_round_trips_through_json() {
    let i = sandbox().inspect().unwrap();
    let f = Filter::new()
        .only_tables(["luma_.*", "orders"])
        .unwrap()
        .except_tables(["luma_profile"])
        .unwrap();
    let model = i.reflect(&f).unwrap();
    let names: Vec<&str> = model.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["luma_web_data", "orders"]);
    let no_views = i.reflect(&Filter::new().views(false)).unwrap();
    assert!(no_views.tables.iter().all(|t| !t.kind.is_view()));
    assert_eq!(SchemaModel::from_json(&model.to_json()).unwrap(), model);
    let e = Filter::new().only_tables(["("]).unwrap_err();
    assert_eq!((e.setting, e.pattern.as_str()), ("only_tables", "("));
    assert!(
        std::error::Error::source(&e).is_some(),
        "the regex error is kept"
    );
}

/// A user holding only SELECT sees the same keys: pg_catalog shows constraints to everyone, while
/// information_schema's constraint views hide them from non-owners (diesel print-schema's trap).
#[test]
fn select_only_user_sees_keys() {
    let owner = sandbox();
    let s = server();
    s.admin_execute(
        "prod:all",
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader') THEN \
           CREATE ROLE reader LOGIN PASSWORD 'reader-pw:1'; END IF; END $$; \
         GRANT USAGE ON SCHEMA public TO reader; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;",
    )
    .unwrap();
    let reader = s
        .engine_for(s.options().user("reader").password("reader-pw:1"))
        .unwrap();
    let as_owner = owner.inspect().unwrap().reflect(&Filter::new()).unwrap();
    let as_reader = reader.inspect().unwrap().reflect(&Filter::new()).unwrap();
    for (a, b) in as_owner.tables.iter().zip(&as_reader.tables) {
        assert_eq!(a.primary_key, b.primary_key, "{}", a.name);
        assert_eq!(a.foreign_keys, b.foreign_keys, "{}", a.name);
        assert_eq!(a.unique_constraints, b.unique_constraints, "{}", a.name);
        assert_eq!(a.columns, b.columns, "{}", a.name);
    }
    assert!(
        as_reader
            .table("orders", None)
            .unwrap()
            .primary_key
            .is_some()
    );
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let hidden: N = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.table_constraints \
         WHERE table_schema = 'public' AND constraint_type = 'PRIMARY KEY'",
    )
    .get_result(&mut reader.get().unwrap())
    .unwrap();
    assert_eq!(
        hidden.n, 0,
        "information_schema hides the keys from a SELECT-only user"
    );
}

/// Where pg_class cannot be read, table names still come back: SHOW TABLES (Query Service) is tried,
/// then information_schema.tables.
#[test]
fn table_names_fall_back_when_the_catalog_is_closed() {
    let s = server();
    let creds = s.create_database("closed_catalog").unwrap();
    let engine = s.engine_for(creds).unwrap();
    engine
        .get()
        .unwrap()
        .batch_execute("CREATE TABLE ds_one (_id text); CREATE TABLE ds_two (_id text);")
        .unwrap();
    s.admin_execute(
        "closed_catalog",
        "REVOKE SELECT ON pg_catalog.pg_class FROM PUBLIC",
    )
    .unwrap();
    let i = engine.inspect().unwrap();
    let (names, source) = i.table_names_with_source(Some("public")).unwrap();
    assert_eq!(names, ["ds_one", "ds_two"]);
    assert_eq!(source, NamesSource::InformationSchema);
    // a full reflect cannot work without the catalog, and says so
    let e = i.reflect(&Filter::new().schema("public")).unwrap_err();
    match &e {
        Error::Introspection { what, source } => {
            assert_eq!(*what, "relations");
            assert!(source.to_string().contains("pg_class"), "{source}");
        }
        other => panic!("{other:?}"),
    }
}

/// The number of catalog queries does not grow with the number of tables.
#[test]
fn reflect_uses_a_fixed_number_of_queries() {
    let s = server();
    let creds = s.create_database("many_tables").unwrap();
    let engine = s.engine_for(creds).unwrap();
    let count = |engine: &aep_diesel::Engine| {
        let i = engine.inspect().unwrap();
        let m = i.reflect(&Filter::new()).unwrap();
        (m.tables.len(), i.queries_sent())
    };
    engine
        .get()
        .unwrap()
        .batch_execute("CREATE TABLE t0 (id int PRIMARY KEY, v text)")
        .unwrap();
    let (one, q1) = count(&engine);
    let ddl: String = (1..300)
        .map(|n| format!("CREATE TABLE t{n} (id int PRIMARY KEY, parent int REFERENCES t0 (id), v text UNIQUE);"))
        .collect();
    engine.get().unwrap().batch_execute(&ddl).unwrap();
    let (many, q300) = count(&engine);
    assert_eq!((one, many), (1, 300));
    assert_eq!(q1, q300);
    assert!(q300 <= 10, "{q300} queries");
    let model = engine.inspect().unwrap().reflect(&Filter::new()).unwrap();
    assert!(model.tables.iter().all(|t| t.kind == TableKind::Table));
}
