//! The introspected schema of a PostgreSQL-wire database as plain data: no I/O, serialisable to and
//! from JSON.
//!
//! `aep-diesel`'s Inspector reads a [`SchemaModel`] from a live database (`aep-diesel inspect --json`
//! saves one); `aep-diesel-codegen` turns one into Rust source. Keeping it in its own small crate lets a
//! `build.rs` generate code from a saved model without compiling libpq or Diesel.
//!
//! ```
//! use aep_diesel_schema::SchemaModel;
//! let model = SchemaModel::from_json(r#"{"database":"prod:all","default_schema":"public",
//!     "schemas":["public"],"tables":[],"types":[]}"#)?;
//! assert_eq!(model.database, "prod:all");
//! assert_eq!(SchemaModel::from_json(&model.to_json())?, model);
//! # Ok::<(), serde_json::Error>(())
//! ```
#![warn(missing_docs)]
#![deny(unsafe_code)]

use regex::Regex;
use serde::{Deserialize, Serialize};
pub mod view_infer;

/// Everything an introspection read (`aep_diesel::inspect::Inspector::reflect`): tables, views and their columns,
/// keys, indexes and constraints, and the custom types they use. Ordered deterministically (by schema,
/// then name; columns by position), so the same database always gives the same model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SchemaModel {
    /// The database the model was read from.
    pub database: String,
    /// The connection's default schema (`current_schema()`, usually `public`).
    pub default_schema: String,
    /// The reflected schemas.
    pub schemas: Vec<String>,
    /// Tables, views, materialized views and foreign tables.
    pub tables: Vec<Table>,
    /// Composite, enum and domain types used by the tables (or all of them in the schemas).
    pub types: Vec<CustomType>,
}

/// What kind of relation a [`Table`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TableKind {
    /// An ordinary table (also what each Query Service dataset looks like).
    Table,
    /// A partitioned table.
    PartitionedTable,
    /// A view.
    View,
    /// A materialized view.
    MaterializedView,
    /// A foreign table.
    ForeignTable,
}

impl TableKind {
    /// Base tables (ordinary or partitioned): the ones SQLAlchemy's `get_table_names` lists.
    pub fn is_base_table(self) -> bool {
        matches!(self, TableKind::Table | TableKind::PartitionedTable)
    }
    /// Views and materialized views, which take no writes.
    pub fn is_view(self) -> bool {
        matches!(self, TableKind::View | TableKind::MaterializedView)
    }
    /// The kind of a `pg_class.relkind` code (`r`, `p`, `v`, `m`, `f`); `None` for other relations.
    pub fn from_relkind(k: &str) -> Option<Self> {
        Some(match k {
            "r" => TableKind::Table,
            "p" => TableKind::PartitionedTable,
            "v" => TableKind::View,
            "m" => TableKind::MaterializedView,
            "f" => TableKind::ForeignTable,
            _ => return None,
        })
    }
}

fn kind_word(kind: TableKind) -> &'static str {
    match kind {
        TableKind::View => "view",
        TableKind::MaterializedView => "materialized view",
        TableKind::ForeignTable => "foreign table",
        _ => "table",
    }
}

