//! Nullability of a view's output columns, inferred from its definition.
//!
//! PostgreSQL's catalog marks every view column nullable, so a view over NOT NULL columns would
//! otherwise generate `Nullable<…>` fields everywhere (diesel's `experimental_infer_nullable_for_views`
//! works around the same thing). This module reads the normalised text of `pg_get_viewdef(oid, true)`
//! and follows plain column references back to the relations they come from. It does no I/O: the
//! caller supplies the source relations' columns through a lookup function.
//!
//! ```
//! use aep_diesel_schema::view_infer::{SourceColumn, infer};
//! let mut lookup = |_schema: Option<&str>, name: &str| {
//!     (name == "users").then(|| {
//!         vec![
//!             SourceColumn { name: "id".into(), nullable: false },
//!             SourceColumn { name: "hair_color".into(), nullable: true },
//!         ]
//!     })
//! };
//! let def = " SELECT users.id,\n    users.hair_color,\n    lower(users.hair_color) AS hair\n   FROM users;";
//! assert_eq!(infer(def, &mut lookup), Some(vec![Some(false), Some(true), None]));
//! ```

/// One column of a relation a view reads: its name and whether it may be NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceColumn {
    /// The column's name, exactly as stored in the catalog (not folded or quoted).
    pub name: String,
    /// Whether the column may hold NULL (no NOT NULL constraint).
    pub nullable: bool,
}

/// Nullability of each output column of the view whose `pg_get_viewdef` text is `definition`, in
/// output order: `Some(false)` proven NOT NULL, `Some(true)` may be NULL, `None` not inferred (the caller keeps the catalog's answer).
/// `lookup(schema, name)` gives the columns of a relation the view names (`schema` is `None` when the name is unqualified, i.e. found through the search path); `None` if unknown.
/// Returns `None` when the definition is not one plain SELECT this understands (UNION/INTERSECT/EXCEPT, WITH, VALUES, subqueries in FROM, …): nothing is inferred then.
// The closure type is spelled out so callers see the contract in the signature itself.
#[allow(clippy::type_complexity)]
pub fn infer(
    definition: &str,
    lookup: &mut dyn FnMut(Option<&str>, &str) -> Option<Vec<SourceColumn>>,
) -> Option<Vec<Option<bool>>> {
    let tokens = tokenize(definition)?;
    let query = parse_query(&tokens)?;
    // Looking relations up only once the whole text parsed spares the caller work on views we give up on.
    let scope: Vec<Relation> = query
        .from
        .into_iter()
        .map(|mut rel| {
            rel.columns = lookup(rel.schema.as_deref(), &rel.name)
                .and_then(|cols| rename_columns(cols, &rel.column_aliases));
            rel
        })
        .collect();
    Some(
        query
            .items
            .iter()
            .map(|item| expression_nullability(strip_alias(item), &scope))
            .collect(),
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// Unquoted identifier or keyword, folded to lower case as PostgreSQL folds it.
    Word(String),
    /// Quoted identifier, case and content kept.
    Quoted(String),
    /// String literal; its content never matters here.
    Str,
    Number,
    /// Punctuation, `::` or an operator.
    Symbol(String),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&chars, i)?;
        } else if c == '\'' {
            i = skip_string(&chars, i + 1, false)?;
            tokens.push(Token::Str);
        } else if c == '"' {
            let (name, end) = scan_quoted_identifier(&chars, i + 1)?;
            tokens.push(Token::Quoted(name));
            i = end;
        } else if c.is_alphabetic() || c == '_' || !c.is_ascii() {
            let start = i;
            while i < chars.len() && is_identifier_char(chars[i]) {
                i += 1;
            }
            let word = chars[start..i]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            // E'…', B'…', X'…' and N'…' are literals, not an identifier followed by a string.
            if chars.get(i) == Some(&'\'') && matches!(word.as_str(), "e" | "b" | "x" | "n") {
                i = skip_string(&chars, i + 1, word == "e")?;
                tokens.push(Token::Str);
            } else {
                tokens.push(Token::Word(word));
            }
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            i = skip_number(&chars, i);
            tokens.push(Token::Number);
        } else if c == ':' && next == Some(':') {
            tokens.push(Token::Symbol("::".into()));
            i += 2;
        } else if "(),;.[]:".contains(c) {
            tokens.push(Token::Symbol(c.to_string()));
            i += 1;
        } else if is_operator_char(c) {
            let (op, end) = scan_operator(&chars, i);
            tokens.push(Token::Symbol(op));
            i = end;
        } else {
            // `$` (parameters, dollar quoting) and anything else never appear in a view definition
            // we can read; refusing is safer than guessing.
            return None;
        }
    }
    Some(tokens)
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

