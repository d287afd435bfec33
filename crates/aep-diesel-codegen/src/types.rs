//! SQL types → Diesel SQL types and Rust types.

use aep_diesel_schema::{SqlType, TypeKind};

/// A Diesel SQL type expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sql {
    /// A type of `diesel::sql_types`, e.g. `Text`.
    Builtin(String),
    /// A marker in the generated `sql_types` module.
    Marker(String),
    /// `Array<Nullable<elem>>`.
    Array(Box<Sql>),
    /// `Nullable<inner>`.
    Nullable(Box<Sql>),
    /// A custom type named bare, defined by the user (print-schema's
    /// `except_custom_type_definitions`, `generate_missing_sql_type_definitions = false`).
    Foreign(String),
}

impl Sql {
    /// Render with `builtin` before diesel's types and `marker` before generated markers.
    pub fn render(&self, builtin: &str, marker: &str) -> String {
        match self {
            Sql::Builtin(t) => format!("{builtin}{t}"),
            Sql::Marker(t) => format!("{marker}{t}"),
            Sql::Foreign(t) => t.clone(),
            Sql::Array(e) => format!(
                "{builtin}Array<{builtin}Nullable<{}>>",
                e.render(builtin, marker)
            ),
            Sql::Nullable(i) => format!("{builtin}Nullable<{}>", i.render(builtin, marker)),
        }
    }

    pub fn markers(&self, out: &mut Vec<String>) {
        match self {
            Sql::Builtin(_) | Sql::Foreign(_) => {}
            Sql::Marker(m) => out.push(m.clone()),
            Sql::Array(e) | Sql::Nullable(e) => e.markers(out),
        }
    }
}

/// A Rust type expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rust {
    /// A path usable anywhere, e.g. `i32`, `chrono::NaiveDate`.
    Plain(String),
    /// A type of the generated `types` module.
    Custom(String),
    /// `Vec<Option<elem>>`.
    Vec(Box<Rust>),
}

impl Rust {
    /// The generated type this refers to, if any.
    pub fn custom(&self) -> Option<&str> {
        match self {
            Rust::Custom(n) => Some(n),
            Rust::Vec(e) => e.custom(),
            Rust::Plain(_) => None,
        }
    }

    /// Render with `custom` before generated types.
    pub fn render(&self, custom: &str) -> String {
        match self {
            Rust::Plain(t) => t.clone(),
            Rust::Custom(t) => format!("{custom}{t}"),
            Rust::Vec(e) => format!("Vec<Option<{}>>", e.render(custom)),
        }
    }
}

/// What a column's type maps to. `rust` is `None` when no Rust type is known: the column stays in the
/// `table!` (with a marker SQL type) but is left out of the model structs.
#[derive(Debug, Clone)]
pub(crate) struct Mapped {
    pub sql: Sql,
    pub rust: Option<Rust>,
    /// Whether values can be written (unknown types with a Rust type override are read-only).
    pub writable: bool,
    /// Diesel feature this type needs, if any beyond `postgres`.
    pub feature: Option<&'static str>,
    /// The Rust crate the type comes from, if any.
    pub krate: Option<&'static str>,
}

impl Mapped {
    /// `(Diesel SQL type, Rust type)` when both are plain: a built-in SQL type read as a plain Rust
    /// type, the only base a domain written as its own type can delegate to.
    pub fn plain(&self) -> Option<(&str, &str)> {
        match (&self.sql, &self.rust) {
            (Sql::Builtin(sql), Some(Rust::Plain(rust))) => Some((sql, rust)),
            _ => None,
        }
    }
}

