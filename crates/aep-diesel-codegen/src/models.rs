//! One module per table or view: read, insert and changeset structs, and CRUD functions.

use std::fmt::Write;

use super::naming::{Names, doc_line};
use super::{ColPlan, HEADER, Plan, TablePlan};

/// PostgreSQL's limit on bind parameters in one statement.
const MAX_BINDS: usize = 65_535;
const TYPES: &str = "super::types::";

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
            let ty = if c.c.nullable || c.c.server_filled() {
                format!("Option<{inner}>")
            } else {
                inner
            };
            (c, ty)
        })
        .collect()
}

/// Columns an update may change: `None` leaves a column alone; `Some(None)` sets a nullable one to NULL.
fn change_fields<'p>(t: &'p TablePlan<'_>) -> Vec<(&'p ColPlan<'p>, String)> {
    let key: Vec<usize> = t.key.as_ref().map(|k| k.0.clone()).unwrap_or_default();
    t.cols
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !key.contains(i) && !c.c.read_only() && c.mapped.writable && c.mapped.rust.is_some()
        })
        .map(|(_, c)| {
            let inner = c.rust_inner(TYPES).expect("known type");
            let ty = if c.c.nullable {
                format!("Option<Option<{inner}>>")
            } else {
                format!("Option<{inner}>")
            };
            (c, ty)
        })
        .collect()
}