fn is_operator_char(c: char) -> bool {
    "+-*/<>=~!@#%^&|`?".contains(c)
}

fn skip_block_comment(chars: &[char], start: usize) -> Option<usize> {
    // PostgreSQL block comments nest.
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Index just past the literal whose content starts at `start`.
fn skip_string(chars: &[char], start: usize, backslash_escapes: bool) -> Option<usize> {
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' if backslash_escapes => i += 2,
            '\'' if chars.get(i + 1) == Some(&'\'') => i += 2,
            '\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn scan_quoted_identifier(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut i = start;
    while i < chars.len() {
        if chars[i] == '"' {
            if chars.get(i + 1) == Some(&'"') {
                name.push('"');
                i += 2;
                continue;
            }
            return (!name.is_empty()).then_some((name, i + 1));
        }
        name.push(chars[i]);
        i += 1;
    }
    None
}

fn skip_number(chars: &[char], start: usize) -> usize {
    let digits = |mut i: usize| {
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(start);
    if chars.get(i) == Some(&'.') && chars.get(i + 1) != Some(&'.') {
        i = digits(i + 1);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            i = digits(j);
        }
    }
    i
}

fn scan_operator(chars: &[char], start: usize) -> (String, usize) {
    let mut end = start;
    while end < chars.len() && is_operator_char(chars[end]) {
        // A comment may start right after an operator without whitespace.
        if end > start
            && matches!(
                (chars[end], chars.get(end + 1)),
                ('-', Some('-')) | ('/', Some('*'))
            )
        {
            break;
        }
        end += 1;
    }
    // PostgreSQL's lexer rule: a trailing `+`/`-` belongs to the next token (so `=-1` is `=` `-` `1`)
    // unless the operator contains one of the characters that only user-defined operators use.
    let op = &chars[start..end];
    let mut len = op.len();
    if len > 1
        && matches!(op[len - 1], '+' | '-')
        && !op[..len - 1].iter().any(|c| "~!@#^&|`?%".contains(*c))
    {
        while len > 1 && matches!(op[len - 1], '+' | '-') {
            len -= 1;
        }
    }
    (op[..len].iter().collect(), start + len)
}

fn is_word(token: Option<&Token>, keyword: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w == keyword)
}

fn is_symbol(token: Option<&Token>, symbol: &str) -> bool {
    matches!(token, Some(Token::Symbol(s)) if s == symbol)
}

fn is_open(token: &Token) -> bool {
    is_symbol(Some(token), "(") || is_symbol(Some(token), "[")
}

fn is_close(token: &Token) -> bool {
    is_symbol(Some(token), ")") || is_symbol(Some(token), "]")
}

fn balanced(tokens: &[Token]) -> bool {
    let mut stack = Vec::new();
    for token in tokens {
        if is_open(token) {
            stack.push(is_symbol(Some(token), "("));
        } else if is_close(token) && stack.pop() != Some(is_symbol(Some(token), ")")) {
            return false;
        }
    }
    stack.is_empty()
}

/// Indices of the tokens outside any parentheses or brackets (opening ones included).
fn top_level(tokens: &[Token]) -> Vec<usize> {
    let mut depth = 0usize;
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if depth == 0 && !is_close(token) {
            out.push(i);
        }
        if is_open(token) {
            depth += 1;
        } else if is_close(token) {
            depth = depth.saturating_sub(1);
        }
    }
    out
}

