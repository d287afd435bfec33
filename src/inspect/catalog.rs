//! The catalog queries. Each reads one kind of object for every relation in the chosen schemas at once,
//! so reflecting costs the same handful of round trips for 10 tables or 10,000. Only `pg_catalog` is
//! read: `information_schema` hides constraints from users who hold only SELECT.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::connection::AepConnection;
use diesel::sql_types::{Array, Bool, Int2, Int4, Nullable, Oid, Text};
use diesel::{QueryableByName, RunQueryDsl};

use crate::error::{Error, Result};
use aep_diesel_schema::{
    CheckConstraint, Column, CustomType, Field, ForeignKey, Identity, Index, PrimaryKey,
    SchemaModel, SqlType, Table, TableKind, TypeDef, TypeKind, UniqueConstraint,
};

/// One connection plus a count of the queries sent, so tests and benchmarks can hold the count down.
pub(crate) struct Catalog<'c> {
    conn: &'c mut AepConnection,
    pub queries: usize,
}

#[derive(QueryableByName)]
struct ContextRow {
    #[diesel(sql_type = Text)]
    db: String,
    #[diesel(sql_type = Text)]
    schema: String,
}

/// A row of `SHOW PRIMARY KEYS` (columns as Query Service documents them).
#[derive(QueryableByName)]
struct PlatformPk {
    #[diesel(sql_type = Text, column_name = "tableName")]
    table: String,
    #[diesel(sql_type = Text, column_name = "columnName")]
    column: String,
}

/// A row of `SHOW FOREIGN KEYS`. Query Service documents the command, not its columns: these names
/// are an assumption (the same style as `SHOW PRIMARY KEYS`); a different answer is logged and
/// ignored.
#[derive(QueryableByName)]
struct PlatformFk {
    #[diesel(sql_type = Text, column_name = "tableName")]
    table: String,
    #[diesel(sql_type = Text, column_name = "columnName")]
    column: String,
    #[diesel(sql_type = Text, column_name = "referencedTableName")]
    referenced_table: String,
    #[diesel(sql_type = Text, column_name = "referencedColumnName")]
    referenced_column: String,
}

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct RelRow {
    #[diesel(sql_type = Oid)]
    oid: u32,
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    comment: Option<String>,
}

type ColSql = (
    Oid,
    Int2,
    Text,
    Oid,
    Int4,
    Nullable<Text>,
    Bool,
    Text,
    Text,
    Nullable<Text>,
    Nullable<Text>,
);
#[derive(diesel::Queryable)]
struct ColRow {
    rel: u32,
    num: i16,
    name: String,
    type_oid: u32,
    typmod: i32,
    /// The server's display text, read only where a type modifier makes it differ from the type's.
    display: Option<String>,
    not_null: bool,
    identity: String,
    generated: String,
    default_expr: Option<String>,
    comment: Option<String>,
}

#[derive(QueryableByName, Clone)]
struct TypeRow {
    #[diesel(sql_type = Oid)]
    oid: u32,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    display: String,
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Oid)]
    elem: u32,
    #[diesel(sql_type = Oid)]
    base: u32,
    #[diesel(sql_type = Int4)]
    base_typmod: i32,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = Nullable<Text>)]
    default_expr: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    comment: Option<String>,
}

#[derive(QueryableByName)]
struct FieldRow {
    #[diesel(sql_type = Oid)]
    type_oid: u32,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Oid)]
    field_type: u32,
    #[diesel(sql_type = Int4)]
    typmod: i32,
    #[diesel(sql_type = Text)]
    display: String,
}

#[derive(QueryableByName)]
struct EnumRow {
    #[diesel(sql_type = Oid)]
    type_oid: u32,
    #[diesel(sql_type = Text)]
    label: String,
}

