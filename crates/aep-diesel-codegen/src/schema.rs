//! The schema module: `sql_types` markers, `table!`, `joinable!`, `allow_tables_to_appear_in_same_query!`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::layout;
use super::naming::{self, doc_line, schema_lit as lit};
use super::{HEADER, Plan, TablePlan};
use crate::config::{AllowTables, DocComments};
use aep_diesel_schema::TypeDef;

/// Above this many tables in one `allow_tables_to_appear_in_same_query!`, its recursion would pass
/// rustc's default macro recursion limit (128), so the pairs are written out one call each.
pub(crate) const ALLOW_MACRO_MAX: usize = 48;

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
    // (a table of another profile has no feature: profiles make no crate)
    let both = |a: &str, b: &str| match (feature.get(a), feature.get(b)) {
        (Some(x), Some(y)) => plan.gate_all(&[x, y]),
        _ => String::new(),
    };
    let (joins, uses) = joinables(plan);
    if !uses.is_empty() {
        s.push('\n');
        for (path, alias) in &uses {
            if path.ends_with(&format!("::{alias}")) {
                writeln!(s, "use {path};").unwrap();
            } else {
                writeln!(s, "use {path} as {alias};").unwrap();
            }
        }
    }
    if !joins.is_empty() {
        s.push('\n');
        for (child, parent, fk) in &joins {
            s.push_str(&both(child, parent));
            writeln!(s, "diesel::joinable!({child} -> {parent} ({fk}));").unwrap();
        }
    }
    // a table of another profile joins the group of its children here
    let foreign: Vec<(String, String)> = joins
        .iter()
        .filter(|(_, p, _)| uses.iter().any(|(_, a)| a == p))
        .map(|(c, p, _)| (c.clone(), p.clone()))
        .collect();
    let groups = allow_groups(plan, &foreign);
    if plan.opts.allow_tables == AllowTables::Auto
        && plan.allow == AllowTables::FkRelatedTables
        && plan.tables.len() > 1
        && !(groups.len() == 1 && groups[0].len() == plan.tables.len())
    {
        // where aep-diesel's default differs from print-schema's, the file says why
        let why = if plan.opts.package.is_some() {
            "in a crate\n// every pair is gated by its two tables' features"
        } else if plan.tables.len() > ALLOW_MACRO_MAX {
            "one\n// macro over more than 48 tables would pass rustc's recursion limit"
        } else {
            "some\n// tables have no primary key (print-schema prints no such schema)"
        };
        writeln!(
            s,
            "\n// allow_tables_to_appear_in_same_query!: per group of tables joined by foreign keys, as \
             {why}; for every table in one, set\n// allow_tables_to_appear_in_same_query_config = \"all_tables\"."
        )
        .unwrap();
    }
    for group in groups {
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
    // As diesel_cli 2.3's print-schema: the configured derives replace the default ones, in their
    // order, and `SqlType` follows unless listed; a repeat is dropped, so listing a derive twice
    // never derives it twice.
    let derives = crate::derive_list(
        plan.opts
            .custom_type_derives
            .iter()
            .map(String::as_str)
            .chain(["diesel::sql_types::SqlType"]),
    );
    s.push('\n');
    match plan.opts.with_docs {
        DocComments::FallbackToGenerated => s.push_str(
            "/// A module containing custom SQL type definitions\n///\n/// (Automatically generated by Diesel.)\n",
        ),
        DocComments::Database => s.push_str("/// Marker types for the database's own SQL types.\n"),
        // no docs asked for: none, as print-schema
        _ => {}
    }
    s.push_str("pub mod sql_types {\n");
    let mut first = true;
    for (marker, (schema, name, what)) in &markers {
        if !first {
            s.push('\n');
        }
        first = false;
        if plan.opts.with_docs.fallback() {
            let shown = if schema.is_empty() || schema == "public" {
                name.clone()
            } else {
                format!("{schema}.{name}")
            };
            writeln!(
                s,
                "    /// The `{}` SQL type\n    ///\n    /// (Automatically generated by Diesel.)",
                doc_line(&shown)
            )
            .unwrap();
        } else if plan.opts.with_docs.database() {
            writeln!(s, "    /// The `{}` {what}.", doc_line(name)).unwrap();
        }
        s.push_str(&plan.gate_marker(marker, "    "));
        s.push_str(&layout::derive_attr(&derives, "    "));
        let args = if schema.is_empty() || schema == "public" || schema == "pg_catalog" {
            format!("name = {}", lit(name))
        } else {
            format!("name = {}, schema = {}", lit(name), lit(schema))
        };
        let one = format!("    #[diesel(postgres_type({args}))]");
        if one.chars().count() <= layout::MAX_WIDTH {
            writeln!(s, "{one}").unwrap();
        } else {
            // rustfmt's layout of an attribute too long for a line
            writeln!(s, "    #[diesel(postgres_type(\n        {args}\n    ))]").unwrap();
        }
        writeln!(s, "    pub struct {marker};").unwrap();
    }
    s.push_str("}\n");
}

