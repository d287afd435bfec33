//! What the stand-in refuses or rewrites in SQL text, decided from a light tokenisation (no parser):
//! quotes, dollar quotes and comments are skipped properly so that a `;`, `UPDATE` or `LIMIT` inside a
//! string never counts, and each `;`-separated statement is judged by its leading keywords.
//!
//! The sources of each rule are in platform-facts.md: "Writes" (updates are not supported; DELETE is
//! undocumented), "Protocol" (COPY protocol: assume not; Spark-style `SET key = value` works), "Limits"
//! (50,000 rows by default, LIMIT over 100,000 fails with 53400) and "Catalog and metadata" (the
//! Adobe-only SHOW commands).

use std::collections::HashSet;
use std::ops::Range;

use super::RefusalKind;
use super::metadata::{self, Keys};

/// Kinds of token; whitespace and comments are dropped by the lexer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// Keyword or unquoted identifier.
    Word,
    /// `"quoted identifier"`.
    QIdent,
    /// `'string'`, `E'string'`, `$tag$string$tag$`.
    Str,
    /// Numeric literal.
    Num,
    /// `$n` parameter.
    Param,
    /// One of `( ) , ; [ ] . :`.
    Punct(u8),
    /// Operator characters.
    Op,
}

/// A token: its kind and byte range in the SQL text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

const OP_CHARS: &[u8] = b"+-*/<>=~!@#%^&|`?";

