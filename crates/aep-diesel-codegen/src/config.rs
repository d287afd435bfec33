//! Generation options, read from `diesel.toml`: the `[print_schema]` keys that apply, plus an
//! `[aep_diesel]` section for the models.
//!
//! ```toml
//! [print_schema]
//! file = "src/db/schema.rs"                 # the schema module; the other files go beside it
//! schema = "public"
//! filter = { only_tables = ["luma_.*", "orders"], except_tables = ["tmp_.*"] }
//! with_docs = true
//! column_sorting = "ordinal_position"        # or "name"
//! import_types = ["diesel::sql_types::*"]
//! custom_type_derives = ["diesel::query_builder::QueryId", "Clone"]
//! custom_enum_derives = ["serde::Serialize"]      # added to the Rust enums' own derives
//! generate_rust_enum_definitions = true
//! generate_missing_sql_type_definitions = true
//! except_custom_type_definitions = ["^MyOwnType$"] # named bare in table!, defined by you
//! pg_domains_as_custom_types = ["^posinteger$"]    # a marker of its own, read as the base type
//! include_views = true
//! experimental_infer_nullable_for_views = true
//! allow_tables_to_appear_in_same_query_config = "fk_related_tables"
//! patch_file = "schema.patch"                      # applied to schema.rs; no models then
//!
//! [aep_diesel]
//! output_dir = "src/db"                     # overrides the directory of `file`
//! derives = ["serde::Serialize", "serde::Deserialize"]
//! views = true                              # read-only models for views and materialized views
//! allow_tables_to_appear_in_same_query = "fk_related_tables"  # or "all_tables", "none", "auto"; print-schema's
//!                                          # allow_tables_to_appear_in_same_query_config works too
//! read_only_tables = ["luma_.*"]           # read-only models
//! query_service_writable = ["my_.*"]        # models that may write on Query Service (default: none)
//! [aep_diesel.keys]                          # keys for tables without a primary key
//! luma_profile = ["_id"]
//! [aep_diesel.types]                         # Rust types for SQL types aep-diesel does not know
//! citext = "String"
//! [aep_diesel.crate]                         # write a crate, one Cargo feature per relation
//! name = "sandbox-models"                    # its package name (turns crate mode on)
//! aep_diesel = { path = "../aep-diesel" }   # its aep-diesel dependency (default: version 0.1)
//! [aep_diesel.crate.dependencies]            # extra dependencies, e.g. for `derives`
//! my_derives = { path = "../my_derives" }
//! ```
//!
//! Profiles (`[print_schema.NAME]` sections, each with the `[print_schema]` keys) are read by
//! [`Profiles`]; each writes its own directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use aep_diesel_schema::{Filter, compile_patterns};

use crate::error::{Error, Result};

/// How columns are ordered in `table!` and the structs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ColumnSorting {
    /// Table order (default), as diesel's `ordinal_position`.
    #[default]
    OrdinalPosition,
    /// Alphabetical.
    Name,
}

/// Which doc comments the generated code carries: print-schema's `with_docs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DocComments {
    /// None (`with_docs = false`, `"no-doc-comments"`).
    None,
    /// The database's comments only (`"only-database-comments"`). The default.
    #[default]
    Database,
    /// The database's comments, and where there is none the ones print-schema generates
    /// ("Representation of the `users` table.", "Its SQL type is `Int4`.", word for word, so
    /// patches and diffs made against print-schema's output still apply): `with_docs = true`,
    /// `"database-comments-fallback-to-auto-generated-doc-comment"`.
    FallbackToGenerated,
}

impl DocComments {
    /// Whether the database's comments are written.
    pub fn database(self) -> bool {
        self != DocComments::None
    }

    /// Whether generated docs stand in for missing comments.
    pub fn fallback(self) -> bool {
        self == DocComments::FallbackToGenerated
    }
}

/// Which tables get `allow_tables_to_appear_in_same_query!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AllowTables {
    /// print-schema's default, `all_tables`, wherever print-schema could print the schema — every
    /// table has a primary key — and its one macro compiles (at most 48 tables, under rustc's macro
    /// recursion limit), outside crate mode (where every pair is gated by features); otherwise
    /// `fk_related_tables`, so a sandbox of thousands of key-less datasets costs nothing. The
    /// default.
    #[default]
    Auto,
    /// Each group of tables connected by foreign keys. Key-less datasets stand alone.
    FkRelatedTables,
    /// Every pair of tables (O(n²): only for small schemas).
    AllTables,
    /// None.
    None,
}

