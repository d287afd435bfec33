//! Rust names for SQL names: valid, keyword-free, collision-free, deterministic.

use std::collections::BTreeSet;

/// Every Rust keyword, strict and reserved, through the 2024 edition (`gen` included), plus the weak
/// keywords that break in some positions.
const KEYWORDS: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "macro_rules",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "raw",
    "ref",
    "return",
    "safe",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// Whether `s` is a Rust keyword.
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// A snake_case identifier for `name`: ASCII letters lower-cased (camel humps split), every other run
/// of characters replaced by `_`, a leading digit prefixed with `_`, keywords suffixed with `_`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() {
                let prev = i.checked_sub(1).map(|j| chars[j]);
                let next = chars.get(i + 1);
                let hump = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                    || (prev.is_some_and(|p| p.is_ascii_uppercase())
                        && next.is_some_and(|n| n.is_ascii_lowercase()));
                if hump && !out.ends_with('_') {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        } else if c == '_' || !out.ends_with('_') {
            // underscores are kept as written; any other run becomes one `_`
            out.push('_');
        }
    }
    // drop a trailing `_` that stands for replaced characters, keep underscores the name really has
    if out.ends_with('_') && !name.ends_with('_') {
        out.pop();
    }
    if out.is_empty() || (out.chars().all(|c| c == '_') && !name.chars().all(|c| c == '_')) {
        out = "unnamed".to_string();
    }
    if out == "_" {
        out.push_str("unnamed");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

/// The names diesel print-schema suffixes with `_` (its `RESERVED_NAMES`): the keywords of Rust
/// 2015 and a few more, and its own internal names.
const DIESEL_RESERVED: &[&str] = &[
    "abstract",
    "alignof",
    "as",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "offsetof",
    "override",
    "priv",
    "proc",
    "pub",
    "pure",
    "ref",
    "return",
    "Self",
    "self",
    "sizeof",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "bool",
    "table",
    "columns",
    "is_nullable",
];

/// The identifier diesel print-schema writes for the SQL name `name` (`table_ident`: the table's
/// identifier, for a column), when that is a valid Rust identifier: a name on print-schema's
/// reserved list (most keywords, as of Rust 2015, and diesel's internal names), a name starting
/// with `__`, or a column named like its table
/// gets a trailing `_`; other characters than ASCII letters, digits and `_` become `_` (runs
/// collapsed); anything else is kept as it is, case included (`User`, `CustomSchema`). `None`
/// where diesel's rule gives no valid identifier (a leading digit, a keyword its list lacks, such
/// as `await`, `dyn`, `try`, `gen`).
pub fn diesel_ident(name: &str, table_ident: Option<&str>) -> Option<String> {
    let out = diesel_raw_ident(name, table_ident);
    let valid = out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && out != "_"
        && !is_keyword(&out);
    valid.then_some(out)
}

/// What print-schema's rule makes of `name`, valid Rust or not (see [`diesel_ident`]).
pub fn diesel_raw_ident(name: &str, table_ident: Option<&str>) -> String {
    let reserved = DIESEL_RESERVED.contains(&name)
        || (name.starts_with("__") && !name.ends_with('_'))
        || table_ident == Some(name);
    if reserved {
        format!("{name}_")
    } else if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        let mut out = String::with_capacity(name.len());
        for c in name.chars() {
            let c = if c.is_ascii_alphanumeric() { c } else { '_' };
            if !(c == '_' && out.ends_with("__")) {
                out.push(c);
            }
        }
        while out.contains("__") {
            out = out.replace("__", "_");
        }
        out
    }
}

/// The contextual keywords aep-diesel does not use as identifiers, though Rust accepts them in
/// most places (`union`, `raw`, `safe`, `macro_rules`).
pub fn is_weak_keyword(s: &str) -> bool {
    matches!(s, "union" | "raw" | "safe" | "macro_rules")
}

/// A `table!` identifier for `name`: [`diesel_ident`]'s where valid, else [`snake`]'s; one of
/// `reserved` gets a trailing `_`.
pub fn table_macro_ident(name: &str, table_ident: Option<&str>, reserved: &[&str]) -> String {
    let ident = diesel_ident(name, table_ident).unwrap_or_else(|| snake(name));
    if reserved.contains(&ident.as_str()) {
        ident + "_"
    } else {
        ident
    }
}

/// A PascalCase type name for `name`.
pub fn pascal(name: &str) -> String {
    let snake = snake(name);
    let mut out = String::new();
    let mut upper = true;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'T');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

/// The singular of an English plural table name's last word, as Diesel users name row structs
/// (`customers` → `customer`, `order_items` → `order_item`, `categories` → `category`); words that do
/// not look plural (`luma_web_data`, `status`, `analysis`) stay as they are.
pub fn singular(name: &str) -> String {
    let (head, last) = match name.rfind('_') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    let lower = last.to_ascii_lowercase();
    let keep = |n: usize| format!("{head}{}", &last[..last.len() - n]);
    let unchanged = [
        "data", "news", "series", "species", "status", "bus", "gas", "access", "analysis",
    ];
    if last.len() < 3 || unchanged.contains(&lower.as_str()) || !lower.is_ascii() {
        return name.to_string();
    }
    if lower.ends_with("ies") && last.len() > 3 {
        return format!("{}y", keep(3));
    }
    if ["sses", "shes", "ches", "xes", "zes"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return keep(2);
    }
    if lower.ends_with('s') && !["ss", "us", "is"].iter().any(|e| lower.ends_with(e)) {
        return keep(1);
    }
    name.to_string()
}