/// Index of the bracket closing the one at `open`.
fn matching_close(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        if is_open(token) {
            depth += 1;
        } else if is_close(token) {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

fn split_top_level_commas(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut start = 0;
    for i in top_level(tokens) {
        if is_symbol(tokens.get(i), ",") {
            parts.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    parts.push(&tokens[start..]);
    parts
}

/// Whether a top-level token at `i` starts a clause that ends the select list or the FROM clause.
fn clause_starts_at(tokens: &[Token], i: usize) -> bool {
    let Some(Token::Word(word)) = tokens.get(i) else {
        return false;
    };
    let before = |k: usize| i.checked_sub(k).and_then(|j| tokens.get(j));
    match word.as_str() {
        // `a IS [NOT] DISTINCT FROM b` may stand unparenthesised in a select item.
        "from" => {
            !(is_word(before(1), "distinct")
                && (is_word(before(2), "is") || is_word(before(2), "not")))
        }
        // `WITHIN GROUP (ORDER BY …)` of an ordered-set aggregate.
        "group" => !is_word(before(1), "within"),
        "where" | "having" | "window" | "order" | "limit" | "offset" | "fetch" | "for" | "into"
        | "union" | "intersect" | "except" => true,
        _ => false,
    }
}

fn next_clause(tokens: &[Token], from: usize) -> usize {
    top_level(tokens)
        .into_iter()
        .find(|&i| i >= from && clause_starts_at(tokens, i))
        .unwrap_or(tokens.len())
}

/// Keywords that cannot be a bare (AS-less) alias or a relation name in a FROM clause.
const RESERVED: &[&str] = &[
    "as",
    "on",
    "using",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "outer",
    "cross",
    "natural",
    "where",
    "group",
    "having",
    "window",
    "order",
    "limit",
    "offset",
    "fetch",
    "for",
    "union",
    "intersect",
    "except",
    "tablesample",
    "select",
    "from",
    "lateral",
    "only",
    "with",
    "values",
];

/// SQL keywords that read as a lone identifier but are function calls.
const VALUE_KEYWORDS: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_role",
    "current_user",
    "session_user",
    "system_user",
    "user",
    "current_catalog",
    "current_schema",
    "default",
];

/// A relation named in FROM, with what the SELECT can see of it.
#[derive(Debug)]
struct Relation {
    schema: Option<String>,
    name: String,
    alias: Option<String>,
    column_aliases: Vec<String>,
    /// On the nullable side of some outer join, so every column may read NULL.
    outer_nullable: bool,
    columns: Option<Vec<SourceColumn>>,
}

impl Relation {
    /// Whether `qualifier.column` refers to this relation: an alias hides the relation's own name.
    fn answers_to(&self, qualifier: &str) -> bool {
        match &self.alias {
            Some(alias) => alias == qualifier,
            None => self.name == qualifier,
        }
    }
}

fn rename_columns(mut columns: Vec<SourceColumn>, aliases: &[String]) -> Option<Vec<SourceColumn>> {
    if aliases.len() > columns.len() {
        return None;
    }
    for (column, alias) in columns.iter_mut().zip(aliases) {
        column.name.clone_from(alias);
    }
    Some(columns)
}

struct Query<'t> {
    items: Vec<&'t [Token]>,
    from: Vec<Relation>,
}

fn parse_query(tokens: &[Token]) -> Option<Query<'_>> {
    let mut end = tokens.len();
    while end > 0 && is_symbol(tokens.get(end - 1), ";") {
        end -= 1;
    }
    let tokens = &tokens[..end];
    if !balanced(tokens) || !is_word(tokens.first(), "select") {
        return None;
    }
    let combines_queries = top_level(tokens).into_iter().any(|i| {
        let t = tokens.get(i);
        is_symbol(t, ";") || is_word(t, "union") || is_word(t, "intersect") || is_word(t, "except")
    });
    if combines_queries {
        return None;
    }

    let mut pos = 1;
    if is_word(tokens.get(pos), "distinct") {
        pos += 1;
        if is_word(tokens.get(pos), "on") {
            pos += 1;
            if !is_symbol(tokens.get(pos), "(") {
                return None;
            }
            pos = matching_close(tokens, pos)? + 1;
        }
    } else if is_word(tokens.get(pos), "all") {
        pos += 1;
    }

    let list_end = next_clause(tokens, pos);
    let list = &tokens[pos..list_end];
    let items = if list.is_empty() {
        Vec::new()
    } else {
        split_top_level_commas(list)
    };
    // An empty item is malformed; a star means the column count is unknown to us.
    let unreadable_item = |item: &&[Token]| {
        let star = is_symbol(item.last(), "*")
            && (item.len() == 1 || is_symbol(item.get(item.len() - 2), "."));
        item.is_empty() || star
    };
    if items.iter().any(unreadable_item) {
        return None;
    }

    let mut rest = list_end;
    let mut from = Vec::new();
    if is_word(tokens.get(rest), "from") {
        let from_end = next_clause(tokens, rest + 1);
        from = FromParser::new(&tokens[rest + 1..from_end]).parse()?;
        rest = from_end;
    }
    if is_word(tokens.get(rest), "into") || uses_grouping_sets(&tokens[rest..]) {
        return None;
    }
    Some(Query { items, from })
}

/// ROLLUP, CUBE and GROUPING SETS emit NULL for grouped columns even when the source is NOT NULL.
fn uses_grouping_sets(tail: &[Token]) -> bool {
    tail.windows(2).any(|pair| {
        ((is_word(pair.first(), "rollup") || is_word(pair.first(), "cube"))
            && is_symbol(pair.get(1), "("))
            || (is_word(pair.first(), "grouping") && is_word(pair.get(1), "sets"))
    })
}

#[derive(Clone, Copy, PartialEq)]
enum JoinKind {
    Inner,
    Cross,
    Left,
    Right,
    Full,
}

/// Whether a join operator starts at `i` (also where an ON condition ends).
fn join_starts_at(tokens: &[Token], i: usize) -> bool {
    let next = tokens.get(i + 1);
    let Some(Token::Word(word)) = tokens.get(i) else {
        return false;
    };
    match word.as_str() {
        "join" | "natural" => true,
        "inner" | "cross" => is_word(next, "join"),
        // Requiring JOIN/OUTER next keeps the functions `left(…)`/`right(…)` out.
        "left" | "right" | "full" => is_word(next, "join") || is_word(next, "outer"),
        _ => false,
    }
}

/// Reads a FROM clause (without the FROM keyword) into its relations, marking the ones on the
/// nullable side of outer joins.
struct FromParser<'t> {
    tokens: &'t [Token],
    pos: usize,
    relations: Vec<Relation>,
}

