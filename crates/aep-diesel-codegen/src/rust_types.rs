//! `types.rs`: Rust structs for composite types, Rust enums for enum types, and read support for
//! configured unknown types.

use std::fmt::Write;

use super::layout;
use super::naming::{doc_line, lit};
use super::{GenType, HEADER, Plan};
use aep_diesel_schema::TypeDef;

pub(crate) fn render(plan: &Plan<'_>) -> String {
    let sql = plan.schema_path("sql_types::");
    let mut s = String::new();
    s.push_str(HEADER);
    s.push('\n');
    s.push_str("//! Rust types for the database's composite (XDM object) and enum types.\n");
    for gt in &plan.generated_types {
        s.push('\n');
        match &gt.ct.def {
            TypeDef::Composite { .. } => composite(plan, gt, &mut s),
            TypeDef::Enum { .. } => enumeration(plan, gt, &mut s),
            TypeDef::Domain { .. } => {}
        }
    }
    for u in plan.unknown.values() {
        let Some(rust) = &u.rust else { continue };
        s.push('\n');
        if let Some(base) = &u.domain_base {
            writeln!(
                s,
                "// The `{}` domain: values are read and written as its base type's.",
                doc_line(&u.pg_name)
            )
            .unwrap();
            s.push_str(&plan.gate_marker(&u.marker, ""));
            writeln!(
                s,
                "aep_diesel::domain_type! {{ {rust}: {sql}{} = diesel::sql_types::{base} }}",
                u.marker
            )
            .unwrap();
            continue;
        }
        // A plain comment: a doc comment on a macro call documents nothing.
        writeln!(
            s,
            "// Reads `{}` values as `{rust}` (their binary wire format is UTF-8 text).",
            doc_line(&u.pg_name)
        )
        .unwrap();
        s.push_str(&plan.gate_marker(&u.marker, ""));
        writeln!(s, "aep_diesel::text_type! {{ {rust}: {sql}{} }}", u.marker).unwrap();
    }
    s
}

fn composite(plan: &Plan<'_>, gt: &GenType<'_>, s: &mut String) {
    let sql = plan.schema_path("sql_types::");
    let gate = plan.gate_marker(&gt.name, "");
    let readable = !gt.fields.is_empty() && gt.fields.iter().all(|(_, m)| m.rust.is_some());
    let writable = readable && gt.fields.iter().all(|(_, m)| m.writable);
    let docs = |s: &mut String, indent: &str| {
        writeln!(
            s,
            "{indent}/// The `{}` composite type.",
            doc_line(&gt.ct.name)
        )
        .unwrap();
        if let Some(c) = &gt.ct.comment {
            writeln!(s, "{indent}///\n{indent}/// {}", doc_line(c)).unwrap();
        }
    };
    if !readable {
        // A field without a Rust type: keep the type opaque rather than guess.
        docs(s, "");
        s.push_str(
            "///\n/// Some fields have no Rust type (see the generation notes), so values cannot be loaded.\n",
        );
        s.push_str(&gate);
        writeln!(
            s,
            "#[derive(Debug, Clone, PartialEq)]\npub struct {};",
            gt.name
        )
        .unwrap();
        return;
    }
    let fields = match &gt.ct.def {
        TypeDef::Composite { fields } => fields,
        _ => unreachable!(),
    };
    s.push_str(&gate);
    s.push_str("aep_diesel::composite_type! {\n");
    if writable {
        s.push_str("    writable\n");
    }
    docs(s, "    ");
    s.push_str(&layout::derive_attr(
        &plan.derives(&["Debug", "Clone", "PartialEq"]),
        "    ",
    ));
    writeln!(s, "    pub struct {}({sql}{}) {{", gt.name, gt.name).unwrap();
    for ((ident, m), f) in gt.fields.iter().zip(fields) {
        if ident != &f.name {
            writeln!(s, "        /// Field `{}`.", doc_line(&f.name)).unwrap();
        }
        let rust = m.rust.as_ref().expect("readable").render("");
        writeln!(
            s,
            "        pub {ident}: Option<{rust}> as {},",
            m.sql.render("diesel::sql_types::", &sql)
        )
        .unwrap();
    }
    s.push_str("    }\n}\n");
}

fn enumeration(plan: &Plan<'_>, gt: &GenType<'_>, s: &mut String) {
    let sql = plan.schema_path("sql_types::");
    s.push_str(&plan.gate_marker(&gt.name, ""));
    s.push_str("aep_diesel::enum_type! {\n");
    writeln!(s, "    /// The `{}` enum.", doc_line(&gt.ct.name)).unwrap();
    if let Some(c) = &gt.ct.comment {
        writeln!(s, "    ///\n    /// {}", doc_line(c)).unwrap();
    }
    // print-schema's custom_enum_derives add to the enum's own derives
    let base: Vec<&str> = ["Debug", "Clone", "Copy", "PartialEq", "Eq", "Hash"]
        .into_iter()
        .chain(plan.opts.custom_enum_derives.iter().map(String::as_str))
        .collect();
    s.push_str(&layout::derive_attr(&plan.derives(&base), "    "));
    writeln!(
        s,
        "    pub enum {}({}, {sql}{}) {{",
        gt.name,
        lit(&gt.ct.name),
        gt.name
    )
    .unwrap();
    for (variant, label) in &gt.variants {
        writeln!(s, "        /// `{}`", doc_line(label)).unwrap();
        writeln!(s, "        {variant} = {},", lit(label)).unwrap();
    }
    s.push_str("    }\n}\n");
}
