//! The schema module: `sql_types` markers, `table!`, `joinable!`, `allow_tables_to_appear_in_same_query!`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::layout;
use super::naming::{doc_line, lit};
use super::{HEADER, Plan, TablePlan};
use crate::config::AllowTables;
use aep_diesel_schema::TypeDef;

/// Above this many tables in one `allow_tables_to_appear_in_same_query!`, its recursion would pass
/// rustc's default macro recursion limit (128), so the pairs are written out one call each.
const ALLOW_MACRO_MAX: usize = 48;

pub(crate) fn render(plan: &Plan<'_>) -> String {
    let mut s = String::new();
    s.push_str(HEADER);
    s.push('\n');
    let camel = |i: &str| i.contains(|c: char| c.is_ascii_uppercase());
    if plan
        .tables
        .iter()
        .any(|t| camel(&t.ident) || t.schema_prefix.as_deref().is_some_and(camel))
    {
        // table! makes a module of each table (and of its schema): names kept as print-schema
        // writes them (`User`, `Web_Sessions`) are not snake case, and that is deliberate.
        s.push_str("#![allow(non_snake_case)]\n");
    }
    let header_end = s.len();
    render_sql_types(plan, &mut s);
    // The table! blocks are independent: render them on every core, then join in order.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let per = plan.tables.len().div_ceil(workers).max(1);
    let blocks: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .tables
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = String::with_capacity(chunk.len() * 1024);
                    for t in chunk {
                        out.push('\n');
                        render_table(plan, t, &mut out);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("table! rendering"))
            .collect()
    });
    s.reserve(blocks.iter().map(String::len).sum());
    for b in blocks {
        s.push_str(&b);
    }
    // In crate mode a join compiles when both tables' features are on.
    let feature: BTreeMap<&str, &str> = plan
        .tables
        .iter()
        .map(|t| (t.ident.as_str(), t.module.as_str()))
        .collect();
    let both = |a: &str, b: &str| plan.gate_all(&[feature[a], feature[b]]);
    let joins = joinables(plan);
    if !joins.is_empty() {
        s.push('\n');
        for (child, parent, fk) in &joins {
            s.push_str(&both(child, parent));
            writeln!(s, "diesel::joinable!({child} -> {parent} ({fk}));").unwrap();
        }
    }
    for group in allow_groups(plan) {
        s.push('\n');
        const ALLOW: &str = "diesel::allow_tables_to_appear_in_same_query!";
        if plan.marker_users.is_none() && group.len() <= ALLOW_MACRO_MAX {
            s.push_str(&layout::macro_call("", ALLOW, &group, ";"));
        } else {
            // Pairs: past the macro's recursion limit, or gated by both tables' features.
            for (i, a) in group.iter().enumerate() {
                for b in &group[i + 1..] {
                    s.push_str(&both(a, b));
                    s.push_str(&layout::macro_call("", ALLOW, &[a.clone(), b.clone()], ";"));
                }
            }
        }
    }
    if let Some(module) = &plan.schema_module {
        // print-schema's layout for a configured schema: everything inside `pub mod <schema>`
        let body = s.split_off(header_end);
        writeln!(s, "\npub mod {module} {{").unwrap();
        for line in body.trim_start_matches('\n').lines() {
            if line.is_empty() {
                s.push('\n');
            } else {
                writeln!(s, "    {line}").unwrap();
            }
        }
        s.push_str("}\n");
    }
    s
}

fn render_sql_types(plan: &Plan<'_>, s: &mut String) {
    let mut markers: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    for gt in &plan.generated_types {
        let what = match gt.ct.def {
            TypeDef::Enum { .. } => "enum",
            _ => "composite type",
        };
        markers.insert(
            gt.name.clone(),
            (gt.ct.schema.clone(), gt.ct.name.clone(), what.to_string()),
        );
    }
    for u in plan.unknown.values() {
        markers.insert(
            u.marker.clone(),
            (u.schema.clone(), u.pg_name.clone(), u.what.to_string()),
        );
    }
    if markers.is_empty() {
        return;
    }
    // As print-schema: the configured derives replace the default ones, `SqlType` is always there,
    // and the list is sorted (byte order), so listing a default or `SqlType` never derives twice.
    let derives: std::collections::BTreeSet<&str> = plan
        .opts
        .custom_type_derives
        .iter()
        .map(String::as_str)
        .chain(["diesel::sql_types::SqlType"])
        .collect();
    let derives: Vec<&str> = derives.into_iter().collect();
    s.push_str("\n/// Marker types for the database's own SQL types.\npub mod sql_types {\n");
    let mut first = true;
    for (marker, (schema, name, what)) in &markers {
        if !first {
            s.push('\n');
        }
        first = false;
        writeln!(s, "    /// The `{}` {what}.", doc_line(name)).unwrap();
        s.push_str(&plan.gate_marker(marker, "    "));
        s.push_str(&layout::derive_attr(&derives.join(", "), "    "));
        if schema.is_empty() || schema == "public" || schema == "pg_catalog" {
            writeln!(s, "    #[diesel(postgres_type(name = {}))]", lit(name)).unwrap();
        } else {
            writeln!(
                s,
                "    #[diesel(postgres_type(name = {}, schema = {}))]",
                lit(name),
                lit(schema)
            )
            .unwrap();
        }
        writeln!(s, "    pub struct {marker};").unwrap();
    }
    s.push_str("}\n");
}