impl<'t> FromParser<'t> {
    fn new(tokens: &'t [Token]) -> Self {
        FromParser {
            tokens,
            pos: 0,
            relations: Vec::new(),
        }
    }

    fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.pos)
    }

    fn eat_word(&mut self, keyword: &str) -> bool {
        let found = is_word(self.peek(), keyword);
        self.pos += usize::from(found);
        found
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        let found = is_symbol(self.peek(), symbol);
        self.pos += usize::from(found);
        found
    }

    fn identifier(&mut self, allow_reserved: bool) -> Option<String> {
        let name = match self.peek()? {
            Token::Quoted(name) => name.clone(),
            Token::Word(word) if allow_reserved || !RESERVED.contains(&word.as_str()) => {
                word.clone()
            }
            _ => return None,
        };
        self.pos += 1;
        Some(name)
    }

    fn parse(mut self) -> Option<Vec<Relation>> {
        loop {
            self.join_tree()?;
            if !self.eat_symbol(",") {
                break;
            }
        }
        (self.pos == self.tokens.len()).then_some(self.relations)
    }

    /// One FROM item with its joins; its relations are appended contiguously, so a subtree is a
    /// range of `relations`.
    fn join_tree(&mut self) -> Option<()> {
        let start = self.relations.len();
        self.primary()?;
        loop {
            let natural = self.eat_word("natural");
            let kind = match self.peek() {
                Some(Token::Word(w)) if w == "join" => JoinKind::Inner,
                Some(Token::Word(w)) if w == "inner" => JoinKind::Inner,
                Some(Token::Word(w)) if w == "cross" => JoinKind::Cross,
                Some(Token::Word(w)) if w == "left" => JoinKind::Left,
                Some(Token::Word(w)) if w == "right" => JoinKind::Right,
                Some(Token::Word(w)) if w == "full" => JoinKind::Full,
                _ if natural => return None,
                _ => break,
            };
            if !is_word(self.peek(), "join") {
                self.pos += 1;
                if matches!(kind, JoinKind::Left | JoinKind::Right | JoinKind::Full) {
                    self.eat_word("outer");
                }
            }
            if !self.eat_word("join") {
                return None;
            }
            let right_start = self.relations.len();
            self.primary()?;
            let right_end = self.relations.len();
            if !natural && kind != JoinKind::Cross {
                self.join_condition()?;
            }
            let nullable = match kind {
                JoinKind::Inner | JoinKind::Cross => start..start,
                JoinKind::Left => right_start..right_end,
                JoinKind::Right => start..right_start,
                JoinKind::Full => start..right_end,
            };
            for relation in &mut self.relations[nullable] {
                relation.outer_nullable = true;
            }
        }
        Some(())
    }

    fn join_condition(&mut self) -> Option<()> {
        if self.eat_word("using") {
            if !self.eat_symbol("(") {
                return None;
            }
            loop {
                self.identifier(true)?;
                if !self.eat_symbol(",") {
                    break;
                }
            }
            if !self.eat_symbol(")") {
                return None;
            }
            // A USING alias names only the merged columns, which resolve to nothing here (→ None).
            if self.eat_word("as") {
                self.identifier(true)?;
            }
            return Some(());
        }
        if !self.eat_word("on") {
            return None;
        }
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(token) = self.peek() {
            if depth == 0
                && (is_symbol(Some(token), ",")
                    || is_close(token)
                    || join_starts_at(self.tokens, self.pos))
            {
                break;
            }
            if is_open(token) {
                depth += 1;
            } else if is_close(token) {
                depth -= 1;
            }
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }

    fn primary(&mut self) -> Option<()> {
        if self.eat_symbol("(") {
            let subquery = ["select", "values", "with", "table"]
                .iter()
                .any(|kw| is_word(self.peek(), kw));
            if subquery {
                return None;
            }
            self.join_tree()?;
            if !self.eat_symbol(")") {
                return None;
            }
            // An alias on a parenthesised join hides the inner names; not worth modelling.
            if is_word(self.peek(), "as") || self.alias_follows() {
                return None;
            }
            return Some(());
        }
        if is_word(self.peek(), "lateral") {
            return None;
        }
        self.eat_word("only");
        let first = self.identifier(false)?;
        let (schema, name) = if self.eat_symbol(".") {
            (Some(first), self.identifier(true)?)
        } else {
            (None, first)
        };
        // A third name part (a database) or a call (a set-returning function) is not a plain relation.
        if is_symbol(self.peek(), ".") || is_symbol(self.peek(), "(") {
            return None;
        }
        self.eat_symbol("*");
        let alias = if self.eat_word("as") {
            Some(self.identifier(true)?)
        } else if self.alias_follows() {
            Some(self.identifier(false)?)
        } else {
            None
        };
        let mut column_aliases = Vec::new();
        if alias.is_some() && self.eat_symbol("(") {
            loop {
                column_aliases.push(self.identifier(true)?);
                if !self.eat_symbol(",") {
                    break;
                }
            }
            if !self.eat_symbol(")") {
                return None;
            }
        }
        self.relations.push(Relation {
            schema,
            name,
            alias,
            column_aliases,
            outer_nullable: false,
            columns: None,
        });
        Some(())
    }

    fn alias_follows(&self) -> bool {
        match self.peek() {
            Some(Token::Quoted(_)) => true,
            Some(Token::Word(word)) => !RESERVED.contains(&word.as_str()),
            _ => false,
        }
    }
}

