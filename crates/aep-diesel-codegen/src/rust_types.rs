//! `types.rs`: Rust structs for composite types, Rust enums for enum types, and read support for
//! configured unknown types.

use std::fmt::Write;

use super::naming::{doc_line, lit};
use super::{GenType, HEADER, Plan};
use aep_diesel_schema::TypeDef;

const SQL: &str = "super::schema::sql_types::";

pub(crate) fn render(plan: &Plan<'_>) -> String {
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
        writeln!(
            s,
            "/// Reads `{}` values as `{rust}` (their binary wire format is UTF-8 text).",
            doc_line(&u.pg_name)
        )
        .unwrap();
        s.push_str(&plan.gate_marker(&u.marker, ""));
        writeln!(
            s,
            "impl diesel::deserialize::FromSql<{SQL}{}, diesel::pg::Pg> for {rust} {{",
            u.marker
        )
        .unwrap();
        s.push_str("    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {\n");
        writeln!(
            s,
            "        <{rust} as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(value)"
        )
        .unwrap();
        s.push_str("    }\n}\n");
    }
    s
}

fn composite(plan: &Plan<'_>, gt: &GenType<'_>, s: &mut String) {
    let gate = plan.gate_marker(&gt.name, "");
    let readable = gt.fields.iter().all(|(_, m)| m.rust.is_some());
    let writable = readable && gt.fields.iter().all(|(_, m)| m.writable);
    writeln!(s, "/// The `{}` composite type.", doc_line(&gt.ct.name)).unwrap();
    if let Some(c) = &gt.ct.comment {
        writeln!(s, "///\n/// {}", doc_line(c)).unwrap();
    }
    if !readable {
        // A field without a Rust type: keep the type opaque rather than guess.
        writeln!(
            s,
            "///\n/// Some fields have no Rust type (see mod.rs notes), so values cannot be loaded."
        )
        .unwrap();
        writeln!(
            s,
            "{gate}#[derive(Debug, Clone, PartialEq)]\npub struct {};",
            gt.name
        )
        .unwrap();
        return;
    }
    let mut base = vec![
        "Debug",
        "Clone",
        "PartialEq",
        "diesel::deserialize::FromSqlRow",
    ];
    if writable {
        base.push("diesel::expression::AsExpression");
    }
    s.push_str(&gate);
    writeln!(s, "#[derive({})]", plan.derives(&base)).unwrap();
    writeln!(s, "#[diesel(sql_type = {SQL}{})]", gt.name).unwrap();
    writeln!(s, "pub struct {} {{", gt.name).unwrap();
    let fields = match &gt.ct.def {
        TypeDef::Composite { fields } => fields,
        _ => unreachable!(),
    };
    for ((ident, m), f) in gt.fields.iter().zip(fields) {
        if ident != &f.name {
            writeln!(s, "    /// Field `{}`.", doc_line(&f.name)).unwrap();
        }
        let rust = m.rust.as_ref().expect("readable").render("");
        writeln!(s, "    pub {ident}: Option<{rust}>,").unwrap();
    }
    s.push_str("}\n\n");
    let sts: Vec<String> = gt
        .fields
        .iter()
        .map(|(_, m)| {
            format!(
                "diesel::sql_types::Nullable<{}>",
                m.sql.render("diesel::sql_types::", SQL)
            )
        })
        .collect();
    let rts: Vec<String> = gt
        .fields
        .iter()
        .map(|(_, m)| format!("Option<{}>", m.rust.as_ref().expect("readable").render("")))
        .collect();
    let idents: Vec<&str> = gt.fields.iter().map(|(i, _)| i.as_str()).collect();
    let tuple = |items: &[String]| {
        if items.len() == 1 {
            format!("({},)", items[0])
        } else {
            format!("({})", items.join(", "))
        }
    };
    let st = tuple(&sts);
    s.push_str(&gate);
    writeln!(
        s,
        "impl diesel::deserialize::FromSql<{SQL}{}, diesel::pg::Pg> for {} {{",
        gt.name, gt.name
    )
    .unwrap();
    s.push_str(
        "    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {\n",
    );
    writeln!(
        s,
        "        let {} = <{} as diesel::deserialize::FromSql<diesel::sql_types::Record<{st}>, diesel::pg::Pg>>::from_sql(value)?;",
        tuple(&idents.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        tuple(&rts)
    )
    .unwrap();
    writeln!(s, "        Ok(Self {{ {} }})", idents.join(", ")).unwrap();
    s.push_str("    }\n}\n");
    if writable {
        s.push('\n');
        s.push_str(&gate);
        writeln!(
            s,
            "impl diesel::serialize::ToSql<{SQL}{}, diesel::pg::Pg> for {} {{",
            gt.name, gt.name
        )
        .unwrap();
        s.push_str(
            "    fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {\n",
        );
        let refs: Vec<String> = idents.iter().map(|i| format!("&self.{i}")).collect();
        writeln!(
            s,
            "        diesel::serialize::WriteTuple::<{st}>::write_tuple(&{}, &mut out.reborrow())",
            tuple(&refs)
        )
        .unwrap();
        s.push_str("    }\n}\n");
    }
}

fn enumeration(plan: &Plan<'_>, gt: &GenType<'_>, s: &mut String) {
    let gate = plan.gate_marker(&gt.name, "");
    writeln!(s, "/// The `{}` enum.", doc_line(&gt.ct.name)).unwrap();
    if let Some(c) = &gt.ct.comment {
        writeln!(s, "///\n/// {}", doc_line(c)).unwrap();
    }
    let base = [
        "Debug",
        "Clone",
        "Copy",
        "PartialEq",
        "Eq",
        "Hash",
        "diesel::deserialize::FromSqlRow",
        "diesel::expression::AsExpression",
    ];
    s.push_str(&gate);
    writeln!(s, "#[derive({})]", plan.derives(&base)).unwrap();
    writeln!(s, "#[diesel(sql_type = {SQL}{})]", gt.name).unwrap();
    writeln!(s, "pub enum {} {{", gt.name).unwrap();
    for (variant, label) in &gt.variants {
        writeln!(s, "    /// `{}`", doc_line(label)).unwrap();
        writeln!(s, "    {variant},").unwrap();
    }
    s.push_str("}\n\n");
    s.push_str(&gate);
    writeln!(s, "impl {} {{", gt.name).unwrap();
    s.push_str("    /// The label as stored in the database.\n");
    s.push_str("    pub fn as_str(&self) -> &'static str {\n        match self {\n");
    for (variant, label) in &gt.variants {
        writeln!(s, "            Self::{variant} => {},", lit(label)).unwrap();
    }
    s.push_str("        }\n    }\n}\n\n");
    s.push_str(&gate);
    writeln!(
        s,
        "impl diesel::serialize::ToSql<{SQL}{}, diesel::pg::Pg> for {} {{",
        gt.name, gt.name
    )
    .unwrap();
    s.push_str(
        "    fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {\n\
         \x20       std::io::Write::write_all(out, self.as_str().as_bytes())?;\n\
         \x20       Ok(diesel::serialize::IsNull::No)\n\
         \x20   }\n}\n\n",
    );
    s.push_str(&gate);
    writeln!(
        s,
        "impl diesel::deserialize::FromSql<{SQL}{}, diesel::pg::Pg> for {} {{",
        gt.name, gt.name
    )
    .unwrap();
    s.push_str(
        "    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {\n",
    );
    s.push_str("        match std::str::from_utf8(value.as_bytes())? {\n");
    for (variant, label) in &gt.variants {
        writeln!(s, "            {} => Ok(Self::{variant}),", lit(label)).unwrap();
    }
    writeln!(
        s,
        "            other => Err(format!(\"unknown {{}} label {{other:?}}\", {}).into()),",
        lit(&gt.ct.name)
    )
    .unwrap();
    s.push_str("        }\n    }\n}\n");
}