fn table_differences(what: &str, a: &Table, b: &Table, out: &mut Vec<String>) {
    if a.kind != b.kind {
        out.push(format!("{what}: now a {}", kind_word(b.kind)));
    }
    for c in &a.columns {
        match b.column(&c.name) {
            None => out.push(format!("{what}: column {} only here", c.name)),
            Some(d) => {
                if c.sql_type != d.sql_type {
                    out.push(format!(
                        "{what}: column {} is {} here, {} there",
                        c.name, c.sql_type.display, d.sql_type.display
                    ));
                }
                if c.view_nullable != d.view_nullable {
                    out.push(format!(
                        "{what}: column {} has another inferred nullability",
                        c.name
                    ));
                }
                if c.nullable != d.nullable {
                    let n = |x: bool| if x { "nullable" } else { "NOT NULL" };
                    out.push(format!(
                        "{what}: column {} is {} here, {} there",
                        c.name,
                        n(c.nullable),
                        n(d.nullable)
                    ));
                }
                if (&c.default, &c.identity, &c.generated)
                    != (&d.default, &d.identity, &d.generated)
                {
                    out.push(format!("{what}: column {} default differs", c.name));
                }
            }
        }
    }
    for d in &b.columns {
        if a.column(&d.name).is_none() {
            out.push(format!("{what}: column {} only there", d.name));
        }
    }
    let names: Vec<&str> = a.columns.iter().map(|c| c.name.as_str()).collect();
    let same_set = names.len() == b.columns.len()
        && b.columns.iter().all(|c| names.contains(&c.name.as_str()));
    if same_set
        && a.columns
            .iter()
            .zip(&b.columns)
            .any(|(c, d)| c.name != d.name)
    {
        out.push(format!("{what}: column order differs"));
    }
    if a.primary_key != b.primary_key {
        out.push(format!("{what}: primary key differs"));
    }
    if a.foreign_keys != b.foreign_keys {
        out.push(format!("{what}: foreign keys differ"));
    }
    if a.indexes != b.indexes || a.unique_constraints != b.unique_constraints {
        out.push(format!("{what}: indexes or unique constraints differ"));
    }
    if a.check_constraints != b.check_constraints {
        out.push(format!("{what}: check constraints differ"));
    }
    if a.comment != b.comment
        || a.columns
            .iter()
            .zip(&b.columns)
            .any(|(c, d)| c.comment != d.comment)
    {
        out.push(format!("{what}: comments differ"));
    }
}

/// A table-like relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Schema name.
    pub schema: String,
    /// Relation name, exactly as in the catalog.
    pub name: String,
    /// Table, view, …
    pub kind: TableKind,
    /// `COMMENT ON TABLE`, if any.
    pub comment: Option<String>,
    /// Columns in position order.
    pub columns: Vec<Column>,
    /// The declared primary key.
    pub primary_key: Option<PrimaryKey>,
    /// Foreign keys, by name.
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes, by name.
    pub indexes: Vec<Index>,
    /// Unique constraints, by name.
    pub unique_constraints: Vec<UniqueConstraint>,
    /// Check constraints, by name.
    pub check_constraints: Vec<CheckConstraint>,
}

impl Table {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name, exactly as in the catalog.
    pub name: String,
    /// 1-based position in the table.
    pub ordinal: i16,
    /// The column's type.
    pub sql_type: SqlType,
    /// Whether NULL is allowed (`NOT NULL` absent).
    pub nullable: bool,
    /// The default expression, as the server prints it.
    pub default: Option<String>,
    /// `GENERATED … AS IDENTITY`.
    pub identity: Option<Identity>,
    /// `GENERATED ALWAYS AS (expr) STORED`: the expression.
    pub generated: Option<String>,
    /// `COMMENT ON COLUMN`, if any.
    pub comment: Option<String>,
    /// For a view column reflected with [`Filter::infer_view_nullability`]: whether it may be NULL
    /// as inferred from the view's definition (`Some(false)`: proven NOT NULL); `None` when not
    /// inferred. `nullable` stays the catalog's answer, which for a view column is always true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_nullable: Option<bool>,
}

impl Column {
    /// True when the server fills the column on insert (identity, generated, `serial` or any default),
    /// so an insert may leave it out.
    pub fn server_filled(&self) -> bool {
        self.identity.is_some() || self.generated.is_some() || self.default.is_some()
    }
    /// Whether the column can never be written (identity ALWAYS or generated).
    pub fn read_only(&self) -> bool {
        self.generated.is_some() || self.identity == Some(Identity::Always)
    }
    /// True when the default is `nextval(...)` (`serial` columns), SQLAlchemy's autoincrement.
    pub fn autoincrement(&self) -> bool {
        self.identity.is_some()
            || self
                .default
                .as_deref()
                .is_some_and(|d| d.starts_with("nextval("))
    }
}

/// Identity columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// `GENERATED ALWAYS AS IDENTITY`: the server always assigns.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`: the server assigns unless given.
    ByDefault,
}

/// The kind of a PostgreSQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TypeKind {
    /// A built-in or extension base type (`int4`, `text`, `jsonb`, `uuid`, …).
    Base,
    /// A composite (row) type: an XDM object on Query Service.
    Composite,
    /// An enum.
    Enum,
    /// A domain over another type.
    Domain,
    /// A range or multirange type.
    Range,
    /// A pseudo-type (`anyarray`, Query Service's `anymap`, …): no fixed wire format.
    Pseudo,
}