/// End of a quoted string starting at `i` (the opening quote); `backslash` for `E'…'` strings. An
/// unterminated string runs to the end, as PostgreSQL would complain about anyway.
fn skip_quoted(sql: &[u8], mut i: usize, quote: u8, backslash: bool) -> usize {
    i += 1;
    while i < sql.len() {
        let c = sql[i];
        if backslash && c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if sql.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    sql.len()
}

/// The end of a `$tag$` opening delimiter at `i`, if one starts there.
fn dollar_tag(sql: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if sql.get(j).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    while j < sql.len() && (is_ident_cont(sql[j]) && sql[j] != b'$') {
        j += 1;
    }
    (sql.get(j) == Some(&b'$')).then_some(j + 1)
}

/// Tokenise SQL text (any ASCII-compatible encoding).
pub(crate) fn lex(sql: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let n = sql.len();
    let mut i = 0;
    while i < n {
        let c = sql[i];
        let next = sql.get(i + 1).copied();
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && next == Some(b'-') {
            while i < n && sql[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && next == Some(b'*') {
            let mut depth = 0;
            while i < n {
                if sql[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if sql[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        let start = i;
        let kind = if c == b'\'' {
            i = skip_quoted(sql, i, b'\'', false);
            Kind::Str
        } else if (c == b'e' || c == b'E') && next == Some(b'\'') {
            i = skip_quoted(sql, i + 1, b'\'', true);
            Kind::Str
        } else if c == b'"' {
            i = skip_quoted(sql, i, b'"', false);
            Kind::QIdent
        } else if c == b'$' && next.is_some_and(|d| d.is_ascii_digit()) {
            i += 1;
            while i < n && sql[i].is_ascii_digit() {
                i += 1;
            }
            Kind::Param
        } else if c == b'$' {
            match dollar_tag(sql, i) {
                Some(body) => {
                    let tag = &sql[i..body];
                    i = sql[body..]
                        .windows(tag.len())
                        .position(|w| w == tag)
                        .map_or(n, |p| body + p + tag.len());
                    Kind::Str
                }
                None => {
                    i += 1;
                    Kind::Op
                }
            }
        } else if is_ident_start(c) {
            while i < n && is_ident_cont(sql[i]) {
                i += 1;
            }
            Kind::Word
        } else if c.is_ascii_digit() || (c == b'.' && next.is_some_and(|d| d.is_ascii_digit())) {
            while i < n && (sql[i].is_ascii_digit() || sql[i] == b'.' || sql[i] == b'_') {
                i += 1;
            }
            if i < n && (sql[i] == b'e' || sql[i] == b'E') {
                let mut j = i + 1;
                if j < n && (sql[j] == b'+' || sql[j] == b'-') {
                    j += 1;
                }
                if j < n && sql[j].is_ascii_digit() {
                    i = j;
                    while i < n && sql[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            Kind::Num
        } else if b"(),;[].:".contains(&c) {
            i += 1;
            Kind::Punct(c)
        } else if OP_CHARS.contains(&c) {
            while i < n
                && OP_CHARS.contains(&sql[i])
                && !sql[i..].starts_with(b"--")
                && !sql[i..].starts_with(b"/*")
            {
                i += 1;
            }
            Kind::Op
        } else {
            i += 1;
            Kind::Op
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// One `;`-separated statement: its byte range (without the `;`) and its tokens.
#[derive(Debug)]
pub(crate) struct Statement {
    pub range: Range<usize>,
    pub tokens: Vec<Token>,
}

/// The non-empty statements of a query string, in order. PostgreSQL answers each non-empty statement
/// of a simple Query with one CommandComplete (or stops at an error), which is how results are matched
/// back to statements.
pub(crate) fn statements(sql: &[u8]) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut tokens = Vec::new();
    for t in lex(sql) {
        if t.kind == Kind::Punct(b';') {
            if !tokens.is_empty() {
                out.push(Statement {
                    range: start..t.start,
                    tokens: std::mem::take(&mut tokens),
                });
            }
            start = t.end;
        } else {
            tokens.push(t);
        }
    }
    if !tokens.is_empty() {
        out.push(Statement {
            range: start..sql.len(),
            tokens,
        });
    }
    out
}

/// What a statement's own row limit is, which decides whether the row cap applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    /// None: the row cap applies.
    None,
    /// `LIMIT n`, `FETCH FIRST n ROWS`, or a cursor `FETCH n`.
    Rows(u64),
    /// `LIMIT $n`: checked against the maximum when the parameter is bound.
    Param(usize),
}

/// A refusal decided from the SQL text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    pub kind: RefusalKind,
    pub code: &'static str,
    pub message: String,
    pub detail: String,
}

impl Refused {
    pub(crate) fn not_supported(kind: RefusalKind, detail: impl Into<String>) -> Refused {
        Refused {
            kind,
            code: "0A000",
            message: "Not supported".into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn bound_limit() -> Refused {
        Refused {
            kind: RefusalKind::BoundLimit,
            code: "0A000",
            message: "Not supported".into(),
            detail: "LIMIT $n".into(),
        }
    }

    pub(crate) fn limit(n: u64, max: u64) -> Refused {
        Refused {
            kind: RefusalKind::LimitTooLarge,
            code: "53400",
            message: format!(
                "LIMIT {n} exceeds the maximum of {max} rows a query may return; page through the data instead"
            ),
            detail: format!("LIMIT {n}"),
        }
    }
}

/// The decision about one statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send as it is.
    Forward { limit: Limit },
    /// Send this SQL instead (the Adobe SHOW commands).
    Rewrite { sql: String, limit: Limit },
    /// A Query Service setting (`SET auto_to_json = true`): answered without PostgreSQL.
    SparkSet { key: String, value: String },
    /// Refuse with this error.
    Refuse(Refused),
}

/// Settings a Query Service session knows that PostgreSQL does not (platform-facts.md, "Data shapes").
const QS_SETTINGS: &[&str] = &["auto_to_json", "drop_system_columns"];

/// Ordinary PostgreSQL settings that are forwarded even when the session could not read `pg_settings`.
const PG_SETTINGS: &[&str] = &[
    "timezone",
    "datestyle",
    "intervalstyle",
    "client_encoding",
    "search_path",
    "extra_float_digits",
    "application_name",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "standard_conforming_strings",
    "client_min_messages",
    "bytea_output",
    "work_mem",
];

/// Leading words of `SET` forms that are PostgreSQL syntax, not a setting name.
const SET_FORMS: &[&str] = &[
    "SESSION",
    "LOCAL",
    "TIME",
    "TRANSACTION",
    "ROLE",
    "CONSTRAINTS",
    "NAMES",
    "SCHEMA",
];

/// What the rules depend on.
pub(crate) struct Rules<'a> {
    pub allow_update_delete: bool,
    pub limit_max: u64,
    /// Lower-case names from the upstream's `pg_settings`.
    pub settings: &'a HashSet<String>,
    pub keys: &'a Keys,
    /// Relation names a statement may not mention ([`crate::QsStandInBuilder::unavailable_relations`]).
    pub unavailable: &'a [String],
}

struct View<'a> {
    sql: &'a [u8],
    toks: &'a [Token],
    end: usize,
}

impl<'a> View<'a> {
    fn text(&self, i: usize) -> &'a [u8] {
        let t = self.toks[i];
        &self.sql[t.start..t.end]
    }
    fn is_kw(&self, i: usize, kw: &str) -> bool {
        i < self.toks.len()
            && self.toks[i].kind == Kind::Word
            && self.text(i).eq_ignore_ascii_case(kw.as_bytes())
    }
    fn is_kw_any(&self, i: usize, kws: &[&str]) -> bool {
        kws.iter().any(|k| self.is_kw(i, k))
    }
    fn upper(&self, i: usize) -> String {
        String::from_utf8_lossy(self.text(i)).to_ascii_uppercase()
    }
    fn punct(&self, i: usize, c: u8) -> bool {
        i < self.toks.len() && self.toks[i].kind == Kind::Punct(c)
    }
    /// Parenthesis depth before each token.
    fn depths(&self) -> Vec<i32> {
        let mut d = 0;
        self.toks
            .iter()
            .map(|t| {
                let before = d;
                match t.kind {
                    Kind::Punct(b'(') | Kind::Punct(b'[') => d += 1,
                    Kind::Punct(b')') | Kind::Punct(b']') => d -= 1,
                    _ => {}
                }
                if matches!(t.kind, Kind::Punct(b')') | Kind::Punct(b']')) {
                    d
                } else {
                    before
                }
            })
            .collect()
    }
    fn number(&self, i: usize) -> Option<u64> {
        (i < self.toks.len() && self.toks[i].kind == Kind::Num).then(|| {
            std::str::from_utf8(self.text(i))
                .ok()
                .and_then(|s| s.replace('_', "").parse::<u64>().ok())
                // A huge or fractional literal is over any maximum.
                .unwrap_or(u64::MAX)
        })
    }
    fn param(&self, i: usize) -> Option<usize> {
        (i < self.toks.len() && self.toks[i].kind == Kind::Param)
            .then(|| std::str::from_utf8(&self.text(i)[1..]).ok()?.parse().ok())
            .flatten()
    }
}

const MAIN_KEYWORDS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES", "TABLE",
];
const MODIFYING: &[&str] = &["UPDATE", "DELETE", "MERGE"];

/// Index of the statement's main keyword: the first word, or after a `WITH …` prefix the first of
/// SELECT/INSERT/UPDATE/DELETE/MERGE/VALUES/TABLE that directly follows a top-level `)`.
fn main_keyword(v: &View) -> Option<usize> {
    let first = (0..v.toks.len()).find(|i| !v.punct(*i, b'('))?;
    if !v.is_kw(first, "WITH") {
        return Some(first);
    }
    let depths = v.depths();
    let mut after_close = false;
    for (i, depth) in depths.iter().enumerate().skip(first + 1) {
        if *depth != 0 {
            continue;
        }
        if v.punct(i, b')') {
            after_close = true;
            continue;
        }
        if after_close && v.is_kw_any(i, MAIN_KEYWORDS) {
            return Some(i);
        }
        after_close = false;
    }
    None
}

impl Rules<'_> {
    /// Judge one statement of `sql`.
    pub(crate) fn analyze(&self, sql: &[u8], stmt: &Statement) -> Verdict {
        let v = View {
            sql,
            toks: &stmt.tokens,
            end: stmt.range.end,
        };
        self.judge(&v)
    }

    fn judge(&self, v: &View) -> Verdict {
        if let Some(i) = (0..v.toks.len()).find(|&i| self.unavailable.iter().any(|r| v.is_kw(i, r)))
        {
            return Verdict::Refuse(Refused::not_supported(
                RefusalKind::UnavailableRelation,
                String::from_utf8_lossy(v.text(i)).into_owned(),
            ));
        }
        let Some(main) = main_keyword(v) else {
            return self.limits(v);
        };
        let kw = v.upper(main);
        if !self.allow_update_delete {
            if MODIFYING.contains(&kw.as_str()) {
                return Verdict::Refuse(Refused::not_supported(RefusalKind::UpdateDelete, kw));
            }
            // Data-modifying CTEs, and INSERT … ON CONFLICT DO UPDATE, update rows all the same.
            for i in 0..v.toks.len() {
                if v.punct(i, b'(') && v.is_kw_any(i + 1, MODIFYING) {
                    return Verdict::Refuse(Refused::not_supported(
                        RefusalKind::UpdateDelete,
                        format!("WITH … {}", v.upper(i + 1)),
                    ));
                }
                if v.is_kw(i, "DO") && v.is_kw(i + 1, "UPDATE") {
                    return Verdict::Refuse(Refused::not_supported(
                        RefusalKind::UpdateDelete,
                        "ON CONFLICT DO UPDATE",
                    ));
                }
            }
        }
        match kw.as_str() {
            "COPY" => {
                let depths = v.depths();
                let stdio = (0..v.toks.len())
                    .any(|i| depths[i] == 0 && v.is_kw_any(i, &["STDIN", "STDOUT"]));
                if stdio {
                    Verdict::Refuse(Refused::not_supported(
                        RefusalKind::Copy,
                        "COPY FROM STDIN / TO STDOUT",
                    ))
                } else {
                    Verdict::Forward { limit: Limit::None }
                }
            }
            "SHOW" => {
                let words: Vec<String> = (main + 1..v.toks.len()).map(|i| v.upper(i)).collect();
                match metadata::rewrite_show(&words, self.keys) {
                    Some(sql) => Verdict::Rewrite {
                        sql,
                        limit: Limit::None,
                    },
                    None => Verdict::Forward { limit: Limit::None },
                }
            }
            "SET" => self.set(v, main),
            "FETCH" => self.cursor_fetch(v, main),
            "PREPARE" => {
                // PREPARE name [(types)] AS statement: judge the prepared statement.
                let depths = v.depths();
                match (main + 1..v.toks.len()).find(|i| depths[*i] == 0 && v.is_kw(*i, "AS")) {
                    Some(as_) => {
                        let inner = View {
                            sql: v.sql,
                            toks: &v.toks[as_ + 1..],
                            end: v.end,
                        };
                        match self.judge(&inner) {
                            r @ Verdict::Refuse(_) => r,
                            _ => Verdict::Forward { limit: Limit::None },
                        }
                    }
                    None => Verdict::Forward { limit: Limit::None },
                }
            }
            _ => self.limits(v),
        }
    }

    /// `LIMIT n` / `FETCH FIRST n ROWS`: any over the maximum is refused; the last top-level one
    /// exempts the result from the row cap.
    fn limits(&self, v: &View) -> Verdict {
        let depths = v.depths();
        let mut top = Limit::None;
        for (i, depth) in depths.iter().enumerate() {
            let found = if v.is_kw(i, "LIMIT") {
                match (v.number(i + 1), v.param(i + 1)) {
                    (Some(n), _) => Some(Limit::Rows(n)),
                    (_, Some(p)) => Some(Limit::Param(p)),
                    _ => None, // LIMIT ALL, LIMIT (expression)
                }
            } else if i > 0 && v.is_kw(i, "FETCH") && v.is_kw_any(i + 1, &["FIRST", "NEXT"]) {
                match (v.number(i + 2), v.param(i + 2)) {
                    (Some(n), _) => Some(Limit::Rows(n)),
                    (_, Some(p)) => Some(Limit::Param(p)),
                    _ if v.is_kw_any(i + 2, &["ROW", "ROWS"]) => Some(Limit::Rows(1)),
                    _ => None,
                }
            } else {
                None
            };
            if let Some(limit) = found {
                if let Limit::Rows(n) = limit {
                    if n > self.limit_max {
                        return Verdict::Refuse(Refused::limit(n, self.limit_max));
                    }
                }
                if *depth == 0 {
                    top = limit;
                }
            }
        }
        Verdict::Forward { limit: top }
    }

    /// A cursor `FETCH`: assumption: an explicit count acts like a LIMIT (exempt from the cap, refused
    /// over the maximum); `FETCH ALL` is capped like a query without LIMIT (unknown in
    /// platform-facts.md, which documents DECLARE/FETCH/CLOSE as supported but not their limits).
    fn cursor_fetch(&self, v: &View, main: usize) -> Verdict {
        let mut i = main + 1;
        if v.is_kw_any(i, &["FORWARD", "BACKWARD"]) {
            i += 1;
        }
        let limit = if let Some(n) = v.number(i) {
            Limit::Rows(n)
        } else if v.is_kw(i, "ALL") {
            Limit::None
        } else {
            // NEXT, PRIOR, FIRST, LAST, ABSOLUTE n, RELATIVE n, or no direction: one row.
            Limit::Rows(1)
        };
        match limit {
            Limit::Rows(n) if n > self.limit_max => {
                Verdict::Refuse(Refused::limit(n, self.limit_max))
            }
            _ => Verdict::Forward { limit },
        }
    }

    /// `SET key = value`: a Query Service setting (a name PostgreSQL does not know, or one of the
    /// documented ones) is answered by the stand-in; PostgreSQL's own settings and `SET` forms go on.
    fn set(&self, v: &View, main: usize) -> Verdict {
        let forward = Verdict::Forward { limit: Limit::None };
        let k = main + 1;
        if k >= v.toks.len() || v.is_kw_any(k, SET_FORMS) || v.punct(k + 1, b'.') {
            return forward;
        }
        let key = match v.toks[k].kind {
            Kind::Word => String::from_utf8_lossy(v.text(k)).to_ascii_lowercase(),
            Kind::QIdent => {
                let t = v.text(k);
                String::from_utf8_lossy(&t[1..t.len().saturating_sub(1)]).replace("\"\"", "\"")
            }
            _ => return forward,
        };
        let is_assign =
            (k + 1 < v.toks.len() && v.toks[k + 1].kind == Kind::Op && v.text(k + 1) == b"=")
                || v.is_kw(k + 1, "TO");
        if !is_assign || k + 2 >= v.toks.len() {
            return forward;
        }
        let known_pg = self.settings.contains(&key) || PG_SETTINGS.contains(&key.as_str());
        if QS_SETTINGS.contains(&key.as_str()) || !known_pg {
            let raw = &v.sql[v.toks[k + 2].start..v.end];
            let raw = String::from_utf8_lossy(raw).trim().to_string();
            let value = unquote(&raw);
            Verdict::SparkSet { key, value }
        } else {
            forward
        }
    }
}

fn unquote(raw: &str) -> String {
    for q in ['\'', '"'] {
        if raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q) {
            let d = q.to_string();
            return raw[1..raw.len() - 1].replace(&format!("{d}{d}"), &d);
        }
    }
    raw.to_string()
}

/// The PostgreSQL statement that stands in for a Query Service setting wherever the stand-in cannot
/// answer by itself (inside a multi-statement Query, or through Parse/Bind/Execute): a custom
/// placeholder setting, which PostgreSQL accepts and answers with the same `SET` tag.
pub(crate) fn placeholder_set(key: &str, value: &str) -> String {
    format!(
        "SET aep_qs.{} = {}",
        crate::quote_ident(key),
        crate::quote_literal(value)
    )
}

/// The SQL that raises a refusal's SQLSTATE inside PostgreSQL, so that a refusal fails the
/// transaction exactly as a server-side error does. Its message is the marker the relay replaces with
/// the refusal's own ErrorResponse.
pub(crate) fn raise_sql(code: &str) -> String {
    format!(
        "DO $aep_standin$ BEGIN RAISE EXCEPTION USING ERRCODE = '{code}', MESSAGE = '{RAISE_MARKER}'; END $aep_standin$"
    )
}

/// The message of the error [`raise_sql`] raises.
pub(crate) const RAISE_MARKER: &str = "aep-standin-refusal";

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(sql: &str) -> Vec<Verdict> {
        let settings: HashSet<String> = ["timezone", "search_path"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let keys = Keys::default();
        let rules = Rules {
            allow_update_delete: false,
            limit_max: 100_000,
            settings: &settings,
            keys: &keys,
            unavailable: &[],
        };
        statements(sql.as_bytes())
            .iter()
            .map(|s| rules.analyze(sql.as_bytes(), s))
            .collect()
    }

    fn refused(v: &Verdict) -> Option<RefusalKind> {
        match v {
            Verdict::Refuse(r) => Some(r.kind),
            _ => None,
        }
    }

    #[test]
    fn splits_outside_quotes_comments_and_dollar_quotes() {
        let sql = "select ';' ; -- a; b\n select $x$ ; $x$; /* ; /* ; */ */ select \"a;b\";;";
        let st = statements(sql.as_bytes());
        assert_eq!(st.len(), 3);
        assert_eq!(&sql[st[0].range.clone()], "select ';' ");
        assert!(sql[st[2].range.clone()].trim_end().ends_with("\"a;b\""));
        assert!(statements(b" ; -- nothing\n ;").is_empty());
    }

    #[test]
    fn updates_and_deletes_are_refused_even_behind_ctes() {
        use RefusalKind::UpdateDelete;
        for sql in [
            "update t set a = 1",
            "  /* c */ DELETE FROM t",
            "with x as (select 1) delete from t using x",
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) UPDATE t SET a = 1",
            "with d as (delete from t returning *) select * from d",
            "insert into t values (1) on conflict (a) do update set a = 2",
            "prepare p as delete from t",
            "merge into t using s on true when matched then delete",
        ] {
            assert_eq!(refused(&judge(sql)[0]), Some(UpdateDelete), "{sql}");
        }
        for sql in [
            "select 'update t' as x",
            "select * from t for update",
            "with x as (select 1) select * from x",
            "insert into t select 1",
            "select $$delete from t$$",
        ] {
            assert_eq!(refused(&judge(sql)[0]), None, "{sql}");
        }
    }

    #[test]
    fn copy_protocol_is_refused_but_server_side_copy_goes_on() {
        assert_eq!(
            refused(&judge("COPY t FROM STDIN")[0]),
            Some(RefusalKind::Copy)
        );
        assert_eq!(
            refused(&judge("copy (select 1) to stdout with (format csv)")[0]),
            Some(RefusalKind::Copy)
        );
        assert_eq!(refused(&judge("COPY (select 1) TO '/tmp/x'")[0]), None);
    }

    #[test]
    fn limits() {
        assert_eq!(
            refused(&judge("select * from t limit 100001")[0]),
            Some(RefusalKind::LimitTooLarge)
        );
        assert_eq!(
            refused(&judge("select * from (select 1 limit 200000) s")[0]),
            Some(RefusalKind::LimitTooLarge)
        );
        assert_eq!(
            refused(&judge("select * from t fetch first 100001 rows only")[0]),
            Some(RefusalKind::LimitTooLarge)
        );
        assert_eq!(
            judge("select * from t limit 60000")[0],
            Verdict::Forward {
                limit: Limit::Rows(60000)
            }
        );
        assert_eq!(
            judge("select * from (select 1 limit 5) s")[0],
            Verdict::Forward { limit: Limit::None }
        );
        assert_eq!(
            judge("select * from t limit $1")[0],
            Verdict::Forward {
                limit: Limit::Param(1)
            }
        );
        assert_eq!(
            judge("select * from t offset 2 fetch next row only")[0],
            Verdict::Forward {
                limit: Limit::Rows(1)
            }
        );
        assert_eq!(
            judge("select 'limit 999999' from t")[0],
            Verdict::Forward { limit: Limit::None }
        );
        assert_eq!(
            judge("fetch 10 from c")[0],
            Verdict::Forward {
                limit: Limit::Rows(10)
            }
        );
        assert_eq!(
            judge("fetch all from c")[0],
            Verdict::Forward { limit: Limit::None }
        );
    }

    #[test]
    fn spark_settings_are_told_apart_from_postgres_ones() {
        assert_eq!(
            judge("SET auto_to_json = true")[0],
            Verdict::SparkSet {
                key: "auto_to_json".into(),
                value: "true".into()
            }
        );
        assert_eq!(
            judge("set Drop_System_Columns to 'false'")[0],
            Verdict::SparkSet {
                key: "drop_system_columns".into(),
                value: "false".into()
            }
        );
        for sql in [
            "SET timezone = 'UTC'",
            "SET TIME ZONE 'UTC'",
            "SET search_path TO public",
            "SET datestyle = ISO",
            "SET my.custom = 1",
            "SET LOCAL statement_timeout = 5",
            "SET SESSION AUTHORIZATION DEFAULT",
        ] {
            assert!(
                matches!(judge(sql)[0], Verdict::Forward { .. }),
                "{sql}: {:?}",
                judge(sql)
            );
        }
    }

    #[test]
    fn show_commands_are_rewritten_only_when_exact() {
        assert!(matches!(judge("show tables")[0], Verdict::Rewrite { .. }));
        assert!(matches!(
            judge("SHOW PRIMARY KEYS")[0],
            Verdict::Rewrite { .. }
        ));
        assert!(matches!(
            judge("SHOW search_path")[0],
            Verdict::Forward { .. }
        ));
        assert!(matches!(
            judge("SHOW TABLES extra")[0],
            Verdict::Forward { .. }
        ));
    }

    #[test]
    fn lexer_handles_escape_strings_and_operators() {
        let sql = br"select E'it\'s; delete' , a::int --x";
        let toks = lex(sql);
        assert_eq!(toks[1].kind, Kind::Str);
        assert_eq!(&sql[toks[1].start..toks[1].end], br"E'it\'s; delete'");
        assert!(toks.iter().all(|t| t.kind != Kind::Punct(b';')));
        assert_eq!(statements(b"select 1 -- ;\n").len(), 1);
    }
}