/// A built-in type aep-diesel maps: (pg_type name, diesel SQL type, Rust type, diesel feature, crate).
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const BUILTINS: &[Builtin] = &[
    ("bool", "Bool", "bool", None, None),
    ("int2", "Int2", "i16", None, None),
    ("int4", "Int4", "i32", None, None),
    ("int8", "Int8", "i64", None, None),
    ("float4", "Float4", "f32", None, None),
    ("float8", "Float8", "f64", None, None),
    (
        "numeric",
        "Numeric",
        "bigdecimal::BigDecimal",
        Some("numeric"),
        Some("bigdecimal"),
    ),
    ("text", "Text", "String", None, None),
    ("varchar", "Varchar", "String", None, None),
    ("bpchar", "Bpchar", "String", None, None),
    ("name", "Text", "String", None, None),
    ("char", "CChar", "u8", None, None),
    ("bytea", "Bytea", "Vec<u8>", None, None),
    (
        "date",
        "Date",
        "chrono::NaiveDate",
        Some("chrono"),
        Some("chrono"),
    ),
    (
        "time",
        "Time",
        "chrono::NaiveTime",
        Some("chrono"),
        Some("chrono"),
    ),
    (
        "timestamp",
        "Timestamp",
        "chrono::NaiveDateTime",
        Some("chrono"),
        Some("chrono"),
    ),
    (
        "timestamptz",
        "Timestamptz",
        "chrono::DateTime<chrono::Utc>",
        Some("chrono"),
        Some("chrono"),
    ),
    (
        "interval",
        "Interval",
        "diesel::pg::data_types::PgInterval",
        None,
        None,
    ),
    ("uuid", "Uuid", "uuid::Uuid", Some("uuid"), Some("uuid")),
    (
        "json",
        "Json",
        "serde_json::Value",
        Some("serde_json"),
        Some("serde_json"),
    ),
    (
        "jsonb",
        "Jsonb",
        "serde_json::Value",
        Some("serde_json"),
        Some("serde_json"),
    ),
    (
        "money",
        "Money",
        "diesel::pg::data_types::PgMoney",
        None,
        None,
    ),
    ("oid", "Oid", "u32", None, None),
    (
        "inet",
        "Inet",
        "ipnetwork::IpNetwork",
        Some("network-address"),
        Some("ipnetwork"),
    ),
    (
        "cidr",
        "Cidr",
        "ipnetwork::IpNetwork",
        Some("network-address"),
        Some("ipnetwork"),
    ),
    (
        "macaddr",
        "MacAddr",
        "[u8; 6]",
        Some("network-address"),
        None,
    ),
    (
        "int4range",
        "Int4range",
        "(std::ops::Bound<i32>, std::ops::Bound<i32>)",
        None,
        None,
    ),
    (
        "int8range",
        "Int8range",
        "(std::ops::Bound<i64>, std::ops::Bound<i64>)",
        None,
        None,
    ),
    (
        "numrange",
        "Numrange",
        "(std::ops::Bound<bigdecimal::BigDecimal>, std::ops::Bound<bigdecimal::BigDecimal>)",
        Some("numeric"),
        Some("bigdecimal"),
    ),
    (
        "daterange",
        "Daterange",
        "(std::ops::Bound<chrono::NaiveDate>, std::ops::Bound<chrono::NaiveDate>)",
        Some("chrono"),
        Some("chrono"),
    ),
    (
        "tsrange",
        "Tsrange",
        "(std::ops::Bound<chrono::NaiveDateTime>, std::ops::Bound<chrono::NaiveDateTime>)",
        Some("chrono"),
        Some("chrono"),
    ),
    (
        "tstzrange",
        "Tstzrange",
        "(std::ops::Bound<chrono::DateTime<chrono::Utc>>, std::ops::Bound<chrono::DateTime<chrono::Utc>>)",
        Some("chrono"),
        Some("chrono"),
    ),
];

/// Look up a built-in type by its `pg_type` name.
pub(crate) fn builtin(
    name: &str,
) -> Option<(
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
)> {
    BUILTINS
        .iter()
        .find(|b| b.0 == name)
        .map(|&(_, sql, rust, feature, krate)| (sql, rust, feature, krate))
}

/// How a custom or unknown type is represented (decided once per type by the planner).
#[derive(Debug, Clone)]
pub(crate) enum Named {
    /// A composite or enum: marker and Rust type share `name`.
    Generated { name: String },
    /// A domain over another type.
    Domain { base: SqlType },
    /// A type without a known Rust type: a marker, and a Rust type only if configured.
    Unknown {
        marker: String,
        rust: Option<String>,
    },
    /// A domain written as its own type (`pg_domains_as_custom_types`): a marker, read and written
    /// as the base type's Rust type.
    DomainMarker { marker: String, base: SqlType },
    /// A domain written as Diesel's type of its name (print-schema's rule for, e.g., `longtext`).
    DomainBuiltin { sql: String, base: SqlType },
    /// A type the user defines: named bare, no Rust type.
    Undefined { name: String },
}

/// The names print-schema takes as Diesel's own types (its `pg_diesel_types` and
/// `common_diesel_types`): a custom type of such a name gets no marker.
const DIESEL_TYPE_NAMES: &[&str] = &[
    "Bool",
    "Integer",
    "SmallInt",
    "BigInt",
    "Binary",
    "Text",
    "Double",
    "Float",
    "Numeric",
    "Timestamp",
    "Date",
    "Time",
    "Float4",
    "Smallint",
    "Int2",
    "Int4",
    "Int8",
    "Bigint",
    "Float8",
    "Decimal",
    "VarChar",
    "Varchar",
    "Char",
    "Tinytext",
    "Mediumtext",
    "Longtext",
    "Tinyblob",
    "Blob",
    "Mediumblob",
    "Longblob",
    "Varbinary",
    "Bit",
    "Cidr",
    "Citext",
    "Inet",
    "Jsonb",
    "MacAddr",
    "MacAddr8",
    "Money",
    "Oid",
    "Range",
    "Timestamptz",
    "Uuid",
    "Json",
    "PgLsn",
    "Record",
    "Interval",
    "Int4range",
    "Int8range",
    "Daterange",
    "Numrange",
    "Tsrange",
    "Tstzrange",
    "Int4multirange",
    "Int8multirange",
    "Datemultirange",
    "Nummultirange",
    "Tsmultirange",
    "Tstzmultirange",
    "SmallSerial",
    "BigSerial",
    "Serial",
    "Bytea",
    "Bpchar",
    "Macaddr",
    "Macaddr8",
];

