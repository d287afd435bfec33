//! Arrays, composites (records) and ranges, following PostgreSQL 15's `array_in`/`array_out`/
//! `array_recv`, `record_in`/`record_out`/`record_recv` and `range_in`/`range_out`/`range_recv`.

use super::{
    Node, Reader, Res, TextOptions, TypeLookup, binary_to_text_node, is_space, malformed, resolve,
    text_to_binary_node, unrepresentable,
};
use std::ops::Range;

/// The most dimensions an array may have (`MAXDIM`).
const MAXDIM: usize = 6;
/// The most elements an array may have (`MaxArraySize`).
const MAX_ARRAY_SIZE: u64 = 0x3FFF_FFFF / 8;

/// Range flag: the range is empty.
const RANGE_EMPTY: u8 = 0x01;
/// Range flag: the lower bound is inclusive.
const RANGE_LB_INC: u8 = 0x02;
/// Range flag: the upper bound is inclusive.
const RANGE_UB_INC: u8 = 0x04;
/// Range flag: the lower bound is -infinity (absent).
const RANGE_LB_INF: u8 = 0x08;
/// Range flag: the upper bound is +infinity (absent).
const RANGE_UB_INF: u8 = 0x10;

/// Writes a 4-byte length placeholder, lets `f` append the value, then fills the length in.
fn with_length(oid: u32, out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>) -> Res) -> Res {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    f(out)?;
    let len = i32::try_from(out.len() - at - 4)
        .map_err(|_| unrepresentable(oid, "value is longer than 2^31-1 bytes"))?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Patches a big-endian i32 into `out` at `at`.
fn patch_i32(out: &mut [u8], at: usize, v: i32) {
    out[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Skips whitespace from `i`.
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// A signed decimal i32 at `i` (after optional whitespace, as `strtol`); returns it and the end.
fn parse_bound(s: &[u8], i: usize) -> Option<(i64, usize)> {
    let mut i = skip_ws(s, i);
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let n = s
        .get(i..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n == 0 || n > 10 {
        return None;
    }
    let v = s[i..i + n]
        .iter()
        .fold(0i64, |a, &c| a * 10 + i64::from(c - b'0'));
    let v = if neg { -v } else { v };
    i32::try_from(v).ok()?;
    Some((v, i + n))
}

/// What an array element's text is.
enum Elem {
    /// Unquoted NULL.
    Null,
    /// The element's text is this part of the input.
    Slice(Range<usize>),
    /// The element's text had quotes or escapes and has been unescaped into the scratch buffer.
    Scratch,
}

/// Scans one array element starting at `start` (past leading whitespace; not a delimiter) as
/// `array_in` does: backslash escapes anywhere, double-quoted stretches, unquoted whitespace
/// trimmed at the end, unquoted `NULL` (any case) = NULL. Returns the element and where it ends
/// (at the `,` or `}` after it).
fn scan_array_element(
    oid: u32,
    s: &[u8],
    start: usize,
    scratch: &mut Vec<u8>,
) -> Res<(Elem, usize)> {
    let mut j = start;
    let mut in_quotes = false;
    let mut escapes = false;
    let mut quotes = 0usize;
    loop {
        let Some(&c) = s.get(j) else {
            return Err(malformed(oid, "unexpected end of array text"));
        };
        match c {
            b'\\' => {
                if j + 1 >= s.len() {
                    return Err(malformed(oid, "unexpected end of array text"));
                }
                escapes = true;
                j += 2;
                continue;
            }
            b'"' => {
                in_quotes = !in_quotes;
                quotes += 1;
            }
            _ if in_quotes => {}
            b',' | b'}' => break,
            b'{' => return Err(malformed(oid, "unexpected \"{\" in array element")),
            _ => {}
        }
        j += 1;
    }
    let end = j;
    let token = &s[start..end];
    if !escapes && quotes == 0 {
        let len = token
            .iter()
            .rposition(|&c| !is_space(c))
            .map_or(0, |p| p + 1);
        if len == 0 {
            return Err(malformed(oid, "empty array element"));
        }
        if token[..len].eq_ignore_ascii_case(b"NULL") {
            return Ok((Elem::Null, end));
        }
        return Ok((Elem::Slice(start..start + len), end));
    }
    if !escapes && quotes == 2 && token[0] == b'"' {
        let close = token[1..]
            .iter()
            .position(|&c| c == b'"')
            .map_or(0, |p| p + 1);
        if token[close + 1..].iter().all(|&c| is_space(c)) {
            return Ok((Elem::Slice(start + 1..start + close), end));
        }
    }
    // General case: unescape, keeping everything up to the last quoted, escaped or non-space byte.
    scratch.clear();
    let mut keep = 0;
    let mut in_quotes = false;
    let mut k = 0;
    while k < token.len() {
        let c = token[k];
        if c == b'\\' {
            scratch.push(token[k + 1]);
            keep = scratch.len();
            k += 2;
            continue;
        }
        if c == b'"' {
            in_quotes = !in_quotes;
            keep = scratch.len();
        } else {
            scratch.push(c);
            if in_quotes || !is_space(c) {
                keep = scratch.len();
            }
        }
        k += 1;
    }
    scratch.truncate(keep);
    Ok((Elem::Scratch, end))
}

/// array: text (`{1,2,NULL}`, `{{"a b",c},{d,e}}`, `[0:1]={x,y}`, `{}`) to the binary form: i32
/// ndim, i32 has_null, u32 element oid, (i32 length, i32 lower bound) per dimension, then per
/// element an i32 length (-1 = NULL) and the element's binary form.
pub(crate) fn array_text_to_binary(
    oid: u32,
    element: &Node,
    s: &[u8],
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Res {
    let bad = |reason| malformed(oid, reason);
    let mut i = skip_ws(s, 0);
    // Optional dimension decoration: [lb:ub][lb:ub]...=
    let mut decl = [(0i64, 0i64); MAXDIM];
    let mut ndecl = 0;
    while s.get(i) == Some(&b'[') {
        let (a, next) = parse_bound(s, i + 1).ok_or_else(|| bad("invalid array dimensions"))?;
        let (lb, ub, next) = if s.get(next) == Some(&b':') {
            let (b, next) =
                parse_bound(s, next + 1).ok_or_else(|| bad("invalid array dimensions"))?;
            (a, b, next)
        } else {
            (1, a, next)
        };
        if s.get(next) != Some(&b']') {
            return Err(bad("invalid array dimensions"));
        }
        if ub < lb {
            return Err(bad("array upper bound is less than lower bound"));
        }
        *decl
            .get_mut(ndecl)
            .ok_or_else(|| bad("too many array dimensions"))? = (lb, ub);
        ndecl += 1;
        i = skip_ws(s, next + 1);
    }
    if ndecl > 0 {
        if s.get(i) != Some(&b'=') {
            return Err(bad("missing \"=\" after array dimensions"));
        }
        i = skip_ws(s, i + 1);
    }
    if s.get(i) != Some(&b'{') {
        return Err(bad("array text must start with \"{\""));
    }
    // The number of dimensions is the number of leading braces.
    let mut ndim = 0;
    let mut j = i;
    while let Some(&c) = s.get(j) {
        if c == b'{' {
            ndim += 1;
        } else if !is_space(c) {
            break;
        }
        j += 1;
    }
    if ndim > MAXDIM {
        return Err(bad("too many array dimensions"));
    }
    if ndim == 1 && s.get(j) == Some(&b'}') {
        // The empty array.
        if ndecl > 0 {
            return Err(bad("array dimensions do not match array contents"));
        }
        if skip_ws(s, j + 1) != s.len() {
            return Err(bad("junk after closing \"}\""));
        }
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&element.oid.to_be_bytes());
        return Ok(());
    }
    if ndecl > 0 && ndecl != ndim {
        return Err(bad("array dimensions do not match array contents"));
    }
    let header = out.len();
    out.extend_from_slice(&(ndim as i32).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&element.oid.to_be_bytes());
    out.extend_from_slice(&[0; 8 * MAXDIM][..8 * ndim]);

    let mut counts = [0u64; MAXDIM];
    let mut dims = [None::<u64>; MAXDIM];
    let mut depth = 0;
    let mut has_null = false;
    let mut scratch = Vec::new();
    'outer: loop {
        i = skip_ws(s, i);
        if depth < ndim {
            if s.get(i) != Some(&b'{') {
                return Err(bad("array is not rectangular"));
            }
            depth += 1;
            i += 1;
            continue;
        }
        match s.get(i) {
            None => return Err(bad("unexpected end of array text")),
            Some(b',' | b'}') => return Err(bad("empty array element")),
            Some(_) => {}
        }
        let (elem, end) = scan_array_element(oid, s, i, &mut scratch)?;
        match elem {
            Elem::Null => {
                has_null = true;
                out.extend_from_slice(&(-1i32).to_be_bytes());
            }
            Elem::Slice(r) => with_length(oid, out, |out| {
                text_to_binary_node(element, &s[r], opts, out)
            })?,
            Elem::Scratch => with_length(oid, out, |out| {
                text_to_binary_node(element, &scratch, opts, out)
            })?,
        }
        counts[ndim - 1] += 1;
        i = end;
        loop {
            i = skip_ws(s, i);
            match s.get(i) {
                Some(b',') => {
                    i += 1;
                    continue 'outer;
                }
                Some(b'}') => {
                    i += 1;
                    let level = depth - 1;
                    match dims[level] {
                        None => dims[level] = Some(counts[level]),
                        Some(d) if d == counts[level] => {}
                        Some(_) => return Err(bad("array is not rectangular")),
                    }
                    counts[level] = 0;
                    depth -= 1;
                    if depth == 0 {
                        break 'outer;
                    }
                    counts[depth - 1] += 1;
                }
                _ => return Err(bad("unexpected character in array text")),
            }
        }
    }
    if skip_ws(s, i) != s.len() {
        return Err(bad("junk after closing \"}\""));
    }
    let mut nitems: u64 = 1;
    for k in 0..ndim {
        let len = dims[k].unwrap_or(0);
        nitems = nitems.saturating_mul(len);
        let lb = if ndecl > 0 {
            let (lb, ub) = decl[k];
            if u64::try_from(ub - lb + 1) != Ok(len) {
                return Err(bad("array dimensions do not match array contents"));
            }
            lb
        } else {
            1
        };
        let len = i32::try_from(len).map_err(|_| bad("array is too large"))?;
        if lb + i64::from(len) - 1 > i64::from(i32::MAX) {
            return Err(bad("array upper bound is too large"));
        }
        patch_i32(out, header + 12 + 8 * k, len);
        patch_i32(out, header + 16 + 8 * k, lb as i32);
    }
    if nitems > MAX_ARRAY_SIZE {
        return Err(bad("array is too large"));
    }
    patch_i32(out, header + 4, i32::from(has_null));
    Ok(())
}

/// Appends an array element's text, quoted and escaped as `array_out` does when it is empty,
/// is `NULL` in any case, or contains `"`, `\`, `{`, `}`, `,` or whitespace.
fn push_array_element(out: &mut Vec<u8>, v: &[u8]) {
    let quote = v.is_empty()
        || v.eq_ignore_ascii_case(b"NULL")
        || v.iter()
            .any(|&c| matches!(c, b'"' | b'\\' | b'{' | b'}' | b',') || is_space(c));
    if !quote {
        out.extend_from_slice(v);
        return;
    }
    out.push(b'"');
    for &c in v {
        if c == b'"' || c == b'\\' {
            out.push(b'\\');
        }
        out.push(c);
    }
    out.push(b'"');
}

/// array: binary (validated as `array_recv` does; the has_null flag is not trusted, as Diesel
/// writes 0 even with NULL elements) to text as `array_out` writes it.
pub(crate) fn array_binary_to_text(
    oid: u32,
    element: &Node,
    bytes: &[u8],
    types: &dyn TypeLookup,
    depth: u32,
    out: &mut Vec<u8>,
) -> Res {
    let bad = |reason| malformed(oid, reason);
    let mut r = Reader::new(oid, bytes);
    let ndim = usize::try_from(r.i32()?)
        .ok()
        .filter(|&n| n <= MAXDIM)
        .ok_or_else(|| bad("invalid number of array dimensions"))?;
    let flags = r.i32()?;
    if flags != 0 && flags != 1 {
        return Err(bad("invalid array flags"));
    }
    if r.u32()? != element.oid {
        return Err(bad("array has the wrong element type"));
    }
    let mut dims = [(0u64, 0i64); MAXDIM];
    let mut nitems: u64 = if ndim == 0 { 0 } else { 1 };
    for d in dims.iter_mut().take(ndim) {
        let len = u64::try_from(r.i32()?).map_err(|_| bad("negative array dimension"))?;
        let lb = i64::from(r.i32()?);
        if lb + len as i64 - 1 > i64::from(i32::MAX) {
            return Err(bad("array upper bound is too large"));
        }
        nitems = nitems.saturating_mul(len);
        *d = (len, lb);
    }
    if nitems > MAX_ARRAY_SIZE {
        return Err(bad("array is too large"));
    }
    if nitems == 0 {
        r.finish()?;
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    if dims[..ndim].iter().any(|&(_, lb)| lb != 1) {
        for &(len, lb) in &dims[..ndim] {
            out.push(b'[');
            super::push_i64(out, lb);
            out.push(b':');
            super::push_i64(out, lb + len as i64 - 1);
            out.push(b']');
        }
        out.push(b'=');
    }
    // strides[k] = number of elements in one sub-array at level k.
    let mut strides = [1u64; MAXDIM];
    for k in (0..ndim).rev() {
        strides[k] = dims[k].0 * if k + 1 < ndim { strides[k + 1] } else { 1 };
    }
    let strides = &strides[..ndim];
    let mut scratch = Vec::new();
    for n in 0..nitems {
        for &st in strides {
            if n % st == 0 {
                out.push(b'{');
            }
        }
        let len = r.i32()?;
        if len == -1 {
            out.extend_from_slice(b"NULL");
        } else {
            let len = usize::try_from(len).map_err(|_| bad("invalid element length"))?;
            let value = r.take(len)?;
            scratch.clear();
            binary_to_text_node(element, value, types, depth + 1, &mut scratch)?;
            push_array_element(out, &scratch);
        }
        for &st in strides {
            if (n + 1) % st == 0 {
                out.push(b'}');
            }
        }
        if n + 1 < nitems {
            out.push(b',');
        }
    }
    r.finish()
}

/// What a record field's or range bound's text is.
enum Field {
    /// Nothing between the delimiters: NULL (or an infinite range bound).
    Empty,
    /// Unquoted, unescaped text at this part of the input.
    Plain(Range<usize>),
    /// Quoted text without escapes at this part of the input.
    Quoted(Range<usize>),
    /// Text with escapes, unescaped into the scratch buffer.
    Scratch,
}

/// Scans a record field or range bound from `start` as `record_in` / `range_parse_bound` do:
/// empty = NULL, otherwise up to an unquoted `,` or one of `closers`, with `\x` = x anywhere,
/// double-quoted stretches, and `""` inside quotes = `"`. Whitespace is part of the value.
fn scan_field(
    oid: u32,
    s: &[u8],
    start: usize,
    closers: &[u8],
    scratch: &mut Vec<u8>,
) -> Res<(Field, usize)> {
    let ends = |c: u8| c == b',' || closers.contains(&c);
    let eof = || malformed(oid, "unexpected end of text");
    match s.get(start) {
        None => return Err(eof()),
        Some(&c) if ends(c) => return Ok((Field::Empty, start)),
        Some(_) => {}
    }
    let mut j = start;
    let mut in_quotes = false;
    let mut escapes = false;
    let mut quotes = 0usize;
    loop {
        let c = *s.get(j).ok_or_else(eof)?;
        if !in_quotes && ends(c) {
            break;
        }
        j += 1;
        if c == b'\\' {
            if j >= s.len() {
                return Err(eof());
            }
            escapes = true;
            j += 1;
        } else if c == b'"' {
            if !in_quotes {
                in_quotes = true;
                quotes += 1;
            } else if s.get(j) == Some(&b'"') {
                escapes = true;
                j += 1;
            } else {
                in_quotes = false;
                quotes += 1;
            }
        }
    }
    let end = j;
    let token = &s[start..end];
    if !escapes && quotes == 0 {
        return Ok((Field::Plain(start..end), end));
    }
    if !escapes && quotes == 2 && token[0] == b'"' && token[token.len() - 1] == b'"' {
        return Ok((Field::Quoted(start + 1..end - 1), end));
    }
    scratch.clear();
    let mut in_quotes = false;
    let mut k = 0;
    while k < token.len() {
        let c = token[k];
        k += 1;
        if c == b'\\' {
            scratch.push(token[k]);
            k += 1;
        } else if c == b'"' {
            if !in_quotes {
                in_quotes = true;
            } else if token.get(k) == Some(&b'"') {
                scratch.push(b'"');
                k += 1;
            } else {
                in_quotes = false;
            }
        } else {
            scratch.push(c);
        }
    }
    Ok((Field::Scratch, end))
}

/// composite: text (`(1,"a b",,"(x,)")`) to the binary form: i32 nfields, then per field the u32
/// field type oid, an i32 length (-1 = NULL) and the field's binary form.
pub(crate) fn record_text_to_binary(
    oid: u32,
    fields: &[Node],
    s: &[u8],
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Res {
    let bad = |reason| malformed(oid, reason);
    let mut i = skip_ws(s, 0);
    if s.get(i) != Some(&b'(') {
        return Err(bad("missing left parenthesis"));
    }
    i += 1;
    let n = i32::try_from(fields.len()).map_err(|_| bad("too many columns"))?;
    out.extend_from_slice(&n.to_be_bytes());
    let mut scratch = Vec::new();
    for (k, field) in fields.iter().enumerate() {
        if k > 0 {
            if s.get(i) != Some(&b',') {
                return Err(bad("too few columns"));
            }
            i += 1;
        }
        let (value, end) = scan_field(oid, s, i, b")", &mut scratch)?;
        i = end;
        out.extend_from_slice(&field.oid.to_be_bytes());
        let text = match value {
            Field::Empty => None,
            Field::Plain(r)
                if opts.literal_null_in_records && s[r.clone()].eq_ignore_ascii_case(b"NULL") =>
            {
                None
            }
            Field::Plain(r) | Field::Quoted(r) => Some(&s[r]),
            Field::Scratch => Some(&scratch[..]),
        };
        match text {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(t) => with_length(oid, out, |out| text_to_binary_node(field, t, opts, out))?,
        }
    }
    if s.get(i) != Some(&b')') {
        return Err(bad("too many columns"));
    }
    if skip_ws(s, i + 1) != s.len() {
        return Err(bad("junk after right parenthesis"));
    }
    Ok(())
}

/// Appends a record field's text, quoted (with `"` and `\` doubled) as `record_out` does when it
/// is empty or contains `"`, `\`, `(`, `)`, `,` or whitespace, and also when it is `NULL` in any
/// case (so that a server reading unquoted NULL as NULL still sees the string).
fn push_record_field(out: &mut Vec<u8>, v: &[u8]) {
    let quote = v.is_empty()
        || v.eq_ignore_ascii_case(b"NULL")
        || v.iter()
            .any(|&c| matches!(c, b'"' | b'\\' | b'(' | b')' | b',') || is_space(c));
    push_doubled(out, v, quote);
}

/// Appends `v`, with `"` and `\` doubled, in double quotes when `quote`.
fn push_doubled(out: &mut Vec<u8>, v: &[u8], quote: bool) {
    if quote {
        out.push(b'"');
    }
    for &c in v {
        if c == b'"' || c == b'\\' {
            out.push(c);
        }
        out.push(c);
    }
    if quote {
        out.push(b'"');
    }
}

/// composite / anonymous record (`fields` None: field types from the binary form): binary
/// (validated as `record_recv` does) to text as `record_out` writes it (a NULL field is empty).
pub(crate) fn record_binary_to_text(
    oid: u32,
    fields: Option<&[Node]>,
    bytes: &[u8],
    types: &dyn TypeLookup,
    depth: u32,
    out: &mut Vec<u8>,
) -> Res {
    let bad = |reason| malformed(oid, reason);
    let mut r = Reader::new(oid, bytes);
    let n = usize::try_from(r.i32()?).map_err(|_| bad("negative number of columns"))?;
    if fields.is_some_and(|f| f.len() != n) {
        return Err(bad("wrong number of columns"));
    }
    out.push(b'(');
    let mut scratch = Vec::new();
    for k in 0..n {
        if k > 0 {
            out.push(b',');
        }
        let field_oid = r.u32()?;
        let len = r.i32()?;
        let resolved;
        let node = match fields {
            Some(f) => {
                let node = &f[k];
                if node.oid != field_oid {
                    return Err(bad("binary field type differs from the composite's"));
                }
                node
            }
            None => {
                resolved = resolve(field_oid, types, depth + 1)?;
                &resolved
            }
        };
        if len == -1 {
            continue;
        }
        let len = usize::try_from(len).map_err(|_| bad("invalid field length"))?;
        let value = r.take(len)?;
        scratch.clear();
        binary_to_text_node(node, value, types, depth + 1, &mut scratch)?;
        push_record_field(out, &scratch);
    }
    r.finish()?;
    out.push(b')');
    Ok(())
}

/// range: text (`empty`, `[1,5)`, `(,3]`, `["a b",)`) to the binary form: u8 flags, then for
/// each present bound an i32 length and the subtype's binary form. Flags are transcribed (an
/// infinite bound is never inclusive); discrete ranges are not re-canonicalised.
pub(crate) fn range_text_to_binary(
    oid: u32,
    subtype: &Node,
    s: &[u8],
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Res {
    let bad = |reason| malformed(oid, reason);
    let mut i = skip_ws(s, 0);
    if s.get(i..i + 5)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"empty"))
    {
        if skip_ws(s, i + 5) != s.len() {
            return Err(bad("junk after \"empty\""));
        }
        out.push(RANGE_EMPTY);
        return Ok(());
    }
    let mut flags = match s.get(i) {
        Some(b'[') => RANGE_LB_INC,
        Some(b'(') => 0,
        _ => return Err(bad("missing left parenthesis or bracket")),
    };
    let mut lower_scratch = Vec::new();
    let mut upper_scratch = Vec::new();
    let (lower, end) = scan_field(oid, s, i + 1, b")]", &mut lower_scratch)?;
    i = end;
    if s.get(i) != Some(&b',') {
        return Err(bad("missing comma after lower bound"));
    }
    let (upper, end) = scan_field(oid, s, i + 1, b")]", &mut upper_scratch)?;
    i = end;
    match s.get(i) {
        Some(b']') => flags |= RANGE_UB_INC,
        Some(b')') => {}
        _ => return Err(bad("missing right parenthesis or bracket")),
    }
    if skip_ws(s, i + 1) != s.len() {
        return Err(bad("junk after right parenthesis or bracket"));
    }
    if matches!(lower, Field::Empty) {
        flags = (flags | RANGE_LB_INF) & !RANGE_LB_INC;
    }
    if matches!(upper, Field::Empty) {
        flags = (flags | RANGE_UB_INF) & !RANGE_UB_INC;
    }
    out.push(flags);
    for (f, scratch) in [(lower, &lower_scratch), (upper, &upper_scratch)] {
        let t: &[u8] = match f {
            Field::Empty => continue,
            Field::Plain(r) | Field::Quoted(r) => &s[r],
            Field::Scratch => scratch,
        };
        with_length(oid, out, |out| text_to_binary_node(subtype, t, opts, out))?;
    }
    Ok(())
}

/// Appends a range bound's text as `range_bound_escape` does: quoted when empty or containing
/// `"`, `\`, `(`, `)`, `[`, `]`, `,` or whitespace, with `"` and `\` doubled.
fn push_range_bound(out: &mut Vec<u8>, v: &[u8]) {
    let quote = v.is_empty()
        || v.iter()
            .any(|&c| matches!(c, b'"' | b'\\' | b'(' | b')' | b'[' | b']' | b',') || is_space(c));
    push_doubled(out, v, quote);
}

/// range: binary (flags validated; bounds as `range_recv` reads them) to text as `range_out`
/// writes it.
pub(crate) fn range_binary_to_text(
    oid: u32,
    subtype: &Node,
    bytes: &[u8],
    types: &dyn TypeLookup,
    depth: u32,
    out: &mut Vec<u8>,
) -> Res {
    let bad = |reason| malformed(oid, reason);
    let mut r = Reader::new(oid, bytes);
    let flags = r.u8()?;
    if flags & !(RANGE_EMPTY | RANGE_LB_INC | RANGE_UB_INC | RANGE_LB_INF | RANGE_UB_INF) != 0 {
        return Err(bad("invalid range flags"));
    }
    if flags & RANGE_EMPTY != 0 {
        r.finish()?;
        out.extend_from_slice(b"empty");
        return Ok(());
    }
    let lower = read_bound(&mut r, flags & RANGE_LB_INF == 0)?;
    let upper = read_bound(&mut r, flags & RANGE_UB_INF == 0)?;
    r.finish()?;
    let mut scratch = Vec::new();
    out.push(if lower.is_some() && flags & RANGE_LB_INC != 0 {
        b'['
    } else {
        b'('
    });
    if let Some(v) = lower {
        binary_to_text_node(subtype, v, types, depth + 1, &mut scratch)?;
        push_range_bound(out, &scratch);
    }
    out.push(b',');
    if let Some(v) = upper {
        scratch.clear();
        binary_to_text_node(subtype, v, types, depth + 1, &mut scratch)?;
        push_range_bound(out, &scratch);
    }
    out.push(if upper.is_some() && flags & RANGE_UB_INC != 0 {
        b']'
    } else {
        b')'
    });
    Ok(())
}

/// Reads a range bound (i32 length + bytes) when `present`.
fn read_bound<'a>(r: &mut Reader<'a>, present: bool) -> Res<Option<&'a [u8]>> {
    if !present {
        return Ok(None);
    }
    let len = usize::try_from(r.i32()?).map_err(|_| r.malformed("invalid bound length"))?;
    Ok(Some(r.take(len)?))
}
