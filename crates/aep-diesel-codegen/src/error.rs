//! The generator's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading generation settings, generating or writing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is refused: an unknown or inapplicable `diesel.toml` key, or a value out of range.
    /// `setting` names it as the file spells it (`[print_schema] patch_file`).
    #[error("{setting} {reason}")]
    Setting {
        /// The key, with its section.
        setting: String,
        /// Why it is refused and what to do instead.
        reason: String,
    },

    /// `diesel.toml` is not valid TOML, or a value has the wrong type.
    #[error("invalid diesel.toml")]
    Toml(#[source] toml::de::Error),

    /// A table-name pattern is not a valid regular expression.
    #[error("invalid table pattern")]
    Pattern(#[from] aep_diesel_schema::PatternError),

    /// An error while reading settings from a file; `source` says what.
    #[error("in {}", path.display())]
    InFile {
        /// The settings file.
        path: PathBuf,
        /// What went wrong in it.
        #[source]
        source: Box<Error>,
    },

    /// An error in one print-schema profile (`[print_schema.NAME]`); `source` says what.
    #[error("in [print_schema.{name}]")]
    InProfile {
        /// The profile's name.
        name: String,
        /// What went wrong in it.
        #[source]
        source: Box<Error>,
    },

    /// A file or directory operation failed.
    #[error("{context}")]
    Io {
        /// What was being done, e.g. `writing src/schema/orders.rs`.
        context: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn setting(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Setting {
            setting: setting.into(),
            reason: reason.into(),
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