/// The item without a trailing `AS name` (`pg_get_viewdef` always writes the AS).
fn strip_alias(item: &[Token]) -> &[Token] {
    match item {
        [
            rest @ ..,
            Token::Word(as_kw),
            Token::Word(_) | Token::Quoted(_),
        ] if as_kw == "as" && !rest.is_empty() => rest,
        _ => item,
    }
}

fn strip_parentheses(mut tokens: &[Token]) -> &[Token] {
    while is_symbol(tokens.first(), "(") && matching_close(tokens, 0) == Some(tokens.len() - 1) {
        tokens = &tokens[1..tokens.len() - 1];
    }
    tokens
}

fn expression_nullability(tokens: &[Token], scope: &[Relation]) -> Option<bool> {
    let tokens = strip_parentheses(tokens);
    let last_cast = top_level(tokens)
        .into_iter()
        .rev()
        .find(|&i| is_symbol(tokens.get(i), "::"));
    if let Some(cast) = last_cast {
        // A cast maps NULL to NULL and a value to a value, so it keeps the operand's answer; but
        // only if what follows `::` is just the type, not more expression.
        return if is_type_name(&tokens[cast + 1..]) {
            expression_nullability(&tokens[..cast], scope)
        } else {
            None
        };
    }
    match tokens {
        [Token::Str] | [Token::Number] => Some(false),
        [Token::Symbol(sign), Token::Number] if sign == "-" || sign == "+" => Some(false),
        [Token::Word(w)] if w == "true" || w == "false" => Some(false),
        [Token::Word(w)] if w == "null" => Some(true),
        _ => column_nullability(&column_reference(tokens)?, scope),
    }
}