#[derive(QueryableByName)]
struct ConRow {
    #[diesel(sql_type = Oid)]
    rel: u32,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Array<Int2>)]
    keys: Vec<i16>,
    #[diesel(sql_type = Nullable<Text>)]
    ref_schema: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    ref_table: Option<String>,
    #[diesel(sql_type = Oid)]
    ref_rel: u32,
    #[diesel(sql_type = Nullable<Array<Int2>>)]
    ref_keys: Option<Vec<i16>>,
    /// Referenced column names, read on the server only when the referenced table is outside the
    /// reflected schemas (otherwise they are mapped from the columns already read).
    #[diesel(sql_type = Nullable<Array<Nullable<Text>>>)]
    ref_columns: Option<Vec<Option<String>>>,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
    #[diesel(sql_type = Nullable<Text>)]
    check_expr: Option<String>,
}

#[derive(QueryableByName)]
struct IdxRow {
    #[diesel(sql_type = Oid)]
    rel: u32,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    unique: bool,
    #[diesel(sql_type = Bool)]
    primary: bool,
    #[diesel(sql_type = Bool)]
    constraint: bool,
    /// Key column numbers (0 for an expression), without INCLUDE columns.
    #[diesel(sql_type = Array<Int2>)]
    keys: Vec<i16>,
    /// The expression texts of the expression keys, in order (NULL when there are none).
    #[diesel(sql_type = Nullable<Array<Text>>)]
    expressions: Option<Vec<String>>,
    #[diesel(sql_type = Nullable<Text>)]
    predicate: Option<String>,
    #[diesel(sql_type = Text)]
    method: String,
}

/// `pg_class`'s own oid is fixed (1259) in every PostgreSQL; used instead of a `::regclass` cast, which
/// Query Service may not support.
const PG_CLASS_OID: &str = "1259";
const PG_TYPE_OID: &str = "1247";
const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
                            AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'";

/// How the table names were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamesSource {
    /// `pg_catalog.pg_class`.
    Catalog,
    /// Query Service's `SHOW TABLES`.
    ShowTables,
    /// `information_schema.tables`.
    InformationSchema,
}

impl<'c> Catalog<'c> {
    pub fn new(conn: &'c mut AepConnection) -> Self {
        Catalog { conn, queries: 0 }
    }

