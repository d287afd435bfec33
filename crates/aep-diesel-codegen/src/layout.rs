//! Line layout for the generated Rust, as rustfmt (edition 2024, default style) would lay it out,
//! so the output needs no formatter: the few constructs the generator writes outside macro bodies,
//! each with rustfmt's rule for it.

/// rustfmt's `max_width`.
pub(crate) const MAX_WIDTH: usize = 100;
/// rustfmt's `fn_call_width`: arguments wider than this go one a line.
const FN_CALL_WIDTH: usize = 60;

fn width(s: &str) -> usize {
    s.chars().count()
}

/// `#[derive(…)]` at `indent`: on one line when it fits; else the derives on one line of their own
/// when that fits; else one derive a line.
pub(crate) fn derive_attr(derives: &str, indent: &str) -> String {
    let one = format!("{indent}#[derive({derives})]\n");
    if width(&one) - 1 <= MAX_WIDTH {
        return one;
    }
    let inner = format!("{indent}    {derives},");
    if width(&inner) <= MAX_WIDTH {
        return format!("{indent}#[derive(\n{inner}\n{indent})]\n");
    }
    let mut s = format!("{indent}#[derive(\n");
    for d in derives.split(", ") {
        s.push_str(&format!("{indent}    {d},\n"));
    }
    s.push_str(&format!("{indent})]\n"));
    s
}

/// A call statement `head(args)tail` at `indent`: on one line when it fits and its arguments are
/// short; else one argument a line, with a trailing comma.
pub(crate) fn call(indent: &str, head: &str, args: &[String], tail: &str) -> String {
    let joined = args.join(", ");
    let one = format!("{indent}{head}({joined}){tail}");
    if width(&one) <= MAX_WIDTH && width(&joined) <= FN_CALL_WIDTH {
        return one + "\n";
    }
    wrapped(indent, head, args, tail)
}

/// A macro call like [`call`] whose one-line form keeps a trailing comma, as print-schema writes
/// `allow_tables_to_appear_in_same_query!(a, b,);` (rustfmt leaves a macro's commas alone).
pub(crate) fn macro_call(indent: &str, head: &str, args: &[String], tail: &str) -> String {
    let joined = format!("{},", args.join(", "));
    let one = format!("{indent}{head}({joined}){tail}");
    if width(&one) <= MAX_WIDTH && width(&joined) <= FN_CALL_WIDTH {
        return one + "\n";
    }
    wrapped(indent, head, args, tail)
}

/// One argument a line, each with its comma.
fn wrapped(indent: &str, head: &str, args: &[String], tail: &str) -> String {
    let mut s = format!("{indent}{head}(\n");
    for a in args {
        s.push_str(&format!("{indent}    {a},\n"));
    }
    s.push_str(&format!("{indent}){tail}\n"));
    s
}

/// A struct field `pub name: ty,` at `indent`: the type goes on the next line when the field is
/// too wide.
pub(crate) fn field(indent: &str, name: &str, ty: &str) -> String {
    let one = format!("{indent}pub {name}: {ty},");
    if width(&one) <= MAX_WIDTH {
        one + "\n"
    } else {
        format!("{indent}pub {name}:\n{indent}    {ty},\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_wrap_like_rustfmt() {
        assert_eq!(derive_attr("Debug, Clone", ""), "#[derive(Debug, Clone)]\n");
        let long = "Debug, Clone, PartialEq, diesel::deserialize::FromSqlRow, diesel::expression::AsExpression";
        assert_eq!(
            derive_attr(long, ""),
            format!("#[derive(\n    {long},\n)]\n")
        );
        let longer = format!("{long}, Copy, Eq, Hash");
        assert!(derive_attr(&longer, "").contains("\n    Copy,\n    Eq,\n"));
    }

    #[test]
    fn calls_wrap_like_rustfmt() {
        assert_eq!(
            call("    ", "f", &["a".into(), "b".into()], ";"),
            "    f(a, b);\n"
        );
        let long: Vec<String> = (0..8).map(|i| format!("argument_{i}")).collect();
        assert!(call("", "f", &long, ";").starts_with("f(\n    argument_0,\n"));
    }
}
