//! One module per table or view. It only declares: a row struct (`Queryable`, `Selectable`), an
//! insert struct and a changes struct, and the `aep_diesel::model` impls naming the table, the key
//! and the columns. Reading and writing live in the library traits (`Read`, `KeyedRead`, `Write`),
//! compiled only for the models a program calls them on.

use std::fmt::Write;

use super::layout;
use super::naming::{doc_line, lit};
use super::{ColPlan, HEADER, KeySource, Plan, TablePlan};

/// How model files name the generated Rust types (`use super::types;` when needed).
const TYPES: &str = "types::";

fn field_docs(c: &ColPlan<'_>, with_docs: bool, s: &mut String) {
    if with_docs {
        if let Some(comment) = &c.c.comment {
            for line in comment.lines() {
                writeln!(s, "    /// {}", doc_line(line)).unwrap();
            }
        }
    }
}

/// Columns an insert may set, with the field type: `None` in an `Option` lets the server fill it.
fn insert_fields<'p>(t: &'p TablePlan<'_>) -> Vec<(&'p ColPlan<'p>, String)> {
    t.cols
        .iter()
        .filter(|c| !c.c.read_only() && c.mapped.writable && c.mapped.rust.is_some())
        .map(|c| {
            let inner = c.rust_inner(TYPES).expect("known type");
            let ty = if c.nullable || c.c.server_filled() {
                format!("Option<{inner}>")
            } else {
                inner
            };
            (c, ty)
        })
        .collect()
}

/// Columns an update may change: `None` leaves a column alone; `Some(None)` sets a nullable one to NULL.
fn change_fields<'p>(t: &'p TablePlan<'_>, key: usize) -> Vec<(&'p ColPlan<'p>, String)> {
    t.cols
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            *i != key && !c.c.read_only() && c.mapped.writable && c.mapped.rust.is_some()
        })
        .map(|(_, c)| {
            let inner = c.rust_inner(TYPES).expect("known type");
            let ty = if c.nullable {
                format!("Option<Option<{inner}>>")
            } else {
                format!("Option<{inner}>")
            };
            (c, ty)
        })
        .collect()
}

fn derive_line(derives: &str, s: &mut String) {
    s.push_str(&layout::derive_attr(derives, ""));
}

/// Rust types whose values are `Copy`: the key getter returns them without `clone()`.
fn is_copy(ty: &str) -> bool {
    matches!(
        ty,
        "i16"
            | "i32"
            | "i64"
            | "f32"
            | "f64"
            | "bool"
            | "u8"
            | "uuid::Uuid"
            | "chrono::NaiveDate"
            | "chrono::NaiveTime"
            | "chrono::NaiveDateTime"
            | "chrono::DateTime<chrono::Utc>"
    )
}

/// The single key column that proves a row's identity, if the relation has one: a declared primary
/// key, a Data Distiller key, a configured key or a unique index on a NOT NULL column. A column that
/// is merely called `_id` or `id` is no such proof.
pub(crate) fn proven_key(t: &TablePlan<'_>) -> Option<usize> {
    match &t.key {
        Some((cols, src)) if cols.len() == 1 => match src {
            KeySource::PrimaryKey
            | KeySource::PlatformKey
            | KeySource::Config
            | KeySource::UniqueIndex => Some(cols[0]),
            KeySource::UnderscoreId | KeySource::Id => None,
        },
        _ => None,
    }
}