/// Hands out names, never the same one twice and never a reserved one: a clash gets `_2`, `_3`, …
#[derive(Debug, Default)]
pub struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    /// A set in which `reserved` are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Names {
            taken: reserved.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Reserve `name` if free, else the first free `name_N` (`NameN` for type names, `name_N` after `_`).
    pub fn claim(&mut self, name: String) -> String {
        if self.taken.insert(name.clone()) {
            return name;
        }
        // `Type2`, `self_2`, `name_2`: never a double underscore, which rustc's lints reject
        let glued = name.starts_with(|c: char| c.is_ascii_uppercase()) || name.ends_with('_');
        (2..)
            .map(|n| {
                if glued {
                    format!("{name}{n}")
                } else {
                    format!("{name}_{n}")
                }
            })
            .find(|candidate| self.taken.insert(candidate.clone()))
            .expect("an unused suffix exists")
    }
}

/// A Rust string literal for `s`.
pub fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// `s` as a Rust string literal the way print-schema writes names in `schema.rs`: a raw string
/// (with one `#` more than the text holds) when it contains a quote, so the name reads as it is.
/// Text with a control character keeps the escaped form (a raw string cannot hold a bare CR).
pub fn schema_lit(s: &str) -> String {
    if s.contains('"') && !s.chars().any(char::is_control) {
        let hashes = "#".repeat(s.matches('#').count() + 1);
        return format!("r{hashes}\"{s}\"{hashes}");
    }
    lit(s)
}

/// `s` as a single line for a `///` or `//` comment.
pub fn doc_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod literal_tests {
    use super::schema_lit;

    #[test]
    fn names_with_quotes_are_raw_strings_that_hold_them() {
        assert_eq!(schema_lit("plain"), "\"plain\"");
        assert_eq!(schema_lit("a\"b"), "r#\"a\"b\"#");
        // more hashes than the text holds, so `"#` inside cannot end it
        assert_eq!(schema_lit("x\"# y"), "r##\"x\"# y\"##");
        assert_eq!(schema_lit("a\"\r"), "\"a\\\"\\r\"");
        assert_eq!(schema_lit("back\\slash"), "\"back\\\\slash\"");
    }
}

#[cfg(test)]
mod singular_tests {
    #[test]
    fn plural_table_names_become_singular() {
        for (plural, one) in [
            ("customers", "customer"),
            ("order_items", "order_item"),
            ("categories", "category"),
            ("web_sessions", "web_session"),
            ("boxes", "box"),
            ("addresses", "address"),
            ("luma_web_data", "luma_web_data"),
            ("status", "status"),
            ("match", "match"),
            ("2024_campaigns", "2024_campaign"),
            ("daily_event_counts", "daily_event_count"),
            ("Web Sessions", "Web Session"),
        ] {
            assert_eq!(super::singular(plural), one, "{plural}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_names() {
        assert_eq!(snake("Web Sessions"), "web_sessions");
        assert_eq!(snake("2024_campaigns"), "_2024_campaigns");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("gen"), "gen_");
        assert_eq!(snake("SessionID"), "session_id");
        assert_eq!(snake("userId"), "user_id");
        assert_eq!(snake("a.b\"c"), "a_b_c");
        assert_eq!(snake("_id"), "_id");
        assert_eq!(snake("__"), "__");
        assert_eq!(snake("é"), "unnamed");
        assert_eq!(snake("_"), "_unnamed");
        assert_eq!(snake("foo_"), "foo_");
        assert_eq!(snake("foo?"), "foo");
        assert_eq!(snake("a  b"), "a_b");
        assert_eq!(snake("self"), "self_");
        assert_eq!(pascal("luma_web_data"), "LumaWebData");
        assert_eq!(pascal("2024 campaigns"), "T2024Campaigns");
        assert_eq!(pascal("self"), "Self_");
    }

    #[test]
    fn diesel_identifiers_where_they_are_valid() {
        for (name, table, want) in [
            ("User", None, Some("User")),
            ("CustomSchema", None, Some("CustomSchema")),
            ("type", None, Some("type_")),
            ("table", Some("t"), Some("table_")),
            ("is_nullable", Some("t"), Some("is_nullable_")),
            ("a", Some("a"), Some("a_")),
            ("Session ID", Some("t"), Some("Session_ID")),
            (
                "user-has::complex>>>role",
                None,
                Some("user_has_complex_role"),
            ),
            ("__meta", None, Some("__meta_")),
            ("2024_campaigns", None, None),
            // print-schema's list has these, not the keywords newer than Rust 2015
            ("abstract", None, Some("abstract_")),
            ("sizeof", None, Some("sizeof_")),
            ("try", None, None),
            ("await", None, None),
            ("é", None, None),
        ] {
            assert_eq!(diesel_ident(name, table).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn names_never_collide() {
        let mut n = Names::with_reserved(&["table"]);
        assert_eq!(n.claim("table".into()), "table_2");
        assert_eq!(n.claim("a".into()), "a");
        assert_eq!(n.claim("a".into()), "a_2");
        assert_eq!(n.claim("A".into()), "A");
        assert_eq!(n.claim("A".into()), "A2");
    }
}