/// A column's (or a composite field's) type. For arrays, `schema`, `name` and `kind` describe the
/// element type and `array` is true.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SqlType {
    /// Schema of the (element) type.
    pub schema: String,
    /// `pg_type.typname` of the (element) type, e.g. `int4`, `varchar`, `web_webreferrer`.
    pub name: String,
    /// Base, composite, enum, …
    pub kind: TypeKind,
    /// Whether this is an array of the type.
    pub array: bool,
    /// The type as the server prints it (`format_type`), e.g. `character varying(100)`, `text[]`.
    pub display: String,
    /// Declared length of `varchar(n)` / `char(n)`.
    pub max_length: Option<i32>,
}

impl SqlType {
    /// Whether the element type lives in `pg_catalog`.
    pub fn is_builtin(&self) -> bool {
        self.schema == "pg_catalog"
    }
}

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// Constraint name.
    pub name: String,
    /// Columns in key order.
    pub columns: Vec<String>,
    /// False for a key the server declares but does not enforce (Query Service's Data Distiller keys,
    /// read with `SHOW PRIMARY KEYS`): rows are not checked for uniqueness.
    #[serde(default = "enforced", skip_serializing_if = "is_enforced")]
    pub enforced: bool,
}

fn enforced() -> bool {
    true
}

fn is_enforced(b: &bool) -> bool {
    *b
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Constraint name.
    pub name: String,
    /// Referencing columns, in order.
    pub columns: Vec<String>,
    /// Schema of the referenced table.
    pub referred_schema: String,
    /// The referenced table.
    pub referred_table: String,
    /// Referenced columns, in order.
    pub referred_columns: Vec<String>,
    /// `ON UPDATE` action (`NO ACTION`, `CASCADE`, …).
    pub on_update: String,
    /// `ON DELETE` action.
    pub on_delete: String,
    /// False for a key the server declares but does not enforce (Data Distiller's
    /// `ADD FOREIGN KEY … NOT ENFORCED`, read with `SHOW FOREIGN KEYS`).
    #[serde(default = "enforced", skip_serializing_if = "is_enforced")]
    pub enforced: bool,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Index name.
    pub name: String,
    /// Key columns in order; `None` for an expression.
    pub columns: Vec<Option<String>>,
    /// Every key in order as text: the column name, or the expression (SQLAlchemy's `expressions`).
    pub expressions: Vec<String>,
    /// Whether the index is unique.
    pub unique: bool,
    /// Whether it backs the primary key.
    pub primary: bool,
    /// Whether it backs a unique or primary key constraint.
    pub constraint: bool,
    /// Partial index predicate.
    pub predicate: Option<String>,
    /// Access method (`btree`, `gin`, …).
    pub method: String,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueConstraint {
    /// Constraint name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<String>,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConstraint {
    /// Constraint name.
    pub name: String,
    /// The expression inside `CHECK (…)`.
    pub expression: String,
}

/// A user-defined type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomType {
    /// Schema name.
    pub schema: String,
    /// Type name.
    pub name: String,
    /// What it is.
    pub def: TypeDef,
    /// `COMMENT ON TYPE`, if any.
    pub comment: Option<String>,
}

/// The definition of a [`CustomType`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TypeDef {
    /// A composite type and its fields in order.
    Composite {
        /// Fields in order.
        fields: Vec<Field>,
    },
    /// An enum and its labels in sort order.
    Enum {
        /// Labels in sort order.
        labels: Vec<String>,
    },
    /// A domain over `base`.
    Domain {
        /// The underlying type.
        base: SqlType,
        /// `NOT NULL` on the domain.
        not_null: bool,
        /// Domain default.
        default: Option<String>,
    },
}

/// A field of a composite type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Field type.
    pub sql_type: SqlType,
}

impl SchemaModel {
    /// The table (or view) `name` in `schema` (default schema when `None`).
    pub fn table(&self, name: &str, schema: Option<&str>) -> Option<&Table> {
        let schema = schema.unwrap_or(&self.default_schema);
        self.tables
            .iter()
            .find(|t| t.name == name && t.schema == schema)
    }

    /// The custom type `name` in `schema`.
    pub fn custom_type(&self, schema: &str, name: &str) -> Option<&CustomType> {
        self.types
            .iter()
            .find(|t| t.name == name && t.schema == schema)
    }