pub(crate) fn render(plan: &Plan<'_>, t: &TablePlan<'_>) -> String {
    let mut s = String::with_capacity(4 * 1024);
    let table = plan.schema_path(&t.ident);
    let (name, new_name, changes_name) = (&t.strukt, &t.new_name, &t.changes_name);
    let key = proven_key(t);
    let writable = t.writable();
    let blocker = t
        .cols
        .iter()
        .find(|c| c.blocks_inserts())
        .filter(|_| writable);
    let inserts = if writable && blocker.is_none() {
        insert_fields(t)
    } else {
        Vec::new()
    };
    let changes = match key {
        Some(k) if writable => change_fields(t, k),
        _ => Vec::new(),
    };

    s.push_str(HEADER);
    s.push('\n');
    writeln!(s, "//! Model of {}. {}", t.describe(), key_note(t, key)).unwrap();
    if plan.opts.with_docs.database() {
        if let Some(comment) = &t.t.comment {
            writeln!(s, "//!\n//! {}", doc_line(comment)).unwrap();
        }
    }
    if key.is_none() {
        s.push_str(
            "//!\n//! No key proves a row's identity, so there are no keyed reads, updates or deletes.\n",
        );
    }
    if let Some(c) = blocker {
        writeln!(
            s,
            "//!\n//! No insert struct: `{}` is NOT NULL without a default and its type {} has no writable\n\
             //! Rust type, so every insert would fail (map the type in `[aep_diesel.types]`).",
            doc_line(&c.c.name),
            doc_line(&c.c.sql_type.display)
        )
        .unwrap();
    }
    if writable {
        s.push_str(
            "//!\n//! Query Service takes no `UPDATE` or `DELETE` and documents no `INSERT … VALUES`: there\n\
             //! the writes are refused before anything is sent, unless the table is listed in\n\
             //! `[aep_diesel] query_service_writable`.\n",
        );
    }
    // `use` lines in rustfmt's order: external crates, then this crate's modules.
    s.push('\n');
    match (inserts.is_empty(), changes.is_empty()) {
        (false, false) => s.push_str("use aep_diesel::model::{Set, Values};\n"),
        (false, true) => s.push_str("use aep_diesel::model::Values;\n"),
        (true, false) => s.push_str("use aep_diesel::model::Set;\n"),
        (true, true) => {}
    }
    if !inserts.is_empty() || !changes.is_empty() {
        s.push_str("use diesel::QueryResult;\n\n");
    }
    writeln!(s, "use {table} as sql;").unwrap();
    if t.cols
        .iter()
        .any(|c| c.mapped.rust.as_ref().and_then(|r| r.custom()).is_some())
    {
        s.push_str("use super::types;\n");
    }

    // The row struct.
    s.push('\n');
    writeln!(s, "/// A row of {}.", t.describe()).unwrap();
    derive_line(
        &plan.derives(&[
            "Debug",
            "Clone",
            "PartialEq",
            "diesel::Queryable",
            "diesel::Selectable",
        ]),
        &mut s,
    );
    writeln!(s, "#[diesel(table_name = {table})]").unwrap();
    s.push_str("#[diesel(check_for_backend(diesel::pg::Pg))]\n");
    writeln!(s, "pub struct {name} {{").unwrap();
    for c in &t.cols {
        match c.rust(TYPES) {
            Some(ty) => {
                field_docs(c, plan.opts.with_docs.database(), &mut s);
                if c.field != c.ident {
                    // table! keeps print-schema's identifier; the field is snake_case
                    writeln!(s, "    #[diesel(column_name = {})]", c.ident).unwrap();
                }
                s.push_str(&layout::field("    ", &c.field, &ty));
            }
            None => writeln!(
                s,
                "    // `{}` ({}) is left out: no Rust type for it; map it in [aep_diesel.types].",
                doc_line(&c.c.name),
                doc_line(&c.c.sql_type.display)
            )
            .unwrap(),
        }
    }
    s.push_str("}\n");

    // What the library needs to know.
    writeln!(s, "\nimpl aep_diesel::model::Model for {name} {{").unwrap();
    s.push_str("    type Table = sql::table;\n");
    if let Some(k) = key {
        writeln!(
            s,
            "    const KEY: Option<&'static str> = Some({});",
            lit(&t.cols[k].c.name)
        )
        .unwrap();
    }
    if writable && t.writable_on_query_service {
        s.push_str("    const WRITABLE_ON_QUERY_SERVICE: bool = true;\n");
    }
    s.push_str("}\n");
    if let Some(k) = key {
        let c = &t.cols[k];
        let inner = c.rust_inner(TYPES).expect("key columns have Rust types");
        let (borrowed, owned) = if inner == "String" {
            ("str".to_string(), inner.clone())
        } else {
            (inner.clone(), inner.clone())
        };
        let value = if is_copy(&inner) {
            format!("self.{}", c.field)
        } else {
            format!("self.{}.clone()", c.field)
        };
        let value = if c.nullable {
            value
        } else {
            format!("Some({value})")
        };
        writeln!(s, "\nimpl aep_diesel::model::Keyed for {name} {{").unwrap();
        writeln!(
            s,
            "    type KeyType = diesel::dsl::SqlTypeOf<sql::{}>;",
            c.ident
        )
        .unwrap();
        writeln!(s, "    type Key = {borrowed};").unwrap();
        writeln!(s, "    type OwnedKey = {owned};").unwrap();
        s.push('\n');
        writeln!(s, "    fn key(&self) -> Option<{owned}> {{").unwrap();
        writeln!(s, "        {value}").unwrap();
        s.push_str("    }\n}\n");
    }
    // Create stays where only the insert struct is missing: Write (update, delete) builds on it.
    let creatable = !inserts.is_empty() || blocker.is_some();
    if creatable {
        writeln!(s, "\nimpl aep_diesel::model::Create for {name} {{}}").unwrap();
    }
    if writable && key.is_some() && creatable {
        writeln!(s, "\nimpl aep_diesel::model::Write for {name} {{}}").unwrap();
    }

    // The insert struct.
    if !inserts.is_empty() {
        s.push('\n');
        writeln!(s, "/// A new row for {}.", t.describe()).unwrap();
        let left_out: Vec<String> = t
            .cols
            .iter()
            .filter(|c| !inserts.iter().any(|(i, _)| i.ident == c.ident))
            .map(|c| {
                let why = if c.c.generated.is_some() {
                    "generated"
                } else if c.c.read_only() {
                    "identity ALWAYS"
                } else {
                    "no writable Rust type"
                };
                format!("`{}` ({why})", doc_line(&c.c.name))
            })
            .collect();
        if !left_out.is_empty() {
            writeln!(
                s,
                "///\n/// Left out, the server fills them: {}.",
                left_out.join(", ")
            )
            .unwrap();
        }
        let filled: Vec<String> = inserts
            .iter()
            .filter(|(c, _)| c.c.server_filled())
            .map(|(c, _)| format!("`{}`", c.field))
            .collect();
        if !filled.is_empty() {
            writeln!(
                s,
                "///\n/// `None` lets the server fill {} (default or identity).",
                filled.join(", ")
            )
            .unwrap();
        }
        let mut base = vec!["Debug", "Clone", "PartialEq"];
        if inserts.iter().all(|(_, ty)| ty.starts_with("Option<")) {
            base.insert(2, "Default");
        }
        derive_line(&plan.derives(&base), &mut s);
        writeln!(s, "pub struct {new_name} {{").unwrap();
        for (c, ty) in &inserts {
            field_docs(c, plan.opts.with_docs.database(), &mut s);
            s.push_str(&layout::field("    ", &c.field, ty));
        }
        s.push_str("}\n");

        writeln!(s, "\nimpl aep_diesel::model::Insert for {new_name} {{").unwrap();
        writeln!(s, "    type Model = {name};").unwrap();
        s.push('\n');
        s.push_str("    fn walk<'b>(&'b self, w: &mut Values<'_, 'b>) -> QueryResult<()> {\n");
        for (c, _) in &inserts {
            let call = if c.c.server_filled() {
                "or_default"
            } else {
                "value"
            };
            s.push_str(&layout::call(
                "        ",
                &format!("w.{call}::<sql::{}, _>", c.ident),
                &[format!("&self.{}", c.field)],
                "?;",
            ));
        }
        s.push_str("        Ok(())\n    }\n}\n");
    }

    // The changes struct.
    if !changes.is_empty() {
        s.push('\n');
        writeln!(
            s,
            "/// Changes to a row of {}: `None` leaves a column as it is; for nullable columns\n/// `Some(None)` sets NULL.",
            t.describe()
        )
        .unwrap();
        derive_line(
            &plan.derives(&["Debug", "Clone", "Default", "PartialEq"]),
            &mut s,
        );
        writeln!(s, "pub struct {changes_name} {{").unwrap();
        for (c, ty) in &changes {
            field_docs(c, plan.opts.with_docs.database(), &mut s);
            s.push_str(&layout::field("    ", &c.field, ty));
        }
        s.push_str("}\n");

        writeln!(s, "\nimpl aep_diesel::model::Changes for {changes_name} {{").unwrap();
        writeln!(s, "    type Model = {name};").unwrap();
        s.push('\n');
        s.push_str("    fn walk<'b>(&'b self, w: &mut Set<'_, 'b>) -> QueryResult<()> {\n");
        for (c, _) in &changes {
            let call = if c.nullable { "nullable" } else { "column" };
            s.push_str(&layout::call(
                "        ",
                &format!("w.{call}::<sql::{}, _>", c.ident),
                &[format!("&self.{}", c.field)],
                "?;",
            ));
        }
        s.push_str("        Ok(())\n    }\n}\n");
    }
    s
}

fn key_note(t: &TablePlan<'_>, key: Option<usize>) -> String {
    match key {
        Some(k) => format!(
            "Keyed by {} ({}).",
            t.cols[k].c.name,
            t.key
                .as_ref()
                .map(|(_, s)| s.describe())
                .unwrap_or_default()
        ),
        None => "No key: list, count and stream only.".into(),
    }
}