    fn load<T: QueryableByName<diesel::pg::Pg> + 'static>(
        &mut self,
        what: &'static str,
        query: impl diesel::query_dsl::methods::LoadQuery<'static, AepConnection, T>,
    ) -> Result<Vec<T>> {
        self.queries += 1;
        let start = std::time::Instant::now();
        let rows = query
            .load(self.conn)
            .map_err(|source| Error::Introspection { what, source })?;
        log::debug!(
            "aep-diesel: read {} {what} in {:?}",
            rows.len(),
            start.elapsed()
        );
        Ok(rows)
    }

    /// The database and default schema. `current_schema()` is documented nowhere for Query Service, so
    /// `public` stands in when it fails.
    pub fn context(&mut self) -> (String, String) {
        self.queries += 1;
        let row: std::result::Result<ContextRow, _> = diesel::sql_query(
            "SELECT pg_catalog.current_database()::text AS db, \
             coalesce(pg_catalog.current_schema()::text, 'public') AS schema",
        )
        .get_result(self.conn);
        match row {
            Ok(r) => (r.db, r.schema),
            Err(_) => (String::new(), "public".into()),
        }
    }

    pub fn schema_names(&mut self) -> Result<Vec<String>> {
        let rows: Vec<NameRow> = self.load(
            "schemas",
            diesel::sql_query(format!(
                "SELECT n.nspname::text AS name FROM pg_catalog.pg_namespace n WHERE {USER_SCHEMAS} ORDER BY 1"
            )),
        )?;
        Ok(rows.into_iter().map(|r| r.name).collect())
    }

    fn relations_query(&mut self, schemas: &[String]) -> Result<Vec<RelRow>> {
        self.load(
            "relations",
            diesel::sql_query(format!(
                "SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind, \
                        d.description AS comment \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN pg_catalog.pg_description d \
                   ON d.objoid = c.oid AND d.objsubid = 0 AND d.classoid = {PG_CLASS_OID} \
                 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY($1) \
                 ORDER BY n.nspname, c.relname"
            ))
            .bind::<Array<Text>, _>(schemas.to_vec()),
        )
    }

    /// Relation names of the given kinds: from `pg_class`; where that is not possible, from Query
    /// Service's `SHOW TABLES`, then from `information_schema.tables`.
    pub fn relation_names(
        &mut self,
        schema: &str,
        kinds: &[TableKind],
    ) -> Result<(Vec<String>, NamesSource)> {
        let catalog_err = match self.relations_query(&[schema.to_string()]) {
            Ok(rows) => {
                let names = rows
                    .into_iter()
                    .filter(|r| {
                        TableKind::from_relkind(&r.kind).is_some_and(|k| kinds.contains(&k))
                    })
                    .map(|r| r.name)
                    .collect();
                return Ok((names, NamesSource::Catalog));
            }
            Err(e) => e,
        };
        log::warn!("aep-diesel: {catalog_err}; falling back to SHOW TABLES");
        let want_tables = kinds.iter().any(|k| k.is_base_table());
        if !want_tables {
            return Err(catalog_err);
        }
        self.queries += 1;
        if let Ok(rows) = diesel::sql_query("SHOW TABLES").load::<NameRow>(self.conn) {
            let mut names: Vec<String> = rows.into_iter().map(|r| r.name).collect();
            names.sort();
            return Ok((names, NamesSource::ShowTables));
        }
        self.queries += 1;
        let rows: Vec<NameRow> = diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        .bind::<Text, _>(schema)
        .load(self.conn)
        .map_err(|_| catalog_err)?;
        Ok((
            rows.into_iter().map(|r| r.name).collect(),
            NamesSource::InformationSchema,
        ))
    }

    /// Read everything about the relations in `schemas` that `keep` accepts.
    pub fn reflect(
        &mut self,
        database: String,
        default_schema: String,
        schemas: &[String],
        keep: &dyn Fn(&str, &str, TableKind) -> bool,
    ) -> Result<SchemaModel> {
        let rels = self.relations_query(schemas)?;
        let mut tables: BTreeMap<u32, Table> = BTreeMap::new();
        for r in rels {
            let Some(kind) = TableKind::from_relkind(&r.kind) else {
                continue;
            };
            if !keep(&r.schema, &r.name, kind) {
                continue;
            }
            tables.insert(
                r.oid,
                Table {
                    schema: r.schema,
                    name: r.name,
                    kind,
                    comment: r.comment,
                    columns: Vec::new(),
                    primary_key: None,
                    foreign_keys: Vec::new(),
                    indexes: Vec::new(),
                    unique_constraints: Vec::new(),
                    check_constraints: Vec::new(),
                },
            );
        }

        let types = self.types()?;
        let mut by_oid: HashMap<u32, TypeRow> = types.iter().map(|t| (t.oid, t.clone())).collect();

        // Positional decoding: the biggest result (one row per column of every table), where Diesel's
        // by-name lookup would cost as much as the query.
        self.queries += 1;
        let start = std::time::Instant::now();
        let cols: Vec<ColRow> = diesel::dsl::sql::<ColSql>(&format!(
            "SELECT a.attrelid, a.attnum, a.attname::text, a.atttypid, \
                    a.atttypmod, \
                    CASE WHEN a.atttypmod <> -1 THEN pg_catalog.format_type(a.atttypid, a.atttypmod) END, \
                    a.attnotnull, a.attidentity::text, a.attgenerated::text, \
                    pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), d.description \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
             LEFT JOIN pg_catalog.pg_description d \
               ON d.objoid = a.attrelid AND d.objsubid = a.attnum AND d.classoid = {PG_CLASS_OID} \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY("
        ))
        .bind::<Array<Text>, _>(schemas.to_vec())
        // No ORDER BY: sorting 10⁵ rows spills to disk on the server; each table is sorted here.
        .sql(") AND a.attnum > 0 AND NOT a.attisdropped")
        .load(self.conn)
        .map_err(|source| Error::Introspection {
            what: "columns",
            source,
        })?;
        log::debug!(
            "aep-diesel: read {} columns in {:?}",
            cols.len(),
            start.elapsed()
        );
        let mut names: HashMap<(u32, i16), String> = HashMap::with_capacity(cols.len());
        // Columns typed by a table's row type (left out of the types query): read those types as opaque.
        let mut missing: Vec<u32> = cols
            .iter()
            .map(|c| c.type_oid)
            .filter(|oid| !by_oid.contains_key(oid))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let extra: Vec<TypeRow> = self.load(
                "row types used as column types",
                diesel::sql_query(
                    "SELECT t.oid, t.typname::text AS name, pg_catalog.format_type(t.oid, NULL) AS display, \
                            n.nspname::text AS schema, 'p' AS kind, t.typcategory::text AS category, \
                            t.typelem AS elem, t.typbasetype AS base, t.typtypmod AS base_typmod, \
                            t.typnotnull AS not_null, NULL::text AS default_expr, NULL::text AS comment \
                     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
                     WHERE t.oid = ANY($1)",
                )
                .bind::<Array<Oid>, _>(missing),
            )?;
            by_oid.extend(extra.into_iter().map(|t| (t.oid, t)));
        }
        for c in cols {
            names.insert((c.rel, c.num), c.name.clone());
            let Some(t) = tables.get_mut(&c.rel) else {
                continue;
            };
            let generated = (c.generated == "s")
                .then(|| c.default_expr.clone())
                .flatten();
            t.columns.push(Column {
                sql_type: sql_type(&by_oid, c.type_oid, c.typmod, c.display.as_deref()),
                name: c.name,
                ordinal: c.num,
                nullable: !c.not_null,
                default: if generated.is_some() {
                    None
                } else {
                    c.default_expr
                },
                identity: match c.identity.as_str() {
                    "a" => Some(Identity::Always),
                    "d" => Some(Identity::ByDefault),
                    _ => None,
                },
                generated,
                comment: c.comment,
                view_nullable: None,
            });
        }

        for t in tables.values_mut() {
            t.columns.sort_by_key(|c| c.ordinal);
        }

        let cons: Vec<ConRow> = self.load(
            "constraints",
            diesel::sql_query(
                "SELECT con.conrelid AS rel, con.conname::text AS name, con.contype::text AS kind, \
                        con.conkey AS keys, rn.nspname::text AS ref_schema, rc.relname::text AS ref_table, \
                        con.confrelid AS ref_rel, con.confkey AS ref_keys, \
                        CASE WHEN con.contype = 'f' AND rn.nspname <> ALL($1) THEN \
                          ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) \
                                JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num \
                                ORDER BY k.ord) END AS ref_columns, \
                        con.confupdtype::text AS on_update, con.confdeltype::text AS on_delete, \
                        CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_constraintdef(con.oid, true) END AS check_expr \
                 FROM pg_catalog.pg_constraint con \
                 JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
                 LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
                 WHERE con.contype IN ('p', 'f', 'u', 'c') AND n.nspname = ANY($1) \
                 ORDER BY con.conrelid, con.conname",
            )
            .bind::<Array<Text>, _>(schemas.to_vec()),
        )?;
        for c in cons {
            let Some(t) = tables.get_mut(&c.rel) else {
                continue;
            };
            let columns: Vec<String> = c
                .keys
                .iter()
                .filter_map(|k| names.get(&(c.rel, *k)).cloned())
                .collect();
            match c.kind.as_str() {
                "p" => {
                    t.primary_key = Some(PrimaryKey {
                        name: c.name,
                        columns,
                        enforced: true,
                    })
                }
                "u" => t.unique_constraints.push(UniqueConstraint {
                    name: c.name,
                    columns,
                }),
                "f" => t.foreign_keys.push(ForeignKey {
                    name: c.name,
                    columns,
                    referred_schema: c.ref_schema.unwrap_or_default(),
                    referred_table: c.ref_table.unwrap_or_default(),
                    referred_columns: match c.ref_columns {
                        Some(server_side) => server_side.into_iter().flatten().collect(),
                        None => c
                            .ref_keys
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|k| names.get(&(c.ref_rel, *k)).cloned())
                            .collect(),
                    },
                    on_update: fk_action(&c.on_update),
                    on_delete: fk_action(&c.on_delete),
                    enforced: true,
                }),
                "c" => {
                    let def = c.check_expr.unwrap_or_default();
                    let expression = def
                        .strip_prefix("CHECK ")
                        .map(|e| e.trim_end_matches(" NOT VALID").to_string())
                        .map(|e| {
                            e.strip_prefix('(')
                                .and_then(|e| e.strip_suffix(')'))
                                .map(str::to_string)
                                .unwrap_or(e)
                        })
                        .unwrap_or(def);
                    t.check_constraints.push(CheckConstraint {
                        name: c.name,
                        expression,
                    });
                }
                _ => {}
            }
        }

        let idx: Vec<IdxRow> = self.load(
            "indexes",
            diesel::sql_query(
                "SELECT i.indrelid AS rel, ic.relname::text AS name, i.indisunique AS unique, \
                        i.indisprimary AS primary, k.conindid IS NOT NULL AS constraint, \
                        (i.indkey::int2[])[0:i.indnkeyatts - 1] AS keys, \
                        CASE WHEN 0 = ANY (i.indkey::int2[]) THEN \
                          ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, x.ord::int, true) \
                                FROM unnest(i.indkey::int2[]) WITH ORDINALITY x(num, ord) \
                                WHERE x.num = 0 ORDER BY x.ord) END AS expressions, \
                        pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS predicate, am.amname::text AS method \
                 FROM pg_catalog.pg_index i \
                 JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
                 JOIN pg_catalog.pg_am am ON am.oid = ic.relam \
                 JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN (SELECT DISTINCT conindid FROM pg_catalog.pg_constraint \
                            WHERE contype IN ('p', 'u')) k ON k.conindid = i.indexrelid \
                 WHERE n.nspname = ANY($1) \
                 ORDER BY i.indrelid, ic.relname",
            )
            .bind::<Array<Text>, _>(schemas.to_vec()),
        )?;
        for i in idx {
            let Some(t) = tables.get_mut(&i.rel) else {
                continue;
            };
            let mut exprs = i.expressions.unwrap_or_default().into_iter();
            let (columns, expressions) = i
                .keys
                .iter()
                .map(|k| match names.get(&(i.rel, *k)) {
                    Some(col) => (Some(col.clone()), col.clone()),
                    None => (None, exprs.next().unwrap_or_default()),
                })
                .unzip();
            t.indexes.push(Index {
                name: i.name,
                columns,
                expressions,
                unique: i.unique,
                primary: i.primary,
                constraint: i.constraint,
                predicate: i.predicate,
                method: i.method,
            });
        }

        let fields: Vec<FieldRow> = self.load(
            "composite type fields",
            diesel::sql_query(format!(
                "SELECT t.oid AS type_oid, a.attname::text AS name, a.atttypid AS field_type, \
                        a.atttypmod AS typmod, pg_catalog.format_type(a.atttypid, a.atttypmod) AS display \
                 FROM pg_catalog.pg_type t \
                 JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
                 JOIN pg_catalog.pg_class c ON c.oid = t.typrelid AND c.relkind = 'c' \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                 WHERE {USER_SCHEMAS} \
                 ORDER BY t.oid, a.attnum"
            )),
        )?;
        let labels: Vec<EnumRow> = self.load(
            "enum labels",
            diesel::sql_query(
                "SELECT e.enumtypid AS type_oid, e.enumlabel::text AS label FROM pg_catalog.pg_enum e \
                 ORDER BY e.enumtypid, e.enumsortorder",
            ),
        )?;

        let mut composite_fields: HashMap<u32, Vec<Field>> = HashMap::new();
        for f in fields {
            composite_fields.entry(f.type_oid).or_default().push(Field {
                sql_type: sql_type(&by_oid, f.field_type, f.typmod, Some(&f.display)),
                name: f.name,
            });
        }
        let mut enum_labels: HashMap<u32, Vec<String>> = HashMap::new();
        for l in labels {
            enum_labels.entry(l.type_oid).or_default().push(l.label);
        }
        let mut custom: BTreeMap<(String, String), CustomType> = BTreeMap::new();
        for t in &types {
            if matches!(t.schema.as_str(), "pg_catalog" | "information_schema") {
                continue;
            }
            let def = match t.kind.as_str() {
                "c" => match composite_fields.remove(&t.oid) {
                    Some(fields) => TypeDef::Composite { fields },
                    None => continue, // a table's row type
                },
                "e" => TypeDef::Enum {
                    labels: enum_labels.remove(&t.oid).unwrap_or_default(),
                },
                "d" => TypeDef::Domain {
                    base: sql_type(&by_oid, t.base, t.base_typmod, None),
                    not_null: t.not_null,
                    default: t.default_expr.clone(),
                },
                _ => continue,
            };
            custom.insert(
                (t.schema.clone(), t.name.clone()),
                CustomType {
                    schema: t.schema.clone(),
                    name: t.name.clone(),
                    def,
                    comment: t.comment.clone(),
                },
            );
        }

        let mut tables: Vec<Table> = tables.into_values().collect();
        tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
        if self.conn.is_query_service() {
            self.platform_keys(&mut tables);
        }
        let used = reachable_types(&tables, &custom);
        let types = custom
            .into_iter()
            .filter(|(k, _)| used.contains(k))
            .map(|(_, v)| v)
            .collect();
        Ok(SchemaModel {
            database,
            default_schema,
            schemas: schemas.to_vec(),
            tables,
            types,
        })
    }

    /// Query Service keeps Data Distiller's keys (`ALTER TABLE … ADD PRIMARY KEY … NOT ENFORCED`) out of
    /// the catalog; `SHOW PRIMARY KEYS` and `SHOW FOREIGN KEYS` list them. Tables the catalog gave no
    /// key get these, marked not enforced. A server that does not answer the commands leaves the
    /// model as it was (logged), since the keys are an extra.
    fn platform_keys(&mut self, tables: &mut [Table]) {
        self.queries += 1;
        match diesel::sql_query("SHOW PRIMARY KEYS").load::<PlatformPk>(self.conn) {
            Ok(rows) => {
                let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for r in rows {
                    keys.entry(r.table).or_default().push(r.column);
                }
                for t in tables.iter_mut().filter(|t| t.primary_key.is_none()) {
                    if let Some(columns) = keys.remove(&t.name) {
                        t.primary_key = Some(PrimaryKey {
                            name: format!("{}_pkey", t.name),
                            columns,
                            enforced: false,
                        });
                    }
                }
            }
            Err(e) => {
                log::info!("aep-diesel: SHOW PRIMARY KEYS failed ({e}); no Data Distiller keys")
            }
        }
        self.queries += 1;
        match diesel::sql_query("SHOW FOREIGN KEYS").load::<PlatformFk>(self.conn) {
            Ok(rows) => {
                let mut keys: BTreeMap<(String, String), (Vec<String>, Vec<String>)> =
                    BTreeMap::new();
                for r in rows {
                    let k = keys.entry((r.table, r.referenced_table)).or_default();
                    k.0.push(r.column);
                    k.1.push(r.referenced_column);
                }
                for ((table, referred), (columns, referred_columns)) in keys {
                    let Some(t) = tables.iter_mut().find(|t| t.name == table) else {
                        continue;
                    };
                    if t.foreign_keys.iter().any(|f| f.columns == columns) {
                        continue;
                    }
                    let referred_schema = t.schema.clone();
                    t.foreign_keys.push(ForeignKey {
                        name: format!("{table}_{}_fkey", columns.join("_")),
                        columns,
                        referred_schema,
                        referred_table: referred,
                        referred_columns,
                        on_update: "NO ACTION".into(),
                        on_delete: "NO ACTION".into(),
                        enforced: false,
                    });
                }
            }
            Err(e) => {
                log::info!("aep-diesel: SHOW FOREIGN KEYS failed ({e}); no Data Distiller keys")
            }
        }
    }

    /// Every type that can appear in a user column: built-ins and user types, without tables' row types
    /// and their arrays.
    fn types(&mut self) -> Result<Vec<TypeRow>> {
        self.load(
            "types",
            diesel::sql_query(format!(
                "SELECT t.oid, t.typname::text AS name, pg_catalog.format_type(t.oid, NULL) AS display, \
                        n.nspname::text AS schema, t.typtype::text AS kind, \
                        t.typcategory::text AS category, t.typelem AS elem, t.typbasetype AS base, \
                        t.typtypmod AS base_typmod, t.typnotnull AS not_null, \
                        pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS default_expr, d.description AS comment \
                 FROM pg_catalog.pg_type t \
                 JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
                 LEFT JOIN pg_catalog.pg_class rc ON rc.oid = t.typrelid \
                 LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A' \
                 LEFT JOIN pg_catalog.pg_class erc ON erc.oid = et.typrelid \
                 LEFT JOIN pg_catalog.pg_description d \
                   ON d.objoid = t.oid AND d.objsubid = 0 AND d.classoid = {PG_TYPE_OID} \
                 WHERE n.nspname <> 'pg_toast' \
                   AND (rc.oid IS NULL OR rc.relkind = 'c') AND (erc.oid IS NULL OR erc.relkind = 'c')"
            )),
        )
    }
}

