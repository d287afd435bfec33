//! `aep-diesel`: list tables, dump the schema model, and generate typed Diesel models.
//!
//! The connection comes from flags or the libpq variables (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`,
//! `PGPASSWORD`, `PGSSLMODE`, `PGSSLROOTCERT`) or `DATABASE_URL`. The password is never a plain argument:
//! use `PGPASSWORD`, `--password-file` or `--password-stdin`.
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use aep_diesel::inspect::Filter;
use aep_diesel::{ConnectOptions, Engine, SchemaModel};
use aep_diesel_codegen::{Options, Profiles, generate_profiles};
use clap::{Args, Parser, Subcommand};

/// What can stop the command. Printed with its whole chain of causes.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Runtime(#[from] aep_diesel::Error),
    #[error(transparent)]
    Codegen(#[from] aep_diesel_codegen::Error),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the schema model {}", path.display())]
    Model {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Usage(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
    let context = context.into();
    move |source| CliError::Io { context, source }
}

/// The error, then each cause on its own line.
fn report(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str("\n  caused by: ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[derive(Parser)]
#[command(
    name = "aep-diesel",
    version,
    about = "Inspect a Query Service (or PostgreSQL) database and generate typed Diesel models"
)]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct ConnArgs {
    /// Host (default: PGHOST, or DATABASE_URL).
    #[arg(long, global = true)]
    host: Option<String>,
    /// Port (default: PGPORT, else 5432).
    #[arg(long, global = true)]
    port: Option<String>,
    /// Database, e.g. prod:all (default: PGDATABASE).
    #[arg(long, global = true)]
    dbname: Option<String>,
    /// User, e.g. ACME@AdobeOrg (default: PGUSER).
    #[arg(long, global = true)]
    user: Option<String>,
    /// Read the password from this file (surrounding whitespace and line breaks are removed).
    #[arg(long, global = true, conflicts_with = "password_stdin")]
    password_file: Option<PathBuf>,
    /// Read the password from standard input.
    #[arg(long, global = true)]
    password_stdin: bool,
    /// require (default), verify-ca or verify-full (default: PGSSLMODE).
    #[arg(long, global = true)]
    sslmode: Option<String>,
    /// Root certificate file for verify-ca/verify-full, or `system` (default: PGSSLROOTCERT, else system).
    #[arg(long, global = true)]
    sslrootcert: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the table names, one a line (like SQLAlchemy's get_table_names), or the whole schema model.
    Inspect {
        /// Schema (default: the connection's default schema).
        #[arg(long)]
        schema: Option<String>,
        /// Print the whole SchemaModel as JSON (tables, views, columns, keys, indexes, types).
        #[arg(long)]
        json: bool,
        /// Compare the database with a saved model (`inspect --json` output) instead of printing;
        /// exit 1 and list the differences when they differ.
        #[arg(long, value_name = "SCHEMA_JSON", conflicts_with = "json")]
        check: Option<PathBuf>,
        /// With --json: also infer view columns' nullability from the views' definitions, for a
        /// diesel.toml with `experimental_infer_nullable_for_views` to generate from.
        #[arg(long, requires = "json")]
        infer_view_nullability: bool,
    },
    /// Write Diesel schema and model modules as diesel.toml describes.
    Generate {
        /// The configuration file.
        #[arg(long, default_value = "diesel.toml")]
        config: PathBuf,
        /// Generate from a saved schema model (`aep-diesel inspect --json`) instead of a database; no
        /// network access.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Output directory (overrides the configuration).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compare with the files on disk instead of writing; exit 1 when they differ.
        #[arg(long)]
        check: bool,
        /// Also save the schema model read from the database as JSON.
        #[arg(long)]
        save_model: Option<PathBuf>,
        /// Write a crate with this package name (Cargo.toml, src/lib.rs, one Cargo feature per table
        /// or view) instead of modules; overrides `[aep_diesel.crate] name`.
        #[arg(long = "crate", value_name = "NAME")]
        package: Option<String>,
        /// Generate only this print-schema profile (`[print_schema.NAME]`; `default` is
        /// `[print_schema]`); repeat for several. Default: every profile.
        #[arg(long = "schema-key", value_name = "NAME")]
        schema_key: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aep-diesel: {}", report(&e));
            ExitCode::from(2)
        }
    }
}

/// The connection: flags first, then the libpq variables (`PG*`), or `DATABASE_URL` when neither
/// names a host; read by the library's own environment reader, so the rules are the library's.
fn engine(a: &ConnArgs) -> Result<Engine, CliError> {
    let password = if let Some(file) = &a.password_file {
        Some(
            std::fs::read_to_string(file)
                .map_err(io(format!("reading --password-file {}", file.display())))?,
        )
    } else if a.password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(io("reading the password from standard input"))?;
        Some(text)
    } else {
        None
    };
    let flag = |var: &str| -> Option<String> {
        match var {
            "PGHOST" => a.host.clone(),
            "PGPORT" => a.port.clone(),
            "PGDATABASE" => a.dbname.clone(),
            "PGUSER" => a.user.clone(),
            "PGPASSWORD" => password.clone(),
            "PGSSLMODE" => a.sslmode.clone(),
            "PGSSLROOTCERT" => a.sslrootcert.clone(),
            _ => None,
        }
    };
    let any_flag = a.host.is_some() || a.dbname.is_some() || a.user.is_some() || a.port.is_some();
    // A variable set to something that is not UTF-8 is named, never read as unset.
    let not_utf8 = std::cell::Cell::new(None);
    let options = ConnectOptions::from_env_lookup(|var| {
        if var == "DATABASE_URL" && any_flag {
            return None;
        }
        flag(var).or_else(|| match std::env::var(var) {
            Ok(v) => Some(v),
            Err(std::env::VarError::NotUnicode(_)) => {
                not_utf8.set(Some(var.to_string()));
                None
            }
            Err(std::env::VarError::NotPresent) => None,
        })
    });
    if let Some(var) = not_utf8.take() {
        return Err(CliError::Usage(format!(
            "{var} is set but is not valid UTF-8; set it to the value shown under Queries > \
             Credentials in Experience Platform, or unset it"
        )));
    }
    let options = options.map_err(|e| match e {
        aep_diesel::Error::Environment { message } => CliError::Usage(format!(
            "{message}; or pass --host, --dbname, --user and --password-file / --password-stdin"
        )),
        other => other.into(),
    })?;
    Ok(Engine::builder(options.application_name("aep-diesel-cli")).build()?)
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Inspect {
            schema,
            json,
            check,
            infer_view_nullability,
        } => {
            let engine = engine(&cli.conn)?;
            let inspector = engine.inspect()?;
            if let Some(path) = check {
                let text = std::fs::read_to_string(&path)
                    .map_err(io(format!("reading {}", path.display())))?;
                let saved = SchemaModel::from_json(&text).map_err(|source| CliError::Model {
                    path: path.clone(),
                    source,
                })?;
                // a model saved with inferred view nullability is checked with it
                let inferred = saved
                    .tables
                    .iter()
                    .any(|t| t.columns.iter().any(|c| c.view_nullable.is_some()));
                let mut filter = Filter::new().infer_view_nullability(inferred);
                if let Some(s) = &schema {
                    filter = filter.schema(s.clone());
                }
                let live = inspector.reflect(&filter)?;
                let differences = saved.differences(&live);
                if differences.is_empty() {
                    eprintln!(
                        "{} matches the database ({} relations)",
                        path.display(),
                        live.tables.len()
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                eprintln!(
                    "{} (here) differs from the database (there):",
                    path.display()
                );
                for d in &differences {
                    eprintln!("  {d}");
                }
                eprintln!(
                    "refresh it with `aep-diesel inspect --json{}{} > {}`",
                    if inferred {
                        " --infer-view-nullability"
                    } else {
                        ""
                    },
                    schema
                        .as_deref()
                        .map(|s| format!(" --schema {s}"))
                        .unwrap_or_default(),
                    path.display()
                );
                return Ok(ExitCode::from(1));
            }
            if json {
                let mut filter = Filter::new().infer_view_nullability(infer_view_nullability);
                if let Some(s) = schema {
                    filter = filter.schema(s);
                }
                let start = Instant::now();
                let model = inspector.reflect(&filter)?;
                eprintln!(
                    "read {} relations in {:.0?} ({} catalog queries)",
                    model.tables.len(),
                    start.elapsed(),
                    inspector.queries_sent()
                );
                println!("{}", model.to_json());
            } else {
                for name in inspector.table_names(schema.as_deref())? {
                    println!("{name}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            config,
            from,
            out,
            check,
            save_model,
            package,
            schema_key,
        } => {
            let mut profiles = if config.exists() {
                Profiles::from_file(&config)?
            } else if config.as_os_str() == "diesel.toml" {
                Profiles::single(Options::default())
            } else {
                return Err(CliError::Usage(format!(
                    "{} does not exist",
                    config.display()
                )));
            };
            if !schema_key.is_empty() {
                profiles.select(&schema_key)?;
            }
            if (out.is_some() || package.is_some()) && profiles.len() > 1 {
                return Err(CliError::Usage(format!(
                    "--out and --crate apply to one profile; {} has {} ({}): choose one with \
                     --schema-key",
                    config.display(),
                    profiles.len(),
                    profiles.names().collect::<Vec<_>>().join(", ")
                )));
            }
            let only: Vec<String> = profiles.names().map(str::to_string).collect();
            for name in &only {
                let options = profiles.get_mut(name).expect("listed");
                if let Some(dir) = &out {
                    options.output_dir = dir.clone();
                }
                if let Some(name) = &package {
                    options.package = Some(match options.package.take() {
                        Some(mut p) => {
                            p.name = name.clone();
                            p
                        }
                        None => aep_diesel_codegen::config::Package::new(name.clone()),
                    });
                }
            }
            let start = Instant::now();
            let model = match &from {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(io(format!("reading {}", path.display())))?;
                    let model =
                        SchemaModel::from_json(&text).map_err(|source| CliError::Model {
                            path: path.clone(),
                            source,
                        })?;
                    // A saved model may hold more than this configuration selects.
                    let filter = profiles.filter()?;
                    let mut model = model;
                    model.tables.retain(|t| filter.keeps_table(t));
                    model
                }
                None => {
                    let engine = engine(&cli.conn)?;
                    let inspector = engine.inspect()?;
                    eprintln!("reading the catalog ...");
                    let model = inspector.reflect(&profiles.filter()?)?;
                    eprintln!(
                        "read {} relations in {:.0?} ({} catalog queries)",
                        model.tables.len(),
                        start.elapsed(),
                        inspector.queries_sent()
                    );
                    model
                }
            };
            if let Some(path) = save_model {
                std::fs::write(&path, model.to_json())
                    .map_err(io(format!("writing {}", path.display())))?;
            }
            let gen_start = Instant::now();
            let generated = generate_profiles(&model, &profiles)?;
            eprintln!(
                "generated {} files in {:.0?}",
                generated.values().map(|g| g.files.len()).sum::<usize>(),
                gen_start.elapsed()
            );
            let mut stale_any = false;
            for (name, generated) in &generated {
                let options = profiles.get(name).expect("generated from it");
                for w in &generated.warnings {
                    eprintln!("note: {w}");
                }
                let dir = &options.output_dir;
                if check {
                    let stale = generated.check(dir)?;
                    if stale.is_empty() {
                        eprintln!("{} is up to date", dir.display());
                        continue;
                    }
                    for p in &stale {
                        eprintln!("differs: {}", p.display());
                    }
                    eprintln!(
                        "{} is stale: run `aep-diesel generate` without --check",
                        dir.display()
                    );
                    stale_any = true;
                    continue;
                }
                let changed = generated.write_to(dir)?;
                eprintln!(
                    "{}: {} files written or removed",
                    dir.display(),
                    changed.len()
                );
            }
            if stale_any {
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