pub(crate) fn render(plan: &Plan<'_>, t: &TablePlan<'_>) -> String {
    let mut s = String::with_capacity(8 * 1024);
    let table = format!("super::schema::{}", t.ident);
    let name = &t.strukt;
    let new_name = format!("New{name}");
    let changes_name = format!("{name}Changeset");
    let inserts = if t.writable() {
        insert_fields(t)
    } else {
        Vec::new()
    };
    let changes = if t.writable() && t.key.is_some() {
        change_fields(t)
    } else {
        Vec::new()
    };

    s.push_str(HEADER);
    s.push('\n');
    writeln!(
        s,
        "//! Model and CRUD for {}. {}",
        t.describe(),
        t.key_note()
    )
    .unwrap();
    if plan.opts.with_docs {
        if let Some(comment) = &t.t.comment {
            writeln!(s, "//!\n//! {}", doc_line(comment)).unwrap();
        }
    }
    s.push('\n');
    let mut uses = vec!["QueryDsl as _", "RunQueryDsl as _", "SelectableHelper as _"];
    if t.key.is_some() {
        uses.push("ExpressionMethods as _");
        uses.push("OptionalExtension as _");
    }
    if !inserts.is_empty() {
        uses.push("Connection as _");
    }
    uses.sort();
    writeln!(s, "use diesel::{{{}}};", uses.join(", ")).unwrap();

    // Read struct.
    s.push('\n');
    writeln!(s, "/// A row of {}.", t.describe()).unwrap();
    let mut base = vec![
        "Debug",
        "Clone",
        "PartialEq",
        "diesel::Queryable",
        "diesel::Selectable",
    ];
    if t.key.is_some() {
        base.push("diesel::Identifiable");
    }
    writeln!(s, "#[derive({})]", plan.derives(&base)).unwrap();
    writeln!(s, "#[diesel(table_name = {table})]").unwrap();
    if let Some((key, _)) = &t.key {
        let cols: Vec<&str> = key.iter().map(|i| t.cols[*i].ident.as_str()).collect();
        writeln!(s, "#[diesel(primary_key({}))]", cols.join(", ")).unwrap();
    }
    s.push_str("#[diesel(check_for_backend(diesel::pg::Pg))]\n");
    writeln!(s, "pub struct {name} {{").unwrap();
    for c in &t.cols {
        match c.rust(TYPES) {
            Some(ty) => {
                field_docs(c, plan.opts.with_docs, &mut s);
                writeln!(s, "    pub {}: {ty},", c.ident).unwrap();
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

    // Insert struct.
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
            .map(|(c, _)| format!("`{}`", c.ident))
            .collect();
        if !filled.is_empty() {
            writeln!(
                s,
                "///\n/// `None` lets the server fill {} (default or identity).",
                filled.join(", ")
            )
            .unwrap();
        }
        let mut base = vec!["Debug", "Clone", "PartialEq", "diesel::Insertable"];
        if inserts.iter().all(|(_, ty)| ty.starts_with("Option<")) {
            base.insert(2, "Default");
        }
        writeln!(s, "#[derive({})]", plan.derives(&base)).unwrap();
        writeln!(s, "#[diesel(table_name = {table})]").unwrap();
        writeln!(s, "pub struct {new_name} {{").unwrap();
        for (c, ty) in &inserts {
            field_docs(c, plan.opts.with_docs, &mut s);
            writeln!(s, "    pub {}: {ty},", c.ident).unwrap();
        }
        s.push_str("}\n");
    }

    // Changeset.
    if !changes.is_empty() {
        s.push('\n');
        writeln!(
            s,
            "/// Changes to a row of {}: `None` leaves a column as it is; for nullable columns `Some(None)` sets NULL.",
            t.describe()
        )
        .unwrap();
        writeln!(
            s,
            "#[derive({})]",
            plan.derives(&[
                "Debug",
                "Clone",
                "Default",
                "PartialEq",
                "diesel::AsChangeset"
            ])
        )
        .unwrap();
        writeln!(s, "#[diesel(table_name = {table})]").unwrap();
        writeln!(s, "pub struct {changes_name} {{").unwrap();
        for (c, ty) in &changes {
            writeln!(s, "    pub {}: {ty},", c.ident).unwrap();
        }
        s.push_str("}\n");
    }

    // CRUD.
    let mut params = Names::with_reserved(&[
        "conn", "changes", "new", "rows", "limit", "offset", "chunk", "out",
    ]);
    let key_params: Vec<(String, &ColPlan<'_>, String)> = t
        .key
        .iter()
        .flat_map(|(k, _)| k.iter())
        .map(|i| {
            let c = &t.cols[*i];
            let inner = c.rust_inner(TYPES).expect("key columns have Rust types");
            let ty = if inner == "String" {
                "&str".to_string()
            } else {
                format!("&{inner}")
            };
            (params.claim(c.ident.clone()), c, ty)
        })
        .collect();
    let filter: String = key_params
        .iter()
        .map(|(p, c, _)| format!(".filter({table}::{}.eq({p}))", c.ident))
        .collect();
    let key_sig: String = key_params
        .iter()
        .map(|(p, _, ty)| format!(", {p}: {ty}"))
        .collect();
    let conn = "conn: &mut aep_diesel::AepConnection";

    s.push('\n');
    writeln!(s, "impl {name} {{").unwrap();
    let mut first = true;
    let mut sep = |s: &mut String| {
        if !first {
            s.push('\n');
        }
        first = false;
    };
    if !inserts.is_empty() {
        sep(&mut s);
        writeln!(
            s,
            "    /// Rows per INSERT in [`Self::create_many`], keeping each statement under PostgreSQL's {MAX_BINDS} bind parameters."
        )
        .unwrap();
        writeln!(
            s,
            "    pub const INSERT_CHUNK: usize = {};",
            (MAX_BINDS / inserts.len()).max(1)
        )
        .unwrap();
        s.push('\n');
        s.push_str("    /// Insert one row and return it as stored.\n");
        writeln!(
            s,
            "    pub fn create({conn}, new: &{new_name}) -> diesel::QueryResult<Self> {{"
        )
        .unwrap();
        writeln!(s, "        diesel::insert_into({table}::table)").unwrap();
        s.push_str("            .values(new)\n            .returning(Self::as_returning())\n            .get_result(conn)\n    }\n\n");
        s.push_str(
            "    /// Insert many rows in one transaction (all or none), in statements of at most\n    /// [`Self::INSERT_CHUNK`] rows; returns them as stored.\n",
        );
        writeln!(s, "    pub fn create_many({conn}, rows: &[{new_name}]) -> diesel::QueryResult<Vec<Self>> {{").unwrap();
        s.push_str("        conn.transaction(|conn| {\n");
        s.push_str("            let mut out = Vec::with_capacity(rows.len());\n");
        s.push_str("            for chunk in rows.chunks(Self::INSERT_CHUNK) {\n");
        writeln!(
            s,
            "                out.extend(\n                    diesel::insert_into({table}::table)"
        )
        .unwrap();
        s.push_str(
            "                        .values(chunk)\n                        .returning(Self::as_returning())\n                        .get_results(conn)?,\n                );\n",
        );
        s.push_str("            }\n            Ok(out)\n        })\n    }\n");
    }
    if t.key.is_some() {
        sep(&mut s);
        s.push_str("    /// The row with this key, if any.\n");
        writeln!(
            s,
            "    pub fn find({conn}{key_sig}) -> diesel::QueryResult<Option<Self>> {{"
        )
        .unwrap();
        writeln!(s, "        {table}::table").unwrap();
        writeln!(s, "            {filter}").unwrap();
        s.push_str("            .select(Self::as_select())\n            .first(conn)\n            .optional()\n    }\n");
    }
    sep(&mut s);
    let order = match &t.key {
        Some((k, _)) => {
            let cols: Vec<String> = k
                .iter()
                .map(|i| format!("{table}::{}.asc()", t.cols[*i].ident))
                .collect();
            s.push_str("    /// One page of rows in key order.\n");
            if cols.len() == 1 {
                format!(".order({})", cols[0])
            } else {
                format!(".order(({}))", cols.join(", "))
            }
        }
        None => {
            s.push_str(
                "    /// One page of rows, in no particular order (the relation has no key).\n",
            );
            String::new()
        }
    };
    writeln!(
        s,
        "    pub fn list({conn}, limit: i64, offset: i64) -> diesel::QueryResult<Vec<Self>> {{"
    )
    .unwrap();
    writeln!(s, "        {table}::table").unwrap();
    s.push_str("            .select(Self::as_select())\n");
    if !order.is_empty() {
        writeln!(s, "            {order}").unwrap();
    }
    s.push_str("            .limit(limit)\n            .offset(offset)\n            .load(conn)\n    }\n\n");
    if let [(p, c, ty)] = key_params.as_slice() {
        let col = format!("{table}::{}", c.ident);
        s.push_str(
            "    /// Keyset pagination: up to `limit` rows in key order, after `after` (from the start when\n\
             \x20   /// `None`). Pass the last key of a page to get the next; see `aep_diesel::bulk::pages`.\n",
        );
        writeln!(
            s,
            "    pub fn page_after({conn}, after: Option<{ty}>, limit: i64) -> diesel::QueryResult<Vec<Self>> {{"
        )
        .unwrap();
        writeln!(s, "        let page = {table}::table.select(Self::as_select()).order({col}.asc()).limit(limit);").unwrap();
        writeln!(s, "        match after {{").unwrap();
        writeln!(
            s,
            "            Some({p}) => page.filter({col}.gt({p})).load(conn),"
        )
        .unwrap();
        s.push_str("            None => page.load(conn),\n        }\n    }\n\n");
    }
    // On Query Service a query returns at most 50,000 rows: a keyed model streams in key-ordered
    // pages there, so a stream never stops short.
    let paged = match key_params.as_slice() {
        [(_, c, _)] => {
            let inner = c.rust_inner(TYPES).expect("key columns have Rust types");
            let (after, borrow) = if inner == "String" {
                ("String", ".map(String::as_str)")
            } else {
                (inner.as_str(), "")
            };
            let copy = matches!(
                inner.as_str(),
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
            );
            let value = if copy {
                format!("row.{}", c.ident)
            } else {
                format!("row.{}.clone()", c.ident)
            };
            let key = if c.c.nullable {
                value
            } else {
                format!("Some({value})")
            };
            Some(format!(
                "        if conn.is_query_service() {{\n\
                 \x20           return Ok(Box::new(aep_diesel::bulk::stream_pages(\n\
                 \x20               conn,\n\
                 \x20               aep_diesel::bulk::PLATFORM_ROW_LIMIT,\n\
                 \x20               |conn, after: Option<&{after}>, limit| Self::page_after(conn, after{borrow}, limit),\n\
                 \x20               |row: &Self| {key},\n\
                 \x20           )));\n\
                 \x20       }}\n"
            ))
        }
        _ => None,
    };
    s.push_str(
        "    /// All rows, one at a time: on PostgreSQL one query in libpq's row-by-row mode (memory stays\n\
         \x20   /// flat however many rows come back)",
    );
    if paged.is_some() {
        s.push_str(
            "; on Query Service, which returns at most 50,000 rows\n\
             \x20   /// per query, pages of 50,000 in key order",
        );
    }
    s.push_str(". The connection is busy until the iterator is dropped.\n");
    writeln!(
        s,
        "    pub fn stream({conn}) -> diesel::QueryResult<Box<dyn Iterator<Item = diesel::QueryResult<Self>> + '_>> {{"
    )
    .unwrap();
    if let Some(p) = &paged {
        s.push_str(p);
    }
    writeln!(
        s,
        "        Ok(Box::new({table}::table.select(Self::as_select()).load_iter::<Self, diesel::pg::PgRowByRowLoadingMode>(conn)?))\n    }}\n"
    )
    .unwrap();
    s.push_str("    /// Number of rows.\n");
    writeln!(s, "    pub fn count({conn}) -> diesel::QueryResult<i64> {{").unwrap();
    writeln!(s, "        {table}::table.count().get_result(conn)\n    }}").unwrap();
    if !changes.is_empty() {
        s.push('\n');
        s.push_str("    /// Apply `changes` to the row with this key and return it as stored.\n");
        writeln!(
            s,
            "    pub fn update({conn}{key_sig}, changes: &{changes_name}) -> diesel::QueryResult<Self> {{"
        )
        .unwrap();
        writeln!(s, "        diesel::update({table}::table{filter})").unwrap();
        s.push_str("            .set(changes)\n            .returning(Self::as_returning())\n            .get_result(conn)\n    }\n");
    }
    if t.key.is_some() && t.writable() {
        s.push('\n');
        s.push_str("    /// Delete the row with this key; returns how many rows went.\n");
        writeln!(
            s,
            "    pub fn delete({conn}{key_sig}) -> diesel::QueryResult<usize> {{"
        )
        .unwrap();
        writeln!(
            s,
            "        diesel::delete({table}::table{filter}).execute(conn)\n    }}"
        )
        .unwrap();
    }
    s.push_str("}\n");
    s
}
