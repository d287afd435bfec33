//! TLS settings: the modes aep-diesel allows and where root certificates come from.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// How the server's TLS certificate is checked. There is no mode without TLS: `disable`, `allow` and
/// `prefer` are refused everywhere with [`Error::InsecureSslMode`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SslMode {
    /// Encrypt, but do not verify the certificate (libpq `require`). Query Service's documented minimum;
    /// the default.
    #[default]
    Require,
    /// Encrypt and verify that the certificate chains to a trusted root, ignoring the host name.
    VerifyCa(RootCert),
    /// Encrypt, verify the chain and that the certificate names the host. Recommended for production.
    VerifyFull(RootCert),
}

/// Where trusted root certificates come from for [`SslMode::VerifyCa`] and [`SslMode::VerifyFull`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootCert {
    /// The operating system's trust store. Query Service's certificates chain to DigiCert Global Root G2,
    /// which every common store holds. With libpq 16 or newer (the `bundled` feature has 18) this is
    /// libpq's `sslrootcert=system`; with an older libpq, aep-diesel points it at the system bundle file.
    System,
    /// A PEM file holding one or more root certificates.
    File(PathBuf),
}

impl SslMode {
    /// The libpq `sslmode` keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            SslMode::Require => "require",
            SslMode::VerifyCa(_) => "verify-ca",
            SslMode::VerifyFull(_) => "verify-full",
        }
    }

    /// The root certificate setting, if the mode verifies.
    pub fn root_cert(&self) -> Option<&RootCert> {
        match self {
            SslMode::Require => None,
            SslMode::VerifyCa(r) | SslMode::VerifyFull(r) => Some(r),
        }
    }

    /// Parse a libpq `sslmode` keyword; verifying modes use the system store until a root certificate
    /// is given. `origin` says where the value came from, for the error message.
    pub(crate) fn parse(mode: &str, origin: &'static str) -> Result<Self> {
        match mode.trim().to_ascii_lowercase().as_str() {
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa(RootCert::System)),
            "verify-full" => Ok(SslMode::VerifyFull(RootCert::System)),
            weak @ ("disable" | "allow" | "prefer") => Err(Error::InsecureSslMode {
                mode: match weak {
                    "disable" => "disable",
                    "allow" => "allow",
                    _ => "prefer",
                },
                origin,
            }),
            _ => Err(Error::field(
                "sslmode",
                "the value is not an SSL mode",
                "use require, verify-ca or verify-full",
            )),
        }
    }

    /// This mode with `root` as its root certificate. A root file makes `require` verify the chain,
    /// as libpq does when `sslrootcert` names a file.
    pub(crate) fn with_root(self, root: Option<RootCert>) -> Self {
        match (self, root) {
            (mode, None) => mode,
            (SslMode::Require, Some(RootCert::System)) => SslMode::Require,
            (SslMode::Require | SslMode::VerifyCa(_), Some(r)) => SslMode::VerifyCa(r),
            (SslMode::VerifyFull(_), Some(r)) => SslMode::VerifyFull(r),
        }
    }
}

impl std::str::FromStr for SslMode {
    type Err = Error;
    /// `require`, `verify-ca` or `verify-full` (system roots); weaker modes are an error.
    fn from_str(s: &str) -> Result<Self> {
        SslMode::parse(s, "a parameter")
    }
}

/// The `sslrootcert` value to hand libpq for `root`.
pub(crate) fn root_cert_param(root: &RootCert) -> Result<String> {
    match root {
        RootCert::File(path) => {
            if !path.is_file() {
                return Err(Error::field(
                    "sslrootcert",
                    "the root certificate file does not exist or is not a file",
                    "point RootCert::File (or sslrootcert) at a PEM file holding the root certificate(s)",
                ));
            }
            path.to_str().map(str::to_owned).ok_or_else(|| {
                Error::field("sslrootcert", "the path is not UTF-8", "use a UTF-8 path")
            })
        }
        RootCert::System if crate::libpq::version() >= 160000 => Ok("system".into()),
        RootCert::System => system_bundle().ok_or_else(|| {
            Error::field(
                "sslrootcert",
                "this libpq is older than 16 and no system CA bundle file was found",
                "set SSL_CERT_FILE to the system bundle, use RootCert::File, or build with the `bundled` feature",
            )
        }),
    }
}

fn system_bundle() -> Option<String> {
    let from_env = std::env::var("SSL_CERT_FILE").ok();
    let candidates = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
        "/usr/local/etc/openssl/cert.pem",
    ];
    from_env
        .into_iter()
        .chain(candidates.iter().map(|s| s.to_string()))
        .find(|p| std::path::Path::new(p).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_modes_are_refused_with_origin() {
        for weak in ["disable", "allow", "prefer", " Prefer "] {
            match SslMode::parse(weak, "PGSSLMODE") {
                Err(Error::InsecureSslMode { origin, .. }) => assert_eq!(origin, "PGSSLMODE"),
                other => panic!("{weak}: {other:?}"),
            }
        }
        assert!(matches!(
            "bogus".parse::<SslMode>(),
            Err(Error::InvalidField {
                field: "sslmode",
                ..
            })
        ));
        assert_eq!(
            "verify-full".parse::<SslMode>().unwrap(),
            SslMode::VerifyFull(RootCert::System)
        );
        assert_eq!(
            SslMode::parse("verify-ca", "the URL")
                .unwrap()
                .with_root(Some(RootCert::File("/x.pem".into()))),
            SslMode::VerifyCa(RootCert::File("/x.pem".into()))
        );
    }
}