fn fk_action(code: &str) -> String {
    match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .to_string()
}

/// Build a column/field type from its oid. Unknown oids (a type the catalog query did not return)
/// become a pseudo type named after the server's display text, so codegen sees them as unknown.
fn sql_type(
    types: &HashMap<u32, TypeRow>,
    oid: u32,
    typmod: i32,
    display: Option<&str>,
) -> SqlType {
    let display = display
        .map(str::to_string)
        .or_else(|| types.get(&oid).map(|t| t.display.clone()))
        .unwrap_or_default();
    let Some(t) = types.get(&oid) else {
        return SqlType {
            schema: String::new(),
            name: display.trim_end_matches("[]").to_string(),
            kind: TypeKind::Pseudo,
            array: display.ends_with("[]"),
            display,
            max_length: None,
        };
    };
    let (elem, array) = match types.get(&t.elem) {
        Some(e) if t.category == "A" => (e, true),
        _ => (t, false),
    };
    let kind = match elem.kind.as_str() {
        "c" => TypeKind::Composite,
        "e" => TypeKind::Enum,
        "d" => TypeKind::Domain,
        "r" | "m" => TypeKind::Range,
        "p" => TypeKind::Pseudo,
        _ => TypeKind::Base,
    };
    let max_length = match elem.name.as_str() {
        "varchar" | "bpchar" if typmod > 4 => Some(typmod - 4),
        _ => None,
    };
    SqlType {
        schema: elem.schema.clone(),
        name: elem.name.clone(),
        kind,
        array,
        display: if display.is_empty() {
            elem.name.clone()
        } else {
            display
        },
        max_length,
    }
}

