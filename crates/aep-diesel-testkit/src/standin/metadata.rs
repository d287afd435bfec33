//! Query Service's Adobe-only metadata commands (`SHOW TABLES`, `SHOW SCHEMAS`, `SHOW DATABASES`,
//! `SHOW PRIMARY KEYS`, `SHOW FOREIGN KEYS`; platform-facts.md, "Catalog and metadata"), answered by
//! rewriting them into plain catalog SQL that runs upstream, so their results travel the same relay
//! (row cap, composites) as every other result.

use crate::quote_literal;

/// A Data Distiller primary key (`ALTER TABLE t ADD CONSTRAINT PRIMARY KEY (c) NAMESPACE ns`),
/// declared on the builder because the local catalog cannot hold unenforced keys on key-less tables.
#[derive(Clone, Debug)]
pub(crate) struct PrimaryKey {
    pub table: String,
    pub columns: Vec<String>,
    pub namespace: Option<String>,
}

/// A Data Distiller foreign key (`ADD FOREIGN KEY … NOT ENFORCED`).
#[derive(Clone, Debug)]
pub(crate) struct ForeignKey {
    pub table: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

/// The declared keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct Keys {
    pub primary: Vec<PrimaryKey>,
    pub foreign: Vec<ForeignKey>,
}

/// The data type of `table.column` in schema `public`, NULL when there is no such column.
const DATATYPE: &str = "(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = 'public' AND c.relname = k.\"tableName\" AND a.attname = k.\"columnName\" \
     AND a.attnum > 0 AND NOT a.attisdropped)";

fn lit(s: &str) -> String {
    format!("{}::text", quote_literal(s))
}

fn opt_lit(s: Option<&str>) -> String {
    s.map_or_else(|| "NULL::text".to_string(), lit)
}

/// A `VALUES` list with an ordinal first column, or an empty typed relation when there are no rows
/// (`VALUES` cannot be empty).
fn values(rows: &[Vec<String>], width: usize) -> String {
    if rows.is_empty() {
        let nulls = vec!["NULL::text"; width].join(", ");
        return format!("(SELECT 0, {nulls} WHERE false)");
    }
    let rows: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| format!("({}, {})", i, r.join(", ")))
        .collect();
    format!("(VALUES {})", rows.join(", "))
}

/// The SQL for `SHOW <words…>` (words upper-cased), or `None` when it is not an Adobe command (then
/// PostgreSQL's own SHOW answers).
pub(crate) fn rewrite_show(words: &[String], keys: &Keys) -> Option<String> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    Some(match words.as_slice() {
        // Assumption: dataSetId is a stable fake (24 hex digits like a platform dataset id, from md5 of
        // the name), dataSet is the table name and resolved is 'false' (values unknown in
        // platform-facts.md, which names only the columns).
        ["TABLES"] => "SELECT c.relname::text AS \"name\", \
             substr(md5(c.relname::text), 1, 24) AS \"dataSetId\", \
             c.relname::text AS \"dataSet\", \
             pg_catalog.obj_description(c.oid, 'pg_class') AS \"description\", \
             'false'::text AS \"resolved\" \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1"
            .to_string(),
        // Assumption: one column `name` (the output shape is unknown in platform-facts.md); the
        // PostgreSQL-internal schemas are left out.
        ["SCHEMAS"] => "SELECT nspname::text AS \"name\" FROM pg_catalog.pg_namespace \
             WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1"
            .to_string(),
        // Assumption: one column `name`, the databases a client may connect to.
        ["DATABASES"] => "SELECT datname::text AS \"name\" FROM pg_catalog.pg_database \
             WHERE datallowconn AND NOT datistemplate ORDER BY 1"
            .to_string(),
        // Columns from platform-facts.md; datatype is PostgreSQL's format_type (assumption: Query
        // Service's type spelling is unknown), NULL for a declared column the table lacks.
        ["PRIMARY", "KEYS"] => {
            let rows: Vec<Vec<String>> = keys
                .primary
                .iter()
                .flat_map(|pk| {
                    pk.columns
                        .iter()
                        .map(|c| vec![lit(&pk.table), lit(c), opt_lit(pk.namespace.as_deref())])
                })
                .collect();
            format!(
                "SELECT k.\"tableName\", k.\"columnName\", {DATATYPE} AS \"datatype\", k.\"namespace\" \
                 FROM {} AS k(ord, \"tableName\", \"columnName\", \"namespace\") ORDER BY k.ord",
                values(&rows, 3)
            )
        }
        // Assumption: columns tableName | columnName | datatype | referencedTableName |
        // referencedColumnName | namespace (platform-facts.md does not list them); namespace is the one
        // declared on the referenced table's primary key, if any.
        ["FOREIGN", "KEYS"] => {
            let rows: Vec<Vec<String>> = keys
                .foreign
                .iter()
                .flat_map(|fk| {
                    let ns = keys
                        .primary
                        .iter()
                        .find(|pk| pk.table == fk.ref_table)
                        .and_then(|pk| pk.namespace.as_deref());
                    fk.columns
                        .iter()
                        .zip(fk.ref_columns.iter())
                        .map(move |(c, rc)| {
                            vec![
                                lit(&fk.table),
                                lit(c),
                                lit(&fk.ref_table),
                                lit(rc),
                                opt_lit(ns),
                            ]
                        })
                })
                .collect();
            format!(
                "SELECT k.\"tableName\", k.\"columnName\", {DATATYPE} AS \"datatype\", \
                 k.\"referencedTableName\", k.\"referencedColumnName\", k.\"namespace\" \
                 FROM {} AS k(ord, \"tableName\", \"columnName\", \"referencedTableName\", \
                 \"referencedColumnName\", \"namespace\") ORDER BY k.ord",
                values(&rows, 5)
            )
        }
        // Query Service reports server_version 0.1.0 (platform-facts.md, "Protocol"); SHOW must agree
        // with the ParameterStatus the client was given.
        ["SERVER_VERSION"] => "SELECT '0.1.0'::text AS server_version".to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn key_literals_are_quoted() {
        let keys = Keys {
            primary: vec![PrimaryKey {
                table: "o'brien".into(),
                columns: vec!["_id".into()],
                namespace: None,
            }],
            foreign: vec![],
        };
        let sql = rewrite_show(&w("PRIMARY KEYS"), &keys).unwrap();
        assert!(sql.contains("'o''brien'::text"), "{sql}");
        assert!(sql.contains("NULL::text"));
        let empty = rewrite_show(&w("FOREIGN KEYS"), &keys).unwrap();
        assert!(empty.contains("WHERE false"), "{empty}");
    }

    #[test]
    fn only_adobe_commands_are_rewritten() {
        assert!(rewrite_show(&w("TABLES"), &Keys::default()).is_some());
        assert!(rewrite_show(&w("TIMEZONE"), &Keys::default()).is_none());
        assert!(rewrite_show(&w("ALL"), &Keys::default()).is_none());
    }
}