    /// The custom type a column type refers to, if any.
    pub fn type_of(&self, t: &SqlType) -> Option<&CustomType> {
        self.custom_type(&t.schema, &t.name)
    }

    /// Names of relations of the given kinds in `schema` (all schemas when `None`), sorted.
    pub fn names(&self, schema: Option<&str>, kinds: &[TableKind]) -> Vec<String> {
        self.tables
            .iter()
            .filter(|t| schema.is_none_or(|s| t.schema == s) && kinds.contains(&t.kind))
            .map(|t| t.name.clone())
            .collect()
    }

    /// How `other` (say, a fresh read of the database) differs from this model (say, a saved
    /// `schema.json`), one line per difference, in a stable order; empty when they describe the
    /// same schema. The database name is not compared, so a model saved from one sandbox can be
    /// checked against another with the same datasets.
    pub fn differences(&self, other: &SchemaModel) -> Vec<String> {
        use std::collections::BTreeMap;
        let mut out = Vec::new();
        if self.default_schema != other.default_schema {
            out.push(format!(
                "default schema: {:?} here, {:?} there",
                self.default_schema, other.default_schema
            ));
        }
        let key = |t: &Table| (t.schema.clone(), t.name.clone());
        let ours: BTreeMap<_, &Table> = self.tables.iter().map(|t| (key(t), t)).collect();
        let theirs: BTreeMap<_, &Table> = other.tables.iter().map(|t| (key(t), t)).collect();
        for ((schema, name), a) in &ours {
            let what = format!("{} {schema}.{name}", kind_word(a.kind));
            let Some(b) = theirs.get(&(schema.clone(), name.clone())) else {
                out.push(format!("{what}: only here"));
                continue;
            };
            table_differences(&what, a, b, &mut out);
        }
        for ((schema, name), b) in &theirs {
            if !ours.contains_key(&(schema.clone(), name.clone())) {
                out.push(format!("{} {schema}.{name}: only there", kind_word(b.kind)));
            }
        }
        let tkey = |t: &CustomType| (t.schema.clone(), t.name.clone());
        let ours: BTreeMap<_, &CustomType> = self.types.iter().map(|t| (tkey(t), t)).collect();
        let theirs: BTreeMap<_, &CustomType> = other.types.iter().map(|t| (tkey(t), t)).collect();
        for (k, a) in &ours {
            match theirs.get(k) {
                None => out.push(format!("type {}.{}: only here", k.0, k.1)),
                Some(b) if a.def != b.def => {
                    out.push(format!("type {}.{}: definition differs", k.0, k.1))
                }
                Some(_) => {}
            }
        }
        for k in theirs.keys().filter(|k| !ours.contains_key(*k)) {
            out.push(format!("type {}.{}: only there", k.0, k.1));
        }
        out
    }

    /// The model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("SchemaModel serialises")
    }

    /// A model from JSON written by [`SchemaModel::to_json`].
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// Which relations an introspection reads (`aep_diesel::inspect::Inspector::reflect`) and which a
/// generator keeps from a saved model: schemas, anchored name patterns, and whether views count.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Filter {
    schemas: Vec<String>,
    only: Vec<Regex>,
    except: Vec<Regex>,
    views: Option<bool>,
    infer_views: bool,
}

