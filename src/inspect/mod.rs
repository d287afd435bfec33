//! Introspection: [`Inspector`] (the API, like SQLAlchemy's), the plain data it returns
//! ([`SchemaModel`] and friends, re-exported from `aep-diesel-schema`) and the catalog queries behind
//! them.

mod catalog;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use aep_diesel_schema::*;
pub use catalog::NamesSource;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// Reads what a database holds, with SQLAlchemy's Inspector vocabulary.
///
/// [`Inspector::reflect`] reads a whole schema in a fixed handful of `pg_catalog` queries; the per-table
/// methods (`columns`, `primary_key`, …) reflect the schema once and answer from that (call
/// [`Inspector::clear_cache`] to read again). `table_names` and friends use a single light query, with a
/// `SHOW TABLES` fallback for table names where the catalog is not readable.
pub struct Inspector {
    engine: Engine,
    default_schema: Mutex<Option<(String, String)>>,
    cache: Mutex<HashMap<String, Arc<SchemaModel>>>,
    queries: Mutex<usize>,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An [`Inspector`] over this engine. No I/O until a method is called.
    pub fn inspect(&self) -> Result<Inspector> {
        Ok(Inspector {
            engine: self.clone(),
            default_schema: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            queries: Mutex::new(0),
        })
    }
}