/// Everything that shapes the generated code. `Options::default()` is what an empty `diesel.toml` gives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Schema to generate from. Default: the connection's default schema.
    pub schema: Option<String>,
    /// Regexes of relation names to keep (anchored). Default: all.
    pub only_tables: Vec<String>,
    /// Regexes of relation names to leave out (anchored). Default: none.
    pub except_tables: Vec<String>,
    /// Doc comments on tables and columns: print-schema's `with_docs`. Default:
    /// [`DocComments::Database`] (the catalog's comments only).
    pub with_docs: DocComments,
    /// Column order. Default: table order.
    pub column_sorting: ColumnSorting,
    /// `use` lines inside each `table!`. Default: `diesel::sql_types::*`.
    pub import_types: Vec<String>,
    /// Derives on the `sql_types` marker structs, replacing the default (as print-schema does);
    /// `diesel::sql_types::SqlType` is always added. Default: `diesel::query_builder::QueryId, Clone`
    /// (what `diesel setup` writes).
    pub custom_type_derives: Vec<String>,
    /// Extra derives on model, composite and enum types (e.g. serde). Default: none.
    pub derives: Vec<String>,
    /// Extra derives on the generated Rust enums only (print-schema's `custom_enum_derives`),
    /// added to aep-diesel's own (`Debug, Clone, Copy, PartialEq, Eq, Hash`). Default: none.
    pub custom_enum_derives: Vec<String>,
    /// Whether enum types get Rust enums (print-schema's `generate_rust_enum_definitions`). When
    /// false, the `sql_types` marker stays and columns of the enum are left out of the models
    /// (map them yourself). Default: true.
    pub generate_rust_enum_definitions: bool,
    /// Whether the `sql_types` module is written (print-schema's
    /// `generate_missing_sql_type_definitions`). When false, `table!` names each custom type bare
    /// (`MyType`), for you to bring into scope (e.g. with `import_types`), and no Rust types are
    /// generated for them: their columns are left out of the models. Default: true.
    pub generate_missing_sql_type_definitions: bool,
    /// Regexes (unanchored, as print-schema) of custom types that get no `sql_types` marker and no
    /// Rust type, matched against the marker name, the SQL name and `schema.name`; `table!` names
    /// them bare and their columns are left out of the models (print-schema's
    /// `except_custom_type_definitions`). Default: none.
    pub except_custom_type_definitions: Vec<String>,
    /// Regexes (unanchored, as print-schema) of domains written as their own SQL type (a
    /// `sql_types` marker read and written as the base type's Rust type) instead of as their base
    /// type (print-schema's `pg_domains_as_custom_types`). Default: none.
    pub pg_domains_as_custom_types: Vec<String>,
    /// A profile's tables are those of this schema only (set by [`crate::generate_profiles`] for a
    /// profile without `schema`).
    pub(crate) only_schema: Option<String>,
    /// Infer the nullability of view columns from the views' definitions (print-schema's
    /// `experimental_infer_nullable_for_views`): a column read straight from a NOT NULL column
    /// (not on the nullable side of an outer join), or a constant, is NOT NULL; anything not
    /// proven keeps the catalog's answer (nullable). Needs a model reflected with this on (it asks
    /// [`aep_diesel_schema::Filter::infer_view_nullability`]). Default: false.
    pub experimental_infer_nullable_for_views: bool,
    /// A unified diff applied to the generated schema module (print-schema's `patch_file`); a
    /// patch that does not apply is an error. Relative to the `diesel.toml`. Default: none.
    pub patch_file: Option<PathBuf>,
    /// Generate read-only models for views and materialized views. Default: true.
    pub views: bool,
    /// `allow_tables_to_appear_in_same_query!` grouping. Default: [`AllowTables::Auto`].
    pub allow_tables: AllowTables,
    /// Regexes (anchored) of tables that get read-only models: no insert or changeset struct, no
    /// create, update or delete. Each writable model costs the compiler about a second (see the
    /// codegen benchmark), so a sandbox of thousands of datasets that the program only reads should
    /// list them here. Default: none (views are always read-only).
    pub read_only_tables: Vec<String>,
    /// Regexes (anchored) of tables whose models may write on Query Service. Query Service takes no
    /// `UPDATE` or `DELETE` and documents no `INSERT … VALUES`, so models refuse writes there unless
    /// listed here. Default: none.
    pub query_service_writable: Vec<String>,
    /// Keys for tables without a primary key, by table name.
    pub keys: BTreeMap<String, Vec<String>>,
    /// Rust types for SQL types aep-diesel does not know, by SQL type name. The value must be a type whose
    /// binary wire format is its UTF-8 text (e.g. `String` for `citext`, `xml`, `ltree`).
    pub types: BTreeMap<String, String>,
    /// Where the files go. Default: `src/schema` (or the directory of `[print_schema] file`).
    pub output_dir: PathBuf,
    /// File name of the schema module. Default: `schema.rs`.
    pub schema_file: String,
    /// Write a self-contained crate into `output_dir` instead of modules: `Cargo.toml` with one
    /// feature per table or view (none on by default), `src/lib.rs` and the modules beside it.
    /// Default: `None` (modules).
    pub package: Option<Package>,
}

/// The generated crate's package settings (`[aep_diesel.crate]`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Package {
    /// The package name: ASCII letters, digits, `-` and `_`.
    pub name: String,
    /// The aep-diesel dependency as a TOML value, e.g. `{ path = "../aep-diesel" }`. Default:
    /// `"0.1"`, this generator's release line.
    pub aep_diesel: String,
    /// Extra dependencies (name → TOML value), e.g. the crates of configured `derives`. serde is
    /// added by itself when a derive names it. Default: none.
    pub dependencies: BTreeMap<String, String>,
}