/// The custom types reachable from the tables' columns, through composite fields, arrays and domains.
fn reachable_types(
    tables: &[Table],
    custom: &BTreeMap<(String, String), CustomType>,
) -> BTreeSet<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<(String, String)> = tables
        .iter()
        .flat_map(|t| &t.columns)
        .map(|c| (c.sql_type.schema.clone(), c.sql_type.name.clone()))
        .collect();
    while let Some(key) = stack.pop() {
        let Some(ct) = custom.get(&key) else { continue };
        if !seen.insert(key) {
            continue;
        }
        match &ct.def {
            TypeDef::Composite { fields } => stack.extend(
                fields
                    .iter()
                    .map(|f| (f.sql_type.schema.clone(), f.sql_type.name.clone())),
            ),
            TypeDef::Domain { base, .. } => stack.push((base.schema.clone(), base.name.clone())),
            TypeDef::Enum { .. } => {}
        }
    }
    seen
}

#[derive(QueryableByName)]
struct ViewSourceRow {
    #[diesel(sql_type = Oid)]
    oid: u32,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    def: Option<String>,
}

#[derive(QueryableByName)]
struct AttRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
}

/// A relation's columns with their nullability (`None`: not proven), by relation OID; `None` for a
/// relation that could not be read (or is being read: a cycle).
type ViewMemo = HashMap<u32, Option<Vec<(String, Option<bool>)>>>;