impl Inspector {
    fn with_catalog<T>(&self, f: impl FnOnce(&mut catalog::Catalog<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.engine.get()?;
        let mut cat = catalog::Catalog::new(&mut conn);
        let out = f(&mut cat);
        *self.queries.lock().unwrap_or_else(|e| e.into_inner()) += cat.queries;
        out
    }

    /// Catalog queries sent by this inspector so far.
    pub fn queries_sent(&self) -> usize {
        *self.queries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn context(&self) -> Result<(String, String)> {
        if let Some(c) = self
            .default_schema
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(c);
        }
        let c = self.with_catalog(|cat| Ok(cat.context()))?;
        *self
            .default_schema
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
        Ok(c)
    }

    fn schema_or_default(&self, schema: Option<&str>) -> Result<String> {
        match schema {
            Some(s) => Ok(s.to_string()),
            None => self.default_schema_name(),
        }
    }

    /// The connection's default schema (`current_schema()`; `public` where that is unavailable).
    pub fn default_schema_name(&self) -> Result<String> {
        Ok(self.context()?.1)
    }

    /// User schemas (without `pg_catalog`, `information_schema` and temporary/toast schemas), sorted.
    pub fn schema_names(&self) -> Result<Vec<String>> {
        self.with_catalog(|cat| cat.schema_names())
    }

    fn names(
        &self,
        schema: Option<&str>,
        kinds: &[TableKind],
    ) -> Result<(Vec<String>, NamesSource)> {
        let schema = self.schema_or_default(schema)?;
        self.with_catalog(|cat| cat.relation_names(&schema, kinds))
    }

    /// Base tables (ordinary and partitioned; no views, no foreign tables), sorted: the same list as
    /// SQLAlchemy's `get_table_names`. Falls back to `SHOW TABLES` when the catalog cannot be read;
    /// that list does not say which names are views, so it may hold views too
    /// ([`Inspector::table_names_with_source`] says which source answered).
    pub fn table_names(&self, schema: Option<&str>) -> Result<Vec<String>> {
        Ok(self.table_names_with_source(schema)?.0)
    }

    /// [`Inspector::table_names`], also saying where the names came from.
    pub fn table_names_with_source(
        &self,
        schema: Option<&str>,
    ) -> Result<(Vec<String>, NamesSource)> {
        self.names(schema, &[TableKind::Table, TableKind::PartitionedTable])
    }

    /// Views (not materialized), sorted.
    pub fn view_names(&self, schema: Option<&str>) -> Result<Vec<String>> {
        Ok(self.names(schema, &[TableKind::View])?.0)
    }

    /// Materialized views, sorted.
    pub fn materialized_view_names(&self, schema: Option<&str>) -> Result<Vec<String>> {
        Ok(self.names(schema, &[TableKind::MaterializedView])?.0)
    }

    /// Foreign tables, sorted.
    pub fn foreign_table_names(&self, schema: Option<&str>) -> Result<Vec<String>> {
        Ok(self.names(schema, &[TableKind::ForeignTable])?.0)
    }

    /// Read the relations `filter` selects, with everything about them, in a fixed number of queries.
    pub fn reflect(&self, filter: &Filter) -> Result<SchemaModel> {
        let (database, default_schema) = self.context()?;
        let schemas = if filter.schemas().is_empty() {
            vec![default_schema.clone()]
        } else {
            filter.schemas().to_vec()
        };
        self.with_catalog(|cat| {
            let mut model = cat.reflect(database, default_schema, &schemas, &|_, name, kind| {
                filter.keeps(name, kind)
            })?;
            if filter.infers_view_nullability() {
                cat.infer_view_nullability(&mut model);
            }
            Ok(model)
        })
    }

    /// The whole schema, reflected once and cached.
    fn model(&self, schema: &str) -> Result<Arc<SchemaModel>> {
        if let Some(m) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(schema)
        {
            return Ok(m.clone());
        }
        let model = Arc::new(self.reflect(&Filter::new().schema(schema))?);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(schema.to_string(), model.clone());
        Ok(model)
    }

    /// Forget reflected schemas, so the next call reads the catalog again.
    pub fn clear_cache(&self) {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn table<T>(&self, name: &str, schema: Option<&str>, f: impl FnOnce(&Table) -> T) -> Result<T> {
        let schema = self.schema_or_default(schema)?;
        let model = self.model(&schema)?;
        model
            .table(name, Some(&schema))
            .map(f)
            .ok_or_else(|| Error::NoSuchTable {
                schema,
                name: name.to_string(),
            })
    }

    /// Whether a table, view, materialized view or foreign table `name` exists.
    pub fn has_table(&self, name: &str, schema: Option<&str>) -> Result<bool> {
        let schema = self.schema_or_default(schema)?;
        let kinds = [
            TableKind::Table,
            TableKind::PartitionedTable,
            TableKind::View,
            TableKind::MaterializedView,
            TableKind::ForeignTable,
        ];
        Ok(self
            .names(Some(&schema), &kinds)?
            .0
            .iter()
            .any(|n| n == name))
    }

    /// Columns of `name` in position order.
    pub fn columns(&self, name: &str, schema: Option<&str>) -> Result<Vec<Column>> {
        self.table(name, schema, |t| t.columns.clone())
    }

    /// The primary key, if declared.
    pub fn primary_key(&self, name: &str, schema: Option<&str>) -> Result<Option<PrimaryKey>> {
        self.table(name, schema, |t| t.primary_key.clone())
    }

    /// Foreign keys.
    pub fn foreign_keys(&self, name: &str, schema: Option<&str>) -> Result<Vec<ForeignKey>> {
        self.table(name, schema, |t| t.foreign_keys.clone())
    }

    /// Indexes (including those backing constraints; see [`Index::constraint`]).
    pub fn indexes(&self, name: &str, schema: Option<&str>) -> Result<Vec<Index>> {
        self.table(name, schema, |t| t.indexes.clone())
    }

    /// Unique constraints.
    pub fn unique_constraints(
        &self,
        name: &str,
        schema: Option<&str>,
    ) -> Result<Vec<UniqueConstraint>> {
        self.table(name, schema, |t| t.unique_constraints.clone())
    }

    /// Check constraints.
    pub fn check_constraints(
        &self,
        name: &str,
        schema: Option<&str>,
    ) -> Result<Vec<CheckConstraint>> {
        self.table(name, schema, |t| t.check_constraints.clone())
    }

    /// `COMMENT ON TABLE`, if any.
    pub fn table_comment(&self, name: &str, schema: Option<&str>) -> Result<Option<String>> {
        self.table(name, schema, |t| t.comment.clone())
    }

    /// Custom types (composite, enum, domain) used by the schema's relations.
    pub fn custom_types(&self, schema: Option<&str>) -> Result<Vec<CustomType>> {
        Ok(self.model(&self.schema_or_default(schema)?)?.types.clone())
    }
}