/// Where aep-diesel's identifier for `name` is not the one print-schema writes, a comment saying
/// why: print-schema's would not compile (a leading digit, a keyword it does not know), or it is
/// taken (a clash, or one of the names `table!` itself defines).
fn not_print_schemas(s: &mut String, indent: &str, name: &str, table: Option<&str>, ours: &str) {
    match naming::diesel_ident(name, table) {
        Some(theirs) if theirs == ours => {}
        Some(theirs) => writeln!(
            s,
            "{indent}// print-schema would write `{theirs}`, which is taken here: aep-diesel's identifier"
        )
        .unwrap(),
        None if naming::is_weak_keyword(&naming::diesel_raw_ident(name, table)) => writeln!(
            s,
            "{indent}// print-schema would write `{}`, a contextual keyword: aep-diesel's identifier",
            naming::diesel_raw_ident(name, table)
        )
        .unwrap(),
        None => writeln!(
            s,
            "{indent}// print-schema's identifier for this name would not compile: aep-diesel's"
        )
        .unwrap(),
    }
}

/// `text` as doc comment lines at `indent`, as print-schema writes them: each line trimmed, an
/// empty one a bare `///`.
fn doc_comment(s: &mut String, indent: &str, text: &str) {
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            writeln!(s, "{indent}///").unwrap();
        } else {
            writeln!(s, "{indent}/// {}", doc_line(line)).unwrap();
        }
    }
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
    let full_name = match &t.schema_prefix {
        Some(_) => format!("{}.{}", t.t.schema, t.t.name),
        None => t.t.name.clone(),
    };
    let what = if t.t.kind.is_view() { "view" } else { "table" };
    match (&t.t.comment, plan.opts.with_docs) {
        (Some(comment), docs) if docs.database() => doc_comment(s, "    ", comment),
        (None, DocComments::FallbackToGenerated) => doc_comment(
            s,
            "    ",
            &format!(
                "Representation of the `{full_name}` {what}.\n\n(Automatically generated by Diesel.)"
            ),
        ),
        _ => {}
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
    not_print_schemas(s, "    ", &t.t.name, None, &t.ident);
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
        match (&c.c.comment, plan.opts.with_docs) {
            (Some(comment), docs) if docs.database() => doc_comment(s, "        ", comment),
            (None, DocComments::FallbackToGenerated) => doc_comment(
                s,
                "        ",
                &format!(
                    "The `{}` column of the `{full_name}` {what}.\n\nIts SQL type is `{}`.\n\n\
                     (Automatically generated by Diesel.)",
                    c.c.name,
                    c.sql().render("", "")
                ),
            ),
            _ => {}
        }
        not_print_schemas(s, "        ", &c.c.name, Some(&t.ident), &c.ident);
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

/// `(child, parent, fk column)` of one `joinable!`.
pub(crate) type Joinable = (String, String, String);

/// A foreign key's parent: a table of this generation, or one another profile generates.
enum Parent<'p> {
    Here(&'p TablePlan<'p>),
    Elsewhere(&'p crate::config::Elsewhere),
}

/// `(child, parent, fk column)` for single-column foreign keys onto the parent's key. As in
/// print-schema, a pair of tables joined by more than one foreign key gets none: which one a join
/// means is the caller's to say (`.on(…)`). A parent another profile generates is named by the
/// alias its `use` line gives it (the second list: `(path, alias)`).
pub(crate) fn joinables(plan: &Plan<'_>) -> (Vec<Joinable>, Vec<(String, String)>) {
    let mut out = BTreeMap::new();
    let mut uses: BTreeMap<String, String> = BTreeMap::new();
    let local: BTreeSet<&str> = plan.tables.iter().map(|t| t.ident.as_str()).collect();
    for t in &plan.tables {
        for fk in &t.t.foreign_keys {
            let parent = match plan.table(&fk.referred_schema, &fk.referred_table) {
                Some(p) => Parent::Here(p),
                None => match plan
                    .elsewhere
                    .iter()
                    .find(|e| e.schema == fk.referred_schema && e.name == fk.referred_table)
                {
                    Some(e) => Parent::Elsewhere(e),
                    None => continue,
                },
            };
            // As print-schema: more than one foreign key between the two tables, in either
            // direction, and neither gets a joinable! (two would implement JoinTo twice).
            let to_parent = t
                .t
                .foreign_keys
                .iter()
                .filter(|f| {
                    f.referred_schema == fk.referred_schema && f.referred_table == fk.referred_table
                })
                .count();
            let to_child = plan
                .model
                .table(&fk.referred_table, Some(&fk.referred_schema))
                .map_or(0, |p| {
                    p.foreign_keys
                        .iter()
                        .filter(|f| f.referred_schema == t.t.schema && f.referred_table == t.t.name)
                        .count()
                });
            let self_reference = fk.referred_schema == t.t.schema && fk.referred_table == t.t.name;
            if fk.columns.len() != 1 || (to_parent + if self_reference { 0 } else { to_child }) > 1
            {
                continue;
            }
            let referred = fk
                .referred_columns
                .first()
                .map(String::as_str)
                .unwrap_or_default();
            let parent_ident = match parent {
                Parent::Here(parent) => {
                    if parent.ident == t.ident {
                        continue;
                    }
                    let Some((pkey, _)) = &parent.key else {
                        continue;
                    };
                    let parent_key: Vec<&str> = pkey
                        .iter()
                        .map(|i| parent.cols[*i].c.name.as_str())
                        .collect();
                    if parent_key != [referred] {
                        continue;
                    }
                    parent.ident.clone()
                }
                Parent::Elsewhere(e) => {
                    // the other profile's table! keys on the declared primary key
                    let Some(pk) = plan
                        .model
                        .table(&e.name, Some(&e.schema))
                        .and_then(|p| p.primary_key.as_ref())
                    else {
                        continue;
                    };
                    if pk.columns != [referred] {
                        continue;
                    }
                    match uses.get(&e.path) {
                        Some(alias) => alias.clone(),
                        None => {
                            // diesel 2.3's allow_tables_to_appear_in_same_query! takes
                            // identifiers, not paths: the parent comes into scope by a `use`
                            let last = e.path.rsplit("::").next().unwrap_or(&e.name);
                            let mut alias = last.to_string();
                            let mut n = 2;
                            while local.contains(alias.as_str())
                                || uses.values().any(|a| *a == alias)
                            {
                                alias = format!("{last}_{n}");
                                n += 1;
                            }
                            uses.insert(e.path.clone(), alias.clone());
                            alias
                        }
                    }
                }
            };
            let Some(col) = t.cols.iter().find(|c| c.c.name == fk.columns[0]) else {
                continue;
            };
            out.entry((t.ident.clone(), parent_ident))
                .or_insert(col.ident.clone());
        }
    }
    (
        out.into_iter().map(|((c, p), f)| (c, p, f)).collect(),
        uses.into_iter().collect(),
    )
}

/// Groups of tables that may appear in the same query.
fn allow_groups(plan: &Plan<'_>, foreign: &[(String, String)]) -> Vec<Vec<String>> {
    let mut idents: Vec<String> = plan.tables.iter().map(|t| t.ident.clone()).collect();
    match plan.allow {
        AllowTables::None => Vec::new(),
        AllowTables::AllTables if idents.len() + foreign.len() > 1 => {
            // with the tables of other profiles this profile's foreign keys join, as print-schema
            let mut all = idents;
            for (_, parent) in foreign {
                if !all.contains(parent) {
                    all.push(parent.clone());
                }
            }
            all.sort();
            vec![all]
        }
        AllowTables::AllTables => Vec::new(),
        // Auto is decided by the planner; fk grouping is its fallback
        AllowTables::FkRelatedTables | AllowTables::Auto => {
            // union-find over foreign keys between generated tables, and into other profiles'
            for (_, parent) in foreign {
                if !idents.contains(parent) {
                    idents.push(parent.clone());
                }
            }
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
            let mut edges: Vec<(usize, usize)> = Vec::new();
            for t in &plan.tables {
                for fk in &t.t.foreign_keys {
                    if let Some(other) = plan.table(&fk.referred_schema, &fk.referred_table) {
                        edges.push((index[t.ident.as_str()], index[other.ident.as_str()]));
                    }
                }
            }
            for (child, p) in foreign {
                edges.push((index[child.as_str()], index[p.as_str()]));
            }
            for (a, b) in edges {
                let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                parent[ra] = rb;
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