impl Package {
    /// A package named `name`, with the default aep-diesel dependency and no extra ones; the name
    /// is checked when generating.
    pub fn new(name: impl Into<String>) -> Self {
        Package {
            name: name.into(),
            aep_diesel: format!("{:?}", DEFAULT_AEP_DIESEL),
            dependencies: BTreeMap::new(),
        }
    }

    /// Set the aep-diesel dependency (a TOML value, e.g. `{ path = "../aep-diesel" }`).
    pub fn aep_diesel(mut self, value: impl Into<String>) -> Self {
        self.aep_diesel = value.into();
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let n = &self.name;
        let ok = !n.is_empty()
            && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(Error::setting(
                "[aep_diesel.crate] name",
                "must start with an ASCII letter and hold only ASCII letters, digits, - and _",
            ));
        }
        for (key, value) in std::iter::once(("aep_diesel", &self.aep_diesel))
            .chain(self.dependencies.iter().map(|(k, v)| (k.as_str(), v)))
        {
            if format!("x = {value}").parse::<toml::Table>().is_err() {
                return Err(Error::setting(
                    format!("[aep_diesel.crate] {key}"),
                    "is not a TOML value (e.g. \"1\" or { path = \"../x\" })",
                ));
            }
        }
        Ok(())
    }
}

/// A table another profile generates: where this profile's schema module finds it.
#[derive(Debug, Clone)]
pub(crate) struct Elsewhere {
    pub schema: String,
    pub name: String,
    /// The path of its `table!` module from this profile's schema module.
    pub path: String,
}

/// The print-schema profiles of a `diesel.toml`, by name: `[print_schema]` is `default`, and each
/// `[print_schema.NAME]` section another, as diesel reads them. `[aep_diesel]` applies to all.
///
/// With more than one profile, each writes its own directory, named after its `file` (`file =
/// "src/schema1.rs"` → `src/schema1/`, holding `schema1.rs`, `mod.rs` and the models), so the
/// profiles' models never overwrite each other; mount them side by side (`mod schema1; mod
/// schema2;`), and a foreign key into another profile's table is joinable through its path.
///
/// ```
/// use aep_diesel_codegen::Profiles;
/// let p = Profiles::from_toml(
///     "[print_schema.user1]\nfile = \"src/schema1.rs\"\n[print_schema.user2]\nfile = \"src/schema2.rs\"\n",
/// )?;
/// assert_eq!(p.names().collect::<Vec<_>>(), ["user1", "user2"]);
/// assert_eq!(p.get("user1").unwrap().output_dir, std::path::Path::new("src/schema1"));
/// # Ok::<(), aep_diesel_codegen::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Profiles {
    profiles: BTreeMap<String, Options>,
    /// The profiles to generate ([`Profiles::select`]); `None`: all. The others still own their
    /// tables, so a foreign key into one is joinable just as in a full run.
    selected: Option<BTreeSet<String>>,
}

/// The profile name of `[print_schema]` itself, as diesel calls it.
pub const DEFAULT_PROFILE: &str = "default";

impl Profiles {
    /// One profile, `default`.
    pub fn single(options: Options) -> Self {
        Profiles {
            profiles: BTreeMap::from([(DEFAULT_PROFILE.to_string(), options)]),
            selected: None,
        }
    }