impl Filter {
    /// Everything in the default schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read `schema` (repeat for several). Default: the connection's default schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schemas.push(schema.into());
        self
    }

    /// Keep only relations whose name matches one of these regular expressions (anchored: the whole
    /// name must match), like diesel's `only_tables`. Default: all.
    pub fn only_tables<I, S>(mut self, patterns: I) -> Result<Self, PatternError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.only.extend(compile_patterns(patterns, "only_tables")?);
        Ok(self)
    }

    /// Leave out relations whose name matches one of these (anchored) regular expressions, like
    /// diesel's `except_tables`. Default: none.
    pub fn except_tables<I, S>(mut self, patterns: I) -> Result<Self, PatternError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.except
            .extend(compile_patterns(patterns, "except_tables")?);
        Ok(self)
    }

    /// Include views and materialized views. Default: yes.
    pub fn views(mut self, on: bool) -> Self {
        self.views = Some(on);
        self
    }

    /// Also infer the nullability of view columns from the views' definitions
    /// ([`Column::view_nullable`]; diesel's `experimental_infer_nullable_for_views`). Costs a few
    /// catalog queries per view; best effort: a view that cannot be read gets nothing inferred.
    /// Default: false.
    pub fn infer_view_nullability(mut self, on: bool) -> Self {
        self.infer_views = on;
        self
    }

    /// Whether view nullability is to be inferred.
    pub fn infers_view_nullability(&self) -> bool {
        self.infer_views
    }

    /// The schemas asked for (empty: the connection's default schema).
    pub fn schemas(&self) -> &[String] {
        &self.schemas
    }

    /// Whether `t` passes this filter (schema, name and kind).
    pub fn keeps_table(&self, t: &Table) -> bool {
        (self.schemas.is_empty() || self.schemas.contains(&t.schema)) && self.keeps(&t.name, t.kind)
    }

    /// Whether a relation called `name` of `kind` passes the name and kind tests (not the schema).
    pub fn keeps(&self, name: &str, kind: TableKind) -> bool {
        if kind.is_view() && self.views == Some(false) {
            return false;
        }
        (self.only.is_empty() || self.only.iter().any(|r| r.is_match(name)))
            && !self.except.iter().any(|r| r.is_match(name))
    }
}

/// A table-name pattern that is not a valid regular expression.
#[derive(Debug, Clone)]
pub struct PatternError {
    /// The setting it was given for (`only_tables`, `except_tables`, `read_only_tables`).
    pub setting: &'static str,
    /// The pattern as written.
    pub pattern: String,
    /// What the regex parser said.
    pub source: regex::Error,
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {:?} is not a valid regular expression",
            self.setting, self.pattern
        )
    }
}

impl std::error::Error for PatternError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Compile anchored name patterns (the whole name must match), as diesel's `only_tables` does.
pub fn compile_patterns<I, S>(
    patterns: I,
    setting: &'static str,
) -> Result<Vec<Regex>, PatternError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    patterns
        .into_iter()
        .map(|p| {
            let p = p.as_ref();
            Regex::new(&format!("^(?:{p})$")).map_err(|source| PatternError {
                setting,
                pattern: p.to_string(),
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, ty: &str, nullable: bool) -> Column {
        Column {
            name: name.into(),
            ordinal: 1,
            sql_type: SqlType {
                schema: "pg_catalog".into(),
                name: ty.into(),
                kind: TypeKind::Base,
                array: false,
                display: ty.into(),
                max_length: None,
            },
            nullable,
            default: None,
            identity: None,
            generated: None,
            comment: None,
            view_nullable: None,
        }
    }

    fn model() -> SchemaModel {
        SchemaModel {
            database: "prod:all".into(),
            default_schema: "public".into(),
            schemas: vec!["public".into()],
            tables: vec![Table {
                schema: "public".into(),
                name: "events".into(),
                kind: TableKind::Table,
                comment: None,
                columns: vec![column("_id", "text", true), column("n", "int4", true)],
                primary_key: None,
                foreign_keys: vec![],
                indexes: vec![],
                unique_constraints: vec![],
                check_constraints: vec![],
            }],
            types: vec![],
        }
    }

    #[test]
    fn differences_name_what_changed() {
        let saved = model();
        let mut live = model();
        live.database = "dev:all".into();
        assert_eq!(saved.differences(&live), Vec::<String>::new());
        live.tables[0].columns[1] = column("n", "int8", false);
        live.tables[0].columns.push(column("extra", "text", true));
        let mut other = saved.tables[0].clone();
        other.name = "profiles".into();
        live.tables.push(other);
        assert_eq!(
            saved.differences(&live),
            [
                "table public.events: column n is int4 here, int8 there",
                "table public.events: column n is nullable here, NOT NULL there",
                "table public.events: column extra only there",
                "table public.profiles: only there",
            ]
        );
        assert_eq!(
            live.differences(&saved)[3],
            "table public.profiles: only here"
        );
        // an inferred view nullability that no longer holds is a difference too
        let mut inferred = model();
        inferred.tables[0].columns[0].view_nullable = Some(false);
        assert_eq!(
            model().differences(&inferred),
            ["table public.events: column _id has another inferred nullability"]
        );
    }
}