/// Whether print-schema takes `name` for one of Diesel's own types.
pub(crate) fn is_diesel_type_name(name: &str) -> bool {
    DIESEL_TYPE_NAMES.contains(&name)
}

/// Whether two names of `diesel::sql_types` are the same type (Diesel's aliases: `Longtext` is
/// `Text`, `Integer` is `Int4`, …).
pub(crate) fn same_diesel_type(a: &str, b: &str) -> bool {
    fn canonical(t: &str) -> &str {
        match t {
            "Tinytext" | "Mediumtext" | "Longtext" | "VarChar" | "Varchar" => "Text",
            "Integer" | "Serial" => "Int4",
            "SmallInt" | "Smallint" | "SmallSerial" => "Int2",
            "BigInt" | "Bigint" | "BigSerial" => "Int8",
            "Float" => "Float4",
            "Double" => "Float8",
            "Decimal" => "Numeric",
            "Bytea" | "Tinyblob" | "Blob" | "Mediumblob" | "Longblob" | "Varbinary" | "Bit" => {
                "Binary"
            }
            "MacAddr" => "Macaddr",
            "MacAddr8" => "Macaddr8",
            other => other,
        }
    }
    canonical(a) == canonical(b)
}

/// Map `t` (nullability applied by the caller). `lookup` resolves custom and unknown types.
pub(crate) fn map(t: &SqlType, lookup: &dyn Fn(&SqlType) -> Option<Named>) -> Mapped {
    map_depth(t, lookup, 0)
}

fn map_depth(t: &SqlType, lookup: &dyn Fn(&SqlType) -> Option<Named>, depth: usize) -> Mapped {
    let elem = map_elem(t, lookup, depth);
    if t.array {
        Mapped {
            sql: Sql::Array(Box::new(elem.sql)),
            rust: elem.rust.map(|r| Rust::Vec(Box::new(r))),
            ..elem
        }
    } else {
        elem
    }
}

/// The citext extension's type, wherever the extension went: Diesel's `Citext`.
pub(crate) fn is_citext(t: &SqlType) -> bool {
    t.kind == TypeKind::Base && t.name == "citext"
}

fn map_elem(t: &SqlType, lookup: &dyn Fn(&SqlType) -> Option<Named>, depth: usize) -> Mapped {
    // Diesel's `Citext` is looked up by name, as print-schema writes it.
    if is_citext(t) {
        return Mapped {
            sql: Sql::Builtin("Citext".to_string()),
            rust: Some(Rust::Plain("String".to_string())),
            writable: true,
            feature: None,
            krate: None,
        };
    }
    if t.kind == TypeKind::Base && t.is_builtin() {
        if let Some((sql, rust, feature, krate)) = builtin(&t.name) {
            return Mapped {
                sql: Sql::Builtin(sql.to_string()),
                rust: Some(Rust::Plain(rust.to_string())),
                writable: true,
                feature,
                krate,
            };
        }
    }
    match lookup(t) {
        Some(Named::Generated { name }) => Mapped {
            sql: Sql::Marker(name.clone()),
            rust: Some(Rust::Custom(name)),
            writable: true,
            feature: None,
            krate: None,
        },
        // A domain is its base type on the wire (a domain over an array is an array).
        Some(Named::Domain { base }) if depth < 8 => map_depth(&base, lookup, depth + 1),
        Some(Named::DomainMarker { marker, base }) if depth < 8 => {
            let b = map_depth(&base, lookup, depth + 1);
            // values travel as the base type's (aep_diesel::domain_type!)
            let rust = b.plain().map(|(_, r)| Rust::Plain(r.to_string()));
            Mapped {
                sql: Sql::Marker(marker),
                writable: b.writable && rust.is_some(),
                rust,
                ..b
            }
        }
        Some(Named::DomainBuiltin { sql, base }) if depth < 8 => Mapped {
            sql: Sql::Builtin(sql),
            ..map_depth(&base, lookup, depth + 1)
        },
        Some(Named::Undefined { name }) => Mapped {
            sql: Sql::Foreign(name),
            rust: None,
            writable: false,
            feature: None,
            krate: None,
        },
        Some(Named::Unknown { marker, rust }) => Mapped {
            sql: Sql::Marker(marker),
            writable: false,
            rust: rust.map(Rust::Plain),
            feature: None,
            krate: None,
        },
        _ => Mapped {
            sql: Sql::Marker(super::naming::pascal(&t.name)),
            rust: None,
            writable: false,
            feature: None,
            krate: None,
        },
    }
}