    /// The profiles of a `diesel.toml` file. Paths in it are relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let mut p = Self::from_toml(&text).map_err(|e| Error::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            for o in p.profiles.values_mut() {
                o.relative_to(dir);
            }
        }
        Ok(p)
    }

    /// The profiles of the text of a `diesel.toml`. `[print_schema]` counts as the `default`
    /// profile when it sets a key, or when there is no other profile.
    pub fn from_toml(text: &str) -> Result<Self> {
        let (t, named) = parse(text)?;
        let top_level_set = !toml::from_str::<toml::Table>(text)
            .map_err(Error::Toml)?
            .get("print_schema")
            .and_then(|v| v.as_table())
            .is_none_or(|ps| ps.iter().all(|(k, v)| v.is_table() && k != "filter"));
        // each profile's options, and whether it names its `file`
        let mut profiles: BTreeMap<String, (Options, bool)> = BTreeMap::new();
        if top_level_set || named.is_empty() {
            let has_file = t.print_schema.file.is_some();
            let o = build(t.print_schema, t.aep_diesel.clone())?;
            profiles.insert(DEFAULT_PROFILE.to_string(), (o, has_file));
        }
        for (name, p) in named {
            let has_file = p.file.is_some();
            let o = build(p, t.aep_diesel.clone()).map_err(|e| Error::InProfile {
                name: name.clone(),
                source: Box::new(e),
            })?;
            profiles.insert(name, (o, has_file));
        }
        let several = profiles.len() > 1;
        let mut dirs: BTreeMap<PathBuf, String> = BTreeMap::new();
        let mut out = BTreeMap::new();
        for (name, (mut o, has_file)) in profiles {
            if several {
                if o.package.is_some() {
                    return Err(Error::setting(
                        "[aep_diesel.crate]",
                        "cannot go with print-schema profiles: one crate holds one profile; \
                         give each profile its own diesel.toml to make crates",
                    ));
                }
                // one directory per profile, named after its file (or the profile)
                let stem = Path::new(&o.schema_file)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .filter(|s| has_file && !s.is_empty())
                    .unwrap_or(&name)
                    .to_string();
                o.output_dir = o.output_dir.join(stem);
                if let Some(other) = dirs.insert(o.output_dir.clone(), name.clone()) {
                    return Err(Error::setting(
                        format!("[print_schema.{name}] file"),
                        format!(
                            "writes into {}, as profile {other} does: give the profiles files \
                             of different names",
                            o.output_dir.display()
                        ),
                    ));
                }
            }
            out.insert(name, o);
        }
        Ok(Profiles {
            profiles: out,
            selected: None,
        })
    }

    /// The names of the profiles to generate, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// The profiles to generate, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Options)> {
        self.profiles
            .iter()
            .filter(|(k, _)| self.selected.as_ref().is_none_or(|s| s.contains(*k)))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every profile, selected or not, in name order.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&str, &Options)> {
        self.profiles.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The profile `name`.
    pub fn get(&self, name: &str) -> Option<&Options> {
        self.profiles.get(name)
    }

    /// The profile `name`, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Options> {
        self.profiles.get_mut(name)
    }

    /// Generate only the profiles named (diesel's `--schema-key`); an unknown name is an error
    /// naming the profiles there are. The others still own their tables: a foreign key into one
    /// is written just as in a full run.
    pub fn select<S: AsRef<str>>(&mut self, names: &[S]) -> Result<()> {
        for n in names {
            if !self.profiles.contains_key(n.as_ref()) {
                return Err(Error::setting(
                    format!("profile {}", n.as_ref()),
                    format!(
                        "is not in the configuration; its profiles are: {}",
                        self.profiles
                            .keys()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        self.selected = Some(names.iter().map(|n| n.as_ref().to_string()).collect());
        Ok(())
    }

    /// How many profiles are to be generated.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether no profile is to be generated.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The schema a profile without `schema` reads: the connection's default one when no profile
    /// names a schema, else `public`, as diesel has it (its default schema for PostgreSQL).
    pub(crate) fn unnamed_schema(&self) -> Option<&'static str> {
        self.profiles
            .values()
            .any(|o| o.schema.is_some())
            .then_some("public")
    }

    /// The filter to reflect with so every profile finds its tables: each profile's schema (the
    /// connection's default one where a profile sets none), every relation of them; each profile
    /// then picks its own tables when generating.
    pub fn filter(&self) -> Result<Filter> {
        if self.profiles.len() == 1 {
            return self.profiles.values().next().expect("one").filter();
        }
        let mut schemas = BTreeSet::new();
        let (mut views, mut infer) = (false, false);
        for o in self.profiles.values() {
            let _ = o.filter()?;
            schemas.insert(o.schema.clone());
            views |= o.views;
            infer |= o.views && o.experimental_infer_nullable_for_views;
        }
        let mut f = Filter::new().views(views).infer_view_nullability(infer);
        // no profile names a schema: the connection's default one (a filter naming none)
        let unnamed = self.unnamed_schema();
        for s in schemas {
            if let Some(s) = s.or_else(|| unnamed.map(str::to_string)) {
                f = f.schema(s);
            }
        }
        Ok(f)
    }
}

/// The aep-diesel version a generated crate depends on unless told otherwise.
const DEFAULT_AEP_DIESEL: &str = "0.1";

impl Default for Options {
    fn default() -> Self {
        Options {
            schema: None,
            only_tables: Vec::new(),
            except_tables: Vec::new(),
            with_docs: DocComments::Database,
            column_sorting: ColumnSorting::OrdinalPosition,
            import_types: vec!["diesel::sql_types::*".into()],
            custom_type_derives: vec!["diesel::query_builder::QueryId".into(), "Clone".into()],
            derives: Vec::new(),
            custom_enum_derives: Vec::new(),
            generate_rust_enum_definitions: true,
            generate_missing_sql_type_definitions: true,
            except_custom_type_definitions: Vec::new(),
            pg_domains_as_custom_types: Vec::new(),
            patch_file: None,
            experimental_infer_nullable_for_views: false,
            only_schema: None,
            views: true,
            allow_tables: AllowTables::Auto,
            read_only_tables: Vec::new(),
            query_service_writable: Vec::new(),
            keys: BTreeMap::new(),
            types: BTreeMap::new(),
            output_dir: PathBuf::from("src/schema"),
            schema_file: "schema.rs".into(),
            package: None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Toml {
    #[serde(default)]
    print_schema: PrintSchema,
    #[serde(default)]
    aep_diesel: AepSection,
    #[serde(default)]
    migrations_directory: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
struct PrintSchema {
    file: Option<PathBuf>,
    schema: Option<String>,
    #[serde(default)]
    filter: FilterToml,
    with_docs: Option<toml::Value>,
    column_sorting: Option<ColumnSorting>,
    import_types: Option<Vec<String>>,
    custom_type_derives: Option<Vec<String>>,
    allow_tables_to_appear_in_same_query_config: Option<AllowTables>,
    include_views: Option<bool>,
    custom_enum_derives: Option<Vec<String>>,
    generate_rust_enum_definitions: Option<bool>,
    generate_missing_sql_type_definitions: Option<bool>,
    #[serde(default)]
    except_custom_type_definitions: Vec<String>,
    #[serde(default)]
    pg_domains_as_custom_types: Vec<String>,
    patch_file: Option<PathBuf>,
    experimental_infer_nullable_for_views: Option<bool>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilterToml {
    #[serde(default)]
    only_tables: Vec<String>,
    #[serde(default)]
    except_tables: Vec<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct AepSection {
    output_dir: Option<PathBuf>,
    #[serde(default)]
    derives: Vec<String>,
    views: Option<bool>,
    allow_tables_to_appear_in_same_query: Option<AllowTables>,
    #[serde(default)]
    read_only_tables: Vec<String>,
    #[serde(default)]
    query_service_writable: Vec<String>,
    #[serde(default)]
    keys: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    types: BTreeMap<String, String>,
    #[serde(rename = "crate")]
    package: Option<PackageToml>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct PackageToml {
    name: String,
    aep_diesel: Option<toml::Value>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
}

/// `[print_schema]` keys of diesel that aep-diesel does not apply (yet), refused rather than
/// ignored, each with the reason.
const UNSUPPORTED: &[(&str, &str)] = &[(
    "sqlite_integer_primary_key_is_bigint",
    "applies to SQLite only; aep-diesel reads PostgreSQL-wire databases",
)];

/// One setting that `[print_schema]` and `[aep_diesel]` can both give: either one, or both alike.
fn same_setting<T: PartialEq>(
    (print_schema_key, print_schema): (&str, Option<T>),
    (aep_key, aep): (&str, Option<T>),
) -> Result<Option<T>> {
    match (print_schema, aep) {
        (Some(x), Some(y)) if x != y => Err(Error::setting(
            format!("[aep_diesel] {aep_key}"),
            format!("differs from [print_schema] {print_schema_key}: set one of them"),
        )),
        (Some(v), _) | (None, Some(v)) => Ok(Some(v)),
        (None, None) => Ok(None),
    }
}

/// Compile print-schema's unanchored regexes, naming the key of a bad one.
fn unanchored(patterns: &[String], key: &str) -> Result<Vec<regex::Regex>> {
    patterns
        .iter()
        .map(|p| {
            regex::Regex::new(p).map_err(|e| {
                Error::setting(
                    format!("[print_schema] {key}"),
                    format!("holds a pattern that is not a regex: {e}"),
                )
            })
        })
        .collect()
}

impl Options {
    /// Options from a `diesel.toml` file. Paths in it are relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let mut o = Self::from_toml(&text).map_err(|e| Error::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            o.relative_to(dir);
        }
        Ok(o)
    }

    /// Options from the text of a `diesel.toml` with one print-schema profile (`[print_schema]`);
    /// a file with `[print_schema.NAME]` profiles is read by [`Profiles::from_toml`].
    pub fn from_toml(text: &str) -> Result<Self> {
        let (t, profiles) = parse(text)?;
        if let Some((name, _)) = profiles.first() {
            return Err(Error::setting(
                format!("[print_schema.{name}]"),
                "is a print-schema profile: read this file with Profiles::from_toml (aep-diesel \
                 generate does, and writes every profile)",
            ));
        }
        build(t.print_schema, t.aep_diesel)
    }
}

/// The file's sections, and its `[print_schema.NAME]` profiles apart.
fn parse(text: &str) -> Result<(Toml, Vec<(String, PrintSchema)>)> {
    let mut t: Toml = toml::from_str(text).map_err(Error::Toml)?;
    let _ = &t.migrations_directory;
    let mut profiles = Vec::new();
    for (key, value) in std::mem::take(&mut t.print_schema.other) {
        let unsupported = UNSUPPORTED.iter().any(|(k, _)| *k == key);
        if unsupported || !value.is_table() {
            return Err(refused(&key, None));
        }
        // [print_schema.NAME]: one of diesel's profiles
        let profile: PrintSchema = value.try_into().map_err(|e| Error::InFile {
            path: PathBuf::from(format!("[print_schema.{key}]")),
            source: Box::new(Error::Toml(e)),
        })?;
        profiles.push((key, profile));
    }
    Ok((t, profiles))
}

/// The error for a `[print_schema]` key aep-diesel does not take: one it refuses with a reason, a
/// table where it means `table_is`, or an unknown key.
fn refused(key: &str, table_is: Option<&'static str>) -> Error {
    let why = match UNSUPPORTED.iter().find(|(k, _)| *k == key) {
        Some((_, why)) => why,
        None => table_is.unwrap_or("is not a known [print_schema] key"),
    };
    Error::setting(format!("[print_schema] {key}"), why)
}

/// One profile's options: its `[print_schema]` keys and the shared `[aep_diesel]` section.
fn build(p: PrintSchema, a: AepSection) -> Result<Options> {
    if let Some((key, value)) = p.other.iter().next() {
        let nested = value.is_table();
        return Err(refused(
            key,
            nested.then_some("is a profile inside a profile: profiles do not nest"),
        ));
    }
    let mut o = Options::default();
    if let Some(file) = &p.file {
        if let Some(dir) = file.parent() {
            o.output_dir = dir.to_path_buf();
        }
        if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
            o.schema_file = name.to_string();
        }
    }
    o.schema = p.schema;
    o.only_tables = p.filter.only_tables;
    o.except_tables = p.filter.except_tables;
    match p.with_docs {
        None => {}
        Some(toml::Value::Boolean(true)) => o.with_docs = DocComments::FallbackToGenerated,
        Some(toml::Value::Boolean(false)) => o.with_docs = DocComments::None,
        Some(toml::Value::String(s)) => {
            o.with_docs = match s.as_str() {
                "database-comments-fallback-to-auto-generated-doc-comment" => {
                    DocComments::FallbackToGenerated
                }
                "only-database-comments" => DocComments::Database,
                "no-doc-comments" => DocComments::None,
                _ => {
                    return Err(Error::setting(
                        "[print_schema] with_docs",
                        "must be true, false, \"database-comments-fallback-to-auto-generated-doc-comment\", \
                         \"only-database-comments\" or \"no-doc-comments\"",
                    ));
                }
            }
        }
        Some(other) => {
            return Err(Error::setting(
                "[print_schema] with_docs",
                format!("must be a boolean or one of print-schema's three strings, not {other}"),
            ));
        }
    }
    if let Some(c) = p.column_sorting {
        o.column_sorting = c;
    }
    if let Some(i) = p.import_types {
        o.import_types = i;
    }
    if let Some(d) = p.custom_type_derives {
        o.custom_type_derives = d;
    }
    if let Some(d) = p.custom_enum_derives {
        o.custom_enum_derives = d;
    }
    if let Some(g) = p.generate_rust_enum_definitions {
        o.generate_rust_enum_definitions = g;
    }
    if let Some(g) = p.generate_missing_sql_type_definitions {
        o.generate_missing_sql_type_definitions = g;
    }
    o.except_custom_type_definitions = p.except_custom_type_definitions;
    o.pg_domains_as_custom_types = p.pg_domains_as_custom_types;
    o.patch_file = p.patch_file;
    o.experimental_infer_nullable_for_views =
        p.experimental_infer_nullable_for_views.unwrap_or(false);
    if let Some(dir) = a.output_dir {
        o.output_dir = dir;
    }
    o.derives = a.derives;
    // print-schema's keys and aep-diesel's say the same things: either, or both alike.
    if let Some(v) = same_setting(("include_views", p.include_views), ("views", a.views))? {
        o.views = v;
    }
    if let Some(at) = same_setting(
        (
            "allow_tables_to_appear_in_same_query_config",
            p.allow_tables_to_appear_in_same_query_config,
        ),
        (
            "allow_tables_to_appear_in_same_query",
            a.allow_tables_to_appear_in_same_query,
        ),
    )? {
        o.allow_tables = at;
    }
    o.read_only_tables = a.read_only_tables;
    o.query_service_writable = a.query_service_writable;
    o.keys = a.keys;
    o.types = a.types;
    if let Some(p) = a.package {
        let mut package = Package::new(p.name);
        if let Some(v) = p.aep_diesel {
            package.aep_diesel = v.to_string();
        }
        package.dependencies = p
            .dependencies
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        package.validate()?;
        o.package = Some(package);
    }
    for (table, cols) in &o.keys {
        if cols.is_empty() {
            return Err(Error::setting(
                format!("[aep_diesel.keys] {table}"),
                "lists no columns",
            ));
        }
    }
    let _ = o.filter()?; // validate the regexes now
    o.read_only_matcher()?;
    o.query_service_writable_matcher()?;
    o.except_custom_types_matcher()?;
    o.domains_matcher()?;
    Ok(o)
}

impl Options {
    /// Resolve the file's relative paths against `dir`, the directory of its `diesel.toml`.
    fn relative_to(&mut self, dir: &Path) {
        if self.output_dir.is_relative() {
            self.output_dir = dir.join(&self.output_dir);
        }
        if let Some(patch) = self.patch_file.as_mut().filter(|p| p.is_relative()) {
            *patch = dir.join(&*patch);
        }
    }

    /// The compiled `query_service_writable` patterns.
    pub(crate) fn query_service_writable_matcher(&self) -> Result<Vec<regex::Regex>> {
        Ok(compile_patterns(
            &self.query_service_writable,
            "query_service_writable",
        )?)
    }

    /// The compiled `except_custom_type_definitions` patterns (unanchored, as print-schema's).
    pub(crate) fn except_custom_types_matcher(&self) -> Result<Vec<regex::Regex>> {
        unanchored(
            &self.except_custom_type_definitions,
            "except_custom_type_definitions",
        )
    }

    /// The compiled `pg_domains_as_custom_types` patterns (unanchored, as print-schema's).
    pub(crate) fn domains_matcher(&self) -> Result<Vec<regex::Regex>> {
        unanchored(
            &self.pg_domains_as_custom_types,
            "pg_domains_as_custom_types",
        )
    }

    /// The compiled `read_only_tables` patterns.
    pub(crate) fn read_only_matcher(&self) -> Result<Vec<regex::Regex>> {
        Ok(compile_patterns(
            &self.read_only_tables,
            "read_only_tables",
        )?)
    }

    /// The introspection filter these options describe (schema, `only_tables`, `except_tables`, views).
    pub fn filter(&self) -> Result<Filter> {
        let mut f = Filter::new()
            .only_tables(&self.only_tables)?
            .except_tables(&self.except_tables)?
            .views(self.views)
            .infer_view_nullability(self.views && self.experimental_infer_nullable_for_views);
        if let Some(s) = &self.schema {
            f = f.schema(s.clone());
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_schemas_allow_tables_key_is_read_and_never_contradicted() {
        let o = Options::from_toml(
            "[print_schema]\nallow_tables_to_appear_in_same_query_config = \"none\"\n",
        )
        .unwrap();
        assert_eq!(o.allow_tables, AllowTables::None);
        let o = Options::from_toml(
            "[print_schema]\nallow_tables_to_appear_in_same_query_config = \"all_tables\"\n\
             [aep_diesel]\nallow_tables_to_appear_in_same_query = \"all_tables\"\n",
        )
        .unwrap();
        assert_eq!(o.allow_tables, AllowTables::AllTables);
        let e = Options::from_toml(
            "[print_schema]\nallow_tables_to_appear_in_same_query_config = \"none\"\n\
             [aep_diesel]\nallow_tables_to_appear_in_same_query = \"all_tables\"\n",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("allow_tables_to_appear_in_same_query"),
            "{e}"
        );
        // include_views likewise
        let o = Options::from_toml("[print_schema]\ninclude_views = false\n").unwrap();
        assert!(!o.views);
        let e = Options::from_toml(
            "[print_schema]\ninclude_views = false\n[aep_diesel]\nviews = true\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("include_views"), "{e}");
    }

    #[test]
    fn reads_print_schema_and_aep_sections() {
        let o = Options::from_toml(
            r#"
            [print_schema]
            file = "src/db/schema.rs"
            schema = "public"
            filter = { only_tables = ["luma_.*"], except_tables = ["tmp"] }
            with_docs = false
            column_sorting = "name"
            [aep_diesel]
            derives = ["serde::Serialize"]
            allow_tables_to_appear_in_same_query = "none"
            [aep_diesel.keys]
            luma_profile = ["_id"]
            [aep_diesel.types]
            citext = "String"
            "#,
        )
        .unwrap();
        assert_eq!(o.output_dir, PathBuf::from("src/db"));
        assert_eq!(o.schema_file, "schema.rs");
        assert_eq!(o.only_tables, ["luma_.*"]);
        assert_eq!(o.with_docs, DocComments::None);
        for (value, docs) in [
            ("true", DocComments::FallbackToGenerated),
            ("\"only-database-comments\"", DocComments::Database),
            ("\"no-doc-comments\"", DocComments::None),
        ] {
            let o = Options::from_toml(&format!("[print_schema]\nwith_docs = {value}\n")).unwrap();
            assert_eq!(o.with_docs, docs, "{value}");
        }
        // an unknown string is refused, never read as true
        let e = Options::from_toml("[print_schema]\nwith_docs = \"yes\"\n").unwrap_err();
        assert!(e.to_string().contains("only-database-comments"), "{e}");
        assert_eq!(o.column_sorting, ColumnSorting::Name);
        assert_eq!(o.allow_tables, AllowTables::None);
        assert_eq!(o.keys["luma_profile"], ["_id"]);
        assert_eq!(o.types["citext"], "String");
    }

    #[test]
    fn a_bad_file_keeps_its_cause() {
        let path = std::env::temp_dir().join(format!("aep-diesel-bad-{}.toml", std::process::id()));
        std::fs::write(&path, "[print_schema]\nwith_docs = [1]\n").unwrap();
        let e = Options::from_file(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(e, Error::InFile { .. }), "{e:?}");
        let cause = std::error::Error::source(&e).expect("cause kept");
        assert!(cause.to_string().contains("with_docs"), "{cause}");
        let e = Options::from_file(&path).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn bad_config_is_a_clear_error() {
        // what a user reads: the error and its causes
        let err = |t: &str| {
            let e = Options::from_toml(t).unwrap_err();
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        };
        assert!(
            err("[print_schema]\nsqlite_integer_primary_key_is_bigint = true")
                .contains("applies to SQLite only")
        );
        assert!(
            err("[print_schema]\nexcept_custom_type_definitions = [\"(\"]")
                .contains("[print_schema] except_custom_type_definitions holds a pattern")
        );
        assert!(err("[print_schema]\nbogus = 1").contains("bogus is not a known"));
        assert!(err("[aep_diesel]\nbogus = 1").contains("bogus"));
        assert!(err("[print_schema]\nfilter = { only_tables = [\"(\"] }").contains("only_tables"));
        assert!(err("[aep_diesel.keys]\nt = []").contains("lists no columns"));
        assert!(err("[print_schema]\ncolumn_sorting = \"random\"").contains("column_sorting"));
        assert!(
            err("[aep_diesel.crate]\nname = \"9 lives\"").contains("[aep_diesel.crate] name must")
        );
        assert!(err("[aep_diesel.crate]\nversion = \"1\"").contains("version"));
    }

    #[test]
    fn profiles_are_read_as_diesel_reads_them() {
        let two = "[print_schema.user1]\nfile = \"src/schema1.rs\"\nschema = \"game\"\n\
                   [print_schema.user2]\nfile = \"src/schema2.rs\"\nfilter = { only_tables = [\"a\"] }\n";
        let p = Profiles::from_toml(two).unwrap();
        // no top-level key: no default profile; one directory per profile
        assert_eq!(p.names().collect::<Vec<_>>(), ["user1", "user2"]);
        assert_eq!(p.get("user1").unwrap().output_dir, Path::new("src/schema1"));
        assert_eq!(p.get("user1").unwrap().schema.as_deref(), Some("game"));
        assert_eq!(p.get("user2").unwrap().only_tables, ["a"]);
        // a single profile reads as before, and Options refuses a file with profiles
        assert!(
            Options::from_toml(two)
                .unwrap_err()
                .to_string()
                .contains("[print_schema.user1]")
        );
        // a top-level filter (an inline table) is a default profile's key, not a profile
        let p = Profiles::from_toml(&format!(
            "[print_schema]\nfilter = {{ only_tables = [\"x\"] }}\n{two}"
        ))
        .unwrap();
        assert_eq!(p.names().collect::<Vec<_>>(), ["default", "user1", "user2"]);
        let one = Profiles::from_toml("[print_schema]\nfile = \"src/db/schema.rs\"\n").unwrap();
        assert_eq!(one.get("default").unwrap().output_dir, Path::new("src/db"));
        // selection, and errors naming the profile
        let mut p = Profiles::from_toml(two).unwrap();
        let e = p.select(&["user3"]).unwrap_err().to_string();
        assert!(e.contains("user3") && e.contains("user1, user2"), "{e}");
        p.select(&["user2"]).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p.names().collect::<Vec<_>>(), ["user2"]);
        assert_eq!(p.all().count(), 2);
        let e = Profiles::from_toml("[print_schema.user1]\nbogus = 1\n").unwrap_err();
        assert!(e.to_string().contains("[print_schema.user1]"), "{e}");
        let cause = std::error::Error::source(&e).unwrap().to_string();
        assert!(cause.contains("bogus is not a known"), "{cause}");
        let e = Profiles::from_toml("[print_schema.user1]\nfilter = { only_tables = [\"(\"] }\n")
            .unwrap_err();
        assert!(e.to_string().contains("[print_schema.user1]"), "{e}");
        // two profiles writing one directory
        let e = Profiles::from_toml(
            "[print_schema.a]\nfile = \"src/s.rs\"\n[print_schema.b]\nfile = \"src/s.rs\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("as profile a does"), "{e}");
        let e = Profiles::from_toml(&format!("{two}[aep_diesel.crate]\nname = \"x\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("profiles"), "{e}");
        // the reflection covers every profile's schema
        let f = Profiles::from_toml(two).unwrap().filter().unwrap();
        assert_eq!(f.schemas(), ["public", "game"]);
    }

    #[test]
    fn reads_the_crate_section() {
        let o = Options::from_toml(
            r#"
            [aep_diesel.crate]
            name = "sandbox-models"
            aep_diesel = { path = "../aep-diesel" }
            [aep_diesel.crate.dependencies]
            my_derives = { path = "../d", version = "0.2" }
            "#,
        )
        .unwrap();
        let p = o.package.unwrap();
        assert_eq!(p.name, "sandbox-models");
        assert_eq!(p.aep_diesel, r#"{ path = "../aep-diesel" }"#);
        assert_eq!(
            p.dependencies["my_derives"],
            r#"{ path = "../d", version = "0.2" }"#
        );
        assert_eq!(Package::new("x").aep_diesel, "\"0.1\"");
        assert!(Options::default().package.is_none());
    }
}