fn render_table(plan: &Plan<'_>, t: &TablePlan<'_>, s: &mut String) {
    s.push_str(&plan.gate([t.module.as_str()], ""));
    s.push_str("diesel::table! {\n");
    let mut markers = Vec::new();
    for c in &t.cols {
        c.mapped.sql.markers(&mut markers);
    }
    // print-schema's order: as the columns name them, each once
    let mut seen = BTreeSet::new();
    markers.retain(|m| seen.insert(m.clone()));
    let default_imports = plan.opts.import_types == ["diesel::sql_types::*"];
    if !markers.is_empty() || !default_imports {
        for i in &plan.opts.import_types {
            writeln!(s, "    use {i};").unwrap();
        }
        for m in &markers {
            writeln!(s, "    use super::sql_types::{m};").unwrap();
        }
        s.push('\n');
    }
    if plan.opts.with_docs {
        if let Some(comment) = &t.t.comment {
            for line in comment.lines() {
                writeln!(s, "    /// {}", doc_line(line)).unwrap();
            }
        }
    }
    match t.t.kind {
        aep_diesel_schema::TableKind::View => s.push_str("    // view: read-only\n"),
        aep_diesel_schema::TableKind::MaterializedView => {
            s.push_str("    // materialized view: read-only\n")
        }
        _ => {}
    }
    if t.key.is_none() {
        s.push_str("    // no key: the first column stands in for diesel's primary key; no find, update or delete\n");
    }
    if t.ident != t.t.name {
        writeln!(s, "    #[sql_name = {}]", lit(&t.t.name)).unwrap();
    }
    let key: Vec<&str> = t
        .table_key()
        .iter()
        .map(|i| t.cols[*i].ident.as_str())
        .collect();
    let prefix = t
        .schema_prefix
        .as_ref()
        .map(|p| format!("{p}."))
        .unwrap_or_default();
    writeln!(s, "    {prefix}{} ({}) {{", t.ident, key.join(", ")).unwrap();
    for c in &t.cols {
        if plan.opts.with_docs {
            if let Some(comment) = &c.c.comment {
                for line in comment.lines() {
                    writeln!(s, "        /// {}", doc_line(line)).unwrap();
                }
            }
        }
        // print-schema's order: the rename, then the length
        if c.ident != c.c.name {
            writeln!(s, "        #[sql_name = {}]", lit(&c.c.name)).unwrap();
        }
        if let Some(len) = c.c.sql_type.max_length {
            writeln!(s, "        #[max_length = {len}]").unwrap();
        }
        writeln!(s, "        {} -> {},", c.ident, c.sql().render("", "")).unwrap();
    }
    s.push_str("    }\n}\n");
}

/// `(child, parent, fk column)` for single-column foreign keys onto the parent's key. As in
/// print-schema, a pair of tables joined by more than one foreign key gets none: which one a join
/// means is the caller's to say (`.on(…)`).
pub(crate) fn joinables(plan: &Plan<'_>) -> Vec<(String, String, String)> {
    let mut out = BTreeMap::new();
    for t in &plan.tables {
        for fk in &t.t.foreign_keys {
            let Some(parent) = plan.table(&fk.referred_schema, &fk.referred_table) else {
                continue;
            };
            let keys_to_parent = t
                .t
                .foreign_keys
                .iter()
                .filter(|f| {
                    f.referred_schema == fk.referred_schema && f.referred_table == fk.referred_table
                })
                .count();
            if fk.columns.len() != 1 || parent.ident == t.ident || keys_to_parent > 1 {
                continue;
            }
            let Some((pkey, _)) = &parent.key else {
                continue;
            };
            let parent_key: Vec<&str> = pkey
                .iter()
                .map(|i| parent.cols[*i].c.name.as_str())
                .collect();
            if parent_key
                != [fk
                    .referred_columns
                    .first()
                    .map(String::as_str)
                    .unwrap_or_default()]
            {
                continue;
            }
            let Some(col) = t.cols.iter().find(|c| c.c.name == fk.columns[0]) else {
                continue;
            };
            out.entry((t.ident.clone(), parent.ident.clone()))
                .or_insert(col.ident.clone());
        }
    }
    out.into_iter().map(|((c, p), f)| (c, p, f)).collect()
}

/// Groups of tables that may appear in the same query.
fn allow_groups(plan: &Plan<'_>) -> Vec<Vec<String>> {
    let idents: Vec<String> = plan.tables.iter().map(|t| t.ident.clone()).collect();
    match plan.opts.allow_tables {
        AllowTables::None => Vec::new(),
        AllowTables::AllTables if idents.len() > 1 => {
            let mut all = idents;
            all.sort();
            vec![all]
        }
        AllowTables::AllTables => Vec::new(),
        AllowTables::FkRelatedTables => {
            // union-find over foreign keys between generated tables
            let index: BTreeMap<&str, usize> = idents
                .iter()
                .enumerate()
                .map(|(i, s)| (s.as_str(), i))
                .collect();
            let mut parent: Vec<usize> = (0..idents.len()).collect();
            fn find(p: &mut [usize], i: usize) -> usize {
                let mut r = i;
                while p[r] != r {
                    r = p[r];
                }
                let mut i = i;
                while p[i] != r {
                    let next = p[i];
                    p[i] = r;
                    i = next;
                }
                r
            }
            for t in &plan.tables {
                for fk in &t.t.foreign_keys {
                    if let Some(other) = plan.table(&fk.referred_schema, &fk.referred_table) {
                        let (a, b) = (index[t.ident.as_str()], index[other.ident.as_str()]);
                        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                        parent[ra] = rb;
                    }
                }
            }
            let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for (i, ident) in idents.iter().enumerate() {
                let r = find(&mut parent, i);
                groups.entry(r).or_default().push(ident.clone());
            }
            let mut groups: Vec<Vec<String>> = groups
                .into_values()
                .filter(|g| g.len() > 1)
                .map(|mut g| {
                    g.sort();
                    g
                })
                .collect();
            groups.sort();
            groups
        }
    }
}