/// Accepts the type names `pg_get_viewdef` prints after `::`: an optionally schema-qualified name,
/// the multi-word built-in names (`character varying`, `timestamp(3) with time zone`, …), type
/// modifiers and array brackets. Anything else means the cast is part of a larger expression.
fn is_type_name(tokens: &[Token]) -> bool {
    let mut i = match tokens {
        [
            Token::Word(_) | Token::Quoted(_),
            Token::Symbol(dot),
            Token::Word(_) | Token::Quoted(_),
            ..,
        ] if dot == "." => 3,
        [Token::Word(_) | Token::Quoted(_), ..] => 1,
        _ => return false,
    };
    while i < tokens.len() {
        match &tokens[i] {
            Token::Word(w)
                if matches!(
                    w.as_str(),
                    "varying" | "precision" | "with" | "without" | "time" | "zone"
                ) =>
            {
                i += 1;
            }
            Token::Symbol(s) if s == "(" || s == "[" => {
                let Some(close) = matching_close(tokens, i) else {
                    return false;
                };
                let inside_ok = tokens[i + 1..close]
                    .iter()
                    .all(|t| matches!(t, Token::Number) || is_symbol(Some(t), ","));
                if !inside_ok {
                    return false;
                }
                i = close + 1;
            }
            _ => return false,
        }
    }
    true
}

/// The name parts of `[[schema.]relation.]column`, or `None` if the tokens are anything else.
fn column_reference(tokens: &[Token]) -> Option<Vec<&str>> {
    if tokens.is_empty() || tokens.len() % 2 == 0 || tokens.len() > 5 {
        return None;
    }
    let mut parts = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Word(w) | Token::Quoted(w) if i % 2 == 0 => parts.push(w.as_str()),
            Token::Symbol(s) if i % 2 == 1 && s == "." => {}
            _ => return None,
        }
    }
    if let [Token::Word(w)] = tokens {
        if VALUE_KEYWORDS.contains(&w.as_str()) {
            return None;
        }
    }
    Some(parts)
}

fn column_nullability(parts: &[&str], scope: &[Relation]) -> Option<bool> {
    let (candidates, column): (Vec<&Relation>, &str) = match *parts {
        [column] => {
            // A relation we know nothing about might also have this column.
            if scope.iter().any(|r| r.columns.is_none()) {
                return None;
            }
            let having = scope
                .iter()
                .filter(|r| find_column(r, column).is_some())
                .collect();
            (having, column)
        }
        [qualifier, column] => (
            scope.iter().filter(|r| r.answers_to(qualifier)).collect(),
            column,
        ),
        [schema, relation, column] => (
            scope
                .iter()
                .filter(|r| {
                    r.alias.is_none() && r.schema.as_deref() == Some(schema) && r.name == relation
                })
                .collect(),
            column,
        ),
        _ => return None,
    };
    let [relation] = candidates.as_slice() else {
        return None;
    };
    let source = find_column(relation, column)?;
    Some(relation.outer_nullable || source.nullable)
}