/// Views nested deeper than this are not followed (a view over a view over …).
const VIEW_DEPTH: usize = 16;

/// `name` as an SQL identifier, quoted.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Catalog<'_> {
    /// Fill [`Column::view_nullable`] of every (plain) view column in `model` whose nullability its view's
    /// definition proves (diesel's `experimental_infer_nullable_for_views`). Best effort: a view
    /// whose definition or sources cannot be read (a server without `pg_get_viewdef`, a view over
    /// something this does not follow) gets nothing inferred, never an error.
    pub fn infer_view_nullability(&mut self, model: &mut SchemaModel) {
        let mut memo: ViewMemo = HashMap::new();
        // plain views only: see `relation` on materialized ones
        for t in model
            .tables
            .iter_mut()
            .filter(|t| t.kind == TableKind::View)
        {
            let name = format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.name));
            let Some(cols) = self.relation(&name, 0, &mut memo) else {
                continue;
            };
            // the catalog's columns and the inferred ones must be the same list
            if cols.len() != t.columns.len()
                || cols.iter().zip(&t.columns).any(|((n, _), c)| *n != c.name)
            {
                continue;
            }
            for (c, (_, inferred)) in t.columns.iter_mut().zip(cols) {
                c.view_nullable = inferred;
            }
        }
    }

    /// The columns of the relation `regclass` names (as `to_regclass` resolves it, so through the
    /// search path when unqualified, as the view's definition means it): for a view, the inferred
    /// nullability; for anything else, the catalog's (`Some`). `None` when it cannot be read.
    fn relation(
        &mut self,
        regclass: &str,
        depth: usize,
        memo: &mut ViewMemo,
    ) -> Option<Vec<(String, Option<bool>)>> {
        let rel: ViewSourceRow = self
            .load(
                "a view's source",
                diesel::sql_query(
                    "SELECT c.oid, c.relkind::text AS kind, CASE WHEN c.relkind = 'v' \
                            THEN pg_catalog.pg_get_viewdef(c.oid, true) END AS def \
                     FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)",
                )
                .bind::<Text, _>(regclass.to_string()),
            )
            .map_err(|e| {
                log::warn!("aep-diesel: view nullability not inferred: reading {regclass}: {e}")
            })
            .ok()?
            .pop()?;
        if let Some(known) = memo.get(&rel.oid) {
            return known.clone();
        }
        // a cycle or a chain too deep: nothing inferred
        memo.insert(rel.oid, None);
        let atts: Vec<AttRow> = self
            .load(
                "a view's source columns",
                diesel::sql_query(
                    "SELECT a.attname::text AS name, a.attnotnull AS not_null \
                     FROM pg_catalog.pg_attribute a \
                     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
                     ORDER BY a.attnum",
                )
                .bind::<Oid, _>(rel.oid),
            )
            .map_err(|e| {
                log::warn!("aep-diesel: view nullability not inferred: columns of {regclass}: {e}")
            })
            .ok()?;
        let cols = match rel.def {
            // a materialized view holds what its query gave when last refreshed, which today's
            // constraints of its sources prove nothing about
            None if rel.kind == "m" => Some(atts.into_iter().map(|a| (a.name, None)).collect()),
            None => Some(
                atts.into_iter()
                    .map(|a| (a.name, Some(!a.not_null)))
                    .collect::<Vec<_>>(),
            ),
            Some(_) if depth >= VIEW_DEPTH => None,
            Some(def) => {
                let mut lookup = |schema: Option<&str>, name: &str| {
                    let regclass = match schema {
                        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(name)),
                        None => quote_ident(name),
                    };
                    self.relation(&regclass, depth + 1, memo).map(|cols| {
                        cols.into_iter()
                            .map(
                                |(name, nullable)| aep_diesel_schema::view_infer::SourceColumn {
                                    name,
                                    // not proven NOT NULL: may be NULL
                                    nullable: nullable.unwrap_or(true),
                                },
                            )
                            .collect()
                    })
                };
                aep_diesel_schema::view_infer::infer(&def, &mut lookup)
                    .filter(|inferred| inferred.len() == atts.len())
                    .map(|inferred| atts.into_iter().map(|a| a.name).zip(inferred).collect())
            }
        };
        memo.insert(rel.oid, cols.clone());
        cols
    }
}