fn find_column<'r>(relation: &'r Relation, name: &str) -> Option<&'r SourceColumn> {
    relation.columns.as_ref()?.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(spec: &[(&str, bool)]) -> Vec<SourceColumn> {
        spec.iter()
            .map(|&(name, nullable)| SourceColumn {
                name: name.into(),
                nullable,
            })
            .collect()
    }

    fn catalog(schema: Option<&str>, name: &str) -> Option<Vec<SourceColumn>> {
        let public = matches!(schema, None | Some("public"));
        Some(match (name, public, schema) {
            ("users", true, _) => columns(&[("id", false), ("name", false), ("hair_color", true)]),
            ("posts", true, _) => columns(&[
                ("id", false),
                ("user_id", false),
                ("title", false),
                ("body", true),
            ]),
            ("test2", _, Some("other")) => columns(&[("id", false), ("name", true)]),
            ("User", true, _) => columns(&[("Id", false), ("Na\"me", false), ("Note", true)]),
            _ => return None,
        })
    }

    fn run(definition: &str) -> Option<Vec<Option<bool>>> {
        infer(definition, &mut catalog)
    }

    const F: Option<bool> = Some(false);
    const T: Option<bool> = Some(true);

    #[test]
    fn plain_select_takes_source_nullability() {
        let def = " SELECT users.id,\n    users.name,\n    users.hair_color\n   FROM users;";
        assert_eq!(run(def), Some(vec![F, F, T]));
    }

    #[test]
    fn left_join_makes_right_side_nullable() {
        let def = " SELECT users.id AS user_id,\n    users.name AS user_name,\n    posts.id AS post_id,\n    posts.body AS post_body\n   FROM (users\n     LEFT JOIN posts ON ((posts.user_id = users.id)));";
        assert_eq!(run(def), Some(vec![F, F, T, T]));
        let outer = def.replace("LEFT JOIN", "LEFT OUTER JOIN");
        assert_eq!(run(&outer), Some(vec![F, F, T, T]));
    }

    #[test]
    fn constants_without_from() {
        assert_eq!(
            run(" SELECT 'test'::text AS name,\n    1 AS id;"),
            Some(vec![F, F])
        );
        let def = " SELECT NULL::integer AS a, true AS b, 'it''s, FROM x'::character varying AS c, 1.5e3 AS d, '-1'::integer AS e, NULL AS f;";
        assert_eq!(run(def), Some(vec![T, F, F, F, F, T]));
    }

    #[test]
    fn schema_qualified_relation_is_looked_up_with_its_schema() {
        let def = " SELECT test2.id,\n    test2.name\n   FROM other.test2;";
        assert_eq!(run(def), Some(vec![F, T]));
        let mut calls = Vec::new();
        let mut lookup = |schema: Option<&str>, name: &str| {
            calls.push((schema.map(str::to_owned), name.to_owned()));
            catalog(schema, name)
        };
        infer(def, &mut lookup);
        assert_eq!(calls, vec![(Some("other".to_owned()), "test2".to_owned())]);
        assert_eq!(
            run(" SELECT other.test2.name FROM other.test2;"),
            Some(vec![T])
        );
    }

    #[test]
    fn aliases_replace_relation_names() {
        let def = " SELECT u.id, p.body, p.title AS t, users.name\n   FROM (users u\n     JOIN posts AS p ON ((p.user_id = u.id)));";
        // `users.name` is not visible once `users` is aliased.
        assert_eq!(run(def), Some(vec![F, T, F, None]));
        let renamed = " SELECT u.a, u.c FROM users u(a, b, c);";
        assert_eq!(run(renamed), Some(vec![F, T]));
    }

    #[test]
    fn quoted_identifiers_keep_case_and_escaped_quotes() {
        let def = " SELECT \"User\".\"Id\", \"User\".\"Na\"\"me\" AS \"X\", \"User\".\"Note\", \"User\".id\n   FROM \"User\";";
        assert_eq!(run(def), Some(vec![F, F, T, None]));
        let aliased = " SELECT \"Q\".\"Id\" FROM \"User\" \"Q\";";
        assert_eq!(run(aliased), Some(vec![F]));
    }

    #[test]
    fn right_and_full_joins() {
        let right = " SELECT users.id, posts.id, posts.body\n   FROM (users\n     RIGHT JOIN posts ON ((posts.user_id = users.id)));";
        assert_eq!(run(right), Some(vec![T, F, T]));
        let full = right.replace("RIGHT JOIN", "FULL OUTER JOIN");
        assert_eq!(run(&full), Some(vec![T, T, T]));
    }

    #[test]
    fn nested_joins_mark_whole_subtrees() {
        let left_nested = " SELECT users.id, posts.id, test2.id\n   FROM (users\n     LEFT JOIN (posts\n       JOIN other.test2 ON ((test2.id = posts.id))) ON ((posts.user_id = users.id)));";
        assert_eq!(run(left_nested), Some(vec![F, T, T]));
        let right_after = " SELECT users.id, posts.id, test2.id\n   FROM ((users\n     JOIN posts ON ((posts.user_id = users.id)))\n     RIGHT JOIN other.test2 ON ((test2.id = posts.id)));";
        assert_eq!(run(right_after), Some(vec![T, T, F]));
    }

    #[test]
    fn comma_and_cross_joins_keep_nullability() {
        let def = " SELECT users.id, posts.id, test2.id FROM users, posts CROSS JOIN other.test2 WHERE (users.id = posts.user_id) GROUP BY users.id, posts.id, test2.id ORDER BY users.id LIMIT 10;";
        assert_eq!(run(def), Some(vec![F, F, F]));
        assert_eq!(
            run(" SELECT DISTINCT users.hair_color FROM users;"),
            Some(vec![T])
        );
    }

    #[test]
    fn set_operations_and_other_shapes_are_not_inferred() {
        let union = " SELECT users.id\n   FROM users\nUNION\n SELECT posts.id\n   FROM posts;";
        assert_eq!(run(union), None);
        assert_eq!(run(" WITH x AS (SELECT 1) SELECT 1;"), None);
        assert_eq!(run(" VALUES (1), (2);"), None);
        assert_eq!(
            run(" SELECT s.id FROM ( SELECT users.id FROM users) s;"),
            None
        );
        assert_eq!(run(" SELECT g.g FROM generate_series(1, 3) g(g);"), None);
        assert_eq!(
            run(" SELECT users.id FROM users GROUP BY ROLLUP(users.id);"),
            None
        );
        assert_eq!(run(" SELECT users.* FROM users;"), None);
    }

    #[test]
    fn unknown_relation_gives_unknown_columns() {
        let def = " SELECT users.id, mystery.id, mystery.x\n   FROM (users\n     JOIN mystery ON ((mystery.id = users.id)));";
        assert_eq!(run(def), Some(vec![F, None, None]));
        // With an unknown relation in scope, an unqualified name might be its column too.
        assert_eq!(
            run(" SELECT hair_color FROM users, mystery;"),
            Some(vec![None])
        );
    }

    #[test]
    fn unqualified_columns_resolve_only_when_unique() {
        let def = " SELECT name, body, id FROM users JOIN posts ON (posts.user_id = users.id);";
        assert_eq!(run(def), Some(vec![F, T, None]));
        assert_eq!(
            run(" SELECT current_date AS d FROM users;"),
            Some(vec![None])
        );
    }

    #[test]
    fn expressions_other_than_references_and_constants_are_not_inferred() {
        let def = " SELECT lower(users.name) AS l,\n    CASE WHEN users.id > 1 THEN 'a'::text ELSE 'b'::text END AS c,\n    users.id::text AS i,\n    (users.name)::character varying(10) AS n,\n    (users.id + 1) AS p,\n    users.name::text || 'x'::text AS s,\n    users.name IS DISTINCT FROM 'x'::text AS d,\n    users.hair_color::timestamp(3) with time zone AS h\n   FROM users;";
        assert_eq!(run(def), Some(vec![None, None, F, F, None, None, None, T]));
        assert_eq!(run(" SELECT count(*) AS n FROM users;"), Some(vec![None]));
    }

    #[test]
    fn tokenizer_handles_literals_and_comments() {
        let tokens = tokenize("a.\"B\"\"c\"::x -- note\n E'\\'', /* a /* b */ c */ =-1").unwrap();
        assert_eq!(
            tokens,
            vec![
                Token::Word("a".into()),
                Token::Symbol(".".into()),
                Token::Quoted("B\"c".into()),
                Token::Symbol("::".into()),
                Token::Word("x".into()),
                Token::Str,
                Token::Symbol(",".into()),
                Token::Symbol("=".into()),
                Token::Symbol("-".into()),
                Token::Number,
            ]
        );
        assert_eq!(tokenize("'unterminated"), None);
        assert_eq!(tokenize("SELECT $1"), None);
    }
}
